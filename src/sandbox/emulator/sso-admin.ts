/**
 * The one IAM Identity Center gap of moto 5.2.1 the sandbox's front fills: moto ignores
 * ProvisionPermissionSet's TargetId, and ListAccountsForProvisionedPermissionSet answers at most
 * the instance's own account. On AWS a permission set is provisioned in every account it is
 * assigned in (CreateAccountAssignment provisions it), so the answer here is moto's plus every
 * account holding an assignment of that permission set in that instance (moto's state dump keeps
 * them, with their target account). Everything else of sso-admin is moto's own.
 */
import type { IncomingHttpHeaders, ServerResponse } from "node:http";

const TARGET = "SWBExternalService.ListAccountsForProvisionedPermissionSet";
/** what moto needs to route and attribute the call (the signer's key gives the account) */
const FORWARDED = ["authorization", "content-type", "x-amz-target", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "x-moto-account-id"];

export const isProvisionedAccountsCall = (method: string | undefined, headers: IncomingHttpHeaders): boolean => method === "POST" && headers["x-amz-target"] === TARGET;

interface Assignment {
  instanceArn: string;
  permissionSetArn: string;
  targetId: string;
}

/** moto's account assignments (every account's), from its state dump. */
async function assignments(motoUrl: string): Promise<Assignment[]> {
  const res = await fetch(`${motoUrl}/moto-api/data.json`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`moto state dump answered HTTP ${res.status}`);
  const dump = (await res.json()) as { ssoadmin?: { AccountAssignment?: unknown } };
  const list = dump.ssoadmin?.AccountAssignment;
  if (!Array.isArray(list)) return [];
  return list.flatMap((a: Record<string, unknown>) =>
    typeof a["instance_arn"] === "string" && typeof a["permission_set_arn"] === "string" && typeof a["target_id"] === "string"
      ? [{ instanceArn: a["instance_arn"], permissionSetArn: a["permission_set_arn"], targetId: a["target_id"] }]
      : [],
  );
}

/** Answers the call: moto's accounts (its errors as they are) plus the assigned accounts. */
export async function serveProvisionedAccounts(res: ServerResponse, motoUrl: string, headers: IncomingHttpHeaders, body: Buffer): Promise<void> {
  const forwarded: Record<string, string> = {};
  for (const h of FORWARDED) {
    const v = headers[h];
    if (typeof v === "string") forwarded[h] = v;
  }
  const upstream = await fetch(`${motoUrl}/`, { method: "POST", headers: forwarded, body: new Uint8Array(body), signal: AbortSignal.timeout(30_000) });
  const text = await upstream.text();
  const contentType = upstream.headers.get("content-type") ?? "application/x-amz-json-1.1";
  let answer = text;
  if (upstream.status === 200) {
    const request = JSON.parse(body.toString("utf8") || "{}") as { InstanceArn?: string; PermissionSetArn?: string };
    const own = (JSON.parse(text) as { AccountIds?: string[] }).AccountIds ?? [];
    const assigned = (await assignments(motoUrl)).filter((a) => a.instanceArn === request.InstanceArn && a.permissionSetArn === request.PermissionSetArn).map((a) => a.targetId);
    answer = JSON.stringify({ AccountIds: [...new Set([...own, ...assigned])].sort() });
  }
  res.writeHead(upstream.status, { "content-type": contentType, "content-length": Buffer.byteLength(answer), "x-amzn-requestid": upstream.headers.get("x-amzn-requestid") ?? "eks-front" });
  res.end(answer);
}
