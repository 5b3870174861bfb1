/**
 * kube-system/aws-auth on a live cluster (ports/access.ts AwsAuthStore).
 *
 * The kubeconfig is found as kubectl finds it (--kubeconfig, else every KUBECONFIG file merged —
 * the first definition of a name wins, the first current-context counts — else ~/.kube/config)
 * and loaded by @kubernetes/client-node, which also supplies the credentials (tokens, client
 * certificates, exec plugins such as `eks-access token`, proxy-url). The client is imported only
 * when a store connects, so no other command pays for it. Requests are plain JSON over its
 * agent, so the object kept for backups is exactly what the apiserver answered.
 *
 * update(): GET, edit, PUT with the read resourceVersion (POST when there is no ConfigMap); on 409
 * (Conflict, or AlreadyExists for a create) it re-reads and re-applies the edit, up to
 * `maxAttempts` times with full-jitter exponential backoff. Before each write the ConfigMap as read
 * is saved to `<backupDir>/aws-auth-<UTC timestamp>.yaml` (0600, directory 0700, written
 * atomically and never over another backup); a backup whose write then lost a conflict is removed
 * again (it recorded a state this process did not change).
 */
import { readdirSync, readFileSync, unlinkSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { join } from "node:path";
import { stringify } from "yaml";
import { parseAwsAuthManifest } from "../core/mapping/aws-auth.js";
import { EksAccessError } from "../core/errors.js";
import { sameServer } from "../core/kubeconfig.js";
import type { AwsAuthBackup, AwsAuthConfigMap, AwsAuthStore, AwsAuthWrite } from "../ports/access.js";
import { userPath, writeNewFile } from "./files.js";
import type { KubeConfig } from "./kube-client.js";

/** A Kubernetes object as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  data?: Record<string, string>;
  [k: string]: unknown;
}

/** The three calls the store makes on kube-system/aws-auth (the apiserver, or a fake in unit tests). */
export interface ConfigMapApi {
  readonly context: string;
  readonly server: string;
  /** undefined when there is no such ConfigMap (404) */
  get(): Promise<KubeObject | undefined>;
  create(cm: KubeObject): Promise<KubeObject>;
  replace(cm: KubeObject): Promise<KubeObject>;
}

/** A non-2xx answer of the apiserver. */
export class KubeStatusError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "KubeStatusError";
  }
}

export interface AwsAuthStoreOptions {
  /** where backups go (core/cache-dirs.ts awsAuthBackupDir) */
  backupDir: string;
  /** default 10 */
  maxAttempts?: number;
  /** first backoff ceiling, doubled per conflict up to maxDelayMs; defaults 100 and 5000 */
  baseDelayMs?: number;
  maxDelayMs?: number;
  now?: () => Date;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** called after each read of update(), before the edit (tests line concurrent writers up with it) */
  onRead?: (attempt: number) => Promise<void> | void;
}

const NAME = "aws-auth";
const NAMESPACE = "kube-system";
const WHAT = `configmap ${NAMESPACE}/${NAME}`;

/** The first line of a backup (see backup()): context, resourceVersion, time. */
const HEADER = /^# eks-access: kube-system\/aws-auth as it was before a change \(context (.*), server (\S+), resourceVersion (\S*), (\S+)\)$/m;

const toConfigMap = (o: KubeObject): AwsAuthConfigMap => ({ data: { ...(o.data ?? {}) }, resourceVersion: o.metadata?.resourceVersion ?? "", raw: o });

function sameData(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}

export class KubeAwsAuthStore implements AwsAuthStore {
  readonly target: { context: string; server: string; backupDir: string };

  constructor(
    private readonly api: ConfigMapApi,
    private readonly opts: AwsAuthStoreOptions,
  ) {
    this.target = { context: api.context, server: api.server, backupDir: opts.backupDir };
  }

  async read(): Promise<AwsAuthConfigMap | undefined> {
    try {
      const o = await this.api.get();
      return o ? toConfigMap(o) : undefined;
    } catch (err) {
      throw this.explain(err, "get");
    }
  }

