/**
 * The `token` fast path, run without the CLI framework: argv → TokenInput → getToken. On a cache
 * hit only node:fs/os/path and the pure core are loaded (test/integration/token-startup.test.ts).
 */
import { statSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { mfaWithoutTerminal, usageError } from "../core/errors.js";
import { parseFlags } from "../core/flags.js";
import { effectiveProfile } from "../core/aws-env.js";
import { canonicalCacheKey, SELECTOR_ENV } from "../core/token-cache-key.js";
import { tokenCacheDir } from "../core/cache-dirs.js";
import { FileTokenCache } from "../adapters/token-cache.js";
import { getToken, type TokenInput } from "../usecases/token.js";
import { TOKEN_FLAGS } from "./token-flags.js";
import { loadPart, loadSigner } from "../parts.js";

type Env = Readonly<Record<string, string | undefined>>;

export function parseTokenArgs(args: string[], env: Env): TokenInput {
  const values: Record<string, string | boolean | undefined> = parseFlags(args, TOKEN_FLAGS, "token");
  const str = (k: keyof typeof TOKEN_FLAGS): string | undefined => {
    const v = values[k];
    return typeof v === "string" && v !== "" ? v : undefined;
  };
  const output = str("output");
  if (output !== undefined && output !== "json") {
    throw usageError(`--output ${output} is not supported by token`, "use --output json (the format kubectl reads)");
  }
  return {
    clusterName: str("cluster-name"),
    clusterId: str("cluster-id"),
    region: str("region"),
    profile: str("profile"),
    roleArn: str("role-arn"),
    externalId: str("external-id"),
    sessionName: str("session-name"),
    noCache: values["no-cache"] === true || env["EKS_ACCESS_NO_CACHE"] === "1",
    execInfo: env["KUBERNETES_EXEC_INFO"],
    debug: values["debug"] === true || env["EKS_ACCESS_DEBUG"] === "1",
  };
}

export const defaultCacheDir = (env: Env): string => tokenCacheDir(env, homedir());

/**
 * Which version of a file this is, without reading it: inode, size and mtime ("-" when absent).
 * Only regular files have versions: /dev/null's mtime moves whenever anything writes to it.
 */
export function fileVersion(path: string): string {
  try {
    const st = statSync(path);
    if (!st.isFile()) return `special:${st.ino}`;
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return "-";
  }
}

/** The canonical cache key for an input: everything that can change the token. */
export function tokenCacheKey(input: TokenInput, env: Env): string {
  const home = env["HOME"] || homedir();
  const configFile = env["AWS_CONFIG_FILE"] || join(home, ".aws", "config");
  const credentialsFile = env["AWS_SHARED_CREDENTIALS_FILE"] || join(home, ".aws", "credentials");
  const selectors: Record<string, string | undefined> = {};
  for (const name of SELECTOR_ENV) selectors[name] = env[name];
  return canonicalCacheKey({
      ...input,
      selectors,
      envAccessKeyId: env["AWS_ACCESS_KEY_ID"] && env["AWS_SECRET_ACCESS_KEY"] ? env["AWS_ACCESS_KEY_ID"] : undefined,
      configFingerprint: `${fileVersion(configFile)}|${fileVersion(credentialsFile)}`,
  });
}

/**
 * Asks for an MFA code on the terminal (prompt on stderr: stdout belongs to kubectl). Only profiles
 * with mfa_serial get here, so the terminal check (node:tty loads node:net) costs nobody else.
 */
async function promptMfa(serial: string, profile: string): Promise<string> {
  const { isatty } = await import("node:tty");
  if (!isatty(0)) throw mfaWithoutTerminal(profile, serial);
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    return (await rl.question(`Enter MFA code for ${serial}: `)).trim();
  } finally {
    rl.close();
  }
}

export async function runTokenCommand(args: string[], env: Env): Promise<number> {
  const input = parseTokenArgs(args, env);
  const warn = (line: string): void => writeAll(2, `eks-access: warning: ${line}\n`);
  const debug = input.debug ? (line: string): void => writeAll(2, `eks-access: debug: ${line}\n`) : undefined;
  const dir = defaultCacheDir(env);
  // evaluated once per process: the lock and the signer come from the same bundle
  let signer: ReturnType<typeof loadSigner> | undefined;
  const loadSignerOnce = (): ReturnType<typeof loadSigner> => (signer ??= loadSigner());
  const out = await getToken(input, {
    now: () => new Date(),
    cache: new FileTokenCache(dir, warn),
    cacheKey: (i) => tokenCacheKey(i, env),
    // the lock code comes with the signer (dist/sign.cjs): a cache hit never loads it
    lock: async (key) =>
      (await loadSignerOnce()).acquireLock(dir, `token-${key}`, { onWait: (file, pid) => debug?.(`waiting for pid ${pid}, which holds ${file} (signing this token)`) }),
    debug,
    sign: async (i, now) => {
      const { signToken } = await loadSignerOnce();
      return signToken(i, now, {
        env,
        loadAws: () => loadPart("aws"),
        promptMfa: (serial) => promptMfa(serial, effectiveProfile(i.profile, env)),
        debug,
      });
    },
  });
  for (const w of out.warnings) writeAll(2, `${w}\n`);
  writeAll(1, out.stdout);
  return 0;
}

/**
 * Writes straight to the file descriptor: touching process.stdout would build a stream (and, for
 * kubectl's pipe, load the net module) just to print ~1.5 KB.
 */
export function writeAll(fd: number, text: string): void {
  let buf = Buffer.from(text, "utf8");
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(fd, buf));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
    }
  }
}
