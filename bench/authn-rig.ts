/**
 * What bench/authn.bench.ts and bench/authn-soak.ts share: the STS side of the sandbox on loopback
 * (moto_server with IAM users and keys, the local STS verifier, a test CA, the AWS gateway posing as
 * sts.us-west-2.amazonaws.com, the CONNECT proxy), tokens signed for it, one aws-iam-authenticator
 * config file, and the two servers under test, each pinned to a CPU:
 *  - the peer, aws-iam-authenticator v0.6.13 (real binary), started as the sandbox starts it;
 *  - `eks-access serve --config <the same kind of config file>` (the built CLI).
 * Both reach STS the same way (HTTPS_PROXY → proxy → gateway → verifier) and map with the same rows.
 * Tokens are never printed.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient } from "@aws-sdk/client-iam";
import { SignatureV4 } from "@smithy/signature-v4";
import { assemblePresignedUrl, encodeToken } from "../src/core/token.js";
import { authenticatorConfig, startAwsIamAuthenticator, type AwsIamAuthenticator, type RoleMapping, type UserMapping } from "../src/sandbox/cluster/authenticator.js";
import { requestText } from "../src/sandbox/cluster/kube.js";
import { locatePeers } from "../src/sandbox/cluster/peers.js";
import { sandboxAwsHosts, startAwsGateway, type AwsGateway } from "../src/sandbox/emulator/aws-gateway.js";
import { startConnectProxy, type ConnectProxy } from "../src/sandbox/emulator/connect-proxy.js";
import { startMoto } from "../src/sandbox/emulator/moto.js";
import { freePort, poll } from "../src/sandbox/emulator/net.js";
import { startStsVerifier, type StsVerifier } from "../src/sandbox/emulator/sts-verifier.js";
import { createTestCa, issueLeafCertificate } from "../src/sandbox/emulator/tls.js";

export const REGION = "us-west-2";
export const CLUSTER_ID = "bench-cluster";
const ACCOUNT = "123456789012";
export const STS_HOST = `sts.${REGION}.amazonaws.com`;
const root = join(import.meta.dirname, "..");

/** Pins every thread of a process (this one by default) to the CPUs of `cpus` (taskset's list). */
export function pin(cpus: string, pid = process.pid): void {
  const r = spawnSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`taskset -a -p -c ${cpus} ${pid} failed: ${r.stderr.trim()}`);
}

/** Fails at once, in one line, when a tool is missing. */
export function requireTool(cmd: string, install: string): void {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`]);
  if (r.status !== 0) throw new Error(`${cmd} is not installed: ${install}`);
}

/** CPU time (user + system, all threads) a process has used so far, in ms (from /proc: 10 ms steps). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime in clock ticks (USER_HZ 100)
}

/** Busy and total jiffies of each CPU (from /proc/stat), to tell which one a run saturated. */
export function cpuTimes(): Map<string, { busy: number; total: number }> {
  const out = new Map<string, { busy: number; total: number }>();
  for (const line of readFileSync("/proc/stat", "utf8").split("\n")) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    const idle = v[3]! + v[4]!; // idle + iowait
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out.set(m[1]!, { busy: total - idle, total });
  }
  return out;
}

export interface Key {
  userName: string;
  arn: string;
  accessKeyId: string;
  secretAccessKey: string;
}

class NodeSha256 {
  private readonly h;
  constructor(secret?: unknown) {
    this.h = secret === undefined ? createHash("sha256") : createHmac("sha256", secret as string | Uint8Array);
  }
  update(data: string | Uint8Array): void {
    this.h.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.h.digest();
  }
}

const signers = new WeakMap<Key, SignatureV4>();

/**
 * A token as `aws eks get-token` makes one, signed at `date` with X-Amz-Expires `expires` (0..900):
 * every (key, second, expires) gives a distinct token, all valid for 15 minutes after `date`.
 */
export async function signToken(key: Key, date: Date, expires: number, clusterId = CLUSTER_ID): Promise<string> {
  let signer = signers.get(key);
  if (signer === undefined) {
    signer = new SignatureV4({ service: "sts", region: REGION, credentials: key, sha256: NodeSha256, uriEscapePath: true, applyChecksum: false });
    signers.set(key, signer);
  }
  const signed = await signer.presign(
    { method: "GET", protocol: "https:", hostname: STS_HOST, path: "/", query: { Action: "GetCallerIdentity", Version: "2011-06-15" }, headers: { host: STS_HOST, "x-k8s-aws-id": clusterId } },
    { expiresIn: expires, signingDate: date },
  );
  return encodeToken(assemblePresignedUrl(`https://${STS_HOST}`, "/", signed.query as Record<string, string>));
}

