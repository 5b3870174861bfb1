/**
 * Who the EKS authenticator says a caller is, from its mapping backends, the way
 * aws-iam-authenticator v0.6.13 decides it (pure), with a trace of each step. One module for
 * every feature: `serve` (the TokenReview answer), `grant`'s checks, `explain`, `migrate verify`.
 * Checked against:
 *  - pkg/token/token.go getIdentityFromSTSResponse: CanonicalARN = arn.Canonicalize(Arn) (a session
 *    becomes `arn:<p>:iam::<acct>:role/<name>`); for roles, UserId "AROA…:<session>" is split into
 *    the unique id and the SessionName; users, root and federated users keep the whole UserId;
 *  - pkg/server/server.go handler.doMapping: the backends in their configured order; the first whose
 *    Map finds the caller wins (its templates are rendered: renderTemplates — a template that fails
 *    refuses the request, it does not fall through; then the backend's reserved username prefixes,
 *    server.reservedPrefixConfig); a backend that does not find it but lists the caller's account
 *    (IsAccountAllowed: mapAccounts) answers the canonical ARN with no groups; otherwise the next;
 *  - pkg/mapper/configmap (EKSConfigMap): the lower-cased canonical ARN looked up in mapRoles, then
 *    mapUsers (each keyed by the row ARN lower-cased, as written — no canonicalisation, so paths
 *    and session ARNs never match); MapStore.saveMap fills them in row order: the last duplicate wins;
 *  - pkg/mapper/file (MountedFile: the config file's server.mapRoles/mapUsers/mapAccounts; EKS's
 *    cluster-creator mapping in CONFIG_MAP): rows keyed by arn.Canonicalize(lower-cased ARN), so a
 *    session ARN written there does match its role;
 *  - pkg/mapper/dynamicfile (DynamicFile, how EKS serves access entries): with
 *    dynamicfileUserIDStrict the key is the unique id only (roles, then users), else the row ARN
 *    canonicalised as in MountedFile; its mapAccounts count too.
 * `EKSAccessEntries` is eks-access's own backend: access entries read from the EKS API, matched by
 * unique id as the DynamicFile EKS writes.
 *
 * Beyond the peer (only with what the caller supplies; each marked in the trace and `improvement`):
 *  - `iamRoleArn` (IAM's ARN of the caller's role, path included, found from its unique id): a row
 *    written with the role's path matches (aws-iam-authenticator #268) — after the path-less key;
 *  - `matchSsoPermissionSets` with an `iamRoleArn` under /aws-reserved/sso.amazonaws.com/: a row for
 *    `AWSReservedSSO_<PermissionSet>_<suffix>` of the caller's account matches any suffix of that
 *    permission set, so a re-created assignment keeps working;
 *  - `iamGroups` (the caller's IAM groups, for users): a row whose ARN (or, by unique id, userid) is
 *    one of the caller's groups matches — after the user's own rows; among several, the last row.
 */
import { canonicalArn, canonicalizePrincipal, isSsoRolePath, keepsWholeUserId, parsePrincipal, roleArnWithoutPath, ssoRole } from "../arn.js";
import { dynamicFileFor, type AccessEntryView, type DynamicFile, type DynamicFileRow } from "../dynamic-file.js";
import { arnKey, type AwsAuthRow } from "./aws-auth.js";
import { ec2LookupNeeded, renderTemplate, type TemplateIdentity } from "./templates.js";

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
  /** IAM's ARN of the caller's role (path included), looked up by its unique id: rows with a path match */
  iamRoleArn?: string | undefined;
  /** the caller's IAM groups (users only): rows for a group match its members */
  iamGroups?: ReadonlyArray<{ arn: string; id: string }> | undefined;
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

export type MappingSource = "creator" | "config" | "access-entry" | "aws-auth" | "mapAccounts";

/** What matched beyond what aws-iam-authenticator would match (see the top of this file). */
export type Improvement = "role-path" | "sso-permission-set" | "iam-group";

export type Resolution =
  | {
      mapped: true;
      username: string;
      groups: string[];
      /** aws-iam-authenticator:<account>:<unique id> */
      uid: string;
      source: MappingSource;
      backend: BackendName;
      row?: AwsAuthRow | undefined;
      entry?: AccessEntryView | undefined;
      improvement?: Improvement | undefined;
      trace: string[];
    }
  | {
      mapped: false;
      reason: "not-mapped" | "template-error" | "reserved-prefix";
      message: string;
      trace: string[];
      /** the matched templates need {{EC2PrivateDNSName}} of this instance: resolve again with ec2PrivateDnsName */
      ec2InstanceId?: string | undefined;
    };

