/**
 * The local sandbox: an "AWS account + EKS cluster" on this machine, made of real parts.
 *   moto_server (IAM, STS, EKS, ...) ← EKS front (real endpoint + CA in DescribeCluster)
 *   STS verifier (presigned GetCallerIdentity, own SigV4 check, identities from moto)
 *   AWS gateway (TLS for the real AWS host names, test CA) ← CONNECT proxy (HTTPS_PROXY)
 *   etcd + kube-apiserver (RBAC, token webhook) → the authenticator: `eks-access serve` (default)
 *   or the real aws-iam-authenticator v0.6.13, started with the same config file and flags
 *   (MountedFile for the sandbox admin, the access entries as a dynamic file, then the
 *   kube-system/aws-auth ConfigMap, as on EKS); authorization webhook: `eks-access serve` (the same
 *   process, or a second one beside the peer)
 * Everything listens on 127.0.0.1; state lives under one directory.
 */
import { mkdir, writeFile, chmod, rm } from "node:fs/promises";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { IAMClient, CreateUserCommand, CreateAccessKeyCommand, CreateRoleCommand } from "@aws-sdk/client-iam";
import { EKSClient, CreateClusterCommand } from "@aws-sdk/client-eks";
import { startMoto } from "./emulator/moto.js";
import { startStsVerifier } from "./emulator/sts-verifier.js";
import { startEksFront } from "./emulator/eks-front.js";
import { AUTHENTICATION_MODES, type AuthenticationMode } from "./emulator/access-entries.js";
import { writeAccessControlFiles } from "./access-control.js";
import { createTestCa, issueLeafCertificate } from "./emulator/tls.js";
import { startConnectProxy } from "./emulator/connect-proxy.js";
import { sandboxAwsHosts, startAwsGateway } from "./emulator/aws-gateway.js";
import { locatePeers, spawnPeer } from "./cluster/peers.js";
import { requestText, startKube } from "./cluster/kube.js";
import { AUTHENTICATORS, startAwsIamAuthenticator, type AuthenticatorKind, type StartAwsIamAuthenticatorOptions, type TokenWebhookServer } from "./cluster/authenticator.js";
import { freePort, waitFor } from "./emulator/net.js";
import { EksAccessError } from "../core/errors.js";
import { bypassesProxy } from "../core/no-proxy.js";
import { processIdentity, type ProcessIdentity } from "./process-identity.js";

export const SANDBOX_ACCOUNT = "123456789012";
/** Validity of the sandbox's certificates (the kube-apiserver's are 365 days too: cluster/kube.ts). */
export const SANDBOX_CERT_DAYS = 365;

export interface SandboxState {
  version: 1;
  pid: number;
  /** The daemon's start time and command line: `down`/`up`/`env` trust `pid` only while they match. */
  daemon?: ProcessIdentity;
  ready: boolean;
  dir: string;
  region: string;
  clusterName: string;
  clusterArn: string;
  accountId: string;
  /** HTTPS_PROXY value: the loopback CONNECT proxy that reaches the sandbox's AWS host names */
  proxyUrl: string;
  /** PEM of the sandbox test CA (AWS_CA_BUNDLE / SSL_CERT_FILE) */
  caFile: string;
  motoUrl: string;
  apiServer: string;
  /** static system:masters kubeconfig, for setting the cluster up (not IAM) */
  adminKubeconfig: string;
  /** which TokenReview webhook runs (readState gives aws-iam-authenticator for state files of older versions, which name none) */
  authenticator: AuthenticatorKind;
  authenticatorUrl: string;
  authenticatorCaFile: string;
  /** AWS config/credentials files of the sandbox (profile sandbox-admin) */
  awsConfigFile: string;
  awsCredentialsFile: string;
  /** the kubeconfig `sandbox env` points KUBECONFIG at */
  kubeconfig: string;
  adminUserArn: string;
  /** the authentication mode the cluster was created with */
  authMode?: AuthenticationMode;
  /** https://127.0.0.1:PORT/authorize of `eks-access serve` (with eks-access, the authenticator's own port) */
  authorizerUrl?: string;
  startedAt: string;
  startupMs: number;
}

