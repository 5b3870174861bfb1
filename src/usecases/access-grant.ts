/**
 * `grant` and `revoke`: one model over the two places EKS keeps identities. The principal is
 * resolved first (session → role, path from IAM, permission set → its provisioned roles), the
 * backend follows the cluster's authentication mode unless given, and the change is planned
 * before anything is written, so --dry-run shows exactly what would happen and a refused change
 * leaves everything as it was.
 */
import { ACCESS_POLICY_ARN_PREFIX, findAccessPolicy, POLICY_SHORT_NAMES } from "../core/access-policies.js";
import { planGrant, planRevoke, stepCommand, stepText, type AccessEntryStep, type AccessScope, type Plan } from "../core/access-entry-plan.js";
import { canonicalArn } from "../core/arn.js";
import { accessEntryArn, defaultAccessEntryUsername } from "../core/principal.js";
import { EksAccessError, usageError } from "../core/errors.js";
import { accessEntryGroupProblem, accessEntryUsernameProblem, templateProblem } from "../core/mapping/templates.js";
import type { AccessEntryStore, ClusterAccess } from "../ports/access-entry-store.js";
import type { AwsAuthStore, PrincipalDirectory, PrincipalInput, ResolvedPrincipal } from "../ports/access.js";
import type { CallerIdentity } from "../ports/sts.js";
import { awsAuthGrant, awsAuthRevoke, type AwsAuthChange } from "./access-aws-auth.js";
import type { AccessChangeOutput, PrincipalChange } from "./access-types.js";

export type { AccessChangeOutput, PrincipalChange };

export type Backend = "auto" | "aws-auth" | "access-entry";

/**
 * `--username-template` presets, per principal: session = `<role>:{{SessionName}}` (aws-auth's
 * default: audit logs show who acted), session-raw = `<role>:{{SessionNameRaw}}` (keeps an SSO
 * e-mail's `@`; access entries take it too: EKS user guide, "Set a custom username for EKS access
 * entries"), eks = EKS's own default for access entries.
 */
export type UsernameTemplate = "session" | "session-raw" | "eks";

export interface AccessDeps {
  entries: AccessEntryStore;
  directory: PrincipalDirectory;
  /** the cluster's aws-auth, connected only when a change needs it */
  awsAuth(cluster: ClusterAccess): Promise<AwsAuthStore>;
  caller(): Promise<CallerIdentity>;
}

export interface GrantInput {
  principal: PrincipalInput;
  groups: readonly string[];
  /** View, Edit, Admin, ClusterAdmin, AdminView or an access-policy ARN */
  policy?: string | undefined;
  namespaces: readonly string[];
  username?: string | undefined;
  usernameTemplate?: UsernameTemplate | undefined;
  backend: Backend;
  dryRun: boolean;
  /** aws-auth: edit although another key does not parse, change a node role's username */
  force?: boolean | undefined;
}

export interface RevokeInput {
  principal: PrincipalInput;
  /** only these groups / only this policy; neither: all of the principal's access */
  groups: readonly string[];
  policy?: string | undefined;
  backend: Backend;
  force: boolean;
  dryRun: boolean;
}

const RESERVED_USERNAME = /^(system:|eks:|aws:|amazon:|iam:)/;

/** `--policy` → the policy ARN (short names, published names, or any access-policy ARN). */
export function policyArnOf(nameOrArn: string, partition = "aws"): string {
  if (/^arn:aws[a-z-]*:eks::aws:cluster-access-policy\/[A-Za-z0-9]+$/.test(nameOrArn)) return nameOrArn;
  const known = findAccessPolicy(nameOrArn);
  if (known) return partition === "aws" ? known.arn : known.arn.replace(/^arn:aws:/, `arn:${partition}:`);
  throw usageError(
    `--policy ${nameOrArn} is not an EKS access policy`,
    `use ${Object.keys(POLICY_SHORT_NAMES).join(", ")} or an ARN like ${ACCESS_POLICY_ARN_PREFIX}AmazonEKSViewPolicy (list them: aws eks list-access-policies)`,
  );
}

function chooseBackend(asked: Backend, cluster: ClusterAccess, why: "grant" | "revoke"): "aws-auth" | "access-entry" {
  if (asked === "access-entry" && cluster.mode === "CONFIG_MAP") {
    throw new EksAccessError("cluster-state", `cluster ${cluster.name} is in CONFIG_MAP mode: it has no access entries`, {
      hint: `use --backend aws-auth, or switch the cluster first: eks-access auth-mode set API_AND_CONFIG_MAP --cluster ${cluster.name} --region ${cluster.region}`,
    });
  }
  if (asked === "aws-auth" && cluster.mode === "API" && why === "grant") {
    throw new EksAccessError("cluster-state", `cluster ${cluster.name} is in API mode: EKS ignores aws-auth there, so this grant would have no effect`, {
      hint: "use --backend access-entry (or leave --backend auto)",
    });
  }
  if (asked !== "auto") return asked;
  return cluster.mode === "CONFIG_MAP" ? "aws-auth" : "access-entry";
}

