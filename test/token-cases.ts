/**
 * Tokens for every rule of the token check (core/token-verify.ts, REFERENCE §5): valid ones,
 * malformed ones and forged ones that carry a signature STS accepts but break a rule — each with
 * what aws-iam-authenticator v0.6.13 answers (with the sandbox's STS verifier as STS) and what
 * eks-access's verifier answers. Shared by the agreement test against the peer
 * (test/e2e/token-verify-peer.test.ts), the unit tests, the fuzzer's seed pool and the TokenReview
 * differential test: call `make(ctx)` with real credentials and the clock of the run.
 *
 * Forged tokens are signed here with SigV4 over exactly the parameters given (the sandbox
 * verifier's canonical forms, src/sandbox/emulator/sigv4-verify.ts); valid ones also come from
 * eks-access's own signer (adapters/token-signer.ts, @smithy/signature-v4).
 */
import type { AuthnOutcome } from "../src/core/authn-error.js";
import { encodeToken, rfc3986, TOKEN_PREFIX } from "../src/core/token.js";
import { stsTarget } from "../src/core/sts-endpoint.js";
import { presignToken } from "../src/adapters/token-signer.js";
import { buildCanonicalRequest, computeSignature, formatAmzDate } from "../src/sandbox/emulator/sigv4-verify.js";

export interface CaseCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface TokenCaseContext {
  /** an active IAM user access key the STS knows */
  user: CaseCredentials;
  /** role-session credentials the STS knows (X-Amz-Security-Token) */
  session: CaseCredentials;
  /** the cluster id the verifiers are configured with */
  clusterId: string;
  /** the region tokens are made for (us-west-2 in the sandbox) */
  region: string;
  now: Date;
}

export type PeerVerdict = "accept" | "refuse";

export interface TokenCase {
  name: string;
  /** the rule it exercises */
  rule: string;
  make(ctx: TokenCaseContext): Promise<string>;
  /** aws-iam-authenticator v0.6.13, with the sandbox's STS verifier as STS */
  peer: PeerVerdict;
  /** eks-access's StsTokenVerifier (default settings, same STS): "ok" or the refusal's outcome */
  ours: "ok" | AuthnOutcome;
  /** who answers: "rules" before any STS call, "sts" when STS decides (or accepts) */
  decidedBy: "rules" | "sts";
  /** why the peer's verdict and ours differ (present exactly when they do) */
  difference?: string;
  /** which credentials the token is made with (the identity an accepted token maps to) */
  as?: "user" | "session";
}

/** Every STS host name a case's token points at: the test routes them all to the STS verifier. */
export const CASE_STS_HOSTS = (region: string): string[] => [
  `sts.${region}.amazonaws.com`,
  "sts.amazonaws.com",
  `sts-fips.${region}.amazonaws.com`,
  `sts.${region}.api.aws`,
  "sts.ap-southeast-5.amazonaws.com",
];

export interface PresignInput {
  credentials: CaseCredentials;
  /** the credential scope's region */
  region: string;
  /** the URL's host, also the signed Host header */
  host: string;
  /** the value of x-k8s-aws-id the signature covers */
  clusterId: string;
  date: Date;
  /** raw X-Amz-Expires (default "60"); null leaves it out */
  expires?: string | null;
  /** default host;x-k8s-aws-id */
  signedHeaders?: string[];
  /** the operation parameters (default Action=GetCallerIdentity, Version=2011-06-15) */
  operation?: Array<[string, string]>;
  /** more parameters, signed, placed after the operation's */
  extra?: Array<[string, string]>;
  /** parameters of the query-auth set to leave out (e.g. "X-Amz-Credential") */
  omit?: string[];
  /** replaces X-Amz-Date's value (signed as given) */
  amzDate?: string;
  /** replaces X-Amz-Algorithm's value */
  algorithm?: string;
}

/**
 * A SigV4 query-presigned GetCallerIdentity URL over exactly the parameters given, in botocore's
 * order, values RFC 3986-encoded. STS accepts its signature whenever the parameters make sense to it.
 */
