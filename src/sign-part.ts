/**
 * The `sign` part: the token's cache-miss code (dist/sign.cjs, loaded with a V8 code cache, where import() is not
 * available): the sign use case wired to the SigV4 presigner, the SDK part (loaded on demand
 * through `loadAws`) and the lock files that serialise concurrent misses.
 */
import type { Env } from "./core/aws-env.js";
import { signTokenWith } from "./usecases/sign-token.js";
import type { AwsPart } from "./ports/aws.js";
import type { SignedToken, TokenInput } from "./usecases/token.js";
import { presignToken } from "./adapters/token-signer.js";

export { DEFAULT_SESSION_NAME } from "./usecases/sign-token.js";
export { acquireLock } from "./adapters/lock.js";

export async function signToken(
  input: TokenInput,
  now: Date,
  io: {
    env: Env;
    loadAws: () => Promise<AwsPart>;
    promptMfa?: ((serial: string) => Promise<string>) | undefined;
    debug?: ((line: string) => void) | undefined;
  },
): Promise<SignedToken> {
  return signTokenWith(input, now, { env: io.env, loadAws: io.loadAws, presign: presignToken, promptMfa: io.promptMfa, debug: io.debug });
}
