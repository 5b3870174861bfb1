import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startMoto, type MotoServer } from "../../src/sandbox/emulator/moto.js";
import {
  EMPTY_SHA256,
  buildCanonicalRequest,
  canonicalQueryString,
  checkPresignedRequest,
  computeSignature,
  isStsError,
  parseQuery,
  rfc3986Encode,
  verifySignature,
  type ParsedPresign,
} from "../../src/sandbox/emulator/sigv4-verify.js";
import { startStsVerifier, type StsVerifier } from "../../src/sandbox/emulator/sts-verifier.js";
import { poll } from "../../src/sandbox/emulator/net.js";

const ORACLE = join(dirname(fileURLToPath(import.meta.url)), "oracle");
const exec = promisify(execFile);

/** Runs a python oracle with a JSON document on stdin and parses its JSON answer. */
async function python<T>(script: string, input: unknown): Promise<T> {
  const child = exec("python3", [join(ORACLE, script)], { maxBuffer: 16 * 1024 * 1024 });
  child.child.stdin?.end(JSON.stringify(input));
  const { stdout } = await child;
  return JSON.parse(stdout) as T;
}

interface Presigned {
  url: string;
  token: string;
}

interface PresignSpec {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
  clusterId: string | null;
  endpointUrl?: string;
  now?: string;
}

// The aws-iam-authenticator vector (pkg/token/token_test.go TestGetWithSTS): static credentials,
// no session token, region us-west-2, cluster test-cluster, time.Unix(1682640000, 0).
const VECTOR = {
  accessKeyId: "ASIAR2TG44V6AS3ZZE7C",
  secretAccessKey: "4KD5cntGcVmLWRdF5wvNRuzNL5Qxmp6OKVY6Fz/Q",
  region: "us-west-2",
  clusterId: "test-cluster",
  now: "2023-04-28T00:00:00Z",
  url:
    "https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256" +
    "&X-Amz-Credential=ASIAR2TG44V6AS3ZZE7C%2F20230428%2Fus-west-2%2Fsts%2Faws4_request&X-Amz-Date=20230428T000000Z" +
    "&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id" +
    "&X-Amz-Signature=e211dba77aba9dc44b0b6be38b8eaad092599c5157f6314444c5b9d85747f5ce",
  token:
    "k8s-aws-v1.aHR0cHM6Ly9zdHMudXMtd2VzdC0yLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BU0lBUjJURzQ0VjZBUzNaWkU3QyUyRjIwMjMwNDI4JTJGdXMtd2VzdC0yJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyMzA0MjhUMDAwMDAwWiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TaWduYXR1cmU9ZTIxMWRiYTc3YWJhOWRjNDRiMGI2YmUzOGI4ZWFhZDA5MjU5OWM1MTU3ZjYzMTQ0NDRjNWI5ZDg1NzQ3ZjVjZQ",
};

function vectorRequest(url: string, headers: Record<string, string[]>) {
  const u = new URL(url);
  return { method: "GET", path: u.pathname, rawQuery: u.search.slice(1), headers };
}

function parsedOrFail(value: ReturnType<typeof checkPresignedRequest>): ParsedPresign {
  if (isStsError(value)) assert.fail(`unexpected ${value.code}: ${value.message}`);
  return value;
}

