/**
 * A real, minimal Kubernetes control plane for tests and the sandbox: etcd + kube-apiserver on
 * 127.0.0.1, RBAC, a static admin token (group system:masters) and, optionally, a TokenReview
 * webhook (the authenticator under test). No controller-manager, scheduler or nodes.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { stringify } from "yaml";
import { freePort } from "../emulator/net.js";
import { type Peers, type PeerProcess, spawnPeer, waitPeerReady } from "./peers.js";
import { createRsaKeyPair, createTestCa, issueLeafCertificate } from "../emulator/tls.js";

export interface KubeWebhook {
  /**
   * TokenReview endpoint, e.g. https://127.0.0.1:21362/authenticate. Use https with `caFile` (the
   * apiserver verifies the webhook's certificate against it; without `caFile` the system roots are
   * used). Plain http also works but sends tokens in clear text: loopback tests only.
   */
  url: string;
  /** PEM CA (or the self-signed certificate itself) the webhook's serving certificate chains to. */
  caFile?: string;
  /** --authentication-token-webhook-version; the apiserver default is v1beta1. */
  version?: "v1" | "v1beta1";
  /** --authentication-token-webhook-cache-ttl, e.g. "0s" to disable the cache; apiserver default 2m. */
  cacheTtl?: string;
}

export interface StartKubeOptions {
  /** Working directory for certificates, configuration, etcd data and the two logs. */
  dir: string;
  peers: Pick<Peers, "kubeApiserver" | "etcd">;
  webhook?: KubeWebhook;
  /** Progress lines (not the peers' own logs, which go to files under `dir`). */
  log?: (line: string) => void;
  /**
   * A SubjectAccessReview webhook beside RBAC (--authorization-mode=Node,RBAC,Webhook), e.g.
   * `eks-access serve`'s /authorize, with the apiserver's decision cache off.
   */
  authorizationWebhook?: Pick<KubeWebhook, "url" | "caFile"> & { version?: "v1" | "v1beta1" };
  /** Appended to the kube-apiserver command line. */
  extraApiserverArgs?: string[];
  /**
   * Fill the aggregated ClusterRoles (admin, edit, view, ...) once after start-up, as
   * kube-controller-manager's clusterrole-aggregation controller would (it is not run here, so
   * without this `view` has no rules). Default true.
   */
  aggregateClusterRoles?: boolean;
}

export interface KubeEnv {
  /** https://127.0.0.1:PORT */
  server: string;
  /** PEM CA of the apiserver's serving certificate. */
  caFile: string;
  /** base64 of that PEM, as kubeconfig `certificate-authority-data` wants it. */
  caData: string;
  /** Static bearer token of user `admin` in group system:masters. */
  adminToken: string;
  /** kubeconfig using `adminToken`. */
  adminKubeconfig: string;
  dir: string;
  etcd: PeerProcess;
  apiserver: PeerProcess;
  /** Milliseconds from spawning kube-apiserver to /readyz answering ok. */
  apiserverStartMs: number;
  /** Stops kube-apiserver then etcd; leaves no process behind. */
  stop(): Promise<void>;
}

const SERVICE_CIDR = "10.0.0.0/24";
const SERVICE_IP = "10.0.0.1";
const SA_ISSUER = "https://kubernetes.default.svc.cluster.local";
const READY_ATTEMPTS = 1200; // x 100 ms: a cold kube-apiserver on 2 cores takes seconds, not minutes

