/**
 * Entry point (dist/main.cjs). `token` (run by kubectl on every call) takes a fast path that never
 * loads the CLI framework, wherever its word sits among the flags; everything else, and
 * `token --help`, loads the yargs application lazily.
 */
import { EksAccessError } from "../core/errors.js";
import { commandFirst } from "../core/flags.js";
import { runTokenCommand } from "./token-main.js";
import { ALL_VALUE_FLAGS } from "./value-flags.js";
import { loadPart } from "../parts.js";

export function reportError(err: unknown, debug: boolean): number {
  // main.cjs and the cli.js part each bundle their own copy of the error class: match by brand.
  if (EksAccessError.is(err)) {
    process.stderr.write(`eks-access: error: ${err.line}\n`);
    if (debug && err.cause) process.stderr.write(`${String((err.cause as Error).stack ?? err.cause)}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`eks-access: internal error: ${e?.message ?? String(err)}\n`);
  if (debug) process.stderr.write(`${e?.stack ?? ""}\n`);
  return 70;
}

async function main(argv: string[]): Promise<number> {
  const env = process.env;
  // The SDK's "Node 22 will be required after January 2027" notice is not actionable for a CLI
  // user on every call; the README states the supported Node versions instead.
  env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";
  // --debug anywhere before `--` is EKS_ACCESS_DEBUG=1 for every command (token reads it as its own flag too)
  const end = argv.indexOf("--");
  if ((end === -1 ? argv : argv.slice(0, end)).includes("--debug")) env["EKS_ACCESS_DEBUG"] = "1";
  const debug = env["EKS_ACCESS_DEBUG"] === "1";
  try {
    // Flags may come before the command (`--cluster-name x token`); shell completion passes the
    // words being completed as they are typed, so those stay in place.
    const args = argv.includes("--get-yargs-completions") ? argv : commandFirst(argv, ALL_VALUE_FLAGS);
    const token = (rest: string[]): Promise<number> => runTokenCommand(rest, env);
    if (args[0] === "token" && !args.some((a) => a === "--help" || a === "-h" || a === "--version")) return await token(args.slice(1));
    const { runCli } = await loadPart("cli");
    return await runCli(args, { token });
  } catch (err) {
    return reportError(err, debug);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = reportError(err, true);
  },
);
