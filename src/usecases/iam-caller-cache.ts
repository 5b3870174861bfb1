/**
 * The IAM look-ups behind the matches beyond the peer, cached and coalesced: the request path asks
 * IAM at most once per principal and interval, and concurrent reviews of one principal share one
 * call. A role's ARN (path) is fixed for the life of its unique id, so it is kept long; group
 * membership changes, so it is kept briefly. "Not found" is kept like an answer; a failure is not
 * kept (the next review asks again).
 */
import { ExpiringLru } from "../core/expiring-lru.js";
import type { AuthnMetrics, IamCallerDirectory, IamEntity } from "../ports/authn.js";

export interface IamCacheOptions {
  now(): number;
  /** default 10 minutes */
  roleTtlMs?: number;
  /** default 60 s */
  groupsTtlMs?: number;
  /** default 10,000 */
  maxEntries?: number;
  metrics: Pick<AuthnMetrics, "iamLookup">;
}

export class CachedIamDirectory implements IamCallerDirectory {
  private readonly cache: ExpiringLru<{ found: IamEntity | IamEntity[] | undefined }>;
  private readonly pending = new Map<string, Promise<IamEntity | IamEntity[] | undefined>>();

  constructor(
    private readonly inner: IamCallerDirectory,
    private readonly opts: IamCacheOptions,
  ) {
    this.cache = new ExpiringLru(opts.maxEntries ?? 10_000);
  }

  role(name: string, uniqueId: string): Promise<IamEntity | undefined> {
    return this.cached("role", `role\u0000${uniqueId}\u0000${name}`, this.opts.roleTtlMs ?? 600_000, () => this.inner.role(name, uniqueId)) as Promise<IamEntity | undefined>;
  }

  groupsOfUser(name: string, uniqueId: string): Promise<IamEntity[] | undefined> {
    return this.cached("groups", `groups\u0000${uniqueId}\u0000${name}`, this.opts.groupsTtlMs ?? 60_000, () => this.inner.groupsOfUser(name, uniqueId)) as Promise<IamEntity[] | undefined>;
  }

  private cached(kind: "role" | "groups", key: string, ttl: number, call: () => Promise<IamEntity | IamEntity[] | undefined>): Promise<IamEntity | IamEntity[] | undefined> {
    const hit = this.cache.get(key, this.opts.now());
    if (hit) {
      this.opts.metrics.iamLookup(kind, "hit");
      return Promise.resolve(hit.found);
    }
    let p = this.pending.get(key);
    if (!p) {
      this.opts.metrics.iamLookup(kind, "call");
      p = call()
        .then((found) => {
          this.cache.set(key, { found }, this.opts.now() + ttl);
          return found;
        })
        .catch((err: unknown) => {
          this.opts.metrics.iamLookup(kind, "error");
          throw err;
        })
        .finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }
}
