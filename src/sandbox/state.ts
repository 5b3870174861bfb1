/** The sandbox's state file and process bookkeeping (one directory holds everything). */
import { readFileSync, rmSync, writeFileSync, renameSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { SandboxState } from "./sandbox.js";
import { processIdentity, type ProcessIdentity } from "./process-identity.js";

export { processIdentity, type ProcessIdentity };

export const defaultSandboxDir = (env: Readonly<Record<string, string | undefined>> = process.env): string =>
  env["EKS_ACCESS_SANDBOX_DIR"] || join(env["HOME"] || homedir(), ".cache", "eks-access", "sandbox");

export const stateFile = (dir: string): string => join(dir, "state.json");
export const logFile = (dir: string): string => join(dir, "sandbox.log");

export function readState(dir: string): SandboxState | undefined {
  try {
    const state = JSON.parse(readFileSync(stateFile(dir), "utf8")) as Omit<SandboxState, "authenticator"> & Partial<Pick<SandboxState, "authenticator">>;
    // state files of versions before the authenticator switch name none: they ran the peer
    return { ...state, authenticator: state.authenticator ?? "aws-iam-authenticator" };
  } catch {
    return undefined;
  }
}

export function writeState(dir: string, state: SandboxState): void {
  const tmp = `${stateFile(dir)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(tmp, stateFile(dir));
}

export function clearState(dir: string): void {
  rmSync(stateFile(dir), { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

const sameIdentity = (a: ProcessIdentity, b: ProcessIdentity): boolean =>
  a.startTime === b.startTime && a.cmdline.length === b.cmdline.length && a.cmdline.every((arg, i) => arg === b.cmdline[i]);

/**
 * Whether the state's PID is still the daemon that wrote it: alive, same start time and command
 * line as recorded. A state file without that record (an older version wrote it) is trusted only
 * if the process's command line is `... sandbox daemon --dir <dir>`.
 */
export function isSandboxDaemon(state: Pick<SandboxState, "pid" | "daemon">, dir: string): boolean {
  if (!isAlive(state.pid)) return false;
  const now = processIdentity(state.pid);
  if (now === undefined) return false;
  if (state.daemon !== undefined) return sameIdentity(state.daemon, now);
  const args = now.cmdline;
  const at = args.indexOf("daemon");
  return at > 0 && args[at - 1] === "sandbox" && args.includes(dir);
}

/** The running sandbox in `dir`, or undefined (a state file of a dead daemon, or of a PID now reused, counts as none). */
export function runningSandbox(dir: string): SandboxState | undefined {
  const s = readState(dir);
  return s && s.ready && isSandboxDaemon(s, dir) ? s : undefined;
}
