/**
 * `eks-access serve`'s SubjectAccessReview endpoint behind the real kube-apiserver
 * (--authorization-mode=Node,RBAC,Webhook): kubectl as principals whose access entries hold EKS
 * access policies — allowed within the policy's scope, Forbidden outside it; RBAC still decides for
 * everyone else (the webhook never denies); the entries file is re-read when it changes; an
 * impersonated user gets nothing from access policies, as on EKS.
 */
import assert from "node:assert/strict";
import { renameSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type KubeEnv, kubectl, requestText, startKube, writeTokenKubeconfig } from "../../src/sandbox/cluster/kube.js";
import { locatePeers } from "../../src/sandbox/cluster/peers.js";
import { createTestCa, issueLeafCertificate } from "../../src/sandbox/emulator/tls.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { AccessEntriesFile } from "../../src/adapters/access-entries-file.js";
import { dynamicFileFor, type AccessEntryView } from "../../src/core/dynamic-file.js";

const VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const EDIT = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy";
const ACCT = "123456789012";

/** Who each test token is, as aws-iam-authenticator would answer (principalId in extra). */
const USERS: Record<string, { username: string; groups: string[]; principalId?: string }> = {
  "alice-token": { username: `arn:aws:sts::${ACCT}:assumed-role/dev/alice`, groups: [], principalId: "AROAALICE" },
  "bob-token": { username: "bob", groups: ["team-b-readers"], principalId: "AROABOB" },
};

let dir: string;
let kube: KubeEnv | undefined;
let authz: RunningServer | undefined;
let tokenWebhook: Server | undefined;
let entriesFile: string;
let caFile: string;
let caPem: string;
const kc: Record<string, string> = {};

function writeEntries(entries: AccessEntryView[]): void {
  const tmp = `${entriesFile}.tmp`;
  writeFileSync(tmp, JSON.stringify(dynamicFileFor(entries)));
  renameSync(tmp, entriesFile);
}

const alice = (policies: AccessEntryView["policies"]): AccessEntryView => ({
  principalArn: `arn:aws:iam::${ACCT}:role/dev`,
  principalId: "AROAALICE",
  username: `arn:aws:sts::${ACCT}:assumed-role/dev/{{SessionName}}`,
  kubernetesGroups: [],
  type: "STANDARD",
  policies,
});

before(async () => {
  const peers = await locatePeers({ build: true, log: (l) => console.error(l) });
  dir = await mkdtemp(join(tmpdir(), "eks-access-authz-"));
  const ca = await createTestCa(join(dir, "pki"), { name: "serve-ca" });
  caFile = ca.certPath;
  caPem = ca.certPem;
  const leaf = await issueLeafCertificate(ca, { name: "serve", ipAddresses: ["127.0.0.1"], dnsNames: ["localhost"] });
  entriesFile = join(dir, "access-entries.json");
  writeEntries([alice([{ policyArn: VIEW, accessScope: { type: "namespace", namespaces: ["team-a"] } }])]);
  authz = await startServer({ port: 0, tls: { certFile: leaf.certPath, keyFile: leaf.keyPath }, accessEntries: new AccessEntriesFile(entriesFile) });
  // the TokenReview side: a stand-in for the authenticator, answering the fixed identities above
  tokenWebhook = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (c: string) => (body += c));
    req.on("end", () => {
      const review = JSON.parse(body) as { apiVersion: string; spec: { token: string } };
      const u = USERS[review.spec.token];
      const status = u ? { authenticated: true, user: { username: u.username, uid: `uid-${u.username}`, groups: u.groups, extra: u.principalId ? { principalId: [u.principalId] } : {} } } : { authenticated: false };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ apiVersion: review.apiVersion, kind: "TokenReview", status }));
    });
  });
  await new Promise<void>((r) => tokenWebhook!.listen(0, "127.0.0.1", r));
  const tokenPort = (tokenWebhook.address() as { port: number }).port;
  kube = await startKube({
    dir: join(dir, "kube"),
    peers,
    webhook: { url: `https://127.0.0.1:${tokenPort}/authenticate`, caFile, version: "v1", cacheTtl: "0s" },
    authorizationWebhook: { url: `${authz.url}/authorize`, caFile },
  });
  for (const token of Object.keys(USERS)) kc[token] = await writeTokenKubeconfig(join(dir, `${token}.kubeconfig`), { server: kube.server, caData: kube.caData, token });
  for (const ns of ["team-a", "team-b"]) assert.equal((await kubectl(kube.adminKubeconfig, ["create", "namespace", ns])).code, 0);
  const rb = await kubectl(kube.adminKubeconfig, ["create", "rolebinding", "readers", "-n", "team-b", "--clusterrole=view", "--group=team-b-readers"]);
  assert.equal(rb.code, 0, rb.stderr);
});

