/**
 * The credential adapters every command's resolution is built from (the decisions are in
 * src/usecases/profile-credentials.ts, wired in src/aws-part.ts): the SDK's shared-config
 * profiles with each AssumeRole hop routed through the use case's hook, the SDK default chain,
 * the AWS CLI cache folder and the lock files; and the translation of SDK failures into one-line
 * errors that say what to run (e.g. the exact `aws sso login`). SDK modules are imported only
 * when needed, so environment credentials cost nothing to load.
 */
import type { AwsCredentialIdentity } from "@smithy/types";
import { homedir } from "node:os";
import { EksAccessError, mfaWithoutTerminal } from "../core/errors.js";
import { loadProfile, type Env } from "./aws-config.js";
import { effectiveProfile, envCredentials, namedProfile } from "../core/aws-env.js";
import { awsCliCacheDir, tokenCacheDir } from "../core/cache-dirs.js";
import type { AcquireLock, AssumeHook, AssumeRoleParams, AwsCliCachePort, CredentialSources } from "../ports/aws.js";
import { FileAwsCliCache } from "./aws-cli-cache.js";
import { acquireLock } from "./lock.js";
import { httpClientConfig } from "./http.js";
import { awsError, networkFailure } from "./aws-errors.js";

export type Credentials = AwsCredentialIdentity;

export interface CredentialOptions {
  profile?: string | undefined;
  env: Env;
  /** asks for an MFA code; undefined when no terminal is available */
  promptMfa?: ((serial: string) => Promise<string>) | undefined;
  /** --debug lines (never secrets) */
  debug?: ((line: string) => void) | undefined;
}

/**
 * The SDK alone, without the AWS CLI cache (the sandbox's own admin keys use this): --profile →
 * that profile; else environment keys; else the SDK default chain. Commands resolve through
 * src/aws-part.ts instead.
 */
export async function resolveCredentials(opts: CredentialOptions): Promise<Credentials> {
  if (!opts.profile) {
    const fromEnv = envCredentials(opts.env);
    if (fromEnv) return fromEnv;
  }
  const sources = await credentialSources(opts);
  return explainingErrors(opts, () => (opts.profile ? sources.profiles.resolve(opts.profile, (_params, assume) => assume().then((a) => a.credentials)) : sources.defaultChain()));
}

/** The SDK's profiles and default chain, the AWS CLI cache folder and the lock files, for one resolution. */
export async function credentialSources(opts: CredentialOptions): Promise<CredentialSources> {
  const profileName = effectiveProfile(opts.profile, opts.env);
  const mfaCodeProvider = async (serial: string): Promise<string> => {
    if (!opts.promptMfa) throw mfaWithoutTerminal(profileName, serial);
    return opts.promptMfa(serial);
  };
  const home = homedir();
  const lockDir = tokenCacheDir(opts.env, home);
  const cacheDir = awsCliCacheDir(opts.env, home);
  const lock: AcquireLock = (name) =>
    acquireLock(lockDir, name, { onWait: (file, pid) => opts.debug?.(`waiting for pid ${pid}, which holds ${file} (assuming the role or asking for MFA)`) });
  return {
    profiles: await sdkProfiles(opts.env, mfaCodeProvider),
    async defaultChain() {
      const { defaultProvider } = await import("@aws-sdk/credential-provider-node");
      return defaultProvider({ mfaCodeProvider, ignoreCache: true, clientConfig: await httpClientConfig(opts.env) })();
    },
    cache: cacheDir === undefined ? NO_AWS_CLI_CACHE : new FileAwsCliCache(cacheDir, Date.now, (line) => opts.debug?.(line)),
    lock,
  };
}

/** Runs a resolution, turning SDK failures into one-line errors naming the fix. */
export async function explainingErrors<T>(opts: CredentialOptions, resolve: () => Promise<T>): Promise<T> {
  try {
    return await resolve();
  } catch (err) {
    throw await explainCredentialError(err, effectiveProfile(opts.profile, opts.env), namedProfile(opts.profile, opts.env) !== undefined);
  }
}

