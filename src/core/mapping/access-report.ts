/**
 * `access list` and `access check` over both systems at once (pure, from an Inventory):
 *  - list: everyone who can authenticate, one row per aws-auth mapping and per access entry, with
 *    whether the authenticator actually uses it (effectiveMappings: access entries first in
 *    API_AND_CONFIG_MAP, the last aws-auth duplicate wins, nothing from aws-auth in API mode, an
 *    entry whose principal was re-created matches no one), plus the cluster creator;
 *  - check: every problem with its cause and one command that fixes it — aws-auth's own
 *    (checkAwsAuth), access entries that match no one, aws-auth rows shadowed by an entry that
 *    gives something else, rows naming principals IAM does not have.
 */
import { policyName, scopeText, stepCommand, type AccessEntryStep, type AccessEntryState } from "../access-entry-plan.js";
import { nodeGroups } from "../dynamic-file.js";
import { checkAwsAuth, shellWord, type AwsAuthProblem, type CheckOptions, type ProblemCode, type Severity } from "./check.js";
import { bootstrapEntryOf, liveEntries, lookupOf, principalKey, type EntryRecord, type Inventory } from "./inventory.js";
import { entryEquivalent } from "./migrate.js";
import { effectiveMappings, type EffectiveMapping } from "./resolve.js";

export type AccessProblemCode =
  | ProblemCode
  | "entry-principal-deleted"
  | "entry-principal-replaced"
  | "entry-principal-recreated"
  | "iam-unreadable"
  | "entry-grants-nothing"
  | "row-principal-missing"
  | "row-shadowed-by-entry"
  | "aws-auth-only"
  | "aws-auth-ignored"
  | "aws-auth-unreadable";

export interface AccessProblem extends Omit<AwsAuthProblem, "code" | "key"> {
  code: AccessProblemCode;
  /** mapRoles, mapUsers, mapAccounts, accessEntries, or cluster */
  key: string;
}

const EDIT = "kubectl -n kube-system edit configmap aws-auth";

const commands = (inv: Inventory, steps: readonly AccessEntryStep[]): string => steps.map((s) => stepCommand(inv.cluster.name, inv.cluster.region, s)).join(" && ");

/** The steps that make an entry again as it is (for one whose principal was re-created). */
function remake(e: AccessEntryState, principalArn = e.principalArn): AccessEntryStep[] {
  const standard = e.type === "STANDARD";
  return [
    { op: "delete", principalArn: e.principalArn },
    { op: "create", principalArn, type: e.type, username: standard ? e.username : undefined, kubernetesGroups: standard ? e.kubernetesGroups : [] },
    ...e.policies.map((p): AccessEntryStep => ({ op: "associate", principalArn, policyArn: p.policyArn, scope: p.accessScope })),
  ];
}

