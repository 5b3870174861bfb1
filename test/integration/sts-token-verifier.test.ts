/**
 * adapters/sts-token-verifier.ts against a small test STS on 127.0.0.1: HTTPS with a test-CA
 * certificate for sts.us-west-2.amazonaws.com, reached through the sandbox's CONNECT proxy
 * (HTTPS_PROXY) and trusted through SSL_CERT_FILE or AWS_CA_BUNDLE — the way the server reaches the
 * real STS. The test STS does not check signatures (test/e2e/token-verify-peer.test.ts runs the real
 * verifier); it counts calls, records what it was sent, and answers as told: the caller, an error,
 * throttling, a redirect, or nothing at all. The verifier's clock is injected.
 */
import { after, before, beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { AuthnError } from "../../src/core/authn-error.js";
import { encodeToken } from "../../src/core/token.js";
import { StsTokenVerifier, type StsTokenVerifierOptions, type TokenVerifierObserver } from "../../src/adapters/sts-token-verifier.js";
import { createTestCa, issueLeafCertificate, type TestCa } from "../../src/sandbox/emulator/tls.js";
import { startConnectProxy, type ConnectProxy } from "../../src/sandbox/emulator/connect-proxy.js";
import { listenOnLoopback, poll } from "../../src/sandbox/emulator/net.js";
import { presignFor, type CaseCredentials, type TokenCaseContext } from "../token-cases.js";
import { tempDir } from "../helpers.js";

const T = Date.UTC(2023, 3, 28, 12, 0, 0);
const CLUSTER = "unit-cluster";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN/with+slash==";
const key = (n: number): CaseCredentials => ({ accessKeyId: `AKIATESTKEY${String(n).padStart(9, "0")}`, secretAccessKey: SECRET, sessionToken: SESSION_TOKEN });
const ctxAt = (ms: number, creds = key(1)): TokenCaseContext => ({ user: creds, session: creds, clusterId: CLUSTER, region: "us-west-2", now: new Date(ms) });
/** a distinct valid token per (key, second) */
const tokenFor = (n: number, signedAt = T): string => encodeToken(presignFor(ctxAt(signedAt, key(n))));

type Mode = "identity" | "hold" | "hold-body" | "500" | "503-throttling" | "400-throttling" | "403" | "302" | "200-garbage";

interface Call {
  url: string;
  headers: IncomingMessage["headers"];
}

class TestSts {
  mode: Mode = "identity";
  readonly calls: Call[] = [];
  private held: Array<() => void> = [];
  constructor(readonly port: number, readonly stop: () => Promise<void>) {}

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.calls.push({ url: req.url ?? "", headers: req.headers });
    const akid = /X-Amz-Credential=([A-Z0-9]+)/.exec(req.url ?? "")?.[1] ?? "unknown";
    const identity = JSON.stringify({
      GetCallerIdentityResponse: {
        GetCallerIdentityResult: { Arn: `arn:aws:iam::111122223333:user/${akid}`, Account: "111122223333", UserId: `AIDA${akid}` },
        ResponseMetadata: { RequestId: "r" },
      },
    });
    const error = (status: number, code: string) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify({ Error: { Code: code, Message: "test", Type: status >= 500 ? "Receiver" : "Sender" }, RequestId: "r" }));
    };
    switch (this.mode) {
      case "identity":
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end(identity);
      case "hold":
        return void this.held.push(() => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(identity);
        });
      case "hold-body":
        res.writeHead(200, { "content-type": "application/json" });
        res.write(identity.slice(0, 10));
        return void this.held.push(() => res.end(identity.slice(10)));
      case "500":
        return error(500, "InternalFailure");
      case "503-throttling":
        return error(503, "Throttling");
      case "400-throttling":
        return error(400, "Throttling");
      case "403":
        return error(403, "SignatureDoesNotMatch");
      case "302":
        res.writeHead(302, { location: "https://sts.us-west-2.amazonaws.com/redirected" });
        return void res.end();
      case "200-garbage":
        res.writeHead(200, { "content-type": "text/html" });
        return void res.end("<html>captive portal</html>");
    }
  }

  release(): void {
    for (const r of this.held.splice(0)) r();
  }
}

