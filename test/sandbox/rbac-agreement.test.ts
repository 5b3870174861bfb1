/**
 * The pure RBAC evaluator (src/core/rbac.ts) over the EKS access policies (src/core/access-policies.ts)
 * agrees with the real kube-apiserver: each policy becomes a ClusterRole, bound cluster-wide to one
 * user and, for a namespace scope (team-a and the wildcard dev-*), by RoleBindings in the matching
 * namespaces to another; then ≥ 2,000 generated requests are decided by both — the core module and
 * a SubjectAccessReview to the apiserver — and every verdict must be the same.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type KubeEnv, requestText, startKube } from "../../src/sandbox/cluster/kube.js";
import { locatePeers } from "../../src/sandbox/cluster/peers.js";
import { ACCESS_POLICIES } from "../../src/core/access-policies.js";
import { associationsAllow, type PolicyAssociation } from "../../src/core/access-policies.js";
import { namespaceMatches, type AccessRequest, type RuleScope } from "../../src/core/rbac.js";

const NAMESPACES = ["team-a", "team-b", "dev-1", "dev-2", "kube-system"];
const NS_SCOPE: RuleScope = { type: "namespace", namespaces: ["team-a", "dev-*"] };

let dir: string;
let kube: KubeEnv | undefined;

async function api(method: string, path: string, json?: unknown): Promise<unknown> {
  const k = kube!;
  const r = await requestText(`${k.server}${path}`, { ca: k.caData ? Buffer.from(k.caData, "base64").toString() : undefined, token: k.adminToken, method, json });
  if (r.status < 200 || r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  return JSON.parse(r.body);
}

const userFor = (policy: string, scope: "cluster" | "ns"): string => `ap-${policy.toLowerCase()}-${scope}`;

before(async () => {
  const peers = await locatePeers({ build: true, log: (l) => console.error(l) });
  dir = await mkdtemp(join(tmpdir(), "eks-access-rbac-"));
  kube = await startKube({ dir: join(dir, "kube"), peers, aggregateClusterRoles: false });
  for (const ns of NAMESPACES) if (ns !== "kube-system") await api("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  for (const p of ACCESS_POLICIES) {
    const role = `eks-access-policy-${p.name.toLowerCase()}`;
    await api("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: role }, rules: p.rules });
    const subjects = (user: string) => [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }];
    const roleRef = { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role };
    await api("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: role }, roleRef, subjects: subjects(userFor(p.name, "cluster")) });
    // the namespace scope's equivalent: a RoleBinding in every namespace the scope's patterns match
    for (const ns of NAMESPACES.filter((n) => NS_SCOPE.type === "namespace" && NS_SCOPE.namespaces.some((pat) => namespaceMatches(pat, n)))) {
      await api("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: role, namespace: ns }, roleRef, subjects: subjects(userFor(p.name, "ns")) });
    }
  }
});

after(async () => {
  await kube?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A small deterministic PRNG (mulberry32), so a failing case can be reproduced. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Requests near the policies' rules (their own resources, in other groups, other subresources) and far from them. */
function generateCases(count: number, seed: number): AccessRequest[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const triples = new Set<string>();
  for (const p of ACCESS_POLICIES) for (const r of p.rules) for (const g of r.apiGroups ?? []) for (const res of r.resources ?? []) if (g !== "*" && res !== "*") triples.add(`${g}|${res}`);
  for (const extra of ["|nodes", "|persistentvolumes", "|pods/eviction", "|pods/binding", "|secrets", "rbac.authorization.k8s.io|clusterroles", "rbac.authorization.k8s.io|clusterrolebindings", "apiextensions.k8s.io|customresourcedefinitions", "coordination.k8s.io|leases", "certificates.k8s.io|certificatesigningrequests/approval", "example.com|widgets", "example.com|widgets/status", "apps|deployments/status", "apps|pods", "|deployments", "authorization.k8s.io|subjectaccessreviews", "storage.k8s.io|storageclasses"]) triples.add(extra);
  const pool = [...triples];
  const groups = ["", "apps", "batch", "extensions", "policy", "networking.k8s.io", "rbac.authorization.k8s.io", "example.com"];
  const subresources = ["status", "scale", "log", "exec", "proxy", "rollback", "approval"];
  const verbs = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "impersonate", "escalate", "bind", "proxy", "approve", "use"];
  const names = ["", "obj-1"];
  const namespaces = ["", ...NAMESPACES];
  const paths = ["/healthz", "/healthz/ping", "/livez", "/api", "/apis", "/version", "/metrics", "/openapi/v2", "/logs/kube-apiserver.log"];
  const out: AccessRequest[] = [];
  while (out.length < count) {
    if (rnd() < 0.08) {
      out.push({ kind: "nonResource", verb: pick(["get", "post", "put", "delete", "head"]), path: pick(paths) });
      continue;
    }
    let [group, combined] = pick(pool).split("|") as [string, string];
    const mutate = rnd();
    if (mutate < 0.15) group = pick(groups); // same resource in another group
    let [resource, subresource] = combined.split("/") as [string, string | undefined];
    if (mutate > 0.85) subresource = rnd() < 0.5 ? undefined : pick(subresources); // other subresource
    out.push({ kind: "resource", verb: pick(verbs), group, resource, subresource, name: pick(names), namespace: pick(namespaces) });
  }
  return out;
}

async function apiserverAllows(user: string, req: AccessRequest): Promise<boolean> {
  const spec =
    req.kind === "resource"
      ? { user, groups: [], resourceAttributes: { verb: req.verb, group: req.group, resource: req.resource, subresource: req.subresource ?? "", name: req.name ?? "", namespace: req.namespace ?? "" } }
      : { user, groups: [], nonResourceAttributes: { verb: req.verb, path: req.path } };
  const review = (await api("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", { apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", spec })) as { status: { allowed?: boolean } };
  return review.status.allowed === true;
}

test("≥ 2,000 requests × the EKS access policies: the core evaluator and the real apiserver agree on every one", async (t) => {
  const cases = generateCases(230, 20261202);
  const subjects: Array<{ user: string; associations: PolicyAssociation[] }> = [];
  for (const p of ACCESS_POLICIES) {
    subjects.push({ user: userFor(p.name, "cluster"), associations: [{ policyArn: p.arn, scope: { type: "cluster" } }] });
    subjects.push({ user: userFor(p.name, "ns"), associations: [{ policyArn: p.arn, scope: NS_SCOPE }] });
  }
  const jobs = subjects.flatMap((s) => cases.map((c) => ({ s, c })));
  assert.ok(jobs.length >= 2000, `${jobs.length} comparisons`);
  const disagreements: string[] = [];
  let allowed = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < jobs.length) {
        const { s, c } = jobs[next++]!;
        const core = associationsAllow(s.associations, c).allowed;
        const real = await apiserverAllows(s.user, c);
        if (real) allowed++;
        if (core !== real) disagreements.push(`${s.user} ${JSON.stringify(c)}: core ${core}, apiserver ${real}`);
      }
    }),
  );
  t.diagnostic(`${jobs.length} comparisons, ${allowed} allowed by the apiserver, ${disagreements.length} disagreements`);
  // both verdicts must occur often, or the comparison proves little
  assert.ok(allowed > jobs.length * 0.15 && allowed < jobs.length * 0.85, `allowed ${allowed} of ${jobs.length}`);
  assert.deepEqual(disagreements.slice(0, 20), []);
});
