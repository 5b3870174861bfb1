/**
 * Sharing the AWS CLI's credential cache (~/.aws/cli/cache) with the real AWS CLI v1, against
 * moto_server: what `aws … --profile p` cached (after its MFA prompt) eks-access uses without an
 * AssumeRole or a prompt, and the other way round; 8 concurrent `eks-access token` processes on a
 * miss prompt once and assume once; bad entries are ignored; `cache clear --aws` removes only
 * eks-access's entries; --debug tells where credentials came from and never prints a secret.
 */
import { before, after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { startMoto, motoState, type MotoServer } from "../../src/sandbox/emulator/moto.js";
import { startStsVerifier, type StsVerifier } from "../../src/sandbox/emulator/sts-verifier.js";
import { baseEnv, cliPath, run, runCli, tempDir, type Env, type RunResult } from "../helpers.js";
import { aws, verifyToken } from "../aws-helpers.js";

let moto: MotoServer;
let verifier: StsVerifier;
let root: string;
let cleanup: () => void;
let userKey: { id: string; secret: string };
const ROLE = "arn:aws:iam::123456789012:role/CacheAdmin";
const MFA = "arn:aws:iam::123456789012:mfa/cacheuser";
let homes = 0;

before(async () => {
  moto = await startMoto();
  verifier = await startStsVerifier({ motoUrl: moto.url });
  const t = tempDir();
  root = t.path;
  cleanup = t.cleanup;
  const admin = baseEnv({ AWS_ACCESS_KEY_ID: "admin", AWS_SECRET_ACCESS_KEY: "admin", AWS_DEFAULT_REGION: "us-west-2", AWS_ENDPOINT_URL: moto.url });
  aws(admin, "iam", "create-user", "--user-name", "cacheuser");
  const key = aws(admin, "iam", "create-access-key", "--user-name", "cacheuser") as { AccessKey: { AccessKeyId: string; SecretAccessKey: string } };
  userKey = { id: key.AccessKey.AccessKeyId, secret: key.AccessKey.SecretAccessKey };
  const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:user/cacheuser" }, Action: "sts:AssumeRole" }] });
  aws(admin, "iam", "create-role", "--role-name", "CacheAdmin", "--assume-role-policy-document", trust);
});

after(async () => {
  await verifier?.stop();
  await moto?.stop();
  cleanup?.();
});

const PROFILES = `[profile mfa]
role_arn = ${ROLE}
source_profile = base
mfa_serial = ${MFA}
region = us-west-2

[profile plain]
role_arn = ${ROLE}
source_profile = base
role_session_name = plain-session
region = us-west-2
`;

/** A fresh HOME with the profiles; STS goes to moto (AWS CLI and eks-access alike). */
function freshHome(): Env {
  const dir = join(root, `home-${homes++}`);
  mkdirSync(join(dir, ".aws"), { recursive: true });
  writeFileSync(join(dir, ".aws", "config"), PROFILES);
  writeFileSync(join(dir, ".aws", "credentials"), `[base]\naws_access_key_id = ${userKey.id}\naws_secret_access_key = ${userKey.secret}\n`);
  return baseEnv({
    HOME: dir,
    AWS_CONFIG_FILE: join(dir, ".aws", "config"),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, ".aws", "credentials"),
    AWS_ENDPOINT_URL: moto.url,
    EKS_ACCESS_CACHE_DIR: join(dir, "token-cache"),
  });
}

/** botocore's file for a role_arn profile's settings: sha1 of json.dumps(args, sort_keys=True). */
const keyFile = (env: Env, args: Record<string, string>): string => {
  const json = `{${Object.keys(args).sort().map((k) => `"${k}": "${args[k]}"`).join(", ")}}`;
  return join(env["HOME"]!, ".aws", "cli", "cache", `${createHash("sha1").update(json).digest("hex")}.json`);
};
const mfaFile = (env: Env): string => keyFile(env, { RoleArn: ROLE, SerialNumber: MFA });
const plainFile = (env: Env): string => keyFile(env, { RoleArn: ROLE, RoleSessionName: "plain-session" });

const assumeCount = async (): Promise<number> => (await motoState(moto.url)).assumedRoles.filter((r) => r.roleArn === ROLE).length;

