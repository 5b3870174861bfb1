/**
 * The reference peer: `aws-iam-authenticator server` (v0.6.13, built by tools/peers/build.sh) on
 * 127.0.0.1 with a static mapping (MountedFile backend, from its config file).
 *
 * It generates its own self-signed serving certificate (CN aws-iam-authenticator, IP SAN 127.0.0.1,
 * also a CA) into `<dir>/state/cert.pem` and writes a webhook kubeconfig for kube-apiserver
 * (`--authentication-token-webhook-config-file`) to `<dir>/webhook.kubeconfig`.
 *
 * To verify a token it GETs the presigned STS URL inside it with Go's default transport, which
 * honours HTTPS_PROXY / NO_PROXY and SSL_CERT_FILE: pass them in `env` to route STS to a local
 * verifier. It only accepts tokens whose URL host is a real STS host name of its partition.
 *
 * Quirk of v0.6.13: besides its main port it also serves a plain-HTTP /healthz on the fixed port
 * :21363 of all interfaces (pkg/server/server.go: http.ListenAndServe(":21363", ...), no flag;
 * error ignored when taken). So that nothing of ours listens beyond loopback, this launcher holds
 * 127.0.0.1:21363 while the authenticator runs: the kernel then refuses the authenticator's
 * wildcard bind. When the port is already taken by another process, that bind fails all the same.
 */
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { join } from "node:path";
import { stringify } from "yaml";
import { type KubeEnv, type KubeWebhook, requestText, startKube } from "./kube.js";
import { freePort } from "../emulator/net.js";
import { type PeerProcess, type Peers, spawnPeer, waitPeerReady } from "./peers.js";

/** aws-auth style mappings, as the authenticator's config file spells them. */
export interface RoleMapping {
  rolearn: string;
  username: string;
  groups?: string[];
}

export interface UserMapping {
  userarn: string;
  username: string;
  groups?: string[];
}

export interface StartAwsIamAuthenticatorOptions {
  /** Working directory: config, state (certificate), generated kubeconfig, log. */
  dir: string;
  /** Path of the aws-iam-authenticator binary (Peers.awsIamAuthenticator). */
  binary: string;
  /** The cluster id tokens must be signed for (header x-k8s-aws-id). */
  clusterId: string;
  mapRoles?: RoleMapping[];
  mapUsers?: UserMapping[];
  mapAccounts?: string[];
  /** AWS partition (aws, aws-cn, aws-us-gov, ...); default aws. */
  partition?: string;
  /**
   * Added to the inherited environment, e.g. HTTPS_PROXY and SSL_CERT_FILE. AWS_EC2_METADATA_DISABLED
   * is set to true unless given here (else start-up waits for the instance metadata service).
   */
  env?: Record<string, string>;
  log?: (line: string) => void;
  /** Listen port (default: a free one). Lets a kube-apiserver be configured before this starts. */
  port?: number;
  /** Mapping backends in order (default MountedFile); EKSConfigMap and CRD need `kubeconfig`. */
  backendModes?: Array<"MountedFile" | "EKSConfigMap" | "CRD" | "DynamicFile">;
  /** kubeconfig the EKSConfigMap/CRD backends use to reach the apiserver. */
  kubeconfig?: string;
  /**
   * Serving certificate to use instead of the self-signed one the peer generates: placed in its
   * state directory as cert.pem/key.pem (the peer loads an existing pair). `caPath` verifies it.
   */
  tls?: { certPath: string; keyPath: string; caPath: string };
  /**
   * The DynamicFile backend (how EKS feeds access entries to its authenticator): the mappings file,
   * matched by IAM unique id (`server.dynamicfileUserIDStrict`). Needs "DynamicFile" in backendModes.
   */
  dynamicFile?: { path: string; userIdStrict: boolean };
  /**
   * A file `{"backendMode": "DynamicFile EKSConfigMap"}` the authenticator watches: when it changes,
   * the backends (among those it was started with) are rebuilt in that order without a restart.
   */
  backendModeFile?: string;
}

/** The two authenticators the sandbox can run as its TokenReview webhook. */
export const AUTHENTICATORS = ["eks-access", "aws-iam-authenticator"] as const;
export type AuthenticatorKind = (typeof AUTHENTICATORS)[number];

/** A running TokenReview webhook (aws-iam-authenticator, or eks-access serve started the same way). */
export interface TokenWebhookServer {
  kind: AuthenticatorKind;
  /** https://127.0.0.1:PORT/authenticate */
  url: string;
  port: number;
  /** The CA its serving certificate chains to. */
  caFile: string;
  /** Ready-made webhook options for startKube. */
  webhook: KubeWebhook;
  /** aws-iam-authenticator's config file it was started with */
  configFile: string;
  process: PeerProcess;
  stop(): Promise<void>;
}

export interface AwsIamAuthenticator extends TokenWebhookServer {
  kind: "aws-iam-authenticator";
  /** The authenticator's self-signed serving certificate (it is its own CA). */
  caFile: string;
  /** The webhook kubeconfig the authenticator generated (usable as --authentication-token-webhook-config-file). */
  kubeconfigFile: string;
}

