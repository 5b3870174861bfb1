/**
 * How every end-to-end test starts its sandbox, so that one switch runs them all with either
 * authenticator: EKS_ACCESS_TEST_AUTHENTICATOR=eks-access (the default, as `sandbox up`) or
 * aws-iam-authenticator (the reference peer). package.json's `test` script runs the files that use
 * this helper once per authenticator. A test of a detail only one of them has starts that one by
 * name instead (and says why).
 */
import assert from "node:assert/strict";
import { AUTHENTICATORS, type AuthenticatorKind } from "../../src/sandbox/cluster/authenticator.js";
import { runCli, type Env, type RunResult } from "../helpers.js";

function fromEnvironment(): AuthenticatorKind {
  const v = process.env["EKS_ACCESS_TEST_AUTHENTICATOR"] || "eks-access";
  if (!(AUTHENTICATORS as readonly string[]).includes(v)) throw new Error(`EKS_ACCESS_TEST_AUTHENTICATOR=${v}: use one of ${AUTHENTICATORS.join(", ")}`);
  return v as AuthenticatorKind;
}

/** The authenticator this run's sandboxes use. */
export const TEST_AUTHENTICATOR: AuthenticatorKind = fromEnvironment();

/** `--authenticator <TEST_AUTHENTICATOR>`, for `sandbox up` and `sandbox demo` command lines. */
export const AUTHENTICATOR_ARGS: readonly string[] = ["--authenticator", TEST_AUTHENTICATOR];

/**
 * `eks-access sandbox up --dir DIR --authenticator <TEST_AUTHENTICATOR> ...args`; asserts it started
 * and that the sandbox runs that authenticator.
 */
export function sandboxUp(dir: string, env: Env, args: readonly string[] = []): RunResult {
  const up = runCli(["sandbox", "up", "--dir", dir, ...AUTHENTICATOR_ARGS, ...args], { env });
  assert.equal(up.status, 0, up.stderr);
  assert.match(up.stdout, new RegExp(`, authenticator ${TEST_AUTHENTICATOR}\\n`), "the sandbox runs the authenticator this run tests");
  return up;
}