/** EKS_ACCESS_AWS_CLI_CACHE_DIR=off */
const NO_AWS_CLI_CACHE: AwsCliCachePort = { fileFor: () => "(off: EKS_ACCESS_AWS_CLI_CACHE_DIR=off)", read: () => undefined, write: () => false };

/** The SDK's shared-config profiles, with AssumeRole hops routed through the use case's hook. */
async function sdkProfiles(env: Env, mfaCodeProvider: (serial: string) => Promise<string>): Promise<CredentialSources["profiles"]> {
  const { loadSharedConfigFiles } = await import("@smithy/core/config");
  let files: Awaited<ReturnType<typeof loadSharedConfigFiles>> | undefined;
  const settings = async (name: string): Promise<Record<string, string | undefined>> => {
    files ??= await loadSharedConfigFiles({ ignoreCache: true });
    return { ...(files.credentialsFile[name] ?? {}), ...(files.configFile[name] ?? {}) };
  };
  return {
    settings,
    async resolve(profile: string, hook: AssumeHook) {
      const { fromIni } = await import("@aws-sdk/credential-provider-ini");
      const region = (await settings(profile))["region"] || env["AWS_REGION"] || env["AWS_DEFAULT_REGION"];
      return fromIni({
        profile,
        mfaCodeProvider,
        ignoreCache: true,
        clientConfig: await httpClientConfig(env),
        roleAssumer: (source: AwsCredentialIdentity, params: AssumeRoleParams) =>
          hook(params, async () => {
            const { assumeRoleWithParams } = await import("./sts.js");
            return assumeRoleWithParams({ region, credentials: source, env }, params);
          }),
      })();
    },
  };
}

async function explainCredentialError(err: unknown, profileName: string, profileNamed: boolean): Promise<EksAccessError> {
  if (EksAccessError.is(err)) return err;
  // the SSO portal, STS or the metadata service could not be reached: not a credentials problem
  if (networkFailure(err)) return awsError(err, `could not load AWS credentials for profile "${profileName}"`, "");
  const message = err instanceof Error ? err.message : String(err);
  let profile;
  try {
    profile = await loadProfile(profileName);
  } catch {
    profile = undefined;
  }
  const errName = (err as { name?: string }).name ?? "";
  if (profile?.isSso && (errName === "ForbiddenException" || /No access/i.test(message))) {
    const account = profile.settings["sso_account_id"] ?? "?";
    const role = profile.settings["sso_role_name"] ?? "?";
    return new EksAccessError("credentials", `IAM Identity Center refused role "${role}" in account ${account} for profile "${profileName}" (${firstLine(message)})`, {
      hint: "the permission set is not assigned to you in that account: ask an Identity Center admin, or pick an assigned role (aws sso list-account-roles)",
      cause: err,
    });
  }
  if (profile?.isSso) {
    const login = profile.ssoSession ? `aws sso login --sso-session ${profile.ssoSession}` : `aws sso login --profile ${profileName}`;
    return new EksAccessError("sso-expired", `the IAM Identity Center (SSO) session for profile "${profileName}" is expired or missing (${firstLine(message)})`, {
      hint: `run: ${login}`,
      cause: err,
    });
  }
  if (profile && Object.keys(profile.settings).length === 0 && profileNamed) {
    return new EksAccessError("config", `profile "${profileName}" is not defined in your AWS config or credentials files`, {
      hint: "check the name (aws configure list-profiles) or set AWS_CONFIG_FILE",
      cause: err,
    });
  }
  return new EksAccessError("credentials", `could not load AWS credentials for profile "${profileName}": ${firstLine(message)}`, {
    hint: "configure credentials (aws configure, aws sso login, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)",
    cause: err,
  });
}

const firstLine = (s: string): string => s.split("\n")[0]!.trim();
