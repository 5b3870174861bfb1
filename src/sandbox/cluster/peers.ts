/**
 * The real Kubernetes test peers (kube-apiserver, etcd, aws-iam-authenticator): where their binaries
 * are (built by tools/peers/build.sh from their Go modules) and how their processes are run so that
 * none outlives the Node process that started it.
 */
import { spawn } from "node:child_process";
import { accessSync, constants as fsc, existsSync, openSync, closeSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { waitFor } from "../emulator/net.js";

export interface Peers {
  binDir: string;
  kubeApiserver: string;
  etcd: string;
  awsIamAuthenticator: string;
}

export interface LocatePeersOptions {
  /**
   * true (default): run the build script, which builds what is missing (minutes) or answers the
   * cached bin directory at once. false: only look for already built binaries, never run Go.
   */
  build?: boolean;
  /** Receives the build script's progress lines (its stderr). */
  log?: (line: string) => void;
  /** Path of the build script; default `<repo>/tools/peers/build.sh` found from this module's location. */
  script?: string;
  /** Environment for the script and the overrides below; default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** Overrides the whole look-up: a directory holding kube-apiserver, etcd and aws-iam-authenticator. */
export const PEERS_BIN_ENV = "EKS_ACCESS_PEERS_BIN";
const BUILD_SCRIPT = join("tools", "peers", "build.sh");

/** Finds (and by default builds) the peer binaries; answers absolute paths. */
export async function locatePeers(opts: LocatePeersOptions = {}): Promise<Peers> {
  const env = opts.env ?? process.env;
  const override = env[PEERS_BIN_ENV];
  if (override) return peersIn(resolve(override), `${PEERS_BIN_ENV}=${override}`);
  const script = opts.script ?? findBuildScript();
  if (opts.build === false) return peersIn(await cachedBinDir(script, env), `the cache of ${script} (build: false)`);
  const binDir = await withBuildLock(env, () => runBuildScript(script, env, opts.log ?? (() => {})));
  return peersIn(binDir, script);
}

function peersIn(binDir: string, source: string): Peers {
  const peers: Peers = {
    binDir,
    kubeApiserver: join(binDir, "kube-apiserver"),
    etcd: join(binDir, "etcd"),
    awsIamAuthenticator: join(binDir, "aws-iam-authenticator"),
  };
  const missing = [peers.kubeApiserver, peers.etcd, peers.awsIamAuthenticator].filter((f) => !isExecutable(f));
  if (missing.length > 0) {
    throw new Error(`peer binaries missing in ${binDir} (from ${source}): ${missing.join(", ")}; build them with tools/peers/build.sh`);
  }
  return peers;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsc.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Walks up from this module (src/sandbox/cluster/ or a bundle in dist/) to the directory holding tools/peers/build.sh. */
export function findBuildScript(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, BUILD_SCRIPT);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) {
      throw new Error(`${BUILD_SCRIPT} not found above ${from}; set ${PEERS_BIN_ENV} to a directory with the peer binaries`);
    }
  }
}

/** The bin directory the script would answer, computed from its pinned versions without running it. */
async function cachedBinDir(script: string, env: NodeJS.ProcessEnv): Promise<string> {
  const text = await readFile(script, "utf8");
  const pinned = (name: string): string => {
    const m = new RegExp(`${name}="\\$\\{${name}:-([^}]+)\\}"`).exec(text);
    if (!m?.[1]) throw new Error(`cannot read the pinned ${name} from ${script}`);
    return env[name] ?? m[1];
  };
  const tag = `k8s-${pinned("K8S_VERSION")}_etcd-${pinned("ETCD_VERSION")}_aia-${pinned("AUTHENTICATOR_VERSION")}`;
  return join(env.EKS_ACCESS_PEERS_DIR ?? join(cacheRoot(env), "peers", tag), "bin");
}

function cacheRoot(env: NodeJS.ProcessEnv): string {
  return env.EKS_ACCESS_CACHE_ROOT ?? join(env.HOME ?? homedir(), ".cache", "eks-access");
}

async function runBuildScript(script: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<string> {
  const command = `bash ${script}`;
  const child = spawn("bash", [script], { env, stdio: ["ignore", "pipe", "pipe"] });
  const stderrTail: string[] = [];
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  createInterface({ input: child.stderr }).on("line", (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 40) stderrTail.shift();
    log(line);
  });
  const code = await new Promise<number | null>((res, rej) => {
    child.on("error", (err) => rej(new Error(`${command} could not start: ${err.message}`)));
    child.on("close", (c) => res(c));
  });
  const binDir = stdout.trim().split("\n").pop()?.trim() ?? "";
  if (code !== 0 || !isAbsolute(binDir)) {
    throw new Error(`${command} failed (exit ${code}); last output:\n${stderrTail.join("\n")}`);
  }
  return binDir;
}

