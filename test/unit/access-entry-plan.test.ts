import assert from "node:assert/strict";
import { test } from "node:test";
import { planGrant, planRevoke, stepCommand, stepText, type AccessEntryState } from "../../src/core/access-entry-plan.js";

const P = "arn:aws:iam::111122223333:role/dev";
const VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const EDIT = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy";
const entry = (over: Partial<AccessEntryState> = {}): AccessEntryState => ({ principalArn: P, type: "STANDARD", username: "u", kubernetesGroups: ["a"], policies: [], ...over });
const ns = (...namespaces: string[]) => ({ type: "namespace" as const, namespaces });
const cluster = { type: "cluster" as const, namespaces: [] };

test("a new principal: create, then associate", () => {
  const plan = planGrant(undefined, { principalArn: P, groups: ["devs"], policy: { policyArn: VIEW, accessScope: ns("team-a") } });
  assert.deepEqual(plan.steps.map((s) => s.op), ["create", "associate"]);
  assert.deepEqual(plan.steps[0], { op: "create", principalArn: P, username: undefined, kubernetesGroups: ["devs"] });
});

test("grant is idempotent: the same grant twice plans nothing the second time", () => {
  const current = entry({ kubernetesGroups: ["devs"], policies: [{ policyArn: VIEW, accessScope: ns("team-a") }] });
  const plan = planGrant(current, { principalArn: P, groups: ["devs"], policy: { policyArn: VIEW, accessScope: ns("team-a") } });
  assert.deepEqual(plan.steps, []);
  assert.equal(plan.notes.length, 2);
});

test("a grant keeps the entry's other groups and policies", () => {
  const current = entry({ kubernetesGroups: ["a"], policies: [{ policyArn: EDIT, accessScope: cluster }] });
  const plan = planGrant(current, { principalArn: P, groups: ["b"], policy: { policyArn: VIEW, accessScope: cluster } });
  assert.deepEqual(plan.steps, [
    { op: "update", principalArn: P, username: undefined, kubernetesGroups: ["a", "b"] },
    { op: "associate", principalArn: P, policyArn: VIEW, scope: cluster },
  ]);
});

test("namespace scopes widen, never narrow", () => {
  const current = entry({ policies: [{ policyArn: VIEW, accessScope: ns("a") }] });
  assert.deepEqual(planGrant(current, { principalArn: P, groups: [], policy: { policyArn: VIEW, accessScope: ns("b") } }).steps, [
    { op: "associate", principalArn: P, policyArn: VIEW, scope: ns("a", "b") },
  ]);
  assert.deepEqual(planGrant(current, { principalArn: P, groups: [], policy: { policyArn: VIEW, accessScope: cluster } }).steps[0], {
    op: "associate", principalArn: P, policyArn: VIEW, scope: cluster,
  });
  const wide = entry({ policies: [{ policyArn: VIEW, accessScope: cluster }] });
  const plan = planGrant(wide, { principalArn: P, groups: [], policy: { policyArn: VIEW, accessScope: ns("b") } });
  assert.deepEqual(plan.steps, []);
  assert.match(plan.notes[0]!, /already has AmazonEKSViewPolicy cluster-wide/);
});

test("a changed username updates; a node entry's groups are left alone with a note", () => {
  assert.deepEqual(planGrant(entry(), { principalArn: P, username: "v", groups: [] }).steps, [{ op: "update", principalArn: P, username: "v", kubernetesGroups: ["a"] }]);
  const node = planGrant(entry({ type: "EC2_LINUX", kubernetesGroups: [] }), { principalArn: P, groups: ["x"] });
  assert.deepEqual(node.steps, []);
  assert.match(node.notes[0]!, /type EC2_LINUX/);
});

test("revoke: whole entry, one policy, some groups; nothing to revoke", () => {
  const current = entry({ kubernetesGroups: ["a", "b"], policies: [{ policyArn: VIEW, accessScope: cluster }] });
  assert.deepEqual(planRevoke(current, { principalArn: P }).steps, [{ op: "delete", principalArn: P }]);
  assert.deepEqual(planRevoke(current, { principalArn: P, policyArn: VIEW }).steps, [{ op: "disassociate", principalArn: P, policyArn: VIEW }]);
  assert.deepEqual(planRevoke(current, { principalArn: P, groups: ["a"] }).steps, [{ op: "update", principalArn: P, kubernetesGroups: ["b"] }]);
  assert.deepEqual(planRevoke(current, { principalArn: P, policyArn: EDIT }).steps, []);
  assert.deepEqual(planRevoke(undefined, { principalArn: P }), { steps: [], notes: [`${P} has no access entry`] });
});

test("steps render as the AWS CLI commands doing the same, quoted for a shell", () => {
  const [create, associate] = planGrant(undefined, { principalArn: P, username: "dev:{{SessionName}}", groups: ["devs"], policy: { policyArn: VIEW, accessScope: ns("a", "b") } }).steps;
  assert.equal(
    stepCommand("prod", "eu-west-1", create!),
    `aws eks create-access-entry --cluster-name prod --region eu-west-1 --principal-arn ${P} --kubernetes-groups devs --username 'dev:{{SessionName}}'`,
  );
  assert.equal(stepCommand("prod", "eu-west-1", associate!), `aws eks associate-access-policy --cluster-name prod --region eu-west-1 --principal-arn ${P} --policy-arn ${VIEW} --access-scope type=namespace,namespaces=a,b`);
  assert.equal(stepText(associate!), `associate AmazonEKSViewPolicy with ${P} in namespaces a, b`);
});
