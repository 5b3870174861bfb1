/**
 * Every credential source `token` supports that can run offline, with moto_server as STS/IAM and
 * the project's STS verifier checking each token's signature independently.
 */
import { before, after, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { startMoto, type MotoServer } from "../../src/sandbox/emulator/moto.js";
import { startStsVerifier, type StsVerifier } from "../../src/sandbox/emulator/sts-verifier.js";
import { baseEnv, run, runCli, tempDir, tokenUrl, type Env } from "../helpers.js";
import { aws, verifyToken } from "../aws-helpers.js";

let moto: MotoServer;
let verifier: StsVerifier;
let home: string;
let cleanup: () => void;
let admin: Env;
let userKey: { id: string; secret: string };
const ROLE = "arn:aws:iam::123456789012:role/Kubedemy_EKS_KubernetesAdmin";

before(async () => {
  moto = await startMoto();
  verifier = await startStsVerifier({ motoUrl: moto.url });
  const t = tempDir();
  home = t.path;
  cleanup = t.cleanup;
  admin = baseEnv({ AWS_ACCESS_KEY_ID: "admin", AWS_SECRET_ACCESS_KEY: "admin", AWS_DEFAULT_REGION: "us-west-2", AWS_ENDPOINT_URL: moto.url });
  aws(admin, "iam", "create-user", "--user-name", "kubedemy");
  const key = aws(admin, "iam", "create-access-key", "--user-name", "kubedemy") as { AccessKey: { AccessKeyId: string; SecretAccessKey: string } };
  userKey = { id: key.AccessKey.AccessKeyId, secret: key.AccessKey.SecretAccessKey };
  const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:user/kubedemy" }, Action: "sts:AssumeRole" }] });
  aws(admin, "iam", "create-role", "--role-name", "Kubedemy_EKS_KubernetesAdmin", "--assume-role-policy-document", trust);
});

after(async () => {
  await verifier?.stop();
  await moto?.stop();
  cleanup?.();
});

/** An isolated HOME with AWS config files; STS and IAM go to moto. */
function profileEnv(config: string, credentials: string, extra: Env = {}): Env {
  const dir = join(home, createHash("sha1").update(config + credentials + JSON.stringify(extra)).digest("hex").slice(0, 8));
  mkdirSync(join(dir, ".aws"), { recursive: true });
  writeFileSync(join(dir, ".aws", "config"), config);
  writeFileSync(join(dir, ".aws", "credentials"), credentials);
  return baseEnv({
    HOME: dir,
    AWS_CONFIG_FILE: join(dir, ".aws", "config"),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, ".aws", "credentials"),
    AWS_ENDPOINT_URL: moto.url,
    EKS_ACCESS_CACHE_DIR: join(dir, "cache"),
    ...extra,
  });
}

async function tokenIdentity(env: Env, args: string[]) {
  const r = runCli(["token", "--cluster-name", "demo", ...args], { env });
  assert.equal(r.status, 0, r.stderr);
  const token = JSON.parse(r.stdout).status.token as string;
  return { out: r, url: tokenUrl(r.stdout), id: await verifyToken(verifier.url, token, "demo") };
}

test("IAM user keys in a profile (seed 001 step 1): the verifier sees the user", async () => {
  const env = profileEnv("[profile kubedemy]\nregion = us-west-2\n", `[kubedemy]\naws_access_key_id = ${userKey.id}\naws_secret_access_key = ${userKey.secret}\n`);
  const { id } = await tokenIdentity(env, ["--profile", "kubedemy"]);
  assert.equal(id.status, 200);
  assert.equal(id.arn, "arn:aws:iam::123456789012:user/kubedemy");
});

test("the token is bound to its cluster: presented for another cluster it fails", async () => {
  const env = profileEnv("", `[default]\naws_access_key_id = ${userKey.id}\naws_secret_access_key = ${userKey.secret}\n`, { AWS_DEFAULT_REGION: "us-west-2" });
  const r = runCli(["token", "--cluster-name", "demo"], { env });
  const id = await verifyToken(verifier.url, JSON.parse(r.stdout).status.token, "other-cluster");
  assert.equal(id.status, 403);
  assert.equal(id.code, "SignatureDoesNotMatch");
});

