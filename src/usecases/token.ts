/**
 * `token`: an ExecCredential for kubectl, from the cross-process cache when a fresh enough token is
 * there, else freshly signed. This module is on the fast path: it imports only core and the
 * signing port, never the AWS SDK (the `sign` dependency loads it lazily).
 */
import { usageError } from "../core/errors.js";
import { discoverApiVersion, renderExecCredential } from "../core/exec-credential.js";
import { formatTimestamp, tokenExpiry } from "../core/token.js";
import { isReusable, type CachedToken, type TokenRequest } from "../core/token-cache-key.js";

export interface TokenInput extends TokenRequest {
  noCache: boolean;
  /** raw KUBERNETES_EXEC_INFO */
  execInfo?: string | undefined;
  /** --debug / EKS_ACCESS_DEBUG=1 */
  debug?: boolean | undefined;
}

export interface SignedToken {
  token: string;
  credentialsExpiry?: Date | undefined;
}

export interface TokenDeps {
  now(): Date;
  cache?: { read(key: string): CachedToken | undefined; write(entry: CachedToken): void; fileFor?(key: string): string } | undefined;
  cacheKey(input: TokenInput): string;
  sign(input: TokenInput, now: Date): Promise<SignedToken>;
  /**
   * Serialises cache misses for one key across processes (kubectl starts several at once): only
   * the holder signs (and maybe prompts for MFA); the others then find its entry. Loaded on a miss only.
   */
  lock?: ((key: string) => Promise<() => void>) | undefined;
  /** --debug lines; never given a secret */
  debug?: ((line: string) => void) | undefined;
}

export interface TokenOutput {
  stdout: string;
  warnings: string[];
  fromCache: boolean;
}

export function validateTokenInput(input: TokenInput): void {
  if (input.clusterName && input.clusterId) {
    throw usageError("--cluster-name and --cluster-id cannot be used together", "use --cluster-id only for local clusters on AWS Outposts");
  }
  if (!input.clusterName && !input.clusterId) {
    throw usageError("either --cluster-name or --cluster-id must be given", "e.g. eks-access token --cluster-name my-cluster");
  }
  if (input.externalId && !input.roleArn) throw usageError("--external-id needs --role-arn");
  if (input.sessionName && !input.roleArn) throw usageError("--session-name needs --role-arn");
}

export async function getToken(input: TokenInput, deps: TokenDeps): Promise<TokenOutput> {
  validateTokenInput(input);
  const exec = discoverApiVersion(input.execInfo);
  const warnings = exec.warning ? [exec.warning] : [];
  const cache = input.noCache ? undefined : deps.cache;
  const key = cache ? deps.cacheKey(input) : "";
  const where = cache?.fileFor ? ` ${cache.fileFor(key)}` : "";
  const reusable = (): CachedToken | undefined => {
    const hit = cache?.read(key);
    return hit && isReusable(hit, deps.now().getTime()) ? hit : undefined;
  };
  const served = (hit: CachedToken): TokenOutput => ({ stdout: renderExecCredential(exec.apiVersion, hit.token, hit.expirationTimestamp), warnings, fromCache: true });
  const hit = reusable();
  if (hit) {
    deps.debug?.(`token cache: hit${where}`);
    return served(hit);
  }
  deps.debug?.(cache ? `token cache: miss${where}` : "token cache: off (--no-cache)");
  const release = cache && deps.lock ? await deps.lock(key) : undefined;
  try {
    const fresh = release ? reusable() : undefined;
    if (fresh) {
      deps.debug?.(`token cache: hit${where} (signed by another process while this one waited)`);
      return served(fresh);
    }
    const signedAt = deps.now();
    const signed = await deps.sign(input, signedAt);
    // The AWS CLI computes the expiry after signing; so do we.
    const expiry = tokenExpiry(deps.now(), signed.credentialsExpiry);
    const expirationTimestamp = formatTimestamp(expiry);
    cache?.write({ key, token: signed.token, expirationTimestamp, expiresAt: Date.parse(expirationTimestamp) });
    return { stdout: renderExecCredential(exec.apiVersion, signed.token, expirationTimestamp), warnings, fromCache: false };
  } finally {
    release?.();
  }
}
