/**
 * The problems of an aws-auth ConfigMap, each with its cause and the exact command that fixes it
 * (pure). What "never matches" means comes from aws-iam-authenticator v0.6.13: the caller's
 * GetCallerIdentity ARN is canonicalised (pkg/arn Canonicalize: a session becomes
 * `arn:<p>:iam::<acct>:role/<name>`, without any path) and lower-cased, then looked up among the
 * lower-cased row ARNs (pkg/mapper/configmap: ConfigMapMapper.Map, MapStore.saveMap).
 */
import { isPermissionSetArn, isSsoRolePath, parseArn, parsePrincipal, roleArnWithoutPath } from "../arn.js";
import { type AwsAuthIssue, type AwsAuthIssueCode, type AwsAuthRow, type ParsedAwsAuth } from "./aws-auth.js";
import { effectiveMappings } from "./resolve.js";
import { templateProblem } from "./templates.js";

export type Severity = "error" | "warning" | "info";

export type ProblemCode =
  | AwsAuthIssueCode
  | "missing-arn"
  | "malformed-arn"
  | "assumed-role-arn"
  | "sso-role-path"
  | "role-path"
  | "permission-set-arn"
  | "identity-center-principal"
  | "root-user"
  | "wrong-key"
  | "duplicate-arn"
  | "unknown-template"
  | "missing-username"
  | "reserved-username"
  | "odd-group"
  | "reserved-group"
  | "node-role-groups"
  | "system-masters"
  | "map-accounts"
  | "bad-account";

export interface AwsAuthProblem {
  code: ProblemCode;
  severity: Severity;
  /** mapRoles, mapUsers, mapAccounts (or the mis-cased data key) */
  key: string;
  /** 1-based line within that key's string */
  line: number;
  arn?: string | undefined;
  /** one line: what is wrong and what it does */
  message: string;
  /** one command that fixes it */
  fix: string;
}

export interface CheckOptions {
  /** the cluster name the fix commands name */
  cluster: string;
  region?: string | undefined;
}

const ISSUE_SEVERITY: Record<AwsAuthIssueCode, Severity> = {
  "yaml-syntax": "error",
  "not-a-list": "error",
  "row-not-a-map": "error",
  "field-type": "error",
  "duplicate-field": "warning",
  "unknown-field": "warning",
  "arn-key-mismatch": "error",
  "top-key-case": "error",
};

/** Groups a mapping may name although they start with system: (masters and the node groups). */
const KNOWN_SYSTEM_GROUPS = new Set(["system:masters", "system:bootstrappers", "system:nodes", "system:node-proxier"]);
const NODE_USERNAMES = new Set(["system:node:{{EC2PrivateDNSName}}", "system:node:{{SessionName}}"]);

/** A shell word: quoted only when it needs to be. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const EDIT = "kubectl -n kube-system edit configmap aws-auth";

/** A username that tells sessions apart in audit logs: `<role>:{{SessionName}}`, a user's name. */
export function suggestedUsername(arn: string): string | undefined {
  const p = parsePrincipal(arn);
  return p?.type === "role" ? `${p.name}:{{SessionName}}` : p?.type === "assumed-role" ? `${p.roleName}:{{SessionName}}` : p?.type === "user" ? p.name : undefined;
}