/** aws-iam-authenticator's backend modes that eks-access serves, plus its own EKS access-entry API source. */
export type BackendName = "MountedFile" | "DynamicFile" | "EKSConfigMap" | "EKSAccessEntries";

export const BACKENDS: Readonly<Record<AuthenticationMode, readonly BackendName[]>> = {
  CONFIG_MAP: ["MountedFile", "EKSConfigMap"],
  API_AND_CONFIG_MAP: ["DynamicFile", "EKSConfigMap"],
  API: ["DynamicFile"],
};

/** One row of a backend, as the resolver looks it up. */
interface MappingRow {
  kind: "mapRoles" | "mapUsers";
  arn?: string | undefined;
  userid?: string | undefined;
  username: string;
  groups: readonly string[];
  /** position in the backend: among rows found by an improvement, the last one counts */
  order: number;
  /** for the trace, e.g. "aws-auth mapRoles line 4" */
  where: string;
  awsAuthRow?: AwsAuthRow | undefined;
  entry?: AccessEntryView | undefined;
}

interface AccountListing {
  where: string;
  row?: AwsAuthRow | undefined;
}

/** A backend's mappings indexed for look-ups (built once per change of its data; pure). */
export interface MappingBackend {
  readonly name: BackendName;
  readonly source: Exclude<MappingSource, "mapAccounts">;
  /** for traces, e.g. "aws-auth (mapRoles, mapUsers, mapAccounts)" */
  readonly description: string;
  readonly keyBy: "arn" | "userid";
  readonly roles: ReadonlyMap<string, MappingRow>;
  readonly users: ReadonlyMap<string, MappingRow>;
  /** "partition:account:permissionset" (lower-cased) → the last row for an AWSReservedSSO_ role of it */
  readonly sso: ReadonlyMap<string, MappingRow>;
  /** mapAccounts: account → where it is listed (and aws-auth's row) */
  readonly accounts: ReadonlyMap<string, AccountListing>;
  /** keys with more than one row: the note "the last of N rows …" */
  readonly duplicates: ReadonlyMap<string, string>;
  /** usernames starting with one of these are refused (server.reservedPrefixConfig) */
  readonly reservedPrefixes: readonly string[];
  readonly rowCount: number;
  /** the MountedFile creator mapping, for its trace line */
  readonly creatorArn?: string | undefined;
}

export interface ResolveOptions {
  /** match AWSReservedSSO_<PermissionSet>_* rows by permission set (needs iamRoleArn on the caller) */
  matchSsoPermissionSets?: boolean | undefined;
}

// ─── building backends ──────────────────────────────────────────────────────────────────────────

interface RowInput {
  kind: "mapRoles" | "mapUsers";
  arn?: string | undefined;
  userid?: string | undefined;
  username: string;
  groups: readonly string[];
  where: string;
  awsAuthRow?: AwsAuthRow | undefined;
  entry?: AccessEntryView | undefined;
}

function ssoKeyOf(arn: string | undefined): string | undefined {
  const p = arn === undefined ? undefined : parsePrincipal(arn);
  if (p?.type !== "role") return undefined;
  const sso = ssoRole(p.name);
  return sso && (p.path === "/" || isSsoRolePath(p.path)) ? `${p.partition}:${p.account}:${sso.permissionSet}`.toLowerCase() : undefined;
}

function buildBackend(
  head: Pick<MappingBackend, "name" | "source" | "description" | "keyBy"> & { reservedPrefixes?: readonly string[] | undefined; creatorArn?: string | undefined },
  rows: readonly RowInput[],
  keyOf: (r: RowInput) => string,
  accounts: ReadonlyArray<readonly [string, AccountListing]>,
): MappingBackend {
  const roles = new Map<string, MappingRow>();
  const users = new Map<string, MappingRow>();
  const sso = new Map<string, MappingRow>();
  const seen = new Map<string, MappingRow[]>();
  rows.forEach((input, order) => {
    const row: MappingRow = { ...input, order };
    const k = keyOf(input);
    (row.kind === "mapRoles" ? roles : users).set(k, row);
    const key = `${row.kind}\u0000${k}`;
    const same = seen.get(key);
    if (same) same.push(row);
    else seen.set(key, [row]);
    const s = ssoKeyOf(row.arn);
    if (s) sso.set(s, row);
  });
  const duplicates = new Map<string, string>();
  for (const [key, list] of seen) {
    if (list.length > 1 && list[0]!.awsAuthRow) duplicates.set(key, ` (the last of ${list.length} rows for this ARN: lines ${list.map((r) => r.awsAuthRow!.line).join(", ")})`);
  }
  return { ...head, reservedPrefixes: head.reservedPrefixes ?? [], roles, users, sso, accounts: new Map(accounts), duplicates, rowCount: rows.length };
}

