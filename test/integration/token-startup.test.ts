/**
 * What a `token` call loads — the reason it starts fast (bench/ measures the time itself):
 * a cache hit runs dist/main.cjs (bin/eks-access links to it) on node:fs/os/path only; a miss with environment
 * credentials adds dist/sign.cjs through its V8 code cache, without node:crypto, without the ESM
 * loader and without the SDK's credential chain. Also the pieces that make that work: the code
 * cache loader (accepted, rejected, missing, written) and the deferred node:crypto stand-in.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Script } from "node:vm";
import * as nodeCrypto from "node:crypto";
import { baseEnv, repoRoot, run, runCli, tempDir, type Env } from "../helpers.js";
import { codeCacheFile, loadWithCodeCache } from "../../src/adapters/code-cache.js";
import * as deferred from "../../src/adapters/deferred-crypto.js";
import * as source from "../../src/sign-part.js";

const KEYS: Env = { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", AWS_DEFAULT_REGION: "us-west-2" };
const dist = join(repoRoot, "dist");
type Signer = typeof source;

/** Runs the CLI with a preloaded probe that records, at exit, the builtins and files it loaded. */
function probe(args: string[], env: Env): { builtins: string[]; files: string[]; stdout: string } {
  const t = tempDir();
  try {
    const probeFile = join(t.path, "probe.cjs");
    const out = join(t.path, "loaded.json");
    writeFileSync(
      probeFile,
      `const before = new Set(process.moduleLoadList);
process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(out)}, JSON.stringify({
  builtins: process.moduleLoadList.filter((m) => !before.has(m)),
  files: Object.keys(require.cache).filter((f) => f !== __filename),
})));`,
    );
    const r = runCli(args, { env: { ...env, NODE_OPTIONS: `--require ${probeFile}` } });
    assert.equal(r.status, 0, r.stderr);
    return { ...(JSON.parse(readFileSync(out, "utf8")) as { builtins: string[]; files: string[] }), stdout: r.stdout };
  } finally {
    t.cleanup();
  }
}

const HEAVY = [/\bcrypto\b/, /esm\/loader/, /\bstream\b/, /\bnet\b/, /\bhttps?\b/, /\btls\b/];
const heavy = (builtins: string[]): string[] => builtins.filter((m) => HEAVY.some((re) => re.test(m)));
// bin/eks-access is a symlink to dist/main.cjs: Node loads the one file, under its real name
const MAIN_FILES = [join(dist, "main.cjs")];

test("a cache hit loads dist/main.cjs only, and no builtin beyond node:os (no crypto, vm, streams, ESM loader)", () => {
  const t = tempDir();
  try {
    const env = baseEnv({ ...KEYS, EKS_ACCESS_CACHE_DIR: join(t.path, "cache") });
    const miss = probe(["token", "--cluster-name", "demo"], env);
    const hit = probe(["token", "--cluster-name", "demo"], env);
    assert.equal(hit.stdout, miss.stdout, "the second call is served from the cache");
    assert.deepEqual(hit.files, MAIN_FILES);
    assert.deepEqual(heavy(hit.builtins), []);
    assert.ok(!hit.builtins.includes("NativeModule vm"), hit.builtins.join(", "));
    assert.ok(miss.builtins.includes("NativeModule vm"), "control: the miss did load the signer (through node:vm)");
    // the miss also took the token lock (lock files, from sign.cjs) and swept the cache: still no heavy builtin
    assert.deepEqual(heavy(miss.builtins), [], miss.builtins.join(", "));
    assert.deepEqual(miss.files, MAIN_FILES);
  } finally {
    t.cleanup();
  }
});

test("a cold call with environment credentials loads no node:crypto, no ESM loader and no SDK credential chain", () => {
  const r = probe(["token", "--cluster-name", "demo", "--no-cache"], baseEnv(KEYS));
  assert.match(JSON.parse(r.stdout).status.token, /^k8s-aws-v1\./);
  assert.deepEqual(heavy(r.builtins), [], r.builtins.join(", "));
  assert.deepEqual(r.files, MAIN_FILES, "sign.cjs comes in through vm.Script, aws.js not at all");
});

test("control: a profile does load the SDK part (so the probe above can see a load)", () => {
  const t = tempDir();
  try {
    const creds = join(t.path, "credentials");
    writeFileSync(creds, `[p]\naws_access_key_id = ${KEYS["AWS_ACCESS_KEY_ID"]}\naws_secret_access_key = ${KEYS["AWS_SECRET_ACCESS_KEY"]}\n`);
    const r = probe(["token", "--cluster-name", "demo", "--no-cache", "--profile", "p"], baseEnv({ AWS_SHARED_CREDENTIALS_FILE: creds, AWS_DEFAULT_REGION: "us-west-2" }));
    assert.ok(r.builtins.some((m) => /esm\/loader/.test(m)), r.builtins.join(", "));
  } finally {
    t.cleanup();
  }
});

test("the bundles hold what their paths need: main.cjs no package code at all, sign.cjs only the smithy signer", () => {
  type Meta = { outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> };
  const meta = JSON.parse(readFileSync(join(dist, "meta.json"), "utf8")) as Record<string, Meta>;
  // the modules that put code into the part's file (tree-shaken ones have 0 bytes in it)
  const inputs = (part: string): string[] =>
    Object.entries(meta[part]!.outputs[`dist/${part}.cjs`]!.inputs)
      .filter(([, v]) => v.bytesInOutput > 0)
      .map(([f]) => f);
  assert.deepEqual(inputs("main").filter((f) => f.includes("node_modules")), []);
  const signPackages = new Set(inputs("sign").filter((f) => f.includes("node_modules")).map((f) => f.split("/").slice(1, 3).join("/")));
  assert.deepEqual([...signPackages].sort(), ["@smithy/core", "@smithy/signature-v4"]);
  assert.ok(inputs("sign").includes("src/adapters/deferred-crypto.ts"), "node:crypto is routed through the deferred stand-in");
});

