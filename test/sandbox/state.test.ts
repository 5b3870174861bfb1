/**
 * PID reuse: a state file left by a crash or a reboot names a PID that may now be any process.
 * `sandbox down` / `env` must recognise it (start time and command line recorded by the daemon)
 * and never signal it. (`sandbox up` over such a file: test/e2e/sandbox.test.ts.)
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isSandboxDaemon, processIdentity, readState, runningSandbox } from "../../src/sandbox/state.js";
import { baseEnv, cliPath, runCli, tempDir } from "../helpers.js";

/** A state file as a daemon writes it, naming `pid` with the given identity. */
function plantState(dir: string, pid: number, daemon: unknown): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const state = {
    version: 1, pid, daemon, ready: true, dir, region: "us-west-2", clusterName: "sandbox",
    clusterArn: "arn:aws:eks:us-west-2:123456789012:cluster/sandbox", accountId: "123456789012",
    proxyUrl: "http://127.0.0.1:9", caFile: join(dir, "ca.pem"), motoUrl: "http://127.0.0.1:9",
    apiServer: "https://127.0.0.1:9", adminKubeconfig: join(dir, "admin"), authenticatorUrl: "https://127.0.0.1:9/authenticate",
    authenticatorCaFile: join(dir, "ca.pem"), awsConfigFile: join(dir, "config"), awsCredentialsFile: join(dir, "credentials"),
    kubeconfig: join(dir, "kubeconfig"), adminUserArn: "arn:aws:iam::123456789012:user/sandbox-admin",
    startedAt: "2026-01-01T00:00:00.000Z", startupMs: 1,
  };
  writeFileSync(join(dir, "state.json"), JSON.stringify(state), { mode: 0o600 });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("sandbox state: a PID is trusted only while it is the daemon that wrote it", () => {
  let unrelated: ChildProcess;
  let t: { path: string; cleanup(): void };

  before(() => {
    t = tempDir("eks-access-state-");
    unrelated = spawn("sleep", ["300"], { stdio: "ignore" }); // stands in for whatever got the PID
  });

  after(() => {
    unrelated?.kill("SIGKILL");
    t?.cleanup();
  });

  it("processIdentity reads the start time (/proc/<pid>/stat field 22) and the command line", () => {
    const me = processIdentity(process.pid);
    assert.ok(me, "readable for our own process");
    assert.match(me.startTime, /^\d+$/);
    assert.deepEqual(processIdentity(unrelated.pid!)?.cmdline, ["sleep", "300"]);
    assert.notEqual(processIdentity(unrelated.pid!)?.startTime, undefined);
    assert.equal(processIdentity(0), undefined);
  });

  it("isSandboxDaemon: same PID with another start time or command line is not the daemon", () => {
    const pid = unrelated.pid!;
    const real = processIdentity(pid)!;
    assert.equal(isSandboxDaemon({ pid, daemon: real }, t.path), true, "the identity the daemon itself recorded");
    assert.equal(isSandboxDaemon({ pid, daemon: { ...real, startTime: String(Number(real.startTime) - 1) } }, t.path), false, "PID reused after a reboot");
    assert.equal(isSandboxDaemon({ pid, daemon: { ...real, cmdline: [process.execPath, cliPath, "sandbox", "daemon", "--dir", t.path] } }, t.path), false);
    assert.equal(isSandboxDaemon({ pid }, t.path), false, "no record (older state file) and not a `sandbox daemon --dir` command line");
    // a PID that is not running at all
    const gone = spawn("true");
    return new Promise<void>((resolve) =>
      gone.on("exit", () => {
        assert.equal(isSandboxDaemon({ pid: gone.pid!, daemon: real }, t.path), false);
        resolve();
      }),
    );
  });

  it("sandbox down over a stale state file naming a live unrelated process: leaves it alive, removes the file", () => {
    const dir = join(t.path, "down");
    const pid = unrelated.pid!;
    // what the crashed daemon recorded: its own start time and command line, not sleep's
    plantState(dir, pid, { startTime: "1", cmdline: [process.execPath, cliPath, "sandbox", "daemon", "--dir", dir] });
    assert.equal(runningSandbox(dir), undefined);
    const before = processIdentity(pid);

    const env = runCli(["sandbox", "env", "--dir", dir], { env: baseEnv() });
    assert.equal(env.status, 1);
    assert.match(env.stderr, /no sandbox is running in /);

    const down = runCli(["sandbox", "down", "--dir", dir], { env: baseEnv() });
    assert.equal(down.status, 0, down.stderr);
    assert.equal(down.stdout, `no sandbox running in ${dir} (removed a stale state file: pid ${pid} is not the sandbox daemon)\n`);
    assert.ok(alive(pid), "the unrelated process was not signalled");
    assert.deepEqual(processIdentity(pid), before);
    assert.equal(existsSync(join(dir, "state.json")), false, "the stale state file is gone");
    assert.equal(runCli(["sandbox", "down", "--dir", dir], { env: baseEnv() }).stdout, `no sandbox running in ${dir}\n`);
  });

  it("sandbox env --unset needs no running sandbox (the shell may outlive it)", () => {
    const r = runCli(["sandbox", "env", "--unset", "--dir", join(t.path, "none")], { env: baseEnv() });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^# eks-access sandbox: restore the variables `sandbox env` changed/);
    assert.match(r.stdout, /export HTTPS_PROXY="\$EKS_ACCESS_SANDBOX_SAVED_HTTPS_PROXY"/);
    assert.match(r.stdout, /export KUBECONFIG="\$EKS_ACCESS_SANDBOX_SAVED_KUBECONFIG"/);
  });

  it("a state file of a version before the authenticator switch names none: read as aws-iam-authenticator (what those versions ran)", () => {
    const dir = join(t.path, "before-switch");
    plantState(dir, unrelated.pid!, undefined);
    assert.equal(readState(dir)?.authenticator, "aws-iam-authenticator");
    const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(dir, "state.json"), JSON.stringify({ ...state, authenticator: "eks-access" }));
    assert.equal(readState(dir)?.authenticator, "eks-access");
  });

  it("an older state file without the record: trusted only for a `sandbox daemon --dir <dir>` process", () => {
    const dir = join(t.path, "old");
    plantState(dir, unrelated.pid!, undefined);
    const down = runCli(["sandbox", "down", "--dir", dir], { env: baseEnv() });
    assert.equal(down.status, 0, down.stderr);
    assert.match(down.stdout, /removed a stale state file/);
    assert.ok(alive(unrelated.pid!));
  });
});
