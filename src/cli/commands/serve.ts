/**
 * `eks-access serve`: the HTTPS server for the kube-apiserver, until SIGTERM/SIGINT (graceful: no
 * new connections, reviews in flight finish within --shutdown-grace, then exit). Two roles:
 *  - the TokenReview authenticator (POST /authenticate), on when `--config` (aws-iam-authenticator's
 *    config file) or `--cluster-id` is given: a drop-in for `aws-iam-authenticator server`, same
 *    config file, same server flags where they make sense, same answers; JSON logs on stderr;
 *  - the SubjectAccessReview authorizer (POST /authorize) with EKS access policies, on when there
 *    are access entries: `--access-entries-file`, `--access-entries-from eks`, or (authenticator
 *    on) the config's server.dynamicfilepath.
 * `eks-access serve init` writes the serving certificate and key (or uses given ones) and the
 * apiserver's webhook kubeconfig(s).
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { checkedEndpoint, endpointOverride } from "../../core/aws-env.js";
import type { AuthenticatorConfig, AuthenticatorFlags } from "../../core/authn/config.js";
import { webhookKubeconfig, webhookUrl } from "../../core/authn/webhook-kubeconfig.js";
import { parseDuration } from "../../core/duration.js";
import { DEFAULT_MAX_TOKEN_BYTES } from "../../core/token-verify.js";
import { EksAccessError, usageError } from "../../core/errors.js";
import type { AccessEntrySource } from "../../ports/access-entries.js";
import type { Ec2Directory } from "../../ports/authn.js";

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
  // aws-iam-authenticator's server flags
  config?: string | undefined;
  "cluster-id"?: string | undefined;
  partition?: string | undefined;
  "backend-mode"?: string[] | undefined;
  kubeconfig?: string | undefined;
  master?: string | undefined;
  "state-dir"?: string | undefined;
  "generate-kubeconfig"?: string | undefined;
  "kubeconfig-pregenerated"?: boolean | undefined;
  hostname?: string | undefined;
  "log-format"?: string | undefined;
  // eks-access's
  "max-token-bytes"?: number | undefined;
  "sts-timeout"?: string | undefined;
  "token-cache-size"?: number | undefined;
  "token-cache-ttl"?: string | undefined;
  "sts-limit-per-principal"?: string | undefined;
  "sts-limit-global"?: string | undefined;
  "sts-max-concurrent"?: number | undefined;
  "match-role-paths"?: boolean | undefined;
  "match-iam-groups"?: boolean | undefined;
  "match-sso-permission-sets"?: boolean | undefined;
  "shutdown-grace"?: string | undefined;
  "log-level"?: string | undefined;
}

export interface ServeInitArgs {
  config?: string | undefined;
  "cluster-id"?: string | undefined;
  address?: string | undefined;
  port?: number | undefined;
  hostname?: string | undefined;
  "state-dir"?: string | undefined;
  "generate-kubeconfig"?: string | undefined;
  "authorize-kubeconfig"?: string | undefined;
  "tls-cert-file"?: string | undefined;
  "tls-private-key-file"?: string | undefined;
  "ca-file"?: string | undefined;
}

const EKS_ONLY = ["cluster-name", "region", "profile", "endpoint-url", "refresh-interval"] as const;
const DEFAULT_REFRESH = "30s";
const MIN_REFRESH_MS = 100;
const AUTHORIZER_PORT = 21364;

type Source = { kind: "file"; path: string } | { kind: "eks"; cluster: string; intervalMs: number };

/** The access-entry source the flags name, checked before anything starts (usage errors, exit 2); optional with the authenticator. */
function sourceOf(a: ServeArgs, authenticator: boolean): Source | undefined {
  const file = a["access-entries-file"];
  const from = a["access-entries-from"];
  const sources = "--access-entries-file PATH or --access-entries-from eks --cluster-name NAME";
  if (file === undefined && from === undefined) {
    if (authenticator) return undefined;
    throw usageError(`serve needs a source of access entries: ${sources}`, "a file in aws-iam-authenticator's dynamic-file format (the sandbox writes one), or an EKS cluster's access entries read from the EKS API");
  }
  if (file !== undefined && from !== undefined) throw usageError(`serve takes one source of access entries, not both: ${sources}`);
  if (file !== undefined) {
    const given = EKS_ONLY.filter((k) => a[k] !== undefined && !(authenticator && (k === "region" || k === "profile"))).map((k) => `--${k}`);
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

type AwsSession = Awaited<ReturnType<typeof import("../../compose.js").awsSession>>;

/** The AWS session of serve's --profile/--region, resolved on first use and shared by every AWS client serve makes (resolved again after a failure). */
function sharedSession(a: ServeArgs, env: NodeJS.ProcessEnv): () => Promise<AwsSession> {
  let session: Promise<AwsSession> | undefined;
  return () =>
    (session ??= import("../../compose.js")
      .then(({ awsSession }) => awsSession({ profile: a.profile, region: a.region, env }))
      .catch((err: unknown) => {
        session = undefined;
        throw err;
      }));
}

async function eksSource(a: ServeArgs, cluster: string, intervalMs: number, say: (line: string) => void, env: NodeJS.ProcessEnv, aws: () => Promise<AwsSession>): Promise<AccessEntrySource> {
  const endpoint = a["endpoint-url"] !== undefined ? checkedEndpoint(a["endpoint-url"], "--endpoint-url", "eks") : endpointOverride("eks", env);
  const iamEndpoint = endpointOverride("iam", env);
  const session = await aws();
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

async function openSource(a: ServeArgs, wanted: Source, say: (line: string) => void, env: NodeJS.ProcessEnv, aws = sharedSession(a, env)): Promise<AccessEntrySource> {
  if (wanted.kind === "eks") return eksSource(a, wanted.cluster, wanted.intervalMs, say, env, aws);
  const { AccessEntriesFile } = await import("../../adapters/access-entries-file.js");
  return new AccessEntriesFile(wanted.path, (l) => say(`eks-access serve: ${l}`));
}

function checkPort(port: number | undefined, what = "--port"): void {
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw usageError(`${what} ${String(port)} is not a port number`, "use 0-65535 (0: any free port)");
}

function listenError(err: unknown, port: number, address: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e.code === "EADDRINUSE") return new EksAccessError("config", `port ${port} on ${address} is in use`, { hint: "stop what listens there or pick another --port" });
  if (e.code === "EADDRNOTAVAIL") return new EksAccessError("config", `address ${address} is not one of this machine's`, { hint: "give --address 127.0.0.1, 0.0.0.0 or an address of this host" });
  if (e.code === "ERR_OSSL_PEM_NO_START_LINE" || /PEM|key values mismatch/i.test(e.message)) return new EksAccessError("config", `the TLS certificate or key is not usable (${e.message})`, { hint: "give a PEM certificate and its matching private key" });
  return err;
}

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => resolve(sig));
  });
}

