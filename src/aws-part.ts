/** The `aws` part (dist/aws.js): SDK credential providers, shared-config loading and STS. */
export { resolveCredentials } from "./adapters/credentials.js";
export { resolveRegion } from "./adapters/aws-config.js";
export { assumeRole } from "./adapters/sts.js";
