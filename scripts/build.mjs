// Bundles the CLI with esbuild: one small entry chunk (main + the token fast path) and lazily
// loaded chunks for everything else, so `eks-access token` on a cache hit parses little code.
import { build } from "esbuild";
import { rmSync, writeFileSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
const result = await build({
  entryPoints: { main: "src/cli/main.ts" },
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  // prefer the packages' ESM builds: named exports survive dynamic import() and tree-shaking works
  mainFields: ["module", "main"],
  target: "node20",
  minify: true,
  legalComments: "none",
  metafile: true,
  chunkNames: "chunks/[name]-[hash]",
  banner: { js: "import{createRequire as __eksCreateRequire}from'node:module';const require=__eksCreateRequire(import.meta.url);" },
  logLevel: "warning",
});
writeFileSync("dist/meta.json", JSON.stringify(result.metafile));
const sizes = Object.entries(result.metafile.outputs)
  .filter(([f]) => f.endsWith(".js"))
  .map(([f, o]) => [f, o.bytes]);
const main = sizes.find(([f]) => f === "dist/main.js");
console.log(`built dist/: ${sizes.length} files, entry ${main ? main[1] : "?"} bytes`);
