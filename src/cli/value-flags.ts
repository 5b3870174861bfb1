/**
 * The options that take a value, per command: what main.ts skips when it looks for the command
 * words (`--region r kubeconfig add`) and what the yargs app holds to the fast parser's rule
 * (src/core/flags.ts: `--region` with nothing after it needs a value). One-letter aliases are
 * listed as such. test/integration/cli-usage.test.ts keeps this in step with every command's --help.
 */
import { TOKEN_FLAGS } from "./token-flags.js";

const ACCESS_FLAGS = ["cluster", "region", "profile", "endpoint-url", "kubeconfig", "context", "output", "o"];
/** access list/check, migrate plan/apply/verify, auth-mode set: a read of the whole cluster's access */
const SNAPSHOT_FLAGS = [...ACCESS_FLAGS, "lookup-role", "concurrency"];
const PRINCIPAL_FLAGS = ["principal", "permission-set", "account", "instance-arn", "lookup-role", "backend", "group", "policy"];

export const VALUE_FLAGS: Readonly<Record<string, readonly string[]>> = {
  token: Object.entries(TOKEN_FLAGS).flatMap(([name, spec]) => (spec.type !== "string" ? [] : "short" in spec ? [name, spec.short] : [name])),
  "kubeconfig add": ["name", "region", "profile", "role-arn", "assume-role-arn", "proxy-url", "alias", "user-alias", "kubeconfig", "exec", "exec-profile", "endpoint-url"],
  whoami: ["region", "profile", "output", "o"],
  serve: [
    ...["address", "port", "tls-cert-file", "tls-private-key-file", "access-entries-file", "access-entries-from", "cluster-name", "region", "profile", "endpoint-url", "refresh-interval"],
    ...["config", "c", "cluster-id", "i", "partition", "backend-mode", "kubeconfig", "master", "state-dir", "generate-kubeconfig", "hostname", "log-format", "l", "log-level"],
    ...["max-token-bytes", "sts-timeout", "token-cache-size", "token-cache-ttl", "sts-limit-per-principal", "sts-limit-global", "sts-max-concurrent", "shutdown-grace"],
  ],
  "serve init": ["config", "c", "cluster-id", "i", "address", "port", "hostname", "state-dir", "generate-kubeconfig", "authorize-kubeconfig", "tls-cert-file", "tls-private-key-file", "ca-file"],
  grant: [...ACCESS_FLAGS, ...PRINCIPAL_FLAGS, "namespace", "username", "username-template"],
  revoke: [...ACCESS_FLAGS, ...PRINCIPAL_FLAGS],
  "aws-auth check": ["file", "cluster", "region", "output", "o"],
  "aws-auth restore": [...ACCESS_FLAGS, "backup"],
  "access reconcile": [...ACCESS_FLAGS, "lookup-role"],
  access: SNAPSHOT_FLAGS,
  migrate: SNAPSHOT_FLAGS,
  "auth-mode": SNAPSHOT_FLAGS,
  // on `sandbox` itself, so every subcommand takes it
  sandbox: ["dir"],
  "sandbox up": ["dir", "auth-mode", "authenticator"],
  "sandbox demo": ["dir", "authenticator"],
};

/** A command's value options (`sandbox up` has those of `sandbox`). */
export function valueFlagsOf(command: readonly string[]): ReadonlySet<string> {
  return new Set(VALUE_FLAGS[command.join(" ")] ?? VALUE_FLAGS[command[0] ?? ""] ?? []);
}

/** Every command's value options together (to find the command words before knowing the command). */
export const ALL_VALUE_FLAGS: ReadonlySet<string> = new Set(Object.values(VALUE_FLAGS).flat());

const SUBCOMMANDS: Readonly<Record<string, readonly string[]>> = {
  token: [],
  whoami: [],
  completion: [],
  kubeconfig: ["add"],
  cache: ["clear"],
  serve: ["init"],
  grant: [],
  revoke: [],
  "aws-auth": ["check", "restore"],
  access: ["list", "check", "reconcile"],
  migrate: ["plan", "apply", "verify"],
  "auth-mode": ["set"],
  sandbox: ["up", "down", "env", "demo"],
};

/** The command words at the front of a (command-first) argv that name a known command: [] for none. */
export function commandPath(args: readonly string[]): string[] {
  const [first, second] = args;
  if (first === undefined || !Object.prototype.hasOwnProperty.call(SUBCOMMANDS, first)) return [];
  return second !== undefined && SUBCOMMANDS[first]!.includes(second) ? [first, second] : [first];
}
