/**
 * `eks-access token` against the installed AWS CLI (the oracle), both run under the same frozen
 * libfaketime clock: stdout and stderr must be byte-identical.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { baseEnv, run, runCli, tokenUrl, type Env } from "../helpers.js";

const FROZEN = "2023-04-28 00:00:00";
const KEYS: Env = { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };

interface Case {
  name: string;
  args: string[];
  env?: Env;
}

const cases: Case[] = [
  { name: "regional us-west-2", args: ["--cluster-name", "demo", "--region", "us-west-2"] },
  { name: "us-east-1 is regional, not global", args: ["--cluster-name", "demo", "--region", "us-east-1"] },
  { name: "cn partition host", args: ["--cluster-name", "demo", "--region", "cn-north-1"] },
  { name: "GovCloud", args: ["--cluster-name", "demo", "--region", "us-gov-west-1"] },
  { name: "no region: global endpoint signed for us-east-1", args: ["--cluster-name", "demo"] },
  { name: "region from AWS_DEFAULT_REGION", args: ["--cluster-name", "demo"], env: { AWS_DEFAULT_REGION: "ap-south-1" } },
  { name: "session token is signed and encoded", args: ["--cluster-name", "demo", "--region", "eu-west-1"], env: { AWS_SESSION_TOKEN: "FQoGZXIvYXdzE+/abc==xyz" } },
  { name: "AWS_ENDPOINT_URL changes the host", args: ["--cluster-name", "demo", "--region", "eu-west-1"], env: { AWS_ENDPOINT_URL: "http://127.0.0.1:4566" } },
  { name: "AWS_ENDPOINT_URL_STS with a path", args: ["--cluster-name", "demo", "--region", "eu-west-1"], env: { AWS_ENDPOINT_URL_STS: "https://sts.example.internal:8443/base" } },
  { name: "Outposts --cluster-id", args: ["--cluster-id", "0123-abcd", "--region", "eu-west-1"] },
  { name: "odd cluster name", args: ["--cluster-name", "my cluster/ü", "--region", "eu-west-1"] },
  {
    name: "KUBERNETES_EXEC_INFO v1",
    args: ["--cluster-name", "demo", "--region", "eu-west-1"],
    env: { KUBERNETES_EXEC_INFO: '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}' },
  },
  { name: "KUBERNETES_EXEC_INFO v1alpha1 warning", args: ["--cluster-name", "demo", "--region", "eu-west-1"], env: { KUBERNETES_EXEC_INFO: '{"apiVersion":"client.authentication.k8s.io/v1alpha1"}' } },
  { name: "KUBERNETES_EXEC_INFO invalid JSON warning", args: ["--cluster-name", "demo", "--region", "eu-west-1"], env: { KUBERNETES_EXEC_INFO: "{not json" } },
  { name: "KUBERNETES_EXEC_INFO unknown version warning", args: ["--cluster-name", "demo", "--region", "eu-west-1"], env: { KUBERNETES_EXEC_INFO: '{"apiVersion":"client.authentication.k8s.io/v2"}' } },
];

for (const c of cases) {
  test(`byte-identical to aws eks get-token: ${c.name}`, () => {
    const env = baseEnv({ ...KEYS, ...c.env });
    const aws = run("aws", ["eks", "get-token", ...c.args], { env, frozenAt: FROZEN });
    const ours = runCli(["token", "--no-cache", ...c.args], { env, frozenAt: FROZEN });
    assert.equal(aws.status, 0, aws.stderr);
    assert.equal(ours.status, 0, ours.stderr);
    assert.equal(ours.stdout, aws.stdout);
    assert.equal(ours.stderr, aws.stderr);
  });
}

test("the token decodes to the documented URL shape", () => {
  const env = baseEnv({ ...KEYS, AWS_SESSION_TOKEN: "tok/en+" });
  const out = runCli(["token", "--no-cache", "--cluster-name", "demo", "--region", "us-west-2"], { env, frozenAt: FROZEN });
  const url = tokenUrl(out.stdout);
  assert.equal(url.origin, "https://sts.us-west-2.amazonaws.com");
  assert.deepEqual(
    [...url.searchParams.keys()],
    ["Action", "Version", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature"],
  );
  assert.equal(url.searchParams.get("X-Amz-SignedHeaders"), "host;x-k8s-aws-id");
  assert.equal(url.searchParams.get("X-Amz-Expires"), "60");
  assert.equal(url.searchParams.get("X-Amz-Security-Token"), "tok/en+");
  assert.equal(JSON.parse(out.stdout).status.expirationTimestamp, "2023-04-28T00:14:00Z");
});

test("usage errors are one line, exit 2, and never echo secrets", () => {
  const env = baseEnv(KEYS);
  for (const args of [[], ["--cluster-name", "a", "--cluster-id", "b"], ["--cluster-name", "a", "--bogus"], ["--cluster-name", "a", "--output", "yaml"]]) {
    const r = runCli(["token", ...args], { env });
    assert.equal(r.status, 2, `args ${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^eks-access: error: .+\n$/);
    assert.doesNotMatch(r.stderr, /wJalrXUtnFEMI/);
  }
});
