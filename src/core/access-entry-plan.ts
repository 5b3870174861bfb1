/**
 * Grants and revokes on EKS access entries as a plan of API steps (pure): what to create, update,
 * associate or remove so that the entry holds what was asked, keeping everything else it holds
 * (other groups, other policies, wider scopes). An empty plan means "already so": grant and revoke
 * are idempotent. Each step also renders as the equivalent AWS CLI command, for --dry-run.
 */

export type AuthenticationMode = "CONFIG_MAP" | "API_AND_CONFIG_MAP" | "API";
export const AUTHENTICATION_MODES: readonly AuthenticationMode[] = ["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"];

export interface AccessScope {
  type: "cluster" | "namespace";
  namespaces: readonly string[];
}

export interface AssociatedPolicy {
  policyArn: string;
  accessScope: AccessScope;
}

/** An access entry as DescribeAccessEntry + ListAssociatedAccessPolicies report it. */
export interface AccessEntryState {
  principalArn: string;
  type: string;
  username: string;
  kubernetesGroups: readonly string[];
  accessEntryArn?: string | undefined;
  createdAt?: string | undefined;
  modifiedAt?: string | undefined;
  policies: readonly AssociatedPolicy[];
}

export type AccessEntryStep =
  | { op: "create"; principalArn: string; username?: string | undefined; kubernetesGroups: readonly string[]; /** default STANDARD */ type?: string | undefined }
  | { op: "update"; principalArn: string; username?: string | undefined; kubernetesGroups: readonly string[] }
  | { op: "associate"; principalArn: string; policyArn: string; scope: AccessScope }
  | { op: "disassociate"; principalArn: string; policyArn: string }
  | { op: "delete"; principalArn: string };

export interface EntryGrant {
  principalArn: string;
  /** undefined: EKS's default for a new entry, the existing username for an existing one */
  username?: string | undefined;
  groups: readonly string[];
  policy?: AssociatedPolicy | undefined;
}

export interface Plan {
  steps: AccessEntryStep[];
  /** why something asked for needs no step, one line each */
  notes: string[];
}

const union = (a: readonly string[], b: readonly string[]): string[] => [...a, ...b.filter((x) => !a.includes(x))];

/** The association that holds both the current scope and the wanted one, or undefined when the current one already does. */
function widenedScope(current: AccessScope, wanted: AccessScope): AccessScope | undefined {
  if (current.type === "cluster") return undefined;
  if (wanted.type === "cluster") return { type: "cluster", namespaces: [] };
  const namespaces = union(current.namespaces, wanted.namespaces);
  return namespaces.length === current.namespaces.length ? undefined : { type: "namespace", namespaces };
}

export function planGrant(current: AccessEntryState | undefined, want: EntryGrant): Plan {
  const steps: AccessEntryStep[] = [];
  const notes: string[] = [];
  const p = want.principalArn;
  if (!current) {
    steps.push({ op: "create", principalArn: p, username: want.username, kubernetesGroups: [...want.groups] });
  } else {
    const groups = union(current.kubernetesGroups, want.groups);
    const username = want.username !== undefined && want.username !== current.username ? want.username : undefined;
    if (groups.length !== current.kubernetesGroups.length || username !== undefined) {
      if (current.type !== "STANDARD") {
        notes.push(`the access entry of ${p} has type ${current.type}: EKS keeps its username and groups fixed`);
      } else {
        steps.push({ op: "update", principalArn: p, username, kubernetesGroups: groups });
      }
    } else if (want.groups.length) {
      notes.push(`${p} already has group${want.groups.length > 1 ? "s" : ""} ${want.groups.join(", ")}`);
    }
  }
  if (want.policy) {
    const existing = current?.policies.find((x) => x.policyArn === want.policy!.policyArn);
    if (!existing) {
      steps.push({ op: "associate", principalArn: p, policyArn: want.policy.policyArn, scope: want.policy.accessScope });
    } else {
      const scope = widenedScope(existing.accessScope, want.policy.accessScope);
      if (scope) steps.push({ op: "associate", principalArn: p, policyArn: want.policy.policyArn, scope });
      else notes.push(`${p} already has ${policyName(want.policy.policyArn)} ${scopeText(existing.accessScope)}`);
    }
  }
  return { steps, notes };
}

