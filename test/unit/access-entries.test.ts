/** The access-entry emulator's state and EKS rules (src/sandbox/emulator/access-entries.ts), without HTTP. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AccessEntries, EksApiError, emptyAccessState, parsePrincipalArn } from "../../src/sandbox/emulator/access-entries.js";

const ACCT = "123456789012";
const CLUSTER_ARN = `arn:aws:eks:us-west-2:${ACCT}:cluster/sb`;
const ROLE = `arn:aws:iam::${ACCT}:role/dev`;
const SSO_ROLE = `arn:aws:iam::${ACCT}:role/aws-reserved/sso.amazonaws.com/us-west-2/AWSReservedSSO_Admin_0123456789abcdef`;
const USER = `arn:aws:iam::${ACCT}:user/alice`;

function make(mode = "API_AND_CONFIG_MAP") {
  let id = 0;
  let t = Date.parse("2026-12-02T12:00:00Z");
  const iam = new Map([
    [ROLE, { arn: ROLE, id: "AROAROLE" }],
    [SSO_ROLE, { arn: SSO_ROLE, id: "AROASSO" }],
    [USER, { arn: USER, id: "AIDAUSER" }],
  ]);
  const ae = new AccessEntries(emptyAccessState(), { now: () => new Date((t += 1000)), newId: () => `id-${++id}`, iamPrincipal: (a) => iam.get(a) });
  ae.registerCluster("sb", CLUSTER_ARN, { authenticationMode: mode });
  return { ae, iam };
}

const rejects = (fn: () => unknown, code: string, status: number, message: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof EksApiError && e.code === code && e.status === status && message.test(e.message));
};

test("create: defaults (STANDARD, EKS's usernames), ARN shape, unique id bound, duplicates 409", () => {
  const { ae } = make();
  const role = ae.createAccessEntry("sb", { principalArn: SSO_ROLE });
  assert.equal(role.type, "STANDARD");
  assert.equal(role.username, `arn:aws:sts::${ACCT}:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/{{SessionName}}`);
  assert.equal(role.principalId, "AROASSO");
  assert.equal(role.accessEntryArn, `arn:aws:eks:us-west-2:${ACCT}:access-entry/sb/role/${ACCT}/AWSReservedSSO_Admin_0123456789abcdef/id-1`);
  assert.equal(ae.createAccessEntry("sb", { principalArn: USER }).username, USER);
  assert.equal(ae.createAccessEntry("sb", { principalArn: ROLE, type: "EC2_LINUX" }).username, "system:node:{{EC2PrivateDNSName}}");
  rejects(() => ae.createAccessEntry("sb", { principalArn: USER }), "ResourceInUseException", 409, /^The specified access entry resource is already in use on this cluster\.$/);
});

test("create: the rules EKS documents", () => {
  const { ae } = make();
  rejects(() => ae.createAccessEntry("sb", { principalArn: `arn:aws:sts::${ACCT}:assumed-role/dev/alice` }), "InvalidParameterException", 400, /^The principalArn parameter format is not valid$/);
  rejects(() => ae.createAccessEntry("sb", { principalArn: "arn:aws:sso:::permissionSet/ssoins-1/ps-1" }), "InvalidParameterException", 400, /^The principalArn parameter format is not valid$/);
  rejects(() => ae.createAccessEntry("sb", { principalArn: `arn:aws:iam::${ACCT}:role/missing` }), "InvalidParameterException", 400, /^The specified principalArn is invalid: invalid principal\.$/);
  rejects(() => ae.createAccessEntry("sb", { principalArn: USER, type: "EC2_LINUX" }), "InvalidParameterException", 400, /take an IAM role/);
  rejects(() => ae.createAccessEntry("sb", { principalArn: ROLE, type: "FARGATE_LINUX", username: "x" }), "InvalidParameterException", 400, /can't be set/);
  rejects(() => ae.createAccessEntry("sb", { principalArn: ROLE, type: "WINDOWS" }), "InvalidParameterException", 400, /^AccessEntry type must be one of \[EC2, EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX, HYBRID_LINUX, HYPERPOD_LINUX, STANDARD\]$/);
  for (const u of ["system:x", "eks:x", "aws:x", "amazon:x", "iam:x"]) rejects(() => ae.createAccessEntry("sb", { principalArn: ROLE, username: u }), "InvalidParameterException", 400, new RegExp(`^The username must not begin with ${u.slice(0, -1)}$`));
  rejects(() => ae.createAccessEntry("sb", { principalArn: ROLE, kubernetesGroups: ["devs", "system:masters"] }), "InvalidParameterException", 400, /^The kubernetes group name system:masters is invalid, it cannot start with system:$/);
  rejects(() => ae.createAccessEntry("sb", { principalArn: ROLE, username: "dev{{SessionName}}" }), "InvalidParameterException", 400, /colon must come before/);
  rejects(() => ae.createAccessEntry("sb", { principalArn: `arn:aws:iam::${ACCT}:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS` }), "InvalidParameterException", 400, /^The caller is not allowed to modify access entries with a principalArn value of a Service Linked Role$/);
  rejects(() => ae.createAccessEntry("sb", { principalArn: "arn:aws:iam::111122223333:role/node", type: "EC2_LINUX" }), "InvalidParameterException", 400, /cluster's account/);
  rejects(() => ae.createAccessEntry("nope", { principalArn: ROLE }), "ResourceNotFoundException", 404, /^No cluster found for name: nope\.$/);
  assert.deepEqual(ae.listAccessEntries("sb").items, [], "nothing was created by the refused calls");
});

test("a CONFIG_MAP cluster refuses every access-entry call; modes move one way only; updates are reported", () => {
  const { ae } = make("CONFIG_MAP");
  const refused = /^The cluster's authentication mode must be set to one of \[API, API_AND_CONFIG_MAP\] to perform this operation\.$/;
  rejects(() => ae.listAccessEntries("sb"), "InvalidRequestException", 400, refused);
  rejects(() => ae.createAccessEntry("sb", { principalArn: ROLE }), "InvalidRequestException", 400, refused);
  rejects(() => ae.updateAuthenticationMode("sb", "API"), "InvalidParameterException", 400, /^Unsupported authentication mode update from CONFIG_MAP to API$/);
  const u = ae.updateAuthenticationMode("sb", "API_AND_CONFIG_MAP");
  assert.deepEqual([u.type, u.status, u.params], ["AccessConfigUpdate", "InProgress", [{ type: "AuthenticationMode", value: '"API_AND_CONFIG_MAP"' }]]);
  assert.equal(ae.describeUpdate("sb", u.id).status, "Successful");
  rejects(() => ae.updateAuthenticationMode("sb", "CONFIG_MAP"), "InvalidParameterException", 400, /from API_AND_CONFIG_MAP to CONFIG_MAP/);
  ae.updateAuthenticationMode("sb", "API");
  rejects(() => ae.updateAuthenticationMode("sb", "API_AND_CONFIG_MAP"), "InvalidParameterException", 400, /from API to API_AND_CONFIG_MAP/);
  rejects(() => ae.describeUpdate("sb", "nope"), "ResourceNotFoundException", 404, /nope/);
  assert.throws(() => make("CONFIG_MAP").ae.registerCluster("c2", CLUSTER_ARN, { authenticationMode: "CONFIG_MAP", bootstrapClusterCreatorAdminPermissions: false }), /bootstrapClusterCreatorAdminPermissions must be true/);
});

test("the creator's admin entry: at creation in an API mode, or when a CONFIG_MAP cluster is switched; none without bootstrap", () => {
  const { ae } = make("CONFIG_MAP");
  ae.registerCluster("c1", CLUSTER_ARN, { authenticationMode: "API" }, USER);
  assert.deepEqual(ae.listAssociatedAccessPolicies("c1", USER).items.map((p) => [p.policyArn, p.accessScope.type]), [["arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", "cluster"]]);
  ae.registerCluster("c2", CLUSTER_ARN, { authenticationMode: "CONFIG_MAP" }, USER);
  ae.updateAuthenticationMode("c2", "API_AND_CONFIG_MAP");
  assert.deepEqual(ae.listAccessEntries("c2").items, [USER]);
  ae.registerCluster("c3", CLUSTER_ARN, { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false }, USER);
  assert.deepEqual(ae.listAccessEntries("c3").items, []);
});

test("policies: associate (re-associate replaces the scope), list, filter entries by policy, disassociate; STANDARD only", () => {
  const { ae } = make();
  ae.createAccessEntry("sb", { principalArn: ROLE });
  ae.createAccessEntry("sb", { principalArn: USER });
  const view = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
  const first = ae.associateAccessPolicy("sb", ROLE, view, { type: "namespace", namespaces: ["team-a"] });
  const again = ae.associateAccessPolicy("sb", ROLE, view, { type: "cluster" });
  assert.equal(again.associatedAt, first.associatedAt);
  assert.deepEqual(ae.listAssociatedAccessPolicies("sb", ROLE).items.map((p) => p.accessScope), [{ type: "cluster", namespaces: [] }]);
  assert.deepEqual(ae.listAccessEntries("sb", { associatedPolicyArn: view }).items, [ROLE]);
  rejects(() => ae.associateAccessPolicy("sb", ROLE, "arn:aws:eks::aws:cluster-access-policy/Nope", { type: "cluster" }), "InvalidParameterException", 400, /not a valid access policy/);
  rejects(() => ae.associateAccessPolicy("sb", ROLE, view, { type: "namespace" }), "InvalidParameterException", 400, /at least one namespace/);
  ae.disassociateAccessPolicy("sb", ROLE, view);
  rejects(() => ae.disassociateAccessPolicy("sb", ROLE, view), "ResourceNotFoundException", 404, /not associated/);
  ae.createAccessEntry("sb", { principalArn: SSO_ROLE, type: "EC2_LINUX" });
  rejects(() => ae.associateAccessPolicy("sb", SSO_ROLE, view, { type: "cluster" }), "InvalidParameterException", 400, /^This operation can only be performed on Access Entries with a type of "STANDARD"\.$/);
});

test("update and delete; unknown entries are ResourceNotFoundException", () => {
  const { ae } = make();
  ae.createAccessEntry("sb", { principalArn: ROLE, kubernetesGroups: ["a"] });
  const e = ae.updateAccessEntry("sb", ROLE, { kubernetesGroups: ["b", "c"], username: "dev:{{SessionName}}" });
  rejects(() => ae.updateAccessEntry("sb", ROLE, { username: "x{{SessionNameRaw}}" }), "InvalidParameterException", 400, /colon must come before \{\{SessionNameRaw\}\}/);
  assert.deepEqual([e.kubernetesGroups, e.username], [["b", "c"], "dev:{{SessionName}}"]);
  assert.notEqual(e.modifiedAt, e.createdAt);
  rejects(() => ae.updateAccessEntry("sb", ROLE, { username: "system:admin" }), "InvalidParameterException", 400, /^The username must not begin with system:$/);
  rejects(() => ae.describeAccessEntry("sb", "arn:aws:eks:us-west-2:123456789012:access-entry/sb/role/123456789012/dev/x"), "InvalidParameterException", 400, /^The principalArn parameter format is not valid$/);
  ae.deleteAccessEntry("sb", ROLE);
  rejects(() => ae.describeAccessEntry("sb", ROLE), "ResourceNotFoundException", 404, /^The specified principalArn could not be found\./);
});

test("pagination: maxResults 1..100, nextToken continues, a forged token is refused", () => {
  const { ae, iam } = make();
  for (let i = 0; i < 7; i++) {
    const arn = `arn:aws:iam::${ACCT}:role/r${i}`;
    iam.set(arn, { arn, id: `AROA${i}` });
    ae.createAccessEntry("sb", { principalArn: arn });
  }
  const seen: string[] = [];
  let token: string | undefined;
  do {
    const page = ae.listAccessEntries("sb", { maxResults: 3, nextToken: token });
    assert.ok(page.items.length <= 3);
    seen.push(...page.items);
    token = page.nextToken;
  } while (token);
  assert.equal(seen.length, 7);
  assert.equal(new Set(seen).size, 7);
  rejects(() => ae.listAccessEntries("sb", { maxResults: 0 }), "InvalidParameterException", 400, /between 1 and 100/);
  rejects(() => ae.listAccessEntries("sb", { maxResults: 101 }), "InvalidParameterException", 400, /between 1 and 100/);
  rejects(() => ae.listAccessEntries("sb", { nextToken: "garbage!" }), "InvalidParameterException", 400, /nextToken/);
  assert.deepEqual(ae.listAccessPolicies({ maxResults: 2 }).items.map((p) => p.name), ["AmazonEKSAdminPolicy", "AmazonEKSAdminViewPolicy"]);
});

test("state is plain JSON: a reloaded store answers the same", () => {
  const { ae } = make();
  ae.createAccessEntry("sb", { principalArn: ROLE });
  const reloaded = new AccessEntries(JSON.parse(JSON.stringify(ae.state)), { now: () => new Date(), newId: () => "x", iamPrincipal: () => undefined });
  assert.equal(reloaded.describeAccessEntry("sb", ROLE).principalId, "AROAROLE");
  assert.deepEqual(parsePrincipalArn(SSO_ROLE), { partition: "aws", account: ACCT, kind: "role", path: "/aws-reserved/sso.amazonaws.com/us-west-2/", name: "AWSReservedSSO_Admin_0123456789abcdef" });
});
