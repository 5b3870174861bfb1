/**
 * The checks a TokenReview authenticator makes on an EKS token before it asks STS, and the reading
 * of STS's answer (pure: no I/O, the clock is an argument). The rules are aws-iam-authenticator's
 * (pkg/token/token.go, tokenVerifier.Verify), in its order:
 *
 *   1. at most `maxTokenBytes` bytes (the peer: 4096; configurable up to 16 KiB)
 *   2. the `k8s-aws-v1.` prefix
 *   3. unpadded base64url (CR and LF are skipped and the unused low bits of the last character are
 *      ignored, as Go's base64.RawURLEncoding does)
 *   4. an https URL (scheme in any letter case, as Go's url.Parse lower-cases it)
 *   5. whose host is an STS host name of the configured partition (exact, no port)
 *   6. whose path is `/`
 *   7. a query Go's url.ParseQuery reads (no `;`, valid %-escapes) where no parameter name appears
 *      twice in any letter case (CVE-2022-2385: `Action` and `action` are duplicates)
 *   8. only the allowlisted parameters (Action, Version, X-Amz-Algorithm, X-Amz-Credential,
 *      X-Amz-Date, X-Amz-Expires, X-Amz-Security-Token, X-Amz-Signature, X-Amz-SignedHeaders)
 *   9. Action=GetCallerIdentity
 *  10. X-Amz-SignedHeaders names x-k8s-aws-id (the signature binds the token to a cluster id)
 *  11. X-Amz-Expires an integer 0..900 (STS ignores it: a presigned GetCallerIdentity lives 15 min)
 *  12. X-Amz-Date present, yyyymmddThhmmssZ, not more than 15 minutes old
 *
 * and, stricter than the peer (which leaves these to STS, which refuses them):
 *  - no userinfo (`user@`) and no `#fragment` in the URL, only printable ASCII in it;
 *  - X-Amz-Date not further in the future than STS's own 15-minute allowance (so that a cached
 *    verification can never outlive the token); X-Amz-Expires in plain digits (Go's Atoi also takes
 *    `+60`);
 *  - X-Amz-Algorithm AWS4-HMAC-SHA256, X-Amz-Credential `<access key id>/<yyyymmdd>/<region>/sts/aws4_request`,
 *    X-Amz-Signature 64 lower-case hex digits.
 *
 * The cluster id itself cannot be checked here: the token names the signed header, not its value.
 * The verifier sends `x-k8s-aws-id: <its cluster id>` with the GET, and STS refuses a signature made
 * for another value (SignatureDoesNotMatch), indistinguishable from any other bad signature.
 *
 * Refusals throw AuthnError("format"), one line, never quoting the token, its signature or its
 * security token.
 */
import { AuthnError } from "./authn-error.js";
import { EksAccessError } from "./errors.js";
import { dnsSuffix, partitionDnsSuffix, partitionOf } from "./sts-endpoint.js";
import { CLUSTER_ID_HEADER, TOKEN_PREFIX } from "./token.js";

/** aws-iam-authenticator's maxTokenLenBytes. */
export const DEFAULT_MAX_TOKEN_BYTES = 4096;
/** The most `maxTokenBytes` may be set to (long session tokens, aws-iam-authenticator #1106). */
export const MAX_TOKEN_BYTES_LIMIT = 16 * 1024;
/** STS accepts a presigned GetCallerIdentity for 15 minutes after its X-Amz-Date. */
export const PRESIGNED_VALIDITY_MS = 15 * 60_000;
/** How far ahead of our clock an X-Amz-Date may be: STS's own allowance ("Signature not yet current"). */
export const DEFAULT_MAX_FUTURE_MS = 15 * 60_000;
const MAX_EXPIRES_SECONDS = 900;

/** Dual-stack DNS suffix of the partitions that have one (SDK partition data). */
const DUAL_STACK_SUFFIX: Readonly<Record<string, string>> = {
  aws: "api.aws",
  "aws-us-gov": "api.aws",
  "aws-cn": "api.amazonwebservices.com.cn",
  "aws-eusc": "api.amazonwebservices.eu",
};

