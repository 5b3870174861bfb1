/** aws-auth problems: code, severity, key, line, a one-line message and the exact fix command. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAwsAuth } from "../../src/core/mapping/aws-auth.js";
import { checkAwsAuth, failsCheck, shellWord, suggestedUsername, type AwsAuthProblem } from "../../src/core/mapping/check.js";
import { runAwsAuthCheck } from "../../src/cli/commands/aws-auth.js";
import { tempDir } from "../helpers.js";

const A = "111122223333";
const check = (data: Record<string, string>, region?: string): AwsAuthProblem[] => checkAwsAuth(parseAwsAuth(data), { cluster: "prod", region });
const only = (data: Record<string, string>): AwsAuthProblem => {
  const p = check(data).filter((x) => x.code !== "system-masters");
  assert.equal(p.length, 1, JSON.stringify(p, null, 1));
  return p[0]!;
};
const roles = (...rows: string[]): Record<string, string> => ({ mapRoles: rows.join("") });
const row = (arn: string, username = "u:{{SessionName}}", groups = "[devs]"): string => `- rolearn: ${arn}\n  username: ${JSON.stringify(username)}\n  groups: ${groups}\n`;

test("a clean aws-auth has no problems (node roles, SSO role without its path, users with paths)", () => {
  const data = {
    mapRoles: row(`arn:aws:iam::${A}:role/NodeRole`, "system:node:{{EC2PrivateDNSName}}", "[system:bootstrappers, system:nodes]") + row(`arn:aws:iam::${A}:role/AWSReservedSSO_Dev_0123456789abcdef`),
    mapUsers: `- userarn: arn:aws:iam::${A}:user/ops/alice\n  username: alice\n  groups: [devs]\n`,
  };
  assert.deepEqual(check(data), []);
  assert.equal(failsCheck([]), false);
});

test("role ARN with the SSO path: error, and the fix grants the path-less ARN then revokes the written one", () => {
  const arn = `arn:aws:iam::${A}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef`;
  const p = only(roles(row(arn, "admin:{{SessionName}}", "[admins]")));
  assert.deepEqual([p.code, p.severity, p.key, p.line, p.arn], ["sso-role-path", "error", "mapRoles", 1, arn]);
  assert.equal(p.message, `mapRoles line 1: ${arn} keeps the IAM Identity Center path /aws-reserved/sso.amazonaws.com/eu-west-1/; callers' role ARNs have no path, so this matches nobody (map arn:aws:iam::${A}:role/AWSReservedSSO_Admin_0123456789abcdef)`);
  assert.equal(p.fix, `eks-access grant --cluster prod --principal arn:aws:iam::${A}:role/AWSReservedSSO_Admin_0123456789abcdef --group admins --username 'admin:{{SessionName}}' && eks-access revoke --cluster prod --principal ${arn} --backend aws-auth`);
  const other = only(roles(row(`arn:aws:iam::${A}:role/teams/Dev`)));
  assert.equal(other.code, "role-path");
  assert.match(other.fix, new RegExp(`^eks-access grant --cluster prod --principal arn:aws:iam::${A}:role/Dev --group devs`));
});

test("assumed-role session ARN, permission-set ARN, Identity Center user, malformed ARN", () => {
  const s = only(roles(row(`arn:aws:sts::${A}:assumed-role/Dev/alice@example.com`, "dev:{{SessionName}}")));
  assert.deepEqual([s.code, s.severity], ["assumed-role-arn", "error"]);
  assert.equal(s.fix, `eks-access grant --cluster prod --principal arn:aws:iam::${A}:role/Dev --group devs --username 'dev:{{SessionName}}' && eks-access revoke --cluster prod --principal arn:aws:sts::${A}:assumed-role/Dev/alice@example.com --backend aws-auth`);
  const ps = "arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef";
  const p = only(roles(row(ps)));
  assert.equal(p.code, "permission-set-arn");
  assert.equal(p.fix, `eks-access grant --cluster prod --permission-set ${ps} --all-accounts --group devs --username 'u:{{SessionName}}' && eks-access revoke --cluster prod --principal ${ps} --backend aws-auth`);
  assert.equal(only(roles(row("arn:aws:identitystore::111122223333:user/abc"))).code, "identity-center-principal");
  const bad = only(roles(row("arn:aws:iam::1:role/short-account")));
  assert.deepEqual([bad.code, bad.fix], ["malformed-arn", "kubectl -n kube-system edit configmap aws-auth   # mapRoles line 1"]);
  assert.equal(only(roles(row("not-an-arn"))).code, "malformed-arn");
});

test("user ARN in mapRoles / role ARN in mapUsers: a warning (it still matches), fixed by revoke then grant", () => {
  const p = only(roles(row(`arn:aws:iam::${A}:user/bob`, "bob")));
  assert.deepEqual([p.code, p.severity], ["wrong-key", "warning"]);
  assert.equal(p.fix, `eks-access revoke --cluster prod --principal arn:aws:iam::${A}:user/bob --backend aws-auth && eks-access grant --cluster prod --principal arn:aws:iam::${A}:user/bob --group devs --username bob`);
  assert.equal(only({ mapUsers: `- userarn: arn:aws:iam::${A}:role/R\n  username: r\n  groups: [g]\n` }).code, "wrong-key");
  const key = only({ mapUsers: `- rolearn: arn:aws:iam::${A}:role/R\n  username: r\n` });
  assert.deepEqual([key.code, key.severity], ["arn-key-mismatch", "error"]);
});

test("duplicates: the shadowed rows are named with the line that wins", () => {
  const data = roles(row(`arn:aws:iam::${A}:role/Dev`, "old"), row(`arn:aws:iam::${A}:role/other`), row(`arn:aws:iam::${A}:role/DEV`, "new:{{SessionName}}", "[devs, more]"));
  const p = only(data);
  assert.deepEqual([p.code, p.severity, p.line], ["duplicate-arn", "warning", 1]);
  assert.equal(p.message, `mapRoles line 1: arn:aws:iam::${A}:role/Dev is mapped again at mapRoles line 7, which the authenticator uses (the last row for an ARN wins); this row has no effect`);
  assert.equal(p.fix, `eks-access grant --cluster prod --principal arn:aws:iam::${A}:role/DEV --group devs --group more --username 'new:{{SessionName}}'`);
});

test("templates, usernames, groups, node roles, system:masters, mapAccounts", () => {
  assert.equal(only(roles(row(`arn:aws:iam::${A}:role/R`, "r:{{sessionName}}"))).code, "unknown-template");
  const missing = only(roles(`- rolearn: arn:aws:iam::${A}:role/R\n  groups: [g]\n`));
  assert.deepEqual([missing.code, missing.fix], ["missing-username", `eks-access grant --cluster prod --principal arn:aws:iam::${A}:role/R --group g --username 'R:{{SessionName}}'`]);
  assert.equal(only(roles(row(`arn:aws:iam::${A}:role/R`, "system:kube-controller-manager"))).code, "reserved-username");
  const typo = only(roles(row(`arn:aws:iam::${A}:role/R`, "r", "[system:master]")));
  assert.deepEqual([typo.code, typo.message.includes("did you mean system:masters?"), typo.fix], ["reserved-group", true, `eks-access grant --cluster prod --principal arn:aws:iam::${A}:role/R --group system:masters --username r`]);
  const spaced = only(roles(`- rolearn: arn:aws:iam::${A}:role/N\n  username: r\n  groups:\n    - a\n     - b\n`));
  assert.deepEqual([spaced.code, spaced.severity], ["odd-group", "error"]);
  const node = check(roles(row(`arn:aws:iam::${A}:role/N`, "system:node:{{EC2PrivateDNSName}}", "[system:bootstrappers]")));
  assert.deepEqual(node.map((p) => p.code), ["node-role-groups"]);
  assert.match(node[0]!.fix, /--group system:bootstrappers --group system:nodes --username 'system:node:\{\{EC2PrivateDNSName\}\}'$/);
  const masters = check({ mapRoles: row(`arn:aws:iam::${A}:role/A`, "a", "[system:masters]"), mapUsers: `- userarn: arn:aws:iam::${A}:user/u\n  username: u\n  groups: [system:masters]\n` });
  assert.deepEqual(masters.map((p) => [p.code, p.severity, p.message]), [["system-masters", "info", "2 mappings grant system:masters (cluster-admin that RBAC cannot restrict): mapRoles line 1, mapUsers line 1"]]);
  assert.equal(failsCheck(masters), false);
  const accounts = check({ mapAccounts: "- 444455556666\n- 12345\n" });
  assert.deepEqual(accounts.map((p) => [p.code, p.severity, p.line]), [["map-accounts", "warning", 1], ["bad-account", "error", 2]]);
});

test("unparseable YAML and mis-cased keys: errors with their line", () => {
  const p = check({ mapRoles: "- rolearn: a\n  groups: [x\n", MapUsers: "[]" });
  assert.deepEqual(p.map((x) => [x.code, x.key, x.line, x.severity]), [["yaml-syntax", "mapRoles", 3, "error"], ["top-key-case", "MapUsers", 1, "error"]]);
  assert.match(p[0]!.message, /^mapRoles line 3: .* — the authenticator ignores all of mapRoles$/);
  assert.equal(p[1]!.fix, "kubectl -n kube-system edit configmap aws-auth   # rename data key MapUsers to mapUsers");
});

test("every message is one line, and fixes name the cluster and region; shell words are quoted only when needed", () => {
  const all = check(
    {
      mapRoles: row(`arn:aws:sts::${A}:assumed-role/R/s`) + row(`arn:aws:iam::${A}:role/p/R2`) + "- rolearn: bad\n  groups: 1\n",
      mapAccounts: "- x\n",
    },
    "eu-west-1",
  );
  assert.ok(all.length >= 4);
  for (const p of all) {
    assert.doesNotMatch(p.message, /\n/);
    assert.doesNotMatch(p.fix, /\n/);
    if (p.fix.startsWith("eks-access")) assert.match(p.fix, /^eks-access \w+ --cluster prod --region eu-west-1 /);
  }
  assert.equal(shellWord("arn:aws:iam::1:role/a+b=c,d.e@f-g_h"), "arn:aws:iam::1:role/a+b=c,d.e@f-g_h");
  assert.equal(shellWord("it's {{x}}"), `'it'\\''s {{x}}'`);
  assert.equal(suggestedUsername(`arn:aws:iam::${A}:user/p/bob`), "bob");
});

test("aws-auth check --file: file lines for block scalars, exit 1 on errors/warnings, json output, stdin", () => {
  const t = tempDir();
  try {
    const file = join(t.path, "aws-auth.yaml");
    writeFileSync(file, `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::${A}:role/ok\n      username: ok\n      groups: [g]\n    - rolearn: arn:aws:sts::${A}:assumed-role/Dev/s\n      username: dev\n      groups: [devs]\n`);
    const r = runAwsAuthCheck({ file, cluster: "prod" });
    assert.equal(r.code, 1);
    assert.equal(
      r.text,
      `${file}:11: error assumed-role-arn: mapRoles line 4: arn:aws:sts::${A}:assumed-role/Dev/s is one STS session of role Dev; the authenticator compares the role ARN (arn:aws:iam::${A}:role/Dev), so this matches nobody\n` +
        `  fix: eks-access grant --cluster prod --principal arn:aws:iam::${A}:role/Dev --group devs --username dev && eks-access revoke --cluster prod --principal arn:aws:sts::${A}:assumed-role/Dev/s --backend aws-auth\n` +
        "1 problem: 1 error(s), 0 warning(s), 0 info\n",
    );
    const json = JSON.parse(runAwsAuthCheck({ file, output: "json" }).text) as { problems: Array<{ code: string; location: string; fix: string }> };
    assert.deepEqual(json.problems.map((p) => [p.code, p.location]), [["assumed-role-arn", `${file}:11`]]);
    assert.match(json.problems[0]!.fix, /--cluster CLUSTER/);
    const clean = runAwsAuthCheck({ file: "-" }, () => `{"kind":"ConfigMap","data":{"mapUsers":"[]"}}`);
    assert.deepEqual(clean, { text: "stdin: no problems found\n", code: 0 });
    assert.throws(() => runAwsAuthCheck({ file: join(t.path, "nope.yaml") }), (e: { line: string }) => /^cannot read .*nope\.yaml: ENOENT; save it first/.test(e.line));
  } finally {
    t.cleanup();
  }
});
