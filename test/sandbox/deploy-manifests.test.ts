/**
 * deploy/ (the Kubernetes manifests of `eks-access serve`) against a real kube-apiserver:
 *  - every object passes `kubectl apply --dry-run=server -f deploy/` (schema, defaults, admission),
 *    and a broken copy does not (control: the dry run validates);
 *  - the shape both variants promise: the DaemonSet on control-plane nodes on the host's network
 *    with tolerations, the Deployment behind a Service, probes on /healthz and /readyz, resources,
 *    non-root, the config file from the ConfigMap;
 *  - the RBAC is least privilege and enough: with a token of the ServiceAccount (TokenRequest),
 *    aws-auth can be read and list-watched by name, nothing else; serve with only that token
 *    watches aws-auth and becomes ready;
 *  - each variant's container arguments, with its volumes mapped to temporary directories (and
 *    the listen address and port to free loopback ones), start the built serve: probes answer, the
 *    DaemonSet writes its webhook kubeconfig and certificate to the host paths, the Deployment
 *    serves the Secret's certificate and writes nothing.
 * Under the lock: flock /tmp/eks-access-e2e.lock node --import tsx --test test/sandbox/deploy-manifests.test.ts
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { kubectl, requestText, startKube, writeTokenKubeconfig, type KubeEnv } from "../../src/sandbox/cluster/kube.js";
import { locatePeers } from "../../src/sandbox/cluster/peers.js";
import { freePort, poll } from "../../src/sandbox/emulator/net.js";
import { baseEnv, cliPath, repoRoot, runCli, tempDir } from "../helpers.js";

const DEPLOY = join(repoRoot, "deploy");

type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };
type Container = {
  args: string[];
  ports: Array<{ containerPort: number; hostPort?: number }>;
  livenessProbe: { httpGet: { path: string; scheme: string; host?: string } };
  readinessProbe: { httpGet: { path: string; scheme: string; host?: string } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: { allowPrivilegeEscalation: boolean; readOnlyRootFilesystem: boolean; capabilities: { drop: string[] } };
  volumeMounts: Array<{ name: string; mountPath: string }>;
};
type PodSpec = {
  serviceAccountName: string;
  hostNetwork?: boolean;
  nodeSelector?: Record<string, string>;
  tolerations?: Array<{ key: string; effect?: string }>;
  securityContext: { runAsNonRoot: boolean; runAsUser: number };
  containers: Container[];
  volumes: Array<{ name: string; configMap?: { name: string }; hostPath?: { path: string }; secret?: { secretName: string } }>;
};

const docs: Doc[] = readdirSync(DEPLOY)
  .filter((f) => f.endsWith(".yaml"))
  .flatMap((f) => parseAllDocuments(readFileSync(join(DEPLOY, f), "utf8")).map((d) => d.toJS() as Doc))
  .filter((d) => d !== null);
const find = (kind: string, name: string): Doc => {
  const d = docs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(d, `deploy/ has no ${kind} ${name}`);
  return d;
};
const podOf = (kind: string, name: string): PodSpec => (find(kind, name) as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
const configText = (): string => (find("ConfigMap", "eks-access") as unknown as { data: Record<string, string> }).data["config.yaml"]!;

let t: { path: string; cleanup(): void };
let kube: KubeEnv;
let saKubeconfig: string;
const running: ChildProcess[] = [];

before(async () => {
  t = tempDir("eks-access-deploy-");
  const peers = await locatePeers({ build: true, log: (l) => console.error(l) });
  kube = await startKube({ dir: join(t.path, "kube"), peers, aggregateClusterRoles: false });
});

after(async () => {
  for (const c of running) if (c.exitCode === null) c.kill("SIGKILL");
  await kube?.stop();
  t?.cleanup();
});

describe("deploy/ against kube-apiserver", () => {
  it("every object passes kubectl apply --dry-run=server; a broken copy is refused", async () => {
    const r = await kubectl(kube.adminKubeconfig, ["apply", "--dry-run=server", "-f", DEPLOY]);
    assert.equal(r.code, 0, r.stderr);
    const applied = r.stdout.trim().split("\n").sort();
    const expected = docs.map((d) => `${d.kind.toLowerCase()}${d.apiVersion.includes("/") ? `.${d.apiVersion.split("/")[0]}` : ""}/${d.metadata.name} created (server dry run)`).sort();
    assert.deepEqual(applied, expected, "each manifest object went through the apiserver");
    assert.deepEqual([...new Set(docs.map((d) => d.kind))].sort(), ["ConfigMap", "DaemonSet", "Deployment", "PodDisruptionBudget", "Role", "RoleBinding", "Service", "ServiceAccount"]);
    assert.ok(docs.every((d) => d.metadata.namespace === "kube-system"), "everything in kube-system");
    // control: the same DaemonSet with a port out of range is refused by the server's validation
    const broken = join(t.path, "broken.yaml");
    writeFileSync(broken, readFileSync(join(DEPLOY, "daemonset.yaml"), "utf8").replace("containerPort: 21362", "containerPort: 70000"));
    const bad = await kubectl(kube.adminKubeconfig, ["apply", "--dry-run=server", "-f", broken]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /containerPort/);
    // nothing was created by the dry runs
    const none = await kubectl(kube.adminKubeconfig, ["get", "daemonsets,deployments,serviceaccounts", "-n", "kube-system", "-o", "name"]);
    assert.doesNotMatch(none.stdout, /eks-access/);
  });

  it("the DaemonSet: control-plane nodes, host network, tolerations, probes, resources, non-root, the ConfigMap and the peer's host paths", () => {
    const pod = podOf("DaemonSet", "eks-access");
    assert.equal(pod.hostNetwork, true);
    assert.deepEqual(pod.nodeSelector, { "node-role.kubernetes.io/control-plane": "" });
    assert.ok(pod.tolerations?.some((x) => x.key === "node-role.kubernetes.io/control-plane" && x.effect === "NoSchedule"));
    const c = pod.containers[0]!;
    assert.deepEqual([c.livenessProbe.httpGet.path, c.readinessProbe.httpGet.path], ["/healthz", "/readyz"]);
    assert.deepEqual([c.livenessProbe.httpGet.scheme, c.livenessProbe.httpGet.host], ["HTTPS", "127.0.0.1"], "host network: the server listens on the node's loopback");
    assert.ok(c.resources.requests["cpu"] && c.resources.requests["memory"] && c.resources.limits["memory"]);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.notEqual(pod.securityContext.runAsUser, 0);
    assert.deepEqual([c.securityContext.allowPrivilegeEscalation, c.securityContext.readOnlyRootFilesystem, c.securityContext.capabilities.drop], [false, true, ["ALL"]]);
    assert.deepEqual(pod.volumes.map((v) => v.configMap?.name ?? v.hostPath?.path).sort(), ["/etc/kubernetes/aws-iam-authenticator/", "/var/aws-iam-authenticator/", "eks-access"]);
    assert.equal(pod.serviceAccountName, "eks-access");
  });

  it("the Deployment variant: replicas behind a Service, the certificate from a Secret, probes on the pod", () => {
    const d = find("Deployment", "eks-access-webhook") as unknown as { spec: { replicas: number } };
    assert.ok(d.spec.replicas >= 2);
    const pod = podOf("Deployment", "eks-access-webhook");
    assert.equal(pod.hostNetwork ?? false, false);
    assert.ok(pod.volumes.some((v) => v.secret?.secretName === "eks-access-tls"));
    const c = pod.containers[0]!;
    assert.deepEqual([c.livenessProbe.httpGet.path, c.readinessProbe.httpGet.path], ["/healthz", "/readyz"]);
    const svc = find("Service", "eks-access-webhook") as unknown as { spec: { selector: Record<string, string>; ports: Array<{ port: number; targetPort: string }> } };
    assert.deepEqual(svc.spec.selector, (find("Deployment", "eks-access-webhook") as unknown as { spec: { selector: { matchLabels: Record<string, string> } } }).spec.selector.matchLabels);
    assert.deepEqual(svc.spec.ports.map((p) => [p.port, p.targetPort]), [[443, "webhook"]]);
  });

  it("RBAC: the ServiceAccount reads and list-watches kube-system/aws-auth by name, and nothing else", async () => {
    const admin = kube.adminKubeconfig;
    const applied = await kubectl(admin, ["apply", "-f", join(DEPLOY, "rbac.yaml")]);
    assert.equal(applied.code, 0, applied.stderr);
    const role = find("Role", "eks-access-aws-auth-reader") as unknown as { rules: unknown[] };
    assert.deepEqual(role.rules, [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["aws-auth"], verbs: ["get", "list", "watch"] }]);
    const awsAuth = join(t.path, "aws-auth.yaml");
    writeFileSync(awsAuth, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/alice\n      username: alice\n      groups: [devs]\n");
    for (const args of [["apply", "-f", awsAuth], ["create", "configmap", "other", "-n", "kube-system", "--from-literal=a=b"], ["create", "secret", "generic", "other", "-n", "kube-system", "--from-literal=a=b"], ["create", "configmap", "aws-auth", "-n", "default", "--from-literal=a=b"]]) {
      const r = await kubectl(admin, args);
      assert.equal(r.code, 0, r.stderr);
    }
    const token = await kubectl(admin, ["create", "token", "eks-access", "-n", "kube-system", "--duration=10m"]);
    assert.equal(token.code, 0, token.stderr);
    saKubeconfig = await writeTokenKubeconfig(join(t.path, "sa.kubeconfig"), { server: kube.server, caData: kube.caData, token: token.stdout.trim() });
    const who = await kubectl(saKubeconfig, ["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
    assert.equal(who.stdout, "system:serviceaccount:kube-system:eks-access", who.stderr);
    const allowed = [
      ["get", "configmap", "aws-auth", "-n", "kube-system"],
      ["get", "configmaps", "-n", "kube-system", "--field-selector", "metadata.name=aws-auth"],
    ];
    for (const args of allowed) {
      const r = await kubectl(saKubeconfig, [...args, "-o", "name"]);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), "configmap/aws-auth");
    }
    const canWatch = await kubectl(saKubeconfig, ["auth", "can-i", "watch", "configmaps/aws-auth", "-n", "kube-system"]);
    assert.equal(canWatch.stdout.trim(), "yes");
    const refused = [
      ["get", "configmap", "other", "-n", "kube-system"],
      ["get", "configmaps", "-n", "kube-system"],
      ["get", "secrets", "-n", "kube-system"],
      ["get", "configmap", "aws-auth", "-n", "default"],
      ["patch", "configmap", "aws-auth", "-n", "kube-system", "-p", '{"data":{"x":"y"}}'],
    ];
    for (const args of refused) {
      const r = await kubectl(saKubeconfig, args);
      assert.notEqual(r.code, 0, `${args.join(" ")} should be forbidden`);
      assert.match(r.stderr, /forbidden/i, args.join(" "));
    }
  });

  /** Starts the built CLI with a container's args (its entrypoint is `eks-access serve`), returns its output so far. */
  async function runContainer(args: string[], probeHost: string, port: number, ca: () => string): Promise<{ child: ChildProcess; output: () => string }> {
    const child = spawn(cliPath, ["serve", ...args], { env: baseEnv({ AWS_EC2_METADATA_DISABLED: "true" }) as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    running.push(child);
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const ready = await poll(async () => (child.exitCode !== null ? -1 : (await requestText(`https://${probeHost}:${port}/readyz`, { ca: ca() })).status), (s) => s === 200 || s === -1, 300);
    assert.ok(ready.held && ready.value === 200, `serve did not become ready: ${out}`);
    return { child, output: () => out };
  }

  async function stop(child: ChildProcess): Promise<void> {
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  }

  /** Writes the ConfigMap's config.yaml where the container would see it. */
  function mountConfig(dir: string): string {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "config.yaml"), configText());
    return dir;
  }

  it("the DaemonSet's container args start serve: ready with aws-auth watched by the ServiceAccount, certificate and webhook kubeconfig written to the host paths", async () => {
    assert.ok(saKubeconfig, "the RBAC test made the ServiceAccount's kubeconfig");
    const c = podOf("DaemonSet", "eks-access").containers[0]!;
    const mounts: Record<string, string> = {
      "/etc/aws-iam-authenticator/": mountConfig(join(t.path, "ds", "config")),
      "/var/aws-iam-authenticator/": join(t.path, "ds", "state"),
      "/etc/kubernetes/aws-iam-authenticator/": join(t.path, "ds", "output"),
    };
    assert.deepEqual(Object.keys(mounts).sort(), c.volumeMounts.map((m) => m.mountPath).sort(), "every mount mapped");
    const mapPath = (arg: string): string => Object.entries(mounts).reduce((a, [from, to]) => a.replace(from.replace(/\/$/, ""), to.replace(/\/$/, "")), arg);
    const port = await freePort();
    // in the pod: the config's port (the hostPort) and the in-cluster ServiceAccount; here a free port and its token
    assert.equal(c.ports[0]!.containerPort, 21362);
    assert.match(configText(), /port: 21362/);
    const args = [...c.args.map(mapPath), `--port=${port}`, `--kubeconfig=${saKubeconfig}`];
    const state = mounts["/var/aws-iam-authenticator/"]!;
    const s = await runContainer(args, "127.0.0.1", port, () => readFileSync(join(state, "cert.pem"), "utf8"));
    const ca = readFileSync(join(state, "cert.pem"), "utf8");
    const health = await requestText(`https://127.0.0.1:${port}${c.livenessProbe.httpGet.path}`, { ca });
    assert.deepEqual(health, { status: 200, body: "ok" });
    assert.ok(existsSync(join(state, "key.pem")), "the key beside the certificate");
    const webhook = readFileSync(join(mounts["/etc/kubernetes/aws-iam-authenticator/"]!, "kubeconfig.yaml"), "utf8");
    assert.match(webhook, new RegExp(`server: https://127\\.0\\.0\\.1:${port}/authenticate`));
    assert.match(s.output(), /"msg":"listening"/);
    assert.match(s.output(), /EKSConfigMap/);
    await stop(s.child);
  });

  it("the Deployment's container args start serve with the Secret's certificate and write nothing", async () => {
    assert.ok(saKubeconfig, "the RBAC test made the ServiceAccount's kubeconfig");
    const c = podOf("Deployment", "eks-access-webhook").containers[0]!;
    // the Secret: made as the manifest's comment says, with serve init
    const pki = join(t.path, "dep", "pki");
    const init = runCli(["serve", "init", "--hostname", "127.0.0.1", "--state-dir", pki, "--port", "443", "--generate-kubeconfig", join(t.path, "dep", "authn-webhook.kubeconfig")], { env: baseEnv() });
    assert.equal(init.status, 0, init.stderr);
    const tls = join(t.path, "dep", "tls");
    mkdirSync(tls, { recursive: true });
    copyFileSync(join(pki, "cert.pem"), join(tls, "tls.crt"));
    copyFileSync(join(pki, "key.pem"), join(tls, "tls.key"));
    const mounts: Record<string, string> = { "/etc/aws-iam-authenticator/": mountConfig(join(t.path, "dep", "config")), "/etc/eks-access/tls/": tls };
    assert.deepEqual(Object.keys(mounts).sort(), c.volumeMounts.map((m) => m.mountPath).sort(), "every mount mapped");
    const port = await freePort();
    assert.ok(c.args.includes("--address=0.0.0.0"), "in the pod it listens on the pod's address");
    const args = [
      ...c.args.map((a) => (a === "--address=0.0.0.0" ? "--address=127.0.0.1" : Object.entries(mounts).reduce((x, [from, to]) => x.replace(from.replace(/\/$/, ""), to), a))),
      `--port=${port}`,
      `--kubeconfig=${saKubeconfig}`,
    ];
    const hostPaths = ["/var/aws-iam-authenticator", "/etc/kubernetes/aws-iam-authenticator"].map((p) => [p, existsSync(p)] as const);
    const s = await runContainer(args, "127.0.0.1", port, () => readFileSync(join(tls, "tls.crt"), "utf8"));
    const health = await requestText(`https://127.0.0.1:${port}/healthz`, { ca: readFileSync(join(pki, "cert.pem"), "utf8") });
    assert.deepEqual(health, { status: 200, body: "ok" }, "the Secret's certificate is served");
    assert.deepEqual(readdirSync(tls).sort(), ["tls.crt", "tls.key"], "nothing written beside the Secret");
    assert.deepEqual(hostPaths.map(([p]) => [p, existsSync(p)]), hostPaths, "no state directory or kubeconfig made (--kubeconfig-pregenerated, --tls-cert-file)");
    assert.match(s.output(), /"webhookKubeconfig":"not written"/);
    await stop(s.child);
  });
});
