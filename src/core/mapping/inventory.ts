/**
 * Both of a cluster's identity systems read at once (pure types and helpers): its authentication
 * mode, aws-auth as the authenticator reads it, every access entry with its policies and whether
 * it still matches its principal, and IAM's view of each principal named in either. `access list`,
 * `access check`, `auth-mode set` and `migrate` all work from this one snapshot
 * (src/usecases/access-snapshot.ts reads it).
 */
import type { AccessEntryState, AuthenticationMode } from "../access-entry-plan.js";
import { parsePrincipal } from "../arn.js";
import type { AccessEntryView } from "../dynamic-file.js";
import { defaultAccessEntryUsername, entryBinding } from "../principal.js";
import type { AwsAuthRow, ParsedAwsAuth } from "./aws-auth.js";
import { neverMatches } from "./resolve.js";

/** An IAM role or user as IAM has it now (the PrincipalDirectory port's IamPrincipal has this shape). */
export interface IamRecord {
  type: "role" | "user";
  /** path included */
  arn: string;
  account: string;
  name: string;
  path: string;
  /** AROA… / AIDA… */
  uniqueId: string;
  /** ISO 8601 */
  createDate: string;
}

/** What the reports need of the cluster (the AccessEntryStore port's ClusterAccess has this shape). */
export interface ClusterInfo {
  name: string;
  region: string;
  account: string;
  mode: AuthenticationMode;
  /** DescribeCluster accessConfig.bootstrapClusterCreatorAdminPermissions, when known */
  bootstrapCreatorAdmin?: boolean | undefined;
}

/** IAM's answer for one principal: found, no such principal, or the look-up failed. */
export type PrincipalLookup = { state: "found"; principal: IamRecord } | { state: "missing" } | { state: "unknown"; error: string };

/**
 * Whether an entry matches its principal (core/principal.ts entryBinding: EKS binds an entry to
 * the unique id its principal had when the entry was made), with the unique id it matches; or why
 * it matches no one; or "unknown" when IAM could not be asked.
 */
export type EntryStatus = { bound: true; principalId: string } | { bound: false; code: "missing" | "other-principal" | "recreated" | "unknown"; why: string };

export interface EntryRecord {
  entry: AccessEntryState;
  binding: EntryStatus;
}

export type AwsAuthSource = { state: "present" } | { state: "absent" } | { state: "unreadable"; error: string };

export interface Inventory {
  cluster: ClusterInfo;
  awsAuth: AwsAuthSource;
  parsed: ParsedAwsAuth;
  /** every access entry (none in CONFIG_MAP mode: EKS has no access-entry API there) */
  entries: EntryRecord[];
  /** IAM's view of each principal, by principalKey */
  iam: ReadonlyMap<string, PrincipalLookup>;
}

/**
 * The key IAM look-ups are shared under: the principal's name (IAM finds roles and users by name,
 * so `role/Admin` and `role/team/Admin` are one look-up), lower-cased. Undefined for anything
 * that names no IAM role or user (a session ARN names its role).
 */
export function principalKey(arn: string): string | undefined {
  const p = parsePrincipal(arn.trim());
  if (p?.type === "assumed-role") return `arn:${p.partition}:iam::${p.account}:role/${p.roleName}`.toLowerCase();
  if (p?.type === "role" || p?.type === "user") return `arn:${p.partition}:iam::${p.account}:${p.type}/${p.name}`.toLowerCase();
  return undefined;
}

/** IAM's answer for an ARN, from the snapshot's look-ups. */
export function lookupOf(inv: Pick<Inventory, "iam">, arn: string | undefined): PrincipalLookup | undefined {
  const key = arn === undefined ? undefined : principalKey(arn);
  return key === undefined ? undefined : inv.iam.get(key);
}

/**
 * The ARNs whose principal IAM should be asked about, one per principalKey: aws-auth rows that can
 * match someone (a row that never matches needs no look-up) and every access entry.
 */
export function principalsToLookUp(rows: readonly AwsAuthRow[], entries: readonly Pick<AccessEntryState, "principalArn">[]): string[] {
  const out = new Map<string, string>();
  const add = (arn: string): void => {
    const key = principalKey(arn);
    if (key !== undefined && !out.has(key)) out.set(key, arn.trim());
  };
  for (const r of rows) if (r.kind !== "mapAccounts" && r.arn !== undefined && neverMatches(r.arn) === undefined) add(r.arn);
  for (const e of entries) add(e.principalArn);
  return [...out.values()];
}

/** An entry's binding from IAM's answer (see core/entry-binding.ts). */
export function statusOf(entry: AccessEntryState, lookup: PrincipalLookup | undefined): EntryStatus {
  if (lookup?.state === "unknown") return { bound: false, code: "unknown", why: `IAM could not be read: ${lookup.error}` };
  const now = lookup?.state === "found" ? lookup.principal : undefined;
  // an entry without createdAt (none from EKS) cannot be older than its principal
  const b = entryBinding({ principalArn: entry.principalArn, createdAt: entry.createdAt ?? "" }, now);
  return b.bound ? { bound: true, principalId: now!.uniqueId } : { bound: false, code: b.why, why: b.message };
}

/** The entries that match their principal, as the authenticator's dynamic file has them, each with its record. */
export function liveEntries(inv: Pick<Inventory, "entries">): Array<{ view: AccessEntryView; record: EntryRecord }> {
  const out: Array<{ view: AccessEntryView; record: EntryRecord }> = [];
  for (const record of inv.entries) {
    if (!record.binding.bound) continue;
    const e = record.entry;
    out.push({ record, view: { principalArn: e.principalArn, principalId: record.binding.principalId, username: e.username, kubernetesGroups: e.kubernetesGroups, type: e.type, policies: e.policies } });
  }
  return out;
}

const CLUSTER_ADMIN = "/AmazonEKSClusterAdminPolicy";

/** The username EKS gives an entry made without one (EKS user guide, "Create access entries"). */
function defaultUsername(principalArn: string): string | undefined {
  const p = parsePrincipal(principalArn);
  return p?.type === "user" || p?.type === "role" ? defaultAccessEntryUsername(p) : undefined;
}

/**
 * The entry that looks like the cluster creator's bootstrap entry, if any. With
 * bootstrapClusterCreatorAdminPermissions, EKS gives the creator an entry as soon as the cluster
 * has the access-entry API (at creation, or at the switch from CONFIG_MAP), before anyone else can
 * make one: EKS's default username, no groups, AmazonEKSClusterAdminPolicy cluster-wide. EKS does
 * not mark it, so this is the earliest STANDARD entry when it has exactly that shape.
 */
export function bootstrapEntryOf(entries: readonly AccessEntryState[], cluster: Pick<ClusterInfo, "bootstrapCreatorAdmin">): AccessEntryState | undefined {
  if (cluster.bootstrapCreatorAdmin === false) return undefined;
  let first: AccessEntryState | undefined;
  for (const e of entries) {
    if (e.type !== "STANDARD" || e.createdAt === undefined) continue;
    if (!first || Date.parse(e.createdAt) < Date.parse(first.createdAt!)) first = e;
  }
  if (!first) return undefined;
  const admin = first.policies.some((p) => p.policyArn.endsWith(CLUSTER_ADMIN) && p.accessScope.type === "cluster");
  return admin && first.kubernetesGroups.length === 0 && first.username === defaultUsername(first.principalArn) ? first : undefined;
}
