/**
 * resolveIdentity against aws-iam-authenticator v0.6.13's order: the backends of each mode, roles →
 * users → accounts, last duplicate wins, ARNs case-insensitive, access entries by unique id.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAwsAuth } from "../../src/core/mapping/aws-auth.js";
import { effectiveMappings, neverMatches, resolveIdentity, type CallerIdentity, type Resolution } from "../../src/core/mapping/resolve.js";
import type { AccessEntryView } from "../../src/core/dynamic-file.js";

const ACCT = "111122223333";
const rows = parseAwsAuth({
  mapRoles: `- rolearn: arn:aws:iam::${ACCT}:role/Dev
  username: first:{{SessionName}}
  groups: [old]
- rolearn: arn:aws:iam::${ACCT}:role/dev
  username: dev:{{SessionName}}
  groups: [devs, "{{AccountID}}-team"]
- rolearn: arn:aws:iam::${ACCT}:role/teams/Paths
  username: never
- rolearn: arn:aws:iam::${ACCT}:user/both
  username: from-roles
- rolearn: arn:aws:iam::${ACCT}:role/Node
  username: system:node:{{EC2PrivateDNSName}}
  groups: [system:bootstrappers, system:nodes]
`,
  mapUsers: `- userarn: arn:aws:iam::${ACCT}:user/both
  username: from-users
- userarn: arn:aws:iam::${ACCT}:user/ops/alice
  username: alice
  groups: [system:masters]
`,
  mapAccounts: "- 444455556666\n",
}).rows;

const session = (role: string, name: string, id = "AROADEV"): CallerIdentity => ({ arn: `arn:aws:sts::${ACCT}:assumed-role/${role}/${name}`, account: ACCT, userId: `${id}:${name}`, accessKeyId: "ASIAKEY" });
const user = (path: string, id = "AIDAUSER", account = ACCT): CallerIdentity => ({ arn: `arn:aws:iam::${account}:user/${path}`, account, userId: id });
const entry = (over: Partial<AccessEntryView> = {}): AccessEntryView => ({ principalArn: `arn:aws:iam::${ACCT}:role/Dev`, principalId: "AROADEV", username: "entry:{{SessionName}}", kubernetesGroups: ["entry-group"], type: "STANDARD", policies: [], ...over });
const mapped = (r: Resolution): Extract<Resolution, { mapped: true }> => {
  assert.ok(r.mapped, r.mapped ? "" : `${r.message}\n${r.trace.join("\n")}`);
  return r as Extract<Resolution, { mapped: true }>;
};

test("CONFIG_MAP: a session maps through its role ARN, case-insensitively, the last duplicate winning; templates rendered", () => {
  const r = mapped(resolveIdentity(session("DEV", "alice@example.com"), { mode: "CONFIG_MAP", awsAuth: rows }));
  assert.deepEqual([r.username, r.groups, r.source, r.row?.line, r.uid], ["dev:alice-example.com", ["devs", `${ACCT}-team`], "aws-auth", 4, `aws-iam-authenticator:${ACCT}:AROADEV`]);
  assert.deepEqual(r.trace, [
    `caller arn:aws:sts::${ACCT}:assumed-role/DEV/alice@example.com → canonical arn:aws:iam::${ACCT}:role/DEV, unique id AROADEV, session alice@example.com`,
    "mode CONFIG_MAP: the creator's mapping, then aws-auth (mapRoles, mapUsers, mapAccounts)",
    "creator mapping: none given",
    "matched aws-auth mapRoles line 4 (the last of 2 rows for this ARN: lines 1, 4)",
    "username dev:{{SessionName}} → dev:alice-example.com",
    `groups devs, ${ACCT}-team`,
  ]);
});

test("roles are looked up before users (even a user ARN in mapRoles); users keep their path; a role path never matches", () => {
  assert.equal(mapped(resolveIdentity(user("both"), { mode: "CONFIG_MAP", awsAuth: rows })).username, "from-roles");
  assert.equal(mapped(resolveIdentity(user("ops/alice"), { mode: "CONFIG_MAP", awsAuth: rows })).username, "alice");
  const lost = resolveIdentity(user("alice"), { mode: "CONFIG_MAP", awsAuth: rows.filter((r) => r.kind !== "mapAccounts") });
  assert.equal(lost.mapped, false);
  const path = resolveIdentity(session("Paths", "s", "AROAP"), { mode: "CONFIG_MAP", awsAuth: rows });
  assert.deepEqual(path.mapped ? "mapped" : [path.reason, path.trace.at(-1)], ["not-mapped", "not mapped: the authenticator answers 403 and kubectl says Unauthorized"]);
});

test("mapAccounts: any identity of a listed account, as its canonical ARN with no groups (not in API mode)", () => {
  assert.equal(resolveIdentity(session("Anything", "bob", "AROAX"), { mode: "CONFIG_MAP", awsAuth: rows }).mapped, false);
  const other = { ...session("Anything", "bob", "AROAX"), arn: "arn:aws:sts::444455556666:assumed-role/Anything/bob", account: "444455556666" };
  const r = mapped(resolveIdentity(other, { mode: "API_AND_CONFIG_MAP", awsAuth: rows, accessEntries: [] }));
  assert.deepEqual([r.username, r.groups, r.source, r.uid], ["arn:aws:iam::444455556666:role/Anything", [], "mapAccounts", "aws-iam-authenticator:444455556666:AROAX"]);
  assert.equal(mapped(resolveIdentity(other, { mode: "CONFIG_MAP", awsAuth: rows })).source, "mapAccounts");
  assert.equal(resolveIdentity(other, { mode: "API", awsAuth: rows, accessEntries: [] }).mapped, false);
});

test("API_AND_CONFIG_MAP: an access entry (matched by unique id) beats aws-auth; a re-created role (new id) falls back to aws-auth", () => {
  const sources = { mode: "API_AND_CONFIG_MAP" as const, awsAuth: rows, accessEntries: [entry()] };
  const r = mapped(resolveIdentity(session("Dev", "alice"), sources));
  assert.deepEqual([r.username, r.groups, r.source, r.entry?.principalArn], ["entry:alice", ["entry-group"], "access-entry", `arn:aws:iam::${ACCT}:role/Dev`]);
  const recreated = mapped(resolveIdentity(session("Dev", "alice", "AROANEW"), sources));
  assert.equal(recreated.source, "aws-auth");
  assert.match(recreated.trace[2]!, /access entries: none has unique id AROANEW \(an entry whose principal was deleted and re-created keeps the old id\)/);
});

test("API: only access entries; node entries get EKS's node groups; aws-auth is never read", () => {
  const node = entry({ principalArn: `arn:aws:iam::${ACCT}:role/Node`, principalId: "AROANODE", type: "EC2_LINUX", username: "system:node:{{EC2PrivateDNSName}}", kubernetesGroups: [] });
  const r = mapped(resolveIdentity({ ...session("Node", "i-0123456789abcdef0", "AROANODE"), ec2PrivateDnsName: "ip-10-0-0-9.ec2.internal" }, { mode: "API", awsAuth: rows, accessEntries: [node] }));
  assert.deepEqual([r.username, r.groups], ["system:node:ip-10-0-0-9.ec2.internal", ["system:bootstrappers", "system:nodes"]]);
  const none = resolveIdentity(session("DEV", "alice"), { mode: "API", awsAuth: rows, accessEntries: [] });
  assert.equal(none.mapped, false);
  assert.equal(none.trace[1], "mode API: access entries (by unique id)");
});

test("a template that cannot render refuses the request instead of trying the next backend", () => {
  const r = resolveIdentity(session("Node", "not-an-instance", "AROANODE"), { mode: "CONFIG_MAP", awsAuth: rows });
  assert.deepEqual(r.mapped ? "mapped" : [r.reason, r.message], ["template-error", "rendering system:node:{{EC2PrivateDNSName}} failed: SessionName did not contain an instance id"]);
});

test("CONFIG_MAP: the creator's mapping comes before aws-auth", () => {
  const r = mapped(resolveIdentity(session("dev", "x"), { mode: "CONFIG_MAP", awsAuth: rows, creator: { arn: `arn:aws:iam::${ACCT}:role/Dev`, username: "creator", groups: ["system:masters"] } }));
  assert.deepEqual([r.username, r.source], ["creator", "creator"]);
});

test("effectiveMappings: which row or entry the authenticator uses for each principal, per mode", () => {
  const entries = [entry({ principalArn: `arn:aws:iam::${ACCT}:role/some/path/dev` })];
  const flags = (mode: "CONFIG_MAP" | "API_AND_CONFIG_MAP" | "API"): Array<[string, number | string, boolean]> =>
    effectiveMappings({ mode, awsAuth: rows, accessEntries: entries }).map((e) => [e.source, e.row ? `${e.row.kind}:${e.row.line}` : e.entry!.principalArn.split("/").pop()!, e.effective]);
  assert.deepEqual(flags("CONFIG_MAP"), [
    ["access-entry", "dev", false],
    ["aws-auth", "mapRoles:1", false],
    ["aws-auth", "mapRoles:4", true],
    ["aws-auth", "mapRoles:7", false],
    ["aws-auth", "mapRoles:9", true],
    ["aws-auth", "mapRoles:11", true],
    ["aws-auth", "mapUsers:1", false],
    ["aws-auth", "mapUsers:3", true],
    ["aws-auth", "mapAccounts:1", true],
  ]);
  const both = effectiveMappings({ mode: "API_AND_CONFIG_MAP", awsAuth: rows, accessEntries: entries });
  assert.deepEqual(both.filter((e) => e.effective).map((e) => e.row?.line ?? "entry"), ["entry", 9, 11, 3, 1]);
  const devRow = both.find((e) => e.row?.line === 4 && e.row.kind === "mapRoles")!;
  assert.equal(devRow.reason, "an access entry for this principal comes first (API_AND_CONFIG_MAP)");
  assert.equal(devRow.shadowedByEntry, entries[0]);
  assert.equal(both.find((e) => e.row?.line === 1 && e.row.kind === "mapRoles")!.reason, "a later row for the same ARN (mapRoles line 4) wins");
  assert.equal(both.find((e) => e.row?.line === 1 && e.row.kind === "mapUsers")!.reason, "mapRoles line 9 matches first (mapRoles is looked up before mapUsers)");
  assert.deepEqual(flags("API").filter(([, , eff]) => eff), [["access-entry", "dev", true]]);
  assert.equal(neverMatches(`arn:aws:iam::${ACCT}:role/teams/Paths`), "a role path (/teams/); callers' role ARNs have none");
  assert.equal(neverMatches(`arn:aws:iam::${ACCT}:user/ops/alice`), undefined);
});