/** Every problem, in key and line order. */
export function checkAwsAuth(parsed: ParsedAwsAuth, opts: CheckOptions): AwsAuthProblem[] {
  const cluster = `--cluster ${shellWord(opts.cluster)}${opts.region ? ` --region ${shellWord(opts.region)}` : ""}`;
  const grantAs = (who: string, groups: readonly string[], username: string | undefined): string =>
    [`eks-access grant ${cluster} ${who}`, ...groups.filter((g) => g.trim() !== "").map((g) => `--group ${shellWord(g)}`), ...(username ? [`--username ${shellWord(username)}`] : [])].join(" ");
  const fixes: Fixes = {
    cluster,
    grant: (arn, row, username = row.username) => grantAs(`--principal ${shellWord(arn)}`, row.groups, username),
    grantPermissionSet: (ps, row) => grantAs(`--permission-set ${shellWord(ps)} --all-accounts`, row.groups, row.username),
    revoke: (arn) => `eks-access revoke ${cluster} --principal ${shellWord(arn)} --backend aws-auth`,
  };
  const { grant, revoke } = fixes;
  const problems: AwsAuthProblem[] = [];
  const add = (p: AwsAuthProblem): void => void problems.push(p);

  // indexes, so checking n rows stays linear (10,000-row ConfigMaps exist)
  const rowAt = new Map<string, AwsAuthRow>(parsed.rows.map((r) => [`${r.kind} ${r.index}`, r]));
  const issuesOf = new Map<string, AwsAuthIssue[]>();
  for (const i of parsed.issues) if (i.index !== undefined) issuesOf.set(`${i.key} ${i.index}`, [...(issuesOf.get(`${i.key} ${i.index}`) ?? []), i]);
  for (const issue of parsed.issues) {
    const row = issue.index === undefined ? undefined : rowAt.get(`${issue.key} ${issue.index}`);
    add({
      code: issue.code,
      severity: ISSUE_SEVERITY[issue.code],
      key: issue.key,
      line: issue.line,
      arn: row?.arn,
      message: issue.message,
      fix: issue.code === "top-key-case" ? `${EDIT}   # rename data key ${issue.key} to ${issue.message.match(/reads only "(\w+)"/)?.[1] ?? "its exact name"}` : `${EDIT}   # ${issue.key} line ${issue.line}`,
    });
  }

  const effective = new Map(effectiveMappings({ mode: "CONFIG_MAP", awsAuth: parsed.rows }).map((e) => [e.row, e] as const));
  for (const row of parsed.rows) {
    const rowIssues = issuesOf.get(`${row.kind} ${row.index}`) ?? [];
    if (row.kind === "mapAccounts") {
      const account = row.account ?? "";
      if (!/^\d{12}$/.test(account)) {
        add({ code: "bad-account", severity: "error", key: row.kind, line: row.line, message: `mapAccounts line ${row.line}: "${account}" is not a 12-digit account id — it matches no caller`, fix: `${EDIT}   # mapAccounts line ${row.line}` });
      } else {
        add({
          code: "map-accounts",
          severity: "warning",
          key: row.kind,
          line: row.line,
          message: `mapAccounts line ${row.line}: every IAM identity of account ${account} that no row maps authenticates (as its ARN, with no groups)`,
          fix: `${EDIT}   # remove ${account} from mapAccounts; grant the principals that need access with eks-access grant ${cluster} --principal ARN --group G`,
        });
      }
      continue;
    }
    const where = `${row.kind} line ${row.line}`;
    const base = { key: row.kind, line: row.line, arn: row.arn };
    checkArn(row, where, base, fixes, add, rowIssues.some((i) => i.code === "arn-key-mismatch"));

    if (row.arn !== undefined && row.arn.trim() !== "") {
      const shadowing = effective.get(row);
      if (shadowing && !shadowing.effective && shadowing.shadowedBy) {
        const winner = shadowing.shadowedBy;
        add({
          ...base,
          code: "duplicate-arn",
          severity: "warning",
          message: `${where}: ${row.arn} is mapped again at ${winner.kind} line ${winner.line}, which the authenticator uses (${winner.kind === row.kind ? "the last row for an ARN wins" : "mapRoles is looked up before mapUsers"}); this row has no effect`,
          // same key: a grant keeps only the last row; across keys the mapUsers row must go first
          fix: winner.kind === row.kind ? grant(winner.arn ?? row.arn, winner) : `${revoke(row.arn)} && ${grant(winner.arn ?? row.arn, winner)}`,
        });
      }
    }

    const username = row.username ?? "";
    if (username === "") {
      add({ ...base, code: "missing-username", severity: "error", message: `${where}: no username — the authenticator answers an empty user name, which RBAC cannot bind and audit logs cannot tell apart`, fix: row.arn ? grant(roleArnWithoutPath(row.arn), row, suggestedUsername(row.arn)) : EDIT });
    } else if (!NODE_USERNAMES.has(username) && username.startsWith("system:")) {
      add({ ...base, code: "reserved-username", severity: "warning", message: `${where}: username ${username} is a Kubernetes system identity — the mapped principal acts as it (and gets whatever RBAC gives it)`, fix: row.arn ? grant(roleArnWithoutPath(row.arn), row, suggestedUsername(row.arn)) : EDIT });
    }
    for (const t of [username, ...row.groups]) {
      const problem = t ? templateProblem(t) : undefined;
      if (problem) add({ ...base, code: "unknown-template", severity: "error", message: `${where}: ${problem}`, fix: `${EDIT}   # ${where}` });
    }

    const badGroupItem = rowIssues.some((i) => i.code === "field-type" && i.message.includes("a group must be"));
    for (const g of row.groups) {
      if (g === "" && badGroupItem) continue; // reported as field-type
      if (g.trim() === "" || /\s/.test(g)) {
        add({ ...base, code: "odd-group", severity: "error", message: `${where}: group "${g}" ${g.trim() === "" ? "is empty" : "contains spaces (a list item indented one space too far is read as part of the group before it)"}`, fix: `${EDIT}   # ${where}` });
      } else if (g.startsWith("system:") && !KNOWN_SYSTEM_GROUPS.has(g)) {
        const hint = g === "system:master" || g === "system:admin" || g === "system:admins" ? " (did you mean system:masters?)" : g === "system:authenticated" ? " (every authenticated caller has it already)" : "";
        add({ ...base, code: "reserved-group", severity: "warning", message: `${where}: group ${g} is a Kubernetes system group${hint}`, fix: row.arn ? grant(row.arn, { ...row, groups: row.groups.map((x) => (x === g && hint.includes("system:masters") ? "system:masters" : x)) }) : EDIT });
      }
    }

    if (NODE_USERNAMES.has(username) && !(row.groups.includes("system:bootstrappers") && row.groups.includes("system:nodes"))) {
      const groups = [...new Set([...row.groups, "system:bootstrappers", "system:nodes"])];
      add({ ...base, code: "node-role-groups", severity: "warning", message: `${where}: a node mapping without both system:bootstrappers and system:nodes — nodes with this role cannot join or report`, fix: row.arn ? grant(row.arn, { ...row, groups }) : EDIT });
    }
  }

  const masters = parsed.rows.filter((r) => r.kind !== "mapAccounts" && r.groups.includes("system:masters"));
  if (masters.length > 0) {
    const first = masters[0]!;
    add({
      code: "system-masters",
      severity: "info",
      key: first.kind,
      line: first.line,
      message: `${masters.length} mapping${masters.length === 1 ? "" : "s"} grant system:masters (cluster-admin that RBAC cannot restrict): ${masters.map((r) => `${r.kind} line ${r.line}`).join(", ")}`,
      fix: `eks-access access list ${cluster}`,
    });
  }
  const order = { mapRoles: 0, mapUsers: 1, mapAccounts: 2 } as Record<string, number>;
  return problems.sort((a, b) => (order[a.key] ?? 3) - (order[b.key] ?? 3) || a.line - b.line);
}

