/**
 * `access reconcile`: re-points the grants that stopped reaching their principal (core/reconcile.ts
 * says which and how). Reads everything first — aws-auth (not in API mode), every access entry
 * (not in CONFIG_MAP mode), IAM for each principal named, IAM Identity Center roles of the
 * accounts where a permission-set role disappeared — then plans purely, then writes: aws-auth
 * through the store's conflict-safe update (the renames re-applied to fresh data after a
 * conflict, backup first), access entries step by step. --dry-run shows the aws-auth diff and the
 * AWS CLI commands and changes nothing. A second run finds nothing to do.
 */
import { parseAwsAuth, renameMapping } from "../core/mapping/aws-auth.js";
import { EksAccessError } from "../core/errors.js";
import { mapLimit } from "../core/map-limit.js";
import { accountsToList, planAwsAuthReconcile, planEntryReconcile, ssoRowArns, type IamNow, type ReconcileFinding } from "../core/reconcile.js";
import type { AccessEntryState, AuthenticationMode } from "../core/access-entry-plan.js";
import type { AccessEntryStore, ClusterAccess } from "../ports/access-entry-store.js";
import type { AwsAuthStore, PrincipalDirectory } from "../ports/access.js";
import { editAwsAuth, sameData } from "./access-aws-auth.js";
import { applyEntrySteps, renderSteps } from "./access-grant.js";
import type { AccessChangeOutput, PrincipalChange } from "./access-types.js";

export interface ReconcileDeps {
  entries: AccessEntryStore;
  directory: Pick<PrincipalDirectory, "lookup" | "ssoRoles">;
  awsAuth(cluster: ClusterAccess): Promise<AwsAuthStore>;
}

export interface ReconcileInput {
  dryRun: boolean;
}

export interface ReconcileItem {
  kind: ReconcileFinding["kind"];
  source: "aws-auth" | "access-entry";
  /** the ARN the grant names now */
  principal: string;
  /** the principal it is pointed at (a permission set's new role) */
  replacement?: string | undefined;
  message: string;
  steps: PrincipalChange["steps"];
}

export interface ReconcileOutput {
  cluster: string;
  region: string;
  mode: AuthenticationMode;
  dryRun: boolean;
  /** how many aws-auth rows and access entries were checked against IAM */
  checked: { awsAuthRows: number; accessEntries: number };
  items: ReconcileItem[];
  awsAuth?: AccessChangeOutput["awsAuth"];
  notes: string[];
}

const LIMIT = 4;

export async function reconcile(deps: ReconcileDeps, input: ReconcileInput): Promise<ReconcileOutput> {
  const cluster = await deps.entries.cluster();
  const out: ReconcileOutput = { cluster: cluster.name, region: cluster.region, mode: cluster.mode, dryRun: input.dryRun, checked: { awsAuthRows: 0, accessEntries: 0 }, items: [], notes: [] };
  const useAwsAuth = cluster.mode !== "API";
  const useEntries = cluster.mode !== "CONFIG_MAP";
  if (!useAwsAuth) out.notes.push(`cluster ${cluster.name} is in API mode: aws-auth is not read there, so it was not checked`);
  if (!useEntries) out.notes.push(`cluster ${cluster.name} is in CONFIG_MAP mode: it has no access entries`);

  // read: aws-auth, every access entry
  const store = useAwsAuth ? await deps.awsAuth(cluster) : undefined;
  const data = (await store?.read())?.data ?? {};
  const rows = parseAwsAuth(data).rows;
  const entryArns = useEntries ? await deps.entries.listPrincipals() : [];
  const entries = (await mapLimit(entryArns, LIMIT, (arn) => deps.entries.get(arn))).filter((e): e is AccessEntryState => e !== undefined);
  out.checked = { awsAuthRows: ssoRowArns(rows).length, accessEntries: entries.length };

  // IAM now: each principal named, then the IAM Identity Center roles where one disappeared
  const arns = [...new Set([...ssoRowArns(rows), ...entries.map((e) => e.principalArn)])];
  const found = await mapLimit(arns, LIMIT, (arn) => deps.directory.lookup(arn));
  const principals = new Map<string, IamNow | undefined>(arns.map((a, i) => [a, found[i]]));
  const accounts = accountsToList(arns, principals);
  const listed = await mapLimit(accounts, LIMIT, (a) => deps.directory.ssoRoles(a));
  const facts = { principals, ssoRoles: new Map(accounts.map((a, i) => [a, listed[i]!])) };

  // plan
  const aws = planAwsAuthReconcile(rows, facts);
  const byArn = new Map(entries.map((e) => [e.principalArn, e]));
  const entryPlans = entries.flatMap((e) => planEntryReconcile(e, facts, (arn) => byArn.get(arn)) ?? []);
  for (const r of aws.renames) {
    out.items.push({ kind: r.finding.kind, source: "aws-auth", principal: r.from, replacement: r.to, message: r.finding.message, steps: [{ text: `point the aws-auth rows of ${r.from} at ${r.to} (groups kept; a username spelling the old role name follows it)` }] });
  }
  for (const f of aws.gone) out.items.push({ kind: f.kind, source: f.source, principal: f.arn, message: f.message, steps: [] });
  for (const p of entryPlans) {
    const replacement = p.finding.kind === "sso-role-replaced" ? p.finding.replacement.role.arn : undefined;
    out.items.push({ kind: p.finding.kind, source: "access-entry", principal: p.finding.arn, replacement, message: p.finding.message, steps: renderSteps(cluster, p) });
  }

  // write (or show)
  if (store && aws.renames.length) {
    const edit = (current: Readonly<Record<string, string>>): Record<string, string> | "unchanged" => {
      let next: Record<string, string> = { ...current };
      for (const r of aws.renames) {
        const done = renameMapping(next, r.from, r.to, r.username);
        if (!done.ok) {
          throw new EksAccessError("cluster-state", `kube-system/aws-auth of cluster ${cluster.name}: ${done.key} line ${done.line} does not parse, and the rows of ${r.from} are there; nothing was changed`, {
            hint: `fix it with kubectl -n kube-system edit configmap aws-auth (or eks-access aws-auth restore --cluster ${cluster.name}), then run reconcile again`,
          });
        }
        next = done.data;
      }
      return sameData(next, current) ? "unchanged" : next;
    };
    out.awsAuth = await editAwsAuth(store, input.dryRun, edit, data);
  }
  if (!input.dryRun) {
    for (const p of entryPlans) {
      for (let i = 0; i < p.steps.length; i++) {
        try {
          await applyEntrySteps(deps.entries, [p.steps[i]!]);
        } catch (err) {
          if (!EksAccessError.is(err)) throw err;
          // a delete-then-create of one ARN cannot be found again once the delete is done: say what is left
          const left = renderSteps(cluster, { steps: p.steps.slice(i) }).map((s) => s.command).join(" && ");
          throw new EksAccessError(err.kind, `${err.message} (reconciling ${p.finding.arn}, step ${i + 1} of ${p.steps.length})`, { hint: `${err.hint ? `${err.hint}; ` : ""}what is left to do: ${left}` });
        }
      }
    }
  }
  return out;
}