after(async () => {
  await kube?.stop();
  await authz?.stop();
  tokenWebhook?.closeAllConnections();
  tokenWebhook?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("access policies enforced beside RBAC by eks-access serve", () => {
  it("View in team-a: pods there are listed; default is Forbidden; delete and secrets are Forbidden", async () => {
    const ok = await kubectl(kc["alice-token"]!, ["get", "pods", "-n", "team-a"]);
    assert.equal(ok.code, 0, ok.stderr);
    const other = await kubectl(kc["alice-token"]!, ["get", "pods", "-n", "default"]);
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /Forbidden|forbidden/);
    const del = await kubectl(kc["alice-token"]!, ["delete", "pod", "p", "-n", "team-a"]);
    assert.match(del.stderr, /forbidden/i);
    const secrets = await kubectl(kc["alice-token"]!, ["get", "secrets", "-n", "team-a"]);
    assert.match(secrets.stderr, /forbidden/i);
  });

  it("RBAC still decides for a principal without policies (the webhook has no opinion, never denies)", async () => {
    const ok = await kubectl(kc["bob-token"]!, ["get", "configmaps", "-n", "team-b"]);
    assert.equal(ok.code, 0, ok.stderr);
    const no = await kubectl(kc["bob-token"]!, ["get", "configmaps", "-n", "team-a"]);
    assert.match(no.stderr, /forbidden/i);
  });

  it("a changed entries file takes effect at once: Edit in team-a lets alice create a ConfigMap", async () => {
    const before = await kubectl(kc["alice-token"]!, ["create", "configmap", "c1", "-n", "team-a"]);
    assert.match(before.stderr, /forbidden/i);
    writeEntries([alice([{ policyArn: EDIT, accessScope: { type: "namespace", namespaces: ["team-*"] } }])]);
    const after = await kubectl(kc["alice-token"]!, ["create", "configmap", "c1", "-n", "team-a"]);
    assert.equal(after.code, 0, after.stderr);
    assert.equal((await kubectl(kc["alice-token"]!, ["create", "configmap", "c1", "-n", "team-b"])).code, 0, "team-* covers team-b");
  });

  it("an impersonated user gets nothing from access policies (as on EKS)", async () => {
    const r = await kubectl(kube!.adminKubeconfig, ["get", "pods", "-n", "team-a", "--as", USERS["alice-token"]!.username]);
    assert.match(r.stderr, /forbidden/i);
  });
});

describe("the /authorize endpoint itself", () => {
  const post = (body: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = request(`${authz!.url}/authorize`, { method: "POST", ca: caPem, headers: { "content-type": "application/json" } }, (res) => {
        let b = "";
        res.setEncoding("utf8").on("data", (c: string) => (b += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: b }));
      });
      req.on("error", reject);
      req.end(body);
    });

  it("answers v1 and v1beta1 reviews; no opinion has no 'denied'; malformed input is 400", async () => {
    const spec = { user: "x", extra: { principalId: ["AROAALICE"] }, resourceAttributes: { verb: "get", resource: "configmaps", namespace: "team-a" } };
    for (const apiVersion of ["authorization.k8s.io/v1", "authorization.k8s.io/v1beta1"]) {
      const r = await post(JSON.stringify({ apiVersion, kind: "SubjectAccessReview", spec }));
      assert.equal(r.status, 200);
      const doc = JSON.parse(r.body);
      assert.equal(doc.apiVersion, apiVersion);
      assert.equal(doc.status.allowed, true);
      assert.match(doc.status.reason, /AmazonEKSEditPolicy \(namespace scope team-\*\)/);
    }
    const none = JSON.parse((await post(JSON.stringify({ apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", spec: { ...spec, extra: {} } }))).body);
    assert.deepEqual(none.status, { allowed: false });
    assert.equal((await post("{")).status, 400);
    assert.equal((await post(JSON.stringify({ apiVersion: "v1", kind: "Pod" }))).status, 400);
    const health = await requestText(`${authz!.url}/healthz`, { ca: caPem });
    assert.deepEqual([health.status, health.body], [200, "ok"]);
  });
});
