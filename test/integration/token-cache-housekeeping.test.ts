/**
 * Token cache housekeeping: a write deletes entries whose token has expired (mtime over 15
 * minutes old: entries are written right after signing and a token lives 14 minutes), crashed
 * writers' temp files and abandoned lock files, looking at no more than SWEEP_BATCH names per
 * write; it never touches files eks-access did not make, nor fresh entries.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { baseEnv, runCli, tempDir } from "../helpers.js";
import { SWEEP_BATCH } from "../../src/adapters/token-cache.js";

const KEYS = { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", AWS_DEFAULT_REGION: "us-west-2" };
const hex = (i: number): string => i.toString(16).padStart(32, "0");

test("writes delete expired entries, old temp and lock files in bounded batches, and nothing else", () => {
  const t = tempDir();
  try {
    const dir = join(t.path, "cache");
    mkdirSync(dir, { mode: 0o700 });
    const hourAgo = new Date(Date.now() - 3_600_000 - 60_000);
    const old = (name: string): string => {
      writeFileSync(join(dir, name), "{}", { mode: 0o600 });
      utimesSync(join(dir, name), hourAgo, hourAgo);
      return name;
    };
    const expired = Array.from({ length: 40 }, (_, i) => old(`${hex(i)}.json`));
    expired.push(old(`.${hex(99)}.json.123.x.0.tmp`), old(`${hex(98)}.lock`));
    const keep = [old("notes.txt"), old("README"), `${hex(500)}.json`];
    writeFileSync(join(dir, keep[2]!), "{}", { mode: 0o600 }); // fresh (mtime now)
    const env = baseEnv({ ...KEYS, EKS_ACCESS_CACHE_DIR: dir });
    const left = (): string[] => readdirSync(dir).filter((f) => expired.includes(f));
    const r = runCli(["token", "--cluster-name", "c0"], { env });
    assert.equal(r.status, 0, r.stderr);
    const removed = expired.length - left().length;
    assert.ok(removed > 0, "one write removed some");
    assert.ok(removed <= SWEEP_BATCH, `one write looked at no more than ${SWEEP_BATCH} names (removed ${removed})`);
    let writes = 1;
    for (; writes <= 6 && left().length > 0; writes++) assert.equal(runCli(["token", "--cluster-name", `c${writes}`], { env }).status, 0);
    assert.deepEqual(left(), [], "a few more writes finish the job");
    const names = readdirSync(dir);
    for (const k of keep) assert.ok(names.includes(k), `${k} kept`);
    assert.equal(names.filter((n) => /^[0-9a-f]{32}\.json$/.test(n)).length, 1 + writes, "the fresh entry and each write's own entry remain");
  } finally {
    t.cleanup();
  }
});
