/** compose.ts awsSession: the credentials a long-running `serve` signs with are resolved again only near their expiration. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { awsSession } from "../../src/compose.js";

const envWith = (key: string, expiresInMs: number): Record<string, string> => ({
  AWS_CONFIG_FILE: "/dev/null",
  AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
  AWS_ACCESS_KEY_ID: key,
  AWS_SECRET_ACCESS_KEY: "not-a-secret",
  AWS_SESSION_TOKEN: "t",
  AWS_CREDENTIAL_EXPIRATION: new Date(Date.now() + expiresInMs).toISOString(),
});

test("fresh credentials are served as resolved at start; within 5 minutes of expiry they are resolved again, once for concurrent asks", async () => {
  const env = envWith("AKIDFIRST", 60 * 60_000);
  const s = await awsSession({ region: "us-west-2", env });
  assert.equal(s.region, "us-west-2");
  Object.assign(env, envWith("AKIDSECOND", 60 * 60_000));
  assert.equal((await s.credentials()).accessKeyId, "AKIDFIRST", "an hour left: not resolved again");

  const near = envWith("AKIDNEAR", 4 * 60_000);
  const s2 = await awsSession({ region: "us-west-2", env: near });
  Object.assign(near, envWith("AKIDRENEWED", 60 * 60_000));
  const [a, b] = await Promise.all([s2.credentials(), s2.credentials()]);
  assert.deepEqual([a.accessKeyId, b.accessKeyId], ["AKIDRENEWED", "AKIDRENEWED"]);
  Object.assign(near, envWith("AKIDLATER", 60 * 60_000));
  assert.equal((await s2.credentials()).accessKeyId, "AKIDRENEWED", "the renewed ones are fresh");
});
