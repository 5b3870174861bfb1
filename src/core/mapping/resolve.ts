/**
 * Who the EKS authenticator says a caller is, from aws-auth and the access entries, the way
 * aws-iam-authenticator v0.6.13 decides it (pure), with a trace of each step. Checked against:
 *  - pkg/token/token.go getIdentityFromSTSResponse: CanonicalARN = arn.Canonicalize(Arn) (a session
 *    becomes `arn:<p>:iam::<acct>:role/<name>`); for roles, UserId "AROA…:<session>" is split into
 *    the unique id and the SessionName; users, root and federated users keep the whole UserId;
 *  - pkg/server/server.go handler.doMapping: the backends in their configured order; the first whose
 *    Map finds the caller wins (its templates are rendered: renderTemplates — a template that fails
 *    refuses the request, it does not fall through); a backend that does not find it but lists the
 *    caller's account (IsAccountAllowed: mapAccounts) answers the canonical ARN with no groups;
 *    otherwise the next backend;
 *  - pkg/mapper/configmap (EKSConfigMap): ConfigMapMapper.Map looks the lower-cased canonical ARN up
 *    in the mapRoles map, then in the mapUsers map (each keyed by the row ARN lower-cased, as
 *    written — no canonicalisation, so paths and session ARNs never match); MapStore.saveMap fills
 *    them in row order, so the last duplicate wins;
 *  - pkg/mapper/dynamicfile (DynamicFile, how EKS serves access entries): with
 *    dynamicfileUserIDStrict the key is the unique id only (roles, then users);
 *  - pkg/mapper/file (MountedFile: EKS's cluster-creator mapping in CONFIG_MAP): lower-cased
 *    canonical ARNs.
 * The backend order per authentication mode is the one src/sandbox/access-control.ts gives the
 * authenticator: CONFIG_MAP "MountedFile EKSConfigMap", API_AND_CONFIG_MAP "DynamicFile
 * EKSConfigMap", API "DynamicFile".
 */
import { canonicalArn, parsePrincipal, roleArnWithoutPath } from "../arn.js";
import { dynamicFileFor, type AccessEntryView, type DynamicFileRow } from "../dynamic-file.js";
import { arnKey, type AwsAuthRow } from "./aws-auth.js";
import { renderTemplate, type TemplateIdentity } from "./templates.js";

import type { AuthenticationMode } from "../access-entry-plan.js";

export type { AuthenticationMode };

/** The caller, as GetCallerIdentity (and the token) tell the authenticator. */
export interface CallerIdentity {
  /** GetCallerIdentity Arn */
  arn: string;
  /** default: canonicalArn(arn) */
  canonicalArn?: string | undefined;
  account: string;
  /** GetCallerIdentity UserId: "AROA…:session" for a role session (or already split), "AIDA…" for a user */
  userId: string;
  /** default: from userId (role sessions) */
  sessionName?: string | undefined;
  /** the access key id that signed the token */
  accessKeyId?: string | undefined;
  /** for {{EC2PrivateDNSName}}: what ec2:DescribeInstances answers, when known */
  ec2PrivateDnsName?: string | undefined;
}

/** A static mapping of the authenticator's own config (EKS's cluster creator in CONFIG_MAP mode). */
export interface StaticMapping {
  arn: string;
  username: string;
  groups: readonly string[];
}

export interface MappingSources {
  mode: AuthenticationMode;
  /** aws-auth rows (parseAwsAuth(...).rows) */
  awsAuth?: readonly AwsAuthRow[] | undefined;
  accessEntries?: readonly AccessEntryView[] | undefined;
  /** CONFIG_MAP only: the creator's mapping EKS keeps outside aws-auth */
  creator?: StaticMapping | undefined;
}

export type MappingSource = "creator" | "access-entry" | "aws-auth" | "mapAccounts";

export type Resolution =
  | {
      mapped: true;
      username: string;
      groups: string[];
      /** aws-iam-authenticator:<account>:<unique id> */
      uid: string;
      source: MappingSource;
      row?: AwsAuthRow | undefined;
      entry?: AccessEntryView | undefined;
      trace: string[];
    }
  | { mapped: false; reason: "not-mapped" | "template-error"; message: string; trace: string[] };

type Backend = "MountedFile" | "DynamicFile" | "EKSConfigMap";