/** The peer's key for an ARN row of MountedFile and non-strict DynamicFile: Canonicalize(lower(arn)), "" when that fails. */
function canonicalKey(arn: string | undefined): string {
  const c = canonicalizePrincipal((arn ?? "").toLowerCase());
  return "error" in c ? "" : c.canonical;
}

/** EKSConfigMap: kube-system/aws-auth's rows (parseAwsAuth(...).rows). */
export function awsAuthBackend(rows: readonly AwsAuthRow[]): MappingBackend {
  const mappings: RowInput[] = [];
  const accounts: Array<[string, AccountListing]> = [];
  for (const r of rows) {
    if (r.kind === "mapAccounts") accounts.push([r.account ?? "", { where: `aws-auth mapAccounts line ${r.line}`, row: r }]);
    else mappings.push({ kind: r.kind, arn: r.arn, username: r.username ?? "", groups: r.groups, where: `aws-auth ${r.kind} line ${r.line}`, awsAuthRow: r });
  }
  return buildBackend({ name: "EKSConfigMap", source: "aws-auth", description: "aws-auth (mapRoles, mapUsers, mapAccounts)", keyBy: "arn" }, mappings, (r) => arnKey(r.arn ?? ""), accounts);
}

/** A row of the authenticator's config file (server.mapRoles / server.mapUsers). */
export interface ConfigMappingRow {
  arn: string;
  username: string;
  groups: readonly string[];
}

/** MountedFile: the authenticator config file's server.mapRoles, mapUsers and mapAccounts. */
export function mountedFileBackend(config: { mapRoles: readonly ConfigMappingRow[]; mapUsers: readonly ConfigMappingRow[]; mapAccounts: readonly string[]; reservedPrefixes?: readonly string[] | undefined }): MappingBackend {
  const rows: RowInput[] = [
    ...config.mapRoles.map((m, i): RowInput => ({ kind: "mapRoles", arn: m.arn, username: m.username, groups: m.groups, where: `config file server.mapRoles[${i}] (${m.arn})` })),
    ...config.mapUsers.map((m, i): RowInput => ({ kind: "mapUsers", arn: m.arn, username: m.username, groups: m.groups, where: `config file server.mapUsers[${i}] (${m.arn})` })),
  ];
  const accounts = config.mapAccounts.map((a, i) => [a, { where: `config file server.mapAccounts[${i}]` }] as const);
  return buildBackend({ name: "MountedFile", source: "config", description: "the config file (server.mapRoles, mapUsers, mapAccounts)", keyBy: "arn", reservedPrefixes: config.reservedPrefixes }, rows, (r) => canonicalKey(r.arn), accounts);
}

/** MountedFile as EKS uses it in CONFIG_MAP mode: the cluster creator's mapping alone. */
function creatorBackend(c: StaticMapping | undefined): MappingBackend {
  const rows: RowInput[] = c ? [{ kind: "mapRoles", arn: c.arn, username: c.username, groups: c.groups, where: `the cluster creator's mapping (${c.arn})` }] : [];
  return buildBackend({ name: "MountedFile", source: "creator", description: "the creator's mapping", keyBy: "arn", creatorArn: c?.arn }, rows, (r) => arnKey(canonicalArn(r.arn ?? "")), []);
}

/**
 * DynamicFile: a file in the dynamic-file format. With `userIdStrict` (what EKS uses) rows are
 * matched by unique id, else by canonical ARN. `entries` (the access entries the file was made
 * from) only enrich the result for explain; `name` EKSAccessEntries for access entries read from
 * the EKS API (always by unique id).
 */
