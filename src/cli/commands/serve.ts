/**
 * `eks-access serve`: runs the HTTPS server for the kube-apiserver until SIGTERM/SIGINT (graceful:
 * the listener closes, then the process exits). Today: SubjectAccessReview with EKS access policies.
 */
import { existsSync } from "node:fs";
import { EksAccessError, usageError } from "../../core/errors.js";

export interface ServeArgs {
  address?: string | undefined;
  port?: number | undefined;
  "tls-cert-file"?: string | undefined;
  "tls-private-key-file"?: string | undefined;
  "access-entries-file"?: string | undefined;
}

export async function runServe(a: ServeArgs, say: (line: string) => void): Promise<void> {
  const cert = a["tls-cert-file"];
  const key = a["tls-private-key-file"];
  const entries = a["access-entries-file"];
  if (!cert || !key) throw usageError("serve needs --tls-cert-file and --tls-private-key-file", "the apiserver only calls webhooks over HTTPS: give the serving certificate and its key (PEM)");
  if (!entries) throw usageError("serve needs --access-entries-file", "point it at the access entries in aws-iam-authenticator's dynamic-file format (the sandbox writes one)");
  for (const [flag, f] of [["--tls-cert-file", cert], ["--tls-private-key-file", key]] as const) {
    if (!existsSync(f)) throw new EksAccessError("config", `${flag} ${f} does not exist`, { hint: "give the PEM file's path" });
  }
  const port = a.port ?? 21364;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--port ${String(a.port)} is not a port number`, "use 0-65535 (0: any free port)");
  const { startServer } = await import("../../server/server.js");
  let server;
  try {
    server = await startServer({ address: a.address ?? "127.0.0.1", port, tls: { certFile: cert, keyFile: key }, accessEntriesFile: entries, log: (l) => say(`eks-access serve: ${l}`) });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE") throw new EksAccessError("config", `port ${port} on ${a.address ?? "127.0.0.1"} is in use`, { hint: "stop what listens there or pick another --port" });
    if (e.code === "ERR_OSSL_PEM_NO_START_LINE" || /PEM|key values mismatch/i.test(e.message)) throw new EksAccessError("config", `the TLS certificate or key is not usable (${e.message})`, { hint: "give a PEM certificate and its matching private key" });
    throw err;
  }
  say(`eks-access serve: SubjectAccessReview at ${server.url}/authorize (access entries: ${entries})`);
  await new Promise<void>((resolve) => {
    for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => resolve());
  });
  await server.stop();
}
