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
 * Headers are forwarded verbatim, Host included (moto uses it for e.g. S3 virtual hosts and
 * builds URLs from it, which then point back at this front); only hop-by-hop headers are dropped.
 * The front never logs, neither requests nor secrets.
 */
import { request as httpRequest, Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { listenOnLoopback } from "./net.js";

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
}

export interface EksFront {
  /** http://127.0.0.1:<port> — use as AWS_ENDPOINT_URL */
  url: string;
  port: number;
  /** Adds or replaces a cluster's endpoint and CA for later answers. */
  setCluster(name: string, cluster: EksFrontCluster): void;
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

export type EksRewriteTarget = { op: "DescribeCluster"; name: string } | { op: "CreateCluster" };

/** Which EKS answer, if any, this request's response is a candidate for rewriting. */
export function eksRewriteTarget(method: string | undefined, rawUrl: string | undefined, authorization: string | undefined): EksRewriteTarget | undefined {
  const url = new URL(rawUrl ?? "/", "http://front.invalid");
  if (signingService(authorization, url.searchParams) !== "eks") return undefined;
  const path = url.pathname.replace(/\/+$/, "");
  if (method === "POST" && path === "/clusters") return { op: "CreateCluster" };
  const m = /^\/clusters\/([^/]+)$/.exec(path);
  if (method === "GET" && m?.[1] !== undefined) {
    try {
      return { op: "DescribeCluster", name: decodeURIComponent(m[1]) };
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

/**
 * Moto's `{"cluster":{...}}` answer with endpoint and CA replaced when the cluster is one we know;
 * undefined when the body is left as moto sent it (another cluster, not JSON, no cluster object).
 */
export function rewriteClusterBody(body: string, target: EksRewriteTarget, clusters: ReadonlyMap<string, EksFrontCluster>): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isObject(doc) || !isObject(doc["cluster"])) return undefined;
  const cluster = doc["cluster"];
  const name = target.op === "DescribeCluster" ? target.name : cluster["name"];
  if (typeof name !== "string" || cluster["name"] !== name) return undefined;
  const real = clusters.get(name);
  if (real === undefined) return undefined;
  cluster["endpoint"] = real.endpoint;
  const ca = isObject(cluster["certificateAuthority"]) ? cluster["certificateAuthority"] : {};
  cluster["certificateAuthority"] = { ...ca, data: real.caData };
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

/** Sends moto's answer on, rewritten when it is a known cluster's DescribeCluster/CreateCluster 200. */
async function relayResponse(upstream: IncomingMessage, res: ServerResponse, target: EksRewriteTarget | undefined, clusters: ReadonlyMap<string, EksFrontCluster>): Promise<void> {
  const status = upstream.statusCode ?? 502;
  const headers = endToEndHeaders(upstream.rawHeaders);
  const encoded = (upstream.headers["content-encoding"] ?? "identity") !== "identity";
  if (target === undefined || status !== 200 || encoded) {
    res.writeHead(status, upstream.statusMessage, headers);
    upstream.pipe(res);
    return;
  }
  const body = await readAll(upstream);
  const rewritten = rewriteClusterBody(body.toString("utf8"), target, clusters);
  const out = rewritten === undefined ? body : Buffer.from(rewritten, "utf8");
  res.writeHead(status, upstream.statusMessage, [...withoutHeader(headers, "content-length"), "Content-Length", String(out.length)]);
  res.end(out);
}

function forward(req: IncomingMessage, res: ServerResponse, moto: URL, agent: Agent, clusters: ReadonlyMap<string, EksFrontCluster>): void {
  const target = eksRewriteTarget(req.method, req.url, req.headers.authorization);
  let headers = endToEndHeaders(req.rawHeaders);
  // an answer to rewrite must come back uncompressed (moto does not compress, but be sure)
  if (target !== undefined) headers = withoutHeader(headers, "accept-encoding");
  // a chunked request body is re-chunked by Node on the way out (transfer-encoding is hop-by-hop)
  if (req.headers["transfer-encoding"] !== undefined) headers.push("Transfer-Encoding", "chunked");
  const upstreamReq = httpRequest({
    host: moto.hostname,
    port: moto.port,
    method: req.method,
    path: req.url,
    headers, // a raw [k, v, …] list keeps order, case and repeats
    agent,
    setHost: false,
  });
  upstreamReq.once("response", (upstream) => {
    relayResponse(upstream, res, target, clusters).catch((err: unknown) => badGateway(res, err instanceof Error ? err : new Error(String(err))));
  });
  upstreamReq.once("error", (err) => badGateway(res, err));
  res.once("close", () => {
    if (!res.writableFinished) upstreamReq.destroy();
  });
  req.pipe(upstreamReq);
}

/** Starts the front on 127.0.0.1 at a free port (port 0, read back: no race). */
export async function startEksFront(opts: EksFrontOptions): Promise<EksFront> {
  const moto = new URL(opts.motoUrl);
  if (moto.protocol !== "http:") throw new Error(`eks front: motoUrl must be http://, got ${opts.motoUrl}`);
  const clusters = new Map<string, EksFrontCluster>();
  for (const [name, c] of Object.entries(opts.clusters ?? {})) clusters.set(name, validateCluster(name, c));

  const agent = new Agent({ keepAlive: false });
  const server: Server = createServer((req, res) => forward(req, res, moto, agent, clusters));
  const listening = await listenOnLoopback(server, "eks front");
  const stop = async (): Promise<void> => {
    await listening.stop();
    agent.destroy();
  };
  return {
    url: `http://127.0.0.1:${listening.port}`,
    port: listening.port,
    setCluster: (name, c) => void clusters.set(name, validateCluster(name, c)),
    stop,
  };
}
