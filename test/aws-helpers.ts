/** AWS-side test helpers: seed moto through the AWS CLI, verify a token at the local STS verifier. */
import { request } from "node:http";
import assert from "node:assert/strict";
import { run, type Env } from "./helpers.js";

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