export interface EntryRevoke {
  principalArn: string;
  /** only these groups (else: the whole entry, unless `policyArn` is given) */
  groups?: readonly string[] | undefined;
  /** only this policy association */
  policyArn?: string | undefined;
}

export function planRevoke(current: AccessEntryState | undefined, what: EntryRevoke): Plan {
  const p = what.principalArn;
  if (!current) return { steps: [], notes: [`${p} has no access entry`] };
  const steps: AccessEntryStep[] = [];
  const notes: string[] = [];
  if (what.policyArn) {
    if (current.policies.some((x) => x.policyArn === what.policyArn)) steps.push({ op: "disassociate", principalArn: p, policyArn: what.policyArn });
    else notes.push(`${p} does not have ${policyName(what.policyArn)}`);
  }
  if (what.groups?.length) {
    const kept = current.kubernetesGroups.filter((g) => !what.groups!.includes(g));
    if (kept.length !== current.kubernetesGroups.length) steps.push({ op: "update", principalArn: p, kubernetesGroups: kept });
    else notes.push(`${p} has none of the groups ${what.groups.join(", ")}`);
  }
  if (!what.policyArn && !what.groups?.length) steps.push({ op: "delete", principalArn: p });
  return { steps, notes };
}

export const policyName = (arn: string): string => arn.slice(arn.lastIndexOf("/") + 1);

export const scopeText = (s: AccessScope): string => (s.type === "cluster" ? "cluster-wide" : `in namespace${s.namespaces.length > 1 ? "s" : ""} ${s.namespaces.join(", ")}`);

const q = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The AWS CLI command doing the same step (what --dry-run shows). */
export function stepCommand(clusterName: string, region: string, s: AccessEntryStep): string {
  const base = `aws eks %s --cluster-name ${q(clusterName)} --region ${q(region)} --principal-arn ${q(s.principalArn)}`;
  switch (s.op) {
    case "create":
    case "update": {
      const groups = s.kubernetesGroups.length ? ` --kubernetes-groups ${s.kubernetesGroups.map(q).join(" ")}` : s.op === "update" ? " --kubernetes-groups '[]'" : "";
      const type = s.op === "create" && s.type !== undefined && s.type !== "STANDARD" ? ` --type ${q(s.type)}` : "";
      return base.replace("%s", `${s.op}-access-entry`) + groups + (s.username !== undefined ? ` --username ${q(s.username)}` : "") + type;
    }
    case "associate": {
      const scope = s.scope.type === "cluster" ? "type=cluster" : `type=namespace,namespaces=${s.scope.namespaces.map(q).join(",")}`;
      return base.replace("%s", "associate-access-policy") + ` --policy-arn ${q(s.policyArn)} --access-scope ${scope}`;
    }
    case "disassociate":
      return base.replace("%s", "disassociate-access-policy") + ` --policy-arn ${q(s.policyArn)}`;
    case "delete":
      return base.replace("%s", "delete-access-entry");
  }
}

/** One line for humans: "create the access entry (groups a, b)". */
export function stepText(s: AccessEntryStep): string {
  switch (s.op) {
    case "create":
      return `create the ${s.type !== undefined && s.type !== "STANDARD" ? `${s.type} ` : ""}access entry of ${s.principalArn}${s.username !== undefined ? ` (username ${s.username})` : ""}${s.kubernetesGroups.length ? ` with groups ${s.kubernetesGroups.join(", ")}` : ""}`;
    case "update":
      return `update the access entry of ${s.principalArn}: groups ${s.kubernetesGroups.length ? s.kubernetesGroups.join(", ") : "(none)"}${s.username !== undefined ? `, username ${s.username}` : ""}`;
    case "associate":
      return `associate ${policyName(s.policyArn)} with ${s.principalArn} ${scopeText(s.scope)}`;
    case "disassociate":
      return `disassociate ${policyName(s.policyArn)} from ${s.principalArn}`;
    case "delete":
      return `delete the access entry of ${s.principalArn}`;
  }
}
