/**
 * The IAM Identity Center portal fixture, with real clients: the AWS CLI v1 (botocore's SSO
 * credential provider, sso_session and legacy profiles, and `aws sso …` commands) and
 * eks-access (the AWS SDK v3 SSO provider). Role credentials come from moto, so the caller is
 * `assumed-role/AWSReservedSSO_<PermissionSet>_<hash>/<user>` as with the real service.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { startMoto, type MotoIamRole, type MotoServer } from "../../src/sandbox/emulator/moto.js";
import { findSsoRole, page, startSsoPortal, type SsoPortal } from "../fixtures/sso-portal.js";
import { baseEnv, cliPath, runAsync, tempDir, type Env, type RunResult } from "../helpers.js";

const ACCOUNT = "123456789012";
const OTHER_ACCOUNT = "210987654321";
const ROLE_NAME = "AWSReservedSSO_AdministratorAccess_4b272cfed6132d4f";
const ROLE_PATH = "/aws-reserved/sso.amazonaws.com/eu-west-1/";
const USER = "prabesh";
const LEGACY_USER = "legacy.user@example.com";
const SESSION = "corp";
const START_URL = "https://corp.awsapps.com/start";
const LEGACY_START_URL = "https://legacy.awsapps.com/start";
const EXPECTED_ARN = `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE_NAME}/${USER}`;
const TRUST = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "sts:AssumeRole" }] });

// The portal runs in this process: clients must run asynchronously (spawnSync would block its event loop).
const run = (cmd: string, args: string[], env: Env): Promise<RunResult> => runAsync(cmd, args, env);

async function aws(env: Env, ...args: string[]): Promise<unknown> {
  const r = await run("aws", [...args, "--output", "json"], env);
  assert.equal(r.status, 0, `aws ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : {};
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
}

function portalGet(base: string, path: string, token?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { headers: token !== undefined ? { "x-amz-sso_bearer_token": token } : {}, agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: body ? JSON.parse(body) : {} }));
    });
    req.on("error", reject);
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// what `aws sso login` leaves behind (botocore SSOTokenLoader / SSOTokenProvider, SDK v3 getSSOTokenFromFile):
// ~/.aws/sso/cache/<sha1(sso-session name | legacy start URL)>.json

const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, "Z");

function writeSsoSessionToken(home: string, session: string, accessToken: string, expiresAt: Date): void {
  writeCache(home, session, {
    startUrl: START_URL,
    region: "eu-west-1",
    accessToken,
    expiresAt: isoSeconds(expiresAt),
    clientId: "fixture-client-id",
    clientSecret: "fixture-client-secret",
    registrationExpiresAt: isoSeconds(new Date(expiresAt.getTime() + 90 * 86_400_000)),
    refreshToken: "fixture-refresh-token",
  });
}

function writeLegacyToken(home: string, startUrl: string, accessToken: string, expiresAt: Date): void {
  writeCache(home, startUrl, { startUrl, region: "eu-west-1", accessToken, expiresAt: isoSeconds(expiresAt) });
}

function writeCache(home: string, key: string, token: Record<string, string>): void {
  const dir = join(home, ".aws", "sso", "cache");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${createHash("sha1").update(key, "utf8").digest("hex")}.json`), JSON.stringify(token));
}

const CONFIG = `[profile sso-admin]
sso_session = ${SESSION}
sso_account_id = ${ACCOUNT}
sso_role_name = AdministratorAccess
region = us-west-2

[profile sso-readonly]
sso_session = ${SESSION}
sso_account_id = ${ACCOUNT}
sso_role_name = ReadOnly
region = us-west-2

[sso-session ${SESSION}]
sso_start_url = ${START_URL}
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile legacy]
sso_start_url = ${LEGACY_START_URL}
sso_region = eu-west-1
sso_account_id = ${ACCOUNT}
sso_role_name = AdministratorAccess
region = us-west-2
`;

// ---------------------------------------------------------------------------------------------
// botocore's sso model as the oracle for answer shapes

interface Shape {
  type: string;
  members?: Record<string, { shape: string; location?: string; locationName?: string }>;
  member?: { shape: string };
  error?: { httpStatusCode: number };
}

function ssoModel(): { shapes: Record<string, Shape>; operations: Record<string, { http: { method: string; requestUri: string }; input: { shape: string }; output?: { shape: string } }> } {
  const pkg = execFileSync("python3", ["-c", "import botocore, os; print(os.path.dirname(botocore.__file__))"], { encoding: "utf8" }).trim();
  const base = join(pkg, "data", "sso", "2019-06-10", "service-2.json");
  return JSON.parse(existsSync(base) ? readFileSync(base, "utf8") : gunzipSync(readFileSync(`${base}.gz`)).toString("utf8"));
}

function shapeErrors(shapes: Record<string, Shape>, name: string, value: unknown, path: string): string[] {
  const shape = shapes[name];
  if (shape === undefined) return [`${path}: no shape ${name}`];
  switch (shape.type) {
    case "structure":
      if (typeof value !== "object" || value === null || Array.isArray(value)) return [`${path}: ${name} should be an object`];
      return Object.entries(value).flatMap(([k, v]) => {
        const m = shape.members?.[k];
        return m === undefined ? [`${path}.${k}: not a member of ${name}`] : shapeErrors(shapes, m.shape, v, `${path}.${k}`);
      });
    case "list":
      return Array.isArray(value) ? value.flatMap((v, i) => shapeErrors(shapes, shape.member!.shape, v, `${path}[${i}]`)) : [`${path}: ${name} should be a list`];
    case "string":
      return typeof value === "string" ? [] : [`${path}: ${name} should be a string`];
    case "long":
    case "integer":
      return Number.isInteger(value) ? [] : [`${path}: ${name} should be an integer`];
    default:
      return [`${path}: unexpected type ${shape.type}`];
  }
}

// ---------------------------------------------------------------------------------------------

describe("IAM Identity Center portal fixture", () => {
  let moto: MotoServer;
  let portal: SsoPortal;
  let home: string;
  let admin: Env;
  const cleanups: Array<() => void> = [];
  const eightHoursAhead = (): Date => new Date(Date.now() + 8 * 3_600_000);

  before(async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    home = t.path;
    moto = await startMoto();
    portal = await startSsoPortal({
      motoUrl: moto.url,
      accessTokens: {
        "tok-admin": { userName: USER, allowed: [{ accountId: ACCOUNT, roleName: "AdministratorAccess" }, { accountId: OTHER_ACCOUNT, roleName: "ViewOnly" }, { accountId: OTHER_ACCOUNT, roleName: "Billing" }] },
        "tok-legacy": { userName: LEGACY_USER, allowed: [{ accountId: ACCOUNT, roleName: "AdministratorAccess" }] },
        "tok-revoked-server-side": { userName: USER, allowed: [{ accountId: ACCOUNT, roleName: "AdministratorAccess" }], expiresAt: new Date(Date.now() - 1000) },
        "tok-unprovisioned": { userName: USER, allowed: [{ accountId: ACCOUNT, roleName: "NotProvisioned" }] },
      },
      accounts: { [ACCOUNT]: { accountName: "sandbox", emailAddress: "sandbox@example.com" } },
    });
    admin = baseEnv({ HOME: home, AWS_ACCESS_KEY_ID: "admin", AWS_SECRET_ACCESS_KEY: "admin", AWS_DEFAULT_REGION: "us-west-2", AWS_ENDPOINT_URL: moto.url });
    await aws(admin, "iam", "create-role", "--role-name", ROLE_NAME, "--path", ROLE_PATH, "--assume-role-policy-document", TRUST);
    // a look-alike outside the reserved path must not be picked
    await aws(admin, "iam", "create-role", "--role-name", "AWSReservedSSO_AdministratorAccess_0000000000000000", "--assume-role-policy-document", TRUST);
  });

  after(async () => {
    await portal?.stop();
    await moto?.stop();
    for (const c of cleanups) c();
  });

  /** A fresh HOME with the profiles and the given cached tokens; SSO → portal, the rest → moto. */
  function ssoEnv(tokens: { session?: string; legacy?: string; expiresAt?: Date }, extra: Env = {}): Env {
    const t = tempDir();
    cleanups.push(t.cleanup);
    mkdirSync(join(t.path, ".aws"), { recursive: true });
    writeFileSync(join(t.path, ".aws", "config"), CONFIG);
    const expiresAt = tokens.expiresAt ?? eightHoursAhead();
    if (tokens.session !== undefined) writeSsoSessionToken(t.path, SESSION, tokens.session, expiresAt);
    if (tokens.legacy !== undefined) writeLegacyToken(t.path, LEGACY_START_URL, tokens.legacy, expiresAt);
    return baseEnv({
      HOME: t.path,
      AWS_CONFIG_FILE: join(t.path, ".aws", "config"),
      AWS_SHARED_CREDENTIALS_FILE: join(t.path, ".aws", "credentials"),
      AWS_ENDPOINT_URL: moto.url,
      AWS_ENDPOINT_URL_SSO: portal.url,
      EKS_ACCESS_CACHE_DIR: join(t.path, "cache"),
      ...extra,
    });
  }

  const callsSince = (n: number) => portal.calls.slice(n);

  describe("AWS CLI v1 (botocore SSO provider) as the client", () => {
    it("sso_session profile: get-caller-identity is the AWSReservedSSO role session of the user, via AWS_ENDPOINT_URL_SSO", async () => {
      const n = portal.calls.length;
      const id = (await aws(ssoEnv({ session: "tok-admin" }), "sts", "get-caller-identity", "--profile", "sso-admin")) as { Arn: string; Account: string };
      assert.equal(id.Arn, EXPECTED_ARN);
      assert.equal(id.Account, ACCOUNT);
      assert.deepEqual(callsSince(n), [{ operation: "GetRoleCredentials", status: 200, accountId: ACCOUNT, roleName: "AdministratorAccess" }]);
    });

    it("legacy sso_start_url profile: the same role, the token's own user", async () => {
      const id = (await aws(ssoEnv({ legacy: "tok-legacy" }), "sts", "get-caller-identity", "--profile", "legacy")) as { Arn: string };
      assert.equal(id.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE_NAME}/${LEGACY_USER}`);
    });

    it("without AWS_ENDPOINT_URL_SSO the portal is not asked (the variable is what routes botocore's SSO client)", async () => {
      const n = portal.calls.length;
      const r = await run("aws", ["sts", "get-caller-identity", "--profile", "sso-admin"], ssoEnv({ session: "tok-admin" }, { AWS_ENDPOINT_URL_SSO: undefined }));
      assert.notEqual(r.status, 0);
      assert.equal(callsSince(n).length, 0);
    });

    it("a token the portal does not know → 401 UnauthorizedException, which botocore turns into its SSO-login error", async () => {
      const n = portal.calls.length;
      const r = await run("aws", ["sts", "get-caller-identity", "--profile", "sso-admin"], ssoEnv({ session: "tok-nobody" }));
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /SSO session associated with this profile has expired or is otherwise invalid/);
      assert.deepEqual(callsSince(n).map((c) => [c.status, c.errorCode]), [[401, "UnauthorizedException"]]);
    });

    it("a token the portal has expired → 401 as well", async () => {
      const r = await run("aws", ["sts", "get-caller-identity", "--profile", "sso-admin"], ssoEnv({ session: "tok-revoked-server-side" }));
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /expired or is otherwise invalid/);
    });

    it("a permission set not assigned to the user → 403 ForbiddenException: No access", async () => {
      const r = await run("aws", ["sts", "get-caller-identity", "--profile", "sso-readonly"], ssoEnv({ session: "tok-admin" }));
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /ForbiddenException.*GetRoleCredentials.*No access/);
    });

    it("aws sso get-role-credentials / list-accounts / list-account-roles (botocore parses every answer)", async () => {
      const env = ssoEnv({}, { AWS_DEFAULT_REGION: "eu-west-1" });
      const creds = (await aws(env, "sso", "get-role-credentials", "--role-name", "AdministratorAccess", "--account-id", ACCOUNT, "--access-token", "tok-admin")) as { roleCredentials: { accessKeyId: string; expiration: number } };
      assert.match(creds.roleCredentials.accessKeyId, /^ASIA/);
      assert.ok(creds.roleCredentials.expiration > Date.now() + 50 * 60_000, "epoch millis about an hour ahead");
      const accounts = (await aws(env, "sso", "list-accounts", "--access-token", "tok-admin")) as { accountList: unknown[] };
      assert.deepEqual(accounts.accountList, [{ accountId: ACCOUNT, accountName: "sandbox", emailAddress: "sandbox@example.com" }, { accountId: OTHER_ACCOUNT }]);
      // the CLI's paginator follows nextToken across pages of one
      const roles = (await aws(env, "sso", "list-account-roles", "--account-id", OTHER_ACCOUNT, "--access-token", "tok-admin", "--page-size", "1")) as { roleList: unknown[] };
      assert.deepEqual(roles.roleList, [{ roleName: "ViewOnly", accountId: OTHER_ACCOUNT }, { roleName: "Billing", accountId: OTHER_ACCOUNT }]);
      const bad = await run("aws", ["sso", "list-accounts", "--access-token", "nope"], env);
      assert.match(bad.stderr, /UnauthorizedException.*ListAccounts.*Session token not found or invalid/);
    });
  });

  describe("eks-access (AWS SDK v3 SSO provider) as the client", () => {
    it("whoami --profile sso-admin: the same ARN, mapArn without the path, via AWS_ENDPOINT_URL_SSO", async () => {
      const n = portal.calls.length;
      const r = await run(cliPath, ["whoami", "--profile", "sso-admin", "-o", "json"], ssoEnv({ session: "tok-admin" }));
      assert.equal(r.status, 0, `${r.stderr} (is dist/ built? npm run build)`);
      const o = JSON.parse(r.stdout) as { arn: string; mapArn: string; sso?: { permissionSet: string } };
      assert.equal(o.arn, EXPECTED_ARN);
      assert.equal(o.mapArn, `arn:aws:iam::${ACCOUNT}:role/${ROLE_NAME}`);
      assert.equal(o.sso?.permissionSet, "AdministratorAccess");
      assert.deepEqual(callsSince(n), [{ operation: "GetRoleCredentials", status: 200, accountId: ACCOUNT, roleName: "AdministratorAccess" }]);
    });

    it("whoami --profile legacy (sso_start_url profile)", async () => {
      const r = await run(cliPath, ["whoami", "--profile", "legacy", "-o", "json"], ssoEnv({ legacy: "tok-legacy" }));
      assert.equal(r.status, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { arn: string }).arn, `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE_NAME}/${LEGACY_USER}`);
    });

    it("without AWS_ENDPOINT_URL_SSO the SDK does not ask the portal either", async () => {
      const n = portal.calls.length;
      const r = await run(cliPath, ["whoami", "--profile", "sso-admin", "-o", "json"], ssoEnv({ session: "tok-admin" }, { AWS_ENDPOINT_URL_SSO: undefined }));
      assert.notEqual(r.status, 0);
      assert.equal(callsSince(n).length, 0);
    });

    it("a token the portal does not know: one line telling to run aws sso login --sso-session", async () => {
      const n = portal.calls.length;
      const r = await run(cliPath, ["whoami", "--profile", "sso-admin", "-o", "json"], ssoEnv({ session: "tok-nobody" }));
      assert.equal(r.status, 1);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /^eks-access: error: the IAM Identity Center \(SSO\) session for profile "sso-admin" is expired or missing .*; run: aws sso login --sso-session corp\n$/);
      assert.deepEqual(callsSince(n).map((c) => c.status), [401], "the portal was asked and refused");
    });

    it("legacy profile with an unknown token: names aws sso login --profile", async () => {
      const r = await run(cliPath, ["whoami", "--profile", "legacy"], ssoEnv({ legacy: "tok-nobody" }));
      assert.equal(r.status, 1);
      assert.match(r.stderr, /; run: aws sso login --profile legacy\n$/);
    });

    it("a permission set not assigned: fails, naming the portal's answer", async () => {
      const r = await run(cliPath, ["whoami", "--profile", "sso-readonly"], ssoEnv({ session: "tok-admin" }));
      assert.equal(r.status, 1);
      assert.match(r.stderr, /No access/);
      assert.match(r.stderr, /^eks-access: error: IAM Identity Center refused role "ReadOnly" in account \d{12} for profile "sso-readonly" .*; the permission set is not assigned to you in that account/);
      assert.doesNotMatch(r.stderr, /sso login/, "logging in again would not help");
    });
  });

  describe("the portal API itself (botocore's sso model as the oracle)", () => {
    it("paths, query and header names match the model", () => {
      const m = ssoModel();
      assert.deepEqual(m.operations["GetRoleCredentials"]!.http, { method: "GET", requestUri: "/federation/credentials" });
      assert.deepEqual(m.operations["ListAccounts"]!.http, { method: "GET", requestUri: "/assignment/accounts" });
      assert.deepEqual(m.operations["ListAccountRoles"]!.http, { method: "GET", requestUri: "/assignment/roles" });
      const req = m.shapes["GetRoleCredentialsRequest"]!.members!;
      assert.deepEqual([req["roleName"]!.locationName, req["accountId"]!.locationName, req["accessToken"]!.location, req["accessToken"]!.locationName], ["role_name", "account_id", "header", "x-amz-sso_bearer_token"]);
      const list = m.shapes["ListAccountRolesRequest"]!.members!;
      assert.deepEqual([list["maxResults"]!.locationName, list["nextToken"]!.locationName], ["max_result", "next_token"]);
      assert.equal(m.shapes["UnauthorizedException"]!.error?.httpStatusCode, 401);
    });

    it("GetRoleCredentials answer conforms to GetRoleCredentialsResponse (expiration: epoch millis, a long)", async () => {
      const m = ssoModel();
      const res = await portalGet(portal.url, `/federation/credentials?role_name=AdministratorAccess&account_id=${ACCOUNT}`, "tok-admin");
      assert.equal(res.status, 200);
      assert.equal(res.headers["content-type"], "application/json");
      assert.deepEqual(shapeErrors(m.shapes, "GetRoleCredentialsResponse", res.json, "$"), []);
      const rc = res.json["roleCredentials"] as Record<string, unknown>;
      assert.deepEqual(Object.keys(rc).sort(), ["accessKeyId", "expiration", "secretAccessKey", "sessionToken"]);
      assert.ok((rc["expiration"] as number) > 1e12, "milliseconds, not seconds");
    });

    it("ListAccounts / ListAccountRoles conform to the model and paginate", async () => {
      const m = ssoModel();
      const first = await portalGet(portal.url, "/assignment/accounts?max_result=1", "tok-admin");
      assert.deepEqual(shapeErrors(m.shapes, "ListAccountsResponse", first.json, "$"), []);
      assert.equal((first.json["accountList"] as unknown[]).length, 1);
      const second = await portalGet(portal.url, `/assignment/accounts?max_result=1&next_token=${first.json["nextToken"] as string}`, "tok-admin");
      assert.deepEqual(second.json, { accountList: [{ accountId: OTHER_ACCOUNT }] });
      const roles = await portalGet(portal.url, `/assignment/roles?account_id=${ACCOUNT}`, "tok-admin");
      assert.deepEqual(shapeErrors(m.shapes, "ListAccountRolesResponse", roles.json, "$"), []);
      assert.deepEqual(roles.json, { roleList: [{ roleName: "AdministratorAccess", accountId: ACCOUNT }] });
    });

    it("errors: status, x-amzn-ErrorType and {message} as both botocore and the SDK read them", async () => {
      const cases: Array<[string, string | undefined, number, string]> = [
        [`/federation/credentials?role_name=AdministratorAccess&account_id=${ACCOUNT}`, undefined, 401, "UnauthorizedException"],
        [`/federation/credentials?role_name=AdministratorAccess&account_id=${ACCOUNT}`, "tok-revoked-server-side", 401, "UnauthorizedException"],
        [`/federation/credentials?role_name=Billing&account_id=${ACCOUNT}`, "tok-admin", 403, "ForbiddenException"],
        [`/federation/credentials?account_id=${ACCOUNT}`, "tok-admin", 400, "InvalidRequestException"],
        ["/assignment/roles", "tok-admin", 400, "InvalidRequestException"],
        ["/assignment/accounts?max_result=0", "tok-admin", 400, "InvalidRequestException"],
        [`/federation/credentials?role_name=NotProvisioned&account_id=${ACCOUNT}`, "tok-unprovisioned", 404, "ResourceNotFoundException"],
        ["/nope", "tok-admin", 404, "UnknownOperationException"],
      ];
      for (const [path, token, status, code] of cases) {
        const res = await portalGet(portal.url, path, token);
        assert.equal(res.status, status, path);
        assert.equal(res.headers["x-amzn-errortype"], code, path);
        assert.equal(typeof res.json["message"], "string", path);
      }
      const unprovisioned = await portalGet(portal.url, `/federation/credentials?role_name=NotProvisioned&account_id=${ACCOUNT}`, "tok-unprovisioned");
      assert.match(unprovisioned.json["message"] as string, /no IAM role \/aws-reserved\/sso\.amazonaws\.com\/<region>\/AWSReservedSSO_NotProvisioned_<16 hex> in account 123456789012/);
    });

    it("the role is looked up by permission set, reserved path and 16-hex suffix; pages are bounded", () => {
      const role = (name: string, path: string, accountId = ACCOUNT): MotoIamRole => ({ accountId, arn: `arn:aws:iam::${accountId}:role${path}${name}`, id: "AROA", name, path });
      const roles = [
        role("AWSReservedSSO_Admin_0123456789abcdef", "/"),
        role("AWSReservedSSO_AdminPlus_0123456789abcdef", ROLE_PATH),
        role("AWSReservedSSO_Admin_fedcba9876543210", ROLE_PATH, OTHER_ACCOUNT),
        role("AWSReservedSSO_Admin_1111111111111111", ROLE_PATH),
      ];
      assert.equal(findSsoRole(roles, ACCOUNT, "Admin").name, "AWSReservedSSO_Admin_1111111111111111");
      assert.equal(findSsoRole(roles, OTHER_ACCOUNT, "Admin").name, "AWSReservedSSO_Admin_fedcba9876543210");
      assert.throws(() => findSsoRole(roles, ACCOUNT, "Adm"), /no IAM role/);
      assert.throws(() => findSsoRole([...roles, role("AWSReservedSSO_Admin_2222222222222222", ROLE_PATH)], ACCOUNT, "Admin"), /2 roles match/);
      assert.deepEqual(page([1, 2, 3], new URLSearchParams({ max_result: "2" })).items, [1, 2]);
      assert.throws(() => page([1], new URLSearchParams({ max_result: "101" })), /max_result/);
      assert.throws(() => page([1], new URLSearchParams({ next_token: Buffer.from("9").toString("base64url") })), /next_token/);
    });

    it("Logout invalidates the token; setAccessToken adds one", async () => {
      portal.setAccessToken("tok-temp", { userName: "temp", allowed: [{ accountId: ACCOUNT, roleName: "AdministratorAccess" }] });
      assert.equal((await portalGet(portal.url, "/assignment/accounts", "tok-temp")).status, 200);
      const out = await new Promise<number>((resolve, reject) => {
        const req = request(new URL("/logout", portal.url), { method: "POST", headers: { "x-amz-sso_bearer_token": "tok-temp" }, agent: false }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("error", reject);
        req.end();
      });
      assert.equal(out, 200);
      assert.equal((await portalGet(portal.url, "/assignment/accounts", "tok-temp")).status, 401);
    });
  });
});

describe("IAM Identity Center portal fixture against moto with auth enabled", () => {
  let moto: MotoServer;
  const stops: Array<() => Promise<void>> = [];

  before(async () => {
    // the first 4 actions need no auth: create the user, its policy, its key, the SSO role
    moto = await startMoto({ env: { INITIAL_NO_AUTH_ACTION_COUNT: "4" } });
  });

  after(async () => {
    for (const s of stops) await s();
    await moto?.stop();
  });

  it("signs its AssumeRole call: moto accepts the right secret and rejects a wrong one", async () => {
    const env = baseEnv({ AWS_ACCESS_KEY_ID: "bootstrap", AWS_SECRET_ACCESS_KEY: "bootstrap", AWS_DEFAULT_REGION: "us-east-1", AWS_ENDPOINT_URL: moto.url });
    await aws(env, "iam", "create-user", "--user-name", "sso-service");
    await aws(env, "iam", "put-user-policy", "--user-name", "sso-service", "--policy-name", "all", "--policy-document", JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }));
    const key = (await aws(env, "iam", "create-access-key", "--user-name", "sso-service")) as { AccessKey: { AccessKeyId: string; SecretAccessKey: string } };
    // moto's trust evaluation does not treat `:root` as "the account's IAM policies decide": name the caller
    const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/sso-service` }, Action: "sts:AssumeRole" }] });
    await aws(env, "iam", "create-role", "--role-name", ROLE_NAME, "--path", ROLE_PATH, "--assume-role-policy-document", trust);
    const grant = { "tok": { userName: USER, allowed: [{ accountId: ACCOUNT, roleName: "AdministratorAccess" }] } };
    const good = await startSsoPortal({ motoUrl: moto.url, accessTokens: grant, motoCredentials: { accessKeyId: key.AccessKey.AccessKeyId, secretAccessKey: key.AccessKey.SecretAccessKey } });
    stops.push(good.stop);
    const bad = await startSsoPortal({ motoUrl: moto.url, accessTokens: grant, motoCredentials: { accessKeyId: key.AccessKey.AccessKeyId, secretAccessKey: "wrong" } });
    stops.push(bad.stop);
    const path = `/federation/credentials?role_name=AdministratorAccess&account_id=${ACCOUNT}`;
    const ok = await portalGet(good.url, path, "tok");
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    const refused = await portalGet(bad.url, path, "tok");
    assert.equal(refused.status, 500);
    assert.match(refused.json["message"] as string, /AssumeRole .* at moto failed: .*signature/i);
  });
});
