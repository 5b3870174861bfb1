/**
 * Access entries as aws-iam-authenticator's dynamic file (its `DynamicFile` backend, the one EKS
 * feeds access entries through): `{"mapRoles": [...], "mapUsers": [...]}` with each row's IAM
 * unique id in `userid` (with `dynamicfileUserIDStrict` the authenticator matches on that id only,
 * so a deleted and re-created role no longer matches its entry). Each row also carries its
 * `accessPolicies`: the authenticator ignores members it does not know, and eks-access's
 * authorizer (`serve`) reads them from the same file. Pure.
 */
import type { RuleScope } from "./rbac.js";

/** What the file needs of an access entry (the EKS API's AccessEntry plus the unique id EKS keeps). */
export interface AccessEntryView {
  principalArn: string;
  /** IAM unique id when the entry was made (AROA…/AIDA…) */
  principalId: string;
  username: string;
  kubernetesGroups: readonly string[];
  type: string;
  policies: ReadonlyArray<{ policyArn: string; accessScope: { type: "cluster" | "namespace"; namespaces: readonly string[] } }>;
}

export interface DynamicFileRow {
  rolearn?: string;
  userarn?: string;
  username: string;
  groups: string[];
  userid: string;
  accessPolicies: Array<{ policyArn: string; scope: RuleScope }>;
}

export interface DynamicFile {
  mapRoles: DynamicFileRow[];
  mapUsers: DynamicFileRow[];
  mapAccounts: string[];
}

/**
 * The Kubernetes groups EKS gives node-type entries (those of the aws-auth node mappings it
 * replaces; Windows nodes also need eks:kube-proxy-windows, Fargate system:node-proxier).
 */
export function nodeGroups(type: string): string[] | undefined {
  switch (type) {
    case "EC2_LINUX":
    case "HYBRID_LINUX":
    case "EC2":
    case "HYPERPOD_LINUX":
      return ["system:bootstrappers", "system:nodes"];
    case "EC2_WINDOWS":
      return ["system:bootstrappers", "system:nodes", "eks:kube-proxy-windows"];
    case "FARGATE_LINUX":
      return ["system:bootstrappers", "system:nodes", "system:node-proxier"];
    default:
      return undefined;
  }
}

const isRole = (arn: string): boolean => /^arn:[^:]+:iam::\d{12}:role\//.test(arn);

export function dynamicFileFor(entries: readonly AccessEntryView[]): DynamicFile {
  const file: DynamicFile = { mapRoles: [], mapUsers: [], mapAccounts: [] };
  for (const e of entries) {
    const row: DynamicFileRow = {
      username: e.username,
      groups: nodeGroups(e.type) ?? [...e.kubernetesGroups],
      userid: e.principalId,
      accessPolicies: e.policies.map((p) => ({
        policyArn: p.policyArn,
        scope: p.accessScope.type === "cluster" ? { type: "cluster" } : { type: "namespace", namespaces: [...p.accessScope.namespaces] },
      })),
    };
    if (isRole(e.principalArn)) file.mapRoles.push({ rolearn: e.principalArn, ...row });
    else file.mapUsers.push({ userarn: e.principalArn, ...row });
  }
  return file;
}

/** Reads a dynamic file back (rows without `accessPolicies` have none); a one-line reason when it is not one. */
export function parseDynamicFile(text: string): DynamicFile | string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return "not a JSON object with mapRoles/mapUsers";
  const d = doc as Record<string, unknown>;
  const rows = (key: string): DynamicFileRow[] | string => {
    const v = d[key] ?? [];
    if (!Array.isArray(v)) return `${key} is not a list`;
    const out: DynamicFileRow[] = [];
    for (const [i, r] of v.entries()) {
      if (typeof r !== "object" || r === null) return `${key}[${i}] is not an object`;
      const row = r as Record<string, unknown>;
      if (typeof row["userid"] !== "string" || typeof row["username"] !== "string") return `${key}[${i}] needs userid and username`;
      const policies = Array.isArray(row["accessPolicies"]) ? (row["accessPolicies"] as DynamicFileRow["accessPolicies"]) : [];
      out.push({ ...(row as unknown as DynamicFileRow), groups: Array.isArray(row["groups"]) ? (row["groups"] as string[]) : [], accessPolicies: policies });
    }
    return out;
  };
  const mapRoles = rows("mapRoles");
  if (typeof mapRoles === "string") return mapRoles;
  const mapUsers = rows("mapUsers");
  if (typeof mapUsers === "string") return mapUsers;
  const accounts = Array.isArray(d["mapAccounts"]) ? (d["mapAccounts"] as unknown[]).filter((a): a is string => typeof a === "string") : [];
  return { mapRoles, mapUsers, mapAccounts: accounts };
}