/** Every problem of both systems, aws-auth's first (key and line order), then the access entries', then the cluster's. */
export function checkAccess(inv: Inventory, opts: Pick<CheckOptions, "region"> = {}): AccessProblem[] {
  const c = inv.cluster;
  const checkOpts: CheckOptions = { cluster: c.name, region: opts.region ?? c.region };
  const clusterFlags = `--cluster ${shellWord(c.name)} --region ${shellWord(checkOpts.region ?? c.region)}`;
  const problems: AccessProblem[] = [];
  const rows = inv.parsed.rows;
  const readsAwsAuth = c.mode !== "API";

  if (inv.awsAuth.state === "unreadable") {
    problems.push({ code: "aws-auth-unreadable", severity: readsAwsAuth ? "error" : "info", key: "cluster", line: 0, message: `kube-system/aws-auth could not be read: ${inv.awsAuth.error}`, fix: `eks-access access check ${clusterFlags} --context CONTEXT   # a kubeconfig context for this cluster` });
  } else if (readsAwsAuth) {
    problems.push(...checkAwsAuth(inv.parsed, checkOpts));
  } else if (rows.length > 0) {
    problems.push({ code: "aws-auth-ignored", severity: "info", key: "cluster", line: 0, message: `cluster ${c.name} is in API mode: EKS ignores all ${rows.length} aws-auth mapping${rows.length === 1 ? "" : "s"}`, fix: "kubectl -n kube-system delete configmap aws-auth   # once you no longer need it as a record" });
  }

  // rows that can match someone but name a principal IAM does not have (aws-auth matches by ARN: whoever creates it gets in)
  if (readsAwsAuth) {
    const inAwsAuth = effectiveMappings({ mode: "CONFIG_MAP", awsAuth: rows });
    for (const e of inAwsAuth) {
      if (!e.effective || !e.row || e.row.kind === "mapAccounts") continue;
      if (lookupOf(inv, e.row.arn)?.state !== "missing") continue;
      const where = `${e.row.kind} line ${e.row.line}`;
      problems.push({
        code: "row-principal-missing",
        severity: "warning",
        key: e.row.kind,
        line: e.row.line,
        arn: e.row.arn,
        message: `${where}: ${e.row.arn} does not exist in IAM — aws-auth matches by name, so whoever creates it later gets this access`,
        fix: `${EDIT}   # remove ${where}`,
      });
    }
  }

  // access entries that match no one
  const unknown = new Map<string, string[]>();
  for (const r of inv.entries) {
    const e = r.entry;
    const b = r.binding;
    const base = { key: "accessEntries", line: 0, arn: e.principalArn };
    if (b.bound) {
      if (e.type === "STANDARD" && e.kubernetesGroups.length === 0 && e.policies.length === 0) {
        problems.push({ ...base, code: "entry-grants-nothing", severity: "info", message: `the access entry of ${e.principalArn} has no Kubernetes group and no access policy: it authenticates, but only API discovery is allowed`, fix: `eks-access grant ${clusterFlags} --principal ${shellWord(e.principalArn)} --policy View   # or --group G bound by RBAC` });
      }
      continue;
    }
    if (b.code === "unknown") {
      unknown.set(b.why, [...(unknown.get(b.why) ?? []), e.principalArn]);
      continue;
    }
    const lookup = lookupOf(inv, e.principalArn);
    const now = lookup?.state === "found" ? lookup.principal.arn : undefined;
    const code = b.code === "missing" ? "entry-principal-deleted" : b.code === "other-principal" ? "entry-principal-replaced" : "entry-principal-recreated";
    const fix = b.code === "recreated" ? commands(inv, remake(e)) : b.code === "other-principal" && now ? commands(inv, remake(e, now)) : commands(inv, [{ op: "delete", principalArn: e.principalArn }]);
    problems.push({ ...base, code, severity: "error", message: `the access entry of ${e.principalArn} matches no one: ${b.why}`, fix });
  }
  // rows whose look-up failed, and entries that could not be checked, once per failure
  for (const l of rowLookupFailures(inv)) unknown.set(l.why, [...(unknown.get(l.why) ?? []), l.arn]);
  for (const [why, all] of unknown) {
    const arns = [...new Map(all.map((a) => [principalKey(a) ?? a, a] as const)).values()];
    problems.push({
      code: "iam-unreadable",
      severity: "warning",
      key: "cluster",
      line: 0,
      arn: arns[0],
      message: `${arns.length} principal${arns.length === 1 ? "" : "s"} could not be checked in IAM (${arns.slice(0, 3).join(", ")}${arns.length > 3 ? ", …" : ""}): ${why.replace(/^IAM could not be read: /, "")}`,
      fix: `eks-access access check ${clusterFlags} --lookup-role ROLE   # credentials that may call iam:GetRole and iam:GetUser in each account`,
    });
  }

  if (c.mode === "API_AND_CONFIG_MAP") {
    // rows shadowed by an entry that gives another identity: the row looks like it counts, but does not
    const live = liveEntries(inv);
    const recordOf = new Map(live.map((l) => [l.view, l.record] as const));
    const mapped = effectiveMappings({ mode: c.mode, awsAuth: rows, accessEntries: live.map((l) => l.view) });
    for (const e of mapped) {
      if (e.source !== "aws-auth" || !e.row || !e.shadowedByEntry) continue;
      const record = recordOf.get(e.shadowedByEntry)!;
      const lookup = lookupOf(inv, record.entry.principalArn);
      const principal = lookup?.state === "found" ? lookup.principal : undefined;
      if (principal && isEquivalent(e, record, principal, c.account)) continue;
      const where = `${e.row.kind} line ${e.row.line}`;
      const entry = record.entry;
      problems.push({
        code: "row-shadowed-by-entry",
        severity: "warning",
        key: e.row.kind,
        line: e.row.line,
        arn: e.row.arn,
        message: `${where} (username ${e.row.username ?? "(none)"}, groups ${e.row.groups.join(", ") || "(none)"}) has no effect: the access entry of ${entry.principalArn} comes first and gives ${entryText(entry)}`,
        fix: `eks-access revoke ${clusterFlags} --principal ${shellWord(entry.principalArn)} --backend aws-auth   # or make the entry give what the row gives`,
      });
    }
    // what awsAuthOnlyRows answers, from the mappings just made
    const only = mapped.filter((e) => e.source === "aws-auth" && e.effective).length;
    if (only > 0) {
      problems.push({
        code: "aws-auth-only",
        severity: "info",
        key: "cluster",
        line: 0,
        message: `${only} identit${only === 1 ? "y comes" : "ies come"} from aws-auth alone: ${only === 1 ? "it is" : "they are"} lost when the cluster switches to API`,
        fix: `eks-access migrate plan ${clusterFlags}`,
      });
    }
  }
  return problems;
}

