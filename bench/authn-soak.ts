/**
 * Soak of `eks-access serve`'s TokenReview: SOAK_SECONDS (600) of mixed load — half the reviews
 * from a working set of 100 repeated tokens (cache hits), half fresh tokens never seen before
 * (each an STS call and a new cache entry, so the verified-token cache, 10,000 entries, is full
 * and evicting within seconds) — with serve pinned to CPU 0, the load and the STS side on CPU 1.
 * Every SAMPLE_SECONDS (5) serve's RSS (/proc) and its heap (its own /metrics: nodejs_heap_size_used_bytes)
 * are sampled. After a warm-up (the first WARMUP_SECONDS, 60) the memory must be bounded: the
 * largest RSS and heap of the last WINDOW_SECONDS (120) at most GROWTH (1.25)× those of the first
 * WINDOW_SECONDS after the warm-up, plus SLACK_MIB (8) — and the cache never past its bound.
 * Every answer must be 200 authenticated. Prints a summary per minute; exits 1 when a check fails.
 * Bounded in time (SOAK_SECONDS + set-up) and count (SOAK_MAX_REQUESTS, 5,000,000).
 *
 *   npm run soak:authn        (SOAK_SECONDS=120 for a short run; SOAK_CONCURRENCY, default 16)
 */
import { Agent, request } from "node:https";
import { readFileSync } from "node:fs";
import { cpuMs, pin, reviewBody, signToken, startServe, startStsRig, type Key } from "./authn-rig.js";

const SOAK_SECONDS = Number(process.env["SOAK_SECONDS"] ?? 600);
const SAMPLE_SECONDS = Number(process.env["SAMPLE_SECONDS"] ?? 5);
const WARMUP_SECONDS = Number(process.env["WARMUP_SECONDS"] ?? Math.min(60, SOAK_SECONDS / 5));
const WINDOW_SECONDS = Number(process.env["WINDOW_SECONDS"] ?? Math.min(120, SOAK_SECONDS / 5));
const GROWTH = Number(process.env["GROWTH"] ?? 1.25);
const SLACK_MIB = Number(process.env["SLACK_MIB"] ?? 8);
const CONCURRENCY = Number(process.env["SOAK_CONCURRENCY"] ?? 16);
const MAX_REQUESTS = Number(process.env["SOAK_MAX_REQUESTS"] ?? 5_000_000);
const CACHE_SIZE = 10_000;
const WORKING_SET = 100;

interface Sample {
  t: number;
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  cacheEntries: number;
  reviews: number;
  fresh: number;
  cpuMs: number;
  p99Ms: number;
}

const mib = (bytes: number): number => bytes / 1024 / 1024;

function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) / 1024;
}

const metric = (text: string, name: string): number => {
  const m = new RegExp(`^${name} ([0-9.e+]+)$`, "m").exec(text);
  if (!m) throw new Error(`metric ${name} missing from /metrics`);
  return Number(m[1]);
};