export interface Sandbox {
  state: SandboxState;
  stop(): Promise<void>;
}

export interface SandboxOptions {
  dir: string;
  region?: string;
  clusterName?: string;
  /** the cluster's authentication mode at creation (default API_AND_CONFIG_MAP, as new EKS clusters) */
  authMode?: AuthenticationMode;
  /** the TokenReview webhook: eks-access serve (default) or the real aws-iam-authenticator */
  authenticator?: AuthenticatorKind;
  /** the eks-access executable that runs `serve` (default: the one running) */
  cli?: string;
  log?: (line: string) => void;
}

const STATIC = { accessKeyId: "sandbox-setup", secretAccessKey: "sandbox-setup" };

/** The programs the sandbox runs, with what installs each (checked before anything starts or builds). */
const PREREQUISITES: ReadonlyArray<readonly [command: string, install: string]> = [
  ["moto_server", "pip install 'moto[server]==5.2.1' (or ./scripts/setup)"],
  ["openssl", "apt-get install openssl"],
  ["go", "install Go (https://go.dev/doc/install): it builds kube-apiserver, etcd and aws-iam-authenticator once"],
];

function onPath(command: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return (env["PATH"] ?? "").split(delimiter).some((d) => {
    try {
      accessSync(join(d, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Fails fast, naming the missing program and how to get it. `go` is needed only for the first build. */
export function checkPrerequisites(opts: { needGo: boolean }, env: NodeJS.ProcessEnv = process.env): void {
  for (const [command, install] of PREREQUISITES) {
    if (command === "go" && !opts.needGo) continue;
    if (!onPath(command, env)) throw new EksAccessError("config", `the sandbox needs ${command}, which is not on PATH`, { hint: install });
  }
}

export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const t0 = Date.now();
  const region = opts.region ?? "us-west-2";
  const clusterName = opts.clusterName ?? "sandbox";
  const log = opts.log ?? (() => {});
  const dir = opts.dir;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const stops: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) {
      try {
        await s();
      } catch {
        /* keep stopping the rest */
      }
    }
  };
  try {
    const built = await locatePeers({ build: false }).catch(() => undefined);
    checkPrerequisites({ needGo: !built });
    if (!built) log("building the Kubernetes peers from their Go modules (first run only: several minutes)");
    const peers = built ?? (await locatePeers({ build: true, log: (l) => log(`  ${l}`) }));

    log("starting moto_server (AWS emulation)");
    const moto = await startMoto();
    stops.push(() => moto.stop());
    const verifier = await startStsVerifier({ motoUrl: moto.url });
    stops.push(() => verifier.stop());
    const authMode = opts.authMode ?? "API_AND_CONFIG_MAP";
    if (!AUTHENTICATION_MODES.includes(authMode)) throw new EksAccessError("usage", `--auth-mode ${String(authMode)} is not an EKS authentication mode`, { hint: `use one of ${AUTHENTICATION_MODES.join(", ")}` });
    const kind = opts.authenticator ?? "eks-access";
    if (!AUTHENTICATORS.includes(kind)) throw new EksAccessError("usage", `--authenticator ${String(kind)} is not one the sandbox runs`, { hint: `use one of ${AUTHENTICATORS.join(", ")}` });
    const authDir = join(dir, "authenticator");
    await mkdir(authDir, { recursive: true, mode: 0o700 });
    const accessFiles = { entriesFile: join(authDir, "access-entries.json"), backendModeFile: join(authDir, "backend-mode.json") };
    // a new sandbox is a new account: no access entries from an earlier one
    const accessStateFile = join(dir, "eks-access-entries-state.json");
    await rm(accessStateFile, { force: true });
    const front = await startEksFront({
      motoUrl: moto.url,
      accessStateFile,
      onAccessChange: (s) => writeAccessControlFiles(accessFiles, s, clusterName, authMode),
    });
    stops.push(() => front.stop());
    writeAccessControlFiles(accessFiles, front.accessState(), clusterName, authMode);

    log("creating the sandbox CA and the AWS endpoints' certificates");
    // as long-lived as the cluster's own certificates: a sandbox left running must not break after
    // a week (the CA had the 7-day default, the leaves 30 days: no test ran long enough to see it)
    const ca = await createTestCa(join(dir, "pki"), { name: "sandbox-ca", commonName: "eks-access sandbox CA", days: SANDBOX_CERT_DAYS });
    const awsLeaf = await issueLeafCertificate(ca, { name: "aws-endpoints", dnsNames: sandboxAwsHosts(region), days: SANDBOX_CERT_DAYS });
    const authLeaf = await issueLeafCertificate(ca, { name: "authenticator", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], days: SANDBOX_CERT_DAYS });
    const gateway = await startAwsGateway({ tls: { cert: awsLeaf.certPem, key: awsLeaf.keyPem }, verifierUrl: verifier.url, awsUrl: front.url });
    stops.push(() => gateway.stop());
    const routes = Object.fromEntries(sandboxAwsHosts(region).map((h) => [`${h}:443`, gateway.port]));
    // the sandbox's AWS host names go to the gateway; everything else as the user's environment would
    const user = userProxySettings(process.env);
    const proxy = await startConnectProxy({ routes, unrouted: { upstreamProxy: user.httpsProxy, noProxy: user.noProxy } });
    stops.push(() => proxy.stop());

    const cli = opts.cli ?? process.argv[1] ?? "eks-access";
    const authPort = await freePort();
    const authenticatorUrl = `https://127.0.0.1:${authPort}/authenticate`;
    // with eks-access, one serve answers both webhooks (started once the apiserver it watches is up)
    let authorizerUrl = `https://127.0.0.1:${authPort}/authorize`;
    if (kind === "aws-iam-authenticator") {
      log("starting eks-access serve (EKS access policies, beside RBAC)");
      const authzPort = await freePort();
      authorizerUrl = `https://127.0.0.1:${authzPort}/authorize`;
      const authorizer = await spawnPeer(
        "eks-access-serve",
        process.execPath,
        [cli, "serve", "--port", String(authzPort), "--tls-cert-file", authLeaf.certPath, "--tls-private-key-file", authLeaf.keyPath, "--access-entries-file", accessFiles.entriesFile],
        { logFile: join(dir, "eks-access-serve.log") },
      );
      stops.push(() => authorizer.stop(5_000));
      await waitFor(`${authorizerUrl} (eks-access serve)`, async () => {
        if (authorizer.exit) throw new Error(`eks-access serve exited: ${await authorizer.tail(5)}`);
        return (await requestText(`https://127.0.0.1:${authzPort}/healthz`, { ca: ca.certPem }).catch(() => ({ status: 0 }))).status === 200;
      }, 300);
    }

    log("starting etcd and kube-apiserver");
    const kube = await startKube({
      dir: join(dir, "kube"),
      peers,
      // eks-access serve speaks v1 and v1beta1; aws-iam-authenticator v1beta1
      webhook: { url: authenticatorUrl, caFile: ca.certPath, version: kind === "eks-access" ? "v1" : "v1beta1", cacheTtl: "0s" },
      authorizationWebhook: { url: authorizerUrl, caFile: ca.certPath },
      log: (l) => log(`  ${l}`),
    });
    stops.push(() => kube.stop());

    log("registering the account's IAM admin and the EKS cluster in the AWS emulation");
    const iam = new IAMClient({ region, endpoint: moto.url, credentials: STATIC });
    await iam.send(new CreateUserCommand({ UserName: "sandbox-admin" }));
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "sandbox-admin" }))).AccessKey!;
    const adminUserArn = `arn:aws:iam::${SANDBOX_ACCOUNT}:user/sandbox-admin`;
    const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "eks.amazonaws.com" }, Action: "sts:AssumeRole" }] });
    const clusterRole = await iam.send(new CreateRoleCommand({ RoleName: "eks-sandbox-cluster-role", AssumeRolePolicyDocument: trust }));
    // permission sets EKSAdmin/EKSView in this account and 210987654321, with their AWSReservedSSO_ roles
    // (imported here: `sandbox env` and `down` load this module and need no sso-admin client)
    await (await import("./identity-center.js")).seedIdentityCenter({ motoUrl: moto.url, region, account: SANDBOX_ACCOUNT, credentials: STATIC });
    front.setCluster(clusterName, { endpoint: kube.server, caData: kube.caData });
    // created by the sandbox admin: as on EKS, the creator gets the bootstrap admin access entry
    const eks = new EKSClient({ region, endpoint: front.url, credentials: { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! } });
    const created = await eks.send(
      new CreateClusterCommand({
        name: clusterName,
        roleArn: clusterRole.Role!.Arn!,
        resourcesVpcConfig: { subnetIds: ["subnet-sandbox"] },
        accessConfig: { authenticationMode: authMode, bootstrapClusterCreatorAdminPermissions: true },
      }),
    );

    const modeText = authMode === "CONFIG_MAP" ? "the creator from its config, everyone else from aws-auth" : authMode === "API" ? "access entries only" : "access entries, then aws-auth";
    log(`starting ${kind === "eks-access" ? "eks-access serve as the authenticator (and authorizer)" : "aws-iam-authenticator"} (${authMode}: ${modeText})`);
    // the same inputs for either authenticator: its config file, flags, files and STS route
    const inputs: Omit<StartAwsIamAuthenticatorOptions, "binary"> = {
      dir: join(dir, "authenticator"),
      clusterId: clusterName,
      port: authPort,
      tls: { certPath: authLeaf.certPath, keyPath: authLeaf.keyPath, caPath: ca.certPath },
      // all the backends a mode can use; the backend-mode file picks and orders them per mode
      backendModes: ["MountedFile", "DynamicFile", "EKSConfigMap"],
      dynamicFile: { path: accessFiles.entriesFile, userIdStrict: true },
      backendModeFile: accessFiles.backendModeFile,
      kubeconfig: kube.adminKubeconfig,
      mapUsers: [{ userarn: adminUserArn, username: "sandbox-admin", groups: ["system:masters"] }],
      env: { HTTPS_PROXY: proxy.url, SSL_CERT_FILE: ca.certPath, NO_PROXY: "127.0.0.1,localhost" },
      log: (l) => log(`  ${l}`),
    };
    let authenticator: TokenWebhookServer;
    if (kind === "eks-access") {
      const { startEksAccessServe } = await import("./cluster/eks-access-serve.js");
      authenticator = await startEksAccessServe({ ...inputs, tls: inputs.tls!, cli, logFile: join(dir, "eks-access-serve.log") });
    } else {
      authenticator = await startAwsIamAuthenticator({ ...inputs, binary: peers.awsIamAuthenticator });
    }
    stops.push(() => authenticator.stop());

    const awsDir = join(dir, "aws");
    await mkdir(awsDir, { recursive: true, mode: 0o700 });
    const awsConfigFile = join(awsDir, "config");
    const awsCredentialsFile = join(awsDir, "credentials");
    await writeFile(awsConfigFile, `[profile sandbox-admin]\nregion = ${region}\n`, { mode: 0o600 });
    await writeFile(awsCredentialsFile, `[sandbox-admin]\naws_access_key_id = ${key.AccessKeyId}\naws_secret_access_key = ${key.SecretAccessKey}\n`, { mode: 0o600 });
    await chmod(awsCredentialsFile, 0o600);

    const state: SandboxState = {
      version: 1,
      pid: process.pid,
      daemon: processIdentity(process.pid),
      ready: true,
      dir,
      region,
      clusterName,
      clusterArn: created.cluster!.arn!,
      accountId: SANDBOX_ACCOUNT,
      proxyUrl: proxy.url,
      caFile: ca.certPath,
      motoUrl: moto.url,
      apiServer: kube.server,
      adminKubeconfig: kube.adminKubeconfig,
      authenticatorUrl,
      authenticatorCaFile: ca.certPath,
      awsConfigFile,
      awsCredentialsFile,
      kubeconfig: join(dir, "kubeconfig"),
      adminUserArn,
      authMode,
      authorizerUrl,
      authenticator: kind,
      startedAt: new Date(t0).toISOString(),
      startupMs: Date.now() - t0,
    };
    return { state, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The proxy settings of the user's own environment: what the sandbox's CONNECT proxy does with
 * destinations that are not the sandbox's (direct, or through the user's HTTPS_PROXY unless
 * NO_PROXY says otherwise). In a shell that evaluated `sandbox env`, the values saved before it.
 */