export const BACKENDS: Readonly<Record<AuthenticationMode, readonly Backend[]>> = {
  CONFIG_MAP: ["MountedFile", "EKSConfigMap"],
  API_AND_CONFIG_MAP: ["DynamicFile", "EKSConfigMap"],
  API: ["DynamicFile"],
};

interface Found {
  username: string;
  groups: readonly string[];
  source: MappingSource;
  row?: AwsAuthRow;
  entry?: AccessEntryView;
  what: string;
}

/** The caller's fields as token.go derives them. */
function normalise(id: CallerIdentity): { canonical: string; userId: string; sessionName: string; accessKeyId: string } {
  const canonical = id.canonicalArn ?? canonicalArn(id.arn);
  const p = parsePrincipal(id.arn);
  const keepsWholeId = p?.type === "user" || p?.type === "root" || p?.type === "federated-user";
  const [uniqueId, session] = keepsWholeId ? [id.userId, undefined] : (id.userId.split(":") as [string, string | undefined]);
  return { canonical, userId: uniqueId, sessionName: id.sessionName ?? session ?? "", accessKeyId: id.accessKeyId ?? "" };
}

/**
 * aws-auth's rows indexed as the ConfigMap backend keeps them (MapStore.saveMap): the last row per
 * lower-cased ARN of each key, every row per key and ARN (for duplicate notes), the accounts.
 * Built once per rows array, so resolving or classifying n principals is linear, not n².
 */
interface RowIndex {
  roles: Map<string, AwsAuthRow>;
  users: Map<string, AwsAuthRow>;
  /** `${kind} ${key}` → every row of that key and ARN, in order */
  all: Map<string, AwsAuthRow[]>;
  /** account id → its first mapAccounts row */
  accounts: Map<string, AwsAuthRow>;
}

function indexRows(rows: readonly AwsAuthRow[]): RowIndex {
  const ix: RowIndex = { roles: new Map(), users: new Map(), all: new Map(), accounts: new Map() };
  for (const r of rows) {
    if (r.kind === "mapAccounts") {
      if (!ix.accounts.has(r.account ?? "")) ix.accounts.set(r.account ?? "", r);
      continue;
    }
    const key = arnKey(r.arn ?? "");
    (r.kind === "mapRoles" ? ix.roles : ix.users).set(key, r);
    const k = `${r.kind} ${key}`;
    const list = ix.all.get(k);
    if (list) list.push(r);
    else ix.all.set(k, [r]);
  }
  return ix;
}

/** The access entries as the DynamicFile backend looks them up: the last row per unique id (roles, then users). */
interface EntryIndex {
  roles: Map<string, DynamicFileRow>;
  users: Map<string, DynamicFileRow>;
  /** `${principalId} ${principalArn}` → the entry */
  entries: Map<string, AccessEntryView>;
  count: number;
}

function indexEntries(entries: readonly AccessEntryView[]): EntryIndex {
  const file = dynamicFileFor(entries);
  const byId = (list: DynamicFileRow[]): Map<string, DynamicFileRow> => new Map(list.map((r) => [r.userid, r] as const));
  return { roles: byId(file.mapRoles), users: byId(file.mapUsers), entries: new Map(entries.map((e) => [`${e.principalId} ${e.principalArn}`, e] as const)), count: entries.length };
}

/**
 * A resolver over fixed sources: the indexes are built once, each call is then a few map
 * look-ups (what `migrate verify` and the benchmarks use for thousands of principals).
 * The sources must not change while the resolver is in use.
 */
export function mappingResolver(sources: MappingSources): (identity: CallerIdentity) => Resolution {
  const rows = indexRows(sources.awsAuth ?? []);
  const entries = indexEntries(sources.accessEntries ?? []);
  return (identity) => resolveWith(identity, sources, rows, entries);
}

/** Resolves a caller to its Kubernetes username and groups (see the top of this file). */
export function resolveIdentity(identity: CallerIdentity, sources: MappingSources): Resolution {
  return mappingResolver(sources)(identity);
}