/** Starts etcd and kube-apiserver and resolves once /readyz answers ok to the admin token. */
export async function startKube(opts: StartKubeOptions): Promise<KubeEnv> {
  const log = opts.log ?? (() => {});
  const dir = opts.dir;
  await mkdir(dir, { recursive: true });
  const files = await writeApiserverFiles(dir, opts.webhook, opts.authorizationWebhook);
  const started: PeerProcess[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const p of [...started].reverse()) await p.stop(p.name === "kube-apiserver" ? 10_000 : 5_000);
    })());
  try {
    const etcd = await startEtcd(dir, opts.peers.etcd, log);
    started.push(etcd.peer);
    const port = await freePort();
    const t0 = Date.now();
    const apiserver = await spawnPeer("kube-apiserver", opts.peers.kubeApiserver, apiserverArgs(files, etcd.url, port, opts), {
      logFile: join(dir, "kube-apiserver.log"),
    });
    started.push(apiserver);
    const server = `https://127.0.0.1:${port}`;
    await waitReady(apiserver, `${server}/readyz`, () => isApiserverReady(server, files.caPem, files.adminToken));
    const apiserverStartMs = Date.now() - t0;
    log(`kube-apiserver ready at ${server} in ${apiserverStartMs} ms (etcd ${etcd.url})`);
    if (opts.aggregateClusterRoles !== false) {
      const changed = await aggregateClusterRoles({ server, ca: files.caPem, token: files.adminToken });
      log(`aggregated ClusterRoles: ${changed.join(", ")}`);
    }
    const caData = Buffer.from(files.caPem).toString("base64");
    const adminKubeconfig = join(dir, "admin.kubeconfig");
    await writeTokenKubeconfig(adminKubeconfig, { server, caData, token: files.adminToken, user: "admin" });
    return {
      server, caFile: files.caFile, caData, adminToken: files.adminToken, adminKubeconfig, dir,
      etcd: etcd.peer, apiserver, apiserverStartMs, stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

interface ApiserverFiles {
  caFile: string;
  caPem: string;
  certFile: string;
  keyFile: string;
  saPrivateKey: string;
  saPublicKey: string;
  tokenFile: string;
  adminToken: string;
  webhookConfig?: string;
  authzWebhookConfig?: string;
}

async function writeApiserverFiles(dir: string, webhook: KubeWebhook | undefined, authz: StartKubeOptions["authorizationWebhook"]): Promise<ApiserverFiles> {
  const pki = join(dir, "pki");
  const ca = await createTestCa(pki, { name: "ca", commonName: "eks-access kube-apiserver CA", days: 365 });
  const [serving, sa] = await Promise.all([
    issueLeafCertificate(ca, {
      name: "apiserver",
      dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"],
      ipAddresses: ["127.0.0.1", SERVICE_IP],
      days: 365,
    }),
    createRsaKeyPair(pki, "service-account"),
  ]);
  const adminToken = randomBytes(32).toString("hex");
  const tokenFile = join(dir, "tokens.csv");
  await writeFile(tokenFile, `${adminToken},admin,admin,"system:masters"\n`, { mode: 0o600 });
  const files: ApiserverFiles = {
    caFile: ca.certPath, caPem: ca.certPem, certFile: serving.certPath, keyFile: serving.keyPath,
    saPrivateKey: sa.privateKeyFile, saPublicKey: sa.publicKeyFile, tokenFile, adminToken,
  };
  if (webhook) {
    files.webhookConfig = join(dir, "webhook.kubeconfig");
    await writeFile(files.webhookConfig, webhookKubeconfig(webhook));
  }
  if (authz) {
    files.authzWebhookConfig = join(dir, "authz-webhook.kubeconfig");
    await writeFile(files.authzWebhookConfig, webhookKubeconfig(authz));
  }
  return files;
}

/** The kubeconfig-format file for --authentication-token-webhook-config-file. */
export function webhookKubeconfig(webhook: Pick<KubeWebhook, "url" | "caFile">): string {
  const cluster: Record<string, string> = { server: webhook.url };
  if (webhook.caFile) cluster["certificate-authority"] = webhook.caFile;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "token-webhook", cluster }],
    users: [{ name: "kube-apiserver", user: {} }],
    contexts: [{ name: "webhook", context: { cluster: "token-webhook", user: "kube-apiserver" } }],
    "current-context": "webhook",
  });
}