const READY_ATTEMPTS = 600; // x 100 ms

/** Starts `aws-iam-authenticator server` and resolves once its /healthz answers over TLS. */
export async function startAwsIamAuthenticator(opts: StartAwsIamAuthenticatorOptions): Promise<AwsIamAuthenticator> {
  await mkdir(opts.dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const stateDir = join(opts.dir, "state");
  await mkdir(stateDir, { recursive: true });
  if (opts.tls) {
    await copyFile(opts.tls.certPath, join(stateDir, "cert.pem"));
    await copyFile(opts.tls.keyPath, join(stateDir, "key.pem"));
  }
  const { configFile, kubeconfigFile, args } = await writeAuthenticatorInputs(opts, port, stateDir);
  const env = { ...process.env, AWS_EC2_METADATA_DISABLED: "true", ...opts.env };
  const guard = await holdLoopbackPort(HEALTHZ_ALL_INTERFACES_PORT);
  let peer: PeerProcess;
  try {
    peer = await spawnPeer("aws-iam-authenticator", opts.binary, args, { logFile: join(opts.dir, "aws-iam-authenticator.log"), env });
  } catch (err) {
    await guard.release();
    throw err;
  }
  const caFile = opts.tls?.caPath ?? join(stateDir, "cert.pem");
  const url = `https://127.0.0.1:${port}/authenticate`;
  try {
    await waitHealthy(peer, port, caFile);
  } catch (err) {
    await peer.stop(2_000);
    await guard.release();
    throw err;
  }
  opts.log?.(`aws-iam-authenticator ready at ${url} (cluster id ${opts.clusterId})`);
  return {
    kind: "aws-iam-authenticator", url, port, caFile, kubeconfigFile, configFile, process: peer,
    webhook: { url, caFile, version: "v1beta1" },
    // v0.6.13 ignores SIGTERM (its signal handler stops the mappers, not the HTTP server): no grace
    stop: async () => {
      await peer.stop(0);
      await guard.release();
    },
  };
}

/** The port v0.6.13 serves /healthz on, on every interface, with no way to configure it. */
export const HEALTHZ_ALL_INTERFACES_PORT = 21363;

/**
 * Listens on 127.0.0.1:`port` (answering nothing) so that a later wildcard bind of that port fails.
 * Taken already (EADDRINUSE): nothing to hold, the wildcard bind fails anyway.
 */
async function holdLoopbackPort(port: number): Promise<{ release(): Promise<void> }> {
  const server: TcpServer = createTcpServer((socket) => socket.destroy());
  const held = await new Promise<boolean>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => (err.code === "EADDRINUSE" ? resolve(false) : reject(err)));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => resolve(true));
  });
  let released: Promise<void> | undefined;
  return {
    release: () => (released ??= held ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve()),
  };
}

/**
 * Writes the authenticator's config file into `opts.dir` and answers it with the `server` flags the
 * peer is started with — the same file and flags `eks-access serve` takes in its place.
 */
export async function writeAuthenticatorInputs(
  opts: Omit<StartAwsIamAuthenticatorOptions, "binary">,
  port: number,
  stateDir: string,
): Promise<{ configFile: string; kubeconfigFile: string; args: string[] }> {
  await mkdir(opts.dir, { recursive: true });
  const kubeconfigFile = join(opts.dir, "webhook.kubeconfig");
  const configFile = join(opts.dir, "authenticator.yaml");
  await writeFile(configFile, authenticatorConfig(opts, port, stateDir, kubeconfigFile));
  const args = [
    "server",
    `--config=${configFile}`,
    `--cluster-id=${opts.clusterId}`,
    `--partition=${opts.partition ?? "aws"}`,
    "--address=127.0.0.1",
    `--port=${port}`,
    `--state-dir=${stateDir}`,
    `--generate-kubeconfig=${kubeconfigFile}`,
    `--backend-mode=${(opts.backendModes ?? ["MountedFile"]).join(",")}`,
    ...(opts.kubeconfig ? [`--kubeconfig=${opts.kubeconfig}`] : []),
  ];
  return { configFile, kubeconfigFile, args };
}

/** The viper config file: `clusterID` and the `server.*` keys of cmd/aws-iam-authenticator (v0.6.13). */
export function authenticatorConfig(opts: Omit<StartAwsIamAuthenticatorOptions, "binary">, port: number, stateDir: string, kubeconfigFile: string): string {
  return stringify({
    clusterID: opts.clusterId,
    server: {
      address: "127.0.0.1",
      hostname: "127.0.0.1", // host of the URL in the generated kubeconfig and the certificate's SAN
      port,
      stateDir,
      generateKubeconfig: kubeconfigFile,
      partition: opts.partition ?? "aws",
      backendMode: opts.backendModes ?? ["MountedFile"],
      mapRoles: (opts.mapRoles ?? []).map((m) => ({ ...m, groups: m.groups ?? [] })),
      mapUsers: (opts.mapUsers ?? []).map((m) => ({ ...m, groups: m.groups ?? [] })),
      mapAccounts: opts.mapAccounts ?? [],
      ...(opts.dynamicFile ? { dynamicfilepath: opts.dynamicFile.path, dynamicfileUserIDStrict: opts.dynamicFile.userIdStrict } : {}),
      ...(opts.backendModeFile ? { dynamicBackendModePath: opts.backendModeFile } : {}),
    },
  });
}

