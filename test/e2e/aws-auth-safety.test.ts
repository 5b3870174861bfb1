/**
 * Writing aws-auth safely, proved on one CONFIG_MAP sandbox (the real kube-apiserver):
 *  - edits change only the rows they touch: an aws-auth with comments, odd key order, flow and
 *    block rows, mixed quoting, another data key, a node role and mapAccounts, applied with
 *    kubectl; then grant, grant-update and revoke through the CLI; the ConfigMap read back from the
 *    apiserver differs from the original by exactly the expected unified diff;
 *  - --dry-run prints a unified diff and changes nothing (resourceVersion unchanged); every write
 *    prints a 0600 backup path; `aws-auth restore` brings the bytes back exactly;
 *  - lockout guards on the live ConfigMap (last system:masters, a key that does not parse; --force);
 *  - 20 `eks-access grant` processes started at once (different principals): all 20 rows present,
 *    none lost, none duplicated; the conflicts they re-applied are reported.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliPath, run, runAsync, runCli, type Env } from "../helpers.js";
import { awsBatch } from "../aws-helpers.js";
import { startSandbox } from "./shell.js";
import { dataDiff } from "../../src/core/mapping/diff.js";
import { parseAwsAuth } from "../../src/core/mapping/aws-auth.js";

const ACCT = "123456789012";
const TRUST = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: "sts:AssumeRole" }] });

// kubectl apply keeps these strings exactly (block scalars: each ends with one newline)
const ORIGINAL: Record<string, string> = {
  mapUsers: `# break-glass
- userarn: "arn:aws:iam::${ACCT}:user/ops/alice"
  groups: ['system:masters']
  username: alice
`,
  mapRoles: `# nodes: do not touch
- username: system:node:{{EC2PrivateDNSName}}
  rolearn: arn:aws:iam::${ACCT}:role/eks-nodes-NodeInstanceRole-1ABC
  groups:
    - system:bootstrappers
    - system:nodes

- {rolearn: 'arn:aws:iam::${ACCT}:role/viewer', username: "viewer:{{SessionName}}", groups: [viewers]}   # flow
- groups: [deployers]
  rolearn: arn:aws:iam::${ACCT}:role/ci
  username: ci     # the pipeline
`,
  mapAccounts: `- "444455556666"  # partner
`,
  "other-key": "keep  me\n",
};

let dir: string;
let env: Env;

const cli = (...args: string[]) => runCli(args, { env });
const ok = (...args: string[]): string => {
  const r = cli(...args);
  assert.equal(r.status, 0, `eks-access ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const admin = (args: string[], input?: string) => run("kubectl", ["--kubeconfig", join(dir, "kube", "admin.kubeconfig"), ...args], { env, ...(input !== undefined ? { input } : {}) });
const configMap = (): { data: Record<string, string>; resourceVersion: string } => {
  const r = admin(["-n", "kube-system", "get", "configmap", "aws-auth", "-o", "json"]);
  assert.equal(r.status, 0, r.stderr);
  const o = JSON.parse(r.stdout);
  return { data: o.data ?? {}, resourceVersion: o.metadata.resourceVersion };
};
function apply(data: Record<string, string>): void {
  const file = join(dir, "aws-auth.json");
  writeFileSync(file, JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "aws-auth", namespace: "kube-system" }, data }));
  const r = admin(["replace", "--force", "-f", file]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(configMap().data, data);
}
/** the backup path a write printed; it is 0600 */
function backupOf(out: string): string {
  const path = /^aws-auth backup: (\S+) \(restore: eks-access aws-auth restore --cluster sandbox --region us-west-2 --backup \S+\)$/m.exec(out)?.[1];
  assert.ok(path, `a write prints its backup: ${out}`);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  return path;
}

let stop: () => void;

before(async () => {
  ({ dir, env, stop } = await startSandbox("eks-access-aws-auth-safety-", "CONFIG_MAP"));
  const roles = ["viewer", "ci", "dev", ...Array.from({ length: 20 }, (_, i) => `writer-${String(i).padStart(2, "0")}`)];
  const made = await awsBatch(env, [
    ...roles.map((r) => ["iam", "create-role", "--role-name", r, "--assume-role-policy-document", TRUST]),
    ["iam", "create-user", "--user-name", "alice", "--path", "/ops/"],
  ]);
  for (const m of made) assert.equal(m.status, 0, m.stderr);
});

