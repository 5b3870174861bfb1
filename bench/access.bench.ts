/**
 * `access list`, `access check` and `migrate plan` at scale.
 *  (1) offline: the pure core over generated data — an aws-auth of 1k, 2k, 5k and 10k rows (roles,
 *      users, node roles, system:masters, duplicates, session ARNs) and 5,000 access entries (half
 *      of them for aws-auth's principals), IAM's answers for every principal: parse + check + list,
 *      check alone, migrate plan, migrate verify. Median of BENCH_REPEAT runs, and how each grows
 *      from 1k rows (near-linear: 10k rows should cost about 10× — the input also holds 5,000
 *      entries, so less);
 *  (2) against the sandbox: the real CLI (`eks-access access list|check`, `migrate plan`) on a
 *      sandbox holding BENCH_SANDBOX_ENTRIES access entries (default 5,000) and aws-auth of 1k and
 *      5k rows (BENCH_SANDBOX_ROWS, comma-separated): 10k of these rows (~1.1 MB) exceed the 1 MiB a
 *      ConfigMap may hold, so no live aws-auth has them. Setting up 5,000 entries takes minutes: the
 *      emulator rewrites its state and dynamic file on every change.
 *   npm run bench:access      (BENCH_REPEAT, BENCH_SANDBOX=0 to skip (2), BENCH_SANDBOX_ENTRIES, BENCH_SANDBOX_ROWS)
 * (2) starts a sandbox: run no other sandbox at the same time (aws-iam-authenticator's fixed port 21363).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseAwsAuth } from "../src/core/mapping/aws-auth.js";
import { checkAccess, listAccess } from "../src/core/mapping/access-report.js";
import { principalKey, statusOf, type IamRecord, type Inventory, type PrincipalLookup } from "../src/core/mapping/inventory.js";
import { planMigration, verifyMigration } from "../src/core/mapping/migrate.js";
import type { AccessEntryState } from "../src/core/access-entry-plan.js";

const ACCT = "123456789012";
const REPEAT = Number(process.env["BENCH_REPEAT"] ?? 5);
const ENTRIES = 5000;
const SANDBOX_ENTRIES = Number(process.env["BENCH_SANDBOX_ENTRIES"] ?? 5000);
const SANDBOX_ROWS = (process.env["BENCH_SANDBOX_ROWS"] ?? "1000,5000").split(",").map(Number);
const VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

/** aws-auth mapRoles/mapUsers text of `n` rows, seeds-style: mostly roles with a group, some of every other kind. */
function generatedAwsAuth(n: number, account = ACCT): Record<string, string> {
  const roles: string[] = [];
  const users: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 10 === 9) {
      users.push(`- userarn: arn:aws:iam::${account}:user/user-${i}\n  username: user-${i}\n  groups:\n    - team-${i % 50}`);
    } else if (i % 100 === 0) {
      roles.push(`- rolearn: arn:aws:iam::${account}:role/node-${i}\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n    - system:bootstrappers\n    - system:nodes`);
    } else if (i % 50 === 1) {
      roles.push(`- rolearn: arn:aws:iam::${account}:role/role-${i}\n  username: admin-${i}:{{SessionName}}\n  groups:\n    - system:masters`);
    } else if (i % 97 === 2) {
      roles.push(`- rolearn: arn:aws:iam::${account}:role/role-${i - 1}\n  username: again-${i}:{{SessionName}}\n  groups:\n    - team-${i % 50}`);
    } else if (i % 199 === 3) {
      roles.push(`- rolearn: arn:aws:sts::${account}:assumed-role/role-${i}/session\n  username: session-${i}`);
    } else {
      roles.push(`- rolearn: arn:aws:iam::${account}:role/role-${i}\n  username: role-${i}:{{SessionName}}\n  groups:\n    - team-${i % 50}`);
    }
  }
  return { mapRoles: `${roles.join("\n")}\n`, mapUsers: `${users.join("\n")}\n` };
}

const iamRole = (name: string): IamRecord => ({ type: "role", arn: `arn:aws:iam::${ACCT}:role/${name}`, account: ACCT, name, path: "/", uniqueId: `AROA${name.toUpperCase().replace(/-/g, "")}`, createDate: "2026-01-01T00:00:00.000Z" });
const iamUser = (name: string): IamRecord => ({ ...iamRole(name), type: "user", arn: `arn:aws:iam::${ACCT}:user/${name}`, uniqueId: `AIDA${name.toUpperCase().replace(/-/g, "")}` });

