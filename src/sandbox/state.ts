/** The sandbox's state file and process bookkeeping (one directory holds everything). */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync, renameSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { SandboxState } from "./sandbox.js";

export const defaultSandboxDir = (env: Readonly<Record<string, string | undefined>> = process.env): string =>
  env["EKS_ACCESS_SANDBOX_DIR"] || join(env["HOME"] || homedir(), ".cache", "eks-access", "sandbox");

export const stateFile = (dir: string): string => join(dir, "state.json");
export const logFile = (dir: string): string => join(dir, "sandbox.log");

export function readState(dir: string): SandboxState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(dir), "utf8")) as SandboxState;
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

/**
 * What tells a process apart from a later one that got the same PID (after a crash or a reboot):
 * its start time (field 22 of /proc/<pid>/stat, clock ticks since boot) and its command line.
 * Where there is no /proc (macOS), `ps -o lstart=,args=` gives the same two facts.
 */
export interface ProcessIdentity {
  startTime: string;
  cmdline: string[];
}

export function processIdentity(pid: number): ProcessIdentity | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (existsSync("/proc/self/stat")) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const startTime = fields[22 - 3];
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a, i, all) => a !== "" || i < all.length - 1);
      return startTime === undefined ? undefined : { startTime, cmdline };
    } catch {
      return undefined;
    }
  }
  try {
    const line = execFileSync("ps", ["-o", "lstart=,args=", "-p", String(pid)], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const m = /^(\S+\s+\S+\s+\d+\s+[\d:]+\s+\d+)\s+(.*)$/.exec(line);
    return m ? { startTime: m[1]!, cmdline: m[2]!.split(" ") } : undefined;
  } catch {
    return undefined;
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