/**
 * `count` distinct tokens, dated within the `spreadSeconds` before now (so each stays valid at least
 * 15 min − spread), cycling over the keys, then the second, then X-Amz-Expires.
 */
export async function distinctTokens(keys: readonly Key[], count: number, spreadSeconds = 240, salt = 0): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000) * 1000;
  const out: string[] = [];
  const perExpires = keys.length * (spreadSeconds + 1);
  if (count + salt > perExpires * 901) throw new Error(`at most ${perExpires * 901} distinct tokens with ${keys.length} keys over ${spreadSeconds} s`);
  for (let j = salt; j < salt + count; j++) {
    const key = keys[j % keys.length]!;
    const second = Math.floor(j / keys.length) % (spreadSeconds + 1);
    const expires = Math.floor(j / perExpires);
    out.push(await signToken(key, new Date(now - second * 1000), expires));
  }
  return out;
}

export const reviewBody = (token: string): string => JSON.stringify({ apiVersion: "authentication.k8s.io/v1beta1", kind: "TokenReview", spec: { token } });

export interface StsRig {
  dir: string;
  /** moto_server's process (its CPU time is part of the STS side's) */
  motoPid: number;
  keys: Key[];
  caPath: string;
  verifier: StsVerifier;
  gateway: AwsGateway;
  proxy: ConnectProxy;
  /** the environment both servers reach STS with */
  serverEnv: Record<string, string>;
  mapUsers: UserMapping[];
  mapRoles: RoleMapping[];
  stop(): Promise<void>;
}

export interface StsRigOptions {
  /** IAM users (one access key each) that tokens are signed with; each mapped */
  users: number;
  /** rows of other principals in the mapping, as a real aws-auth has */
  otherRows: number;
  /** see StsVerifierOptions.stateMaxAgeMs (0: moto's state read per request, as the sandbox does) */
  stateMaxAgeMs: number;
}

