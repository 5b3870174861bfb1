/**
 * TokenReview side by side: aws-iam-authenticator v0.6.13 (the peer) and `eks-access serve`, each
 * pinned to CPU 0, the load generator (wrk, with bench/authn-wrk.lua) and the whole STS side on CPU 1,
 * on loopback. Both servers read the same kind of config file (clusterID, server.mapUsers/mapRoles:
 * the bench's users among other rows) and reach the same local STS verifier the same way
 * (HTTPS_PROXY → CONNECT proxy → gateway with a test-CA certificate for sts.us-west-2.amazonaws.com →
 * verifier, which checks the SigV4 signature against moto's keys). Two workloads:
 *   (a) distinct tokens: every request a different valid token (X-Amz-Date within the last 4 minutes,
 *       X-Amz-Expires 0..900, over 8 keys): every review needs STS;
 *   (b) a working set of 100 tokens, repeated.
 * Each for two STS verifiers: "sandbox" (reads moto's state for every request, as the sandbox does)
 * and "fast" (the same verifier sharing moto's state dump for 5 s: the signature check only). The STS
 * verifier is first loaded alone (wrk GETs of the presigned URLs, no TLS) to show its own ceiling.
 * Rounds interleave the servers (order swapped each round); medians are reported, with what tells
 * where the time went: the server's own CPU time per review (/proc), the new connections it opened
 * to STS (CONNECTs seen by the proxy) and how busy each CPU was — CPU 1 at 100% means the STS side
 * (proxy, gateway TLS, verifier, moto) and wrk were the limit, not the server. The machine may be
 * shared: other programs show up in the CPUs' busy figures.
 * Bounded: each run stops at BENCH_REQUESTS_A / BENCH_REQUESTS_B answers or BENCH_SECONDS, whichever first.
 * wrk rather than autocannon or h2load: a C load generator costs the shared CPU little per request,
 * its Lua hook hands every request its own body (distinct tokens) and stops after a count, and it
 * reports latency percentiles; h2load sends one body for all requests, autocannon spends more CPU.
 *
 *   npm run bench:authn     (needs wrk: apt-get install wrk; the peers built: tools/peers/build.sh)
 *   env: BENCH_ROUNDS (3), BENCH_SECONDS (12), BENCH_CONNECTIONS (32), BENCH_REQUESTS_A (25000),
 *        BENCH_REQUESTS_B (300000), BENCH_STS (both | sandbox | fast), BENCH_SERVER_CPU (0), BENCH_LOAD_CPU (1)
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  CLUSTER_ID, configSummary, cpuMs, cpuTimes, distinctTokens, pin, requireTool, reviewBody, startPeer, startServe, startStsRig, STS_HOST,
  type ServerUnderTest, type StsRig,
} from "./authn-rig.js";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3);
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 12);
const CONNECTIONS = Number(process.env["BENCH_CONNECTIONS"] ?? 32);
const REQUESTS_A = Number(process.env["BENCH_REQUESTS_A"] ?? 25_000);
const REQUESTS_B = Number(process.env["BENCH_REQUESTS_B"] ?? 300_000);
const STS_MODES = (process.env["BENCH_STS"] ?? "both") === "both" ? (["sandbox", "fast"] as const) : ([process.env["BENCH_STS"]] as Array<"sandbox" | "fast">);
const SERVER_CPU = process.env["BENCH_SERVER_CPU"] ?? "0";
const LOAD_CPU = process.env["BENCH_LOAD_CPU"] ?? "1";
const WORKING_SET = 100;
const USERS = 8;
const script = join(import.meta.dirname, "authn-wrk.lua");

interface WrkResult {
  requests: number;
  /** answers seen by response(), over elapsedUs (first request sent to last answer) */
  answered: number;
  elapsedUs: number;
  wrkDurationUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  meanUs: number;
  connectErrors: number;
  readErrors: number;
  writeErrors: number;
  timeouts: number;
  non2xx: number;
  notOk: number;
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  /** CPU time the server under test spent per answer (µs), and its share of its CPU (%) */
  cpuUsPerReview: number;
  serverCpu: number;
  /** how busy each CPU was (%, everything on it: the other CPU's work of other programs too) */
  busy: Record<string, number>;
  /** connections the server opened to STS (CONNECTs through the proxy, until they stop) per 1,000 answers */
  stsConnectsPerK: number;
}

/**
 * Waits (at most 60 s) until no new connection has gone through the proxy for 2 s: a run must not
 * start while the STS side still serves the previous one. aws-iam-authenticator's Go client leaves
 * thousands of connection attempts queued at the proxy when the STS side is saturated (it dials
 * for every request that finds no idle connection and keeps 2 idle per host); they are served
 * after its run ends and would slow the next run down and be counted for the wrong server.
 */