function validateGrant(input: GrantInput, backend: "aws-auth" | "access-entry"): void {
  if (!input.groups.length && !input.policy) throw usageError("grant needs --group or --policy", "give Kubernetes groups bound by RBAC (--group), an EKS access policy (--policy View|Edit|Admin|ClusterAdmin|AdminView), or both");
  if (input.namespaces.length && !input.policy) throw usageError("--namespace scopes an access policy: it needs --policy", "e.g. --policy View --namespace team-a");
  if (backend === "aws-auth" && input.policy) {
    throw usageError(
      `access policies live in access entries, not in aws-auth (--policy ${input.policy} with the aws-auth backend)`,
      input.policy === "ClusterAdmin" ? "for cluster admin through aws-auth use --group system:masters" : "use --backend access-entry, or give --group with a group bound by RBAC",
    );
  }
  if (backend === "access-entry") {
    const sys = input.groups.find((g) => g.startsWith("system:"));
    if (sys) {
      throw usageError(
        `access entries cannot hold the group ${sys} (EKS refuses system: groups)`,
        sys === "system:masters" ? "use --policy ClusterAdmin for cluster admin" : "bind a group of your own with RBAC instead",
      );
    }
    if (input.username !== undefined && RESERVED_USERNAME.test(input.username)) {
      throw usageError(`username ${input.username} starts with a prefix EKS reserves (system:, eks:, aws:, amazon:, iam:)`, "pick a username without it");
    }
    // templates: unknown ones (or a near miss such as {{sessionName}}) first, then what EKS accepts in an access entry
    const problem =
      (input.username !== undefined ? (templateProblem(input.username) ?? accessEntryUsernameProblem(input.username)) : undefined) ??
      input.groups.map((g) => accessEntryGroupProblem(g)).find((x) => x !== undefined);
    if (problem) throw usageError(problem, "nothing was changed");
  }
}

const entryArn = (p: ResolvedPrincipal): string => accessEntryArn(p);

/** The username a grant writes for `p`: --username, else the template (aws-auth: session by default; access entries: EKS's default). */
export function usernameFor(p: ResolvedPrincipal, backend: "aws-auth" | "access-entry", input: Pick<GrantInput, "username" | "usernameTemplate">): string | undefined {
  if (input.username !== undefined) return input.username;
  const t = input.usernameTemplate ?? (backend === "aws-auth" ? "session" : undefined);
  if (t === undefined) return undefined;
  if (t === "eks") return defaultAccessEntryUsername(p);
  if (p.type === "user") return p.name;
  return `${p.name}:{{${t === "session" ? "SessionName" : "SessionNameRaw"}}}`;
}

/** Steps as the report shows them: one line each, with the AWS CLI command doing the same. */
export function renderSteps(cluster: ClusterAccess, plan: Pick<Plan, "steps">): PrincipalChange["steps"] {
  return plan.steps.map((s: AccessEntryStep) => ({ text: stepText(s), command: stepCommand(cluster.name, cluster.region, s) }));
}

/** Runs access-entry steps in order (the first failure stops it: the steps are idempotent, so running the command again completes them). */
export async function applyEntrySteps(entries: AccessEntryStore, steps: readonly AccessEntryStep[]): Promise<void> {
  for (const s of steps) {
    if (s.op === "create") await entries.create({ principalArn: s.principalArn, username: s.username, kubernetesGroups: s.kubernetesGroups, type: s.type });
    else if (s.op === "update") await entries.update(s.principalArn, { username: s.username, kubernetesGroups: s.kubernetesGroups });
    else if (s.op === "associate") await entries.associate(s.principalArn, s.policyArn, s.scope);
    else if (s.op === "disassociate") await entries.disassociate(s.principalArn, s.policyArn);
    else await entries.delete(s.principalArn);
  }
}

export async function grant(deps: AccessDeps, input: GrantInput): Promise<AccessChangeOutput> {
  const cluster = await deps.entries.cluster();
  const backend = chooseBackend(input.backend, cluster, "grant");
  validateGrant(input, backend);
  const principals = await deps.directory.resolve(input.principal);
  const out: AccessChangeOutput = { cluster: cluster.name, region: cluster.region, mode: cluster.mode, dryRun: input.dryRun, changes: [] };
  if (backend === "aws-auth") {
    const explicit = input.username !== undefined || input.usernameTemplate !== undefined;
    const items = principals.map((p) => ({ p, username: usernameFor(p, backend, input)!, explicit }));
    const r: AwsAuthChange = await awsAuthGrant(await deps.awsAuth(cluster), cluster, items, { groups: input.groups, dryRun: input.dryRun, force: !!input.force });
    out.changes = r.changes;
    out.awsAuth = r.awsAuth;
    return out;
  }
  const partition = principals[0]?.partition ?? "aws";
  const policy = input.policy
    ? { policyArn: policyArnOf(input.policy, partition), accessScope: (input.namespaces.length ? { type: "namespace", namespaces: [...input.namespaces] } : { type: "cluster", namespaces: [] }) as AccessScope }
    : undefined;
  // plan every principal first: nothing is written when one of them cannot be planned
  const planned = [];
  for (const p of principals) {
    const arn = entryArn(p);
    const username = usernameFor(p, backend, input);
    const plan = planGrant(await deps.entries.get(arn), { principalArn: arn, username, groups: input.groups, policy });
    planned.push({ p, arn, plan, username });
  }
  for (const { p, arn, plan, username } of planned) {
    if (!input.dryRun) await applyEntrySteps(deps.entries, plan.steps);
    out.changes.push({ principal: p.arn, from: p.from, backend, writtenAs: arn, username, steps: renderSteps(cluster, plan), notes: plan.notes });
  }
  return out;
}

