/**
 * The aws-auth half of grant and revoke: edits of only the rows a principal owns (core/mapping),
 * written through the store's optimistic concurrency (the edit is re-run on fresh data after a
 * conflict, guards included), a unified diff for --dry-run and the report, and the lockout guards.
 *
 * Refused unless --force: removing the last system:masters mapping that can match anyone, a node
 * role (or its system:bootstrappers / system:nodes group), the caller's own rows; changing a node
 * role's username; editing aws-auth while one of its keys (mapRoles, mapUsers, mapAccounts) does
 * not parse (the authenticator ignores all of such a key; the refusal names its line).
 * What --force does NOT do: rewrite a key that does not parse. Its rows cannot be known, so a
 * splice could destroy them; with --force the keys that parse are edited and the broken one is
 * left byte-identical (a grant or revoke that needs the broken key itself stays refused: fix it
 * with kubectl edit, or bring a backup back with `eks-access aws-auth restore`).
 * A grant keeps the username of an existing row unless --username/--username-template is given.
 * Refusals are EksAccessError "cluster-state" (exit 1: what the cluster holds, not how the command
 * was typed), one line, with nothing written.
 */
import { canonicalArn } from "../core/arn.js";
import { EksAccessError } from "../core/errors.js";
import { arnKey, isNodeRow, kindFor, parseAwsAuth, removeRows, upsertMapping, type AwsAuthIssue, type AwsAuthRow, type EditRefused } from "../core/mapping/aws-auth.js";
import { templateProblem } from "../core/mapping/templates.js";
import { neverMatches } from "../core/mapping/resolve.js";
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

const FIX_KEY = "fix it with kubectl -n kube-system edit configmap aws-auth, or bring a backup back with eks-access aws-auth restore";

/** An edit of the key that does not parse: refused even with --force. */
const refused = (r: EditRefused, cluster: ClusterAccess): EksAccessError =>
  new EksAccessError("cluster-state", `kube-system/aws-auth of cluster ${cluster.name}: ${r.key} line ${r.line} does not parse, and this change has to edit ${r.key}; nothing was changed`, {
    hint: `${FIX_KEY} --cluster ${cluster.name} (--force does not rewrite a key that does not parse: its rows cannot be known)`,
  });

/** The keys the authenticator ignores entirely because they do not parse. */
const brokenKeys = (data: Readonly<Record<string, string>>): AwsAuthIssue[] => parseAwsAuth(data).issues.filter((i) => i.code === "yaml-syntax" || i.code === "not-a-list");

/**
 * Without --force, refuses an edit of an aws-auth with a key that does not parse; with --force,
 * the data the edit may touch (the broken keys taken out) and how to put them back unchanged.
 */
function parseableOnly(data: Readonly<Record<string, string>>, cluster: ClusterAccess, force: boolean): { data: Record<string, string>; broken: AwsAuthIssue[]; putBack(next: Record<string, string>): Record<string, string> } {
  const broken = brokenKeys(data);
  if (broken.length && !force) {
    const b = broken[0]!;
    throw new EksAccessError("cluster-state", `refusing to edit kube-system/aws-auth of cluster ${cluster.name}: ${b.message}; nothing was changed`, {
      hint: `${FIX_KEY} --cluster ${cluster.name}; or add --force to edit the keys that parse and leave ${broken.map((i) => i.key).join(", ")} as it is`,
    });
  }
  const gone = new Set(broken.map((i) => i.key));
  const editable = Object.fromEntries(Object.entries(data).filter(([k]) => !gone.has(k)));
  return { data: editable, broken, putBack: (next) => ({ ...next, ...Object.fromEntries(Object.entries(data).filter(([k]) => gone.has(k))) }) };
}

const brokenNote = (i: AwsAuthIssue): string => `${i.message} (left as it is: --force edits only the keys that parse)`;

/**
 * Runs `edit` as a dry run (read — or take the `read` data the caller already has —, compute, diff)
 * or for real (the store's conflict-safe update, which re-reads on conflict).
 */
export async function editAwsAuth(
  store: AwsAuthStore,
  dryRun: boolean,
  edit: (data: Readonly<Record<string, string>>) => Record<string, string> | "unchanged",
  read?: Readonly<Record<string, string>>,
): Promise<AwsAuthChange["awsAuth"]> {
  if (dryRun) {
    const before = read ?? (await store.read())?.data ?? {};
    const after = edit(before);
    return { diff: after === "unchanged" ? "" : dataDiff(before, after), conflicts: 0 };
  }
  const w = await store.update((current) => edit(current?.data ?? {}));
  const created = w.before === undefined && w.after !== undefined;
  return { diff: dataDiff(w.before?.data ?? {}, w.after?.data ?? {}), backupPath: w.backupPath, conflicts: w.conflicts, ...(created ? { created } : {}) };
}

