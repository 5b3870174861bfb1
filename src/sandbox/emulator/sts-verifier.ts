/**
 * A local STS that answers presigned GetCallerIdentity requests (the EKS token path), which
 * moto_server does not serve. Signatures are checked with this project's own SigV4 verification
 * (sigv4-verify.ts, node:crypto only); secrets and identities come from moto's state dump, so
 * moto stays the single source of truth for IAM users, keys and assumed roles.
 *
 * Serves HTTP, or HTTPS when given a certificate (so that it can pose as sts.<region>.amazonaws.com
 * behind the test CONNECT proxy). It never logs: neither requests nor secrets.
 */
import { randomUUID } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { listenOnLoopback } from "./net.js";
import { accountIdFromAccessKeyId, motoState, type MotoState } from "./moto.js";
import { checkPresignedRequest, isStsError, stsError, verifySignature, type ParsedPresign, type StsError } from "./sigv4-verify.js";

export interface StsVerifierOptions {
  /** moto_server base URL, e.g. http://127.0.0.1:5000 */
  motoUrl: string;
  /** PEM certificate (chain) and key: serve HTTPS instead of HTTP. */
  tls?: { cert: string; key: string };
  /** Clock for the date checks (tests inject a fixed instant). */
  now?: () => Date;
  /** Regions a credential scope may name; default: any (the Host header still pins it for sts.<region>.amazonaws.com). */
  allowedRegions?: readonly string[];
  clockSkewSeconds?: number;
  /**
   * Reuse moto's state dump for this long (default 0: read for every request, so that a key made a
   * moment ago is known at once). A benchmark sets it so that it measures the signature check and
   * not moto_server's state dump (about 500 dumps/s).
   */
  stateMaxAgeMs?: number;
}

export interface StsVerifier {
  /** http(s)://127.0.0.1:<port> */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface CallerIdentity {
  arn: string;
  userId: string;
  account: string;
}

const STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/";

// ---------------------------------------------------------------------------------------------
// Identity look-up in moto's state

const INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid.";

function resolveAssumedRole(state: MotoState, parsed: ParsedPresign): { secret: string; identity: CallerIdentity } | StsError | undefined {
  const session = state.assumedRoles.find((r) => r.accessKeyId === parsed.accessKeyId);
  if (session === undefined) return undefined;
  if (parsed.securityToken !== session.sessionToken) return stsError("InvalidClientTokenId", INVALID_TOKEN_MESSAGE);
  // the role's unique id when the session was made, as STS answers it: a role deleted and re-created
  // under the same name has a new id, and only sessions assumed since carry it
  const role = [...state.roles].reverse().find((r) => r.arn === session.roleArn);
  const userId = session.userId || (role !== undefined ? `${role.id}:${session.sessionName}` : "");
  return { secret: session.secretAccessKey, identity: { arn: session.arn, userId, account: session.accountId } };
}

function resolveUserKey(state: MotoState, parsed: ParsedPresign): { secret: string; identity: CallerIdentity } | StsError {
  const key = state.accessKeys.find((k) => k.accessKeyId === parsed.accessKeyId && k.userName !== null);
  if (key === undefined || key.userName === null || key.status !== "Active") return stsError("InvalidClientTokenId", INVALID_TOKEN_MESSAGE);
  if (parsed.securityToken !== undefined) return stsError("InvalidClientTokenId", INVALID_TOKEN_MESSAGE);
  const sameName = state.users.filter((u) => u.name === key.userName);
  const account = accountIdFromAccessKeyId(key.accessKeyId);
  const user = sameName.length === 1 ? sameName[0] : sameName.find((u) => u.accountId === account);
  if (user === undefined) return stsError("InvalidClientTokenId", INVALID_TOKEN_MESSAGE);
  return { secret: key.secretAccessKey, identity: { arn: user.arn, userId: user.id, account: user.accountId } };
}

/** Finds the secret and the identity behind an access key id (assumed-role sessions first). */
export function resolveCredentials(state: MotoState, parsed: ParsedPresign): { secret: string; identity: CallerIdentity } | StsError {
  return resolveAssumedRole(state, parsed) ?? resolveUserKey(state, parsed);
}

// ---------------------------------------------------------------------------------------------
// Host pinning: a request for sts.<region>.amazonaws.com must be signed for that region

/** The region a real STS host name implies, or undefined for other hosts (loopback, custom). */
export function regionOfStsHost(hostHeader: string): string | undefined {
  const host = hostHeader.replace(/:\d+$/, "").toLowerCase();
  if (host === "sts.amazonaws.com") return "us-east-1";
  const m = /^sts(?:-fips)?\.([a-z0-9-]+)\.(?:amazonaws\.com(?:\.cn)?|api\.aws)$/.exec(host);
  return m?.[1];
}

function checkHostRegion(req: IncomingMessage, parsed: ParsedPresign): StsError | undefined {
  const expected = regionOfStsHost(req.headers.host ?? "");
  if (expected === undefined || expected === parsed.region) return undefined;
  return stsError("SignatureDoesNotMatch", `Credential should be scoped to a valid region, not '${parsed.region}'.`);
}

// ---------------------------------------------------------------------------------------------
// Responses

function xmlEscape(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c] ?? c);
}

