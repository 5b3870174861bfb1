/**
 * Loads a CommonJS bundle with a V8 code cache — the bytecode V8 made for it at build time, after
 * running it once, so a cold call neither parses the bundle nor compiles its functions lazily one
 * by one (~3 ms of a cold `token` call on the signer; see README figures).
 *
 * The cache is made by the build (scripts/build.mjs runs one signing with
 * EKS_ACCESS_BUILD_CODE_CACHE=1) and sits next to the bundle, in the package's own dist/, never in
 * a user-writable cache directory. V8 checks it against its own version, its flags and the
 * source's length and rejects a mismatch (another Node version, say); then the bundle compiles
 * from source as usual. A bundle loaded this way cannot use import() (vm.Script gets no module
 * loader): the build checks that it has none.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Script as VmScript } from "node:vm";

/** The CommonJS wrapper, as Node's own loader applies it; the cache is valid for this exact text. */
const wrap = (source: string): string => `(function (exports, require, module, __filename, __dirname) {${source}\n})`;

export const codeCacheFile = (bundle: string): string => `${bundle}.codecache`;

export interface LoadedBundle<T> {
  exports: T;
  /** undefined: there was no cache file; true: V8 refused it and compiled from source. */
  cacheRejected: boolean | undefined;
}

export function loadWithCodeCache<T>(
  bundle: string,
  deps: {
    require: NodeJS.Require;
    Script: typeof VmScript;
    /** build time: write the cache when the process exits, after the bundle has run */
    writeCache?: boolean | undefined;
  },
): LoadedBundle<T> {
  const cacheFile = codeCacheFile(bundle);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new deps.Script(wrap(readFileSync(bundle, "utf8")), { filename: bundle, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} as T, filename: bundle, id: bundle };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, deps.require, module, bundle, dirname(bundle));
  if (deps.writeCache) {
    process.once("exit", () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch (err) {
        process.stderr.write(`eks-access: warning: could not write the code cache ${cacheFile} (${(err as Error).message})\n`);
      }
    });
  }
  return { exports: module.exports, cacheRejected: cachedData ? script.cachedDataRejected === true : undefined };
}
