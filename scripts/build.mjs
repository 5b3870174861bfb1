// Bundles the CLI with esbuild in four parts:
//  - dist/main.cjs: the entry and the `token` cache-hit path, CommonJS and self-contained: a hit
//    runs only node:fs/os/path and the pure core;
//  - dist/sign.cjs (+ its V8 code cache): the cache-miss path (SigV4 signer), CommonJS, loaded only
//    on a miss (no ESM loader, node:crypto deferred);
//  - dist/aws.js: the SDK credential chain and STS, for profiles/SSO/--role-arn;
//  - dist/cli.js: every other command; both with the AWS SDK split into chunks they share, so each
//    loads what it uses and the package holds each piece once.
// The parts are loaded at run time (src/parts.ts: sign.cjs through node:vm, the ES module parts with
// import()), so no part's code leaks into another.
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

rmSync("dist", { recursive: true, force: true });
const common = {
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // prefer the packages' ESM builds: named exports survive dynamic import() and tree-shaking works
  mainFields: ["module", "main"],
  minify: true,
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
};
// CommonJS starts measurably faster than an ES module in Node 20 (no ESM loader on the hit path).
const commonJs = {
  ...common,
  format: "cjs",
  outExtension: { ".js": ".cjs" },
  outdir: "dist",
  splitting: false,
  define: { "import.meta": "__eksMeta", __EKS_CJS__: "true" },
  // computed only when used: pathToFileURL at start-up would cost every call ~0.5 ms
  banner: { js: "const __eksMeta={get url(){return require('node:url').pathToFileURL(__filename).href}};" },
};
// main.cjs is the executable itself (bin/eks-access is a symlink to it; package.json "bin" names
// it): a wrapper file in front of it cost every call ~2 ms (one more module to resolve, read and
// compile, and a package.json lookup to learn its module type).
const main = await build({ ...commonJs, entryPoints: { main: "src/cli/main.ts" }, banner: { js: `#!/usr/bin/env node\n${commonJs.banner.js}` } });
chmodSync("dist/main.cjs", 0o755);
// The token cache-miss path (SigV4 signer), loaded by main.cjs only on a miss. node:crypto, which
// @smithy/core imports at its top level but the signer never uses (it hashes in JS), is deferred
// to first use (src/adapters/deferred-crypto.ts); `crypto` (the global, webcrypto) is hidden
// from the bundle for the same reason: touching it loads node:crypto too.
const deferCrypto = {
  name: "defer-node-crypto",
  setup(b) {
    b.onResolve({ filter: /^(node:)?crypto$/ }, (args) =>
      args.importer.includes("/node_modules/") ? { path: resolve("src/adapters/deferred-crypto.ts") } : undefined,
    );
  },
};
const sign = await build({
  ...commonJs,
  entryPoints: { sign: "src/sign-part.ts" },
  plugins: [deferCrypto],
  define: { ...commonJs.define, crypto: "undefined" },
});
// main.cjs loads sign.cjs with vm.Script and a V8 code cache (src/adapters/code-cache.ts): no
// import() there, and no eager node:crypto.
const signCode = readFileSync("dist/sign.cjs", "utf8");
if (/\bimport\(/.test(signCode)) throw new Error("dist/sign.cjs must not use import(): it runs under vm.Script");
if (/require\("(node:)?crypto"\)/.test(signCode)) {
  throw new Error("dist/sign.cjs requires node:crypto eagerly; route it through src/adapters/deferred-crypto.ts");
}
// The ES module parts, cli.js (every other command) and aws.js (the SDK credential chain and STS,
// loaded by main.cjs for sign.cjs only when the environment is not enough), in one build so they
// share their chunks: the SDK code both use is shipped once. A chunk holds the code reached by one
// set of entry points and dynamic imports, so neither part loads code only the other needs.
// `require` is provided for the SDK's CommonJS bits.
const esm = await build({
  ...common,
  entryPoints: { cli: "src/cli/app.ts", aws: "src/aws-part.ts" },
  outdir: "dist",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  banner: { js: "import{createRequire as __eksCreateRequire}from'node:module';const require=__eksCreateRequire(import.meta.url);" },
});
// The V8 code cache for sign.cjs: one signing (made-up credentials, nothing leaves the process),
// after which main.cjs writes the bytecode V8 compiled (dist/sign.cjs.codecache).
const warm = spawnSync(process.execPath, ["dist/main.cjs", "token", "--cluster-name", "code-cache", "--no-cache"], {
  env: {
    PATH: process.env.PATH ?? "",
    HOME: "/nonexistent",
    AWS_ACCESS_KEY_ID: "AKIDCODECACHE",
    AWS_SECRET_ACCESS_KEY: "code-cache-build-only",
    AWS_REGION: "us-west-2",
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    EKS_ACCESS_BUILD_CODE_CACHE: "1",
  },
  encoding: "utf8",
});
if (warm.status !== 0 || !existsSync("dist/sign.cjs.codecache")) throw new Error(`making the code cache failed: ${warm.stderr}`);
// What each bundle holds (tests read it); package.json "files" leaves it out of the package.
writeFileSync("dist/meta.json", JSON.stringify({ main: main.metafile, sign: sign.metafile, esm: esm.metafile }));
const bytes = (m, f) => m.outputs[f]?.bytes ?? 0;
console.log(`built dist/: main.cjs ${bytes(main.metafile, "dist/main.cjs")} bytes (token cache hit), sign.cjs ${bytes(sign.metafile, "dist/sign.cjs")} bytes (cache miss), aws.js, cli.js + chunks`);
