/** `whoami`: the caller identity and, for a role session, the exact role ARN to map. */
import { canonicalArn, parsePrincipal, ssoRole } from "../core/arn.js";
import type { CallerIdentity } from "../ports/sts.js";

export interface WhoamiOutput {
  arn: string;
  account: string;
  userId: string;
  type: string;
  /** the ARN to put in aws-auth / an access entry */
  mapArn: string;
  sessionName?: string | undefined;
  sso?: { permissionSet: string; roleName: string } | undefined;
  notes: string[];
}

export function describeIdentity(id: CallerIdentity): WhoamiOutput {
  const p = parsePrincipal(id.arn);
  const notes: string[] = [];
  const out: WhoamiOutput = { arn: id.arn, account: id.account, userId: id.userId, type: p?.type ?? "unknown", mapArn: canonicalArn(id.arn), notes };
  if (p?.type === "assumed-role") {
    out.sessionName = p.sessionName;
    notes.push(`you are a session of role ${p.roleName}: map the role ARN ${out.mapArn} (mapRoles), not the session ARN`);
    const sso = ssoRole(p.roleName);
    if (sso) {
      out.sso = { permissionSet: sso.permissionSet, roleName: p.roleName };
      notes.push(
        `this is an IAM Identity Center role for permission set "${sso.permissionSet}": map it without the /aws-reserved/sso.amazonaws.com/ path; its suffix ${sso.suffix} differs per account and changes if the assignment is re-created`,
      );
    }
  } else if (p?.type === "user") {
    notes.push(`you are an IAM user: map ${out.mapArn} under mapUsers (roles are preferred for people)`);
  } else if (p?.type === "root") {
    notes.push("you are the account root user: use an IAM role instead");
  }
  return out;
}

export function renderWhoami(o: WhoamiOutput): string {
  const rows: Array<[string, string]> = [
    ["Arn", o.arn],
    ["Account", o.account],
    ["UserId", o.userId],
    ["Type", o.type],
    ["Map this ARN", o.mapArn],
  ];
  if (o.sessionName) rows.push(["Session", o.sessionName]);
  if (o.sso) rows.push(["SSO permission set", o.sso.permissionSet]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n") + "\n" + o.notes.map((n) => `note: ${n}\n`).join("");
}
