/** Shared test helpers: run the built CLI, temp dirs, frozen clocks via libfaketime. */
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
export const cliPath = join(repoRoot, "bin", "eks-access");

export type Env = Record<string, string | undefined>;

/** A clean environment: no AWS settings leak in from the machine running the tests. */
export function baseEnv(extra: Env = {}): Env {
  const keep = ["PATH", "LANG", "TZ", "SYSTEMROOT"];
  const env: Env = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k];
  return { ...env, HOME: "/nonexistent-home", AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null", AWS_EC2_METADATA_DISABLED: "true", ...extra };
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

function clean(env: Env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv;
}

/** Runs a command, optionally under a frozen libfaketime clock ("2023-04-28 00:00:00"). */
export function run(cmd: string, args: string[], opts: { env: Env; frozenAt?: string; input?: string; cwd?: string }): RunResult {
  const [file, argv] = opts.frozenAt ? ["faketime", ["-f", opts.frozenAt, cmd, ...args]] : [cmd, args];
  const r: SpawnSyncReturns<string> = spawnSync(file, argv, {
    env: clean(opts.env),
    encoding: "utf8",
    input: opts.input ?? "",
    cwd: opts.cwd ?? repoRoot,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export const runCli = (args: string[], opts: { env: Env; frozenAt?: string; input?: string; cwd?: string }): RunResult => run(cliPath, args, opts);

export function runAsync(cmd: string, args: string[], env: Env): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: clean(env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

export function tempDir(prefix = "eks-access-test-"): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Decodes the URL inside an ExecCredential's token. */
export function tokenUrl(execCredentialJson: string): URL {
  const token = JSON.parse(execCredentialJson).status.token as string;
  const b64 = token.slice("k8s-aws-v1.".length);
  return new URL(Buffer.from(b64, "base64url").toString("utf8"));
}