  async update(edit: (current: AwsAuthConfigMap | undefined) => Record<string, string> | "unchanged"): Promise<AwsAuthWrite> {
    const max = this.opts.maxAttempts ?? 10;
    let conflicts = 0;
    for (let attempt = 1; ; attempt++) {
      const current = await this.read();
      await this.opts.onRead?.(attempt);
      const next = edit(current);
      if (next === "unchanged" || (current !== undefined && sameData(current.data, next))) return { before: current, after: current, conflicts };
      const backupPath = current ? this.backup(current) : undefined;
      try {
        const written = current
          ? await this.api.replace({ ...(current.raw as KubeObject), data: { ...next } })
          : await this.api.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: NAME, namespace: NAMESPACE }, data: { ...next } });
        return { before: current, after: toConfigMap(written), backupPath, conflicts };
      } catch (err) {
        if (backupPath) removeQuietly(backupPath); // nothing was changed from it
        if (!(err instanceof KubeStatusError && err.status === 409)) throw this.explain(err, current ? "update" : "create");
        conflicts++;
        if (attempt >= max) {
          throw new EksAccessError("kubernetes", `${WHAT} kept changing under this write: ${conflicts} conflicting writes in a row (context ${this.api.context})`, {
            hint: "someone else is editing it right now; run the command again",
          });
        }
        await (this.opts.sleep ?? delay)(this.backoff(attempt));
      }
    }
  }

  async restore(backupFile: string): Promise<AwsAuthWrite> {
    const b = await this.readBackup(backupFile);
    return this.update((current) => (current && sameData(current.data, b.data) ? "unchanged" : b.data));
  }

  async readBackup(file: string): Promise<AwsAuthBackup> {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new EksAccessError("not-found", `cannot read the backup ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
        hint: `list the backups in ${this.opts.backupDir}`,
      });
    }
    const m = parseAwsAuthManifest(text);
    if ("error" in m) throw new EksAccessError("usage", `${file} is not an aws-auth backup: ${m.error}${m.line ? ` (line ${m.line})` : ""}`, { hint: "give a file eks-access wrote, or the output of kubectl -n kube-system get configmap aws-auth -o yaml" });
    if (m.name !== NAME || (m.namespace !== undefined && m.namespace !== NAMESPACE)) {
      throw new EksAccessError("usage", `${file} is not an aws-auth backup: it holds ${m.name === undefined ? "a ConfigMap without a name" : `ConfigMap ${m.namespace ?? "?"}/${m.name}`}, not ${NAMESPACE}/${NAME}`, { hint: "give an aws-auth backup" });
    }
    const header = HEADER.exec(text);
    return { file, data: m.data, context: header?.[1], server: header?.[2], resourceVersion: header?.[3] ?? m.resourceVersion, takenAt: header?.[4] };
  }

  /** The backups of this context, newest first. */
  async backups(): Promise<string[]> {
    let names: string[];
    try {
      names = readdirSync(this.opts.backupDir);
    } catch {
      return [];
    }
    const parsed = names.flatMap((n) => {
      const m = /^aws-auth-(\d{8}T\d{6}\.\d{3}Z)(?:-(\d+))?\.yaml$/.exec(n);
      return m ? [{ n, stamp: m[1]!, seq: Number(m[2] ?? 1) }] : [];
    });
    return parsed.sort((a, b) => (a.stamp !== b.stamp ? (a.stamp < b.stamp ? 1 : -1) : b.seq - a.seq)).map((x) => join(this.opts.backupDir, x.n));
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.opts.maxDelayMs ?? 5000, (this.opts.baseDelayMs ?? 100) * 2 ** (attempt - 1));
    return Math.floor((this.opts.random ?? Math.random)() * ceiling);
  }

  private backup(cm: AwsAuthConfigMap): string {
    const now = (this.opts.now ?? (() => new Date()))();
    const stamp = now.toISOString().replace(/[-:]/g, "");
    const text = [
      `# eks-access: kube-system/aws-auth as it was before a change (context ${this.api.context}, server ${this.api.server}, resourceVersion ${cm.resourceVersion}, ${now.toISOString()})`,
      `# bring it back with: eks-access aws-auth restore --backup <this file>`,
      stringify(cm.raw, { lineWidth: 0 }),
    ].join("\n");
    for (let n = 1; ; n++) {
      const path = join(this.opts.backupDir, `aws-auth-${stamp}${n === 1 ? "" : `-${n}`}.yaml`);
      if (writeNewFile(path, text, 0o600)) return path;
    }
  }

  private explain(err: unknown, verb: "get" | "update" | "create"): unknown {
    if (!(err instanceof KubeStatusError)) return err;
    const ctx = `context ${this.api.context}`;
    if (err.status === 401) {
      return new EksAccessError("kubernetes", `the API server at ${this.api.server} did not accept the credentials of ${ctx} (401 Unauthorized)`, {
        hint: `refresh them (kubectl --context ${this.api.context} auth whoami) or choose another --context`,
      });
    }
    if (err.status === 403) {
      const verbs = verb === "get" ? "get" : `get and ${verb}`;
      return new EksAccessError("kubernetes", `Forbidden: ${err.message || `cannot ${verb} ${WHAT}`} (${ctx})`, {
        hint: `editing aws-auth needs ${verbs} on configmaps in kube-system${verb === "create" ? " (create cannot be limited to one name)" : ` (e.g. a Role with verbs get,update on configmaps, resourceNames [aws-auth])`}; use a context with cluster-admin (system:masters), or have an admin grant it`,
      });
    }
    return new EksAccessError("kubernetes", `${verb} ${WHAT} failed: ${err.status} ${err.reason}${err.message ? `: ${err.message}` : ""} (${ctx})`, {
      hint: err.status >= 500 ? "the API server had a problem; try again" : `check the ConfigMap with kubectl -n ${NAMESPACE} get configmap ${NAME} -o yaml`,
    });
  }
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}

