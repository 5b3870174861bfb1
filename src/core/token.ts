/**
 * The EKS bearer token format shared by `aws eks get-token` and aws-iam-authenticator (pure):
 * `k8s-aws-v1.` + unpadded base64url of a SigV4 query-presigned GET GetCallerIdentity URL whose
 * signature covers the `x-k8s-aws-id` header. Signing itself happens in an adapter.
 */
export const TOKEN_PREFIX = "k8s-aws-v1.";
export const CLUSTER_ID_HEADER = "x-k8s-aws-id";
/** X-Amz-Expires the AWS CLI uses for the presigned URL. */
export const PRESIGN_EXPIRES_SECONDS = 60;
/** STS accepts a presigned GetCallerIdentity for 15 minutes; the CLI advertises 14. */
export const TOKEN_LIFETIME_MS = 14 * 60 * 1000;

export const OPERATION_QUERY: ReadonlyArray<readonly [string, string]> = [
  ["Action", "GetCallerIdentity"],
  ["Version", "2011-06-15"],
];

/** The order botocore emits the query-auth parameters in (after the operation parameters). */
const AUTH_PARAM_ORDER = [
  "X-Amz-Algorithm",
  "X-Amz-Credential",
  "X-Amz-Date",
  "X-Amz-Expires",
  "X-Amz-SignedHeaders",
  "X-Amz-Security-Token",
  "X-Amz-Signature",
] as const;

/** RFC 3986 percent-encoding (botocore's `quote(s, safe='-_.~')`). */
export function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Assembles the presigned URL with the query in botocore's order: operation parameters, then
 * X-Amz-Algorithm … X-Amz-Signature. The order does not change the signature (SigV4 sorts), but it
 * changes the token's bytes, and the token must be byte-identical to the AWS CLI's.
 */
export function assemblePresignedUrl(origin: string, path: string, signedQuery: Readonly<Record<string, string>>): string {
  const known = new Set<string>([...OPERATION_QUERY.map(([k]) => k), ...AUTH_PARAM_ORDER]);
  const parts: string[] = [];
  for (const [k, v] of OPERATION_QUERY) parts.push(`${k}=${rfc3986(signedQuery[k] ?? v)}`);
  for (const k of AUTH_PARAM_ORDER) {
    const v = signedQuery[k];
    if (v !== undefined) parts.push(`${k}=${rfc3986(v)}`);
  }
  for (const k of Object.keys(signedQuery)) {
    if (!known.has(k)) throw new Error(`unexpected query parameter from the signer: ${k}`);
  }
  return `${origin}${path}?${parts.join("&")}`;
}

export function encodeToken(presignedUrl: string): string {
  return TOKEN_PREFIX + btoa(presignedUrl).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes a token back to its URL; throws on a wrong prefix or bad base64url. */
export function decodeToken(token: string): string {
  if (!token.startsWith(TOKEN_PREFIX)) throw new Error(`token does not start with ${TOKEN_PREFIX}`);
  const body = token.slice(TOKEN_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(body)) throw new Error("token is not base64url");
  const b64 = body.replace(/-/g, "+").replace(/_/g, "/");
  return atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
}

/** `%Y-%m-%dT%H:%M:%SZ` in UTC, as the AWS CLI formats expirationTimestamp. */
export function formatTimestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * When a freshly signed token should be considered expired: the AWS CLI's now + 14 minutes, but never
 * later than the signing credentials' own expiry (a presigned URL dies with its session credentials).
 */
export function tokenExpiry(now: Date, credentialsExpiry?: Date): Date {
  const cliExpiry = new Date(now.getTime() + TOKEN_LIFETIME_MS);
  if (credentialsExpiry && credentialsExpiry.getTime() < cliExpiry.getTime()) {
    return new Date(Math.floor(credentialsExpiry.getTime() / 1000) * 1000);
  }
  return cliExpiry;
}