test("the SDK part imports the STS client and the proxy code only when needed (--role-arn; HTTPS_PROXY or AWS_CA_BUNDLE)", () => {
  type Out = { imports?: Array<{ path: string; kind: string; external?: boolean }>; inputs: Record<string, { bytesInOutput: number }> };
  const outputs = (JSON.parse(readFileSync(join(dist, "meta.json"), "utf8")) as { esm: { outputs: Record<string, Out> } }).esm.outputs;
  const closure = new Set<string>();
  const walk = (file: string): void => {
    if (closure.has(file)) return;
    closure.add(file);
    for (const i of outputs[file]?.imports ?? []) if (i.kind === "import-statement" && !i.external) walk(i.path);
  };
  walk("dist/aws.js");
  const inputs = [...closure].flatMap((f) => Object.keys(outputs[f]!.inputs));
  assert.ok(inputs.includes("src/adapters/credentials.ts"), "control: the closure holds the credential code");
  for (const lazy of ["src/adapters/sts.ts", "src/adapters/http-proxy.ts"]) assert.ok(!inputs.includes(lazy), `${lazy} is loaded statically`);
  assert.deepEqual(inputs.filter((f) => /client-sts|https-proxy-agent/.test(f)), []);
});

/** The signer as dist/main.cjs loads it, from a copy of dist/sign.cjs with the given cache file. */
function loadCopy(cache: Buffer | "none"): { signer: Signer; rejected: boolean | undefined; cleanup(): void } {
  const t = tempDir();
  const bundle = join(t.path, "sign.cjs");
  copyFileSync(join(dist, "sign.cjs"), bundle);
  if (cache !== "none") writeFileSync(codeCacheFile(bundle), cache);
  const loaded = loadWithCodeCache<Signer>(bundle, { require: createRequire(join(dist, "main.cjs")), Script });
  return { signer: loaded.exports, rejected: loaded.cacheRejected, cleanup: t.cleanup };
}

const INPUT = { clusterName: "demo", noCache: true };
const AT = new Date("2024-05-01T12:00:00Z");
const noAws = async (): Promise<never> => {
  throw new Error("environment credentials must not need the SDK part");
};
const sign = (s: Signer): Promise<string> => s.signToken(INPUT, AT, { env: KEYS, loadAws: noAws }).then((r) => r.token);

test("the build's code cache is accepted by this Node, and the bundle signs exactly as the TypeScript source", async () => {
  const built = readFileSync(codeCacheFile(join(dist, "sign.cjs")));
  const withCache = loadCopy(built);
  try {
    assert.equal(withCache.rejected, false);
    assert.equal(await sign(withCache.signer), await sign(source));
  } finally {
    withCache.cleanup();
  }
});

test("a corrupt code cache is rejected by V8 and a missing one skipped: the bundle compiles from source, same token", async () => {
  const expected = await sign(source);
  for (const [cache, rejected] of [[Buffer.from("not a V8 code cache, just bytes".repeat(20)), true], ["none", undefined]] as const) {
    const l = loadCopy(cache);
    try {
      assert.equal(l.rejected, rejected);
      assert.equal(await sign(l.signer), expected);
    } finally {
      l.cleanup();
    }
  }
});

test("EKS_ACCESS_BUILD_CODE_CACHE=1 writes a cache after one signing, which V8 then accepts", () => {
  const t = tempDir();
  try {
    for (const f of ["main.cjs", "sign.cjs"]) copyFileSync(join(dist, f), join(t.path, f));
    const mainCopy = join(t.path, "main.cjs");
    const made = run(process.execPath, [mainCopy, "token", "--cluster-name", "demo", "--no-cache"], { env: baseEnv({ ...KEYS, EKS_ACCESS_BUILD_CODE_CACHE: "1" }) });
    assert.equal(made.status, 0, made.stderr);
    const file = codeCacheFile(join(t.path, "sign.cjs"));
    assert.ok(existsSync(file));
    const loaded = loadWithCodeCache<Signer>(join(t.path, "sign.cjs"), { require: createRequire(mainCopy), Script });
    assert.equal(loaded.cacheRejected, false);
    const plain = run(process.execPath, [mainCopy, "token", "--cluster-name", "demo", "--no-cache"], { env: baseEnv(KEYS) });
    assert.equal(plain.status, 0, plain.stderr);
  } finally {
    t.cleanup();
  }
});

test("the deferred node:crypto stand-in gives the real functions' results", () => {
  assert.equal(deferred.createHash("sha256").update("abc").digest("hex"), nodeCrypto.createHash("sha256").update("abc").digest("hex"));
  assert.equal(deferred.createHmac("sha256", "k").update("m").digest("hex"), nodeCrypto.createHmac("sha256", "k").update("m").digest("hex"));
  const bytes = deferred.getRandomValues(new Uint8Array(32));
  assert.equal(bytes.length, 32);
  assert.ok(bytes.some((b) => b !== 0));
});
