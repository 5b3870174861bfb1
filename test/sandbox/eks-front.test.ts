/**
 * The EKS front before moto_server: everything forwarded as it came (IAM through the AWS CLI, a
 * chunked body, extra headers), and EKS DescribeCluster/CreateCluster answers of the sandbox
 * cluster carrying the real endpoint and CA — as `aws eks update-kubeconfig` and
 * `eks-access kubeconfig add` then write them. The rewritten body is checked against botocore's
 * EKS model.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { createTestCa } from "../../src/sandbox/emulator/tls.js";
import { eksRewriteTarget, signingService, startEksFront, type EksFront } from "../../src/sandbox/emulator/eks-front.js";
import { motoState, startMoto, type MotoServer } from "../../src/sandbox/emulator/moto.js";
import { freePort } from "../../src/sandbox/emulator/net.js";
import { baseEnv, cliPath, runAsync, tempDir, type Env, type RunResult } from "../helpers.js";
import { loadModel, shapeErrors } from "./botocore-model.js";

const REGION = "us-west-2";
const SANDBOX = "sandbox";
const OTHER = "other";
const REAL_ENDPOINT = "https://127.0.0.1:6443";
const ROLE = "arn:aws:iam::123456789012:role/eks";

/** A header-signed-looking request (moto checks no signature by default): only the scope matters here. */
const authFor = (service: string): string => `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/${REGION}/${service}/aws4_request, SignedHeaders=host, Signature=00`;

// The front runs in this process: clients must run asynchronously (spawnSync would block its event loop).
const run = (cmd: string, args: string[], env: Env): Promise<RunResult> => runAsync(cmd, args, env);

