/** A shell that evaluated `sandbox env`, for the end-to-end tests. */
import assert from "node:assert/strict";
import { runAsync, type Env } from "../helpers.js";

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