export function presignUrl(input: PresignInput): string {
  const amzDate = input.amzDate ?? formatAmzDate(input.date);
  const scopeDate = formatAmzDate(input.date).slice(0, 8);
  const signedHeaders = input.signedHeaders ?? ["host", "x-k8s-aws-id"];
  const omit = new Set(input.omit ?? []);
  const params: Array<[string, string]> = [
    ...(input.operation ?? [["Action", "GetCallerIdentity"], ["Version", "2011-06-15"]]),
    ...(input.extra ?? []),
    ["X-Amz-Algorithm", input.algorithm ?? "AWS4-HMAC-SHA256"],
    ["X-Amz-Credential", `${input.credentials.accessKeyId}/${scopeDate}/${input.region}/sts/aws4_request`],
    ["X-Amz-Date", amzDate],
    ...(input.expires === null ? [] : [["X-Amz-Expires", input.expires ?? "60"] as [string, string]]),
    ["X-Amz-SignedHeaders", signedHeaders.join(";")],
    ...(input.credentials.sessionToken ? [["X-Amz-Security-Token", input.credentials.sessionToken] as [string, string]] : []),
  ];
  const kept = params.filter(([k]) => !omit.has(k));
  const canonical = buildCanonicalRequest({
    method: "GET",
    path: "/",
    params: kept.map(([name, value]) => ({ name, value })),
    headers: { host: [input.host], "x-k8s-aws-id": [input.clusterId] },
    signedHeaders,
  });
  const signature = computeSignature(input.credentials.secretAccessKey, { scopeDate, region: input.region, service: "sts" }, amzDate, canonical);
  const query = [...kept, ...(omit.has("X-Amz-Signature") ? [] : [["X-Amz-Signature", signature] as [string, string]])]
    .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
    .join("&");
  return `https://${input.host}/?${query}`;
}

/** presignUrl with the case context's defaults (the user's key, the region's STS host, now). */
export function presignFor(ctx: TokenCaseContext, more: Partial<PresignInput> = {}): string {
  return presignUrl({
    credentials: ctx.user,
    region: ctx.region,
    host: `sts.${ctx.region}.amazonaws.com`,
    clusterId: ctx.clusterId,
    date: ctx.now,
    ...more,
  });
}

const decode = (token: string): string => Buffer.from(token.slice(TOKEN_PREFIX.length), "base64url").toString("latin1");
const body = (token: string): string => token.slice(TOKEN_PREFIX.length);
const minutes = (ctx: TokenCaseContext, n: number): Date => new Date(ctx.now.getTime() + n * 60_000);

/** eks-access's signer (the real client path) */
async function eksAccessToken(ctx: TokenCaseContext, creds: CaseCredentials, region = ctx.region): Promise<string> {
  return presignToken({ credentials: creds, target: stsTarget(region), clusterIdHeader: ctx.clusterId, now: ctx.now });
}

/** The token of `url` with line feeds inserted into its base64 until it is `size` bytes long. */
export function padWithLineFeeds(token: string, size: number): string {
  const b = body(token);
  const missing = size - token.length;
  if (missing < 0) throw new Error(`token is already ${token.length} bytes`);
  const per = Math.ceil(missing / Math.max(1, b.length - 1));
  let out = "";
  let left = missing;
  for (let i = 0; i < b.length; i++) {
    out += b[i];
    if (i < b.length - 1 && left > 0) {
      const n = Math.min(per, left);
      out += "\n".repeat(n);
      left -= n;
    }
  }
  return TOKEN_PREFIX + out;
}

/** Appends empty query parts until the base64 has 4n+2 symbols, then sets an unused low bit of the last one. */
function nonCanonicalTrailingBits(url: string): string {
  let u = url;
  while (body(encodeToken(u)).length % 4 !== 2) u += "&";
  const b = body(encodeToken(u));
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = alphabet.indexOf(b[b.length - 1]!);
  return TOKEN_PREFIX + b.slice(0, -1) + alphabet[last | 1]!;
}

/** The token with a '+' and a '/' (symbols of the standard base64 alphabet) in place of two of its own. */
function standardAlphabetSymbols(url: string): string {
  const b = body(encodeToken(url));
  const mid = b.length >> 1;
  return TOKEN_PREFIX + b.slice(0, mid) + "+/" + b.slice(mid + 2);
}

const replaceParam = (url: string, name: string, raw: string): string => url.replace(new RegExp(`([?&])${name}=[^&]*`), `$1${raw}`);

const tok = (url: string): Promise<string> => Promise.resolve(encodeToken(url));

