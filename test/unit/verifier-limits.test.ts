/** core/expiring-lru.ts and core/rate-limit.ts: the verified-identity cache and the STS call limits, with an injected clock. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ExpiringLru } from "../../src/core/expiring-lru.js";
import { checkRate, KeyedTokenBuckets, TokenBucket } from "../../src/core/rate-limit.js";

test("ExpiringLru: answered up to its expiry instant inclusive, never after", () => {
  const lru = new ExpiringLru<string>(10);
  lru.set("a", "A", 1_000);
  assert.equal(lru.get("a", 999), "A");
  assert.equal(lru.get("a", 1_000), "A");
  assert.equal(lru.get("a", 1_001), undefined);
  assert.equal(lru.size, 0, "an expired entry is dropped when met");
  assert.equal(lru.get("a", 0), undefined);
});

test("ExpiringLru: bounded; the least recently used entry leaves first; a get refreshes", () => {
  const lru = new ExpiringLru<number>(3);
  for (const [k, v] of [["a", 1], ["b", 2], ["c", 3]] as const) lru.set(k, v, 100);
  assert.equal(lru.get("a", 0), 1); // a is now the most recent: b is the oldest
  lru.set("d", 4, 100);
  assert.equal(lru.size, 3);
  assert.equal(lru.get("b", 0), undefined);
  assert.deepEqual(["a", "c", "d"].map((k) => lru.get(k, 0)), [1, 3, 4]);
  lru.set("c", 30, 100); // replacing keeps the size
  assert.equal(lru.size, 3);
  assert.equal(lru.get("c", 0), 30);
  for (let i = 0; i < 1000; i++) lru.set(`k${i}`, i, 100);
  assert.equal(lru.size, 3);
});

test("ExpiringLru: size 0 keeps nothing; a negative or fractional size is refused", () => {
  const off = new ExpiringLru<number>(0);
  off.set("a", 1, 100);
  assert.equal(off.get("a", 0), undefined);
  assert.throws(() => new ExpiringLru(-1), RangeError);
  assert.throws(() => new ExpiringLru(1.5), RangeError);
});

test("TokenBucket: a burst, then the rate", () => {
  const bucket = new TokenBucket({ perSecond: 2, burst: 3 }, 0);
  assert.deepEqual([1, 2, 3, 4].map(() => bucket.take(0)), [true, true, true, false]);
  assert.equal(bucket.take(499), false, "not yet one token back");
  assert.equal(bucket.take(500), true, "one token after 1/rate");
  assert.equal(bucket.take(500), false);
  assert.deepEqual([1, 2, 3, 4].map(() => bucket.take(60_000)), [true, true, true, false], "never more than the burst");
  assert.equal(bucket.take(30_000), false, "a clock going back adds nothing");
});

test("KeyedTokenBuckets: one bucket per key, at most maxKeys remembered (least recently used forgotten)", () => {
  const buckets = new KeyedTokenBuckets({ perSecond: 1, burst: 1 }, 2);
  assert.equal(buckets.take("a", 0), true);
  assert.equal(buckets.take("a", 0), false);
  assert.equal(buckets.take("b", 0), true, "another key has its own bucket");
  assert.equal(buckets.take("a", 0), false, "a is still empty");
  assert.equal(buckets.take("c", 0), true); // forgets b (a was used more recently)
  assert.equal(buckets.take("a", 0), false, "a was remembered");
  assert.equal(buckets.take("b", 0), true, "b was forgotten: a full bucket again");
});

test("checkRate: positive rate, whole burst ≥ 1", () => {
  assert.deepEqual(checkRate({ perSecond: 0.5, burst: 1 }, "x"), { perSecond: 0.5, burst: 1 });
  for (const bad of [{ perSecond: 0, burst: 1 }, { perSecond: -1, burst: 1 }, { perSecond: Number.NaN, burst: 1 }, { perSecond: 1, burst: 0 }, { perSecond: 1, burst: 1.5 }]) {
    assert.throws(() => checkRate(bad, "the limit"), /the limit: the rate must be/);
  }
});
