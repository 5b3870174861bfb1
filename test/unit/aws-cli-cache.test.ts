/**
 * The AWS CLI cache rules in core, against botocore itself as the oracle: the key botocore's
 * fetchers build for a profile's settings (sha1 of it = the file name), the timestamps it writes,
 * the 15-minute expiry window, and the entries eks-access writes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  AWS_CLI_EXPIRY_WINDOW_MS,
  assumeRoleEntry,
  cacheKindOf,
  isEksAccessEntry,
  parseBotocoreTime,
  parseCacheEntry,
  pythonJsonDumps,
  ssoEntry,
} from "../../src/core/aws-cli-cache.js";
import { awsCliCacheKey } from "../../src/adapters/aws-cli-cache.js";

/** botocore's cache key (the file name stem) for each case, computed by botocore's own fetchers. */
function botocoreKeys(cases: Array<{ kind: "role" | "sso"; settings: Record<string, string> }>): string[] {
  const script = `
import json, sys
from botocore.credentials import AssumeRoleProvider, AssumeRoleCredentialFetcher, SSOCredentialFetcher
out = []
for c in json.load(sys.stdin):
    s = c["settings"]
    if c["kind"] == "role":
        # AssumeRoleProvider._load_creds_via_assume_role, without the STS call
        p = AssumeRoleProvider(load_config=None, client_creator=None, cache={}, profile_name="p")
        p._loaded_config = {"profiles": {"p": dict(s, source_profile="base"), "base": {"aws_access_key_id": "a", "aws_secret_access_key": "b"}}}
        cfg = p._get_role_config("p")
        extra = {}
        if cfg.get("role_session_name") is not None: extra["RoleSessionName"] = cfg["role_session_name"]
        if cfg.get("external_id") is not None: extra["ExternalId"] = cfg["external_id"]
        if cfg.get("mfa_serial") is not None: extra["SerialNumber"] = cfg["mfa_serial"]
        if cfg.get("duration_seconds") is not None: extra["DurationSeconds"] = cfg["duration_seconds"]
        f = AssumeRoleCredentialFetcher(None, None, cfg["role_arn"], extra_args=extra, cache={})
    else:
        f = SSOCredentialFetcher(s.get("sso_start_url"), "eu-west-1", s["sso_role_name"], s["sso_account_id"], None, sso_session_name=s.get("sso_session"), cache={})
    out.append(f._cache_key)
print(json.dumps(out))
`;
  return JSON.parse(execFileSync("python3", ["-c", script], { input: JSON.stringify(cases), encoding: "utf8" })) as string[];
}

const ROLE = "arn:aws:iam::123456789012:role/Admin";
const CASES: Array<{ kind: "role" | "sso"; settings: Record<string, string> }> = [
  { kind: "role", settings: { role_arn: ROLE } },
  { kind: "role", settings: { role_arn: ROLE, role_session_name: "alice" } },
  { kind: "role", settings: { role_arn: ROLE, mfa_serial: "arn:aws:iam::123456789012:mfa/alice", duration_seconds: "43200" } },
  { kind: "role", settings: { role_arn: ROLE, external_id: "ext-ü-1", role_session_name: "zoë", duration_seconds: "x" } },
  { kind: "sso", settings: { sso_session: "corp", sso_account_id: "123456789012", sso_role_name: "AdministratorAccess" } },
  { kind: "sso", settings: { sso_start_url: "https://legacy.awsapps.com/start", sso_account_id: "123456789012", sso_role_name: "ReadOnly" } },
];

test("the key JSON of role_arn and SSO profiles hashes to botocore's cache file name", () => {
  const expected = botocoreKeys(CASES);
  const ours = CASES.map((c) => {
    const kind = cacheKindOf({ ...c.settings, ...(c.kind === "role" ? { source_profile: "base" } : {}) });
    assert.equal(kind.kind, c.kind);
    return awsCliCacheKey((kind as { keyJson: string }).keyJson);
  });
  assert.deepEqual(ours, expected);
  assert.equal(new Set(ours).size, ours.length, "different settings, different files");
});