interface Fixes {
  cluster: string;
  grant(arn: string, row: Pick<AwsAuthRow, "username" | "groups">, username?: string): string;
  grantPermissionSet(nameOrArn: string, row: AwsAuthRow): string;
  revoke(arn: string): string;
}

function checkArn(row: AwsAuthRow, where: string, base: Pick<AwsAuthProblem, "key" | "line" | "arn">, { grant, grantPermissionSet, revoke }: Fixes, add: (p: AwsAuthProblem) => void, mismatch: boolean): void {
  const arn = row.arn;
  if (arn === undefined || arn.trim() === "") {
    if (mismatch) return; // reported as arn-key-mismatch
    add({ ...base, code: "missing-arn", severity: "error", message: `${where}: no ${row.kind === "mapRoles" ? "rolearn" : "userarn"} — the row matches nobody`, fix: `${EDIT}   # ${where}` });
    return;
  }
  const both = (right: string, username?: string): string => `${grant(right, row, username)} && ${revoke(arn)}`;
  if (arn !== arn.trim()) {
    add({ ...base, code: "malformed-arn", severity: "error", message: `${where}: "${arn}" has spaces around it — the authenticator compares it as written, so it matches nobody`, fix: both(arn.trim()) });
    return;
  }
  if (isPermissionSetArn(arn) || /^arn:[^:]+:sso:::instance\/[^/]+\/ps-/.test(arn)) {
    add({
      ...base,
      code: "permission-set-arn",
      severity: "error",
      message: `${where}: ${arn} is an IAM Identity Center permission set; callers arrive as the AWSReservedSSO_ role it provisions in each account, so this matches nobody`,
      fix: `${grantPermissionSet(arn, row)} && ${revoke(arn)}`,
    });
    return;
  }
  const parsedArn = parseArn(arn);
  if (parsedArn && (parsedArn.service === "sso" || parsedArn.service === "identitystore")) {
    add({
      ...base,
      code: "identity-center-principal",
      severity: "error",
      message: `${where}: ${arn} is an IAM Identity Center user, group or instance, not an IAM principal — EKS sees Identity Center users as the role of their permission set`,
      fix: `${grantPermissionSet("NAME", row)} && ${revoke(arn)}`,
    });
    return;
  }
  const p = parsePrincipal(arn);
  if (!p || !/^\d{12}$/.test(p.account)) {
    add({ ...base, code: "malformed-arn", severity: "error", message: `${where}: "${arn}" is not an IAM role or user ARN (arn:aws:iam::ACCOUNT:role/NAME) — it matches nobody`, fix: `${EDIT}   # ${where}` });
    return;
  }
  if (p.type === "assumed-role") {
    const role = `arn:${p.partition}:iam::${p.account}:role/${p.roleName}`;
    add({
      ...base,
      code: "assumed-role-arn",
      severity: "error",
      message: `${where}: ${arn} is one STS session of role ${p.roleName}; the authenticator compares the role ARN (${role}), so this matches nobody`,
      fix: `${grant(role, row, row.username ?? suggestedUsername(arn))} && ${revoke(arn)}`,
    });
    return;
  }
  if (p.type === "root") {
    add({ ...base, code: "root-user", severity: "warning", message: `${where}: the root user of account ${p.account} is mapped — use an IAM role for cluster access`, fix: revoke(arn) });
    return;
  }
  if (p.type === "role" && p.path !== "/") {
    const right = roleArnWithoutPath(arn);
    const sso = isSsoRolePath(p.path);
    add({
      ...base,
      code: sso ? "sso-role-path" : "role-path",
      severity: "error",
      message: sso
        ? `${where}: ${arn} keeps the IAM Identity Center path ${p.path}; callers' role ARNs have no path, so this matches nobody (map ${right})`
        : `${where}: ${arn} has the path ${p.path}; the authenticator compares role ARNs without their path, so this matches nobody (map ${right})`,
      fix: both(right),
    });
  }
  if ((p.type === "user" && row.kind === "mapRoles") || (p.type === "role" && row.kind === "mapUsers")) {
    add({
      ...base,
      code: "wrong-key",
      severity: "warning",
      message: `${where}: an IAM ${p.type} in ${row.kind} — the authenticator still matches it (it looks up both by ARN), but eksctl, the EKS console and people look for it in ${p.type === "user" ? "mapUsers" : "mapRoles"}`,
      // revoke first: it removes every row of this ARN, the grant then writes it where it belongs
      fix: `${revoke(arn)} && ${grant(p.type === "role" ? roleArnWithoutPath(arn) : arn, row)}`,
    });
  }
}

/** True when any problem should fail a CI run (errors and warnings; info does not). */
export const failsCheck = (problems: readonly AwsAuthProblem[]): boolean => problems.some((p) => p.severity !== "info");
