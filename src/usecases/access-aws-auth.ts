/**
 * The aws-auth half of grant and revoke: edits of only the rows a principal owns (core/mapping),
 * written through the store's optimistic concurrency (the edit is re-run on fresh data after a
 * conflict, guards included), a unified diff for --dry-run and the report, and the lockout
 * guards: the last system:masters mapping, node roles and the caller's own access stay unless
 * --force.
 */
import { canonicalArn } from "../core/arn.js";
import { EksAccessError } from "../core/errors.js";
import { arnKey, isNodeRow, parseAwsAuth, removeRows, upsertMapping, type AwsAuthRow, type EditRefused } from "../core/mapping/aws-auth.js";
import { templateProblem } from "../core/mapping/templates.js";
import { dataDiff } from "../core/mapping/diff.js";
import { awsAuthArn } from "../core/principal.js";
import type { ClusterAccess } from "../ports/access-entry-store.js";
import type { AwsAuthStore, ResolvedPrincipal } from "../ports/access.js";
import type { CallerIdentity } from "../ports/sts.js";
import type { AccessChangeOutput, PrincipalChange } from "./access-types.js";

export interface AwsAuthChange {
  changes: PrincipalChange[];
  awsAuth: NonNullable<AccessChangeOutput["awsAuth"]>;
}

const refused = (r: EditRefused): EksAccessError =>
  new EksAccessError("cluster-state", `kube-system/aws-auth ${r.key} does not parse at line ${r.line}: ${r.message}`, {
    hint: "fix it first (kubectl -n kube-system edit configmap aws-auth; eks-access aws-auth check --file=- reads kubectl's output); nothing was changed",
  });

/** Runs `edit` as a dry run (read, compute, diff) or for real (the store's conflict-safe update). */
async function change(store: AwsAuthStore, dryRun: boolean, edit: (data: Readonly<Record<string, string>>) => Record<string, string> | "unchanged"): Promise<AwsAuthChange["awsAuth"]> {
  if (dryRun) {
    const current = await store.read();
    const before = current?.data ?? {};
    const after = edit(before);
    return { diff: after === "unchanged" ? "" : dataDiff(before, after), conflicts: 0 };
  }
  const w = await store.update((current) => edit(current?.data ?? {}));
  const created = w.before === undefined && w.after !== undefined;
  return { diff: dataDiff(w.before?.data ?? {}, w.after?.data ?? {}), backupPath: w.backupPath, conflicts: w.conflicts, ...(created ? { created } : {}) };
}

const union = (a: readonly string[], b: readonly string[]): string[] => [...a, ...b.filter((x) => !a.includes(x))];

export async function awsAuthGrant(
  store: AwsAuthStore,
  _cluster: ClusterAccess,
  items: ReadonlyArray<{ p: ResolvedPrincipal; username: string }>,
  opts: { groups: readonly string[]; dryRun: boolean },
): Promise<AwsAuthChange> {
  for (const { username } of items) {
    const problem = templateProblem(username);
    if (problem) throw new EksAccessError("usage", `--username ${username}: ${problem}`, { hint: "nothing was changed" });
  }
  const changes: PrincipalChange[] = [];
  const awsAuth = await change(store, opts.dryRun, (data) => {
    changes.length = 0; // re-run after a conflict: report the last run only
    let next: Record<string, string> = { ...data };
    for (const { p, username } of items) {
      const arn = awsAuthArn(p);
      const rows = parseAwsAuth(next).rows.filter((r) => r.arn !== undefined && arnKey(r.arn) === arnKey(arn));
      const current = rows[rows.length - 1];
      const r = upsertMapping(next, { arn, username, groups: union(current?.groups ?? [], opts.groups) });
      if (!r.ok) throw refused(r);
      next = r.data;
      const steps =
        r.action === "unchanged"
          ? []
          : [{ text: `${r.action === "added" ? "add" : "update"} the ${r.kind} row of ${arn} (username ${username}, groups ${union(current?.groups ?? [], opts.groups).join(", ") || "(none)"})${r.removedDuplicates.length ? `, removing ${r.removedDuplicates.length} earlier duplicate${r.removedDuplicates.length > 1 ? "s" : ""} that never counted` : ""}` }];
      const notes = r.action === "unchanged" ? [`aws-auth already maps ${arn} as ${username} with groups ${opts.groups.join(", ")}`] : [];
      if (arn !== p.arn) notes.push(`written without the role's path ${p.path} (aws-auth never matches a path)`);
      changes.push({ principal: p.arn, from: p.from, backend: "aws-auth", writtenAs: arn, username, steps, notes });
    }
    return Object.keys(data).every((k) => data[k] === next[k]) && Object.keys(next).length === Object.keys(data).length ? "unchanged" : next;
  });
  return { changes, awsAuth };
}

