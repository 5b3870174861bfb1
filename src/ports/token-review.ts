/**
 * What the TokenReview authenticator (`serve`, POST /authenticate) needs to turn a bearer token into
 * the caller's AWS identity: the token's checks (core/token-verify.ts), the STS call, the
 * verified-identity cache, coalescing and rate limits all live behind this one port, so the
 * handler and the mapping backends are tested with a hand-written fake.
 */

/** The caller as STS GetCallerIdentity answered for a token that passed every check. */
export interface StsIdentity {
  /** GetCallerIdentity Arn, e.g. arn:aws:sts::111122223333:assumed-role/dev/alice */
  arn: string;
  /** GetCallerIdentity Account */
  account: string;
  /** GetCallerIdentity UserId as STS answers it: "AROA…:session" for a role session, "AIDA…" for a user */
  userId: string;
  /** the access key id of the token's X-Amz-Credential */
  accessKeyId: string;
}

export interface TokenVerifier {
  /**
   * Checks the token (format, host, cluster id, dates), then asks STS (or answers from the
   * verified-identity cache). Throws AuthnError (core/authn-error.ts) for every refusal, with the
   * outcome that says which HTTP status the TokenReview answer gets.
   */
  verify(token: string): Promise<StsIdentity>;
}