let dir: { path: string; cleanup(): void };
let ca: TestCa;
let sts: TestSts;
let proxy: ConnectProxy;
let server: Server;
const open: StsTokenVerifier[] = [];

before(async () => {
  dir = tempDir("eks-access-sts-verifier-");
  ca = await createTestCa(join(dir.path, "pki"));
  const leaf = await issueLeafCertificate(ca, { name: "sts", dnsNames: ["sts.us-west-2.amazonaws.com", "sts.amazonaws.com"] });
  let self: TestSts | undefined;
  server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => self?.handle(req, res));
  const { port, stop } = await listenOnLoopback(server, "test STS");
  sts = self = new TestSts(port, stop);
  proxy = await startConnectProxy({ routes: { "sts.us-west-2.amazonaws.com:443": port, "sts.amazonaws.com:443": port } });
});

after(async () => {
  for (const v of open) await v.close();
  sts?.release();
  server?.closeAllConnections();
  await sts?.stop();
  await proxy?.stop();
  dir?.cleanup();
});

beforeEach(() => {
  sts.release();
  sts.mode = "identity";
  sts.calls.length = 0;
});

interface Recorded {
  cache: boolean[];
  coalesced: number;
  stsCalls: Array<{ outcome: string; status?: number; seconds: number }>;
  limited: string[];
}

function verifier(opts: Partial<StsTokenVerifierOptions> & { clock?: { now: number } } = {}): { v: StsTokenVerifier; seen: Recorded; clock: { now: number } } {
  const clock = opts.clock ?? { now: T };
  const seen: Recorded = { cache: [], coalesced: 0, stsCalls: [], limited: [] };
  const observer: TokenVerifierObserver = {
    cache: (hit) => seen.cache.push(hit),
    coalesced: () => seen.coalesced++,
    stsCall: (c) => seen.stsCalls.push(c),
    limited: (scope) => seen.limited.push(scope),
  };
  const v = new StsTokenVerifier({
    clusterId: CLUSTER,
    region: "us-west-2",
    env: { HTTPS_PROXY: proxy.url, SSL_CERT_FILE: ca.certPath },
    now: () => clock.now,
    observer,
    ...opts,
  });
  open.push(v);
  return { v, seen, clock };
}