function apiserverArgs(files: ApiserverFiles, etcdUrl: string, port: number, opts: StartKubeOptions): string[] {
  const args = [
    `--etcd-servers=${etcdUrl}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${port}`,
    `--cert-dir=${join(opts.dir, "apiserver-certs")}`,
    `--tls-cert-file=${files.certFile}`,
    `--tls-private-key-file=${files.keyFile}`,
    `--service-account-issuer=${SA_ISSUER}`,
    `--service-account-key-file=${files.saPublicKey}`,
    `--service-account-signing-key-file=${files.saPrivateKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    opts.authorizationWebhook ? "--authorization-mode=Node,RBAC,Webhook" : "--authorization-mode=RBAC",
    "--anonymous-auth=false",
    `--token-auth-file=${files.tokenFile}`,
    "--enable-priority-and-fairness=false",
    "--endpoint-reconciler-type=none",
    "--profiling=false",
  ];
  const webhook = opts.webhook;
  if (webhook && files.webhookConfig) {
    args.push(`--authentication-token-webhook-config-file=${files.webhookConfig}`);
    args.push(`--authentication-token-webhook-version=${webhook.version ?? "v1beta1"}`);
    if (webhook.cacheTtl) args.push(`--authentication-token-webhook-cache-ttl=${webhook.cacheTtl}`);
  }
  if (opts.authorizationWebhook && files.authzWebhookConfig) {
    args.push(`--authorization-webhook-config-file=${files.authzWebhookConfig}`);
    args.push(`--authorization-webhook-version=${opts.authorizationWebhook.version ?? "v1"}`);
    args.push("--authorization-webhook-cache-authorized-ttl=0s", "--authorization-webhook-cache-unauthorized-ttl=0s");
  }
  return [...args, ...(opts.extraApiserverArgs ?? [])];
}

async function startEtcd(dir: string, binary: string, log: (line: string) => void): Promise<{ peer: PeerProcess; url: string }> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const peer = await spawnPeer("etcd", binary, [
    "--name=sandbox",
    `--data-dir=${join(dir, "etcd-data")}`,
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=sandbox=${peerUrl}`,
    "--unsafe-no-fsync", // test data: durability is not wanted, speed is
  ], { logFile: join(dir, "etcd.log") });
  try {
    await waitReady(peer, `${url}/health`, async () => (await requestText(`${url}/health`)).body.includes('"true"'));
  } catch (err) {
    await peer.stop(1_000);
    throw err;
  }
  log(`etcd ready at ${url}`);
  return { peer, url };
}

const waitReady = (peer: PeerProcess, what: string, probe: () => Promise<boolean>): Promise<void> => waitPeerReady(peer, what, probe, READY_ATTEMPTS);

async function isApiserverReady(server: string, ca: string, token: string): Promise<boolean> {
  const res = await requestText(`${server}/readyz`, { ca, token });
  return res.status === 200 && res.body.trim() === "ok";
}

interface RequestOptions {
  ca?: string;
  token?: string;
  method?: string;
  /** Sent as JSON. */
  json?: unknown;
}