const MASTERS = "system:masters";

/** Why removing `gone` from `all` would lock people out, or undefined. */
function lockout(all: readonly AwsAuthRow[], gone: readonly AwsAuthRow[], callerArn: string | undefined, groupsOnly: readonly string[]): string | undefined {
  const goneSet = new Set(gone);
  const node = gone.find((r) => isNodeRow(r) && (!groupsOnly.length || groupsOnly.some((g) => r.groups.includes(g))));
  if (node) return `${node.arn} is a node role (username ${node.username}): removing it stops those nodes from joining`;
  const mastersLeft = all.filter((r) => r.kind !== "mapAccounts" && r.groups.includes(MASTERS) && (!goneSet.has(r) || (groupsOnly.length && !groupsOnly.includes(MASTERS))));
  if (gone.some((r) => r.groups.includes(MASTERS)) && mastersLeft.length === 0) return `it would remove the last ${MASTERS} mapping of aws-auth`;
  if (callerArn && gone.some((r) => r.arn !== undefined && arnKey(r.arn) === arnKey(callerArn))) return `it would remove your own access (${callerArn})`;
  return undefined;
}

export async function awsAuthRevoke(
  store: AwsAuthStore,
  cluster: ClusterAccess,
  principals: readonly ResolvedPrincipal[],
  opts: { groups: readonly string[]; dryRun: boolean; caller: CallerIdentity | undefined; onlyIfPresent: boolean },
): Promise<AwsAuthChange> {
  const changes: PrincipalChange[] = [];
  const callerArn = opts.caller ? canonicalArn(opts.caller.arn) : undefined;
  const awsAuth = await change(store, opts.dryRun, (data) => {
    changes.length = 0;
    const all = parseAwsAuth(data).rows;
    let next: Record<string, string> = { ...data };
    const goneRows: AwsAuthRow[] = [];
    for (const p of principals) {
      const arn = awsAuthArn(p);
      const mine = all.filter((r) => r.arn !== undefined && (arnKey(r.arn) === arnKey(arn) || arnKey(r.arn) === arnKey(p.arn)));
      if (!mine.length) {
        if (!opts.onlyIfPresent) changes.push({ principal: p.arn, from: p.from, backend: "aws-auth", writtenAs: arn, steps: [], notes: [`aws-auth has no row for ${arn}`] });
        continue;
      }
      goneRows.push(...mine);
      if (opts.groups.length) {
        const last = mine[mine.length - 1]!;
        const kept = last.groups.filter((g) => !opts.groups.includes(g));
        const r = upsertMapping(next, { arn: last.arn!, username: last.username ?? "", groups: kept, kind: last.kind === "mapUsers" ? "mapUsers" : "mapRoles" });
        if (!r.ok) throw refused(r);
        next = r.data;
        changes.push({ principal: p.arn, from: p.from, backend: "aws-auth", writtenAs: last.arn!, steps: r.action === "unchanged" ? [] : [{ text: `remove group${opts.groups.length > 1 ? "s" : ""} ${opts.groups.join(", ")} from the ${last.kind} row of ${last.arn}` }], notes: [] });
      } else {
        const r = removeRows(next, (row) => mine.some((m) => m.kind === row.kind && m.index === row.index));
        if (!r.ok) throw refused(r);
        next = r.data;
        changes.push({ principal: p.arn, from: p.from, backend: "aws-auth", writtenAs: arn, steps: r.removed.map((row) => ({ text: `remove the ${row.kind} row of ${row.arn} (line ${row.line})` })), notes: [] });
      }
    }
    // without a caller (--force) there is no guard
    const why = opts.caller ? lockout(all, goneRows, callerArn, opts.groups) : undefined;
    if (why) throw new EksAccessError("refused", `refusing to change aws-auth of cluster ${cluster.name}: ${why}`, { hint: "nothing was changed; add --force if you mean it" });
    return goneRows.length ? next : "unchanged";
  });
  return { changes, awsAuth };
}