export function dynamicFileBackend(
  file: DynamicFile,
  opts: { userIdStrict: boolean; reservedPrefixes?: readonly string[] | undefined; entries?: readonly AccessEntryView[] | undefined; name?: "DynamicFile" | "EKSAccessEntries" },
): MappingBackend {
  // the entries indexed once (the first per unique id and ARN, as a search from the start finds it), not searched per row
  const entries = new Map<string, AccessEntryView>();
  for (const e of opts.entries ?? []) {
    const k = `${e.principalId}\0${e.principalArn}`;
    if (!entries.has(k)) entries.set(k, e);
  }
  const entryOf = (r: DynamicFileRow): AccessEntryView | undefined => entries.get(`${r.userid}\0${r.rolearn ?? r.userarn}`);
  const label = opts.userIdStrict ? "access entry" : "dynamic file";
  const rows: RowInput[] = [
    ...file.mapRoles.map((r): RowInput => ({ kind: "mapRoles", arn: r.rolearn, userid: r.userid, username: r.username, groups: r.groups, where: `${label} ${r.rolearn ?? "(no rolearn)"} (unique id ${r.userid || "(none)"})`, entry: entryOf(r) })),
    ...file.mapUsers.map((r): RowInput => ({ kind: "mapUsers", arn: r.userarn, userid: r.userid, username: r.username, groups: r.groups, where: `${label} ${r.userarn ?? "(no userarn)"} (unique id ${r.userid || "(none)"})`, entry: entryOf(r) })),
  ];
  const description = opts.userIdStrict ? "access entries (by unique id)" : "the dynamic file (by ARN)";
  const accounts = file.mapAccounts.map((a, i) => [a, { where: `dynamic file mapAccounts[${i}]` }] as const);
  return buildBackend(
    { name: opts.name ?? "DynamicFile", source: "access-entry", description, keyBy: opts.userIdStrict ? "userid" : "arn", reservedPrefixes: opts.reservedPrefixes },
    rows,
    opts.userIdStrict ? (r) => r.userid ?? "" : (r) => canonicalKey(r.arn),
    accounts,
  );
}

/** The backends of an EKS authentication mode, from the sources explain and grant read. */
export function backendsForMode(sources: MappingSources): MappingBackend[] {
  return BACKENDS[sources.mode].map((b) => {
    if (b === "MountedFile") return creatorBackend(sources.creator);
    if (b === "DynamicFile") return dynamicFileBackend(dynamicFileFor(sources.accessEntries ?? []), { userIdStrict: true, entries: sources.accessEntries ?? [] });
    return awsAuthBackend(sources.awsAuth ?? []);
  });
}

// ─── resolving ─────────────────────────────────────────────────────────────────────────────────

interface Caller {
  canonical: string;
  key: string;
  userId: string;
  sessionName: string;
  accessKeyId: string;
}

/** The caller's fields as token.go derives them. */
function normalise(id: CallerIdentity): Caller {
  const canonical = id.canonicalArn ?? canonicalArn(id.arn);
  const [uniqueId, session] = keepsWholeUserId(parsePrincipal(id.arn)?.type) ? [id.userId, undefined] : (id.userId.split(":") as [string, string | undefined]);
  return { canonical, key: arnKey(canonical), userId: uniqueId, sessionName: id.sessionName ?? session ?? "", accessKeyId: id.accessKeyId ?? "" };
}

interface Found {
  row: MappingRow;
  improvement?: Improvement;
  note?: string;
}

/** arn:<p>:iam::<acct>:group/<path>/<name> → arn:<p>:iam::<acct>:group/<name> (rows may be written either way). */
const groupArnWithoutPath = (arn: string): string => arn.replace(/^(arn:[^:]*:iam::[^:]*:group\/)(?:.*\/)?([^/]+)$/, "$1$2");

/** The last (highest order) of the rows found, or undefined. */
const lastOf = (rows: ReadonlyArray<MappingRow | undefined>): MappingRow | undefined => rows.reduce<MappingRow | undefined>((a, r) => (r && (!a || r.order > a.order) ? r : a), undefined);

