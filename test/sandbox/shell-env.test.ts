/**
 * `eval "$(eks-access sandbox env)"` and `eval "$(eks-access sandbox env --unset)"` in real shells
 * (bash and dash): the first saves what it changes and keeps the user's proxy settings, the second
 * gives the shell back exactly as it was. No secret of the user's is ever in the printed code.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { sandboxEnvScript, sandboxRestoreScript } from "../../src/sandbox/shell-env.js";
import { sandboxNoProxy, userProxySettings, type SandboxState } from "../../src/sandbox/sandbox.js";

const BIN = "/opt/eks access/bin"; // a space and nothing else special: quoting must hold
const state = {
  version: 1,
  pid: 1,
  ready: true,
  dir: "/tmp/sb",
  region: "us-west-2",
  clusterName: "sandbox",
  clusterArn: "arn:aws:eks:us-west-2:123456789012:cluster/sandbox",
  accountId: "123456789012",
  proxyUrl: "http://127.0.0.1:41234",
  caFile: "/tmp/sb/pki/ca.pem",
  motoUrl: "http://127.0.0.1:5000",
  apiServer: "https://127.0.0.1:6443",
  adminKubeconfig: "/tmp/sb/kube/admin.kubeconfig",
  authenticator: "eks-access",
  authenticatorUrl: "https://127.0.0.1:21362/authenticate",
  authenticatorCaFile: "/tmp/sb/pki/ca.pem",
  awsConfigFile: "/tmp/sb/aws/config",
  awsCredentialsFile: "/tmp/sb/aws/credentials",
  kubeconfig: "/tmp/sb/kubeconfig",
  adminUserArn: "arn:aws:iam::123456789012:user/sandbox-admin",
  startedAt: "2026-01-01T00:00:00.000Z",
  startupMs: 1,
} satisfies SandboxState;

const USER_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const PROXY_PASSWORD = "hunter2";
/** The user's shell before anything: behind a corporate proxy, with real AWS keys. */
const USER_ENV: Record<string, string> = {
  PATH: "/usr/local/bin:/usr/bin:/bin",
  HOME: "/home/u",
  HTTPS_PROXY: `http://u:${PROXY_PASSWORD}@proxy.corp.example:3128`,
  https_proxy: `http://u:${PROXY_PASSWORD}@proxy.corp.example:3128`,
  NO_PROXY: ".corp.example,.amazonaws.com,10.0.0.0/8",
  KUBECONFIG: "/home/u/.kube/config:/home/u/.kube/other",
  AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
  AWS_SECRET_ACCESS_KEY: USER_SECRET,
  AWS_REGION: "eu-west-1",
  AWS_CA_BUNDLE: "", // set but empty: must come back set and empty
};

