import { createServer } from "node:net";

/** Asks the kernel for a free TCP port on 127.0.0.1 (bind to port 0, read it, close). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") {
        srv.close();
        reject(new Error("could not read the bound port"));
        return;
      }
      const { port } = addr;
      srv.close(() => resolve(port));
    });
  });
}

export type Polled<T> = { held: true; value: T } | { held: false; last: T | undefined; error: unknown };

/**
 * Calls `probe` until `holds` accepts its answer, at most `attempts` times `delayMs` apart (a bound,
 * not a timing assertion); a probe that throws counts as not holding.
 */
export async function poll<T>(probe: () => T | Promise<T>, holds: (v: T) => boolean, attempts = 600, delayMs = 100): Promise<Polled<T>> {
  let last: T | undefined;
  let error: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      last = await probe();
      if (holds(last)) return { held: true, value: last };
    } catch (err) {
      error = err;
    }
    await new Promise((r) => setTimeout(r, delayMs));
  }
  return { held: false, last, error };
}

/** Polls `probe` until it resolves true, or throws after `attempts` tries (not a timing assertion). */
export async function waitFor(what: string, probe: () => Promise<boolean>, attempts = 600, delayMs = 100): Promise<void> {
  const r = await poll(probe, (ok) => ok, attempts, delayMs);
  if (r.held) return;
  const detail = r.error instanceof Error ? `: ${r.error.message}` : "";
  throw new Error(`${what} did not become ready${detail}`);
}

import type { Server } from "node:net";

export interface Listening {
  port: number;
  /** Closes the server and destroys open connections; idempotent. */
  stop(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 at a free port (port 0, read back: no race), tracking connections so that
 * stop() ends keep-alive sockets too instead of waiting for them.
 */
export async function listenOnLoopback(server: Server, what: string): Promise<Listening> {
  const sockets = new Set<import("node:net").Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error(`${what}: could not read the bound port`);
  let stopped: Promise<void> | undefined;
  return {
    port: address.port,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      })),
  };
}
