/**
 * `access reconcile` end to end on an API_AND_CONFIG_MAP sandbox, checked with `kubectl auth
 * whoami` through the unmodified aws-iam-authenticator:
 *  - an IAM role deleted and re-created (same ARN, new unique id): its access entry matches no one
 *    (Unauthorized) until reconcile deletes and re-creates the entry, then it works again;
 *  - IAM Identity Center assignments deleted and made again (the sandbox does what Identity Center
 *    does: a new AWSReservedSSO_<PS>_<suffix> role): the access entry (role with its path) and the
 *    aws-auth row (another account's role, no path) naming the old role stop working until
 *    reconcile points them at the new role, with the same groups and policies;
 *  - --dry-run changes nothing; a second run finds nothing; the AWS CLI sees the result.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { run, runCli, type Env } from "../helpers.js";
import { eventually, roleProfile, startSandbox, whoamiAs } from "./shell.js";
import { readState } from "../../src/sandbox/state.js";
import { reassignPermissionSet } from "../../src/sandbox/identity-center.js";

const ACCT = "123456789012";
const MEMBER = "210987654321";
const TRUST = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: "sts:AssumeRole" }] });

let s: { dir: string; env: Env; stop(): void };
const aws = (...args: string[]): any => {
  const r = run("aws", [...args, "--output", "json"], { env: s.env });
  assert.equal(r.status, 0, `aws ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : {};
};
const ok = (...args: string[]): string => {
  const r = runCli(args, { env: s.env });
  assert.equal(r.status, 0, `eks-access ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const entries = (): string[] => aws("eks", "list-access-entries", "--cluster-name", "sandbox").accessEntries;
const works = (name: string) => eventually(`${name} authenticates`, () => whoamiAs(s, name), (w) => w.username !== undefined);
const refused = async (name: string) => assert.match((await eventually(`${name} is refused`, () => whoamiAs(s, name), (w) => w.denied !== undefined)).denied!, /Unauthorized/);
const ssoRole = (account: string, ps: string): string =>
  (aws("iam", "list-roles", "--path-prefix", "/aws-reserved/sso.amazonaws.com/", ...(account === ACCT ? [] : ["--profile", "member"])).Roles as Array<{ Arn: string; RoleName: string }>).find((r) =>
    r.RoleName.startsWith(`AWSReservedSSO_${ps}_`),
  )!.Arn;
const name = (arn: string) => arn.slice(arn.lastIndexOf("/") + 1);

before(async () => {
  s = await startSandbox("eks-access-reconcile-", "API_AND_CONFIG_MAP");
  const { appendFileSync } = await import("node:fs");
  appendFileSync(s.env["AWS_CONFIG_FILE"]!, `[profile member]\nrole_arn = arn:aws:iam::${MEMBER}:role/OrganizationAccountAccessRole\nsource_profile = sandbox-admin\nregion = us-west-2\n`);
});

after(() => s?.stop());

test("a role deleted and re-created: Unauthorized through its old access entry until reconcile re-creates the entry, then it works again", async () => {
  aws("iam", "create-role", "--role-name", "deployer", "--assume-role-policy-document", TRUST);
  const arn = `arn:aws:iam::${ACCT}:role/deployer`;
  ok("grant", "--cluster", "sandbox", "--principal", "deployer", "--policy", "Edit", "--group", "deployers", "--username", "deployer:{{SessionName}}");
  roleProfile(s, "deployer", arn, "dora");
  assert.deepEqual(await works("deployer"), { username: "deployer:dora", groups: ["deployers", "system:authenticated"] });
  const createdAt = aws("eks", "describe-access-entry", "--cluster-name", "sandbox", "--principal-arn", arn).accessEntry.createdAt;

  aws("iam", "delete-role", "--role-name", "deployer");
  aws("iam", "create-role", "--role-name", "deployer", "--assume-role-policy-document", TRUST);
  roleProfile(s, "deployer2", arn, "dora-again"); // a new session, of the new role
  await refused("deployer2");

  const dry = ok("access", "reconcile", "--cluster", "sandbox", "--dry-run");
  assert.match(dry, /the role was re-created \(IAM CreateDate .*\) after the entry was made/);
  assert.match(dry, new RegExp(`^  aws eks delete-access-entry --cluster-name sandbox --region us-west-2 --principal-arn ${arn}$`, "m"));
  assert.match(dry, new RegExp(`^  aws eks create-access-entry --cluster-name sandbox --region us-west-2 --principal-arn ${arn} --kubernetes-groups deployers --username 'deployer:\\{\\{SessionName\\}\\}'$`, "m"));
  assert.match(dry, /associate-access-policy .*AmazonEKSEditPolicy --access-scope type=cluster$/m);
  assert.equal(aws("eks", "describe-access-entry", "--cluster-name", "sandbox", "--principal-arn", arn).accessEntry.createdAt, createdAt, "--dry-run changed nothing");

  const done = JSON.parse(ok("access", "reconcile", "--cluster", "sandbox", "-o", "json"));
  assert.deepEqual(done.items.map((i: { kind: string; principal: string }) => [i.kind, i.principal]), [["principal-recreated", arn]]);
  const entry = aws("eks", "describe-access-entry", "--cluster-name", "sandbox", "--principal-arn", arn).accessEntry;
  assert.deepEqual([entry.username, entry.kubernetesGroups], ["deployer:{{SessionName}}", ["deployers"]]);
  assert.notEqual(entry.createdAt, createdAt);
  assert.deepEqual(aws("eks", "list-associated-access-policies", "--cluster-name", "sandbox", "--principal-arn", arn).associatedAccessPolicies.map((p: any) => p.policyArn), ["arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"]);
  assert.deepEqual(await works("deployer2"), { username: "deployer:dora-again", groups: ["deployers", "system:authenticated"] });
  assert.match(ok("access", "reconcile", "--cluster", "sandbox"), /^Nothing to reconcile on cluster sandbox: checked 0 IAM Identity Center rows of aws-auth and \d+ access entries\.$/m);
});

test("IAM Identity Center assignments made again (new role suffix): the access entry and the aws-auth row follow the new role after reconcile", async () => {
  const viewOld = ssoRole(ACCT, "EKSView"); // with its /aws-reserved/sso.amazonaws.com/us-west-2/ path: an access entry
  const adminOld = ssoRole(MEMBER, "EKSAdmin"); // another account's role: an aws-auth row, without the path
  ok("grant", "--cluster", "sandbox", "--permission-set", "EKSView", "--account", ACCT, "--policy", "View");
  ok("grant", "--cluster", "sandbox", "--permission-set", "EKSAdmin", "--account", MEMBER, "--group", "viewers", "--backend", "aws-auth");
  roleProfile(s, "vera", viewOld, "vera@example.com");
  roleProfile(s, "mona", adminOld, "mona@example.com");
  assert.equal((await works("vera")).username, `arn:aws:sts::${ACCT}:assumed-role/${name(viewOld)}/vera-example.com`);
  assert.deepEqual(await works("mona"), { username: `${name(adminOld)}:mona-example.com`, groups: ["viewers", "system:authenticated"] });

  const state = readState(s.dir)!;
  const ic = { motoUrl: state.motoUrl, region: state.region, account: ACCT, credentials: { accessKeyId: "sandbox-setup", secretAccessKey: "sandbox-setup" } };
  const view = await reassignPermissionSet(ic, { account: ACCT, permissionSet: "EKSView" });
  const admin = await reassignPermissionSet(ic, { account: MEMBER, permissionSet: "EKSAdmin" });
  assert.equal(view.oldArn, viewOld);
  assert.notEqual(name(view.newArn), name(viewOld));
  assert.equal(view.newArn.slice(0, view.newArn.lastIndexOf("/")), viewOld.slice(0, viewOld.lastIndexOf("/")), "same path, new suffix");
  roleProfile(s, "vera2", view.newArn, "vera@example.com");
  roleProfile(s, "mona2", admin.newArn, "mona@example.com");
  await refused("vera2");
  await refused("mona2");

  const before = run("kubectl", ["-n", "kube-system", "get", "configmap", "aws-auth", "-o", "jsonpath={.metadata.resourceVersion}"], { env: s.env }).stdout;
  const dry = ok("access", "reconcile", "--cluster", "sandbox", "--dry-run");
  // the row as grant wrote it (the first of a new aws-auth: groups, rolearn, username), renamed in place
  assert.match(dry, new RegExp(`^- {2}rolearn: arn:aws:iam::${MEMBER}:role/${name(adminOld)}$`, "m"));
  assert.match(dry, new RegExp(`^\\+ {2}rolearn: arn:aws:iam::${MEMBER}:role/${name(admin.newArn)}$`, "m"));
  assert.match(dry, new RegExp(`^\\+  username: ${name(admin.newArn)}:\\{\\{SessionName\\}\\}$`, "m"));
  assert.match(dry, new RegExp(`aws eks create-access-entry --cluster-name sandbox --region us-west-2 --principal-arn ${view.newArn.replace(/\//g, "\\/")}$`, "m"));
  assert.equal(run("kubectl", ["-n", "kube-system", "get", "configmap", "aws-auth", "-o", "jsonpath={.metadata.resourceVersion}"], { env: s.env }).stdout, before);
  assert.ok(entries().includes(viewOld) && !entries().includes(view.newArn), "--dry-run changed no access entry");

  const out = ok("access", "reconcile", "--cluster", "sandbox");
  assert.match(out, /^aws-auth backup: \S+ \(restore: /m);
  assert.match(out, /Reconciled on cluster sandbox \(us-west-2, API_AND_CONFIG_MAP\): 2 grants brought back/);
  assert.ok(entries().includes(view.newArn) && !entries().includes(viewOld), "the AWS CLI sees the new role's entry, not the old one");
  assert.equal((await works("vera2")).username, `arn:aws:sts::${ACCT}:assumed-role/${name(view.newArn)}/vera-example.com`);
  assert.deepEqual(await works("mona2"), { username: `${name(admin.newArn)}:mona-example.com`, groups: ["viewers", "system:authenticated"] });
  assert.match(run("kubectl", ["--kubeconfig", join(s.dir, "kc-vera2"), "get", "pods", "-n", "default"], { env: { ...s.env, EKS_ACCESS_NO_CACHE: "1" } }).stderr, /^$|No resources found/, "the View policy came along");
  assert.match(ok("access", "reconcile", "--cluster", "sandbox"), /^Nothing to reconcile on cluster sandbox: checked 1 IAM Identity Center row of aws-auth and \d+ access entries\.$/m);
});
