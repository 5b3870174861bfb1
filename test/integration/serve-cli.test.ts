/**
 * The built CLI's `serve` as the TokenReview authenticator and `serve init`, without any peer: the
 * state-dir certificate made as aws-iam-authenticator makes it (its own CA, the address and host
 * name as subjectAltNames) and the webhook kubeconfig that trusts it; start, /readyz, SIGTERM;
 * one-line errors (exit 2 for usage, 1 otherwise) that leave files as they were.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { parse } from "yaml";
import { poll } from "../../src/sandbox/emulator/net.js";
import { requestText } from "../../src/sandbox/cluster/kube.js";
import { baseEnv, cliPath, run, runCli, tempDir } from "../helpers.js";

let dir: string;
let cleanup: () => void;
before(() => {
  const t = tempDir("eks-access-serve-cli-");
  dir = t.path;
  cleanup = t.cleanup;
});
after(() => cleanup?.());

type Kubeconfig = { clusters: Array<{ cluster: { server: string; "certificate-authority-data": string } }>; "current-context": string };
const kubeconfigAt = (path: string): Kubeconfig => parse(readFileSync(path, "utf8")) as Kubeconfig;

describe("serve init", () => {
  it("makes a self-signed serving pair in the state directory and the webhook kubeconfigs that trust it; a second run reuses the pair", () => {
    const state = join(dir, "init", "state");
    const authn = join(dir, "init", "etc", "authn.yaml");
    const authz = join(dir, "init", "etc", "authz.yaml");
    const r = runCli(["serve", "init", "--state-dir", state, "--hostname", "127.0.0.1", "--port", "21999", "--generate-kubeconfig", authn, "--authorize-kubeconfig", authz], { env: baseEnv() });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        `wrote ${state}/cert.pem and ${state}/key.pem (self-signed for 127.0.0.1)`,
        `wrote ${authn}: kube-apiserver --authentication-token-webhook-config-file=${authn} --authentication-token-webhook-version=v1`,
        `wrote ${authz}: kube-apiserver --authorization-mode=Node,RBAC,Webhook --authorization-webhook-config-file=${authz} --authorization-webhook-version=v1`,
        `then run: eks-access serve --cluster-id CLUSTER_ID --state-dir ${state} --kubeconfig-pregenerated`,
        "",
      ].join("\n"),
    );
    assert.equal(statSync(join(state, "key.pem")).mode & 0o777, 0o600);
    const pem = readFileSync(join(state, "cert.pem"), "utf8");
    const cert = new X509Certificate(pem);
    assert.equal(cert.ca, true, "its own CA, as the peer's");
    assert.equal(cert.subjectAltName, "IP Address:127.0.0.1");
    assert.ok(cert.checkIssued(cert));
    const text = run("openssl", ["x509", "-noout", "-text", "-in", join(state, "cert.pem")], { env: baseEnv() }).stdout;
    assert.match(text, /TLS Web Server Authentication/);
    for (const [path, endpoint] of [[authn, "/authenticate"], [authz, "/authorize"]] as const) {
      const k = kubeconfigAt(path);
      assert.equal(k.clusters[0]!.cluster.server, `https://127.0.0.1:21999${endpoint}`);
      assert.equal(Buffer.from(k.clusters[0]!.cluster["certificate-authority-data"], "base64").toString(), pem);
    }
    const again = runCli(["serve", "init", "--state-dir", state, "--hostname", "127.0.0.1", "--port", "21999", "--generate-kubeconfig", authn], { env: baseEnv() });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`^using ${state}/cert.pem and ${state}/key.pem\n`));
    assert.equal(readFileSync(join(state, "cert.pem"), "utf8"), pem, "the pair is kept");
  });

  it("with given certificate files and a CA, the kubeconfig trusts the CA; the config file's port and hostname count", () => {
    const state = join(dir, "init", "state");
    const ca = join(dir, "ca.pem");
    writeFileSync(ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const config = join(dir, "init.yaml");
    writeFileSync(config, "clusterID: c\nserver:\n  port: 31000\n  hostname: authn.example.internal\n");
    const kc = join(dir, "init", "given.yaml");
    const r = runCli(["serve", "init", "-c", config, "--tls-cert-file", join(state, "cert.pem"), "--tls-private-key-file", join(state, "key.pem"), "--ca-file", ca, "--generate-kubeconfig", kc], { env: baseEnv() });
    assert.equal(r.status, 0, r.stderr);
    const k = kubeconfigAt(kc);
    assert.equal(k.clusters[0]!.cluster.server, "https://authn.example.internal:31000/authenticate");
    assert.equal(Buffer.from(k.clusters[0]!.cluster["certificate-authority-data"], "base64").toString(), readFileSync(ca, "utf8"));
    assert.match(r.stdout, /then run: eks-access serve --config .*init\.yaml --tls-cert-file .* --kubeconfig-pregenerated/);
  });

  it("bad input: one line, the right exit code, nothing written", () => {
    const state = join(dir, "bad-state");
    const cases: Array<[string[], number, RegExp]> = [
      [["--tls-cert-file", "/x.pem"], 2, /^eks-access: error: give both --tls-cert-file and --tls-private-key-file, or neither; /],
      [["--ca-file", "/nonexistent/ca.pem"], 1, /^eks-access: error: --ca-file \/nonexistent\/ca\.pem does not exist; /],
      [["--config", "/nonexistent/c.yaml"], 1, /^eks-access: error: Can't read configuration file "\/nonexistent\/c\.yaml": ENOENT; /],
      [["--port", "70000"], 2, /^eks-access: error: --port 70000 is not a port number; /],
      [["--authorize-kubeconfig", "FILE/authz.yaml"], 1, /^eks-access: error: cannot write .*\/a-file\/authz\.yaml \(--authorize-kubeconfig\): .*\/a-file is not a directory; /],
    ];
    writeFileSync(join(dir, "a-file"), "");
    for (const [args, status, line] of cases) {
      const r = runCli(["serve", "init", "--state-dir", state, "--generate-kubeconfig", join(dir, "bad.yaml"), ...args.map((x) => x.replace("FILE", join(dir, "a-file")))], { env: baseEnv() });
      assert.equal(r.status, status, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, line);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
    assert.ok(!existsSync(state) && !existsSync(join(dir, "bad.yaml")));
  });
});

describe("serve as the authenticator", () => {
  const usage: Array<[string[], number, RegExp]> = [
    [["--access-entries-file", "x.json", "--tls-cert-file", "a", "--tls-private-key-file", "b", "--match-role-paths", "--max-token-bytes", "9000"], 2, /^eks-access: error: --state-dir, --max-token-bytes, --match-role-paths are for the TokenReview authenticator: give --config \(aws-iam-authenticator's config file\) or --cluster-id too\n$/],
    [["--cluster-id", "c", "--backend-mode", "CRD"], 2, /^eks-access: error: backend-mode "CRD" is not served by eks-access; move the IAMIdentityMapping objects/],
    [["--cluster-id", "c", "--backend-mode", "DynamicFile"], 2, /^eks-access: error: dynamicfile is set in backend-mode but dynamicfilepath is not set; /],
    [["--config", "/nonexistent/config.yaml"], 1, /^eks-access: error: Can't read configuration file "\/nonexistent\/config\.yaml": ENOENT; /],
    [["--cluster-id", "c", "--log-format", "xml"], 2, /^eks-access: error: Invalid values: Argument: log-format, Given: "xml", Choices: "json", "text"/],
    [["--cluster-id", "c", "--tls-cert-file", "/only-cert.pem"], 2, /^eks-access: error: give both --tls-cert-file and --tls-private-key-file, or neither; /],
    [["--cluster-id", "c", "--sts-limit-global", "fast"], 2, /^eks-access: error: --sts-limit-global fast is not a rate; /],
    [["--cluster-id", "c", "--max-token-bytes", "99999"], 1, /^eks-access: error: the maximum token size 99999 is out of range; give a whole number of bytes from 11 to 16384/],
  ];
  for (const [args, status, line] of usage) {
    it(`${args.join(" ")}: exit ${status}, one line`, () => {
      const r = runCli(["serve", "--state-dir", join(dir, "never"), ...args], { env: baseEnv() });
      assert.equal(r.status, status, r.stderr);
      assert.match(r.stderr, line);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.ok(!existsSync(join(dir, "never")));
    });
  }

  it("starts with a state-dir pair it makes, writes the webhook kubeconfig with its port, is ready, and stops on SIGTERM", async () => {
    const state = join(dir, "run", "state");
    const kc = join(dir, "run", "kubeconfig.yaml");
    const config = join(dir, "run.yaml");
    mkdirSync(join(dir, "run"), { recursive: true });
    writeFileSync(config, "clusterID: run-cluster\nserver:\n  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/Admin\n    username: admin\n");
    const p = spawn(cliPath, ["serve", "--config", config, "--state-dir", state, "--generate-kubeconfig", kc, "--port", "0"], { env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    p.stdout.on("data", (d: Buffer) => (output += d.toString()));
    p.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((r) => p.once("exit", (code) => r(code)));
    try {
      const listening = await poll(() => output, (o) => o.includes('"msg":"listening"'), 300);
      assert.ok(listening.held, output);
      const line = JSON.parse(output.split("\n").find((l) => l.includes('"msg":"listening"'))!) as { url: string; certificate: string; webhookKubeconfig: string; backends: string[]; authorize: string };
      assert.equal(line.certificate, `made ${state}/cert.pem`);
      assert.equal(line.webhookKubeconfig, kc);
      assert.deepEqual(line.backends, [`MountedFile: config file ${config}`]);
      assert.equal(line.authorize, "off");
      const url = new URL(line.url);
      assert.equal(kubeconfigAt(kc).clusters[0]!.cluster.server, `https://127.0.0.1:${url.port}/authenticate`);
      const ca = readFileSync(join(state, "cert.pem"), "utf8");
      assert.deepEqual(await requestText(`https://127.0.0.1:${url.port}/readyz`, { ca }), { status: 200, body: "ok" });
      const bad = await requestText(`https://127.0.0.1:${url.port}/authenticate`, { ca, method: "POST", json: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token: "k8s-aws-v1.bm90LWEtdXJs" } } });
      assert.equal(bad.status, 403);
      assert.equal(JSON.parse(bad.body).kind, "Status");
    } finally {
      p.kill("SIGTERM");
    }
    assert.equal(await exited, 0, output);
    assert.match(output, /"msg":"stopped"/);
  });

  it("a port in use: exit 1, one line", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const busy = (blocker.address() as { port: number }).port;
    const state = join(dir, "busy-state");
    try {
      const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const p = spawn(cliPath, ["serve", "--cluster-id", "c", "--state-dir", state, "--kubeconfig-pregenerated", "--port", String(busy)], { env: baseEnv() as NodeJS.ProcessEnv, stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        p.on("exit", (status) => resolve({ status, stderr }));
      });
      assert.equal(r.status, 1);
      const last = r.stderr.trim().split("\n").at(-1)!;
      assert.equal(last, `eks-access: error: port ${busy} on 127.0.0.1 is in use; stop what listens there or pick another --port`);
      assert.deepEqual(readdirSync(state).sort(), ["cert.pem", "key.pem"], "the state directory holds only the pair, as the peer's");
    } finally {
      blocker.close();
    }
  });
});
