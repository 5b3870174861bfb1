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
  const { contentType, body } = await m.exposition();
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
  ]) {
    assert.ok(body.includes(line), line);
  }
});
