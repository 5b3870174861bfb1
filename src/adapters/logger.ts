/**
 * `serve`'s structured log: one JSON object per line (pino) on stderr, with level, time, msg and
 * the fields. Values under keys that hold secrets (token, authorization, signature, secret access
 * key, session token, password) are replaced by "[redacted]" wherever they appear; messages are
 * written by eks-access and never contain one.
 */
import pino, { type DestinationStream, type Logger } from "pino";
import type { AuthnLog } from "../ports/authn.js";

const SECRET_KEYS = ["token", "authorization", "signature", "secretAccessKey", "sessionToken", "password", "X-Amz-Signature", "X-Amz-Security-Token"];

/** pino's redaction paths: each secret key at the top and one or two levels down. */
const REDACT = SECRET_KEYS.flatMap((k) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`;
  const dot = (p: string): string => (key.startsWith("[") ? `${p}${key}` : `${p}.${key}`);
  return [key, dot("*"), dot("*.*")];
});

export interface JsonLog extends AuthnLog {
  /** writes what is buffered (before exit) */
  flush(): void;
}

export function jsonLog(destination: DestinationStream | NodeJS.WritableStream = process.stderr, level = "info"): JsonLog {
  const logger: Logger = pino(
    {
      level,
      base: { component: "eks-access serve" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: "[redacted]" },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination as DestinationStream,
  );
  return {
    info: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    error: (msg, fields) => logger.error(fields ?? {}, msg),
    flush: () => logger.flush(),
  };
}
