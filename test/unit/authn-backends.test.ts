/**
 * The backend order (AuthnBackends) with hand-written sources, the EKSAccessEntries backend over an
 * access-entry source, the JSON log's redaction and the metrics' names.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { PromAuthnMetrics } from "../../src/adapters/authn-metrics.js";
import { jsonLog } from "../../src/adapters/logger.js";
import type { DynamicFileRow } from "../../src/core/dynamic-file.js";
import { mountedFileBackend, resolveWithBackends, type BackendName, type MappingBackend } from "../../src/core/mapping/resolve.js";
import type { AccessEntrySource } from "../../src/ports/access-entries.js";
import type { AuthnLog, BackendSource } from "../../src/ports/authn.js";
import { accessEntriesBackendSource, AuthnBackends } from "../../src/usecases/authn-backends.js";

const silent: AuthnLog = { info: () => {}, warn: () => {}, error: () => {} };

class Source implements BackendSource {
  started = 0;
  closed = 0;
  data: MappingBackend | undefined;
  constructor(
    readonly name: BackendName,
    loaded: boolean,
  ) {
    this.data = loaded ? mountedFileBackend({ mapRoles: [{ arn: "arn:aws:iam::111122223333:role/R", username: name, groups: [] }], mapUsers: [], mapAccounts: [] }) : undefined;
  }
  get description(): string {
    return `fake ${this.name}`;
  }
  current(): MappingBackend | undefined {
    return this.data;
  }
  async start(): Promise<void> {
    this.started++;
  }
  close(): void {
    this.closed++;
  }
}

test("AuthnBackends: sources made once, in order; not-ready ones skipped and reported; a re-order that cannot start keeps the order", async () => {
  const made: Record<string, Source> = {};
  const backends = new AuthnBackends(["MountedFile", "DynamicFile"], async (name) => {
    if (name === "EKSAccessEntries") throw new Error("backend EKSAccessEntries needs the access entries of an EKS cluster");
    return (made[name] = new Source(name, name !== "DynamicFile"));
  }, silent);
  await backends.start();
  assert.deepEqual(backends.notReady(), ["DynamicFile (fake DynamicFile)"]);
  assert.deepEqual(backends.current().map((b) => b.name), ["MountedFile"]);
  made["DynamicFile"]!.data = mountedFileBackend({ mapRoles: [], mapUsers: [], mapAccounts: [] });
  assert.deepEqual(backends.notReady(), []);
  await backends.setOrder(["EKSConfigMap", "DynamicFile"]);
  assert.deepEqual(backends.names, ["EKSConfigMap", "DynamicFile"]);
  assert.equal(made["DynamicFile"]!.started, 1, "kept, not made again");
  await assert.rejects(backends.setOrder(["EKSAccessEntries"]), /needs the access entries/);
  assert.deepEqual(backends.names, ["EKSConfigMap", "DynamicFile"]);
  await backends.setOrder(undefined);
  assert.deepEqual(backends.names, ["MountedFile", "DynamicFile"], "the configured order");
  const who = resolveWithBackends({ arn: "arn:aws:sts::111122223333:assumed-role/R/s", account: "111122223333", userId: "AROAR:s" }, backends.current());
  assert.equal(who.mapped && who.username, "MountedFile");
  backends.close();
  assert.deepEqual(Object.values(made).map((s) => s.closed), [1, 1, 1]);
});

test("AuthnBackends while a backend has not loaded: only the backends before it answer, the rest wait (a match after it could be overruled)", async () => {
  const made: Record<string, Source> = {};
  const backends = new AuthnBackends(["DynamicFile", "EKSConfigMap", "MountedFile"], async (name) => (made[name] = new Source(name, name !== "EKSConfigMap")), silent);
  await backends.start();
  assert.equal(backends.current().length, 1);
  assert.equal(backends.current()[0], made["DynamicFile"]!.data, "MountedFile is loaded but comes after the aws-auth watch");
  assert.deepEqual(backends.pending(), ["EKSConfigMap"]);
  made["EKSConfigMap"]!.data = mountedFileBackend({ mapRoles: [], mapUsers: [], mapAccounts: [] });
  assert.deepEqual(backends.current(), [made["DynamicFile"]!.data, made["EKSConfigMap"]!.data, made["MountedFile"]!.data]);
  assert.deepEqual(backends.pending(), []);
  backends.close();
});

test("EKSAccessEntries over an access-entry source: by unique id, re-indexed only when the source's set changes", () => {
  const row = (id: string, username: string): DynamicFileRow => ({ rolearn: `arn:aws:iam::111122223333:role/${id}`, userid: id, username, groups: ["g"], accessPolicies: [] });
  let set: ReadonlyMap<string, DynamicFileRow> = new Map([["AROAONE", row("AROAONE", "one")]]);
  let closed = false;
  const source: AccessEntrySource = { description: "EKS cluster prod (us-west-2), refreshed every 30s", current: () => set, close: () => (closed = true) };
  const b = accessEntriesBackendSource(source);
  const first = b.current()!;
  assert.equal(b.current(), first, "the same set: the same index");
  const caller = { arn: "arn:aws:sts::111122223333:assumed-role/AROAONE/s", account: "111122223333", userId: "AROAONE:s" };
  const r = resolveWithBackends(caller, [first]);
  assert.deepEqual(r.mapped && [r.username, r.backend, r.source], ["one", "EKSAccessEntries", "access-entry"]);
  set = new Map([["AROAONE", row("AROAONE", "renamed")]]);
  const r2 = resolveWithBackends(caller, [b.current()!]);
  assert.equal(r2.mapped && r2.username, "renamed");
  b.close();
  assert.equal(closed, true);
});

test("the JSON log redacts tokens, signatures and secrets at any of three levels", async () => {
  let out = "";
  const log = jsonLog(new Writable({ write: (c, _e, cb) => ((out += c.toString()), cb()) }));
  log.info("x", { token: "k8s-aws-v1.SECRET1", req: { headers: { authorization: "Bearer SECRET2" } }, creds: { secretAccessKey: "SECRET3", sessionToken: "SECRET4" }, q: { "X-Amz-Signature": "SECRET5" }, user: "alice" });
  await new Promise((r) => setImmediate(r));
  const line = JSON.parse(out);
  assert.equal(line.msg, "x");
  assert.equal(line.user, "alice");
  assert.equal(line.token, "[redacted]");
  assert.doesNotMatch(out, /SECRET\d/);
});

test("the JSON log redacts at any depth and in any letter case, in arrays too, and copies only what it censors", async () => {
  let out = "";
  const log = jsonLog(new Writable({ write: (c, _e, cb) => ((out += c.toString()), cb()) }));
  const clean = { arn: "arn:aws:iam::111122223333:user/alice", groups: ["devs"], nested: { a: { b: { c: "kept" } } } };
  const frozen = Object.freeze({ ...clean, deep: Object.freeze({ l1: Object.freeze({ l2: Object.freeze({ l3: Object.freeze({ TOKEN: "SECRET6" }) }) }) }) });
  log.info("y", clean);
  log.warn("z", frozen); // frozen: the censoring must copy, never write into the caller's object
  log.error("w", { list: [{ Authorization: "SECRET7" }, "plain"], "x-amz-security-token": "SECRET8" });
  await new Promise((r) => setImmediate(r));
  const [y, z, w] = out.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual({ arn: y!["arn"], groups: y!["groups"], nested: y!["nested"] }, clean, "fields without secrets are logged as given");
  assert.equal((((z!["deep"] as Record<string, Record<string, Record<string, Record<string, unknown>>>>)["l1"]!)["l2"]!)["l3"]!["TOKEN"], "[redacted]");
  assert.deepEqual(w!["list"], [{ Authorization: "[redacted]" }, "plain"]);
  assert.equal(w!["x-amz-security-token"], "[redacted]");
  assert.doesNotMatch(out, /SECRET\d/);
  assert.equal(frozen.deep.l1.l2.l3.TOKEN, "SECRET6", "the caller's object is untouched");
});

test("the JSON log on stderr (serve's, written asynchronously) loses nothing at exit and keeps the order", async () => {
  const { spawnSync } = await import("node:child_process");
  const code = `const { jsonLog } = await import(${JSON.stringify(new URL("../../src/adapters/logger.ts", import.meta.url).href)});
const log = jsonLog(undefined, "info");
for (let i = 0; i < 2000; i++) log.info("line", { i, token: "SECRET9" });
log.info("last");
process.exit(0);`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr.slice(-500));
  const lines = r.stderr.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { msg: string; i?: number; token?: string });
  assert.equal(lines.length, 2001, "every line, the last ones written at exit");
  assert.deepEqual(lines.slice(0, 3).map((l) => l.i), [0, 1, 2], "in order");
  assert.equal(lines.at(-1)!.msg, "last");
  assert.equal(lines[5]!.token, "[redacted]");
  assert.equal(r.stdout, "");
});

test("metrics: the peer's names and eks-access's, in Prometheus' text format", async () => {
  const m = new PromAuthnMetrics();
  m.review("sts_throttling", "sts-throttled", 0.02);
  m.stsCall(0.2, 403);
  m.stsCall(10, "error");
  m.tokenCache(true);
  m.tokenCache(false);
  m.stsLimited("principal");
  m.backendLoadFailure("EKSConfigMap");
  m.backendStale("EKSConfigMap", true);
  m.iamLookup("role", "call");
  m.ec2DescribeInstancesCall();
  m.configMapWatchFailure();
  m.dynamicFileFailure();
  let stats = { cacheEntries: 3, stsCallsInFlight: 2 };
  m.watchVerifier(() => stats);
  const { contentType, body } = await m.exposition();
  stats = { cacheEntries: 7, stsCallsInFlight: 0 };
  const later = (await m.exposition()).body;
  assert.match(later, /^eks_access_authn_token_cache_entries 7$/m, "read again at each scrape");
  assert.match(later, /^eks_access_authn_sts_calls_in_flight 0$/m);
  assert.match(contentType, /^text\/plain/);
  for (const line of [
    'aws_iam_authenticator_authenticate_latency_seconds_count{result="sts_throttling"} 1',
    'aws_iam_authenticator_sts_responses_total{ResponseCode="403"} 1',
    "aws_iam_authenticator_sts_connection_failures_total 1",
    "aws_iam_authenticator_configmap_watch_failures_total 1",
    "aws_iam_authenticator_dynamicfile_failures_total 1",
    "aws_iam_authenticator_ec2_describe_instances_calls_total 1",
    'eks_access_authn_decisions_total{outcome="sts-throttled"} 1',
    'eks_access_authn_token_cache_total{result="hit"} 1',
    'eks_access_authn_token_cache_total{result="miss"} 1',
    'eks_access_authn_sts_request_duration_seconds_count{code="error"} 1',
    'eks_access_authn_sts_calls_limited_total{scope="principal"} 1',
    'eks_access_authn_mapping_load_failures_total{backend="EKSConfigMap"} 1',
    'eks_access_authn_mapping_stale{backend="EKSConfigMap"} 1',
    'eks_access_authn_iam_lookups_total{kind="role",result="call"} 1',
    "eks_access_authn_token_cache_entries 3",
    "eks_access_authn_sts_calls_in_flight 2",
  ]) {
    assert.ok(body.includes(line), line);
  }
});