/** A region identifier as AWS forms them: us-east-1, us-gov-west-1, eusc-de-east-1, cn-north-1. */
const REGION = /^[a-z]{2,}(?:-[a-z]+)+-\d{1,3}$/;

/** The parameters a presigned GetCallerIdentity may carry, lower-case (aws-iam-authenticator's allowlist). */
export const ALLOWED_QUERY_PARAMS: ReadonlySet<string> = new Set([
  "action",
  "version",
  "x-amz-algorithm",
  "x-amz-credential",
  "x-amz-date",
  "x-amz-expires",
  "x-amz-security-token",
  "x-amz-signature",
  "x-amz-signedheaders",
]);

export interface TokenPolicy {
  /** AWS partition whose STS hosts are accepted (aws-iam-authenticator --partition) */
  readonly partition: string;
  /** the server's own region, if known: its STS host is accepted whatever its form */
  readonly region: string | undefined;
  readonly maxTokenBytes: number;
  readonly maxFutureMs: number;
}

export interface TokenPolicyOptions {
  partition?: string | undefined;
  region?: string | undefined;
  maxTokenBytes?: number | undefined;
  maxFutureMs?: number | undefined;
}

/** Validates the verifier's settings (a configuration error is a usage error, not a refusal). */
export function tokenPolicy(opts: TokenPolicyOptions = {}): TokenPolicy {
  const region = opts.region || undefined;
  if (region !== undefined && !REGION.test(region)) {
    throw new EksAccessError("config", `region ${JSON.stringify(region)} is not an AWS region name`, { hint: "give a region such as us-west-2" });
  }
  const partition = opts.partition || (region !== undefined ? partitionOf(region) : "aws");
  if (partitionDnsSuffix(partition) === undefined) {
    throw new EksAccessError("config", `unknown AWS partition ${JSON.stringify(partition)}`, {
      hint: "use aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f or aws-eusc",
    });
  }
  if (region !== undefined && partitionOf(region) !== partition) {
    throw new EksAccessError("config", `region ${region} is not in partition ${partition}`, { hint: `use partition ${partitionOf(region)} or a region of ${partition}` });
  }
  const maxTokenBytes = opts.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES;
  if (!Number.isInteger(maxTokenBytes) || maxTokenBytes < TOKEN_PREFIX.length || maxTokenBytes > MAX_TOKEN_BYTES_LIMIT) {
    throw new EksAccessError("config", `the maximum token size ${maxTokenBytes} is out of range`, {
      hint: `give a whole number of bytes from ${TOKEN_PREFIX.length} to ${MAX_TOKEN_BYTES_LIMIT} (default ${DEFAULT_MAX_TOKEN_BYTES})`,
    });
  }
  const maxFutureMs = opts.maxFutureMs ?? DEFAULT_MAX_FUTURE_MS;
  if (!Number.isFinite(maxFutureMs) || maxFutureMs < 0) {
    throw new EksAccessError("config", `the allowed clock skew ${maxFutureMs} ms is out of range`, { hint: "give a duration of 0 or more" });
  }
  return { partition, region, maxTokenBytes, maxFutureMs };
}

/** Whether `host` (exactly as in the URL, port included) is an STS host name of the policy's partition. */
export function isAllowedStsHost(host: string, policy: Pick<TokenPolicy, "partition" | "region">): boolean {
  if (host === "sts.amazonaws.com") return policy.partition === "aws";
  if (policy.region !== undefined && host === `sts.${policy.region}.${dnsSuffix(policy.region)}`) return true;
  const m = /^sts(?:-fips)?\.([a-z0-9-]+)\.([a-z0-9.-]+)$/.exec(host);
  if (m === null) return false;
  const region = m[1]!;
  const suffix = m[2]!;
  if (!REGION.test(region) || partitionOf(region) !== policy.partition) return false;
  return suffix === dnsSuffix(region) || suffix === DUAL_STACK_SUFFIX[policy.partition];
}

