/**
 * The aws-auth store's write loop over a fake ConfigMap API: conflicts re-read and re-applied with
 * bounded jittered backoff (an injected sleep and random: no timing), backups (0600 in a 0700
 * directory, never overwritten, dropped when their write lost), create when absent, errors in one line.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { KubeAwsAuthStore, KubeStatusError, kubeconfigFiles, type KubeObject } from "../../src/adapters/kube-aws-auth.js";
import { FakeApi } from "../fake-configmap-api.js";
import { parseAwsAuthManifest, upsertMapping } from "../../src/core/mapping/aws-auth.js";
import { awsAuthBackupDir } from "../../src/core/cache-dirs.js";
import { tempDir } from "../helpers.js";

const cm = (data: Record<string, string>): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "aws-auth", namespace: "kube-system", resourceVersion: "1", uid: "u-1" }, data });
const NODE = "- rolearn: arn:aws:iam::1:role/Node\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n";
const grant = (arn: string) => (c: { data: Record<string, string> } | undefined) => {
  const r = upsertMapping(c?.data, { arn, username: "x", groups: ["g"] });
  assert.ok(r.ok);
  return r.data;
};

function store(api: FakeApi, dir: string, extra: Partial<ConstructorParameters<typeof KubeAwsAuthStore>[1]> = {}) {
  const sleeps: number[] = [];
  const s = new KubeAwsAuthStore(api, { backupDir: join(dir, "backups", "ctx"), now: () => new Date("2025-01-02T03:04:05.678Z"), random: () => 0.5, sleep: async (ms) => void sleeps.push(ms), ...extra });
  return { s, sleeps };
}

test("conflicts are re-read and re-applied with full-jitter exponential backoff; nothing of the other writer is lost", async () => {
  const t = tempDir();
  try {
    const api = new FakeApi(cm({ mapRoles: NODE }));
    let sneaks = 0;
    api.beforeWrite = () => {
      if (sneaks < 3) api.otherWriter(grant(`arn:aws:iam::1:role/Other${++sneaks}`)(api.stored as { data: Record<string, string> }));
    };
    const { s, sleeps } = store(api, t.path);
    const w = await s.update(grant("arn:aws:iam::1:role/Mine"));
    assert.equal(w.conflicts, 3);
    assert.deepEqual(sleeps, [50, 100, 200]); // random 0.5 × min(5000, 100 × 2^(n-1))
    assert.deepEqual(api.calls, ["get", "replace", "get", "replace", "get", "replace", "get", "replace"]);
    const roles = w.after!.data["mapRoles"]!;
    for (const r of ["Node", "Other1", "Other2", "Other3", "Mine"]) assert.ok(roles.includes(`role/${r}\n`), `${r} in\n${roles}`);
    assert.equal(w.after!.resourceVersion, String(api.version));
    // one backup: those of the writes that lost were removed again
    assert.deepEqual(await s.backups(), [w.backupPath]);
  } finally {
    t.cleanup();
  }
});

test("bounded: after maxAttempts conflicting writes it gives up with one line", async () => {
  const t = tempDir();
  try {
    const api = new FakeApi(cm({}));
    api.beforeWrite = () => api.otherWriter({ n: String(api.version) });
    const { s, sleeps } = store(api, t.path, { maxAttempts: 4, maxDelayMs: 120 });
    await assert.rejects(s.update(grant("arn:aws:iam::1:role/A")), (e: Error & { line: string; kind: string }) => {
      assert.equal(e.kind, "kubernetes");
      assert.equal(e.line, "configmap kube-system/aws-auth kept changing under this write: 4 conflicting writes in a row (context ctx); someone else is editing it right now; run the command again");
      return true;
    });
    assert.deepEqual(sleeps, [50, 60, 60]);
    assert.deepEqual(await s.backups(), []);
  } finally {
    t.cleanup();
  }
});

test("backup before each write: 0600 file in a 0700 directory, the ConfigMap as read, never overwritten; restore brings it back", async () => {
  const t = tempDir();
  try {
    const before = cm({ mapRoles: NODE, mapAccounts: "- 1\n" });
    const api = new FakeApi(structuredClone(before));
    const { s } = store(api, t.path);
    const w1 = await s.update(grant("arn:aws:iam::1:role/A"));
    const w2 = await s.update(grant("arn:aws:iam::1:role/B"));
    const dir = join(t.path, "backups", "ctx");
    assert.equal(w1.backupPath, join(dir, "aws-auth-20250102T030405.678Z.yaml"));
    assert.equal(w2.backupPath, join(dir, "aws-auth-20250102T030405.678Z-2.yaml"));
    assert.equal(statSync(w1.backupPath!).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const text = readFileSync(w1.backupPath!, "utf8");
    assert.match(text, /^# eks-access: kube-system\/aws-auth as it was before a change \(context ctx, server https:\/\/[^,]+, resourceVersion 1, 2025-01-02T03:04:05.678Z\)\n/);
    const m = parseAwsAuthManifest(text);
    assert.ok(!("error" in m));
    assert.deepEqual(m.data, before.data);
    assert.equal(m.resourceVersion, "1");
    assert.deepEqual(await s.backups(), [w2.backupPath, w1.backupPath]);

    const restored = await s.restore(w1.backupPath!);
    assert.deepEqual(restored.after!.data, before.data);
    assert.ok(restored.backupPath && restored.backupPath !== w2.backupPath, "the restore backed up what it replaced");
    const again = await s.restore(w1.backupPath!);
    assert.deepEqual([again.backupPath, again.after?.resourceVersion], [undefined, restored.after!.resourceVersion]);
    await assert.rejects(s.restore(join(t.path, "missing.yaml")), /cannot read the backup .*missing\.yaml: ENOENT/);
  } finally {
    t.cleanup();
  }
});

test("an absent ConfigMap is created (no backup); a create that races another create is retried as an update", async () => {
  const t = tempDir();
  try {
    const api = new FakeApi(undefined);
    const { s } = store(api, t.path);
    const w = await s.update(grant("arn:aws:iam::1:role/A"));
    assert.deepEqual([w.before, w.backupPath, api.calls], [undefined, undefined, ["get", "create"]]);
    assert.deepEqual(api.stored!.metadata, { name: "aws-auth", namespace: "kube-system", resourceVersion: "2" });

    const racing = new FakeApi(undefined);
    racing.beforeWrite = (verb) => {
      if (verb === "create" && !racing.stored) racing.stored = cm({ mapRoles: NODE });
    };
    const r = await store(racing, t.path).s.update(grant("arn:aws:iam::1:role/A"));
    assert.deepEqual([r.conflicts, racing.calls], [1, ["get", "create", "get", "replace"]]);
    assert.ok(r.after!.data["mapRoles"]!.startsWith(NODE));
  } finally {
    t.cleanup();
  }
});

test("no change, no write: 'unchanged', or data equal to what is there", async () => {
  const t = tempDir();
  try {
    const api = new FakeApi(cm({ mapRoles: NODE }));
    const { s } = store(api, t.path);
    assert.equal((await s.update(() => "unchanged")).backupPath, undefined);
    const same = await s.update((c) => ({ ...c!.data }));
    assert.deepEqual([same.backupPath, same.conflicts, api.calls], [undefined, 0, ["get", "get"]]);
    assert.equal(same.after, same.before);
  } finally {
    t.cleanup();
  }
});

test("refusals in one line with the fix: 403 names the verbs needed, 401 the credentials, others the status", async () => {
  const t = tempDir();
  try {
    const api = new FakeApi(cm({}));
    const { s } = store(api, t.path);
    api.beforeWrite = () => {
      throw new KubeStatusError(403, "Forbidden", 'configmaps "aws-auth" is forbidden: User "dev" cannot update resource "configmaps" in API group "" in the namespace "kube-system"');
    };
    await assert.rejects(s.update(grant("arn:aws:iam::1:role/A")), (e: Error & { line: string }) => {
      assert.equal(
        e.line,
        'Forbidden: configmaps "aws-auth" is forbidden: User "dev" cannot update resource "configmaps" in API group "" in the namespace "kube-system" (context ctx); editing aws-auth needs get and update on configmaps in kube-system (e.g. a Role with verbs get,update on configmaps, resourceNames [aws-auth]); use a context with cluster-admin (system:masters), or have an admin grant it',
      );
      return true;
    });
    assert.deepEqual(await s.backups(), [], "the backup of a refused write is removed");
    api.get = async () => {
      throw new KubeStatusError(401, "Unauthorized", "Unauthorized");
    };
    await assert.rejects(s.read(), (e: Error & { line: string }) => e.line === "the API server at https://127.0.0.1:6443 did not accept the credentials of context ctx (401 Unauthorized); refresh them (kubectl --context ctx auth whoami) or choose another --context");
    api.get = async () => {
      throw new KubeStatusError(503, "ServiceUnavailable", "etcd is down");
    };
    await assert.rejects(s.read(), (e: Error & { line: string }) => e.line === "get configmap kube-system/aws-auth failed: 503 ServiceUnavailable: etcd is down (context ctx); the API server had a problem; try again");
  } finally {
    t.cleanup();
  }
});

test("kubeconfig files as kubectl picks them; backup directories named by context", () => {
  const base = { env: {}, home: "/h", cwd: "/w" };
  assert.deepEqual(kubeconfigFiles({ ...base, kubeconfig: "~/k.yaml", env: { KUBECONFIG: "/a" } }), ["/h/k.yaml"]);
  assert.deepEqual(kubeconfigFiles({ ...base, env: { KUBECONFIG: "/a::rel/b" } }), ["/a", "/w/rel/b"]);
  assert.deepEqual(kubeconfigFiles({ ...base, env: { HOME: "/home/me" } }), ["/home/me/.kube/config"]);
  assert.equal(awsAuthBackupDir({ HOME: "/home/me" }, "/h", "arn:aws:eks:eu-west-1:111122223333:cluster/prod"), "/home/me/.eks-access/backups/arn_aws_eks_eu-west-1_111122223333_cluster_prod");
  assert.equal(awsAuthBackupDir({ EKS_ACCESS_STATE_DIR: "/s" }, "/h", "../x"), "/s/backups/__x");
});
