/**
 * The published package: `npm pack` of the built dist/, installed into an empty prefix with no
 * registry (--offline: the bundles are self-contained, the package has no runtime dependencies),
 * answers --help and signs a token exactly as the working tree's build does. The tarball ships no
 * build metadata and no piece of code twice.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { baseEnv, repoRoot, run, runCli, tempDir, type Env } from "../helpers.js";

const t = tempDir("eks-access-pack-");
let files: string[] = [];
let installed = "";
const unpacked = join(t.path, "unpacked");

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
}

before(() => {
  // npm's own environment: PATH and a HOME for its cache; no registry is reached (--offline)
  const npmEnv: Env = { PATH: process.env["PATH"], HOME: process.env["HOME"], npm_config_update_notifier: "false" };
  const pack = run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", t.path], { env: npmEnv });
  assert.equal(pack.status, 0, pack.stderr);
  const tgz = join(t.path, (JSON.parse(pack.stdout) as Array<{ filename: string }>)[0]!.filename);
  const untar = run("tar", ["-xzf", tgz, "-C", t.path], { env: npmEnv });
  assert.equal(untar.status, 0, untar.stderr);
  run("mv", [join(t.path, "package"), unpacked], { env: npmEnv });
  files = walk(unpacked).map((f) => relative(unpacked, f));
  const prefix = join(t.path, "prefix");
  const install = run("npm", ["install", "-g", "--offline", "--no-audit", "--no-fund", "--prefix", prefix, tgz], { env: npmEnv });
  assert.equal(install.status, 0, install.stderr);
  installed = join(prefix, "bin", "eks-access");
});

after(() => t.cleanup());

test("the tarball holds the bundles, not the build's meta.json, and no file content twice", () => {
  assert.ok(files.includes("dist/main.cjs") && files.includes("dist/cli.js") && files.includes("dist/aws.js"), files.join(", "));
  assert.ok(files.some((f) => f.startsWith("dist/chunks/")), "control: the chunks are there");
  assert.deepEqual(files.filter((f) => /meta\.json$|\.ts$|^test\/|^src\//.test(f)), []);
  const byHash = new Map<string, string[]>();
  for (const f of files) {
    const h = createHash("sha256").update(readFileSync(join(unpacked, f))).digest("hex");
    byHash.set(h, [...(byHash.get(h) ?? []), f]);
  }
  assert.deepEqual([...byHash.values()].filter((same) => same.length > 1), []);
  const pkg = JSON.parse(readFileSync(join(unpacked, "package.json"), "utf8")) as { dependencies?: object };
  assert.equal(pkg.dependencies, undefined, "the bundles carry their dependencies");
});

test("no package module is bundled into more than one of the ES module outputs (cli.js and aws.js share chunks)", () => {
  type Meta = { outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> };
  const esm = (JSON.parse(readFileSync(join(repoRoot, "dist", "meta.json"), "utf8")) as { esm: Meta }).esm;
  const seen = new Map<string, string[]>();
  for (const [out, o] of Object.entries(esm.outputs)) {
    for (const [input, v] of Object.entries(o.inputs)) if (v.bytesInOutput > 0 && input.includes("node_modules/")) seen.set(input, [...(seen.get(input) ?? []), out]);
  }
  assert.ok(seen.size > 50, "control: the SDK modules were found");
  assert.deepEqual([...seen].filter(([, outs]) => outs.length > 1), []);
});

test("the installed copy: --help, and a token (flags before the command) byte-identical to the working tree's", () => {
  const help = run(installed, ["--help"], { env: baseEnv() });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /eks-access <command>[\s\S]*token[\s\S]*kubeconfig[\s\S]*whoami[\s\S]*sandbox/);
  const cache = tempDir();
  try {
    const env = baseEnv({ AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", AWS_DEFAULT_REGION: "eu-west-1", EKS_ACCESS_CACHE_DIR: cache.path });
    const frozenAt = "@2024-05-01 12:00:00";
    const ours = run(installed, ["--cluster-name", "prod", "token"], { env, frozenAt });
    assert.equal(ours.status, 0, ours.stderr);
    const tree = runCli(["token", "--cluster-name", "prod", "--no-cache"], { env, frozenAt });
    assert.equal(ours.stdout, tree.stdout);
    assert.match(JSON.parse(ours.stdout).status.token, /^k8s-aws-v1\./);
  } finally {
    cache.cleanup();
  }
});
