/** The sandbox's state file and process bookkeeping (one directory holds everything). */
import { readFileSync, rmSync, writeFileSync, renameSync } from "node:fs";
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

/** The running sandbox in `dir`, or undefined (a stale state file of a dead daemon counts as none). */
export function runningSandbox(dir: string): SandboxState | undefined {
  const s = readState(dir);
  return s && s.ready && isAlive(s.pid) ? s : undefined;
}
