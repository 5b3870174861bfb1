/**
 * The README's main job end to end: `sandbox up`, `sandbox env`, the seed 001 demo, the SSO role
 * case of seeds 000/002 (with the classic path mistake), and `sandbox down` leaving nothing behind.
 * Real parts only: moto_server, kube-apiserver + etcd, aws-iam-authenticator, kubectl, the AWS CLI.
 */
import { before, after, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { baseEnv, run, runCli, tempDir, type Env } from "../helpers.js";

let dir: string;
let cleanup: () => void;
let env: Env; // the environment `sandbox env` describes
let daemonPid: number;

function parseExports(text: string): Env {
  const out: Env = {};
  for (const line of text.split("\n")) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!;
    out[m[1]!] = m[1] === "PATH" ? `${/^'([^']*)'/.exec(v)![1]}:${process.env["PATH"]}` : v.replace(/^'|'$/g, "");
  }
  return out;
}

const kubectl = (args: string[], input?: string) => run("kubectl", args, { env, ...(input ? { input } : {}) });
const aws = (...args: string[]) => {
  const r = run("aws", args, { env });
  assert.equal(r.status, 0, `aws ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

before(async () => {
  const t = tempDir("eks-access-sandbox-");
  dir = t.path;
  cleanup = t.cleanup;
  const up = runCli(["sandbox", "up", "--dir", dir], { env: baseEnv({ HOME: process.env["HOME"] }) });
  assert.equal(up.status, 0, up.stderr);
  assert.match(up.stdout, /^sandbox up in [\d.]+s: cluster sandbox \(https:\/\/127\.0\.0\.1:\d+\), account 123456789012, region us-west-2\n/);
  daemonPid = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).pid;
  const printed = runCli(["sandbox", "env", "--dir", dir], { env: baseEnv() });
  assert.equal(printed.status, 0, printed.stderr);
  env = { ...baseEnv({ HOME: process.env["HOME"] }), ...parseExports(printed.stdout) };
});

after(async () => {
  runCli(["sandbox", "down", "--dir", dir], { env: baseEnv() });
  cleanup?.();
});

test("sandbox env: points every client at the sandbox and prints no secret", () => {
  const printed = runCli(["sandbox", "env", "--dir", dir], { env: baseEnv() }).stdout;
  const secret = /aws_secret_access_key = (\S+)/.exec(readFileSync(env["AWS_SHARED_CREDENTIALS_FILE"]!, "utf8"))![1]!;
  assert.ok(!printed.includes(secret), "the admin's secret key stays in the 0600 credentials file");
  assert.equal(statSync(env["AWS_SHARED_CREDENTIALS_FILE"]!).mode & 0o777, 0o600);
  for (const k of ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE", "HTTPS_PROXY", "AWS_CA_BUNDLE", "KUBECONFIG", "AWS_REGION"]) assert.ok(env[k], k);
  assert.match(printed, /^unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY/m);
  // the installed AWS CLI and eks-access both reach the emulated account through the proxy
  assert.match(aws("sts", "get-caller-identity", "--query", "Arn", "--output", "text"), /^arn:aws:iam::123456789012:user\/sandbox-admin\n$/);
  const who = JSON.parse(runCli(["whoami", "-o", "json"], { env }).stdout);
  assert.equal(who.arn, "arn:aws:iam::123456789012:user/sandbox-admin");
});

test("the emulated account also answers Organizations, SSO admin and Identity Store through the proxy", () => {
  const org = JSON.parse(aws("organizations", "create-organization", "--feature-set", "ALL", "--output", "json"));
  assert.match(org.Organization.Id, /^o-[a-z0-9]+$/);
  const accounts = JSON.parse(aws("organizations", "list-accounts", "--output", "json")).Accounts as Array<{ Id: string }>;
  assert.ok(accounts.some((a) => a.Id === "123456789012"));
  const instances = JSON.parse(aws("sso-admin", "list-instances", "--output", "json")).Instances as Array<{ InstanceArn: string; IdentityStoreId: string }>;
  assert.equal(instances.length, 1);
  assert.match(instances[0]!.InstanceArn, /^arn:aws:sso:::instance\/ssoins-/);
  const users = JSON.parse(aws("identitystore", "list-users", "--identity-store-id", instances[0]!.IdentityStoreId, "--output", "json"));
  assert.deepEqual(users.Users, []);
});

test("seed 001 demo: IAM user → role → aws-auth → kubeconfig → kubectl through IAM; unmapped identity refused", () => {
  const r = runCli(["sandbox", "demo", "--dir", dir], { env });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /\[7\/7\].*\n {6}Username admin:ASIA[A-Z0-9]+:kubedemy\n {6}Groups {3}system:masters, system:authenticated\n/);
  assert.match(r.stdout, /namespaces: default kube-node-lease kube-public kube-system\n/);
  assert.match(r.stdout, /kubectl --context unmapped get ns {2}→ {2}error: You must be logged in to the server \(Unauthorized\)\n/);
  // kubectl itself, with the entry `kubeconfig add` wrote, runs eks-access as its exec plugin
  const who = JSON.parse(kubectl(["auth", "whoami", "-o", "json"]).stdout);
  assert.match(who.status.userInfo.username, /^admin:ASIA[A-Z0-9]+:kubedemy$/);
  assert.deepEqual(who.status.userInfo.extra.arn, [`arn:aws:sts::123456789012:assumed-role/Kubedemy_EKS_KubernetesAdmin/kubedemy`]);
  const kc = readFileSync(env["KUBECONFIG"]!, "utf8");
  assert.match(kc, /command: eks-access\n/);
  assert.equal(statSync(env["KUBECONFIG"]!).mode & 0o777, 0o600);
  // and the exec plugin's tokens are cached for the next kubectl (0600 entries)
  const cacheDir = env["EKS_ACCESS_CACHE_DIR"]!;
  const entries = readdirSync(cacheDir);
  assert.ok(entries.length >= 1);
  for (const e of entries) assert.equal(statSync(join(cacheDir, e)).mode & 0o777, 0o600);
});

test("seeds 000/002: an IAM Identity Center role works only when mapped without its /aws-reserved/ path", () => {
  const name = "AWSReservedSSO_AdministratorAccess_4b272cfed6132d4f";
  const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:user/sandbox-admin" }, Action: "sts:AssumeRole" }] });
  const withPath = JSON.parse(aws("iam", "create-role", "--role-name", name, "--path", "/aws-reserved/sso.amazonaws.com/us-west-2/", "--assume-role-policy-document", trust, "--output", "json")).Role.Arn as string;
  assert.equal(withPath, `arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/us-west-2/${name}`);
  // the SSO user's session, as IAM Identity Center creates it (session name = the user)
  const cfg = env["AWS_CONFIG_FILE"]!;
  const config = readFileSync(cfg, "utf8") + `[profile sso-admin]\nrole_arn = ${withPath}\nsource_profile = sandbox-admin\nrole_session_name = prabesh\nregion = us-west-2\n`;
  execFileSync("sh", ["-c", `cat > '${cfg}'`], { input: config });
  const who = JSON.parse(runCli(["whoami", "--profile", "sso-admin", "-o", "json"], { env }).stdout);
  assert.equal(who.arn, `arn:aws:sts::123456789012:assumed-role/${name}/prabesh`);
  assert.equal(who.mapArn, `arn:aws:iam::123456789012:role/${name}`, "whoami names the ARN to map: no path");
  const add = runCli(["kubeconfig", "add", "--name", "sandbox", "--profile", "sso-admin", "--alias", "sso", "--user-alias", "sso"], { env });
  assert.equal(add.status, 0, add.stderr);

  // Each version of aws-auth also maps the demo's role (current context) under a versioned name, a
  // control that tells when the authenticator has loaded that version.
  const mapWith = (rolearn: string, version: string) =>
    kubectl(["--context", "sandbox-admin", "apply", "-f", "-"], [
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata: {name: aws-auth, namespace: kube-system}",
      "data:",
      "  mapRoles: |",
      `    - rolearn: ${rolearn}`,
      "      username: sso:{{SessionName}}",
      "      groups: [system:masters]",
      "    - rolearn: arn:aws:iam::123456789012:role/Kubedemy_EKS_KubernetesAdmin",
      `      username: ${version}:{{SessionName}}`,
      "      groups: [system:masters]",
      "",
    ].join("\n"));
  const loaded = (version: string) => {
    const r = waitForAnswer(["--context", "kubernetes-admin", "auth", "whoami", "-o", "json"], (x) => x.status === 0 && JSON.parse(x.stdout).status.userInfo.username === `${version}:kubedemy`, 100);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).status.userInfo.username, `${version}:kubedemy`, `the authenticator loaded aws-auth ${version}`);
  };

  assert.equal(mapWith(withPath, "v1").status, 0);
  loaded("v1");
  const refused = kubectl(["--context", "sso", "auth", "whoami", "-o", "json"]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /Unauthorized/, "the path makes the mapping never match (aws-iam-authenticator #268)");

  assert.equal(mapWith(who.mapArn, "v2").status, 0);
  loaded("v2");
  const ok = kubectl(["--context", "sso", "auth", "whoami", "-o", "json"]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).status.userInfo.username, "sso:prabesh");
});

/** The authenticator applies aws-auth through a watch: retry (bounded) until it shows the expected answer. */
function waitForAnswer(args: string[], done: (r: { status: number; stdout: string; stderr: string }) => boolean, attempts: number) {
  let r = kubectl(args);
  for (let i = 1; i < attempts && !done(r); i++) {
    execFileSync("sleep", ["0.2"]);
    r = kubectl(args);
  }
  return r;
}

test("sandbox down stops every process it started", () => {
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
  const down = runCli(["sandbox", "down", "--dir", dir], { env: baseEnv() });
  assert.equal(down.status, 0, down.stderr);
  assert.equal(down.stdout, `sandbox stopped (${dir})\n`);
  assert.throws(() => process.kill(daemonPid, 0), /ESRCH/);
  const ps = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
  assert.ok(!ps.split("\n").some((l) => l.includes(dir)), `no process mentions ${dir}:\n${ps.split("\n").filter((l) => l.includes(dir)).join("\n")}`);
  assert.ok(!ps.includes(state.motoUrl.split(":").pop()), "moto is gone");
  const again = runCli(["sandbox", "down", "--dir", dir], { env: baseEnv() });
  assert.equal(again.stdout, `no sandbox running in ${dir}\n`);
  const envAfter = runCli(["sandbox", "env", "--dir", dir], { env: baseEnv() });
  assert.equal(envAfter.status, 1);
  assert.match(envAfter.stderr, /no sandbox is running in .*; start it: eks-access sandbox up/);
});
