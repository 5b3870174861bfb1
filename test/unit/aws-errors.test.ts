/** SDK failures → one line: a request that never reached AWS names the endpoint, not credentials. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { awsError, networkFailure } from "../../src/adapters/aws-errors.js";
import { checkedEndpoint, endpointOverride } from "../../src/core/aws-env.js";

const netError = (code: string, extra: Record<string, unknown> = {}): Error => Object.assign(new Error(`connect ${code} 10.0.0.1:443`), { code, ...extra });

test("refused, unknown host, timeout, reset: 'could not reach <endpoint> (<code>)', the network hint, not the caller's", () => {
  for (const [err, code] of [
    [netError("ECONNREFUSED"), "ECONNREFUSED"],
    [netError("ENOTFOUND"), "ENOTFOUND"],
    [netError("ETIMEDOUT"), "ETIMEDOUT"],
    [netError("ECONNRESET"), "ECONNRESET"],
    [Object.assign(new Error("Connection timed out after 1000 ms"), { name: "TimeoutError" }), "TimeoutError"],
  ] as const) {
    assert.equal(networkFailure(err), code);
    const e = awsError(err, "eks:DescribeCluster demo failed", "check your credentials, region and eks:DescribeCluster permission", "https://eks.eu-west-1.amazonaws.com");
    assert.equal(e.message, `eks:DescribeCluster demo failed: could not reach https://eks.eu-west-1.amazonaws.com (${code})`);
    assert.doesNotMatch(e.line, /credentials|permission/);
    assert.match(e.line, /check the region and endpoint settings/);
  }
});

test("without a recorded endpoint the socket's host (and port) is named", () => {
  assert.match(awsError(netError("ECONNREFUSED", { address: "127.0.0.1", port: 9 }), "x", "h").message, /could not reach 127\.0\.0\.1:9 \(ECONNREFUSED\)/);
  assert.match(awsError(netError("ENOTFOUND", { hostname: "sts.nowhere.example" }), "x", "h").message, /could not reach sts\.nowhere\.example \(ENOTFOUND\)/);
});

test("a service exception keeps its AWS code and the caller's hint", () => {
  const e = awsError(Object.assign(new Error("User is not authorized\nmore"), { name: "AccessDeniedException" }), "eks:DescribeCluster demo failed", "check your permission");
  assert.equal(e.line, "eks:DescribeCluster demo failed (AccessDeniedException): User is not authorized; check your permission");
  assert.equal(networkFailure(e), undefined);
});

test("AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL that are not http(s) URLs name the variable", () => {
  assert.equal(endpointOverride("sts", { AWS_ENDPOINT_URL_STS: "http://127.0.0.1:5000", AWS_ENDPOINT_URL: "x" }), "http://127.0.0.1:5000");
  assert.equal(endpointOverride("sts", {}), undefined);
  for (const [env, name] of [
    [{ AWS_ENDPOINT_URL_STS: "not-a-url" }, "AWS_ENDPOINT_URL_STS"],
    [{ AWS_ENDPOINT_URL: "ftp://host" }, "AWS_ENDPOINT_URL"],
    [{ AWS_ENDPOINT_URL_EKS: "", AWS_ENDPOINT_URL: "localhost:4566" }, "AWS_ENDPOINT_URL"],
  ] as const) {
    assert.throws(() => endpointOverride(name.endsWith("STS") ? "sts" : "eks", env), (e: Error & { line?: string; kind?: string }) => {
      assert.match(e.line!, new RegExp(`^${name} is not an http\\(s\\) URL: ".*"; set it to an endpoint URL such as https://\\w+\\.us-west-2\\.amazonaws\\.com, or unset it$`));
      assert.equal(e.kind, "config");
      return true;
    });
  }
  assert.throws(() => checkedEndpoint("eks.local", "--endpoint-url", "eks"), (e: Error & { line?: string }) => /^--endpoint-url is not an http\(s\) URL: "eks.local"; .*or leave it out$/.test(e.line!));
});
