/**
 * `sandbox up|down|env|demo`: a background daemon owns the sandbox's processes (so they outlive
 * `up` and die with `down`); the other subcommands read its state file.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { EksAccessError } from "../../core/errors.js";
import { clearState, defaultSandboxDir, isAlive, isSandboxDaemon, logFile, readState, runningSandbox, writeState } from "../../sandbox/state.js";
import type { SandboxState } from "../../sandbox/sandbox.js";
import { poll } from "../../sandbox/emulator/net.js";
import type { AuthenticationMode } from "../../sandbox/emulator/access-entries.js";
import type { AuthenticatorKind } from "../../sandbox/cluster/authenticator.js";

export interface SandboxArgs {
  dir?: string | undefined;
  keep?: boolean | undefined;
  unset?: boolean | undefined;
  "auth-mode"?: string | undefined;
  /** eks-access (default) or aws-iam-authenticator */
  authenticator?: string | undefined;
}

/** A running sandbox asked for by another --authenticator than it runs: refused (it would not be what was asked for). */
function checkAuthenticator(running: SandboxState, a: SandboxArgs, dir: string): void {
  if (a.authenticator !== undefined && a.authenticator !== running.authenticator) {
    throw new EksAccessError("config", `the sandbox running in ${dir} authenticates with ${running.authenticator}, not ${a.authenticator}`, { hint: "stop it first: eks-access sandbox down" });
  }
}

const dirOf = (a: SandboxArgs): string => resolve(a.dir ?? defaultSandboxDir());
/** bin/eks-access (what kubectl and the daemon run) */
const cliScript = (): string => resolve(process.argv[1] ?? "eks-access");
const binDir = (): string => dirname(cliScript());

const say = (line: string): void => void process.stderr.write(`${line}\n`);

/**
 * Polls (bounded) until `probe` answers: a readiness wait, not a timing assertion. An error the probe
 * throws ends the wait at once and is thrown (poll itself would retry it).
 */
async function until<T>(probe: () => T | undefined, attempts: number, delayMs: number): Promise<T | undefined> {
  let failed: { error: unknown } | undefined;
  const guarded = (): T | undefined => {
    try {
      return probe();
    } catch (error) {
      failed = { error };
      return undefined;
    }
  };
  const r = await poll(guarded, (v) => v !== undefined || failed !== undefined, attempts, delayMs);
  if (failed) throw failed.error;
  return r.held ? r.value : undefined;
}