export const TOKEN_CASES: readonly TokenCase[] = [
  // ---- valid
  { name: "valid: IAM user key, eks-access's signer", rule: "all", peer: "accept", ours: "ok", decidedBy: "sts", make: (c) => eksAccessToken(c, c.user) },
  { name: "valid: role session (X-Amz-Security-Token), eks-access's signer", rule: "all", peer: "accept", ours: "ok", decidedBy: "sts", as: "session", make: (c) => eksAccessToken(c, c.session) },
  { name: "valid: global endpoint sts.amazonaws.com (us-east-1)", rule: "host", peer: "accept", ours: "ok", decidedBy: "sts", make: (c) => tok(presignFor(c, { host: "sts.amazonaws.com", region: "us-east-1" })) },
  { name: "valid: FIPS endpoint", rule: "host", peer: "accept", ours: "ok", decidedBy: "sts", make: (c) => tok(presignFor(c, { host: `sts-fips.${c.region}.amazonaws.com` })) },
  { name: "valid: X-Amz-Expires=0", rule: "expires", peer: "accept", ours: "ok", decidedBy: "sts", make: (c) => tok(presignFor(c, { expires: "0" })) },
  { name: "valid: X-Amz-Expires=900", rule: "expires", peer: "accept", ours: "ok", decidedBy: "sts", make: (c) => tok(presignFor(c, { expires: "900" })) },
  { name: "valid: X-Amz-Expires=060 (leading zero)", rule: "expires", peer: "accept", ours: "ok", decidedBy: "sts", make: (c) => tok(presignFor(c, { expires: "060" })) },
  { name: "valid: X-Amz-Date 14 minutes old", rule: "date", peer: "accept", ours: "ok", decidedBy: "sts", make: (c) => tok(presignFor(c, { date: minutes(c, -14) })) },
  { name: "valid: X-Amz-Date 10 minutes ahead", rule: "date", peer: "accept", ours: "ok", decidedBy: "sts", make: (c) => tok(presignFor(c, { date: minutes(c, 10) })) },
  { name: "valid: scheme in capitals (HTTPS://)", rule: "scheme", peer: "accept", ours: "ok", decidedBy: "sts", make: (c) => tok(presignFor(c).replace(/^https:/, "HTTPS:")) },
  { name: "valid: Action value %-encoded (GetCaller%49dentity)", rule: "query", peer: "accept", ours: "ok", decidedBy: "sts", make: (c) => tok(replaceParam(presignFor(c), "Action", "Action=GetCaller%49dentity")) },
  { name: "valid: empty query parts (&&)", rule: "query", peer: "accept", ours: "ok", decidedBy: "sts", make: (c) => tok(presignFor(c).replace("&Version", "&&&Version")) },
  { name: "valid: line feeds and carriage returns inside the base64", rule: "base64url", peer: "accept", ours: "ok", decidedBy: "sts", make: async (c) => { const t = encodeToken(presignFor(c)); return `${t.slice(0, 40)}\r\n${t.slice(40, 90)}\n${t.slice(90)}`; } },
  { name: "valid: unused low bits of the last base64 symbol set", rule: "base64url", peer: "accept", ours: "ok", decidedBy: "sts", make: async (c) => nonCanonicalTrailingBits(presignFor(c)) },
  { name: "valid: exactly 4096 bytes (line feeds)", rule: "length", peer: "accept", ours: "ok", decidedBy: "sts", make: async (c) => padWithLineFeeds(encodeToken(presignFor(c)), 4096) },
  {
    name: "valid: a region aws-iam-authenticator v0.6.13 does not know (sts.ap-southeast-5.amazonaws.com)", rule: "host", peer: "refuse", ours: "ok", decidedBy: "sts",
    difference: "v0.6.13 accepts only the STS hosts of its aws-sdk-go v1.44.332 endpoint list (plus its own region's); v0.7.5+ and eks-access accept every region of the partition",
    make: (c) => tok(presignFor(c, { host: "sts.ap-southeast-5.amazonaws.com", region: "ap-southeast-5" })),
  },
  {
    name: "valid: dual-stack endpoint (sts.<region>.api.aws)", rule: "host", peer: "refuse", ours: "ok", decidedBy: "sts",
    difference: "v0.6.13's host list has no dual-stack names; v0.7.5+ and eks-access accept them",
    make: (c) => tok(presignFor(c, { host: `sts.${c.region}.api.aws` })),
  },

  // ---- length, prefix, base64url
  { name: "too large: 4097 bytes", rule: "length", peer: "refuse", ours: "format", decidedBy: "rules", make: async (c) => padWithLineFeeds(encodeToken(presignFor(c)), 4097) },
  { name: "empty token", rule: "prefix", peer: "refuse", ours: "format", decidedBy: "rules", make: async () => "" },
  { name: "no k8s-aws-v1. prefix", rule: "prefix", peer: "refuse", ours: "format", decidedBy: "rules", make: async (c) => body(encodeToken(presignFor(c))) },
  { name: "prefix in capitals", rule: "prefix", peer: "refuse", ours: "format", decidedBy: "rules", make: async (c) => `K8S-AWS-V1.${body(encodeToken(presignFor(c)))}` },
  { name: "prefix only", rule: "base64url", peer: "refuse", ours: "format", decidedBy: "rules", make: async () => TOKEN_PREFIX },
  { name: "base64 padding (=)", rule: "base64url", peer: "refuse", ours: "format", decidedBy: "rules", make: async (c) => { let u = presignFor(c); while (body(encodeToken(u)).length % 4 === 0) u += "&"; return `${encodeToken(u)}=`; } },
  { name: "'+' and '/' of the standard base64 alphabet", rule: "base64url", peer: "refuse", ours: "format", decidedBy: "rules", make: async (c) => standardAlphabetSymbols(presignFor(c)) },
  { name: "4n+1 base64 symbols", rule: "base64url", peer: "refuse", ours: "format", decidedBy: "rules", make: async (c) => { let u = presignFor(c); while (body(encodeToken(u)).length % 4 !== 0) u += "&"; return `${encodeToken(u)}A`; } },

  // ---- URL
  { name: "scheme http", rule: "scheme", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c).replace(/^https:/, "http:")) },
  { name: "host: another domain ending like STS", rule: "host", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { host: `sts.${c.region}.amazonaws.com.evil.example` })) },
  { name: "host: in capitals", rule: "host", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { host: `STS.${c.region.toUpperCase()}.AMAZONAWS.COM` })) },
  { name: "host: with :443", rule: "host", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { host: `sts.${c.region}.amazonaws.com:443` })) },
  { name: "host: trailing dot", rule: "host", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { host: `sts.${c.region}.amazonaws.com.` })) },
  { name: "host: another partition's STS (aws-cn)", rule: "host", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { host: "sts.cn-north-1.amazonaws.com.cn", region: "cn-north-1" })) },
  { name: "host: 127.0.0.1", rule: "host", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { host: "127.0.0.1" })) },
  {
    name: "user information in the URL (user@host)", rule: "url", peer: "accept", ours: "format", decidedBy: "rules",
    difference: "Go's url.Parse puts `user@` aside and the peer sends it to STS as a Basic Authorization header; eks-access refuses a URL no client makes",
    make: (c) => tok(presignFor(c).replace("https://", "https://user@")),
  },
  {
    name: "#fragment after the query", rule: "url", peer: "accept", ours: "format", decidedBy: "rules",
    difference: "Go's url.Parse drops the fragment before the checks; eks-access refuses a URL no client makes",
    make: (c) => tok(`${presignFor(c)}#fragment`),
  },
  { name: "path /foo", rule: "path", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c).replace(".com/?", ".com/foo?")) },
  { name: "empty path (host?query)", rule: "path", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c).replace(".com/?", ".com?")) },
  { name: "path /%2F", rule: "path", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c).replace(".com/?", ".com/%2F?")) },

  // ---- query
  { name: "';' separator in the query", rule: "query", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c).replace("&Version", ";Version")) },
  { name: "malformed %-escape", rule: "query", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c).replace("Action=", "Action=%zz")) },
  { name: "Action twice, same case (signed)", rule: "duplicates", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { extra: [["Action", "GetCallerIdentity"]] })) },
  { name: "CVE-2022-2385: Action and action (signed)", rule: "duplicates", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { extra: [["action", "GetCallerIdentity"]] })) },
  { name: "CVE-2022-2385: action=AssumeRole beside Action (signed)", rule: "duplicates", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { extra: [["action", "AssumeRole"]] })) },
  { name: "X-Amz-Date and x-amz-date (signed)", rule: "duplicates", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { extra: [["x-amz-date", formatAmzDate(c.now)]] })) },
  { name: "X-AMZ-SIGNATURE beside X-Amz-Signature", rule: "duplicates", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(`${presignFor(c)}&X-AMZ-SIGNATURE=${"0".repeat(64)}`) },
  { name: "a parameter outside the allowlist (signed)", rule: "allowlist", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { extra: [["RoleArn", "arn:aws:iam::123456789012:role/x"]] })) },
  { name: "an X-Amz-* parameter outside the allowlist (signed)", rule: "allowlist", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { extra: [["X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"]] })) },
  { name: "Action=AssumeRole (signed)", rule: "action", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { operation: [["Action", "AssumeRole"], ["Version", "2011-06-15"]] })) },
  { name: "Action=getcalleridentity (signed)", rule: "action", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { operation: [["Action", "getcalleridentity"], ["Version", "2011-06-15"]] })) },
  { name: "no Action (signed)", rule: "action", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { operation: [["Version", "2011-06-15"]] })) },
  { name: "x-k8s-aws-id not signed", rule: "signed-headers", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { signedHeaders: ["host"] })) },
  { name: "X-Amz-Expires=901 (signed)", rule: "expires", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { expires: "901" })) },
  { name: "X-Amz-Expires=-1 (signed)", rule: "expires", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { expires: "-1" })) },
  { name: "X-Amz-Expires missing (signed)", rule: "expires", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { expires: null })) },
  { name: "X-Amz-Expires=+60 (signed): Go's Atoi takes it, STS does not", rule: "expires", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { expires: "+60" })) },
  { name: "X-Amz-Date 16 minutes old", rule: "date", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { date: minutes(c, -16) })) },
  { name: "X-Amz-Date 20 minutes ahead: the peer leaves it to STS", rule: "date", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { date: minutes(c, 20) })) },
  { name: "X-Amz-Date missing (signed)", rule: "date", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { omit: ["X-Amz-Date"] })) },
  { name: "X-Amz-Date with fractional seconds: Go's time.Parse takes it, STS does not", rule: "date", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { amzDate: `${formatAmzDate(c.now).slice(0, -1)}.5Z` })) },
  { name: "X-Amz-Credential missing: the peer leaves it to STS", rule: "credential", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { omit: ["X-Amz-Credential"] })) },
  { name: "X-Amz-Algorithm other than AWS4-HMAC-SHA256: the peer leaves it to STS", rule: "algorithm", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { algorithm: "AWS4-HMAC-SHA1" })) },
  { name: "X-Amz-Signature missing: the peer leaves it to STS", rule: "signature", peer: "refuse", ours: "format", decidedBy: "rules", make: (c) => tok(presignFor(c, { omit: ["X-Amz-Signature"] })) },

  // ---- STS decides
  { name: "signed for another cluster id", rule: "cluster-id", peer: "refuse", ours: "sts-rejected", decidedBy: "sts", make: (c) => tok(presignFor(c, { clusterId: `${c.clusterId}-other` })) },
  { name: "signature altered", rule: "signature", peer: "refuse", ours: "sts-rejected", decidedBy: "sts", make: (c) => tok(presignFor(c).replace(/X-Amz-Signature=([0-9a-f])/, (_m, d: string) => `X-Amz-Signature=${d === "0" ? "1" : "0"}`)) },
  { name: "an access key STS does not know", rule: "credentials", peer: "refuse", ours: "sts-rejected", decidedBy: "sts", make: (c) => tok(presignFor(c, { credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" } })) },
  { name: "no Version (signed): STS wants one", rule: "sts", peer: "refuse", ours: "sts-rejected", decidedBy: "sts", make: (c) => tok(presignFor(c, { operation: [["Action", "GetCallerIdentity"]] })) },
  { name: "credential scoped to another region than the host's", rule: "sts", peer: "refuse", ours: "sts-rejected", decidedBy: "sts", make: (c) => tok(presignFor(c, { region: "eu-west-1" })) },
];

/** The decoded URL of a token (latin1 bytes, line feeds ignored), for assertions. */
export const caseUrl = (token: string): string => decode(token.replace(/[\r\n]/g, ""));
