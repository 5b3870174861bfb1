/**
 * The smallest stand-in for the IAM Identity Center portal API (service "sso", 2019-06-10,
 * rest-json, unsigned, bearer token in `x-amz-sso_bearer_token`), which moto_server lacks:
 * GetRoleCredentials, plus ListAccounts / ListAccountRoles / Logout.
 *
 * Role credentials are real moto credentials: for an allowed (token, account, permission set) the
 * portal finds the IAM role `/aws-reserved/sso.amazonaws.com/…/AWSReservedSSO_<PermissionSet>_<16 hex>`
 * in moto's state and calls STS AssumeRole on moto with the token's user name as the session name,
 * so the caller becomes `arn:aws:sts::<acct>:assumed-role/AWSReservedSSO_<PermissionSet>_<hex>/<user>`
 * exactly as with the real service. moto stays the single source of truth for roles and sessions.
 *
 * Errors are answered as the real portal does, readable by botocore and the AWS SDK v3 alike:
 * status, `x-amzn-ErrorType: <Code>` and a `{"message": …}` body. Unknown or expired token →
 * 401 UnauthorizedException; a role the token is not assigned → 403 ForbiddenException "No access"
 * (what the real service answers, though the model does not list it); missing parameters → 400
 * InvalidRequestException; a permission set with no provisioned role in moto → 404
 * ResourceNotFoundException naming the role to create. The portal never logs tokens or secrets.
 */
import { randomUUID } from "node:crypto";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { listenOnLoopback } from "./net.js";
import { motoState, type MotoIamRole } from "./moto.js";
import { ALGORITHM, buildCanonicalRequest, computeSignature, credentialScope, formatAmzDate, sha256Hex } from "./sigv4-verify.js";

export interface SsoAssignment {
  accountId: string;
  /** The permission set name, e.g. AdministratorAccess (what a profile's sso_role_name holds). */
  roleName: string;
}

export interface SsoAccessTokenGrant {
  /** The Identity Center user; becomes the role session name. */
  userName: string;
  allowed: SsoAssignment[];
  /** After this instant the token is refused with 401 (default: never). */
  expiresAt?: Date;
}

export interface SsoPortalOptions {
  /** moto_server base URL, e.g. http://127.0.0.1:5000 */
  motoUrl: string;
  /** The access tokens `aws sso login` would have cached, and what each may reach. */
  accessTokens: Record<string, SsoAccessTokenGrant>;
  /** Names and e-mail addresses ListAccounts reports (optional members in the model). */
  accounts?: Record<string, { accountName?: string; emailAddress?: string }>;
  /** Keys the portal signs its AssumeRole calls to moto with (matters only when moto checks auth). Default test/test. */
  motoCredentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Role session duration; default 3600 s. */
  sessionDurationSeconds?: number;
  /** Clock for token expiry (tests inject one). */
  now?: () => Date;
}

/** One request as the portal saw it (no token, no secrets): lets tests prove which endpoint a client used. */
export interface SsoPortalCall {
  operation: "GetRoleCredentials" | "ListAccounts" | "ListAccountRoles" | "Logout" | "Unknown";
  status: number;
  errorCode?: string;
  accountId?: string;
  roleName?: string;
}

export interface SsoPortal {
  /** http://127.0.0.1:<port> — use as AWS_ENDPOINT_URL_SSO */
  url: string;
  port: number;
  /** Every request answered so far, in order. */
  calls: SsoPortalCall[];
  setAccessToken(token: string, grant: SsoAccessTokenGrant): void;
  revokeAccessToken(token: string): void;
  stop(): Promise<void>;
}

export const SSO_ROLE_PATH_PREFIX = "/aws-reserved/sso.amazonaws.com/";
const TOKEN_HEADER = "x-amz-sso_bearer_token";
const MAX_RESULTS = 100;

class PortalError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const unauthorized = (): PortalError => new PortalError(401, "UnauthorizedException", "Session token not found or invalid");
const forbidden = (): PortalError => new PortalError(403, "ForbiddenException", "No access");
const invalid = (message: string): PortalError => new PortalError(400, "InvalidRequestException", message);

// ---------------------------------------------------------------------------------------------
// Pure parts

/** The IAM role Identity Center provisions for a permission set in an account, found in moto's roles. */
export function findSsoRole(roles: readonly MotoIamRole[], accountId: string, permissionSet: string): MotoIamRole {
  const pattern = new RegExp(`^AWSReservedSSO_${permissionSet.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}_[0-9a-f]{16}$`);
  const matches = roles.filter((r) => r.accountId === accountId && pattern.test(r.name) && r.path.startsWith(SSO_ROLE_PATH_PREFIX));
  if (matches.length === 1) return matches[0]!;
  const wanted = `${SSO_ROLE_PATH_PREFIX}<region>/AWSReservedSSO_${permissionSet}_<16 hex>`;
  if (matches.length === 0) throw new PortalError(404, "ResourceNotFoundException", `sso portal fixture: no IAM role ${wanted} in account ${accountId} in moto; create it first`);
  throw new PortalError(500, "InternalServerException", `sso portal fixture: ${matches.length} roles match ${wanted} in account ${accountId}: ${matches.map((r) => r.name).join(", ")}`);
}

