import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { normalizeAuthority, parseProxyUrl, startConnectProxy, type ConnectProxy } from "../../src/sandbox/emulator/connect-proxy.js";
import { listenOnLoopback } from "../../src/sandbox/emulator/net.js";
import { startCorporateProxy, startInternet, type CorporateProxy, type Internet } from "./loopback-internet.js";
import { startMoto, type MotoServer } from "../../src/sandbox/emulator/moto.js";
import { startStsVerifier, type StsVerifier } from "../../src/sandbox/emulator/sts-verifier.js";
import { createTestCa, issueLeafCertificate, type TestCa } from "../../src/sandbox/emulator/tls.js";

const ORACLE = join(dirname(fileURLToPath(import.meta.url)), "oracle");
const exec = promisify(execFile);
const STS_HOST = "sts.us-west-2.amazonaws.com";

async function python<T>(script: string, input: unknown): Promise<T> {
  const child = exec("python3", [join(ORACLE, script)], { maxBuffer: 16 * 1024 * 1024 });
  child.child.stdin?.end(JSON.stringify(input));
  return JSON.parse((await child).stdout) as T;
}

/** Sends CONNECT <authority> to the proxy; resolves with the status and, when 200, the tunnel socket. */
function connectVia(proxy: ConnectProxy, authority: string): Promise<{ status: number; socket?: Socket; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port: proxy.port, method: "CONNECT", path: authority, headers: { host: authority }, agent: false });
    req.on("connect", (res: IncomingMessage, socket: Socket) => {
      if (res.statusCode === 200) resolve({ status: 200, socket, body: "" });
      else {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, body: "" });
      }
    });
    req.on("response", (res: IncomingMessage) => {
      // node reports non-2xx CONNECT answers here
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** GET https://<servername><path> over an established tunnel, trusting only `caPem`. */
function httpsOverTunnel(tunnel: Socket, servername: string, caPem: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const tlsSocket: TLSSocket = tlsConnect({ socket: tunnel, servername, ca: caPem });
    tlsSocket.on("error", reject);
    // http.request with createConnection and no agent speaks HTTP/1.1 over the given (TLS) socket
    // and never resolves or dials anything itself.
    const req = httpRequest(
      { host: servername, path, method: "GET", headers: { host: servername, ...headers }, createConnection: () => tlsSocket },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          tlsSocket.destroy();
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("connect proxy: normalizeAuthority", () => {
  it("canonicalizes host:port", () => {
    assert.equal(normalizeAuthority("STS.US-WEST-2.amazonaws.com.:443"), "sts.us-west-2.amazonaws.com:443");
    assert.equal(normalizeAuthority("sts.us-west-2.amazonaws.com"), "sts.us-west-2.amazonaws.com:443");
    assert.equal(normalizeAuthority("[::1]:8443"), "[::1]:8443");
    assert.equal(normalizeAuthority("a:b:c"), undefined);
    assert.equal(normalizeAuthority("host:70000"), undefined);
  });
});

describe("connect proxy in front of the local STS posing as sts.us-west-2.amazonaws.com", () => {
  let dir: string;
  let ca: TestCa;
  let moto: MotoServer;
  let verifier: StsVerifier;
  let proxy: ConnectProxy;
  let tokenUrl: URL;
  let userArn: string;
  const signedAt = new Date("2030-01-02T03:04:05Z");

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "eks-access-proxy-"));
    ca = await createTestCa(dir);
    const leaf = await issueLeafCertificate(ca, { name: "sts", dnsNames: [STS_HOST] });
    moto = await startMoto();
    verifier = await startStsVerifier({ motoUrl: moto.url, tls: { cert: leaf.certPem, key: leaf.keyPem }, now: () => new Date(signedAt.getTime() + 1_000) });
    proxy = await startConnectProxy({ routes: { [`${STS_HOST}:443`]: verifier.port } });
    const seed = await python<{ user: { arn: string; accessKeyId: string; secretAccessKey: string } }>("moto_seed.py", {
      endpointUrl: moto.url,
      user: { name: "carol", path: "/" },
    });
    userArn = seed.user.arn;
    // No endpoint override: the token names the real STS host, as the aws-iam-authenticator peer requires.
    const presigned = await python<{ url: string }>("presign_eks_token.py", {
      accessKeyId: seed.user.accessKeyId,
      secretAccessKey: seed.user.secretAccessKey,
      region: "us-west-2",
      clusterId: "test-cluster",
      now: signedAt.toISOString(),
    });
    tokenUrl = new URL(presigned.url);
  });

  after(async () => {
    await proxy?.stop();
    await verifier?.stop();
    await moto?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("tunnels a mapped host to the verifier, which answers the botocore-signed token with 200", async () => {
    assert.equal(tokenUrl.host, STS_HOST);
    const before = proxy.outboundConnections;
    const tunnel = await connectVia(proxy, `${STS_HOST}:443`);
    assert.equal(tunnel.status, 200);
    assert.ok(tunnel.socket);
    const reply = await httpsOverTunnel(tunnel.socket, STS_HOST, ca.certPem, `${tokenUrl.pathname}${tokenUrl.search}`, {
      "x-k8s-aws-id": "test-cluster",
      accept: "application/json",
    });
    assert.equal(reply.status, 200, reply.body);
    const body = JSON.parse(reply.body) as { GetCallerIdentityResponse: { GetCallerIdentityResult: { Arn: string; Account: string } } };
    assert.equal(body.GetCallerIdentityResponse.GetCallerIdentityResult.Arn, userArn);
    assert.equal(body.GetCallerIdentityResponse.GetCallerIdentityResult.Account, "123456789012");
    assert.equal(proxy.outboundConnections, before + 1);
    assert.deepEqual(proxy.events.at(-1), { target: `${STS_HOST}:443`, localPort: verifier.port, via: "route" });
  });

  it("keeps the cluster binding through the tunnel: another x-k8s-aws-id gets 403", async () => {
    const tunnel = await connectVia(proxy, `${STS_HOST}:443`);
    assert.ok(tunnel.socket);
    const reply = await httpsOverTunnel(tunnel.socket, STS_HOST, ca.certPem, `${tokenUrl.pathname}${tokenUrl.search}`, { "x-k8s-aws-id": "other-cluster" });
    assert.equal(reply.status, 403);
    assert.match(reply.body, /<Code>SignatureDoesNotMatch<\/Code>/);
  });

  it("by default refuses CONNECT to destinations that are not mapped, without opening any connection", async () => {
    const before = proxy.outboundConnections;
    for (const target of ["example.com:443", `${STS_HOST}:8443`, "sts.eu-west-1.amazonaws.com:443", `127.0.0.1:${verifier.port}`, `127.0.0.1:${moto.port}`]) {
      const answer = await connectVia(proxy, target);
      assert.equal(answer.status, 403, target);
      assert.deepEqual(proxy.events.at(-1), { target, localPort: undefined, via: "refused" });
    }
    assert.equal(proxy.outboundConnections, before);
  });

  it("refuses plain-HTTP proxy requests (absolute URI)", async () => {
    const before = proxy.outboundConnections;
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port: proxy.port, method: "GET", path: "http://example.com/", headers: { host: "example.com" }, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 403);
    assert.equal(proxy.outboundConnections, before);
  });

  it("rejects invalid routes at start", async () => {
    await assert.rejects(startConnectProxy({ routes: { "a:b:c": 1 } }), /invalid route destination/);
    await assert.rejects(startConnectProxy({ routes: { "x.example:443": 0 } }), /invalid local port/);
  });
});

describe("connect proxy: parseProxyUrl", () => {
  it("reads the user's HTTPS_PROXY as curl does (scheme optional, credentials percent-decoded)", () => {
    assert.deepEqual(parseProxyUrl("proxy.corp.example:3128"), { host: "proxy.corp.example", port: 3128, tls: false, authorization: undefined });
    assert.deepEqual(parseProxyUrl("http://proxy.corp.example"), { host: "proxy.corp.example", port: 80, tls: false, authorization: undefined });
    assert.deepEqual(parseProxyUrl("https://u%40corp:p%3Ass@[::1]:8443/"), {
      host: "::1",
      port: 8443,
      tls: true,
      authorization: `Basic ${Buffer.from("u@corp:p:ss").toString("base64")}`,
    });
    assert.throws(() => parseProxyUrl("socks5://127.0.0.1:1080"), /scheme socks5: is not supported/);
  });
});

/**
 * A user's shell after `sandbox env` has HTTPS_PROXY = this proxy: everything that is not the
 * sandbox's must still reach what it reached before. "The internet" here is a second HTTPS server
 * on 127.0.0.2, and "the corporate proxy" a CONNECT proxy on 127.0.0.1: no traffic leaves loopback.
 */
describe("connect proxy passing other destinations on, as the user's environment would", () => {
  let dir: string;
  let internet: Internet;
  let corporate: CorporateProxy;
  let sandboxHost: { port: number; stop(): Promise<void> };
  const proxies: ConnectProxy[] = [];

  const start = async (unrouted: Parameters<typeof startConnectProxy>[0]["unrouted"]) => {
    const p = await startConnectProxy({ routes: { [`${STS_HOST}:443`]: sandboxHost.port }, unrouted });
    proxies.push(p);
    return p;
  };

  /** curl through `proxy` to the "internet" server, trusting only its test CA. */
  const curl = async (proxy: ConnectProxy) => {
    const { stdout } = await exec("curl", ["-sS", "--max-time", "20", "--proxy", proxy.url, "--cacert", internet.ca.certPath, `${internet.url}/hello`], {
      env: { PATH: process.env["PATH"] },
    });
    return stdout;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "eks-access-proxy-pass-"));
    internet = await startInternet(dir);
    corporate = await startCorporateProxy({ requireAuth: true });
    // stands in for the sandbox gateway: any TCP server on loopback
    sandboxHost = await listenOnLoopback(createHttpServer((_req, res) => res.end("gateway\n")), "gateway stand-in");
  });

  after(async () => {
    for (const p of proxies) await p.stop();
    await sandboxHost?.stop();
    await corporate?.stop();
    await internet?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("no upstream proxy: tunnels other destinations directly", async () => {
    const proxy = await start({});
    assert.equal(await curl(proxy), "hello from the internet: /hello\n");
    assert.deepEqual(proxy.events.at(-1), { target: `127.0.0.2:${internet.port}`, localPort: undefined, via: "direct" });
    // the sandbox's own host names still go to the sandbox
    const routed = await connectVia(proxy, `${STS_HOST}:443`);
    assert.equal(routed.status, 200);
    routed.socket?.destroy();
    assert.deepEqual(proxy.events.at(-1), { target: `${STS_HOST}:443`, localPort: sandboxHost.port, via: "route" });
  });

  it("with the user's HTTPS_PROXY: CONNECTs through it, with the credentials of its URL", async () => {
    const proxy = await start({ upstreamProxy: `http://alice:s3cr%40t@127.0.0.1:${corporate.port}`, noProxy: "localhost,.internal.example" });
    const before = corporate.seen.length;
    assert.equal(await curl(proxy), "hello from the internet: /hello\n");
    assert.deepEqual(corporate.seen.slice(before), [{ target: `127.0.0.2:${internet.port}`, authorization: `Basic ${Buffer.from("alice:s3cr@t").toString("base64")}` }]);
    assert.equal(proxy.events.at(-1)?.via, "upstream");
    // sandbox routes never go to the corporate proxy
    const routed = await connectVia(proxy, `${STS_HOST}:443`);
    assert.equal(routed.status, 200);
    routed.socket?.destroy();
    assert.equal(corporate.seen.length, before + 1);
  });

  it("honours the user's NO_PROXY: those hosts go direct, not through the upstream", async () => {
    const proxy = await start({ upstreamProxy: `http://alice:x@127.0.0.1:${corporate.port}`, noProxy: "example.org, 127.0.0.2" });
    const before = corporate.seen.length;
    assert.equal(await curl(proxy), "hello from the internet: /hello\n");
    assert.equal(corporate.seen.length, before, "the corporate proxy saw nothing");
    assert.equal(proxy.events.at(-1)?.via, "direct");
  });

  it("passes the upstream's refusal on as it came (407), and answers 502 when the upstream is down", async () => {
    const proxy = await start({ upstreamProxy: `http://127.0.0.1:${corporate.port}` });
    const refused = await connectVia(proxy, `127.0.0.2:${internet.port}`);
    assert.equal(refused.status, 407);
    const dead = await listenOnLoopback(createHttpServer(), "dead");
    await dead.stop();
    const down = await start({ upstreamProxy: `http://127.0.0.1:${dead.port}` });
    assert.equal((await connectVia(down, `127.0.0.2:${internet.port}`)).status, 502);
  });
});