/** A token that passed every check: what the STS call and the cache need. */
export interface CheckedToken {
  /** the presigned URL to GET (a bearer credential: never log it) */
  url: string;
  host: string;
  /** the access key id of X-Amz-Credential */
  accessKeyId: string;
  signedAtMs: number;
  /** X-Amz-Date + 15 min: STS refuses the token after this instant */
  validUntilMs: number;
}

const refuse = (reason: string): AuthnError => new AuthnError("format", `token refused: ${reason}`);

/** A value from the token, quoted and cut short, for a message. */
function quote(value: string): string {
  return JSON.stringify(value.length > 48 ? `${value.slice(0, 48)}…` : value);
}

/** UTF-8 length of a string (as Go's len() counts a token's bytes). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return n;
}

/**
 * Go's base64.RawURLEncoding.DecodeString: the URL-safe alphabet, no padding, CR and LF skipped,
 * 4n+1 symbols refused, the unused low bits of the last symbol ignored. The bytes come back as a
 * latin1 string; undefined when Go would fail. (atob decodes: it ignores those bits as Go does.)
 */
function decodeBase64Url(body: string): string | undefined {
  if (!/^[A-Za-z0-9_\-\r\n]*$/.test(body)) return undefined;
  const symbols = body.includes("\n") || body.includes("\r") ? body.replace(/[\r\n]/g, "") : body;
  if (symbols.length % 4 === 1) return undefined;
  return atob(symbols.replace(/-/g, "+").replace(/_/g, "/"));
}

const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/** Go's url.QueryUnescape ('+' is a space, %XX a byte), for a string without bad escapes. */
function unescapeQuery(s: string): string {
  if (!s.includes("%") && !s.includes("+")) return s;
  return s.replace(/\+/g, " ").replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** "20230428T000000Z" → ms since the epoch, undefined unless a real UTC instant in that exact form. */
function parseAmzDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  if (date.getUTCDate() !== d) return undefined; // 30 February
  date.setUTCHours(h, mi, s, 0);
  return date.getTime();
}

/** The query's parameters by lower-case name, values still raw (decoded when read: `param`). */
function queryParams(rawQuery: string): Map<string, string> {
  // Go's url.ParseQuery fails on a ';' or a bad %-escape anywhere
  if (rawQuery.includes(";")) throw refuse("the pre-signed URL's query has a ';' separator");
  if (BAD_ESCAPE.test(rawQuery)) throw refuse("the pre-signed URL's query has a malformed %-escape");
  const params = new Map<string, string>();
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = unescapeQuery(eq === -1 ? part : part.slice(0, eq));
    const lower = name.toLowerCase();
    if (params.has(lower)) throw refuse(`duplicate query parameter ${quote(name)} (names are compared in any letter case)`);
    params.set(lower, eq === -1 ? "" : part.slice(eq + 1));
  }
  for (const name of params.keys()) {
    if (!ALLOWED_QUERY_PARAMS.has(name)) throw refuse(`query parameter ${quote(name)} is not allowed in a pre-signed GetCallerIdentity`);
  }
  return params;
}

function param(params: Map<string, string>, name: string): string | undefined {
  const raw = params.get(name);
  return raw === undefined ? undefined : unescapeQuery(raw);
}

/**
 * Every check of an EKS token that needs no network, in aws-iam-authenticator's order (see the top
 * of this file). `nowMs` is the verifier's clock. Throws AuthnError("format").
 */
