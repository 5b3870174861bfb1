/**
 * The token verifier's own cost, bounded in count and time, loopback only:
 *  (1) checkToken (core/token-verify.ts) on an IAM-user token and on a role-session token;
 *  (2) StsTokenVerifier.verify answered from the verified-identity cache (SHA-256 of the token +
 *      LRU look-up), a working set of 100 tokens;
 *  (3) StsTokenVerifier.verify of distinct tokens, each a GET to a local test STS over HTTPS through
 *      the CONNECT proxy (the STS answers at once: this is our side of the call plus loopback).
 *   npm run bench:token-verify     (BENCH_CHECKS, BENCH_HITS, BENCH_MISSES)
 */
import { createServer } from "node:https";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { encodeToken } from "../src/core/token.js";
import { checkToken, tokenPolicy } from "../src/core/token-verify.js";
import { StsTokenVerifier } from "../src/adapters/sts-token-verifier.js";
import { createTestCa, issueLeafCertificate } from "../src/sandbox/emulator/tls.js";
import { startConnectProxy } from "../src/sandbox/emulator/connect-proxy.js";
import { listenOnLoopback } from "../src/sandbox/emulator/net.js";
import { presignUrl } from "../test/token-cases.js";

const CHECKS = Number(process.env["BENCH_CHECKS"] ?? 300_000);
const HITS = Number(process.env["BENCH_HITS"] ?? 300_000);
const MISSES = Number(process.env["BENCH_MISSES"] ?? 3_000);
const NOW = Date.now();
const user = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
// a role session token the size STS hands out (~ 1 KB)
const session = { accessKeyId: "ASIAIOSFODNN7EXAMPLE", secretAccessKey: "c2Vzc2lvbi1zZWNyZXQ", sessionToken: "IQoJb3JpZ2luX2Vj".padEnd(1000, "A1b2C3d4/+") };
const token = (creds: typeof user, ms: number): string =>
  encodeToken(presignUrl({ credentials: creds, region: "us-west-2", host: "sts.us-west-2.amazonaws.com", clusterId: "bench", date: new Date(ms) }));

function rate(label: string, n: number, fn: (i: number) => void): void {
  for (let i = 0; i < Math.min(n, 20_000); i++) fn(i); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  const s = (performance.now() - t0) / 1000;
  console.log(`${label}: ${Math.round(n / s).toLocaleString("en")} ops/s (${((s / n) * 1e6).toFixed(2)} µs each, ${n.toLocaleString("en")} runs)`);
}

async function main(): Promise<void> {
  const policy = tokenPolicy({ region: "us-west-2" });
  const userToken = token(user, NOW);
  const sessionToken = token(session, NOW);
  console.log(`token sizes: user ${userToken.length} B, session ${sessionToken.length} B`);
  rate("checkToken, IAM user token", CHECKS, () => checkToken(userToken, policy, NOW));
  rate("checkToken, role session token", CHECKS, () => checkToken(sessionToken, policy, NOW));

  const dir = mkdtempSync(join(tmpdir(), "eks-access-bench-verify-"));
  const ca = await createTestCa(join(dir, "pki"));
  const leaf = await issueLeafCertificate(ca, { name: "sts", dnsNames: ["sts.us-west-2.amazonaws.com"] });
  const body = JSON.stringify({ GetCallerIdentityResponse: { GetCallerIdentityResult: { Arn: "arn:aws:iam::111122223333:user/bench", Account: "111122223333", UserId: "AIDABENCH" } } });
  const server = createServer({ cert: leaf.certPem, key: leaf.keyPem, keepAlive: true }, (_req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  const sts = await listenOnLoopback(server, "bench STS");
  const proxy = await startConnectProxy({ routes: { "sts.us-west-2.amazonaws.com:443": sts.port } });
  const verifier = new StsTokenVerifier({
    clusterId: "bench",
    region: "us-west-2",
    env: { HTTPS_PROXY: proxy.url, AWS_CA_BUNDLE: ca.certPath },
    limits: { perPrincipal: { perSecond: 1e6, burst: 1e6 }, global: { perSecond: 1e6, burst: 1e6 }, maxConcurrent: 256 },
    cache: { maxEntries: 10_000 },
  });
  try {
    const working = Array.from({ length: 100 }, (_, i) => token(session, NOW - i * 1000));
    for (const t of working) await verifier.verify(t);
    {
      for (let i = 0; i < 20_000; i++) await verifier.verify(working[i % 100]!);
      const t0 = performance.now();
      for (let i = 0; i < HITS; i++) await verifier.verify(working[i % 100]!);
      const s = (performance.now() - t0) / 1000;
      console.log(`verify, cache hit (100 session tokens): ${Math.round(HITS / s).toLocaleString("en")} ops/s (${((s / HITS) * 1e6).toFixed(2)} µs each)`);
    }
    {
      const distinct = Array.from({ length: MISSES }, (_, i) => token(user, NOW - 1000 * (200 + (i % 600)) - Math.floor(i / 600)));
      const t0 = performance.now();
      let next = 0;
      await Promise.all(Array.from({ length: 32 }, async () => {
        while (next < distinct.length) await verifier.verify(distinct[next++]!);
      }));
      const s = (performance.now() - t0) / 1000;
      console.log(`verify, distinct tokens (an HTTPS GET to a local STS each, 32 at once): ${Math.round(MISSES / s).toLocaleString("en")} ops/s`);
    }
  } finally {
    await verifier.close();
    await proxy.stop();
    server.closeAllConnections();
    await sts.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