export async function startStsRig(opts: StsRigOptions): Promise<StsRig> {
  const dir = mkdtempSync(join(tmpdir(), "eks-access-bench-authn-"));
  const stops: Array<() => Promise<void>> = [async () => rmSync(dir, { recursive: true, force: true })];
  const stop = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => {});
  };
  try {
    const moto = await startMoto();
    stops.push(() => moto.stop());
    const iam = new IAMClient({ region: REGION, endpoint: moto.url, credentials: { accessKeyId: "bench-admin", secretAccessKey: "bench-admin" } });
    const keys: Key[] = [];
    for (let i = 0; i < opts.users; i++) {
      const userName = `bench-user-${i}`;
      const user = await iam.send(new CreateUserCommand({ UserName: userName }));
      const key = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
      keys.push({ userName, arn: user.User!.Arn!, accessKeyId: key.AccessKey!.AccessKeyId!, secretAccessKey: key.AccessKey!.SecretAccessKey! });
    }
    iam.destroy();
    const verifier = await startStsVerifier({ motoUrl: moto.url, stateMaxAgeMs: opts.stateMaxAgeMs });
    stops.push(() => verifier.stop());
    const ca = await createTestCa(join(dir, "pki"), { name: "bench-ca" });
    const leaf = await issueLeafCertificate(ca, { name: "aws", dnsNames: sandboxAwsHosts(REGION) });
    const gateway = await startAwsGateway({ tls: { cert: leaf.certPem, key: leaf.keyPem }, verifierUrl: verifier.url, awsUrl: moto.url });
    stops.push(() => gateway.stop());
    const proxy = await startConnectProxy({ routes: Object.fromEntries(sandboxAwsHosts(REGION).map((h) => [`${h}:443`, gateway.port])) });
    stops.push(() => proxy.stop());
    const mapUsers: UserMapping[] = keys.map((k, i) => ({ userarn: k.arn, username: `bench:${k.userName}`, groups: ["bench", `team-${i % 4}`] }));
    const mapRoles: RoleMapping[] = [];
    for (let i = 0; i < opts.otherRows; i++) {
      if (i % 2) mapUsers.unshift({ userarn: `arn:aws:iam::${ACCOUNT}:user/other-${i}`, username: `other-${i}`, groups: ["others"] });
      else mapRoles.push({ rolearn: `arn:aws:iam::${ACCOUNT}:role/other-${i}`, username: `other-${i}:{{SessionName}}`, groups: ["others"] });
    }
    return {
      dir,
      motoPid: moto.pid,
      keys,
      caPath: ca.certPath,
      verifier,
      gateway,
      proxy,
      serverEnv: { HTTPS_PROXY: proxy.url, NO_PROXY: "127.0.0.1,localhost", SSL_CERT_FILE: ca.certPath, AWS_EC2_METADATA_DISABLED: "true" },
      mapUsers,
      mapRoles,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface ServerUnderTest {
  name: string;
  /** https://127.0.0.1:PORT */
  origin: string;
  pid: number;
  /** the serving certificate's CA */
  caPem: string;
  logFile: string;
  stop(): Promise<void>;
}

/** aws-iam-authenticator v0.6.13, pinned to `cpus` from its start (so Go sizes GOMAXPROCS to them). */
export async function startPeer(rig: StsRig, cpus: string): Promise<ServerUnderTest> {
  const peers = await locatePeers({ build: false });
  const dir = join(rig.dir, `peer-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const wrapper = join(dir, "pinned-aws-iam-authenticator");
  writeFileSync(wrapper, `#!/bin/sh\nexec taskset -c ${cpus} ${JSON.stringify(peers.awsIamAuthenticator)} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const a: AwsIamAuthenticator = await startAwsIamAuthenticator({ dir, binary: wrapper, clusterId: CLUSTER_ID, mapUsers: rig.mapUsers, mapRoles: rig.mapRoles, env: rig.serverEnv });
  return { name: "aws-iam-authenticator v0.6.13", origin: `https://127.0.0.1:${a.port}`, pid: a.process.pid, caPem: readFileSync(a.caFile, "utf8"), logFile: a.process.logFile, stop: () => a.stop() };
}

export interface ServeProcess extends ServerUnderTest {
  child: ChildProcess;
}

/**
 * `eks-access serve --config <config file>` (the built CLI, run by node), pinned to `cpus`. Its own
 * limits on STS calls are lifted (the peer has none); `more.args` are added to its flags, `more.nodeArgs`
 * to node's (e.g. --cpu-prof).
 */
export async function startServe(rig: StsRig, cpus: string, more: { args?: string[]; nodeArgs?: string[] } = {}): Promise<ServeProcess> {
  const dir = join(rig.dir, `serve-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const config = join(dir, "authenticator.yaml");
  writeFileSync(config, authenticatorConfig({ dir, clusterId: CLUSTER_ID, mapUsers: rig.mapUsers, mapRoles: rig.mapRoles }, port, join(dir, "state"), join(dir, "webhook.kubeconfig")));
  const logFile = join(dir, "serve.log");
  const fd = openSync(logFile, "a");
  const args = [
    "-c", cpus, process.execPath, ...(more.nodeArgs ?? []), join(root, "dist", "main.cjs"), "serve",
    "--config", config, "--port", String(port),
    "--sts-limit-per-principal", "1000000,1000000", "--sts-limit-global", "1000000,1000000", "--sts-max-concurrent", "4096",
    ...(more.args ?? []),
  ];
  const child = spawn("taskset", args, { env: { PATH: process.env["PATH"] ?? "", HOME: dir, ...rig.serverEnv }, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const caPath = join(dir, "state", "cert.pem");
  const ready = await poll(async () => {
    if (child.exitCode !== null) return "exited";
    return (await requestText(`https://127.0.0.1:${port}/readyz`, { ca: readFileSync(caPath, "utf8") })).status === 200 ? "ready" : "waiting";
  }, (s) => s !== "waiting", 300);
  if (!ready.held || ready.value !== "ready") {
    child.kill("SIGKILL");
    throw new Error(`eks-access serve did not become ready: ${readFileSync(logFile, "utf8").slice(-2000)}`);
  }
  return {
    name: "eks-access serve",
    origin: `https://127.0.0.1:${port}`,
    pid: child.pid!,
    caPem: readFileSync(caPath, "utf8"),
    logFile,
    child,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 25_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** The config file both servers read, for the report. */
export const configSummary = (rig: StsRig): string => `${rig.mapUsers.length} mapUsers + ${rig.mapRoles.length} mapRoles rows (${rig.keys.length} of them the bench's users)`;