export async function sandboxUp(a: SandboxArgs): Promise<string> {
  const dir = dirOf(a);
  const running = runningSandbox(dir);
  if (running) {
    checkAuthenticator(running, a, dir);
    return `sandbox already running (pid ${running.pid}, cluster ${running.clusterName}, authenticator ${running.authenticator}) in ${dir}\n`;
  }
  const stale = readState(dir);
  if (stale) say(`removing the state file of a sandbox that is no longer running (pid ${stale.pid} is not its daemon)`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  clearState(dir);
  const log = openSync(logFile(dir), "w", 0o600);
  const mode = a["auth-mode"] ? ["--auth-mode", a["auth-mode"]] : [];
  const authenticator = a.authenticator ? ["--authenticator", a.authenticator] : [];
  const child = spawn(process.execPath, [cliScript(), "sandbox", "daemon", "--dir", dir, ...mode, ...authenticator], { detached: true, stdio: ["ignore", log, log], env: process.env });
  closeSync(log);
  child.unref();
  const pid = child.pid!;
  say(`starting the sandbox in ${dir} (log: ${logFile(dir)})`);
  let shown = 0;
  const progress = (): void => {
    const text = existsSync(logFile(dir)) ? readFileSync(logFile(dir), "utf8") : "";
    const lines = text.split("\n").slice(0, -1);
    for (const l of lines.slice(shown)) say(`  ${l}`);
    shown = lines.length;
  };
  // first start may build the Kubernetes peers from source: allow up to 40 minutes
  const state = await until(
    () => {
      progress();
      const s = readState(dir);
      if (s?.ready) return s;
      if (!isAlive(pid)) throw daemonFailure(dir);
      return undefined;
    },
    40 * 60 * 4,
    250,
  );
  if (!state) throw new EksAccessError("internal", "the sandbox did not start", { hint: `see ${logFile(dir)}` });
  return `sandbox up in ${(state.startupMs / 1000).toFixed(1)}s: cluster ${state.clusterName} (${state.apiServer}), account ${state.accountId}, region ${state.region}, authenticator ${state.authenticator}\nnext: eval "$(${cliScript()} sandbox env${a.dir ? ` --dir ${dir}` : ""})"\n`;
}

/** The daemon's own one-line error (it logs through the same reportError), as the `up` error. */
function daemonFailure(dir: string): EksAccessError {
  const log = existsSync(logFile(dir)) ? readFileSync(logFile(dir), "utf8") : "";
  const last = log.split("\n").filter((l) => l.startsWith("eks-access: ")).pop();
  const reason = last ? last.replace(/^eks-access: (internal )?error: /, "") : "the sandbox daemon exited during start-up";
  return new EksAccessError("config", `sandbox did not start: ${reason}`, { hint: `full log: ${logFile(dir)}` });
}

export async function sandboxDaemon(a: SandboxArgs): Promise<string> {
  const dir = dirOf(a);
  const { startSandbox } = await import("../../sandbox/sandbox.js");
  const sandbox = await startSandbox({
    dir,
    cli: cliScript(),
    authMode: a["auth-mode"] as AuthenticationMode | undefined,
    authenticator: a.authenticator as AuthenticatorKind | undefined,
    log: (l) => process.stdout.write(`${l}\n`),
  });
  writeState(dir, sandbox.state);
  process.stdout.write(`ready: cluster ${sandbox.state.clusterName} at ${sandbox.state.apiServer}\n`);
  await new Promise<void>((resolveStop) => {
    for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.once(sig, () => resolveStop());
  });
  process.stdout.write("stopping\n");
  await sandbox.stop();
  clearState(dir);
  process.stdout.write("stopped\n");
  return "";
}

export async function sandboxDown(a: SandboxArgs): Promise<string> {
  const dir = dirOf(a);
  const s = readState(dir);
  if (!s) {
    clearState(dir);
    return `no sandbox running in ${dir}\n`;
  }
  if (!isSandboxDaemon(s, dir)) {
    // a crash or reboot left the file; its PID may now belong to anything: never signal it
    clearState(dir);
    return `no sandbox running in ${dir} (removed a stale state file: pid ${s.pid} is not the sandbox daemon)\n`;
  }
  process.kill(s.pid, "SIGTERM");
  const gone = await until(() => (isAlive(s.pid) ? undefined : true), 600, 100);
  if (!gone) throw new EksAccessError("internal", `the sandbox daemon (pid ${s.pid}) did not stop`, { hint: `kill it: kill ${s.pid}` });
  clearState(dir);
  return `sandbox stopped (${dir})\n`;
}

function requireRunning(dir: string): SandboxState {
  const s = runningSandbox(dir);
  if (!s) throw new EksAccessError("not-found", `no sandbox is running in ${dir}`, { hint: "start it: eks-access sandbox up" });
  return s;
}


export async function sandboxEnv(a: SandboxArgs): Promise<string> {
  const { sandboxEnvScript, sandboxRestoreScript } = await import("../../sandbox/shell-env.js");
  if (a.unset) return sandboxRestoreScript(binDir());
  const s = requireRunning(dirOf(a));
  return sandboxEnvScript(s, binDir(), process.env);
}

export async function sandboxDemo(a: SandboxArgs): Promise<string> {
  const dir = dirOf(a);
  let started = false;
  const running = runningSandbox(dir);
  if (running) checkAuthenticator(running, a, dir);
  else {
    say((await sandboxUp(a)).trim());
    started = true;
  }
  const state = requireRunning(dir);
  const { runDemo } = await import("../../sandbox/demo.js");
  try {
    await runDemo(state, { binDir: binDir(), cli: cliScript(), print: (l) => process.stdout.write(`${l}\n`), switchToApi: started });
  } finally {
    if (started && !a.keep) say((await sandboxDown(a)).trim());
  }
  return started && !a.keep ? "(the sandbox was stopped again; keep it running with: eks-access sandbox demo --keep)\n" : "";
}
