/**
 * SDK failures as one-line errors: a service exception keeps its AWS error code; a request that
 * never reached the service (refused, unknown host, timeout, reset) says which endpoint could not
 * be reached instead of blaming credentials or permissions. No SDK client is imported here, so an
 * EKS call does not load the STS client for its error messages (nor the reverse).
 */
import type { FinalizeRequestMiddleware, MetadataBearer, MiddlewareStack } from "@smithy/types";
import { EksAccessError } from "../core/errors.js";

const NETWORK_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "ECONNABORTED"]);

interface NetError {
  name?: string;
  code?: string;
  message?: string;
  address?: string;
  port?: number;
  hostname?: string;
}

/** IAM's "no such role/user/group" (the SDK's NoSuchEntityException; NoSuchEntity from older models). */
export const isNoSuchEntity = (err: unknown): boolean => ["NoSuchEntityException", "NoSuchEntity"].includes((err as { name?: string } | undefined)?.name ?? "");

/** The network failure's code (ECONNREFUSED, ..., TimeoutError), or undefined for any other error. */
export function networkFailure(err: unknown): string | undefined {
  const e = (err ?? {}) as NetError;
  if (typeof e.code === "string" && NETWORK_CODES.has(e.code)) return e.code;
  if (e.name === "TimeoutError" || e.name === "RequestTimeout") return e.name;
  return undefined;
}

/** The endpoint (scheme://host[:port]) a client last sent a request to, recorded by a middleware. */
export interface EndpointRecorder {
  readonly url: string | undefined;
}

interface RequestLike {
  protocol?: string;
  hostname?: string;
  port?: number;
  path?: string;
}

/** Adds the recording middleware to an SDK client (any client: only its middleware stack is used). */
export function recordEndpoint<I extends object, O extends MetadataBearer>(client: { middlewareStack: MiddlewareStack<I, O> }): EndpointRecorder {
  const recorder = { url: undefined as string | undefined };
  const record: FinalizeRequestMiddleware<I, O> = (next) => async (args) => {
    const r = args.request as RequestLike;
    if (r?.hostname) recorder.url = `${r.protocol ?? "https:"}//${r.hostname}${r.port ? `:${r.port}` : ""}`;
    return next(args);
  };
  client.middlewareStack.add(record, { step: "finalizeRequest", name: "eksAccessRecordEndpoint" });
  return recorder;
}

/** Turns an SDK failure into a one-line error carrying the AWS error code, or naming the unreachable endpoint. */
export function awsError(err: unknown, what: string, hint: string, endpoint?: string): EksAccessError {
  if (EksAccessError.is(err)) return err;
  const e = (err ?? {}) as NetError;
  const failure = networkFailure(err);
  if (failure) {
    const where = endpoint ?? (e.hostname ? e.hostname : e.address ? `${e.address}${e.port ? `:${e.port}` : ""}` : "the AWS endpoint");
    return new EksAccessError("aws", `${what}: could not reach ${where} (${failure})`, {
      hint: "check the region and endpoint settings (--endpoint-url, AWS_ENDPOINT_URL*), the network and HTTPS_PROXY/NO_PROXY",
      cause: err,
    });
  }
  const code = e.name && e.name !== "Error" ? ` (${e.name})` : "";
  return new EksAccessError("aws", `${what}${code}: ${(e.message ?? String(err)).split("\n")[0]}`, { hint, cause: err });
}
