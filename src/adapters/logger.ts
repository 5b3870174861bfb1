/**
 * `serve`'s structured log: one JSON object per line (pino) on stderr, with level, time, msg and
 * the fields. Values under keys that hold secrets (token, authorization, signature, secret access
 * key, session token, password) are replaced by "[redacted]" wherever they appear (scrub below);
 * messages are written by eks-access and never contain one.
 */
import pino, { type DestinationStream, type Logger } from "pino";
import type { AuthnLog } from "../ports/authn.js";

const SECRET_KEYS = ["token", "authorization", "signature", "secretAccessKey", "sessionToken", "password", "X-Amz-Signature", "X-Amz-Security-Token"];
const SECRET = new Set(SECRET_KEYS.map((k) => k.toLowerCase()));
const CENSOR = "[redacted]";
const MAX_DEPTH = 8;

/**
 * `value` with every value under a secret key (any letter case, any depth up to MAX_DEPTH, deeper
 * objects replaced whole) censored: the same object when there is none (the usual case: no copy),
 * else a copy. One walk over the fields: pino's wildcard redaction paths were over a quarter of
 * serve's busy CPU time in a profile under bench/authn.bench.ts.
 */
function scrub(value: unknown, depth = 0): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth >= MAX_DEPTH) return CENSOR;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const next = scrub(v, depth + 1);
      if (next !== v) (copy ??= [...value])[i] = next;
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const next = SECRET.has(k.toLowerCase()) ? CENSOR : scrub(v, depth + 1);
    if (next !== v) (copy ??= { ...(value as Record<string, unknown>) })[k] = next;
  }
  return copy ?? value;
}

export interface JsonLog extends AuthnLog {
  /** writes what is buffered (before exit) */
  flush(): void;
}

/**
 * A JSON log on `destination`, or by default on stderr written asynchronously: a line is handed to
 * the kernel at once when no write is under way, else with the lines that came meanwhile in one
 * write (measured with bench/authn.bench.ts: a synchronous write per line cost a TokenReview ~20 µs);
 * what is left is written synchronously by flush() and at exit, as pino does for its destinations.
 */
export function jsonLog(destination?: DestinationStream | NodeJS.WritableStream, level = "info"): JsonLog {
  const stderr = destination === undefined ? pino.destination({ dest: 2, sync: false }) : undefined;
  const logger: Logger = pino(
    {
      level,
      base: { component: "eks-access serve" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    (stderr ?? destination) as DestinationStream,
  );
  return {
    info: (msg, fields) => logger.info(scrub(fields ?? {}) as object, msg),
    warn: (msg, fields) => logger.warn(scrub(fields ?? {}) as object, msg),
    error: (msg, fields) => logger.error(scrub(fields ?? {}) as object, msg),
    flush: () => (stderr ? stderr.flushSync() : logger.flush()),
  };
}
