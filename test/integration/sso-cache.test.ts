/**
 * SSO role credentials in the AWS CLI's cache (~/.aws/cli/cache, where AWS CLI v2 keeps what
 * GetRoleCredentials returned; v1 keeps them in memory only): eks-access writes the entry at
 * botocore's SSOCredentialFetcher key and serves later calls from it without asking the portal,
 * for sso_session and legacy profiles alike. The portal is test/fixtures/sso-portal.ts over moto.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startMoto, type MotoServer } from "../../src/sandbox/emulator/moto.js";
import { startSsoPortal, type SsoPortal } from "../fixtures/sso-portal.js";
import { baseEnv, cliPath, runAsync, tempDir, type Env } from "../helpers.js";

const ACCOUNT = "123456789012";
const ROLE_NAME = "AWSReservedSSO_AdministratorAccess_4b272cfed6132d4f";
const START_URL = "https://corp.awsapps.com/start";
const LEGACY_URL = "https://legacy.awsapps.com/start";
const CONFIG = `[profile sso-admin]
sso_session = corp
sso_account_id = ${ACCOUNT}
sso_role_name = AdministratorAccess
region = us-west-2

[sso-session corp]
sso_start_url = ${START_URL}
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile legacy]
sso_start_url = ${LEGACY_URL}
sso_region = eu-west-1
sso_account_id = ${ACCOUNT}
sso_role_name = AdministratorAccess
region = us-west-2
`;

let moto: MotoServer;
let portal: SsoPortal;
let root: string;
let cleanup: () => void;

before(async () => {
  const t = tempDir();
  root = t.path;
  cleanup = t.cleanup;
  moto = await startMoto();
  portal = await startSsoPortal({ motoUrl: moto.url, accessTokens: { "tok-admin": { userName: "prabesh", allowed: [{ accountId: ACCOUNT, roleName: "AdministratorAccess" }] } } });
  const admin = baseEnv({ AWS_ACCESS_KEY_ID: "admin", AWS_SECRET_ACCESS_KEY: "admin", AWS_DEFAULT_REGION: "us-west-2", AWS_ENDPOINT_URL: moto.url });
  const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "sts:AssumeRole" }] });
  const r = await runAsync("aws", ["iam", "create-role", "--role-name", ROLE_NAME, "--path", "/aws-reserved/sso.amazonaws.com/eu-west-1/", "--assume-role-policy-document", trust], admin);
  assert.equal(r.status, 0, r.stderr);
});

after(async () => {
  await portal?.stop();
  await moto?.stop();
  cleanup?.();
});

/** A HOME where `aws sso login` left a valid token for both the session and the legacy start URL. */
function ssoHome(name: string): Env {
  const home = join(root, name);
  mkdirSync(join(home, ".aws", "sso", "cache"), { recursive: true });
  writeFileSync(join(home, ".aws", "config"), CONFIG);
  const expiresAt = new Date(Date.now() + 8 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
  for (const key of ["corp", LEGACY_URL]) {
    const token = { startUrl: key === "corp" ? START_URL : LEGACY_URL, region: "eu-west-1", accessToken: "tok-admin", expiresAt };
    writeFileSync(join(home, ".aws", "sso", "cache", `${createHash("sha1").update(key).digest("hex")}.json`), JSON.stringify(token));
  }
  return baseEnv({ HOME: home, AWS_CONFIG_FILE: join(home, ".aws", "config"), AWS_SHARED_CREDENTIALS_FILE: join(home, ".aws", "credentials"), AWS_ENDPOINT_URL: moto.url, AWS_ENDPOINT_URL_SSO: portal.url, EKS_ACCESS_CACHE_DIR: join(home, "tokens") });
}

/** botocore's SSOCredentialFetcher cache key for a profile (the oracle for the file name). */
function botocoreSsoKey(opts: { sessionName?: string; startUrl?: string }): string {
  const py = `import sys
from botocore.credentials import SSOCredentialFetcher
print(SSOCredentialFetcher(sys.argv[1] or None, "eu-west-1", "AdministratorAccess", "${ACCOUNT}", None, sso_session_name=sys.argv[2] or None, cache={})._cache_key)`;
  return execFileSync("python3", ["-c", py, opts.startUrl ?? "", opts.sessionName ?? ""], { encoding: "utf8" }).trim();
}

for (const [profile, key] of [["sso-admin", { sessionName: "corp", startUrl: START_URL }], ["legacy", { startUrl: LEGACY_URL }]] as const) {
  test(`${profile}: role credentials are cached at botocore's key and reused without GetRoleCredentials`, async () => {
    const env = ssoHome(profile);
    const file = join(env["HOME"]!, ".aws", "cli", "cache", `${botocoreSsoKey(key)}.json`);
    const n = portal.calls.length;
    const first = await runAsync(cliPath, ["token", "--cluster-name", "demo", "--no-cache", "--profile", profile, "--debug"], env);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(portal.calls.slice(n).filter((c) => c.operation === "GetRoleCredentials").length, 1);
    assert.ok(existsSync(file), `${file} written`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const entry = JSON.parse(readFileSync(file, "utf8"));
    assert.equal(entry.ProviderType, "sso");
    assert.equal(entry.Credentials.AccountId, ACCOUNT);
    assert.match(entry.Credentials.Expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, "botocore's SSO format");
    assert.ok(first.stderr.includes(`fetched from IAM Identity Center now and cached in ${file}`), first.stderr);
    const second = await runAsync(cliPath, ["token", "--cluster-name", "demo", "--no-cache", "--profile", profile, "--debug"], env);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(portal.calls.slice(n).filter((c) => c.operation === "GetRoleCredentials").length, 1, "the portal was not asked again");
    assert.ok(second.stderr.includes(`via AWS CLI cache hit ${file}`), second.stderr);
    const accessKeyOf = (stdout: string): string => {
      const url = new URL(Buffer.from((JSON.parse(stdout).status.token as string).slice(11), "base64url").toString());
      return url.searchParams.get("X-Amz-Credential")!.split("/")[0]!;
    };
    assert.equal(accessKeyOf(second.stdout), entry.Credentials.AccessKeyId, "signed with the cached role credentials");
  });
}
