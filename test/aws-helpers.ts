/** AWS-side test helpers: seed moto through the AWS CLI, verify a token at the local STS verifier. */
import { spawn } from "node:child_process";
import { request } from "node:http";
import { join } from "node:path";
import assert from "node:assert/strict";
import { repoRoot, run, runAsync, type Env, type RunResult } from "./helpers.js";

export { inMotoAccount } from "../src/sandbox/emulator/moto.js";

export function aws(env: Env, ...args: string[]): unknown {
  const r = run("aws", [...args, "--output", "json"], { env });
  assert.equal(r.status, 0, `aws ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : {};
}

export interface VerifiedIdentity {
  status: number;
  arn?: string;
  account?: string;
  userId?: string;
  code?: string;
}

/**
 * Presents a token to the local STS verifier as aws-iam-authenticator would: the token's URL, sent
 * with its own Host header, the cluster id header and Accept: application/json.
 */
export function verifyToken(verifierUrl: string, token: string, clusterId: string): Promise<VerifiedIdentity> {
  const url = new URL(Buffer.from(token.slice("k8s-aws-v1.".length), "base64url").toString("utf8"));
  const target = new URL(verifierUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        method: "GET",
        path: `${url.pathname}${url.search}`,
        headers: { host: url.host, "x-k8s-aws-id": clusterId, accept: "application/json" },
      },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => {
          const parsed = JSON.parse(body);
          const ok = parsed?.GetCallerIdentityResponse?.GetCallerIdentityResult;
          resolve(ok ? { status: res.statusCode ?? 0, arn: ok.Arn, account: ok.Account, userId: ok.UserId } : { status: res.statusCode ?? 0, code: parsed?.Error?.Code ?? parsed?.ErrorResponse?.Error?.Code });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/**
 * Runs AWS CLI commands (the arguments after `aws`) through the CLI's own entry point in
 * `processes` Python processes (test/sandbox/aws-cli-batch.py), each taking its share in order;
 * the results come back in the commands' order. For tables of dozens of calls that don't depend
 * on each other. Without a `python3` that imports awscli, each runs as its own `aws` process.
 */
export async function awsBatch(env: Env, commands: string[][], processes = 2): Promise<RunResult[]> {
  const probe = await runAsync("python3", ["-c", "import awscli"], env);
  if (probe.status !== 0) return Promise.all(commands.map((c) => runAsync("aws", c, env)));
  const size = Math.ceil(commands.length / processes);
  const shares = Array.from({ length: processes }, (_, i) => commands.slice(i * size, (i + 1) * size)).filter((s) => s.length > 0);
  return (await Promise.all(shares.map((share) => batchProcess(env, share)))).flat();
}

async function batchProcess(env: Env, commands: string[][]): Promise<RunResult[]> {
  const script = join(repoRoot, "test", "sandbox", "aws-cli-batch.py");
  const p = spawn("python3", [script], { env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  p.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  p.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  p.stdin.end(commands.map((c) => JSON.stringify(c)).join("\n") + "\n");
  const code = await new Promise<number | null>((resolve, reject) => {
    p.on("error", reject);
    p.on("close", resolve);
  });
  assert.equal(code, 0, `aws-cli-batch.py: ${stderr}`);
  const results = stdout.trim().split("\n").map((l) => JSON.parse(l) as RunResult);
  assert.equal(results.length, commands.length, `aws-cli-batch.py answered ${results.length} of ${commands.length}: ${stderr}`);
  return results;
}