test("the source of a role does not enter the key (source_profile and credential_source share it); web identity and plain keys are not cached", () => {
  const a = cacheKindOf({ role_arn: ROLE, source_profile: "base" });
  const b = cacheKindOf({ role_arn: ROLE, credential_source: "Environment" });
  assert.deepEqual(a, b);
  assert.equal(cacheKindOf({ role_arn: ROLE, web_identity_token_file: "/t" }).kind, "none");
  assert.equal(cacheKindOf({ aws_access_key_id: "AKID", aws_secret_access_key: "s" }).kind, "none");
  assert.equal(cacheKindOf({ role_arn: ROLE }).kind, "none", "neither source: the SDK reports the error");
});

test("pythonJsonDumps escapes as Python's json.dumps (ensure_ascii, DEL, astral characters)", () => {
  const value = "a/b\"c\\d\u007f\u00e9\u{1F600}\n";
  const py = execFileSync("python3", ["-c", "import json,sys; print(json.dumps(json.loads(sys.stdin.read()), sort_keys=True), end='')"], { input: JSON.stringify({ b: value, a: 7 }), encoding: "utf8" });
  assert.equal(pythonJsonDumps({ b: value, a: 7 }, false), py);
  assert.equal(createHash("sha1").update(pythonJsonDumps({ b: value, a: 7 }, false)).digest("hex"), createHash("sha1").update(py).digest("hex"));
});

test("timestamps as botocore writes them (…UTC, isoformat offsets, Z) parse; naive or junk ones do not", () => {
  const t = Date.UTC(2026, 0, 1, 12, 0, 0);
  assert.equal(parseBotocoreTime("2026-01-01T12:00:00UTC"), t);
  assert.equal(parseBotocoreTime("2026-01-01T12:00:00Z"), t);
  assert.equal(parseBotocoreTime("2026-01-01T12:00:00+00:00"), t);
  assert.equal(parseBotocoreTime("2026-01-01T14:00:00+02:00"), t);
  assert.equal(parseBotocoreTime("2026-01-01T12:00:00.250Z"), t + 250);
  assert.equal(parseBotocoreTime("2026-01-01T12:00:00"), undefined);
  assert.equal(parseBotocoreTime("tomorrow"), undefined);
});

test("an entry is used while 15+ minutes remain (botocore's window), and only when complete", () => {
  const exp = Date.UTC(2026, 0, 1, 13, 0, 0);
  const entry = { Credentials: { AccessKeyId: "ASIA1", SecretAccessKey: "s", SessionToken: "t", Expiration: "2026-01-01T13:00:00UTC" } };
  assert.equal(parseCacheEntry(entry, exp - AWS_CLI_EXPIRY_WINDOW_MS)?.expiration.getTime(), exp);
  assert.equal(parseCacheEntry(entry, exp - AWS_CLI_EXPIRY_WINDOW_MS + 1), undefined);
  assert.equal(parseCacheEntry({ Credentials: { ...entry.Credentials, SessionToken: undefined } }, 0), undefined);
  assert.equal(parseCacheEntry("junk", 0), undefined);
  assert.equal(parseCacheEntry(null, 0), undefined);
});

test("entries eks-access writes read back, carry its mark, and keep botocore's shape", () => {
  const creds = { accessKeyId: "ASIA1", secretAccessKey: "s", sessionToken: "t", expiration: new Date(Date.UTC(2026, 0, 1, 13)) };
  const role = assumeRoleEntry(creds, { arn: "arn:aws:sts::123456789012:assumed-role/Admin/x", assumedRoleId: "AROA:x" });
  assert.deepEqual(parseCacheEntry(JSON.parse(JSON.stringify(role)), 0), creds);
  assert.equal((role["Credentials"] as Record<string, string>)["AccountId"], "123456789012");
  assert.ok(isEksAccessEntry(role));
  const sso = ssoEntry(creds, "123456789012");
  assert.equal(sso["ProviderType"], "sso");
  assert.ok(isEksAccessEntry(sso));
  assert.ok(!isEksAccessEntry({ Credentials: {} }), "the AWS CLI's own entries are not ours");
});