export function checkToken(token: string, policy: TokenPolicy, nowMs: number): CheckedToken {
  const mayBeLonger = token.length * 3 > policy.maxTokenBytes && /[^\x00-\x7f]/.test(token); // in UTF-8 bytes than in characters
  if (token.length > policy.maxTokenBytes || (mayBeLonger && utf8Length(token) > policy.maxTokenBytes)) {
    throw refuse(`it is larger than ${policy.maxTokenBytes} bytes`);
  }
  if (!token.startsWith(TOKEN_PREFIX)) throw refuse(`it does not start with ${TOKEN_PREFIX}`);
  const url = decodeBase64Url(token.slice(TOKEN_PREFIX.length));
  if (url === undefined) throw refuse(`the part after ${TOKEN_PREFIX} is not unpadded base64url`);
  if (!/^[\x21-\x7e]*$/.test(url)) throw refuse("the pre-signed URL holds a space, control or non-ASCII character");

  const colon = url.indexOf(":");
  const scheme = colon === -1 ? "" : url.slice(0, colon);
  if (scheme.toLowerCase() !== "https") throw refuse(`the pre-signed URL's scheme is ${quote(scheme)}, not https`);
  if (!url.startsWith("//", colon + 1)) throw refuse("the pre-signed URL has no host");
  const afterScheme = url.slice(colon + 3);
  const authorityEnd = afterScheme.search(/[/?#]/);
  const authority = authorityEnd === -1 ? afterScheme : afterScheme.slice(0, authorityEnd);
  const rest = authorityEnd === -1 ? "" : afterScheme.slice(authorityEnd);
  if (authority.includes("@")) throw refuse("the pre-signed URL carries user information (user@host)");
  if (!isAllowedStsHost(authority, policy)) {
    // quoted only when it looks like a host name: a URL without a path would put its query here
    const named = /^[A-Za-z0-9.:[\]_-]*$/.test(authority) ? quote(authority) : "the pre-signed URL's host";
    throw refuse(`${named} is not an STS host of partition ${policy.partition}`);
  }
  if (rest.includes("#")) throw refuse("the pre-signed URL has a #fragment");
  const q = rest.indexOf("?");
  const path = q === -1 ? rest : rest.slice(0, q);
  if (path !== "/") throw refuse(`the pre-signed URL's path is ${quote(path)}, not /`);

  const params = queryParams(q === -1 ? "" : rest.slice(q + 1));
  const action = param(params, "action");
  if (action !== "GetCallerIdentity") throw refuse(`Action is ${action === undefined ? "missing" : quote(action)}, not GetCallerIdentity`);
  const signedHeaders = (param(params, "x-amz-signedheaders") ?? "").split(";");
  if (!signedHeaders.some((h) => h.toLowerCase() === CLUSTER_ID_HEADER)) {
    throw refuse(`X-Amz-SignedHeaders does not name ${CLUSTER_ID_HEADER}: the token is not bound to a cluster`);
  }
  const expires = param(params, "x-amz-expires") ?? "";
  const expiresDigits = /^\d+$/.test(expires) ? expires.replace(/^0+(?=\d)/, "") : "";
  if (expiresDigits === "" || expiresDigits.length > 3 || Number(expiresDigits) > MAX_EXPIRES_SECONDS) {
    throw refuse(`X-Amz-Expires is ${expires === "" ? "missing" : quote(expires)}, not a whole number of seconds from 0 to ${MAX_EXPIRES_SECONDS}`);
  }
  const date = param(params, "x-amz-date") ?? "";
  if (date === "") throw refuse("X-Amz-Date is missing");
  const signedAtMs = parseAmzDate(date);
  if (signedAtMs === undefined) throw refuse(`X-Amz-Date ${quote(date)} is not yyyymmddThhmmssZ`);
  const validUntilMs = signedAtMs + PRESIGNED_VALIDITY_MS;
  if (nowMs > validUntilMs) throw refuse(`X-Amz-Date ${date} is more than 15 minutes old: the token has expired`);
  if (signedAtMs > nowMs + policy.maxFutureMs) throw refuse(`X-Amz-Date ${date} is in the future beyond the allowed clock skew`);

  if (param(params, "x-amz-algorithm") !== "AWS4-HMAC-SHA256") throw refuse("X-Amz-Algorithm is not AWS4-HMAC-SHA256");
  const credential = /^(\w{16,128})\/\d{8}\/[a-z0-9-]+\/sts\/aws4_request$/.exec(param(params, "x-amz-credential") ?? "");
  if (credential === null) throw refuse("X-Amz-Credential is not <access key id>/<yyyymmdd>/<region>/sts/aws4_request");
  if (!/^[0-9a-f]{64}$/.test(param(params, "x-amz-signature") ?? "")) throw refuse("X-Amz-Signature is not 64 lower-case hex digits");

  return { url, host: authority, accessKeyId: credential[1]!, signedAtMs, validUntilMs };
}

/** The caller STS named in its GetCallerIdentity answer. */
export interface CallerIdentity {
  arn: string;
  account: string;
  userId: string;
}

/** The error code of an STS error body, JSON (`{"Error":{"Code":…}}`) or XML (`<Code>…</Code>`). */
function stsErrorCode(body: string): string | undefined {
  let code: unknown;
  try {
    const doc = JSON.parse(body) as { Error?: { Code?: unknown }; __type?: unknown } | null;
    code = doc?.Error?.Code ?? doc?.__type;
  } catch {
    code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
  }
  return typeof code === "string" && /^[A-Za-z0-9.:_-]{1,64}$/.test(code) ? code : undefined;
}

const THROTTLING = /throttl|ratelimit|requestlimitexceeded|toomanyrequests|slowdown/i;

/**
 * Reads STS's answer to the presigned GET: the caller on 200, else AuthnError —
 * sts-throttled (429, or a throttling error code; aws-iam-authenticator ≥ v0.6.29/v0.7.1 looks for
 * "Throttling" in the body), sts-rejected (a 4xx with STS's error code: bad signature, unknown or
 * expired key, another cluster's token), else sts-unavailable (5xx, redirects, a 4xx without an STS
 * error — a proxy's —, a 200 that is not a GetCallerIdentity result).
 */
export function readCallerIdentity(status: number, body: string): CallerIdentity {
  if (status === 200) {
    let result: { Arn?: unknown; Account?: unknown; UserId?: unknown } | undefined;
    try {
      result = (JSON.parse(body) as { GetCallerIdentityResponse?: { GetCallerIdentityResult?: typeof result } } | null)?.GetCallerIdentityResponse
        ?.GetCallerIdentityResult;
    } catch {
      result = undefined;
    }
    const { Arn: arn, Account: account, UserId: userId } = result ?? {};
    if (typeof arn !== "string" || !arn.startsWith("arn:") || typeof account !== "string" || !/^\d{12}$/.test(account) || typeof userId !== "string" || userId === "") {
      throw new AuthnError("sts-unavailable", "STS answered 200 without a readable GetCallerIdentity result (is something between us and STS?)");
    }
    return { arn, account, userId };
  }
  const code = stsErrorCode(body);
  const named = `HTTP ${status}${code === undefined ? "" : ` ${code}`}`;
  if (status === 429 || (code !== undefined && THROTTLING.test(code)) || body.includes("Throttling")) {
    throw new AuthnError("sts-throttled", `STS throttled the GetCallerIdentity call (${named}); the apiserver retries`);
  }
  if (status >= 400 && status < 500 && code !== undefined) {
    const why = code === "SignatureDoesNotMatch" ? ": signed for another cluster id, or not with the key's secret" : "";
    throw new AuthnError("sts-rejected", `STS refused the token (${named})${why}`);
  }
  if (status >= 400 && status < 500) {
    // STS always names its error: a bare 4xx comes from something on the way (a proxy refusing the host)
    throw new AuthnError("sts-unavailable", `HTTP ${status} without an STS error code on the way to STS (a proxy?); the apiserver retries`);
  }
  throw new AuthnError("sts-unavailable", `STS failed (${named}); the apiserver retries`);
}
