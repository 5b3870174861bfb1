/**
 * A strict parser for flat `--flag value` / `--flag=value` / `--switch` / `-o value` command lines
 * (pure). The `token` fast path uses it instead of node:util's parseArgs, whose first call costs
 * kubectl ~1 ms. Its rules are the yargs application's (src/cli/app.ts): a value may not look like
 * an option (`-x`, `--x`; negative numbers are values), so `--region` followed by nothing or by
 * another option is "option '--region' needs a value" in every command; `--flag=-value` passes a
 * value that starts with a dash.
 */
import { usageError } from "./errors.js";

export interface FlagSpec {
  type: "string" | "boolean";
  /** one-letter alias, used as `-o value` */
  short?: string;
}

/** What yargs-parser also counts as an option rather than a value. */
export const looksLikeOption = (arg: string): boolean => /^-[^0-9]/.test(arg);

export function parseFlags<T extends Record<string, FlagSpec>>(args: readonly string[], specs: T, command: string): { [K in keyof T]?: T[K]["type"] extends "boolean" ? boolean : string } {
  const out: Record<string, string | boolean> = {};
  const fail = (what: string): never => {
    throw usageError(what, `see eks-access ${command} --help`);
  };
  const byShort: Record<string, string> = {};
  for (const [name, spec] of Object.entries(specs)) if (spec.short) byShort[spec.short] = name;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    let name: string;
    let eq = -1;
    if (/^-[A-Za-z]$/.test(arg)) {
      if (!Object.prototype.hasOwnProperty.call(byShort, arg[1]!)) fail(`unknown option '${arg}'`);
      name = byShort[arg[1]!]!;
    } else {
      if (!arg.startsWith("--") || arg === "--") fail(`unexpected argument '${arg}'`);
      eq = arg.indexOf("=");
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    }
    const spec = Object.prototype.hasOwnProperty.call(specs, name) ? specs[name] : undefined;
    if (!spec) fail(`unknown option '--${name}'`);
    if (Object.prototype.hasOwnProperty.call(out, name)) fail(`option '--${name}' given twice`);
    if (spec!.type === "boolean") {
      if (eq !== -1) fail(`option '--${name}' takes no value`);
      out[name] = true;
      continue;
    }
    if (eq !== -1) {
      out[name] = arg.slice(eq + 1);
      continue;
    }
    const value = args[i + 1];
    if (value === undefined || looksLikeOption(value)) fail(`option '${arg}' needs a value`);
    out[name] = value!;
    i++;
  }
  return out as { [K in keyof T]?: T[K]["type"] extends "boolean" ? boolean : string };
}

/**
 * The command words first: `--cluster-name x token` → `token --cluster-name x`, `--region r
 * kubeconfig add` → `kubeconfig add --region r`. Words are the arguments that are neither options
 * nor the value of an option in `valueFlags` (long names and one-letter aliases that take a value);
 * nothing after `--` moves. The CLI has no other positional arguments, so every word is a command.
 */
export function commandFirst(argv: readonly string[], valueFlags: ReadonlySet<string>): string[] {
  const words: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    if (!looksLikeOption(arg)) {
      words.push(arg);
      continue;
    }
    rest.push(arg);
    const name = arg.startsWith("--") ? arg.slice(2) : arg.slice(1);
    const next = argv[i + 1];
    if (!name.includes("=") && valueFlags.has(name) && next !== undefined && !looksLikeOption(next)) {
      rest.push(next);
      i++;
    }
  }
  return [...words, ...rest];
}

/**
 * The fast parser's value rule for a command line another parser (yargs) reads: an option in
 * `valueFlags` followed by nothing or by another option is "option '--x' needs a value" (yargs
 * would take it as "" or true). Stops at `--`.
 */
export function requireValues(args: readonly string[], valueFlags: ReadonlySet<string>, command: string): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") return;
    if (!looksLikeOption(arg) || arg.includes("=")) continue;
    const name = arg.startsWith("--") ? arg.slice(2) : arg.slice(1);
    if (!valueFlags.has(name)) continue;
    const next = args[i + 1];
    if (next === undefined || looksLikeOption(next)) {
      throw usageError(`option '${arg}' needs a value`, `see eks-access ${command ? `${command} ` : ""}--help`);
    }
    i++;
  }
}
