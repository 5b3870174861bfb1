/**
 * A thin HTTP front for moto_server, for the local sandbox. Every request (any service, method,
 * path, headers, body) is forwarded to moto as it came, and moto's answer streamed back as it
 * came — except EKS DescribeCluster and CreateCluster answers for the clusters this front is told
 * about: in those, `cluster.endpoint` and `cluster.certificateAuthority.data` are replaced with the
 * real local kube-apiserver's URL and CA (moto makes both up and cannot be told otherwise).
 *
 * EKS requests are recognised by method + path *and* by the SigV4 credential scope's service
 * (`Credential=AKID/date/region/eks/aws4_request`, in the Authorization header or a presigned
 * query), so other services' look-alike paths pass through untouched.
 *
 * The EKS access-entry APIs (which moto lacks) are answered here from the emulator's own state
 * (access-entries.ts, eks-access-api.ts): CreateCluster's `accessConfig` is kept (and the creator's
 * bootstrap access entry made), DescribeCluster answers carry it, and the access-entry,
 * access-policy, UpdateClusterConfig(accessConfig) and DescribeUpdate calls never reach moto.
 * sso-admin ListAccountsForProvisionedPermissionSet gets the accounts moto leaves out (sso-admin.ts).
 *
 * Headers are forwarded verbatim, Host included (moto uses it for e.g. S3 virtual hosts and
 * builds URLs from it, which then point back at this front); only hop-by-hop headers are dropped.
 * The front never logs, neither requests nor secrets.
 */
import { randomUUID } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { request as httpRequest, Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { listenOnLoopback } from "./net.js";
import { AccessEntries, EksApiError, emptyAccessState, type AccessState } from "./access-entries.js";
import { accessApiRoute, errorAnswer, parseBody, serveAccessApi, type ApiAnswer } from "./eks-access-api.js";
import { motoIamPrincipal, motoState } from "./moto.js";
import { isProvisionedAccountsCall, serveProvisionedAccounts } from "./sso-admin.js";

export interface EksFrontCluster {
  /** The kube-apiserver URL put into `cluster.endpoint`, e.g. https://127.0.0.1:6443 */
  endpoint: string;
  /** base64 of the PEM CA bundle, put into `cluster.certificateAuthority.data` */
  caData: string;
}

export interface EksFrontOptions {
  /** moto_server base URL, e.g. http://127.0.0.1:5000 */
  motoUrl: string;
  /** Clusters whose DescribeCluster/CreateCluster answers get the real endpoint and CA, by name. */
  clusters?: Record<string, EksFrontCluster>;
  /** Where the access-entry state is kept (JSON, 0600, rewritten atomically on every change); default: memory only. */
  accessStateFile?: string;
  /** Called after every change of the access-entry state (e.g. to rewrite the authenticator's dynamic file). */
  onAccessChange?: (state: AccessState) => void;
}

export interface EksFront {
  /** http://127.0.0.1:<port> — use as AWS_ENDPOINT_URL */
  url: string;
  port: number;
  /** Adds or replaces a cluster's endpoint and CA for later answers. */
  setCluster(name: string, cluster: EksFrontCluster): void;
  /** The access-entry state (read-only use: clusters' modes, entries, associations). */
  accessState(): AccessState;
  /** Closes the listener and every open connection, both sides. Idempotent. */
  stop(): Promise<void>;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) are the proxy's own business, never forwarded. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"]);

/** The service named in a SigV4 credential scope (header or presigned query), lower-cased; undefined if unsigned. */
export function signingService(authorization: string | undefined, query: URLSearchParams): string | undefined {
  const scope = /Credential=([^,\s]+)/.exec(authorization ?? "")?.[1] ?? query.get("X-Amz-Credential") ?? undefined;
  const parts = scope?.split("/");
  // AKID/yyyymmdd/region/service/aws4_request
  if (parts === undefined || parts.length < 5 || parts[parts.length - 1] !== "aws4_request") return undefined;
  return parts[parts.length - 2]?.toLowerCase();
}

export type EksRewriteTarget = { op: "DescribeCluster"; name: string } | { op: "CreateCluster" } | { op: "DeleteCluster"; name: string };

/** Which EKS answer, if any, this request's response is a candidate for rewriting. */
export function eksRewriteTarget(method: string | undefined, rawUrl: string | undefined, authorization: string | undefined): EksRewriteTarget | undefined {
  const url = new URL(rawUrl ?? "/", "http://front.invalid");
  if (signingService(authorization, url.searchParams) !== "eks") return undefined;
  const path = url.pathname.replace(/\/+$/, "");
  if (method === "POST" && path === "/clusters") return { op: "CreateCluster" };
  const m = /^\/clusters\/([^/]+)$/.exec(path);
  if ((method === "GET" || method === "DELETE") && m?.[1] !== undefined) {
    try {
      return { op: method === "GET" ? "DescribeCluster" : "DeleteCluster", name: decodeURIComponent(m[1]) };
    } catch {
      return undefined; // malformed escape: not a name we know
    }
  }
  return undefined;
}

/** Drops hop-by-hop headers, and those the Connection header names, from a raw [k, v, k, v…] list. */
export function endToEndHeaders(raw: string[]): string[] {
  const named = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === "connection") for (const h of raw[i + 1]!.split(",")) named.add(h.trim().toLowerCase());
  }
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!.toLowerCase();
    if (!HOP_BY_HOP.has(key) && !named.has(key)) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

