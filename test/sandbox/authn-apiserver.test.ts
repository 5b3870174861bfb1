/**
 * `eks-access serve` (the built CLI) as the TokenReview webhook of a real kube-apiserver, verifying
 * real tokens made by `eks-access token` with the real STS verifier adapter — STS reached through
 * the sandbox's plumbing (HTTPS_PROXY → gateway with a test-CA certificate for
 * sts.us-west-2.amazonaws.com → the local STS verifier → moto's identities), IAM the same way:
 *  - `serve init` writes the serving pair and the webhook kubeconfig the apiserver is started with;
 *  - kubectl auth whoami as mapped identities (the config file's MountedFile, kube-system/aws-auth
 *    watched through the API, a role mapped with its path and a user through its IAM group — the
 *    matches beyond the peer, switched on; an IAM Identity Center role by its permission set), an
 *    unmapped identity is Unauthorized and the
 *    apiserver logs serve's reason;
 *  - aws-auth changed with kubectl is picked up by the watch; made invalid mid-run the last good
 *    mappings stay and the error metric rises;
 *  - SIGTERM stops it cleanly; nothing it printed holds a token or a secret key.
 * Run under the lock: flock /tmp/eks-access-e2e.lock node --import tsx --test test/sandbox/authn-apiserver.test.ts
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { startMoto, type MotoServer } from "../../src/sandbox/emulator/moto.js";
import { startStsVerifier, type StsVerifier } from "../../src/sandbox/emulator/sts-verifier.js";
import { createTestCa, issueLeafCertificate } from "../../src/sandbox/emulator/tls.js";
import { sandboxAwsHosts, startAwsGateway, type AwsGateway } from "../../src/sandbox/emulator/aws-gateway.js";
import { startConnectProxy, type ConnectProxy } from "../../src/sandbox/emulator/connect-proxy.js";
import { freePort, poll } from "../../src/sandbox/emulator/net.js";
import { type KubeEnv, kubectl, requestText, startKube, writeTokenKubeconfig } from "../../src/sandbox/cluster/kube.js";
import { locatePeers } from "../../src/sandbox/cluster/peers.js";
import { baseEnv, cliPath, runCli, tempDir, type Env } from "../helpers.js";
import { aws } from "../aws-helpers.js";

const CLUSTER = "authn-test";
const ACCT = "123456789012";
const SERVE_SECRET = "serve-own-secret-key-DO-NOT-PRINT-0123456789";

let dir: string;
let cleanup: () => void;
let moto: MotoServer;
let sts: StsVerifier;
let gateway: AwsGateway;
let proxy: ConnectProxy;
let kube: KubeEnv;
let serve: ChildProcess | undefined;
let serveOutput = "";
let port: number;
let caPem: string;
const secrets: string[] = [SERVE_SECRET];
const tokens: string[] = [];
const envOf: Record<string, Env> = {};
const userIdOf: Record<string, string> = {};

const tokenFor = (who: string): string => {
  const r = runCli(["token", "--cluster-name", CLUSTER], { env: envOf[who]! });
  assert.equal(r.status, 0, r.stderr);
  const token = JSON.parse(r.stdout).status.token as string;
  tokens.push(token);
  return token;
};

async function whoami(who: string): Promise<{ code: number; user?: { username: string; groups: string[]; uid: string; extra?: Record<string, string[]> }; stderr: string }> {
  const kc = await writeTokenKubeconfig(join(dir, `${who}.kubeconfig`), { server: kube.server, caData: kube.caData, token: tokenFor(who) });
  const r = await kubectl(kc, ["auth", "whoami", "-o", "json"]);
  return r.code === 0 ? { code: 0, user: JSON.parse(r.stdout).status.userInfo, stderr: r.stderr } : { code: r.code, stderr: r.stderr };
}

const awsAuth = (mapUsers: string): string =>
  stringify({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "aws-auth", namespace: "kube-system" },
    data: {
      mapRoles: `- rolearn: arn:aws:iam::${ACCT}:role/teams/Dev\n  username: "dev:{{SessionNameRaw}}"\n  groups: [devs]\n- rolearn: arn:aws:iam::${ACCT}:role/AWSReservedSSO_Admin_fedcba9876543210\n  username: "sso:{{SessionNameRaw}}"\n  groups: [sso-admins]\n`,
      mapUsers,
    },
  });
const ALICE = (name: string): string => `- userarn: arn:aws:iam::${ACCT}:user/alice\n  username: ${name}\n  groups: [devs]\n- userarn: arn:aws:iam::${ACCT}:group/teams/readers\n  username: reader\n  groups: [readers]\n`;

async function applyAwsAuth(text: string): Promise<void> {
  const file = join(dir, "aws-auth.yaml");
  writeFileSync(file, text);
  const r = await kubectl(kube.adminKubeconfig, ["apply", "-f", file]);
  assert.equal(r.code, 0, r.stderr);
}

const metrics = async (): Promise<string> => (await requestText(`https://127.0.0.1:${port}/metrics`, { ca: caPem })).body;

before(async () => {
  const t = tempDir("eks-access-authn-kube-");
  dir = t.path;
  cleanup = t.cleanup;
  const peers = await locatePeers({ build: true, log: (l) => console.error(l) });
  moto = await startMoto();
  sts = await startStsVerifier({ motoUrl: moto.url });
  const ca = await createTestCa(join(dir, "pki"));
  const leaf = await issueLeafCertificate(ca, { name: "aws", dnsNames: sandboxAwsHosts("us-west-2") });
  gateway = await startAwsGateway({ tls: { cert: leaf.certPem, key: leaf.keyPem }, verifierUrl: sts.url, awsUrl: moto.url });
  proxy = await startConnectProxy({ routes: Object.fromEntries(sandboxAwsHosts("us-west-2").map((h) => [`${h}:443`, gateway.port])) });

  // IAM in moto: alice, carol (in group /teams/readers), bob, a stranger; role /teams/Dev
  const admin = baseEnv({ AWS_ACCESS_KEY_ID: "admin", AWS_SECRET_ACCESS_KEY: "admin", AWS_DEFAULT_REGION: "us-west-2", AWS_ENDPOINT_URL: moto.url });
  const tokenEnv = (id: string, secret: string, sessionToken?: string): Env => {
    secrets.push(secret, ...(sessionToken ? [sessionToken] : []));
    return baseEnv({ AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret, ...(sessionToken ? { AWS_SESSION_TOKEN: sessionToken } : {}), AWS_DEFAULT_REGION: "us-west-2", EKS_ACCESS_NO_CACHE: "1" });
  };
  for (const name of ["alice", "carol", "bob", "stranger"]) {
    aws(admin, "iam", "create-user", "--user-name", name);
    const key = (aws(admin, "iam", "create-access-key", "--user-name", name) as { AccessKey: { AccessKeyId: string; SecretAccessKey: string } }).AccessKey;
    envOf[name] = tokenEnv(key.AccessKeyId, key.SecretAccessKey);
    userIdOf[name] = (aws(admin, "iam", "get-user", "--user-name", name) as { User: { UserId: string } }).User.UserId;
  }
  aws(admin, "iam", "create-group", "--group-name", "readers", "--path", "/teams/");
  aws(admin, "iam", "add-user-to-group", "--group-name", "readers", "--user-name", "carol");
  const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCT}:user/alice` }, Action: "sts:AssumeRole" }] });
  aws(admin, "iam", "create-role", "--role-name", "Dev", "--path", "/teams/", "--assume-role-policy-document", trust);
  const s = aws({ ...admin, AWS_ACCESS_KEY_ID: envOf["alice"]!["AWS_ACCESS_KEY_ID"], AWS_SECRET_ACCESS_KEY: envOf["alice"]!["AWS_SECRET_ACCESS_KEY"] }, "sts", "assume-role", "--role-arn", `arn:aws:iam::${ACCT}:role/teams/Dev`, "--role-session-name", "alice@example.com") as {
    Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string };
  };
  envOf["dev"] = tokenEnv(s.Credentials.AccessKeyId, s.Credentials.SecretAccessKey, s.Credentials.SessionToken);
  // an IAM Identity Center role whose assignment was re-created: a new suffix, aws-auth still names the old one
  aws(admin, "iam", "create-role", "--role-name", "AWSReservedSSO_Admin_0123456789abcdef", "--path", "/aws-reserved/sso.amazonaws.com/us-west-2/", "--assume-role-policy-document", trust);
  const sso = aws({ ...admin, AWS_ACCESS_KEY_ID: envOf["alice"]!["AWS_ACCESS_KEY_ID"], AWS_SECRET_ACCESS_KEY: envOf["alice"]!["AWS_SECRET_ACCESS_KEY"] }, "sts", "assume-role", "--role-arn", `arn:aws:iam::${ACCT}:role/aws-reserved/sso.amazonaws.com/us-west-2/AWSReservedSSO_Admin_0123456789abcdef`, "--role-session-name", "bob@example.com") as {
    Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string };
  };
  envOf["sso"] = tokenEnv(sso.Credentials.AccessKeyId, sso.Credentials.SecretAccessKey, sso.Credentials.SessionToken);

  // serve init: the serving pair and the webhook kubeconfig, before the apiserver starts
  port = await freePort();
  const state = join(dir, "state");
  const webhookKubeconfig = join(dir, "authn-webhook.yaml");
  const init = runCli(["serve", "init", "--state-dir", state, "--hostname", "127.0.0.1", "--port", String(port), "--generate-kubeconfig", webhookKubeconfig], { env: baseEnv() });
  assert.equal(init.status, 0, init.stderr);
  caPem = readFileSync(join(state, "cert.pem"), "utf8");
  kube = await startKube({
    dir: join(dir, "kube"),
    peers,
    extraApiserverArgs: [`--authentication-token-webhook-config-file=${webhookKubeconfig}`, "--authentication-token-webhook-version=v1", "--authentication-token-webhook-cache-ttl=0s"],
  });
  await applyAwsAuth(awsAuth(ALICE("alice")));

  const config = join(dir, "authenticator.yaml");
  writeFileSync(
    config,
    stringify({
      clusterID: CLUSTER,
      server: { backendMode: ["MountedFile", "EKSConfigMap"], mapUsers: [{ userarn: `arn:aws:iam::${ACCT}:user/bob`, username: "bob-from-config", groups: ["system:masters"] }] },
    }),
  );
  const env = baseEnv({
    HTTPS_PROXY: proxy.url,
    NO_PROXY: "127.0.0.1,localhost",
    AWS_CA_BUNDLE: ca.certPath,
    AWS_ACCESS_KEY_ID: "AKIASERVEOWNKEY",
    AWS_SECRET_ACCESS_KEY: SERVE_SECRET,
    AWS_REGION: "us-west-2",
  });
  serve = spawn(cliPath, ["serve", "--config", config, "--state-dir", state, "--kubeconfig-pregenerated", "--port", String(port), "--kubeconfig", kube.adminKubeconfig, "--match-role-paths", "--match-iam-groups", "--match-sso-permission-sets"], {
    env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  serve.stdout!.on("data", (d: Buffer) => (serveOutput += d.toString()));
  serve.stderr!.on("data", (d: Buffer) => (serveOutput += d.toString()));
  const ready = await poll(() => requestText(`https://127.0.0.1:${port}/readyz`, { ca: caPem }), (r) => r.status === 200, 300);
  assert.ok(ready.held, `serve did not become ready: ${serveOutput}`);
});

after(async () => {
  if (serve && serve.exitCode === null) serve.kill("SIGKILL");
  await kube?.stop();
  await proxy?.stop();
  await gateway?.stop();
  await sts?.stop();
  await moto?.stop();
  cleanup?.();
});

describe("eks-access serve behind kube-apiserver", () => {
  it("kubectl auth whoami: the mapped user, uid and groups from the config file and from aws-auth", async () => {
    const alice = await whoami("alice");
    assert.equal(alice.code, 0, alice.stderr);
    assert.equal(alice.user!.username, "alice");
    assert.deepEqual(alice.user!.groups, ["devs", "system:authenticated"]);
    assert.equal(alice.user!.uid, `aws-iam-authenticator:${ACCT}:${userIdOf["alice"]}`);
    assert.deepEqual(alice.user!.extra?.["principalId"], [userIdOf["alice"]]);
    assert.deepEqual(alice.user!.extra?.["arn"], [`arn:aws:iam::${ACCT}:user/alice`]);
    assert.deepEqual(Object.keys(alice.user!.extra ?? {}).sort(), ["accessKeyId", "arn", "canonicalArn", "principalId", "sessionName"]);
    const bob = await whoami("bob");
    assert.deepEqual([bob.user?.username, bob.user?.groups], ["bob-from-config", ["system:masters", "system:authenticated"]]);
  });

  it("beyond the peer: a role mapped with its path, a user through its IAM group, an SSO role by its permission set", async () => {
    const dev = await whoami("dev");
    assert.equal(dev.code, 0, dev.stderr);
    assert.deepEqual([dev.user!.username, dev.user!.groups], ["dev:alice@example.com", ["devs", "system:authenticated"]]);
    assert.deepEqual(dev.user!.extra?.["canonicalArn"], [`arn:aws:iam::${ACCT}:role/Dev`]);
    const carol = await whoami("carol");
    assert.deepEqual([carol.user?.username, carol.user?.groups], ["reader", ["readers", "system:authenticated"]]);
    const sso = await whoami("sso");
    assert.deepEqual([sso.user?.username, sso.user?.groups], ["sso:bob@example.com", ["sso-admins", "system:authenticated"]], sso.stderr);
    const m = await metrics();
    assert.match(m, /eks_access_authn_beyond_peer_matches_total\{kind="sso-permission-set"\} 1/);
    assert.match(m, /eks_access_authn_beyond_peer_matches_total\{kind="role-path"\} [1-9]/);
    assert.match(m, /eks_access_authn_beyond_peer_matches_total\{kind="iam-group"\} [1-9]/);
  });

  it("an unmapped identity is Unauthorized, and the apiserver logs serve's reason", async () => {
    const r = await whoami("stranger");
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Unauthorized|provide credentials/);
    const log = readFileSync(join(kube.dir, "kube-apiserver.log"), "utf8");
    assert.match(log, new RegExp(`Failed to make webhook authenticator request: arn:aws:iam::${ACCT}:user/stranger is not mapped`));
  });

  it("aws-auth changed with kubectl is picked up by the watch", async () => {
    await applyAwsAuth(awsAuth(ALICE("alice-renamed")));
    const r = await poll(() => whoami("alice"), (w) => w.user?.username === "alice-renamed", 100);
    assert.ok(r.held, serveOutput);
  });

  it("aws-auth made invalid mid-run: the last good mappings stay and the error metric rises; valid again clears it", async () => {
    await applyAwsAuth(awsAuth("- userarn: [unclosed\n"));
    const stale = await poll(metrics, (m) => /eks_access_authn_mapping_stale\{backend="EKSConfigMap"\} 1/.test(m), 100);
    assert.ok(stale.held, serveOutput);
    assert.match(stale.value, /eks_access_authn_mapping_load_failures_total\{backend="EKSConfigMap"\} 1/);
    assert.equal((await whoami("alice")).user?.username, "alice-renamed", "the last good aws-auth");
    assert.match(serveOutput, /"msg":"aws-auth is not valid: keeping the last good mappings"/);
    await applyAwsAuth(awsAuth(ALICE("alice-again")));
    assert.ok((await poll(() => whoami("alice"), (w) => w.user?.username === "alice-again", 100)).held);
    assert.match(await metrics(), /eks_access_authn_mapping_stale\{backend="EKSConfigMap"\} 0/);
  });

  it("SIGTERM stops it cleanly; nothing it printed holds a token or a secret key", async () => {
    const exited = new Promise<number | null>((r) => serve!.once("exit", (code) => r(code)));
    serve!.kill("SIGTERM");
    assert.equal(await exited, 0, serveOutput);
    assert.match(serveOutput, /"msg":"shutting down: no new connections; reviews in flight finish"/);
    assert.ok(tokens.length >= 6 && secrets.length >= 7, "control: tokens and secrets were used");
    for (const s of [...tokens, ...tokens.map((t) => t.slice(11, 60)), ...secrets]) assert.ok(!serveOutput.includes(s), `serve printed a secret: ${s.slice(0, 12)}…`);
    // control: the log is there and names identities
    assert.match(serveOutput, /"msg":"access granted"/);
    assert.match(serveOutput, /"msg":"access denied"/);
  });
});
