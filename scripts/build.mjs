// Bundles the CLI with esbuild in four parts:
//  - dist/main.cjs: the entry and the `token` cache-hit path, CommonJS and self-contained: a hit
//    runs only node:fs/os/path and the pure core;
//  - dist/sign.cjs: the cache-miss path (SigV4 signer), CommonJS, required only on a miss (no ESM loader);
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
const commonJs = {
  ...common,
  format: "cjs",
  outExtension: { ".js": ".cjs" },
  outdir: "dist",
  splitting: false,
  define: { "import.meta": "__eksMeta" },
  // computed only when used: pathToFileURL at start-up would cost every call ~0.5 ms
  banner: { js: "const __eksMeta={get url(){return require('node:url').pathToFileURL(__filename).href}};" },
};
const main = await build({ ...commonJs, entryPoints: { main: "src/cli/main.ts" } });
// The token cache-miss path (SigV4 signer), required by main.cjs only on a miss.
const sign = await build({ ...commonJs, entryPoints: { sign: "src/adapters/token-source.ts" } });
// ES module parts with their own chunks; `require` provided for the SDK's CommonJS bits.
const esmPart = (name, entry) =>
  build({
    ...common,
    entryPoints: { [name]: entry },
    outdir: "dist",
    splitting: true,
    chunkNames: `chunks/${name}-[name]-[hash]`,
    banner: { js: "import{createRequire as __eksCreateRequire}from'node:module';const require=__eksCreateRequire(import.meta.url);" },
  });
const rest = await esmPart("cli", "src/cli/app.ts");
// The SDK credential chain and STS, loaded by sign.cjs only when the environment is not enough.
const aws = await esmPart("aws", "src/aws-part.ts");
writeFileSync("dist/meta.json", JSON.stringify({ main: main.metafile, sign: sign.metafile, rest: rest.metafile, aws: aws.metafile }));
const bytes = (m, f) => m.outputs[f]?.bytes ?? 0;
console.log(`built dist/: main.cjs ${bytes(main.metafile, "dist/main.cjs")} bytes (token cache hit), sign.cjs ${bytes(sign.metafile, "dist/sign.cjs")} bytes (cache miss), aws.js, cli.js + chunks`);
