/**
 * The EKS access policies whose Kubernetes permissions EKS publishes (EKS user guide, "Review
 * access policy permissions"), as RBAC rules, and how an access entry's associated policies decide
 * a request (pure). EKS enforces these itself, beside RBAC: an allow from an associated policy in
 * scope is an allow; otherwise the policies have no opinion and RBAC decides.
 */
import { firstAllowingRule, scopeCovers, type AccessRequest, type PolicyRule, type RuleScope } from "./rbac.js";

export const ACCESS_POLICY_ARN_PREFIX = "arn:aws:eks::aws:cluster-access-policy/";

export interface AccessPolicy {
  name: string;
  arn: string;
  rules: readonly PolicyRule[];
}

const WRITE = ["create", "delete", "deletecollection", "patch", "update"] as const;
const READ = ["get", "list", "watch"] as const;

/** One row of the published tables: an API group, its resources, the verbs. */
const row = (group: string, resources: string, verbs: readonly string[]): PolicyRule => ({
  apiGroups: [group],
  resources: resources.split(/\s+/).filter(Boolean),
  verbs: [...verbs],
});

// Rows shared by AmazonEKSEditPolicy and AmazonEKSAdminPolicy (the Edit table; Admin adds to it).
const EDIT_ROWS: readonly PolicyRule[] = [
  row("apps", "daemonsets deployments deployments/rollback deployments/scale replicasets replicasets/scale statefulsets statefulsets/scale", WRITE),
  row("apps", "controllerrevisions daemonsets daemonsets/status deployments deployments/scale deployments/status replicasets replicasets/scale replicasets/status statefulsets statefulsets/scale statefulsets/status", READ),
  row("autoscaling", "horizontalpodautoscalers horizontalpodautoscalers/status", READ),
  row("autoscaling", "horizontalpodautoscalers", WRITE),
  row("batch", "cronjobs jobs", WRITE),
  row("batch", "cronjobs cronjobs/status jobs jobs/status", READ),
  row("discovery.k8s.io", "endpointslices", READ),
  row("extensions", "daemonsets deployments deployments/rollback deployments/scale ingresses networkpolicies replicasets replicasets/scale replicationcontrollers/scale", WRITE),
  row("extensions", "daemonsets daemonsets/status deployments deployments/scale deployments/status ingresses ingresses/status networkpolicies replicasets replicasets/scale replicasets/status replicationcontrollers/scale", READ),
  row("networking.k8s.io", "ingresses networkpolicies", WRITE),
  row("networking.k8s.io", "ingresses ingresses/status networkpolicies", READ),
  row("policy", "poddisruptionbudgets", WRITE),
  row("policy", "poddisruptionbudgets poddisruptionbudgets/status", READ),
  row("", "namespaces", READ),
  row("", "pods/attach pods/exec pods/portforward pods/proxy secrets services/proxy", READ),
  row("", "serviceaccounts", ["impersonate"]),
  row("", "pods pods/attach pods/exec pods/portforward pods/proxy", WRITE),
  row("", "configmaps events persistentvolumeclaims replicationcontrollers replicationcontrollers/scale secrets serviceaccounts services services/proxy", WRITE),
  row("", "configmaps endpoints persistentvolumeclaims persistentvolumeclaims/status pods replicationcontrollers replicationcontrollers/scale serviceaccounts services services/status", READ),
  row("", "bindings events limitranges namespaces/status pods/log pods/status replicationcontrollers/status resourcequotas resourcequotas/status", READ),
];

// AmazonEKSViewPolicy is the Edit table's read-only rows, less the one that reads secrets and
// the pods' attach/exec/proxy subresources.
const VIEW_ROWS: readonly PolicyRule[] = EDIT_ROWS.filter((r) => r.verbs.join() === READ.join() && !r.resources?.includes("secrets"));

const policy = (name: string, rules: readonly PolicyRule[]): AccessPolicy => ({ name, arn: `${ACCESS_POLICY_ARN_PREFIX}${name}`, rules });

/** The policies with published rules, in ListAccessPolicies order (by name). */
export const ACCESS_POLICIES: readonly AccessPolicy[] = [
  policy("AmazonEKSAdminPolicy", [
    ...EDIT_ROWS,
    row("authorization.k8s.io", "localsubjectaccessreviews", ["create"]),
    row("rbac.authorization.k8s.io", "rolebindings roles", ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]),
  ]),
  policy("AmazonEKSAdminViewPolicy", [{ apiGroups: ["*"], resources: ["*"], verbs: [...READ] }]),
  policy("AmazonEKSClusterAdminPolicy", [
    { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
    { nonResourceURLs: ["*"], verbs: ["*"] },
  ]),
  policy("AmazonEKSEditPolicy", EDIT_ROWS),
  policy("AmazonEKSViewPolicy", VIEW_ROWS),
];

/** The short names `grant --policy` and the docs use (View, Edit, Admin, ClusterAdmin, AdminView). */
export const POLICY_SHORT_NAMES: Readonly<Record<string, string>> = {
  View: "AmazonEKSViewPolicy",
  Edit: "AmazonEKSEditPolicy",
  Admin: "AmazonEKSAdminPolicy",
  ClusterAdmin: "AmazonEKSClusterAdminPolicy",
  AdminView: "AmazonEKSAdminViewPolicy",
};

/** A policy by ARN (any partition: arn:aws-cn:eks::aws:cluster-access-policy/... too) or name. */
export function findAccessPolicy(arnOrName: string): AccessPolicy | undefined {
  const m = /^arn:aws[a-z-]*:eks::aws:cluster-access-policy\/(.+)$/.exec(arnOrName);
  const name = m ? m[1] : (POLICY_SHORT_NAMES[arnOrName] ?? arnOrName);
  return ACCESS_POLICIES.find((p) => p.name === name);
}

/** An access entry's association: a policy and its access scope. */
export interface PolicyAssociation {
  policyArn: string;
  scope: RuleScope;
}

export interface PolicyDecision {
  allowed: boolean;
  /** the association and rule that allowed it */
  by?: { policyArn: string; rule: PolicyRule } | undefined;
}

/**
 * Whether an access entry's associated policies allow the request. Unknown policy ARNs allow
 * nothing (their rules are not published).
 */
export function associationsAllow(associations: readonly PolicyAssociation[], req: AccessRequest): PolicyDecision {
  for (const a of associations) {
    if (!scopeCovers(a.scope, req)) continue;
    const p = findAccessPolicy(a.policyArn);
    const rule = p ? firstAllowingRule(p.rules, req) : undefined;
    if (rule) return { allowed: true, by: { policyArn: a.policyArn, rule } };
  }
  return { allowed: false };
}
