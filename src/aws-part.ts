/** The `aws` part (dist/aws.js): SDK credential providers, shared-config loading and STS. */
import { resolveCredentialsWithSource } from "./adapters/credentials.js";
import { loadProfile } from "./adapters/aws-config.js";
import { envRegionWithOrigin } from "./core/region-origin.js";
import type { AwsPart, ResolvedRegion } from "./ports/aws.js";

export const resolveCredentials: AwsPart["resolveCredentials"] = resolveCredentialsWithSource;

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
