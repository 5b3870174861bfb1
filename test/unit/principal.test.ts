import { test } from "node:test";
import assert from "node:assert/strict";
import { EksAccessError } from "../../src/core/errors.js";
import {
  accessEntryArn,
  arnPath,
  awsAuthArn,
  awsAuthKey,
  checkGivenPath,
  classifyPrincipal,
  defaultAccessEntryUsername,
  instanceArnOf,
  isSsoRoleOf,
  permissionSetInput,
  provisionedTargets,
  ssoRoleIn,
  type PrincipalRef,
} from "../../src/core/principal.js";

const SSO_ROLE = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_EKSAdmin_0123456789abcdef";
const PS = "arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-abcdef0123456789";

/** The error `fn` throws, as the one line a person sees. */
function refusal(fn: () => unknown): { kind: string; line: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(EksAccessError.is(err), `not an EksAccessError: ${String(err)}`);
    assert.ok(!err.line.includes("\n"), "one line");
    return { kind: err.kind, line: err.line };
  }
  assert.fail("did not throw");
}

test("--principal: the accepted forms", () => {
  const table: Array<[string, ReturnType<typeof classifyPrincipal>]> = [
    ["arn:aws:iam::111122223333:role/Dev", { kind: "arn", value: "arn:aws:iam::111122223333:role/Dev" }],
    [SSO_ROLE, { kind: "arn", value: SSO_ROLE }],
    ["arn:aws:iam::111122223333:role/AWSReservedSSO_EKSAdmin_0123456789abcdef", { kind: "arn", value: "arn:aws:iam::111122223333:role/AWSReservedSSO_EKSAdmin_0123456789abcdef" }],
    ["arn:aws:iam::111122223333:user/team/bob", { kind: "arn", value: "arn:aws:iam::111122223333:user/team/bob" }],
    ["arn:aws-cn:iam::111122223333:user/bob", { kind: "arn", value: "arn:aws-cn:iam::111122223333:user/bob" }],
    ["arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_EKSAdmin_0123456789abcdef/alice@example.com", { kind: "arn", value: "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_EKSAdmin_0123456789abcdef/alice@example.com" }],
    ["  arn:aws:iam::111122223333:role/Dev\n", { kind: "arn", value: "arn:aws:iam::111122223333:role/Dev" }],
    ["Dev", { kind: "name", value: "Dev" }],
    ["alice@example.com", { kind: "name", value: "alice@example.com" }],
    ["deploy_bot+ci=1,x.y-z", { kind: "name", value: "deploy_bot+ci=1,x.y-z" }],
  ];
  for (const [text, want] of table) assert.deepEqual(classifyPrincipal(text), want, text);
});

test("--principal: what can never be mapped is refused with the fix", () => {
  const table: Array<[string, RegExp]> = [
    [PS, /is an IAM Identity Center permission set, not a role; use --permission-set NAME --account ID/],
    ["arn:aws:sso:::instance/ssoins-1234567890abcdef/ps-abcdef0123456789", /permission set, not a role; use --permission-set/], // moto's form of the ARN
    ["arn:aws:sso:::instance/ssoins-1234567890abcdef", /is an IAM Identity Center instance, not an IAM role or user; use --permission-set/],
    ["arn:aws:identitystore::111122223333:user/d-1234567890/9067729b3d-94f1e788-4d6b-4fe4-8ff7-4fe0b7c3fd2e", /IAM Identity Center user, not an IAM role or user; use --permission-set/],
    ["arn:aws:identitystore:::group/9067729b3d-11111111-2222-3333-4444-555555555555", /IAM Identity Center group/],
    ["arn:aws:sso::111122223333:user/alice", /IAM Identity Center user/],
    ["9067729b3d-94f1e788-4d6b-4fe4-8ff7-4fe0b7c3fd2e", /looks like an IAM Identity Center user or group id, which EKS cannot map; use --permission-set/],
    ["94f1e788-4d6b-4fe4-8ff7-4fe0b7c3fd2e", /IAM Identity Center user or group id/],
    ["arn:aws:sts::111122223333:federated-user/bob", /federated-user session \(GetFederationToken\).*; grant an IAM role/],
    ["arn:aws:iam::111122223333:root", /is the root user of account 111122223333, which EKS cannot map; grant an IAM role or user/],
    ["arn:aws:iam::111122223333:group/admins", /is an IAM group: EKS maps roles and users, not groups/],
    ["arn:aws:iam::111122223333:instance-profile/web", /is an instance profile, not a role; grant the role the instance profile contains/],
    ["arn:aws:s3:::my-bucket", /is not an IAM role or user ARN; give a role or user ARN/],
    ["arn:aws:iam::1111:role/Dev", /"1111" is not a 12-digit account id/],
    ["arn:aws:iam::111122223333:role/has space", /is not a valid IAM role name/],
    ["arn:broken", /is not a valid ARN/],
    ["", /--principal is empty/],
    ["role/Dev", /is neither an ARN nor an IAM role or user name/],
    ["not a name", /is neither an ARN nor an IAM role or user name/],
    ["x".repeat(65), /is neither an ARN/],
  ];
  for (const [text, want] of table) {
    const r = refusal(() => classifyPrincipal(text));
    assert.equal(r.kind, "usage", text);
    assert.match(r.line, want, text);
  }
});

