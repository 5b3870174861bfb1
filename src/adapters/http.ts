/**
 * The HTTP settings every AWS SDK client of eks-access uses. The AWS CLI honours HTTPS_PROXY /
 * NO_PROXY and AWS_CA_BUNDLE; the SDK v3 does not by itself, so corporate networks (and the local
 * sandbox, which routes AWS host names through a loopback proxy) need this. Without any of those
 * variables the SDK's default handler is used, and the proxy code (node:https, tls, net, the proxy
 * agents) is not even loaded: a profile with keys signs a token without any of it.
 */
import type { NodeHttpHandler } from "@smithy/node-http-handler";
import { httpsProxyFromEnv } from "../core/no-proxy.js";

type Env = Readonly<Record<string, string | undefined>>;

/** `{ requestHandler }` for an SDK client or credential provider's clientConfig, or nothing. */
export async function httpClientConfig(env: Env): Promise<{ requestHandler?: NodeHttpHandler }> {
  if (!httpsProxyFromEnv(env) && !env["AWS_CA_BUNDLE"]) return {};
  const { requestHandler } = await import("./http-proxy.js");
  return { requestHandler: requestHandler(env) };
}