export function userProxySettings(env: Readonly<Record<string, string | undefined>>): { httpsProxy?: string; noProxy?: string } {
  const saved = env["EKS_ACCESS_SANDBOX_SAVED"] !== undefined && env["EKS_ACCESS_SANDBOX_SAVED"] !== "";
  const get = (name: string): string | undefined => (saved ? env[`EKS_ACCESS_SANDBOX_SAVED_${name}`] : env[name]) || undefined;
  const httpsProxy = get("HTTPS_PROXY") ?? get("https_proxy");
  const noProxy = get("NO_PROXY") ?? get("no_proxy");
  return { ...(httpsProxy ? { httpsProxy } : {}), ...(noProxy ? { noProxy } : {}) };
}

/**
 * NO_PROXY for a sandbox shell: the user's entries (so that what bypassed their proxy still goes
 * direct), minus any that would send the sandbox's AWS host names around the sandbox proxy, plus
 * the loopback names.
 */
export function sandboxNoProxy(userNoProxy: string | undefined, region: string): string {
  const hosts = sandboxAwsHosts(region);
  const kept = (userNoProxy ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "" && !hosts.some((h) => bypassesProxy(h, 443, e)));
  return [...new Set([...kept, "127.0.0.1", "localhost"])].join(",");
}

/** Variables `sandbox env` sets (PATH: the CLI's directory put first). */
export const SANDBOX_SET = [
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_PROFILE",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "HTTPS_PROXY",
  "https_proxy",
  "NO_PROXY",
  "no_proxy",
  "AWS_CA_BUNDLE",
  "KUBECONFIG",
  "EKS_ACCESS_CACHE_DIR",
  "EKS_ACCESS_AWS_CLI_CACHE_DIR",
  "PATH",
] as const;

