/** The `aws` part (dist/aws.js): SDK credential providers, shared-config loading and STS. */
export { resolveCredentials } from "./adapters/credentials.js";
export { resolveRegion } from "./adapters/aws-config.js";

/** The STS client loads only when a role is assumed: a profile with keys needs none of it. */
export async function assumeRole(...args: Parameters<typeof import("./adapters/sts.js").assumeRole>): ReturnType<typeof import("./adapters/sts.js").assumeRole> {
  const { assumeRole: assume } = await import("./adapters/sts.js");
  return assume(...args);
}