function wantsJson(req: IncomingMessage): boolean {
  return (req.headers.accept ?? "").toLowerCase().includes("application/json");
}

function send(res: ServerResponse, status: number, contentType: string, body: string, requestId: string): void {
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
    "x-amzn-requestid": requestId,
  });
  res.end(body);
}

export function identityBody(identity: CallerIdentity, requestId: string, json: boolean): string {
  if (json) {
    return JSON.stringify({
      GetCallerIdentityResponse: {
        GetCallerIdentityResult: { Arn: identity.arn, Account: identity.account, UserId: identity.userId },
        ResponseMetadata: { RequestId: requestId },
      },
    });
  }
  return (
    `<GetCallerIdentityResponse xmlns="${STS_XMLNS}">\n` +
    `  <GetCallerIdentityResult>\n` +
    `    <Arn>${xmlEscape(identity.arn)}</Arn>\n` +
    `    <UserId>${xmlEscape(identity.userId)}</UserId>\n` +
    `    <Account>${xmlEscape(identity.account)}</Account>\n` +
    `  </GetCallerIdentityResult>\n` +
    `  <ResponseMetadata>\n` +
    `    <RequestId>${requestId}</RequestId>\n` +
    `  </ResponseMetadata>\n` +
    `</GetCallerIdentityResponse>\n`
  );
}

/** STS error bodies: query-protocol XML, or the JSON shape STS answers to Accept: application/json. */
export function errorBody(error: StsError, requestId: string, json: boolean): string {
  const type = error.status >= 500 ? "Receiver" : "Sender";
  if (json) return JSON.stringify({ Error: { Type: type, Code: error.code, Message: error.message }, RequestId: requestId });
  return (
    `<ErrorResponse xmlns="${STS_XMLNS}">\n` +
    `  <Error>\n` +
    `    <Type>${type}</Type>\n` +
    `    <Code>${error.code}</Code>\n` +
    `    <Message>${xmlEscape(error.message)}</Message>\n` +
    `  </Error>\n` +
    `  <RequestId>${requestId}</RequestId>\n` +
    `</ErrorResponse>\n`
  );
}

// ---------------------------------------------------------------------------------------------
// Request handling

function splitUrl(rawUrl: string): { path: string; rawQuery: string } {
  const q = rawUrl.indexOf("?");
  return q === -1 ? { path: rawUrl, rawQuery: "" } : { path: rawUrl.slice(0, q), rawQuery: rawUrl.slice(q + 1) };
}

type StateReader = () => Promise<MotoState>;

/** moto's state, read for every call, or shared for `maxAgeMs` (a failed read is not kept). */
function stateReader(motoUrl: string, maxAgeMs: number): StateReader {
  if (maxAgeMs <= 0) return () => motoState(motoUrl);
  let held: { at: number; state: Promise<MotoState> } | undefined;
  return () => {
    const now = Date.now();
    if (held === undefined || now - held.at > maxAgeMs) {
      const state = motoState(motoUrl);
      const entry = { at: now, state };
      held = entry;
      state.catch(() => {
        if (held === entry) held = undefined;
      });
    }
    return held.state;
  };
}

async function authenticate(req: IncomingMessage, opts: StsVerifierOptions, state: StateReader): Promise<CallerIdentity | StsError> {
  const { path, rawQuery } = splitUrl(req.url ?? "/");
  const parsed = checkPresignedRequest(
    { method: req.method ?? "GET", path, rawQuery, headers: req.headersDistinct },
    { now: (opts.now ?? (() => new Date()))(), allowedRegions: opts.allowedRegions, clockSkewSeconds: opts.clockSkewSeconds },
  );
  if (isStsError(parsed)) return parsed;
  const hostFailure = checkHostRegion(req, parsed);
  if (hostFailure !== undefined) return hostFailure;
  const resolved = resolveCredentials(await state(), parsed);
  if (isStsError(resolved)) return resolved;
  return verifySignature(parsed, resolved.secret) ?? resolved.identity;
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: StsVerifierOptions, state: StateReader): Promise<void> {
  const requestId = randomUUID();
  const json = wantsJson(req);
  req.resume(); // a body is never part of a presigned GET; drain it
  let outcome: CallerIdentity | StsError;
  try {
    outcome = await authenticate(req, opts, state);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    outcome = stsError("InternalFailure", `local STS could not read moto's state: ${detail}`, 500);
  }
  if (isStsError(outcome)) {
    send(res, outcome.status, json ? "application/json" : "text/xml", errorBody(outcome, requestId, json), requestId);
  } else {
    send(res, 200, json ? "application/json" : "text/xml", identityBody(outcome, requestId, json), requestId);
  }
}

/** Starts the local STS on 127.0.0.1 at a free port (port 0, read back: no race). */
export async function startStsVerifier(opts: StsVerifierOptions): Promise<StsVerifier> {
  const state = stateReader(opts.motoUrl, opts.stateMaxAgeMs ?? 0);
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    void handle(req, res, opts, state);
  };
  const server: Server = opts.tls !== undefined ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, listener) : createHttpServer(listener);
  const { port, stop } = await listenOnLoopback(server, "local STS");
  const scheme = opts.tls !== undefined ? "https" : "http";
  return { url: `${scheme}://127.0.0.1:${port}`, port, stop };
}
