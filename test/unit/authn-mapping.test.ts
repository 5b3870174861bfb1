/**
 * resolveWithBackends as `serve` uses it: every backend of aws-iam-authenticator v0.6.13 in a
 * configured order (MountedFile from the config file, EKSConfigMap, DynamicFile by ARN or unique id,
 * and eks-access's EKSAccessEntries), templates, duplicates, mapAccounts, paths, case, reserved
 * prefixes — and the matches beyond the peer, each off unless the caller carries IAM's view.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAwsAuth } from "../../src/core/mapping/aws-auth.js";
import { readAuthenticatorDynamicFile } from "../../src/core/dynamic-file.js";
import { awsAuthBackend, dynamicFileBackend, mountedFileBackend, resolveWithBackends, type CallerIdentity, type MappingBackend, type Resolution } from "../../src/core/mapping/resolve.js";

const ACCT = "111122223333";
const role = (name: string, session: string, id = "AROADEV", account = ACCT): CallerIdentity => ({ arn: `arn:aws:sts::${account}:assumed-role/${name}/${session}`, account, userId: `${id}:${session}`, accessKeyId: "ASIAKEYID" });
const user = (path: string, id = "AIDAUSER", account = ACCT): CallerIdentity => ({ arn: `arn:aws:iam::${account}:user/${path}`, account, userId: id, accessKeyId: "AKIAKEYID" });
const ok = (r: Resolution): Extract<Resolution, { mapped: true }> => {
  assert.ok(r.mapped, r.mapped ? "" : `${r.message}\n${r.trace.join("\n")}`);
  return r as Extract<Resolution, { mapped: true }>;
};
const who = (r: Resolution): unknown => (r.mapped ? [r.username, r.groups, r.backend, r.improvement ?? null] : [r.reason]);

const config = mountedFileBackend({
  mapRoles: [
    { arn: `arn:aws:iam::${ACCT}:role/Admin`, username: "admin:{{SessionName}}", groups: ["system:masters"] },
    { arn: `arn:aws:sts::${ACCT}:assumed-role/FromSession/whatever`, username: "from-session", groups: [] },
    { arn: `arn:aws:iam::${ACCT}:role/admin`, username: "admin-last", groups: ["last"] },
  ],
  mapUsers: [{ arn: `arn:aws:iam::${ACCT}:user/ops/Alice`, username: "alice", groups: ["ops"] }],
  mapAccounts: ["444455556666"],
});
const awsAuth = awsAuthBackend(
  parseAwsAuth({
    mapRoles: `- rolearn: arn:aws:iam::${ACCT}:role/Dev
  username: dev:{{SessionName}}
  groups: ["{{AccountID}}", "raw:{{SessionNameRaw}}", "key:{{AccessKeyID}}"]
- rolearn: arn:aws:iam::${ACCT}:role/team/Pathed
  username: pathed
- rolearn: arn:aws:iam::${ACCT}:role/AWSReservedSSO_Admin_0123456789abcdef
  username: sso-admin:{{SessionNameRaw}}
  groups: [sso-admins]
- rolearn: arn:aws:iam::${ACCT}:role/Node
  username: system:node:{{EC2PrivateDNSName}}
  groups: [system:bootstrappers, system:nodes]
- rolearn: arn:aws:sts::${ACCT}:assumed-role/Session/s
  username: never
`,
    mapUsers: `- userarn: arn:aws:iam::${ACCT}:group/teams/Devs
  username: "dev-group:{{SessionName}}"
  groups: [devs]
- userarn: arn:aws:iam::${ACCT}:group/Readers
  username: reader
  groups: [readers]
`,
    mapAccounts: "- 777788889999\n",
  }).rows,
);
const strictFile = readAuthenticatorDynamicFile(
  JSON.stringify({
    mapRoles: [
      { rolearn: `arn:aws:iam::${ACCT}:role/Dev`, userid: "AROADEV", username: "entry:{{SessionName}}", groups: ["entry"] },
      { rolearn: `arn:aws:iam::${ACCT}:role/Raw`, userid: "AROARAW", username: "sso:{{SessionNameRaw}}", groups: [] },
    ],
    mapUsers: [{ userarn: `arn:aws:iam::${ACCT}:user/bob`, userid: "AIDABOB", username: "bob", groups: ["b"] }],
    mapAccounts: ["121212121212"],
  }),
  true,
);
assert.ok(typeof strictFile !== "string");
const dynamicStrict = dynamicFileBackend(strictFile, { userIdStrict: true });

test("MountedFile (the config file): canonical ARNs, case-insensitive, a session ARN row matches its role, the last duplicate wins, mapAccounts", () => {
  assert.deepEqual(who(resolveWithBackends(role("ADMIN", "alice"), [config])), ["admin-last", ["last"], "MountedFile", null]);
  assert.deepEqual(who(resolveWithBackends(role("FromSession", "x", "AROAFS"), [config])), ["from-session", [], "MountedFile", null]);
  assert.deepEqual(who(resolveWithBackends(user("ops/alice"), [config])), ["alice", ["ops"], "MountedFile", null]);
  assert.deepEqual(who(resolveWithBackends(user("alice"), [config])), ["not-mapped"], "a user ARN keeps its path");
  const other = ok(resolveWithBackends(role("Any", "s", "AROAOTHER", "444455556666"), [config]));
  assert.deepEqual([other.username, other.groups, other.source, other.uid], ["arn:aws:iam::444455556666:role/Any", [], "mapAccounts", "aws-iam-authenticator:444455556666:AROAOTHER"]);
});

test("EKSConfigMap: rows as written (a path or a session ARN never matches), every template, groups of IAM groups do not match without IAM", () => {
  const r = ok(resolveWithBackends({ ...role("dev", "alice@example.com"), accessKeyId: "ASIAXYZ" }, [awsAuth]));
  assert.deepEqual([r.username, r.groups, r.source], ["dev:alice-example.com", [ACCT, "raw:alice@example.com", "key:ASIAXYZ"], "aws-auth"]);
  assert.deepEqual(who(resolveWithBackends(role("Pathed", "s", "AROAP"), [awsAuth])), ["not-mapped"]);
  assert.deepEqual(who(resolveWithBackends(role("Session", "s", "AROAS"), [awsAuth])), ["not-mapped"]);
  assert.deepEqual(who(resolveWithBackends(user("carol", "AIDACAROL"), [awsAuth])), ["not-mapped"]);
  const node = ok(resolveWithBackends({ ...role("Node", "i-0123456789abcdef0", "AROANODE"), ec2PrivateDnsName: "ip-10-0-0-1.ec2.internal" }, [awsAuth]));
  assert.deepEqual([node.username, node.groups], ["system:node:ip-10-0-0-1.ec2.internal", ["system:bootstrappers", "system:nodes"]]);
  const needs = resolveWithBackends(role("Node", "i-0123456789abcdef0", "AROANODE"), [awsAuth]);
  assert.deepEqual(needs.mapped ? "mapped" : [needs.reason, needs.ec2InstanceId], ["template-error", "i-0123456789abcdef0"]);
  const notInstance = resolveWithBackends(role("Node", "bob", "AROANODE"), [awsAuth]);
  assert.deepEqual(notInstance.mapped ? "mapped" : [notInstance.reason, notInstance.ec2InstanceId, notInstance.message], ["template-error", undefined, "rendering system:node:{{EC2PrivateDNSName}} failed: SessionName did not contain an instance id"]);
  assert.equal(ok(resolveWithBackends(role("x", "y", "AROAX", "777788889999"), [awsAuth])).source, "mapAccounts");
});

test("DynamicFile: by unique id with dynamicfileUserIDStrict (a re-created role no longer matches), by canonical ARN without; {{SessionNameRaw}} keeps an e-mail's @", () => {
  assert.deepEqual(who(resolveWithBackends(role("Dev", "alice"), [dynamicStrict])), ["entry:alice", ["entry"], "DynamicFile", null]);
  assert.deepEqual(who(resolveWithBackends(role("Dev", "alice", "AROANEW"), [dynamicStrict])), ["not-mapped"]);
  assert.deepEqual(who(resolveWithBackends(role("Raw", "alice@example.com", "AROARAW"), [dynamicStrict])), ["sso:alice@example.com", [], "DynamicFile", null]);
  assert.deepEqual(who(resolveWithBackends(user("bob", "AIDABOB"), [dynamicStrict])), ["bob", ["b"], "DynamicFile", null]);
  assert.equal(ok(resolveWithBackends(role("Z", "s", "AROAZ", "121212121212"), [dynamicStrict])).source, "mapAccounts", "the dynamic file's mapAccounts count");
  const byArn = readAuthenticatorDynamicFile(JSON.stringify({ mapRoles: [{ rolearn: `arn:aws:iam::${ACCT}:role/DEV`, username: "by-arn" }] }), false);
  assert.ok(typeof byArn !== "string");
  const b = dynamicFileBackend(byArn, { userIdStrict: false });
  assert.deepEqual(who(resolveWithBackends(role("dev", "s", "AROAANY"), [b])), ["by-arn", [], "DynamicFile", null]);
});

test("the peer's dynamic-file reading: a row without its key refuses the whole file; names are case-insensitive; wrong types refuse it", () => {
  assert.match(readAuthenticatorDynamicFile('{"mapRoles":[{"rolearn":"arn:aws:iam::1:role/x","username":"u"}]}', true) as string, /mapRoles\[0\] has no userid/);
  assert.match(readAuthenticatorDynamicFile('{"mapUsers":[{"userid":"AIDA1","username":"u"}]}', false) as string, /mapUsers\[0\] has no userarn/);
  const cased = readAuthenticatorDynamicFile('{"MAPROLES":[{"RoleARN":"arn:aws:iam::1:role/x","UserId":"AROA1","UserName":"u","Groups":["g"]}],"extra":1}', true);
  assert.deepEqual(typeof cased !== "string" && [cased.mapRoles[0]!.rolearn, cased.mapRoles[0]!.username, cased.mapRoles[0]!.groups], ["arn:aws:iam::1:role/x", "u", ["g"]]);
  assert.match(readAuthenticatorDynamicFile('{"mapRoles":[{"userid":"AROA1","username":7}]}', true) as string, /username is not a string/);
  assert.match(readAuthenticatorDynamicFile('{"mapRoles":{}}', true) as string, /mapRoles is not a list/);
  assert.match(readAuthenticatorDynamicFile("[]", true) as string, /not a JSON object/);
  assert.deepEqual(readAuthenticatorDynamicFile("null", true), { mapRoles: [], mapUsers: [], mapAccounts: [] });
});

test("backends in the configured order: the first that maps wins; a backend that lists the account answers before the next; EKSAccessEntries by unique id", () => {
  const entries = dynamicFileBackend({ mapRoles: [{ rolearn: `arn:aws:iam::${ACCT}:role/Dev`, userid: "AROADEV", username: "from-eks-api", groups: [], accessPolicies: [] }], mapUsers: [], mapAccounts: [] }, { userIdStrict: true, name: "EKSAccessEntries" });
  assert.deepEqual(who(resolveWithBackends(role("Dev", "a"), [entries, awsAuth])), ["from-eks-api", [], "EKSAccessEntries", null]);
  assert.deepEqual(who(resolveWithBackends(role("Dev", "a"), [awsAuth, entries])), ["dev:a", [ACCT, "raw:a", "key:ASIAKEYID"], "EKSConfigMap", null]);
  // aws-auth lists 777788889999: that answers before the config file's row for the same role is looked at
  const cfg = mountedFileBackend({ mapRoles: [{ arn: "arn:aws:iam::777788889999:role/R", username: "from-config", groups: [] }], mapUsers: [], mapAccounts: [] });
  assert.equal(ok(resolveWithBackends(role("R", "s", "AROAR", "777788889999"), [awsAuth, cfg])).source, "mapAccounts");
  assert.equal(ok(resolveWithBackends(role("R", "s", "AROAR", "777788889999"), [cfg, awsAuth])).username, "from-config");
  const none = resolveWithBackends(role("Nobody", "s", "AROAN"), [config, awsAuth, dynamicStrict]);
  assert.equal(none.mapped, false);
  assert.match(none.mapped ? "" : none.message, /is not mapped \(the config file .*, aws-auth .*, access entries \(by unique id\)\)$/);
});

test("reserved username prefixes (server.reservedPrefixConfig) refuse after rendering", () => {
  const b = mountedFileBackend({ mapRoles: [{ arn: `arn:aws:iam::${ACCT}:role/R`, username: "eks:{{SessionName}}", groups: [] }], mapUsers: [], mapAccounts: [], reservedPrefixes: ["system:", "eks:"] });
  const r = resolveWithBackends(role("R", "s", "AROAR"), [b]);
  assert.deepEqual(r.mapped ? "mapped" : [r.reason, r.message], ["reserved-prefix", "invalid username 'eks:s' for mapper MountedFile: username must not begin with with the following prefixes: system: eks:"]);
});

test("beyond the peer, only with IAM's view: a row with the role's path; an IAM group's row for its members (the last row of several); an SSO role of the same permission set", () => {
  const pathed: CallerIdentity = { ...role("Pathed", "s", "AROAP"), iamRoleArn: `arn:aws:iam::${ACCT}:role/team/Pathed` };
  assert.deepEqual(who(resolveWithBackends(pathed, [awsAuth])), ["pathed", [], "EKSConfigMap", "role-path"]);
  const r = ok(resolveWithBackends(pathed, [awsAuth]));
  assert.match(r.trace.join("\n"), /IAM has the caller's role as arn:aws:iam::111122223333:role\/team\/Pathed[\s\S]*by the role's path .*which aws-iam-authenticator would not match/);
  const member: CallerIdentity = { ...user("carol", "AIDACAROL"), iamGroups: [{ arn: `arn:aws:iam::${ACCT}:group/Readers`, id: "AGPAR" }, { arn: `arn:aws:iam::${ACCT}:group/teams/Devs`, id: "AGPAD" }] };
  assert.deepEqual(who(resolveWithBackends(member, [awsAuth])), ["reader", ["readers"], "EKSConfigMap", "iam-group"], "both groups have rows: the later one (Readers) wins");
  const rows = parseAwsAuth({ mapUsers: `- userarn: arn:aws:iam::${ACCT}:group/teams/Devs\n  username: devs\n- userarn: arn:aws:iam::${ACCT}:group/Readers\n  username: readers\n` }).rows;
  assert.equal(ok(resolveWithBackends(member, [awsAuthBackend(rows)])).username, "readers", "the last matching row wins");
  const pathless = parseAwsAuth({ mapUsers: `- userarn: arn:aws:iam::${ACCT}:group/Devs\n  username: devs-pathless\n` }).rows;
  assert.equal(ok(resolveWithBackends(member, [awsAuthBackend(pathless)])).username, "devs-pathless", "a group row written without its path matches too");
  const byId = dynamicFileBackend({ mapRoles: [], mapUsers: [{ userarn: `arn:aws:iam::${ACCT}:group/Readers`, userid: "AGPAR", username: "group-by-id", groups: [], accessPolicies: [] }], mapAccounts: [] }, { userIdStrict: true });
  assert.deepEqual(who(resolveWithBackends(member, [byId])), ["group-by-id", [], "DynamicFile", "iam-group"]);
  // a user's own row beats its groups
  const own = parseAwsAuth({ mapUsers: `- userarn: arn:aws:iam::${ACCT}:group/Readers\n  username: readers\n- userarn: arn:aws:iam::${ACCT}:user/carol\n  username: carol\n` }).rows;
  assert.deepEqual(who(resolveWithBackends(member, [awsAuthBackend(own)])), ["carol", [], "EKSConfigMap", null]);

  const ssoCaller = role("AWSReservedSSO_Admin_fedcba9876543210", "alice@example.com", "AROASSO");
  assert.deepEqual(who(resolveWithBackends(ssoCaller, [awsAuth])), ["not-mapped"], "another suffix: the peer does not match");
  const withPath: CallerIdentity = { ...ssoCaller, iamRoleArn: `arn:aws:iam::${ACCT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_fedcba9876543210` };
  assert.deepEqual(who(resolveWithBackends(withPath, [awsAuth])), ["not-mapped"], "off unless asked for");
  assert.deepEqual(who(resolveWithBackends(withPath, [awsAuth], { matchSsoPermissionSets: true })), ["sso-admin:alice@example.com", ["sso-admins"], "EKSConfigMap", "sso-permission-set"]);
  const impostor: CallerIdentity = { ...ssoCaller, iamRoleArn: `arn:aws:iam::${ACCT}:role/AWSReservedSSO_Admin_fedcba9876543210` };
  assert.deepEqual(who(resolveWithBackends(impostor, [awsAuth], { matchSsoPermissionSets: true })), ["not-mapped"], "a look-alike role outside /aws-reserved/sso.amazonaws.com/ is not IAM Identity Center's");
  const otherAccount: CallerIdentity = { ...role("AWSReservedSSO_Admin_fedcba9876543210", "a", "AROASSO2", "999900001111"), iamRoleArn: "arn:aws:iam::999900001111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_fedcba9876543210" };
  assert.deepEqual(who(resolveWithBackends(otherAccount, [awsAuth], { matchSsoPermissionSets: true })), ["not-mapped"], "the permission set's role in another account");
});

test("the improvements never come before an exact match of an earlier backend's peer key within that backend", () => {
  const both: MappingBackend = awsAuthBackend(parseAwsAuth({ mapRoles: `- rolearn: arn:aws:iam::${ACCT}:role/team/Pathed\n  username: with-path\n- rolearn: arn:aws:iam::${ACCT}:role/Pathed\n  username: without-path\n` }).rows);
  assert.deepEqual(who(resolveWithBackends({ ...role("Pathed", "s", "AROAP"), iamRoleArn: `arn:aws:iam::${ACCT}:role/team/Pathed` }, [both])), ["without-path", [], "EKSConfigMap", null]);
});
