/**
 * Certificates made with the `openssl` CLI (ECDSA P-256, SHA-256; private keys written 0600):
 *  - `serve`'s self-signed serving certificate (its own CA, as aws-iam-authenticator makes one);
 *  - the sandbox's throwaway PKI: a CA and leaf certificates whose subjectAltNames hold DNS names
 *    and IP addresses, e.g. to let the local STS pose as sts.<region>.amazonaws.com for clients
 *    that trust the test CA (SSL_CERT_FILE, AWS_CA_BUNDLE, NODE_EXTRA_CA_CERTS).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export interface PemPair {
  certPath: string;
  keyPath: string;
  certPem: string;
  keyPem: string;
}

export interface TestCa extends PemPair {
  dir: string;
  commonName: string;
}

export interface CaOptions {
  /** File name stem: <dir>/<name>.crt and <dir>/<name>.key (default "ca"). */
  name?: string;
  commonName?: string;
  /** Validity in days (default 7). */
  days?: number;
}

export interface LeafOptions {
  /** File name stem in the CA's directory: <name>.crt / <name>.key. */
  name: string;
  dnsNames?: string[];
  /** IPv4/IPv6 literals, e.g. "127.0.0.1". */
  ipAddresses?: string[];
  /** Default: the first DNS name, else the name. */
  commonName?: string;
  /** Validity in days (default 7). */
  days?: number;
}

const DEFAULT_DAYS = 7;