/** The authorizer alone (no --config / --cluster-id): as before the authenticator existed. */
async function runAuthorizer(a: ServeArgs, say: (line: string) => void, env: NodeJS.ProcessEnv): Promise<void> {
  const cert = a["tls-cert-file"];
  const key = a["tls-private-key-file"];
  if (!cert || !key) throw usageError("serve needs --tls-cert-file and --tls-private-key-file", "the apiserver only calls webhooks over HTTPS: give the serving certificate and its key (PEM), or --config / --cluster-id to run the authenticator, which keeps them in its state directory");
  const wanted = sourceOf(a, false)!;
  for (const [flag, f] of [["--tls-cert-file", cert], ["--tls-private-key-file", key]] as const) {
    if (!existsSync(f)) throw new EksAccessError("config", `${flag} ${f} does not exist`, { hint: "give the PEM file's path" });
  }
  const port = a.port ?? AUTHORIZER_PORT;
  checkPort(port);
  const entries = await openSource(a, wanted, say, env);
  const { startServer } = await import("../../server/server.js");
  let server;
  try {
    server = await startServer({ address: a.address ?? "127.0.0.1", port, tls: { certFile: cert, keyFile: key }, accessEntries: entries, log: (l) => say(`eks-access serve: ${l}`) });
  } catch (err) {
    entries.close();
    throw listenError(err, port, a.address ?? "127.0.0.1");
  }
  say(`eks-access serve: SubjectAccessReview at ${server.url}/authorize (access entries: ${entries.description})`);
  await untilSignal();
  entries.close();
  await server.stop();
}

