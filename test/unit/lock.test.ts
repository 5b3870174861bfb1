/** Lock files (src/adapters/lock.ts): mutual exclusion, waiting on a live holder, stale takeover, the bound. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { acquireLock, lockFileFor } from "../../src/adapters/lock.js";
import { EksAccessError } from "../../src/core/errors.js";
import { tempDir } from "../helpers.js";

test("a second acquirer waits until the first releases; the file is 0600 and gone afterwards", async () => {
  const t = tempDir();
  try {
    const order: string[] = [];
    const releaseA = await acquireLock(t.path, "k");
    const file = lockFileFor(t.path, "k");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    let waited = false;
    const b = acquireLock(t.path, "k", { onWait: () => (waited = true) }).then((release) => {
      order.push("b");
      return release;
    });
    // b cannot get it while a holds it: let b poll, then release a
    while (!waited) await new Promise((r) => setTimeout(r, 5));
    order.push("a-release");
    releaseA();
    (await b)();
    assert.deepEqual(order, ["a-release", "b"]);
    assert.ok(!existsSync(file));
  } finally {
    t.cleanup();
  }
});

test("a lock left by a dead process is taken over; another lock name is independent", async () => {
  const t = tempDir();
  try {
    const file = lockFileFor(t.path, "k");
    writeFileSync(file, "999999 dead.0\n", { mode: 0o600 });
    const release = await acquireLock(t.path, "k", { isAlive: (pid) => pid !== 999999 });
    assert.match(readFileSync(file, "utf8"), new RegExp(`^${process.pid} `));
    const other = await acquireLock(t.path, "other");
    other();
    release();
  } finally {
    t.cleanup();
  }
});

test("a live holder is waited for only up to the bound, then a one-line error names the pid and the file", async () => {
  const t = tempDir();
  try {
    const file = lockFileFor(t.path, "k");
    writeFileSync(file, "4242 live.0\n", { mode: 0o600 });
    await assert.rejects(
      acquireLock(t.path, "k", { timeoutMs: 50, isAlive: () => true }),
      (err: unknown) => EksAccessError.is(err) && err.line.includes("pid 4242") && err.line.includes(file) && !err.line.includes("\n"),
    );
    assert.equal(readFileSync(file, "utf8"), "4242 live.0\n", "a live holder's lock is left alone");
  } finally {
    t.cleanup();
  }
});

test("release removes only its own lock (not one that replaced it)", async () => {
  const t = tempDir();
  try {
    const release = await acquireLock(t.path, "k");
    const file = lockFileFor(t.path, "k");
    writeFileSync(file, "1 someone-else\n");
    release();
    assert.equal(readFileSync(file, "utf8"), "1 someone-else\n");
  } finally {
    t.cleanup();
  }
});
