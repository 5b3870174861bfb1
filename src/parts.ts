/**
 * Loads the lazily bundled parts next to dist/main.cjs: dist/cli.js (the yargs application) and
 * dist/sign.js (the token cache-miss path). The specifiers are computed so that esbuild leaves them
 * alone and dist/main.cjs stays self-contained.
 */
type Parts = { cli: typeof import("./app.js"); sign: typeof import("../usecases/sign-token.js") };

export function loadPart<K extends keyof Parts>(name: K): Promise<Parts[K]> {
  return import(new URL(`./${name}.js`, import.meta.url).href) as Promise<Parts[K]>;
}