function resolveWith(identity: CallerIdentity, sources: MappingSources, rows: RowIndex, entries: EntryIndex): Resolution {
  const id = normalise(identity);
  const key = arnKey(id.canonical);
  const trace: string[] = [`caller ${identity.arn} → canonical ${id.canonical}, unique id ${id.userId || "(none)"}${id.sessionName ? `, session ${id.sessionName}` : ""}`];
  const backends = BACKENDS[sources.mode];
  trace.push(`mode ${sources.mode}: ${backends.map(describeBackend).join(", then ")}`);

  for (const backend of backends) {
    let found: Found | undefined;
    if (backend === "MountedFile") {
      const c = sources.creator;
      if (c && arnKey(canonicalArn(c.arn)) === key) found = { ...c, source: "creator", what: `the cluster creator's mapping (${c.arn})` };
      else trace.push(c ? `creator mapping ${c.arn}: not this caller` : "creator mapping: none given");
    } else if (backend === "DynamicFile") {
      found = fromAccessEntries(entries, id.userId, trace);
    } else {
      const row = rows.roles.get(key) ?? rows.users.get(key);
      if (row) {
        const dups = rows.all.get(`${row.kind} ${key}`) ?? [row];
        const note = dups.length > 1 ? ` (the last of ${dups.length} rows for this ARN: lines ${dups.map((r) => r.line).join(", ")})` : "";
        found = { username: row.username ?? "", groups: row.groups, source: "aws-auth", row, what: `aws-auth ${row.kind} line ${row.line}${note}` };
      } else trace.push(`aws-auth: no mapRoles or mapUsers row for ${key}`);
    }
    if (found) {
      trace.push(`matched ${found.what}`);
      return render(found, identity, id, trace);
    }
    // IsAccountAllowed: only the ConfigMap lists accounts here (EKS's dynamic file and creator file have none)
    const accountRow = backend === "EKSConfigMap" ? rows.accounts.get(identity.account) : undefined;
    if (accountRow) {
      trace.push(`aws-auth mapAccounts line ${accountRow.line} lists ${identity.account}: username is the canonical ARN, no groups`);
      return { mapped: true, username: id.canonical, groups: [], uid: uidOf(identity.account, id.userId), source: "mapAccounts", row: accountRow, trace };
    }
  }
  const message = `${identity.arn} is not mapped (${backends.map(describeBackend).join(", ")})`;
  trace.push("not mapped: the authenticator answers 403 and kubectl says Unauthorized");
  return { mapped: false, reason: "not-mapped", message, trace };
}

function describeBackend(b: Backend): string {
  return b === "MountedFile" ? "the creator's mapping" : b === "DynamicFile" ? "access entries (by unique id)" : "aws-auth (mapRoles, mapUsers, mapAccounts)";
}

function fromAccessEntries(ix: EntryIndex, userId: string, trace: string[]): Found | undefined {
  const row = ix.roles.get(userId) ?? ix.users.get(userId);
  if (!row) {
    trace.push(`access entries: none has unique id ${userId || "(none)"}${ix.count ? ` (an entry whose principal was deleted and re-created keeps the old id)` : ""}`);
    return undefined;
  }
  const entry = ix.entries.get(`${row.userid} ${row.rolearn ?? row.userarn}`);
  return { username: row.username, groups: row.groups, source: "access-entry", ...(entry ? { entry } : {}), what: `access entry ${row.rolearn ?? row.userarn} (unique id ${row.userid})` };
}

const uidOf = (account: string, userId: string): string => `aws-iam-authenticator:${account}:${userId}`;

function render(found: Found, identity: CallerIdentity, id: ReturnType<typeof normalise>, trace: string[]): Resolution {
  const t: TemplateIdentity = { accountId: identity.account, sessionName: id.sessionName, accessKeyId: id.accessKeyId, ec2PrivateDnsName: identity.ec2PrivateDnsName };
  const username = renderTemplate(found.username, t);
  if (!username.ok) return templateFailure(found.username, username.error, trace);
  const groups: string[] = [];
  for (const g of found.groups) {
    const r = renderTemplate(g, t);
    if (!r.ok) return templateFailure(g, r.error, trace);
    groups.push(r.value);
  }
  trace.push(username.value === found.username ? `username ${username.value}` : `username ${found.username} → ${username.value}`);
  trace.push(`groups ${groups.length ? groups.join(", ") : "(none)"}`);
  return { mapped: true, username: username.value, groups, uid: uidOf(identity.account, id.userId), source: found.source, row: found.row, entry: found.entry, trace };
}

function templateFailure(template: string, error: string, trace: string[]): Resolution {
  const message = `rendering ${template} failed: ${error}`;
  trace.push(`${message} — the authenticator refuses the request (403) rather than trying the next backend`);
  return { mapped: false, reason: "template-error", message, trace };
}

// ─── which row or entry counts (access list's "effective") ──────────────────────────────────────

