/**
 * The aws-auth store against a real kube-apiserver (tools/peers): an edit changes only the row it
 * touches, 20 concurrent writer processes lose and duplicate nothing, backups are 0600 and restore,
 * an absent ConfigMap is created, and refusals (403, unreachable) are one line with the fix.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { awsAuthStore } from "../../src/compose.js";
import { kubeAwsAuthStore } from "../../src/adapters/kube-aws-auth.js";
import { parseAwsAuth, parseAwsAuthManifest, removeMappings, upsertMapping } from "../../src/core/mapping/aws-auth.js";
import { type KubeEnv, kubectl, startKube, writeTokenKubeconfig } from "../../src/sandbox/cluster/kube.js";
import { locatePeers } from "../../src/sandbox/cluster/peers.js";
import { repoRoot } from "../helpers.js";

const MAP_ROLES = `# nodes first — do not remove (ask #platform)
- rolearn: arn:aws:iam::111122223333:role/eks-ng-NodeInstanceRole-1ABC   # node group a
  username: system:node:{{EC2PrivateDNSName}}
  groups:
    - system:bootstrappers
    - system:nodes

# people
- rolearn: 'arn:aws:iam::111122223333:role/Admin'
  username: "admin:{{SessionName}}"
  groups: [ 'system:masters' ]
- rolearn: arn:aws:iam::111122223333:role/Viewer
  username: viewer:{{SessionName}}
  groups:
    - viewers   # bound to view
`;
const DATA = {
  mapRoles: MAP_ROLES,
  mapUsers: "- userarn: arn:aws:iam::111122223333:user/ops/alice\n  username: alice\n  groups:\n  - system:masters\n",
  mapAccounts: '- "444455556666"   # partner\n',
  "note.txt": "  spaces  kept \n",
};

const manifest = (data: Record<string, string>): string => JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "aws-auth", namespace: "kube-system" }, data });

describe("aws-auth store on a real kube-apiserver", () => {
  let dir: string;
  let kube: KubeEnv | undefined;
  const env = (): KubeEnv => {
    assert.ok(kube, "kube-apiserver did not start");
    return kube;
  };
  const stored = async (): Promise<Record<string, string> | undefined> => {
    const r = await kubectl(env().adminKubeconfig, ["-n", "kube-system", "get", "configmap", "aws-auth", "-o", "json", "--ignore-not-found"]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim() ? ((JSON.parse(r.stdout) as { data?: Record<string, string> }).data ?? {}) : undefined;
  };
  const put = async (data: Record<string, string>): Promise<void> => {
    const file = join(dir, "aws-auth.json");
    await writeFile(file, manifest(data));
    const r = await kubectl(env().adminKubeconfig, ["replace", "--force", "-f", file]);
    assert.equal(r.code, 0, r.stderr);
  };
  const admin = (name: string) => kubeAwsAuthStore({ kubeconfig: env().adminKubeconfig, env: {}, home: dir, cwd: dir }, { backupDir: join(dir, "backups", name) });

  before(async () => {
    const peers = await locatePeers({ build: true, log: (line) => console.error(line) });
    dir = await mkdtemp(join(tmpdir(), "eks-access-aws-auth-"));
    kube = await startKube({ dir: join(dir, "kube"), peers, aggregateClusterRoles: false });
  });

  after(async () => {
    await kube?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("(d) an absent ConfigMap is created, through compose (KUBECONFIG, state dir by context)", async () => {
    assert.equal(await stored(), undefined);
    const store = await awsAuthStore({ env: { KUBECONFIG: env().adminKubeconfig, EKS_ACCESS_STATE_DIR: join(dir, "state") } });
    assert.deepEqual(store.target, { context: "admin", server: env().server, backupDir: join(dir, "state", "backups", "admin") });
    assert.equal(await store.read(), undefined);
    const w = await store.update((c) => {
      const r = upsertMapping(c?.data, { arn: "arn:aws:iam::111122223333:role/First", username: "first:{{SessionName}}", groups: ["devs"] });
      assert.ok(r.ok);
      return r.data;
    });
    assert.deepEqual([w.before, w.backupPath, w.conflicts], [undefined, undefined, 0]);
    assert.deepEqual(await stored(), { mapRoles: "- groups:\n  - devs\n  rolearn: arn:aws:iam::111122223333:role/First\n  username: first:{{SessionName}}\n" });
  });

  test("(a) an edit changes only the rows it touches: comments, quoting, other keys, node roles and mapAccounts stay byte-identical", async () => {
    await put(DATA);
    const store = await admin("a");
    const w = await store.update((c) => {
      const added = upsertMapping(c!.data, { arn: "arn:aws:iam::111122223333:role/Dev", username: "dev:{{SessionName}}", groups: ["devs"] });
      assert.ok(added.ok);
      const changed = upsertMapping(added.data, { arn: "arn:aws:iam::111122223333:role/admin", username: "admin:{{SessionName}}", groups: ["system:masters", "auditors"] });
      assert.ok(changed.ok);
      return changed.data;
    });
    const after = await stored();
    assert.deepEqual(after, w.after?.data);
    for (const k of ["mapUsers", "mapAccounts", "note.txt"]) assert.equal(after![k], DATA[k as keyof typeof DATA], k);
    // the diff of mapRoles: one line changed, three added, everything else as it was
    const beforeLines = MAP_ROLES.split("\n");
    const afterLines = after!["mapRoles"]!.split("\n");
    assert.deepEqual(afterLines, [
      ...beforeLines.slice(0, 10),
      "  groups: ['system:masters', 'auditors']",
      ...beforeLines.slice(11, 15),
      "- rolearn: arn:aws:iam::111122223333:role/Dev",
      "  username: dev:{{SessionName}}",
      "  groups:",
      "    - devs",
      "",
    ]);
    assert.equal(beforeLines[10], "  groups: [ 'system:masters' ]");
  });

  test("(c) the backup written before the change is 0600 (directory 0700) and restore brings the old data back", async () => {
    await put(DATA);
    const store = await admin("c");
    const w = await store.update((c) => {
      const r = removeMappings(c!.data, "arn:aws:iam::111122223333:role/Viewer");
      assert.ok(r.ok && r.removed.length === 1);
      return r.data;
    });
    assert.ok(w.backupPath, "a backup was written");
    assert.equal((await stat(w.backupPath)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, "backups", "c"))).mode & 0o777, 0o700);
    const backup = parseAwsAuthManifest(await readFile(w.backupPath, "utf8"));
    assert.ok(!("error" in backup));
    assert.deepEqual(backup.data, DATA);
    assert.notDeepEqual(await stored(), DATA);
    const restored = await store.restore(w.backupPath);
    assert.deepEqual(await stored(), DATA);
    assert.ok(restored.backupPath && restored.backupPath !== w.backupPath);
    assert.deepEqual(await store.backups(), [restored.backupPath, w.backupPath]);
  });

  test("(b) 20 concurrent writer processes: every row present once, nothing else lost, conflicts seen and re-applied", async (t) => {
    await put(DATA);
    const N = 20;
    const arns = Array.from({ length: N }, (_, i) => `arn:aws:iam::111122223333:role/Writer${String(i).padStart(2, "0")}`);
    const t0 = Date.now();
    const procs = arns.map((arn) => {
      const p = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "test", "sandbox", "aws-auth-writer.ts"), env().adminKubeconfig, arn, join(dir, "backups", "b")], { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] });
      let out = "";
      let err = "";
      p.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
      p.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
      const read = new Promise<void>((resolve, reject) => {
        p.stdout.on("data", () => out.includes("read\n") && resolve());
        p.on("exit", (code) => reject(new Error(`writer ${arn} exited (${code}) before reading: ${err}`)));
      });
      const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) => p.on("exit", (code) => resolve({ code, out, err })));
      return { p, read, done };
    });
    // every writer has read the same resourceVersion before any of them writes
    await Promise.all(procs.map((x) => x.read));
    for (const x of procs) x.p.stdin.end("go\n");
    const results = await Promise.all(procs.map((x) => x.done));
    for (const [i, r] of results.entries()) assert.equal(r.code, 0, `writer ${i}: ${r.err}`);
    const reports = results.map((r) => JSON.parse(r.out.trim().split("\n").pop()!) as { conflicts: number; attempts: number });
    const conflicts = reports.reduce((n, r) => n + r.conflicts, 0);
    t.diagnostic(`${N} writers in ${Date.now() - t0} ms: ${conflicts} conflicts re-applied, at most ${Math.max(...reports.map((r) => r.attempts))} attempts by one writer`);
    assert.ok(conflicts >= N - 1, `all read one version, so at least ${N - 1} writes conflicted (saw ${conflicts})`);

    const after = await stored();
    const rows = parseAwsAuth(after).rows;
    for (const arn of arns) assert.equal(rows.filter((r) => r.arn === arn).length, 1, arn);
    for (const k of ["mapUsers", "mapAccounts", "note.txt"]) assert.equal(after![k], DATA[k as keyof typeof DATA], k);
    assert.ok(after!["mapRoles"]!.startsWith(MAP_ROLES), "the original rows and comments are untouched, the new rows appended");
    assert.equal(rows.filter((r) => r.kind === "mapRoles").length, 3 + N);
    assert.equal((await admin("b").then((s) => s.backups())).length, N, "one backup per successful write");
  });

  test("403: a caller RBAC does not allow gets one line naming the verbs needed", async () => {
    await put(DATA);
    assert.equal((await kubectl(env().adminKubeconfig, ["-n", "default", "create", "serviceaccount", "nobody"])).code, 0);
    const token = await kubectl(env().adminKubeconfig, ["-n", "default", "create", "token", "nobody"]);
    assert.equal(token.code, 0, token.stderr);
    const kc = await writeTokenKubeconfig(join(dir, "nobody.kubeconfig"), { server: env().server, caData: env().caData, token: token.stdout.trim(), user: "nobody" });
    const store = await kubeAwsAuthStore({ kubeconfig: kc, env: {}, home: dir, cwd: dir }, { backupDir: join(dir, "backups", "nobody") });
    await assert.rejects(store.update(() => ({})), (e: Error & { line: string }) => {
      assert.match(e.line, /^Forbidden: configmaps "aws-auth" is forbidden: User "system:serviceaccount:default:nobody" cannot get resource "configmaps" in API group "" in the namespace "kube-system" \(context nobody\); editing aws-auth needs get on configmaps in kube-system/);
      return true;
    });
  });

  test("an unreachable API server is said to be unreachable", async () => {
    const kc = await writeTokenKubeconfig(join(dir, "gone.kubeconfig"), { server: "https://127.0.0.1:1", caData: env().caData, token: "x", user: "gone" });
    const store = await kubeAwsAuthStore({ kubeconfig: kc, env: {}, home: dir, cwd: dir }, { backupDir: join(dir, "backups", "gone") });
    await assert.rejects(store.read(), (e: Error & { line: string }) => e.line.startsWith("cannot reach the Kubernetes API server at https://127.0.0.1:1 (context gone): ECONNREFUSED; check that the cluster is up"));
    await assert.rejects(kubeAwsAuthStore({ kubeconfig: kc, context: "nope", env: {}, home: dir, cwd: dir }, { backupDir: dir }), (e: Error & { line: string }) => e.line === `context nope is not in ${kc}; choose one of: gone`);
  });
});
