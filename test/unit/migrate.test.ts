/**
 * aws-auth → access entries (src/core/mapping/migrate.ts): the translation of each kind of row,
 * the plan against existing entries (what is done, half-done, different, dead), and verify over
 * the authenticator's own resolution (resolveIdentity), by tables.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAwsAuth } from "../../src/core/mapping/aws-auth.js";
import { principalKey, statusOf, type Inventory, type IamRecord, type PrincipalLookup } from "../../src/core/mapping/inventory.js";
import { awsAuthOnlyRows, clusterAdminPolicyArn, entryEquivalent, planMigration, sampleCaller, verifyMigration, type MigrationPlan } from "../../src/core/mapping/migrate.js";
import { stepCommand, type AccessEntryState, type AccessEntryStep } from "../../src/core/access-entry-plan.js";
import type { AuthenticationMode } from "../../src/core/access-entry-plan.js";

const ACCT = "111122223333";
const OTHER = "444455556666";
const ADMIN = clusterAdminPolicyArn();
const ENTRY_MADE = "2026-01-10T00:00:00.000Z";

const role = (name: string, path = "/", account = ACCT, created = "2026-01-01T00:00:00.000Z"): IamRecord => ({
  type: "role",
  arn: `arn:aws:iam::${account}:role${path}${name}`,
  account,
  name,
  path,
  uniqueId: `AROA${name.toUpperCase().replace(/[^A-Z0-9]/g, "")}`,
  createDate: created,
});
const user = (name: string, path = "/"): IamRecord => ({ type: "user", arn: `arn:aws:iam::${ACCT}:user${path}${name}`, account: ACCT, name, path, uniqueId: `AIDA${name.toUpperCase()}`, createDate: "2026-01-01T00:00:00.000Z" });

/** An inventory as the snapshot use case makes it: bindings from the IAM records. */
function inventory(o: { mapRoles?: string; mapUsers?: string; mapAccounts?: string; iam?: IamRecord[]; missing?: string[]; unknown?: string[]; entries?: AccessEntryState[]; mode?: AuthenticationMode }): Inventory {
  const data: Record<string, string> = {};
  if (o.mapRoles) data["mapRoles"] = o.mapRoles;
  if (o.mapUsers) data["mapUsers"] = o.mapUsers;
  if (o.mapAccounts) data["mapAccounts"] = o.mapAccounts;
  const iam = new Map<string, PrincipalLookup>();
  for (const p of o.iam ?? []) iam.set(principalKey(p.arn)!, { state: "found", principal: p });
  for (const a of o.missing ?? []) iam.set(principalKey(a)!, { state: "missing" });
  for (const a of o.unknown ?? []) iam.set(principalKey(a)!, { state: "unknown", error: "AccessDenied: iam:GetRole" });
  const entries = (o.entries ?? []).map((entry) => ({ entry, binding: statusOf(entry, iam.get(principalKey(entry.principalArn)!)) }));
  return { cluster: { name: "prod", region: "eu-west-1", account: ACCT, mode: o.mode ?? "API_AND_CONFIG_MAP" }, awsAuth: { state: "present" }, parsed: parseAwsAuth(data), entries, iam };
}

const entry = (principalArn: string, over: Partial<AccessEntryState> = {}): AccessEntryState => ({ principalArn, type: "STANDARD", username: "x", kubernetesGroups: [], policies: [], createdAt: ENTRY_MADE, ...over });

/** Applies a plan's steps to the entries, as EKS would (for verify after apply). */
function applied(inv: Inventory, plan: MigrationPlan): AccessEntryState[] {
  const byArn = new Map(inv.entries.map((r) => [r.entry.principalArn, { ...r.entry, policies: [...r.entry.policies] }] as const));
  for (const s of plan.items.flatMap((i) => i.steps)) {
    if (s.op === "delete") byArn.delete(s.principalArn);
    else if (s.op === "create") {
      const node = s.type !== undefined && s.type !== "STANDARD";
      byArn.set(s.principalArn, entry(s.principalArn, { type: s.type ?? "STANDARD", username: s.username ?? (node ? (s.type === "FARGATE_LINUX" || s.type === "HYBRID_LINUX" ? "system:node:{{SessionName}}" : "system:node:{{EC2PrivateDNSName}}") : "default"), kubernetesGroups: [...s.kubernetesGroups], createdAt: "2026-02-01T00:00:00.000Z" }));
    } else if (s.op === "associate") {
      const e = byArn.get(s.principalArn)!;
      byArn.set(s.principalArn, { ...e, policies: [...e.policies.filter((p) => p.policyArn !== s.policyArn), { policyArn: s.policyArn, accessScope: s.scope }] });
    }
  }
  return [...byArn.values()];
}