/** 5,000 entries (role-0…: aws-auth's principals for the first rows, then others), IAM for everyone. */
function inventory(rows: number): { data: Record<string, string>; build: () => Inventory } {
  const data = generatedAwsAuth(rows);
  const iam = new Map<string, PrincipalLookup>();
  for (let i = 0; i < Math.max(rows, ENTRIES); i++) {
    for (const p of [iamRole(`role-${i}`), iamRole(`node-${i}`), iamUser(`user-${i}`)]) iam.set(principalKey(p.arn)!, { state: "found", principal: p });
  }
  const entries: AccessEntryState[] = [];
  for (let j = 0; j < ENTRIES; j++) {
    entries.push({
      principalArn: `arn:aws:iam::${ACCT}:role/role-${j}`,
      type: "STANDARD",
      username: j % 7 === 0 ? `other-${j}` : `role-${j}:{{SessionName}}`,
      kubernetesGroups: j % 50 === 1 ? [] : [`team-${j % 50}`],
      policies: j % 50 === 1 ? [{ policyArn: ADMIN, accessScope: { type: "cluster", namespaces: [] } }] : j % 10 === 0 ? [{ policyArn: VIEW, accessScope: { type: "namespace", namespaces: [`ns-${j % 20}`] } }] : [],
      createdAt: "2026-02-01T00:00:00.000Z",
    });
  }
  const build = (): Inventory => ({
    cluster: { name: "bench", region: "us-west-2", account: ACCT, mode: "API_AND_CONFIG_MAP" },
    awsAuth: { state: "present" },
    parsed: parseAwsAuth(data),
    entries: entries.map((entry) => ({ entry, binding: statusOf(entry, iam.get(principalKey(entry.principalArn)!)) })),
    iam,
  });
  return { data, build };
}

function median(f: () => unknown): number {
  const times: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ")).join("\n");
}

function offline(): void {
  const sizes = [1000, 2000, 5000, 10000];
  const results: Array<{ n: number; parse: number; list: number; check: number; plan: number; verify: number; items: number }> = [];
  for (const n of sizes) {
    const { build } = inventory(n);
    const inv = build();
    // warm-up, and a sanity check that the work is real
    const plan = planMigration(inv);
    if (plan.items.length !== inv.parsed.rows.length || listAccess(inv).length !== inv.parsed.rows.length + ENTRIES) throw new Error("bench: unexpected output size");
    results.push({
      n,
      parse: median(() => build()),
      list: median(() => listAccess(inv)),
      check: median(() => checkAccess(inv)),
      plan: median(() => planMigration(inv)),
      verify: median(() => verifyMigration(inv)),
      items: plan.items.length,
    });
  }
  const base = results[0]!;
  const ms = (x: number) => x.toFixed(1);
  const grow = (x: number, b: number) => `${(x / b).toFixed(1)}×`;
  console.log(`\n(1) offline, pure core, ${ENTRIES} access entries, median of ${REPEAT} (ms; growth vs 1k rows)\n`);
  console.log(
    table(
      ["aws-auth rows", "parse+inventory", "access list", "access check", "migrate plan", "migrate verify"],
      results.map((r) => [String(r.n), `${ms(r.parse)} (${grow(r.parse, base.parse)})`, `${ms(r.list)} (${grow(r.list, base.list)})`, `${ms(r.check)} (${grow(r.check, base.check)})`, `${ms(r.plan)} (${grow(r.plan, base.plan)})`, `${ms(r.verify)} (${grow(r.verify, base.verify)})`]),
    ),
  );
  const last = results[results.length - 1]!;
  const worst = Math.max(last.list / base.list, last.check / base.check, last.plan / base.plan, last.verify / base.verify, last.parse / base.parse);
  console.log(`\nrows ×${last.n / base.n}: the slowest-growing step grew ×${worst.toFixed(1)} (${worst <= (last.n / base.n) * 1.5 ? "near-linear" : "WORSE THAN LINEAR"})`);
}