function withoutHeader(raw: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() !== name) out.push(raw[i]!, raw[i + 1]!);
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** What DescribeCluster/CreateCluster answers say of a cluster's access configuration. */
export interface AccessConfigAnswer {
  authenticationMode: string;
  bootstrapClusterCreatorAdminPermissions: boolean;
}

/**
 * Moto's `{"cluster":{...}}` answer with endpoint and CA replaced when the cluster is one we know,
 * and `accessConfig` set when the emulator has one for it; undefined when the body is left as moto
 * sent it (another cluster, not JSON, no cluster object).
 */
export function rewriteClusterBody(
  body: string,
  target: EksRewriteTarget,
  clusters: ReadonlyMap<string, EksFrontCluster>,
  accessConfig: (name: string) => AccessConfigAnswer | undefined = () => undefined,
): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isObject(doc) || !isObject(doc["cluster"])) return undefined;
  const cluster = doc["cluster"];
  const name = target.op === "CreateCluster" ? cluster["name"] : target.name;
  if (typeof name !== "string" || cluster["name"] !== name) return undefined;
  const real = clusters.get(name);
  const access = accessConfig(name);
  if (real === undefined && access === undefined) return undefined;
  if (real !== undefined) {
    cluster["endpoint"] = real.endpoint;
    const ca = isObject(cluster["certificateAuthority"]) ? cluster["certificateAuthority"] : {};
    cluster["certificateAuthority"] = { ...ca, data: real.caData };
  }
  if (access !== undefined) cluster["accessConfig"] = { ...access };
  return JSON.stringify(doc);
}

function validateCluster(name: string, c: EksFrontCluster): EksFrontCluster {
  if (!/^https?:\/\/[^/\s]+/.test(c.endpoint)) throw new Error(`eks front: cluster ${name}: endpoint ${JSON.stringify(c.endpoint)} is not an http(s) URL`);
  const pem = Buffer.from(c.caData, "base64").toString("utf8");
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw new Error(`eks front: cluster ${name}: caData is not base64 of a PEM certificate`);
  return { endpoint: c.endpoint, caData: c.caData };
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.once("end", () => resolve(Buffer.concat(chunks)));
    stream.once("error", reject);
  });
}

function badGateway(res: ServerResponse, err: Error): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  const body = JSON.stringify({ __type: "BadGateway", message: `eks front: moto_server did not answer: ${err.message}` });
  res.writeHead(502, { "content-type": "application/json", "content-length": Buffer.byteLength(body), "x-amzn-errortype": "BadGateway" });
  res.end(body);
}

/** The front's access-entry emulation: state, persistence, and the IAM look-ups it needs from moto. */
class AccessEmulation {
  readonly state: AccessState;

  constructor(
    private readonly motoUrl: string,
    private readonly file: string | undefined,
    private readonly onChange: ((state: AccessState) => void) | undefined,
  ) {
    this.state = file ? loadAccessState(file) : emptyAccessState();
  }

  /** A store over the state that knows IAM's current view (moto's IAM API) of the principals a request names. */
  async store(principals: readonly string[] = []): Promise<AccessEntries> {
    const known = new Map<string, { arn: string; id: string }>();
    for (const arn of new Set(principals)) {
      const p = await motoIamPrincipal(this.motoUrl, arn);
      if (p) known.set(arn, p);
    }
    return new AccessEntries(this.state, {
      now: () => new Date(),
      newId: () => randomUUID(),
      iamPrincipal: (arn) => known.get(arn),
    });
  }

