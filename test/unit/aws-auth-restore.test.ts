/**
 * `aws-auth restore` (the use case) through the real store over an in-memory apiserver: the newest
 * backup by default, a given one, --list, --dry-run (diff, nothing written), the restore itself
 * backed up; refused in one line with nothing changed: no backup, a file that is no aws-auth
 * backup, a backup of another kubeconfig context.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { KubeAwsAuthStore, type KubeObject } from "../../src/adapters/kube-aws-auth.js";
import { upsertMapping } from "../../src/core/mapping/aws-auth.js";
import { EksAccessError } from "../../src/core/errors.js";
import { restoreAwsAuth, type RestoreInput } from "../../src/usecases/aws-auth-restore.js";
import { FakeApi } from "../fake-configmap-api.js";
import { FakeEntries } from "../fake-access.js";
import { tempDir } from "../helpers.js";

const ORIGINAL = { mapRoles: "# keep me\n- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n  groups: [system:masters]\n", other: " x " };

function setup(data: Record<string, string> | undefined, mode: "CONFIG_MAP" | "API" = "CONFIG_MAP") {
  const t = tempDir();
  const api = new FakeApi(data && ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "aws-auth", namespace: "kube-system", resourceVersion: "1" }, data } as KubeObject));
  let clock = Date.parse("2025-03-04T05:06:07.000Z");
  const store = new KubeAwsAuthStore(api, { backupDir: join(t.path, "backups", "ctx"), now: () => new Date((clock += 1000)), random: () => 0, sleep: async () => {} });
  const deps = { entries: new FakeEntries(mode), awsAuth: async () => store };
  const run = (input: Partial<RestoreInput> = {}) => restoreAwsAuth(deps, { list: false, dryRun: false, ...input });
  const grant = async (name: string) => {
    const w = await store.update((c) => {
      const r = upsertMapping(c?.data, { arn: `arn:aws:iam::111122223333:role/${name}`, username: name, groups: ["devs"] });
      assert.ok(r.ok);
      return r.data;
    });
    return w.backupPath!;
  };
  return { api, store, run, grant, dir: t.path, done: t.cleanup };
}

const oneLine = (re: RegExp) => (err: unknown) => EksAccessError.is(err) && re.test(err.line) && !err.line.includes("\n");

test("no backup yet: a one-line refusal naming where backups go", async () => {
  const s = setup(ORIGINAL);
  try {
    await assert.rejects(s.run(), oneLine(/no aws-auth backup of context ctx in .*backups\/ctx; eks-access writes one before each change/));
    assert.deepEqual((await s.run({ list: true })).backups, []);
  } finally {
    s.done();
  }
});

test("the newest backup by default: --dry-run shows the diff and writes nothing; the restore brings the data back byte for byte and is backed up itself", async () => {
  const s = setup(ORIGINAL);
  try {
    const first = await s.grant("dev");
    const second = await s.grant("ops");
    const listed = await s.run({ list: true });
    assert.deepEqual(listed.backups.map((b) => [b.file, b.rows, b.resourceVersion, b.takenAt]), [
      [second, 2, "2", "2025-03-04T05:06:09.000Z"],
      [first, 1, "1", "2025-03-04T05:06:08.000Z"],
    ]);
    const version = s.api.version;
    const dry = await s.run({ dryRun: true });
    assert.equal(s.api.version, version, "--dry-run wrote nothing");
    assert.equal(dry.restored?.file, second);
    assert.equal(dry.restored?.chosen, "newest");
    assert.deepEqual(dry.backups.map((b) => b.file), [first]);
    assert.match(dry.diff, /^--- kube-system\/aws-auth data\.mapRoles\t\n\+\+\+ kube-system\/aws-auth data\.mapRoles\t\n@@ .* @@\n[\s\S]*^-- rolearn: arn:aws:iam::111122223333:role\/ops\n-  username: ops\n/m);
    const undo = await s.run();
    assert.equal(undo.diff, dry.diff);
    assert.ok(undo.backupPath && undo.backupPath !== second);
    const third = await s.run({ backup: first });
    assert.deepEqual(s.api.stored!.data, ORIGINAL);
    assert.equal(third.restored?.chosen, "given");
    // the restore was itself backed up: the newest backup now undoes it
    const redo = await s.run();
    assert.equal(redo.restored?.file, third.backupPath);
    assert.match(s.api.stored!.data!["mapRoles"]!, /role\/dev/);
    const same = await s.run({ backup: redo.restored!.file });
    assert.deepEqual([same.diff, same.backupPath], ["", undefined], "already as in the backup: nothing written");
  } finally {
    s.done();
  }
});

test("refused with nothing changed: not YAML, not a ConfigMap, another ConfigMap, a backup of another context, --list with --backup", async () => {
  const s = setup(ORIGINAL);
  try {
    const backup = await s.grant("dev");
    const before = structuredClone(s.api.stored);
    const file = (name: string, text: string) => {
      const p = join(s.dir, name);
      writeFileSync(p, text);
      return p;
    };
    await assert.rejects(s.run({ backup: file("a.yaml", "mapRoles: [\n") }), oneLine(/a\.yaml is not an aws-auth backup: not YAML/));
    await assert.rejects(s.run({ backup: file("b.yaml", "foo: bar\n") }), oneLine(/b\.yaml is not an aws-auth backup: it holds a ConfigMap without a name/));
    await assert.rejects(s.run({ backup: file("c.yaml", "kind: Secret\nmetadata: {name: aws-auth}\n") }), oneLine(/not an aws-auth backup: a Secret, not a ConfigMap/));
    await assert.rejects(s.run({ backup: file("d.yaml", "kind: ConfigMap\nmetadata: {name: coredns, namespace: kube-system}\ndata: {}\n") }), oneLine(/it holds ConfigMap kube-system\/coredns, not kube-system\/aws-auth/));
    await assert.rejects(s.run({ backup: join(s.dir, "missing.yaml") }), oneLine(/cannot read the backup .*missing\.yaml: ENOENT/));
    const { readFileSync } = await import("node:fs");
    const other = file("e.yaml", readFileSync(backup, "utf8").replace("server https://127.0.0.1:6443,", "server https://staging.example:443,"));
    await assert.rejects(s.run({ backup: other }), oneLine(/was taken from the cluster at https:\/\/staging\.example:443, not https:\/\/127\.0\.0\.1:6443 \(cluster prod\); nothing was changed/));
    // the same cluster reached through another context name (e.g. directly, without a kubeconfig) is the same cluster
    const renamed = file("f.yaml", readFileSync(backup, "utf8").replace("(context ctx,", "(context arn:aws:eks:eu-west-1:111122223333:cluster/prod,"));
    assert.equal((await s.run({ backup: renamed, dryRun: true })).restored?.file, renamed);
    await assert.rejects(s.run({ backup, list: true }), oneLine(/--list and --backup do not go together/));
    assert.deepEqual(s.api.stored, before);
    // a damaged file among the backups is listed with why; as the newest it is refused, never skipped silently
    writeFileSync(join(s.dir, "backups", "ctx", "aws-auth-29991231T235959.999Z.yaml"), "kind: [\n");
    const list = await s.run({ list: true });
    assert.match(list.backups[0]!.problem!, /is not an aws-auth backup: not YAML/);
    assert.equal(list.backups[1]!.file, backup);
    await assert.rejects(s.run(), oneLine(/aws-auth-29991231T235959\.999Z\.yaml is not an aws-auth backup/));
    assert.deepEqual(s.api.stored, before);
  } finally {
    s.done();
  }
});

test("a kubectl get -o yaml file restores too; an aws-auth that was deleted is created again; API mode says it changes no one's access", async () => {
  const s = setup(undefined, "API");
  try {
    const p = join(s.dir, "saved.yaml");
    writeFileSync(p, `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n  resourceVersion: "77"\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/Admin\n      username: admin\n`);
    const o = await s.run({ backup: p });
    assert.deepEqual(s.api.stored!.data, { mapRoles: "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n" });
    assert.equal(o.restored?.resourceVersion, "77");
    assert.equal(o.backupPath, undefined, "there was nothing to back up");
    assert.match(o.notes.join("\n"), /API mode: EKS does not read aws-auth/);
  } finally {
    s.done();
  }
});
