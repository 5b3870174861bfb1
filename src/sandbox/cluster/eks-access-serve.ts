/**
 * `eks-access serve` as a cluster's TokenReview webhook in place of aws-iam-authenticator: started
 * with exactly the config file and `server` flags the peer gets (authenticator.ts
 * writeAuthenticatorInputs) — a drop-in — plus the serving certificate the cluster trusts. The same
 * process answers SubjectAccessReview on /authorize when the config names a dynamic file bound to
 * unique ids (server.dynamicfilepath + dynamicfileUserIDStrict: the access entries with their policies).
 *
 * STS is reached as the peer reaches it: the token's own URL, through HTTPS_PROXY / NO_PROXY, trusting
 * SSL_CERT_FILE (serve also reads AWS_CA_BUNDLE, which is set to the same CA here so that a user's own
 * AWS_CA_BUNDLE cannot send the sandbox's STS calls to another trust store). Ready once /readyz
 * answers: every mapping backend has loaded once (aws-auth listed through the apiserver).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { requestText } from "./kube.js";
import { spawnPeer, waitPeerReady, type PeerProcess } from "./peers.js";
import { writeAuthenticatorInputs, type StartAwsIamAuthenticatorOptions, type TokenWebhookServer } from "./authenticator.js";
import { freePort } from "../emulator/net.js";

export interface StartEksAccessServeOptions extends Omit<StartAwsIamAuthenticatorOptions, "binary" | "tls"> {
  /** the eks-access script node runs (bin/eks-access, or the test's build of it) */
  cli: string;
  /** serving certificate and key, and the CA that verifies them (the apiserver's webhook kubeconfig trusts it) */
  tls: { certPath: string; keyPath: string; caPath: string };
  /** log file (default `<dir>/eks-access-serve.log`) */
  logFile?: string;
  /** more `serve` flags after the peer's (e.g. --sts-timeout for a test) */
  extraArgs?: string[];
}

export interface EksAccessServe extends TokenWebhookServer {
  kind: "eks-access";
  /** https://127.0.0.1:PORT/authorize (answered when the config's dynamic file is bound to unique ids) */
  authorizeUrl: string;
  /** the command line, to start it again the same way */
  argv: string[];
}

const READY_ATTEMPTS = 600; // x 100 ms

/** Starts `eks-access serve` with the peer's inputs and resolves once its /readyz answers ok over TLS. */
export async function startEksAccessServe(opts: StartEksAccessServeOptions): Promise<EksAccessServe> {
  const port = opts.port ?? (await freePort());
  const { configFile, args } = await writeAuthenticatorInputs(opts, port, join(opts.dir, "state"));
  const argv = [opts.cli, "serve", ...args.slice(1), `--tls-cert-file=${opts.tls.certPath}`, `--tls-private-key-file=${opts.tls.keyPath}`, ...(opts.extraArgs ?? [])];
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_EC2_METADATA_DISABLED: "true", ...opts.env };
  const ca = opts.env?.["SSL_CERT_FILE"];
  if (ca && opts.env?.["AWS_CA_BUNDLE"] === undefined) env["AWS_CA_BUNDLE"] = ca;
  const logFile = opts.logFile ?? join(opts.dir, "eks-access-serve.log");
  const serve = await spawnPeer("eks-access-serve", process.execPath, argv, { logFile, env });
  const base = `https://127.0.0.1:${port}`;
  try {
    await waitReady(serve, base, opts.tls.caPath);
  } catch (err) {
    await serve.stop(2_000);
    throw err;
  }
  const url = `${base}/authenticate`;
  opts.log?.(`eks-access serve ready at ${url} (cluster id ${opts.clusterId})`);
  return {
    kind: "eks-access",
    url,
    authorizeUrl: `${base}/authorize`,
    port,
    caFile: opts.tls.caPath,
    configFile,
    argv,
    process: serve,
    webhook: { url, caFile: opts.tls.caPath, version: "v1" },
    // SIGTERM: reviews in flight finish (--shutdown-grace), then it exits
    stop: () => serve.stop(10_000),
  };
}

async function waitReady(serve: PeerProcess, base: string, caFile: string): Promise<void> {
  const ca = await readFile(caFile, "utf8");
  await waitPeerReady(serve, `${base}/readyz (eks-access serve)`, async () => (await requestText(`${base}/readyz`, { ca })).status === 200, READY_ATTEMPTS);
}
