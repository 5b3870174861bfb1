/**
 * Loads the separately bundled parts that sit next to dist/main.cjs:
 *   sign.cjs — the token cache-miss path (SigV4 presigning), CommonJS so a miss needs no ESM loader,
 *             run through node:vm with its V8 code cache (src/adapters/code-cache.ts);
 *   cli.js  — the yargs application (every command but a `token` cache hit);
 *   aws.js  — the SDK credential chain and STS, needed only when environment credentials are not
 *             enough (profiles, SSO, --role-arn, ...).
 * main.cjs and sign.cjs are bundles of their own; cli.js and aws.js come from one build and share
 * their SDK chunks (each loads only the chunks its code reaches). The specifiers are computed so
 * that esbuild leaves them alone. Under tsx (tests) the TS sources load.
 */
import { join } from "node:path";
import { loadWithCodeCache } from "./adapters/code-cache.js";

type Parts = {
  cli: typeof import("./cli/app.js");
  aws: typeof import("./aws-part.js");
};

const SOURCES: Record<keyof Parts, string> = { cli: "./cli/app.js", aws: "./aws-part.js" };

type Signer = typeof import("./sign-part.js");

/** Defined (as true) by the build for the CommonJS bundles, where `require` is the module's own. */
declare const __EKS_CJS__: boolean | undefined;

export async function loadSigner(): Promise<Signer> {
  if (typeof __EKS_CJS__ !== "undefined") {
    // dist/main.cjs: no import() (even of a builtin it would start the ESM loader, ~5 ms); node:vm
    // only now (the cache-hit path does not need it), with the build's V8 code cache.
    return loadWithCodeCache<Signer>(join(__dirname, "sign.cjs"), {
      require,
      Script: (require("node:vm") as typeof import("node:vm")).Script,
      writeCache: process.env["EKS_ACCESS_BUILD_CODE_CACHE"] === "1",
    }).exports;
  }
  // Only dist/main.cjs (above) and the TypeScript sources under tsx run the token command: the
  // cli.js part hands `token` back to main.cjs (src/cli/app.ts), so no ES module bundle gets here.
  return import(new URL("./sign-part.js", import.meta.url).href) as Promise<Signer>;
}

export function loadPart<K extends keyof Parts>(name: K): Promise<Parts[K]> {
  const bundled = !import.meta.url.endsWith(".ts");
  const specifier = bundled ? `./${name}.js` : SOURCES[name];
  return import(new URL(specifier, import.meta.url).href) as Promise<Parts[K]>;
}
