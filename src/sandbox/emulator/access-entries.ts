/**
 * The EKS access-entry APIs the sandbox emulates (moto has none of them): access entries, access
 * policy associations, cluster authentication modes and their one-way updates. This module holds the
 * state and EKS's rules, without HTTP: the EKS front parses requests into these calls and writes
 * the answers and errors in EKS's rest-json shapes (errors: `{"message": …}` with the exception
 * name in `x-amzn-ErrorType`). State is a plain JSON document, so the sandbox persists it.
 *
 * Messages marked "seen" are EKS's own wording as users have reported it (the README lists where);
 * the others are this emulator's wording for a rule EKS documents (the exception name and status
 * are EKS's). test/sandbox/access-entry-rules.test.ts pins every one as the AWS CLI prints it.
 */
import { ACCESS_POLICIES, ACCESS_POLICY_ARN_PREFIX } from "../../core/access-policies.js";

import { AUTHENTICATION_MODES, type AuthenticationMode } from "../../core/access-entry-plan.js";

export { AUTHENTICATION_MODES, type AuthenticationMode };
export const ACCESS_ENTRY_TYPES = ["STANDARD", "FARGATE_LINUX", "EC2_LINUX", "EC2_WINDOWS", "EC2", "HYBRID_LINUX", "HYPERPOD_LINUX"] as const;

/** An EKS API error: the exception name (x-amzn-ErrorType), HTTP status and message. */
export class EksApiError extends Error {
  constructor(
    readonly code: "ResourceNotFoundException" | "ResourceInUseException" | "InvalidParameterException" | "InvalidRequestException",
    message: string,
  ) {
    super(message);
    this.name = code;
  }
  get status(): number {
    return this.code === "ResourceNotFoundException" ? 404 : this.code === "ResourceInUseException" ? 409 : 400;
  }
}

const notFound = (m: string) => new EksApiError("ResourceNotFoundException", m);
const invalidParameter = (m: string) => new EksApiError("InvalidParameterException", m);

export interface AccessScopeState {
  type: "cluster" | "namespace";
  namespaces: string[];
}

export interface AssociationState {
  policyArn: string;
  accessScope: AccessScopeState;
  associatedAt: string;
  modifiedAt: string;
}

export interface AccessEntryState {
  clusterName: string;
  principalArn: string;
  kubernetesGroups: string[];
  accessEntryArn: string;
  createdAt: string;
  modifiedAt: string;
  tags: Record<string, string>;
  username: string;
  type: string;
  /** the IAM unique id (AROA…/AIDA…) of the principal when the entry was made: EKS binds the entry to it */
  principalId: string;
  policies: AssociationState[];
}

export interface UpdateState {
  id: string;
  status: "InProgress" | "Successful" | "Failed" | "Cancelled";
  type: "AccessConfigUpdate";
  params: Array<{ type: string; value: string }>;
  createdAt: string;
  errors: unknown[];
}

export interface ClusterAccessState {
  name: string;
  arn: string;
  authenticationMode: AuthenticationMode;
  bootstrapClusterCreatorAdminPermissions: boolean;
  /** the IAM role or user that created the cluster (its admin entry is made when the API is enabled) */
  creatorArn?: string | undefined;
  updates: UpdateState[];
}

export interface AccessState {
  version: 1;
  clusters: Record<string, ClusterAccessState>;
  /** cluster name → principal ARN → entry */
  entries: Record<string, Record<string, AccessEntryState>>;
}

export const emptyAccessState = (): AccessState => ({ version: 1, clusters: {}, entries: {} });

/** What IAM knows about a principal ARN (exact ARN, path included), or undefined. */
export interface IamPrincipal {
  arn: string;
  /** AROA… for roles, AIDA… for users */
  id: string;
}

export interface AccessEntriesDeps {
  now(): Date;
  newId(): string;
  /** looks a role or user ARN up in IAM */
  iamPrincipal(arn: string): IamPrincipal | undefined;
}

/** arn:<partition>:iam::<account>:role|user/<path/>name */
export interface PrincipalArn {
  partition: string;
  account: string;
  kind: "role" | "user";
  path: string;
  name: string;
}

