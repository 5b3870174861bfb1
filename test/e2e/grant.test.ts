/**
 * grant / revoke end to end on one sandbox walked CONFIG_MAP → API_AND_CONFIG_MAP → API: the seeds'
 * identities (000: an SSO role session with its /aws-reserved/ path; 002/003: a permission set by
 * name across two accounts; an IAM user) granted with eks-access, each checked with
 * `kubectl auth whoami` as that principal (through the sandbox's authenticator: eks-access serve or
 * the unmodified aws-iam-authenticator, EKS_ACCESS_TEST_AUTHENTICATOR), revoked
 * to Unauthorized; the AWS CLI as a second client of the same state. Changes reach the
 * authenticator by file/watch reloads, so checks after a change poll (bounded).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { baseEnv, run, runCli, tempDir, type Env } from "../helpers.js";
import { evalInShell, eventually, whoamiAs } from "./shell.js";
import { sandboxUp } from "./sandbox-up.js";

const ACCT = "123456789012";
const MEMBER = "210987654321";
const TRUST = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: "sts:AssumeRole" }] });

let dir: string;
let cleanup: () => void;
let env: Env;

const aws = (...args: string[]): any => {
  const r = run("aws", [...args, "--output", "json"], { env });
  assert.equal(r.status, 0, `aws ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : {};
};
const cli = (...args: string[]) => runCli(args, { env });
const ok = (...args: string[]) => {
  const r = cli(...args);
  assert.equal(r.status, 0, `eks-access ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const admin = (args: string[]) => run("kubectl", ["--kubeconfig", join(dir, "kube", "admin.kubeconfig"), ...args], { env });
const as = (profile: string, args: string[]) => run("kubectl", ["--kubeconfig", join(dir, `kc-${profile}`), ...args], { env: { ...env, EKS_ACCESS_NO_CACHE: "1" } });
const whoami = (profile: string) => whoamiAs({ dir, env }, profile);
const awsAuthData = (): Record<string, string> => JSON.parse(admin(["get", "configmap", "aws-auth", "-n", "kube-system", "-o", "json"]).stdout || "{}").data ?? {};

function profile(name: string, lines: string[]): void {
  appendFileSync(env["AWS_CONFIG_FILE"]!, `[profile ${name}]\n${lines.join("\n")}\nregion = us-west-2\n`);
  // looked up as the sandbox admin (a role of the member account cannot see the cluster), connecting as `name`
  const r = runCli(["kubeconfig", "add", "--name", "sandbox", "--profile", "sandbox-admin", "--exec-profile", name, "--alias", name, "--kubeconfig", join(dir, `kc-${name}`)], { env });
  assert.equal(r.status, 0, r.stderr);
}
const roleProfile = (name: string, roleArn: string, session: string) => profile(name, [`role_arn = ${roleArn}`, "source_profile = sandbox-admin", `role_session_name = ${session}`]);

let ssoAdmin: string; // AWSReservedSSO_EKSAdmin_… in the sandbox account, with its /aws-reserved/…/us-west-2/ path
let ssoViewHere: string;
let ssoViewMember: string;

before(async () => {
  const t = tempDir("eks-access-grant-");
  dir = t.path;
  cleanup = t.cleanup;
  const userEnv = baseEnv({ HOME: dir, EKS_ACCESS_PEERS_BIN: process.env["EKS_ACCESS_PEERS_BIN"] });
  sandboxUp(dir, userEnv, ["--auth-mode", "CONFIG_MAP"]);
  env = await evalInShell(runCli(["sandbox", "env", "--dir", dir], { env: userEnv }).stdout, userEnv);
  for (const ns of ["team-a"]) assert.equal(admin(["create", "namespace", ns]).status, 0);
  assert.equal(admin(["create", "clusterrolebinding", "viewers", "--clusterrole=view", "--group=viewers"]).status, 0);
  const roles = (account: string) => aws("iam", "list-roles", "--path-prefix", "/aws-reserved/sso.amazonaws.com/", ...(account === ACCT ? [] : ["--profile", "member"])).Roles as Array<{ Arn: string; RoleName: string }>;
  appendFileSync(env["AWS_CONFIG_FILE"]!, `[profile member]\nrole_arn = arn:aws:iam::${MEMBER}:role/OrganizationAccountAccessRole\nsource_profile = sandbox-admin\nregion = us-west-2\n`);
  const here = roles(ACCT);
  ssoAdmin = here.find((r) => r.RoleName.startsWith("AWSReservedSSO_EKSAdmin_"))!.Arn;
  ssoViewHere = here.find((r) => r.RoleName.startsWith("AWSReservedSSO_EKSView_"))!.Arn;
  ssoViewMember = roles(MEMBER).find((r) => r.RoleName.startsWith("AWSReservedSSO_EKSView_"))!.Arn;
  assert.match(ssoAdmin, /:role\/aws-reserved\/sso\.amazonaws\.com\/us-west-2\/AWSReservedSSO_EKSAdmin_[0-9a-f]{16}$/);
  roleProfile("alice", ssoAdmin, "alice@example.com");
  roleProfile("vera", ssoViewHere, "vera@example.com");
  roleProfile("mona", ssoViewMember, "mona@example.com");
  aws("iam", "create-role", "--role-name", "viewer", "--assume-role-policy-document", TRUST);
  roleProfile("viewer", `arn:aws:iam::${ACCT}:role/viewer`, "vic");
  aws("iam", "create-user", "--user-name", "ursula");
  const key = aws("iam", "create-access-key", "--user-name", "ursula").AccessKey;
  appendFileSync(env["AWS_SHARED_CREDENTIALS_FILE"] ?? join(dir, ".aws", "credentials"), `[ursula]\naws_access_key_id = ${key.AccessKeyId}\naws_secret_access_key = ${key.SecretAccessKey}\n`);
  profile("ursula", []);
});

after(() => {
  runCli(["sandbox", "down", "--dir", dir], { env: baseEnv() });
  cleanup?.();
});

const roleName = (arn: string) => arn.slice(arn.lastIndexOf("/") + 1);

test("CONFIG_MAP, seed 000: the SSO session ARN becomes the role ARN without its path; whoami shows <role>:{{SessionName}}", async () => {
  const session = `arn:aws:sts::${ACCT}:assumed-role/${roleName(ssoAdmin)}/alice@example.com`;
  const preview = cli("grant", "--cluster", "sandbox", "--principal", session, "--group", "system:masters", "--dry-run");
  assert.equal(preview.status, 0, preview.stderr);
  assert.match(preview.stdout, new RegExp(`\\n\\+  rolearn: arn:aws:iam::${ACCT}:role/${roleName(ssoAdmin)}\\n`));
  assert.match(preview.stdout, /Dry run: nothing was changed/);
  assert.equal(awsAuthData()["mapRoles"], undefined, "--dry-run wrote nothing");
  const out = ok("grant", "--cluster", "sandbox", "--principal", session, "--group", "system:masters");
  assert.match(out, /kube-system\/aws-auth did not exist: created it/);
  assert.match(awsAuthData()["mapRoles"]!, new RegExp(`rolearn: arn:aws:iam::${ACCT}:role/${roleName(ssoAdmin)}\\n`), "no /aws-reserved/ path in aws-auth");
  const w = await eventually("alice through aws-auth", () => whoami("alice"), (x) => x.username !== undefined);
  assert.deepEqual(w, { username: `${roleName(ssoAdmin)}:alice-example.com`, groups: ["system:masters", "system:authenticated"] });
});

test("CONFIG_MAP, seeds 002/003: a permission set by name across two accounts maps each account's provisioned role", async () => {
  const out = JSON.parse(ok("grant", "--cluster", "sandbox", "--permission-set", "EKSView", "--all-accounts", "--group", "viewers", "-o", "json"));
  // every write to an existing aws-auth saves the previous version first, 0600
  assert.ok(out.awsAuth.backupPath, JSON.stringify(out.awsAuth));
  assert.equal(statSync(out.awsAuth.backupPath).mode & 0o777, 0o600);
  assert.match(readFileSync(out.awsAuth.backupPath, "utf8"), /AWSReservedSSO_EKSAdmin_/);
  assert.deepEqual(out.changes.map((c: { principal: string }) => c.principal).sort(), [ssoViewHere, ssoViewMember].sort());
  for (const p of ["vera", "mona"]) {
    const w = await eventually(`${p} through aws-auth`, () => whoami(p), (x) => x.username !== undefined);
    assert.deepEqual(w.groups, ["viewers", "system:authenticated"]);
  }
  assert.equal(as("mona", ["get", "pods", "-n", "team-a"]).status, 0);
});

test("CONFIG_MAP: an IAM user by name; grant twice changes nothing; revoke → Unauthorized", async () => {
  ok("grant", "--cluster", "sandbox", "--principal", "ursula", "--group", "viewers");
  const again = ok("grant", "--cluster", "sandbox", "--principal", "ursula", "--group", "viewers");
  assert.match(again, /Nothing to change/);
  assert.equal((await eventually("ursula", () => whoami("ursula"), (x) => x.username !== undefined)).username, "ursula");
  ok("revoke", "--cluster", "sandbox", "--principal", "ursula");
  await eventually("ursula revoked", () => whoami("ursula"), (x) => x.denied !== undefined);
  assert.match(whoami("ursula").denied!, /Unauthorized/);
});

test("CONFIG_MAP: revoking the last system:masters mapping is refused and changes nothing", () => {
  const before = awsAuthData();
  const r = cli("revoke", "--cluster", "sandbox", "--principal", ssoAdmin);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /last system:masters/);
  assert.deepEqual(awsAuthData(), before);
});

test("CONFIG_MAP: a --context that points at another cluster is refused before anything is read or written", () => {
  const before = awsAuthData();
  const other = join(dir, "other.kubeconfig");
  writeFileSync(other, ["apiVersion: v1", "kind: Config", "clusters: [{name: other, cluster: {server: 'https://127.0.0.1:1'}}]", "users: [{name: u, user: {token: x}}]", "contexts: [{name: other, context: {cluster: other, user: u}}]", "current-context: other", ""].join("\n"));
  const r = cli("grant", "--cluster", "sandbox", "--principal", "viewer", "--group", "viewers", "--kubeconfig", other, "--context", "other");
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /context other points at https:\/\/127\.0\.0\.1:1, not at cluster sandbox .*nothing was changed/);
  const none = cli("grant", "--cluster", "sandbox", "--principal", "viewer", "--group", "viewers", "--kubeconfig", other);
  assert.equal(none.status, 1, none.stderr);
  assert.match(none.stderr, /no context in .*other\.kubeconfig points at cluster sandbox/);
  assert.deepEqual(awsAuthData(), before);
});

test("API_AND_CONFIG_MAP: View on team-a through an access entry; the AWS CLI sees what grant made; revoke cleans both systems", async () => {
  aws("eks", "update-cluster-config", "--name", "sandbox", "--access-config", "authenticationMode=API_AND_CONFIG_MAP");
  const preview = ok("grant", "--cluster", "sandbox", "--principal", "viewer", "--policy", "View", "--namespace", "team-a", "--dry-run");
  assert.match(preview, /aws eks create-access-entry --cluster-name sandbox --region us-west-2 --principal-arn arn:aws:iam::123456789012:role\/viewer/);
  assert.equal(aws("eks", "list-access-entries", "--cluster-name", "sandbox").accessEntries.includes(`arn:aws:iam::${ACCT}:role/viewer`), false);
  ok("grant", "--cluster", "sandbox", "--principal", "viewer", "--policy", "View", "--namespace", "team-a");
  assert.equal(aws("eks", "list-access-entries", "--cluster-name", "sandbox").accessEntries.includes(`arn:aws:iam::${ACCT}:role/viewer`), true);
  const assoc = aws("eks", "list-associated-access-policies", "--cluster-name", "sandbox", "--principal-arn", `arn:aws:iam::${ACCT}:role/viewer`).associatedAccessPolicies;
  assert.deepEqual(assoc.map((a: any) => [a.policyArn, a.accessScope]), [["arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", { type: "namespace", namespaces: ["team-a"] }]]);
  await eventually("viewer through its entry", () => whoami("viewer"), (x) => x.username !== undefined);
  assert.equal(as("viewer", ["get", "pods", "-n", "team-a"]).status, 0);
  assert.match(as("viewer", ["get", "pods", "-n", "default"]).stderr, /Forbidden/);
  // an SSO role with its path: the access entry keeps the path (EKS wants the IAM ARN as is)
  ok("grant", "--cluster", "sandbox", "--permission-set", "EKSView", "--account", ACCT, "--policy", "View");
  assert.equal(aws("eks", "list-access-entries", "--cluster-name", "sandbox").accessEntries.includes(ssoViewHere), true);
  // vera is in aws-auth too: revoke (auto) removes the entry and the aws-auth row, so she is out
  ok("revoke", "--cluster", "sandbox", "--principal", ssoViewHere);
  assert.equal(aws("eks", "list-access-entries", "--cluster-name", "sandbox").accessEntries.includes(ssoViewHere), false);
  assert.doesNotMatch(awsAuthData()["mapRoles"]!, new RegExp(roleName(ssoViewHere)));
  await eventually("vera revoked", () => whoami("vera"), (x) => x.denied !== undefined);
});

test("API_AND_CONFIG_MAP: revoking the only cluster-admin access entry, or your own, is refused", () => {
  const r = cli("revoke", "--cluster", "sandbox", "--principal", `arn:aws:iam::${ACCT}:user/sandbox-admin`, "--backend", "access-entry");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /refusing to revoke your own access|last AmazonEKSClusterAdminPolicy/);
  assert.equal(aws("eks", "list-access-entries", "--cluster-name", "sandbox").accessEntries.includes(`arn:aws:iam::${ACCT}:user/sandbox-admin`), true);
});

test("API: grant --backend aws-auth is refused (it would have no effect); bad input leaves everything as it was", () => {
  aws("eks", "update-cluster-config", "--name", "sandbox", "--access-config", "authenticationMode=API");
  const before = aws("eks", "list-access-entries", "--cluster-name", "sandbox").accessEntries;
  const cases: Array<[string[], RegExp]> = [
    [["--principal", "viewer", "--group", "g", "--backend", "aws-auth"], /API mode: EKS ignores aws-auth/],
    [["--principal", "arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef", "--group", "g"], /permission set/],
    [["--principal", "nobody-here", "--group", "g"], /nobody-here/],
    [["--principal", "viewer", "--group", "system:masters"], /system: groups/],
    [["--principal", "viewer", "--policy", "Nope"], /not an EKS access policy/],
    [["--principal", "viewer"], /needs --group or --policy/],
  ];
  for (const [args, message] of cases) {
    const r = cli("grant", "--cluster", "sandbox", ...args);
    assert.notEqual(r.status, 0, args.join(" "));
    assert.match(r.stderr, message, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
  }
  assert.deepEqual(aws("eks", "list-access-entries", "--cluster-name", "sandbox").accessEntries, before);
});

test("API, seed 000: the SSO session ARN's role (with its path) gets an access entry; whoami shows EKS's default username; ClusterAdmin through the policy", async () => {
  const session = `arn:aws:sts::${ACCT}:assumed-role/${roleName(ssoAdmin)}/alice@example.com`;
  assert.match((await eventually("alice out: aws-auth does not count in API mode", () => whoami("alice"), (x) => x.denied !== undefined)).denied!, /Unauthorized/);
  ok("grant", "--cluster", "sandbox", "--principal", session, "--policy", "ClusterAdmin");
  assert.equal(aws("eks", "list-access-entries", "--cluster-name", "sandbox").accessEntries.includes(ssoAdmin), true, "the entry names the role with its /aws-reserved/ path");
  const w = await eventually("alice through her entry", () => whoami("alice"), (x) => x.username !== undefined);
  assert.deepEqual(w, { username: `arn:aws:sts::${ACCT}:assumed-role/${roleName(ssoAdmin)}/alice-example.com`, groups: ["system:authenticated"] });
  assert.equal(as("alice", ["get", "namespaces"]).status, 0, "AmazonEKSClusterAdminPolicy allows it (no RBAC binding for her)");
});

test("API, seeds 002/003 and an IAM user: a permission set across two accounts with View in team-a; the user by name with a group; revoke → Unauthorized", async () => {
  const out = JSON.parse(ok("grant", "--cluster", "sandbox", "--permission-set", "EKSView", "--all-accounts", "--policy", "View", "--namespace", "team-a", "-o", "json"));
  assert.deepEqual(out.changes.map((c: { writtenAs: string }) => c.writtenAs).sort(), [ssoViewHere, ssoViewMember].sort());
  for (const p of ["vera", "mona"]) {
    await eventually(`${p} through her entry`, () => whoami(p), (x) => x.username !== undefined);
    assert.equal(as(p, ["get", "pods", "-n", "team-a"]).status, 0, `${p} in team-a`);
    assert.match(as(p, ["get", "pods", "-n", "default"]).stderr, /Forbidden/, `${p} elsewhere`);
  }
  ok("grant", "--cluster", "sandbox", "--principal", "ursula", "--group", "viewers");
  assert.deepEqual(await eventually("ursula through her entry", () => whoami("ursula"), (x) => x.username !== undefined), { username: `arn:aws:iam::${ACCT}:user/ursula`, groups: ["viewers", "system:authenticated"] });
  ok("revoke", "--cluster", "sandbox", "--principal", "ursula");
  assert.match((await eventually("ursula revoked", () => whoami("ursula"), (x) => x.denied !== undefined)).denied!, /Unauthorized/);
});
