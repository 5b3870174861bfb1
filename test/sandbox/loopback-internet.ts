/**
 * Stand-ins for what lies beyond a user's machine, on loopback only: "the internet" (an HTTPS
 * server on 127.0.0.2 with a test-CA certificate) and "the corporate proxy" (a CONNECT proxy on
 * 127.0.0.1 that records each CONNECT and tunnels only to 127.x addresses). No traffic leaves loopback.
 */
import assert from "node:assert/strict";
import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connect as netConnect } from "node:net";
import type { Duplex } from "node:stream";
import { listenOnLoopback } from "../../src/sandbox/emulator/net.js";
import { createTestCa, issueLeafCertificate, type TestCa } from "../../src/sandbox/emulator/tls.js";

export interface Internet {
  /** https://127.0.0.2:<port> */
  url: string;
  port: number;
  ca: TestCa;
  stop(): Promise<void>;
}

/** HTTPS on 127.0.0.2 answering `hello from the internet: <path>`; trust `ca.certPath`. */
export async function startInternet(dir: string): Promise<Internet> {
  const ca = await createTestCa(dir, { name: "internet-ca", commonName: "loopback internet CA" });
  const leaf = await issueLeafCertificate(ca, { name: "internet", dnsNames: ["internet.test"], ipAddresses: ["127.0.0.2"] });
  const server = createHttpsServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`hello from the internet: ${req.url}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.2", resolve);
  });
  const address = server.address();
  assert.ok(address !== null && typeof address === "object");
  return {
    url: `https://127.0.0.2:${address.port}`,
    port: address.port,
    ca,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface CorporateProxy {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Every CONNECT received, in order. */
  seen: Array<{ target: string; authorization: string | undefined }>;
  stop(): Promise<void>;
}

/** A CONNECT proxy; with `requireAuth` it answers 407 to a CONNECT without Proxy-Authorization. */
export async function startCorporateProxy(opts: { requireAuth?: boolean } = {}): Promise<CorporateProxy> {
  const seen: CorporateProxy["seen"] = [];
  const server = createHttpServer((_req, res) => res.writeHead(405).end());
  server.on("connect", (req: IncomingMessage, client: Duplex, head: Buffer) => {
    const target = req.url ?? "";
    const authorization = req.headers["proxy-authorization"];
    seen.push({ target, authorization });
    client.on("error", () => client.destroy());
    if (opts.requireAuth && authorization === undefined) {
      client.end("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=corp\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    const m = /^(127\.\d+\.\d+\.\d+):(\d+)$/.exec(target);
    if (!m) {
      client.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    const up = netConnect({ host: m[1]!, port: Number(m[2]) }, () => {
      client.write("HTTP/1.1 200 Connection established\r\n\r\n");
      if (head.length > 0) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    up.on("error", () => client.destroy());
    client.once("close", () => up.destroy());
  });
  const { port, stop } = await listenOnLoopback(server, "corporate proxy");
  return { url: `http://127.0.0.1:${port}`, port, seen, stop };
}
