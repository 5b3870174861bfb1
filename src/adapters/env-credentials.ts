/** Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY [/ AWS_SESSION_TOKEN] — no SDK needed. */
import type { AwsCredentialIdentity } from "@smithy/types";

export type Env = Readonly<Record<string, string | undefined>>;

export function envCredentials(env: Env): AwsCredentialIdentity | undefined {
  const accessKeyId = env["AWS_ACCESS_KEY_ID"];
  const secretAccessKey = env["AWS_SECRET_ACCESS_KEY"];
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = env["AWS_SESSION_TOKEN"] || env["AWS_SECURITY_TOKEN"] || undefined;
  const exp = env["AWS_CREDENTIAL_EXPIRATION"];
  const expiration = exp && !Number.isNaN(Date.parse(exp)) ? new Date(exp) : undefined;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}), ...(expiration ? { expiration } : {}) };
}

/** The region the environment names (AWS CLI v2 order), without reading config files. */
export function envRegion(flag: string | undefined, env: Env): string | undefined {
  return flag || env["AWS_REGION"] || env["AWS_DEFAULT_REGION"] || undefined;
}
