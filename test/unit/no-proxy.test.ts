import { test } from "node:test";
import assert from "node:assert/strict";
import { bypassesProxy, httpsProxyFromEnv } from "../../src/core/no-proxy.js";

test("NO_PROXY: names, suffixes, ports, IPs, wildcard", () => {
  const np = "localhost,127.0.0.1, .internal.example.com,corp.local:8443,[::1]";
  assert.ok(bypassesProxy("localhost", 443, np));
  assert.ok(bypassesProxy("127.0.0.1", 6443, np));
  assert.ok(bypassesProxy("a.internal.example.com", 443, np));
  assert.ok(bypassesProxy("internal.example.com", 443, np));
  assert.ok(bypassesProxy("api.corp.local", 8443, np));
  assert.ok(!bypassesProxy("api.corp.local", 443, np), "port must match when given");
  assert.ok(bypassesProxy("::1", 443, np));
  assert.ok(!bypassesProxy("sts.us-west-2.amazonaws.com", 443, np));
  assert.ok(!bypassesProxy("notinternal.example.com", 443, "internal.example.com"));
  assert.ok(bypassesProxy("anything", 1, "*"));
  assert.ok(!bypassesProxy("anything", 1, undefined));
  assert.equal(httpsProxyFromEnv({ https_proxy: "http://p:1" }), "http://p:1");
  assert.equal(httpsProxyFromEnv({ HTTPS_PROXY: "http://P:1", https_proxy: "http://p:1" }), "http://P:1");
});