async function waitHealthy(peer: PeerProcess, port: number, caFile: string): Promise<void> {
  await waitPeerReady(peer, `https://127.0.0.1:${port}/healthz`, async () => existsSync(caFile) && (await isHealthy(port, caFile)), READY_ATTEMPTS);
}

async function isHealthy(port: number, caFile: string): Promise<boolean> {
  const res = await requestText(`https://127.0.0.1:${port}/healthz`, { ca: await readFile(caFile, "utf8") });
  return res.status === 200 && res.body.trim() === "ok";
}

export interface TokenReviewResult {
  /** HTTP status of the answer: aws-iam-authenticator v0.6.13 answers 403 for every denial. */
  httpStatus: number;
  /** the answer's apiVersion and kind ("" when it has none: v0.6.13 leaves them empty) */
  apiVersion: string;
  kind: string;
  /** the TokenReview's status ({} for an answer that is a Status) */
  status: {
    authenticated?: boolean;
    user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
    error?: string;
  };
  /** a refusal answered as a Kubernetes Status (what eks-access serve sends and the apiserver logs) */
  refusal?: { message: string; reason?: string; code?: number };
}

/**
 * POSTs a TokenReview for `token` straight to a TokenReview webhook (the authenticator, or any
 * other), as kube-apiserver would, and answers the HTTP status and the review's status. For the
 * integration tests that will bring real tokens (signed for `clusterId`, verified by a local STS).
 */
export async function postTokenReview(
  webhook: { url: string; caFile?: string },
  token: string,
  apiVersion: "authentication.k8s.io/v1" | "authentication.k8s.io/v1beta1" = "authentication.k8s.io/v1beta1",
): Promise<TokenReviewResult> {
  const ca = webhook.caFile ? await readFile(webhook.caFile, "utf8") : undefined;
  const body = JSON.stringify({ apiVersion, kind: "TokenReview", spec: { token } });
  return await new Promise((resolve, reject) => {
    const req = request(webhook.url, {
      method: "POST",
      ca,
      timeout: 15_000,
      headers: { "content-type": "application/json", accept: "application/json", "content-length": Buffer.byteLength(body) },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (c: string) => (text += c));
      res.on("end", () => {
        try {
          const parsed = JSON.parse(text) as { apiVersion?: string; kind?: string; status?: unknown; message?: string; reason?: string; code?: number };
          const base = { httpStatus: res.statusCode ?? 0, apiVersion: parsed.apiVersion ?? "", kind: parsed.kind ?? "" };
          if (parsed.kind === "Status") resolve({ ...base, status: {}, refusal: { message: parsed.message ?? "", reason: parsed.reason, code: parsed.code } });
          else resolve({ ...base, status: (parsed.status ?? {}) as TokenReviewResult["status"] });
        } catch {
          reject(new Error(`TokenReview POST ${webhook.url}: HTTP ${res.statusCode}, not JSON: ${text.slice(0, 200)}`));
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error(`TokenReview POST ${webhook.url} timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

export interface KubeWithAuthenticatorOptions extends Omit<StartAwsIamAuthenticatorOptions, "binary" | "dir"> {
  /** Working directory; the authenticator uses `<dir>/authenticator`, the control plane `<dir>/kube`. */
  dir: string;
  peers: Peers;
  /** --authentication-token-webhook-cache-ttl; default "0s" so that every request reaches the authenticator. */
  cacheTtl?: string;
}

export interface KubeWithAuthenticator {
  kube: KubeEnv;
  authenticator: AwsIamAuthenticator;
  /** Stops kube-apiserver, etcd, then the authenticator. */
  stop(): Promise<void>;
}

/**
 * The reference set-up of an EKS-like cluster: aws-iam-authenticator (the reference peer) as the
 * TokenReview webhook of a real kube-apiserver. Tokens are then verified by whatever STS the
 * authenticator reaches (route it with `env`: HTTPS_PROXY, SSL_CERT_FILE).
 */
export async function startKubeWithAwsIamAuthenticator(opts: KubeWithAuthenticatorOptions): Promise<KubeWithAuthenticator> {
  const { peers, cacheTtl, dir, ...rest } = opts;
  const authenticator = await startAwsIamAuthenticator({ ...rest, dir: join(dir, "authenticator"), binary: peers.awsIamAuthenticator });
  let kube: KubeEnv;
  try {
    kube = await startKube({
      dir: join(dir, "kube"),
      peers,
      webhook: { ...authenticator.webhook, cacheTtl: cacheTtl ?? "0s" },
      ...(opts.log ? { log: opts.log } : {}),
    });
  } catch (err) {
    await authenticator.stop();
    throw err;
  }
  return {
    kube,
    authenticator,
    stop: async () => {
      await kube.stop();
      await authenticator.stop();
    },
  };
}