async function settle(rig: StsRig): Promise<void> {
  let last = rig.proxy.events.length;
  let quiet = 0;
  for (let i = 0; i < 120 && quiet < 4; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const now = rig.proxy.events.length;
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
}

/**
 * One wrk run (on LOAD_CPU, as this process is), after the STS side has settled; fails on any
 * error or any unauthenticated answer.
 * `serverPid`: the process whose CPU time is counted.
 */
async function wrk(url: string, linesFile: string, max: number, seconds: number, serverPid: number, rig: StsRig, extra: string[] = []): Promise<Run> {
  await settle(rig);
  const connects0 = rig.proxy.events.length;
  const cpu0 = cpuMs(serverPid);
  const cores0 = cpuTimes();
  const t0 = performance.now();
  const child = spawn("wrk", ["-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "--timeout", "10s", "-s", script, url, "--", linesFile, String(max), ...extra], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  const wallMs = performance.now() - t0;
  const serverMs = cpuMs(serverPid) - cpu0;
  const cores1 = cpuTimes();
  const busy: Record<string, number> = {};
  for (const [cpu, t] of cores1) {
    const b = cores0.get(cpu);
    if (b && t.total > b.total) busy[cpu] = (100 * (t.busy - b.busy)) / (t.total - b.total);
  }
  const line = out.split("\n").find((l) => l.startsWith("{"));
  if (code !== 0 || line === undefined) throw new Error(`wrk exited ${code}: ${err.trim() || out.trim()}`);
  const r = JSON.parse(line) as WrkResult;
  const errors = r.connectErrors + r.readErrors + r.writeErrors + r.timeouts;
  if (errors > 0 || r.non2xx > 0 || r.notOk > 0) throw new Error(`wrk ${url}: ${JSON.stringify(r)}`);
  if (r.answered === 0) throw new Error(`wrk ${url}: no request answered`);
  await settle(rig); // the connections the run left queued count for it
  return { rps: r.answered / (r.elapsedUs / 1e6), p50: r.p50Us / 1000, p99: r.p99Us / 1000, requests: r.answered, cpuUsPerReview: (serverMs * 1000) / r.answered, serverCpu: (100 * serverMs) / wallMs, busy, stsConnectsPerK: ((rig.proxy.events.length - connects0) * 1000) / r.answered };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

let salt = 0;
/** A file of `count` review bodies (or presigned paths), of tokens never used before in this run. */
async function freshTokens(rig: StsRig, count: number, name: string, as: "body" | "path" = "body"): Promise<string> {
  const tokens = await distinctTokens(rig.keys, count, 240, salt);
  salt += count;
  const file = join(rig.dir, `${name}.lines`);
  writeFileSync(file, tokens.map((t) => (as === "body" ? reviewBody(t) : presignedPath(t))).join("\n") + "\n", { mode: 0o600 });
  return file;
}

function presignedPath(token: string): string {
  const url = new URL(Buffer.from(token.slice("k8s-aws-v1.".length), "base64url").toString());
  return `${url.pathname}${url.search}`;
}

interface Summary {
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerReview: number;
  serverCpu: number;
  busyServerCpu: number;
  busyLoadCpu: number;
  stsConnectsPerK: number;
}

function summarize(runs: Run[]): Summary {
  const m = (f: (r: Run) => number): number => median(runs.map(f));
  return {
    rps: m((r) => r.rps), p50: m((r) => r.p50), p99: m((r) => r.p99), cpuUsPerReview: m((r) => r.cpuUsPerReview), serverCpu: m((r) => r.serverCpu),
    busyServerCpu: m((r) => r.busy[SERVER_CPU] ?? NaN), busyLoadCpu: m((r) => r.busy[LOAD_CPU] ?? NaN), stsConnectsPerK: m((r) => r.stsConnectsPerK),
  };
}

const describe = (r: Run): string =>
  `${r.rps.toFixed(0)} req/s p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} ms (${r.requests}; server ${r.cpuUsPerReview.toFixed(0)} µs CPU/review, ${r.serverCpu.toFixed(0)}% of a CPU; CPU${SERVER_CPU} ${r.busy[SERVER_CPU]?.toFixed(0)}% CPU${LOAD_CPU} ${r.busy[LOAD_CPU]?.toFixed(0)}% busy; ${r.stsConnectsPerK.toFixed(1)} new STS connections per 1,000)`;

async function benchMode(mode: "sandbox" | "fast"): Promise<{ mode: string; sts: Summary; a: [Summary, Summary]; b: [Summary, Summary] }> {
  const t0 = Date.now();
  const at = (what: string): void => console.log(`[${mode}] ${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
  const rig = await startStsRig({ users: USERS, otherRows: 200, stateMaxAgeMs: mode === "fast" ? 5_000 : 0 });
  let servers: ServerUnderTest[] = [];
  try {
    // the STS verifier alone: plain HTTP GETs of distinct presigned URLs, as the gateway forwards them
    at("STS side ready");
    const stsRuns: Run[] = [];
    for (let r = 0; r < ROUNDS; r++) stsRuns.push(await wrk(rig.verifier.url, await freshTokens(rig, REQUESTS_A, `sts-${r}`, "path"), REQUESTS_A, SECONDS, process.pid, rig, ["get", STS_HOST, CLUSTER_ID]));
    const sts = summarize(stsRuns);
    if (mode === STS_MODES[0]) console.log(`mapping, the same rows in both servers' config file: ${configSummary(rig)}`);
    console.log(`[${mode}] STS verifier alone: ${sts.rps.toFixed(0)} req/s, p50 ${sts.p50.toFixed(2)} ms, p99 ${sts.p99.toFixed(2)} ms`);

    servers = [await startPeer(rig, SERVER_CPU), await startServe(rig, SERVER_CPU)];
    at("servers ready");
    const workingSet = await freshTokens(rig, WORKING_SET, "working-set");
    for (const s of servers) {
      // warm-up: the JIT, the connections to STS, the working set verified once
      await wrk(s.origin, await freshTokens(rig, 2_000, `warm-${s.name}`), 2_000, 5, s.pid, rig);
      await wrk(s.origin, workingSet, 5_000, 5, s.pid, rig);
    }
    at("warmed up");
    const a: Run[][] = [[], []];
    const b: Run[][] = [[], []];
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const s = servers[i]!;
        const ra = await wrk(s.origin, await freshTokens(rig, REQUESTS_A + CONNECTIONS, `a-${r}-${i}`), REQUESTS_A, SECONDS, s.pid, rig);
        a[i]!.push(ra);
        console.log(`[${mode}] round ${r + 1} ${s.name} (a): ${describe(ra)}`);
        const rb = await wrk(s.origin, workingSet, REQUESTS_B, SECONDS, s.pid, rig);
        b[i]!.push(rb);
        console.log(`[${mode}] round ${r + 1} ${s.name} (b): ${describe(rb)}`);
      }
    }
    return { mode, sts, a: [summarize(a[0]!), summarize(a[1]!)], b: [summarize(b[0]!), summarize(b[1]!)] };
  } finally {
    for (const s of servers) await s.stop();
    await rig.stop();
  }
}

async function main(): Promise<void> {
  requireTool("wrk", "apt-get install wrk");
  requireTool("taskset", "apt-get install util-linux");
  pin(LOAD_CPU); // this process, moto_server, the STS side and wrk; the servers get SERVER_CPU
  console.log(`TokenReview, servers on CPU ${SERVER_CPU}, wrk -t1 -c${CONNECTIONS} and the STS side on CPU ${LOAD_CPU}; ${ROUNDS} rounds, medians; each run ≤ ${SECONDS} s`);
  const results = [];
  for (const mode of STS_MODES) results.push(await benchMode(mode));
  console.log("");
  console.log(`(a) distinct tokens, ≤ ${REQUESTS_A} per run; (b) ${WORKING_SET} tokens repeated, ≤ ${REQUESTS_B} per run`);
  const row = (cols: string[]): string => `| ${cols.join(" | ")} |`;
  console.log(row(["STS verifier", "workload", "server", "req/s", "p50 ms", "p99 ms", "serve / peer req/s", "serve / peer p99", "server CPU µs/review", "new STS conns /1k", `CPU${SERVER_CPU} busy`, `CPU${LOAD_CPU} busy`]));
  console.log(row(Array(12).fill("---")));
  const pc = (x: number): string => `${x.toFixed(0)}%`;
  for (const r of results) {
    console.log(row([r.mode, "STS alone", "(the verifier, plain HTTP)", r.sts.rps.toFixed(0), r.sts.p50.toFixed(2), r.sts.p99.toFixed(2), "", "", "", "", pc(r.sts.busyServerCpu), pc(r.sts.busyLoadCpu)]));
    for (const [w, pair] of [["(a) distinct", r.a], ["(b) 100 repeated", r.b]] as const) {
      const [peer, serve] = pair;
      console.log(row([r.mode, w, "aws-iam-authenticator", peer.rps.toFixed(0), peer.p50.toFixed(2), peer.p99.toFixed(2), "", "", peer.cpuUsPerReview.toFixed(0), peer.stsConnectsPerK.toFixed(1), pc(peer.busyServerCpu), pc(peer.busyLoadCpu)]));
      console.log(row([r.mode, w, "eks-access serve", serve.rps.toFixed(0), serve.p50.toFixed(2), serve.p99.toFixed(2), `${(serve.rps / peer.rps).toFixed(2)}×`, `${(serve.p99 / peer.p99).toFixed(2)}×`, serve.cpuUsPerReview.toFixed(0), serve.stsConnectsPerK.toFixed(1), pc(serve.busyServerCpu), pc(serve.busyLoadCpu)]));
    }
  }
}

await main();
