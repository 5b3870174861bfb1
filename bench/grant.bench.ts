/**
 * `eks-access grant` (aws-auth backend) against a CONFIG_MAP sandbox vs the equivalent
 * `kubectl patch` of the ConfigMap, in the same run, interleaved round by round so machine noise
 * hits both alike. Each round grants a new role once each way; both go through the same
 * kubeconfig (its exec plugin: `eks-access token`, token cache on), to the same kube-apiserver.
 *
 * What each does: grant = DescribeCluster (the mode and endpoint), IAM GetRole (the principal, its
 * path), GET aws-auth, the row edit, a 0600 backup, PUT with the read resourceVersion. kubectl patch
 * = one PATCH of data.mapRoles with the new text, prepared beforehand (no read, no conflict
 * safety, no backup, no check of the principal): the floor of a hand edit.
 *
 *   flock /tmp/eks-access-e2e.lock npm run bench:grant     (BENCH_ROUNDS=N, default 15; needs EKS_ACCESS_PEERS_BIN)
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { cliPath, repoRoot, type Env } from "../test/helpers.js";
import { awsBatch } from "../test/aws-helpers.js";
import { startSandbox } from "../test/e2e/shell.js";

const rounds = Number(process.env["BENCH_ROUNDS"] ?? 15);
const ACCT = "123456789012";
const TRUST = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: "sts:AssumeRole" }] });

function timed(cmd: string, args: string[], env: Env): number {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env: clean, encoding: "utf8", cwd: repoRoot });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
  return ms;
}

function mapRoles(env: Env): string {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv;
  const r = spawnSync("kubectl", ["-n", "kube-system", "get", "configmap", "aws-auth", "-o", "jsonpath={.data.mapRoles}"], { env: clean, encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const s = await startSandbox("eks-access-grant-bench-", "CONFIG_MAP");
try {
  const names = Array.from({ length: rounds + 1 }, (_, i) => [`bench-grant-${i}`, `bench-patch-${i}`]).flat();
  for (const r of await awsBatch(s.env, names.map((n) => ["iam", "create-role", "--role-name", n, "--assume-role-policy-document", TRUST]))) if (r.status !== 0) throw new Error(r.stderr);
  // round 0 warms both up (and makes the ConfigMap); it is not counted
  const grant: number[] = [];
  const patch: number[] = [];
  for (let i = 0; i <= rounds; i++) {
    const g = timed(cliPath, ["grant", "--cluster", "sandbox", "--principal", `arn:aws:iam::${ACCT}:role/bench-grant-${i}`, "--group", "bench"], s.env);
    const next = `${mapRoles(s.env)}- groups:\n  - bench\n  rolearn: arn:aws:iam::${ACCT}:role/bench-patch-${i}\n  username: bench-patch-${i}:{{SessionName}}\n`;
    const p = timed("kubectl", ["-n", "kube-system", "patch", "configmap", "aws-auth", "--type", "merge", "-p", JSON.stringify({ data: { mapRoles: next } })], s.env);
    if (i > 0) {
      grant.push(g);
      patch.push(p);
    }
  }
  const rows = mapRoles(s.env).split("\n- ").length;
  const mg = median(grant);
  const mp = median(patch);
  console.log(`grant latency against the sandbox (CONFIG_MAP, aws-auth), ${rounds} interleaved rounds, ${rows} rows at the end:`);
  console.log(`  eks-access grant --principal ARN --group G   median ${mg.toFixed(0)} ms  (min ${Math.min(...grant).toFixed(0)}, max ${Math.max(...grant).toFixed(0)})`);
  console.log(`  kubectl patch configmap aws-auth (merge)     median ${mp.toFixed(0)} ms  (min ${Math.min(...patch).toFixed(0)}, max ${Math.max(...patch).toFixed(0)})`);
  console.log(`  ratio grant / kubectl patch: ${(mg / mp).toFixed(2)}x`);
  console.log(`  (kubeconfig ${join(s.dir, "kubeconfig")}, both through the eks-access token exec plugin)`);
} finally {
  s.stop();
}