/** What an entry gives, in one phrase. */
function entryText(e: AccessEntryState): string {
  const groups = nodeGroups(e.type) ?? [...e.kubernetesGroups];
  const policies = e.policies.map((p) => `${policyName(p.policyArn)} ${scopeText(p.accessScope)}`);
  return `username ${e.username}, groups ${groups.join(", ") || "(none)"}${policies.length ? `, ${policies.join(", ")}` : ""}`;
}

function isEquivalent(e: EffectiveMapping, record: EntryRecord, principal: Parameters<typeof entryEquivalent>[1], account: string): boolean {
  const t = entryEquivalent(e.row!, principal, account);
  if (!t.ok) return false;
  const have = record.entry;
  const want = t.want;
  if (have.type !== want.type) return false;
  if (want.type === "STANDARD" && (have.username !== want.username || have.kubernetesGroups.length !== want.kubernetesGroups.length || !want.kubernetesGroups.every((g) => have.kubernetesGroups.includes(g)))) return false;
  return want.policies.every((w) => have.policies.some((h) => h.policyArn === w.policyArn && h.accessScope.type === "cluster"));
}

function rowLookupFailures(inv: Inventory): Array<{ arn: string; why: string }> {
  const out: Array<{ arn: string; why: string }> = [];
  const seen = new Set<string>();
  for (const r of inv.parsed.rows) {
    if (r.kind === "mapAccounts" || r.arn === undefined) continue;
    const l = lookupOf(inv, r.arn);
    if (l?.state !== "unknown" || seen.has(r.arn.toLowerCase())) continue;
    seen.add(r.arn.toLowerCase());
    out.push({ arn: r.arn, why: `IAM could not be read: ${l.error}` });
  }
  return out;
}

/** True when any problem should fail a CI run (errors and warnings; info does not). */
export const failsAccessCheck = (problems: readonly Pick<AccessProblem, "severity">[]): boolean => problems.some((p) => p.severity !== "info");

// ─── list ───────────────────────────────────────────────────────────────────────────────────────

