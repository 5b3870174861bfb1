/**
 * `eks-access serve --access-entries-from eks`: the built CLI reads an EKS cluster's access entries
 * from the EKS API (the sandbox's EKS front over moto_server, with moto's test keys in the
 * environment) and answers SubjectAccessReviews from them; associating and disassociating a policy
 * with the AWS CLI changes the answers within a few refreshes; when the EKS endpoint goes away, the
 * last good set is kept and one line (no secret) says so. Plus the flags' usage errors.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:https";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startEksFront, type EksFront } from "../../src/sandbox/emulator/eks-front.js";
import { startMoto, type MotoServer } from "../../src/sandbox/emulator/moto.js";
import { createTestCa, issueLeafCertificate, type PemPair } from "../../src/sandbox/emulator/tls.js";
import { baseEnv, cliPath, runAsync, runCli, tempDir, type Env } from "../helpers.js";

const REGION = "us-west-2";
const VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
/** how long a change may take to show (refreshes are every 200 ms) */
const BOUND_MS = 15_000;

let moto: MotoServer;
let front: EksFront;
let dir: ReturnType<typeof tempDir>;
let caPem: string;
let leaf: PemPair;
let env: Env;
let secret: string;
let devArn: string;
let devId: string;
let creatorId: string;
let serve: { proc: ChildProcess; url: string; stderr: () => string } | undefined;

async function aws(e: Env, ...args: string[]): Promise<any> {
  const r = await runAsync("aws", [...args, "--output", "json"], e);
  assert.equal(r.status, 0, `aws ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : {};
}

/** POSTs a SubjectAccessReview for `list pods` in `namespace` by the principal with that unique id. */
function review(url: string, principalId: string, namespace: string): Promise<{ allowed: boolean; reason?: string }> {
  const body = JSON.stringify({
    apiVersion: "authorization.k8s.io/v1",
    kind: "SubjectAccessReview",
    spec: { user: "someone", groups: [], extra: { principalId: [principalId] }, resourceAttributes: { namespace, verb: "list", version: "v1", resource: "pods" } },
  });
  return new Promise((resolve, reject) => {
    const req = request(`${url}/authorize`, { method: "POST", ca: caPem, agent: false, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (c: string) => (text += c));
      res.on("end", () => {
        try {
          resolve(JSON.parse(text).status);
        } catch (err) {
          reject(new Error(`${res.statusCode}: ${text} (${String(err)})`));
        }
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Polls `check` until it holds, at most BOUND_MS (no fixed sleeps: the bound only caps a failure). */
async function eventually(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + BOUND_MS;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`not within ${BOUND_MS} ms: ${what}; serve said:\n${serve?.stderr() ?? ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function startServe(args: string[]): Promise<NonNullable<typeof serve>> {
  const proc = spawn(cliPath, ["serve", "--port", "0", "--tls-cert-file", leaf.certPath, "--tls-private-key-file", leaf.keyPath, ...args], {
    env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`serve exited (${code}): ${stderr}`));
    proc.once("exit", onExit);
    const poll = setInterval(() => {
      const m = /SubjectAccessReview at (https:\/\/127\.0\.0\.1:\d+)\/authorize/.exec(stderr);
      if (m) {
        clearInterval(poll);
        proc.off("exit", onExit);
        resolve({ proc, url: m[1]!, stderr: () => stderr });
      }
    }, 20);
    proc.once("exit", () => clearInterval(poll));
  });
}

before(async () => {
  dir = tempDir();
  moto = await startMoto();
  front = await startEksFront({ motoUrl: moto.url });
  const ca = await createTestCa(join(dir.path, "pki"), { name: "serve-ca" });
  caPem = ca.certPem;
  leaf = await issueLeafCertificate(ca, { name: "serve", ipAddresses: ["127.0.0.1"] });
  const admin = baseEnv({ HOME: dir.path, AWS_ACCESS_KEY_ID: "setup", AWS_SECRET_ACCESS_KEY: "setup", AWS_DEFAULT_REGION: REGION, AWS_ENDPOINT_URL: front.url });
  const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "eks.amazonaws.com" }, Action: "sts:AssumeRole" }] });
  const [dev, creator] = await Promise.all([
    aws(admin, "iam", "create-role", "--role-name", "dev", "--path", "/team/", "--assume-role-policy-document", trust),
    aws(admin, "iam", "create-user", "--user-name", "creator"),
  ]);
  devArn = dev.Role.Arn;
  devId = dev.Role.RoleId;
  creatorId = creator.User.UserId;
  const key = (await aws(admin, "iam", "create-access-key", "--user-name", "creator")).AccessKey;
  secret = key.SecretAccessKey;
  // serve's environment: moto's keys, the region, IAM straight at moto (the EKS endpoint is a flag)
  env = baseEnv({ HOME: dir.path, AWS_ACCESS_KEY_ID: key.AccessKeyId, AWS_SECRET_ACCESS_KEY: secret, AWS_REGION: REGION, AWS_DEFAULT_REGION: REGION, AWS_ENDPOINT_URL_IAM: moto.url, EKS_ACCESS_AWS_CLI_CACHE_DIR: "off" });
  const cli = { ...env, AWS_ENDPOINT_URL: front.url };
  // the creator gets the bootstrap ClusterAdmin entry, as on EKS
  await aws(cli, "eks", "create-cluster", "--name", "prod", "--role-arn", devArn, "--resources-vpc-config", "subnetIds=subnet-1", "--access-config", "authenticationMode=API");
  await aws(cli, "eks", "create-access-entry", "--cluster-name", "prod", "--principal-arn", devArn);
});