async function main(): Promise<void> {
  pin("1");
  const rig = await startStsRig({ users: 8, otherRows: 200, stateMaxAgeMs: 5_000 });
  const serve = await startServe(rig, "0", { args: ["--token-cache-size", String(CACHE_SIZE)] });
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: serve.caPem });
  const failures: string[] = [];
  try {
    const post = (path: string, body?: string): Promise<{ status: number; text: string }> =>
      new Promise((resolve, reject) => {
        const req = request(`${serve.origin}${path}`, { method: body === undefined ? "GET" : "POST", agent, timeout: 15_000, headers: body === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
          let text = "";
          res.setEncoding("utf8").on("data", (c: string) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on("timeout", () => req.destroy(new Error(`${path} timed out`)));
        req.on("error", reject);
        req.end(body);
      });

    const keys: Key[] = rig.keys;
    let workingSet: string[] = [];
    const refreshWorkingSet = async (): Promise<void> => {
      const now = new Date(Math.floor(Date.now() / 1000) * 1000);
      workingSet = await Promise.all(Array.from({ length: WORKING_SET }, (_, i) => signToken(keys[i % keys.length]!, new Date(now.getTime() - Math.floor(i / keys.length) * 1000), 60).then(reviewBody)));
    };
    await refreshWorkingSet();
    // fresh tokens: signed now, X-Amz-Expires from a counter — distinct within a second up to 901 × keys
    let counter = 0;
    const freshBody = async (): Promise<string> => {
      const j = counter++;
      return reviewBody(await signToken(keys[j % keys.length]!, new Date(Math.floor(Date.now() / 1000) * 1000), Math.floor(j / keys.length) % 901));
    };

    const started = Date.now();
    const deadline = started + SOAK_SECONDS * 1000;
    let reviews = 0;
    let fresh = 0;
    let latencies: number[] = [];
    let nextRefresh = started + 300_000;
    const worker = async (): Promise<void> => {
      while (Date.now() < deadline && reviews < MAX_REQUESTS && failures.length < 10) {
        if (Date.now() > nextRefresh) {
          nextRefresh = Date.now() + 300_000;
          await refreshWorkingSet();
        }
        const isFresh = Math.random() < 0.5;
        const body = isFresh ? await freshBody() : workingSet[Math.floor(Math.random() * workingSet.length)]!;
        const t0 = performance.now();
        const r = await post("/authenticate", body);
        latencies.push(performance.now() - t0);
        reviews++;
        if (isFresh) fresh++;
        if (r.status !== 200 || !r.text.includes('"authenticated":true')) failures.push(`HTTP ${r.status}: ${r.text.slice(0, 200)}`);
      }
    };

    const samples: Sample[] = [];
    const cpu0 = cpuMs(serve.pid);
    const sample = async (): Promise<void> => {
      const m = (await post("/metrics")).text;
      const sorted = latencies.sort((a, b) => a - b);
      latencies = [];
      samples.push({
        t: (Date.now() - started) / 1000,
        rssMiB: rssOf(serve.pid),
        heapUsedMiB: mib(metric(m, "nodejs_heap_size_used_bytes")),
        heapTotalMiB: mib(metric(m, "nodejs_heap_size_total_bytes")),
        cacheEntries: metric(m, "eks_access_authn_token_cache_entries"),
        reviews,
        fresh,
        cpuMs: cpuMs(serve.pid) - cpu0,
        p99Ms: sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]! : NaN,
      });
    };
    const sampler = setInterval(() => void sample().catch((err: unknown) => failures.push(`sampling: ${(err as Error).message}`)), SAMPLE_SECONDS * 1000);
    console.log(`soak: ${SOAK_SECONDS} s, ${CONCURRENCY} concurrent, half of the reviews fresh tokens; serve pid ${serve.pid} on CPU 0, sampled every ${SAMPLE_SECONDS} s`);
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    clearInterval(sampler);
    await sample();

    // per minute: reviews/s, RSS and heap (min..max), cache entries, p99 of the samples' windows
    console.log("| minute | reviews/s | fresh/s | serve CPU % | RSS MiB (min..max) | heap used MiB (min..max) | heap total MiB (max) | cache entries (max) | p99 ms (max of 5-s windows) |");
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let prev: Sample = { t: 0, rssMiB: 0, heapUsedMiB: 0, heapTotalMiB: 0, cacheEntries: 0, reviews: 0, fresh: 0, cpuMs: 0, p99Ms: 0 };
    for (let minute = 0; minute * 60 < samples.at(-1)!.t; minute++) {
      const ss = samples.filter((s) => s.t > minute * 60 && s.t <= (minute + 1) * 60);
      if (ss.length === 0) continue;
      const last = ss.at(-1)!;
      const secs = last.t - prev.t;
      const range = (f: (s: Sample) => number): string => `${Math.min(...ss.map(f)).toFixed(1)}..${Math.max(...ss.map(f)).toFixed(1)}`;
      console.log(`| ${minute + 1} | ${((last.reviews - prev.reviews) / secs).toFixed(0)} | ${((last.fresh - prev.fresh) / secs).toFixed(0)} | ${((100 * (last.cpuMs - prev.cpuMs)) / 1000 / secs).toFixed(0)} | ${range((s) => s.rssMiB)} | ${range((s) => s.heapUsedMiB)} | ${Math.max(...ss.map((s) => s.heapTotalMiB)).toFixed(1)} | ${Math.max(...ss.map((s) => s.cacheEntries))} | ${Math.max(...ss.map((s) => s.p99Ms)).toFixed(1)} |`);
      prev = last;
    }
    const end = samples.at(-1)!.t;
    const first = samples.filter((s) => s.t > WARMUP_SECONDS && s.t <= WARMUP_SECONDS + WINDOW_SECONDS);
    const lastWindow = samples.filter((s) => s.t > end - WINDOW_SECONDS);
    const maxOf = (ss: Sample[], f: (s: Sample) => number): number => Math.max(...ss.map(f));
    console.log(`reviews: ${reviews} (${fresh} with a fresh token) in ${end.toFixed(0)} s; ${samples.length} samples`);
    if (first.length === 0 || lastWindow.length === 0) failures.push("too short a run for the windows: raise SOAK_SECONDS");
    else {
      for (const [what, f] of [["RSS", (s: Sample) => s.rssMiB], ["heap used", (s: Sample) => s.heapUsedMiB]] as const) {
        const a = maxOf(first, f);
        const b = maxOf(lastWindow, f);
        const bound = a * GROWTH + SLACK_MIB;
        const ok = b <= bound;
        console.log(`${what}: max ${a.toFixed(1)} MiB in ${WARMUP_SECONDS}..${WARMUP_SECONDS + WINDOW_SECONDS} s, max ${b.toFixed(1)} MiB in the last ${WINDOW_SECONDS} s (bound ${bound.toFixed(1)} MiB): ${ok ? "bounded" : "GREW"}`);
        if (!ok) failures.push(`${what} grew: ${b.toFixed(1)} MiB > ${bound.toFixed(1)} MiB`);
      }
    }
    const maxEntries = maxOf(samples, (s) => s.cacheEntries);
    console.log(`verified-token cache: at most ${maxEntries} entries (bound ${CACHE_SIZE})`);
    if (maxEntries > CACHE_SIZE) failures.push(`the cache held ${maxEntries} entries, over its bound ${CACHE_SIZE}`);
    if (fresh < CACHE_SIZE * 2) failures.push(`only ${fresh} fresh tokens: the cache was not made to evict (raise SOAK_SECONDS)`);
  } finally {
    agent.destroy();
    await serve.stop();
    await rig.stop();
  }
  if (failures.length > 0) {
    console.log(`FAILED: ${failures.slice(0, 5).join("; ")}`);
    process.exitCode = 1;
  } else console.log("soak passed: every review authenticated, memory bounded, the cache within its bound");
}

await main();
