import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect, createServer, type Server, type TLSSocket } from "node:tls";
import { createTestCa, issueLeafCertificate, verifiesAgainst, type PemPair, type TestCa } from "../../src/sandbox/emulator/tls.js";

const STS_HOST = "sts.us-west-2.amazonaws.com";

/** TLS handshake to 127.0.0.1:port trusting only `caPem`; resolves with the outcome. */
function handshake(port: number, caPem: string, servername: string | undefined): Promise<{ ok: true } | { ok: false; code: string }> {
  return new Promise((resolve) => {
    const socket: TLSSocket = connect({ host: "127.0.0.1", port, ca: caPem, ...(servername !== undefined ? { servername } : {}) }, () => {
      socket.end();
      resolve({ ok: true });
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      socket.destroy();
      resolve({ ok: false, code: err.code ?? err.message });
    });
  });
}

describe("test PKI made with openssl", () => {
  let dir: string;
  let ca: TestCa;
  let leaf: PemPair;
  let otherCa: TestCa;
  let server: Server;
  let port: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "eks-access-tls-"));
    ca = await createTestCa(dir);
    leaf = await issueLeafCertificate(ca, { name: "sts", dnsNames: [STS_HOST, "localhost"], ipAddresses: ["127.0.0.1"] });
    otherCa = await createTestCa(join(dir, "other"), { commonName: "unrelated CA" });
    server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    assert.ok(address !== null && typeof address === "object");
    port = address.port;
  });

  after(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("writes PEM files, private keys 0600", async () => {
    assert.match(ca.certPem, /^-----BEGIN CERTIFICATE-----\n/);
    assert.match(leaf.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    for (const key of [ca.keyPath, leaf.keyPath]) {
      assert.equal((await stat(key)).mode & 0o777, 0o600, key);
    }
    assert.equal(ca.certPath, join(dir, "ca.crt"));
    assert.equal(leaf.certPath, join(dir, "sts.crt"));
  });

  it("makes a CA certificate and a leaf with the requested SANs, signed by it", () => {
    const caCert = new X509Certificate(ca.certPem);
    const leafCert = new X509Certificate(leaf.certPem);
    assert.equal(caCert.ca, true);
    assert.equal(leafCert.ca, false);
    assert.equal(leafCert.subjectAltName, `DNS:${STS_HOST}, DNS:localhost, IP Address:127.0.0.1`);
    assert.ok(leafCert.checkIssued(caCert));
    assert.ok(leafCert.verify(caCert.publicKey));
    assert.equal(leafCert.verify(new X509Certificate(otherCa.certPem).publicKey), false);
    assert.equal(leafCert.checkHost(STS_HOST), STS_HOST);
    assert.equal(leafCert.checkIP("127.0.0.1"), "127.0.0.1");
    assert.equal(leafCert.checkHost("sts.eu-west-1.amazonaws.com"), undefined);
  });

  it("verifies with openssl against its CA only", async () => {
    assert.equal(await verifiesAgainst(ca, leaf.certPath), true);
    assert.equal(await verifiesAgainst(otherCa, leaf.certPath), false);
  });

  it("serves TLS that node accepts for the SAN names and IP, trusting only the test CA", async () => {
    assert.deepEqual(await handshake(port, ca.certPem, STS_HOST), { ok: true });
    assert.deepEqual(await handshake(port, ca.certPem, undefined), { ok: true }, "IP SAN 127.0.0.1");
    assert.deepEqual(await handshake(port, ca.certPem, "sts.eu-west-1.amazonaws.com"), { ok: false, code: "ERR_TLS_CERT_ALTNAME_INVALID" });
    const untrusted = await handshake(port, otherCa.certPem, STS_HOST);
    assert.equal(untrusted.ok, false);
  });

  it("refuses names that are not DNS names or IP addresses", async () => {
    await assert.rejects(issueLeafCertificate(ca, { name: "bad", dnsNames: ["a.example\nDNS:evil"] }), /invalid DNS name/);
    await assert.rejects(issueLeafCertificate(ca, { name: "bad", ipAddresses: ["999.1.1.1"] }), /invalid IP address/);
    await assert.rejects(issueLeafCertificate(ca, { name: "bad" }), /at least one DNS name or IP address/);
  });
});