  changed(): void {
    if (this.file) {
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(this.state, null, 2), { mode: 0o600 });
      renameSync(tmp, this.file);
    }
    this.onChange?.(this.state);
  }

  accessConfig(name: string): AccessConfigAnswer | undefined {
    const c = this.state.clusters[name];
    return c ? { authenticationMode: c.authenticationMode, bootstrapClusterCreatorAdminPermissions: c.bootstrapClusterCreatorAdminPermissions } : undefined;
  }

  /** The IAM role or user that signed a request (an assumed-role session → its role, path kept). */
  async signer(authorization: string | undefined): Promise<string | undefined> {
    const akid = /Credential=([^/,\s]+)\//.exec(authorization ?? "")?.[1];
    if (!akid) return undefined;
    const s = await motoState(this.motoUrl);
    const session = s.assumedRoles.find((r) => r.accessKeyId === akid);
    if (session) return session.roleArn;
    const key = s.accessKeys.find((k) => k.accessKeyId === akid);
    return key?.userName ? s.users.find((u) => u.name === key.userName)?.arn : undefined;
  }
}

function loadAccessState(file: string): AccessState {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return emptyAccessState();
    throw err;
  }
  const doc = JSON.parse(text) as AccessState;
  if (doc.version !== 1 || typeof doc.clusters !== "object" || typeof doc.entries !== "object") throw new Error(`eks front: ${file} is not an access-entry state file`);
  return doc;
}

/** What CreateCluster asked for, to apply once moto has made the cluster. */
interface CreateClusterContext {
  accessConfig: { authenticationMode?: string | undefined; bootstrapClusterCreatorAdminPermissions?: boolean | undefined };
  creator: string | undefined;
}

function sendAnswer(res: ServerResponse, answer: ApiAnswer): void {
  res.writeHead(answer.status, { "content-type": "application/json", "content-length": Buffer.byteLength(answer.body), "x-amzn-requestid": randomUUID(), ...answer.headers });
  res.end(answer.body);
}

/** Sends moto's answer on, rewritten when it is a known cluster's DescribeCluster/CreateCluster 200. */
async function relayResponse(
  upstream: IncomingMessage,
  res: ServerResponse,
  target: EksRewriteTarget | undefined,
  clusters: ReadonlyMap<string, EksFrontCluster>,
  access: AccessEmulation,
  create: CreateClusterContext | undefined,
): Promise<void> {
  const status = upstream.statusCode ?? 502;
  const headers = endToEndHeaders(upstream.rawHeaders);
  const encoded = (upstream.headers["content-encoding"] ?? "identity") !== "identity";
  if (target === undefined || status !== 200 || encoded) {
    res.writeHead(status, upstream.statusMessage, headers);
    upstream.pipe(res);
    return;
  }
  const body = await readAll(upstream);
  if (target.op === "DeleteCluster" && access.state.clusters[target.name]) {
    delete access.state.clusters[target.name];
    delete access.state.entries[target.name];
    access.changed();
  }
  if (target.op === "CreateCluster" && create) await registerCreatedCluster(body.toString("utf8"), access, create);
  const rewritten = rewriteClusterBody(body.toString("utf8"), target, clusters, (n) => access.accessConfig(n));
  const out = rewritten === undefined ? body : Buffer.from(rewritten, "utf8");
  res.writeHead(status, upstream.statusMessage, [...withoutHeader(headers, "content-length"), "Content-Length", String(out.length)]);
  res.end(out);
}

/** Records the new cluster's access configuration and, as EKS does, the creator's admin access entry. */
async function registerCreatedCluster(body: string, access: AccessEmulation, create: CreateClusterContext): Promise<void> {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return;
  }
  const cluster = isObject(doc) && isObject(doc["cluster"]) ? doc["cluster"] : undefined;
  if (typeof cluster?.["name"] !== "string" || typeof cluster["arn"] !== "string") return;
  const store = await access.store(create.creator ? [create.creator] : []);
  store.registerCluster(cluster["name"], cluster["arn"], create.accessConfig, create.creator);
  access.changed();
}

function forward(req: IncomingMessage, res: ServerResponse, ctx: FrontContext, body: Buffer | undefined, create?: CreateClusterContext): void {
  const target = eksRewriteTarget(req.method, req.url, req.headers.authorization);
  let headers = endToEndHeaders(req.rawHeaders);
  // an answer to rewrite must come back uncompressed (moto does not compress, but be sure)
  if (target !== undefined) headers = withoutHeader(headers, "accept-encoding");
  if (body !== undefined) {
    headers = [...withoutHeader(headers, "content-length"), "Content-Length", String(body.length)];
  } else if (req.headers["transfer-encoding"] !== undefined) {
    // a chunked request body is re-chunked by Node on the way out (transfer-encoding is hop-by-hop)
    headers.push("Transfer-Encoding", "chunked");
  }
  const upstreamReq = httpRequest({
    host: ctx.moto.hostname,
    port: ctx.moto.port,
    method: req.method,
    path: req.url,
    headers, // a raw [k, v, …] list keeps order, case and repeats
    agent: ctx.agent,
    setHost: false,
  });
  upstreamReq.once("response", (upstream) => {
    relayResponse(upstream, res, target, ctx.clusters, ctx.access, create).catch((err: unknown) => badGateway(res, err instanceof Error ? err : new Error(String(err))));
  });
  upstreamReq.once("error", (err) => badGateway(res, err));
  res.once("close", () => {
    if (!res.writableFinished) upstreamReq.destroy();
  });
  if (body !== undefined) upstreamReq.end(body);
  else req.pipe(upstreamReq);
}