/**
 * Runs a command line on a pseudo-terminal (script(1)), typing `input` once an MFA prompt shows
 * (botocore's getpass flushes what was typed ahead); asynchronous so many can run at once.
 */
function onTerminal(commandLine: string, env: Env, input = "123456\n"): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv;
    const p = spawn("script", ["-qec", commandLine, "/dev/null"], { env: clean, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let typed = false;
    p.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (!typed && /Enter MFA code/.test(stdout)) {
        typed = true;
        p.stdin.end(input);
      }
    });
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => {
      if (!typed) p.stdin.destroy();
      resolve({ status: code ?? -1, stdout, stderr });
    });
  });
}

const tokenOf = (terminalOut: string): string => JSON.parse(terminalOut.slice(terminalOut.indexOf("{")).replace(/\r/g, "")).status.token as string;
const PROMPT = /Enter MFA code for arn:aws:iam::123456789012:mfa\/cacheuser: /g;

test("the AWS CLI assumed the MFA role (and prompted): eks-access uses its cache entry, no AssumeRole, no prompt", async () => {
  const env = freshHome();
  const cli = await onTerminal("aws sts get-caller-identity --profile mfa --output json", env);
  assert.equal(cli.status, 0, cli.stdout + cli.stderr);
  assert.match(cli.stdout, PROMPT, "control: the AWS CLI did prompt");
  assert.ok(existsSync(mfaFile(env)), `the AWS CLI wrote ${mfaFile(env)}`);
  const before = await assumeCount();
  // no terminal: a prompt would fail the command
  const r = runCli(["token", "--cluster-name", "demo", "--profile", "mfa", "--debug"], { env });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(await assumeCount(), before, "no AssumeRole");
  assert.ok(r.stderr.includes(`role_arn ${ROLE} via AWS CLI cache hit ${mfaFile(env)}`), r.stderr);
  const id = await verifyToken(verifier.url, JSON.parse(r.stdout).status.token, "demo");
  assert.match(id.arn!, /^arn:aws:sts::123456789012:assumed-role\/CacheAdmin\/botocore-session-/, "signed with the AWS CLI's session");
});

test("eks-access assumed the MFA role (and prompted): the AWS CLI, with no terminal, uses the entry; file 0600, folder 0700", async () => {
  const env = freshHome();
  const before = await assumeCount();
  const r = await onTerminal(`${cliPath} token --cluster-name demo --profile mfa`, env);
  assert.equal(r.status, 0, r.stdout);
  assert.equal(r.stdout.match(PROMPT)?.length, 1);
  assert.equal(await assumeCount(), before + 1);
  const file = mfaFile(env);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(join(env["HOME"]!, ".aws", "cli", "cache")).mode & 0o777, 0o700);
  assert.deepEqual(readdirSync(join(env["HOME"]!, ".aws", "cli", "cache")), [file.split("/").pop()], "no temp file left behind");
  const entry = JSON.parse(readFileSync(file, "utf8"));
  assert.ok(entry.EksAccess, "marked as eks-access's");
  // the AWS CLI: no terminal and empty stdin, so getpass would fail if it had to ask
  const cli = run("aws", ["sts", "get-caller-identity", "--profile", "mfa", "--output", "json"], { env });
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(await assumeCount(), before + 1, "the AWS CLI made no AssumeRole");
  assert.match(JSON.parse(cli.stdout).Arn, /assumed-role\/CacheAdmin\/aws-sdk-js-/, "the AWS CLI runs as eks-access's session");
  // and a second eks-access run, after `cache clear` of the token cache, also needs no prompt
  assert.equal(runCli(["cache", "clear"], { env }).status, 0);
  const again = runCli(["token", "--cluster-name", "demo", "--profile", "mfa"], { env });
  assert.equal(again.status, 0, again.stderr);
  assert.equal(await assumeCount(), before + 1);
});

