/**
 * TokenVerifier (ports/token-review.ts) over STS, as aws-iam-authenticator verifies a token — the
 * checks of core/token-verify.ts, then a GET of the presigned URL with `x-k8s-aws-id: <cluster id>`
 * and `Accept: application/json`, no redirects followed, 10 s for the whole exchange — plus what the
 * peer lacks:
 *  - a verified-identity cache keyed by the SHA-256 of the token, bounded (LRU), whose entries die at
 *    the token's own expiry (X-Amz-Date + 15 min) or after a TTL, whichever is first; only successes
 *    are kept;
 *  - coalescing: concurrent verifications of one token share one STS call;
 *  - limits on STS calls, per principal (access key id) and global (rate and concurrency): over them
 *    the review is refused with sts-throttled (429, the apiserver retries) instead of calling STS;
 *  - STS's own throttling → 429, a timeout, 5xx or an unreachable STS → 500, a 4xx → 403.
 * STS is reached like every AWS endpoint of eks-access (adapters/http.ts): HTTPS_PROXY / NO_PROXY
 * and AWS_CA_BUNDLE, and SSL_CERT_FILE as well (what aws-iam-authenticator, a Go program, honours).
 * Nothing here logs; error messages never hold the token, its signature or a credential.
 */
import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { IncomingMessage } from "node:http";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { HttpRequest } from "@smithy/core/protocols";
import { AuthnError, type AuthnOutcome } from "../core/authn-error.js";
import { ExpiringLru } from "../core/expiring-lru.js";
import { checkRate, KeyedTokenBuckets, TokenBucket, type Rate } from "../core/rate-limit.js";
import { CLUSTER_ID_HEADER } from "../core/token.js";
import { checkToken, readCallerIdentity, tokenPolicy, type CheckedToken, type TokenPolicy, type TokenPolicyOptions } from "../core/token-verify.js";
import { EksAccessError } from "../core/errors.js";
import type { StsIdentity, TokenVerifier } from "../ports/token-review.js";
import { httpClientConfig } from "./http.js";

type Env = Readonly<Record<string, string | undefined>>;

/** What the server turns into metrics (prom-client lives there, not here). */
export interface TokenVerifierObserver {
  /** a token that passed the checks was answered from the cache (true), or needs STS (false) */
  cache?(hit: boolean): void;
  /** a verification joined another one already asking STS about the same token */
  coalesced?(): void;
  /** one GET to STS ended: its outcome, the HTTP status if one came, how long it took */
  stsCall?(call: { outcome: "ok" | AuthnOutcome; status?: number; seconds: number }): void;
  /** our own limit refused a call to STS */
  limited?(scope: "principal" | "global" | "concurrency"): void;
}

export interface StsTokenVerifierOptions extends TokenPolicyOptions {
  /** the cluster id tokens must be signed for (aws-iam-authenticator --cluster-id) */
  clusterId: string;
  /** the whole STS exchange, connect to last byte (default 10 s, as aws-iam-authenticator ≥ v0.6.29) */
  timeoutMs?: number;
  cache?: {
    /** default 10,000; 0 turns the cache off */
    maxEntries?: number;
    /** longest life of an entry, below the token's own expiry (default 5 min) */
    ttlMs?: number;
  };
  limits?: {
    /** STS calls per access key id (default 10/s, burst 50) */
    perPrincipal?: Rate;
    /** STS calls in all (default 100/s, burst 200) */
    global?: Rate;
    /** STS calls under way at once (default 64) */
    maxConcurrent?: number;
    /** how many access key ids the per-principal limit remembers (default 10,000) */
    maxPrincipals?: number;
  };
  /** environment for the proxy and CA settings (default process.env) */
  env?: Env;
  /** the clock for dates and cache expiry, ms since the epoch (default Date.now) */
  now?: () => number;
  observer?: TokenVerifierObserver;
}

export const DEFAULT_STS_TIMEOUT_MS = 10_000;
const MAX_ANSWER_BYTES = 64 * 1024;

