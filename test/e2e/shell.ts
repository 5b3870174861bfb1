/** A shell that evaluated `sandbox env`, for the end-to-end tests. */
import { sandboxUp } from "./sandbox-up.js";
import assert from "node:assert/strict";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { baseEnv, run, runAsync, runCli, tempDir, type Env } from "../helpers.js";
import { poll } from "../../src/sandbox/emulator/net.js";

/**
 * The environment a shell has after evaluating `code` (bash, as the user's shell). Stdin is not a
 * pipe: bash reads ~/.bashrc when its stdin is a socket (node's pipes are), as if run by rshd.
 */
export async function evalInShell(code: string, start: Env): Promise<Env> {
  const r = await runAsync("bash", ["-c", 'eval "$1"; env -0', "bash", code], start);
  assert.equal(r.status, 0, r.stderr);
  const out: Env = {};
  for (const entry of r.stdout.split("\0").filter(Boolean)) {
    const i = entry.indexOf("=");
    out[entry.slice(0, i)] = entry.slice(i + 1);
  }
  for (const k of ["PWD", "SHLVL", "_", "OLDPWD"]) delete out[k];
  return out;
}


/**
 * A sandbox of one test file's own: started with HOME in a new temporary directory (the sandbox
 * lives there too), the environment a shell has after `eval "$(eks-access sandbox env)"`, and the
 * kubeconfig that environment points at written as its user would (`kubeconfig add --name sandbox`,
 * as the sandbox admin, the cluster's creator). `stop()` takes it all down.
 */
export async function startSandbox(prefix: string, authMode: "CONFIG_MAP" | "API_AND_CONFIG_MAP" | "API"): Promise<{ dir: string; env: Env; stop(): void }> {
  const t = tempDir(prefix);
  const userEnv = baseEnv({ HOME: t.path, EKS_ACCESS_PEERS_BIN: process.env["EKS_ACCESS_PEERS_BIN"] });
  const stop = (): void => {
    runCli(["sandbox", "down", "--dir", t.path], { env: baseEnv() });
    t.cleanup();
  };
  try {
    sandboxUp(t.path, userEnv, ["--auth-mode", authMode]);
  } catch (err) {
    stop();
    throw err;
  }
  const env = await evalInShell(runCli(["sandbox", "env", "--dir", t.path], { env: userEnv }).stdout, userEnv);
  const kc = runCli(["kubeconfig", "add", "--name", "sandbox"], { env });
  assert.equal(kc.status, 0, kc.stderr);
  return { dir: t.path, env, stop };
}

/**
 * An AWS profile that assumes `roleArn` (as the sandbox admin) with session name `session`, and a
 * kubeconfig `<dir>/kc-<name>` whose user gets its tokens as that profile (the cluster looked up as
 * the sandbox admin: a role may not be allowed to).
 */
export function roleProfile(s: { dir: string; env: Env }, name: string, roleArn: string, session: string): void {
  appendFileSync(s.env["AWS_CONFIG_FILE"]!, `[profile ${name}]\nrole_arn = ${roleArn}\nsource_profile = sandbox-admin\nrole_session_name = ${session}\nregion = us-west-2\n`);
  const r = runCli(["kubeconfig", "add", "--name", "sandbox", "--profile", "sandbox-admin", "--exec-profile", name, "--alias", name, "--kubeconfig", join(s.dir, `kc-${name}`)], { env: s.env });
  assert.equal(r.status, 0, r.stderr);
}

/** `kubectl auth whoami` as a roleProfile (a fresh token each time): who the cluster says it is, or why not. */
export function whoamiAs(s: { dir: string; env: Env }, name: string): { username?: string; groups?: string[]; denied?: string } {
  const r = run("kubectl", ["--kubeconfig", join(s.dir, `kc-${name}`), "auth", "whoami", "-o", "json"], { env: { ...s.env, EKS_ACCESS_NO_CACHE: "1" } });
  if (r.status !== 0) return { denied: r.stderr.trim() };
  const u = JSON.parse(r.stdout).status.userInfo;
  return { username: u.username, groups: u.groups };
}

/** Polls `probe` (bounded: the authenticator reloads files and watches) until `holds`; fails with the last answer. */
export async function eventually<T>(what: string, probe: () => T, holds: (v: T) => boolean): Promise<T> {
  const r = await poll(probe, holds, 120, 250);
  if (r.held) return r.value;
  assert.fail(`${what}: last answer ${JSON.stringify(r.last)}`);
}