after(() => stop?.());

let firstBackup: string;

test("grant, grant-update and revoke change exactly the rows they touch (the ConfigMap read back from the apiserver)", () => {
  apply(ORIGINAL);
  firstBackup = backupOf(ok("grant", "--cluster", "sandbox", "--principal", "dev", "--group", "devs"));
  backupOf(ok("grant", "--cluster", "sandbox", "--principal", `arn:aws:iam::${ACCT}:role/viewer`, "--group", "auditors"));
  backupOf(ok("revoke", "--cluster", "sandbox", "--principal", "ci"));
  const now = configMap().data;
  for (const k of ["mapUsers", "mapAccounts", "other-key"]) assert.equal(now[k], ORIGINAL[k], `${k} is byte-identical`);
  assert.equal(
    dataDiff(ORIGINAL, now),
    [
      "--- kube-system/aws-auth data.mapRoles\t",
      "+++ kube-system/aws-auth data.mapRoles\t",
      "@@ -5,7 +5,7 @@",
      "     - system:bootstrappers",
      "     - system:nodes",
      " ",
      `-- {rolearn: 'arn:aws:iam::${ACCT}:role/viewer', username: "viewer:{{SessionName}}", groups: [viewers]}   # flow`,
      "-- groups: [deployers]",
      `-  rolearn: arn:aws:iam::${ACCT}:role/ci`,
      "-  username: ci     # the pipeline",
      `+- {rolearn: 'arn:aws:iam::${ACCT}:role/viewer', username: "viewer:{{SessionName}}", groups: [viewers, auditors]}   # flow`,
      "+- groups: [devs]",
      `+  rolearn: arn:aws:iam::${ACCT}:role/dev`,
      "+  username: dev:{{SessionName}}",
      "",
    ].join("\n"),
  );
});

test("--dry-run prints the unified diff and changes nothing (same resourceVersion); so does aws-auth restore --dry-run", () => {
  const before = configMap();
  const g = ok("grant", "--cluster", "sandbox", "--principal", "ci", "--group", "deployers", "--dry-run");
  assert.match(g, /^--- kube-system\/aws-auth data\.mapRoles\t\n\+\+\+ kube-system\/aws-auth data\.mapRoles\t\n@@ -\d+,\d+ \+\d+,\d+ @@\n/m);
  assert.match(g, /^\+- groups: \[deployers\]\n\+ {2}rolearn: arn:aws:iam::123456789012:role\/ci\n\+ {2}username: ci:\{\{SessionName\}\}$/m);
  assert.match(g, /Dry run: nothing was changed on cluster sandbox\./);
  assert.doesNotMatch(g, /aws-auth backup:/);
  const r = ok("revoke", "--cluster", "sandbox", "--principal", "dev", "--dry-run");
  assert.match(r, /^-- groups: \[devs\]$/m);
  const restore = ok("aws-auth", "restore", "--cluster", "sandbox", "--dry-run");
  assert.match(restore, /Would restore kube-system\/aws-auth of cluster sandbox .* from the newest backup:/);
  assert.match(restore, /^\+- groups: \[deployers\]$/m, "the newest backup is the state before the revoke of ci");
  assert.deepEqual(configMap(), before);
});

