/**
 * `access reconcile` over fakes of EKS and IAM and the real aws-auth store on an in-memory
 * apiserver: permission-set roles whose suffix changed (aws-auth rows renamed in place, access
 * entries carried over to the new role), access entries of re-created principals (deleted and made
 * again with everything they held), principals gone with nothing to point at (reported, left);
 * --dry-run writes nothing; a second run finds nothing; a failure halfway says what is left.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { KubeAwsAuthStore, type KubeObject } from "../../src/adapters/kube-aws-auth.js";
import { EksAccessError } from "../../src/core/errors.js";
import { reconcile } from "../../src/usecases/access-reconcile.js";
import type { AuthenticationMode } from "../../src/core/access-entry-plan.js";
import { FakeApi } from "../fake-configmap-api.js";
import { FakeDirectory, FakeEntries, principal } from "../fake-access.js";
import { tempDir } from "../helpers.js";

const A = "111122223333";
const B = "210987654321";
const SSO = "/aws-reserved/sso.amazonaws.com/eu-west-1/";
const OLD_VIEW = "AWSReservedSSO_EKSView_0123456789abcdef";
const NEW_VIEW = "AWSReservedSSO_EKSView_fedcba9876543210";
const OLD_ADMIN = "AWSReservedSSO_EKSAdmin_aaaaaaaaaaaaaaaa";
const NEW_ADMIN = "AWSReservedSSO_EKSAdmin_bbbbbbbbbbbbbbbb";
const VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const EDIT = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy";

const MAP_ROLES = `# SSO viewers
- rolearn: arn:aws:iam::${A}:role/${OLD_VIEW}   # EKSView
  username: ${OLD_VIEW}:{{SessionName}}
  groups:
    - viewers
- rolearn: 'arn:aws:iam::${B}:role/${OLD_ADMIN}'
  username: admin
  groups: [system:masters]
- rolearn: arn:aws:iam::${A}:role/AWSReservedSSO_Retired_1111111111111111
  username: retired
  groups: [viewers]
- rolearn: arn:aws:iam::${A}:role/ci
  username: ci
  groups: [deployers]
`;

function setup(mode: AuthenticationMode = "API_AND_CONFIG_MAP") {
  const t = tempDir();
  const api = new FakeApi({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "aws-auth", namespace: "kube-system", resourceVersion: "1" }, data: { mapRoles: MAP_ROLES, mapAccounts: "[]\n" } } as KubeObject);
  const store = new KubeAwsAuthStore(api, { backupDir: join(t.path, "backups"), random: () => 0, sleep: async () => {} });
  const entries = new FakeEntries(mode, A);
  const at = (iso: string) => ({ createdAt: iso });
  const put = (arn: string, username: string, groups: string[], policies: Array<[string, "cluster" | string[]]>, createdAt: string, type = "STANDARD") =>
    entries.entries.set(arn, { principalArn: arn, type, username, kubernetesGroups: groups, ...at(createdAt), policies: policies.map(([policyArn, s]) => ({ policyArn, accessScope: s === "cluster" ? { type: "cluster", namespaces: [] } : { type: "namespace", namespaces: s } })) });
  put(`arn:aws:iam::${A}:role${SSO}${OLD_VIEW}`, `arn:aws:sts::${A}:assumed-role/${OLD_VIEW}/{{SessionName}}`, [], [[VIEW, ["team-a"]]], "2024-01-01T00:00:00.000Z");
  put(`arn:aws:iam::${A}:role/dev`, "dev:{{SessionName}}", ["devs"], [[EDIT, "cluster"], [VIEW, ["x", "y"]]], "2024-02-01T00:00:00.000Z");
  put(`arn:aws:iam::${A}:role/nodes`, "system:node:{{EC2PrivateDNSName}}", [], [], "2024-02-01T00:00:00.000Z", "EC2_LINUX");
  put(`arn:aws:iam::${A}:user/carol`, `arn:aws:iam::${A}:user/carol`, ["devs"], [], "2024-02-01T00:00:00.000Z");
  put(`arn:aws:iam::${A}:role/gone`, "gone", [], [], "2024-02-01T00:00:00.000Z");
  const directory = new FakeDirectory([
    principal(`arn:aws:iam::${A}:role${SSO}${NEW_VIEW}`, "2024-05-01T00:00:00.000Z"),
    principal(`arn:aws:iam::${B}:role/aws-reserved/sso.amazonaws.com/${NEW_ADMIN}`, "2024-05-01T00:00:00.000Z"),
    principal(`arn:aws:iam::${A}:role/dev`, "2024-03-01T00:00:00.000Z"), // re-created after its entry
    principal(`arn:aws:iam::${A}:role/nodes`, "2024-03-01T00:00:00.000Z"), // re-created too
    principal(`arn:aws:iam::${A}:user/carol`, "2023-01-01T00:00:00.000Z"),
    principal(`arn:aws:iam::${A}:role/ci`, "2023-01-01T00:00:00.000Z"),
  ]);
  const deps = { entries, directory, awsAuth: async () => store };
  return { api, entries, directory, deps, done: t.cleanup };
}

test("--dry-run: every stale grant found, the aws-auth diff and the AWS CLI commands shown, nothing written", async () => {
  const s = setup();
  try {
    const o = await reconcile(s.deps, { dryRun: true });
    assert.deepEqual(o.checked, { awsAuthRows: 3, accessEntries: 5 });
    assert.deepEqual(
      o.items.map((i) => [i.kind, i.source, i.principal.slice(i.principal.lastIndexOf("/") + 1), i.replacement?.slice(i.replacement.lastIndexOf("/") + 1)]),
      [
        ["sso-role-replaced", "aws-auth", OLD_VIEW, NEW_VIEW],
        ["sso-role-replaced", "aws-auth", OLD_ADMIN, NEW_ADMIN],
        ["principal-gone", "aws-auth", "AWSReservedSSO_Retired_1111111111111111", undefined],
        ["sso-role-replaced", "access-entry", OLD_VIEW, NEW_VIEW],
        ["principal-recreated", "access-entry", "dev", undefined],
        ["principal-recreated", "access-entry", "nodes", undefined],
        ["principal-gone", "access-entry", "gone", undefined],
      ],
    );
    assert.match(o.items[2]!.message, /permission set Retired has no role in account 111122223333 any more/);
    assert.equal(
      o.awsAuth?.diff,
      [
        "--- kube-system/aws-auth data.mapRoles\t",
        "+++ kube-system/aws-auth data.mapRoles\t",
        "@@ -1,9 +1,9 @@",
        " # SSO viewers",
        `-- rolearn: arn:aws:iam::${A}:role/${OLD_VIEW}   # EKSView`,
        `-  username: ${OLD_VIEW}:{{SessionName}}`,
        `+- rolearn: arn:aws:iam::${A}:role/${NEW_VIEW}   # EKSView`,
        `+  username: ${NEW_VIEW}:{{SessionName}}`,
        "   groups:",
        "     - viewers",
        `-- rolearn: 'arn:aws:iam::${B}:role/${OLD_ADMIN}'`,
        `+- rolearn: 'arn:aws:iam::${B}:role/${NEW_ADMIN}'`,
        "   username: admin",
        "   groups: [system:masters]",
        ` - rolearn: arn:aws:iam::${A}:role/AWSReservedSSO_Retired_1111111111111111`,
        "",
      ].join("\n"),
    );
    const cmds = o.items.flatMap((i) => i.steps.map((x) => x.command).filter(Boolean));
    const base = "--cluster-name prod --region eu-west-1 --principal-arn";
    assert.deepEqual(cmds, [
      `aws eks create-access-entry ${base} arn:aws:iam::${A}:role${SSO}${NEW_VIEW}`,
      `aws eks associate-access-policy ${base} arn:aws:iam::${A}:role${SSO}${NEW_VIEW} --policy-arn ${VIEW} --access-scope type=namespace,namespaces=team-a`,
      `aws eks delete-access-entry ${base} arn:aws:iam::${A}:role${SSO}${OLD_VIEW}`,
      `aws eks delete-access-entry ${base} arn:aws:iam::${A}:role/dev`,
      `aws eks create-access-entry ${base} arn:aws:iam::${A}:role/dev --kubernetes-groups devs --username 'dev:{{SessionName}}'`,
      `aws eks associate-access-policy ${base} arn:aws:iam::${A}:role/dev --policy-arn ${EDIT} --access-scope type=cluster`,
      `aws eks associate-access-policy ${base} arn:aws:iam::${A}:role/dev --policy-arn ${VIEW} --access-scope type=namespace,namespaces=x,y`,
      `aws eks delete-access-entry ${base} arn:aws:iam::${A}:role/nodes`,
      `aws eks create-access-entry ${base} arn:aws:iam::${A}:role/nodes --type EC2_LINUX`,
    ]);
    assert.deepEqual(s.entries.calls, []);
    assert.deepEqual(s.api.calls.filter((c) => c !== "get"), []);
  } finally {
    s.done();
  }
});

test("applied: rows renamed in place (comments, quoting, other rows kept), entries carried over; a second run changes nothing", async () => {
  const s = setup();
  try {
    const o = await reconcile(s.deps, { dryRun: false });
    assert.ok(o.awsAuth?.backupPath);
    const mapRoles = s.api.stored!.data!["mapRoles"]!;
    assert.equal(mapRoles, MAP_ROLES.replaceAll(OLD_VIEW, NEW_VIEW).replace(OLD_ADMIN, NEW_ADMIN));
    assert.equal(s.api.stored!.data!["mapAccounts"], "[]\n");
    const e = s.entries.entries;
    assert.equal(e.has(`arn:aws:iam::${A}:role${SSO}${OLD_VIEW}`), false);
    const view = e.get(`arn:aws:iam::${A}:role${SSO}${NEW_VIEW}`)!;
    assert.equal(view.username, `arn:aws:sts::${A}:assumed-role/${NEW_VIEW}/{{SessionName}}`, "EKS's default username, for the new role");
    assert.deepEqual(view.policies, [{ policyArn: VIEW, accessScope: { type: "namespace", namespaces: ["team-a"] } }]);
    const dev = e.get(`arn:aws:iam::${A}:role/dev`)!;
    assert.deepEqual([dev.username, dev.kubernetesGroups, dev.policies.length, dev.createdAt! > "2024-03-01"], ["dev:{{SessionName}}", ["devs"], 2, true]);
    assert.equal(e.get(`arn:aws:iam::${A}:role/nodes`)!.type, "EC2_LINUX");
    assert.ok(e.has(`arn:aws:iam::${A}:role/gone`), "a grant with nothing to point at is left");
    const again = await reconcile(s.deps, { dryRun: false });
    assert.deepEqual(again.items.map((i) => [i.kind, i.steps.length]), [
      ["principal-gone", 0],
      ["principal-gone", 0],
    ]);
    assert.equal(again.awsAuth, undefined);
    assert.equal(s.entries.calls.length, 9, "the second run wrote nothing (3 + 4 + 2 calls were the first run's)");
  } finally {
    s.done();
  }
});

test("an entry for the new role that exists already keeps what it has and gains the old entry's groups and policies", async () => {
  const s = setup();
  try {
    const fresh = `arn:aws:iam::${A}:role${SSO}${NEW_VIEW}`;
    s.entries.entries.set(fresh, { principalArn: fresh, type: "STANDARD", username: "viewer", kubernetesGroups: ["mine"], createdAt: "2024-06-01T00:00:00.000Z", policies: [{ policyArn: VIEW, accessScope: { type: "namespace", namespaces: ["team-b"] } }] });
    s.entries.entries.get(`arn:aws:iam::${A}:role${SSO}${OLD_VIEW}`)!.kubernetesGroups = ["old-group"];
    const o = await reconcile(s.deps, { dryRun: true });
    const view = o.items.find((i) => i.source === "access-entry" && i.kind === "sso-role-replaced")!;
    assert.deepEqual(view.steps.map((x) => x.text), [
      `update the access entry of ${fresh}: groups mine, old-group`,
      `associate AmazonEKSViewPolicy with ${fresh} in namespaces team-b, team-a`,
      `delete the access entry of arn:aws:iam::${A}:role${SSO}${OLD_VIEW}`,
    ]);
  } finally {
    s.done();
  }
});

test("a failure halfway names what is left to do, as AWS CLI commands", async () => {
  const s = setup();
  s.entries.failAt = 5; // create new view, associate, delete old view, delete dev, [create dev]
  try {
    await assert.rejects(reconcile(s.deps, { dryRun: false }), (err: unknown) => {
      assert.ok(EksAccessError.is(err));
      assert.match(err.line, /create arn:aws:iam::111122223333:role\/dev failed .* \(reconciling arn:aws:iam::111122223333:role\/dev, step 2 of 4\); what is left to do: aws eks create-access-entry .*role\/dev --kubernetes-groups devs --username 'dev:\{\{SessionName\}\}' && aws eks associate-access-policy .*AmazonEKSEditPolicy .* && aws eks associate-access-policy .*namespaces=x,y$/);
      assert.ok(!err.line.includes("\n"));
      return true;
    });
  } finally {
    s.done();
  }
});

test("CONFIG_MAP mode reads no access entries; API mode does not touch aws-auth", async () => {
  const s = setup("CONFIG_MAP");
  try {
    const o = await reconcile(s.deps, { dryRun: true });
    assert.deepEqual(o.checked, { awsAuthRows: 3, accessEntries: 0 });
    assert.ok(o.items.every((i) => i.source === "aws-auth"));
    assert.match(o.notes.join("\n"), /CONFIG_MAP mode: it has no access entries/);
    s.entries.mode = "API";
    const api = await reconcile({ ...s.deps, awsAuth: async () => assert.fail("aws-auth is not read in API mode") }, { dryRun: true });
    assert.ok(api.items.every((i) => i.source === "access-entry"));
    assert.equal(api.checked.awsAuthRows, 0);
  } finally {
    s.done();
  }
});
