/**
 * `eks-access serve`: runs the HTTPS server for the kube-apiserver until SIGTERM/SIGINT (graceful:
 * the listener closes, then the process exits). Today: SubjectAccessReview with EKS access policies.
 * The access entries come from exactly one source: a dynamic file (`--access-entries-file`) or an
 * EKS cluster's access-entry API (`--access-entries-from eks --cluster-name …`).
 */
import { existsSync } from "node:fs";
import { checkedEndpoint, endpointOverride } from "../../core/aws-env.js";
import { parseDuration } from "../../core/duration.js";
import { EksAccessError, usageError } from "../../core/errors.js";
import type { AccessEntrySource } from "../../ports/access-entries.js";

export interface ServeArgs {
  address?: string | undefined;
  port?: number | undefined;
  "tls-cert-file"?: string | undefined;
  "tls-private-key-file"?: string | undefined;
  "access-entries-file"?: string | undefined;
  "access-entries-from"?: string | undefined;
  "cluster-name"?: string | undefined;
  region?: string | undefined;
  profile?: string | undefined;
  "endpoint-url"?: string | undefined;
  "refresh-interval"?: string | undefined;
}

const EKS_ONLY = ["cluster-name", "region", "profile", "endpoint-url", "refresh-interval"] as const;
const DEFAULT_REFRESH = "30s";
const MIN_REFRESH_MS = 100;

/** The source the flags name, checked before anything starts (usage errors, exit 2). */
function sourceOf(a: ServeArgs): { kind: "file"; path: string } | { kind: "eks"; cluster: string; intervalMs: number } {
  const file = a["access-entries-file"];
  const from = a["access-entries-from"];
  const sources = "--access-entries-file PATH or --access-entries-from eks --cluster-name NAME";
  if (file === undefined && from === undefined) {
    throw usageError(`serve needs a source of access entries: ${sources}`, "a file in aws-iam-authenticator's dynamic-file format (the sandbox writes one), or an EKS cluster's access entries read from the EKS API");
  }
  if (file !== undefined && from !== undefined) throw usageError(`serve takes one source of access entries, not both: ${sources}`);
  if (file !== undefined) {
    const given = EKS_ONLY.filter((k) => a[k] !== undefined).map((k) => `--${k}`);
    if (given.length > 0) throw usageError(`${given.join(", ")} ${given.length === 1 ? "applies" : "apply"} to --access-entries-from eks only, not to --access-entries-file`);
    return { kind: "file", path: file };
  }
  if (from !== "eks") throw usageError(`--access-entries-from ${String(from)} is not a source: use --access-entries-from eks (or --access-entries-file PATH)`);
  const cluster = a["cluster-name"];
  if (!cluster) throw usageError("--access-entries-from eks needs --cluster-name NAME", "the EKS cluster whose access entries serve reads");
  const interval = a["refresh-interval"] ?? DEFAULT_REFRESH;
  const intervalMs = parseDuration(interval);
  if (intervalMs === undefined || intervalMs < MIN_REFRESH_MS) throw usageError(`--refresh-interval ${interval} is not a duration of ${MIN_REFRESH_MS}ms or more`, "e.g. 30s, 2m, 1m30s, 500ms");
  return { kind: "eks", cluster, intervalMs };
}

async function eksSource(a: ServeArgs, cluster: string, intervalMs: number, say: (line: string) => void, env: NodeJS.ProcessEnv): Promise<AccessEntrySource> {
  const endpoint = a["endpoint-url"] !== undefined ? checkedEndpoint(a["endpoint-url"], "--endpoint-url", "eks") : endpointOverride("eks", env);
  const iamEndpoint = endpointOverride("iam", env);
  const { awsSession } = await import("../../compose.js");
  const session = await awsSession({ profile: a.profile, region: a.region, env });
  const region = session.region;
  if (!region) throw new EksAccessError("config", "no region for the EKS API", { hint: "give --region, or set AWS_REGION or the profile's region" });
  const [{ eksAccessEntryApi }, { iamPrincipalLookup }, { EksAccessEntries }] = await Promise.all([
    import("../../adapters/eks-access-entries.js"),
    import("../../adapters/iam-lookup.js"),
    import("../../usecases/eks-access-entries.js"),
  ]);
  const source = new EksAccessEntries(
    {
      eks: await eksAccessEntryApi({ cluster, region, credentials: session.credentials, endpoint, env }),
      iam: await iamPrincipalLookup({ region, credentials: session.credentials, endpoint: iamEndpoint, env }),
      log: (l) => say(`eks-access serve: ${l}`),
      schedule: (fn, ms) => {
        const t = setTimeout(fn, ms);
        t.unref();
        return () => clearTimeout(t);
      },
    },
    { cluster, region, intervalMs },
  );
  await source.start();
  return source;
}

export async function runServe(a: ServeArgs, say: (line: string) => void, env = process.env): Promise<void> {
  const cert = a["tls-cert-file"];
  const key = a["tls-private-key-file"];
  if (!cert || !key) throw usageError("serve needs --tls-cert-file and --tls-private-key-file", "the apiserver only calls webhooks over HTTPS: give the serving certificate and its key (PEM)");
  const wanted = sourceOf(a);
  for (const [flag, f] of [["--tls-cert-file", cert], ["--tls-private-key-file", key]] as const) {
    if (!existsSync(f)) throw new EksAccessError("config", `${flag} ${f} does not exist`, { hint: "give the PEM file's path" });
  }
  const port = a.port ?? 21364;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--port ${String(a.port)} is not a port number`, "use 0-65535 (0: any free port)");
  let entries: AccessEntrySource;
  if (wanted.kind === "file") {
    const { AccessEntriesFile } = await import("../../adapters/access-entries-file.js");
    entries = new AccessEntriesFile(wanted.path, (l) => say(`eks-access serve: ${l}`));
  } else {
    entries = await eksSource(a, wanted.cluster, wanted.intervalMs, say, env);
  }
  const { startServer } = await import("../../server/server.js");
  let server;
  try {
    server = await startServer({ address: a.address ?? "127.0.0.1", port, tls: { certFile: cert, keyFile: key }, accessEntries: entries, log: (l) => say(`eks-access serve: ${l}`) });
  } catch (err) {
    entries.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE") throw new EksAccessError("config", `port ${port} on ${a.address ?? "127.0.0.1"} is in use`, { hint: "stop what listens there or pick another --port" });
    if (e.code === "ERR_OSSL_PEM_NO_START_LINE" || /PEM|key values mismatch/i.test(e.message)) throw new EksAccessError("config", `the TLS certificate or key is not usable (${e.message})`, { hint: "give a PEM certificate and its matching private key" });
    throw err;
  }
  say(`eks-access serve: SubjectAccessReview at ${server.url}/authorize (access entries: ${entries.description})`);
  await new Promise<void>((resolve) => {
    for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => resolve());
  });
  entries.close();
  await server.stop();
}
