/** The cache-miss half of `token`: region, credentials, optional AssumeRole, SigV4 presign. */
import { stsTarget } from "../core/sts-endpoint.js";
import { effectiveProfile, endpointOverride, resolveRegion, type Env } from "../adapters/aws-config.js";
import { resolveCredentials } from "../adapters/credentials.js";
import { presignToken } from "../adapters/token-signer.js";
import type { SignedToken, TokenInput } from "./token.js";

export const DEFAULT_SESSION_NAME = "EKSGetTokenAuth";

export async function signToken(
  input: TokenInput,
  now: Date,
  io: { env: Env; promptMfa?: ((serial: string) => Promise<string>) | undefined },
): Promise<SignedToken> {
  const profile = effectiveProfile(input.profile, io.env);
  const region = await resolveRegion(input.region, profile, io.env);
  let credentials = await resolveCredentials({ profile: input.profile, env: io.env, promptMfa: io.promptMfa });
  if (input.roleArn) {
    const { assumeRole } = await import("../adapters/sts.js");
    credentials = await assumeRole({
      region,
      credentials,
      roleArn: input.roleArn,
      sessionName: input.sessionName || DEFAULT_SESSION_NAME,
      externalId: input.externalId,
    });
  }
  const target = stsTarget(region, endpointOverride("sts", io.env));
  const token = await presignToken({ credentials, target, clusterIdHeader: (input.clusterId || input.clusterName)!, now });
  return { token, credentialsExpiry: credentials.expiration };
}