const union = (a: readonly string[], b: readonly string[]): string[] => [...a, ...b.filter((x) => !a.includes(x))];
export const sameData = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean => Object.keys(a).length === Object.keys(b).length && Object.keys(a).every((k) => a[k] === b[k]);

/** Why a username or group cannot go into aws-auth, or undefined. */
function awsAuthValueProblem(what: "--username" | "--group", value: string): string | undefined {
  if (value.trim() === "") return `${what} is empty: ${what === "--username" ? "the authenticator would answer an empty user name, which RBAC cannot bind" : "an empty group binds nothing"}`;
  const t = templateProblem(value);
  return t ? `${what} ${value}: ${t}` : undefined;
}

export interface AwsAuthGrantItem {
  p: ResolvedPrincipal;
  /** what to write for a new row (and for an existing one when `explicit`) */
  username: string;
  /** --username or --username-template was given: an existing row's username is changed to it */
  explicit: boolean;
}

export async function awsAuthGrant(store: AwsAuthStore, cluster: ClusterAccess, items: readonly AwsAuthGrantItem[], opts: { groups: readonly string[]; dryRun: boolean; force: boolean }): Promise<AwsAuthChange> {
  const problem = [...items.filter((i) => i.explicit).map((i) => awsAuthValueProblem("--username", i.username)), ...opts.groups.map((g) => awsAuthValueProblem("--group", g))].find((x) => x !== undefined);
  if (problem) throw new EksAccessError("usage", problem, { hint: "nothing was changed" });
  const changes: PrincipalChange[] = [];
  const awsAuth = await editAwsAuth(store, opts.dryRun, (data) => {
    changes.length = 0; // re-run after a conflict: report the last run only
    const { data: editable, broken, putBack } = parseableOnly(data, cluster, opts.force);
    let next: Record<string, string> = { ...editable };
    for (const { p, username: asked, explicit } of items) {
      const arn = awsAuthArn(p);
      const kind = kindFor(arn);
      const b = broken.find((i) => i.key === kind);
      if (b) throw refused({ ok: false, key: kind, line: b.line, message: b.message }, cluster);
      const rows = parseAwsAuth(next).rows.filter((r) => r.arn !== undefined && arnKey(r.arn) === arnKey(arn));
      const current = rows[rows.length - 1];
      const username = current && !explicit && (current.username ?? "") !== "" ? current.username! : asked;
      const groups = union(current?.groups ?? [], opts.groups);
      if (current && isNodeRow(current) && username !== current.username && !opts.force) {
        throw new EksAccessError("refused", `refusing to change aws-auth of cluster ${cluster.name}: ${arn} is a node role (username ${current.username}); a username of ${username} stops its nodes from joining`, {
          hint: "nothing was changed; leave --username out to keep it, or add --force if you mean it",
        });
      }
      const r = upsertMapping(next, { arn, username, groups });
      if (!r.ok) throw refused(r, cluster);
      next = r.data;
      const steps =
        r.action === "unchanged"
          ? []
          : [{ text: `${r.action === "added" ? "add" : "update"} the ${r.kind} row of ${arn} (username ${username}, groups ${groups.join(", ") || "(none)"})${r.removedDuplicates.length ? `, removing ${r.removedDuplicates.length} earlier duplicate${r.removedDuplicates.length > 1 ? "s" : ""} that never counted` : ""}` }];
      const notes = r.action === "unchanged" ? [`aws-auth already maps ${arn} as ${username} with groups ${groups.join(", ") || "(none)"}`] : [];
      if (current && !explicit && username !== asked) notes.push(`kept the row's username ${username} (--username changes it)`);
      if (arn !== p.arn) notes.push(`written without the role's path ${p.path} (aws-auth never matches a path)`);
      notes.push(...broken.map(brokenNote));
      changes.push({ principal: p.arn, from: p.from, backend: "aws-auth", writtenAs: arn, username, steps, notes });
    }
    const out = putBack(next);
    return sameData(data, out) ? "unchanged" : out;
  });
  return { changes, awsAuth };
}

const MASTERS = "system:masters";
const NODE_GROUPS = ["system:bootstrappers", "system:nodes"];