test("entryEquivalent: each kind of aws-auth row, and what has no access-entry form", () => {
  const r = role("x");
  const cases: Array<[string, { username?: string; groups: string[] }, string | RegExp]> = [
    ["masters → ClusterAdmin policy", { username: "admin:{{SessionName}}", groups: ["system:masters"] }, "STANDARD admin:{{SessionName}} [] AmazonEKSClusterAdminPolicy"],
    ["groups kept", { username: "dev:{{SessionName}}", groups: ["devs", "viewers"] }, "STANDARD dev:{{SessionName}} [devs,viewers] -"],
    ["SessionNameRaw is supported", { username: "sso:{{SessionNameRaw}}", groups: ["devs"] }, "STANDARD sso:{{SessionNameRaw}} [devs] -"],
    ["system:authenticated dropped", { username: "u", groups: ["system:authenticated", "devs"] }, "STANDARD u [devs] -"],
    ["duplicate groups once", { username: "u", groups: ["devs", "devs"] }, "STANDARD u [devs] -"],
    ["EC2 Linux node", { username: "system:node:{{EC2PrivateDNSName}}", groups: ["system:bootstrappers", "system:nodes"] }, "EC2_LINUX - [] -"],
    ["EC2 Windows node", { username: "system:node:{{EC2PrivateDNSName}}", groups: ["system:bootstrappers", "system:nodes", "eks:kube-proxy-windows"] }, "EC2_WINDOWS - [] -"],
    ["Fargate", { username: "system:node:{{SessionName}}", groups: ["system:bootstrappers", "system:nodes", "system:node-proxier"] }, "FARGATE_LINUX - [] -"],
    ["hybrid", { username: "system:node:{{SessionName}}", groups: ["system:bootstrappers", "system:nodes"] }, "HYBRID_LINUX - [] -"],
    ["node with an extra group", { username: "system:node:{{EC2PrivateDNSName}}", groups: ["system:bootstrappers", "system:nodes", "ops"] }, /fixed groups .*also gives ops/],
    ["node groups, other username", { username: "worker", groups: ["system:nodes"] }, /node groups with username worker/],
    ["other system: group", { username: "mon", groups: ["system:monitoring"] }, /system:monitoring starts with system:.*no access policy stands for it/],
    ["group template", { username: "u", groups: ["{{AccountID}}-team"] }, /uses a template/],
    ["AccountID in username", { username: "u-{{AccountID}}", groups: [] }, /accept only \{\{SessionName\}\} and \{\{SessionNameRaw\}\}/],
    ["no colon before SessionName", { username: "{{SessionName}}", groups: [] }, /needs a colon before \{\{SessionName\}\}/],
    ["reserved prefix", { username: "eks:admin", groups: [] }, /starts with eks:/],
    ["no username", { groups: ["devs"] }, /no username/],
  ];
  for (const [what, row, expected] of cases) {
    const t = entryEquivalent(row, r, ACCT);
    if (typeof expected === "string") {
      assert.ok(t.ok, `${what}: ${t.ok ? "" : t.reason}`);
      const w = t.want;
      assert.equal(`${w.type} ${w.username ?? "-"} [${w.kubernetesGroups.join(",")}] ${w.policies.map((p) => p.policyArn.split("/").pop()).join(",") || "-"}`, expected, what);
    } else {
      assert.ok(!t.ok, what);
      assert.match(t.reason, expected, what);
    }
  }
  const gains = entryEquivalent({ username: "system:node:{{EC2PrivateDNSName}}", groups: ["system:nodes"] }, r, ACCT);
  assert.ok(gains.ok && gains.want.notes.some((n) => n === "gains system:bootstrappers (one of EKS's fixed EC2_LINUX groups)"));
  const node = { username: "system:node:{{EC2PrivateDNSName}}", groups: ["system:bootstrappers", "system:nodes"] };
  assert.match((entryEquivalent(node, role("x", "/", OTHER), ACCT) as { reason: string }).reason, /cluster's account 111122223333/);
  assert.match((entryEquivalent(node, user("u"), ACCT) as { reason: string }).reason, /take an IAM role/);
  const cn = entryEquivalent({ username: "a", groups: ["system:masters"] }, { type: "role", account: ACCT, arn: `arn:aws-cn:iam::${ACCT}:role/a` }, ACCT);
  assert.ok(cn.ok && cn.want.policies[0]!.policyArn === "arn:aws-cn:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy");
});

const SEED = `- rolearn: arn:aws:iam::${ACCT}:role/NodeRole
  username: system:node:{{EC2PrivateDNSName}}
  groups:
    - system:bootstrappers
    - system:nodes
- rolearn: arn:aws:iam::${ACCT}:role/AWSReservedSSO_Admin_0123456789abcdef
  username: admin:{{SessionName}}
  groups:
    - system:masters
- rolearn: arn:aws:iam::${ACCT}:role/dev
  username: old
  groups: [old]
- rolearn: arn:aws:iam::${ACCT}:role/dev
  username: dev:{{SessionName}}
  groups: [devs]
- rolearn: arn:aws:sts::${ACCT}:assumed-role/dev/alice
  username: alice
- rolearn: arn:aws:iam::${ACCT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_View_0123456789abcdef
  username: v
- rolearn: arn:aws:iam::${ACCT}:role/gone
  username: gone:{{SessionName}}
  groups: [devs]
- rolearn: arn:aws:iam::${ACCT}:role/mon
  username: mon
  groups: [system:monitoring]
`;
const SSO = role("AWSReservedSSO_Admin_0123456789abcdef", "/aws-reserved/sso.amazonaws.com/eu-west-1/");

test("planMigration: last duplicate wins, rows without effect are skipped, paths come from IAM, what cannot be migrated says why", () => {
  const inv = inventory({ mapRoles: SEED, mapUsers: `- userarn: arn:aws:iam::${ACCT}:user/ops/bob\n  username: bob\n  groups: [ops]\n- userarn: arn:aws:iam::${ACCT}:user/carol\n  username: carol\n`, mapAccounts: `- "${OTHER}"\n`, iam: [role("NodeRole"), SSO, role("dev"), role("mon"), user("bob", "/ops/"), user("carol", "/team/")], missing: [`arn:aws:iam::${ACCT}:role/gone`] });
  const plan = planMigration(inv);
  const summary = plan.items.map((i) => `${i.key}:${i.line} ${i.action}`);
  assert.deepEqual(summary, ["mapRoles:1 create", "mapRoles:6 create", "mapRoles:10 skip", "mapRoles:13 create", "mapRoles:16 skip", "mapRoles:18 skip", "mapRoles:20 cannot", "mapRoles:23 cannot", "mapUsers:1 create", "mapUsers:4 skip", "mapAccounts:1 cannot"]);
  const at = (key: string, line: number) => plan.items.find((i) => i.key === key && i.line === line)!;
  assert.match(at("mapRoles", 10).reason, /a later row for the same ARN \(mapRoles line 13\) wins/);
  assert.match(at("mapRoles", 16).reason, /session ARN/);
  assert.match(at("mapRoles", 18).reason, /role path/);
  assert.match(at("mapRoles", 20).reason, /does not exist in IAM/);
  assert.match(at("mapUsers", 4).reason, /IAM has this user as arn:aws:iam::111122223333:user\/team\/carol/);
  assert.match(at("mapAccounts", 1).reason, /every identity of account 444455556666/);
  // the SSO role keeps its IAM path in the entry, and system:masters becomes ClusterAdmin
  const sso = at("mapRoles", 6);
  assert.equal(sso.principalArn, SSO.arn);
  assert.deepEqual(sso.steps, [
    { op: "create", principalArn: SSO.arn, type: "STANDARD", username: "admin:{{SessionName}}", kubernetesGroups: [] },
    { op: "associate", principalArn: SSO.arn, policyArn: ADMIN, scope: { type: "cluster", namespaces: [] } },
  ] satisfies AccessEntryStep[]);
  assert.ok(sso.notes.some((n) => n.includes("the IAM path /aws-reserved/sso.amazonaws.com/eu-west-1/ is kept")));
  assert.deepEqual(at("mapRoles", 1).steps, [{ op: "create", principalArn: `arn:aws:iam::${ACCT}:role/NodeRole`, type: "EC2_LINUX", username: undefined, kubernetesGroups: [] }]);
  assert.equal(stepCommand("prod", "eu-west-1", at("mapRoles", 1).steps[0]!), `aws eks create-access-entry --cluster-name prod --region eu-west-1 --principal-arn arn:aws:iam::${ACCT}:role/NodeRole --type EC2_LINUX`);
  assert.deepEqual(at("mapRoles", 13).steps, [{ op: "create", principalArn: `arn:aws:iam::${ACCT}:role/dev`, type: "STANDARD", username: "dev:{{SessionName}}", kubernetesGroups: ["devs"] }]);
  assert.deepEqual(at("mapUsers", 1).principalArn, `arn:aws:iam::${ACCT}:user/ops/bob`);
  assert.deepEqual(plan.counts, { create: 4, complete: 0, recreate: 0, done: 0, "keep-entry": 0, skip: 4, cannot: 3 });
});

test("planMigration: a service-linked role has no access entry (EKS refuses them)", () => {
  const slr = role("AWSServiceRoleForAmazonEKSNodegroup", "/aws-service-role/eks-nodegroup.amazonaws.com/");
  const plan = planMigration(inventory({ mapRoles: `- rolearn: arn:aws:iam::${ACCT}:role/AWSServiceRoleForAmazonEKSNodegroup\n  username: x\n  groups: [g]\n`, iam: [slr] }));
  assert.deepEqual(plan.items.map((i) => [i.action, i.steps.length]), [["cannot", 0]]);
  assert.match(plan.items[0]!.reason, /is a service-linked role: EKS makes no access entry for one/);
});

test("planMigration is idempotent and resumable: done, half-done (policy missing), different (kept), dead (re-created)", () => {
  const rows = `- rolearn: arn:aws:iam::${ACCT}:role/admin
  username: admin:{{SessionName}}
  groups: [system:masters, ops]
- rolearn: arn:aws:iam::${ACCT}:role/half
  username: half:{{SessionName}}
  groups: [system:masters]
- rolearn: arn:aws:iam::${ACCT}:role/other
  username: other:{{SessionName}}
  groups: [devs]
- rolearn: arn:aws:iam::${ACCT}:role/reborn
  username: reborn:{{SessionName}}
  groups: [devs]
- rolearn: arn:aws:iam::${ACCT}:role/unknown
  username: u
`;
  const A = (n: string) => `arn:aws:iam::${ACCT}:role/${n}`;
  const cluster = { type: "cluster" as const, namespaces: [] };
  const inv = inventory({
    mapRoles: rows,
    iam: [role("admin"), role("half"), role("other"), role("reborn", "/", ACCT, "2026-03-01T00:00:00.000Z")],
    unknown: [A("unknown")],
    entries: [
      entry(A("admin"), { username: "admin:{{SessionName}}", kubernetesGroups: ["ops"], policies: [{ policyArn: ADMIN, accessScope: cluster }, { policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", accessScope: { type: "namespace", namespaces: ["a"] } }] }),
      entry(A("half"), { username: "half:{{SessionName}}", policies: [{ policyArn: ADMIN, accessScope: { type: "namespace", namespaces: ["x"] } }] }),
      entry(A("other"), { username: "someone-else", kubernetesGroups: ["devs"] }),
      entry(A("reborn"), { username: "reborn:{{SessionName}}", kubernetesGroups: ["devs"] }),
    ],
  });
  const plan = planMigration(inv);
  assert.deepEqual(plan.items.map((i) => i.action), ["done", "complete", "keep-entry", "recreate", "cannot"]);
  assert.ok(plan.items[0]!.notes.some((n) => n === "the entry also has AmazonEKSViewPolicy in namespace a (kept)"));
  assert.deepEqual(plan.items[1]!.steps, [{ op: "associate", principalArn: A("half"), policyArn: ADMIN, scope: cluster }], "a namespace-scoped ClusterAdmin is widened");
  assert.match(plan.items[2]!.reason, /username someone-else, not other:\{\{SessionName\}\}.*migrate leaves it/);
  assert.deepEqual(plan.items[3]!.steps.map((s) => s.op), ["delete", "create"]);
  assert.match(plan.items[3]!.reason, /re-created \(IAM CreateDate 2026-03-01T00:00:00.000Z\)/);
  assert.match(plan.items[4]!.reason, /IAM could not be asked about .*AccessDenied/);
});

test("verifyMigration: after apply every identity is the same or equivalent; a changed, missing or unmigratable one fails", () => {
  const base = { mapRoles: SEED, mapAccounts: `- "${OTHER}"\n`, iam: [role("NodeRole"), SSO, role("dev"), role("mon")], missing: [`arn:aws:iam::${ACCT}:role/gone`] };
  const before = inventory(base);
  const plan = planMigration(before);
  const after = inventory({ ...base, entries: applied(before, plan) });
  const v = verifyMigration(after);
  const status = v.items.map((i) => `${i.key}:${i.line} ${i.status}`);
  assert.deepEqual(status, ["mapRoles:1 same", "mapRoles:6 equivalent", "mapRoles:13 same", "mapRoles:20 not-migratable", "mapRoles:23 not-migratable", "mapAccounts:1 not-migratable"]);
  assert.equal(v.ok, false);
  const sso = v.items[1]!;
  assert.deepEqual(sso.before, { username: "admin:eks-access-verify-example.com", groups: ["system:masters"] });
  assert.deepEqual(sso.after, { username: "admin:eks-access-verify-example.com", groups: [] });
  assert.deepEqual(sso.differences, ["groups -system:masters"]);
  assert.deepEqual(v.items[0]!.after, { username: "system:node:ip-192-0-2-10.ec2.internal", groups: ["system:bootstrappers", "system:nodes"] });

  // only migratable rows: proven
  const clean = { mapRoles: SEED.split("- rolearn: arn:aws:iam::111122223333:role/gone")[0]!, iam: [role("NodeRole"), SSO, role("dev")] };
  const cleanBefore = inventory(clean);
  assert.equal(verifyMigration(cleanBefore).ok, false, "nothing applied yet");
  assert.deepEqual(verifyMigration(cleanBefore).counts.missing, 3);
  const cleanAfter = inventory({ ...clean, entries: applied(cleanBefore, planMigration(cleanBefore)) });
  assert.equal(verifyMigration(cleanAfter).ok, true, JSON.stringify(verifyMigration(cleanAfter).items, null, 1));
  assert.deepEqual(awsAuthOnlyRows(cleanAfter), []);
  assert.equal(awsAuthOnlyRows(cleanBefore).length, 3);

  // someone changes an entry afterwards; another loses its policy
  const changed = applied(cleanBefore, planMigration(cleanBefore)).map((e) =>
    e.principalArn.endsWith("/dev") ? { ...e, username: "dev-{{SessionNameRaw}}:x" } : e.principalArn === SSO.arn ? { ...e, policies: [] } : e,
  );
  const bad = verifyMigration(inventory({ ...clean, entries: changed }));
  assert.deepEqual(bad.items.map((i) => i.status), ["same", "differs", "differs"]);
  assert.deepEqual(bad.items[1]!.differences, ["groups -system:masters", "no AmazonEKSClusterAdminPolicy cluster-wide in place of system:masters"]);
  assert.deepEqual(bad.items[2]!.differences, ["username dev:eks-access-verify-example.com → dev-eks-access-verify@example.com:x"]);
});

test("sampleCaller: a role session named with @ (EC2 nodes: an instance id), a user as itself", () => {
  assert.deepEqual(sampleCaller(role("r", "/p/"), false), { arn: `arn:aws:sts::${ACCT}:assumed-role/r/eks-access-verify@example.com`, account: ACCT, userId: "AROAR:eks-access-verify@example.com", accessKeyId: "ASIAEKSACCESSVERIFY0" });
  assert.equal(sampleCaller(role("n"), true).userId, "AROAN:i-0123456789abcdef0");
  assert.equal(sampleCaller(user("u", "/x/"), false).arn, `arn:aws:iam::${ACCT}:user/x/u`);
});
