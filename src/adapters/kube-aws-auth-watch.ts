/**
 * The EKSConfigMap backend: kube-system/aws-auth kept in memory by @kubernetes/client-node's
 * list-and-watch (ListWatch with fieldSelector metadata.name=aws-auth), never read per request.
 *
 * As aws-iam-authenticator v0.6.13 (pkg/mapper/configmap): every added or modified version is
 * read (core/mapping/aws-auth.ts parseAwsAuth, its exact reading), a deleted ConfigMap empties the
 * mappings, a failed watch is counted (aws_iam_authenticator_configmap_watch_failures_total) and
 * re-established 5 s later. Safer than the peer: a new version with a key the peer would drop
 * whole (YAML that does not parse, or not a list — it would then map nobody from that key) is
 * refused: the last good mappings stay (with none yet, what the peer would load), eks_access_authn_mapping_load_failures_total and
 * eks_access_authn_mapping_stale{backend="EKSConfigMap"} say so, and one log line per distinct problem.
 *
 * The cluster: --kubeconfig (its current context) or, without one, the pod's in-cluster account,
 * with --master overriding the server (clientcmd.BuildConfigFromFlags).
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { parseAwsAuth } from "../core/mapping/aws-auth.js";
import { EksAccessError } from "../core/errors.js";
import { awsAuthBackend, type MappingBackend } from "../core/mapping/resolve.js";
import type { AuthnLog, AuthnMetrics, BackendSource } from "../ports/authn.js";

const PATH = "/api/v1/namespaces/kube-system/configmaps";
const SELECTOR = "metadata.name=aws-auth";

export interface AwsAuthWatchOptions {
  /** kubeconfig file ("" or undefined: in-cluster) */
  kubeconfig?: string | undefined;
  /** API server URL overriding the kubeconfig's */
  master?: string | undefined;
  log: AuthnLog;
  metrics: Pick<AuthnMetrics, "configMapWatchFailure" | "backendLoadFailure" | "backendStale">;
  /** before re-establishing a failed watch; default 5000 */
  retryMs?: number;
}

interface ConfigMapObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  data?: Record<string, string>;
}

/** Connects lazily (client-node loads now); throws a one-line EksAccessError when the kubeconfig is unusable. */
export async function awsAuthWatch(opts: AwsAuthWatchOptions): Promise<BackendSource> {
  const { KubeConfig, ListWatch, Watch } = await import("./kube-client.js");
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromCluster();
  } catch (err) {
    throw new EksAccessError("kubeconfig", `cannot load ${opts.kubeconfig ? `kubeconfig ${opts.kubeconfig}` : "the in-cluster service account"} for the EKSConfigMap backend: ${(err as Error).message.split("\n")[0]}`, {
      hint: "give --kubeconfig (or server.kubeconfig) a kubeconfig that can watch configmaps in kube-system",
    });
  }
  const current = kc.getCurrentCluster();
  if (!current) throw new EksAccessError("kubeconfig", `kubeconfig ${opts.kubeconfig ?? "(in-cluster)"} has no current cluster`, { hint: "set its current-context" });
  if (opts.master) {
    const cluster = { ...current, server: opts.master };
    kc.loadFromOptions({ clusters: kc.clusters.map((c) => (c.name === current.name ? cluster : c)), users: kc.users, contexts: kc.contexts, currentContext: kc.currentContext });
  }
  const server = (opts.master || current.server).replace(/\/+$/, "");

  const list = async (): Promise<{ metadata?: { resourceVersion?: string }; items: ConfigMapObject[] }> => {
    const req: RequestOptions = { method: "GET", headers: { accept: "application/json" }, timeout: 30_000 };
    await kc.applyToHTTPSOptions(req);
    const request = server.startsWith("http:") ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      const r = request(`${server}${PATH}?fieldSelector=${encodeURIComponent(SELECTOR)}`, req, (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (c: string) => (text += c));
        res.on("end", () => {
          if ((res.statusCode ?? 0) !== 200) return reject(Object.assign(new Error(`list configmaps in kube-system: HTTP ${res.statusCode} ${text.slice(0, 200)}`), { statusCode: res.statusCode }));
          try {
            resolve(JSON.parse(text) as { items: ConfigMapObject[] });
          } catch (err) {
            reject(err as Error);
          }
        });
        res.on("error", reject);
      });
      r.on("timeout", () => r.destroy(new Error("no answer in 30 s")));
      r.on("error", reject);
      r.end();
    });
  };

  let backend: MappingBackend | undefined;
  let reported = "";
  let resourceVersion = "";
  const accept = (cm: ConfigMapObject, event: string): void => {
    if (cm.metadata?.name !== "aws-auth") return;
    const parsed = parseAwsAuth(cm.data ?? {});
    const fatal = parsed.issues.filter((i) => i.code === "yaml-syntax" || i.code === "not-a-list");
    if (fatal.length > 0) {
      const problem = fatal.map((i) => i.message).join("; ");
      if (problem !== reported) {
        opts.log.error("aws-auth is not valid: keeping the last good mappings", { resourceVersion: cm.metadata.resourceVersion, problem });
        opts.metrics.backendLoadFailure("EKSConfigMap");
      }
      reported = problem;
      opts.metrics.backendStale("EKSConfigMap", true);
      // no good version yet: what the peer would load (the keys that do parse)
      backend ??= awsAuthBackend(parsed.rows);
      return;
    }
    if (reported !== "") opts.log.info("aws-auth is valid again", { resourceVersion: cm.metadata.resourceVersion });
    reported = "";
    opts.metrics.backendStale("EKSConfigMap", false);
    backend = awsAuthBackend(parsed.rows);
    resourceVersion = cm.metadata.resourceVersion ?? "";
    opts.log.info(`aws-auth ${event}`, { resourceVersion, rows: parsed.rows.length, ...(parsed.issues.length ? { issues: parsed.issues.length } : {}) });
  };

  const informer = new ListWatch<ConfigMapObject & { metadata: { name: string } }>(
    PATH,
    new Watch(kc),
    async () => {
      const l = await list();
      if (!l.items.some((i) => i.metadata?.name === "aws-auth")) {
        backend = awsAuthBackend([]);
        opts.log.info("aws-auth does not exist: no mappings from it until it does");
      }
      return { ...l, apiVersion: "v1", kind: "ConfigMapList" } as never;
    },
    false,
    undefined,
    SELECTOR,
  );
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  informer.on("add", (cm) => accept(cm, "loaded"));
  informer.on("update", (cm) => accept(cm, "changed"));
  informer.on("delete", () => {
    backend = awsAuthBackend([]);
    reported = "";
    opts.metrics.backendStale("EKSConfigMap", false);
    opts.log.warn("aws-auth was deleted: no mappings from it (as aws-iam-authenticator)");
  });
  informer.on("error", (err: unknown) => {
    if (closed) return;
    opts.metrics.configMapWatchFailure();
    opts.log.error("watching aws-auth failed; re-establishing the watch", { server, error: ((err as Error)?.message ?? String(err)).split("\n")[0], retryInMs: opts.retryMs ?? 5000 });
    retry = setTimeout(() => void informer.start().catch(() => undefined), opts.retryMs ?? 5000);
    retry.unref();
  });
  return {
    name: "EKSConfigMap",
    description: `kube-system/aws-auth on ${server} (watched)`,
    current: () => backend,
    start: async () => {
      void informer.start().catch(() => undefined);
    },
    close: () => {
      closed = true;
      if (retry) clearTimeout(retry);
      void informer.stop();
    },
  };
}
