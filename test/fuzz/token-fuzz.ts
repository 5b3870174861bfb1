/**
 * Fuzzing of the token check (core/token-verify.ts checkToken): generated and mutated tokens —
 * random bytes, random base64url, URLs from a small grammar, and mutations of valid tokens (flipped
 * characters, duplicated and re-cased parameters, changed values around every bound, truncated,
 * padded, huge) — each checked against an independent, plainly written oracle of the same rules:
 *  - only AuthnError("format") may be thrown (anything else is a crash);
 *  - no token is accepted that the oracle refuses, none refused that it accepts, and an accepted
 *    token's URL, host, access key id and validity are the oracle's;
 *  - no single check takes long (the slowest is reported), and the whole run is bounded: it runs in
 *    a worker that is stopped when it stops reporting progress (a hang).
 * A seeded PRNG makes every failure reproducible: the seed is printed.
 *
 *   npm run fuzz:token                              1,000,000 tokens, a random seed
 *   npm run fuzz:token -- --count 50000 --seed 42
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { AuthnError } from "../../src/core/authn-error.js";
import { checkToken, tokenPolicy, type CheckedToken, type TokenPolicy } from "../../src/core/token-verify.js";
import { formatAmzDate } from "../../src/sandbox/emulator/sigv4-verify.js";
import { presignUrl, TOKEN_CASES, type TokenCaseContext } from "../token-cases.js";

export interface FuzzReport {
  seed: number;
  count: number;
  accepted: number;
  /** refusals by rule (REFUSAL_RULES) */
  refusals: Record<string, number>;
  ms: number;
  slowestCheckMs: number;
}

