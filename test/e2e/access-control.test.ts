/**
 * EKS access control on the sandbox, in each authentication mode, one sandbox walked the one way
 * EKS allows (CONFIG_MAP → API_AND_CONFIG_MAP → API): the AWS CLI is the client of the access
 * APIs, kubectl (through `eks-access token`) acts as each mapped principal, the sandbox's
 * authenticator — eks-access serve or the unmodified aws-iam-authenticator (EKS_ACCESS_TEST_AUTHENTICATOR,
 * sandbox-up.ts), from the same config file — authenticates (aws-auth, and access entries through its
 * DynamicFile backend, matched by IAM unique id) and `eks-access serve` enforces the access policies beside RBAC.
 * Changes reach the authenticator through file reloads, so checks after a change wait (bounded)
 * for the new answer; no check depends on how fast it comes.
 */
import { before, after, test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { baseEnv, cliPath, run, runCli, tempDir, type Env } from "../helpers.js";
import { postTokenReview } from "../../src/sandbox/cluster/authenticator.js";
import { freePort, poll } from "../../src/sandbox/emulator/net.js";
import { evalInShell, eventually, whoamiAs } from "./shell.js";
import { sandboxUp } from "./sandbox-up.js";

const ACCT = "123456789012";
const VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const role = (name: string) => `arn:aws:iam::${ACCT}:role/${name}`;
const TRUST = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: "sts:AssumeRole" }] });

let dir: string;
let cleanup: () => void;
let env: Env;