async function aws(env: Env, ...args: string[]): Promise<unknown> {
  const r = await run("aws", [...args, "--output", "json"], env);
  assert.equal(r.status, 0, `aws ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : {};
}

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** GET/POST with node:http (not fetch): raw headers, and Content-Length as sent. */
function call(base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawAnswer> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------------

describe("EKS front before moto_server", () => {
  let moto: MotoServer;
  let front: EksFront;
  let caData: string;
  let caPem: string;
  let env: Env;
  let direct: Env;
  const cleanups: Array<() => void> = [];

  before(async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const ca = await createTestCa(join(t.path, "pki"), { name: "kube" });
    caPem = ca.certPem;
    caData = Buffer.from(caPem, "utf8").toString("base64");
    moto = await startMoto();
    front = await startEksFront({ motoUrl: moto.url, clusters: { [SANDBOX]: { endpoint: REAL_ENDPOINT, caData } } });
    const common = { HOME: t.path, AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_DEFAULT_REGION: REGION };
    env = baseEnv({ ...common, AWS_ENDPOINT_URL: front.url });
    direct = baseEnv({ ...common, AWS_ENDPOINT_URL: moto.url });
  });

  after(async () => {
    await front?.stop();
    await moto?.stop();
    for (const c of cleanups) c();
  });

  it("serves 127.0.0.1 at its own port", async () => {
    assert.match(front.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(front.url, `http://127.0.0.1:${front.port}`);
    assert.notEqual(front.port, moto.port);
  });

  it("forwards other services: iam create-user through the front lands in moto", async () => {
    const out = await aws(env, "iam", "create-user", "--user-name", "through-front", "--path", "/team/") as { User: { Arn: string } };
    assert.equal(out.User.Arn, "arn:aws:iam::123456789012:user/team/through-front");
    const state = await motoState(moto.url);
    assert.ok(state.users.some((u) => u.name === "through-front" && u.path === "/team/"));
  });

  it("forwards extra headers and a chunked request body (x-moto-account-id picks the account)", async () => {
    const form = new URLSearchParams({ Action: "CreateUser", UserName: "chunked", Version: "2010-05-08" }).toString();
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        const bytes = new TextEncoder().encode(form);
        c.enqueue(bytes.slice(0, 10));
        c.enqueue(bytes.slice(10));
        c.close();
      },
    });
    const res = await fetch(`${front.url}/`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: authFor("iam"), "x-moto-account-id": "111122223333" },
      body,
      duplex: "half",
    } as RequestInit);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.match(text, /<Arn>arn:aws:iam::111122223333:user\/chunked<\/Arn>/);
  });

  it("create-cluster and describe-cluster answer the real endpoint and CA for the sandbox cluster", async () => {
    const created = await aws(env, "eks", "create-cluster", "--name", SANDBOX, "--role-arn", ROLE, "--resources-vpc-config", "subnetIds=subnet-1") as { cluster: { endpoint: string; certificateAuthority: { data: string } } };
    assert.equal(created.cluster.endpoint, REAL_ENDPOINT);
    assert.equal(created.cluster.certificateAuthority.data, caData);
    const described = await aws(env, "eks", "describe-cluster", "--name", SANDBOX) as { cluster: { name: string; arn: string; status: string; endpoint: string; certificateAuthority: { data: string } } };
    assert.equal(described.cluster.endpoint, REAL_ENDPOINT);
    assert.equal(described.cluster.certificateAuthority.data, caData);
    assert.equal(described.cluster.arn, `arn:aws:eks:${REGION}:123456789012:cluster/${SANDBOX}`);
    assert.equal(described.cluster.status, "ACTIVE");
    // moto itself still has its made-up values: the front rewrote the answer, not the state
    const atMoto = await aws(direct, "eks", "describe-cluster", "--name", SANDBOX) as { cluster: { endpoint: string; certificateAuthority: { data: string } } };
    assert.notEqual(atMoto.cluster.endpoint, REAL_ENDPOINT);
    assert.notEqual(atMoto.cluster.certificateAuthority.data, caData);
  });

  it("a cluster not in the map keeps moto's endpoint and CA", async () => {
    const created = await aws(env, "eks", "create-cluster", "--name", OTHER, "--role-arn", ROLE, "--resources-vpc-config", "subnetIds=subnet-1") as { cluster: { endpoint: string } };
    const viaFront = await aws(env, "eks", "describe-cluster", "--name", OTHER) as { cluster: { endpoint: string; certificateAuthority: { data: string } } };
    const atMoto = await aws(direct, "eks", "describe-cluster", "--name", OTHER) as { cluster: { endpoint: string; certificateAuthority: { data: string } } };
    assert.equal(viaFront.cluster.endpoint, atMoto.cluster.endpoint);
    assert.equal(created.cluster.endpoint, atMoto.cluster.endpoint);
    assert.equal(viaFront.cluster.certificateAuthority.data, atMoto.cluster.certificateAuthority.data);
    assert.match(viaFront.cluster.endpoint, /\.eks\.amazonaws\.com\/?$/);
  });

  it("list-clusters lists both; errors pass through (unknown cluster → ResourceNotFoundException)", async () => {
    const listed = await aws(env, "eks", "list-clusters") as { clusters: string[] };
    assert.deepEqual([...listed.clusters].sort(), [OTHER, SANDBOX]);
    const missing = await run("aws", ["eks", "describe-cluster", "--name", "nope"], env);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /ResourceNotFoundException/);
  });

  it("the rewritten DescribeCluster body conforms to botocore's EKS model and has a correct Content-Length", async () => {
    const model = loadModel("eks", "2017-11-01");
    const outShape = model.operations["DescribeCluster"]?.output?.shape;
    assert.equal(outShape, "DescribeClusterResponse");
    const res = await call(front.url, "GET", `/clusters/${SANDBOX}`, { authorization: authFor("eks") });
    assert.equal(res.status, 200, res.body);
    assert.equal(Number(res.headers["content-length"]), Buffer.byteLength(res.body), "Content-Length matches the rewritten body");
    assert.equal(res.headers["transfer-encoding"], undefined);
    const doc = JSON.parse(res.body) as { cluster: { endpoint: unknown; certificateAuthority: { data: unknown } } };
    assert.deepEqual(shapeErrors(model.shapes, outShape, doc, "DescribeClusterResponse"), []);
    // the touched members, explicitly: the model's types and a parseable certificate
    const cluster = model.shapes["Cluster"]!;
    assert.equal(model.shapes[cluster.members!["endpoint"]!.shape]!.type, "string");
    const certShape = model.shapes[cluster.members!["certificateAuthority"]!.shape]!;
    assert.equal(certShape.type, "structure");
    assert.equal(model.shapes[certShape.members!["data"]!.shape]!.type, "string");
    assert.equal(typeof doc.cluster.endpoint, "string");
    assert.equal(typeof doc.cluster.certificateAuthority.data, "string");
    const cert = new X509Certificate(Buffer.from(doc.cluster.certificateAuthority.data as string, "base64"));
    assert.ok(cert.ca);
    // and the same for CreateCluster's output shape (same Cluster member)
    assert.equal(model.operations["CreateCluster"]?.output?.shape, "CreateClusterResponse");
    assert.equal(model.shapes["CreateClusterResponse"]!.members!["cluster"]!.shape, "Cluster");
  });

  it("only EKS-signed requests are candidates: look-alike paths of other services are forwarded untouched", async () => {
    assert.equal(signingService(authFor("eks"), new URLSearchParams()), "eks");
    assert.equal(signingService(undefined, new URLSearchParams({ "X-Amz-Credential": "AKID/20240101/us-west-2/eks/aws4_request" })), "eks");
    assert.equal(signingService("Bearer x", new URLSearchParams()), undefined);
    assert.deepEqual(eksRewriteTarget("GET", `/clusters/${SANDBOX}`, authFor("eks")), { op: "DescribeCluster", name: SANDBOX });
    assert.deepEqual(eksRewriteTarget("GET", "/clusters/a%20b", authFor("eks")), { op: "DescribeCluster", name: "a b" });
    assert.deepEqual(eksRewriteTarget("POST", "/clusters", authFor("eks")), { op: "CreateCluster" });
    assert.equal(eksRewriteTarget("GET", `/clusters/${SANDBOX}`, authFor("kafka")), undefined);
    assert.equal(eksRewriteTarget("GET", `/clusters/${SANDBOX}`, undefined), undefined);
    assert.equal(eksRewriteTarget("GET", `/clusters/${SANDBOX}/node-groups`, authFor("eks")), undefined);
    assert.deepEqual(eksRewriteTarget("DELETE", `/clusters/${SANDBOX}`, authFor("eks")), { op: "DeleteCluster", name: SANDBOX });
    assert.equal(eksRewriteTarget("PUT", `/clusters/${SANDBOX}`, authFor("eks")), undefined);
    // end to end: same path, other service scopes → byte-identical to moto's own answer
    for (const service of ["kafka", "es"]) {
      const viaFront = await call(front.url, "GET", `/clusters/${SANDBOX}`, { authorization: authFor(service) });
      const atMoto = await call(moto.url, "GET", `/clusters/${SANDBOX}`, { authorization: authFor(service) });
      assert.equal(viaFront.status, atMoto.status, service);
      assert.equal(viaFront.body, atMoto.body, service);
      assert.ok(!viaFront.body.includes(REAL_ENDPOINT));
    }
  });

  it("aws eks update-kubeconfig through the front writes the real endpoint and CA", async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const kc = join(dir.path, "kubeconfig");
    const r = await run("aws", ["eks", "update-kubeconfig", "--name", SANDBOX, "--kubeconfig", kc], env);
    assert.equal(r.status, 0, r.stderr);
    const doc = parseYaml(readFileSync(kc, "utf8")) as { clusters: Array<{ cluster: { server: string; "certificate-authority-data": string } }> };
    assert.equal(doc.clusters[0]?.cluster.server, REAL_ENDPOINT);
    assert.equal(doc.clusters[0]?.cluster["certificate-authority-data"], caData);
    assert.equal(Buffer.from(doc.clusters[0]!.cluster["certificate-authority-data"], "base64").toString("utf8"), caPem);
  });

  it("eks-access kubeconfig add through the front writes the real endpoint and CA", async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const kc = join(dir.path, "kubeconfig");
    const r = await run(cliPath, ["kubeconfig", "add", "--name", SANDBOX, "--kubeconfig", kc], env);
    assert.equal(r.status, 0, `${r.stderr} (is dist/ built? npm run build)`);
    const doc = parseYaml(readFileSync(kc, "utf8")) as { clusters: Array<{ name: string; cluster: { server: string; "certificate-authority-data": string } }> };
    assert.equal(doc.clusters[0]?.name, `arn:aws:eks:${REGION}:123456789012:cluster/${SANDBOX}`);
    assert.equal(doc.clusters[0]?.cluster.server, REAL_ENDPOINT);
    assert.equal(doc.clusters[0]?.cluster["certificate-authority-data"], caData);
  });

  it("setCluster: a cluster added later is rewritten from then on; bad input is refused", async () => {
    front.setCluster(OTHER, { endpoint: "https://127.0.0.1:7443", caData });
    const described = await aws(env, "eks", "describe-cluster", "--name", OTHER) as { cluster: { endpoint: string; certificateAuthority: { data: string } } };
    assert.equal(described.cluster.endpoint, "https://127.0.0.1:7443");
    assert.equal(described.cluster.certificateAuthority.data, caData);
    assert.throws(() => front.setCluster("x", { endpoint: "127.0.0.1:6443", caData }), /not an http\(s\) URL/);
    assert.throws(() => front.setCluster("x", { endpoint: REAL_ENDPOINT, caData: Buffer.from("not pem").toString("base64") }), /not base64 of a PEM/);
  });
});

describe("EKS front lifecycle", () => {
  it("moto unreachable → 502 with a JSON error; stop() closes the port", async () => {
    const deadPort = await freePort();
    const front = await startEksFront({ motoUrl: `http://127.0.0.1:${deadPort}` });
    try {
      const res = await call(front.url, "GET", "/clusters/x", { authorization: authFor("eks") });
      assert.equal(res.status, 502);
      assert.match(JSON.parse(res.body).message, /moto_server did not answer/);
    } finally {
      await front.stop();
    }
    await assert.rejects(call(front.url, "GET", "/", {}), /ECONNREFUSED/);
    await front.stop(); // idempotent
  });
});