test("8 concurrent eks-access token processes on a miss with an MFA profile: one prompt, one AssumeRole, 8 identical tokens", async () => {
  const env = freshHome();
  const before = await assumeCount();
  const outs = await Promise.all(Array.from({ length: 8 }, () => onTerminal(`${cliPath} token --cluster-name demo --profile mfa`, env)));
  for (const o of outs) assert.equal(o.status, 0, o.stdout);
  const prompts = outs.reduce((n, o) => n + (o.stdout.match(PROMPT)?.length ?? 0), 0);
  assert.equal(prompts, 1, outs.map((o) => o.stdout).join("\n---\n"));
  assert.equal(await assumeCount(), before + 1);
  const tokens = new Set(outs.map((o) => tokenOf(o.stdout)));
  assert.equal(tokens.size, 1);
  const id = await verifyToken(verifier.url, [...tokens][0]!, "demo");
  assert.match(id.arn!, /assumed-role\/CacheAdmin\//);
  assert.deepEqual(readdirSync(env["EKS_ACCESS_CACHE_DIR"]!).filter((f) => f.endsWith(".lock")), [], "every lock was released");
});

test("a corrupt, group-writable, symlinked or foreign-owned entry is ignored (and replaced by a good one)", async () => {
  const bad: Array<[string, (file: string) => void]> = [
    ["corrupt", (f) => writeFileSync(f, "{not json", { mode: 0o600 })],
    ["group-writable", (f) => {
      writeFileSync(f, JSON.stringify({ Credentials: { AccessKeyId: "ASIAEVIL", SecretAccessKey: "x", SessionToken: "y", Expiration: "2999-01-01T00:00:00UTC" } }));
      chmodSync(f, 0o620);
    }],
    ["foreign-owned", (f) => {
      writeFileSync(f, JSON.stringify({ Credentials: { AccessKeyId: "ASIAEVIL", SecretAccessKey: "x", SessionToken: "y", Expiration: "2999-01-01T00:00:00UTC" } }), { mode: 0o600 });
      chownSync(f, 65534, 65534);
    }],
  ];
  for (const [what, make] of bad) {
    if (what === "foreign-owned" && process.getuid?.() !== 0) continue; // only root can give a file away
    const env = freshHome();
    const file = plainFile(env);
    mkdirSync(join(env["HOME"]!, ".aws", "cli", "cache"), { recursive: true, mode: 0o700 });
    make(file);
    const before = await assumeCount();
    const r = runCli(["token", "--cluster-name", "demo", "--profile", "plain"], { env });
    assert.equal(r.status, 0, `${what}: ${r.stderr}`);
    assert.equal(await assumeCount(), before + 1, `${what}: the entry was not used`);
    assert.doesNotMatch(r.stdout + r.stderr, /ASIAEVIL/);
    const st = statSync(file);
    assert.equal(st.uid, process.getuid?.(), what);
    assert.equal(st.mode & 0o777, 0o600, what);
    assert.ok(JSON.parse(readFileSync(file, "utf8")).EksAccess, `${what}: replaced by eks-access's entry`);
  }
});

test("--debug / EKS_ACCESS_DEBUG=1 report profile, region, credential source, cache files and endpoint, and never a secret", async () => {
  const env = freshHome();
  const miss = runCli(["token", "--cluster-name", "demo", "--profile", "plain", "--debug"], { env });
  assert.equal(miss.status, 0, miss.stderr);
  const hit = runCli(["token", "--cluster-name", "demo", "--profile", "plain"], { env: { ...env, EKS_ACCESS_DEBUG: "1" } });
  const envCreds = runCli(["token", "--cluster-name", "demo", "--no-cache", "--debug"], { env: { ...env, AWS_ACCESS_KEY_ID: userKey.id, AWS_SECRET_ACCESS_KEY: userKey.secret, AWS_REGION: "eu-west-1" } });
  const whoami = runCli(["whoami", "--profile", "plain"], { env: { ...env, EKS_ACCESS_DEBUG: "1" } });
  for (const r of [hit, envCreds, whoami]) assert.equal(r.status, 0, r.stderr);
  const lines = (r: RunResult): string[] => r.stderr.split("\n").filter(Boolean);
  for (const r of [miss, hit, envCreds, whoami]) for (const l of lines(r)) assert.match(l, /^eks-access: debug: /);
  assert.match(miss.stderr, /debug: profile: plain \(--profile\)\n/);
  assert.match(miss.stderr, /debug: region: us-west-2 \(profile plain\)\n/);
  assert.match(miss.stderr, /debug: token cache: miss \S+\.json\n/);
  assert.ok(miss.stderr.includes(`assumed now and cached in ${plainFile(env)}`), miss.stderr);
  assert.ok(miss.stderr.includes(`debug: STS endpoint: ${moto.url}/`), miss.stderr);
  assert.match(hit.stderr, /^eks-access: debug: token cache: hit \S+\.json\n$/);
  assert.match(envCreds.stderr, /region: eu-west-1 \(AWS_REGION\)/);
  assert.match(envCreds.stderr, /credentials: environment/);
  assert.match(envCreds.stderr, /token cache: off/);
  assert.ok(whoami.stderr.includes(`via AWS CLI cache hit ${plainFile(env)}`), whoami.stderr);
  // the secrets: the user's secret key, the role session's secret and token, the tokens printed
  const entry = JSON.parse(readFileSync(plainFile(env), "utf8")).Credentials;
  const secrets = [userKey.secret, entry.SecretAccessKey, entry.SessionToken, ...[miss, hit, envCreds].map((r) => JSON.parse(r.stdout).status.token as string)];
  const session = (await motoState(moto.url)).assumedRoles.find((a) => a.accessKeyId === entry.AccessKeyId);
  assert.ok(session, "control: the cached session is moto's");
  for (const r of [miss, hit, envCreds, whoami]) {
    for (const s of [...secrets, session.secretAccessKey, session.sessionToken]) assert.ok(!r.stderr.includes(s), "a secret in the debug output");
  }
  const token = JSON.parse(miss.stdout).status.token as string;
  assert.ok(!miss.stderr.includes(token.slice("k8s-aws-v1.".length, 40)));
});

test("cache clear --aws removes the token cache and eks-access's AWS CLI entries, not the AWS CLI's own", async () => {
  const env = freshHome();
  const cli = run("aws", ["sts", "get-caller-identity", "--profile", "plain", "--output", "json"], { env }); // the AWS CLI's own entry
  assert.equal(cli.status, 0, cli.stderr);
  const theirs = plainFile(env);
  const r = await onTerminal(`${cliPath} token --cluster-name demo --profile mfa`, env); // eks-access's entry
  assert.equal(r.status, 0, r.stdout);
  const ours = mfaFile(env);
  const foreign = join(env["EKS_ACCESS_CACHE_DIR"]!, "not-ours.txt");
  writeFileSync(foreign, "x");
  assert.ok(existsSync(ours) && existsSync(theirs));
  const plain = runCli(["cache", "clear"], { env });
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(plain.stdout, /^Removed 1 cached token from \S+token-cache\n$/);
  assert.ok(existsSync(ours), "without --aws the AWS CLI cache is left alone");
  const all = runCli(["cache", "clear", "--aws"], { env });
  assert.equal(all.status, 0, all.stderr);
  assert.match(all.stdout, /Removed 1 eks-access entry from \S+\/\.aws\/cli\/cache/);
  assert.ok(!existsSync(ours));
  assert.ok(existsSync(theirs), "the AWS CLI's entry stays");
  assert.ok(existsSync(foreign), "files eks-access did not make stay");
});

test("EKS_ACCESS_AWS_CLI_CACHE_DIR moves eks-access's AWS CLI cache (a throw-away account's sessions stay apart); off turns it off", async () => {
  const env = freshHome();
  const elsewhere = join(env["HOME"]!, "sandbox-aws-cli-cache");
  const moved = { ...env, EKS_ACCESS_AWS_CLI_CACHE_DIR: elsewhere };
  const before = await assumeCount();
  assert.equal(runCli(["token", "--cluster-name", "demo", "--profile", "plain", "--no-cache"], { env: moved }).status, 0);
  assert.ok(existsSync(join(elsewhere, plainFile(env).split("/").pop()!)), "written in the named folder");
  assert.ok(!existsSync(plainFile(env)), "not in ~/.aws/cli/cache");
  assert.equal(runCli(["token", "--cluster-name", "demo", "--profile", "plain", "--no-cache"], { env: moved }).status, 0);
  assert.equal(await assumeCount(), before + 1, "reused from there");
  const off = { ...env, EKS_ACCESS_AWS_CLI_CACHE_DIR: "off" };
  for (let i = 0; i < 2; i++) assert.equal(runCli(["token", "--cluster-name", "demo", "--profile", "plain", "--no-cache"], { env: off }).status, 0);
  assert.equal(await assumeCount(), before + 3, "off: every call assumes");
  assert.ok(!existsSync(plainFile(env)));
});
