/**
 * moto_server (the AWS service emulator) as a child process on 127.0.0.1, and typed access to the
 * parts of its state dump (`GET /moto-api/data.json`) that the local STS verifier needs.
 *
 * The server runs as a supervised peer (spawnPeer: its own process group and a watchdog), so stop(),
 * the exit of this Node process, or even its SIGKILL leave no Python process behind.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BuildMiddleware, MetadataBearer } from "@smithy/types";
import { freePort, waitFor } from "./net.js";
import { spawnPeer } from "../cluster/peers.js";

export interface MotoOptions {
  /** Extra environment for moto_server, e.g. { INITIAL_NO_AUTH_ACTION_COUNT: "0" }; merged over process.env. */
  env?: Record<string, string | undefined>;
  /** Executable; default "moto_server" from PATH. */
  command?: string;
  /** How many free ports to try when the one picked was taken meanwhile (default 3). */
  attempts?: number;
}

export interface MotoServer {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Process id of moto_server, also its process group id. */
  pid: number;
  /** Kills the whole process group and waits for the process to exit. Idempotent. */
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";
const STOP_GRACE_MS = 5_000;

async function answers(url: string): Promise<boolean> {
  const res = await fetch(`${url}/moto-api/data.json`, { signal: AbortSignal.timeout(2_000) });
  await res.arrayBuffer();
  return res.ok;
}

/** Runs through spawnPeer (own process group + watchdog), its output in a throwaway log file. */
async function startOnce(port: number, opts: MotoOptions): Promise<MotoServer> {
  const logDir = await mkdtemp(join(tmpdir(), "eks-access-moto-"));
  const peer = await spawnPeer("moto_server", opts.command ?? "moto_server", ["-H", HOST, "-p", String(port)], {
    logFile: join(logDir, "moto_server.log"),
    env: { ...process.env, ...opts.env },
  });
  const url = `http://${HOST}:${port}`;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= peer.stop(STOP_GRACE_MS).finally(() => rm(logDir, { recursive: true, force: true })));
  try {
    // once the process has exited the probe ends the polling at once, and the error says why
    await waitFor(`moto_server on ${url}`, async () => peer.exit !== undefined || (await answers(url)), 300, 100);
    if (peer.exit) {
      const how = peer.exit.signal !== null ? `signal ${peer.exit.signal}` : `code ${String(peer.exit.code)}`;
      throw new Error(`moto_server exited (${how}) before answering on ${url}: ${(await peer.tail(30)).trim() || "(no output)"}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, pid: peer.pid, stop };
}

/** Starts moto_server on 127.0.0.1 at a free port and waits until it answers. */
export async function startMoto(opts: MotoOptions = {}): Promise<MotoServer> {
  const attempts = opts.attempts ?? 3;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await startOnce(await freePort(), opts);
    } catch (err) {
      lastError = err;
      const message = err instanceof Error ? err.message : String(err);
      if (!/address already in use|port .* is in use/i.test(message)) break;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

/** POST /moto-api/reset: forget every resource in every account. */
export async function resetMoto(url: string): Promise<void> {
  const res = await fetch(`${url}/moto-api/reset`, { method: "POST" });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`moto reset at ${url} answered HTTP ${res.status}`);
}

// ---------------------------------------------------------------------------------------------
// State dump

export interface MotoIamUser {
  accountId: string;
  arn: string;
  /** moto's user id (real AWS: AIDA…; moto: 20 random lower-case characters). */
  id: string;
  name: string;
  path: string;
}

export interface MotoIamRole {
  accountId: string;
  arn: string;
  /** AROA… */
  id: string;
  name: string;
  path: string;
}

/** iam.AccessKey: user keys, and also the temporary keys of assumed roles (then userName is null, roleArn set). */
export interface MotoAccessKey {
  accessKeyId: string;
  secretAccessKey: string;
  status: string;
  userName: string | null;
  roleArn: string | null;
}

export interface MotoAssumedRole {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  accountId: string;
  /** arn:aws:sts::<acct>:assumed-role/<name>/<session> (the role path is dropped). */
  arn: string;
  /** The role's ARN, with its path. */
  roleArn: string;
  sessionName: string;
  /** <role id>:<session name> */
  userId: string;
}

export interface MotoState {
  users: MotoIamUser[];
  roles: MotoIamRole[];
  accessKeys: MotoAccessKey[];
  assumedRoles: MotoAssumedRole[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function str(entry: Json, key: string, where: string): string {
  const value = entry[key];
  if (typeof value !== "string") throw new Error(`moto data.json: ${where}.${key} is not a string`);
  return value;
}

function strOrNull(entry: Json, key: string, where: string): string | null {
  const value = entry[key];
  if (value === null || value === undefined) return null;
  if (typeof value !== "string") throw new Error(`moto data.json: ${where}.${key} is not a string or null`);
  return value;
}

function list(dump: Json, service: string, model: string): Json[] {
  const backend = dump[service];
  if (backend === undefined) return [];
  if (!isObject(backend)) throw new Error(`moto data.json: ${service} is not an object`);
  const entries = backend[model] ?? [];
  if (!Array.isArray(entries)) throw new Error(`moto data.json: ${service}.${model} is not a list`);
  return entries.filter(isObject);
}

export function parseMotoState(dump: unknown): MotoState {
  if (!isObject(dump)) throw new Error("moto data.json is not a JSON object");
  const principal = (where: string) => (e: Json) => ({
    accountId: str(e, "account_id", where),
    arn: str(e, "arn", where),
    id: str(e, "id", where),
    name: str(e, "name", where),
    path: str(e, "path", where),
  });
  return {
    users: list(dump, "iam", "User").map(principal("iam.User")),
    roles: list(dump, "iam", "Role").map(principal("iam.Role")),
    accessKeys: list(dump, "iam", "AccessKey").map((e) => ({
      accessKeyId: str(e, "access_key_id", "iam.AccessKey"),
      secretAccessKey: str(e, "secret_access_key", "iam.AccessKey"),
      status: str(e, "status", "iam.AccessKey"),
      userName: strOrNull(e, "user_name", "iam.AccessKey"),
      roleArn: strOrNull(e, "role_arn", "iam.AccessKey"),
    })),
    assumedRoles: list(dump, "sts", "AssumedRole").map((e) => ({
      accessKeyId: str(e, "access_key_id", "sts.AssumedRole"),
      secretAccessKey: str(e, "secret_access_key", "sts.AssumedRole"),
      sessionToken: str(e, "session_token", "sts.AssumedRole"),
      accountId: str(e, "account_id", "sts.AssumedRole"),
      arn: str(e, "arn", "sts.AssumedRole"),
      roleArn: str(e, "role_arn", "sts.AssumedRole"),
      sessionName: str(e, "session_name", "sts.AssumedRole"),
      userId: str(e, "user_id", "sts.AssumedRole"),
    })),
  };
}

/** Fetches moto's state dump (all accounts) and keeps the IAM/STS parts typed. */
export async function motoState(url: string): Promise<MotoState> {
  const res = await fetch(`${url}/moto-api/data.json`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`moto state dump at ${url} answered HTTP ${res.status}`);
  return parseMotoState(await res.json());
}

/** An AWS SDK client whose every request acts in `account` of moto_server (its x-moto-account-id header). */
export function inMotoAccount<C extends { middlewareStack: { add(m: BuildMiddleware<object, MetadataBearer>, o: object): void } }>(client: C, account: string): C {
  const header: BuildMiddleware<object, MetadataBearer> = (next) => async (args) => {
    (args.request as { headers: Record<string, string> }).headers["x-moto-account-id"] = account;
    return next(args);
  };
  client.middlewareStack.add(header, { step: "build", name: "eksAccessMotoAccount" });
  return client;
}

/**
 * IAM's current view of the role or user an ARN names, asked of moto's IAM API as that ARN's
 * account (GetRole / GetUser): the ARN as IAM has it and the unique id, or undefined when IAM has no
 * such principal or has it under another ARN (another path). Unlike the state dump, which keeps
 * every principal ever made, this sees deletions.
 */
export async function motoIamPrincipal(url: string, arn: string): Promise<{ arn: string; id: string } | undefined> {
  const m = /^arn:aws[a-z-]*:iam::(\d{12}):(role|user)\/(?:[^]*\/)?([^/]+)$/.exec(arn);
  if (!m) return undefined;
  const [, account, kind, name] = m as unknown as [string, string, "role" | "user", string];
  const action = kind === "role" ? "GetRole" : "GetUser";
  const res = await fetch(`${url}/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-moto-account-id": account,
      // moto routes an unsigned request by the credential scope's service; the key is not checked
      authorization: "AWS4-HMAC-SHA256 Credential=AKIAEKSFRONTLOOKUP00/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00",
    },
    body: new URLSearchParams({ Action: action, [kind === "role" ? "RoleName" : "UserName"]: name, Version: "2010-05-08" }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status === 404 || /<Code>NoSuchEntity<\/Code>/.test(text)) return undefined;
  if (!res.ok) throw new Error(`moto IAM ${action} answered HTTP ${res.status}`);
  const found = /<Arn>([^<]+)<\/Arn>/.exec(text)?.[1];
  const id = /<(?:RoleId|UserId)>([^<]+)<\/(?:RoleId|UserId)>/.exec(text)?.[1];
  return found === arn && id ? { arn: found, id } : undefined;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/**
 * The account id encoded in an AWS access key id (AKIA…/ASIA…), as AWS and moto both encode it:
 * base32-decode the characters after the 4-letter prefix, take the first 6 bytes as a big-endian
 * integer, keep bits 46..7. iam.AccessKey entries carry no account id, so this tells apart users of
 * the same name in different accounts. undefined when the id is not in that format.
 */
export function accountIdFromAccessKeyId(accessKeyId: string): string | undefined {
  const body = accessKeyId.slice(4, 14);
  if (accessKeyId.length < 14 || ![...body].every((c) => BASE32.includes(c))) return undefined;
  let bits = 0n;
  for (const c of body) bits = (bits << 5n) | BigInt(BASE32.indexOf(c)); // 10 chars = 50 bits
  const first48 = bits >> 2n;
  const account = (first48 & 0x7fffffffff80n) >> 7n;
  return account.toString().padStart(12, "0");
}
