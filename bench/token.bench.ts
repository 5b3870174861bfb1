/**
 * `eks-access token` vs `node -e 0` (the floor) vs `aws eks get-token` (the peer), in one run,
 * interleaved round-robin so machine noise hits every contender alike. Prints medians, ratios
 * and peak RSS (GNU time's %M). No network: credentials come from the environment.
 *
 *   npm run bench            (ROUNDS=30 by default; BENCH_ROUNDS=N to change)
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const rounds = Number(process.env["BENCH_ROUNDS"] ?? 30);
const cacheDir = mkdtempSync(join(tmpdir(), "eks-access-bench-"));
const env = {
  PATH: process.env["PATH"] ?? "",
  HOME: cacheDir,
  AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
  AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  AWS_DEFAULT_REGION: "us-west-2",
  AWS_CONFIG_FILE: "/dev/null",
  AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
  EKS_ACCESS_CACHE_DIR: join(cacheDir, "cache"),
};

// A role_arn profile whose assumed-role credentials are in the AWS CLI's cache, as `aws … --profile`
// (or eks-access) left them: both tools read the entry and sign, neither calls STS.
const ROLE = "arn:aws:iam::111122223333:role/Bench";
writeFileSync(join(cacheDir, "config"), `[profile bench]\nrole_arn = ${ROLE}\nsource_profile = base\nregion = us-west-2\n`);
writeFileSync(join(cacheDir, "credentials"), "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = base-secret\n");
mkdirSync(join(cacheDir, ".aws", "cli", "cache"), { recursive: true, mode: 0o700 });
const expires = new Date(Date.now() + 12 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, "UTC");
writeFileSync(
  join(cacheDir, ".aws", "cli", "cache", `${createHash("sha1").update(`{"RoleArn": "${ROLE}"}`).digest("hex")}.json`),
  JSON.stringify({ Credentials: { AccessKeyId: "ASIABENCH", SecretAccessKey: "bench-secret", SessionToken: "bench-session", Expiration: expires } }),
  { mode: 0o600 },
);
const profileEnv = { ...env, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_CONFIG_FILE: join(cacheDir, "config"), AWS_SHARED_CREDENTIALS_FILE: join(cacheDir, "credentials") };

interface Contender {
  name: string;
  cmd: string[];
  env?: Record<string, string | undefined>;
}
const contenders: Contender[] = [
  { name: "node -e 0 (floor)", cmd: ["node", "-e", "0"] },
  { name: "eks-access token, warm (cache hit)", cmd: ["./bin/eks-access", "token", "--cluster-name", "demo"] },
  { name: "eks-access token, cold (--no-cache)", cmd: ["./bin/eks-access", "token", "--cluster-name", "demo", "--no-cache"] },
  { name: "aws eks get-token (AWS CLI v1)", cmd: ["aws", "eks", "get-token", "--cluster-name", "demo"] },
  { name: "eks-access token --profile (role, cached)", cmd: ["./bin/eks-access", "token", "--cluster-name", "demo", "--profile", "bench", "--no-cache"], env: profileEnv },
  { name: "aws eks get-token --profile (role, cached)", cmd: ["aws", "eks", "get-token", "--cluster-name", "demo", "--profile", "bench"], env: profileEnv },
];

interface Sample {
  seconds: number;
  cpu: number;
  rssKb: number;
}

/** One run under GNU time: wall clock measured here, CPU (user+sys) and peak RSS from time(1). */
function timed(c: Contender): Sample {
  const start = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%U %S %M", ...c.cmd], { env: c.env ?? env, encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${c.name} failed: ${r.stderr}`);
  const [user, sys, rss] = r.stderr.trim().split("\n").pop()!.split(" ").map(Number);
  return { seconds, cpu: user! + sys!, rssKb: rss! };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// prime the cache so "warm" is a hit every time (entries are reused for 9 minutes)
timed(contenders[1]!);
const samples = new Map<string, { t: number[]; cpu: number[]; rss: number[] }>(contenders.map((c) => [c.name, { t: [], cpu: [], rss: [] }]));
for (let i = 0; i < rounds; i++) {
  for (const c of contenders) {
    const r = timed(c);
    const s = samples.get(c.name)!;
    s.t.push(r.seconds);
    s.cpu.push(r.cpu);
    s.rss.push(r.rssKb);
  }
}
rmSync(cacheDir, { recursive: true, force: true });
// "AWS CLI / x" compares each --profile contender with the AWS CLI's --profile run, the others with its plain run

const floor = median(samples.get(contenders[0]!.name)!.t);
const floorCpu = median(samples.get(contenders[0]!.name)!.cpu);
const awsCli = median(samples.get(contenders[3]!.name)!.t);
const awsCliProfile = median(samples.get(contenders[5]!.name)!.t);
console.log(`rounds: ${rounds} (interleaved); medians; wall includes the GNU time wrapper; CPU = user+sys (10 ms resolution)`);
console.log(`${"contender".padEnd(42)} ${"wall s".padStart(7)} ${"x node -e 0".padStart(11)} ${"AWS CLI / x".padStart(11)} ${"CPU s".padStart(6)} ${"CPU x node".padStart(10)} ${"peak RSS MiB".padStart(12)}`);
for (const c of contenders) {
  const s = samples.get(c.name)!;
  const m = median(s.t);
  const cpu = median(s.cpu);
  console.log(
    `${c.name.padEnd(42)} ${m.toFixed(3).padStart(7)} ${(m / floor).toFixed(2).padStart(11)} ${((c.env ? awsCliProfile : awsCli) / m).toFixed(1).padStart(11)} ${cpu.toFixed(2).padStart(6)} ${(cpu / floorCpu).toFixed(2).padStart(10)} ${(median(s.rss) / 1024).toFixed(1).padStart(12)}`,
  );
}