export function parsePrincipalArn(arn: string): PrincipalArn | undefined {
  const m = /^arn:(aws[a-z-]*):iam::(\d{12}):(role|user)\/((?:[^/]+\/)*)([^/]+)$/.exec(arn);
  if (!m) return undefined;
  return { partition: m[1]!, account: m[2]!, kind: m[3] as "role" | "user", path: `/${m[4]!}`, name: m[5]! };
}

const RESERVED_USERNAME_PREFIXES = ["system:", "eks:", "aws:", "amazon:", "iam:"];

// seen: for STS session ARNs, and for an ARN that is no IAM role or user (any call naming the entry)
const INVALID_PRINCIPAL_FORMAT = "The principalArn parameter format is not valid";

export interface CreateAccessEntryInput {
  principalArn: string;
  kubernetesGroups?: string[] | undefined;
  tags?: Record<string, string> | undefined;
  username?: string | undefined;
  type?: string | undefined;
}

export interface Page<T> {
  items: T[];
  nextToken?: string | undefined;
}

function paginate<T>(all: readonly T[], maxResults: number | undefined, nextToken: string | undefined, what: string): Page<T> {
  if (maxResults !== undefined && (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 100)) {
    throw invalidParameter(`maxResults must be between 1 and 100, got ${String(maxResults)}`);
  }
  let start = 0;
  if (nextToken !== undefined) {
    const m = /^(\d+)$/.exec(Buffer.from(nextToken, "base64url").toString("utf8"));
    if (!m || Number(m[1]) > all.length) throw invalidParameter(`The nextToken ${nextToken} is not valid for ${what}.`);
    start = Number(m[1]);
  }
  const size = maxResults ?? 100;
  const items = all.slice(start, start + size);
  const end = start + items.length;
  return end < all.length ? { items, nextToken: Buffer.from(String(end), "utf8").toString("base64url") } : { items };
}

export class AccessEntries {
  constructor(
    readonly state: AccessState,
    private readonly deps: AccessEntriesDeps,
  ) {}

  private stamp(): string {
    return this.deps.now().toISOString();
  }

  /** Records a cluster's access configuration (CreateCluster's accessConfig; EKS's API default is CONFIG_MAP). */
  registerCluster(
    name: string,
    arn: string,
    accessConfig: { authenticationMode?: string | undefined; bootstrapClusterCreatorAdminPermissions?: boolean | undefined } = {},
    creatorArn?: string | undefined,
  ): ClusterAccessState {
    const mode = accessConfig.authenticationMode ?? "CONFIG_MAP";
    if (!AUTHENTICATION_MODES.includes(mode as AuthenticationMode)) {
      throw invalidParameter(`Value '${mode}' at 'accessConfig.authenticationMode' failed to satisfy constraint: Member must satisfy enum value set: [${AUTHENTICATION_MODES.join(", ")}]`);
    }
    const bootstrap = accessConfig.bootstrapClusterCreatorAdminPermissions ?? true;
    // seen: InvalidParameterException from CreateCluster
    if (mode === "CONFIG_MAP" && !bootstrap) throw invalidParameter("bootstrapClusterCreatorAdminPermissions must be true if cluster authentication mode is set to CONFIG_MAP");
    const cluster: ClusterAccessState = { name, arn, authenticationMode: mode as AuthenticationMode, bootstrapClusterCreatorAdminPermissions: bootstrap, creatorArn, updates: [] };
    this.state.clusters[name] = cluster;
    this.state.entries[name] ??= {};
    this.bootstrapCreator(cluster);
    return cluster;
  }

  /**
   * With bootstrapClusterCreatorAdminPermissions, EKS gives the creator an access entry with
   * AmazonEKSClusterAdminPolicy as soon as the cluster's mode includes the API (at creation, or
   * when a CONFIG_MAP cluster is switched). A creator EKS cannot map (not in IAM) gets none.
   */
  private bootstrapCreator(c: ClusterAccessState): void {
    const creator = c.creatorArn;
    if (!creator || !c.bootstrapClusterCreatorAdminPermissions || c.authenticationMode === "CONFIG_MAP" || this.state.entries[c.name]?.[creator]) return;
    try {
      this.createAccessEntry(c.name, { principalArn: creator });
      this.associateAccessPolicy(c.name, creator, `${ACCESS_POLICY_ARN_PREFIX}AmazonEKSClusterAdminPolicy`, { type: "cluster" });
    } catch (err) {
      if (!(err instanceof EksApiError)) throw err;
    }
  }

