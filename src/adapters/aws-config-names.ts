/** Profile and endpoint selection from the environment (no file access, no SDK). */
import type { Env } from "./env-credentials.js";

/** AWS CLI v2 precedence: --profile, AWS_PROFILE, AWS_DEFAULT_PROFILE, "default". */
export function effectiveProfile(flag: string | undefined, env: Env): string {
  return flag || env["AWS_PROFILE"] || env["AWS_DEFAULT_PROFILE"] || "default";
}

/** The profile the user named (flag or environment), as the AWS CLI's session.profile. */
export function namedProfile(flag: string | undefined, env: Env): string | undefined {
  return flag || env["AWS_PROFILE"] || env["AWS_DEFAULT_PROFILE"] || undefined;
}

/** The AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL override, as the CLI and SDK read them. */
export function endpointOverride(service: string, env: Env): string | undefined {
  return env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] || env["AWS_ENDPOINT_URL"] || undefined;
}