const aws = (...args: string[]): any => {
  const r = run("aws", [...args, "--output", "json"], { env });
  assert.equal(r.status, 0, `aws ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : {};
};
const awsError = (...args: string[]): string => {
  const r = run("aws", args, { env });
  assert.notEqual(r.status, 0, `aws ${args.join(" ")} should fail`);
  return r.stderr.trim();
};
/** kubectl as the sandbox's own system:masters (the static admin token: setting up RBAC and aws-auth) */
const setup = (args: string[], input?: string) => {
  const r = run("kubectl", ["--kubeconfig", join(dir, "kube", "admin.kubeconfig"), ...args], { env, ...(input ? { input } : {}) });
  assert.equal(r.status, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
};
/** kubectl as the principal of an AWS profile, through eks-access token (no token cache: every call re-authenticates) */
const as = (profile: string, args: string[]) => run("kubectl", ["--kubeconfig", join(dir, `kc-${profile}`), ...args], { env: { ...env, EKS_ACCESS_NO_CACHE: "1" } });
const whoami = (profile: string) => whoamiAs({ dir, env }, profile);

function addRoleProfile(name: string, session: string): void {
  aws("iam", "create-role", "--role-name", name, "--assume-role-policy-document", TRUST);
  appendFileSync(env["AWS_CONFIG_FILE"]!, `[profile ${name}]\nrole_arn = ${role(name)}\nsource_profile = sandbox-admin\nrole_session_name = ${session}\nregion = us-west-2\n`);
  const r = runCli(["kubeconfig", "add", "--name", "sandbox", "--profile", name, "--alias", name, "--kubeconfig", join(dir, `kc-${name}`)], { env });
  assert.equal(r.status, 0, r.stderr);
}

before(async () => {
  const t = tempDir("eks-access-access-control-");
  dir = t.path;
  cleanup = t.cleanup;
  const userEnv = baseEnv({ HOME: dir, EKS_ACCESS_PEERS_BIN: process.env["EKS_ACCESS_PEERS_BIN"] });
  sandboxUp(dir, userEnv, ["--auth-mode", "CONFIG_MAP"]);
  env = await evalInShell(runCli(["sandbox", "env", "--dir", dir], { env: userEnv }).stdout, userEnv);
  assert.equal(runCli(["kubeconfig", "add", "--name", "sandbox", "--profile", "sandbox-admin", "--kubeconfig", join(dir, "kc-sandbox-admin")], { env }).status, 0);
  for (const ns of ["team-a", "team-b"]) setup(["create", "namespace", ns]);
  addRoleProfile("legacy", "leo");
  addRoleProfile("viewer", "vic");
  addRoleProfile("grouped", "gus");
  addRoleProfile("both", "bo");
  setup(["apply", "-f", "-"], [
    "apiVersion: v1", "kind: ConfigMap", "metadata: {name: aws-auth, namespace: kube-system}", "data:", "  mapRoles: |",
    `    - rolearn: ${role("legacy")}`, "      username: legacy:{{SessionName}}", "      groups: [legacy-viewers]",
    `    - rolearn: ${role("both")}`, "      username: from-aws-auth:{{SessionName}}", "      groups: []", "",
  ].join("\n"));
  setup(["create", "clusterrolebinding", "legacy-viewers", "--clusterrole=view", "--group=legacy-viewers"]);
  setup(["create", "rolebinding", "editors", "-n", "team-b", "--clusterrole=edit", "--group=team-b-editors"]);
});

after(() => {
  runCli(["sandbox", "down", "--dir", dir], { env: baseEnv() });
  cleanup?.();
});

test("CONFIG_MAP: the access APIs are refused; the creator is admin and others come from aws-auth", async () => {
  assert.equal(aws("eks", "describe-cluster", "--name", "sandbox").cluster.accessConfig.authenticationMode, "CONFIG_MAP");
  assert.equal(awsError("eks", "list-access-entries", "--cluster-name", "sandbox"), "An error occurred (InvalidRequestException) when calling the ListAccessEntries operation: The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.");
  assert.deepEqual(whoami("sandbox-admin"), { username: "sandbox-admin", groups: ["system:masters", "system:authenticated"] });
  const legacy = await eventually("legacy through aws-auth", () => whoami("legacy"), (w) => w.username !== undefined);
  assert.equal(legacy.username, "legacy:leo");
  assert.equal(whoami("viewer").denied !== undefined, true, "a role in neither system is Unauthorized");
});

test("CONFIG_MAP → API_AND_CONFIG_MAP: the update is reported, the creator gets its admin entry, aws-auth keeps working", async () => {
  const u = aws("eks", "update-cluster-config", "--name", "sandbox", "--access-config", "authenticationMode=API_AND_CONFIG_MAP").update;
  assert.equal(aws("eks", "describe-update", "--name", "sandbox", "--update-id", u.id).update.status, "Successful");
  assert.deepEqual(aws("eks", "list-access-entries", "--cluster-name", "sandbox").accessEntries, [`arn:aws:iam::${ACCT}:user/sandbox-admin`]);
  // the creator is now mapped by its access entry (EKS's default username for a user: its ARN), admin by AmazonEKSClusterAdminPolicy
  await eventually("the creator through its access entry", () => whoami("sandbox-admin"), (w) => w.username === `arn:aws:iam::${ACCT}:user/sandbox-admin`);
  assert.equal(as("sandbox-admin", ["get", "namespaces"]).status, 0);
  assert.equal(whoami("legacy").username, "legacy:leo");
});

test("API_AND_CONFIG_MAP: an entry with AmazonEKSViewPolicy on team-a lists pods there; default and delete are Forbidden", async () => {
  const entry = aws("eks", "create-access-entry", "--cluster-name", "sandbox", "--principal-arn", role("viewer")).accessEntry;
  assert.equal(entry.username, `arn:aws:sts::${ACCT}:assumed-role/viewer/{{SessionName}}`);
  aws("eks", "associate-access-policy", "--cluster-name", "sandbox", "--principal-arn", role("viewer"), "--policy-arn", VIEW, "--access-scope", "type=namespace,namespaces=team-a");
  const w = await eventually("viewer through its access entry", () => whoami("viewer"), (x) => x.username !== undefined);
  assert.equal(w.username, `arn:aws:sts::${ACCT}:assumed-role/viewer/vic`);
  const ok = as("viewer", ["get", "pods", "-n", "team-a"]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(as("viewer", ["get", "pods", "-n", "default"]).stderr, /Forbidden.*cannot list resource "pods".*namespace "default"/);
  assert.match(as("viewer", ["delete", "pod", "p", "-n", "team-a"]).stderr, /Forbidden.*cannot delete resource "pods"/);
});

test("API_AND_CONFIG_MAP: kubernetesGroups and a custom username reach RBAC (a RoleBinding for the group works)", async () => {
  aws("eks", "create-access-entry", "--cluster-name", "sandbox", "--principal-arn", role("grouped"), "--kubernetes-groups", "team-b-editors", "--username", "grouped:{{SessionName}}");
  const w = await eventually("grouped through its access entry", () => whoami("grouped"), (x) => x.username !== undefined);
  assert.deepEqual(w, { username: "grouped:gus", groups: ["team-b-editors", "system:authenticated"] });
  const made = as("grouped", ["create", "configmap", "made-by-gus", "-n", "team-b"]);
  assert.equal(made.status, 0, made.stderr);
  assert.match(as("grouped", ["create", "configmap", "x", "-n", "team-a"]).stderr, /forbidden/i);
});

test("API_AND_CONFIG_MAP: an access entry takes precedence over aws-auth for the same principal", async () => {
  assert.equal((await eventually("both through aws-auth", () => whoami("both"), (x) => x.username !== undefined)).username, "from-aws-auth:bo");
  aws("eks", "create-access-entry", "--cluster-name", "sandbox", "--principal-arn", role("both"), "--username", "from-entry:{{SessionName}}");
  await eventually("both through its access entry", () => whoami("both"), (x) => x.username === "from-entry:bo");
});

test("serve's EKSAccessEntries backend: a second eks-access serve that reads the entries from the sandbox's EKS API answers TokenReviews as they say", async () => {
  const port = await freePort();
  const state = join(dir, "serve-eks-backend");
  const args = ["serve", "--cluster-id", "sandbox", "--backend-mode", "EKSAccessEntries", "--access-entries-from", "eks", "--cluster-name", "sandbox", "--port", String(port), "--state-dir", state, "--generate-kubeconfig", join(state, "webhook.kubeconfig")];
  const child = spawn(cliPath, args, { env: env as NodeJS.ProcessEnv, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.setEncoding("utf8").on("data", (c: string) => (log += c));
  try {
    const token = (profile: string): string => {
      const r = runCli(["token", "--cluster-name", "sandbox", "--profile", profile], { env: { ...env, EKS_ACCESS_NO_CACHE: "1" } });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout).status.token as string;
    };
    const webhook = { url: `https://127.0.0.1:${port}/authenticate`, caFile: join(state, "cert.pem") };
    // bounded: serve starts, loads the entries, and answers
    const polled = await poll(() => postTokenReview(webhook, token("grouped")), (r) => r.status.authenticated === true, 120, 250);
    if (!polled.held) assert.fail(`serve did not authenticate grouped: ${JSON.stringify(polled.last ?? String(polled.error))}; log: ${log.slice(-2000)}`);
    const grouped = polled.value;
    const id = aws("iam", "get-role", "--role-name", "grouped").Role.RoleId as string;
    assert.deepEqual(grouped.status.user, {
      username: "grouped:gus",
      uid: `aws-iam-authenticator:${ACCT}:${id}`,
      groups: ["team-b-editors"],
      extra: grouped.status.user?.extra,
    });
    assert.deepEqual(grouped.status.user?.extra?.["principalId"], [id]);
    // aws-auth is not among this server's backends: an identity only aws-auth maps is refused
    const legacy = await postTokenReview(webhook, token("legacy"));
    assert.equal(legacy.httpStatus, 403, JSON.stringify(legacy));
    assert.ok(!log.includes(token("grouped").slice(12, 60)), "no token in serve's log");
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
});