/** A small request over http or https (with a CA and bearer token); answers status and body. */
export async function requestText(url: string, opts: RequestOptions = {}): Promise<{ status: number; body: string }> {
  const body = opts.json === undefined ? undefined : JSON.stringify(opts.json);
  const headers: Record<string, string> = {
    ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
    ...(body === undefined ? {} : { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) }),
  };
  const request = url.startsWith("https:") ? httpsRequest : httpRequest;
  const method = opts.method ?? "GET";
  return await new Promise((resolve, reject) => {
    const req = request(url, { method, headers, ca: opts.ca, timeout: 5_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

interface ApiAccess {
  server: string;
  ca: string;
  token: string;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }>;
}

interface ClusterRole {
  metadata: { name: string; labels?: Record<string, string> };
  aggregationRule?: { clusterRoleSelectors?: LabelSelector[] };
  rules?: unknown[];
}

const CLUSTER_ROLES = "/apis/rbac.authorization.k8s.io/v1/clusterroles";

/**
 * One pass of kube-controller-manager's clusterrole-aggregation controller, repeated until nothing
 * changes (edit aggregates into admin, view into edit): every ClusterRole with an aggregationRule
 * gets the union of the rules of the ClusterRoles its selectors match. Answers the names updated.
 */
export async function aggregateClusterRoles(api: ApiAccess): Promise<string[]> {
  const updated = new Set<string>();
  for (let round = 0; round < 10; round++) {
    const list = await apiJson<{ items: ClusterRole[] }>(api, "GET", CLUSTER_ROLES);
    let changed = false;
    for (const role of list.items.filter((r) => r.aggregationRule)) {
      const rules = aggregatedRules(role, list.items);
      if (JSON.stringify(rules) === JSON.stringify(role.rules ?? [])) continue;
      await apiJson(api, "PUT", `${CLUSTER_ROLES}/${role.metadata.name}`, { ...role, rules });
      role.rules = rules;
      updated.add(role.metadata.name);
      changed = true;
    }
    if (!changed) return [...updated].sort();
  }
  throw new Error("ClusterRole aggregation did not settle after 10 rounds");
}

function aggregatedRules(role: ClusterRole, all: ClusterRole[]): unknown[] {
  const selectors = role.aggregationRule?.clusterRoleSelectors ?? [];
  const seen = new Set<string>();
  const rules: unknown[] = [];
  const sources = all
    .filter((r) => r.metadata.name !== role.metadata.name && selectors.some((sel) => matches(sel, r.metadata.labels ?? {})))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (const rule of sources.flatMap((r) => r.rules ?? [])) {
    const key = JSON.stringify(rule);
    if (!seen.has(key)) {
      seen.add(key);
      rules.push(rule);
    }
  }
  return rules;
}

function matches(sel: LabelSelector, labels: Record<string, string>): boolean {
  const byLabel = Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpr = (sel.matchExpressions ?? []).every((e) => {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key] ?? "";
    switch (e.operator) {
      case "In": return has && (e.values ?? []).includes(value);
      case "NotIn": return !has || !(e.values ?? []).includes(value);
      case "Exists": return has;
      case "DoesNotExist": return !has;
    }
  });
  return byLabel && byExpr; // like metav1.LabelSelectorAsSelector, an empty selector matches everything
}

async function apiJson<T>(api: ApiAccess, method: string, path: string, json?: unknown): Promise<T> {
  const res = await requestText(`${api.server}${path}`, { ca: api.ca, token: api.token, method, json });
  if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  return JSON.parse(res.body) as T;
}

export interface TokenKubeconfig {
  server: string;
  caData: string;
  token: string;
  /** User and context name; default "user". */
  user?: string;
}

/** Writes a kubeconfig (mode 0600) whose single user authenticates with a bearer token. */
export async function writeTokenKubeconfig(file: string, k: TokenKubeconfig): Promise<string> {
  const user = k.user ?? "user";
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "sandbox", cluster: { server: k.server, "certificate-authority-data": k.caData } }],
    users: [{ name: user, user: { token: k.token } }],
    contexts: [{ name: user, context: { cluster: "sandbox", user } }],
    "current-context": user,
    preferences: {},
  };
  await writeFile(file, stringify(config), { mode: 0o600 });
  return file;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real kubectl (`KUBECTL` or `kubectl` on PATH) with `--kubeconfig`; never throws for a
 * non-zero exit, which tests assert on. `env` is added to the inherited environment.
 */
export async function kubectl(kubeconfig: string, args: string[], env: Record<string, string> = {}): Promise<KubectlResult> {
  const command = process.env.KUBECTL ?? "kubectl";
  return await new Promise((resolve, reject) => {
    execFile(command, [`--kubeconfig=${kubeconfig}`, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
      if (code === null) reject(new Error(`${command} ${args.join(" ")} could not run: ${err?.message}`));
      else resolve({ code, stdout, stderr });
    });
  });
}
