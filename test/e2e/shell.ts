/** A shell that evaluated `sandbox env`, for the end-to-end tests. */
import assert from "node:assert/strict";
import { baseEnv, run, runAsync, runCli, tempDir, type Env } from "../helpers.js";

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


/** A sandbox (`sandbox up --auth-mode mode`) with its state and HOME in a fresh temp dir, and the environment of a shell that evaluated its `sandbox env`. */
export async function sandboxShell(prefix: string, mode: "CONFIG_MAP" | "API_AND_CONFIG_MAP" | "API"): Promise<{ dir: string; env: Env; cleanup(): void }> {
  const t = tempDir(prefix);
  const userEnv = baseEnv({ HOME: t.path, EKS_ACCESS_PEERS_BIN: process.env["EKS_ACCESS_PEERS_BIN"] });
  const up = runCli(["sandbox", "up", "--dir", t.path, "--auth-mode", mode], { env: userEnv });
  assert.equal(up.status, 0, up.stderr);
  return { dir: t.path, cleanup: t.cleanup, env: await evalInShell(runCli(["sandbox", "env", "--dir", t.path], { env: userEnv }).stdout, userEnv) };
}

/** The AWS CLI's JSON answer (it must succeed). */
export function awsJson(env: Env, args: string[]): any {
  const r = run("aws", [...args, "--output", "json"], { env });
  assert.equal(r.status, 0, `aws ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : {};
}
