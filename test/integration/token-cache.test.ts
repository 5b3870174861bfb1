/** The cross-process token cache: reuse window, safety checks, atomic writes, key coverage. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, chownSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { baseEnv, cliPath, runAsync, runCli, tempDir, type Env } from "../helpers.js";

const KEYS: Env = { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", AWS_DEFAULT_REGION: "us-west-2" };
const ARGS = ["token", "--cluster-name", "demo"];

function setup(extra: Env = {}): { env: Env; dir: string; cleanup(): void } {
  const t = tempDir();
  const dir = join(t.path, "cache");
  return { env: baseEnv({ ...KEYS, EKS_ACCESS_CACHE_DIR: dir, ...extra }), dir, cleanup: t.cleanup };
}

const tokenOf = (stdout: string): string => JSON.parse(stdout).status.token as string;
const files = (dir: string): string[] => readdirSync(dir).sort();

test("a token is reused while 5+ minutes of validity remain, then re-signed", () => {
  const s = setup();
  try {
    const first = runCli(ARGS, { env: s.env, frozenAt: "2024-01-01 10:00:00" });
    assert.equal(first.status, 0, first.stderr);
    const later = runCli(ARGS, { env: s.env, frozenAt: "2024-01-01 10:08:59" });
    assert.equal(tokenOf(later.stdout), tokenOf(first.stdout), "cache hit inside the window");
    assert.equal(JSON.parse(later.stdout).status.expirationTimestamp, "2024-01-01T10:14:00Z", "the cached expiry, not a new one");
    const tooLate = runCli(ARGS, { env: s.env, frozenAt: "2024-01-01 10:09:01" });
    assert.notEqual(tokenOf(tooLate.stdout), tokenOf(first.stdout), "re-signed when less than 5 minutes remain");
    assert.equal(JSON.parse(tooLate.stdout).status.expirationTimestamp, "2024-01-01T10:23:01Z");
    const noCache = runCli([...ARGS, "--no-cache"], { env: s.env, frozenAt: "2024-01-01 10:09:30" });
    assert.notEqual(tokenOf(noCache.stdout), tokenOf(tooLate.stdout), "--no-cache never reads");
  } finally {
    s.cleanup();
  }
});

test("directory is 0700 and entries 0600, holding only the token and its expiry", () => {
  const s = setup();
  try {
    const r = runCli(ARGS, { env: s.env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(statSync(s.dir).mode & 0o777, 0o700);
    const [name, ...rest] = files(s.dir);
    assert.equal(rest.length, 0);
    assert.match(name!, /^[0-9a-f]{32}\.json$/);
    assert.equal(statSync(join(s.dir, name!)).mode & 0o777, 0o600);
    const entry = JSON.parse(readFileSync(join(s.dir, name!), "utf8"));
    assert.deepEqual(Object.keys(entry).sort(), ["expirationTimestamp", "expiresAt", "key", "token", "v"]);
    assert.doesNotMatch(readFileSync(join(s.dir, name!), "utf8"), /wJalrXUtnFEMI/, "no secret key in the cache");
    assert.equal(r.stderr, "");
  } finally {
    s.cleanup();
  }
});

test("the key covers cluster, region, role, profile, endpoint and credentials", () => {
  const s = setup();
  try {
    const variants: Array<{ args: string[]; env?: Env }> = [
      { args: ARGS },
      { args: ["token", "--cluster-name", "other"] },
      { args: [...ARGS, "--region", "eu-west-1"] },
      { args: ARGS, env: { AWS_ENDPOINT_URL_STS: "http://127.0.0.1:1" } },
      { args: ARGS, env: { AWS_ACCESS_KEY_ID: "AKIDOTHER" } },
      { args: ARGS, env: { AWS_DEFAULT_REGION: "eu-central-1" } },
      { args: ["token", "--cluster-id", "0123-demo"] },
    ];
    const tokens = new Set<string>();
    for (const v of variants) {
      const r = runCli(v.args, { env: { ...s.env, ...v.env }, frozenAt: "2024-01-01 10:00:00" });
      assert.equal(r.status, 0, r.stderr);
      tokens.add(tokenOf(r.stdout));
    }
    assert.equal(tokens.size, variants.length, "every variant got its own token");
    assert.equal(files(s.dir).length, variants.length, "and its own cache entry");
  } finally {
    s.cleanup();
  }
});

function plantAndCheck(mutate: (file: string) => void, why: string): void {
  const s = setup();
  try {
    const first = runCli(ARGS, { env: s.env, frozenAt: "2024-01-01 10:00:00" });
    const [name] = files(s.dir);
    const file = join(s.dir, name!);
    const key = JSON.parse(readFileSync(file, "utf8")).key;
    const planted = { v: 2, key, token: "k8s-aws-v1.planted", expirationTimestamp: "2099-01-01T00:00:00Z", expiresAt: Date.parse("2099-01-01T00:00:00Z") };
    writeFileSync(file, JSON.stringify(planted));
    mutate(file);
    const r = runCli(ARGS, { env: s.env, frozenAt: "2024-01-01 10:01:00" });
    assert.equal(r.status, 0, r.stderr);
    assert.notEqual(tokenOf(r.stdout), "k8s-aws-v1.planted", `${why}: the planted entry must not be trusted`);
    assert.notEqual(tokenOf(r.stdout), tokenOf(first.stdout));
    const st = statSync(file);
    assert.equal(st.mode & 0o777, 0o600, `${why}: replaced with a 0600 file`);
    assert.equal(st.uid, process.getuid!(), `${why}: replaced by one of ours`);
    assert.notEqual(JSON.parse(readFileSync(file, "utf8")).token, "k8s-aws-v1.planted");
  } finally {
    s.cleanup();
  }
}

test("control: a well-formed own 0600 entry is trusted", () => {
  const s = setup();
  try {
    runCli(ARGS, { env: s.env, frozenAt: "2024-01-01 10:00:00" });
    const [name] = files(s.dir);
    const file = join(s.dir, name!);
    const key = JSON.parse(readFileSync(file, "utf8")).key;
    writeFileSync(file, JSON.stringify({ v: 2, key, token: "k8s-aws-v1.planted", expirationTimestamp: "2099-01-01T00:00:00Z", expiresAt: Date.parse("2099-01-01T00:00:00Z") }), { mode: 0o600 });
    const r = runCli(ARGS, { env: s.env, frozenAt: "2024-01-01 10:01:00" });
    assert.equal(tokenOf(r.stdout), "k8s-aws-v1.planted");
  } finally {
    s.cleanup();
  }
});

test("a world-readable cache file is ignored and replaced", () => plantAndCheck((f) => chmodSync(f, 0o644), "world-readable"));
test("a group-writable cache file is ignored and replaced", () => plantAndCheck((f) => chmodSync(f, 0o620), "group-writable"));
test("a corrupt cache file is ignored and replaced", () => plantAndCheck((f) => writeFileSync(f, "{not json", { mode: 0o600 }), "corrupt"));
test("a cache file of another shape is ignored and replaced", () =>
  plantAndCheck((f) => writeFileSync(f, JSON.stringify({ v: 2, key: JSON.parse(readFileSync(f, "utf8")).key, token: "k8s-aws-v1.x", expirationTimestamp: "2099-01-01T00:00:00Z", expiresAt: 1 }), { mode: 0o600 }), "inconsistent"));
test("an entry written for another key under this name is ignored and replaced", () =>
  plantAndCheck((f) => writeFileSync(f, JSON.stringify({ v: 2, key: "another key", token: "k8s-aws-v1.planted", expirationTimestamp: "2099-01-01T00:00:00Z", expiresAt: Date.parse("2099-01-01T00:00:00Z") }), { mode: 0o600 }), "foreign key"));
test("a foreign-owned cache file is ignored and replaced", { skip: process.getuid?.() !== 0 ? "needs root to chown" : false }, () =>
  plantAndCheck((f) => {
    chmodSync(f, 0o600);
    chownSync(f, 65534, 65534);
  }, "foreign-owned"));

test("a cache directory owned by someone else is not used (warning, still a token)", { skip: process.getuid?.() !== 0 ? "needs root to chown" : false }, () => {
  const s = setup();
  try {
    mkdirSync(s.dir, { mode: 0o700 });
    chownSync(s.dir, 65534, 65534);
    const r = runCli(ARGS, { env: s.env });
    assert.equal(r.status, 0);
    assert.ok(tokenOf(r.stdout).startsWith("k8s-aws-v1."));
    assert.match(r.stderr, /not a directory owned by you; caching is off/);
    assert.deepEqual(files(s.dir), []);
  } finally {
    s.cleanup();
  }
});

test("concurrent cold calls all succeed and leave exactly one complete entry", async () => {
  const s = setup();
  try {
    const results = await Promise.all(Array.from({ length: 12 }, () => runAsync(cliPath, ARGS, s.env)));
    for (const r of results) {
      assert.equal(r.status, 0, r.stderr);
      assert.ok(tokenOf(r.stdout).startsWith("k8s-aws-v1."));
    }
    const left = files(s.dir);
    assert.equal(left.length, 1, `no temp files left behind: ${left.join(",")}`);
    const entry = JSON.parse(readFileSync(join(s.dir, left[0]!), "utf8"));
    assert.ok(results.some((r) => tokenOf(r.stdout) === entry.token), "the entry is one of the tokens handed out");
    const again = runCli(ARGS, { env: s.env });
    assert.equal(tokenOf(again.stdout), entry.token);
  } finally {
    s.cleanup();
  }
});

test("credentials that expire sooner shorten the token's expiry", () => {
  const s = setup({ AWS_SESSION_TOKEN: "session", AWS_CREDENTIAL_EXPIRATION: "2024-01-01T10:03:30Z" });
  try {
    const r = runCli(ARGS, { env: s.env, frozenAt: "2024-01-01 10:00:00" });
    assert.equal(JSON.parse(r.stdout).status.expirationTimestamp, "2024-01-01T10:03:30Z");
    const again = runCli(ARGS, { env: s.env, frozenAt: "2024-01-01 10:00:10" });
    assert.notEqual(tokenOf(again.stdout), tokenOf(r.stdout), "a token about to die with its credentials is not reused");
  } finally {
    s.cleanup();
  }
});

test("editing the AWS config file starts a new entry (profiles may now mean other identities)", () => {
  const s = setup();
  try {
    const config = join(s.dir, "..", "config");
    writeFileSync(config, "[default]\nregion = us-west-2\n");
    const env = { ...s.env, AWS_CONFIG_FILE: config };
    const a = runCli(ARGS, { env, frozenAt: "2024-01-01 10:00:00" });
    const hit = runCli(ARGS, { env, frozenAt: "2024-01-01 10:00:30" });
    assert.equal(tokenOf(hit.stdout), tokenOf(a.stdout));
    writeFileSync(config, "[default]\nregion = us-west-2\n# edited\n");
    const b = runCli(ARGS, { env, frozenAt: "2024-01-01 10:00:30" });
    assert.notEqual(tokenOf(b.stdout), tokenOf(a.stdout));
  } finally {
    s.cleanup();
  }
});

test("AWS_CONFIG_FILE=/dev/null does not defeat the cache (its mtime moves with every write to it)", () => {
  const s = setup({ AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null" });
  try {
    const a = runCli(ARGS, { env: s.env, frozenAt: "2024-01-01 10:00:00" });
    writeFileSync("/dev/null", "touch");
    const b = runCli(ARGS, { env: s.env, frozenAt: "2024-01-01 10:00:30" });
    assert.equal(tokenOf(b.stdout), tokenOf(a.stdout));
  } finally {
    s.cleanup();
  }
});