test("--permission-set: name or ARN, accounts, instance", () => {
  assert.deepEqual(permissionSetInput("EKSAdmin", ["111122223333", "444455556666", "111122223333"]), { kind: "permission-set", nameOrArn: "EKSAdmin", accounts: ["111122223333", "444455556666"] });
  assert.deepEqual(permissionSetInput(PS, "all", "arn:aws:sso:::instance/ssoins-1234567890abcdef"), { kind: "permission-set", nameOrArn: PS, accounts: "all", instanceArn: "arn:aws:sso:::instance/ssoins-1234567890abcdef" });
  const table: Array<[() => unknown, RegExp]> = [
    [() => permissionSetInput("EKSAdmin", []), /needs the accounts to grant in; add --account ID/],
    [() => permissionSetInput("EKSAdmin", ["12345"]), /--account "12345" is not a 12-digit account id/],
    [() => permissionSetInput("EKS Admin", "all"), /is not a permission-set name/],
    [() => permissionSetInput("x".repeat(33), "all"), /is not a permission-set name/],
    [() => permissionSetInput("arn:aws:iam::111122223333:role/x", "all"), /is not a permission-set ARN/],
    [() => permissionSetInput("EKSAdmin", "all", "ssoins-1234567890abcdef"), /--instance-arn ssoins-1234567890abcdef is not an IAM Identity Center instance ARN/],
  ];
  for (const [fn, want] of table) assert.match(refusal(fn).line, want);
});

test("permission-set ARNs name their instance (real and moto forms)", () => {
  assert.equal(instanceArnOf(PS), "arn:aws:sso:::instance/ssoins-1234567890abcdef");
  assert.equal(instanceArnOf("arn:aws-us-gov:sso:::permissionSet/ins-1234567890abcdef/ps-abcdef0123456789"), "arn:aws-us-gov:sso:::instance/ins-1234567890abcdef");
  assert.equal(instanceArnOf("arn:aws:sso:::instance/ssoins-ph5f3ykqxtfxs82m/ps-ez6nzkygqm7kvlrr"), "arn:aws:sso:::instance/ssoins-ph5f3ykqxtfxs82m");
  assert.equal(instanceArnOf("EKSAdmin"), undefined);
});

test("ARN paths: spelled out or not", () => {
  const table: Array<[string, string | undefined]> = [
    ["arn:aws:iam::111122223333:role/Dev", undefined],
    ["arn:aws:iam::111122223333:role/teams/dev/Dev", "/teams/dev/"],
    [SSO_ROLE, "/aws-reserved/sso.amazonaws.com/eu-west-1/"],
    ["arn:aws:iam::111122223333:user/team/bob", "/team/"],
    ["arn:aws:iam::111122223333:user/bob", undefined],
    ["arn:aws:sts::111122223333:assumed-role/Dev/s", undefined],
  ];
  for (const [arn, want] of table) assert.equal(arnPath(arn), want, arn);
});

