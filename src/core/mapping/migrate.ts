/**
 * aws-auth → access entries (pure): what each aws-auth row becomes, what is already done, what
 * cannot be carried over and why; and the proof afterwards that every migrated principal gets the
 * same username and groups from its access entry as from aws-auth.
 *
 * The rules (EKS user guide: "Create access entries", "Set a custom username for EKS access
 * entries", "Migrating existing aws-auth ConfigMap entries to access entries"):
 *  - Only rows the authenticator uses are migrated: aws-auth's last row for an ARN wins and mapRoles
 *    comes before mapUsers (effectiveMappings); a row that never matches anyone (a session ARN, a
 *    role path) is skipped, since an entry for it would give access nobody had.
 *  - The entry's principal is the IAM ARN as IAM has it, path included (aws-auth role ARNs have
 *    none); the principal must exist (CreateAccessEntry needs it).
 *  - Node roles become node-type entries, whose username and groups EKS fixes:
 *    `system:node:{{EC2PrivateDNSName}}` → EC2_LINUX, or EC2_WINDOWS when the groups include
 *    eks:kube-proxy-windows; `system:node:{{SessionName}}` → FARGATE_LINUX with
 *    system:node-proxier, else HYBRID_LINUX. Only roles of the cluster's account; a row giving
 *    groups beyond the type's fixed ones cannot be carried over.
 *  - Everything else becomes a STANDARD entry with the row's username (access entries accept only
 *    `{{SessionName}}` and `{{SessionNameRaw}}`, each after a colon, and no system:, eks:, aws:,
 *    amazon:, iam: prefix) and its groups as kubernetesGroups, bound by the RBAC already there.
 *    system:masters becomes AmazonEKSClusterAdminPolicy, cluster-wide; system:authenticated is
 *    dropped (every authenticated caller has it); any other system: group, a group template or an
 *    unsupported username cannot be carried over: it is reported, never silently changed.
 *  - mapAccounts (every identity of an account) has no access-entry form, nor a service-linked role
 *    (path /aws-service-role/).
 *  - An entry that already exists is compared, not overwritten: one giving what the row gives is
 *    done (a missing policy is associated: a run stopped halfway resumes); one giving something
 *    else is left alone (it already wins over aws-auth in API_AND_CONFIG_MAP); one whose principal
 *    was re-created matches no one and is re-made.
 */
import { ACCESS_POLICY_ARN_PREFIX } from "../access-policies.js";
import { policyName, scopeText, type AccessEntryStep, type AccessScope, type AssociatedPolicy } from "../access-entry-plan.js";
import { parseArn } from "../arn.js";
import { nodeGroups, type AccessEntryView } from "../dynamic-file.js";
import { isNodeRow, type AwsAuthRow } from "./aws-auth.js";
import { liveEntries, lookupOf, type EntryRecord, type IamRecord, type Inventory } from "./inventory.js";
import { backendsForMode, effectiveMappings, resolveWithBackends, type CallerIdentity, type EffectiveMapping, type MappingSources, type Resolution } from "./resolve.js";
import { accessEntryGroupProblem, accessEntryUsernameProblem } from "./templates.js";

const NODE_EC2 = "system:node:{{EC2PrivateDNSName}}";
const NODE_SESSION = "system:node:{{SessionName}}";
const MASTERS = "system:masters";
const AUTHENTICATED = "system:authenticated";

export const clusterAdminPolicyArn = (partition = "aws"): string => `${ACCESS_POLICY_ARN_PREFIX.replace(/^arn:aws:/, `arn:${partition}:`)}AmazonEKSClusterAdminPolicy`;

/** The access entry that gives a principal what its aws-auth row gives. */
export interface EntryEquivalent {
  type: string;
  /** the username to create the entry with; undefined for node types (EKS sets its own) */
  username?: string | undefined;
  kubernetesGroups: string[];
  policies: AssociatedPolicy[];
  /** what the authenticator will answer for it (templates unrendered) */
  identity: { username: string; groups: string[] };
  /** each deliberate difference from the row, one line each */
  notes: string[];
}