/** sfc32: small, fast, seedable */
export function prng(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = (): number => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

export const FUZZ_NOW = Date.UTC(2023, 3, 28, 12, 0, 0);
const ALLOWED = ["action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires", "x-amz-security-token", "x-amz-signature", "x-amz-signedheaders"];

// ---------------------------------------------------------------------------------------------
// The oracle: the rules as plainly as they can be written, for the aws partition

export interface OracleAnswer {
  url: string;
  host: string;
  accessKeyId: string;
  validUntilMs: number;
}

const NOT_AWS = /^(cn|us-gov|us-iso|us-isob|us-isof|eu-isoe|eusc)-/;

function oracleHost(host: string, region: string): boolean {
  if (host === "sts.amazonaws.com" || host === `sts.${region}.amazonaws.com`) return true;
  const labels = host.split(".");
  if (labels.length < 4 || (labels[0] !== "sts" && labels[0] !== "sts-fips")) return false;
  const r = labels[1]!;
  const suffix = labels.slice(2).join(".");
  return /^[a-z]{2,}(-[a-z]+)+-\d{1,3}$/.test(r) && !NOT_AWS.test(r) && (suffix === "amazonaws.com" || suffix === "api.aws");
}

function oracleDecode(s: string): string | undefined {
  if (/%(?![0-9A-Fa-f]{2})/.test(s)) return undefined;
  return s.replace(/\+/g, " ").replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export function oracle(token: string, maxBytes: number, nowMs: number, region = "us-west-2"): OracleAnswer | undefined {
  if (Buffer.byteLength(token, "utf8") > maxBytes) return undefined;
  if (!token.startsWith("k8s-aws-v1.")) return undefined;
  const b64 = token.slice("k8s-aws-v1.".length).replace(/[\r\n]/g, "");
  if (!/^[A-Za-z0-9_-]*$/.test(b64) || b64.length % 4 === 1) return undefined;
  const url = Buffer.from(b64, "base64url").toString("latin1");
  if (!/^[\x21-\x7e]*$/.test(url)) return undefined;
  const m = /^https:\/\/([^/?#@]*)\/\?([^#]*)$/i.exec(url);
  if (m === null) return undefined;
  const host = m[1]!;
  if (!oracleHost(host, region)) return undefined;
  const params: Record<string, string> = {};
  for (const part of m[2]!.split("&").filter((p) => p !== "")) {
    if (part.includes(";")) return undefined;
    const [rawName, ...rest] = part.split("=");
    const name = oracleDecode(rawName!);
    const value = oracleDecode(rest.join("="));
    if (name === undefined || value === undefined) return undefined;
    const lower = name.toLowerCase();
    if (lower in params) return undefined;
    params[lower] = value;
  }
  if (Object.keys(params).some((k) => !ALLOWED.includes(k))) return undefined;
  if (params["action"] !== "GetCallerIdentity") return undefined;
  if (!(params["x-amz-signedheaders"] ?? "").toLowerCase().split(";").includes("x-k8s-aws-id")) return undefined;
  const expires = params["x-amz-expires"] ?? "";
  if (!/^\d+$/.test(expires) || parseInt(expires, 10) > 900) return undefined;
  const d = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(params["x-amz-date"] ?? "");
  if (d === null) return undefined;
  const iso = `${d[1]}-${d[2]}-${d[3]}T${d[4]}:${d[5]}:${d[6]}.000Z`;
  const signedAt = Date.parse(iso);
  if (Number.isNaN(signedAt) || new Date(signedAt).toISOString() !== iso) return undefined;
  if (nowMs - signedAt > 15 * 60_000 || signedAt - nowMs > 15 * 60_000) return undefined;
  if (params["x-amz-algorithm"] !== "AWS4-HMAC-SHA256") return undefined;
  const cred = /^(\w{16,128})\/\d{8}\/[a-z0-9-]+\/sts\/aws4_request$/.exec(params["x-amz-credential"] ?? "");
  if (cred === null) return undefined;
  if (!/^[0-9a-f]{64}$/.test(params["x-amz-signature"] ?? "")) return undefined;
  return { url, host, accessKeyId: cred[1]!, validUntilMs: signedAt + 15 * 60_000 };
}

// ---------------------------------------------------------------------------------------------
// Generation

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("");
const HOSTS = [
  "sts.us-west-2.amazonaws.com", "sts.amazonaws.com", "sts-fips.us-east-1.amazonaws.com", "sts.eu-west-1.api.aws", "sts.ap-southeast-5.amazonaws.com",
  "sts.cn-north-1.amazonaws.com.cn", "sts.us-gov-west-1.amazonaws.com", "STS.us-west-2.amazonaws.com", "sts.us-west-2.amazonaws.com:443",
  "sts.us-west-2.amazonaws.com.", "evil.example", "sts.us-west-2.amazonaws.com.evil.example", "127.0.0.1", "[::1]", "", "sts..amazonaws.com", "sts.us_west_2.amazonaws.com",
];
const NAMES = [...ALLOWED, "Action", "Version", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Security-Token", "X-Amz-Signature", "X-Amz-SignedHeaders", "RoleArn", "X-Amz-Content-Sha256", "", "Act%69on", "%41ction", "Actİon"];

function randomString(r: Rand, alphabet: string, max: number): string {
  const n = int(r, max + 1);
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[int(r, alphabet.length)];
  return s;
}

function randomBytes(r: Rand, max: number): string {
  const n = int(r, max + 1);
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(r() < 0.9 ? int(r, 256) : int(r, 0x10000));
  return s;
}

function shiftedDate(r: Rand): string {
  const offsets = [-900_000, -901_000, -899_000, 900_000, 901_000, 899_000, 0, -60_000];
  const ms = FUZZ_NOW + (r() < 0.5 ? pick(r, offsets) : int(r, 4_000_000) - 2_000_000);
  return formatAmzDate(new Date(ms));
}

function randomValue(r: Rand, name: string): string {
  switch (name.toLowerCase()) {
    case "action": return pick(r, ["GetCallerIdentity", "getcalleridentity", "AssumeRole", "", "GetCallerIdentity ", "GetCaller%49dentity"]);
    case "x-amz-expires": return pick(r, ["0", "60", "900", "901", "-1", "+60", "060", "00000000000900", "9".repeat(int(r, 25) + 1), "", "6e1", String(int(r, 2000))]);
    case "x-amz-date": return r() < 0.8 ? shiftedDate(r) : pick(r, ["20230230T000000Z", "20230428T240000Z", "20230428T115960Z", "20230428T120000.5Z", "20230428t120000Z", ""]);
    case "x-amz-signedheaders": return pick(r, ["host;x-k8s-aws-id", "host", "X-K8S-AWS-ID", "host%3Bx-k8s-aws-id", "x-k8s-aws-idx", "host;x-k8s-aws-id;x-extra", ""]);
    case "x-amz-credential": return pick(r, ["AKIAIOSFODNN7EXAMPLE/20230428/us-west-2/sts/aws4_request", "AKIAIOSFODNN7EXAMPLE%2F20230428%2Fus-west-2%2Fsts%2Faws4_request", "AKIA/20230428/us-west-2/sts/aws4_request", "AKIAIOSFODNN7EXAMPLE/20230428/us-west-2/iam/aws4_request", ""]);
    case "x-amz-algorithm": return pick(r, ["AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", "aws4-hmac-sha256", ""]);
    case "x-amz-signature": return pick(r, ["a".repeat(64), "A".repeat(64), "0".repeat(63), randomString(r, "0123456789abcdef", 70)]);
    default: return randomString(r, PRINTABLE, 20);
  }
}

function randomUrl(r: Rand): string {
  const scheme = pick(r, ["https", "HTTPS", "http", "", "ftp", "hTtPs"]);
  const sep = pick(r, ["://", "://", ":/", ":", "//"]);
  const host = r() < 0.7 ? pick(r, HOSTS) : randomString(r, "abcdefghijklmnopqrstuvwxyz0123456789.-:@", 40);
  const path = pick(r, ["/", "/", "/", "", "/foo", "//", "/%2F", "/."]);
  const params: string[] = [];
  const n = int(r, 12);
  for (let i = 0; i < n; i++) {
    const name = pick(r, NAMES);
    params.push(`${name}=${encodeURIComponent(randomValue(r, name))}`);
  }
  return `${scheme}${sep}${host}${path}${r() < 0.9 ? "?" : ""}${params.join(pick(r, ["&", "&", "&", ";", "&&"]))}${r() < 0.05 ? "#f" : ""}`;
}

/** Valid URLs (the rules accept them at FUZZ_NOW) and the case table's tokens, to mutate. */
async function seedPool(): Promise<{ urls: string[]; tokens: string[] }> {
  const key = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
  const session = { accessKeyId: "ASIAIOSFODNN7EXAMPLE", secretAccessKey: "c2Vzc2lvbi1zZWNyZXQ", sessionToken: "IQoJb3JpZ2luX2VjEXAMPLE/SESSION+TOKEN==" };
  const urls: string[] = [];
  for (const credentials of [key, session]) {
    for (const [host, region] of [["sts.us-west-2.amazonaws.com", "us-west-2"], ["sts.amazonaws.com", "us-east-1"], ["sts-fips.us-east-2.amazonaws.com", "us-east-2"], ["sts.eu-west-1.api.aws", "eu-west-1"]] as const) {
      for (const offset of [0, -14 * 60_000, 10 * 60_000]) {
        for (const expires of ["60", "900", "0"]) {
          urls.push(presignUrl({ credentials, region, host, clusterId: "fuzz-cluster", date: new Date(FUZZ_NOW + offset), expires }));
        }
      }
    }
  }
  const ctx: TokenCaseContext = { user: key, session, clusterId: "fuzz-cluster", region: "us-west-2", now: new Date(FUZZ_NOW) };
  const tokens = await Promise.all(TOKEN_CASES.map((c) => c.make(ctx)));
  return { urls, tokens };
}

function splitQuery(url: string): { head: string; parts: string[] } {
  const q = url.indexOf("?");
  return q === -1 ? { head: url, parts: [] } : { head: url.slice(0, q + 1), parts: url.slice(q + 1).split("&") };
}

function recase(r: Rand, s: string): string {
  let out = "";
  for (const ch of s) out += r() < 0.5 ? ch.toUpperCase() : ch.toLowerCase();
  return out;
}

function mutateUrl(r: Rand, url: string): string {
  const { head, parts } = splitQuery(url);
  const i = int(r, Math.max(1, parts.length));
  switch (int(r, 16)) {
    case 0: { // flip a character
      const at = int(r, url.length);
      return url.slice(0, at) + (r() < 0.7 ? PRINTABLE[int(r, PRINTABLE.length)] : String.fromCharCode(int(r, 256))) + url.slice(at + 1);
    }
    case 1: { // delete a range
      const at = int(r, url.length);
      return url.slice(0, at) + url.slice(at + 1 + int(r, 8));
    }
    case 2: { // insert
      const at = int(r, url.length + 1);
      return url.slice(0, at) + randomString(r, PRINTABLE, 6) + url.slice(at);
    }
    case 3: // duplicate a parameter, maybe re-cased
      return head + [...parts, r() < 0.5 ? parts[i] ?? "" : recase(r, parts[i] ?? "")].join("&");
    case 4: { // re-case a parameter name
      const [name, ...v] = (parts[i] ?? "").split("=");
      const copy = [...parts];
      copy[i] = [recase(r, name ?? ""), ...v].join("=");
      return head + copy.join("&");
    }
    case 5: // drop a parameter
      return head + parts.filter((_, k) => k !== i).join("&");
    case 6: { // set a value around its bounds
      const [name] = (parts[i] ?? "").split("=");
      const copy = [...parts];
      copy[i] = `${name}=${encodeURIComponent(randomValue(r, name ?? ""))}`;
      return head + copy.join("&");
    }
    case 7: { // add a parameter
      const name = pick(r, NAMES);
      return `${url}&${name}=${encodeURIComponent(randomValue(r, name))}`;
    }
    case 8: { // %-encode a character, or break an escape
      const at = int(r, url.length);
      const esc = r() < 0.6 ? `%${url.charCodeAt(at).toString(16).toUpperCase().padStart(2, "0")}` : pick(r, ["%", "%z", "%G0", "%0"]);
      return url.slice(0, at) + esc + url.slice(at + 1);
    }
    case 9: // separators and delimiters
      return url.replace(pick(r, ["&", "?", "/?", "://", "="]), pick(r, [";", "&;", "#", "?#", "@", ":443/", "/./", "&&", "+"]));
    case 10: // another host
      return url.replace(/^(\w+:\/\/)[^/?#]*/, `$1${pick(r, HOSTS)}`);
    case 11: // scheme
      return url.replace(/^\w+/, pick(r, ["HTTPS", "http", "https", "Https", "ws"]));
    case 12: // truncate
      return url.slice(0, int(r, url.length));
    case 13: // pad a value up to and past the size limits
      return `${url}&X-Amz-Security-Token=${"A".repeat(int(r, 13_000))}`;
    case 14: // userinfo / fragment / port
      return pick(r, [url.replace("://", "://u@"), `${url}#x`, url.replace(".com/", ".com:443/")]);
    default: // reorder the parameters
      return head + [...parts].sort(() => r() - 0.5).join("&");
  }
}

function mutateToken(r: Rand, token: string): string {
  switch (int(r, 9)) {
    case 0: { // flip a base64 symbol
      const at = 11 + int(r, Math.max(1, token.length - 11));
      return token.slice(0, at) + B64URL[int(r, 64)] + token.slice(at + 1);
    }
    case 1: { // any character anywhere
      const at = int(r, token.length);
      return token.slice(0, at) + String.fromCharCode(int(r, 256)) + token.slice(at + 1);
    }
    case 2: // truncate
      return token.slice(0, int(r, token.length + 1));
    case 3: { // line feeds / carriage returns inside
      const at = 11 + int(r, Math.max(1, token.length - 11));
      return token.slice(0, at) + pick(r, ["\n", "\r\n", "\r", " ", "\t", "="]) + token.slice(at);
    }
    case 4: { // pad with line feeds to one byte below, at or above a size limit
      const size = pick(r, [4096, 16384]) + int(r, 3) - 1;
      return token + "\n".repeat(Math.max(0, size - token.length));
    }
    case 5: // huge
      return token + B64URL[int(r, 64)]!.repeat(int(r, 40_000));
    case 6: // prefix
      return pick(r, ["K8S-AWS-V1.", "k8s-aws-v2.", "k8s-aws-v1", " k8s-aws-v1.", ""]) + token.slice(11);
    case 7: // standard alphabet / padding
      return token.replace(/-/g, "+").replace(/_/g, "/") + (r() < 0.5 ? "=" : "");
    default: // append symbols (changes the last group)
      return token + randomString(r, B64URL, 3);
  }
}

/** The token of a URL: its UTF-8 bytes (a mutation may have put in any character), base64url. */
const tokenOf = (url: string): string => `k8s-aws-v1.${Buffer.from(url, "utf8").toString("base64url")}`;

function generate(r: Rand, pool: { urls: string[]; tokens: string[] }): string {
  const roll = r();
  if (roll < 0.04) return randomBytes(r, r() < 0.9 ? 80 : 6000);
  if (roll < 0.08) return `k8s-aws-v1.${randomString(r, B64URL, r() < 0.9 ? 200 : 6000)}`;
  if (roll < 0.2) return tokenOf(randomUrl(r));
  if (roll < 0.3) return pick(r, pool.tokens);
  let url = pick(r, pool.urls);
  const mutations = 1 + int(r, 3);
  for (let k = 0; k < mutations; k++) url = mutateUrl(r, url);
  const token = tokenOf(url);
  return r() < 0.25 ? mutateToken(r, token) : token;
}

// ---------------------------------------------------------------------------------------------
// The run

function same(checked: CheckedToken, expected: OracleAnswer): boolean {
  return checked.url === expected.url && checked.host === expected.host && checked.accessKeyId === expected.accessKeyId && checked.validUntilMs === expected.validUntilMs;
}

export class FuzzFailure extends Error {}

/** The rule a refusal message names (core/token-verify.ts's wording), for the report. */
export const REFUSAL_RULES: ReadonlyArray<readonly [string, RegExp]> = [
  ["size", /larger than/],
  ["prefix", /does not start with/],
  ["base64url", /base64url/],
  ["characters", /space, control or non-ASCII/],
  ["scheme", /scheme|no host/],
  ["userinfo", /user information/],
  ["host", /not an STS host/],
  ["fragment", /fragment/],
  ["path", /path/],
  ["query syntax", /';' separator|%-escape/],
  ["duplicate", /duplicate query parameter/],
  ["allowlist", /is not allowed/],
  ["action", /Action is/],
  ["signed headers", /X-Amz-SignedHeaders/],
  ["expires", /X-Amz-Expires/],
  ["date format", /X-Amz-Date is missing|is not yyyymmddThhmmssZ/],
  ["date expired", /more than 15 minutes old/],
  ["date future", /in the future/],
  ["algorithm", /X-Amz-Algorithm/],
  ["credential", /X-Amz-Credential/],
  ["signature", /X-Amz-Signature/],
];

const ruleOf = (message: string): string => REFUSAL_RULES.find(([, re]) => re.test(message))?.[0] ?? `other: ${message}`;

/** Runs `count` tokens from `seed` in this thread; throws FuzzFailure naming the seed, index and token. */
export async function fuzzTokens(count: number, seed: number, progress?: (done: number) => void): Promise<FuzzReport> {
  const r = prng(seed);
  const pool = await seedPool();
  const policies: Array<[TokenPolicy, number]> = [
    [tokenPolicy({ region: "us-west-2" }), 4096],
    [tokenPolicy({ region: "us-west-2", maxTokenBytes: 16384 }), 16384],
  ];
  const report: FuzzReport = { seed, count, accepted: 0, refusals: {}, ms: 0, slowestCheckMs: 0 };
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const token = generate(r, pool);
    const [policy, maxBytes] = policies[i & 1]!;
    const fail = (why: string): never => {
      throw new FuzzFailure(`seed ${seed}, token #${i}: ${why}; token ${JSON.stringify(token.length > 2000 ? `${token.slice(0, 2000)}…(${token.length})` : token)}`);
    };
    const t0 = performance.now();
    let checked: CheckedToken | undefined;
    try {
      checked = checkToken(token, policy, FUZZ_NOW);
    } catch (err) {
      if (!(err instanceof AuthnError) || err.outcome !== "format") fail(`crashed: ${err instanceof Error ? err.stack : String(err)}`);
      const rule = ruleOf((err as AuthnError).message);
      report.refusals[rule] = (report.refusals[rule] ?? 0) + 1;
    }
    const took = performance.now() - t0;
    if (took > report.slowestCheckMs) report.slowestCheckMs = took;
    const expected = oracle(token, maxBytes, FUZZ_NOW);
    if (checked !== undefined && expected === undefined) fail("ACCEPTED by the verifier, refused by the oracle of the rules");
    if (checked === undefined && expected !== undefined) fail("refused by the verifier, accepted by the oracle");
    if (checked !== undefined && expected !== undefined) {
      if (!same(checked, expected)) fail(`accepted with other details than the oracle's: ${JSON.stringify({ checked, expected })}`);
      report.accepted++;
    }
    if (progress !== undefined && (i + 1) % 10_000 === 0) progress(i + 1);
  }
  report.ms = performance.now() - started;
  return report;
}

/**
 * Runs the fuzz in a worker thread and stops it if it reports no progress for `stallMs` (a hang)
 * or runs past `limitMs` in all.
 */
export function fuzzInWorker(count: number, seed: number, opts: { stallMs?: number; limitMs?: number } = {}): Promise<FuzzReport> {
  const stallMs = opts.stallMs ?? 30_000;
  const limitMs = opts.limitMs ?? 15 * 60_000;
  const self = import.meta.url;
  const boot = `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((m) => { m.register(); return import(${JSON.stringify(self)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: { count, seed } });
  return new Promise((resolve, reject) => {
    let done = 0;
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(stall);
      clearTimeout(limit);
      void worker.terminate();
      fn();
    };
    const hang = (why: string) => () => finish(() => reject(new FuzzFailure(`seed ${seed}: ${why} after ${done} tokens (a hang?)`)));
    let stall = setTimeout(hang(`no progress for ${stallMs} ms`), stallMs);
    const limit = setTimeout(hang(`still running after ${limitMs} ms`), limitMs);
    worker.on("message", (m: { progress?: number; report?: FuzzReport; failure?: string }) => {
      if (m.progress !== undefined) {
        done = m.progress;
        clearTimeout(stall);
        stall = setTimeout(hang(`no progress for ${stallMs} ms`), stallMs);
      }
      if (m.report !== undefined) finish(() => resolve(m.report!));
      if (m.failure !== undefined) finish(() => reject(new FuzzFailure(m.failure)));
    });
    worker.on("error", (err) => finish(() => reject(err)));
    worker.on("exit", (code) => finish(() => reject(new Error(`the fuzz worker exited (${code}) without a report`))));
  });
}

if (!isMainThread && (workerData as { count?: number } | null)?.count !== undefined) {
  const { count, seed } = workerData as { count: number; seed: number };
  fuzzTokens(count, seed, (n) => parentPort!.postMessage({ progress: n }))
    .then((report) => parentPort!.postMessage({ report }))
    .catch((err: unknown) => parentPort!.postMessage({ failure: err instanceof Error ? err.message : String(err) }));
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at === -1 ? undefined : argv[at + 1];
  };
  const count = Number(arg("--count") ?? 1_000_000);
  const seed = Number(arg("--seed") ?? Math.floor(Math.random() * 2 ** 32));
  console.log(`fuzz:token — ${count.toLocaleString("en")} tokens, seed ${seed}`);
  try {
    const report = await fuzzInWorker(count, seed);
    console.log(`count ${report.count.toLocaleString("en")}, time ${(report.ms / 1000).toFixed(1)} s (${Math.round(report.count / (report.ms / 1000)).toLocaleString("en")} tokens/s), accepted ${report.accepted.toLocaleString("en")}, slowest check ${report.slowestCheckMs.toFixed(2)} ms`);
    const top = Object.entries(report.refusals).sort((a, b) => b[1] - a[1]);
    console.log(`refusals by reason: ${top.map(([k, n]) => `${k}: ${n}`).join("; ")}`);
  } catch (err) {
    console.error(`FAILED (seed ${seed}): ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}

if (isMainThread && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main(process.argv.slice(2));
