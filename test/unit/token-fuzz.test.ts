/**
 * The token fuzzer (test/fuzz/token-fuzz.ts) in the suite, at 50,000 tokens: no crash, no hang, no
 * token accepted (or refused) against the oracle of the rules, and every rule reached. The full
 * 1,000,000-token run is `npm run fuzz:token`. The seed changes every run and is printed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fuzzInWorker, oracle, REFUSAL_RULES, FUZZ_NOW } from "../fuzz/token-fuzz.js";
import { encodeToken } from "../../src/core/token.js";
import { presignUrl } from "../token-cases.js";

test("the oracle itself: accepts a valid token, refuses it one second past its validity, and refuses a duplicate", () => {
  const url = presignUrl({
    credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "s" },
    region: "us-west-2",
    host: "sts.us-west-2.amazonaws.com",
    clusterId: "c",
    date: new Date(FUZZ_NOW),
  });
  assert.deepEqual(oracle(encodeToken(url), 4096, FUZZ_NOW), { url, host: "sts.us-west-2.amazonaws.com", accessKeyId: "AKIAIOSFODNN7EXAMPLE", validUntilMs: FUZZ_NOW + 900_000 });
  assert.equal(oracle(encodeToken(url), 4096, FUZZ_NOW + 900_001), undefined);
  assert.equal(oracle(encodeToken(`${url}&action=GetCallerIdentity`), 4096, FUZZ_NOW), undefined);
  assert.equal(oracle(encodeToken(url.replace("sts.us-west-2", "sts.cn-north-1")), 4096, FUZZ_NOW), undefined);
});

test("50,000 generated and mutated tokens through checkToken: only format refusals, the oracle's verdict every time", async () => {
  const seed = Math.floor(Math.random() * 2 ** 32);
  console.log(`token fuzz seed ${seed} (reproduce: npm run fuzz:token -- --count 50000 --seed ${seed})`);
  const report = await fuzzInWorker(50_000, seed, { stallMs: 60_000, limitMs: 5 * 60_000 });
  console.log(`accepted ${report.accepted}, ${(report.ms / 1000).toFixed(1)} s, slowest check ${report.slowestCheckMs.toFixed(2)} ms`);
  // every token was checked: each one either accepted (and compared with the oracle) or refused by a named rule
  assert.equal(report.accepted + Object.values(report.refusals).reduce((a, b) => a + b, 0), 50_000);
  assert.ok(report.accepted > 1_000, `control: ${report.accepted} accepted tokens were compared with the oracle`);
  for (const [rule] of REFUSAL_RULES) assert.ok((report.refusals[rule] ?? 0) > 0, `no token was refused by the ${rule} rule: the generator does not reach it`);
  assert.deepEqual(Object.keys(report.refusals).filter((k) => k.startsWith("other")), [], "every refusal names a known rule");
  assert.ok(report.slowestCheckMs < 250, `one check took ${report.slowestCheckMs} ms`);
});
