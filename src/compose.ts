/** Builds the real adapters for the shells, lazily (each command loads only what it uses). */
import type { Env } from "./adapters/aws-config.js";
import type { AwsCredentialIdentity } from "@smithy/types";

export interface AwsContext {
  region: string | undefined;
  credentials: AwsCredentialIdentity;
  /** the profile the user named (flag or environment), as the AWS CLI's session.profile */
  namedProfile: string | undefined;
}

/** Region + credentials for an AWS API call, with --assume-role-arn applied when given. */
export async function awsContext(opts: { profile?: string | undefined; region?: string | undefined; env: Env; assumeRoleArn?: string | undefined; assumeSessionName?: string }): Promise<AwsContext> {
  const { effectiveProfile, namedProfile, resolveRegion } = await import("./adapters/aws-config.js");
  const { resolveCredentials } = await import("./adapters/credentials.js");
  const profile = effectiveProfile(opts.profile, opts.env);
  const region = await resolveRegion(opts.region, profile, opts.env);
  let credentials = await resolveCredentials({ profile: opts.profile, env: opts.env, promptMfa: undefined });
  if (opts.assumeRoleArn) {
    const { assumeRole } = await import("./adapters/sts.js");
    credentials = await assumeRole({ region, credentials, roleArn: opts.assumeRoleArn, sessionName: opts.assumeSessionName ?? "eks-access", env: opts.env });
  }
  return { region, credentials, namedProfile: namedProfile(opts.profile, opts.env) };
}
