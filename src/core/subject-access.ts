/**
 * EKS's access-policy authorizer as a SubjectAccessReview decision (pure): the reviewed user is
 * found by the IAM unique id its authenticator put in `extra` (aws-iam-authenticator:
 * `principalId`), its access entry's associated policies decide within their scopes, and anything
 * else gets no opinion (allowed: false without denied), so RBAC and the other authorizers go on
 * deciding. Impersonated users carry no such `extra` and so get nothing from access policies, as on EKS.
 */
import { associationsAllow } from "./access-policies.js";
import type { DynamicFile, DynamicFileRow } from "./dynamic-file.js";
import type { AccessRequest } from "./rbac.js";

export interface SubjectAccessReviewSpec {
  user?: string;
  groups?: string[];
  uid?: string;
  extra?: Record<string, string[]>;
  resourceAttributes?: { namespace?: string; verb?: string; group?: string; version?: string; resource?: string; subresource?: string; name?: string };
  nonResourceAttributes?: { path?: string; verb?: string };
}

export interface SubjectAccessReviewStatus {
  allowed: boolean;
  reason?: string;
}

/** The extra keys aws-iam-authenticator (and `serve`) use for the principal's unique id. */
export const PRINCIPAL_ID_KEYS = ["principalId", "sigs.k8s.io/aws-iam-authenticator/principalId"];

export function accessRequestOf(spec: SubjectAccessReviewSpec): AccessRequest | undefined {
  const r = spec.resourceAttributes;
  if (r) return { kind: "resource", verb: r.verb ?? "", group: r.group ?? "", resource: r.resource ?? "", subresource: r.subresource ?? "", name: r.name ?? "", namespace: r.namespace ?? "" };
  const n = spec.nonResourceAttributes;
  if (n) return { kind: "nonResource", verb: n.verb ?? "", path: n.path ?? "" };
  return undefined;
}

/** Index of a dynamic file's rows by unique id, for the per-request look-up. */
export function indexByPrincipalId(file: DynamicFile): Map<string, DynamicFileRow> {
  const m = new Map<string, DynamicFileRow>();
  for (const row of [...file.mapRoles, ...file.mapUsers]) m.set(row.userid, row);
  return m;
}

export function decideSubjectAccess(spec: SubjectAccessReviewSpec, byId: ReadonlyMap<string, DynamicFileRow>): SubjectAccessReviewStatus {
  const id = PRINCIPAL_ID_KEYS.map((k) => spec.extra?.[k]?.[0]).find((v) => v !== undefined && v !== "");
  if (id === undefined) return { allowed: false };
  // an assumed-role principal id may come as "AROA…:session"; entries are bound to the role's id
  const row = byId.get(id) ?? byId.get(id.split(":")[0]!);
  const req = accessRequestOf(spec);
  if (!row || !req) return { allowed: false };
  const d = associationsAllow(row.accessPolicies, req);
  if (!d.allowed) return { allowed: false };
  const a = row.accessPolicies.find((p) => p.policyArn === d.by!.policyArn)!;
  const where = a.scope.type === "cluster" ? "cluster scope" : `namespace scope ${a.scope.namespaces.join(",")}`;
  return { allowed: true, reason: `EKS access policy ${d.by!.policyArn.replace(/^.*\//, "")} (${where}) of the access entry for ${row.rolearn ?? row.userarn ?? id}` };
}