  cluster(name: string): ClusterAccessState {
    const c = this.state.clusters[name];
    if (!c) throw notFound(`No cluster found for name: ${name}.`);
    return c;
  }

  /** The cluster, which must have the access-entry API enabled (API or API_AND_CONFIG_MAP). */
  private apiCluster(name: string): ClusterAccessState {
    const c = this.cluster(name);
    // seen: InvalidRequestException on every access-entry call of a CONFIG_MAP cluster
    if (c.authenticationMode === "CONFIG_MAP") throw new EksApiError("InvalidRequestException", "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.");
    return c;
  }

  private entry(clusterName: string, principalArn: string): AccessEntryState {
    this.apiCluster(clusterName);
    if (!parsePrincipalArn(principalArn)) throw invalidParameter(INVALID_PRINCIPAL_FORMAT);
    const e = this.state.entries[clusterName]?.[principalArn];
    if (!e) throw notFound(`The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.`);
    return e;
  }

  createAccessEntry(clusterName: string, input: CreateAccessEntryInput): AccessEntryState {
    const cluster = this.apiCluster(clusterName);
    const type = input.type ?? "STANDARD";
    // seen (through CloudFormation, when there were four types): the valid types, sorted
    if (!(ACCESS_ENTRY_TYPES as readonly string[]).includes(type)) throw invalidParameter(`AccessEntry type must be one of [${[...ACCESS_ENTRY_TYPES].sort().join(", ")}]`);
    // an STS session ARN (arn:aws:sts::…:assumed-role/…) is no IAM role or user ARN either
    const principal = parsePrincipalArn(input.principalArn);
    if (!principal) throw invalidParameter(INVALID_PRINCIPAL_FORMAT);
    // seen
    if (principal.kind === "role" && principal.path.startsWith("/aws-service-role/")) throw invalidParameter("The caller is not allowed to modify access entries with a principalArn value of a Service Linked Role");
    const existing = this.state.entries[clusterName]?.[input.principalArn];
    // seen: ResourceInUseException (409)
    if (existing) throw new EksApiError("ResourceInUseException", "The specified access entry resource is already in use on this cluster.");
    const groups = input.kubernetesGroups ?? [];
    // the username and groups rules come first (seen: a reserved username on a node-type entry is refused as such)
    if (input.username !== undefined) this.checkUsername(input.username);
    this.checkGroups(groups);
    if (type !== "STANDARD") {
      if (principal.kind !== "role") throw invalidParameter(`Access entries of type ${type} take an IAM role as principal, not a user.`);
      if (principal.account !== accountOf(cluster.arn)) throw invalidParameter(`Access entries of type ${type} need a role in the cluster's account ${accountOf(cluster.arn)}, not ${principal.account}.`);
      if (groups.length > 0 || input.username !== undefined) throw invalidParameter(`username and kubernetesGroups can't be set for access entries of type ${type}.`);
    }
    const iam = this.deps.iamPrincipal(input.principalArn);
    // seen: also for an SSO role named without its /aws-reserved/… path (that ARN names no role)
    if (!iam) throw invalidParameter("The specified principalArn is invalid: invalid principal.");
    const now = this.stamp();
    const entry: AccessEntryState = {
      clusterName,
      principalArn: input.principalArn,
      kubernetesGroups: [...groups],
      accessEntryArn: `arn:${principal.partition}:eks:${regionOf(cluster.arn)}:${accountOf(cluster.arn)}:access-entry/${clusterName}/${principal.kind}/${principal.account}/${principal.name}/${this.deps.newId()}`,
      createdAt: now,
      modifiedAt: now,
      tags: { ...(input.tags ?? {}) },
      username: input.username ?? defaultUsername(type, principal, input.principalArn),
      type,
      principalId: iam.id,
      policies: [],
    };
    (this.state.entries[clusterName] ??= {})[input.principalArn] = entry;
    return entry;
  }