after(async () => {
  serve?.proc.kill("SIGTERM");
  await front?.stop();
  await moto?.stop();
  dir?.cleanup();
});

describe("serve --access-entries-from eks", () => {
  it("answers from the cluster's access entries and follows associate/disassociate-access-policy", async () => {
    serve = await startServe(["--access-entries-from", "eks", "--cluster-name", "prod", "--endpoint-url", front.url, "--refresh-interval", "200ms"]);
    assert.match(serve.stderr(), /access entries: EKS cluster prod \(us-west-2\), refreshed every 200ms\)/);
    assert.match(serve.stderr(), /access entries of EKS cluster prod: 2 entries, 1 with access policies/);
    const url = serve.url;
    const admin = await review(url, creatorId, "default");
    assert.equal(admin.allowed, true, "the creator's bootstrap ClusterAdmin entry");
    assert.match(admin.reason ?? "", /AmazonEKSClusterAdminPolicy \(cluster scope\)/);
    assert.deepEqual(await review(url, devId, "team-a"), { allowed: false }, "an entry without policies: no opinion");
    const cli = { ...env, AWS_ENDPOINT_URL: undefined };
    await aws(cli, "eks", "associate-access-policy", "--cluster-name", "prod", "--principal-arn", devArn, "--policy-arn", VIEW, "--access-scope", "type=namespace,namespaces=team-a", "--endpoint-url", front.url);
    await eventually("dev is allowed in team-a", async () => (await review(url, devId, "team-a")).allowed);
    assert.match((await review(url, devId, "team-a")).reason ?? "", /AmazonEKSViewPolicy \(namespace scope team-a\) of the access entry for arn:aws:iam::\d{12}:role\/team\/dev/);
    assert.deepEqual(await review(url, devId, "team-b"), { allowed: false }, "outside the scope: no opinion");
    assert.deepEqual(await review(url, `${devId}:alice`, "team-a").then((s) => s.allowed), true, "an assumed-role session's principal id");
    await aws(cli, "eks", "disassociate-access-policy", "--cluster-name", "prod", "--principal-arn", devArn, "--policy-arn", VIEW, "--endpoint-url", front.url);
    await eventually("dev is no longer allowed in team-a", async () => !(await review(url, devId, "team-a")).allowed);
  });

  it("keeps the last good set when the EKS endpoint goes away, and says so in one line without a secret", async () => {
    assert.ok(serve, "serve runs (previous test)");
    await aws({ ...env, AWS_ENDPOINT_URL: front.url }, "eks", "associate-access-policy", "--cluster-name", "prod", "--principal-arn", devArn, "--policy-arn", VIEW, "--access-scope", "type=cluster");
    await eventually("dev is allowed everywhere", async () => (await review(serve!.url, devId, "team-b")).allowed);
    await front.stop();
    const refused = /^eks-access serve: access entries of EKS cluster prod: refresh failed: eks:ListAccessEntries prod failed: could not reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); keeping the last good set \(2 entries\)$/;
    const failures = () => serve!.stderr().split("\n").filter((l) => /refresh failed/.test(l));
    await eventually("the failed refresh is reported", () => failures().some((l) => refused.test(l)));
    // one line per failure, never the same twice (a refresh cut off as the front stopped may fail otherwise first)
    assert.equal(new Set(failures()).size, failures().length, serve.stderr());
    assert.equal((await review(serve.url, devId, "team-b")).allowed, true, "the last good set still answers");
    assert.equal((await review(serve.url, creatorId, "kube-system")).allowed, true);
    assert.ok(!serve.stderr().includes(secret), "no secret in serve's output");
    serve.proc.kill("SIGTERM");
    const code = await new Promise<number | null>((r) => (serve!.proc.exitCode !== null ? r(serve!.proc.exitCode) : serve!.proc.once("exit", r)));
    assert.equal(code, 0, "SIGTERM stops it cleanly");
    serve = undefined;
  });
});