/** A page of `items` per the model's max_result / next_token query members (next_token is an opaque offset). */
export function page<T>(items: readonly T[], query: URLSearchParams): { items: T[]; nextToken?: string } {
  const rawMax = query.get("max_result");
  const max = rawMax === null ? MAX_RESULTS : Number(rawMax);
  if (!Number.isInteger(max) || max < 1 || max > MAX_RESULTS) throw invalid(`max_result must be an integer from 1 to ${MAX_RESULTS}`);
  const rawNext = query.get("next_token");
  const start = rawNext === null ? 0 : Number(Buffer.from(rawNext, "base64url").toString("utf8"));
  if (!Number.isInteger(start) || start < 0 || start > items.length) throw invalid("invalid next_token");
  const end = start + max;
  return { items: items.slice(start, end), ...(end < items.length ? { nextToken: Buffer.from(String(end), "utf8").toString("base64url") } : {}) };
}

function xmlValue(xml: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
}

// ---------------------------------------------------------------------------------------------
// moto calls

interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** epoch milliseconds */
  expiration: number;
}

function post(url: URL, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: "POST", path: url.pathname, headers, setHost: false, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.once("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.once("error", reject);
    });
    req.once("error", reject);
    req.end(body);
  });
}

type MotoCredentials = NonNullable<SsoPortalOptions["motoCredentials"]>;

/** SigV4 header signature for a form POST to moto's STS (the project's own signing steps, node:crypto only). */
export function signedStsHeaders(url: URL, body: string, creds: MotoCredentials, now: Date): Record<string, string> {
  const amzDate = formatAmzDate(now);
  const scope = { scopeDate: amzDate.slice(0, 8), region: "us-east-1", service: "sts" };
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded; charset=utf-8",
    host: url.host,
    "x-amz-date": amzDate,
    ...(creds.sessionToken !== undefined ? { "x-amz-security-token": creds.sessionToken } : {}),
  };
  const signedHeaders = Object.keys(headers).sort();
  const canonical = buildCanonicalRequest({
    method: "POST",
    path: "/",
    params: [],
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    signedHeaders,
    payloadHash: sha256Hex(body),
  });
  const signature = computeSignature(creds.secretAccessKey, scope, amzDate, canonical);
  const credential = `${creds.accessKeyId}/${credentialScope(scope.scopeDate, scope.region, scope.service)}`;
  return { ...headers, authorization: `${ALGORITHM} Credential=${credential}, SignedHeaders=${signedHeaders.join(";")}, Signature=${signature}` };
}

/** STS AssumeRole at moto (query protocol, SigV4-signed so that moto with auth enabled accepts it). */
async function assumeRole(opts: SsoPortalOptions, roleArn: string, sessionName: string): Promise<RoleCredentials> {
  const url = new URL("/", opts.motoUrl);
  const body = new URLSearchParams({
    Action: "AssumeRole",
    Version: "2011-06-15",
    RoleArn: roleArn,
    RoleSessionName: sessionName,
    DurationSeconds: String(opts.sessionDurationSeconds ?? 3600),
  }).toString();
  const signWith = opts.motoCredentials ?? { accessKeyId: "test", secretAccessKey: "test" };
  const res = await post(url, signedStsHeaders(url, body, signWith, new Date()), body);
  const creds = {
    accessKeyId: xmlValue(res.body, "AccessKeyId"),
    secretAccessKey: xmlValue(res.body, "SecretAccessKey"),
    sessionToken: xmlValue(res.body, "SessionToken"),
    expiration: Date.parse(xmlValue(res.body, "Expiration") ?? ""),
  };
  if (res.status !== 200 || !creds.accessKeyId || !creds.secretAccessKey || !creds.sessionToken || Number.isNaN(creds.expiration)) {
    const why = xmlValue(res.body, "Message") ?? `HTTP ${res.status}`;
    throw new PortalError(500, "InternalServerException", `sso portal fixture: AssumeRole ${roleArn} at moto failed: ${why}`);
  }
  return { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, sessionToken: creds.sessionToken, expiration: creds.expiration };
}

// ---------------------------------------------------------------------------------------------
// Operations

type Grants = Map<string, SsoAccessTokenGrant>;

function grantFor(req: IncomingMessage, grants: Grants, now: Date): SsoAccessTokenGrant {
  const token = req.headers[TOKEN_HEADER];
  const grant = typeof token === "string" ? grants.get(token) : undefined;
  if (grant === undefined || (grant.expiresAt !== undefined && grant.expiresAt.getTime() <= now.getTime())) throw unauthorized();
  return grant;
}

