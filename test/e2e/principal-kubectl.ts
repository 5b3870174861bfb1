/** kubectl as a mapped principal, for the end-to-end tests: who the cluster says it is, and bounded waits for a change to reach the authenticator. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { run, type Env, type RunResult } from "../helpers.js";
import { poll } from "../../src/sandbox/emulator/net.js";

export type Who = { username?: string; groups?: string[]; denied?: string };

/** kubectl as the principal of AWS profile `profile` (kubeconfig `dir`/kc-<profile>), without the token cache: every call re-authenticates. */
export const kubectlAs = (dir: string, env: Env, profile: string, args: string[]): RunResult => run("kubectl", ["--kubeconfig", join(dir, `kc-${profile}`), ...args], { env: { ...env, EKS_ACCESS_NO_CACHE: "1" } });

/** `kubectl auth whoami -o json`'s user, or why it was refused. */
export function whoamiOf(r: RunResult): Who {
  if (r.status !== 0) return { denied: r.stderr.trim() };
  const u = JSON.parse(r.stdout).status.userInfo;
  return { username: u.username, groups: u.groups };
}

/** Polls (bounded: 120 × 250 ms) until `probe` holds: a change reaches the authenticator by a file reload or watch. */
export async function eventually<T>(what: string, probe: () => T, holds: (v: T) => boolean): Promise<T> {
  const r = await poll(probe, holds, 120, 250);
  if (r.held) return r.value;
  assert.fail(`${what}: last answer ${JSON.stringify(r.last)}`);
}
