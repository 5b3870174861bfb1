/**
 * The HTTP handler for HTTPS_PROXY / NO_PROXY and AWS_CA_BUNDLE (see ./http.ts, which loads this
 * module only when one of them is set: it pulls in node:https, tls, net and the proxy agents).
 */
import { readFileSync } from "node:fs";
import { Agent as HttpsAgent, type AgentOptions } from "node:https";
import type { ClientRequest, RequestOptions } from "node:http";
import type { Duplex } from "node:stream";
import { Agent as AgentBase, type AgentConnectOpts } from "agent-base";
import { HttpsProxyAgent } from "https-proxy-agent";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { bypassesProxy, httpsProxyFromEnv, noProxyFromEnv } from "../core/no-proxy.js";
import { EksAccessError } from "../core/errors.js";

type Env = Readonly<Record<string, string | undefined>>;

/** Chooses, per request, the proxy tunnel or a direct connection (NO_PROXY), both trusting `ca`. */
class EnvProxyAgent extends AgentBase {
  private readonly direct: HttpsAgent;
  private readonly viaProxy: HttpsProxyAgent<string> | undefined;

  constructor(
    proxy: string | undefined,
    private readonly noProxy: string | undefined,
    tls: AgentOptions,
  ) {
    super({ keepAlive: true, ...tls }); // request options carry the CA into every TLS upgrade
    this.direct = new HttpsAgent({ keepAlive: true, ...tls });
    this.viaProxy = proxy ? new HttpsProxyAgent(proxy, { keepAlive: true, ...tls }) : undefined;
  }

  /**
   * Always: this agent is only ever an https agent. agent-base would otherwise tell by building an
   * Error and searching its stack for node:https — three times per request (protocol, getName,
   * createSocket): ~14% of `serve`'s busy CPU time in a profile under bench/authn.bench.ts.
   */
  override isSecureEndpoint(): boolean {
    return true;
  }

  override connect(_req: ClientRequest, opts: AgentConnectOpts): HttpsAgent | HttpsProxyAgent<string> | Duplex {
    const host = (opts as RequestOptions).host ?? "";
    const port = Number((opts as RequestOptions).port ?? 443);
    return this.viaProxy && !bypassesProxy(host, port, this.noProxy) ? this.viaProxy : this.direct;
  }
}

let cached: { key: string; handler: NodeHttpHandler } | undefined;

/** The handler for the proxy/CA settings in `env`; ./http.ts calls this only when one is set. */
export function requestHandler(env: Env): NodeHttpHandler {
  const proxy = httpsProxyFromEnv(env);
  const caBundle = env["AWS_CA_BUNDLE"];
  const key = `${proxy}|${noProxyFromEnv(env)}|${caBundle}`;
  if (cached?.key === key) return cached.handler;
  const tls: AgentOptions = {};
  if (caBundle) {
    try {
      tls.ca = readFileSync(caBundle, "utf8");
    } catch (err) {
      throw new EksAccessError("config", `AWS_CA_BUNDLE ${caBundle} cannot be read (${(err as NodeJS.ErrnoException).code})`, {
        hint: "point AWS_CA_BUNDLE at a PEM file or unset it",
      });
    }
  }
  const handler = new NodeHttpHandler({ httpsAgent: new EnvProxyAgent(proxy, noProxyFromEnv(env), tls) as unknown as HttpsAgent });
  cached = { key, handler };
  return handler;
}
