/**
 * Kubernetes RBAC rule evaluation (pure): the semantics kube-apiserver's RBAC authorizer applies to
 * one PolicyRule and one request, and how a binding's scope (cluster-wide, or some namespaces)
 * limits it. Shared by the access-policy authorizer (`serve`) and, later, `explain`, so that both
 * answer exactly what the apiserver would. Agreement with the real apiserver is tested case by case
 * (test/sandbox/rbac-agreement.test.ts).
 */

/** rbac.authorization.k8s.io/v1 PolicyRule. */
export interface PolicyRule {
  verbs: readonly string[];
  apiGroups?: readonly string[] | undefined;
  resources?: readonly string[] | undefined;
  resourceNames?: readonly string[] | undefined;
  nonResourceURLs?: readonly string[] | undefined;
}

/** A request on an API resource, as SubjectAccessReview's resourceAttributes carries it. */
export interface ResourceRequest {
  kind: "resource";
  verb: string;
  /** API group; "" is the core group */
  group: string;
  resource: string;
  subresource?: string | undefined;
  name?: string | undefined;
  /** "" (or undefined) for cluster-scoped resources and requests across all namespaces */
  namespace?: string | undefined;
}

/** A request on a non-resource URL (/healthz, /version, /api, ...). */
export interface NonResourceRequest {
  kind: "nonResource";
  verb: string;
  path: string;
}

export type AccessRequest = ResourceRequest | NonResourceRequest;

const ALL = "*";

const verbMatches = (rule: PolicyRule, verb: string): boolean => rule.verbs.some((v) => v === ALL || v === verb);

const apiGroupMatches = (rule: PolicyRule, group: string): boolean => (rule.apiGroups ?? []).some((g) => g === ALL || g === group);

/**
 * `*` matches everything; otherwise the rule names "resource" or "resource/subresource" exactly,
 * or `*∕subresource` for that subresource of any resource.
 */
function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  const combined = subresource === "" ? resource : `${resource}/${subresource}`;
  for (const r of rule.resources ?? []) {
    if (r === ALL || r === combined) return true;
    if (subresource !== "" && r === `*/${subresource}`) return true;
  }
  return false;
}

/** No resourceNames means any name (a request without a name, such as list, then matches too). */
function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(name);
}

/** `*` matches every path; a trailing `*` matches by prefix; anything else exactly. */
function nonResourceUrlMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === ALL || u === path) return true;
    if (u.endsWith(ALL) && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

/** Whether one rule allows the request (what RBAC's RuleAllows decides). */
export function ruleAllows(rule: PolicyRule, req: AccessRequest): boolean {
  if (!verbMatches(rule, req.verb)) return false;
  if (req.kind === "nonResource") return nonResourceUrlMatches(rule, req.path);
  return apiGroupMatches(rule, req.group) && resourceMatches(rule, req.resource, req.subresource ?? "") && resourceNameMatches(rule, req.name ?? "");
}

/** The first rule that allows the request, or undefined. */
export function firstAllowingRule(rules: readonly PolicyRule[], req: AccessRequest): PolicyRule | undefined {
  return rules.find((r) => ruleAllows(r, req));
}

/**
 * Where a set of rules applies: the whole cluster (a ClusterRoleBinding), or only requests inside
 * the listed namespaces (RoleBindings there). A namespace entry may end in `*` to match by prefix
 * (EKS access scopes allow `dev-*`).
 */
export type RuleScope = { type: "cluster" } | { type: "namespace"; namespaces: readonly string[] };

export function namespaceMatches(pattern: string, namespace: string): boolean {
  return pattern.endsWith(ALL) ? namespace.startsWith(pattern.slice(0, -1)) : pattern === namespace;
}

/**
 * Whether rules bound with this scope are considered for the request: a namespace scope never
 * covers cluster-scoped resources, requests across all namespaces, or non-resource URLs.
 */
export function scopeCovers(scope: RuleScope, req: AccessRequest): boolean {
  if (scope.type === "cluster") return true;
  if (req.kind !== "resource") return false;
  const ns = req.namespace ?? "";
  return ns !== "" && scope.namespaces.some((p) => namespaceMatches(p, ns));
}
