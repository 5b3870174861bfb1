/**
 * Verification of SigV4 query-presigned STS GetCallerIdentity requests (EKS tokens), written
 * from the SigV4 specification with node:crypto only. It is deliberately an independent code
 * path from the signer under test (no SDK, no @smithy/signature-v4).
 *
 * Pure functions: the HTTP server in sts-verifier.ts parses the request, looks the credentials
 * up and answers; everything about the signature and the policy checks lives here.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { ALLOWED_QUERY_PARAMS } from "../../core/token-verify.js";

export const ALGORITHM = "AWS4-HMAC-SHA256";
/** Hex sha256 of the empty string: the payload hash botocore and the Go SDK sign for a presigned GET. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
export const CLUSTER_ID_HEADER = "x-k8s-aws-id";
export const STS_SERVICE = "sts";
export const GET_CALLER_IDENTITY = "GetCallerIdentity";
export const STS_API_VERSION = "2011-06-15";
/** aws-iam-authenticator accepts X-Amz-Expires 0..900; so do we (the value is checked, then ignored). */
export const MAX_EXPIRES_SECONDS = 900;
/**
 * How long STS accepts a presigned GetCallerIdentity: 15 minutes after its X-Amz-Date, whatever
 * X-Amz-Expires says (STS ignores it: aws-sdk-go #2167, aws-iam-authenticator #258 and the comment
 * on presignedURLExpiration in its pkg/token/token.go). The AWS CLI and eks-access therefore give
 * the token a 14-minute expirationTimestamp, and kubectl reuses it that long.
 */
export const PRESIGNED_VALIDITY_SECONDS = 900;
/**
 * How far in the future STS accepts an X-Amz-Date: 15 minutes (its errors read "Signature not yet
 * current: ... is still later than ... (<now> + 15 min.)"; most other services allow 5).
 */
export const DEFAULT_CLOCK_SKEW_SECONDS = 900;

export type StsErrorCode =
  | "SignatureDoesNotMatch"
  | "InvalidClientTokenId"
  | "ExpiredToken"
  | "AccessDenied"
  | "IncompleteSignature"
  | "MissingAuthenticationToken"
  | "InvalidAction"
  | "InternalFailure";

export interface StsError {
  status: number;
  code: StsErrorCode;
  message: string;
}

export interface QueryParam {
  name: string;
  value: string;
}

/** The parts of an HTTP request the verification needs. Header names lower-case. */
export interface PresignedRequest {
  method: string;
  /** Path without the query, as sent (still percent-encoded). */
  path: string;
  /** Raw query string without the leading "?". */
  rawQuery: string;
  /** Every value of each header, names lower-case (node's `req.headersDistinct`). */
  headers: Record<string, string[] | undefined>;
}

/** A presigned request that passed every check that does not need the secret key. */
export interface ParsedPresign {
  accessKeyId: string;
  /** yyyymmdd of the credential scope. */
  scopeDate: string;
  region: string;
  service: string;
  /** X-Amz-Date as sent (yyyymmddThhmmssZ). */
  amzDate: string;
  signedAt: Date;
  expiresSeconds: number;
  signedHeaders: string[];
  securityToken: string | undefined;
  signature: string;
  clusterId: string;
  canonicalRequest: string;
}

export interface CheckOptions {
  now: Date;
  /** Regions a credential scope may name; undefined = any well-formed region. */
  allowedRegions?: readonly string[];
  /** How far in the future X-Amz-Date may be (default DEFAULT_CLOCK_SKEW_SECONDS). */
  clockSkewSeconds?: number;
}

export function stsError(code: StsErrorCode, message: string, status = 403): StsError {
  return { status, code, message };
}

export function isStsError(value: unknown): value is StsError {
  return typeof value === "object" && value !== null && "code" in value && "status" in value && "message" in value;
}

// ---------------------------------------------------------------------------------------------
// Encoding and canonical forms

/** RFC 3986 percent-encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ (UTF-8). */
export function rfc3986Encode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Decodes one query component with form semantics ('+' is a space); throws on bad escapes. */
function decodeQueryComponent(component: string): string {
  return decodeURIComponent(component.replace(/\+/g, " "));
}