test("role_arn + source_profile chain (seed 001 step 5)", async () => {
  const env = profileEnv(
    `[profile KubernetesAdmin]\nrole_arn = ${ROLE}\nsource_profile = default\nregion = us-west-2\n`,
    `[default]\naws_access_key_id = ${userKey.id}\naws_secret_access_key = ${userKey.secret}\n`,
  );
  const { id, url } = await tokenIdentity(env, ["--profile", "KubernetesAdmin"]);
  assert.equal(id.status, 200);
  assert.match(id.arn!, /^arn:aws:sts::123456789012:assumed-role\/Kubedemy_EKS_KubernetesAdmin\//);
  assert.ok(url.searchParams.get("X-Amz-Security-Token"), "session credentials carry a token");
});

test("AWS_PROFILE selects the profile like --profile", async () => {
  const env = profileEnv(
    `[profile KubernetesAdmin]\nrole_arn = ${ROLE}\nsource_profile = base\nregion = us-west-2\n`,
    `[base]\naws_access_key_id = ${userKey.id}\naws_secret_access_key = ${userKey.secret}\n`,
    { AWS_PROFILE: "KubernetesAdmin" },
  );
  const { id } = await tokenIdentity(env, []);
  assert.match(id.arn!, /assumed-role\/Kubedemy_EKS_KubernetesAdmin\//);
});

test("--role-arn assumes the role with session EKSGetTokenAuth; --session-name and --external-id pass through", async () => {
  const env = profileEnv("", "", { AWS_ACCESS_KEY_ID: userKey.id, AWS_SECRET_ACCESS_KEY: userKey.secret, AWS_DEFAULT_REGION: "us-west-2" });
  const a = await tokenIdentity(env, ["--role-arn", ROLE]);
  assert.equal(a.id.arn, "arn:aws:sts::123456789012:assumed-role/Kubedemy_EKS_KubernetesAdmin/EKSGetTokenAuth");
  const b = await tokenIdentity(env, ["--role-arn", ROLE, "--session-name", "alice", "--external-id", "ext-1"]);
  assert.equal(b.id.arn, "arn:aws:sts::123456789012:assumed-role/Kubedemy_EKS_KubernetesAdmin/alice");
});

test("credential_process, with its Expiration capping the token's expiry", async () => {
  const dir = join(home, "proc");
  mkdirSync(dir, { recursive: true });
  const script = join(dir, "creds.sh");
  writeFileSync(script, `#!/bin/sh\necho '{"Version":1,"AccessKeyId":"${userKey.id}","SecretAccessKey":"${userKey.secret}","Expiration":"2024-01-01T10:05:00Z"}'\n`);
  chmodSync(script, 0o755);
  const env = profileEnv(`[profile proc]\ncredential_process = ${script}\nregion = us-west-2\n`, "");
  const r = runCli(["token", "--cluster-name", "demo", "--profile", "proc"], { env, frozenAt: "2024-01-01 10:00:00" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).status.expirationTimestamp, "2024-01-01T10:05:00Z", "not the CLI's +14 min past the credentials");
  assert.equal(tokenUrl(r.stdout).searchParams.get("X-Amz-Credential")!.split("/")[0], userKey.id);
});

test("web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN)", async () => {
  const tokenFile = join(home, "web-identity-token");
  writeFileSync(tokenFile, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2ln");
  const env = profileEnv("", "", { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: ROLE, AWS_ROLE_SESSION_NAME: "ci-job", AWS_DEFAULT_REGION: "us-west-2" });
  const { id } = await tokenIdentity(env, []);
  assert.equal(id.status, 200, JSON.stringify(id));
  assert.match(id.arn!, /assumed-role\/Kubedemy_EKS_KubernetesAdmin\/ci-job$/);
});

test("expired SSO session (sso_session profile): one line naming `aws sso login --sso-session`", () => {
  const env = profileEnv(
    "[profile sso-admin]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = AdministratorAccess\nregion = us-west-2\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n",
    "",
  );
  const r = runCli(["token", "--cluster-name", "demo", "--profile", "sso-admin"], { env });
  assert.equal(r.status, 1);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^eks-access: error: the IAM Identity Center \(SSO\) session for profile "sso-admin" is expired or missing .*; run: aws sso login --sso-session corp\n$/);
});

test("expired legacy SSO profile: names `aws sso login --profile`", () => {
  const cacheDir = "sso/cache";
  const env = profileEnv(
    "[profile legacy]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = ReadOnly\nregion = us-west-2\n",
    "",
  );
  // an expired cached token, as `aws sso login` leaves it behind
  const dir = join(env["HOME"]!, ".aws", cacheDir);
  mkdirSync(dir, { recursive: true });
  const file = createHash("sha1").update("https://corp.awsapps.com/start").digest("hex");
  writeFileSync(join(dir, `${file}.json`), JSON.stringify({ startUrl: "https://corp.awsapps.com/start", region: "us-east-1", accessToken: "x", expiresAt: "2020-01-01T00:00:00Z" }));
  const r = runCli(["token", "--cluster-name", "demo", "--profile", "legacy"], { env });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /; run: aws sso login --profile legacy\n$/);
});

test("mfa_serial without a terminal: a clear error instead of a hang", () => {
  const env = profileEnv(
    `[profile mfa]\nrole_arn = ${ROLE}\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/kubedemy\nregion = us-west-2\n`,
    `[base]\naws_access_key_id = ${userKey.id}\naws_secret_access_key = ${userKey.secret}\n`,
  );
  const r = runCli(["token", "--cluster-name", "demo", "--profile", "mfa"], { env });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^eks-access: error: profile "mfa" needs an MFA code \(mfa_serial arn:aws:iam::123456789012:mfa\/kubedemy\) but no terminal is available/);
});

