/**
 * Why a TokenReview was refused: one outcome per kind of failure, each with the HTTP status the
 * authenticator answers with and a short label for metrics and logs (never the token).
 *  - format: the token breaks a rule of its format (prefix, encoding, URL, host, parameters, signed
 *    headers, X-Amz-Expires, dates) → 403
 *  - cluster-id: signed for another cluster (x-k8s-aws-id) → 403
 *  - sts-rejected: STS answered that the signature or credentials are not valid (4xx) → 403
 *  - sts-throttled: STS throttled us, or our own STS rate limit refused the call → 429 (the
 *    apiserver retries)
 *  - sts-unavailable: STS timed out, failed (5xx) or could not be reached → 500 (retried)
 * Messages are one line and never contain the token, its signature or any credential.
 */
export type AuthnOutcome = "format" | "cluster-id" | "sts-rejected" | "sts-throttled" | "sts-unavailable";

const STATUS: Readonly<Record<AuthnOutcome, number>> = {
  format: 403,
  "cluster-id": 403,
  "sts-rejected": 403,
  "sts-throttled": 429,
  "sts-unavailable": 500,
};

export class AuthnError extends Error {
  readonly outcome: AuthnOutcome;

  constructor(outcome: AuthnOutcome, message: string) {
    super(message);
    this.name = "AuthnError";
    this.outcome = outcome;
  }

  /** the HTTP status of the TokenReview answer */
  get httpStatus(): number {
    return STATUS[this.outcome];
  }
}