/**
 * Serialises builds between Node processes (test files run in parallel) with a lock directory
 * holding the owner's pid; a lock whose owner is gone is taken over.
 */
async function withBuildLock<T>(env: NodeJS.ProcessEnv, fn: () => Promise<T>): Promise<T> {
  const lock = join(cacheRoot(env), "peers", ".build.lock");
  await mkdir(dirname(lock), { recursive: true });
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number(await readFile(join(lock, "pid"), "utf8").catch(() => "0"));
      if (owner > 0 && !isAlive(owner)) await rm(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    await writeFile(join(lock, "pid"), String(process.pid));
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

// ---------------------------------------------------------------------------------------------
// Peer processes

export interface PeerProcess {
  readonly name: string;
  /** pid of the peer, also its process-group id. */
  readonly pid: number;
  readonly logFile: string;
  /** Set once the peer has exited. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** The last `lines` lines of the peer's log (stdout and stderr). */
  tail(lines?: number): Promise<string>;
  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves when nothing of the group is left. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnPeerOptions {
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * The peer runs in its own process group next to a watchdog (a shell loop) that SIGKILLs the group
 * within a second once this Node process is gone — even when Node itself was SIGKILLed. A normal
 * exit of Node SIGKILLs every live group synchronously as well.
 */
const WATCHDOG = `parent=$1; shift
( while kill -0 "$parent" 2>/dev/null; do sleep 1; done; kill -KILL 0 ) </dev/null &
exec "$@"`;

const live = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pgid of live) killGroup(pgid, "SIGKILL");
  });
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone
  }
}

/** Starts `command args` as a supervised peer, its output appended to `opts.logFile`. */
export async function spawnPeer(name: string, command: string, args: string[], opts: SpawnPeerOptions): Promise<PeerProcess> {
  await mkdir(dirname(opts.logFile), { recursive: true });
  const fd = openSync(opts.logFile, "a");
  let child;
  try {
    child = spawn("/bin/sh", ["-c", WATCHDOG, name, String(process.pid), command, ...args], {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name} (${command}) could not be started`);
  installExitHook();
  live.add(pid);
  const exited = new Promise<void>((res) =>
    child.on("exit", (code, signal) => {
      peer.exit = { code, signal };
      res();
    }),
  );
  child.on("error", () => {}); // spawn errors surface as an exit of /bin/sh
  const peer: PeerProcess = {
    name,
    pid,
    logFile: opts.logFile,
    exit: undefined,
    tail: (lines = 30) => tailFile(opts.logFile, lines),
    stop: (graceMs = 10_000) => (stopping ??= stopGroup(pid, graceMs, peer, exited)),
  };
  let stopping: Promise<void> | undefined;
  return peer;
}

async function stopGroup(pid: number, graceMs: number, peer: PeerProcess, exited: Promise<void>): Promise<void> {
  if (!peer.exit) {
    killGroup(pid, "SIGTERM");
    const timer = setTimeout(() => killGroup(pid, "SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }
  killGroup(pid, "SIGKILL"); // the watchdog and anything else left in the group
  await waitGroupGone(pid);
  live.delete(pid);
}

async function waitGroupGone(pgid: number): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if ((await liveGroupMembers(pgid)).length === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`process group ${pgid} survived SIGKILL: ${(await liveGroupMembers(pgid)).join(", ")}`);
}

/** pids of the group's processes that are not zombies (a zombie waits for a reaper, it runs nothing). */
export async function liveGroupMembers(pgid: number): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return isGroupSignalable(pgid) ? [pgid] : [];
  }
  const members: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // pid (comm) state ppid pgrp ...; comm may contain spaces, so parse after the last ')'
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") members.push(Number(entry));
  }
  return members;
}

function isGroupSignalable(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function tailFile(file: string, lines: number): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Polls `probe` (via waitFor, `attempts` × 100 ms) until it holds; stops early, with the peer's log, when the peer exits. */
export async function waitPeerReady(peer: PeerProcess, what: string, probe: () => Promise<boolean>, attempts: number): Promise<void> {
  try {
    await waitFor(what, async () => peer.exit !== undefined || (await probe()), attempts);
  } catch (err) {
    throw await peerStartError(peer, (err as Error).message);
  }
  if (peer.exit) throw await peerStartError(peer, `exited before ${what} was ready`);
}

/** An error for a peer that failed to start, with the end of its log. */
export async function peerStartError(peer: PeerProcess, reason: string): Promise<Error> {
  const status = peer.exit ? ` (exited: code ${peer.exit.code}, signal ${peer.exit.signal})` : "";
  return new Error(`${peer.name} ${reason}${status}; log ${peer.logFile} ends with:\n${await peer.tail(30)}`);
}