// ─── the connection: kubeconfig as kubectl reads it, requests over client-node's agent ─────────────

export interface KubeConnection {
  /** --kubeconfig (one file; KUBECONFIG and ~/.kube/config are then not read) */
  kubeconfig?: string | undefined;
  /** --context (default: see `cluster`; without it, the current context) */
  context?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  cwd: string;
  /** per request; default 30 s */
  timeoutMs?: number | undefined;
  /**
   * The cluster meant (from the EKS API). Without --context, the kubeconfig context whose server is
   * this endpoint is used (the current one first); when no kubeconfig has one, the cluster is reached
   * directly at its endpoint with its CA and a token of the caller's AWS credentials (as eksctl does),
   * so no kubeconfig is needed. With --context, that context must point at this endpoint.
   */
  cluster?: DirectCluster | undefined;
}

export interface DirectCluster {
  /** the cluster ARN: the name of the direct connection's context (and so of its backup folder) */
  arn: string;
  name: string;
  endpoint: string;
  /** base64 PEM CA bundle; "" trusts the system CAs */
  certificateAuthority: string;
  /** a bearer token for the cluster (an EKS token of the caller's credentials) */
  token(): Promise<string>;
}


/** The kubeconfig files kubectl would read, in order, and whether they were named explicitly. */
export function kubeconfigFiles(c: Pick<KubeConnection, "kubeconfig" | "env" | "home" | "cwd">): string[] {
  if (c.kubeconfig) return [userPath(c.kubeconfig, c.home, c.cwd)];
  const list = c.env["KUBECONFIG"];
  if (list) return list.split(":").filter((p) => p !== "").map((p) => userPath(p, c.home, c.cwd));
  return [join(c.env["HOME"] || c.home, ".kube", "config")];
}