export interface AccessRow {
  /** the ARN as the system holds it (mapAccounts: the account id) */
  principal: string;
  source: "access-entry" | "mapRoles" | "mapUsers" | "mapAccounts" | "creator";
  /** aws-auth: the row's line in its key */
  line?: number | undefined;
  /** access entries: STANDARD, EC2_LINUX, … */
  type?: string | undefined;
  username: string;
  groups: string[];
  policies: Array<{ policy: string; scope: string }>;
  /** whether the authenticator uses this row or entry for its principal ("unknown": IAM could not tell) */
  used: "yes" | "no" | "unknown";
  /** one line: why it is used or not */
  why: string;
  /** the cluster creator's bootstrap entry, or the creator's mapping EKS keeps outside aws-auth */
  creator?: boolean | undefined;
  /** the codes of its problems (access check has the details and fixes) */
  problems: Array<{ code: AccessProblemCode; severity: Severity }>;
}

/** One row per aws-auth mapping and per access entry (entries first), with the problems `checkAccess` found. */
export function listAccess(inv: Inventory, problems: readonly AccessProblem[] = checkAccess(inv)): AccessRow[] {
  const c = inv.cluster;
  const live = liveEntries(inv);
  const recordOf = new Map(live.map((l) => [l.view, l.record] as const));
  const effective = effectiveMappings({ mode: c.mode, awsAuth: inv.parsed.rows, accessEntries: live.map((l) => l.view) });
  const byRow = new Map<string, AccessRow["problems"]>();
  const byEntry = new Map<string, AccessRow["problems"]>();
  for (const p of problems) {
    const target = p.key === "accessEntries" ? byEntry : byRow;
    const k = p.key === "accessEntries" ? (p.arn ?? "") : `${p.key} ${p.line}`;
    if (p.key === "cluster") continue;
    target.set(k, [...(target.get(k) ?? []), { code: p.code, severity: p.severity }]);
  }
  const out: AccessRow[] = [];
  if (c.mode === "CONFIG_MAP") {
    out.push({
      principal: "(the cluster creator)",
      source: "creator",
      username: "(set by EKS)",
      groups: ["system:masters"],
      policies: [],
      used: "yes",
      why: "EKS maps the IAM principal that created the cluster outside aws-auth; no API shows which one (CloudTrail's CreateCluster event does)",
      creator: true,
      problems: [],
    });
  }
  const bootstrap = bootstrapEntryOf(inv.entries.map((r) => r.entry), c);
  const entryRow = (r: EntryRecord, used: AccessRow["used"], why: string): AccessRow => {
    const e = r.entry;
    const creator = e === bootstrap;
    return {
      principal: e.principalArn,
      source: "access-entry",
      type: e.type,
      username: e.username,
      groups: nodeGroups(e.type) ?? [...e.kubernetesGroups],
      policies: e.policies.map((p) => ({ policy: policyName(p.policyArn), scope: scopeText(p.accessScope) })),
      used,
      why: creator ? `${why}; looks like the cluster creator's bootstrap entry (the first entry: EKS's default username, ClusterAdmin cluster-wide)` : why,
      ...(creator ? { creator } : {}),
      problems: byEntry.get(e.principalArn) ?? [],
    };
  };
  for (const e of effective) if (e.source === "access-entry") out.push(entryRow(recordOf.get(e.entry!)!, e.effective ? "yes" : "no", e.reason));
  for (const r of inv.entries) {
    if (r.binding.bound) continue;
    out.push(entryRow(r, r.binding.code === "unknown" ? "unknown" : "no", r.binding.code === "unknown" ? r.binding.why : `matches no one: ${r.binding.why}`));
  }
  for (const e of effective) {
    if (e.source !== "aws-auth" || !e.row) continue;
    const row = e.row;
    const lookup = row.kind === "mapAccounts" ? undefined : lookupOf(inv, row.arn);
    const missing = lookup?.state === "missing" && e.effective;
    out.push({
      principal: row.kind === "mapAccounts" ? (row.account ?? "") : (row.arn ?? "(no ARN)"),
      source: row.kind,
      line: row.line,
      username: row.kind === "mapAccounts" ? "(the caller's ARN)" : (row.username ?? ""),
      groups: [...row.groups],
      policies: [],
      used: e.effective ? "yes" : "no",
      why: missing ? `${e.reason}; but no such principal exists in IAM now` : e.reason,
      problems: byRow.get(`${row.kind} ${row.line}`) ?? [],
    });
  }
  return out;
}
