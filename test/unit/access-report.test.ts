/**
 * access list / access check over both systems (src/core/mapping/access-report.ts): which row or
 * entry the authenticator uses per mode, entries that match no one (deleted, replaced, re-created
 * principals), shadowed aws-auth rows, missing principals, the creator; each problem's fix.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAwsAuth } from "../../src/core/mapping/aws-auth.js";
import { checkAccess, failsAccessCheck, listAccess } from "../../src/core/mapping/access-report.js";
import { bootstrapEntryOf, principalKey, principalsToLookUp, statusOf, type IamRecord, type Inventory, type PrincipalLookup } from "../../src/core/mapping/inventory.js";
import { clusterAdminPolicyArn } from "../../src/core/mapping/migrate.js";
import type { AccessEntryState, AuthenticationMode } from "../../src/core/access-entry-plan.js";

const ACCT = "111122223333";
const A = (n: string) => `arn:aws:iam::${ACCT}:role/${n}`;
const ADMIN = clusterAdminPolicyArn();
const role = (name: string, path = "/", created = "2026-01-01T00:00:00.000Z"): IamRecord => ({ type: "role", arn: `arn:aws:iam::${ACCT}:role${path}${name}`, account: ACCT, name, path, uniqueId: `AROA${name.toUpperCase()}`, createDate: created });
const entry = (principalArn: string, over: Partial<AccessEntryState> = {}): AccessEntryState => ({ principalArn, type: "STANDARD", username: "u", kubernetesGroups: ["g"], policies: [], createdAt: "2026-01-10T00:00:00.000Z", ...over });

function inventory(mode: AuthenticationMode, mapRoles: string, iam: IamRecord[], entries: AccessEntryState[], extra: { missing?: string[]; unknown?: string[] } = {}): Inventory {
  const map = new Map<string, PrincipalLookup>();
  for (const p of iam) map.set(principalKey(p.arn)!, { state: "found", principal: p });
  for (const a of extra.missing ?? []) map.set(principalKey(a)!, { state: "missing" });
  for (const a of extra.unknown ?? []) map.set(principalKey(a)!, { state: "unknown", error: "AccessDenied: not allowed" });
  return {
    cluster: { name: "prod", region: "eu-west-1", account: ACCT, mode },
    awsAuth: { state: "present" },
    parsed: parseAwsAuth({ mapRoles }),
    entries: entries.map((e) => ({ entry: e, binding: statusOf(e, map.get(principalKey(e.principalArn)!)) })),
    iam: map,
  };
}

const ROWS = `- rolearn: ${A("dev")}
  username: dev:{{SessionName}}
  groups: [devs]
- rolearn: ${A("ops")}
  username: ops
  groups: [ops]
- rolearn: ${A("ops")}
  username: ops2
  groups: [ops]
- rolearn: ${A("ghost")}
  username: ghost
  groups: [devs]
- rolearn: ${A("admin")}
  username: admin:{{SessionName}}
  groups: [system:masters]
`;

test("principalsToLookUp: one look-up per principal name, none for rows that never match", () => {
  const rows = parseAwsAuth({ mapRoles: `${ROWS}- rolearn: arn:aws:sts::${ACCT}:assumed-role/dev/x\n  username: s\n- rolearn: ${A("team/path")}\n  username: p\n` }).rows;
  assert.deepEqual(principalsToLookUp(rows, [entry(A("x/dev")), entry(A("new"))]), [A("dev"), A("ops"), A("ghost"), A("admin"), A("new")]);
});

test("API_AND_CONFIG_MAP: the entry wins over its aws-auth row; a re-created principal's entry matches no one; problems carry fixes", () => {
  const inv = inventory(
    "API_AND_CONFIG_MAP",
    ROWS,
    [role("dev"), role("ops"), role("admin", "/", "2026-02-01T00:00:00.000Z"), role("viewer", "/team/")],
    [
      entry(A("dev"), { username: "someone", kubernetesGroups: ["devs"] }),
      entry(A("admin"), { username: "admin:{{SessionName}}", kubernetesGroups: [], policies: [{ policyArn: ADMIN, accessScope: { type: "cluster", namespaces: [] } }] }),
      entry(A("viewer"), { kubernetesGroups: [] }),
      entry(A("team/viewer"), { kubernetesGroups: [], policies: [{ policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", accessScope: { type: "namespace", namespaces: ["a", "b"] } }] }),
      entry(A("deleted"), { type: "EC2_LINUX", username: "system:node:{{EC2PrivateDNSName}}", kubernetesGroups: [] }),
    ],
    { missing: [A("ghost"), A("deleted")] },
  );
  const problems = checkAccess(inv);
  const codes = problems.map((p) => `${p.code}@${p.key === "accessEntries" ? p.arn!.split("/").pop() : `${p.key}:${p.line}`}`);
  assert.deepEqual(codes, [
    "duplicate-arn@mapRoles:4",
    "system-masters@mapRoles:13",
    "row-principal-missing@mapRoles:10",
    "entry-principal-recreated@admin",
    "entry-principal-replaced@viewer",
    "entry-principal-deleted@deleted",
    "row-shadowed-by-entry@mapRoles:1",
    "aws-auth-only",
  ].map((c) => (c === "aws-auth-only" ? "aws-auth-only@cluster:0" : c)));
  const p = (code: string) => problems.find((x) => x.code === code)!;
  assert.equal(p("entry-principal-deleted").fix, `aws eks delete-access-entry --cluster-name prod --region eu-west-1 --principal-arn ${A("deleted")}`);
  assert.equal(
    p("entry-principal-recreated").fix,
    `aws eks delete-access-entry --cluster-name prod --region eu-west-1 --principal-arn ${A("admin")} && aws eks create-access-entry --cluster-name prod --region eu-west-1 --principal-arn ${A("admin")} --username 'admin:{{SessionName}}' && aws eks associate-access-policy --cluster-name prod --region eu-west-1 --principal-arn ${A("admin")} --policy-arn ${ADMIN} --access-scope type=cluster`,
  );
  assert.match(p("entry-principal-replaced").message, /now arn:aws:iam::111122223333:role\/team\/viewer, another principal/);
  assert.match(p("entry-principal-replaced").fix, /--principal-arn arn:aws:iam::111122223333:role\/team\/viewer --kubernetes-groups '\[\]'|create-access-entry .*role\/team\/viewer/);
  assert.match(p("row-shadowed-by-entry").message, /mapRoles line 1 .* has no effect: the access entry of .*role\/dev comes first and gives username someone, groups devs/);
  assert.equal(p("row-shadowed-by-entry").fix, `eks-access revoke --cluster prod --region eu-west-1 --principal ${A("dev")} --backend aws-auth   # or make the entry give what the row gives`);
  assert.match(p("aws-auth-only").message, /^3 identities come from aws-auth alone/);
  assert.ok(failsAccessCheck(problems));

  const rows = listAccess(inv, problems);
  const used = rows.map((r) => `${r.source}${r.line ? `:${r.line}` : ""} ${r.principal.split("/").pop()} ${r.used}`);
  assert.deepEqual(used, [
    "access-entry dev yes",
    "access-entry viewer yes",
    "access-entry admin no",
    "access-entry viewer no",
    "access-entry deleted no",
    "mapRoles:1 dev no",
    "mapRoles:4 ops no",
    "mapRoles:7 ops yes",
    "mapRoles:10 ghost yes",
    "mapRoles:13 admin yes",
  ]);
  assert.deepEqual(rows[1]!.policies, [{ policy: "AmazonEKSViewPolicy", scope: "in namespaces a, b" }]);
  assert.deepEqual(rows[4]!.groups, ["system:bootstrappers", "system:nodes"], "node entries list EKS's node groups");
  assert.match(rows[2]!.why, /matches no one: the role was re-created/);
  assert.deepEqual(rows[5]!.problems.map((x) => x.code), ["row-shadowed-by-entry"]);
  assert.match(rows[8]!.why, /no such principal exists in IAM now/);
});

test("CONFIG_MAP lists the creator EKS maps outside aws-auth; API ignores aws-auth (a note, not a failure)", () => {
  const cm = listAccess(inventory("CONFIG_MAP", ROWS, [role("dev"), role("ops"), role("admin")], [], { missing: [A("ghost")] }));
  assert.equal(cm[0]!.source, "creator");
  assert.deepEqual(cm[0]!.groups, ["system:masters"]);
  assert.equal(cm.filter((r) => r.used === "yes").length, 5);

  const api = inventory("API", ROWS, [role("dev")], [entry(A("dev"), { kubernetesGroups: ["devs"] })]);
  const problems = checkAccess(api);
  assert.deepEqual(problems.map((p) => p.code), ["aws-auth-ignored"]);
  assert.equal(failsAccessCheck(problems), false);
  assert.deepEqual(listAccess(api, problems).map((r) => r.used), ["yes", "no", "no", "no", "no", "no"]);
  assert.match(listAccess(api, problems)[1]!.why, /aws-auth is not read in API mode/);
});

test("IAM that cannot be read: one warning per failure, entries and rows counted together", () => {
  const inv = inventory("API_AND_CONFIG_MAP", ROWS, [role("ops"), role("admin")], [entry(A("x")), entry(A("dev"))], { unknown: [A("dev"), A("ghost"), A("x")] });
  const unread = checkAccess(inv).filter((p) => p.code === "iam-unreadable");
  assert.equal(unread.length, 1);
  assert.match(unread[0]!.message, /^3 principals could not be checked in IAM .*AccessDenied: not allowed/);
  assert.deepEqual(listAccess(inv).filter((r) => r.source === "access-entry").map((r) => r.used), ["unknown", "unknown"]);
});

test("the creator's bootstrap entry: the first STANDARD entry, with EKS's default username, no groups, ClusterAdmin cluster-wide", () => {
  const cluster = { type: "cluster" as const, namespaces: [] };
  const creator = entry(A("creator"), { username: `arn:aws:sts::${ACCT}:assumed-role/creator/{{SessionName}}`, kubernetesGroups: [], createdAt: "2026-01-01T00:05:00.000Z", policies: [{ policyArn: ADMIN, accessScope: cluster }] });
  const node = entry(A("node"), { type: "EC2_LINUX", createdAt: "2026-01-01T00:04:00.000Z" });
  const later = entry(A("admin"), { username: `arn:aws:sts::${ACCT}:assumed-role/admin/{{SessionName}}`, kubernetesGroups: [], createdAt: "2026-01-01T00:06:00.000Z", policies: [{ policyArn: ADMIN, accessScope: cluster }] });
  assert.equal(bootstrapEntryOf([later, node, creator], {}), creator, "node entries EKS makes at the same time do not count");
  assert.equal(bootstrapEntryOf([later, creator], { bootstrapCreatorAdmin: false }), undefined);
  assert.equal(bootstrapEntryOf([later, { ...creator, username: "custom" }], {}), undefined, "a custom username: someone made it");
  assert.equal(bootstrapEntryOf([later, { ...creator, policies: [{ policyArn: ADMIN, accessScope: { type: "namespace", namespaces: ["a"] } }] }], {}), undefined);
  const user = entry(`arn:aws:iam::${ACCT}:user/admin`, { username: `arn:aws:iam::${ACCT}:user/admin`, kubernetesGroups: [], policies: [{ policyArn: ADMIN, accessScope: cluster }] });
  const rows = listAccess(inventory("API", "", [], [user]));
  assert.equal(rows[0]!.creator, true);
  assert.match(rows[0]!.why, /cluster creator's bootstrap entry/);
});