/** Why removing `gone` (or, with `groupsOnly`, those groups of it) from `all` would lock people out, or undefined. */
function lockout(all: readonly AwsAuthRow[], gone: readonly AwsAuthRow[], callerArn: string | undefined, groupsOnly: readonly string[]): string | undefined {
  const goneSet = new Set(gone);
  const node = gone.find((r) => isNodeRow(r) && (!groupsOnly.length || groupsOnly.some((g) => NODE_GROUPS.includes(g) && r.groups.includes(g))));
  if (node) return `${node.arn} is a node role (username ${node.username}): ${groupsOnly.length ? `removing ${groupsOnly.filter((g) => NODE_GROUPS.includes(g)).join(", ")} from it` : "removing it"} stops those nodes from joining`;
  const losesMasters = (r: AwsAuthRow): boolean => goneSet.has(r) && (!groupsOnly.length || groupsOnly.includes(MASTERS));
  // a masters row that can never match (a path, a session ARN) holds no one up
  const mastersLeft = all.filter((r) => r.kind !== "mapAccounts" && r.groups.includes(MASTERS) && !losesMasters(r) && !neverMatches(r.arn));
  if (gone.some((r) => r.groups.includes(MASTERS) && losesMasters(r)) && mastersLeft.length === 0) return `it would remove the last ${MASTERS} mapping of aws-auth that can match anyone`;
  if (callerArn && gone.some((r) => r.arn !== undefined && arnKey(r.arn) === arnKey(callerArn))) return `it would remove your own access (${callerArn})`;
  return undefined;
}

export async function awsAuthRevoke(
  store: AwsAuthStore,
  cluster: ClusterAccess,
  principals: readonly ResolvedPrincipal[],
  opts: { groups: readonly string[]; dryRun: boolean; caller: CallerIdentity | undefined; onlyIfPresent: boolean; force: boolean },
): Promise<AwsAuthChange> {
  const changes: PrincipalChange[] = [];
  const callerArn = opts.caller ? canonicalArn(opts.caller.arn) : undefined;
  const awsAuth = await editAwsAuth(store, opts.dryRun, (data) => {
    changes.length = 0;
    const { data: editable, broken, putBack } = parseableOnly(data, cluster, opts.force);
    const all = parseAwsAuth(editable).rows;
    let next: Record<string, string> = { ...editable };
    const goneRows: AwsAuthRow[] = [];
    for (const p of principals) {
      const arn = awsAuthArn(p);
      const mine = all.filter((r) => r.arn !== undefined && (arnKey(r.arn) === arnKey(arn) || arnKey(r.arn) === arnKey(p.arn)));
      const notes = broken.map((i) => `${i.key} does not parse (line ${i.line}): any row of ${arn} there was not removed (--force edits only the keys that parse)`);
      if (!mine.length) {
        if (!opts.onlyIfPresent || notes.length) changes.push({ principal: p.arn, from: p.from, backend: "aws-auth", writtenAs: arn, steps: [], notes: [`aws-auth has no row for ${arn}${broken.length ? " in the keys that parse" : ""}`, ...notes] });
        continue;
      }
      goneRows.push(...mine);
      if (opts.groups.length) {
        const last = mine[mine.length - 1]!;
        const kept = last.groups.filter((g) => !opts.groups.includes(g));
        const r = upsertMapping(next, { arn: last.arn!, username: last.username ?? "", groups: kept, kind: last.kind === "mapUsers" ? "mapUsers" : "mapRoles" });
        if (!r.ok) throw refused(r, cluster);
        next = r.data;
        changes.push({ principal: p.arn, from: p.from, backend: "aws-auth", writtenAs: last.arn!, steps: r.action === "unchanged" ? [] : [{ text: `remove group${opts.groups.length > 1 ? "s" : ""} ${opts.groups.join(", ")} from the ${last.kind} row of ${last.arn}` }], notes });
      } else {
        const r = removeRows(next, (row) => mine.some((m) => m.kind === row.kind && m.index === row.index));
        if (!r.ok) throw refused(r, cluster);
        next = r.data;
        changes.push({ principal: p.arn, from: p.from, backend: "aws-auth", writtenAs: arn, steps: r.removed.map((row) => ({ text: `remove the ${row.kind} row of ${row.arn} (line ${row.line})` })), notes });
      }
    }
    const why = opts.force ? undefined : lockout(all, goneRows, callerArn, opts.groups);
    if (why) throw new EksAccessError("refused", `refusing to change aws-auth of cluster ${cluster.name}: ${why}`, { hint: "nothing was changed; add --force if you mean it" });
    const out = putBack(next);
    return sameData(data, out) ? "unchanged" : out;
  });
  return { changes, awsAuth };
}
