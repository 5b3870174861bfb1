/**
 * Token-bucket rate limits (pure; the caller passes the clock). The TokenReview authenticator
 * limits its calls to STS per principal (access key id) and globally, so that a flood of tokens
 * can neither make it spam STS nor let one caller use up the account's STS quota.
 */
export interface Rate {
  /** tokens added per second */
  perSecond: number;
  /** bucket size: how many calls may come at once after a quiet time */
  burst: number;
}

export function checkRate(rate: Rate, what: string): Rate {
  if (!(Number.isFinite(rate.perSecond) && rate.perSecond > 0) || !(Number.isInteger(rate.burst) && rate.burst >= 1)) {
    throw new RangeError(`${what}: the rate must be > 0 per second and the burst a whole number ≥ 1, got ${rate.perSecond}/s burst ${rate.burst}`);
  }
  return rate;
}

export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    private readonly rate: Rate,
    nowMs: number,
  ) {
    this.tokens = rate.burst;
    this.lastMs = nowMs;
  }

  /** Takes one token if there is one. */
  take(nowMs: number): boolean {
    if (nowMs > this.lastMs) {
      this.tokens = Math.min(this.rate.burst, this.tokens + ((nowMs - this.lastMs) / 1000) * this.rate.perSecond);
      this.lastMs = nowMs;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * One bucket per key, at most `maxKeys` of them (least recently used forgotten first: a forgotten
 * key starts again with a full bucket, so a global limit must stand behind this one).
 */
export class KeyedTokenBuckets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly rate: Rate,
    private readonly maxKeys: number,
  ) {}

  take(key: string, nowMs: number): boolean {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.rate, nowMs);
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next();
        if (oldest.done !== true) this.buckets.delete(oldest.value);
      }
    } else this.buckets.delete(key);
    this.buckets.set(key, bucket);
    return bucket.take(nowMs);
  }
}