/** Splits a raw query string into decoded name/value pairs, keeping order and duplicates. */
export function parseQuery(rawQuery: string): QueryParam[] {
  if (rawQuery === "") return [];
  return rawQuery
    .split("&")
    .filter((part) => part !== "")
    .map((part) => {
      const eq = part.indexOf("=");
      const name = eq === -1 ? part : part.slice(0, eq);
      const value = eq === -1 ? "" : part.slice(eq + 1);
      return { name: decodeQueryComponent(name), value: decodeQueryComponent(value) };
    });
}

/** Canonical query string: every parameter but X-Amz-Signature, encoded, sorted by name then value. */
export function canonicalQueryString(params: readonly QueryParam[]): string {
  return params
    .filter((p) => p.name !== "X-Amz-Signature")
    .map((p) => [rfc3986Encode(p.name), rfc3986Encode(p.value)] as const)
    .sort(([an, av], [bn, bv]) => compareCodeUnits(an, bn) || compareCodeUnits(av, bv))
    .map(([n, v]) => `${n}=${v}`)
    .join("&");
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Canonical URI for non-S3 services: dot segments removed, each segment encoded again. */
export function canonicalUri(path: string): string {
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === ".") continue;
    if (segment === "..") {
      out.pop();
      continue;
    }
    out.push(segment);
  }
  let joined = out.join("/");
  if (!joined.startsWith("/")) joined = `/${joined}`;
  if (path.endsWith("/") && !joined.endsWith("/")) joined += "/";
  return joined
    .split("/")
    .map((segment) => rfc3986Encode(segment))
    .join("/");
}

/** A header value as SigV4 canonicalizes it: values trimmed, inner runs of spaces collapsed, joined with ','. */
export function canonicalHeaderValue(values: readonly string[]): string {
  return values.map((v) => v.trim().replace(/ {2,}/g, " ")).join(",");
}

export interface CanonicalRequestInput {
  method: string;
  path: string;
  params: readonly QueryParam[];
  headers: Record<string, string[] | undefined>;
  signedHeaders: readonly string[];
  payloadHash?: string;
}

export function buildCanonicalRequest(input: CanonicalRequestInput): string {
  const headerLines = input.signedHeaders.map((name) => `${name}:${canonicalHeaderValue(input.headers[name] ?? [])}\n`);
  return [
    input.method.toUpperCase(),
    canonicalUri(input.path),
    canonicalQueryString(input.params),
    headerLines.join(""),
    input.signedHeaders.join(";"),
    input.payloadHash ?? EMPTY_SHA256,
  ].join("\n");
}

export function sha256Hex(data: string): string {
  return createHash("sha256").update(data, "utf8").digest("hex");
}

export function credentialScope(scopeDate: string, region: string, service: string): string {
  return `${scopeDate}/${region}/${service}/aws4_request`;
}

