/** RBAC rule semantics and access-policy decisions (src/core/rbac.ts, src/core/access-policies.ts). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ruleAllows, scopeCovers, type AccessRequest, type PolicyRule } from "../../src/core/rbac.js";
import { ACCESS_POLICIES, associationsAllow, findAccessPolicy } from "../../src/core/access-policies.js";

const res = (verb: string, group: string, resource: string, extra: Partial<Extract<AccessRequest, { kind: "resource" }>> = {}): AccessRequest => ({ kind: "resource", verb, group, resource, ...extra });

test("ruleAllows: verbs, groups, resources, subresources, names, non-resource URLs", () => {
  const cases: Array<[PolicyRule, AccessRequest, boolean]> = [
    [{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }, res("get", "", "pods"), true],
    [{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }, res("list", "", "pods"), false],
    [{ verbs: ["*"], apiGroups: [""], resources: ["pods"] }, res("escalate", "", "pods"), true],
    [{ verbs: ["get"], apiGroups: ["apps"], resources: ["pods"] }, res("get", "", "pods"), false],
    [{ verbs: ["get"], apiGroups: ["*"], resources: ["pods"] }, res("get", "metrics.k8s.io", "pods"), true],
    // a resource does not cover its subresources, nor the reverse
    [{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }, res("get", "", "pods", { subresource: "log" }), false],
    [{ verbs: ["get"], apiGroups: [""], resources: ["pods/log"] }, res("get", "", "pods"), false],
    [{ verbs: ["get"], apiGroups: [""], resources: ["pods/log"] }, res("get", "", "pods", { subresource: "log" }), true],
    [{ verbs: ["get"], apiGroups: [""], resources: ["*/log"] }, res("get", "", "pods", { subresource: "log" }), true],
    [{ verbs: ["get"], apiGroups: [""], resources: ["*/log"] }, res("get", "", "pods", { subresource: "status" }), false],
    [{ verbs: ["get"], apiGroups: [""], resources: ["*/log"] }, res("get", "", "pods"), false],
    [{ verbs: ["get"], apiGroups: [""], resources: ["*"] }, res("get", "", "pods", { subresource: "exec" }), true],
    [{ verbs: ["get"], apiGroups: [""], resources: ["pods"], resourceNames: ["a"] }, res("get", "", "pods", { name: "a" }), true],
    [{ verbs: ["get"], apiGroups: [""], resources: ["pods"], resourceNames: ["a"] }, res("get", "", "pods", { name: "b" }), false],
    [{ verbs: ["list"], apiGroups: [""], resources: ["pods"], resourceNames: ["a"] }, res("list", "", "pods"), false],
    [{ verbs: ["get"], nonResourceURLs: ["/healthz"] }, { kind: "nonResource", verb: "get", path: "/healthz" }, true],
    [{ verbs: ["get"], nonResourceURLs: ["/healthz"] }, { kind: "nonResource", verb: "get", path: "/healthz/ping" }, false],
    [{ verbs: ["get"], nonResourceURLs: ["/healthz/*"] }, { kind: "nonResource", verb: "get", path: "/healthz/ping" }, true],
    [{ verbs: ["get"], nonResourceURLs: ["/healthz*"] }, { kind: "nonResource", verb: "get", path: "/healthzzz" }, true],
    [{ verbs: ["get"], nonResourceURLs: ["*"] }, { kind: "nonResource", verb: "post", path: "/x" }, false],
    // a resource rule never matches a non-resource request, and the reverse
    [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }, { kind: "nonResource", verb: "get", path: "/api" }, false],
    [{ verbs: ["*"], nonResourceURLs: ["*"] }, res("get", "", "pods"), false],
  ];
  for (const [rule, req, want] of cases) assert.equal(ruleAllows(rule, req), want, `${JSON.stringify(rule)} ${JSON.stringify(req)}`);
});

test("scopeCovers: cluster covers all; a namespace scope only requests inside its namespaces (prefix wildcard)", () => {
  const ns = { type: "namespace" as const, namespaces: ["team-a", "dev-*"] };
  assert.equal(scopeCovers({ type: "cluster" }, { kind: "nonResource", verb: "get", path: "/healthz" }), true);
  assert.equal(scopeCovers(ns, res("get", "", "pods", { namespace: "team-a" })), true);
  assert.equal(scopeCovers(ns, res("get", "", "pods", { namespace: "dev-1" })), true);
  assert.equal(scopeCovers(ns, res("get", "", "pods", { namespace: "dev" })), false);
  assert.equal(scopeCovers(ns, res("get", "", "pods", { namespace: "team-ab" })), false);
  assert.equal(scopeCovers(ns, res("list", "", "pods")), false, "across all namespaces");
  assert.equal(scopeCovers(ns, res("get", "", "nodes")), false, "cluster-scoped");
  assert.equal(scopeCovers(ns, { kind: "nonResource", verb: "get", path: "/healthz" }), false);
});

test("the five published policies, by name, short name and ARN in any partition", () => {
  assert.deepEqual(ACCESS_POLICIES.map((p) => p.name), ["AmazonEKSAdminPolicy", "AmazonEKSAdminViewPolicy", "AmazonEKSClusterAdminPolicy", "AmazonEKSEditPolicy", "AmazonEKSViewPolicy"]);
  assert.equal(findAccessPolicy("View")?.name, "AmazonEKSViewPolicy");
  assert.equal(findAccessPolicy("arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy")?.name, "AmazonEKSEditPolicy");
  assert.equal(findAccessPolicy("arn:aws-cn:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy")?.name, "AmazonEKSAdminPolicy");
  assert.equal(findAccessPolicy("arn:aws:eks::aws:cluster-access-policy/NoSuchPolicy"), undefined);
});

test("associationsAllow: View in team-a reads pods there, not in default, never deletes; secrets are not View's", () => {
  const view = [{ policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", scope: { type: "namespace" as const, namespaces: ["team-a"] } }];
  assert.equal(associationsAllow(view, res("list", "", "pods", { namespace: "team-a" })).allowed, true);
  assert.equal(associationsAllow(view, res("list", "", "pods", { namespace: "default" })).allowed, false);
  assert.equal(associationsAllow(view, res("delete", "", "pods", { namespace: "team-a", name: "p" })).allowed, false);
  assert.equal(associationsAllow(view, res("get", "", "secrets", { namespace: "team-a", name: "s" })).allowed, false);
  const admin = [{ policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", scope: { type: "cluster" as const } }];
  const d = associationsAllow(admin, { kind: "nonResource", verb: "get", path: "/metrics" });
  assert.equal(d.allowed, true);
  assert.deepEqual(d.by?.rule.nonResourceURLs, ["*"]);
  assert.equal(associationsAllow([{ policyArn: "arn:aws:eks::aws:cluster-access-policy/Unknown", scope: { type: "cluster" } }], res("get", "", "pods")).allowed, false);
});
