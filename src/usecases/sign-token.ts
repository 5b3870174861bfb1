/**
 * The token's cache-miss half, decided here: which credentials (environment keys unless a
 * profile is named, else the SDK chain with the AWS CLI's credential cache), which region (and
 * from where), an optional --role-arn hop, which STS endpoint; then the SigV4 presign. With
 * credentials and region in the environment the SDK part is never loaded.
 */
import { stsTarget } from "../core/sts-endpoint.js";
import { effectiveProfile, endpointOverride, envCredentials, type Env } from "../core/aws-env.js";
import { envRegionWithOrigin } from "../core/region-origin.js";
import type { TokenRequest } from "../core/token-cache-key.js";
import type { AwsPart, Presign } from "../ports/aws.js";

export const DEFAULT_SESSION_NAME = "EKSGetTokenAuth";

export interface SignTokenDeps {
  env: Env;
  loadAws: () => Promise<AwsPart>;
  presign: Presign;
  promptMfa?: ((serial: string) => Promise<string>) | undefined;
  /** --debug lines; never given a secret */
  debug?: ((line: string) => void) | undefined;
}

export async function signTokenWith(input: TokenRequest, now: Date, deps: SignTokenDeps): Promise<{ token: string; credentialsExpiry?: Date | undefined }> {
  const debug = deps.debug;
  const fromEnv = input.profile ? undefined : envCredentials(deps.env);
  const direct = envRegionWithOrigin(input.region, deps.env);
  const needsSdk = !fromEnv || !direct || !!input.roleArn;
  const aws = needsSdk ? await deps.loadAws() : undefined;
  const profile = effectiveProfile(input.profile, deps.env);
  const region = direct ?? (await aws!.resolveRegion(input.region, profile, deps.env));
  if (debug) {
    debug(`profile: ${input.profile ? `${input.profile} (--profile)` : fromEnv ? "none (environment credentials)" : `${profile} (${deps.env["AWS_PROFILE"] ? "AWS_PROFILE" : deps.env["AWS_DEFAULT_PROFILE"] ? "AWS_DEFAULT_PROFILE" : "default"})`}`);
    debug(`region: ${region.region ?? "none"} (${region.origin})`);
  }
  let resolved = fromEnv
    ? { credentials: fromEnv, source: "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)" }
    : await aws!.resolveCredentials({ profile: input.profile, env: deps.env, promptMfa: deps.promptMfa, debug });
  debug?.(`credentials: ${resolved.source}`);
  if (input.roleArn) {
    const sessionName = input.sessionName || DEFAULT_SESSION_NAME;
    const credentials = await aws!.assumeRole({ region: region.region, credentials: resolved.credentials, roleArn: input.roleArn, sessionName, externalId: input.externalId, env: deps.env });
    resolved = { credentials, source: `--role-arn ${input.roleArn} (session ${sessionName}) assumed with ${resolved.source}` };
    debug?.(`credentials: ${resolved.source}`);
  }
  const target = stsTarget(region.region, endpointOverride("sts", deps.env));
  debug?.(`STS endpoint: ${target.origin}${target.path} (signing region ${target.signingRegion})`);
  const token = await deps.presign({ credentials: resolved.credentials, target, clusterIdHeader: (input.clusterId || input.clusterName)!, now });
  return { token, credentialsExpiry: resolved.credentials.expiration };
}