/**
 * The environment that points aws, eks-access and kubectl at a running sandbox (no secret in it).
 * `userEnv` is the environment it is applied to (its NO_PROXY is kept).
 */
export function sandboxEnvironment(state: SandboxState, binDir: string, userEnv: Readonly<Record<string, string | undefined>> = process.env): Array<[string, string]> {
  const noProxy = sandboxNoProxy(userProxySettings(userEnv).noProxy, state.region);
  const values: Record<(typeof SANDBOX_SET)[number], string> = {
    AWS_CONFIG_FILE: state.awsConfigFile,
    AWS_SHARED_CREDENTIALS_FILE: state.awsCredentialsFile,
    AWS_PROFILE: "sandbox-admin",
    AWS_REGION: state.region,
    AWS_DEFAULT_REGION: state.region,
    HTTPS_PROXY: state.proxyUrl,
    https_proxy: state.proxyUrl,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    AWS_CA_BUNDLE: state.caFile,
    KUBECONFIG: state.kubeconfig,
    EKS_ACCESS_CACHE_DIR: join(state.dir, "token-cache"),
    // the sandbox's role sessions die with its moto: never reuse them from (or leave them in) ~/.aws/cli/cache
    EKS_ACCESS_AWS_CLI_CACHE_DIR: join(state.dir, "aws-cli-cache"),
    PATH: `${binDir}:${userEnv["PATH"] ?? ""}`,
  };
  return SANDBOX_SET.map((k) => [k, values[k]]);
}

/** Variables that would send AWS calls elsewhere or pick other credentials: unset by `sandbox env`. */
export const SANDBOX_UNSET = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_STS",
  "AWS_ENDPOINT_URL_IAM",
  "AWS_ENDPOINT_URL_EKS",
  "AWS_DEFAULT_PROFILE",
] as const;
