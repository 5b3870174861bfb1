/**
 * Agreement with the reference peer: every token of test/token-cases.ts — valid, malformed, and
 * forged with a signature STS accepts — goes to the real aws-iam-authenticator v0.6.13 (as a
 * TokenReview) and to eks-access's StsTokenVerifier, both verifying through the same sandbox STS
 * verifier (moto's keys, its own SigV4 check) posing as sts.<region>.amazonaws.com behind the
 * loopback CONNECT proxy, trusted through SSL_CERT_FILE. Each gets the verdict the table says; where
 * the two differ the table says why. Run under the e2e lock (the peer binds :21363).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { AuthnError } from "../../src/core/authn-error.js";
import { StsTokenVerifier } from "../../src/adapters/sts-token-verifier.js";
import { startMoto, type MotoServer } from "../../src/sandbox/emulator/moto.js";
import { startStsVerifier, type StsVerifier } from "../../src/sandbox/emulator/sts-verifier.js";
import { createTestCa, issueLeafCertificate } from "../../src/sandbox/emulator/tls.js";
import { startConnectProxy, type ConnectProxy } from "../../src/sandbox/emulator/connect-proxy.js";
import { locatePeers } from "../../src/sandbox/cluster/peers.js";
import { postTokenReview, startAwsIamAuthenticator, type AwsIamAuthenticator } from "../../src/sandbox/cluster/authenticator.js";
import { baseEnv, tempDir } from "../helpers.js";
import { aws } from "../aws-helpers.js";
import { CASE_STS_HOSTS, TOKEN_CASES, type CaseCredentials, type TokenCaseContext } from "../token-cases.js";

const CLUSTER = "agreement-cluster";
const REGION = "us-west-2";
const USER_ARN = "arn:aws:iam::123456789012:user/alice";
let moto: MotoServer;
let sts: StsVerifier;
let proxy: ConnectProxy;
let peer: AwsIamAuthenticator;
let ours: StsTokenVerifier;
let user: CaseCredentials;
let session: CaseCredentials;
let sessionArn: string;
let cleanup: () => void;
const rows: string[] = [];

before(async () => {
  const t = tempDir("eks-access-token-agreement-");
  cleanup = t.cleanup;
  moto = await startMoto();
  const ca = await createTestCa(join(t.path, "pki"));
  const leaf = await issueLeafCertificate(ca, { name: "sts", dnsNames: CASE_STS_HOSTS(REGION) });
  sts = await startStsVerifier({ motoUrl: moto.url, tls: { cert: leaf.certPem, key: leaf.keyPem } });
  proxy = await startConnectProxy({ routes: Object.fromEntries(CASE_STS_HOSTS(REGION).map((h) => [`${h}:443`, sts.port])) });

  const admin = baseEnv({ AWS_ACCESS_KEY_ID: "admin", AWS_SECRET_ACCESS_KEY: "admin", AWS_DEFAULT_REGION: REGION, AWS_ENDPOINT_URL: moto.url });
  aws(admin, "iam", "create-user", "--user-name", "alice");
  const key = (aws(admin, "iam", "create-access-key", "--user-name", "alice") as { AccessKey: { AccessKeyId: string; SecretAccessKey: string } }).AccessKey;
  user = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
  const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: USER_ARN }, Action: "sts:AssumeRole" }] });
  aws(admin, "iam", "create-role", "--role-name", "Dev", "--assume-role-policy-document", trust);
  const assumed = aws({ ...admin, AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey }, "sts", "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/Dev", "--role-session-name", "agreement") as {
    Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string };
    AssumedRoleUser: { Arn: string };
  };
  session = { accessKeyId: assumed.Credentials.AccessKeyId, secretAccessKey: assumed.Credentials.SecretAccessKey, sessionToken: assumed.Credentials.SessionToken };
  sessionArn = assumed.AssumedRoleUser.Arn;

  const routing = { HTTPS_PROXY: proxy.url, SSL_CERT_FILE: ca.certPath, NO_PROXY: "127.0.0.1,localhost" };
  const peers = await locatePeers({ build: true });
  peer = await startAwsIamAuthenticator({
    dir: join(t.path, "authenticator"),
    binary: peers.awsIamAuthenticator,
    clusterId: CLUSTER,
    mapUsers: [{ userarn: USER_ARN, username: "alice", groups: ["devs"] }],
    mapRoles: [{ rolearn: "arn:aws:iam::123456789012:role/Dev", username: "dev:{{SessionName}}", groups: ["devs"] }],
    env: routing,
  });
  ours = new StsTokenVerifier({ clusterId: CLUSTER, region: REGION, env: routing, limits: { perPrincipal: { perSecond: 100, burst: 1000 } } });
});

after(async () => {
  if (rows.length > 0) console.log(["agreement table (peer | eks-access | case):", ...rows].join("\n"));
  await ours?.close();
  await peer?.stop();
  await proxy?.stop();
  await sts?.stop();
  await moto?.stop();
  cleanup?.();
});

const context = (): TokenCaseContext => ({ user, session, clusterId: CLUSTER, region: REGION, now: new Date() });

for (const c of TOKEN_CASES) {
  test(`${c.name}: peer ${c.peer}s, eks-access ${c.ours === "ok" ? "accepts" : `refuses (${c.ours})`}`, async () => {
    const token = await c.make(context());

    const review = await postTokenReview(peer.webhook, token);
    const peerVerdict = review.httpStatus === 200 && review.status.authenticated === true ? "accept" : "refuse";
    if (peerVerdict === "refuse") assert.equal(review.httpStatus, 403, "v0.6.13 answers every refusal with 403");
    else assert.equal(review.status.user?.username, c.as === "session" ? "dev:agreement" : "alice");

    let oursVerdict: string;
    try {
      const id = await ours.verify(token);
      assert.equal(id.arn, c.as === "session" ? sessionArn : USER_ARN);
      assert.equal(id.accessKeyId, (c.as === "session" ? session : user).accessKeyId);
      oursVerdict = "ok";
    } catch (err) {
      if (!(err instanceof AuthnError)) throw err;
      oursVerdict = err.outcome;
    }
    rows.push(`${peerVerdict.padEnd(6)} | ${oursVerdict.padEnd(14)} | ${c.name}`);

    assert.equal(peerVerdict, c.peer, "the peer's verdict");
    assert.equal(oursVerdict, c.ours, "eks-access's verdict");
    const agree = (oursVerdict === "ok") === (peerVerdict === "accept");
    assert.equal(!agree, c.difference !== undefined, agree ? "the table claims a difference that is not there" : "an undocumented difference");
  });
}
