/**
 * core/token-verify.ts: every rule of the token check, both sides of each bound (injected clock),
 * the STS host allowlist per partition, the verifier's settings, and the reading of STS's answers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AuthnError } from "../../src/core/authn-error.js";
import { EksAccessError } from "../../src/core/errors.js";
import { encodeToken } from "../../src/core/token.js";
import {
  checkToken,
  DEFAULT_MAX_TOKEN_BYTES,
  isAllowedStsHost,
  MAX_TOKEN_BYTES_LIMIT,
  PRESIGNED_VALIDITY_MS,
  readCallerIdentity,
  tokenPolicy,
} from "../../src/core/token-verify.js";
import { padWithLineFeeds, presignFor, TOKEN_CASES, type TokenCaseContext } from "../token-cases.js";

const NOW = Date.UTC(2023, 3, 28, 0, 0, 0);
const ctx: TokenCaseContext = {
  // aws-iam-authenticator's TestGetWithSTS key; any key does for the checks
  user: { accessKeyId: "ASIAR2TG44V6AS3ZZE7C", secretAccessKey: "4KD5cntGcVmLWRdF5wvNRuzNL5Qxmp6OKVY6Fz/Q" },
  session: { accessKeyId: "ASIAR2TG44V6SESSION1", secretAccessKey: "c2VjcmV0LXNlc3Npb24ta2V5LWZvci10ZXN0cw", sessionToken: "FwoGZXIvYXdzEBYaDSESSIONTOKEN/+=" },
  clusterId: "test-cluster",
  region: "us-west-2",
  now: new Date(NOW),
};
const policy = tokenPolicy({ region: "us-west-2" });

function refusal(fn: () => unknown): AuthnError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AuthnError, `expected an AuthnError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected a refusal");
}

for (const c of TOKEN_CASES) {
  test(`table: ${c.name} → ${c.decidedBy === "rules" ? "refused by the rules" : "passes the rules (STS decides)"}`, async () => {
    const token = await c.make(ctx);
    if (c.decidedBy === "rules") {
      const err = refusal(() => checkToken(token, policy, NOW));
      assert.equal(err.outcome, c.ours);
      assert.equal(err.httpStatus, 403);
      assert.doesNotMatch(err.message, /[\r\n]/, "one line");
      if (token.length > 20) assert.ok(!err.message.includes(token.slice(11, 60)), "the message quotes no part of the token");
      assert.ok(!err.message.includes(ctx.session.sessionToken!), "nor the security token");
    } else {
      const checked = checkToken(token, policy, NOW);
      assert.match(checked.url, /^https:\/\/sts/i);
    }
  });
}

test("what a token that passes answers: URL, host, access key id, signing instant and validity", () => {
  const url = presignFor(ctx, { date: new Date(NOW - 60_000) });
  const checked = checkToken(encodeToken(url), policy, NOW);
  assert.deepEqual(checked, {
    url,
    host: "sts.us-west-2.amazonaws.com",
    accessKeyId: "ASIAR2TG44V6AS3ZZE7C",
    signedAtMs: NOW - 60_000,
    validUntilMs: NOW - 60_000 + PRESIGNED_VALIDITY_MS,
  });
});

test("X-Amz-Date: 900 s old passes, 901 s is refused; 15 min ahead passes, 15 min + 1 s is refused", () => {
  const at = (offsetMs: number) => encodeToken(presignFor(ctx, { date: new Date(NOW + offsetMs) }));
  assert.equal(checkToken(at(-900_000), policy, NOW).validUntilMs, NOW);
  assert.match(refusal(() => checkToken(at(-901_000), policy, NOW)).message, /more than 15 minutes old/);
  assert.ok(checkToken(at(900_000), policy, NOW));
  assert.match(refusal(() => checkToken(at(901_000), policy, NOW)).message, /in the future/);
  // the allowance for clocks ahead of ours is a setting
  const strict = tokenPolicy({ region: "us-west-2", maxFutureMs: 60_000 });
  assert.ok(checkToken(at(60_000), strict, NOW));
  assert.match(refusal(() => checkToken(at(61_000), strict, NOW)).message, /in the future/);
  // the same token, the clock moving: valid until X-Amz-Date + 15 min inclusive
  const token = at(0);
  assert.ok(checkToken(token, policy, NOW + 900_000));
  assert.ok(refusal(() => checkToken(token, policy, NOW + 900_001)));
});

test("X-Amz-Date must be a real instant in yyyymmddThhmmssZ", () => {
  for (const bad of ["20230230T000000Z", "20230428T240000Z", "20230428T006000Z", "20230428T000060Z", "20231328T000000Z", "20230428T000000", "2023-04-28T00:00:00Z", "20230428t000000Z", "20230428T000000z", "+0230428T000000Z"]) {
    assert.match(refusal(() => checkToken(encodeToken(presignFor(ctx, { amzDate: bad })), policy, NOW)).message, /X-Amz-Date/, bad);
  }
  assert.ok(checkToken(encodeToken(presignFor(ctx, { amzDate: "20230427T235959Z" })), policy, NOW));
  assert.ok(checkToken(encodeToken(presignFor(ctx, { date: new Date(Date.UTC(2024, 1, 29, 12)), amzDate: "20240229T120000Z" })), policy, Date.UTC(2024, 1, 29, 12)), "29 February of a leap year");
});

test("X-Amz-Expires: 0..900 in plain digits", () => {
  const with_ = (expires: string) => encodeToken(presignFor(ctx, { expires }));
  for (const ok of ["0", "60", "900", "0900", "000000000000000060"]) assert.ok(checkToken(with_(ok), policy, NOW), ok);
  for (const bad of ["901", "1000", "-1", "+60", " 60", "6e1", "0x10", "", "99999999999999999999"]) {
    assert.match(refusal(() => checkToken(with_(bad), policy, NOW)).message, /X-Amz-Expires/, JSON.stringify(bad));
  }
});

test("size: 4096 bytes by default, up to 16 KiB when configured, counted in UTF-8 bytes", () => {
  const token = encodeToken(presignFor(ctx));
  assert.equal(DEFAULT_MAX_TOKEN_BYTES, 4096);
  assert.ok(checkToken(padWithLineFeeds(token, 4096), policy, NOW));
  assert.match(refusal(() => checkToken(padWithLineFeeds(token, 4097), policy, NOW)).message, /larger than 4096 bytes/);
  const big = tokenPolicy({ region: "us-west-2", maxTokenBytes: MAX_TOKEN_BYTES_LIMIT });
  assert.ok(checkToken(padWithLineFeeds(token, 16384), big, NOW));
  assert.match(refusal(() => checkToken(padWithLineFeeds(token, 16385), big, NOW)).message, /larger than 16384 bytes/);
  // 1,400 three-byte characters are 1,400 code units but 4,200 bytes
  assert.match(refusal(() => checkToken(`k8s-aws-v1.${"€".repeat(1400)}`, policy, NOW)).message, /larger than 4096 bytes/);
  assert.match(refusal(() => checkToken(`k8s-aws-v1.${"€".repeat(1000)}`, policy, NOW)).message, /not unpadded base64url/);
});

test("the x-k8s-aws-id header must be signed (in any letter case, as the peer compares); other signed headers may come along", () => {
  assert.ok(checkToken(encodeToken(presignFor(ctx, { signedHeaders: ["host", "x-k8s-aws-id", "x-extra"] })), policy, NOW));
  assert.ok(checkToken(encodeToken(presignFor(ctx, { signedHeaders: ["host", "X-K8S-AWS-ID"] })), policy, NOW));
  for (const headers of [["host"], ["host", "x-k8s-aws-idx"], ["host", "k8s-aws-id"], [""]]) {
    assert.match(refusal(() => checkToken(encodeToken(presignFor(ctx, { signedHeaders: headers })), policy, NOW)).message, /not bound to a cluster/);
  }
});

test("every allowlisted parameter in any letter case; a duplicate in any case is refused", () => {
  const url = presignFor(ctx).replace("Action=", "aCtIoN=").replace("X-Amz-Date=", "x-amz-date=");
  assert.ok(checkToken(encodeToken(url), policy, NOW));
  for (const [name, value] of [["ACTION", "GetCallerIdentity"], ["version", "2011-06-15"], ["X-AMZ-EXPIRES", "60"], ["x-amz-credential", "x"], ["X-Amz-SignedHeaders", "host"]] as const) {
    const dup = `${presignFor(ctx)}&${name}=${value}`;
    assert.match(refusal(() => checkToken(encodeToken(dup), policy, NOW)).message, /duplicate query parameter/, name);
  }
  // %-encoded names are decoded before the comparison, as Go's url.ParseQuery does
  assert.match(refusal(() => checkToken(encodeToken(`${presignFor(ctx)}&%41ction=GetCallerIdentity`), policy, NOW)).message, /duplicate/);
  // a name that only Unicode case folding would make "action" stays a name outside the allowlist
  assert.match(refusal(() => checkToken(encodeToken(`${presignFor(ctx)}&Act%C4%B0on=x`), policy, NOW)).message, /not allowed/);
});

test("the URL: printable ASCII only, https, no userinfo, no fragment, path exactly /", () => {
  const url = presignFor(ctx);
  const bad: Array<[string, RegExp]> = [
    [url.replace("Action=", "Action= "), /space, control or non-ASCII/],
    [url.replace("Action=", "Action=\u00e9"), /space, control or non-ASCII/],
    [url.replace("Action=", "Action=\t"), /space, control or non-ASCII/],
    [url.replace("https:", "ftp:"), /scheme/],
    [url.replace("https://", "https:"), /no host/],
    [url.replace("https://", "//"), /scheme/],
    [url.replace(".com/", ".com@evil.example/"), /user information/],
    [url.replace(".com/?", ".com/#?"), /fragment/],
    [url.replace(".com/?", ".com/./?"), /path/],
    [url.replace(".com/?", ".com//?"), /path/],
    [url.slice(0, url.indexOf("?")), /Action is missing/],
  ];
  for (const [u, why] of bad) assert.match(refusal(() => checkToken(encodeToken(u), policy, NOW)).message, why, u.slice(0, 70));
  // without a path the whole query would be the "host": it is not quoted
  const hostless = refusal(() => checkToken(encodeToken(url.replace(".com/?", ".com&")), policy, NOW)).message;
  assert.equal(hostless, "token refused: the pre-signed URL's host is not an STS host of partition aws");
});

test("STS host names per partition: regional, FIPS, dual-stack; global only in aws; exact and lower-case", () => {
  const aws = tokenPolicy({ partition: "aws" });
  const cn = tokenPolicy({ partition: "aws-cn" });
  const gov = tokenPolicy({ region: "us-gov-west-1" });
  const iso = tokenPolicy({ partition: "aws-iso" });
  const eusc = tokenPolicy({ partition: "aws-eusc" });
  const table: Array<[string, typeof aws, boolean]> = [
    ["sts.amazonaws.com", aws, true],
    ["sts.us-east-1.amazonaws.com", aws, true],
    ["sts.mx-central-1.amazonaws.com", aws, true],
    ["sts-fips.us-east-2.amazonaws.com", aws, true],
    ["sts.eu-west-1.api.aws", aws, true],
    ["sts-fips.us-east-1.api.aws", aws, true],
    ["sts.us-east-1.amazonaws.com.cn", aws, false],
    ["sts.cn-north-1.amazonaws.com", aws, false],
    ["sts.us-gov-west-1.amazonaws.com", aws, false],
    ["sts.us-east-1.amazonaws.com:443", aws, false],
    ["STS.us-east-1.amazonaws.com", aws, false],
    ["sts.us-east-1.amazonaws.com.", aws, false],
    ["sts..amazonaws.com", aws, false],
    ["sts.us_east_1.amazonaws.com", aws, false],
    ["iam.amazonaws.com", aws, false],
    ["xsts.us-east-1.amazonaws.com", aws, false],
    ["sts.us-east-1.amazonaws.com.evil.example", aws, false],
    ["sts.cn-north-1.amazonaws.com.cn", cn, true],
    ["sts.cn-northwest-1.api.amazonwebservices.com.cn", cn, true],
    ["sts.amazonaws.com", cn, false],
    ["sts.us-east-1.amazonaws.com", cn, false],
    ["sts.us-gov-west-1.amazonaws.com", gov, true],
    ["sts.us-gov-east-1.api.aws", gov, true],
    ["sts.amazonaws.com", gov, false],
    ["sts.us-east-1.amazonaws.com", gov, false],
    ["sts.us-iso-east-1.c2s.ic.gov", iso, true],
    ["sts.us-iso-east-1.amazonaws.com", iso, false],
    ["sts.eusc-de-east-1.amazonaws.eu", eusc, true],
    ["sts.eusc-de-east-1.api.amazonwebservices.eu", eusc, true],
  ];
  for (const [host, p, allowed] of table) assert.equal(isAllowedStsHost(host, p), allowed, `${host} in ${p.partition}`);
});

test("settings: partition from the region, size bounds, unknown partition or region refused as configuration errors", () => {
  assert.equal(tokenPolicy().partition, "aws");
  assert.equal(tokenPolicy({ region: "cn-north-1" }).partition, "aws-cn");
  assert.equal(tokenPolicy({ region: "us-gov-east-1", maxTokenBytes: 8192 }).maxTokenBytes, 8192);
  const bad: Array<[Parameters<typeof tokenPolicy>[0], RegExp]> = [
    [{ partition: "aws-mars" }, /unknown AWS partition/],
    [{ region: "Oregon" }, /not an AWS region/],
    [{ region: "us-west-2", partition: "aws-cn" }, /not in partition aws-cn/],
    [{ maxTokenBytes: 16385 }, /maximum token size/],
    [{ maxTokenBytes: 10 }, /maximum token size/],
    [{ maxTokenBytes: 4096.5 }, /maximum token size/],
    [{ maxFutureMs: -1 }, /clock skew/],
  ];
  for (const [opts, why] of bad) {
    assert.throws(() => tokenPolicy(opts), (err: unknown) => EksAccessError.is(err) && err.kind === "config" && why.test(err.message), JSON.stringify(opts));
  }
});

test("STS's answer: 200 with the caller; throttling → 429; STS's 4xx → 403; 5xx, odd statuses, bare 4xx and unreadable 200s → 500", () => {
  const ok = JSON.stringify({
    GetCallerIdentityResponse: {
      GetCallerIdentityResult: { Arn: "arn:aws:sts::111122223333:assumed-role/dev/alice", Account: "111122223333", UserId: "AROAEXAMPLE:alice" },
      ResponseMetadata: { RequestId: "r" },
    },
  });
  assert.deepEqual(readCallerIdentity(200, ok), { arn: "arn:aws:sts::111122223333:assumed-role/dev/alice", account: "111122223333", userId: "AROAEXAMPLE:alice" });
  const jsonError = (code: string) => JSON.stringify({ Error: { Code: code, Message: "m", Type: "Sender" }, RequestId: "r" });
  const xmlError = (code: string) => `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>m</Message></Error></ErrorResponse>`;
  const table: Array<[number, string, string, number, RegExp]> = [
    [400, jsonError("Throttling"), "sts-throttled", 429, /HTTP 400 Throttling/],
    [400, xmlError("Throttling"), "sts-throttled", 429, /Throttling/],
    [429, "", "sts-throttled", 429, /HTTP 429/],
    [400, jsonError("RequestLimitExceeded"), "sts-throttled", 429, /RequestLimitExceeded/],
    [503, "Throttling: Rate exceeded", "sts-throttled", 429, /HTTP 503/],
    [403, jsonError("SignatureDoesNotMatch"), "sts-rejected", 403, /SignatureDoesNotMatch.*another cluster id/],
    [403, jsonError("InvalidClientTokenId"), "sts-rejected", 403, /HTTP 403 InvalidClientTokenId/],
    [403, xmlError("ExpiredToken"), "sts-rejected", 403, /ExpiredToken/],
    [400, "not json", "sts-unavailable", 500, /HTTP 400 without an STS error code/],
    [403, "<html>Forbidden by proxy policy</html>", "sts-unavailable", 500, /HTTP 403 without an STS error code/],
    [500, jsonError("InternalFailure"), "sts-unavailable", 500, /HTTP 500 InternalFailure/],
    [503, "", "sts-unavailable", 500, /HTTP 503/],
    [302, "", "sts-unavailable", 500, /HTTP 302/],
    [200, "<GetCallerIdentityResponse/>", "sts-unavailable", 500, /without a readable/],
    [200, JSON.stringify({ GetCallerIdentityResponse: { GetCallerIdentityResult: { Arn: "arn:aws:iam::1:user/x", Account: "1", UserId: "AIDA" } } }), "sts-unavailable", 500, /without a readable/],
    [200, "null", "sts-unavailable", 500, /without a readable/],
    [403, jsonError("<script>" + "x".repeat(100)), "sts-unavailable", 500, /^HTTP 403 without an STS error code/],
  ];
  for (const [status, body, outcome, http, message] of table) {
    const err = refusal(() => readCallerIdentity(status, body));
    assert.equal(err.outcome, outcome, `${status} ${body}`);
    assert.equal(err.httpStatus, http);
    assert.match(err.message, message);
  }
});
