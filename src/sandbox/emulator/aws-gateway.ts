/**
 * The sandbox's stand-in for AWS's public endpoints: an HTTPS server holding a test-CA certificate
 * for the real AWS host names (sts.<region>.amazonaws.com, iam.amazonaws.com, eks.<region>...).
 * Clients reach it through the loopback CONNECT proxy (HTTPS_PROXY) and trust it through the test
 * CA (AWS_CA_BUNDLE / SSL_CERT_FILE), so tokens keep the real STS host name that aws-iam-authenticator
 * insists on. Requests are forwarded over HTTP with their Host header intact:
 *   presigned GetCallerIdentity (query-signed) → the local STS verifier;
 *   everything else                          → the AWS emulation (EKS front → moto).
 */
import { createServer, type Server } from "node:https";
import { request, type IncomingMessage, type ServerResponse } from "node:http";
import { listenOnLoopback } from "./net.js";

export interface AwsGatewayOptions {
  tls: { cert: string; key: string };
  /** http://127.0.0.1:<port> of the STS verifier */
  verifierUrl: string;
  /** http://127.0.0.1:<port> of the AWS emulation (EKS front or moto) */
  awsUrl: string;
  /** SSO portal fixture, for portal.sso.<region>.amazonaws.com (optional) */
  ssoPortalUrl?: string;
}

export interface AwsGateway {
  port: number;
  stop(): Promise<void>;
}

/** AWS host names the sandbox answers for, in a region. */
export function sandboxAwsHosts(region: string): string[] {
  return [
    `sts.${region}.amazonaws.com`,
    "sts.amazonaws.com",
    "iam.amazonaws.com",
    `eks.${region}.amazonaws.com`,
    "organizations.us-east-1.amazonaws.com",
    `sso.${region}.amazonaws.com`,
    `identitystore.${region}.amazonaws.com`,
    `portal.sso.${region}.amazonaws.com`,
  ];
}

/** A presigned GetCallerIdentity (the EKS token's URL), as opposed to an STS API call. */
export function isPresignedGetCallerIdentity(method: string | undefined, host: string, rawUrl: string): boolean {
  if (method !== "GET" || !/^sts\./.test(host)) return false;
  const q = new URL(rawUrl, "http://x").searchParams;
  return q.get("Action") === "GetCallerIdentity" && q.has("X-Amz-Signature");
}

function forward(target: string, req: IncomingMessage, res: ServerResponse): void {
  const t = new URL(target);
  const upstream = request(
    { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.on("error", (err) => {
    if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
    res.end(JSON.stringify({ message: `sandbox gateway: upstream ${t.host} failed: ${err.message}` }));
  });
  req.pipe(upstream);
}

export async function startAwsGateway(opts: AwsGatewayOptions): Promise<AwsGateway> {
  const server: Server = createServer({ cert: opts.tls.cert, key: opts.tls.key }, (req, res) => {
    const host = (req.headers.host ?? "").replace(/:\d+$/, "").toLowerCase();
    if (isPresignedGetCallerIdentity(req.method, host, req.url ?? "/")) return forward(opts.verifierUrl, req, res);
    if (host.startsWith("portal.sso.") && opts.ssoPortalUrl) return forward(opts.ssoPortalUrl, req, res);
    return forward(opts.awsUrl, req, res);
  });
  const { port, stop } = await listenOnLoopback(server, "aws gateway");
  return { port, stop };
}