  private checkUsername(username: string): void {
    const reserved = RESERVED_USERNAME_PREFIXES.find((p) => username.startsWith(p));
    // seen for system: (the other prefixes worded alike)
    if (reserved) throw invalidParameter(`The username must not begin with ${reserved}`);
    if (username === "") throw invalidParameter("The username can't be empty.");
    // EKS user guide: "the username must include a colon before {{SessionName}}"
    for (const t of ["{{SessionName}}", "{{SessionNameRaw}}"]) {
      const at = username.indexOf(t);
      if (at !== -1 && !username.slice(0, at).includes(":")) throw invalidParameter(`The username ${username} is not valid: a colon must come before ${t} (e.g. dev:${t}).`);
    }
  }

  private checkGroups(groups: readonly string[]): void {
    const bad = groups.find((g) => g.startsWith("system:"));
    // seen, from CreateAccessEntry and UpdateAccessEntry
    if (bad) throw invalidParameter(`The kubernetes group name ${bad} is invalid, it cannot start with system:`);
  }

  describeAccessEntry(clusterName: string, principalArn: string): AccessEntryState {
    return this.entry(clusterName, principalArn);
  }

  listAccessEntries(clusterName: string, opts: { associatedPolicyArn?: string | undefined; maxResults?: number | undefined; nextToken?: string | undefined } = {}): Page<string> {
    this.apiCluster(clusterName);
    let entries = Object.values(this.state.entries[clusterName] ?? {});
    if (opts.associatedPolicyArn !== undefined) entries = entries.filter((e) => e.policies.some((p) => p.policyArn === opts.associatedPolicyArn));
    return paginate(entries.map((e) => e.principalArn), opts.maxResults, opts.nextToken, "ListAccessEntries");
  }

  updateAccessEntry(clusterName: string, principalArn: string, input: { kubernetesGroups?: string[] | undefined; username?: string | undefined }): AccessEntryState {
    const e = this.entry(clusterName, principalArn);
    if (input.username !== undefined) this.checkUsername(input.username);
    if (input.kubernetesGroups !== undefined) this.checkGroups(input.kubernetesGroups);
    if (e.type !== "STANDARD" && ((input.kubernetesGroups?.length ?? 0) > 0 || input.username !== undefined)) {
      throw invalidParameter(`username and kubernetesGroups can't be set for access entries of type ${e.type}.`);
    }
    if (input.kubernetesGroups !== undefined) e.kubernetesGroups = [...input.kubernetesGroups];
    if (input.username !== undefined) e.username = input.username;
    e.modifiedAt = this.stamp();
    return e;
  }

  deleteAccessEntry(clusterName: string, principalArn: string): void {
    this.entry(clusterName, principalArn);
    delete this.state.entries[clusterName]![principalArn];
  }

  associateAccessPolicy(clusterName: string, principalArn: string, policyArn: string, accessScope: { type?: string | undefined; namespaces?: string[] | undefined }): AssociationState {
    const e = this.entry(clusterName, principalArn);
    // seen: InvalidParameterException for node-type entries
    if (e.type !== "STANDARD") throw invalidParameter('This operation can only be performed on Access Entries with a type of "STANDARD".');
    if (!ACCESS_POLICIES.some((p) => p.arn === policyArn)) throw invalidParameter(`The policyArn ${policyArn} is not a valid access policy. List them with 'list-access-policies'.`);
    const type = accessScope.type;
    if (type !== "cluster" && type !== "namespace") throw invalidParameter(`The accessScope type ${String(type)} is not valid. Valid types are [cluster, namespace].`);
    const namespaces = accessScope.namespaces ?? [];
    if (type === "namespace" && namespaces.length === 0) throw invalidParameter("The accessScope of type namespace needs at least one namespace.");
    if (type === "cluster" && namespaces.length > 0) throw invalidParameter("The accessScope of type cluster can't list namespaces.");
    const now = this.stamp();
    const scope: AccessScopeState = { type, namespaces: [...namespaces] };
    const existing = e.policies.find((p) => p.policyArn === policyArn);
    if (existing) {
      existing.accessScope = scope;
      existing.modifiedAt = now;
      return existing;
    }
    const association: AssociationState = { policyArn, accessScope: scope, associatedAt: now, modifiedAt: now };
    e.policies.push(association);
    return association;
  }

