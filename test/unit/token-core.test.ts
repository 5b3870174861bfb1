import { test } from "node:test";
import assert from "node:assert/strict";
import { assemblePresignedUrl, decodeToken, encodeToken, formatTimestamp, rfc3986, tokenExpiry } from "../../src/core/token.js";
import { stsTarget, partitionOf } from "../../src/core/sts-endpoint.js";
import { discoverApiVersion, renderExecCredential, V1, V1ALPHA1, V1BETA1 } from "../../src/core/exec-credential.js";
import { presignToken } from "../../src/adapters/token-signer.js";
import { cacheFileName, canonicalCacheKey, isReusable, parseCachedToken, REUSE_MARGIN_MS } from "../../src/core/token-cache-key.js";

test("aws-iam-authenticator TestGetWithSTS vector: same signature from our signer", async () => {
  // pkg/token/token_test.go: static credentials (no session token), us-west-2, test-cluster, 1682640000.
  const token = await presignToken({
    credentials: { accessKeyId: "ASIAR2TG44V6AS3ZZE7C", secretAccessKey: "4KD5cntGcVmLWRdF5wvNRuzNL5Qxmp6OKVY6Fz/Q" },
    target: stsTarget("us-west-2"),
    clusterIdHeader: "test-cluster",
    now: new Date(1682640000 * 1000),
  });
  const url = new URL(decodeToken(token));
  assert.equal(url.searchParams.get("X-Amz-Signature"), "e211dba77aba9dc44b0b6be38b8eaad092599c5157f6314444c5b9d85747f5ce");
  assert.equal(url.searchParams.get("X-Amz-Date"), "20230428T000000Z");
  assert.equal(url.searchParams.get("X-Amz-Credential"), "ASIAR2TG44V6AS3ZZE7C/20230428/us-west-2/sts/aws4_request");
});

test("rfc3986 encodes everything but unreserved characters", () => {
  assert.equal(rfc3986("a-_.~Z9"), "a-_.~Z9");
  assert.equal(rfc3986("host;x-k8s-aws-id"), "host%3Bx-k8s-aws-id");
  assert.equal(rfc3986("a/b+c=d!'()*"), "a%2Fb%2Bc%3Dd%21%27%28%29%2A");
});

test("query is assembled in botocore's order regardless of the signer's order", () => {
  const url = assemblePresignedUrl("https://sts.us-west-2.amazonaws.com", "/", {
    "X-Amz-Signature": "sig",
    "X-Amz-SignedHeaders": "host;x-k8s-aws-id",
    "X-Amz-Security-Token": "t/k",
    "X-Amz-Expires": "60",
    "X-Amz-Date": "20230428T000000Z",
    "X-Amz-Credential": "AK/20230428/us-west-2/sts/aws4_request",
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    Version: "2011-06-15",
    Action: "GetCallerIdentity",
  });
  assert.equal(
    url,
    "https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20230428%2Fus-west-2%2Fsts%2Faws4_request&X-Amz-Date=20230428T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Security-Token=t%2Fk&X-Amz-Signature=sig",
  );
  assert.throws(() => assemblePresignedUrl("https://h", "/", { Surprise: "1" }), /unexpected query parameter/);
});

test("token encoding is unpadded base64url and round-trips", () => {
  for (const url of ["https://a/?x=1", "https://sts.amazonaws.com/?Action=GetCallerIdentity&X=%3F%3F", "h"]) {
    const t = encodeToken(url);
    assert.match(t, /^k8s-aws-v1\.[A-Za-z0-9_-]+$/);
    assert.equal(decodeToken(t), url);
  }
  assert.throws(() => decodeToken("k8s-aws-v2.abc"), /does not start with/);
  assert.throws(() => decodeToken("k8s-aws-v1.ab+c"), /not base64url/);
});

test("STS endpoints per partition, global only without a region", () => {
  assert.deepEqual(stsTarget(undefined), { origin: "https://sts.amazonaws.com", path: "/", signingRegion: "us-east-1" });
  assert.equal(stsTarget("us-east-1").origin, "https://sts.us-east-1.amazonaws.com");
  assert.equal(stsTarget("cn-northwest-1").origin, "https://sts.cn-northwest-1.amazonaws.com.cn");
  assert.equal(stsTarget("us-iso-east-1").origin, "https://sts.us-iso-east-1.c2s.ic.gov");
  assert.equal(stsTarget("eu-west-1", "http://127.0.0.1:4566").origin, "http://127.0.0.1:4566");
  assert.equal(stsTarget("eu-west-1", "https://h:1/p").path, "/p");
  assert.equal(partitionOf("us-gov-east-1"), "aws-us-gov");
  assert.equal(partitionOf("cn-north-1"), "aws-cn");
});

