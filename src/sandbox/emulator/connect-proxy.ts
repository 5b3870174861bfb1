/**
 * A loopback-only HTTP CONNECT proxy for tests. It tunnels CONNECT requests for configured
 * host:port names (e.g. sts.us-west-2.amazonaws.com:443) to a configured port on 127.0.0.1 and
 * refuses every other destination with 403. It never opens a connection to anything but
 * 127.0.0.1, and it refuses plain-HTTP proxying (absolute-URI requests) altogether.
 *
 * With HTTPS_PROXY=http://127.0.0.1:<port> and a trusted test CA, an unmodified client (e.g. the
 * Go aws-iam-authenticator) that GETs https://sts.<region>.amazonaws.com/ reaches a local server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";

export interface ConnectProxyOptions {
  /**
   * Destination "host:port" (or "host", meaning port 443) → port on 127.0.0.1 to tunnel to.
   * Host names are matched case-insensitively, a trailing dot ignored.
   */
  routes: Record<string, number>;
}

export interface TunnelEvent {
  /** The CONNECT authority as the client sent it. */
  target: string;
  /** The 127.0.0.1 port tunnelled to, or undefined when refused. */
  localPort: number | undefined;
}

export interface ConnectProxy {
  /** http://127.0.0.1:<port>, the value for HTTPS_PROXY. */
  url: string;
  port: number;
  /** Every CONNECT seen, in order: tunnelled (localPort set) or refused. */
  readonly events: readonly TunnelEvent[];
  /** Number of outbound connections opened (all of them to 127.0.0.1). */
  readonly outboundConnections: number;
  stop(): Promise<void>;
}

const LOOPBACK = "127.0.0.1";

/** "Host:443" / "host." / "[::1]:443" → "host:port" in canonical (lower-case) form, or undefined. */
export function normalizeAuthority(authority: string, defaultPort = 443): string | undefined {
  const m = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(authority.trim());
  if (m === null) return undefined;
  const host = (m[1] ?? "").toLowerCase().replace(/\.$/, "");
  const port = m[2] !== undefined ? Number(m[2]) : defaultPort;
  if (host === "" || port < 1 || port > 65535) return undefined;
  return `${host}:${port}`;
}

function routeTable(routes: Record<string, number>): Map<string, number> {
  const table = new Map<string, number>();
  for (const [authority, localPort] of Object.entries(routes)) {
    const key = normalizeAuthority(authority);
    if (key === undefined) throw new Error(`connect proxy: invalid route destination ${JSON.stringify(authority)}`);
    if (!Number.isInteger(localPort) || localPort < 1 || localPort > 65535) {
      throw new Error(`connect proxy: invalid local port ${String(localPort)} for ${authority}`);
    }
    table.set(key, localPort);
  }
  return table;
}

function refuse(socket: Duplex, status: string, reason: string): void {
  const body = `${reason}\n`;
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** Starts the proxy on 127.0.0.1 at a free port (port 0, read back). */
export async function startConnectProxy(opts: ConnectProxyOptions): Promise<ConnectProxy> {
  const table = routeTable(opts.routes);
  const events: TunnelEvent[] = [];
  const sockets = new Set<Duplex>();
  let outbound = 0;

  const track = (s: Duplex): void => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // Absolute-URI (plain HTTP proxy) and origin-form requests alike: this proxy only tunnels.
    res.writeHead(403, { "content-type": "text/plain", connection: "close" });
    res.end(`this test proxy only tunnels CONNECT to configured hosts; refused ${req.method ?? "?"} ${req.url ?? ""}\n`);
  });

  server.on("connect", (req: IncomingMessage, client: Duplex, head: Buffer) => {
    track(client);
    client.on("error", () => client.destroy());
    const target = req.url ?? "";
    const key = normalizeAuthority(target);
    const localPort = key !== undefined ? table.get(key) : undefined;
    events.push({ target, localPort });
    if (localPort === undefined) {
      refuse(client, "403 Forbidden", `destination ${target} is not routed by this test proxy`);
      return;
    }
    outbound++;
    const upstream: Socket = connect({ host: LOOPBACK, port: localPort });
    track(upstream);
    let established = false;
    upstream.once("connect", () => {
      established = true;
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on("error", () => {
      if (!established && !client.destroyed) {
        refuse(client, "502 Bad Gateway", `could not reach ${LOOPBACK}:${localPort} for ${target}`);
      } else {
        client.destroy();
      }
    });
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => {
      if (established) client.destroy();
    });
  });

  server.on("clientError", (_err, socket: Duplex) => {
    if (socket.writable) refuse(socket, "400 Bad Request", "malformed request");
    else socket.destroy();
  });
  server.on("connection", (s: Socket) => track(s));

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, LOOPBACK, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("connect proxy: could not read the bound port");

  return {
    url: `http://${LOOPBACK}:${address.port}`,
    port: address.port,
    events,
    get outboundConnections() {
      return outbound;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