/** Reads a response body (up to `max` bytes) as UTF-8; undefined when it is larger. */
function readBody(body: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        body.destroy();
        resolve(undefined);
      } else chunks.push(chunk);
    });
    body.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    body.on("error", reject);
    // destroyed (timeout) before its end: settles the promise if nothing else did
    body.on("close", () => reject(new Error("the answer was cut short")));
  });
}

function positiveInteger(value: number, what: string, min = 1): number {
  if (!Number.isInteger(value) || value < min) throw new EksAccessError("config", `${what} must be a whole number ≥ ${min}, got ${value}`);
  return value;
}

function rateOption(rate: Rate, what: string): Rate {
  try {
    return checkRate(rate, what);
  } catch (err) {
    throw new EksAccessError("config", (err as Error).message);
  }
}

export class StsTokenVerifier implements TokenVerifier {
  private readonly policy: TokenPolicy;
  private readonly clusterId: string;
  private readonly timeoutMs: number;
  private readonly ttlMs: number;
  private readonly cache: ExpiringLru<StsIdentity>;
  private readonly inFlight = new Map<string, Promise<StsIdentity>>();
  private readonly perPrincipal: KeyedTokenBuckets;
  private readonly global: TokenBucket;
  private readonly maxConcurrent: number;
  private calling = 0;
  private readonly now: () => number;
  private readonly observer: TokenVerifierObserver;
  private readonly env: Env;
  private handler: Promise<{ handler: NodeHttpHandler; own: boolean }> | undefined;

  constructor(opts: StsTokenVerifierOptions) {
    if (!opts.clusterId) throw new EksAccessError("config", "no cluster id to verify tokens for", { hint: "give the cluster id tokens are signed for (--cluster-id)" });
    this.policy = tokenPolicy(opts);
    this.clusterId = opts.clusterId;
    this.timeoutMs = positiveInteger(opts.timeoutMs ?? DEFAULT_STS_TIMEOUT_MS, "the STS timeout (ms)");
    this.ttlMs = positiveInteger(opts.cache?.ttlMs ?? 5 * 60_000, "the cache TTL (ms)");
    this.cache = new ExpiringLru(positiveInteger(opts.cache?.maxEntries ?? 10_000, "the cache size", 0));
    this.now = opts.now ?? Date.now;
    const limits = opts.limits ?? {};
    this.perPrincipal = new KeyedTokenBuckets(
      rateOption(limits.perPrincipal ?? { perSecond: 10, burst: 50 }, "the per-principal STS limit"),
      positiveInteger(limits.maxPrincipals ?? 10_000, "the number of principals remembered"),
    );
    this.global = new TokenBucket(rateOption(limits.global ?? { perSecond: 100, burst: 200 }, "the global STS limit"), this.now());
    this.maxConcurrent = positiveInteger(limits.maxConcurrent ?? 64, "the number of concurrent STS calls");
    this.observer = opts.observer ?? {};
    this.env = opts.env ?? process.env;
  }

  /** Entries in the verified-identity cache and STS calls under way (for gauges). */
  stats(): { cacheEntries: number; stsCallsInFlight: number } {
    return { cacheEntries: this.cache.size, stsCallsInFlight: this.calling };
  }