test("aws-auth restore brings the original bytes back; the restore is backed up and can be undone; a file that is no backup is refused in one line", () => {
  const list = ok("aws-auth", "restore", "--cluster", "sandbox", "--list");
  assert.equal(list.split("\n").filter((l) => /^ {2}\S+aws-auth-\d{8}T\d{6}\.\d{3}Z(-\d+)?\.yaml {2}\(/.test(l)).length, 3, list);
  const before = configMap();
  const notBackup = join(dir, "not-a-backup.yaml");
  writeFileSync(notBackup, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: coredns\n  namespace: kube-system\ndata: {}\n");
  const refused = cli("aws-auth", "restore", "--cluster", "sandbox", "--backup", notBackup);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /^eks-access: error: \S+not-a-backup\.yaml is not an aws-auth backup: it holds ConfigMap kube-system\/coredns, not kube-system\/aws-auth; give an aws-auth backup\n$/);
  assert.deepEqual(configMap(), before);

  const out = ok("aws-auth", "restore", "--cluster", "sandbox", "--backup", firstBackup);
  const undo = backupOf(out.replace(/\(undo: /, "(restore: "));
  assert.deepEqual(configMap().data, ORIGINAL, "byte for byte");
  ok("aws-auth", "restore", "--cluster", "sandbox", "--backup", undo);
  assert.deepEqual(configMap().data, before.data);
  ok("aws-auth", "restore", "--cluster", "sandbox", "--backup", firstBackup);
  assert.deepEqual(configMap().data, ORIGINAL);
});

test("lockout guards on the live ConfigMap: the last system:masters mapping; a key that does not parse (its line named), and what --force does", () => {
  const before = configMap();
  const last = cli("revoke", "--cluster", "sandbox", "--principal", `arn:aws:iam::${ACCT}:user/ops/alice`);
  assert.equal(last.status, 1, "a guard's refusal is the cluster's state, not a usage error");
  assert.match(last.stderr, /^eks-access: error: refusing to change aws-auth of cluster sandbox: it would remove the last system:masters mapping of aws-auth that can match anyone; nothing was changed; add --force if you mean it\n$/);
  assert.deepEqual(configMap(), before);

  const broken = { ...ORIGINAL, mapUsers: `${ORIGINAL["mapUsers"]}- userarn: arn:aws:iam::${ACCT}:user/bob\n  username: bob\n groups: [x]\n` };
  apply(broken);
  const rv = configMap().resourceVersion;
  const refused = cli("grant", "--cluster", "sandbox", "--principal", "dev", "--group", "devs");
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /^eks-access: error: refusing to edit kube-system\/aws-auth of cluster sandbox: mapUsers line 7: .* — the authenticator ignores all of mapUsers; nothing was changed; .*add --force to edit the keys that parse and leave mapUsers as it is\n$/);
  assert.equal(configMap().resourceVersion, rv);
  const forced = ok("grant", "--cluster", "sandbox", "--principal", "dev", "--group", "devs", "--force");
  assert.match(forced, /= mapUsers line 7: .*left as it is/);
  const now = configMap().data;
  assert.equal(now["mapUsers"], broken.mapUsers, "the broken key is byte-identical");
  assert.match(now["mapRoles"]!, /role\/dev\n/);
  const user = cli("grant", "--cluster", "sandbox", "--principal", `arn:aws:iam::${ACCT}:user/ops/alice`, "--group", "devs", "--force");
  assert.equal(user.status, 1);
  assert.match(user.stderr, /mapUsers line 7 does not parse, and this change has to edit mapUsers; nothing was changed/);
  apply(ORIGINAL);
});

test("20 concurrent `eks-access grant` processes: all 20 rows present, none lost, none duplicated", async (t) => {
  const before = parseAwsAuth(configMap().data).rows.map((r) => `${r.kind} ${r.arn ?? r.account} ${r.username ?? ""} ${r.groups.join(",")}`);
  const arns = Array.from({ length: 20 }, (_, i) => `arn:aws:iam::${ACCT}:role/writer-${String(i).padStart(2, "0")}`);
  const t0 = Date.now();
  const results = await Promise.all(arns.map((arn) => runAsync(cliPath, ["grant", "--cluster", "sandbox", "--principal", arn, "--group", "writers", "-o", "json"], env)));
  const ms = Date.now() - t0;
  for (const r of results) assert.equal(r.status, 0, r.stderr);
  const reports = results.map((r) => JSON.parse(r.stdout) as { awsAuth: { conflicts: number; backupPath?: string } });
  const conflicts = reports.reduce((n, r) => n + r.awsAuth.conflicts, 0);
  t.diagnostic(`20 grant processes in ${ms} ms; ${conflicts} conflicts re-applied (per process: ${reports.map((r) => r.awsAuth.conflicts).join(" ")})`);
  for (const r of reports) assert.ok(r.awsAuth.backupPath, "each write backed up first");
  const rows = parseAwsAuth(configMap().data).rows;
  for (const arn of arns) assert.equal(rows.filter((r) => r.arn === arn).length, 1, `${arn} once`);
  const after = rows.map((r) => `${r.kind} ${r.arn ?? r.account} ${r.username ?? ""} ${r.groups.join(",")}`);
  for (const row of before) assert.ok(after.includes(row), `kept: ${row}`);
  assert.equal(after.length, before.length + 20);
});