describe("serve's source flags", () => {
  const base = ["serve", "--tls-cert-file", "/nonexistent.crt", "--tls-private-key-file", "/nonexistent.key"];
  for (const [args, line] of [
    [[], "eks-access: error: serve needs a source of access entries: --access-entries-file PATH or --access-entries-from eks --cluster-name NAME; a file in aws-iam-authenticator's dynamic-file format (the sandbox writes one), or an EKS cluster's access entries read from the EKS API"],
    [["--access-entries-file", "x.json", "--access-entries-from", "eks"], "eks-access: error: serve takes one source of access entries, not both: --access-entries-file PATH or --access-entries-from eks --cluster-name NAME"],
    [["--access-entries-from", "eks"], "eks-access: error: --access-entries-from eks needs --cluster-name NAME; the EKS cluster whose access entries serve reads"],
    [["--access-entries-file", "x.json", "--region", "us-west-2", "--refresh-interval", "5s"], "eks-access: error: --region, --refresh-interval apply to --access-entries-from eks only, not to --access-entries-file"],
    [["--access-entries-from", "eks", "--cluster-name", "c", "--refresh-interval", "5"], "eks-access: error: --refresh-interval 5 is not a duration of 100ms or more; e.g. 30s, 2m, 1m30s, 500ms"],
    [["--access-entries-from", "file"], 'eks-access: error: Invalid values: Argument: access-entries-from, Given: "file", Choices: "eks"; see eks-access serve --help'],
  ] as Array<[string[], string]>) {
    it(`${args.join(" ") || "(no source)"}: exit 2, one line`, () => {
      const r = runCli([...base, ...args], { env: baseEnv() });
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr, `${line}\n`);
    });
  }

  it("an unknown cluster fails at start with one line (exit 1), before listening", async () => {
    front = await startEksFront({ motoUrl: moto.url }); // the first one was stopped above
    // runAsync: the front answers from this process, which a synchronous spawn would block
    const r = await runAsync(cliPath, ["serve", "--port", "0", "--tls-cert-file", leaf.certPath, "--tls-private-key-file", leaf.keyPath, "--access-entries-from", "eks", "--cluster-name", "nope", "--endpoint-url", front.url], env);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^eks-access: error: cluster "nope" not found in region us-west-2 \(ResourceNotFoundException: .*\); check --cluster-name and --region/);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /SubjectAccessReview at/);
  });

  it("serve --help says what each source is for", () => {
    const help = runCli(["serve", "--help"], { env: baseEnv() }).stdout.replace(/\s+/g, " ");
    assert.match(help, /--access-entries-file Source 1: .*dynamic-file format.*for a cluster whose authenticator reads the same file/);
    assert.match(help, /--access-entries-from Source 2: eks = the access entries of --cluster-name read from the EKS API/);
    assert.match(help, /give at most one source/);
  });
});
