/**
 * Minimal PKI for the Kubernetes test peers, made with the `openssl` CLI (OpenSSL 3):
 * a CA, leaf certificates signed by it, and a key pair for service-account tokens.
 * Every file is written under the directory given; nothing is kept in memory.
 */
import { execFile } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface CertFiles {
  certFile: string;
  keyFile: string;
}

export interface LeafOptions {
  /** DNS subjectAltNames. */
  dns?: string[];
  /** IP subjectAltNames. */
  ips?: string[];
  /** serverAuth (default), clientAuth or both. */
  usage?: Array<"serverAuth" | "clientAuth">;
  days?: number;
}

/** Runs `openssl` and turns a failure into an error naming the command and its stderr. */
export async function openssl(args: string[]): Promise<string> {
  try {
    const { stdout } = await run("openssl", args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args.join(" ")} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A self-signed CA (ECDSA P-256) at `<dir>/<name>.crt` / `<dir>/<name>.key`. */
export async function createCa(dir: string, name: string, commonName = `${name}-ca`, days = 3650): Promise<CertFiles> {
  await mkdir(dir, { recursive: true });
  const files = { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
  await openssl([
    "req", "-x509", ...EC_KEY,
    "-keyout", files.keyFile, "-out", files.certFile,
    "-subj", `/CN=${commonName}`, "-days", String(days),
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]);
  return files;
}

/** A leaf certificate (ECDSA P-256) signed by `ca`, at `<dir>/<name>.crt` / `<dir>/<name>.key`. */
export async function createLeaf(dir: string, name: string, ca: CertFiles, opts: LeafOptions = {}): Promise<CertFiles> {
  await mkdir(dir, { recursive: true });
  const files = { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, leafExtensions(opts));
  await openssl(["req", "-new", ...EC_KEY, "-keyout", files.keyFile, "-out", csr, "-subj", `/CN=${name}`]);
  await openssl([
    "x509", "-req", "-in", csr, "-CA", ca.certFile, "-CAkey", ca.keyFile, "-CAcreateserial",
    "-out", files.certFile, "-days", String(opts.days ?? 3650), "-sha256", "-extfile", ext,
  ]);
  await Promise.all([rm(csr, { force: true }), rm(ext, { force: true })]);
  return files;
}

function leafExtensions(opts: LeafOptions): string {
  const san = [...(opts.dns ?? []).map((d) => `DNS:${d}`), ...(opts.ips ?? []).map((ip) => `IP:${ip}`)];
  const lines = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage=${(opts.usage ?? ["serverAuth"]).join(",")}`,
  ];
  if (san.length > 0) lines.push(`subjectAltName=${san.join(",")}`);
  return lines.join("\n") + "\n";
}

export interface KeyPairFiles {
  privateKeyFile: string;
  publicKeyFile: string;
}

/** An RSA-2048 key pair (PEM) at `<dir>/<name>.key` / `<dir>/<name>.pub`, e.g. for service-account tokens. */
export async function createRsaKeyPair(dir: string, name: string): Promise<KeyPairFiles> {
  await mkdir(dir, { recursive: true });
  const files = { privateKeyFile: join(dir, `${name}.key`), publicKeyFile: join(dir, `${name}.pub`) };
  await openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", files.privateKeyFile]);
  await openssl(["pkey", "-in", files.privateKeyFile, "-pubout", "-out", files.publicKeyFile]);
  return files;
}