  disassociateAccessPolicy(clusterName: string, principalArn: string, policyArn: string): void {
    const e = this.entry(clusterName, principalArn);
    const i = e.policies.findIndex((p) => p.policyArn === policyArn);
    if (i === -1) throw notFound(`The policyArn ${policyArn} is not associated with the access entry of ${principalArn}.`);
    e.policies.splice(i, 1);
  }

  listAssociatedAccessPolicies(clusterName: string, principalArn: string, opts: { maxResults?: number | undefined; nextToken?: string | undefined } = {}): Page<AssociationState> {
    const e = this.entry(clusterName, principalArn);
    return paginate(e.policies, opts.maxResults, opts.nextToken, "ListAssociatedAccessPolicies");
  }

  listAccessPolicies(opts: { maxResults?: number | undefined; nextToken?: string | undefined } = {}): Page<{ name: string; arn: string }> {
    return paginate(
      ACCESS_POLICIES.map((p) => ({ name: p.name, arn: p.arn })),
      opts.maxResults,
      opts.nextToken,
      "ListAccessPolicies",
    );
  }

  /**
   * UpdateClusterConfig with accessConfig: CONFIG_MAP → API_AND_CONFIG_MAP → API only (seen:
   * "Unsupported authentication mode update from X to Y"). The emulator applies the change at once
   * and reports the update as Successful in DescribeUpdate (EKS takes minutes: InProgress first).
   */
  updateAuthenticationMode(clusterName: string, mode: string): UpdateState {
    const c = this.cluster(clusterName);
    if (!AUTHENTICATION_MODES.includes(mode as AuthenticationMode)) {
      throw invalidParameter(`Value '${mode}' at 'accessConfig.authenticationMode' failed to satisfy constraint: Member must satisfy enum value set: [${AUTHENTICATION_MODES.join(", ")}]`);
    }
    const from = AUTHENTICATION_MODES.indexOf(c.authenticationMode);
    const to = AUTHENTICATION_MODES.indexOf(mode as AuthenticationMode);
    if (to !== from + 1) throw invalidParameter(`Unsupported authentication mode update from ${c.authenticationMode} to ${mode}`);
    c.authenticationMode = mode as AuthenticationMode;
    this.bootstrapCreator(c);
    const update: UpdateState = {
      id: this.deps.newId(),
      status: "InProgress",
      type: "AccessConfigUpdate",
      // seen: the value is the JSON text of the mode, quotes included
      params: [{ type: "AuthenticationMode", value: JSON.stringify(mode) }],
      createdAt: this.stamp(),
      errors: [],
    };
    c.updates.push({ ...update, status: "Successful" });
    return update;
  }

  describeUpdate(clusterName: string, updateId: string): UpdateState {
    const u = this.cluster(clusterName).updates.find((x) => x.id === updateId);
    if (!u) throw notFound(`No update found for ID: ${updateId}.`);
    return u;
  }
}

/**
 * EKS's default usernames: a user's ARN; a role's session form; EC2 node types the node form of
 * their private DNS name; FARGATE_LINUX and HYBRID_LINUX (no EC2 instance) the session name (the
 * HYBRID_LINUX and HYPERPOD_LINUX forms are this emulator's reading, not verified against EKS).
 */
export function defaultUsername(type: string, p: PrincipalArn, principalArn: string): string {
  if (type === "EC2_LINUX" || type === "EC2_WINDOWS" || type === "EC2" || type === "HYPERPOD_LINUX") return "system:node:{{EC2PrivateDNSName}}";
  if (type === "FARGATE_LINUX" || type === "HYBRID_LINUX") return "system:node:{{SessionName}}";
  if (p.kind === "user") return principalArn;
  return `arn:${p.partition}:sts::${p.account}:assumed-role/${p.name}/{{SessionName}}`;
}

const regionOf = (clusterArn: string): string => clusterArn.split(":")[3] ?? "";
const accountOf = (clusterArn: string): string => clusterArn.split(":")[4] ?? "";
