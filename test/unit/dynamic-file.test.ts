/** Access entries → aws-iam-authenticator's dynamic file, and the SubjectAccessReview decision over it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { dynamicFileFor, parseDynamicFile } from "../../src/core/dynamic-file.js";
import { decideSubjectAccess, indexByPrincipalId } from "../../src/core/subject-access.js";

const VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const entries = [
  { principalArn: "arn:aws:iam::123456789012:role/team/dev", principalId: "AROADEV", username: "arn:aws:sts::123456789012:assumed-role/dev/{{SessionName}}", kubernetesGroups: ["devs"], type: "STANDARD", policies: [{ policyArn: VIEW, accessScope: { type: "namespace" as const, namespaces: ["team-a"] } }] },
  { principalArn: "arn:aws:iam::123456789012:user/alice", principalId: "AIDAALICE", username: "arn:aws:iam::123456789012:user/alice", kubernetesGroups: [], type: "STANDARD", policies: [] },
  { principalArn: "arn:aws:iam::123456789012:role/win", principalId: "AROAWIN", username: "system:node:{{EC2PrivateDNSName}}", kubernetesGroups: [], type: "EC2_WINDOWS", policies: [] },
];

test("roles to mapRoles, users to mapUsers, bound to the unique id; node types get the node groups; it round-trips", () => {
  const f = dynamicFileFor(entries);
  assert.deepEqual(f.mapRoles.map((r) => [r.rolearn, r.userid, r.groups]), [
    ["arn:aws:iam::123456789012:role/team/dev", "AROADEV", ["devs"]],
    ["arn:aws:iam::123456789012:role/win", "AROAWIN", ["system:bootstrappers", "system:nodes", "eks:kube-proxy-windows"]],
  ]);
  assert.deepEqual(f.mapUsers.map((r) => [r.userarn, r.userid]), [["arn:aws:iam::123456789012:user/alice", "AIDAALICE"]]);
  assert.deepEqual(f.mapRoles[0]!.accessPolicies, [{ policyArn: VIEW, scope: { type: "namespace", namespaces: ["team-a"] } }]);
  assert.deepEqual(parseDynamicFile(JSON.stringify(f)), f);
  assert.match(parseDynamicFile("[") as string, /not JSON/);
  assert.match(parseDynamicFile('{"mapRoles":[{"rolearn":"x"}]}') as string, /needs userid and username/);
  // a file written by someone else (no accessPolicies) reads as rows without policies
  const plain = parseDynamicFile('{"mapRoles":[{"rolearn":"a","userid":"AROA1","username":"u","groups":["g"]}]}');
  assert.deepEqual(typeof plain !== "string" && plain.mapRoles[0]!.accessPolicies, []);
});

test("decideSubjectAccess: by the principal id in extra (an assumed role's id:session too); no id, no entry or no rule → no opinion", () => {
  const byId = indexByPrincipalId(dynamicFileFor(entries));
  const spec = (extra: Record<string, string[]>, ns = "team-a", verb = "list") => ({ user: "u", extra, resourceAttributes: { verb, resource: "pods", namespace: ns } });
  const yes = decideSubjectAccess(spec({ principalId: ["AROADEV"] }), byId);
  assert.equal(yes.allowed, true);
  assert.equal(yes.reason, "EKS access policy AmazonEKSViewPolicy (namespace scope team-a) of the access entry for arn:aws:iam::123456789012:role/team/dev");
  assert.equal(decideSubjectAccess(spec({ "sigs.k8s.io/aws-iam-authenticator/principalId": ["AROADEV:alice"] }), byId).allowed, true);
  assert.deepEqual(decideSubjectAccess(spec({}), byId), { allowed: false });
  assert.deepEqual(decideSubjectAccess(spec({ principalId: ["AROADEV"] }, "default"), byId), { allowed: false });
  assert.deepEqual(decideSubjectAccess(spec({ principalId: ["AROADEV"] }, "team-a", "delete"), byId), { allowed: false });
  assert.deepEqual(decideSubjectAccess(spec({ principalId: ["AIDAALICE"] }), byId), { allowed: false });
  assert.deepEqual(decideSubjectAccess({ user: "u", extra: { principalId: ["AROADEV"] } }, byId), { allowed: false });
});
