import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterEntry, dumpKubeconfig, insertClusterUserPair, newKubeconfig, parseKubeconfig, userEntry, usesClusterId, type ClusterDescription } from "../../src/core/kubeconfig.js";
import { candidatePaths, kubeconfigAdd, type KubeconfigAddDeps } from "../../src/usecases/kubeconfig-add.js";
import { userPath, type TextFiles } from "../../src/adapters/files.js";

const cluster: ClusterDescription = {
  name: "demo",
  arn: "arn:aws:eks:eu-west-1:111122223333:cluster/demo",
  endpoint: "https://ABC.gr7.eu-west-1.eks.amazonaws.com",
  certificateAuthorityData: "Q0E=",
  status: "ACTIVE",
  id: "0123-id",
};

function memFiles(initial: Record<string, string> = {}): TextFiles & { files: Record<string, string>; writes: number } {
  const files = { ...initial };
  const self = {
    files,
    writes: 0,
    read: (p: string) => files[p],
    writeAtomic: (p: string, t: string) => {
      self.writes++;
      files[p] = t;
    },
  };
  return self;
}

function deps(files: TextFiles, over: Partial<KubeconfigAddDeps> = {}): KubeconfigAddDeps {
  return { describeCluster: async () => cluster, files, kubeconfigEnv: undefined, resolvePath: (p) => userPath(p, "/home/u", "/work"), pathSeparator: ":", ...over };
}

const input = { name: "demo", dryRun: false, verbose: false, exec: "eks-access" as const };

test("Outposts: --cluster-id when outpostConfig has no etcdInstanceType (v2 rule)", () => {
  assert.equal(usesClusterId(cluster), false);
  assert.equal(usesClusterId({ ...cluster, outpostConfig: {} }), true);
  assert.equal(usesClusterId({ ...cluster, outpostConfig: { etcdInstanceType: "m5.large" } }), false);
  const u = userEntry({ ...cluster, outpostConfig: {} }, { exec: "aws" });
  assert.deepEqual(u.user.exec.args, ["--region", "eu-west-1", "eks", "get-token", "--cluster-id", "0123-id", "--output", "json"]);
});

test("entries: eks-access exec, proxy-url, aliases", () => {
  const c = clusterEntry(cluster, "socks5://p:1");
  assert.equal(c.cluster["proxy-url"], "socks5://p:1");
  const u = userEntry(cluster, { exec: "eks-access", roleArn: "arn:aws:iam::1:role/R", profile: "p", userAlias: "me" });
  assert.equal(u.name, "me");
  assert.equal(u.user.exec.command, "eks-access");
  assert.deepEqual(u.user.exec.env, [{ name: "AWS_PROFILE", value: "p" }]);
  const doc = newKubeconfig();
  const ctx = insertClusterUserPair(doc, c, u, "alias");
  assert.deepEqual(ctx, { context: { cluster: cluster.arn, user: "me" }, name: "alias" });
  assert.match(dumpKubeconfig(doc), /current-context: alias\n/);
});

test("cluster status other than ACTIVE/UPDATING is refused with the CLI's message; nothing written", async () => {
  for (const status of ["CREATING", "FAILED", "DELETING"]) {
    const files = memFiles();
    await assert.rejects(kubeconfigAdd(input, deps(files, { describeCluster: async () => ({ ...cluster, status }) })), (e: Error & { line?: string }) => {
      assert.match(e.message, new RegExp(`^Cluster status is ${status}$`));
      return true;
    });
    assert.equal(files.writes, 0);
  }
  const files = memFiles();
  const out = await kubeconfigAdd(input, deps(files, { describeCluster: async () => ({ ...cluster, status: "UPDATING" }) }));
  assert.equal(out.updated, false);
  assert.equal(files.writes, 1);
});

