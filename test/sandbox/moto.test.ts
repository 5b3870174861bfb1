import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { accountIdFromAccessKeyId, motoState, parseMotoState, resetMoto, startMoto, type MotoServer } from "../../src/sandbox/emulator/moto.js";
import { liveGroupMembers } from "../../src/sandbox/cluster/peers.js";

const DEFAULT_ACCOUNT = "123456789012";

/** A query-protocol call to moto (it routes on the credential scope's service and does not check signatures by default). */
async function motoCall(url: string, service: "iam" | "sts", params: Record<string, string>, accountId?: string): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    authorization: `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=00`,
  };
  if (accountId !== undefined) headers["x-moto-account-id"] = accountId;
  const version = service === "iam" ? "2010-05-08" : "2011-06-15";
  const res = await fetch(`${url}/`, { method: "POST", headers, body: new URLSearchParams({ ...params, Version: version }).toString() });
  return { status: res.status, body: await res.text() };
}

function xml(body: string, tag: string): string {
  const value = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(body)?.[1];
  assert.ok(value !== undefined, `no <${tag}> in ${body}`);
  return value;
}

const TRUST = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }] });


describe("moto_server child process", () => {
  let moto: MotoServer;
  before(async () => {
    moto = await startMoto();
  });
  after(async () => {
    await moto?.stop();
  });

  it("listens on 127.0.0.1 and answers its state dump", async () => {
    assert.match(moto.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(moto.url, `http://127.0.0.1:${moto.port}`);
    const state = await motoState(moto.url);
    assert.deepEqual(state.users, []);
  });

  it("types users, keys, roles and assumed roles from data.json, across accounts", async () => {
    await motoCall(moto.url, "iam", { Action: "CreateUser", UserName: "alice", Path: "/dev/team/" });
    const key = await motoCall(moto.url, "iam", { Action: "CreateAccessKey", UserName: "alice" });
    await motoCall(moto.url, "iam", { Action: "CreateUser", UserName: "alice" }, "111111111111");
    const otherKey = await motoCall(moto.url, "iam", { Action: "CreateAccessKey", UserName: "alice" }, "111111111111");
    const role = await motoCall(moto.url, "iam", { Action: "CreateRole", RoleName: "deployer", Path: "/svc/", AssumeRolePolicyDocument: TRUST });
    const assumed = await motoCall(moto.url, "sts", { Action: "AssumeRole", RoleArn: xml(role.body, "Arn"), RoleSessionName: "s1" });
    assert.equal(assumed.status, 200, assumed.body);

    const state = await motoState(moto.url);
    const alice = state.users.find((u) => u.accountId === DEFAULT_ACCOUNT);
    assert.deepEqual(alice, {
      accountId: DEFAULT_ACCOUNT,
      arn: "arn:aws:iam::123456789012:user/dev/team/alice",
      id: alice?.id,
      name: "alice",
      path: "/dev/team/",
    });
    assert.ok(state.users.some((u) => u.accountId === "111111111111" && u.arn === "arn:aws:iam::111111111111:user/alice"));
    const k = state.accessKeys.find((a) => a.accessKeyId === xml(key.body, "AccessKeyId"));
    assert.deepEqual(k, { accessKeyId: xml(key.body, "AccessKeyId"), secretAccessKey: xml(key.body, "SecretAccessKey"), status: "Active", userName: "alice", roleArn: null });
    assert.equal(state.roles[0]?.id, xml(role.body, "RoleId"));
    assert.equal(state.roles[0]?.arn, "arn:aws:iam::123456789012:role/svc/deployer");

    const session = state.assumedRoles[0];
    assert.ok(session !== undefined);
    assert.equal(session.accessKeyId, xml(assumed.body, "AccessKeyId"));
    assert.equal(session.secretAccessKey, xml(assumed.body, "SecretAccessKey"));
    assert.equal(session.sessionToken, xml(assumed.body, "SessionToken"));
    assert.equal(session.arn, "arn:aws:sts::123456789012:assumed-role/deployer/s1", "moto drops the role path");
    assert.equal(session.roleArn, "arn:aws:iam::123456789012:role/svc/deployer");
    assert.equal(session.userId, `${xml(role.body, "RoleId")}:s1`);
    // The temporary key also shows up in iam.AccessKey, bound to the role instead of a user.
    assert.ok(state.accessKeys.some((a) => a.accessKeyId === session.accessKeyId && a.userName === null && a.roleArn === session.roleArn));

    // iam.AccessKey has no account id; the key id itself encodes it.
    assert.equal(accountIdFromAccessKeyId(xml(key.body, "AccessKeyId")), DEFAULT_ACCOUNT);
    assert.equal(accountIdFromAccessKeyId(xml(otherKey.body, "AccessKeyId")), "111111111111");
    assert.equal(accountIdFromAccessKeyId(session.accessKeyId), DEFAULT_ACCOUNT);
  });

  it("resets its state", async () => {
    await motoCall(moto.url, "iam", { Action: "CreateUser", UserName: "bob" });
    assert.ok((await motoState(moto.url)).users.length > 0);
    await resetMoto(moto.url);
    assert.deepEqual((await motoState(moto.url)).users, []);
  });
});

describe("moto_server lifecycle", () => {
  it("passes environment through (INITIAL_NO_AUTH_ACTION_COUNT=0 makes moto check signatures)", async () => {
    const strict = await startMoto({ env: { INITIAL_NO_AUTH_ACTION_COUNT: "0" } });
    try {
      const refused = await motoCall(strict.url, "iam", { Action: "ListUsers" });
      assert.equal(refused.status, 403, refused.body);
      assert.match(refused.body, /InvalidClientTokenId/);
    } finally {
      await strict.stop();
    }
    const lax = await startMoto();
    try {
      assert.equal((await motoCall(lax.url, "iam", { Action: "ListUsers" })).status, 200);
    } finally {
      await lax.stop();
    }
  });

  it("stop() leaves no process of the group behind and is idempotent", async () => {
    const moto = await startMoto();
    assert.ok((await liveGroupMembers(moto.pid)).includes(moto.pid));
    await moto.stop();
    assert.deepEqual(await liveGroupMembers(moto.pid), [], "nothing of the group runs any more (the watchdog shell may linger as a zombie until init reaps it)");
    await moto.stop();
    await assert.rejects(fetch(`${moto.url}/moto-api/data.json`));
  });

  it("reports a server that dies before answering, with its exit status", async () => {
    await assert.rejects(startMoto({ command: "false" }), /moto_server exited \(code 1\) before answering/);
    await assert.rejects(startMoto({ command: "/nonexistent/moto_server" }), /moto_server exited \(code 127\) before answering on http:\/\/127\.0\.0\.1:\d+: .*\/nonexistent\/moto_server: not found/);
  });

  it("decodes account ids from access key ids and refuses other shapes", () => {
    assert.equal(accountIdFromAccessKeyId("ASIAR2TG44V6AS3ZZE7C"), "125843596668");
    assert.equal(accountIdFromAccessKeyId("AKIA"), undefined);
    assert.equal(accountIdFromAccessKeyId("AKIA0000000000000000"), undefined);
  });

  it("parses an empty or partial dump and rejects a malformed one", () => {
    assert.deepEqual(parseMotoState({}), { users: [], roles: [], accessKeys: [], assumedRoles: [] });
    assert.throws(() => parseMotoState({ iam: { User: [{ name: 1 }] } }), /iam\.User\.account_id is not a string/);
    assert.throws(() => parseMotoState([]), /not a JSON object/);
  });
});
