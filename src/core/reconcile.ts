/**
 * `access reconcile`, planned purely: which grants stopped reaching their principal and what
 * brings them back, from the cluster's aws-auth rows and access entries and what IAM says now.
 *
 *  - A permission-set role whose suffix changed (the assignment was re-created, so IAM Identity
 *    Center deleted AWSReservedSSO_<PS>_<old> and made AWSReservedSSO_<PS>_<new> in that account):
 *    aws-auth rows and access entries naming the old role are pointed at the new one, keeping
 *    their groups and policies. A username that spells the old role's name (the defaults:
 *    `<role>:{{SessionName}}`, EKS's `…:assumed-role/<role>/{{SessionName}}`) follows the role;
 *    any other username is kept. An access entry for the new role is created first, the old one
 *    deleted last (an entry cannot be renamed), so nothing is lost if it stops halfway.
 *  - An access entry whose principal was deleted and re-created (core/principal.ts entryBinding):
 *    EKS keeps the old unique id, so the entry is deleted and created again with the same
 *    username, groups, type and policy associations (EKS then binds the new id).
 *  - A grant whose principal is gone with nothing to replace it is reported, not changed.
 * Every plan is empty once applied: reconcile is idempotent.
 */
import { parsePrincipal, ssoRole } from "./arn.js";
import { planGrant, type AccessEntryState, type AccessEntryStep } from "./access-entry-plan.js";
import type { AwsAuthRow } from "./mapping/aws-auth.js";
import { defaultAccessEntryUsername, entryBinding, isSsoRoleOf, type PrincipalRef } from "./principal.js";

/** An IAM role or user as IAM has it now (ports/access.ts IamPrincipal is one). */
export interface IamNow extends PrincipalRef {
  /** "/" when none */
  path: string;
  /** ISO 8601 */
  createDate: string;
}

/** What IAM said, keyed as asked. */
export interface ReconcileFacts {
  /** the principal each ARN names now (undefined: none) */
  principals: ReadonlyMap<string, IamNow | undefined>;
  /** the IAM Identity Center roles of each account that was asked about */
  ssoRoles: ReadonlyMap<string, readonly IamNow[]>;
}

export interface SsoReplacement {
  permissionSet: string;
  account: string;
  /** the new role (path included) */
  role: IamNow;
}

export type ReconcileFinding =
  | { kind: "sso-role-replaced"; source: "aws-auth" | "access-entry"; arn: string; replacement: SsoReplacement; message: string }
  | { kind: "principal-recreated"; source: "access-entry"; arn: string; message: string }
  | { kind: "principal-gone"; source: "aws-auth" | "access-entry"; arn: string; message: string };

export interface EntryReconcile {
  finding: ReconcileFinding;
  steps: AccessEntryStep[];
}

export interface AwsAuthRename {
  finding: ReconcileFinding & { kind: "sso-role-replaced" };
  /** the row ARN as written, the ARN to write (roles: no path, as aws-auth compares them) */
  from: string;
  to: string;
  /** maps a row's username to the one it gets (the old role name replaced by the new) */
  username(current: string | undefined): string | undefined;
}

/** aws-auth rows that name an IAM Identity Center role: the ARNs to look up. */
export function ssoRowArns(rows: readonly AwsAuthRow[]): string[] {
  const arns = rows.filter((r) => r.kind === "mapRoles" && r.arn !== undefined && isSsoRoleArn(r.arn)).map((r) => r.arn!);
  return [...new Set(arns)];
}

const roleName = (arn: string): string => {
  const p = parsePrincipal(arn);
  return p?.type === "role" ? p.name : "";
};

function isSsoRoleArn(arn: string): boolean {
  const p = parsePrincipal(arn);
  return p?.type === "role" && ssoRole(p.name) !== undefined;
}

/** The accounts whose IAM Identity Center roles must be listed: those of SSO roles IAM no longer has. */
export function accountsToList(arns: readonly string[], principals: ReconcileFacts["principals"]): string[] {
  const accounts = arns.filter((a) => isSsoRoleArn(a) && principals.has(a) && principals.get(a) === undefined).map((a) => parsePrincipal(a)!.account);
  return [...new Set(accounts)].sort();
}

/** The role that replaced a deleted AWSReservedSSO_ role: the one role of its permission set in its account now. */
function replacementOf(arn: string, facts: ReconcileFacts): SsoReplacement | string {
  const p = parsePrincipal(arn);
  const sso = p?.type === "role" ? ssoRole(p.name) : undefined;
  if (!p || p.type !== "role" || !sso) return "it is not an IAM Identity Center role";
  const roles = (facts.ssoRoles.get(p.account) ?? []).filter((r) => isSsoRoleOf(r, sso.permissionSet));
  if (roles.length === 1) return { permissionSet: sso.permissionSet, account: p.account, role: roles[0]! };
  if (roles.length === 0) return `permission set ${sso.permissionSet} has no role in account ${p.account} any more (not assigned there now)`;
  return `account ${p.account} has ${roles.length} roles for permission set ${sso.permissionSet} (${roles.map((r) => r.name).join(", ")}): grant the right one with --principal`;
}

