/**
 * Stands in for `node:crypto` inside the token signer bundle (dist/sign.cjs; see scripts/build.mjs).
 *
 * @smithy/core's serde module imports node:crypto at its top level (for UUIDs the signer never
 * makes), and loading node:crypto costs a cold `token` call ~6 ms — it drags in the streams stack
 * and webcrypto. The signer hashes with the SDK's pure-JS SHA-256, so on the token path nothing
 * here is ever called and node:crypto is never loaded; anything else in the bundle that does call
 * one of these still gets the real function, loaded on first use.
 */
import type * as NodeCrypto from "node:crypto";

let loaded: typeof NodeCrypto | undefined;
// getBuiltinModule (Node >= 20.16) works in CommonJS and ES modules alike; node:module would load
// the ESM loader's modules with it
const real = (): typeof NodeCrypto => (loaded ??= process.getBuiltinModule("node:crypto"));

export const getRandomValues: typeof NodeCrypto.getRandomValues = (array) => real().getRandomValues(array);
export const createHash: typeof NodeCrypto.createHash = (algorithm, options) => real().createHash(algorithm, options);
export const createHmac: typeof NodeCrypto.createHmac = (algorithm, key, options) => real().createHmac(algorithm, key, options);