function lookUp(b: MappingBackend, identity: CallerIdentity, c: Caller, opts: ResolveOptions, trace: string[]): Found | undefined {
  const groups = identity.iamGroups ?? [];
  if (b.keyBy === "userid") {
    const direct = b.roles.get(c.userId) ?? b.users.get(c.userId);
    if (direct) return { row: direct };
    const byGroup = lastOf(groups.flatMap((g) => [b.roles.get(g.id), b.users.get(g.id)]));
    if (byGroup) return { row: byGroup, improvement: "iam-group", note: `the caller's IAM group ${groups.find((g) => g.id === byGroup.userid)?.arn ?? byGroup.userid}` };
  } else {
    const role = b.roles.get(c.key);
    if (role) return { row: role };
    const pathArn = identity.iamRoleArn;
    if (pathArn && arnKey(pathArn) !== c.key) {
      const withPath = b.roles.get(arnKey(pathArn));
      if (withPath) return { row: withPath, improvement: "role-path", note: `the role's path (IAM has it as ${pathArn})` };
    }
    const user = b.users.get(c.key);
    if (user) return { row: user };
    const groupKeys = groups.flatMap((g) => [arnKey(g.arn), arnKey(groupArnWithoutPath(g.arn))]);
    const byGroup = lastOf(groupKeys.flatMap((k) => [b.roles.get(k), b.users.get(k)]));
    if (byGroup) return { row: byGroup, improvement: "iam-group", note: `the caller's IAM group ${byGroup.arn ?? ""}` };
  }
  if (opts.matchSsoPermissionSets && identity.iamRoleArn) {
    const p = parsePrincipal(identity.iamRoleArn);
    const sso = p?.type === "role" && isSsoRolePath(p.path) ? ssoRole(p.name) : undefined;
    if (p?.type === "role" && sso) {
      const row = b.sso.get(`${p.partition}:${p.account}:${sso.permissionSet}`.toLowerCase());
      if (row) return { row, improvement: "sso-permission-set", note: `permission set ${sso.permissionSet} (the caller's role ${p.name} is IAM Identity Center's)` };
    }
  }
  trace.push(missLine(b, c));
  return undefined;
}

function missLine(b: MappingBackend, c: Caller): string {
  if (b.source === "creator") return b.creatorArn ? `creator mapping ${b.creatorArn}: not this caller` : "creator mapping: none given";
  if (b.keyBy === "userid") return `access entries: none has unique id ${c.userId || "(none)"}${b.rowCount ? ` (an entry whose principal was deleted and re-created keeps the old id)` : ""}`;
  if (b.source === "aws-auth") return `aws-auth: no mapRoles or mapUsers row for ${c.key}`;
  return `${b.description}: no mapRoles or mapUsers row for ${c.key}`;
}

/** Resolves a caller to its Kubernetes username and groups in an EKS authentication mode (see the top of this file). */
export function resolveIdentity(identity: CallerIdentity, sources: MappingSources, opts: ResolveOptions = {}): Resolution {
  return resolveWithBackends(identity, backendsForMode(sources), opts, `mode ${sources.mode}`);
}

/** Resolves a caller through backends in their configured order (`serve`: the authenticator's backend-mode list). */
export function resolveWithBackends(identity: CallerIdentity, backends: readonly MappingBackend[], opts: ResolveOptions = {}, heading = "backends"): Resolution {
  const c = normalise(identity);
  const trace: string[] = [`caller ${identity.arn} → canonical ${c.canonical}, unique id ${c.userId || "(none)"}${c.sessionName ? `, session ${c.sessionName}` : ""}`];
  if (identity.iamRoleArn && arnKey(identity.iamRoleArn) !== c.key) trace.push(`IAM has the caller's role as ${identity.iamRoleArn}`);
  if (identity.iamGroups?.length) trace.push(`IAM groups of the caller: ${identity.iamGroups.map((g) => g.arn).join(", ")}`);
  trace.push(`${heading}: ${backends.map((b) => b.description).join(", then ")}`);
  for (const b of backends) {
    const found = lookUp(b, identity, c, opts, trace);
    if (found) {
      const dup = b.keyBy === "arn" ? (b.duplicates.get(`${found.row.kind}\u0000${arnKey(found.row.arn ?? "")}`) ?? "") : "";
      trace.push(`matched ${found.row.where}${dup}${found.note ? ` — by ${found.note}, which aws-iam-authenticator would not match` : ""}`);
      return render(b, found, identity, c, trace);
    }
    const listed = b.accounts.get(identity.account);
    if (listed !== undefined) {
      trace.push(`${listed.where} lists ${identity.account}: username is the canonical ARN, no groups`);
      return { mapped: true, username: c.canonical, groups: [], uid: uidOf(identity.account, c.userId), source: "mapAccounts", backend: b.name, row: listed.row, trace };
    }
  }
  const message = `${identity.arn} is not mapped (${backends.map((b) => b.description).join(", ")})`;
  trace.push("not mapped: the authenticator answers 403 and kubectl says Unauthorized");
  return { mapped: false, reason: "not-mapped", message, trace };
}