const renameIn = (from: string, to: string) => (u: string | undefined): string | undefined => (u !== undefined && u.includes(from) ? u.split(from).join(to) : undefined);

/** aws-auth rows of deleted permission-set roles that have a successor: what to rename, and what to report. */
export function planAwsAuthReconcile(rows: readonly AwsAuthRow[], facts: ReconcileFacts): { renames: AwsAuthRename[]; gone: ReconcileFinding[] } {
  const renames: AwsAuthRename[] = [];
  const gone: ReconcileFinding[] = [];
  for (const arn of ssoRowArns(rows)) {
    if (!facts.principals.has(arn) || facts.principals.get(arn) !== undefined) continue;
    const r = replacementOf(arn, facts);
    if (typeof r === "string") {
      gone.push({ kind: "principal-gone", source: "aws-auth", arn, message: `role ${arn} no longer exists and ${r}` });
      continue;
    }
    const oldName = roleName(arn);
    const to = `arn:${r.role.partition}:iam::${r.role.account}:role/${r.role.name}`;
    const finding = { kind: "sso-role-replaced" as const, source: "aws-auth" as const, arn, replacement: r, message: `role ${oldName} of permission set ${r.permissionSet} was replaced by ${r.role.name} in ${r.account} (the assignment was re-created)` };
    renames.push({ finding, from: arn, to, username: renameIn(oldName, r.role.name) });
  }
  return { renames, gone };
}

/** The steps that give `newArn` what `old` holds: its groups, username and policies (create, or complete an existing entry). */
function carryOver(old: AccessEntryState, newArn: string, username: string | undefined, current: AccessEntryState | undefined): AccessEntryStep[] {
  const standard = old.type === "STANDARD";
  if (!current) {
    return [
      { op: "create", principalArn: newArn, username: standard ? username : undefined, kubernetesGroups: standard ? [...old.kubernetesGroups] : [], ...(standard ? {} : { type: old.type }) },
      ...old.policies.map((p): AccessEntryStep => ({ op: "associate", principalArn: newArn, policyArn: p.policyArn, scope: p.accessScope })),
    ];
  }
  const steps = [...planGrant(current, { principalArn: newArn, groups: standard ? old.kubernetesGroups : [] }).steps];
  for (const policy of old.policies) steps.push(...planGrant(current, { principalArn: newArn, groups: [], policy }).steps);
  return steps;
}

/** An access entry's reconcile plan, or undefined when it still reaches its principal; `entryOf` answers the cluster's current entry of an ARN. */
export function planEntryReconcile(entry: AccessEntryState, facts: ReconcileFacts, entryOf: (arn: string) => AccessEntryState | undefined): EntryReconcile | undefined {
  const arn = entry.principalArn;
  const now = facts.principals.get(arn);
  // without the entry's creation time a re-created principal cannot be told apart: only a missing one counts then
  const binding = entryBinding({ principalArn: arn, createdAt: entry.createdAt ?? now?.createDate ?? "" }, now);
  if (binding.bound) return undefined;
  const p = parsePrincipal(arn);
  if (binding.why === "recreated" && now && p && (p.type === "role" || p.type === "user")) {
    const keepUsername = entry.username !== defaultAccessEntryUsername({ type: p.type, arn, partition: p.partition, account: p.account, name: p.name }) ? entry.username : undefined;
    return {
      finding: { kind: "principal-recreated", source: "access-entry", arn, message: binding.message },
      steps: [{ op: "delete", principalArn: arn }, ...carryOver(entry, arn, keepUsername, undefined)],
    };
  }
  if (binding.why === "missing" && isSsoRoleArn(arn)) {
    const r = replacementOf(arn, facts);
    if (typeof r !== "string") {
      const oldName = roleName(arn);
      const renamed = renameIn(oldName, r.role.name)(entry.username);
      const username = renamed === undefined ? entry.username : renamed === defaultAccessEntryUsername(r.role) ? undefined : renamed;
      return {
        finding: { kind: "sso-role-replaced", source: "access-entry", arn, replacement: r, message: `role ${oldName} of permission set ${r.permissionSet} was replaced by ${r.role.name} in ${r.account} (the assignment was re-created)` },
        steps: [...carryOver(entry, r.role.arn, username, entryOf(r.role.arn)), { op: "delete", principalArn: arn }],
      };
    }
    return { finding: { kind: "principal-gone", source: "access-entry", arn, message: `${binding.message} and ${r}` }, steps: [] };
  }
  return { finding: { kind: "principal-gone", source: "access-entry", arn, message: binding.message }, steps: [] };
}
