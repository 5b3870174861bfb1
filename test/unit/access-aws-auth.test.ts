/**
 * grant/revoke on aws-auth through the real store over an in-memory apiserver: each lockout guard
 * of issue 10 (the last system:masters mapping, node roles, the caller's own access, a key that does
 * not parse) refuses with nothing written, and --force does exactly what it says (a broken key is
 * never rewritten, even then); a grant keeps an existing row's username; templates are checked for
 * both backends; the guards run again on the data a conflict brings.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { KubeAwsAuthStore, type KubeObject } from "../../src/adapters/kube-aws-auth.js";
import { awsAuthGrant, awsAuthRevoke, type AwsAuthGrantItem } from "../../src/usecases/access-aws-auth.js";
import { grant, type AccessDeps } from "../../src/usecases/access-grant.js";
import type { ClusterAccess } from "../../src/ports/access-entry-store.js";
import type { ResolvedPrincipal } from "../../src/ports/access.js";
import { EksAccessError } from "../../src/core/errors.js";
import { FakeApi } from "../fake-configmap-api.js";
import { FakeDirectory, FakeEntries, principal } from "../fake-access.js";
import { tempDir } from "../helpers.js";

const A = "111122223333";
const cluster: ClusterAccess = { name: "prod", arn: `arn:aws:eks:eu-west-1:${A}:cluster/prod`, account: A, region: "eu-west-1", endpoint: "https://prod.example", certificateAuthority: "", mode: "CONFIG_MAP" };
const NODE = `arn:aws:iam::${A}:role/eks-node`;
const ADMIN = `arn:aws:iam::${A}:role/Admin`;
const MAP_ROLES = `# nodes
- rolearn: ${NODE}
  username: system:node:{{EC2PrivateDNSName}}
  groups:
    - system:bootstrappers
    - system:nodes
- rolearn: ${ADMIN}   # the admins
  username: "admin:{{SessionName}}"
  groups: [system:masters]
`;
const MAP_USERS = `- userarn: arn:aws:iam::${A}:user/ops/alice
  username: alice
  groups:
    - devs
`;
const BROKEN = "- userarn: arn:aws:iam::111122223333:user/bob\n  username: bob\n groups: [x]\n";

const cm = (data: Record<string, string>): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "aws-auth", namespace: "kube-system", resourceVersion: "1" }, data });
const resolved = (arn: string): ResolvedPrincipal => ({ ...principal(arn), from: arn });

function setup(data: Record<string, string>) {
  const t = tempDir();
  const api = new FakeApi(cm(data));
  const store = new KubeAwsAuthStore(api, { backupDir: join(t.path, "backups"), random: () => 0, sleep: async () => {} });
  return { api, store, done: t.cleanup, writes: () => api.calls.filter((c) => c !== "get").length };
}

const item = (arn: string, username: string, explicit = false): AwsAuthGrantItem => ({ p: resolved(arn), username, explicit });
const refusal = (re: RegExp) => (err: unknown) => EksAccessError.is(err) && re.test(err.line) && !err.line.includes("\n");

test("a key that does not parse: grant and revoke refuse naming its line; nothing is written", async () => {
  const { store, writes, done } = setup({ mapRoles: MAP_ROLES, mapUsers: BROKEN });
  try {
    await assert.rejects(awsAuthGrant(store, cluster, [item(`arn:aws:iam::${A}:role/dev`, "dev:{{SessionName}}")], { groups: ["devs"], dryRun: false, force: false }), refusal(/refusing to edit .*mapUsers line 3.*add --force to edit the keys that parse and leave mapUsers as it is/));
    await assert.rejects(awsAuthRevoke(store, cluster, [resolved(`arn:aws:iam::${A}:role/dev`)], { groups: [], dryRun: false, caller: undefined, onlyIfPresent: false, force: false }), refusal(/mapUsers line 3/));
    assert.equal(writes(), 0);
  } finally {
    done();
  }
});

test("--force edits the keys that parse and leaves the broken one byte-identical; it never rewrites the broken key itself", async () => {
  const { api, store, done } = setup({ mapRoles: MAP_ROLES, mapUsers: BROKEN, mapAccounts: "- '444455556666'\n" });
  try {
    const r = await awsAuthGrant(store, cluster, [item(`arn:aws:iam::${A}:role/dev`, "dev:{{SessionName}}")], { groups: ["devs"], dryRun: false, force: true });
    const data = api.stored!.data!;
    assert.equal(data["mapUsers"], BROKEN);
    assert.equal(data["mapAccounts"], "- '444455556666'\n");
    // a new row copies the last row's style (quoting, flow groups)
    assert.equal(data["mapRoles"], `${MAP_ROLES}- rolearn: arn:aws:iam::${A}:role/dev\n  username: "dev:{{SessionName}}"\n  groups: [devs]\n`);
    assert.ok(r.awsAuth.backupPath);
    assert.match(r.changes[0]!.notes.join("\n"), /mapUsers line 3: .*left as it is/);
    // a user goes to mapUsers: that is the broken key, so even --force refuses
    const before = structuredClone(api.stored);
    await assert.rejects(
      awsAuthGrant(store, cluster, [item(`arn:aws:iam::${A}:user/carol`, "carol")], { groups: ["devs"], dryRun: false, force: true }),
      refusal(/mapUsers line 3 does not parse, and this change has to edit mapUsers; nothing was changed; .*--force does not rewrite a key that does not parse/),
    );
    assert.deepEqual(api.stored, before);
  } finally {
    done();
  }
});

test("revoke --force with a broken key removes the rows in the keys that parse and says what it could not look at", async () => {
  const { api, store, done } = setup({ mapRoles: `${MAP_ROLES}- rolearn: arn:aws:iam::${A}:role/dev\n  username: dev\n  groups: [devs]\n`, mapUsers: BROKEN });
  try {
    const r = await awsAuthRevoke(store, cluster, [resolved(`arn:aws:iam::${A}:role/dev`)], { groups: [], dryRun: false, caller: undefined, onlyIfPresent: false, force: true });
    assert.equal(api.stored!.data!["mapRoles"], MAP_ROLES);
    assert.equal(api.stored!.data!["mapUsers"], BROKEN);
    assert.match(r.changes[0]!.notes[0]!, /mapUsers does not parse \(line 3\): any row of .*role\/dev there was not removed/);
  } finally {
    done();
  }
});

test("a grant on an existing row keeps its username unless one is asked for; a node role's username is guarded", async () => {
  const { api, store, done } = setup({ mapRoles: MAP_ROLES });
  try {
    await awsAuthGrant(store, cluster, [item(ADMIN, "Admin:{{SessionName}}")], { groups: ["auditors"], dryRun: false, force: false });
    assert.match(api.stored!.data!["mapRoles"]!, /username: "admin:\{\{SessionName\}\}"\n {2}groups: \[system:masters, auditors\]\n$/);
    // adding a group to the node role keeps its node username
    await awsAuthGrant(store, cluster, [item(NODE, "eks-node:{{SessionName}}")], { groups: ["extra"], dryRun: false, force: false });
    assert.match(api.stored!.data!["mapRoles"]!, /username: system:node:\{\{EC2PrivateDNSName\}\}\n {2}groups:\n {4}- system:bootstrappers\n {4}- system:nodes\n {4}- extra\n/);
    const before = structuredClone(api.stored);
    await assert.rejects(awsAuthGrant(store, cluster, [item(NODE, "eks-node:{{SessionName}}", true)], { groups: [], dryRun: false, force: false }), refusal(/is a node role .*stops its nodes from joining/));
    assert.deepEqual(api.stored, before);
    await awsAuthGrant(store, cluster, [item(NODE, "eks-node:{{SessionName}}", true)], { groups: [], dryRun: false, force: true });
    assert.match(api.stored!.data!["mapRoles"]!, /username: eks-node:\{\{SessionName\}\}/);
  } finally {
    done();
  }
});

test("revoke: the last system:masters mapping that can match anyone, node groups and your own rows are refused; --force allows them", async () => {
  // the other masters row has a path: it never matches, so it holds no one up
  const pathRow = `- rolearn: arn:aws:iam::${A}:role/team/Admins\n  username: admins\n  groups: [system:masters]\n`;
  const { api, store, writes, done } = setup({ mapRoles: MAP_ROLES + pathRow, mapUsers: MAP_USERS });
  const revoke = (arn: string, o: { groups?: string[]; caller?: string; force?: boolean } = {}) =>
    awsAuthRevoke(store, cluster, [resolved(arn)], { groups: o.groups ?? [], dryRun: false, caller: o.caller ? { arn: o.caller, account: A, userId: "AROAX:me" } : undefined, onlyIfPresent: false, force: !!o.force });
  try {
    await assert.rejects(revoke(ADMIN), (e: unknown) => refusal(/last system:masters mapping of aws-auth that can match anyone/)(e) && EksAccessError.is(e) && e.exitCode === 1);
    await assert.rejects(revoke(ADMIN, { groups: ["system:masters"] }), refusal(/last system:masters/));
    await assert.rejects(revoke(NODE), refusal(/node role .*removing it stops those nodes/));
    await assert.rejects(revoke(NODE, { groups: ["system:nodes"] }), refusal(/removing system:nodes from it/));
    const me = `arn:aws:iam::${A}:user/ops/alice`;
    await assert.rejects(revoke(me, { caller: me }), refusal(/your own access/));
    await assert.rejects(revoke(me, { caller: `arn:aws:sts::${A}:assumed-role/Admin/s`, groups: [] }).then(() => revoke(ADMIN, { caller: `arn:aws:sts::${A}:assumed-role/Admin/s`, groups: ["auditors"] })), refusal(/your own access \(arn:aws:iam::111122223333:role\/Admin\)/));
    const afterRefusals = writes();
    assert.equal(afterRefusals, 1, "only alice's revoke (not the caller's own) was written");
    // a group that is not a node group may go from a node row
    await awsAuthGrant(store, cluster, [item(NODE, "x")], { groups: ["extra"], dryRun: false, force: false });
    await revoke(NODE, { groups: ["extra"] });
    assert.doesNotMatch(api.stored!.data!["mapRoles"]!, /extra/);
    await revoke(ADMIN, { force: true });
    assert.doesNotMatch(api.stored!.data!["mapRoles"]!, /role\/Admin\b/);
  } finally {
    done();
  }
});

test("the guards run again on the data a conflict brings: a masters row removed meanwhile makes the revoke refused", async () => {
  const second = `- rolearn: arn:aws:iam::${A}:role/Admin2\n  username: admin2\n  groups: [system:masters]\n`;
  const { api, store, done } = setup({ mapRoles: MAP_ROLES + second });
  let once = true;
  api.beforeWrite = () => {
    if (!once) return;
    once = false;
    api.otherWriter({ mapRoles: MAP_ROLES }); // someone revoked Admin2 between our read and our write
  };
  try {
    await assert.rejects(
      awsAuthRevoke(store, cluster, [resolved(ADMIN)], { groups: [], dryRun: false, caller: undefined, onlyIfPresent: false, force: false }),
      refusal(/last system:masters/),
    );
    assert.equal(api.stored!.data!["mapRoles"], MAP_ROLES, "the other writer's change stands, ours was not written");
  } finally {
    done();
  }
});

test("templates: unknown ones refused in --username and --group for aws-auth; access entries take only {{SessionName}}/{{SessionNameRaw}} after a colon", async () => {
  const { store, writes, done } = setup({ mapRoles: MAP_ROLES });
  try {
    for (const [username, groups, re] of [
      ["dev:{{SessionNam}}", [], /unknown template \{\{SessionNam\}\}/],
      ["dev:{{sessionName}}", [], /\{\{sessionName\}\} → \{\{SessionName\}\}/],
      ["", [], /--username is empty/],
      ["dev", ["team-{{AccountId}}"], /--group team-\{\{AccountId\}\}: unknown template/],
    ] as const) {
      await assert.rejects(awsAuthGrant(store, cluster, [item(`arn:aws:iam::${A}:role/dev`, username, true)], { groups: [...groups], dryRun: false, force: false }), refusal(re));
    }
    assert.equal(writes(), 0);
  } finally {
    done();
  }
  const entries = new FakeEntries("API");
  const deps: AccessDeps = { entries, directory: new FakeDirectory([principal(`arn:aws:iam::${A}:role/dev`)]), awsAuth: async () => assert.fail("no aws-auth in API mode"), caller: async () => ({ arn: ADMIN, account: A, userId: "x" }) };
  const ask = (extra: { username?: string; usernameTemplate?: "session-raw"; groups?: string[] }) =>
    grant(deps, { principal: { kind: "arn", value: `arn:aws:iam::${A}:role/dev` }, groups: extra.groups ?? ["devs"], namespaces: [], backend: "auto", dryRun: true, username: extra.username, usernameTemplate: extra.usernameTemplate });
  await assert.rejects(ask({ username: "dev{{SessionName}}" }), refusal(/needs a colon before \{\{SessionName\}\}/));
  await assert.rejects(ask({ username: "dev:{{AccountID}}" }), refusal(/access entries accept only \{\{SessionName\}\} and \{\{SessionNameRaw\}\}/));
  await assert.rejects(ask({ username: "dev:{{SesionName}}" }), refusal(/unknown template \{\{SesionName\}\}/));
  await assert.rejects(ask({ groups: ["team-{{SessionName}}"] }), refusal(/access entries take no templates in kubernetesGroups/));
  const raw = await ask({ usernameTemplate: "session-raw" });
  assert.equal(raw.changes[0]!.username, "dev:{{SessionNameRaw}}");
  assert.match(raw.changes[0]!.steps[0]!.command!, /--username 'dev:\{\{SessionNameRaw\}\}'/);
  assert.equal((await ask({ username: "dev:{{SessionNameRaw}}" })).changes[0]!.username, "dev:{{SessionNameRaw}}");
  assert.deepEqual(entries.calls, [], "dry runs wrote nothing");
});
