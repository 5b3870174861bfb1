/**
 * What the AWS environment variables select (pure): credentials, region, profile, endpoints — the
 * AWS CLI v2's precedence, read from an env object so no SDK is needed.
 */
import { EksAccessError } from "./errors.js";

export type Env = Readonly<Record<string, string | undefined>>;

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export function envCredentials(env: Env): StaticCredentials | undefined {
  const accessKeyId = env["AWS_ACCESS_KEY_ID"];
  const secretAccessKey = env["AWS_SECRET_ACCESS_KEY"];
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = env["AWS_SESSION_TOKEN"] || env["AWS_SECURITY_TOKEN"] || undefined;
  const exp = env["AWS_CREDENTIAL_EXPIRATION"];
  const expiration = exp && !Number.isNaN(Date.parse(exp)) ? new Date(exp) : undefined;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}), ...(expiration ? { expiration } : {}) };
}

/** AWS CLI v2 precedence: --profile, AWS_PROFILE, AWS_DEFAULT_PROFILE, "default". */
export function effectiveProfile(flag: string | undefined, env: Env): string {
  return flag || env["AWS_PROFILE"] || env["AWS_DEFAULT_PROFILE"] || "default";
}

/** The profile the user named (flag or environment), as the AWS CLI's session.profile. */
export function namedProfile(flag: string | undefined, env: Env): string | undefined {
  return flag || env["AWS_PROFILE"] || env["AWS_DEFAULT_PROFILE"] || undefined;
}

/**
 * The AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL override, as the CLI and SDK read them; one that
 * is not an http(s) URL is a config error naming the variable.
 */
export function endpointOverride(service: string, env: Env): string | undefined {
  const specific = `AWS_ENDPOINT_URL_${service.toUpperCase()}`;
  const name = env[specific] ? specific : env["AWS_ENDPOINT_URL"] ? "AWS_ENDPOINT_URL" : undefined;
  return name === undefined ? undefined : checkedEndpoint(env[name]!, name, service);
}

/** An endpoint URL given by `source` (a variable or a flag), or a one-line error naming it. */
export function checkedEndpoint(value: string, source: string, service: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "https:" && url.protocol !== "http:") || url.hostname === "") {
    throw new EksAccessError("config", `${source} is not an http(s) URL: ${JSON.stringify(value)}`, {
      hint: `set it to an endpoint URL such as https://${service.toLowerCase()}.us-west-2.amazonaws.com, ${source.startsWith("--") ? "or leave it out" : "or unset it"}`,
    });
  }
  return value;
}
