/**
 * The SubjectAccessReview webhook of `eks-access serve` (EKS access policies):
 *  (1) requests/s and latency percentiles with the server pinned to one core (taskset -c 0) and the
 *      load generator on the other, 1,000 access entries with 5 associated policies each;
 *  (2) what it adds to a `kubectl get pods` call: the same call by a user RBAC allows (the webhook is
 *      never asked) and by one an access policy allows (RBAC has no opinion, the webhook decides),
 *      interleaved, against the real kube-apiserver.
 * Bounded in count and time; loopback only.   npm run bench:authorizer   (BENCH_REQUESTS, BENCH_KUBECTL_ROUNDS)
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { dynamicFileFor, type AccessEntryView } from "../src/core/dynamic-file.js";
import { ACCESS_POLICIES } from "../src/core/access-policies.js";
import { createTestCa, issueLeafCertificate } from "../src/sandbox/emulator/tls.js";
import { kubectl, startKube, writeTokenKubeconfig } from "../src/sandbox/cluster/kube.js";
import { locatePeers } from "../src/sandbox/cluster/peers.js";

const REQUESTS = Number(process.env["BENCH_REQUESTS"] ?? 40_000);
const CONCURRENCY = 32;
const KUBECTL_ROUNDS = Number(process.env["BENCH_KUBECTL_ROUNDS"] ?? 20);
const dir = mkdtempSync(join(tmpdir(), "eks-access-bench-authz-"));

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

function entries(n: number): AccessEntryView[] {
  const out: AccessEntryView[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      principalArn: `arn:aws:iam::123456789012:role/bench-${i}`,
      principalId: `AROABENCH${i}`,
      username: `arn:aws:sts::123456789012:assumed-role/bench-${i}/{{SessionName}}`,
      kubernetesGroups: [],
      type: "STANDARD",
      policies: ACCESS_POLICIES.map((p, k) => ({ policyArn: p.arn, accessScope: k === 2 ? { type: "namespace" as const, namespaces: [`ns-${i}`] } : { type: "namespace" as const, namespaces: [`team-${i % 50}`, `dev-${k}-*`] } })),
    });
  }
  return out;
}

async function main(): Promise<void> {
  const ca = await createTestCa(join(dir, "pki"), { name: "bench-ca" });
  const leaf = await issueLeafCertificate(ca, { name: "serve", ipAddresses: ["127.0.0.1"] });
  const file = join(dir, "access-entries.json");
  writeFileSync(file, JSON.stringify(dynamicFileFor(entries(1000))));
  const runner = spawn("taskset", ["-c", "0", process.execPath, "--import", "tsx", "bench/serve-runner.ts", leaf.certPath, leaf.keyPath, file], { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(runner.stdout!, "data")) as [Buffer];
  const url = line.toString().trim();
  try {
    // (1) throughput: a mix of allowed, out-of-scope and unknown principals
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: ca.certPem });
    const bodies = Array.from({ length: 256 }, (_, j) => {
      const i = (j * 37) % 1200; // 1000..1199: no entry
      const ns = j % 3 === 0 ? `team-${i % 50}` : j % 3 === 1 ? `ns-${i}` : "default";
      return JSON.stringify({ apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", spec: { user: `u${i}`, extra: { principalId: [`AROABENCH${i}`] }, resourceAttributes: { verb: j % 2 ? "list" : "delete", resource: "pods", namespace: ns } } });
    });
    const post = (body: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        const req = request(`${url}/authorize`, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on("end", () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`HTTP ${res.statusCode}`))));
        });
        req.on("error", reject);
        req.end(body);
      });
    for (let i = 0; i < 500; i++) await post(bodies[i % bodies.length]!); // warm-up
    const lat: number[] = [];
    let next = 0;
    const t0 = Date.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        const n = next++;
        lat.push(await post(bodies[n % bodies.length]!));
      }
    }));
    const secs = (Date.now() - t0) / 1000;
    console.log(`SubjectAccessReview webhook, 1 core, 1,000 entries × 5 policies, ${REQUESTS} requests, ${CONCURRENCY} concurrent (keep-alive TLS):`);
    console.log(`  ${(REQUESTS / secs).toFixed(0)} requests/s; latency p50 ${pct(lat, 50).toFixed(2)} ms, p99 ${pct(lat, 99).toFixed(2)} ms, max ${Math.max(...lat).toFixed(2)} ms`);
    agent.destroy();

    // (2) the cost added to kubectl get pods
    const peers = await locatePeers({ build: false });
    const users: Record<string, { username: string; groups: string[]; extra: Record<string, string[]> }> = {
      "rbac-token": { username: "rbac-user", groups: ["viewers"], extra: {} },
      "policy-token": { username: "policy-user", groups: [], extra: { principalId: ["AROABENCH7"] } },
    };
    const tokenWebhook = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
      let body = "";
      req.setEncoding("utf8").on("data", (c: string) => (body += c));
      req.on("end", () => {
        const review = JSON.parse(body) as { apiVersion: string; spec: { token: string } };
        const u = users[review.spec.token];
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ apiVersion: review.apiVersion, kind: "TokenReview", status: u ? { authenticated: true, user: { ...u, uid: u.username } } : { authenticated: false } }));
      });
    });
    tokenWebhook.listen(0, "127.0.0.1");
    await once(tokenWebhook, "listening");
    const kube = await startKube({
      dir: join(dir, "kube"),
      peers,
      webhook: { url: `https://127.0.0.1:${(tokenWebhook.address() as { port: number }).port}/authenticate`, caFile: ca.certPath, version: "v1", cacheTtl: "0s" },
      authorizationWebhook: { url: `${url}/authorize`, caFile: ca.certPath },
    });
    try {
      await kubectl(kube.adminKubeconfig, ["create", "namespace", "team-7"]);
      await kubectl(kube.adminKubeconfig, ["create", "clusterrolebinding", "viewers", "--clusterrole=view", "--group=viewers"]);
      const kc = { rbac: await writeTokenKubeconfig(join(dir, "rbac.kubeconfig"), { server: kube.server, caData: kube.caData, token: "rbac-token" }), policy: await writeTokenKubeconfig(join(dir, "policy.kubeconfig"), { server: kube.server, caData: kube.caData, token: "policy-token" }) };
      const times: Record<string, number[]> = { rbac: [], policy: [] };
      for (let r = 0; r < KUBECTL_ROUNDS; r++) {
        for (const who of ["rbac", "policy"] as const) {
          const t = process.hrtime.bigint();
          // async: the TokenReview stand-in runs in this process
          const res = await kubectl(kc[who], ["get", "pods", "-n", "team-7"]);
          if (res.code !== 0) throw new Error(`kubectl as ${who}: ${res.stderr}`);
          times[who]!.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
      }
      const m = (xs: number[]) => pct(xs, 50);
      console.log(`kubectl get pods -n team-7, ${KUBECTL_ROUNDS} rounds interleaved (median): allowed by RBAC ${m(times["rbac"]!).toFixed(1)} ms, allowed by an access policy through the webhook ${m(times["policy"]!).toFixed(1)} ms; added ${(m(times["policy"]!) - m(times["rbac"]!)).toFixed(1)} ms`);
    } finally {
      await kube.stop();
      tokenWebhook.closeAllConnections();
      tokenWebhook.close();
    }
  } finally {
    runner.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