const CLUSTER_ADMIN = "AmazonEKSClusterAdminPolicy";

export async function revoke(deps: AccessDeps, input: RevokeInput): Promise<AccessChangeOutput> {
  const cluster = await deps.entries.cluster();
  const principals = await deps.directory.resolve(input.principal);
  const out: AccessChangeOutput = { cluster: cluster.name, region: cluster.region, mode: cluster.mode, dryRun: input.dryRun, changes: [] };
  const partition = principals[0]?.partition ?? "aws";
  const policyArn = input.policy ? policyArnOf(input.policy, partition) : undefined;
  const backends: Array<"aws-auth" | "access-entry"> =
    input.backend !== "auto" ? [chooseBackend(input.backend, cluster, "revoke")] : cluster.mode === "CONFIG_MAP" ? ["aws-auth"] : cluster.mode === "API" ? ["access-entry"] : ["access-entry", "aws-auth"];
  if (policyArn && input.backend === "aws-auth") throw usageError("aws-auth holds no access policies", "revoke a policy with --backend access-entry (or auto)");
  const caller = input.force ? undefined : await deps.caller();
  if (backends.includes("access-entry")) {
    const planned = [];
    for (const p of principals) {
      const arn = entryArn(p);
      const current = await deps.entries.get(arn);
      const plan = planRevoke(current, { principalArn: arn, groups: input.groups, policyArn });
      planned.push({ p, arn, current, plan });
    }
    if (caller) await guardEntries(deps.entries, cluster, caller, planned.filter((x) => x.plan.steps.length).map((x) => ({ p: x.p, removesAdmin: x.plan.steps.some((s) => s.op === "delete" || (s.op === "disassociate" && s.policyArn.endsWith(`/${CLUSTER_ADMIN}`))), deletes: x.plan.steps.some((s) => s.op === "delete") })));
    for (const { p, arn, plan } of planned) {
      if (!input.dryRun) await applyEntrySteps(deps.entries, plan.steps);
      out.changes.push({ principal: p.arn, from: p.from, backend: "access-entry", writtenAs: arn, steps: renderSteps(cluster, plan), notes: plan.notes });
    }
  }
  if (backends.includes("aws-auth") && !policyArn) {
    const r = await awsAuthRevoke(await deps.awsAuth(cluster), cluster, principals, { groups: input.groups, dryRun: input.dryRun, caller, onlyIfPresent: input.backend === "auto" && backends.length > 1, force: input.force });
    out.changes.push(...r.changes);
    out.awsAuth = r.awsAuth;
  }
  return out;
}

/** Refuses a revoke that would remove the caller's own access or the cluster's last cluster admin. */
async function guardEntries(entries: AccessEntryStore, cluster: ClusterAccess, caller: CallerIdentity, removing: Array<{ p: ResolvedPrincipal; removesAdmin: boolean; deletes: boolean }>): Promise<void> {
  const me = canonicalArn(caller.arn).toLowerCase();
  for (const r of removing) {
    const same = r.p.arn.toLowerCase() === me || `arn:${r.p.partition}:iam::${r.p.account}:${r.p.type}/${r.p.name}`.toLowerCase() === me;
    if (same && r.deletes) {
      throw new EksAccessError("refused", `refusing to revoke your own access (${caller.arn} is ${r.p.arn}) on cluster ${cluster.name}`, { hint: "ask another admin to do it, or add --force if you mean it" });
    }
  }
  if (!removing.some((r) => r.removesAdmin)) return;
  const removed = new Set(removing.filter((r) => r.removesAdmin).map((r) => r.p.arn));
  for (const arn of await entries.listPrincipals()) {
    if (removed.has(arn)) continue;
    const e = await entries.get(arn);
    if (e?.policies.some((x) => x.policyArn.endsWith(`/${CLUSTER_ADMIN}`) && x.accessScope.type === "cluster")) return;
  }
  // no other access entry is cluster admin: only refuse when the removed one was
  for (const r of removing.filter((x) => x.removesAdmin)) {
    const e = await entries.get(r.p.arn);
    if (e?.policies.some((x) => x.policyArn.endsWith(`/${CLUSTER_ADMIN}`))) {
      throw new EksAccessError("refused", `refusing to remove the last ${CLUSTER_ADMIN} access entry of cluster ${cluster.name} (${r.p.arn})`, {
        hint: `grant another admin first (eks-access grant --cluster ${cluster.name} --principal ARN --policy ClusterAdmin), or add --force`,
      });
    }
  }
}