/** Connects to the cluster of a kubeconfig context (loads @kubernetes/client-node now). */
export async function connectConfigMapApi(c: KubeConnection): Promise<ConfigMapApi> {
  const { KubeConfig } = await import("./kube-client.js");
  const files = kubeconfigFiles(c);
  const merged = { clusters: [] as Array<{ name: string }>, users: [] as Array<{ name: string }>, contexts: [] as Array<{ name: string }>, currentContext: "" };
  const read: string[] = [];
  for (const file of files) {
    const one = new KubeConfig();
    try {
      one.loadFromFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // kubectl skips missing KUBECONFIG entries; with the cluster known, no kubeconfig at all is fine too
      if (code === "ENOENT" && !c.kubeconfig && (files.length > 1 || (c.cluster && !c.context))) continue;
      throw new EksAccessError("kubeconfig", `cannot read kubeconfig ${file}: ${code === "ENOENT" ? "no such file" : ((err as Error).message.split("\n")[0] ?? "")}`, {
        hint: "point --kubeconfig (or KUBECONFIG) at the cluster's kubeconfig, e.g. one written by eks-access kubeconfig add --name CLUSTER",
      });
    }
    read.push(file);
    const add = <T extends { name: string }>(into: T[], from: T[]): void => {
      for (const x of from) if (!into.some((y) => y.name === x.name)) into.push(x);
    };
    add(merged.clusters, one.clusters);
    add(merged.users, one.users);
    add(merged.contexts, one.contexts);
    merged.currentContext ||= one.currentContext ?? "";
  }
  let kc = new KubeConfig();
  kc.loadFromOptions(merged);
  const where = read.join(":") || files.join(":");
  const meant = c.cluster;
  let context = c.context;
  if (context === undefined && meant) {
    context = contextFor(kc, meant.endpoint);
    if (context === undefined) {
      if (c.kubeconfig) {
        throw new EksAccessError("kubeconfig", `no context in ${where} points at cluster ${meant.name} (${meant.endpoint}); nothing was changed`, {
          hint: `pass --context, or leave out --kubeconfig to reach the cluster with your AWS credentials`,
        });
      }
      kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: meant.arn, server: meant.endpoint, ...(meant.certificateAuthority ? { caData: meant.certificateAuthority } : {}), skipTLSVerify: false }],
        users: [{ name: meant.arn, token: await meant.token() }],
        contexts: [{ name: meant.arn, cluster: meant.arn, user: meant.arn }],
        currentContext: meant.arn,
      });
      context = meant.arn;
    }
  }
  context ??= kc.currentContext;
  if (!context) throw new EksAccessError("kubeconfig", `no current context in ${where}`, { hint: "pass --context NAME, or add the cluster with eks-access kubeconfig add --name CLUSTER" });
  if (!kc.getContextObject(context)) {
    throw new EksAccessError("kubeconfig", `context ${context} is not in ${where}`, { hint: `choose one of: ${kc.contexts.map((x) => x.name).join(", ") || "(none)"}` });
  }
  kc.setCurrentContext(context);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new EksAccessError("kubeconfig", `context ${context} names no cluster that ${where} defines`, { hint: "fix the kubeconfig, or re-add it with eks-access kubeconfig add" });
  // never edit another cluster's aws-auth: a context given by name must point at the cluster meant
  if (meant && !sameServer(cluster.server, meant.endpoint)) {
    throw new EksAccessError("kubeconfig", `kubeconfig context ${context} points at ${cluster.server}, not at cluster ${meant.name} (${meant.endpoint}); nothing was changed`, {
      hint: `pass the --context of ${meant.name}, or leave out --context to reach it with your AWS credentials`,
    });
  }
  const server = cluster.server.replace(/\/+$/, "");
  const url = `${server}/api/v1/namespaces/${NAMESPACE}/configmaps`;
  const timeout = c.timeoutMs ?? 30_000;

  const call = async (method: string, path: string, body?: KubeObject): Promise<{ status: number; json: unknown }> => {
    const opts: RequestOptions = { method, headers: { accept: "application/json", ...(body ? { "content-type": "application/json" } : {}) }, timeout };
    try {
      await kc.applyToHTTPSOptions(opts);
    } catch (err) {
      throw new EksAccessError("kubernetes", `getting credentials for context ${context} failed: ${((err as Error).message ?? String(err)).split("\n")[0]}`, {
        hint: "check the kubeconfig user's exec plugin or token (kubectl --context " + context + " auth whoami)",
      });
    }
    const request = server.startsWith("http:") ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      const req = request(`${url}${path}`, opts, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => {
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(Object.assign(new Error(`no answer in ${timeout} ms`), { code: "ETIMEDOUT" })));
      req.on("error", (err: NodeJS.ErrnoException) => reject(unreachable(err, server, context)));
      req.end(body ? JSON.stringify(body) : undefined);
    });
  };
  const ok = (r: { status: number; json: unknown }, verb: string): KubeObject => {
    if (r.status >= 200 && r.status < 300) return r.json as KubeObject;
    const s = (r.json ?? {}) as { reason?: string; message?: string };
    throw new KubeStatusError(r.status, s.reason ?? "", s.message ?? `${verb} answered ${r.status}`);
  };
  return {
    context,
    server,
    async get() {
      const r = await call("GET", `/${NAME}`);
      return r.status === 404 ? undefined : ok(r, "get");
    },
    async create(cm) {
      return ok(await call("POST", "", cm), "create");
    },
    async replace(cm) {
      return ok(await call("PUT", `/${NAME}`, cm), "update");
    },
  };
}

/** The context to use for the cluster at `server` when none was named: the current one if it points there, else the first that does. */
function contextFor(kc: KubeConfig, server: string | undefined): string | undefined {
  if (!server) return undefined;
  const serverOf = (name: string): string | undefined => {
    const ctx = kc.getContextObject(name);
    return ctx ? kc.getCluster(ctx.cluster)?.server : undefined;
  };
  if (kc.currentContext && sameServer(serverOf(kc.currentContext) ?? "", server)) return kc.currentContext;
  return kc.contexts.find((x) => sameServer(serverOf(x.name) ?? "", server))?.name;
}

function unreachable(err: NodeJS.ErrnoException, server: string, context: string): EksAccessError {
  const code = err.code ?? err.message;
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code);
  return new EksAccessError("kubernetes", `cannot reach the Kubernetes API server at ${server} (context ${context}): ${code}`, {
    hint: tls
      ? "its certificate is not trusted: check the cluster's certificate-authority-data in the kubeconfig"
      : "check that the cluster is up and its endpoint reachable from here (VPN, proxy, private endpoint), and that this is the context you mean",
    cause: err,
  });
}

/** An AwsAuthStore on the cluster of a kubeconfig context; `backupDir` may depend on the context. */
export async function kubeAwsAuthStore(
  c: KubeConnection,
  opts: Omit<AwsAuthStoreOptions, "backupDir"> & { backupDir: string | ((context: string) => string) },
): Promise<KubeAwsAuthStore> {
  const api = await connectConfigMapApi(c);
  return new KubeAwsAuthStore(api, { ...opts, backupDir: typeof opts.backupDir === "string" ? opts.backupDir : opts.backupDir(api.context) });
}