describe("sigv4-verify (pure)", () => {
  it("recomputes the aws-iam-authenticator test vector signature", () => {
    const headers = { host: ["sts.us-west-2.amazonaws.com"], "x-k8s-aws-id": ["test-cluster"] };
    const parsed = parsedOrFail(checkPresignedRequest(vectorRequest(VECTOR.url, headers), { now: new Date(VECTOR.now) }));
    assert.equal(
      parsed.canonicalRequest,
      [
        "GET",
        "/",
        "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256" +
          "&X-Amz-Credential=ASIAR2TG44V6AS3ZZE7C%2F20230428%2Fus-west-2%2Fsts%2Faws4_request" +
          "&X-Amz-Date=20230428T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id",
        "host:sts.us-west-2.amazonaws.com\nx-k8s-aws-id:test-cluster\n",
        "host;x-k8s-aws-id",
        EMPTY_SHA256,
      ].join("\n"),
    );
    assert.equal(
      computeSignature(VECTOR.secretAccessKey, parsed, parsed.amzDate, parsed.canonicalRequest),
      "e211dba77aba9dc44b0b6be38b8eaad092599c5157f6314444c5b9d85747f5ce",
    );
    assert.equal(verifySignature(parsed, VECTOR.secretAccessKey), undefined);
    assert.equal(verifySignature(parsed, VECTOR.secretAccessKey.replace("Q", "R"))?.code, "SignatureDoesNotMatch");
    assert.equal(parsed.securityToken, undefined, "the vector signs no session token");
  });

  it("the vector's payload hash is sha256(\"\"), not UNSIGNED-PAYLOAD", () => {
    const params = parseQuery(new URL(VECTOR.url).search.slice(1));
    const headers = { host: ["sts.us-west-2.amazonaws.com"], "x-k8s-aws-id": ["test-cluster"] };
    const sign = (payloadHash: string) =>
      computeSignature(
        VECTOR.secretAccessKey,
        { scopeDate: "20230428", region: "us-west-2", service: "sts" },
        "20230428T000000Z",
        buildCanonicalRequest({ method: "GET", path: "/", params, headers, signedHeaders: ["host", "x-k8s-aws-id"], payloadHash }),
      );
    assert.equal(sign(EMPTY_SHA256), "e211dba77aba9dc44b0b6be38b8eaad092599c5157f6314444c5b9d85747f5ce");
    assert.notEqual(sign("UNSIGNED-PAYLOAD"), "e211dba77aba9dc44b0b6be38b8eaad092599c5157f6314444c5b9d85747f5ce");
  });

  it("botocore with a frozen clock produces exactly the vector's URL and token", async () => {
    const got = await python<Presigned>("presign_eks_token.py", {
      accessKeyId: VECTOR.accessKeyId,
      secretAccessKey: VECTOR.secretAccessKey,
      region: VECTOR.region,
      clusterId: VECTOR.clusterId,
      now: VECTOR.now,
    });
    assert.equal(got.url, VECTOR.url);
    assert.equal(got.token, VECTOR.token);
  });

  it("encodes and sorts the canonical query string as SigV4 requires", () => {
    assert.equal(rfc3986Encode("a b+c/d=e~f*g!h'(i)"), "a%20b%2Bc%2Fd%3De~f%2Ag%21h%27%28i%29");
    assert.equal(rfc3986Encode("é"), "%C3%A9");
    const params = parseQuery("b=2&X-Amz-Signature=ff&a=%2B%2F%3D&A=x+y&a2=");
    assert.deepEqual(params[3], { name: "A", value: "x y" });
    assert.equal(canonicalQueryString(params), "A=x%20y&a=%2B%2F%3D&a2=&b=2");
  });

  it("refuses bad requests before any secret is needed", () => {
    const now = new Date(VECTOR.now);
    const headers = { host: ["sts.us-west-2.amazonaws.com"], "x-k8s-aws-id": ["test-cluster"] };
    const code = (url: string, h: Record<string, string[]> = headers, at = now) => {
      const r = checkPresignedRequest(vectorRequest(url, h), { now: at });
      return isStsError(r) ? r.code : "ok";
    };
    assert.equal(code(VECTOR.url), "ok");
    assert.equal(code(`${VECTOR.url}&x-amz-date=20230428T000000Z`), "AccessDenied", "duplicate, other case");
    assert.equal(code(VECTOR.url.replace("Action=GetCallerIdentity", "Action=AssumeRole")), "InvalidAction");
    assert.equal(code(VECTOR.url.replace("Version=2011-06-15", "Version=2011-06-16")), "InvalidAction");
    assert.equal(code(VECTOR.url.replace("%2Fsts%2F", "%2Fs3%2F")), "SignatureDoesNotMatch");
    assert.equal(code(VECTOR.url.replace("X-Amz-Expires=60", "X-Amz-Expires=901")), "AccessDenied");
    assert.equal(code(VECTOR.url.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1")), "IncompleteSignature");
    assert.equal(code(VECTOR.url, { host: headers.host }), "AccessDenied", "x-k8s-aws-id signed but not sent");
    assert.equal(code(VECTOR.url.replace("host%3Bx-k8s-aws-id", "host")), "AccessDenied", "x-k8s-aws-id not signed");
    assert.equal(code("https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"), "MissingAuthenticationToken");
    const mismatchedScope = checkPresignedRequest(vectorRequest(VECTOR.url, headers), { now, allowedRegions: ["eu-west-1"] });
    assert.ok(isStsError(mismatchedScope) && mismatchedScope.code === "SignatureDoesNotMatch");
  });

  it("accepts a presigned URL for 15 minutes after X-Amz-Date whatever X-Amz-Expires says, as STS does", () => {
    // The vector says X-Amz-Expires=60: STS ignores it (aws-sdk-go #2167), so must we.
    assert.match(VECTOR.url, /X-Amz-Expires=60&/);
    const headers = { host: ["sts.us-west-2.amazonaws.com"], "x-k8s-aws-id": ["test-cluster"] };
    const signed = new Date(VECTOR.now).getTime();
    const at = (offsetSeconds: number) => {
      const r = checkPresignedRequest(vectorRequest(VECTOR.url, headers), { now: new Date(signed + offsetSeconds * 1000) });
      return isStsError(r) ? `${r.code}: ${r.message}` : "ok";
    };
    assert.equal(at(61), "ok", "61 s: past X-Amz-Expires, still valid");
    assert.equal(at(14 * 60), "ok", "14 min: the token's expirationTimestamp");
    assert.equal(at(15 * 60), "ok", "15 min: the last second");
    assert.equal(at(15 * 60 + 1), "SignatureDoesNotMatch: Signature expired: 20230428T000000Z is now earlier than 20230428T000001Z (20230428T001501Z - 15 min.)");
    assert.match(at(16 * 60), /^SignatureDoesNotMatch: Signature expired: /);
    // X-Amz-Expires=0 (some SDKs send it) is no shorter either
    const zero = checkPresignedRequest(vectorRequest(VECTOR.url.replace("X-Amz-Expires=60", "X-Amz-Expires=0"), headers), { now: new Date(signed + 14 * 60_000) });
    assert.ok(!isStsError(zero), JSON.stringify(zero));
    // dated in the future: STS allows 15 minutes of clock skew
    assert.equal(at(-14 * 60), "ok");
    assert.equal(at(-15 * 60 - 1), "SignatureDoesNotMatch: Signature not yet current: 20230428T000000Z is still later than 20230427T235959Z (20230427T234459Z + 15 min.)");
    assert.match(at(-16 * 60), /^SignatureDoesNotMatch: Signature not yet current: /);
  });
});

// ---------------------------------------------------------------------------------------------

interface SeedOut {
  user?: { arn: string; userId: string; accessKeyId: string; secretAccessKey: string; inactiveAccessKeyId?: string; inactiveSecretAccessKey?: string };
  role?: { arn: string; roleId: string };
  assumed?: { arn: string; assumedRoleId: string; accessKeyId: string; secretAccessKey: string; sessionToken: string };
}

interface Reply {
  status: number;
  contentType: string;
  body: string;
}

/** GET the token's path+query from the verifier, sending `headers` (Host included) as given. */
function send(verifier: StsVerifier, tokenUrl: string, headers: Record<string, string>): Promise<Reply> {
  const u = new URL(tokenUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: verifier.port, method: "GET", path: `${u.pathname}${u.search}`, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, contentType: res.headers["content-type"] ?? "", body: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

function xmlField(body: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(body)?.[1];
}

const fakeSecret = () => randomBytes(30).toString("base64").slice(0, 40);

describe("local STS verifier against moto_server and botocore-signed tokens", () => {
  let moto: MotoServer;
  let verifier: StsVerifier;
  const signedAt = new Date("2030-01-02T03:04:05Z");
  let clock = new Date(signedAt.getTime() + 1_000);
  let mainSeed: SeedOut;
  let otherSeed: SeedOut;
  let t: Record<string, Presigned>;

  const atHost = (p: Presigned, extra: Record<string, string> = {}) => ({ host: new URL(p.url).host, "x-k8s-aws-id": "test-cluster", ...extra });

  before(async () => {
    moto = await startMoto();
    verifier = await startStsVerifier({ motoUrl: moto.url, now: () => clock });
    [mainSeed, otherSeed] = await Promise.all([
      python<SeedOut>("moto_seed.py", {
        endpointUrl: moto.url,
        user: { name: "alice", path: "/dev/team/" },
        inactiveKey: true,
        role: { name: "deployer", path: "/svc/", sessionName: "eks-session" },
      }),
      python<SeedOut>("moto_seed.py", { endpointUrl: moto.url, accountId: "111111111111", user: { name: "alice", path: "/" } }),
    ]);
    const user = mainSeed.user!;
    const assumed = mainSeed.assumed!;
    const base = { region: "us-west-2", clusterId: "test-cluster", endpointUrl: verifier.url, now: signedAt.toISOString() };
    const specs: Record<string, PresignSpec> = {
      user: { ...base, accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey },
      assumed: { ...base, accessKeyId: assumed.accessKeyId, secretAccessKey: assumed.secretAccessKey, sessionToken: assumed.sessionToken },
      realHost: { ...base, endpointUrl: undefined, accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey },
      otherAccount: { ...base, accessKeyId: otherSeed.user!.accessKeyId, secretAccessKey: otherSeed.user!.secretAccessKey },
      forged: { ...base, accessKeyId: user.accessKeyId, secretAccessKey: fakeSecret() },
      wrongSecret: { ...base, accessKeyId: user.accessKeyId, secretAccessKey: assumed.secretAccessKey },
      unsignedCluster: { ...base, clusterId: null, accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey },
      unknownKey: { ...base, accessKeyId: "AKIAZZZZZZZZZZZZZZZZ", secretAccessKey: fakeSecret() },
      wrongSessionToken: { ...base, accessKeyId: assumed.accessKeyId, secretAccessKey: assumed.secretAccessKey, sessionToken: `${assumed.sessionToken.slice(0, -8)}AAAAAAA=` },
      userWithToken: { ...base, accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey, sessionToken: "not-a-session" },
      inactive: { ...base, accessKeyId: user.inactiveAccessKeyId!, secretAccessKey: user.inactiveSecretAccessKey! },
    };
    const names = Object.keys(specs);
    const out = await python<Presigned[]>("presign_eks_token.py", names.map((n) => specs[n]));
    t = Object.fromEntries(names.map((n, i) => [n, out[i]!]));
  });

  after(async () => {
    await verifier?.stop();
    await moto?.stop();
  });

  const withClock = async <T>(at: Date, fn: () => Promise<T>): Promise<T> => {
    clock = at;
    try {
      return await fn();
    } finally {
      clock = new Date(signedAt.getTime() + 1_000);
    }
  };

  const errorCode = async (p: Presigned, headers: Record<string, string>, url = p.url) => {
    const reply = await send(verifier, url, headers);
    assert.equal(reply.status, 403, reply.body);
    assert.match(reply.body, /<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">/);
    assert.equal(xmlField(reply.body, "Type"), "Sender");
    return xmlField(reply.body, "Code");
  };

  it("answers a valid IAM user token with the user's identity (XML)", async () => {
    const reply = await send(verifier, t.user!.url, atHost(t.user!));
    assert.equal(reply.status, 200, reply.body);
    assert.match(reply.contentType, /^text\/xml/);
    assert.match(reply.body, /^<GetCallerIdentityResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">/);
    assert.equal(xmlField(reply.body, "Arn"), "arn:aws:iam::123456789012:user/dev/team/alice");
    assert.equal(xmlField(reply.body, "Arn"), mainSeed.user!.arn);
    assert.equal(xmlField(reply.body, "UserId"), mainSeed.user!.userId);
    assert.equal(xmlField(reply.body, "Account"), "123456789012");
    assert.match(xmlField(reply.body, "RequestId") ?? "", /^[0-9a-f-]{36}$/);
  });

  it("answers JSON when asked with Accept: application/json", async () => {
    const reply = await send(verifier, t.user!.url, atHost(t.user!, { accept: "application/json" }));
    assert.equal(reply.status, 200, reply.body);
    assert.match(reply.contentType, /^application\/json/);
    const body = JSON.parse(reply.body) as { GetCallerIdentityResponse: { GetCallerIdentityResult: Record<string, string>; ResponseMetadata: { RequestId: string } } };
    assert.deepEqual(body.GetCallerIdentityResponse.GetCallerIdentityResult, {
      Arn: mainSeed.user!.arn,
      Account: "123456789012",
      UserId: mainSeed.user!.userId,
    });
    assert.ok(body.GetCallerIdentityResponse.ResponseMetadata.RequestId.length > 0);
  });

  it("answers a valid assumed-role token with the assumed-role ARN and <role id>:<session>", async () => {
    const reply = await send(verifier, t.assumed!.url, atHost(t.assumed!));
    assert.equal(reply.status, 200, reply.body);
    assert.equal(xmlField(reply.body, "Arn"), "arn:aws:sts::123456789012:assumed-role/deployer/eks-session");
    assert.equal(xmlField(reply.body, "Arn"), mainSeed.assumed!.arn);
    assert.equal(xmlField(reply.body, "UserId"), `${mainSeed.role!.roleId}:eks-session`);
    assert.equal(xmlField(reply.body, "UserId"), mainSeed.assumed!.assumedRoleId);
  });

  it("tells same-named users of different accounts apart", async () => {
    const reply = await send(verifier, t.otherAccount!.url, atHost(t.otherAccount!));
    assert.equal(reply.status, 200, reply.body);
    assert.equal(xmlField(reply.body, "Arn"), "arn:aws:iam::111111111111:user/alice");
    assert.equal(xmlField(reply.body, "UserId"), otherSeed.user!.userId);
  });

  it("verifies a token made for the real STS host when the request carries that Host", async () => {
    assert.ok(t.realHost!.url.startsWith("https://sts.us-west-2.amazonaws.com/?"), t.realHost!.url);
    const ok = await send(verifier, t.realHost!.url, atHost(t.realHost!));
    assert.equal(ok.status, 200, ok.body);
    assert.equal(await errorCode(t.realHost!, atHost(t.realHost!, { host: "sts.eu-west-1.amazonaws.com" })), "SignatureDoesNotMatch");
  });

  it("refuses a signature made with a random secret", async () => {
    assert.equal(await errorCode(t.forged!, atHost(t.forged!)), "SignatureDoesNotMatch");
  });

  it("refuses a signature made with another principal's secret", async () => {
    assert.equal(await errorCode(t.wrongSecret!, atHost(t.wrongSecret!)), "SignatureDoesNotMatch");
  });

  it("refuses a token presented for another cluster (x-k8s-aws-id differs from the signed one)", async () => {
    assert.equal(await errorCode(t.user!, atHost(t.user!, { "x-k8s-aws-id": "other-cluster" })), "SignatureDoesNotMatch");
  });

  it("refuses a tampered query parameter", async () => {
    const tampered = t.user!.url.replace("X-Amz-Expires=60", "X-Amz-Expires=61");
    assert.notEqual(tampered, t.user!.url);
    assert.equal(await errorCode(t.user!, atHost(t.user!), tampered), "SignatureDoesNotMatch");
  });

  it("accepts a botocore token (X-Amz-Expires=60) at 61 s and 14 min after X-Amz-Date, refuses it at 16 min", async () => {
    assert.match(t.user!.url, /X-Amz-Expires=60&/);
    for (const seconds of [61, 14 * 60]) {
      const ok = await withClock(new Date(signedAt.getTime() + seconds * 1000), () => send(verifier, t.user!.url, atHost(t.user!)));
      assert.equal(ok.status, 200, `${seconds} s: ${ok.body}`);
    }
    const late = await withClock(new Date(signedAt.getTime() + 16 * 60_000), () => send(verifier, t.user!.url, atHost(t.user!)));
    assert.equal(late.status, 403);
    assert.equal(xmlField(late.body, "Code"), "SignatureDoesNotMatch");
    assert.match(xmlField(late.body, "Message") ?? "", /^Signature expired: 20300102T030405Z is now earlier than 20300102T030505Z \(20300102T032005Z - 15 min\.\)$/);
  });

  it("refuses a token dated in the future beyond STS's 15 minutes of clock skew", async () => {
    const code = await withClock(new Date(signedAt.getTime() - 16 * 60_000), () => errorCode(t.user!, atHost(t.user!)));
    assert.equal(code, "SignatureDoesNotMatch");
    const within = await withClock(new Date(signedAt.getTime() - 14 * 60_000), () => send(verifier, t.user!.url, atHost(t.user!)));
    assert.equal(within.status, 200, within.body);
  });

  it("refuses duplicated query parameters, also in another letter case", async () => {
    assert.equal(await errorCode(t.user!, atHost(t.user!), `${t.user!.url}&Action=GetCallerIdentity`), "AccessDenied");
    assert.equal(await errorCode(t.user!, atHost(t.user!), `${t.user!.url}&x-amz-credential=eve`), "AccessDenied");
  });

  it("refuses a token whose signed headers do not include x-k8s-aws-id", async () => {
    assert.match(t.unsignedCluster!.url, /X-Amz-SignedHeaders=host&/);
    assert.equal(await errorCode(t.unsignedCluster!, atHost(t.unsignedCluster!)), "AccessDenied");
  });

  it("refuses a request that does not carry the signed x-k8s-aws-id header", async () => {
    assert.equal(await errorCode(t.user!, { host: new URL(t.user!.url).host }), "AccessDenied");
  });

  it("refuses unknown and inactive access keys", async () => {
    assert.equal(await errorCode(t.unknownKey!, atHost(t.unknownKey!)), "InvalidClientTokenId");
    assert.equal(await errorCode(t.inactive!, atHost(t.inactive!)), "InvalidClientTokenId");
  });

  it("refuses a session token that is not the assumed role's, and a session token on a user key", async () => {
    assert.equal(await errorCode(t.wrongSessionToken!, atHost(t.wrongSessionToken!)), "InvalidClientTokenId");
    assert.equal(await errorCode(t.userWithToken!, atHost(t.userWithToken!)), "InvalidClientTokenId");
  });

  it("answers errors in STS's JSON shape when asked for JSON", async () => {
    const reply = await send(verifier, t.forged!.url, atHost(t.forged!, { accept: "application/json" }));
    assert.equal(reply.status, 403);
    const body = JSON.parse(reply.body) as { Error: { Type: string; Code: string; Message: string }; RequestId: string };
    assert.equal(body.Error.Code, "SignatureDoesNotMatch");
    assert.equal(body.Error.Type, "Sender");
    assert.ok(body.RequestId.length > 0);
  });

  it("stateMaxAgeMs shares moto's state dump for that long (a benchmark's setting); by default a key made a moment ago is known at once", async () => {
    const shared = await startStsVerifier({ motoUrl: moto.url, now: () => clock, stateMaxAgeMs: 600_000 });
    const aging = await startStsVerifier({ motoUrl: moto.url, now: () => clock, stateMaxAgeMs: 200 });
    try {
      for (const v of [shared, aging]) assert.equal((await send(v, t.user!.url, atHost(t.user!))).status, 200, "state read once");
      const bob = await python<SeedOut>("moto_seed.py", { endpointUrl: moto.url, user: { name: "bob", path: "/" } });
      const [token] = await python<Presigned[]>("presign_eks_token.py", [{ region: "us-west-2", clusterId: "test-cluster", endpointUrl: verifier.url, now: signedAt.toISOString(), accessKeyId: bob.user!.accessKeyId, secretAccessKey: bob.user!.secretAccessKey }]);
      const reply = await send(verifier, token!.url, atHost(token!));
      assert.equal(reply.status, 200, "the default verifier reads moto for every request");
      assert.equal(xmlField(reply.body, "Arn"), bob.user!.arn);
      const stale = await send(shared, token!.url, atHost(token!));
      assert.equal(stale.status, 403);
      assert.equal(xmlField(stale.body, "Code"), "InvalidClientTokenId", "the shared dump predates bob's key");
      const later = await poll(() => send(aging, token!.url, atHost(token!)), (r) => r.status === 200, 50);
      assert.ok(later.held, "a dump older than stateMaxAgeMs is read again");
    } finally {
      await shared.stop();
      await aging.stop();
    }
  });

  it("never echoes a secret or the signature key material in its answers", async () => {
    const reply = await send(verifier, t.forged!.url, atHost(t.forged!));
    assert.ok(!reply.body.includes(mainSeed.user!.secretAccessKey));
  });
});
