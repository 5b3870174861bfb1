/**
 * The `sign` dependency of the token use case, i.e. its cache-miss half: region, credentials, optional AssumeRole, SigV4 presign. With
 * credentials and region in the environment it loads only the signer; profiles, SSO and roles load
 * the SDK credential chain (the `aws` part) on demand, through `loadAws`: this module is loaded
 * with a V8 code cache (src/adapters/code-cache.ts), where import() is not available.
 */
import { stsTarget } from "../core/sts-endpoint.js";
import { effectiveProfile, endpointOverride, envCredentials, envRegion, type Env } from "../core/aws-env.js";
import { presignToken } from "./token-signer.js";
import type { SignedToken, TokenInput } from "../usecases/token.js";

export const DEFAULT_SESSION_NAME = "EKSGetTokenAuth";

export async function signToken(
  input: TokenInput,
  now: Date,
  io: {
    env: Env;
    loadAws: () => Promise<typeof import("../aws-part.js")>;
    promptMfa?: ((serial: string) => Promise<string>) | undefined;
  },
): Promise<SignedToken> {
  const fromEnv = input.profile ? undefined : envCredentials(io.env);
  let region = envRegion(input.region, io.env);
  const needsSdk = !fromEnv || !region || !!input.roleArn;
  const aws = needsSdk ? await io.loadAws() : undefined;
  if (!region && aws) region = await aws.resolveRegion(input.region, effectiveProfile(input.profile, io.env), io.env);
  let credentials = fromEnv ?? (await aws!.resolveCredentials({ profile: input.profile, env: io.env, promptMfa: io.promptMfa }));
  if (input.roleArn) {
    credentials = await aws!.assumeRole({
      region,
      credentials,
      roleArn: input.roleArn,
      sessionName: input.sessionName || DEFAULT_SESSION_NAME,
      externalId: input.externalId,
      env: io.env,
    });
  }
  const target = stsTarget(region, endpointOverride("sts", io.env));
  const token = await presignToken({ credentials, target, clusterIdHeader: (input.clusterId || input.clusterName)!, now });
  return { token, credentialsExpiry: credentials.expiration };
}
