/**
 * `eks-access serve`: the project's HTTPS server for the kube-apiserver. Today it answers
 * SubjectAccessReview (`POST /authorize`, authorization.k8s.io/v1 and v1beta1) with EKS's access
 * policies, beside RBAC (allowed, or no opinion: it never denies); `GET /healthz`. The decision is
 * core/subject-access.ts and the entries come from an AccessEntrySource (ports/access-entries.ts);
 * this file only speaks HTTP.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { decideSubjectAccess, type SubjectAccessReviewSpec } from "../core/subject-access.js";
import type { AccessEntrySource } from "../ports/access-entries.js";

export interface ServeOptions {
  /** listen address; default 127.0.0.1 */
  address?: string;
  /** 0 = a free port */
  port: number;
  tls: { certFile: string; keyFile: string };
  /** the current access entries (a file, or the EKS API): the server does not care which; its owner closes it */
  accessEntries: AccessEntrySource;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function json(res: ServerResponse, status: number, doc: unknown): void {
  const body = JSON.stringify(doc);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

const REVIEW_VERSIONS = new Set(["authorization.k8s.io/v1", "authorization.k8s.io/v1beta1"]);

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const log = opts.log ?? (() => {});
  const entries = opts.accessEntries;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
      return;
    }
    if (path !== "/authorize") return json(res, 404, { error: `no such endpoint ${path}` });
    if (req.method !== "POST") return json(res, 405, { error: "POST a SubjectAccessReview" });
    const text = await readBody(req);
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
  const server: Server = createServer({ cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`internal error: ${(err as Error).message}`);
      if (!res.headersSent) json(res, 500, { error: "internal error" });
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
  return {
    url: `https://${address}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
