/**
 * aws-auth parsing (as aws-iam-authenticator v0.6.13's ParseMap reads it) and edits that change only
 * the rows they touch: golden before/after strings with comments and odd quoting.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { isNodeRow, kindFor, parseAwsAuth, parseAwsAuthManifest, removeMappings, removeRows, renameMapping, upsertMapping, type RemoveResult, type UpsertResult } from "../../src/core/mapping/aws-auth.js";

const ok = <T extends UpsertResult | RemoveResult>(r: T): Extract<T, { ok: true }> => {
  assert.ok(r.ok, r.ok ? "" : r.message);
  return r as Extract<T, { ok: true }>;
};

// A realistic aws-auth: comments, blank lines, node roles, odd quoting, other keys, mapAccounts.
const MAP_ROLES = `# managed by the platform team — ask #platform before editing
- rolearn: arn:aws:iam::111122223333:role/eks-nodes-NodeInstanceRole-1ABCDEF   # node group a
  username: system:node:{{EC2PrivateDNSName}}
  groups:
    - system:bootstrappers
    - system:nodes

# admins (break-glass)
- rolearn: 'arn:aws:iam::111122223333:role/Admin'
  username: "admin:{{SessionName}}"
  groups: [ 'system:masters' ]
- rolearn: arn:aws:iam::111122223333:role/Viewer
  username: viewer:{{SessionName}}
  groups:
    - viewers   # bound to view
# trailing note
`;
const MAP_USERS = `- userarn: arn:aws:iam::111122223333:user/ops/alice
  username: alice
  groups:
  - system:masters
`;
const MAP_ACCOUNTS = `- "444455556666"  # partner
- 777788889999
`;
const DATA = { mapRoles: MAP_ROLES, mapUsers: MAP_USERS, mapAccounts: MAP_ACCOUNTS, "custom-note": "  keep:  me  \n" };

test("parse: rows with kind, index, ARN, username, groups, line and key order; accounts as written", () => {
  const p = parseAwsAuth(DATA);
  assert.deepEqual(p.issues, []);
  assert.deepEqual(
    p.rows.map((r) => [r.kind, r.index, r.arn ?? r.account, r.username, r.groups, r.line, r.keys]),
    [
      ["mapRoles", 0, "arn:aws:iam::111122223333:role/eks-nodes-NodeInstanceRole-1ABCDEF", "system:node:{{EC2PrivateDNSName}}", ["system:bootstrappers", "system:nodes"], 2, ["rolearn", "username", "groups"]],
      ["mapRoles", 1, "arn:aws:iam::111122223333:role/Admin", "admin:{{SessionName}}", ["system:masters"], 9, ["rolearn", "username", "groups"]],
      ["mapRoles", 2, "arn:aws:iam::111122223333:role/Viewer", "viewer:{{SessionName}}", ["viewers"], 12, ["rolearn", "username", "groups"]],
      ["mapUsers", 0, "arn:aws:iam::111122223333:user/ops/alice", "alice", ["system:masters"], 1, ["userarn", "username", "groups"]],
      ["mapAccounts", 0, "444455556666", undefined, [], 1, []],
      ["mapAccounts", 1, "777788889999", undefined, [], 2, []],
    ],
  );
  assert.equal(isNodeRow(p.rows[0]!), true);
  assert.equal(isNodeRow(p.rows[1]!), false);
});

test("parse: the authenticator's own fixtures (pkg/mapper/configmap/yaml): crazy-case field names load, mis-cased data keys do not, a mis-indented group merges", () => {
  const crazy = parseAwsAuth({
    mapRoles: "- rOlEaRn: arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6\n  UsErNaMe: system:node:{{EC2PrivateDNSName}}\n  gRoUpS:\n    - system:bootstrappers\n    - system:nodes\n",
    mapUsers: "- uSeRaRn: arn:aws:iam::555555555555:user/admin\n  UsErNaMe: admin\n  gRoUpS:\n    - system:masters\n",
    mapAccounts: "- 555555555555\n",
  });
  assert.deepEqual(crazy.issues, []);
  assert.deepEqual(crazy.rows.map((r) => [r.arn ?? r.account, r.username, r.groups]), [
    ["arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6", "system:node:{{EC2PrivateDNSName}}", ["system:bootstrappers", "system:nodes"]],
    ["arn:aws:iam::555555555555:user/admin", "admin", ["system:masters"]],
    ["555555555555", undefined, []],
  ]);
  const topCase = parseAwsAuth({ MaPrOlEs: "- rolearn: arn:aws:iam::555555555555:role/x\n  username: x\n", mapusers: "[]" });
  assert.deepEqual(topCase.rows, []);
  assert.deepEqual(topCase.issues.map((i) => [i.code, i.key]), [["top-key-case", "MaPrOlEs"], ["top-key-case", "mapusers"]]);
  const space = parseAwsAuth({ mapRoles: "- rolearn: arn:aws:iam::555555555555:role/n\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n    - system:bootstrappers\n     - system:nodes\n" });
  assert.deepEqual(space.rows[0]!.groups, ["system:bootstrappers - system:nodes"]);
  // missing `|`: the manifest itself is refused (kubectl and the apiserver refuse it too)
  const bar = parseAwsAuthManifest("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles:\n    - rolearn: arn:aws:iam::5:role/x\n");
  assert.ok("error" in bar);
  assert.match(bar.error, /data\.mapRoles \(line 7\) is not a string: a list needs `\|` after the key/);
});

test("parse: YAML 1.1 scalars (yaml.v2) are not strings; wrong types, unknown and doubled fields, the other ARN key, bad YAML — reported with key and line, never thrown", () => {
  const p = parseAwsAuth({
    mapRoles: [
      "- rolearn: arn:aws:iam::1:role/A",
      "  username: yes",
      "  groups: system:masters",
      "- userarn: arn:aws:iam::1:user/u",
      "  username: u",
      "- rolearn: arn:aws:iam::1:role/B",
      "  RoleArn: arn:aws:iam::1:role/C",
      "  usrname: b",
      "  groups: [0123, ok]",
      "- just a string",
      "",
    ].join("\n"),
    mapUsers: "- userarn: arn:aws:iam::1:user/x\n  groups: [a\n",
    mapAccounts: "{not: a list}",
  });
  assert.deepEqual(
    p.issues.map((i) => [i.code, i.key, i.line]),
    [
      ["field-type", "mapRoles", 2],
      ["field-type", "mapRoles", 3],
      ["arn-key-mismatch", "mapRoles", 4],
      ["duplicate-field", "mapRoles", 6],
      ["unknown-field", "mapRoles", 8],
      ["field-type", "mapRoles", 9],
      ["row-not-a-map", "mapRoles", 10],
      ["yaml-syntax", "mapUsers", 3],
      ["not-a-list", "mapAccounts", 1],
    ],
  );
  assert.match(p.issues[0]!.message, /^mapRoles line 2: username must be a string, not the boolean yes — the authenticator drops it \(quote it\)$/);
  assert.match(p.issues[3]!.message, /rolearn is given 2 times in one row; the authenticator uses the one on line 6/);
  const rows = p.rows.filter((r) => r.kind === "mapRoles");
  assert.deepEqual(rows.map((r) => [r.arn, r.username, r.groups]), [
    ["arn:aws:iam::1:role/A", undefined, []],
    [undefined, "u", []],
    // `rolearn` sorts after `RoleArn`: encoding/json sets it last (sigs.k8s.io/yaml sorts the keys)
    ["arn:aws:iam::1:role/B", undefined, ["", "ok"]],
    [undefined, undefined, []],
  ]);
  for (const i of p.issues) assert.doesNotMatch(i.message, /\n/);
});

test("parse: blank, ``, \"\", '' and comment-only values load nothing, without issues (isSkippable)", () => {
  for (const v of ["", "  \n", "``", '""', "''", "# nothing\n", "[]"]) assert.deepEqual(parseAwsAuth({ mapRoles: v, mapUsers: v, mapAccounts: v }), { rows: [], issues: [] }, JSON.stringify(v));
  assert.deepEqual(parseAwsAuth(undefined), { rows: [], issues: [] });
});

test("upsert appends a row in the style of the last one; every other byte, key and row is untouched", () => {
  const r = ok(upsertMapping(DATA, { arn: "arn:aws:iam::111122223333:role/Dev", username: "dev:{{SessionName}}", groups: ["devs", "viewers"] }));
  assert.equal(r.action, "added");
  assert.equal(r.kind, "mapRoles");
  assert.equal(
    r.data["mapRoles"],
    `# managed by the platform team — ask #platform before editing
- rolearn: arn:aws:iam::111122223333:role/eks-nodes-NodeInstanceRole-1ABCDEF   # node group a
  username: system:node:{{EC2PrivateDNSName}}
  groups:
    - system:bootstrappers
    - system:nodes

# admins (break-glass)
- rolearn: 'arn:aws:iam::111122223333:role/Admin'
  username: "admin:{{SessionName}}"
  groups: [ 'system:masters' ]
- rolearn: arn:aws:iam::111122223333:role/Viewer
  username: viewer:{{SessionName}}
  groups:
    - viewers   # bound to view
- rolearn: arn:aws:iam::111122223333:role/Dev
  username: dev:{{SessionName}}
  groups:
    - devs
    - viewers
# trailing note
`,
  );
  for (const k of ["mapUsers", "mapAccounts", "custom-note"]) assert.equal(r.data[k], DATA[k as keyof typeof DATA], k);
});

test("upsert of an existing ARN (case-insensitive) rewrites only the values that change, keeping their quoting", () => {
  const r = ok(upsertMapping(DATA, { arn: "arn:aws:iam::111122223333:role/admin", username: "root:{{SessionName}}", groups: ["system:masters", "auditors"] }));
  assert.equal(r.action, "updated");
  assert.equal(
    r.data["mapRoles"],
    MAP_ROLES.replace(`  username: "admin:{{SessionName}}"\n  groups: [ 'system:masters' ]`, `  username: "root:{{SessionName}}"\n  groups: ['system:masters', 'auditors']`),
  );
  const g = ok(upsertMapping(DATA, { arn: "arn:aws:iam::111122223333:role/Viewer", username: "viewer:{{SessionName}}", groups: ["viewers", "devs"] }));
  assert.equal(g.data["mapRoles"], MAP_ROLES.replace("    - viewers   # bound to view\n", "    - viewers\n    - devs\n"));
  const same = ok(upsertMapping(DATA, { arn: "ARN:AWS:IAM::111122223333:ROLE/VIEWER", username: "viewer:{{SessionName}}", groups: ["viewers"] }));
  assert.equal(same.action, "unchanged");
  assert.deepEqual(same.data, DATA);
});

test("upsert with duplicates: the last row (the one the authenticator uses) is updated, the earlier ones removed", () => {
  const before = `- rolearn: arn:aws:iam::1:role/A   # first, shadowed
  username: a1
  groups: [g1]
- rolearn: arn:aws:iam::1:role/B
  username: b
  groups: [gb]
- rolearn: arn:aws:iam::1:role/a   # second, used
  username: a2
  groups:
  - g2
`;
  const r = ok(upsertMapping({ mapRoles: before }, { arn: "arn:aws:iam::1:role/A", username: "a3", groups: ["g2", "g3"] }));
  assert.equal(r.action, "updated");
  assert.deepEqual(r.removedDuplicates.map((d) => d.line), [1]);
  assert.equal(r.data["mapRoles"], `- rolearn: arn:aws:iam::1:role/B
  username: b
  groups: [gb]
- rolearn: arn:aws:iam::1:role/a   # second, used
  username: a3
  groups:
  - g2
  - g3
`);
});

test("upsert fills in a missing username or groups in the row's own layout", () => {
  const r = ok(upsertMapping({ mapRoles: "- rolearn: arn:aws:iam::1:role/A # no more\n- rolearn: arn:aws:iam::1:role/B\n  username:\n  groups:\n" }, { arn: "arn:aws:iam::1:role/B", username: "b", groups: ["g", "h"] }));
  assert.equal(r.data["mapRoles"], "- rolearn: arn:aws:iam::1:role/A # no more\n- rolearn: arn:aws:iam::1:role/B\n  username: b\n  groups:\n  - g\n  - h\n");
  const a = ok(upsertMapping({ mapRoles: "- rolearn: arn:aws:iam::1:role/A # no more\n- rolearn: arn:aws:iam::1:role/B\n" }, { arn: "arn:aws:iam::1:role/A", username: "{{SessionName}}", groups: [] }));
  assert.equal(a.data["mapRoles"], "- rolearn: arn:aws:iam::1:role/A # no more\n  username: '{{SessionName}}'\n  groups: []\n- rolearn: arn:aws:iam::1:role/B\n");
});

test("upsert creates an absent or empty key in the block style EKS and eksctl write", () => {
  const expected = "- groups:\n  - system:masters\n  rolearn: arn:aws:iam::1:role/A\n  username: a:{{SessionName}}\n";
  for (const v of [undefined, "", "''", "[]"]) {
    const data: Record<string, string> = v === undefined ? { mapAccounts: "- 1\n" } : { mapRoles: v, mapAccounts: "- 1\n" };
    const r = ok(upsertMapping(data, { arn: "arn:aws:iam::1:role/A", username: "a:{{SessionName}}", groups: ["system:masters"] }));
    assert.equal(r.data["mapRoles"], expected, JSON.stringify(v));
    assert.equal(r.data["mapAccounts"], "- 1\n");
  }
  const user = ok(upsertMapping(undefined, { arn: "arn:aws:iam::1:user/bob", username: "bob", groups: ["devs"] }));
  assert.equal(user.kind, "mapUsers");
  assert.deepEqual(user.data, { mapUsers: "- groups:\n  - devs\n  userarn: arn:aws:iam::1:user/bob\n  username: bob\n" });
  const comments = ok(upsertMapping({ mapRoles: "# nothing yet" }, { arn: "arn:aws:iam::1:role/A", username: "a", groups: [] }));
  assert.equal(comments.data["mapRoles"], "# nothing yet\n- groups: []\n  rolearn: arn:aws:iam::1:role/A\n  username: a\n");
});

test("upsert follows flow and JSON styles, and values that need quotes get them", () => {
  const json = `[{"rolearn":"arn:aws:iam::1:role/A","username":"a","groups":["g"]}]`;
  const added = ok(upsertMapping({ mapRoles: json }, { arn: "arn:aws:iam::1:role/B", username: "yes", groups: ["x"] }));
  assert.equal(added.data["mapRoles"], `[{"rolearn":"arn:aws:iam::1:role/A","username":"a","groups":["g"]}, {"rolearn": "arn:aws:iam::1:role/B", "username": "yes", "groups": ["x"]}]`);
  assert.deepEqual(parseAwsAuth(added.data).rows.map((r) => r.username), ["a", "yes"]);
  const eksctlOld = "- username: 'system:node:{{EC2PrivateDNSName}}'\n  groups: [ 'system:bootstrappers', 'system:nodes' ]\n  rolearn: 'arn:aws:iam::122333:role/ng1'";
  const r = ok(upsertMapping({ mapRoles: eksctlOld }, { arn: "arn:aws:iam::122333:role/Dev", username: "dev", groups: ["a", "b"] }));
  assert.equal(r.data["mapRoles"], `${eksctlOld}\n- username: 'dev'\n  groups: ['a', 'b']\n  rolearn: 'arn:aws:iam::122333:role/Dev'\n`);
  const plain = ok(upsertMapping({ mapRoles: "- rolearn: arn:aws:iam::1:role/A\n  username: a\n  groups: [g]\n" }, { arn: "arn:aws:iam::1:role/B", username: "on", groups: ["0123", "a, b"] }));
  assert.equal(plain.data["mapRoles"], `- rolearn: arn:aws:iam::1:role/A\n  username: a\n  groups: [g]\n- rolearn: arn:aws:iam::1:role/B\n  username: 'on'\n  groups: ['0123', 'a, b']\n`);
  assert.deepEqual(parseAwsAuth(plain.data).rows[1]!.groups, ["0123", "a, b"]);
});

test("an unparseable key is not edited: refused with its line (other keys still editable)", () => {
  const r = upsertMapping({ mapRoles: "- rolearn: a\n  groups: [x\n", mapUsers: "" }, { arn: "arn:aws:iam::1:role/A", username: "a", groups: [] });
  assert.deepEqual(r.ok ? undefined : [r.key, r.line], ["mapRoles", 3]);
  assert.match(r.ok ? "" : r.message, /^mapRoles line 3 does not parse \(.*\); fix it first \(kubectl -n kube-system edit configmap aws-auth\) or restore a backup$/);
  assert.equal(upsertMapping({ mapRoles: "- rolearn: a\n  groups: [x\n" }, { arn: "arn:aws:iam::1:user/u", username: "u", groups: [] }).ok, true);
  assert.equal(removeMappings({ mapRoles: "a: map\n" }, "arn:aws:iam::1:role/A").ok, false);
});

test("remove takes out every row of an ARN (case-insensitive), whole lines only, comments around them stay", () => {
  const r = ok(removeMappings(DATA, "arn:aws:iam::111122223333:role/EKS-NODES-NodeInstanceRole-1ABCDEF"));
  assert.deepEqual(r.removed.map((x) => [x.kind, x.line]), [["mapRoles", 2]]);
  assert.equal(r.data["mapRoles"], MAP_ROLES.replace(/- rolearn: arn:aws:iam::111122223333:role\/eks-nodes[^]*?system:nodes\n/, ""));
  for (const k of ["mapUsers", "mapAccounts", "custom-note"]) assert.equal(r.data[k], DATA[k as keyof typeof DATA], k);
  const last = ok(removeMappings(DATA, "arn:aws:iam::111122223333:role/Viewer"));
  assert.equal(last.data["mapRoles"], MAP_ROLES.replace("- rolearn: arn:aws:iam::111122223333:role/Viewer\n  username: viewer:{{SessionName}}\n  groups:\n    - viewers   # bound to view\n", ""));
  const user = ok(removeMappings(DATA, "arn:aws:iam::111122223333:user/ops/alice"));
  assert.equal(user.data["mapUsers"], "[]\n");
  assert.equal(user.data["mapRoles"], MAP_ROLES);
  const none = ok(removeMappings(DATA, "arn:aws:iam::111122223333:role/Nobody"));
  assert.deepEqual([none.removed, none.data], [[], DATA]);
});

test("removeRows by any rule, and in flow lists with their commas", () => {
  const flow = `[{rolearn: "arn:aws:iam::1:role/A", username: a}, {rolearn: "arn:aws:iam::1:role/B", username: b}, {rolearn: "arn:aws:iam::1:role/C", username: c}]`;
  const mid = ok(removeRows({ mapRoles: flow }, (r) => r.username === "b"));
  assert.equal(mid.data["mapRoles"], `[{rolearn: "arn:aws:iam::1:role/A", username: a}, {rolearn: "arn:aws:iam::1:role/C", username: c}]`);
  const tail = ok(removeRows({ mapRoles: flow }, (r) => r.username !== "a"));
  assert.equal(tail.data["mapRoles"], `[{rolearn: "arn:aws:iam::1:role/A", username: a}]`);
  const all = ok(removeRows({ mapRoles: flow }, () => true));
  assert.equal(all.data["mapRoles"], "[]");
  const paths = ok(removeRows(DATA, (r) => r.line === 9 && r.kind === "mapRoles"));
  assert.deepEqual(parseAwsAuth(paths.data).rows.filter((r) => r.kind === "mapRoles").map((r) => r.arn?.split("/")[1]), ["eks-nodes-NodeInstanceRole-1ABCDEF", "Viewer"]);
});

test("kindFor: IAM users go to mapUsers, everything else to mapRoles", () => {
  assert.equal(kindFor("arn:aws:iam::1:user/path/bob"), "mapUsers");
  assert.equal(kindFor("arn:aws-cn:iam::1:role/r"), "mapRoles");
});

test("manifest: data, block-scalar line offsets (file line of each string's line 1), metadata", () => {
  const m = parseAwsAuthManifest(`apiVersion: v1
kind: ConfigMap
metadata:
  name: aws-auth
  namespace: kube-system
  resourceVersion: "42"
data:
  mapRoles: |
    - rolearn: arn:aws:iam::1:role/A
      username: a
  mapAccounts: "- 1\\n"
`);
  assert.ok(!("error" in m));
  assert.deepEqual(m, { data: { mapRoles: "- rolearn: arn:aws:iam::1:role/A\n  username: a\n", mapAccounts: "- 1\n" }, lineOffsets: { mapRoles: 9 }, name: "aws-auth", namespace: "kube-system", resourceVersion: "42" });
  assert.deepEqual(parseAwsAuthManifest(`{"kind":"ConfigMap","metadata":{"name":"aws-auth"},"data":{"mapUsers":"[]"}}`), { data: { mapUsers: "[]" }, lineOffsets: {}, name: "aws-auth", namespace: undefined, resourceVersion: undefined });
  assert.match((parseAwsAuthManifest("kind: Secret\n") as { error: string }).error, /a Secret, not a ConfigMap/);
  assert.match((parseAwsAuthManifest("a: [\n") as { error: string }).error, /^not YAML/);
});

test("renameMapping points every row of an ARN (case-insensitive, duplicates too, block or flow, JSON) at another, in its own quoting; usernames only when asked", () => {
  const OLD = "arn:aws:iam::111122223333:role/AWSReservedSSO_View_0123456789abcdef";
  const NEW = "arn:aws:iam::111122223333:role/AWSReservedSSO_View_fedcba9876543210";
  const data = {
    mapRoles: `# first\n- rolearn: "${OLD}"   # old\n  username: AWSReservedSSO_View_0123456789abcdef:{{SessionName}}\n  groups: [v]\n- rolearn: arn:aws:iam::111122223333:role/other\n  username: o\n- {rolearn: '${OLD.toUpperCase().replace("ARN:AWS:IAM", "arn:aws:iam")}', username: kept, groups: []}\n`,
    mapUsers: `[{"userarn": "arn:aws:iam::111122223333:user/u", "username": "u", "groups": []}]`,
    mapAccounts: "- '444455556666'\n",
  };
  const follow = (u: string | undefined) => (u?.includes("AWSReservedSSO_View_0123456789abcdef") ? u.replace("AWSReservedSSO_View_0123456789abcdef", "AWSReservedSSO_View_fedcba9876543210") : undefined);
  const r = renameMapping(data, OLD, NEW, follow);
  assert.ok(r.ok);
  assert.deepEqual(r.renamed.map((x) => [x.kind, x.index]), [["mapRoles", 0], ["mapRoles", 2]]);
  assert.equal(
    r.data["mapRoles"],
    `# first\n- rolearn: "${NEW}"   # old\n  username: AWSReservedSSO_View_fedcba9876543210:{{SessionName}}\n  groups: [v]\n- rolearn: arn:aws:iam::111122223333:role/other\n  username: o\n- {rolearn: '${NEW}', username: kept, groups: []}\n`,
  );
  assert.equal(r.data["mapUsers"], data.mapUsers);
  assert.equal(r.data["mapAccounts"], data.mapAccounts);
  const json = renameMapping(data, "arn:aws:iam::111122223333:user/u", "arn:aws:iam::111122223333:user/v");
  assert.ok(json.ok);
  assert.equal(json.data["mapUsers"], `[{"userarn": "arn:aws:iam::111122223333:user/v", "username": "u", "groups": []}]`);
  assert.deepEqual(renameMapping(data, "arn:aws:iam::111122223333:role/none", NEW), { ok: true, data, renamed: [] });
  const broken = renameMapping({ mapRoles: "- rolearn: x\n username: y\n" }, OLD, NEW);
  assert.equal(broken.ok, false);
  assert.equal(!broken.ok && broken.key, "mapRoles");
});