test("a role deleted and re-created with the same name loses access until its entry is re-created (entries are bound to the unique id)", async () => {
  const before = aws("iam", "get-role", "--role-name", "viewer").Role.RoleId;
  aws("iam", "delete-role", "--role-name", "viewer");
  aws("iam", "create-role", "--role-name", "viewer", "--assume-role-policy-document", TRUST);
  assert.notEqual(aws("iam", "get-role", "--role-name", "viewer").Role.RoleId, before);
  // a session assumed before the deletion keeps the old id until it expires (as on AWS): drop eks-access's cached one
  const cleared = runCli(["cache", "clear", "--aws"], { env });
  assert.match(cleared.stdout, /Removed [1-9]\d* eks-access entr(y|ies) from .*aws-cli-cache/);
  assert.match(whoami("viewer").denied ?? "", /Unauthorized/, "same ARN, new unique id: the entry no longer matches");
  assert.deepEqual(aws("eks", "list-access-entries", "--cluster-name", "sandbox").accessEntries.includes(role("viewer")), true, "the stale entry is still listed, as on EKS");
  aws("eks", "delete-access-entry", "--cluster-name", "sandbox", "--principal-arn", role("viewer"));
  aws("eks", "create-access-entry", "--cluster-name", "sandbox", "--principal-arn", role("viewer"));
  await eventually("viewer through its re-created entry", () => whoami("viewer"), (x) => x.username === `arn:aws:sts::${ACCT}:assumed-role/viewer/vic`);
});

test("API_AND_CONFIG_MAP → API: aws-auth no longer counts; access entries still do; no way back", async () => {
  aws("eks", "update-cluster-config", "--name", "sandbox", "--access-config", "authenticationMode=API");
  await eventually("legacy (aws-auth only) refused", () => whoami("legacy"), (w) => w.denied !== undefined);
  assert.match(whoami("legacy").denied!, /Unauthorized/);
  assert.equal(whoami("grouped").username, "grouped:gus");
  assert.match(awsError("eks", "update-cluster-config", "--name", "sandbox", "--access-config", "authenticationMode=API_AND_CONFIG_MAP"), /Unsupported authentication mode update from API to API_AND_CONFIG_MAP$/);
});