export type Translation = { ok: true; want: EntryEquivalent } | { ok: false; reason: string };

/** The access entry equivalent of one aws-auth row's username and groups, or why there is none. */
export function entryEquivalent(row: Pick<AwsAuthRow, "username" | "groups">, principal: Pick<IamRecord, "type" | "account" | "arn">, clusterAccount: string): Translation {
  const username = row.username ?? "";
  const groups = [...new Set(row.groups)];
  if (username === NODE_EC2 || username === NODE_SESSION) {
    const type = username === NODE_EC2 ? (groups.includes("eks:kube-proxy-windows") ? "EC2_WINDOWS" : "EC2_LINUX") : groups.includes("system:node-proxier") ? "FARGATE_LINUX" : "HYBRID_LINUX";
    if (principal.type !== "role") return { ok: false, reason: `a node mapping (username ${username}) for an IAM user: ${type} access entries take an IAM role` };
    if (principal.account !== clusterAccount) return { ok: false, reason: `a node role of account ${principal.account}: ${type} access entries need a role of the cluster's account ${clusterAccount}` };
    const fixed = nodeGroups(type)!;
    const extra = groups.filter((g) => !fixed.includes(g));
    if (extra.length) return { ok: false, reason: `${type} access entries have EKS's fixed groups (${fixed.join(", ")}); this row also gives ${extra.join(", ")}, which a node entry can't` };
    const notes = [`node role → ${type} access entry (EKS sets its username ${username} and groups ${fixed.join(", ")})`];
    for (const g of fixed.filter((x) => !groups.includes(x))) notes.push(`gains ${g} (one of EKS's fixed ${type} groups)`);
    return { ok: true, want: { type, kubernetesGroups: [], policies: [], identity: { username, groups: fixed }, notes } };
  }
  if (isNodeRow({ username, groups })) {
    return { ok: false, reason: `node groups with username ${username || "(none)"}: node access entries always use EKS's ${NODE_EC2} or ${NODE_SESSION}, and STANDARD entries can't hold system: groups` };
  }
  if (username === "") return { ok: false, reason: "no username: give the row one first (an access entry would get EKS's default, another identity)" };
  const userProblem = accessEntryUsernameProblem(username);
  if (userProblem) return { ok: false, reason: userProblem };
  const kubernetesGroups: string[] = [];
  const policies: AssociatedPolicy[] = [];
  const notes: string[] = [];
  for (const g of groups) {
    if (g === MASTERS) {
      policies.push({ policyArn: clusterAdminPolicyArn(parseArn(principal.arn)?.partition), accessScope: { type: "cluster", namespaces: [] } });
      notes.push(`${MASTERS} → AmazonEKSClusterAdminPolicy, cluster-wide (access entries can't hold system: groups)`);
    } else if (g === AUTHENTICATED) {
      notes.push(`${AUTHENTICATED} dropped (every authenticated caller has it)`);
    } else {
      const problem = accessEntryGroupProblem(g);
      if (problem) return { ok: false, reason: `${problem}${g.startsWith("system:") ? "; no access policy stands for it" : ""}` };
      kubernetesGroups.push(g);
    }
  }
  return { ok: true, want: { type: "STANDARD", username, kubernetesGroups, policies, identity: { username, groups: kubernetesGroups }, notes } };
}

export type MigrationAction =
  /** no entry yet: create it (and associate its policies) */
  | "create"
  /** the entry exists as wanted but lacks a policy (a run stopped halfway): associate it */
  | "complete"
  /** an entry exists but matches no one (its principal was re-created): delete and create it */
  | "recreate"
  /** the entry gives what the row gives */
  | "done"
  /** an entry giving something else exists: left alone (it already wins over aws-auth) */
  | "keep-entry"
  /** the row has no effect (a later duplicate wins, or it never matches): nothing to migrate */
  | "skip"
  /** no access-entry equivalent */
  | "cannot";

export const MIGRATION_ACTIONS: readonly MigrationAction[] = ["create", "complete", "recreate", "done", "keep-entry", "skip", "cannot"];

