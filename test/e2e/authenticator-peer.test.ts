/**
 * The unmodified aws-iam-authenticator (reference peer) verifying real tokens — made by eks-access
 * and by the AWS CLI, side by side — through the sandbox's plumbing: it GETs
 * https://sts.us-west-2.amazonaws.com/... via HTTPS_PROXY (loopback CONNECT proxy) and trusts the
 * gateway's test-CA certificate (SSL_CERT_FILE); the local STS verifier answers with moto's identities.
 */
import { before, after, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startMoto, type MotoServer } from "../../src/sandbox/emulator/moto.js";
import { startStsVerifier, type StsVerifier } from "../../src/sandbox/emulator/sts-verifier.js";
import { createTestCa, issueLeafCertificate } from "../../src/sandbox/emulator/tls.js";
import { sandboxAwsHosts, startAwsGateway, type AwsGateway } from "../../src/sandbox/emulator/aws-gateway.js";
import { startConnectProxy, type ConnectProxy } from "../../src/sandbox/emulator/connect-proxy.js";
import { locatePeers } from "../../src/sandbox/cluster/peers.js";
import { postTokenReview, startAwsIamAuthenticator, type AwsIamAuthenticator } from "../../src/sandbox/cluster/authenticator.js";
import { baseEnv, run, runCli, tempDir, type Env } from "../helpers.js";
import { aws } from "../aws-helpers.js";

const CLUSTER = "peer-test";
let moto: MotoServer;
let verifier: StsVerifier;
let gateway: AwsGateway;
let proxy: ConnectProxy;
let authn: AwsIamAuthenticator;
let cleanup: () => void;
let userEnv: Env;
let roleEnv: Env;
let strangerEnv: Env;

before(async () => {
  const t = tempDir("eks-access-peer-");
  cleanup = t.cleanup;
  moto = await startMoto();
  verifier = await startStsVerifier({ motoUrl: moto.url });
  const ca = await createTestCa(join(t.path, "pki"));
  const leaf = await issueLeafCertificate(ca, { name: "aws", dnsNames: sandboxAwsHosts("us-west-2") });
  gateway = await startAwsGateway({ tls: { cert: leaf.certPem, key: leaf.keyPem }, verifierUrl: verifier.url, awsUrl: moto.url });
  proxy = await startConnectProxy({ routes: Object.fromEntries(sandboxAwsHosts("us-west-2").map((h) => [`${h}:443`, gateway.port])) });

  const admin = baseEnv({ AWS_ACCESS_KEY_ID: "admin", AWS_SECRET_ACCESS_KEY: "admin", AWS_DEFAULT_REGION: "us-west-2", AWS_ENDPOINT_URL: moto.url });
  const keyOf = (user: string) => {
    aws(admin, "iam", "create-user", "--user-name", user);
    return (aws(admin, "iam", "create-access-key", "--user-name", user) as { AccessKey: { AccessKeyId: string; SecretAccessKey: string } }).AccessKey;
  };
  const alice = keyOf("alice");
  const stranger = keyOf("stranger");
  const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:user/alice" }, Action: "sts:AssumeRole" }] });
  aws(admin, "iam", "create-role", "--role-name", "Dev", "--path", "/teams/", "--assume-role-policy-document", trust);
  // role session credentials from moto, as a user would hold after assuming the role
  const session = aws({ ...admin, AWS_ACCESS_KEY_ID: alice.AccessKeyId, AWS_SECRET_ACCESS_KEY: alice.SecretAccessKey }, "sts", "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/teams/Dev", "--role-session-name", "alice@example.com") as {
    Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string };
  };

  // tokens are made with the real STS host name: no endpoint override in these environments
  const tokenEnv = (id: string, secret: string, sessionToken?: string): Env =>
    baseEnv({ AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret, ...(sessionToken ? { AWS_SESSION_TOKEN: sessionToken } : {}), AWS_DEFAULT_REGION: "us-west-2", EKS_ACCESS_NO_CACHE: "1" });
  userEnv = tokenEnv(alice.AccessKeyId, alice.SecretAccessKey);
  roleEnv = tokenEnv(session.Credentials.AccessKeyId, session.Credentials.SecretAccessKey, session.Credentials.SessionToken);
  strangerEnv = tokenEnv(stranger.AccessKeyId, stranger.SecretAccessKey);

  const peers = await locatePeers({ build: true });
  authn = await startAwsIamAuthenticator({
    dir: join(t.path, "authenticator"),
    binary: peers.awsIamAuthenticator,
    clusterId: CLUSTER,
    mapUsers: [{ userarn: "arn:aws:iam::123456789012:user/alice", username: "alice", groups: ["devs"] }],
    // the authenticator compares path-less role ARNs (a mapping with /teams/ would never match)
    mapRoles: [{ rolearn: "arn:aws:iam::123456789012:role/Dev", username: "dev:{{SessionName}}", groups: ["devs", "ops"] }],
    env: { HTTPS_PROXY: proxy.url, SSL_CERT_FILE: ca.certPath, NO_PROXY: "127.0.0.1,localhost" },
  });
});

after(async () => {
  await authn?.stop();
  await proxy?.stop();
  await gateway?.stop();
  await verifier?.stop();
  await moto?.stop();
  cleanup?.();
});

const ours = (env: Env, cluster = CLUSTER) => JSON.parse(runCli(["token", "--cluster-name", cluster], { env }).stdout).status.token as string;
const theirs = (env: Env, cluster = CLUSTER) => JSON.parse(run("aws", ["eks", "get-token", "--cluster-name", cluster], { env }).stdout).status.token as string;

test("an IAM user's token from eks-access and from the AWS CLI: both authenticated alike", async () => {
  for (const token of [ours(userEnv), theirs(userEnv)]) {
    const r = await postTokenReview(authn.webhook, token);
    assert.equal(r.status.authenticated, true, JSON.stringify(r));
    assert.equal(r.status.user?.username, "alice");
    assert.deepEqual(r.status.user?.groups, ["devs"]);
    assert.match(r.status.user?.uid ?? "", /^aws-iam-authenticator:123456789012:/);
    assert.deepEqual(r.status.user?.extra?.["arn"], ["arn:aws:iam::123456789012:user/alice"]);
  }
});

test("a role session: canonicalised to the path-less role ARN, {{SessionName}} with @ replaced", async () => {
  const r = await postTokenReview(authn.webhook, ours(roleEnv));
  assert.equal(r.status.authenticated, true, JSON.stringify(r));
  assert.equal(r.status.user?.username, "dev:alice-example.com");
  assert.deepEqual(r.status.user?.extra?.["canonicalArn"], ["arn:aws:iam::123456789012:role/Dev"]);
  assert.deepEqual(r.status.user?.extra?.["sessionName"], ["alice@example.com"]);
});

test("refused: a token signed for another cluster, and an identity with no mapping", async () => {
  const other = await postTokenReview(authn.webhook, ours(userEnv, "another-cluster"));
  assert.equal(other.status.authenticated, undefined);
  assert.equal(other.httpStatus, 403);
  const stranger = await postTokenReview(authn.webhook, ours(strangerEnv));
  assert.notEqual(stranger.status.authenticated, true);
  assert.equal(stranger.httpStatus, 403);
});