test("expiry: now + 14 min, capped by the credentials' expiry", () => {
  const now = new Date("2024-01-01T10:00:00.500Z");
  assert.equal(formatTimestamp(tokenExpiry(now)), "2024-01-01T10:14:00Z");
  assert.equal(formatTimestamp(tokenExpiry(now, new Date("2024-01-01T10:05:07.900Z"))), "2024-01-01T10:05:07Z");
  assert.equal(formatTimestamp(tokenExpiry(now, new Date("2024-01-01T11:00:00Z"))), "2024-01-01T10:14:00Z");
});

test("KUBERNETES_EXEC_INFO handling matches the AWS CLI's decisions", () => {
  assert.deepEqual(discoverApiVersion(undefined), { apiVersion: V1BETA1 });
  assert.deepEqual(discoverApiVersion(""), { apiVersion: V1BETA1 });
  assert.deepEqual(discoverApiVersion(JSON.stringify({ apiVersion: V1, spec: { interactive: true } })), { apiVersion: V1 });
  assert.equal(discoverApiVersion(JSON.stringify({ apiVersion: V1ALPHA1 })).apiVersion, V1ALPHA1);
  assert.match(discoverApiVersion(JSON.stringify({ apiVersion: V1ALPHA1 })).warning!, /deprecated API version/);
  assert.match(discoverApiVersion("[").warning!, /^Error parsing KUBERNETES_EXEC_INFO/);
  assert.match(discoverApiVersion("null").warning!, /^Unrecognized API version/);
  assert.equal(renderExecCredential(V1, "tok", "2024-01-01T00:00:00Z"), '{\n    "kind": "ExecCredential",\n    "apiVersion": "client.authentication.k8s.io/v1",\n    "spec": {},\n    "status": {\n        "expirationTimestamp": "2024-01-01T00:00:00Z",\n        "token": "tok"\n    }\n}\n\n');
});

test("cache key: order-independent selectors, empty values ignored, any input change changes it", () => {
  const base = { clusterName: "c", region: "r", selectors: { B: "2", A: "1", E: "" }, configFingerprint: "f" };
  assert.equal(canonicalCacheKey(base), canonicalCacheKey({ ...base, selectors: { A: "1", B: "2" } }));
  const variants = [{ clusterName: "d" }, { region: "s" }, { roleArn: "x" }, { profile: "p" }, { externalId: "e" }, { sessionName: "s" }, { configFingerprint: "g" }, { envAccessKeyId: "h" }, { clusterId: "i" }];
  const keys = new Set(variants.map((v) => canonicalCacheKey({ ...base, ...v })));
  assert.equal(keys.size, variants.length);
  assert.ok(!keys.has(canonicalCacheKey(base)));
});

test("cached entries: validated shape, exact key, reuse margin", () => {
  const good = { v: 2, key: "K", token: "k8s-aws-v1.x", expirationTimestamp: "2024-01-01T10:14:00Z", expiresAt: Date.parse("2024-01-01T10:14:00Z") };
  assert.ok(parseCachedToken(good, "K"));
  assert.equal(parseCachedToken(good, "K2"), undefined, "an entry written for another key (a hash collision) is a miss");
  for (const bad of [null, 3, {}, { ...good, v: 1 }, { ...good, token: "x" }, { ...good, expiresAt: 5 }, { ...good, expiresAt: "1" }]) assert.equal(parseCachedToken(bad, "K"), undefined);
  const e = parseCachedToken(good, "K")!;
  assert.equal(isReusable(e, e.expiresAt - REUSE_MARGIN_MS), true);
  assert.equal(isReusable(e, e.expiresAt - REUSE_MARGIN_MS + 1), false);
});

test("cache file names: 128-bit hex, stable, spread", () => {
  assert.match(cacheFileName("x"), /^[0-9a-f]{32}\.json$/);
  assert.equal(cacheFileName("same"), cacheFileName("same"));
  const names = new Set(Array.from({ length: 5000 }, (_, i) => cacheFileName(`{"clusterName":"c${i}"}`)));
  assert.equal(names.size, 5000);
  assert.notEqual(cacheFileName("ab"), cacheFileName("ba"));
});