interface FrontContext {
  moto: URL;
  agent: Agent;
  clusters: Map<string, EksFrontCluster>;
  access: AccessEmulation;
}

/** Answers the access-entry operations itself; forwards everything else to moto. */
async function handle(req: IncomingMessage, res: ServerResponse, ctx: FrontContext): Promise<void> {
  if (isProvisionedAccountsCall(req.method, req.headers)) return serveProvisionedAccounts(res, ctx.moto.origin, req.headers, await readAll(req));
  const url = new URL(req.url ?? "/", "http://front.invalid");
  const eks = signingService(req.headers.authorization, url.searchParams) === "eks";
  const route = eks ? accessApiRoute(req.method ?? "GET", url.pathname) : undefined;
  const target = eks ? eksRewriteTarget(req.method, req.url, req.headers.authorization) : undefined;
  if (route === undefined && target?.op !== "CreateCluster") {
    forward(req, res, ctx, undefined);
    return;
  }
  const body = await readAll(req);
  const text = body.toString("utf8");
  if (target?.op === "CreateCluster") {
    let accessConfig: CreateClusterContext["accessConfig"] = {};
    try {
      const requested = parseBody(text)["accessConfig"];
      if (isObject(requested)) accessConfig = requested as CreateClusterContext["accessConfig"];
      // the rules CreateCluster enforces before anything is made
      new AccessEntries(emptyAccessState(), { now: () => new Date(), newId: () => "check", iamPrincipal: () => undefined }).registerCluster("check", "arn:aws:eks:r:0:cluster/check", accessConfig);
    } catch (err) {
      if (err instanceof EksApiError) return sendAnswer(res, errorAnswer(err));
      throw err;
    }
    forward(req, res, ctx, body, { accessConfig, creator: await ctx.access.signer(req.headers.authorization) });
    return;
  }
  // UpdateClusterConfig without accessConfig and updates the emulator did not make are moto's
  if (route!.op === "UpdateClusterConfig" && !isObject(safeJson(text)?.["accessConfig"])) return forward(req, res, ctx, body);
  if (route!.op === "DescribeUpdate" && !ctx.access.state.clusters[route!.cluster]?.updates.some((u) => u.id === (route as { updateId: string }).updateId)) {
    return forward(req, res, ctx, body);
  }
  // IAM is asked about the principals a call may bind: the new entry's, or the creator's (its admin entry appears when the API is enabled)
  const doc = safeJson(text);
  const principals =
    route!.op === "CreateAccessEntry" && typeof doc?.["principalArn"] === "string"
      ? [doc["principalArn"]]
      : route!.op === "UpdateClusterConfig"
        ? [ctx.access.state.clusters[route!.cluster]?.creatorArn ?? ""].filter(Boolean)
        : [];
  const store = await ctx.access.store(principals);
  const answer = serveAccessApi(store, route!, url.searchParams, text);
  if (answer.changed && answer.status === 200) ctx.access.changed();
  sendAnswer(res, answer);
}

function safeJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Starts the front on 127.0.0.1 at a free port (port 0, read back: no race). */
export async function startEksFront(opts: EksFrontOptions): Promise<EksFront> {
  const moto = new URL(opts.motoUrl);
  if (moto.protocol !== "http:") throw new Error(`eks front: motoUrl must be http://, got ${opts.motoUrl}`);
  const clusters = new Map<string, EksFrontCluster>();
  for (const [name, c] of Object.entries(opts.clusters ?? {})) clusters.set(name, validateCluster(name, c));
  const access = new AccessEmulation(opts.motoUrl, opts.accessStateFile, opts.onAccessChange);
  const agent = new Agent({ keepAlive: false });
  const ctx: FrontContext = { moto, agent, clusters, access };
  const server: Server = createServer((req, res) => {
    handle(req, res, ctx).catch((err: unknown) => badGateway(res, err instanceof Error ? err : new Error(String(err))));
  });
  const listening = await listenOnLoopback(server, "eks front");
  const stop = async (): Promise<void> => {
    await listening.stop();
    agent.destroy();
  };
  return {
    url: `http://127.0.0.1:${listening.port}`,
    port: listening.port,
    setCluster: (name, c) => void clusters.set(name, validateCluster(name, c)),
    accessState: () => access.state,
    stop,
  };
}
