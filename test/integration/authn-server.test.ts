/**
 * `serve`'s TokenReview side over HTTPS, assembled as the CLI assembles it (server/authenticator.ts)
 * but with a hand-written TokenVerifier: /authenticate, /healthz, /readyz, /metrics (the peer's
 * metric names), bounded bodies, hot reload of the config file (a bad version keeps the last good
 * one, said once), the DynamicFile backend and the backend-mode file, and the graceful stop (a
 * review in flight finishes, new connections are refused). Starts no external process.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { Writable } from "node:stream";
import { AuthenticatorConfigFile } from "../../src/adapters/authn-files.js";
import { PromAuthnMetrics } from "../../src/adapters/authn-metrics.js";
import { jsonLog } from "../../src/adapters/logger.js";
import { createServingCertificate } from "../../src/adapters/pki.js";
import { AuthnError } from "../../src/core/authn-error.js";
import { poll } from "../../src/sandbox/emulator/net.js";
import type { StsIdentity, TokenVerifier } from "../../src/ports/token-review.js";
import { startAuthn, type AuthnStack } from "../../src/server/authenticator.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { tempDir } from "../helpers.js";

const ACCT = "111122223333";
const sts = (role: string, session: string, id: string): StsIdentity => ({ arn: `arn:aws:sts::${ACCT}:assumed-role/${role}/${session}`, account: ACCT, userId: `${id}:${session}`, accessKeyId: "ASIATESTKEY" });

class Verifier implements TokenVerifier {
  /** tokens whose verification waits for release() */
  held = new Map<string, () => void>();
  slow = new Set<string>();
  async verify(token: string): Promise<StsIdentity> {
    if (this.slow.has(token)) await new Promise<void>((r) => this.held.set(token, r));
    const [kind, role, id] = token.split(":");
    if (kind !== "ok") throw new AuthnError("format", "token refused: not one of the test's");
    return sts(role!, "s", id!);
  }
}

const config = (mapRoles: string, extra = ""): string => `clusterID: test-cluster
server:
  backendMode: [MountedFile, DynamicFile]
  dynamicfilepath: DYNAMIC
  dynamicfileUserIDStrict: true
  dynamicBackendModePath: MODEFILE
  mapRoles:
${mapRoles}
${extra}`;

let dir: string;
let cleanup: () => void;
let logText = "";
let server: RunningServer;
let stack: AuthnStack;
let file: AuthenticatorConfigFile;
let ca: string;
let configPath: string;
let dynamicPath: string;
let modePath: string;
const verifier = new Verifier();
const metrics = new PromAuthnMetrics();

function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

function post(path: string, body: string, method = "POST"): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { method, ca, agent: false, headers: { "content-type": "application/json" } }, (res) => {
      let b = "";
      res.setEncoding("utf8").on("data", (c: string) => (b += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: b, headers: res.headers }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const review = (token: string, apiVersion = "authentication.k8s.io/v1"): string => JSON.stringify({ apiVersion, kind: "TokenReview", spec: { token } });
const username = async (token: string): Promise<string | number> => {
  const r = await post("/authenticate", review(token));
  return r.status === 200 ? (JSON.parse(r.body).status.user.username as string) : r.status;
};

before(async () => {
  const t = tempDir("eks-access-authn-");
  dir = t.path;
  cleanup = t.cleanup;
  configPath = join(dir, "config.yaml");
  dynamicPath = join(dir, "access-entries.json");
  modePath = join(dir, "backend-mode.json");
  const cfg = (text: string): string => text.replace("DYNAMIC", dynamicPath).replace("MODEFILE", modePath);
  writeFileSync(configPath, cfg(config(`  - rolearn: arn:aws:iam::${ACCT}:role/Admin\n    username: admin\n    groups: [system:masters]`)));
  writeFileSync(dynamicPath, JSON.stringify({ mapRoles: [{ rolearn: `arn:aws:iam::${ACCT}:role/Dev`, userid: "AROADEV", username: "dev-entry", groups: ["devs"] }] }));
  const pair = await createServingCertificate({ certPath: join(dir, "state", "cert.pem"), keyPath: join(dir, "state", "key.pem"), address: "127.0.0.1", hostname: "localhost" });
  ca = pair.certPem;
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logText += chunk.toString();
      cb();
    },
  });
  const log = jsonLog(sink);
  file = new AuthenticatorConfigFile(configPath, {}, {}, { log, metrics });
  stack = await startAuthn({ config: file, verifier, beyond: { rolePaths: false, iamGroups: false, ssoPermissionSets: false }, metrics, log });
  server = await startServer({ port: 0, tls: { certFile: pair.certPath, keyFile: pair.keyPath }, authenticator: stack.authenticator, metrics: () => metrics.exposition(), maxBodyBytes: 4096 + 64 * 1024 });
  // keep the mode file path in the config: written later in a test
  void cfg;
});

after(async () => {
  await server?.stop();
  stack?.close();
  cleanup?.();
});

