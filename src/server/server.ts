/**
 * `eks-access serve`: the project's one HTTPS server for the kube-apiserver:
 *  - TokenReview (`POST /authenticate`, authentication.k8s.io/v1 and v1beta1): the authenticator
 *    aws-iam-authenticator is, answered by usecases/token-review.ts;
 *  - SubjectAccessReview (`POST /authorize`, authorization.k8s.io/v1 and v1beta1) with EKS's access
 *    policies, beside RBAC (allowed, or no opinion: it never denies), from an AccessEntrySource;
 *  - `GET /healthz` (alive), `GET /readyz` (every mapping backend loaded once; 503 while shutting
 *    down), `GET /metrics` (Prometheus).
 * Either role may be off. Request bodies are bounded (413). `stop(graceMs)` is graceful: no new
 * connections, in-flight reviews finish (their connections then close), then the rest is cut.
 * This file only speaks HTTP.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { decideSubjectAccess, type SubjectAccessReviewSpec } from "../core/subject-access.js";
import type { AccessEntrySource } from "../ports/access-entries.js";

/** The TokenReview side, as the server needs it. */
export interface Authenticator {
  /** one review (the body as received); never throws */
  review(body: string, client: string | undefined, started: number): Promise<{ status: number; body: string }>;
  /** a refusal body for a request the server turns away itself (405, 413), counted as malformed */
  malformed(status: number, reason: string, started: number): string;
  /** the backends not loaded yet, one line each (empty: ready) */
  notReady(): string[];
  now(): number;
}

export interface ServeOptions {
  /** listen address; default 127.0.0.1 */
  address?: string;
  /** 0 = a free port */
  port: number;
  tls: { certFile: string; keyFile: string } | { cert: string | Buffer; key: string | Buffer };
  /** the access entries for /authorize (a file, or the EKS API); without: no /authorize; its owner closes it */
  accessEntries?: AccessEntrySource | undefined;
  /** the TokenReview side; without: no /authenticate */
  authenticator?: Authenticator | undefined;
  /** GET /metrics */
  metrics?: (() => Promise<{ contentType: string; body: string }>) | undefined;
  /** largest request body accepted (default 1 MiB) */
  maxBodyBytes?: number | undefined;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  /** stops accepting, lets reviews in flight finish for up to `graceMs` (default 0), then closes every connection */
  stop(graceMs?: number): Promise<void>;
}

const DEFAULT_MAX_BODY = 1024 * 1024;

function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > max) {
        resolve(undefined);
        req.removeAllListeners("data");
        req.resume();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

const REVIEW_VERSIONS = new Set(["authorization.k8s.io/v1", "authorization.k8s.io/v1beta1"]);

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const log = opts.log ?? (() => {});
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const authn = opts.authenticator;
  let stopping = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  /** while stopping, each answer closes its connection after it is sent */
  const send = (res: ServerResponse, status: number, body: string, type = "application/json"): void => {
    res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), ...(stopping ? { connection: "close" } : {}) });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, doc: unknown): void => send(res, status, JSON.stringify(doc));

  const authorize = async (req: IncomingMessage, res: ServerResponse, entries: AccessEntrySource): Promise<void> => {
    if (req.method !== "POST") return json(res, 405, { error: "POST a SubjectAccessReview" });
    const text = await readBody(req, maxBody);
    if (text === undefined) return json(res, 413, { error: "request body too large" });
    let review: { apiVersion?: string; kind?: string; spec?: SubjectAccessReviewSpec };
    try {
      review = JSON.parse(text) as typeof review;
    } catch {
      return json(res, 400, { error: "expected a SubjectAccessReview (JSON)" });
    }
    if (review.kind !== "SubjectAccessReview" || !REVIEW_VERSIONS.has(review.apiVersion ?? "") || typeof review.spec !== "object" || review.spec === null) {
      return json(res, 400, { error: "expected a SubjectAccessReview of authorization.k8s.io/v1 or v1beta1" });
    }
    const status = decideSubjectAccess(review.spec, entries.current());
    json(res, 200, { apiVersion: review.apiVersion, kind: "SubjectAccessReview", status });
  };

  const authenticate = async (req: IncomingMessage, res: ServerResponse, a: Authenticator): Promise<void> => {
    const started = a.now();
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      return send(res, 405, a.malformed(405, "expected POST", started));
    }
    const text = await readBody(req, maxBody);
    if (text === undefined) return send(res, 413, a.malformed(413, `request body larger than ${maxBody} bytes`, started));
    const answer = await a.review(text, req.socket.remoteAddress, started);
    if (answer.status === 429) res.setHeader("retry-after", "1");
    send(res, answer.status, answer.body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/healthz") return send(res, 200, "ok", "text/plain; charset=utf-8");
    if (req.method === "GET" && path === "/readyz") {
      const waiting = stopping ? ["shutting down"] : (authn?.notReady() ?? []);
      return waiting.length === 0 ? send(res, 200, "ok", "text/plain; charset=utf-8") : send(res, 503, `not ready: ${waiting.join("; ")}\n`, "text/plain; charset=utf-8");
    }
    if (path === "/metrics" && opts.metrics && req.method === "GET") {
      const m = await opts.metrics();
      return send(res, 200, m.body, m.contentType);
    }
    if (path === "/authenticate" && authn) return authenticate(req, res, authn);
    if (path === "/authorize" && opts.accessEntries) return authorize(req, res, opts.accessEntries);
    json(res, 404, { error: `no such endpoint ${path}` });
  };

  const tls = "certFile" in opts.tls ? { cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) } : opts.tls;
  const server: Server = createServer({ ...tls, minVersion: "TLSv1.2" }, (req, res) => {
    inFlight++;
    res.on("close", () => {
      inFlight--;
      if (inFlight === 0) drained?.();
    });
    handle(req, res).catch((err: unknown) => {
      log(`internal error: ${(err as Error).message}`);
      if (!res.headersSent) json(res, 500, { error: "internal error" });
      else res.destroy();
    });
  });
  const address = opts.address ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, address, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = address.includes(":") ? `[${address}]` : address;
  let stopped: Promise<void> | undefined;
  return {
    url: `https://${host}:${port}`,
    port,
    stop: (graceMs = 0) =>
      (stopped ??= (async () => {
        stopping = true;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (graceMs > 0) {
          if (inFlight > 0) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, graceMs);
              drained = () => {
                clearTimeout(timer);
                resolve();
              };
            });
          }
          // answers sent while stopping close their connections themselves; give them a moment
          server.closeIdleConnections();
          await Promise.race([closed, new Promise((r) => setTimeout(r, 1000).unref())]);
        }
        server.closeAllConnections();
        await closed;
      })()),
  };
}