function required(query: URLSearchParams, name: string): string {
  const value = query.get(name);
  if (value === null || value === "") throw invalid(`${name} is required`);
  return value;
}

async function getRoleCredentials(opts: SsoPortalOptions, grant: SsoAccessTokenGrant, query: URLSearchParams, call: SsoPortalCall): Promise<unknown> {
  const roleName = required(query, "role_name");
  const accountId = required(query, "account_id");
  call.accountId = accountId;
  call.roleName = roleName;
  if (!grant.allowed.some((a) => a.accountId === accountId && a.roleName === roleName)) throw forbidden();
  const role = findSsoRole((await motoState(opts.motoUrl)).roles, accountId, roleName);
  return { roleCredentials: await assumeRole(opts, role.arn, grant.userName) };
}

function listAccounts(opts: SsoPortalOptions, grant: SsoAccessTokenGrant, query: URLSearchParams): unknown {
  const ids = [...new Set(grant.allowed.map((a) => a.accountId))];
  const accounts = ids.map((accountId) => ({ accountId, ...opts.accounts?.[accountId] }));
  const p = page(accounts, query);
  return { accountList: p.items, ...(p.nextToken !== undefined ? { nextToken: p.nextToken } : {}) };
}

function listAccountRoles(grant: SsoAccessTokenGrant, query: URLSearchParams, call: SsoPortalCall): unknown {
  const accountId = required(query, "account_id");
  call.accountId = accountId;
  const roles = grant.allowed.filter((a) => a.accountId === accountId).map((a) => ({ roleName: a.roleName, accountId }));
  const p = page(roles, query);
  return { roleList: p.items, ...(p.nextToken !== undefined ? { nextToken: p.nextToken } : {}) };
}

function operationOf(method: string | undefined, path: string): SsoPortalCall["operation"] {
  if (method === "GET" && path === "/federation/credentials") return "GetRoleCredentials";
  if (method === "GET" && path === "/assignment/accounts") return "ListAccounts";
  if (method === "GET" && path === "/assignment/roles") return "ListAccountRoles";
  if (method === "POST" && path === "/logout") return "Logout";
  return "Unknown";
}

async function answer(req: IncomingMessage, opts: SsoPortalOptions, grants: Grants, call: SsoPortalCall): Promise<unknown> {
  const url = new URL(req.url ?? "/", "http://portal.invalid");
  if (call.operation === "Unknown") throw new PortalError(404, "UnknownOperationException", `sso portal fixture: no operation ${req.method} ${url.pathname}`);
  const grant = grantFor(req, grants, opts.now?.() ?? new Date());
  switch (call.operation) {
    case "GetRoleCredentials":
      return getRoleCredentials(opts, grant, url.searchParams, call);
    case "ListAccounts":
      return listAccounts(opts, grant, url.searchParams);
    case "ListAccountRoles":
      return listAccountRoles(grant, url.searchParams, call);
    case "Logout":
      grants.delete(req.headers[TOKEN_HEADER] as string);
      return undefined;
  }
}

function send(res: ServerResponse, status: number, body: string | undefined, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    "x-amzn-RequestId": randomUUID(),
    ...(body !== undefined ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) } : { "content-length": "0" }),
    ...extra,
  });
  res.end(body);
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: SsoPortalOptions, grants: Grants, calls: SsoPortalCall[]): Promise<void> {
  req.resume(); // no operation here reads a body
  const call: SsoPortalCall = { operation: operationOf(req.method, new URL(req.url ?? "/", "http://portal.invalid").pathname), status: 200 };
  calls.push(call);
  try {
    const out = await answer(req, opts, grants, call);
    send(res, 200, out === undefined ? undefined : JSON.stringify(out));
  } catch (err) {
    const e = err instanceof PortalError ? err : new PortalError(500, "InternalServerException", `sso portal fixture: ${err instanceof Error ? err.message : String(err)}`);
    call.status = e.status;
    call.errorCode = e.code;
    send(res, e.status, JSON.stringify({ message: e.message }), { "x-amzn-ErrorType": e.code });
  }
}

/** Starts the portal on 127.0.0.1 at a free port (port 0, read back: no race). */
export async function startSsoPortal(opts: SsoPortalOptions): Promise<SsoPortal> {
  if (new URL(opts.motoUrl).protocol !== "http:") throw new Error(`sso portal: motoUrl must be http://, got ${opts.motoUrl}`);
  const grants: Grants = new Map(Object.entries(opts.accessTokens));
  const calls: SsoPortalCall[] = [];
  const server: Server = createServer((req, res) => void handle(req, res, opts, grants, calls));
  const { port, stop } = await listenOnLoopback(server, "sso portal");
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    calls,
    setAccessToken: (token, grant) => void grants.set(token, grant),
    revokeAccessToken: (token) => void grants.delete(token),
    stop,
  };
}
