/**
 * What `eval "$(eks-access sandbox env)"` does to a shell, and how `sandbox env --unset` undoes it.
 *
 * The printed code first saves, once, every variable it is about to change: exported
 * EKS_ACCESS_SANDBOX_SAVED_<NAME> copies (the sandbox daemon reads the saved proxy settings from
 * them when it is started from such a shell), and for the AWS key variables unexported shell
 * variables (they stay out of the environment of every program the shell starts). Evaluating it
 * again keeps the first saved values. The code refers to the user's values by name: none is printed.
 * `--unset` restores each saved variable (or unsets it when it was unset) and takes the sandbox's
 * bin directory off PATH.
 */
import { SANDBOX_SET, SANDBOX_UNSET, sandboxEnvironment, type SandboxState } from "./sandbox.js";

export const SAVED_MARKER = "EKS_ACCESS_SANDBOX_SAVED";
export const SAVED_PREFIX = "EKS_ACCESS_SANDBOX_SAVED_";
/** Unexported shell variables hold these (never in the environment of child processes). */
const SECRET_SAVED_PREFIX = "eks_access_sandbox_saved_";

const CREDENTIAL_VARIABLES = new Set<string>(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]);

/** Every variable `sandbox env` changes (PATH aside: only its first entry is added and removed). */
export function changedVariables(): string[] {
  return [...new Set<string>([...SANDBOX_UNSET, ...SANDBOX_SET.filter((k) => k !== "PATH")])];
}

export const shellQuote = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;

const savedName = (name: string): string => (CREDENTIAL_VARIABLES.has(name) ? `${SECRET_SAVED_PREFIX}${name}` : `${SAVED_PREFIX}${name}`);

function saveLine(name: string): string {
  const to = savedName(name);
  const keep = CREDENTIAL_VARIABLES.has(name) ? `${to}="$${name}"` : `export ${to}="$${name}"`;
  return `  if [ -n "\${${name}+x}" ]; then ${keep}; else unset ${to}; fi`;
}

function restoreLine(name: string): string {
  const from = savedName(name);
  return `  if [ -n "\${${from}+x}" ]; then export ${name}="$${from}"; else unset ${name}; fi; unset ${from}`;
}

/** The `eval`-able code `sandbox env` prints for a running sandbox. `env` is the calling shell's. */
export function sandboxEnvScript(state: SandboxState, binDir: string, env: Readonly<Record<string, string | undefined>>): string {
  const lines = [
    `# eks-access sandbox: cluster ${state.clusterName}, account ${state.accountId}, authenticator ${state.authenticator} (eval "$(eks-access sandbox env)"; undo: eval "$(eks-access sandbox env --unset)")`,
    `if [ -z "\${${SAVED_MARKER}-}" ]; then`,
    `  export ${SAVED_MARKER}=1`,
    ...changedVariables().map(saveLine),
    "fi",
    `unset ${SANDBOX_UNSET.join(" ")}`,
  ];
  for (const [k, v] of sandboxEnvironment(state, binDir, env)) {
    if (k === "PATH") lines.push(`case ":$PATH:" in *:${shellQuote(binDir)}:*) ;; *) export PATH=${shellQuote(binDir)}:"$PATH" ;; esac`);
    else lines.push(`export ${k}=${shellQuote(v)}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The code `sandbox env --unset` prints: the shell as it was before the first `sandbox env`. */
export function sandboxRestoreScript(binDir: string): string {
  const dir = shellQuote(binDir);
  const lines = [
    `# eks-access sandbox: restore the variables \`sandbox env\` changed (eval "$(eks-access sandbox env --unset)")`,
    `if [ -n "\${${SAVED_MARKER}-}" ]; then`,
    ...changedVariables().map(restoreLine),
    `  unset ${SAVED_MARKER}`,
    `  case "$PATH" in ${dir}) PATH= ;; ${dir}:*) PATH="\${PATH#${dir}:}" ;; *:${dir}:*) PATH="\${PATH%%:${dir}:*}:\${PATH#*:${dir}:}" ;; *:${dir}) PATH="\${PATH%:${dir}}" ;; esac`,
    "  export PATH",
    "fi",
  ];
  return `${lines.join("\n")}\n`;
}