test("what each backend stores", () => {
  const role: PrincipalRef = { type: "role", arn: SSO_ROLE, partition: "aws", account: "111122223333", name: "AWSReservedSSO_EKSAdmin_0123456789abcdef" };
  const user: PrincipalRef = { type: "user", arn: "arn:aws:iam::111122223333:user/team/bob", partition: "aws", account: "111122223333", name: "bob" };
  const cnRole: PrincipalRef = { type: "role", arn: "arn:aws-cn:iam::111122223333:role/svc/Deployer", partition: "aws-cn", account: "111122223333", name: "Deployer" };
  const table: Array<[PrincipalRef, { key: string; awsAuth: string; entry: string; username: string }]> = [
    [role, { key: "mapRoles", awsAuth: "arn:aws:iam::111122223333:role/AWSReservedSSO_EKSAdmin_0123456789abcdef", entry: SSO_ROLE, username: "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_EKSAdmin_0123456789abcdef/{{SessionName}}" }],
    [user, { key: "mapUsers", awsAuth: "arn:aws:iam::111122223333:user/team/bob", entry: "arn:aws:iam::111122223333:user/team/bob", username: "arn:aws:iam::111122223333:user/team/bob" }],
    [cnRole, { key: "mapRoles", awsAuth: "arn:aws-cn:iam::111122223333:role/Deployer", entry: "arn:aws-cn:iam::111122223333:role/svc/Deployer", username: "arn:aws-cn:sts::111122223333:assumed-role/Deployer/{{SessionName}}" }],
  ];
  for (const [p, want] of table) {
    assert.deepEqual({ key: awsAuthKey(p), awsAuth: awsAuthArn(p), entry: accessEntryArn(p), username: defaultAccessEntryUsername(p) }, want, p.arn);
  }
});

test("a spelled-out path must be the real one", () => {
  const real = { type: "role" as const, arn: SSO_ROLE, partition: "aws", account: "111122223333", name: "AWSReservedSSO_EKSAdmin_0123456789abcdef", path: "/aws-reserved/sso.amazonaws.com/eu-west-1/" };
  checkGivenPath("arn:aws:iam::111122223333:role/AWSReservedSSO_EKSAdmin_0123456789abcdef", real);
  checkGivenPath(SSO_ROLE, real);
  const r = refusal(() => checkGivenPath("arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_EKSAdmin_0123456789abcdef", real));
  assert.equal(r.kind, "not-found");
  assert.equal(r.line, `arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_EKSAdmin_0123456789abcdef does not exist: IAM has that role as ${SSO_ROLE}; use ${SSO_ROLE} (or just the name AWSReservedSSO_EKSAdmin_0123456789abcdef)`);
});

test("permission-set targets: provisioned accounts only", () => {
  assert.deepEqual(provisionedTargets("EKSAdmin", "all", ["444455556666", "111122223333"]), ["111122223333", "444455556666"]);
  assert.deepEqual(provisionedTargets("EKSAdmin", ["444455556666"], ["111122223333", "444455556666"]), ["444455556666"]);
  assert.equal(refusal(() => provisionedTargets("EKSAdmin", ["111122223333"], ["444455556666"])).line, "permission set EKSAdmin is not provisioned in 111122223333; assign it to a user or group in that account first");
  assert.match(refusal(() => provisionedTargets("EKSAdmin", "all", [])).line, /^permission set EKSAdmin is not provisioned in any account; assign it/);
});

test("the SSO role of a permission set: name, suffix and reserved path", () => {
  const roles = [
    { name: "AWSReservedSSO_EKSAdmin_0123456789abcdef", path: "/aws-reserved/sso.amazonaws.com/eu-west-1/" },
    { name: "AWSReservedSSO_EKSAdminX_0123456789abcdef", path: "/aws-reserved/sso.amazonaws.com/" },
    { name: "AWSReservedSSO_EKS_Admin_0123456789abcdef", path: "/aws-reserved/sso.amazonaws.com/" },
    { name: "AWSReservedSSO_EKSView_fedcba9876543210", path: "/aws-reserved/sso.amazonaws.com/" },
    { name: "AWSReservedSSO_EKSView_fedcba9876543210", path: "/not-reserved/" },
  ];
  assert.ok(isSsoRoleOf(roles[0]!, "EKSAdmin"));
  assert.ok(!isSsoRoleOf(roles[1]!, "EKSAdmin"));
  assert.ok(isSsoRoleOf(roles[2]!, "EKS_Admin"), "underscores in the permission-set name");
  assert.ok(!isSsoRoleOf(roles[4]!, "EKSView"), "outside the reserved path");
  assert.equal(ssoRoleIn("EKSAdmin", "111122223333", roles), roles[0]);
  assert.equal(ssoRoleIn("EKSView", "111122223333", roles), roles[3]);
  assert.match(refusal(() => ssoRoleIn("EKSEdit", "111122223333", roles)).line, /^permission set EKSEdit is provisioned in 111122223333 but IAM there has no AWSReservedSSO_EKSEdit_… role/);
  assert.match(refusal(() => ssoRoleIn("EKSView", "1", [roles[3]!, { ...roles[3]!, name: "AWSReservedSSO_EKSView_0000000000000000" }])).line, /several roles for permission set EKSView: AWSReservedSSO_EKSView_fedcba9876543210, AWSReservedSSO_EKSView_0000000000000000/);
});