describe("POST /authenticate over HTTPS", () => {
  it("answers both TokenReview versions from the configured backends in order", async () => {
    for (const apiVersion of ["authentication.k8s.io/v1", "authentication.k8s.io/v1beta1"]) {
      const r = await post("/authenticate", review("ok:Admin:AROAADMIN", apiVersion));
      assert.equal(r.status, 200);
      const doc = JSON.parse(r.body);
      assert.equal(doc.apiVersion, apiVersion);
      assert.deepEqual([doc.status.authenticated, doc.status.user.username, doc.status.user.groups], [true, "admin", ["system:masters"]]);
    }
    assert.equal(await username("ok:Dev:AROADEV"), "dev-entry", "the DynamicFile backend, by unique id");
    assert.equal(await username("ok:Dev:AROAOTHER"), 403);
    const bad = await post("/authenticate", review("nope"));
    assert.deepEqual([bad.status, JSON.parse(bad.body).message], [403, "token refused: not one of the test's"]);
  });

  it("turns away other methods (405) and bodies over the bound (413), counted as malformed requests", async () => {
    const get = await post("/authenticate", "", "GET");
    assert.deepEqual([get.status, get.headers["allow"], JSON.parse(get.body).message], [405, "POST", "expected POST"]);
    const big = await post("/authenticate", review("x".repeat(80 * 1024)));
    assert.deepEqual([big.status, JSON.parse(big.body).reason], [413, "RequestEntityTooLarge"]);
    const m = (await metrics.exposition()).body;
    assert.match(m, /aws_iam_authenticator_authenticate_latency_seconds_count\{result="malformed_request"\} 2/);
  });

  it("/healthz, /readyz and /metrics with the peer's metric names", async () => {
    assert.deepEqual([(await post("/healthz", "", "GET")).status, (await post("/healthz", "", "GET")).body], [200, "ok"]);
    assert.deepEqual([(await post("/readyz", "", "GET")).status], [200]);
    const m = await post("/metrics", "", "GET");
    assert.equal(m.status, 200);
    assert.match(String(m.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
    for (const name of [
      "aws_iam_authenticator_authenticate_latency_seconds_bucket{le=\"0.005\",result=\"success\"}",
      "aws_iam_authenticator_configmap_watch_failures_total 0",
      "aws_iam_authenticator_dynamicfile_failures_total 0",
      "aws_iam_authenticator_sts_connection_failures_total 0",
      "# TYPE aws_iam_authenticator_sts_responses_total counter",
      "aws_iam_authenticator_ec2_describe_instances_calls_total 0",
      'eks_access_authn_decisions_total{outcome="authenticated"}',
      'eks_access_authn_decisions_total{outcome="format"} 1',
      "process_resident_memory_bytes",
    ]) {
      assert.ok(m.body.includes(name), name);
    }
  });
});

describe("hot reload", () => {
  it("a changed config file's mappings apply at once; a bad version keeps the last good one and says so once", async () => {
    const cfg = (text: string): string => text.replace("DYNAMIC", dynamicPath).replace("MODEFILE", modePath);
    writeAtomic(configPath, cfg(config(`  - rolearn: arn:aws:iam::${ACCT}:role/Admin\n    username: admin-2\n    groups: [system:masters]`)));
    assert.ok((await poll(() => username("ok:Admin:AROAADMIN"), (u) => u === "admin-2", 100)).held);
    const said = (): number => (logText.match(/keeping the last good configuration/g) ?? []).length;
    const s3 = cfg(config(`  - rolearn: arn:aws:s3:::bucket\n    username: x`));
    for (const [bad, count] of [["clusterID: [", 1], [s3, 2], [`${s3}\n# the same problem\n`, 2]] as const) {
      writeAtomic(configPath, bad);
      file.check();
      await new Promise((r) => setImmediate(r)); // pino writes on the next tick
      assert.equal(said(), count, logText);
      assert.equal(await username("ok:Admin:AROAADMIN"), "admin-2", "the last good mappings");
    }
    assert.match(logText, /config file .*config\.yaml is not usable \(server\.mapRoles\[0\]\.rolearn is not usable: error canonicalizing ARN/);
    const m = (await metrics.exposition()).body;
    assert.match(m, /eks_access_authn_mapping_load_failures_total\{backend="config"\} [1-9]/);
    assert.match(m, /eks_access_authn_mapping_stale\{backend="MountedFile"\} 1/);
    writeAtomic(configPath, cfg(config(`  - rolearn: arn:aws:iam::${ACCT}:role/Admin\n    username: admin-3\n    groups: []`, "  port: 1\n")));
    assert.ok((await poll(() => username("ok:Admin:AROAADMIN"), (u) => u === "admin-3", 100)).held);
    assert.match(logText, /is usable again/);
    assert.match(logText, /a change to port takes effect only after a restart/);
    assert.match((await metrics.exposition()).body, /eks_access_authn_mapping_stale\{backend="MountedFile"\} 0/);
  });

  it("the dynamic file: changes apply, an invalid version keeps the last good mappings, a deleted file empties them", async () => {
    writeAtomic(dynamicPath, JSON.stringify({ mapRoles: [{ rolearn: `arn:aws:iam::${ACCT}:role/Dev`, userid: "AROADEV", username: "dev-entry-2", groups: [] }] }));
    assert.ok((await poll(() => username("ok:Dev:AROADEV"), (u) => u === "dev-entry-2", 100)).held);
    writeAtomic(dynamicPath, JSON.stringify({ mapRoles: [{ rolearn: `arn:aws:iam::${ACCT}:role/Dev`, username: "no-userid" }] }));
    assert.ok((await poll(() => logText, (l) => /dynamic file .* is not usable \(mapRoles\[0\] has no userid/.test(l), 100)).held);
    assert.equal(await username("ok:Dev:AROADEV"), "dev-entry-2");
    rmSync(dynamicPath);
    assert.ok((await poll(() => username("ok:Dev:AROADEV"), (u) => u === 403, 100)).held);
    assert.match(logText, /dynamic file .* was deleted/);
  });

  it("the backend-mode file re-orders the backends; one naming a backend that cannot start changes nothing; removing it brings the configured order back", async () => {
    writeAtomic(dynamicPath, JSON.stringify({ mapRoles: [{ rolearn: `arn:aws:iam::${ACCT}:role/Admin`, userid: "AROAADMIN", username: "admin-from-entries", groups: [] }] }));
    assert.ok((await poll(() => username("ok:Admin:AROAADMIN"), (u) => u === "admin-3", 100)).held, "MountedFile first");
    writeAtomic(modePath, JSON.stringify({ backendMode: "DynamicFile MountedFile" }));
    assert.ok((await poll(() => username("ok:Admin:AROAADMIN"), (u) => u === "admin-from-entries", 100)).held);
    assert.deepEqual(stack.backends.names, ["DynamicFile", "MountedFile"]);
    writeAtomic(modePath, JSON.stringify({ backendMode: "EKSAccessEntries" }));
    assert.ok((await poll(() => logText, (l) => /"error":"backend EKSAccessEntries needs the access entries of an EKS cluster","msg":"backend-mode file names a backend that cannot start; keeping the current order"/.test(l), 100)).held, logText);
    assert.deepEqual(stack.backends.names, ["DynamicFile", "MountedFile"]);
    writeAtomic(modePath, "{");
    assert.ok((await poll(() => logText, (l) => /backend-mode file .* is not usable \(not JSON/.test(l), 100)).held);
    rmSync(modePath);
    assert.ok((await poll(() => username("ok:Admin:AROAADMIN"), (u) => u === "admin-3", 100)).held);
    assert.deepEqual(stack.backends.names, ["MountedFile", "DynamicFile"]);
  });
});

describe("readiness and the graceful stop", () => {
  it("/readyz is 503 until every backend of the order has loaded (a DynamicFile not there yet)", async () => {
    const t = tempDir("eks-access-authn-ready-");
    const missing = join(t.path, "entries.json");
    const path = join(t.path, "config.yaml");
    writeFileSync(path, `clusterID: c\nserver:\n  backendMode: [DynamicFile]\n  dynamicfilepath: ${missing}\n  dynamicfileUserIDStrict: true\n`);
    const log = jsonLog(new Writable({ write: (_c, _e, cb) => cb() }));
    const m = new PromAuthnMetrics();
    const s = await startAuthn({ config: new AuthenticatorConfigFile(path, {}, {}, { log, metrics: m }), verifier, beyond: { rolePaths: false, iamGroups: false, ssoPermissionSets: false }, metrics: m, log });
    try {
      assert.deepEqual(s.authenticator.notReady(), [`DynamicFile (dynamic file ${missing} (by unique id))`]);
      writeFileSync(missing, "{}");
      assert.ok((await poll(() => s.authenticator.notReady(), (n) => n.length === 0, 100)).held);
    } finally {
      s.close();
      t.cleanup();
    }
  });

  it("on stop, a review in flight finishes (200), new connections are refused, /readyz says shutting down", async () => {
    verifier.slow.add("ok:Admin:AROASLOW");
    const inFlight = post("/authenticate", review("ok:Admin:AROASLOW"));
    assert.ok((await poll(() => verifier.held.has("ok:Admin:AROASLOW"), (h) => h, 100)).held);
    const stopped = server.stop(10_000);
    let done = false;
    void stopped.then(() => (done = true));
    const refused = await post("/healthz", "", "GET").then(
      () => "answered",
      (err: NodeJS.ErrnoException) => err.code,
    );
    assert.equal(refused, "ECONNREFUSED");
    assert.equal(done, false, "the stop waits for the review in flight");
    verifier.held.get("ok:Admin:AROASLOW")!();
    const r = await inFlight;
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).status.user.username, "admin-3");
    assert.equal(r.headers["connection"], "close");
    await stopped;
  });
});
