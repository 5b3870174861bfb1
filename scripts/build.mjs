// Bundles the CLI with esbuild in three parts:
//  - dist/main.cjs: the entry and the whole `token` path for environment credentials, CommonJS and
//    self-contained: a cache hit runs only node:fs/util and the pure core; a miss evaluates the
//    bundled SigV4 signer (lazily initialised) without starting Node's ESM loader;
//  - dist/aws.js (+ chunks): the SDK credential chain and STS, for profiles/SSO/--role-arn;
//  - dist/cli.js (+ chunks): every other command, with the AWS SDK split so each loads what it uses.
// The parts are loaded with runtime import()s (src/parts.ts), so no part's code leaks into another.
import { build } from "esbuild";
import { rmSync, writeFileSync } from "node:fs";

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
const main = await build({
  ...common,
  format: "cjs",
  entryPoints: { main: "src/cli/main.ts" },
  outExtension: { ".js": ".cjs" },
  outdir: "dist",
  splitting: false,
  define: { "import.meta.url": "__eksModuleUrl" },
  banner: { js: "const __eksModuleUrl=require('node:url').pathToFileURL(__filename).href;" },
});
const rest = await build({
  ...common,
  entryPoints: { cli: "src/cli/app.ts" },
  outdir: "dist",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  banner: { js: "import{createRequire as __eksCreateRequire}from'node:module';const require=__eksCreateRequire(import.meta.url);" },
});
// The SDK credential chain and STS, loaded by sign.js only when the environment is not enough.
const aws = await build({
  ...common,
  entryPoints: { aws: "src/aws-part.ts" },
  outdir: "dist",
  splitting: true,
  chunkNames: "chunks/aws-[name]-[hash]",
  banner: { js: "import{createRequire as __eksCreateRequire}from'node:module';const require=__eksCreateRequire(import.meta.url);" },
});
writeFileSync("dist/meta.json", JSON.stringify({ main: main.metafile, rest: rest.metafile, aws: aws.metafile }));
const bytes = (m, f) => m.outputs[f]?.bytes ?? 0;
console.log(`built dist/: main.cjs ${bytes(main.metafile, "dist/main.cjs")} bytes (token: cache hit + signing), aws.js, cli.js + chunks`);
