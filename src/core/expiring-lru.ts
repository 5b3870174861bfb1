/**
 * A bounded map whose entries expire (pure; the caller passes the clock): least recently used
 * entries leave first when it is full, and an entry is never answered after its expiry instant.
 * Serves the verified-identity cache of the TokenReview authenticator.
 */
export class ExpiringLru<V> {
  private readonly entries = new Map<string, { value: V; expiresAtMs: number }>();

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError(`maxEntries must be a whole number ≥ 0, got ${maxEntries}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value while `nowMs` ≤ its expiry (then it becomes the most recently used), else undefined. */
  get(key: string, nowMs: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (nowMs > entry.expiresAtMs) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Stores `value` until `expiresAtMs`, evicting the least recently used entry when full. */
  set(key: string, value: V, expiresAtMs: number): void {
    if (this.maxEntries === 0) return;
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAtMs });
  }
}