test("mfa_serial on a terminal: prompts on stderr, reads the code, signs", async () => {
  const env = profileEnv(
    `[profile mfa]\nrole_arn = ${ROLE}\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/kubedemy\nregion = us-west-2\n`,
    `[base]\naws_access_key_id = ${userKey.id}\naws_secret_access_key = ${userKey.secret}\n`,
  );
  // script(1) gives the command a pseudo-terminal; the code is typed through its stdin.
  const cli = join(process.cwd(), "bin", "eks-access");
  const r = run("script", ["-qec", `${cli} token --cluster-name demo --profile mfa`, "/dev/null"], { env, input: "123456\n" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Enter MFA code for arn:aws:iam::123456789012:mfa\/kubedemy: /);
  const json = r.stdout.slice(r.stdout.indexOf("{"));
  const id = await verifyToken(verifier.url, JSON.parse(json.replace(/\r/g, "")).status.token, "demo");
  assert.match(id.arn!, /assumed-role\/Kubedemy_EKS_KubernetesAdmin\//);
});

test("an undefined --profile is named in the error", () => {
  const env = profileEnv("[default]\nregion = us-west-2\n", "");
  const r = runCli(["token", "--cluster-name", "demo", "--profile", "nope"], { env });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /profile "nope" is not defined in your AWS config or credentials files/);
});

test("whoami: assumed role → role ARN to map; SSO role recognised with its path stripped", () => {
  aws(admin, "iam", "create-role", "--role-name", "AWSReservedSSO_AdministratorAccess_4b272cfed6132d4f", "--path", "/aws-reserved/sso.amazonaws.com/eu-west-1/", "--assume-role-policy-document", JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:root" }, Action: "sts:AssumeRole" }] }));
  const env = profileEnv(
    "[profile sso]\nrole_arn = arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AdministratorAccess_4b272cfed6132d4f\nsource_profile = base\nrole_session_name = prabesh\nregion = us-west-2\n",
    `[base]\naws_access_key_id = ${userKey.id}\naws_secret_access_key = ${userKey.secret}\n`,
  );
  const r = runCli(["whoami", "--profile", "sso", "-o", "json"], { env });
  assert.equal(r.status, 0, r.stderr);
  const o = JSON.parse(r.stdout);
  assert.equal(o.arn, "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_AdministratorAccess_4b272cfed6132d4f/prabesh");
  assert.equal(o.mapArn, "arn:aws:iam::123456789012:role/AWSReservedSSO_AdministratorAccess_4b272cfed6132d4f");
  assert.equal(o.sso.permissionSet, "AdministratorAccess");
  const text = runCli(["whoami", "--profile", "sso"], { env });
  assert.match(text.stdout, /Map this ARN\s+arn:aws:iam::123456789012:role\/AWSReservedSSO_AdministratorAccess_4b272cfed6132d4f\n/);
  assert.match(text.stdout, /without the \/aws-reserved\/sso\.amazonaws\.com\/ path/);
});

test("aws sts get-caller-identity agrees with whoami for an IAM user", () => {
  const env = profileEnv("", `[default]\naws_access_key_id = ${userKey.id}\naws_secret_access_key = ${userKey.secret}\n`, { AWS_DEFAULT_REGION: "us-west-2" });
  const cli = aws(env, "sts", "get-caller-identity") as { Arn: string; UserId: string };
  const ours = JSON.parse(runCli(["whoami", "-o", "json"], { env }).stdout);
  assert.equal(ours.arn, cli.Arn);
  assert.equal(ours.userId, cli.UserId);
  assert.equal(ours.type, "user");
});
