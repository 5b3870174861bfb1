/**
 * The reference peer aws-iam-authenticator (v0.6.13, real binary) as launched by the test env:
 * start-up, TLS /healthz with its self-generated certificate, the generated webhook kubeconfig, the
 * static mapping it loaded, refusal of malformed tokens — directly and behind a real kube-apiserver.
 *
 * Tokens it accepts (real ones, verified through the local STS verifier) are tested in
 * test/e2e/authenticator-peer.test.ts and, behind kube-apiserver, in test/e2e/sandbox.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import {
  type AwsIamAuthenticator,
  type KubeWithAuthenticator,
  postTokenReview,
  startAwsIamAuthenticator,
  startKubeWithAwsIamAuthenticator,
} from "../../src/sandbox/cluster/authenticator.js";
import { kubectl, requestText, writeTokenKubeconfig } from "../../src/sandbox/cluster/kube.js";
import { liveGroupMembers, locatePeers, type Peers } from "../../src/sandbox/cluster/peers.js";

const CLUSTER_ID = "sandbox-cluster";
const ROLE_ARN = "arn:aws:iam::111122223333:role/eks-devs";
const USER_ARN = "arn:aws:iam::111122223333:user/alice";
/** Well-formed prefix, but the payload is not a presigned STS URL. */
const MALFORMED_TOKEN = "k8s-aws-v1." + Buffer.from("https://example.com/?Action=Nope").toString("base64url");

let peers: Peers;
let dir: string;

before(async () => {
  peers = await locatePeers({ build: true, log: (line) => console.error(line) });
  dir = await mkdtemp(join(tmpdir(), "eks-access-aia-"));
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("startAwsIamAuthenticator", () => {
  let auth: AwsIamAuthenticator | undefined;

  before(async () => {
    auth = await startAwsIamAuthenticator({
      dir: join(dir, "alone"),
      binary: peers.awsIamAuthenticator,
      clusterId: CLUSTER_ID,
      mapRoles: [{ rolearn: ROLE_ARN, username: "dev:{{SessionName}}", groups: ["devs"] }],
      mapUsers: [{ userarn: USER_ARN, username: "alice", groups: ["admins"] }],
      mapAccounts: ["444455556666"],
    });
  });

  after(async () => {
    await auth?.stop();
  });

  const peer = (): AwsIamAuthenticator => {
    assert.ok(auth, "aws-iam-authenticator did not start");
    return auth;
  };

  test("serves /healthz over TLS on 127.0.0.1 with its self-generated certificate", async () => {
    const a = peer();
    assert.match(a.url, /^https:\/\/127\.0\.0\.1:\d+\/authenticate$/);
    const res = await requestText(`https://127.0.0.1:${a.port}/healthz`, { ca: await readFile(a.caFile, "utf8") });
    assert.deepEqual(res, { status: 200, body: "ok" });
  });

  test("writes a webhook kubeconfig pointing at its URL with its certificate as CA", async () => {
    const a = peer();
    const config = parse(await readFile(a.kubeconfigFile, "utf8")) as {
      clusters: Array<{ cluster: { server: string; "certificate-authority-data": string } }>;
    };
    const cluster = config.clusters[0]?.cluster;
    assert.equal(cluster?.server, a.url);
    assert.equal(Buffer.from(cluster?.["certificate-authority-data"] ?? "", "base64").toString(), await readFile(a.caFile, "utf8"));
  });

  test("loaded the static mapping from its config file", async () => {
    const log = await readFile(peer().process.logFile, "utf8");
    assert.match(log, new RegExp(`mapping IAM role.*${ROLE_ARN}`));
    assert.match(log, new RegExp(`mapping IAM user.*${USER_ARN}`));
    assert.match(log, /mapping IAM Account.*444455556666/);
  });

  for (const [name, token] of [["malformed", MALFORMED_TOKEN], ["non-EKS", "hello"], ["empty", ""]] as const) {
    test(`refuses a ${name} token: 403, authenticated false`, async () => {
      const review = await postTokenReview(peer(), token);
      assert.equal(review.httpStatus, 403);
      assert.equal(review.status.authenticated ?? false, false);
      assert.equal(review.status.user?.username ?? "", "", "a denial carries no user (v0.6.13 sends `user: {}`)");
    });
  }

  test("also answers authentication.k8s.io/v1 TokenReviews", async () => {
    const review = await postTokenReview(peer(), MALFORMED_TOKEN, "authentication.k8s.io/v1");
    assert.equal(review.httpStatus, 403);
    assert.equal(review.status.authenticated ?? false, false);
  });

  test("stop() leaves no process of its group", async () => {
    const a = peer();
    await a.stop();
    assert.ok(a.process.exit);
    assert.deepEqual(await liveGroupMembers(a.process.pid), []);
  });
});

describe("startKubeWithAwsIamAuthenticator: the authenticator as kube-apiserver's webhook", () => {
  let env: KubeWithAuthenticator | undefined;

  before(async () => {
    env = await startKubeWithAwsIamAuthenticator({
      dir: join(dir, "cluster"),
      peers,
      clusterId: CLUSTER_ID,
      mapRoles: [{ rolearn: ROLE_ARN, username: "dev", groups: ["devs"] }],
    });
  });

  after(async () => {
    await env?.stop();
  });

  test("admin still works; a malformed token reaches the authenticator and is Unauthorized", async () => {
    assert.ok(env, "cluster did not start");
    const admin = await kubectl(env.kube.adminKubeconfig, ["get", "ns", "-o", "name"]);
    assert.equal(admin.code, 0, admin.stderr);

    const kubeconfig = await writeTokenKubeconfig(join(dir, "malformed.kubeconfig"), {
      server: env.kube.server, caData: env.kube.caData, token: MALFORMED_TOKEN,
    });
    const r = await kubectl(kubeconfig, ["get", "ns"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Unauthorized|must be logged in/);
    // the apiserver did call the authenticator over TLS (with the CA it generated): it logged the denial
    const log = await readFile(env.authenticator.process.logFile, "utf8");
    assert.match(log, /access denied/);
  });
});