/** Runs `script` in `shell` with USER_ENV and prints the resulting environment (NUL-separated). */
function envAfter(shell: string, script: string, env: Record<string, string> = USER_ENV): Record<string, string> {
  const r = spawnSync(shell, ["-c", `${script}\nenv -0`], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  assert.equal(r.status, 0, r.stderr);
  const out: Record<string, string> = {};
  for (const entry of r.stdout.split("\0").filter(Boolean)) {
    const i = entry.indexOf("=");
    out[entry.slice(0, i)] = entry.slice(i + 1);
  }
  for (const k of ["PWD", "SHLVL", "_", "OLDPWD"]) delete out[k];
  return out;
}

const q = (text: string) => text.replace(/'/g, `'\\''`);

describe("sandbox env / sandbox env --unset in a shell", () => {
  const envCode = sandboxEnvScript(state, BIN, USER_ENV);
  const unsetCode = sandboxRestoreScript(BIN);

  it("prints none of the user's secrets or proxy credentials", () => {
    for (const secret of [USER_SECRET, PROXY_PASSWORD, "AKIAIOSFODNN7EXAMPLE"]) {
      assert.ok(!envCode.includes(secret), secret);
      assert.ok(!unsetCode.includes(secret), secret);
    }
  });

  for (const shell of ["bash", "dash"]) {
    it(`${shell}: points the shell at the sandbox, keeps the user's NO_PROXY, saves what it changed`, () => {
      const after = envAfter(shell, `eval '${q(envCode)}'`);
      assert.equal(after["HTTPS_PROXY"], state.proxyUrl);
      assert.equal(after["https_proxy"], state.proxyUrl);
      assert.equal(after["NO_PROXY"], ".corp.example,10.0.0.0/8,127.0.0.1,localhost", "the user's entries, minus .amazonaws.com (it would bypass the sandbox)");
      assert.equal(after["no_proxy"], after["NO_PROXY"]);
      assert.equal(after["KUBECONFIG"], state.kubeconfig);
      assert.equal(after["PATH"], `${BIN}:${USER_ENV["PATH"]}`);
      assert.equal(after["AWS_PROFILE"], "sandbox-admin");
      assert.equal(after["AWS_ACCESS_KEY_ID"], undefined);
      assert.equal(after["AWS_SECRET_ACCESS_KEY"], undefined);
      // saved for --unset and for a sandbox daemon started from this shell
      assert.equal(after["EKS_ACCESS_SANDBOX_SAVED"], "1");
      assert.equal(after["EKS_ACCESS_SANDBOX_SAVED_HTTPS_PROXY"], USER_ENV["HTTPS_PROXY"]);
      assert.equal(after["EKS_ACCESS_SANDBOX_SAVED_KUBECONFIG"], USER_ENV["KUBECONFIG"]);
      assert.equal(after["EKS_ACCESS_SANDBOX_SAVED_AWS_CA_BUNDLE"], "");
      assert.equal(after["EKS_ACCESS_SANDBOX_SAVED_AWS_PROFILE"], undefined, "was unset");
      // the user's keys are kept in shell variables only: not in any child's environment
      assert.ok(!Object.values(after).includes(USER_SECRET));
      assert.deepEqual(userProxySettings(after), { httpsProxy: USER_ENV["HTTPS_PROXY"], noProxy: USER_ENV["NO_PROXY"] });
    });

    it(`${shell}: --unset restores the shell exactly, also after env was evaluated twice`, () => {
      const restored = envAfter(shell, `eval '${q(envCode)}'\neval '${q(envCode)}'\neval '${q(unsetCode)}'`);
      assert.deepEqual(restored, envAfter(shell, ":"));
      assert.equal(restored["AWS_SECRET_ACCESS_KEY"], USER_SECRET);
      assert.equal(restored["HTTPS_PROXY"], USER_ENV["HTTPS_PROXY"]);
      // a second --unset changes nothing; a PATH entry added meanwhile survives
      const again = envAfter(shell, `eval '${q(envCode)}'\nPATH="$PATH:/extra"\neval '${q(unsetCode)}'\neval '${q(unsetCode)}'`);
      assert.equal(again["PATH"], `${USER_ENV["PATH"]}:/extra`);
      assert.equal(again["KUBECONFIG"], USER_ENV["KUBECONFIG"]);
    });
  }

  it("--unset in a shell that never evaluated env changes nothing", () => {
    assert.deepEqual(envAfter("bash", `eval '${q(unsetCode)}'`), envAfter("bash", ":"));
  });

  it("from a bare environment: --unset unsets what env set", () => {
    const bare = { PATH: "/usr/bin:/bin" };
    const code = sandboxEnvScript(state, BIN, bare);
    assert.deepEqual(envAfter("bash", `eval '${q(code)}'\neval '${q(unsetCode)}'`, bare), envAfter("bash", ":", bare));
    assert.equal(envAfter("bash", `eval '${q(code)}'`, bare)["NO_PROXY"], "127.0.0.1,localhost");
  });
});

describe("userProxySettings / sandboxNoProxy", () => {
  it("takes the saved values in a shell that evaluated sandbox env, else the current ones", () => {
    assert.deepEqual(userProxySettings({ https_proxy: "http://p:1", no_proxy: "a" }), { httpsProxy: "http://p:1", noProxy: "a" });
    assert.deepEqual(userProxySettings({ HTTPS_PROXY: "http://127.0.0.1:9", EKS_ACCESS_SANDBOX_SAVED: "1" }), {}, "the sandbox's own proxy is never the upstream");
    assert.deepEqual(
      userProxySettings({ HTTPS_PROXY: "http://127.0.0.1:9", EKS_ACCESS_SANDBOX_SAVED: "1", EKS_ACCESS_SANDBOX_SAVED_https_proxy: "http://corp:8080" }),
      { httpsProxy: "http://corp:8080" },
    );
  });

  it("drops NO_PROXY entries that would route the sandbox's AWS host names around it", () => {
    assert.equal(sandboxNoProxy("*", "us-west-2"), "127.0.0.1,localhost");
    assert.equal(sandboxNoProxy("amazonaws.com, .corp, sts.us-west-2.amazonaws.com,localhost", "us-west-2"), ".corp,localhost,127.0.0.1");
    assert.equal(sandboxNoProxy("s3.amazonaws.com", "us-west-2"), "s3.amazonaws.com,127.0.0.1,localhost");
    assert.equal(sandboxNoProxy(undefined, "us-west-2"), "127.0.0.1,localhost");
  });
});
