/**
 * A TLS front for the local STS verifier that can misbehave on purpose, for the authenticators'
 * fault tests: it holds the test-CA certificate of the STS host names (the CONNECT proxy routes
 * them here) and either passes each presigned GetCallerIdentity on to the STS verifier unchanged,
 * or answers as a troubled STS would — slow, failing (5xx), throttling, or down (not listening).
 * It records the X-Amz-Signature of every request it sees, so a test can tell how often one token
 * was asked about (the apiserver retrying). Test fixture.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { Socket } from "node:net";

export type StsFault =
  | { kind: "pass" }
  /** answers (passed on) after `ms` */
  | { kind: "slow"; ms: number }
  /** an STS 5xx: 500 InternalFailure or 503 ServiceUnavailable */
  | { kind: "fail"; status: 500 | 503 }
  /** STS's throttling answer: 400 Throttling "Rate exceeded" */
  | { kind: "throttle" }
  /** not listening: connections are refused */
  | { kind: "down" };

export interface StsFaultGate {
  port: number;
  /** what the gate does from now on ("down" closes the listener; anything else opens it again) */
  set(fault: StsFault): Promise<void>;
  /** the X-Amz-Signature of every request seen, in order */
  readonly seen: readonly string[];
  stop(): Promise<void>;
}

function stsErrorBody(req: IncomingMessage, status: number, code: string, message: string): { type: string; body: string } {
  const json = (req.headers.accept ?? "").includes("application/json");
  const type = status >= 500 ? "Receiver" : "Sender";
  if (json) return { type: "application/json", body: JSON.stringify({ Error: { Type: type, Code: code, Message: message }, RequestId: "fault-gate" }) };
  return { type: "text/xml", body: `<ErrorResponse><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>fault-gate</RequestId></ErrorResponse>` };
}

export async function startStsFaultGate(opts: { tls: { cert: string; key: string }; stsUrl: string }): Promise<StsFaultGate> {
  let fault: StsFault = { kind: "pass" };
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const target = new URL(opts.stsUrl);

  const pass = (req: IncomingMessage, res: ServerResponse): void => {
    const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    seen.push(/[?&]X-Amz-Signature=([0-9a-f]+)/.exec(req.url ?? "")?.[1] ?? "");
    const f = fault;
    const send = (status: number, code: string, message: string): void => {
      req.resume();
      const { type, body } = stsErrorBody(req, status, code, message);
      res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
      res.end(body);
    };
    if (f.kind === "slow") setTimeout(() => pass(req, res), f.ms).unref();
    else if (f.kind === "fail") send(f.status, f.status === 503 ? "ServiceUnavailable" : "InternalFailure", "fault gate: STS is failing");
    else if (f.kind === "throttle") send(400, "Throttling", "Rate exceeded");
    else pass(req, res);
  };

  const listen = (server: Server, port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve((server.address() as { port: number }).port);
      });
    });
  const open = (): Server => {
    const s = createServer({ cert: opts.tls.cert, key: opts.tls.key }, handle);
    s.on("connection", (c: Socket) => {
      sockets.add(c);
      c.once("close", () => sockets.delete(c));
    });
    return s;
  };
  const close = (s: Server): Promise<void> =>
    new Promise((resolve) => {
      s.close(() => resolve());
      for (const c of sockets) c.destroy();
    });

  let server: Server | undefined = open();
  const port = await listen(server, 0);
  return {
    port,
    seen,
    set: async (next) => {
      fault = next;
      if (next.kind === "down" && server) {
        const s = server;
        server = undefined;
        await close(s);
      } else if (next.kind !== "down" && !server) {
        server = open();
        await listen(server, port);
      }
    },
    stop: async () => {
      if (server) await close(server);
      server = undefined;
    },
  };
}