async function refusal(p: Promise<unknown>): Promise<AuthnError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AuthnError, `expected an AuthnError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected a refusal");
}

const messages: string[] = [];
async function refused(p: Promise<unknown>): Promise<AuthnError> {
  const err = await refusal(p);
  messages.push(err.message);
  return err;
}

test("a valid token: one GET of its URL as signed, with x-k8s-aws-id and Accept: application/json; the caller comes back", async () => {
  const { v, seen } = verifier();
  const token = tokenFor(1);
  const id = await v.verify(token);
  assert.deepEqual(id, { arn: "arn:aws:iam::111122223333:user/AKIATESTKEY000000001", account: "111122223333", userId: "AIDAAKIATESTKEY000000001", accessKeyId: "AKIATESTKEY000000001" });
  assert.equal(sts.calls.length, 1);
  const call = sts.calls[0]!;
  const url = presignFor(ctxAt(T, key(1)));
  assert.equal(call.url, url.slice("https://sts.us-west-2.amazonaws.com".length), "the path and query exactly as in the token");
  assert.equal(call.headers["x-k8s-aws-id"], CLUSTER);
  assert.equal(call.headers["accept"], "application/json");
  assert.equal(call.headers["host"], "sts.us-west-2.amazonaws.com");
  assert.deepEqual(seen.cache, [false]);
  assert.equal(seen.stsCalls.length, 1);
  assert.equal(seen.stsCalls[0]!.outcome, "ok");
  assert.equal(seen.stsCalls[0]!.status, 200);
  assert.ok(seen.stsCalls[0]!.seconds > 0 && seen.stsCalls[0]!.seconds < 10);
});

test("cache: the same token again makes no STS call; another token does", async () => {
  const { v, seen } = verifier();
  const token = tokenFor(2);
  const first = await v.verify(token);
  assert.deepEqual(await v.verify(token), first);
  assert.deepEqual(await v.verify(token), first);
  assert.equal(sts.calls.length, 1);
  assert.deepEqual(seen.cache, [false, true, true]);
  await v.verify(tokenFor(2, T - 1000));
  assert.equal(sts.calls.length, 2);
  assert.equal(v.stats().cacheEntries, 2);
});

test("cache: an entry lives until the TTL (clock injected), then STS is asked again", async () => {
  const { v, clock } = verifier({ cache: { ttlMs: 60_000 } });
  const token = tokenFor(3);
  await v.verify(token);
  clock.now = T + 60_000;
  await v.verify(token);
  assert.equal(sts.calls.length, 1, "at the TTL: still cached");
  clock.now = T + 60_001;
  await v.verify(token);
  assert.equal(sts.calls.length, 2, "past the TTL: asked again");
});

test("cache: never past the token's own validity (X-Amz-Date + 15 min), whatever the TTL", async () => {
  const { v, clock, seen } = verifier({ cache: { ttlMs: 3_600_000 } });
  const token = tokenFor(4, T - 14 * 60_000); // signed 14 minutes ago: 60 s left
  await v.verify(token);
  clock.now = T + 60_000;
  await v.verify(token);
  assert.equal(sts.calls.length, 1, "the last instant of its validity: from the cache");
  clock.now = T + 60_001;
  const err = await refused(v.verify(token));
  assert.equal(err.outcome, "format");
  assert.match(err.message, /expired/);
  assert.equal(sts.calls.length, 1, "expired: refused without asking STS");
  assert.deepEqual(seen.cache, [false, true]);
});

test("cache: only successes are kept; a refusal by STS is asked again next time", async () => {
  const { v } = verifier();
  const token = tokenFor(5);
  sts.mode = "403";
  assert.equal((await refused(v.verify(token))).outcome, "sts-rejected");
  sts.mode = "500";
  assert.equal((await refused(v.verify(token))).outcome, "sts-unavailable");
  sts.mode = "identity";
  await v.verify(token);
  assert.equal(sts.calls.length, 3);
  assert.equal(v.stats().cacheEntries, 1);
});

test("cache: bounded (LRU, size configurable)", async () => {
  const { v } = verifier({ cache: { maxEntries: 2 } });
  const tokens = [tokenFor(6, T), tokenFor(6, T - 1000), tokenFor(6, T - 2000)];
  for (const t of tokens) await v.verify(t);
  assert.equal(v.stats().cacheEntries, 2);
  await v.verify(tokens[0]!);
  assert.equal(sts.calls.length, 4, "the oldest was evicted: asked again");
  await v.verify(tokens[2]!);
  assert.equal(sts.calls.length, 4, "a recent one is still there");
});

test("coalescing: 50 concurrent verifications of one token make one STS call", async () => {
  const { v, seen } = verifier();
  sts.mode = "hold";
  const token = tokenFor(7);
  const all = Array.from({ length: 50 }, () => v.verify(token));
  const arrived = await poll(() => sts.calls.length, (n) => n >= 1, 200, 25);
  assert.ok(arrived.held, "the STS call did not arrive");
  assert.equal(v.stats().stsCallsInFlight, 1);
  sts.release();
  const ids = await Promise.all(all);
  assert.equal(sts.calls.length, 1);
  assert.equal(new Set(ids.map((i) => i.arn)).size, 1);
  assert.equal(seen.coalesced, 49);
  assert.equal(v.stats().stsCallsInFlight, 0);
  // and a refusal is shared the same way, then not cached
  sts.mode = "403";
  const other = tokenFor(7, T - 1000);
  const outcomes = await Promise.all(Array.from({ length: 10 }, () => refused(v.verify(other))));
  assert.deepEqual(new Set(outcomes.map((e) => e.outcome)), new Set(["sts-rejected"]));
  assert.equal(sts.calls.length, 2);
});

test("limit per principal: over it → sts-throttled (429) without calling STS; other keys unaffected; the clock refills", async () => {
  const { v, seen, clock } = verifier({ limits: { perPrincipal: { perSecond: 1, burst: 2 } } });
  await v.verify(tokenFor(8, T));
  await v.verify(tokenFor(8, T - 1000));
  const err = await refused(v.verify(tokenFor(8, T - 2000)));
  assert.equal(err.outcome, "sts-throttled");
  assert.equal(err.httpStatus, 429);
  assert.match(err.message, /AKIATESTKEY000000008/);
  assert.equal(sts.calls.length, 2);
  assert.deepEqual(seen.limited, ["principal"]);
  await v.verify(tokenFor(9));
  assert.equal(sts.calls.length, 3, "another access key has its own budget");
  await v.verify(tokenFor(8, T));
  assert.equal(sts.calls.length, 3, "a cached token needs no budget");
  clock.now = T + 1000;
  await v.verify(tokenFor(8, T - 2000));
  assert.equal(sts.calls.length, 4, "a second later: one more call allowed");
});

test("global limit: over it → sts-throttled (429) whatever the key", async () => {
  const { v, seen } = verifier({ limits: { global: { perSecond: 1, burst: 3 } } });
  for (const n of [10, 11, 12]) await v.verify(tokenFor(n));
  const err = await refused(v.verify(tokenFor(13)));
  assert.equal(err.outcome, "sts-throttled");
  assert.equal(sts.calls.length, 3);
  assert.deepEqual(seen.limited, ["global"]);
});

test("concurrency limit: a call beyond maxConcurrent under way → sts-throttled", async () => {
  const { v, seen } = verifier({ limits: { maxConcurrent: 1 } });
  sts.mode = "hold";
  const first = v.verify(tokenFor(14));
  assert.ok((await poll(() => sts.calls.length, (n) => n >= 1, 200, 25)).held);
  const err = await refused(v.verify(tokenFor(15)));
  assert.equal(err.outcome, "sts-throttled");
  assert.deepEqual(seen.limited, ["concurrency"]);
  sts.release();
  await first;
  sts.mode = "identity";
  await v.verify(tokenFor(15));
  assert.equal(sts.calls.length, 2);
});

test("STS says nothing: timeout → sts-unavailable (500) with the reason; also when the body stalls", async () => {
  const { v, seen } = verifier({ timeoutMs: 300 });
  sts.mode = "hold";
  const err = await refused(v.verify(tokenFor(16)));
  assert.equal(err.outcome, "sts-unavailable");
  assert.equal(err.httpStatus, 500);
  assert.match(err.message, /did not answer within 0\.3 s/);
  sts.mode = "hold-body";
  const stalled = await refused(v.verify(tokenFor(17)));
  assert.match(stalled.message, /did not answer within 0\.3 s/);
  assert.deepEqual(seen.stsCalls.map((c) => c.outcome), ["sts-unavailable", "sts-unavailable"]);
  assert.equal(v.stats().stsCallsInFlight, 0);
  sts.release();
});

test("STS's answers: 5xx → 500, throttling (any status) → 429, 4xx → 403, a redirect is not followed (500), a 200 that is not STS's → 500", async () => {
  const { v, seen } = verifier();
  const table: Array<[Mode, string, number, RegExp]> = [
    ["500", "sts-unavailable", 500, /HTTP 500 InternalFailure/],
    ["503-throttling", "sts-throttled", 429, /HTTP 503 Throttling/],
    ["400-throttling", "sts-throttled", 429, /HTTP 400 Throttling/],
    ["403", "sts-rejected", 403, /HTTP 403 SignatureDoesNotMatch/],
    ["302", "sts-unavailable", 500, /HTTP 302/],
    ["200-garbage", "sts-unavailable", 500, /without a readable/],
  ];
  let n = 20;
  for (const [mode, outcome, status, message] of table) {
    sts.mode = mode;
    const err = await refused(v.verify(tokenFor(n++)));
    assert.equal(err.outcome, outcome, mode);
    assert.equal(err.httpStatus, status, mode);
    assert.match(err.message, message, mode);
  }
  assert.equal(sts.calls.length, table.length, "the redirect was not followed");
  assert.deepEqual(seen.stsCalls.map((c) => c.status), [500, 503, 400, 403, 302, 200]);
});

test("STS unreachable → 500: the proxy refuses the host, or the certificate is not trusted", async () => {
  const { v } = verifier();
  // the proxy answers 403 to a CONNECT it has no route for (https-proxy-agent hands that answer on)
  const unrouted = await refused(v.verify(encodeToken(presignFor(ctxAt(T), { host: "sts-fips.us-west-2.amazonaws.com" }))));
  assert.equal(unrouted.outcome, "sts-unavailable");
  assert.match(unrouted.message, /HTTP 403 without an STS error code/);
  const untrusting = verifier({ env: { HTTPS_PROXY: proxy.url } }).v;
  const tls = await refused(untrusting.verify(tokenFor(30)));
  assert.equal(tls.outcome, "sts-unavailable");
  assert.match(tls.message, /could not be reached \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT)\)/);
  assert.equal(sts.calls.length, 0);
});

test("AWS_CA_BUNDLE is honoured as well as SSL_CERT_FILE", async () => {
  const { v } = verifier({ env: { HTTPS_PROXY: proxy.url, AWS_CA_BUNDLE: ca.certPath } });
  await v.verify(tokenFor(31));
  assert.equal(sts.calls.length, 1);
});

test("a token the rules refuse never reaches STS, and costs no budget", async () => {
  const { v, seen } = verifier({ limits: { global: { perSecond: 1, burst: 1 } } });
  for (const bad of ["", "k8s-aws-v1.", "k8s-aws-v1.%%%", encodeToken(presignFor(ctxAt(T), { expires: "901" })), encodeToken(presignFor(ctxAt(T), { extra: [["action", "GetCallerIdentity"]] })), "x".repeat(20_000)]) {
    assert.equal((await refused(v.verify(bad))).outcome, "format");
  }
  assert.equal(sts.calls.length, 0);
  assert.deepEqual(seen.cache, [], "no cache look-up counted for malformed tokens");
  await v.verify(tokenFor(32));
  assert.equal(sts.calls.length, 1);
});

test("settings are checked: no cluster id, bad limits, bad cache size", () => {
  const base = { clusterId: CLUSTER, region: "us-west-2" };
  for (const [opts, why] of [
    [{ ...base, clusterId: "" }, /no cluster id/],
    [{ ...base, limits: { perPrincipal: { perSecond: 0, burst: 1 } } }, /per-principal STS limit/],
    [{ ...base, limits: { maxConcurrent: 0 } }, /concurrent STS calls/],
    [{ ...base, cache: { maxEntries: -1 } }, /cache size/],
    [{ ...base, timeoutMs: 0 }, /STS timeout/],
    [{ ...base, maxTokenBytes: 20_000 }, /maximum token size/],
  ] as const) {
    assert.throws(() => new StsTokenVerifier(opts as StsTokenVerifierOptions), why);
  }
});

test("no error message or observation holds the token, its signature, the session token or the secret", () => {
  assert.ok(messages.length >= 20, `control: ${messages.length} messages`);
  const url = presignFor(ctxAt(T, key(1)));
  const signature = /X-Amz-Signature=([0-9a-f]+)/.exec(url)![1]!;
  for (const m of messages) {
    assert.doesNotMatch(m, /[\r\n]/);
    for (const secret of [signature, SECRET, SESSION_TOKEN, encodeURIComponent(SESSION_TOKEN), "k8s-aws-v1.aHR0"]) assert.ok(!m.includes(secret), `${m} holds a secret`);
  }
});