async function openssl(args: string[]): Promise<void> {
  try {
    await execFileAsync("openssl", args, { maxBuffer: 4 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0] ?? ""} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** A P-256 private key at `path`, created 0600 before openssl writes into it. */
async function generateKey(path: string, algorithm: "EC" | "RSA" = "EC"): Promise<void> {
  await writeFile(path, "", { mode: 0o600 });
  await chmod(path, 0o600);
  const opt = algorithm === "EC" ? "ec_paramgen_curve:P-256" : "rsa_keygen_bits:2048";
  await openssl(["genpkey", "-algorithm", algorithm, "-pkeyopt", opt, "-out", path]);
  await chmod(path, 0o600);
}

/**
 * Writes an openssl request config (`[req]` without prompts plus `reqLines`, a `[dn]` of just the
 * CN, then the extension section), runs `f`, then removes the config and the `extra` files.
 */
async function withRequestConfig(config: string, cfg: { commonName: string; reqLines?: string[]; extensions: string[] }, f: () => Promise<void>, extra: string[] = []): Promise<void> {
  await writeFile(config, ["[req]", "distinguished_name = dn", "prompt = no", ...(cfg.reqLines ?? []), "[dn]", `CN = ${cfg.commonName}`, ...cfg.extensions, ""].join("\n"));
  try {
    await f();
  } finally {
    await Promise.all([config, ...extra].map((file) => rm(file, { force: true })));
  }
}

/** Refuses values that could break out of an openssl config line. */
function safeConfigValue(kind: string, value: string): string {
  if (!/^[A-Za-z0-9 *._:@-]+$/.test(value)) throw new Error(`${kind} ${JSON.stringify(value)} contains characters not allowed in a test certificate`);
  return value;
}

function checkDnsName(name: string): string {
  if (!/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(name)) {
    throw new Error(`invalid DNS name for a certificate: ${JSON.stringify(name)}`);
  }
  return name;
}

function checkIp(ip: string): string {
  if (isIP(ip) === 0) throw new Error(`invalid IP address for a certificate: ${JSON.stringify(ip)}`);
  return ip;
}

async function readPair(certPath: string, keyPath: string): Promise<PemPair> {
  const [certPem, keyPem] = await Promise.all([readFile(certPath, "utf8"), readFile(keyPath, "utf8")]);
  return { certPath, keyPath, certPem, keyPem };
}

function randomSerial(): string {
  // positive 127-bit serial
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return `0x${bytes.toString("hex")}`;
}

/** A self-signed CA certificate and key in `dir` (created if missing). */
export async function createTestCa(dir: string, opts: CaOptions = {}): Promise<TestCa> {
  const name = opts.name ?? "ca";
  const commonName = safeConfigValue("commonName", opts.commonName ?? "eks-access test CA");
  await mkdir(dir, { recursive: true });
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  const config = join(dir, `${name}.cnf`);
  await generateKey(keyPath);
  const extensions = ["[v3_ca]", "basicConstraints = critical,CA:TRUE,pathlen:0", "keyUsage = critical,keyCertSign,cRLSign,digitalSignature", "subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid:always"];
  await withRequestConfig(config, { commonName, reqLines: ["x509_extensions = v3_ca"], extensions }, () =>
    openssl(["req", "-x509", "-new", "-config", config, "-key", keyPath, "-out", certPath, "-days", String(opts.days ?? DEFAULT_DAYS), "-sha256", "-set_serial", randomSerial()]),
  );
  return { dir, commonName, ...(await readPair(certPath, keyPath)) };
}

/** A server/client leaf certificate signed by `ca`, written next to the CA's files. */
export async function issueLeafCertificate(ca: TestCa, opts: LeafOptions): Promise<PemPair> {
  const dnsNames = (opts.dnsNames ?? []).map(checkDnsName);
  const ips = (opts.ipAddresses ?? []).map(checkIp);
  if (dnsNames.length + ips.length === 0) throw new Error("a leaf certificate needs at least one DNS name or IP address");
  if (!/^[A-Za-z0-9._-]+$/.test(opts.name)) throw new Error(`invalid certificate file name ${JSON.stringify(opts.name)}`);
  const commonName = safeConfigValue("commonName", opts.commonName ?? dnsNames[0] ?? opts.name);
  const certPath = join(ca.dir, `${opts.name}.crt`);
  const keyPath = join(ca.dir, `${opts.name}.key`);
  const csr = join(ca.dir, `${opts.name}.csr`);
  const config = join(ca.dir, `${opts.name}.cnf`);
  const san = [...dnsNames.map((d) => `DNS:${d}`), ...ips.map((ip) => `IP:${ip}`)].join(",");
  await generateKey(keyPath);
  const extensions = ["[v3_leaf]", "basicConstraints = critical,CA:FALSE", "keyUsage = critical,digitalSignature,keyEncipherment", "extendedKeyUsage = serverAuth,clientAuth", `subjectAltName = ${san}`, "subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid"];
  await withRequestConfig(config, { commonName, extensions }, async () => {
    await openssl(["req", "-new", "-config", config, "-key", keyPath, "-out", csr]);
    await openssl([
      "x509", "-req", "-in", csr, "-CA", ca.certPath, "-CAkey", ca.keyPath, "-set_serial", randomSerial(),
      "-days", String(opts.days ?? DEFAULT_DAYS), "-sha256", "-extfile", config, "-extensions", "v3_leaf", "-out", certPath,
    ]);
  }, [csr]);
  return readPair(certPath, keyPath);
}

/** `openssl verify` of a leaf against the CA; resolves to true when it verifies. */
export async function verifiesAgainst(ca: Pick<PemPair, "certPath">, leafCertPath: string): Promise<boolean> {
  try {
    await execFileAsync("openssl", ["verify", "-no-CApath", "-no-CAstore", "-x509_strict", "-purpose", "sslserver", "-CAfile", ca.certPath, leafCertPath]);
    return true;
  } catch {
    return false;
  }
}

export interface KeyPairFiles {
  privateKeyFile: string;
  publicKeyFile: string;
}

/** An RSA-2048 key pair (PEM, private key 0600) at `<dir>/<name>.key` / `.pub`, e.g. for service-account tokens. */
export async function createRsaKeyPair(dir: string, name: string): Promise<KeyPairFiles> {
  await mkdir(dir, { recursive: true });
  const files = { privateKeyFile: join(dir, `${name}.key`), publicKeyFile: join(dir, `${name}.pub`) };
  await generateKey(files.privateKeyFile, "RSA");
  await openssl(["pkey", "-in", files.privateKeyFile, "-pubout", "-out", files.publicKeyFile]);
  return files;
}

export interface ServingCertificateOptions {
  certPath: string;
  keyPath: string;
  /** the listen address: in the subjectAltName unless it is 0.0.0.0 / :: */
  address: string;
  /** the name clients use (an IP literal or a DNS name), in the subjectAltName too */
  hostname: string;
  /** validity in days (default 3650) */
  days?: number;
}

/**
 * A self-signed serving certificate that is its own CA (what aws-iam-authenticator generates in
 * its state directory: CN aws-iam-authenticator, CA:TRUE, serverAuth, the address and hostname as
 * subjectAltNames), so the webhook kubeconfig trusts exactly this certificate. Key 0600, certificate 0644.
 */
export async function createServingCertificate(o: ServingCertificateOptions): Promise<PemPair> {
  const names = [...new Set([o.address, o.hostname].filter((n) => n !== "" && n !== "0.0.0.0" && n !== "::"))];
  if (names.length === 0) throw new Error("a serving certificate needs a hostname or a specific address");
  const san = names.map((n) => (isIP(n) ? `IP:${checkIp(n)}` : `DNS:${checkDnsName(n)}`)).join(",");
  await mkdir(dirname(o.keyPath), { recursive: true });
  await mkdir(dirname(o.certPath), { recursive: true });
  await generateKey(o.keyPath);
  const config = `${o.certPath}.cnf`;
  const extensions = ["[v3_serving]", "basicConstraints = critical,CA:TRUE", "keyUsage = critical,digitalSignature,keyEncipherment,keyCertSign", "extendedKeyUsage = serverAuth", `subjectAltName = ${san}`, "subjectKeyIdentifier = hash"];
  await withRequestConfig(config, { commonName: "aws-iam-authenticator", reqLines: ["x509_extensions = v3_serving"], extensions }, () =>
    openssl(["req", "-x509", "-new", "-config", config, "-key", o.keyPath, "-out", o.certPath, "-days", String(o.days ?? 3650), "-sha256", "-set_serial", randomSerial()]),
  );
  await chmod(o.certPath, 0o644);
  return readPair(o.certPath, o.keyPath);
}
