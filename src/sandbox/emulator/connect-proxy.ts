/**
 * The sandbox's loopback HTTP CONNECT proxy (HTTPS_PROXY of a sandbox shell). It tunnels CONNECT
 * requests for configured host:port names (e.g. sts.us-west-2.amazonaws.com:443) to a configured
 * port on 127.0.0.1. Every other destination is either refused with 403 (`unrouted: "refuse"`, the
 * default, for tests that must reach nothing else) or tunnelled as the user's own environment
 * would have reached it: directly, or through the user's previous HTTPS_PROXY (a CONNECT through
 * it) unless the user's NO_PROXY names the host. Plain-HTTP proxying (absolute-URI requests) is
 * refused: `sandbox env` sets no HTTP_PROXY, so plain HTTP never comes here.
 *
 * With HTTPS_PROXY=http://127.0.0.1:<port> and a trusted test CA, an unmodified client (e.g. the
 * Go aws-iam-authenticator) that GETs https://sts.<region>.amazonaws.com/ reaches a local server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import { bypassesProxy } from "../../core/no-proxy.js";

export interface ConnectProxyOptions {
  /**
   * Destination "host:port" (or "host", meaning port 443) → port on 127.0.0.1 to tunnel to.
   * Host names are matched case-insensitively, a trailing dot ignored.
   */
  routes: Record<string, number>;
  /**
   * Other destinations: "refuse" (default: 403, no connection opened), or tunnel them as the
   * user's environment would (`upstreamProxy`: the user's HTTPS_PROXY, http:// or https://,
   * user:password allowed; `noProxy`: the user's NO_PROXY, whose hosts go direct).
   */
  unrouted?: "refuse" | { upstreamProxy?: string | undefined; noProxy?: string | undefined };
}

export interface TunnelEvent {
  /** The CONNECT authority as the client sent it. */
  target: string;
  /** The 127.0.0.1 port tunnelled to, or undefined when not a sandbox route. */
  localPort: number | undefined;
  /** How it was served: a sandbox route, passed on directly or through the upstream proxy, or refused. */
  via: "route" | "direct" | "upstream" | "refused";
}

export interface ConnectProxy {
  /** http://127.0.0.1:<port>, the value for HTTPS_PROXY. */
  url: string;
  port: number;
  /** Every CONNECT seen, in order: tunnelled (localPort set) or refused. */
  readonly events: readonly TunnelEvent[];
  /** Number of outbound connections opened (routes: 127.0.0.1; passed-on destinations: wherever they are). */
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

/** "host:port" (normalized) → its parts; IPv6 brackets removed for connect(). */
function splitAuthority(key: string): { host: string; port: number } {
  const i = key.lastIndexOf(":");
  return { host: key.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(key.slice(i + 1)) };
}

interface UpstreamProxy {
  host: string;
  port: number;
  tls: boolean;
  authorization: string | undefined;
}

/** The user's HTTPS_PROXY value (scheme optional, as curl takes it) → where and how to CONNECT. */
export function parseProxyUrl(value: string): UpstreamProxy {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error("connect proxy: the upstream proxy URL (HTTPS_PROXY) is not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`connect proxy: upstream proxy scheme ${url.protocol} is not supported (http or https)`);
  const tls = url.protocol === "https:";
  const user = decodeURIComponent(url.username);
  const authorization = user !== "" ? `Basic ${Buffer.from(`${user}:${decodeURIComponent(url.password)}`).toString("base64")}` : undefined;
  return { host: url.hostname.replace(/^\[|\]$/g, ""), port: url.port ? Number(url.port) : tls ? 443 : 80, tls, authorization };
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

  const upstreamProxy = opts.unrouted !== undefined && opts.unrouted !== "refuse" && opts.unrouted.upstreamProxy ? parseProxyUrl(opts.unrouted.upstreamProxy) : undefined;
  const noProxy = opts.unrouted !== undefined && opts.unrouted !== "refuse" ? opts.unrouted.noProxy : undefined;

  server.on("connect", (req: IncomingMessage, client: Duplex, head: Buffer) => {
    track(client);
    client.on("error", () => client.destroy());
    const target = req.url ?? "";
    const key = normalizeAuthority(target);
    const localPort = key !== undefined ? table.get(key) : undefined;
    if (localPort !== undefined) {
      events.push({ target, localPort, via: "route" });
      outbound++;
      relay(client, head, connect({ host: LOOPBACK, port: localPort }), `${LOOPBACK}:${localPort} for ${target}`);
      return;
    }
    if (key === undefined || opts.unrouted === undefined || opts.unrouted === "refuse") {
      events.push({ target, localPort: undefined, via: "refused" });
      refuse(client, key === undefined ? "400 Bad Request" : "403 Forbidden", `destination ${target} is not routed by this proxy`);
      return;
    }
    const { host, port } = splitAuthority(key);
    outbound++;
    if (upstreamProxy === undefined || bypassesProxy(host, port, noProxy)) {
      events.push({ target, localPort: undefined, via: "direct" });
      relay(client, head, connect({ host, port }), target);
      return;
    }
    events.push({ target, localPort: undefined, via: "upstream" });
    const socket = upstreamProxy.tls
      ? tlsConnect({ host: upstreamProxy.host, port: upstreamProxy.port, servername: upstreamProxy.host })
      : connect({ host: upstreamProxy.host, port: upstreamProxy.port });
    track(socket);
    connectThrough(socket, upstreamProxy.tls, key, upstreamProxy.authorization, client, head);
  });

  /** Pipes client ⇄ upstream once the upstream connects; 502 to the client when it cannot. */
  function relay(client: Duplex, head: Buffer, upstream: Socket, what: string): void {
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
      if (!established && !client.destroyed) refuse(client, "502 Bad Gateway", `could not reach ${what}`);
      else client.destroy();
    });
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => {
      if (established) client.destroy();
    });
  }

  /**
   * CONNECT through the user's proxy; its answer goes to the client as it came (a 407 stays a
   * 407), and after a 2xx the bytes flow both ways.
   */
  function connectThrough(upstream: Socket, tls: boolean, authority: string, authorization: string | undefined, client: Duplex, head: Buffer): void {
    const auth = authorization !== undefined ? `Proxy-Authorization: ${authorization}\r\n` : "";
    let buffered = Buffer.alloc(0);
    let answered = false;
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end === -1) {
        if (buffered.length > 64 * 1024) upstream.destroy();
        return;
      }
      answered = true;
      upstream.off("data", onData);
      const header = buffered.subarray(0, end + 4);
      const rest = buffered.subarray(end + 4);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(header.toString("latin1"))?.[1];
      if (status === undefined || !status.startsWith("2")) {
        client.end(Buffer.concat([header, rest]));
        upstream.destroy();
        return;
      }
      client.write(header);
      if (rest.length > 0) client.write(rest);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    };
    upstream.once(tls ? "secureConnect" : "connect", () => {
      upstream.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
    });
    upstream.on("data", onData);
    upstream.on("error", () => {
      if (!answered && !client.destroyed) refuse(client, "502 Bad Gateway", `could not reach the upstream proxy for ${authority}`);
      else client.destroy();
    });
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => {
      if (answered) client.destroy();
      else if (!client.destroyed && client.writable) refuse(client, "502 Bad Gateway", `the upstream proxy closed the connection for ${authority}`);
    });
  }

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