export interface MigrationItem {
  key: AwsAuthRow["kind"];
  line: number;
  /** the row's ARN (mapAccounts: the account) */
  arn: string;
  rowUsername?: string | undefined;
  rowGroups: string[];
  action: MigrationAction;
  /** the access entry's principal (the IAM ARN, path included) */
  principalArn?: string | undefined;
  want?: EntryEquivalent | undefined;
  steps: AccessEntryStep[];
  /** one line: why this action */
  reason: string;
  notes: string[];
}

export interface MigrationPlan {
  cluster: string;
  region: string;
  mode: Inventory["cluster"]["mode"];
  items: MigrationItem[];
  counts: Record<MigrationAction, number>;
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => {
  const x = new Set(a);
  const y = new Set(b);
  return x.size === y.size && [...x].every((v) => y.has(v));
};

/** Does `current` (an associated scope) already cover `wanted`? */
function covers(current: AccessScope, wanted: AccessScope): boolean {
  if (current.type === "cluster") return true;
  return wanted.type === "namespace" && wanted.namespaces.every((n) => current.namespaces.includes(n));
}

function createSteps(principalArn: string, want: EntryEquivalent): AccessEntryStep[] {
  return [
    { op: "create", principalArn, type: want.type, username: want.username, kubernetesGroups: want.kubernetesGroups },
    ...want.policies.map((p): AccessEntryStep => ({ op: "associate", principalArn, policyArn: p.policyArn, scope: p.accessScope })),
  ];
}

/** How an existing entry differs from the wanted one (type, username, groups), one line each; [] when it does not. */
function entryDifferences(record: EntryRecord, want: EntryEquivalent): string[] {
  const e = record.entry;
  if (e.type !== want.type) return [`it is a ${e.type} entry, not ${want.type}`];
  if (want.type !== "STANDARD") return [];
  const out: string[] = [];
  if (e.username !== want.username) out.push(`username ${e.username}, not ${want.username}`);
  if (!sameSet(e.kubernetesGroups, want.kubernetesGroups)) out.push(`groups ${e.kubernetesGroups.join(", ") || "(none)"}, not ${want.kubernetesGroups.join(", ") || "(none)"}`);
  return out;
}

function item(row: AwsAuthRow, action: MigrationAction, reason: string, more: Partial<MigrationItem> = {}): MigrationItem {
  return { key: row.kind, line: row.line, arn: row.kind === "mapAccounts" ? (row.account ?? "") : (row.arn ?? ""), rowUsername: row.username, rowGroups: row.groups, action, reason, steps: [], notes: [], ...more };
}

/** The migration of every aws-auth row, in aws-auth's order (mapRoles, mapUsers, mapAccounts). */
export function planMigration(inv: Inventory): MigrationPlan {
  const rows = inv.parsed.rows;
  const inAwsAuth = new Map(effectiveMappings({ mode: "CONFIG_MAP", awsAuth: rows }).map((e) => [e.row, e] as const));
  const entries = new Map(inv.entries.map((r) => [r.entry.principalArn.toLowerCase(), r] as const));
  const items = rows.map((row) => planRow(inv, row, inAwsAuth.get(row), entries));
  const counts = Object.fromEntries(MIGRATION_ACTIONS.map((a) => [a, 0])) as Record<MigrationAction, number>;
  for (const i of items) counts[i.action]++;
  return { cluster: inv.cluster.name, region: inv.cluster.region, mode: inv.cluster.mode, items, counts };
}

function planRow(inv: Inventory, row: AwsAuthRow, eff: EffectiveMapping | undefined, entries: ReadonlyMap<string, EntryRecord>): MigrationItem {
  if (row.kind === "mapAccounts") {
    if (!eff?.effective) return item(row, "skip", `mapAccounts line ${row.line}: "${row.account ?? ""}" is not a 12-digit account id, so it admits no one`);
    return item(row, "cannot", `mapAccounts admits every identity of account ${row.account} (as its ARN, no groups); access entries name one principal each: grant the ones that need access`);
  }
  if (!eff?.effective) return item(row, "skip", `no effect in aws-auth: ${eff?.reason ?? "not read"}`);
  const lookup = lookupOf(inv, row.arn);
  if (lookup === undefined || lookup.state === "unknown") return item(row, "cannot", `IAM could not be asked about ${row.arn}${lookup ? `: ${lookup.error}` : ""}`);
  if (lookup.state === "missing") return item(row, "cannot", `${row.arn} does not exist in IAM: an access entry needs an existing principal (this row lets in whoever creates it)`);
  const p = lookup.principal;
  // a user's ARN is compared with its path: a row naming another path never matched this user
  if (p.type === "user" && p.arn.toLowerCase() !== (row.arn ?? "").toLowerCase()) return item(row, "skip", `no effect in aws-auth: IAM has this user as ${p.arn}, and aws-auth compares a user's ARN with its path`);
  const principalArn = p.arn;
  // EKS user guide, "Create access entries": access entries do not support service-linked roles
  if (p.type === "role" && p.path.startsWith("/aws-service-role/")) return item(row, "cannot", `${principalArn} is a service-linked role: EKS makes no access entry for one`, { principalArn });
  const t = entryEquivalent(row, p, inv.cluster.account);
  if (!t.ok) return item(row, "cannot", t.reason, { principalArn });
  const want = t.want;
  const notes = [...want.notes];
  if (p.path !== "/") notes.unshift(`principal ${principalArn}: the IAM path ${p.path} is kept (access entries take the IAM ARN as is; aws-auth can't hold it)`);
  const existing = entries.get(principalArn.toLowerCase());
  if (!existing) return item(row, "create", `no access entry for ${principalArn} yet`, { principalArn, want, notes, steps: createSteps(principalArn, want) });
  if (!existing.binding.bound) {
    if (existing.binding.code === "unknown") return item(row, "cannot", `the access entry of ${principalArn} could not be checked: ${existing.binding.why}`, { principalArn, want, notes });
    return item(row, "recreate", `the access entry of ${principalArn} matches no one (${existing.binding.why})`, {
      principalArn,
      want,
      notes,
      steps: [{ op: "delete", principalArn }, ...createSteps(principalArn, want)],
    });
  }
  const differs = entryDifferences(existing, want);
  if (differs.length) {
    return item(row, "keep-entry", `an access entry for ${principalArn} already exists and differs (${differs.join("; ")}); it already decides this principal's identity before aws-auth, so migrate leaves it`, { principalArn, want, notes });
  }
  const missing = want.policies.filter((w) => !existing.entry.policies.some((h) => h.policyArn === w.policyArn && covers(h.accessScope, w.accessScope)));
  for (const extra of existing.entry.policies.filter((h) => !want.policies.some((w) => w.policyArn === h.policyArn))) notes.push(`the entry also has ${policyName(extra.policyArn)} ${scopeText(extra.accessScope)} (kept)`);
  if (missing.length) {
    return item(row, "complete", `the access entry of ${principalArn} exists without ${missing.map((m) => policyName(m.policyArn)).join(", ")}`, {
      principalArn,
      want,
      notes,
      steps: missing.map((m): AccessEntryStep => ({ op: "associate", principalArn, policyArn: m.policyArn, scope: m.accessScope })),
    });
  }
  return item(row, "done", `the access entry of ${principalArn} already gives what this row gives`, { principalArn, want, notes });
}

// ─── verify ─────────────────────────────────────────────────────────────────────────────────────

export type VerifyStatus =
  /** the same username and groups from the access entry as from aws-auth */
  | "same"
  /** the same but for the deliberate translations the plan lists (system:masters → policy, …) */
  | "equivalent"
  /** the access entry gives something else */
  | "differs"
  /** the row can be migrated but no access entry matches the principal yet */
  | "missing"
  /** the row has no access-entry equivalent: the identity is lost in API mode */
  | "not-migratable";

export interface Identity {
  username: string;
  groups: string[];
}

export interface VerifyItem {
  key: AwsAuthRow["kind"];
  line: number;
  arn: string;
  principalArn?: string | undefined;
  status: VerifyStatus;
  /** as the caller the check used (sampleCaller) */
  caller?: string | undefined;
  /** from aws-auth alone (CONFIG_MAP semantics) */
  before?: Identity | undefined;
  /** from the access entries alone (API semantics) */
  after?: Identity | undefined;
  /** one line each */
  differences: string[];
  notes: string[];
}

export interface Verification {
  cluster: string;
  region: string;
  mode: Inventory["cluster"]["mode"];
  items: VerifyItem[];
  /** every migratable identity is the same (or equivalent) from its access entry */
  ok: boolean;
  counts: Record<VerifyStatus, number>;
}

/** Resolves many callers over the same sources: the backends are indexed once. */
function resolver(sources: MappingSources): (identity: CallerIdentity) => Resolution {
  const backends = backendsForMode(sources);
  return (identity) => resolveWithBackends(identity, backends, {}, `mode ${sources.mode}`);
}

const VERIFY_SESSION = "eks-access-verify@example.com";
const VERIFY_INSTANCE = "i-0123456789abcdef0";
const VERIFY_PRIVATE_DNS = "ip-192-0-2-10.ec2.internal";

/**
 * A caller as the principal would present itself: a role session (named with an `@`, so
 * {{SessionName}} and {{SessionNameRaw}} render differently; an EC2 instance id for node roles)
 * or the user itself.
 */
export function sampleCaller(p: IamRecord, ec2Node: boolean): CallerIdentity {
  if (p.type === "user") return { arn: p.arn, account: p.account, userId: p.uniqueId, accessKeyId: "AKIAEKSACCESSVERIFY0" };
  const session = ec2Node ? VERIFY_INSTANCE : VERIFY_SESSION;
  const partition = parseArn(p.arn)?.partition ?? "aws";
  return {
    arn: `arn:${partition}:sts::${p.account}:assumed-role/${p.name}/${session}`,
    account: p.account,
    userId: `${p.uniqueId}:${session}`,
    accessKeyId: "ASIAEKSACCESSVERIFY0",
    ...(ec2Node ? { ec2PrivateDnsName: VERIFY_PRIVATE_DNS } : {}),
  };
}

const identityOf = (r: Resolution): Identity | undefined => (r.mapped ? { username: r.username, groups: r.groups } : undefined);

function differences(from: Identity | undefined, to: Identity | undefined): string[] {
  if (!from || !to) return [from ? "no identity from the access entries" : "no identity from aws-auth"];
  const out: string[] = [];
  if (from.username !== to.username) out.push(`username ${from.username} → ${to.username}`);
  const lost = from.groups.filter((g) => !to.groups.includes(g));
  const gained = to.groups.filter((g) => !from.groups.includes(g));
  if (lost.length || gained.length) out.push(`groups ${[...lost.map((g) => `-${g}`), ...gained.map((g) => `+${g}`)].join(" ")}`);
  return out;
}

const VERIFIED: readonly MigrationAction[] = ["create", "complete", "recreate", "done", "keep-entry", "cannot"];
export const VERIFY_STATUSES: readonly VerifyStatus[] = ["same", "equivalent", "differs", "missing", "not-migratable"];

/**
 * For each principal aws-auth gives an identity, resolves a sample caller of it twice, as the
 * authenticator would (resolveIdentity): from aws-auth alone, and from the live access entries
 * alone — what it gets before and after the switch to API — and compares them, allowing only the
 * translations the plan states (system:masters → AmazonEKSClusterAdminPolicy must then be
 * associated cluster-wide).
 */
export function verifyMigration(inv: Inventory, plan: MigrationPlan = planMigration(inv)): Verification {
  const rows = inv.parsed.rows;
  const live = liveEntries(inv);
  const before = resolver({ mode: "CONFIG_MAP", awsAuth: rows });
  const after = resolver({ mode: "API", accessEntries: live.map((l) => l.view) });
  const entryOf = new Map(live.map((l) => [l.view.principalArn.toLowerCase(), l.view] as const));
  const items: VerifyItem[] = [];
  for (const it of plan.items) {
    if (!VERIFIED.includes(it.action)) continue;
    const base = { key: it.key, line: it.line, arn: it.arn, principalArn: it.principalArn, differences: [] as string[], notes: [...it.notes] };
    const lookup = lookupOf(inv, it.key === "mapAccounts" ? undefined : it.arn);
    if (lookup?.state !== "found") {
      items.push({ ...base, status: "not-migratable", notes: [it.reason] });
      continue;
    }
    const p = lookup.principal;
    const entry = entryOf.get(p.arn.toLowerCase());
    const ec2Node = (it.rowUsername ?? "").includes("{{EC2PrivateDNSName}}") || (entry?.type ?? "").startsWith("EC2") || (entry?.username ?? "").includes("{{EC2PrivateDNSName}}");
    const caller = sampleCaller(p, ec2Node);
    const was = identityOf(before(caller));
    const now = identityOf(after(caller));
    const found = { ...base, caller: caller.arn, before: was, after: now };
    if (it.action === "cannot") {
      if (!now) items.push({ ...found, status: "not-migratable", notes: [it.reason] });
      else {
        const d = differences(was, now);
        items.push({ ...found, status: d.length ? "differs" : "same", differences: d, notes: [it.reason, "an access entry gives this principal an identity anyway"] });
      }
      continue;
    }
    if (!now) {
      items.push({ ...found, status: "missing", differences: differences(was, now), notes: [...base.notes, it.action === "recreate" ? "its access entry matches no one: re-create it (eks-access migrate apply)" : "no access entry matches it: eks-access migrate apply"] });
      continue;
    }
    const d = differences(was, now);
    if (d.length === 0) {
      items.push({ ...found, status: "same" });
      continue;
    }
    // the deliberate translations: what the wanted entry would give, resolved the same way
    const want = it.want!;
    const wantedView: AccessEntryView = { principalArn: p.arn, principalId: p.uniqueId, username: want.username ?? want.identity.username, kubernetesGroups: want.kubernetesGroups, type: want.type, policies: want.policies };
    const expected = identityOf(resolver({ mode: "API", accessEntries: [wantedView] })(caller));
    const unexpected = differences(expected, now);
    const lostPolicy = want.policies.filter((w) => !entry?.policies.some((h) => h.policyArn === w.policyArn && covers(h.accessScope, w.accessScope)));
    if (unexpected.length === 0 && lostPolicy.length === 0) {
      items.push({ ...found, status: "equivalent", differences: d });
      continue;
    }
    const more = lostPolicy.map((m) => `no ${policyName(m.policyArn)} ${scopeText(m.accessScope)} in place of ${MASTERS}`);
    const keep = it.action === "keep-entry" ? ["the entry already decides this identity before aws-auth (API_AND_CONFIG_MAP): the switch to API does not change it"] : [];
    items.push({ ...found, status: "differs", differences: [...d, ...more], notes: [...base.notes, ...keep] });
  }
  const counts = Object.fromEntries(VERIFY_STATUSES.map((s) => [s, 0])) as Record<VerifyStatus, number>;
  for (const i of items) counts[i.status]++;
  return { cluster: plan.cluster, region: plan.region, mode: plan.mode, items, ok: counts.differs + counts.missing + counts["not-migratable"] === 0, counts };
}

/**
 * The aws-auth rows that decide someone's identity now and that no access entry stands in for:
 * the identities the switch from API_AND_CONFIG_MAP to API takes away (mapAccounts included).
 * Rows shadowed by a live entry do not count (the entry already decides), nor rows that never
 * match.
 */
export function awsAuthOnlyRows(inv: Inventory): EffectiveMapping[] {
  const live = liveEntries(inv).map((l) => l.view);
  return effectiveMappings({ mode: "API_AND_CONFIG_MAP", awsAuth: inv.parsed.rows, accessEntries: live }).filter((e) => e.source === "aws-auth" && e.effective);
}