const uidOf = (account: string, userId: string): string => `aws-iam-authenticator:${account}:${userId}`;

function render(b: MappingBackend, found: Found, identity: CallerIdentity, c: Caller, trace: string[]): Resolution {
  const t: TemplateIdentity = { accountId: identity.account, sessionName: c.sessionName, accessKeyId: c.accessKeyId, ec2PrivateDnsName: identity.ec2PrivateDnsName };
  const { row } = found;
  const instance = ec2LookupNeeded([row.username, ...row.groups], t);
  const username = renderTemplate(row.username, t);
  if (!username.ok) return { ...templateFailure(row.username, username.error, trace), ec2InstanceId: instance };
  const groups: string[] = [];
  for (const g of row.groups) {
    const r = renderTemplate(g, t);
    if (!r.ok) return { ...templateFailure(g, r.error, trace), ec2InstanceId: instance };
    groups.push(r.value);
  }
  trace.push(username.value === row.username ? `username ${username.value}` : `username ${row.username} → ${username.value}`);
  const reserved = b.reservedPrefixes.find((p) => p.length > 0 && username.value.startsWith(p));
  if (reserved !== undefined) {
    const message = `invalid username '${username.value}' for mapper ${b.name}: username must not begin with with the following prefixes: ${b.reservedPrefixes.join(" ")}`;
    trace.push(`${message} — the authenticator refuses the request (403)`);
    return { mapped: false, reason: "reserved-prefix", message, trace };
  }
  trace.push(`groups ${groups.length ? groups.join(", ") : "(none)"}`);
  return {
    mapped: true,
    username: username.value,
    groups,
    uid: uidOf(identity.account, c.userId),
    source: b.source,
    backend: b.name,
    row: row.awsAuthRow,
    entry: row.entry,
    improvement: found.improvement,
    trace,
  };
}

function templateFailure(template: string, error: string, trace: string[]): Extract<Resolution, { mapped: false }> {
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
 * aws-auth's rows as the ConfigMap backend keeps them (MapStore.saveMap): the last row per
 * lower-cased ARN of each key, and how many rows each key and ARN has — built once, so classifying
 * n rows is linear, not n² (aws-auth ConfigMaps of thousands of rows exist).
 */
function lastRows(rows: readonly AwsAuthRow[]): { roles: Map<string, AwsAuthRow>; users: Map<string, AwsAuthRow>; count: Map<string, number> } {
  const roles = new Map<string, AwsAuthRow>();
  const users = new Map<string, AwsAuthRow>();
  const count = new Map<string, number>();
  for (const r of rows) {
    if (r.kind === "mapAccounts") continue;
    const key = arnKey(r.arn ?? "");
    (r.kind === "mapRoles" ? roles : users).set(key, r);
    count.set(`${r.kind} ${key}`, (count.get(`${r.kind} ${key}`) ?? 0) + 1);
  }
  return { roles, users, count };
}

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
  const { roles, users, count } = lastRows(rows);
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
    const winner = roles.get(key) ?? users.get(key);
    if (!useAwsAuth) out.push({ ...base, effective: false, reason: "aws-auth is not read in API mode" });
    else if (never) out.push({ ...base, effective: false, reason: `never matches: ${never}` });
    else if (winner !== row) {
      const why = winner!.kind === row.kind ? `a later row for the same ARN (${winner!.kind} line ${winner!.line}) wins` : `${winner!.kind} line ${winner!.line} matches first (mapRoles is looked up before mapUsers)`;
      out.push({ ...base, effective: false, reason: why, shadowedBy: winner });
    } else if (entryByKey.has(key)) out.push({ ...base, effective: false, reason: "an access entry for this principal comes first (API_AND_CONFIG_MAP)", shadowedByEntry: entryByKey.get(key) });
    else out.push({ ...base, effective: true, reason: `aws-auth ${row.kind}${(count.get(`${row.kind} ${key}`) ?? 0) > 1 ? " (the last row for this ARN)" : ""}` });
  }
  return out;
}