const authenticatorFlags = (a: ServeArgs | ServeInitArgs): AuthenticatorFlags => {
  const s = a as ServeArgs;
  return {
    clusterId: a["cluster-id"],
    partition: s.partition,
    address: a.address,
    port: a.port,
    hostname: a.hostname,
    stateDir: a["state-dir"],
    generateKubeconfig: a["generate-kubeconfig"],
    kubeconfigPregenerated: s["kubeconfig-pregenerated"],
    kubeconfig: s.kubeconfig,
    master: s.master,
    backendMode: s["backend-mode"],
  };
};

function duration(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined) throw usageError(`${flag} ${text} is not a duration`, "e.g. 500ms, 10s, 5m");
  return ms;
}

/** RATE[,BURST] calls per second, e.g. 10 or 10,50 (burst default 5 × rate). */
function rate(text: string | undefined, flag: string): { perSecond: number; burst: number } | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(?:\/s)?(?:,(\d+))?$/.exec(text);
  if (!m || Number(m[1]) <= 0) throw usageError(`${flag} ${text} is not a rate`, "give calls per second and optionally a burst, e.g. 10 or 10,50");
  return { perSecond: Number(m[1]), burst: m[2] !== undefined ? Number(m[2]) : Math.max(1, Math.ceil(Number(m[1]) * 5)) };
}

/** The host name in generated kubeconfigs: the configured hostname, else the listen address (localhost for a wildcard). */
const hostOf = (c: Pick<AuthenticatorConfig, "hostname" | "address">): string => c.hostname || (c.address === "0.0.0.0" || c.address === "::" ? "localhost" : c.address);

/** The serving pair: given files, else the state directory's cert.pem/key.pem, made when missing (as the peer does). */
async function servingPair(certFile: string | undefined, keyFile: string | undefined, c: AuthenticatorConfig): Promise<{ certPath: string; keyPath: string; made: boolean }> {
  if ((certFile === undefined) !== (keyFile === undefined)) throw usageError("give both --tls-cert-file and --tls-private-key-file, or neither", `without them the pair in the state directory (${c.stateDir}) is used, and made when missing`);
  if (certFile && keyFile) {
    for (const [flag, f] of [["--tls-cert-file", certFile], ["--tls-private-key-file", keyFile]] as const) {
      if (!existsSync(f)) throw new EksAccessError("config", `${flag} ${f} does not exist`, { hint: "give the PEM file's path" });
    }
    return { certPath: certFile, keyPath: keyFile, made: false };
  }
  const certPath = join(c.stateDir, "cert.pem");
  const keyPath = join(c.stateDir, "key.pem");
  if (existsSync(certPath) && existsSync(keyPath)) return { certPath, keyPath, made: false };
  const { createServingCertificate } = await import("../../adapters/pki.js");
  try {
    await createServingCertificate({ certPath, keyPath, address: c.address, hostname: hostOf(c) });
  } catch (err) {
    throw new EksAccessError("config", `cannot make a serving certificate in ${c.stateDir}: ${(err as Error).message.split("\n")[0]}`, { hint: "give --state-dir a writable directory (openssl must be installed), or --tls-cert-file and --tls-private-key-file" });
  }
  return { certPath, keyPath, made: true };
}

