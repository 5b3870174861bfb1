/**
 * One error class, with a `kind` per outcome and the process exit code the CLI uses (2 for usage
 * errors, else 1, unless given). Messages are one line: the problem and the fix (`line`). No
 * message ever contains a token, secret key or session token.
 */
export type ErrorKind =
  | "usage"
  | "config"
  | "credentials"
  | "sso-expired"
  | "mfa-required"
  | "not-found"
  | "cluster-state"
  /** a safety guard refused a valid request (lockout, last admin, own access); --force overrides */
  | "refused"
  | "kubeconfig"
  | "aws"
  | "kubernetes"
  | "internal";

const BRAND = Symbol.for("eks-access.error");

export class EksAccessError extends Error {
  readonly [BRAND] = true;
  readonly kind: ErrorKind;
  readonly exitCode: number;
  readonly hint: string | undefined;

  constructor(kind: ErrorKind, message: string, opts: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "EksAccessError";
    this.kind = kind;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? (kind === "usage" ? 2 : 1);
  }

  /** instanceof across separately bundled copies of this class */
  static is(err: unknown): err is EksAccessError {
    return typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
  }

  /** The single line shown to a person. */
  get line(): string {
    return this.hint ? `${this.message}; ${this.hint}` : this.message;
  }
}

export const usageError = (message: string, hint?: string): EksAccessError =>
  new EksAccessError("usage", message, hint === undefined ? {} : { hint });

/** A profile with mfa_serial, but no terminal to ask for the code on. */
export const mfaWithoutTerminal = (profile: string, serial: string): EksAccessError =>
  new EksAccessError("mfa-required", `profile "${profile}" needs an MFA code (mfa_serial ${serial}) but no terminal is available to ask for it`, {
    hint: "run the command from an interactive terminal (kubectl passes the terminal to eks-access), or use credentials that need no MFA",
  });
