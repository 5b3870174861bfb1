/** The `aws` part (dist/aws.js): SDK credential providers, shared-config loading and STS. */
import { credentialSources, explainingErrors } from "./adapters/credentials.js";
import { loadProfile } from "./adapters/aws-config.js";
import { envRegionWithOrigin } from "./core/region-origin.js";
import { resolveCredentialsFor } from "./usecases/profile-credentials.js";
import type { AwsPart, ResolvedRegion } from "./ports/aws.js";

/** Credentials and where they came from: the use case over the SDK, the AWS CLI cache and lock files. */
export const resolveCredentials: AwsPart["resolveCredentials"] = async (opts) =>
  explainingErrors(opts, async () => resolveCredentialsFor(opts, await credentialSources(opts)));

/** --region, AWS_REGION, AWS_DEFAULT_REGION, then the profile's `region`, with which one it was. */
export async function resolveRegion(...[flag, profile, env]: Parameters<AwsPart["resolveRegion"]>): Promise<ResolvedRegion> {
  const direct = envRegionWithOrigin(flag, env);
  if (direct) return direct;
  try {
    const region = (await loadProfile(profile)).settings["region"] || undefined;
    return region ? { region, origin: `profile ${profile}` } : { region: undefined, origin: "none" };
  } catch {
    return { region: undefined, origin: "none" };
  }
}

/** The STS client loads only when a role is assumed: a profile with keys needs none of it. */
export async function assumeRole(...args: Parameters<typeof import("./adapters/sts.js").assumeRole>): ReturnType<typeof import("./adapters/sts.js").assumeRole> {
  const { assumeRole: assume } = await import("./adapters/sts.js");
  return assume(...args);
}

// dist/aws.js is loaded by name (src/parts.ts) and used through its port: this is what keeps the two in step
void ({ resolveCredentials, resolveRegion, assumeRole } satisfies AwsPart);
