/** serve's EKS source of access entries (src/usecases/eks-access-entries.ts) over hand-written fakes of the EKS API and IAM. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EksAccessEntries } from "../../src/usecases/eks-access-entries.js";
import { EksAccessError } from "../../src/core/errors.js";
import type { DescribedAccessEntry, EksAccessEntryApi } from "../../src/ports/access-entries.js";
import type { IamPrincipal } from "../../src/ports/access.js";

const ACCT = "123456789012";
const VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
const EDIT = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy";
const CREATED = new Date("2026-12-01T10:00:00Z");

type Policy = { policyArn: string; accessScope: { type: "cluster" | "namespace"; namespaces: string[] } };

/** A cluster's access entries and IAM, with call counts and the most calls ever in flight. */
function fakeCluster(opts: { pageSize?: number } = {}) {
  const entries = new Map<string, { d: DescribedAccessEntry; policies: Policy[] }>();
  const iam = new Map<string, IamPrincipal>();
  const calls: Record<string, number> = {};
  let inFlight = 0;
  let maxInFlight = 0;
  let failure: Error | undefined;
  let goneOnDescribe: string | undefined;
  const call = async <T>(name: string, fn: () => T): Promise<T> => {
    calls[name] = (calls[name] ?? 0) + 1;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await new Promise((r) => setImmediate(r));
      if (failure) throw failure;
      return fn();
    } finally {
      inFlight--;
    }
  };
  const page = <T>(all: T[], token: string | undefined) => {
    const size = opts.pageSize ?? 100;
    const start = token ? Number(token) : 0;
    const end = start + size;
    return { items: all.slice(start, end), nextToken: end < all.length ? String(end) : undefined };
  };
  const eks: EksAccessEntryApi = {
    listAccessEntries: (t) => call("ListAccessEntries", () => page([...entries.keys()], t)),
    describeAccessEntry: (arn) => call("DescribeAccessEntry", () => (arn === goneOnDescribe ? undefined : entries.get(arn)?.d)),
    listAssociatedAccessPolicies: (arn, t) => call("ListAssociatedAccessPolicies", () => {
      const e = entries.get(arn);
      return e && page(e.policies, t);
    }),
  };
  const lookup = (arn: string) => call("IamLookup", () => iam.get(arn.replace(/:role\/.*\//, ":role/")) ?? iam.get(arn));
  const add = (name: string, o: { kind?: "role" | "user"; path?: string; type?: string; policies?: Policy[]; account?: string; roleCreated?: Date } = {}) => {
    const kind = o.kind ?? "role";
    const account = o.account ?? ACCT;
    const arn = `arn:aws:iam::${account}:${kind}${o.path ?? "/"}${name}`;
    const id = `${kind === "role" ? "AROA" : "AIDA"}${name.toUpperCase()}`;
    entries.set(arn, {
      d: { principalArn: arn, accessEntryArn: `arn:aws:eks:us-west-2:${ACCT}:access-entry/c/${kind}/${account}/${name}/${entries.size}`, username: `u-${name}`, kubernetesGroups: [], type: o.type ?? "STANDARD", createdAt: CREATED },
      policies: o.policies ?? [],
    });
    iam.set(arn, { type: kind, arn, partition: "aws", account, name, path: o.path ?? "/", uniqueId: id, createDate: (o.roleCreated ?? new Date(CREATED.getTime() - 60_000)).toISOString() });
    return { arn, id };
  };
  return {
    entries,
    iam,
    calls,
    add,
    maxInFlight: () => maxInFlight,
    fail: (e: Error | undefined) => void (failure = e),
    vanishOnDescribe: (arn: string | undefined) => void (goneOnDescribe = arn),
    deps: (log: string[]) => ({ eks, iam: { lookup }, log: (l: string) => void log.push(l), schedule: () => () => {} }),
  };
}

const cluster = (namespaces: string[] = []): Policy["accessScope"] => (namespaces.length ? { type: "namespace", namespaces } : { type: "cluster", namespaces: [] });

test("every page of entries and of policies; node entries are not asked for policies; at most `concurrency` calls at once", async () => {
  const f = fakeCluster({ pageSize: 2 });
  const dev = f.add("dev", { path: "/team/", policies: [{ policyArn: VIEW, accessScope: cluster(["team-a"]) }, { policyArn: EDIT, accessScope: cluster(["team-b"]) }, { policyArn: ADMIN, accessScope: cluster() }] });
  const alice = f.add("alice", { kind: "user", policies: [{ policyArn: VIEW, accessScope: cluster() }] });
  const node = f.add("node", { type: "EC2_LINUX" });
  for (let i = 0; i < 9; i++) f.add(`r${i}`, { policies: [{ policyArn: VIEW, accessScope: cluster() }] });
  const log: string[] = [];
  const src = new EksAccessEntries(f.deps(log), { cluster: "c", region: "us-west-2", intervalMs: 30_000, concurrency: 3 });
  assert.equal(src.description, "EKS cluster c (us-west-2), refreshed every 30s");
  await src.start();
  const rows = src.current();
  assert.equal(rows.size, 12);
  assert.deepEqual(rows.get(dev.id)?.accessPolicies.map((p) => [p.policyArn.replace(/.*\//, ""), p.scope]), [
    ["AmazonEKSViewPolicy", { type: "namespace", namespaces: ["team-a"] }],
    ["AmazonEKSEditPolicy", { type: "namespace", namespaces: ["team-b"] }],
    ["AmazonEKSClusterAdminPolicy", { type: "cluster" }],
  ]);
  assert.equal(rows.get(dev.id)?.rolearn, dev.arn, "the role's path is kept");
  assert.equal(rows.get(alice.id)?.userarn, alice.arn);
  assert.deepEqual(rows.get(node.id)?.groups, ["system:bootstrappers", "system:nodes"]);
  assert.deepEqual(f.calls, { ListAccessEntries: 6, DescribeAccessEntry: 12, ListAssociatedAccessPolicies: 12, IamLookup: 12 }, "12 entries in pages of 2; dev's 3 policies in 2 pages; no policy call for the node");
  assert.ok(f.maxInFlight() <= 3, `at most 3 calls at once, saw ${f.maxInFlight()}`);
  assert.ok(f.maxInFlight() >= 2, "control: calls did overlap");
  assert.deepEqual(log, ["access entries of EKS cluster c: 12 entries, 11 with access policies"]);
});

test("IAM is asked once per entry; a deleted, re-created, other-account or re-pathed principal matches no one (one note each)", async () => {
  const f = fakeCluster();
  const kept = f.add("kept", { policies: [{ policyArn: VIEW, accessScope: cluster() }] });
  const recreated = f.add("recreated", { policies: [{ policyArn: VIEW, accessScope: cluster() }], roleCreated: new Date(CREATED.getTime() + 1000) });
  const deleted = f.add("deleted", { policies: [{ policyArn: VIEW, accessScope: cluster() }] });
  f.iam.delete(deleted.arn);
  f.add("other", { account: "999999999999", policies: [{ policyArn: VIEW, accessScope: cluster() }] });
  const moved = f.add("moved", { path: "/old/", policies: [{ policyArn: VIEW, accessScope: cluster() }] });
  f.iam.set(moved.arn, { ...f.iam.get(moved.arn)!, arn: `arn:aws:iam::${ACCT}:role/new/moved`, path: "/new/" });
  const log: string[] = [];
  const src = new EksAccessEntries(f.deps(log), { cluster: "c", region: "us-west-2", intervalMs: 1000 });
  await src.start();
  assert.deepEqual([...src.current().keys()], [kept.id]);
  assert.equal(recreated.id, "AROARECREATED");
  await src.refresh();
  await src.refresh();
  assert.equal(f.calls["IamLookup"], 4, "one look-up per entry in its lifetime (the other-account one is never looked up)");
  const notes = log.filter((l) => l.includes("matches no one"));
  assert.equal(notes.length, 4, log.join("\n"));
  assert.match(notes.find((l) => l.includes("recreated"))!, /the role was re-created \(IAM CreateDate 2026-12-01T10:00:01\.000Z\) after the entry was made \(2026-12-01T10:00:00\.000Z\)/);
  assert.match(notes.find((l) => l.includes("/deleted"))!, /the role no longer exists in IAM/);
  assert.match(notes.find((l) => l.includes("999999999999"))!, /in account 999999999999, not the cluster's 123456789012/);
  assert.match(notes.find((l) => l.includes("moved"))!, /now arn:aws:iam::123456789012:role\/new\/moved, another principal/);
  // a new entry (new accessEntryArn) for the re-created role is looked up afresh and matches
  f.entries.get(recreated.arn)!.d = { ...f.entries.get(recreated.arn)!.d, accessEntryArn: "arn:aws:eks:us-west-2:123456789012:access-entry/c/role/123456789012/recreated/new", createdAt: new Date(CREATED.getTime() + 5000) };
  await src.refresh();
  assert.deepEqual([...src.current().keys()].sort(), [kept.id, recreated.id].sort());
});

test("a failed refresh keeps the last good set and says so once; recovery is said once; changes show on the next refresh", async () => {
  const f = fakeCluster();
  const dev = f.add("dev", { policies: [{ policyArn: VIEW, accessScope: cluster() }] });
  const log: string[] = [];
  const src = new EksAccessEntries(f.deps(log), { cluster: "c", region: "us-west-2", intervalMs: 1000 });
  await src.start();
  const good = src.current();
  f.fail(new EksAccessError("aws", "eks:ListAccessEntries c failed: could not reach http://127.0.0.1:9 (ECONNREFUSED)"));
  assert.equal(await src.refresh(), false);
  assert.equal(await src.refresh(), false);
  assert.equal(src.current(), good, "the last good set, untouched");
  f.fail(undefined);
  f.entries.get(dev.arn)!.policies = [];
  assert.equal(await src.refresh(), true);
  assert.deepEqual(src.current().get(dev.id)?.accessPolicies, []);
  assert.deepEqual(log, [
    "access entries of EKS cluster c: 1 entry, 1 with access policies",
    "access entries of EKS cluster c: refresh failed: eks:ListAccessEntries c failed: could not reach http://127.0.0.1:9 (ECONNREFUSED); keeping the last good set (1 entry)",
    "access entries of EKS cluster c: refreshed again: 1 entry, 0 with access policies",
  ]);
  await src.refresh();
  assert.equal(log.length, 3, "an unchanged set is not logged again");
});

test("an entry deleted between the listing and its description is left out, not a failure", async () => {
  const f = fakeCluster();
  const a = f.add("a", { policies: [{ policyArn: VIEW, accessScope: cluster() }] });
  const b = f.add("b", { policies: [{ policyArn: VIEW, accessScope: cluster() }] });
  f.vanishOnDescribe(b.arn);
  const src = new EksAccessEntries(f.deps([]), { cluster: "c", region: "us-west-2", intervalMs: 1000 });
  await src.start();
  assert.deepEqual([...src.current().keys()], [a.id]);
});

test("start fails when the first load fails; the loop refreshes on the schedule until closed", async () => {
  const f = fakeCluster();
  f.add("dev", { policies: [{ policyArn: VIEW, accessScope: cluster() }] });
  f.fail(new EksAccessError("aws", "eks:ListAccessEntries c failed (InvalidRequestException): The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation."));
  const first = new EksAccessEntries(f.deps([]), { cluster: "c", region: "us-west-2", intervalMs: 1000 });
  await assert.rejects(first.start(), /InvalidRequestException/);
  f.fail(undefined);
  const timers: Array<{ fn: () => void; ms: number; cancelled: boolean }> = [];
  const src = new EksAccessEntries(
    { ...f.deps([]), schedule: (fn, ms) => {
      const t = { fn, ms, cancelled: false };
      timers.push(t);
      return () => void (t.cancelled = true);
    } },
    { cluster: "c", region: "us-west-2", intervalMs: 1500 },
  );
  await src.start();
  assert.deepEqual(timers.map((t) => t.ms), [1500], "the next refresh is scheduled an interval after the first ended");
  const before = f.calls["ListAccessEntries"];
  timers[0]!.fn();
  for (let i = 0; i < 50 && timers.length < 2; i++) await new Promise((r) => setImmediate(r));
  assert.equal(f.calls["ListAccessEntries"], before! + 1);
  assert.equal(timers.length, 2, "and the one after that");
  src.close();
  assert.equal(timers[1]!.cancelled, true);
});