function sandbox(): void {
  const dir = mkdtempSync(join(tmpdir(), "eks-access-bench-access-"));
  const cli = join(process.cwd(), "bin", "eks-access");
  const userEnv: Record<string, string> = { PATH: process.env["PATH"] ?? "", HOME: dir, AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null", AWS_EC2_METADATA_DISABLED: "true", ...(process.env["EKS_ACCESS_PEERS_BIN"] ? { EKS_ACCESS_PEERS_BIN: process.env["EKS_ACCESS_PEERS_BIN"] } : {}) };
  const sh = (code: string, env: Record<string, string>): string => {
    const r = spawnSync("bash", ["-c", code], { env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`${code.slice(0, 200)}: ${r.stderr}`);
    return r.stdout;
  };
  try {
    console.log(`\n(2) against the sandbox: starting it, ${SANDBOX_ENTRIES} access entries …`);
    sh(`${cli} sandbox up --dir ${dir} --auth-mode API_AND_CONFIG_MAP`, userEnv);
    const env: Record<string, string> = {};
    for (const kv of sh(`eval "$(${cli} sandbox env --dir ${dir})"; env -0`, userEnv).split("\0").filter(Boolean)) env[kv.slice(0, kv.indexOf("="))] = kv.slice(kv.indexOf("=") + 1);
    // IAM roles straight in moto, entries through the sandbox's EKS API (the AWS CLI, in one Python process)
    const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as { motoUrl: string };
    const py = [
      "import boto3, json, sys",
      `iam = boto3.client('iam', endpoint_url='${state.motoUrl}', region_name='us-west-2', aws_access_key_id='bench', aws_secret_access_key='bench')`,
      `trust = json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::${ACCT}:root'}, 'Action': 'sts:AssumeRole'}]})`,
      `for i in range(${Math.max(SANDBOX_ENTRIES, ...SANDBOX_ROWS)}):`,
      "    iam.create_role(RoleName=f'role-{i}', AssumeRolePolicyDocument=trust)",
    ].join("\n");
    const t0 = performance.now();
    const made = spawnSync("python3", ["-c", py], { env, encoding: "utf8" });
    if (made.status !== 0) throw new Error(`creating IAM roles: ${made.stderr}`);
    const lines = Array.from({ length: SANDBOX_ENTRIES }, (_, j) => JSON.stringify(["eks", "create-access-entry", "--cluster-name", "sandbox", "--principal-arn", `arn:aws:iam::${ACCT}:role/role-${j}`, "--username", `role-${j}:{{SessionName}}`, "--kubernetes-groups", `team-${j % 50}`]));
    const batch = spawnSync("python3", [join(process.cwd(), "test", "sandbox", "aws-cli-batch.py")], { env, input: `${lines.join("\n")}\n`, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    const failed = batch.stdout.split("\n").filter(Boolean).filter((l) => JSON.parse(l).status !== 0);
    if (batch.status !== 0 || failed.length) throw new Error(`creating entries: ${batch.stderr || failed[0]}`);
    console.log(`   set up in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
    const rows: string[][] = [];
    for (const n of SANDBOX_ROWS) {
      const data = generatedAwsAuth(n);
      const manifest = JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "aws-auth", namespace: "kube-system" }, data });
      const applied = spawnSync("kubectl", ["--kubeconfig", join(dir, "kube", "admin.kubeconfig"), "apply", "--server-side", "--force-conflicts", "-f", "-"], { env, input: manifest, encoding: "utf8" });
      if (applied.status !== 0) throw new Error(applied.stderr);
      for (const [name, args] of [
        ["access list", ["access", "list", "-o", "json"]],
        ["access check", ["access", "check", "-o", "json"]],
        ["migrate plan", ["migrate", "plan", "-o", "json"]],
      ] as const) {
        const t = performance.now();
        const r = spawnSync(cli, [...args, "--cluster", "sandbox", "--concurrency", "8"], { env, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
        const ms = performance.now() - t;
        if (r.status !== 0 && !(name === "access check" && r.status === 1)) throw new Error(`${name}: ${r.stderr}`);
        const reads = (JSON.parse(r.stdout) as { reads: { accessEntries: number; iamLookups: number } }).reads;
        rows.push([String(n), name, `${(ms / 1000).toFixed(2)} s`, String(reads.accessEntries), String(reads.iamLookups)]);
      }
    }
    console.log(table(["aws-auth rows", "command", "wall time", "entries read", "IAM look-ups"], rows));
    console.log(`\n(the CLI process end to end: DescribeCluster, ${SANDBOX_ENTRIES} × (DescribeAccessEntry + ListAssociatedAccessPolicies), aws-auth, one IAM GetRole/GetUser per principal; 8 calls in flight)`);
  } finally {
    spawnSync(cli, ["sandbox", "down", "--dir", dir], { env: userEnv });
    rmSync(dir, { recursive: true, force: true });
  }
}

offline();
if (process.env["BENCH_SANDBOX"] !== "0") sandbox();
