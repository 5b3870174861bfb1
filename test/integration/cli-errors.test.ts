/**
 * The built CLI's one-line errors for bad settings and unreachable endpoints: the variable or the
 * endpoint is named, exit 1, nothing written. Servers here listen on 127.0.0.1 only.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { baseEnv, runAsync, cliPath, tempDir, type Env } from "../helpers.js";

const KEYS: Env = { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", AWS_DEFAULT_REGION: "us-west-2", AWS_MAX_ATTEMPTS: "1", EKS_ACCESS_NO_CACHE: "1" };

let eks: Server;
let eksUrl: string;
let refusedUrl: string;

/** Enough of EKS DescribeCluster (REST-JSON, GET /clusters/<name>) for kubeconfig add. */
before(async () => {
  eks = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? "").split("/")[2] ?? "");
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ cluster: { name, arn: `arn:aws:eks:us-west-2:111122223333:cluster/${name}`, endpoint: "https://127.0.0.1:6443", certificateAuthority: { data: "Q0E=" }, status: "ACTIVE" } }));
  });
  await new Promise<void>((r) => eks.listen(0, "127.0.0.1", r));
  eksUrl = `http://127.0.0.1:${(eks.address() as AddressInfo).port}`;
  // a port that was just free: nothing listens there, so connecting is refused
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  refusedUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise<void>((r) => probe.close(() => r()));
});

after(() => new Promise<void>((r) => eks.close(() => r())));

const cli = (args: string[], env: Env) => runAsync(cliPath, args, baseEnv({ ...KEYS, ...env }));

function oneLineError(r: { status: number; stdout: string; stderr: string }, re: RegExp): void {
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^eks-access: error: [^\n]+\n$/);
  assert.match(r.stderr, re);
}

test("control: the fake EKS answers, kubeconfig add writes the entry", async () => {
  const t = tempDir();
  try {
    const kc = join(t.path, "config");
    const r = await cli(["kubeconfig", "add", "--name", "demo", "--kubeconfig", kc], { AWS_ENDPOINT_URL_EKS: eksUrl });
    assert.equal(r.status, 0, r.stderr);
    assert.match(readFileSync(kc, "utf8"), /cluster\/demo/);
  } finally {
    t.cleanup();
  }
});

test("an endpoint variable that is not a URL is named, for token, whoami and kubeconfig add", async () => {
  const t = tempDir();
  try {
    const kc = join(t.path, "config");
    const cases: Array<[string[], Env, string]> = [
      [["token", "--cluster-name", "demo"], { AWS_ENDPOINT_URL_STS: "not-a-url" }, "AWS_ENDPOINT_URL_STS"],
      [["token", "--cluster-name", "demo"], { AWS_ENDPOINT_URL: "not-a-url" }, "AWS_ENDPOINT_URL"],
      [["whoami"], { AWS_ENDPOINT_URL_STS: "not-a-url" }, "AWS_ENDPOINT_URL_STS"],
      [["kubeconfig", "add", "--name", "demo", "--kubeconfig", kc], { AWS_ENDPOINT_URL_EKS: "not-a-url" }, "AWS_ENDPOINT_URL_EKS"],
      [["kubeconfig", "add", "--name", "demo", "--kubeconfig", kc], { AWS_ENDPOINT_URL: "not-a-url" }, "AWS_ENDPOINT_URL"],
    ];
    for (const [args, env, name] of cases) {
      const r = await cli(args, env);
      oneLineError(r, new RegExp(`^eks-access: error: ${name} is not an http\\(s\\) URL: "not-a-url"; set it to an endpoint URL such as https://`));
    }
    assert.ok(!existsSync(kc), "nothing written");
  } finally {
    t.cleanup();
  }
});

test("a refused connection names the endpoint that could not be reached, not credentials or permissions", async () => {
  const t = tempDir();
  try {
    const kc = join(t.path, "config");
    const cases: Array<[string[], Env, string]> = [
      [["kubeconfig", "add", "--name", "demo", "--kubeconfig", kc], { AWS_ENDPOINT_URL_EKS: refusedUrl }, "eks:DescribeCluster demo failed"],
      [["kubeconfig", "add", "--name", "demo", "--kubeconfig", kc, "--endpoint-url", refusedUrl], {}, "eks:DescribeCluster demo failed"],
      [["whoami"], { AWS_ENDPOINT_URL_STS: refusedUrl }, "sts:GetCallerIdentity failed"],
      [["token", "--cluster-name", "demo", "--role-arn", "arn:aws:iam::111122223333:role/r"], { AWS_ENDPOINT_URL_STS: refusedUrl }, "could not assume role arn:aws:iam::111122223333:role/r"],
    ];
    for (const [args, env, what] of cases) {
      const r = await cli(args, env);
      oneLineError(r, new RegExp(`^eks-access: error: ${what.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: could not reach ${refusedUrl} \\(ECONNREFUSED\\); check the region and endpoint settings`));
      assert.doesNotMatch(r.stderr, /credentials|permission/, args.join(" "));
    }
    assert.ok(!existsSync(kc), "nothing written");
  } finally {
    t.cleanup();
  }
});

test("a kubeconfig holding two YAML documents is refused in plain words and left as it was", async () => {
  const t = tempDir();
  try {
    const kc = join(t.path, "config");
    const text = "apiVersion: v1\nkind: Config\nclusters: []\n---\napiVersion: v1\nkind: Config\nusers: []\n";
    writeFileSync(kc, text);
    const r = await cli(["kubeconfig", "add", "--name", "demo", "--kubeconfig", kc], { AWS_ENDPOINT_URL_EKS: eksUrl });
    oneLineError(r, new RegExp(`^eks-access: error: kubeconfig ${kc} is not valid: it contains 2 YAML documents \\(separated by ---\\); a kubeconfig is one document; `));
    assert.equal(readFileSync(kc, "utf8"), text);
  } finally {
    t.cleanup();
  }
});