test("path selection: --kubeconfig, KUBECONFIG list (empty elements skipped, ~ expanded, relative to cwd), default", () => {
  const d = { resolvePath: (p: string) => userPath(p, "/home/u", "/work"), pathSeparator: ":" };
  assert.deepEqual(candidatePaths({ kubeconfig: "~/k" }, { ...d, kubeconfigEnv: "/a" }), ["/home/u/k"]);
  assert.deepEqual(candidatePaths({}, { ...d, kubeconfigEnv: "/a::rel/b: " }), ["/a", "/work/rel/b"]);
  assert.deepEqual(candidatePaths({}, { ...d, kubeconfigEnv: "" }), ["/home/u/.kube/config"]);
  assert.deepEqual(candidatePaths({}, { ...d, kubeconfigEnv: undefined }), ["/home/u/.kube/config"]);
});

test("the use case leaves paths to the path port: a Windows-style port's paths and separator are used as they are", () => {
  const seen: string[] = [];
  const win = { pathSeparator: ";", resolvePath: (p: string) => (seen.push(p), `C:\\Users\\u\\${p.replace(/^~\//, "").replaceAll("/", "\\")}`) };
  assert.deepEqual(candidatePaths({}, { ...win, kubeconfigEnv: "a\\k1;;b\\k2" }), ["C:\\Users\\u\\a\\k1", "C:\\Users\\u\\b\\k2"]);
  assert.deepEqual(candidatePaths({ kubeconfig: "D:\\k" }, { ...win, kubeconfigEnv: undefined }), ["C:\\Users\\u\\D:\\k"]);
  assert.deepEqual(candidatePaths({}, { ...win, kubeconfigEnv: undefined }), ["C:\\Users\\u\\.kube\\config"]);
  assert.deepEqual(seen, ["a\\k1", "b\\k2", "D:\\k", "~/.kube/config"]);
});

test("userPath (the node:path adapter): ~ and ~/ are home, relative is from cwd, .. and . resolved", () => {
  assert.equal(userPath("~", "/home/u", "/work"), "/home/u");
  assert.equal(userPath("~/a/../k", "/home/u", "/work"), "/home/u/k");
  assert.equal(userPath("./x/./y", "/home/u", "/work"), "/work/x/y");
  assert.equal(userPath("/abs//k", "/home/u", "/work"), "/abs/k");
});

test("a kubeconfig with two YAML documents is refused in plain words, nothing written", async () => {
  const files = memFiles({ "/a": "apiVersion: v1\nclusters: []\n---\napiVersion: v1\nusers: []\n" });
  await assert.rejects(kubeconfigAdd(input, deps(files, { kubeconfigEnv: "/a" })), (e: Error & { line?: string }) => {
    assert.equal(e.line, "kubeconfig /a is not valid: it contains 2 YAML documents (separated by ---); a kubeconfig is one document; fix or move the file (nothing was written), or choose another with --kubeconfig");
    return true;
  });
  assert.equal(files.writes, 0);
  assert.doesNotThrow(() => parseKubeconfig("---\napiVersion: v1\n", "/b"), "one document after a leading --- is fine");
});

test("the first KUBECONFIG file is written when the first file is corrupt: error, nothing written", async () => {
  const files = memFiles({ "/a": "clusters: 3\n" });
  await assert.rejects(kubeconfigAdd(input, deps(files, { kubeconfigEnv: "/a:/b" })), /kubeconfig \/a is not valid: clusters should be a list/);
  assert.equal(files.writes, 0);
});

test("parse: null sections are accepted and filled, unknown fields kept", async () => {
  const files = memFiles({ "/k": "apiVersion: v1\nclusters:\nusers: null\nextensions:\n- name: x\n" });
  await kubeconfigAdd({ ...input, kubeconfig: "/k" }, deps(files));
  const text = files.files["/k"]!;
  assert.match(text, /extensions:\n- name: x\n/);
  assert.match(text, /clusters:\n- cluster:/);
  assert.match(text, /users:\n- name: arn:aws:eks/);
  assert.doesNotThrow(() => parseKubeconfig(text, "/k"));
});

test("an all-comment file becomes the skeleton and keeps its header comment", async () => {
  const files = memFiles({ "/k": "# managed by hand\n" });
  await kubeconfigAdd({ ...input, kubeconfig: "/k" }, deps(files));
  assert.match(files.files["/k"]!, /^# managed by hand\n\n?apiVersion: v1\n/);
});