export function buildStringToSign(amzDate: string, scope: string, canonicalRequest: string): string {
  return [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

export function deriveSigningKey(secretAccessKey: string, scopeDate: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secretAccessKey}`, scopeDate);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, "aws4_request");
}

export function computeSignature(
  secretAccessKey: string,
  scope: { scopeDate: string; region: string; service: string },
  amzDate: string,
  canonicalRequest: string,
): string {
  const key = deriveSigningKey(secretAccessKey, scope.scopeDate, scope.region, scope.service);
  const stringToSign = buildStringToSign(amzDate, credentialScope(scope.scopeDate, scope.region, scope.service), canonicalRequest);
  return createHmac("sha256", key).update(stringToSign, "utf8").digest("hex");
}

/** Constant-time comparison of two hex signatures (false for different lengths or non-hex). */
export function signaturesEqual(expectedHex: string, providedHex: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(providedHex)) return false;
  const a = Buffer.from(expectedHex, "hex");
  const b = Buffer.from(providedHex, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------------------------
// Checks that do not need the secret

/** "20230428T000000Z" → Date, or undefined when malformed. */
export function parseAmzDate(amzDate: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return date.getUTCDate() === d && date.getUTCMonth() === mo - 1 ? date : undefined;
}

export function formatAmzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

type ParamMap = Map<string, string>;

/** One value per parameter; a name repeated (in any letter case) is refused (CVE-2022-2385). */
function uniqueParams(params: readonly QueryParam[]): ParamMap | StsError {
  const seen = new Set<string>();
  const map: ParamMap = new Map();
  for (const p of params) {
    const lower = p.name.toLowerCase();
    if (seen.has(lower)) return stsError("AccessDenied", `duplicate query parameter ${JSON.stringify(p.name)} refused`);
    seen.add(lower);
    if (!ALLOWED_QUERY_PARAMS.has(lower)) return stsError("AccessDenied", `query parameter ${JSON.stringify(p.name)} is not allowed in a presigned GetCallerIdentity`);
    map.set(p.name, p.value);
  }
  return map;
}

function checkOperation(map: ParamMap): StsError | undefined {
  const action = map.get("Action");
  if (action !== GET_CALLER_IDENTITY) {
    return stsError("InvalidAction", `Could not find operation ${action ?? "(none)"} for version ${map.get("Version") ?? "(none)"}`, 400);
  }
  if (map.get("Version") !== STS_API_VERSION) {
    return stsError("InvalidAction", `Could not find operation ${action} for version ${map.get("Version") ?? "(none)"}`, 400);
  }
  return undefined;
}

const AUTH_PARAMS = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"] as const;

function requireAuthParams(map: ParamMap): StsError | undefined {
  const missing = AUTH_PARAMS.filter((name) => !map.has(name));
  if (missing.length === AUTH_PARAMS.length) return stsError("MissingAuthenticationToken", "Request is missing Authentication Token");
  if (missing.length > 0) return stsError("IncompleteSignature", `AWS query-string parameters missing: ${missing.join(", ")}`, 400);
  if (map.get("X-Amz-Algorithm") !== ALGORITHM) {
    return stsError("IncompleteSignature", `Unsupported AWS 'algorithm': '${map.get("X-Amz-Algorithm") ?? ""}'`, 400);
  }
  return undefined;
}

interface Credential {
  accessKeyId: string;
  scopeDate: string;
  region: string;
  service: string;
}

function parseCredential(value: string, amzDate: string, opts: CheckOptions): Credential | StsError {
  const parts = value.split("/");
  if (parts.length !== 5 || parts[4] !== "aws4_request" || parts.some((p) => p === "")) {
    return stsError("IncompleteSignature", `Credential must have exactly 5 slash-delimited elements ending in aws4_request, got ${JSON.stringify(value)}`, 400);
  }
  const [accessKeyId, scopeDate, region, service] = parts as [string, string, string, string, string];
  if (service !== STS_SERVICE) return stsError("SignatureDoesNotMatch", `Credential should be scoped to correct service: '${STS_SERVICE}'.`);
  if (!/^[a-z0-9-]+$/.test(region) || (opts.allowedRegions !== undefined && !opts.allowedRegions.includes(region))) {
    return stsError("SignatureDoesNotMatch", `Credential should be scoped to a valid region, not '${region}'.`);
  }
  if (scopeDate !== amzDate.slice(0, 8)) {
    return stsError("SignatureDoesNotMatch", `Date in Credential scope does not match YYYYMMDD from X-Amz-Date: ${scopeDate} vs ${amzDate.slice(0, 8)}`);
  }
  return { accessKeyId, scopeDate, region, service };
}

interface Validity {
  signedAt: Date;
  expiresSeconds: number;
}

function checkValidity(amzDate: string, expires: string, opts: CheckOptions): Validity | StsError {
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) return stsError("IncompleteSignature", `X-Amz-Date ${JSON.stringify(amzDate)} is not yyyymmddThhmmssZ`, 400);
  if (!/^\d{1,6}$/.test(expires) || Number(expires) > MAX_EXPIRES_SECONDS) {
    return stsError("AccessDenied", `X-Amz-Expires must be an integer from 0 to ${MAX_EXPIRES_SECONDS}, got ${JSON.stringify(expires)}`);
  }
  const expiresSeconds = Number(expires);
  const skewSeconds = opts.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  const nowMs = opts.now.getTime();
  // STS's own wording for both ends of the window
  if (signedAt.getTime() > nowMs + skewSeconds * 1000) {
    return stsError(
      "SignatureDoesNotMatch",
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(new Date(nowMs + skewSeconds * 1000))} (${formatAmzDate(opts.now)} + ${minutes(skewSeconds)} min.)`,
    );
  }
  if (nowMs > signedAt.getTime() + PRESIGNED_VALIDITY_SECONDS * 1000) {
    return stsError(
      "SignatureDoesNotMatch",
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(new Date(nowMs - PRESIGNED_VALIDITY_SECONDS * 1000))} (${formatAmzDate(opts.now)} - ${minutes(PRESIGNED_VALIDITY_SECONDS)} min.)`,
    );
  }
  return { signedAt, expiresSeconds };
}

const minutes = (seconds: number): string => String(Math.round((seconds / 60) * 100) / 100);

function parseSignedHeaders(value: string, headers: PresignedRequest["headers"]): string[] | StsError {
  const names = value.split(";");
  if (names.some((n) => n === "" || n !== n.toLowerCase())) {
    return stsError("IncompleteSignature", `X-Amz-SignedHeaders must be lower-case names separated by ';', got ${JSON.stringify(value)}`, 400);
  }
  if (!names.includes("host")) return stsError("SignatureDoesNotMatch", "'Host' must be a 'SignedHeader' in the AWS query-string authentication");
  if (!names.includes(CLUSTER_ID_HEADER)) return stsError("AccessDenied", `the client did not sign the ${CLUSTER_ID_HEADER} header (X-Amz-SignedHeaders=${value})`);
  const absent = names.filter((n) => (headers[n] ?? []).length === 0);
  if (absent.length > 0) {
    const code = absent.includes(CLUSTER_ID_HEADER) ? "AccessDenied" : "SignatureDoesNotMatch";
    return stsError(code, `signed header(s) missing from the request: ${absent.join(", ")}`);
  }
  return names;
}

/**
 * Every check that does not need the secret key, in the order a client would want to hear about
 * problems: parameters, operation, auth parameters, credential scope, dates, signed headers.
 */
export function checkPresignedRequest(req: PresignedRequest, opts: CheckOptions): ParsedPresign | StsError {
  if (req.method !== "GET") return stsError("AccessDenied", `only presigned GET requests are served here, got ${req.method}`, 405);
  let params: QueryParam[];
  try {
    params = parseQuery(req.rawQuery);
  } catch {
    return stsError("IncompleteSignature", "malformed percent-encoding in the query string", 400);
  }
  const map = uniqueParams(params);
  if (isStsError(map)) return map;
  const failure = checkOperation(map) ?? requireAuthParams(map);
  if (failure !== undefined) return failure;
  const amzDate = map.get("X-Amz-Date") ?? "";
  const credential = parseCredential(map.get("X-Amz-Credential") ?? "", amzDate, opts);
  if (isStsError(credential)) return credential;
  const validity = checkValidity(amzDate, map.get("X-Amz-Expires") ?? "", opts);
  if (isStsError(validity)) return validity;
  const signedHeaders = parseSignedHeaders(map.get("X-Amz-SignedHeaders") ?? "", req.headers);
  if (isStsError(signedHeaders)) return signedHeaders;
  return {
    ...credential,
    ...validity,
    amzDate,
    signedHeaders,
    securityToken: map.get("X-Amz-Security-Token"),
    signature: map.get("X-Amz-Signature") ?? "",
    clusterId: canonicalHeaderValue(req.headers[CLUSTER_ID_HEADER] ?? []),
    canonicalRequest: buildCanonicalRequest({ method: req.method, path: req.path, params, headers: req.headers, signedHeaders }),
  };
}

/** Recomputes the signature with the secret and compares in constant time. */
export function verifySignature(parsed: ParsedPresign, secretAccessKey: string): StsError | undefined {
  const expected = computeSignature(secretAccessKey, parsed, parsed.amzDate, parsed.canonicalRequest);
  if (signaturesEqual(expected, parsed.signature)) return undefined;
  return stsError(
    "SignatureDoesNotMatch",
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
  );
}
