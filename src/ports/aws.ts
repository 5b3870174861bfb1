/** What the credential and token use cases need from the AWS side (adapters implement these). */
import type { Env, StaticCredentials } from "../core/aws-env.js";
import type { CachedRoleCredentials } from "../core/aws-cli-cache.js";
import type { StsTarget } from "../core/sts-endpoint.js";

export type Credentials = StaticCredentials;

/** Credentials plus a one-line, secret-free description of where they came from (for --debug). */
export interface ResolvedCredentials {
  credentials: Credentials;
  source: string;
}

export interface ResolvedRegion {
  region: string | undefined;
  /** e.g. "--region", "AWS_REGION", "profile p", "none" */
  origin: string;
}

/** The AWS CLI's credential cache folder (~/.aws/cli/cache), keyed by botocore's key JSON. */
export interface AwsCliCachePort {
  /** the entry's file, for messages */
  fileFor(keyJson: string): string;
  /** the entry if present, trustworthy and good for botocore's expiry window */
  read(keyJson: string): CachedRoleCredentials | undefined;
  /** writes the entry atomically (0600); false when it could not be written */
  write(keyJson: string, entry: Record<string, unknown>): boolean;
}

/** Cross-process mutual exclusion by name; resolves once held, with the function that releases it. */
export type AcquireLock = (name: string) => Promise<() => void>;

/** The AssumeRole parameters the SDK's profile chain built for one hop. */
export interface AssumeRoleParams {
  RoleArn: string;
  RoleSessionName: string;
  ExternalId?: string | undefined;
  SerialNumber?: string | undefined;
  TokenCode?: string | undefined;
  DurationSeconds?: number | undefined;
}

export interface AssumedRole {
  credentials: CachedRoleCredentials;
  assumedRoleArn?: string | undefined;
  assumedRoleId?: string | undefined;
}

/**
 * Called by the SDK's profile chain for each AssumeRole hop: `assume` performs the call (the MFA
 * code, if any, is already in params).
 */
export type AssumeHook = (params: AssumeRoleParams, assume: () => Promise<AssumedRole>) => Promise<Credentials>;

/** The SDK's own profile resolution (static keys, chains, credential_process, SSO, web identity). */
export interface ProfileCredentialSource {
  /** the merged settings of a profile in the shared config and credentials files ({} if undefined) */
  settings(profile: string): Promise<Readonly<Record<string, string | undefined>>>;
  /** credentials for the profile through the SDK, with every AssumeRole hop going through `hook` */
  resolve(profile: string, hook: AssumeHook): Promise<Credentials>;
}

/** Everything a credential resolution draws on. */
export interface CredentialSources {
  profiles: ProfileCredentialSource;
  /** the SDK default chain (AWS_PROFILE, SSO, process, web identity, container and instance metadata) */
  defaultChain(): Promise<Credentials>;
  cache: AwsCliCachePort;
  lock: AcquireLock;
}

/** The SDK part as the token's cache-miss path uses it. */
export interface AwsPart {
  resolveRegion(flag: string | undefined, profile: string, env: Env): Promise<ResolvedRegion>;
  resolveCredentials(opts: {
    profile?: string | undefined;
    env: Env;
    promptMfa?: ((serial: string) => Promise<string>) | undefined;
    debug?: ((line: string) => void) | undefined;
  }): Promise<ResolvedCredentials>;
  assumeRole(opts: {
    region: string | undefined;
    credentials: Credentials;
    roleArn: string;
    sessionName: string;
    externalId?: string | undefined;
    env: Env;
  }): Promise<Credentials>;
}

export type Presign = (opts: { credentials: Credentials; target: StsTarget; clusterIdHeader: string; now: Date }) => Promise<string>;