/** Throws unless `path` could be written (it or its nearest existing parent directory is writable), before anything is made. */
function checkWritable(path: string, flag: string): void {
  let p = dirname(path);
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  let problem: string | undefined;
  try {
    if (!statSync(p).isDirectory()) problem = "is not a directory";
    else accessSync(p, constants.W_OK);
  } catch {
    problem ??= "is not writable";
  }
  if (problem) throw new EksAccessError("config", `cannot write ${path} (${flag}): ${p} ${problem}`, { hint: `give ${flag} a writable path` });
}

function writeKubeconfig(path: string, text: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text, { mode: 0o644 });
  } catch (err) {
    throw new EksAccessError("config", `cannot write the webhook kubeconfig ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: "give --generate-kubeconfig a writable path, or --kubeconfig-pregenerated" });
  }
}

/** The TokenReview authenticator (with the authorizer when there are access entries). */
async function runAuthenticator(a: ServeArgs, env: NodeJS.ProcessEnv): Promise<void> {
  const wanted = sourceOf(a, true);
  checkPort(a.port);
  if (a["log-format"] !== undefined && a["log-format"] !== "json" && a["log-format"] !== "text") throw usageError(`--log-format ${a["log-format"]} is not json or text`, "eks-access serve logs JSON lines either way");
  const graceMs = duration(a["shutdown-grace"], "--shutdown-grace") ?? 20_000;
  const [{ jsonLog }, { PromAuthnMetrics }, { AuthenticatorConfigFile }] = await Promise.all([import("../../adapters/logger.js"), import("../../adapters/authn-metrics.js"), import("../../adapters/authn-files.js")]);
  const log = jsonLog(undefined, a["log-level"] ?? "info");
  const metrics = new PromAuthnMetrics();
  const config = new AuthenticatorConfigFile(a.config, authenticatorFlags(a), env, { log, metrics });
  const c = config.current();
  const { StsTokenVerifier } = await import("../../adapters/sts-token-verifier.js");
  const verifier = new StsTokenVerifier({
    clusterId: c.clusterId,
    partition: c.partition,
    region: a.region ?? (env["AWS_REGION"] || env["AWS_DEFAULT_REGION"] || undefined),
    maxTokenBytes: a["max-token-bytes"],
    timeoutMs: duration(a["sts-timeout"], "--sts-timeout"),
    cache: { maxEntries: a["token-cache-size"], ttlMs: duration(a["token-cache-ttl"], "--token-cache-ttl") },
    limits: { perPrincipal: rate(a["sts-limit-per-principal"], "--sts-limit-per-principal"), global: rate(a["sts-limit-global"], "--sts-limit-global"), maxConcurrent: a["sts-max-concurrent"] },
    env,
    observer: {
      cache: (hit) => metrics.tokenCache(hit),
      stsCall: (call) => metrics.stsCall(call.seconds, call.status ?? "error"),
      limited: (scope) => metrics.stsLimited(scope),
    },
  });
  metrics.watchVerifier(() => verifier.stats());
  const beyond = { rolePaths: a["match-role-paths"] === true, iamGroups: a["match-iam-groups"] === true, ssoPermissionSets: a["match-sso-permission-sets"] === true };
  const aws = sharedSession(a, env);
  let iam;
  if (beyond.rolePaths || beyond.iamGroups || beyond.ssoPermissionSets) {
    const session = await aws();
    const { iamCallerDirectory } = await import("../../adapters/iam-caller.js");
    iam = await iamCallerDirectory({ region: session.region ?? "us-east-1", credentials: session.credentials, endpoint: endpointOverride("iam", env), env });
  }
  let ec2Inner: Promise<Ec2Directory> | undefined;
  const ec2: Ec2Directory = {
    privateDnsName: async (id) => {
      ec2Inner ??= (async () => {
        const session = await aws();
        if (!session.region) throw new Error("no region for ec2:DescribeInstances: give serve --region (or AWS_REGION)");
        const { ec2Directory } = await import("../../adapters/ec2-dns.js");
        return ec2Directory({ region: session.region, credentials: session.credentials, endpoint: endpointOverride("ec2", env), env, metrics });
      })().catch((err: unknown) => {
        ec2Inner = undefined;
        throw err;
      });
      return (await ec2Inner).privateDnsName(id);
    },
  };
  const entries = wanted ? await openSource(a, wanted, (l) => log.info(l.replace(/^eks-access serve: /, "")), env, aws) : undefined;
  // the authorizer reads the DynamicFile backend's file when it binds entries to unique ids (what EKS and the sandbox write)
  const authzEntries = entries ?? (c.dynamicFilePath && c.dynamicFileUserIdStrict ? new (await import("../../adapters/access-entries-file.js")).AccessEntriesFile(c.dynamicFilePath, (l) => log.warn(l)) : undefined);
  const tls = await servingPair(a["tls-cert-file"], a["tls-private-key-file"], c);
  const [{ startAuthn }, { startServer }] = await Promise.all([import("../../server/authenticator.js"), import("../../server/server.js")]);
  const stack = await startAuthn({ config, verifier, beyond, iam, ec2, accessEntries: entries, metrics, log });
  let server;
  try {
    server = await startServer({
      address: c.address,
      port: c.port,
      tls: { certFile: tls.certPath, keyFile: tls.keyPath },
      accessEntries: authzEntries,
      authenticator: stack.authenticator,
      metrics: () => metrics.exposition(),
      // the largest token the verifier takes, and room for the rest of a TokenReview
      maxBodyBytes: (a["max-token-bytes"] ?? DEFAULT_MAX_TOKEN_BYTES) + 64 * 1024,
      log: (l) => log.error(l),
    });
  } catch (err) {
    stack.close();
    authzEntries?.close();
    throw listenError(err, c.port, c.address);
  }
  const url = webhookUrl(hostOf(c), server.port, "/authenticate");
  if (!a["tls-cert-file"] && !c.kubeconfigPregenerated) {
    writeKubeconfig(c.generateKubeconfig, webhookKubeconfig({ name: "eks-access", url, caPem: readFileSync(tls.certPath, "utf8") }));
  }
  log.info("listening", {
    url: `${server.url}/authenticate`,
    clusterId: c.clusterId,
    backends: stack.backends.describe(),
    authorize: authzEntries ? `${server.url}/authorize (access entries: ${authzEntries.description})` : "off",
    certificate: tls.made ? `made ${tls.certPath}` : tls.certPath,
    webhookKubeconfig: !a["tls-cert-file"] && !c.kubeconfigPregenerated ? c.generateKubeconfig : "not written",
    beyondThePeer: Object.entries(beyond).filter(([, on]) => on).map(([k]) => k),
  });
  if (a["log-format"] === "text") log.warn("--log-format text: eks-access serve writes JSON lines either way");
  if (c.ec2DescribeInstancesRoleArn) log.warn("server.ec2DescribeInstancesRoleARN is not supported: ec2:DescribeInstances for {{EC2PrivateDNSName}} uses serve's own credentials (--profile or the default chain)", { roleArn: c.ec2DescribeInstancesRoleArn });
  const signal = await untilSignal();
  log.info("shutting down: no new connections; reviews in flight finish", { signal, graceMs });
  await server.stop(graceMs);
  stack.close();
  authzEntries?.close();
  await verifier.close();
  log.info("stopped");
  log.flush();
}

export async function runServe(a: ServeArgs, say: (line: string) => void, env = process.env): Promise<void> {
  if (a.config !== undefined || a["cluster-id"] !== undefined) return runAuthenticator(a, env);
  const authnOnly = (["partition", "backend-mode", "kubeconfig", "master", "state-dir", "generate-kubeconfig", "hostname", "max-token-bytes", "sts-timeout", "token-cache-size", "token-cache-ttl", "sts-limit-per-principal", "sts-limit-global", "sts-max-concurrent", "shutdown-grace", "log-format", "log-level"] as const).filter((k) => a[k] !== undefined);
  const flags = (["kubeconfig-pregenerated", "match-role-paths", "match-iam-groups", "match-sso-permission-sets"] as const).filter((k) => a[k] === true);
  const given = [...authnOnly, ...flags].map((k) => `--${k}`);
  if (given.length > 0) throw usageError(`${given.join(", ")} ${given.length === 1 ? "is" : "are"} for the TokenReview authenticator: give --config (aws-iam-authenticator's config file) or --cluster-id too`);
  return runAuthorizer(a, say, env);
}

/** `serve init`: the serving certificate and key, and the apiserver's webhook kubeconfig(s); the report as text. */
export async function runServeInit(a: ServeInitArgs, env = process.env): Promise<string> {
  checkPort(a.port);
  const { parseAuthenticatorConfigFile, resolveAuthenticatorConfig } = await import("../../core/authn/config.js");
  let file = {};
  if (a.config !== undefined) {
    let text: string;
    try {
      text = readFileSync(a.config, "utf8");
    } catch (err) {
      throw new EksAccessError("config", `Can't read configuration file "${a.config}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: "give --config the aws-iam-authenticator config file" });
    }
    file = parseAuthenticatorConfigFile(text, a.config);
  }
  const c = resolveAuthenticatorConfig(file, { ...authenticatorFlags(a), hostname: a.hostname }, env, { clusterIdOptional: true });
  const host = c.hostname || "localhost";
  const caFile = a["ca-file"];
  if (caFile !== undefined && !existsSync(caFile)) throw new EksAccessError("config", `--ca-file ${caFile} does not exist`, { hint: "give the PEM of the CA that signed --tls-cert-file" });
  checkWritable(c.generateKubeconfig, "--generate-kubeconfig");
  if (a["authorize-kubeconfig"] !== undefined) checkWritable(a["authorize-kubeconfig"], "--authorize-kubeconfig");
  if (a["tls-cert-file"] === undefined) checkWritable(join(c.stateDir, "cert.pem"), "--state-dir");
  const tls = await servingPair(a["tls-cert-file"], a["tls-private-key-file"], { ...c, hostname: host });
  const caPem = readFileSync(caFile ?? tls.certPath, "utf8");
  const lines = [tls.made ? `wrote ${tls.certPath} and ${tls.keyPath} (self-signed for ${[...new Set([c.address, host])].join(", ")})` : `using ${tls.certPath} and ${tls.keyPath}`];
  writeKubeconfig(c.generateKubeconfig, webhookKubeconfig({ name: "eks-access", url: webhookUrl(host, c.port, "/authenticate"), caPem }));
  lines.push(`wrote ${c.generateKubeconfig}: kube-apiserver --authentication-token-webhook-config-file=${c.generateKubeconfig} --authentication-token-webhook-version=v1`);
  const authz = a["authorize-kubeconfig"];
  if (authz !== undefined) {
    writeKubeconfig(authz, webhookKubeconfig({ name: "eks-access", url: webhookUrl(host, c.port, "/authorize"), caPem }));
    lines.push(`wrote ${authz}: kube-apiserver --authorization-mode=Node,RBAC,Webhook --authorization-webhook-config-file=${authz} --authorization-webhook-version=v1`);
  }
  lines.push(`then run: eks-access serve${a.config ? ` --config ${a.config}` : " --cluster-id CLUSTER_ID"}${a["state-dir"] ? ` --state-dir ${a["state-dir"]}` : ""}${a["tls-cert-file"] ? ` --tls-cert-file ${a["tls-cert-file"]} --tls-private-key-file ${a["tls-private-key-file"]}` : ""} --kubeconfig-pregenerated`);
  return `${lines.join("\n")}\n`;
}