export interface EffectiveMapping {
  source: "access-entry" | "aws-auth";
  row?: AwsAuthRow | undefined;
  entry?: AccessEntryView | undefined;
  /** the lower-cased ARN the authenticator would compare (roles: no path) */
  key: string;
  /** whether the authenticator uses it for that principal */
  effective: boolean;
  /** one line: why it counts or not */
  reason: string;
  /** the aws-auth row used instead (a later duplicate, or mapRoles over mapUsers) */
  shadowedBy?: AwsAuthRow | undefined;
  /** the access entry used instead (API_AND_CONFIG_MAP) */
  shadowedByEntry?: AccessEntryView | undefined;
}

/** Why an aws-auth ARN can never equal a caller's canonical ARN, or undefined. */
export function neverMatches(arn: string | undefined): string | undefined {
  if (arn === undefined || arn.trim() === "") return "no ARN";
  if (arn !== arn.trim()) return "spaces around the ARN";
  const p = parsePrincipal(arn);
  if (!p) return "not an IAM role or user ARN";
  if (p.type === "assumed-role") return "a session ARN (callers are compared as their role ARN)";
  if (p.type === "role" && p.path !== "/") return `a role path (${p.path}); callers' role ARNs have none`;
  return undefined;
}

/** The key an access entry's principal is compared under by aws-auth (role path dropped). */
const entryKey = (principalArn: string): string => arnKey(parsePrincipal(principalArn)?.type === "role" ? roleArnWithoutPath(principalArn) : principalArn);

/**
 * For every access entry and aws-auth row, whether the authenticator actually uses it for its
 * principal in this mode: access entries count in API_AND_CONFIG_MAP and API, and come first; in
 * aws-auth the last row for an ARN wins and mapRoles is looked up before mapUsers; nothing from
 * aws-auth counts in API mode. Entries are matched to rows by ARN here (the authenticator matches
 * entries by unique id: an entry whose principal was re-created matches nobody, which only IAM can
 * tell). Entries first, then rows, each in their input order.
 */
export function effectiveMappings(sources: MappingSources): EffectiveMapping[] {
  const entries = sources.accessEntries ?? [];
  const rows = sources.awsAuth ?? [];
  const useEntries = sources.mode !== "CONFIG_MAP";
  const useAwsAuth = sources.mode !== "API";
  const out: EffectiveMapping[] = entries.map((entry) => ({
    source: "access-entry",
    entry,
    key: entryKey(entry.principalArn),
    effective: useEntries,
    reason: useEntries ? "access entry (looked up first, by the principal's unique id)" : "access entries are not read in CONFIG_MAP mode",
  }));
  const entryByKey = new Map(useEntries ? entries.map((e) => [entryKey(e.principalArn), e] as const) : []);
  const ix = indexRows(rows);
  for (const row of rows) {
    if (row.kind === "mapAccounts") {
      out.push({
        source: "aws-auth",
        row,
        key: `account:${row.account ?? ""}`,
        effective: useAwsAuth && /^\d{12}$/.test(row.account ?? ""),
        reason: !useAwsAuth ? "aws-auth is not read in API mode" : /^\d{12}$/.test(row.account ?? "") ? `any identity of account ${row.account} that nothing else maps (as its ARN, no groups)` : "not a 12-digit account id",
      });
      continue;
    }
    const key = arnKey(row.arn ?? "");
    const base = { source: "aws-auth" as const, row, key };
    const never = neverMatches(row.arn);
    const winner = ix.roles.get(key) ?? ix.users.get(key);
    if (!useAwsAuth) out.push({ ...base, effective: false, reason: "aws-auth is not read in API mode" });
    else if (never) out.push({ ...base, effective: false, reason: `never matches: ${never}` });
    else if (winner !== row) {
      const why = winner!.kind === row.kind ? `a later row for the same ARN (${winner!.kind} line ${winner!.line}) wins` : `${winner!.kind} line ${winner!.line} matches first (mapRoles is looked up before mapUsers)`;
      out.push({ ...base, effective: false, reason: why, shadowedBy: winner });
    } else if (entryByKey.has(key)) out.push({ ...base, effective: false, reason: "an access entry for this principal comes first (API_AND_CONFIG_MAP)", shadowedByEntry: entryByKey.get(key) });
    else out.push({ ...base, effective: true, reason: `aws-auth ${row.kind}${(ix.all.get(`${row.kind} ${key}`)?.length ?? 0) > 1 ? " (the last row for this ARN)" : ""}` });
  }
  return out;
}
