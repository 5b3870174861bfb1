import { test } from "node:test";
import assert from "node:assert/strict";
import { canonicalArn, isPermissionSetArn, isSsoRolePath, parsePrincipal, roleArnWithoutPath, ssoRole } from "../../src/core/arn.js";
import { describeIdentity } from "../../src/usecases/whoami.js";

test("principals parse with paths, sessions and partitions", () => {
  assert.deepEqual(parsePrincipal("arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef"), {
    type: "role",
    arn: "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef",
    account: "111122223333",
    partition: "aws",
    path: "/aws-reserved/sso.amazonaws.com/eu-west-1/",
    name: "AWSReservedSSO_Admin_0123456789abcdef",
  });
  const s = parsePrincipal("arn:aws-cn:sts::111122223333:assumed-role/Dev/alice@example.com");
  assert.equal(s?.type, "assumed-role");
  assert.equal(s?.type === "assumed-role" && s.sessionName, "alice@example.com");
  assert.equal(parsePrincipal("arn:aws:iam::111122223333:root")?.type, "root");
  assert.equal(parsePrincipal("arn:aws:s3:::bucket"), undefined);
  assert.equal(parsePrincipal("not an arn"), undefined);
});

test("canonical ARN as the authenticator compares it", () => {
  assert.equal(canonicalArn("arn:aws:sts::111122223333:assumed-role/Dev/alice"), "arn:aws:iam::111122223333:role/Dev");
  assert.equal(canonicalArn("arn:aws-us-gov:sts::111122223333:assumed-role/Dev/s"), "arn:aws-us-gov:iam::111122223333:role/Dev");
  assert.equal(canonicalArn("arn:aws:iam::111122223333:user/team/bob"), "arn:aws:iam::111122223333:user/team/bob", "user paths are kept");
  assert.equal(roleArnWithoutPath("arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_A_0123456789abcdef"), "arn:aws:iam::111122223333:role/AWSReservedSSO_A_0123456789abcdef");
});

test("SSO recognition: role names, paths and permission-set ARNs", () => {
  assert.deepEqual(ssoRole("AWSReservedSSO_AdministratorAccess_4b272cfed6132d4f"), { permissionSet: "AdministratorAccess", suffix: "4b272cfed6132d4f" });
  assert.deepEqual(ssoRole("AWSReservedSSO_Read_Only_4b272cfed6132d4f"), { permissionSet: "Read_Only", suffix: "4b272cfed6132d4f" });
  assert.equal(ssoRole("AWSReservedSSO_Admin"), undefined);
  assert.equal(ssoRole("MyRole"), undefined);
  assert.ok(isSsoRolePath("/aws-reserved/sso.amazonaws.com/"));
  assert.ok(isSsoRolePath("/aws-reserved/sso.amazonaws.com/eu-west-1/"));
  assert.ok(!isSsoRolePath("/teams/"));
  assert.ok(isPermissionSetArn("arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef"));
  assert.ok(!isPermissionSetArn("arn:aws:iam::111122223333:role/x"));
});

test("whoami explains what to map", () => {
  const o = describeIdentity({ arn: "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_4b272cfed6132d4f/prabesh", account: "111122223333", userId: "AROA:prabesh" });
  assert.equal(o.mapArn, "arn:aws:iam::111122223333:role/AWSReservedSSO_AdministratorAccess_4b272cfed6132d4f");
  assert.equal(o.sso?.permissionSet, "AdministratorAccess");
  assert.equal(o.sessionName, "prabesh");
  assert.equal(o.notes.length, 2);
  const u = describeIdentity({ arn: "arn:aws:iam::111122223333:user/kubedemy", account: "111122223333", userId: "AIDA" });
  assert.equal(u.type, "user");
  assert.match(u.notes[0]!, /mapUsers/);
});
