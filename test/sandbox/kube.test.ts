/**
 * The real control plane (etcd + kube-apiserver from tools/peers/build.sh) with a TokenReview webhook
 * written here, driven by the real kubectl: static admin token, webhook identities, RBAC.
 */
import assert from "node:assert/strict";
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type KubeEnv, kubectl, startKube, writeTokenKubeconfig } from "../../src/sandbox/cluster/kube.js";
import { waitFor } from "../../src/sandbox/emulator/net.js";
import { liveGroupMembers, locatePeers, PEERS_BIN_ENV } from "../../src/sandbox/cluster/peers.js";
import { createTestCa, issueLeafCertificate } from "../../src/sandbox/emulator/tls.js";

interface TestWebhook {
  url: string;
  caFile: string;
  /** apiVersion of every TokenReview received. */
  seen: string[];
  close(): Promise<void>;
}

/** HTTPS TokenReview webhook: "good-token" is alice in group devs, anything else is refused. */
async function startTestWebhook(dir: string): Promise<TestWebhook> {
  const ca = await createTestCa(dir, { name: "webhook-ca" });
  const leaf = await issueLeafCertificate(ca, { name: "webhook", ipAddresses: ["127.0.0.1"], dnsNames: ["localhost"] });
  const seen: string[] = [];
  const server: Server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (c: string) => (body += c));
    req.on("end", () => {
      const review = JSON.parse(body) as { apiVersion: string; spec: { token: string } };
      seen.push(review.apiVersion);
      const status = review.spec.token === "good-token"
        ? { authenticated: true, user: { username: "alice", uid: "alice-uid", groups: ["devs"] } }
        : { authenticated: false, error: "unknown token" };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ apiVersion: review.apiVersion, kind: "TokenReview", status }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("webhook: no port");
  return {
    url: `https://127.0.0.1:${address.port}/authenticate`,
    caFile: ca.certPath,
    seen,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

describe("startKube: etcd + kube-apiserver with a TokenReview webhook", () => {
  let dir: string;
  let webhook: TestWebhook | undefined;
  let kube: KubeEnv | undefined;
  let alice: string;
  let mallory: string;

  before(async () => {
    const peers = await locatePeers({ build: true, log: (line) => console.error(line) });
    dir = await mkdtemp(join(tmpdir(), "eks-access-kube-"));
    webhook = await startTestWebhook(join(dir, "webhook"));
    kube = await startKube({
      dir: join(dir, "kube"),
      peers,
      webhook: { url: webhook.url, caFile: webhook.caFile, version: "v1", cacheTtl: "0s" },
    });
    alice = await writeTokenKubeconfig(join(dir, "alice.kubeconfig"), { server: kube.server, caData: kube.caData, token: "good-token" });
    mallory = await writeTokenKubeconfig(join(dir, "mallory.kubeconfig"), { server: kube.server, caData: kube.caData, token: "bad-token" });
  });

  after(async () => {
    await kube?.stop();
    await webhook?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const env = (): KubeEnv => {
    assert.ok(kube, "kube-apiserver did not start");
    return kube;
  };

  test("serves https on 127.0.0.1 with the generated CA", (t) => {
    const k = env();
    t.diagnostic(`kube-apiserver ready in ${k.apiserverStartMs} ms`);
    assert.match(k.server, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(Buffer.from(k.caData, "base64").toString(), /-----BEGIN CERTIFICATE-----/);
  });

  test("the static admin token (system:masters) lists namespaces with kubectl", async () => {
    const r = await kubectl(env().adminKubeconfig, ["get", "ns", "-o", "name"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /namespace\/default/);
    assert.match(r.stdout, /namespace\/kube-system/);
  });

  test("a token the webhook accepts is alice in group devs (kubectl auth whoami)", async () => {
    const r = await kubectl(alice, ["auth", "whoami", "-o", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const review = JSON.parse(r.stdout) as { status: { userInfo: { username: string; groups: string[] } } };
    assert.equal(review.status.userInfo.username, "alice");
    assert.ok(review.status.userInfo.groups.includes("devs"), r.stdout);
    assert.ok(webhook?.seen.includes("authentication.k8s.io/v1"), `webhook saw ${webhook?.seen.join(",")}`);
  });

  test("a token the webhook refuses is Unauthorized", async () => {
    const r = await kubectl(mallory, ["get", "ns"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Unauthorized|must be logged in/);
  });

  test("RBAC: group devs bound to view can get but not create namespaces", async () => {
    const denied = await kubectl(alice, ["get", "ns"]);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Forbidden|forbidden/);

    const bind = await kubectl(env().adminKubeconfig, ["create", "clusterrolebinding", "devs-view", "--clusterrole=view", "--group=devs"]);
    assert.equal(bind.code, 0, bind.stderr);
    // the authorizer sees the binding through an informer: poll until it does
    await waitFor("the devs-view binding", async () => (await kubectl(alice, ["auth", "can-i", "list", "namespaces"])).stdout.trim() === "yes", 100);

    const get = await kubectl(alice, ["get", "ns", "-o", "name"]);
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /namespace\/default/);
    const create = await kubectl(alice, ["create", "ns", "alice-was-here"]);
    assert.notEqual(create.code, 0);
    assert.match(create.stderr, /Forbidden|forbidden/);
  });

  test("stop() ends kube-apiserver and etcd with their process groups", async () => {
    const k = env();
    await k.stop();
    assert.ok(k.apiserver.exit, "kube-apiserver still running");
    assert.ok(k.etcd.exit, "etcd still running");
    assert.deepEqual(await liveGroupMembers(k.apiserver.pid), []);
    assert.deepEqual(await liveGroupMembers(k.etcd.pid), []);
    assert.deepEqual(await processesMentioning(k.dir), []);
  });
});

/** Live (non-zombie) processes whose command line mentions `text`. */
async function processesMentioning(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir("/proc")).filter((e) => /^\d+$/.test(e))) {
    const cmd = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0").join(" ");
    const state = (await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "")).split(") ")[1]?.[0];
    if (cmd.includes(text) && state !== "Z" && Number(pid) !== process.pid) found.push(`${pid} ${cmd.slice(0, 120)}`);
  }
  return found;
}

describe("startKube failures", () => {
  test("a kube-apiserver that exits is reported with the end of its log; etcd is stopped too", async () => {
    const peers = await locatePeers({ build: true });
    const dir = await mkdtemp(join(tmpdir(), "eks-access-kube-bad-"));
    try {
      await assert.rejects(startKube({ dir, peers, extraApiserverArgs: ["--no-such-flag"] }), (err: Error) =>
        /^kube-apiserver exited before .*\/readyz was ready \(exited: code 1/.test(err.message) &&
        err.message.includes("unknown flag: --no-such-flag") &&
        err.message.includes(join(dir, "kube-apiserver.log")));
      assert.deepEqual(await processesMentioning(dir), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("locatePeers", () => {
  test("build: true answers absolute paths of the three binaries", async () => {
    const peers = await locatePeers({ build: true });
    for (const file of [peers.kubeApiserver, peers.etcd, peers.awsIamAuthenticator]) assert.ok(file.startsWith(`${peers.binDir}/`), file);
  });

  test("build: false finds the same cached binaries without running the script", async () => {
    const built = await locatePeers({ build: true });
    assert.deepEqual(await locatePeers({ build: false }), built);
  });

  test(`${PEERS_BIN_ENV} overrides the look-up, and names itself when binaries are missing`, async () => {
    const built = await locatePeers({ build: true });
    assert.deepEqual(await locatePeers({ env: { [PEERS_BIN_ENV]: built.binDir } }), built);
    await assert.rejects(locatePeers({ env: { [PEERS_BIN_ENV]: "/nonexistent-bin" } }), new RegExp(`missing in /nonexistent-bin \\(from ${PEERS_BIN_ENV}`));
  });

  test("a failing build script is reported with its command and last output", async () => {
    const tmp = await mkdtemp(join(tmpdir(), "eks-access-peers-"));
    try {
      const script = join(tmp, "build.sh");
      await writeFile(script, "echo '[peers] compiling' >&2\necho 'go: module not found' >&2\nexit 3\n");
      await chmod(script, 0o755);
      const lines: string[] = [];
      await assert.rejects(
        locatePeers({ script, env: { ...process.env, [PEERS_BIN_ENV]: undefined, EKS_ACCESS_CACHE_ROOT: tmp }, log: (l) => lines.push(l) }),
        (err: Error) => err.message.includes(`bash ${script} failed (exit 3)`) && err.message.includes("go: module not found"),
      );
      assert.deepEqual(lines, ["[peers] compiling", "go: module not found"]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
