/**
 * A strict parser for flat `--flag value` / `--flag=value` / `--switch` command lines (pure). The
 * `token` fast path uses it instead of node:util's parseArgs, whose first call costs kubectl ~1 ms.
 */
import { usageError } from "./errors.js";

export interface FlagSpec {
  type: "string" | "boolean";
}

export function parseFlags<T extends Record<string, FlagSpec>>(args: readonly string[], specs: T, command: string): { [K in keyof T]?: T[K]["type"] extends "boolean" ? boolean : string } {
  const out: Record<string, string | boolean> = {};
  const fail = (what: string): never => {
    throw usageError(what, `see eks-access ${command} --help`);
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--") || arg === "--") fail(`unexpected argument '${arg}'`);
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
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
    if (value === undefined || value.startsWith("--")) fail(`option '--${name}' needs a value`);
    out[name] = value!;
    i++;
  }
  return out as { [K in keyof T]?: T[K]["type"] extends "boolean" ? boolean : string };
}