/**
 * A member of a JSON/YAML object looked up case-insensitively, the last spelling winning (as the
 * peer's encoding/json and viper read keys); undefined for anything but an object.
 */
export function memberOf(o: unknown, name: string): unknown {
  if (typeof o !== "object" || o === null || Array.isArray(o)) return undefined;
  let v: unknown;
  for (const k of Object.keys(o)) if (k.toLowerCase() === name.toLowerCase()) v = (o as Record<string, unknown>)[k];
  return v;
}

/**
 * Reads a dynamic file as aws-iam-authenticator v0.6.13's DynamicFile backend does
 * (pkg/mapper/dynamicfile CallBackForFileLoad): Go's encoding/json into
 * {mapRoles, mapUsers, mapAccounts} — member names matched case-insensitively, unknown members
 * ignored, `null` for a list or the whole document is empty, any value of the wrong type fails the
 * whole file — then every row needs its key: `userid` with `dynamicfileUserIDStrict`, else
 * `rolearn` / `userarn`. A one-line reason when the authenticator would refuse the file (it then
 * keeps the mappings it had).
 */
export function readAuthenticatorDynamicFile(text: string, userIdStrict: boolean): DynamicFile | string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
  const file: DynamicFile = { mapRoles: [], mapUsers: [], mapAccounts: [] };
  if (doc === null) return file;
  if (typeof doc !== "object" || Array.isArray(doc)) return "not a JSON object with mapRoles/mapUsers/mapAccounts";
  const str = (v: unknown, what: string): string | Error => (v === undefined || v === null ? "" : typeof v === "string" ? v : new Error(`${what} is not a string`));
  const d = doc as Record<string, unknown>;
  for (const kind of ["mapRoles", "mapUsers"] as const) {
    const list = memberOf(d, kind);
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) return `${kind} is not a list`;
    for (const [i, item] of list.entries()) {
      if (item !== null && (typeof item !== "object" || Array.isArray(item))) return `${kind}[${i}] is not an object`;
      const r = (item ?? {}) as Record<string, unknown>;
      const arnField = kind === "mapRoles" ? "rolearn" : "userarn";
      const arn = str(memberOf(r, arnField), `${kind}[${i}].${arnField}`);
      const username = str(memberOf(r, "username"), `${kind}[${i}].username`);
      const userid = str(memberOf(r, "userid"), `${kind}[${i}].userid`);
      const g = memberOf(r, "groups");
      if (g !== undefined && g !== null && (!Array.isArray(g) || g.some((x) => typeof x !== "string" && x !== null))) return `${kind}[${i}].groups is not a list of strings`;
      for (const v of [arn, username, userid]) if (v instanceof Error) return v.message;
      const key = userIdStrict ? userid : arn;
      if (key === "") return `${kind}[${i}] has no ${userIdStrict ? "userid (dynamicfileUserIDStrict is on)" : arnField}: the authenticator refuses the whole file`;
      const groups = ((g ?? []) as Array<string | null>).map((x) => x ?? "");
      const row: DynamicFileRow = { username: username as string, groups, userid: userid as string, accessPolicies: [] };
      if (arn !== "") row[kind === "mapRoles" ? "rolearn" : "userarn"] = arn as string;
      file[kind].push(row);
    }
  }
  const accounts = memberOf(d, "mapAccounts");
  if (accounts !== undefined && accounts !== null) {
    if (!Array.isArray(accounts) || accounts.some((a) => typeof a !== "string" && a !== null)) return "mapAccounts is not a list of strings";
    file.mapAccounts = (accounts as Array<string | null>).map((a) => a ?? "");
  }
  return file;
}