  async verify(token: string): Promise<StsIdentity> {
    const now = this.now();
    // a token over the size limit is refused by checkToken before anything is spent on it
    const key = token.length <= this.policy.maxTokenBytes ? createHash("sha256").update(token).digest("base64") : undefined;
    const cached = key === undefined ? undefined : this.cache.get(key, now);
    if (cached !== undefined) {
      this.observer.cache?.(true);
      return cached;
    }
    const checked = checkToken(token, this.policy, now);
    if (key === undefined) throw new AuthnError("format", "token refused: it is too large"); // checkToken refused it already
    const sharing = this.inFlight.get(key);
    if (sharing !== undefined) {
      this.observer.coalesced?.();
      return sharing;
    }
    this.observer.cache?.(false);
    const call = this.callSts(checked, key).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, call);
    return call;
  }

  /** Closes the connections this verifier opened itself. */
  async close(): Promise<void> {
    const h = await this.handler;
    if (h?.own) h.handler.destroy();
  }

  private admit(accessKeyId: string, now: number): void {
    if (this.calling >= this.maxConcurrent) {
      this.observer.limited?.("concurrency");
      throw new AuthnError("sts-throttled", `${this.maxConcurrent} STS calls are already under way; the apiserver retries`);
    }
    if (!this.perPrincipal.take(accessKeyId, now)) {
      this.observer.limited?.("principal");
      throw new AuthnError("sts-throttled", `too many new tokens of access key ${accessKeyId} to verify with STS at once; the apiserver retries`);
    }
    if (!this.global.take(now)) {
      this.observer.limited?.("global");
      throw new AuthnError("sts-throttled", "too many new tokens to verify with STS at once; the apiserver retries");
    }
  }

  private async callSts(checked: CheckedToken, key: string): Promise<StsIdentity> {
    this.admit(checked.accessKeyId, this.now());
    this.calling++;
    const started = performance.now();
    let status: number | undefined;
    try {
      const answer = await this.get(checked);
      status = answer.status;
      const caller = readCallerIdentity(answer.status, answer.body);
      const identity: StsIdentity = { ...caller, accessKeyId: checked.accessKeyId };
      this.observer.stsCall?.({ outcome: "ok", status, seconds: (performance.now() - started) / 1000 });
      this.cache.set(key, identity, Math.min(checked.validUntilMs, this.now() + this.ttlMs));
      return identity;
    } catch (err) {
      const outcome: AuthnOutcome = err instanceof AuthnError ? err.outcome : "sts-unavailable";
      this.observer.stsCall?.({ outcome, ...(status === undefined ? {} : { status }), seconds: (performance.now() - started) / 1000 });
      throw err instanceof AuthnError ? err : new AuthnError("sts-unavailable", `STS could not be asked: ${(err as Error).message}`);
    } finally {
      this.calling--;
    }
  }

  private async httpHandler(): Promise<{ handler: NodeHttpHandler; own: boolean }> {
    this.handler ??= (async () => {
      const env = this.env["AWS_CA_BUNDLE"] || !this.env["SSL_CERT_FILE"] ? this.env : { ...this.env, AWS_CA_BUNDLE: this.env["SSL_CERT_FILE"] };
      const { requestHandler } = await httpClientConfig(env);
      return requestHandler !== undefined ? { handler: requestHandler, own: false } : { handler: new NodeHttpHandler(), own: true };
    })();
    return this.handler;
  }

  /** GET of the presigned URL; transport failures become sts-unavailable, naming no URL. */
  private async get(checked: CheckedToken): Promise<{ status: number; body: string }> {
    const { handler } = await this.httpHandler();
    const pathAndQuery = checked.url.slice(checked.url.indexOf("://") + 3 + checked.host.length);
    const request = new HttpRequest({
      protocol: "https:",
      hostname: checked.host,
      port: 443,
      method: "GET",
      path: pathAndQuery,
      headers: { host: checked.host, [CLUSTER_ID_HEADER]: this.clusterId, accept: "application/json" },
    });
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    try {
      const { response } = await handler.handle(request, { abortSignal: abort.signal });
      const stream = response.body as IncomingMessage;
      if (abort.signal.aborted) stream.destroy();
      else abort.signal.addEventListener("abort", () => stream.destroy(), { once: true });
      const body = await readBody(stream, MAX_ANSWER_BYTES);
      if (body === undefined) throw new AuthnError("sts-unavailable", `STS answered HTTP ${response.statusCode} with more than ${MAX_ANSWER_BYTES} bytes`);
      return { status: response.statusCode, body };
    } catch (err) {
      if (err instanceof AuthnError) throw err;
      if (abort.signal.aborted) throw new AuthnError("sts-unavailable", `STS did not answer within ${this.timeoutMs / 1000} s; the apiserver retries`);
      const code = (err as NodeJS.ErrnoException).code;
      throw new AuthnError("sts-unavailable", `STS at ${checked.host} could not be reached (${code ?? (err as Error).name}); the apiserver retries`);
    } finally {
      clearTimeout(timer);
    }
  }
}
