/**
 * The README's first command on a fresh state directory: `sandbox demo` starts its own sandbox,
 * runs seed 001 through aws-auth, then access entries with an EKS access policy scoped to a
 * namespace, a Kubernetes group bound by RBAC, and the one-way switch to API that leaves the
 * aws-auth-only identity Unauthorized; then stops everything again.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { baseEnv, runCli, tempDir } from "../helpers.js";
import { AUTHENTICATOR_ARGS, TEST_AUTHENTICATOR } from "./sandbox-up.js";

test("sandbox demo from nothing: seed 001, access entries and policies, the switch to API, and nothing left running", () => {
  const t = tempDir("eks-access-demo-");
  try {
    const dir = join(t.path, "sandbox");
    const r = runCli(["sandbox", "demo", "--dir", dir, ...AUTHENTICATOR_ARGS], { env: baseEnv({ HOME: t.path, EKS_ACCESS_PEERS_BIN: process.env["EKS_ACCESS_PEERS_BIN"] }) });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const out = r.stdout;
    assert.match(out, new RegExp(`^Seed 001 on the sandbox: .*, authenticator ${TEST_AUTHENTICATOR}\\)\n`), "the demo's sandbox runs the authenticator this run tests");
    assert.match(out, /\[7\/7\].*\n {6}Username admin:ASIA[A-Z0-9]+:kubedemy\n {6}Groups {3}system:masters, system:authenticated\n/);
    assert.match(out, /Access entries \(the cluster's authentication mode is API_AND_CONFIG_MAP/);
    assert.match(out, /kubectl auth whoami {15}→ {2}arn:aws:sts::123456789012:assumed-role\/TeamAViewer\/kubedemy /);
    assert.match(out, /kubectl get pods -n team-a {8}→ {2}allowed/);
    assert.match(out, /kubectl get pods -n default {7}→ {2}Error from server \(Forbidden\): pods is forbidden: .* in the namespace "default"\n/);
    assert.match(out, /kubectl delete pod web -n team-a {2}→ {2}Error from server \(Forbidden\): pods "web" is forbidden/);
    assert.match(out, /→ {2}team-b-editor:kubedemy, groups team-b-editors, system:authenticated\n/);
    assert.match(out, /kubectl create configmap -n team-b → {2}configmap\/settings created\n/);
    assert.match(out, /\[4\/4\] The aws-auth-only identity .*→ {2}error: You must be logged in to the server \(Unauthorized\)\n/);
    assert.match(out, /while the access entries still work: .* → {2}allowed\n/);
    assert.match(r.stderr, /sandbox stopped/);
    assert.equal(existsSync(join(dir, "state.json")), false, "the demo's own sandbox was stopped");
  } finally {
    runCli(["sandbox", "down", "--dir", join(t.path, "sandbox")], { env: baseEnv() });
    t.cleanup();
  }
});
