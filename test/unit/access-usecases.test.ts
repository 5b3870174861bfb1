/**
 * The snapshot, migrate and auth-mode use cases over hand-written fakes of the EKS access-entry
 * API (with EKS's rules that matter here: an entry needs an existing principal, one entry per
 * principal, modes one way), IAM and aws-auth: bounded concurrency, migrate apply idempotent and
 * resumable after a failure halfway (a fault injected into the store, a principal deleted
 * mid-run), dry runs writing nothing, auth-mode's refusals and its DescribeUpdate wait.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EksAccessError } from "../../src/core/errors.js";
import type { AccessEntryState, AccessScope, AuthenticationMode } from "../../src/core/access-entry-plan.js";
import type { AccessEntryStore, ClusterAccess, ClusterUpdates } from "../../src/ports/access-entry-store.js";
import type { AwsAuthStore, IamPrincipal, PrincipalDirectory } from "../../src/ports/access.js";
import { readAccessSnapshot, type SnapshotDeps } from "../../src/usecases/access-snapshot.js";
import { accessCheck, accessList } from "../../src/usecases/access-report.js";
import { migrateApply, migratePlan, migrateVerify } from "../../src/usecases/migrate.js";
import { setAuthMode } from "../../src/usecases/auth-mode.js";

const ACCT = "111122223333";
const ARN = (name: string, path = "/") => `arn:aws:iam::${ACCT}:role${path}${name}`;

/** EKS + IAM in memory; `fail` injects a fault into a call; every call yields once (so calls overlap). */
class FakeAws implements AccessEntryStore, ClusterUpdates {
  mode: AuthenticationMode;
  readonly entries = new Map<string, AccessEntryState & { principalId: string }>();
  readonly iam = new Map<string, IamPrincipal>();
  readonly calls: string[] = [];
  readonly updateStatuses: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  clock = Date.parse("2026-01-01T00:00:00Z");
  fail: ((op: string, arn: string) => Error | undefined) | undefined;

  constructor(mode: AuthenticationMode) {
    this.mode = mode;
  }

  addRole(name: string, path = "/"): IamPrincipal {
    const p: IamPrincipal = { type: "role", arn: ARN(name, path), partition: "aws", account: ACCT, name, path, uniqueId: `AROA${name.toUpperCase()}${this.clock}`, createDate: new Date(this.clock++).toISOString() };
    this.iam.set(name.toLowerCase(), p);
    return p;
  }

  private async call<T>(op: string, arn: string, f: () => T): Promise<T> {
    this.calls.push(`${op} ${arn}`);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setImmediate(r));
      const err = this.fail?.(op, arn);
      if (err) throw err;
      return f();
    } finally {
      this.inFlight--;
    }
  }

  private need(arn: string): AccessEntryState & { principalId: string } {
    if (this.mode === "CONFIG_MAP") throw new EksAccessError("cluster-state", "InvalidRequestException: The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.");
    const e = this.entries.get(arn);
    if (!e) throw new EksAccessError("aws", "ResourceNotFoundException: The specified principalArn could not be found.");
    return e;
  }

  cluster = (): Promise<ClusterAccess> => this.call("DescribeCluster", "", () => ({ name: "prod", arn: `arn:aws:eks:eu-west-1:${ACCT}:cluster/prod`, account: ACCT, region: "eu-west-1", endpoint: "https://k8s", certificateAuthority: "", mode: this.mode }));
  listPrincipals = (): Promise<string[]> => this.call("ListAccessEntries", "", () => [...this.entries.keys()]);
  get = (arn: string): Promise<AccessEntryState | undefined> =>
    this.call("DescribeAccessEntry", arn, () => {
      const e = this.entries.get(arn);
      return e && { ...e, kubernetesGroups: [...e.kubernetesGroups], policies: [...e.policies] };
    });
  create = (e: { principalArn: string; username?: string | undefined; kubernetesGroups: readonly string[]; type?: string | undefined }): Promise<void> =>
    this.call("CreateAccessEntry", e.principalArn, () => {
      if (this.mode === "CONFIG_MAP") throw new EksAccessError("cluster-state", "InvalidRequestException");
      if (this.entries.has(e.principalArn)) throw new EksAccessError("aws", "ResourceInUseException: The specified access entry resource is already in use on this cluster.");
      const p = [...this.iam.values()].find((x) => x.arn === e.principalArn);
      if (!p) throw new EksAccessError("aws", "InvalidParameterException: The specified principalArn is invalid: invalid principal.");
      const type = e.type ?? "STANDARD";
      const username = e.username ?? (type === "STANDARD" ? `arn:aws:sts::${ACCT}:assumed-role/${p.name}/{{SessionName}}` : "system:node:{{EC2PrivateDNSName}}");
      this.entries.set(e.principalArn, { principalArn: e.principalArn, type, username, kubernetesGroups: [...e.kubernetesGroups], policies: [], createdAt: new Date(this.clock++).toISOString(), principalId: p.uniqueId });
    });
  update = (arn: string, e: { username?: string | undefined; kubernetesGroups: readonly string[] }): Promise<void> =>
    this.call("UpdateAccessEntry", arn, () => {
      const x = this.need(arn);
      x.kubernetesGroups = [...e.kubernetesGroups];
      if (e.username !== undefined) x.username = e.username;
    });
  delete = (arn: string): Promise<void> => this.call("DeleteAccessEntry", arn, () => void (this.need(arn) && this.entries.delete(arn)));
  associate = (arn: string, policyArn: string, scope: AccessScope): Promise<void> =>
    this.call("AssociateAccessPolicy", arn, () => {
      const x = this.need(arn);
      x.policies = [...x.policies.filter((p) => p.policyArn !== policyArn), { policyArn, accessScope: scope }];
    });
  disassociate = (arn: string, policyArn: string): Promise<void> =>
    this.call("DisassociateAccessPolicy", arn, () => {
      const x = this.need(arn);
      x.policies = x.policies.filter((p) => p.policyArn !== policyArn);
    });
  setAuthenticationMode = (mode: AuthenticationMode): Promise<string> =>
    this.call("UpdateClusterConfig", mode, () => {
      this.mode = mode;
      return "update-1";
    });
  describeUpdate = (id: string) => this.call("DescribeUpdate", id, () => ({ id, status: this.updateStatuses.shift() ?? "Successful", errors: this.updateStatuses.length === 0 && this.failedUpdate ? ["AccessDenied: no"] : [] }));
  failedUpdate = false;

  directory(): Pick<PrincipalDirectory, "lookup"> & { lookups: number } {
    const self = this;
    return {
      lookups: 0,
      async lookup(arn: string) {
        this.lookups++;
        await new Promise((r) => setImmediate(r));
        self.calls.push(`IamLookup ${arn}`);
        return self.iam.get(arn.slice(arn.lastIndexOf("/") + 1).toLowerCase());
      },
    };
  }

  writes(): string[] {
    return this.calls.filter((c) => /^(Create|Update|Delete|Associate|Disassociate)|UpdateClusterConfig/.test(c));
  }
}

function awsAuth(data: Record<string, string>): AwsAuthStore {
  const refuse = (): never => assert.fail("migrate and the reports never write aws-auth");
  return {
    target: { context: "prod", server: "https://k8s", backupDir: "/nonexistent" },
    read: async () => ({ data, resourceVersion: "7", raw: {} }),
    update: refuse,
    restore: refuse,
    backups: refuse,
    readBackup: refuse,
  };
}

const MAP_ROLES = `- rolearn: ${ARN("admin")}
  username: admin:{{SessionName}}
  groups: [system:masters]
- rolearn: ${ARN("dev")}
  username: dev:{{SessionName}}
  groups: [devs]
- rolearn: ${ARN("node")}
  username: system:node:{{EC2PrivateDNSName}}
  groups: [system:bootstrappers, system:nodes]
- rolearn: ${ARN("AWSReservedSSO_View_0123456789abcdef")}
  username: view:{{SessionNameRaw}}
  groups: [viewers]
`;

function world(mode: AuthenticationMode = "API_AND_CONFIG_MAP", mapRoles = MAP_ROLES) {
  const aws = new FakeAws(mode);
  for (const n of ["admin", "dev", "node"]) aws.addRole(n);
  aws.addRole("AWSReservedSSO_View_0123456789abcdef", "/aws-reserved/sso.amazonaws.com/eu-west-1/");
  const directory = aws.directory();
  const deps: SnapshotDeps = { entries: aws, directory, awsAuth: async () => awsAuth({ mapRoles }) };
  return { aws, directory, deps };
}

const state = (aws: FakeAws) => [...aws.entries.values()].map((e) => `${e.principalArn} ${e.type} ${e.username} [${e.kubernetesGroups.join(",")}] ${e.policies.map((p) => p.policyArn.split("/").pop()).join(",")}`).sort();

test("the snapshot reads every entry and each principal once, with at most `concurrency` calls in flight", async () => {
  const { aws, directory, deps } = world();
  for (let i = 0; i < 30; i++) {
    const p = aws.addRole(`r${i}`);
    await aws.create({ principalArn: p.arn, kubernetesGroups: ["g"] });
  }
  aws.calls.length = 0;
  aws.maxInFlight = 0;
  const s = await readAccessSnapshot(deps, { concurrency: 3 });
  assert.equal(s.entries.length, 30);
  assert.ok(aws.maxInFlight <= 3, `at most 3 at once, saw ${aws.maxInFlight}`);
  assert.ok(aws.maxInFlight >= 2, "control: the calls did overlap");
  assert.equal(directory.lookups, 34, "30 entries' principals + 4 aws-auth principals, each once");
  assert.ok(s.entries.every((e) => e.binding.bound));
  assert.deepEqual(s.reads, { accessEntries: 30, iamLookups: 34 });
});

test("auth-mode set reads the snapshot with the --concurrency it is given, and describes the cluster once", async () => {
  const w = world("API_AND_CONFIG_MAP");
  for (let i = 0; i < 30; i++) await w.aws.create({ principalArn: w.aws.addRole(`r${i}`).arn, kubernetesGroups: ["g"] });
  const deps = { ...w.deps, entries: w.aws, updates: w.aws, sleep: async () => undefined };
  for (const concurrency of [1, 3]) {
    w.aws.maxInFlight = 0;
    w.aws.calls.length = 0;
    await setAuthMode(deps, { mode: "API", force: false, dryRun: true, concurrency });
    assert.equal(w.aws.maxInFlight, concurrency, `at most ${concurrency} at once, and they did overlap up to it`);
    assert.equal(w.aws.calls.filter((c) => c.startsWith("DescribeCluster")).length, 1, "the cluster is described once (the snapshot takes it from auth-mode)");
  }
});

test("migrate apply creates the planned entries; a second run changes nothing; verify proves it; aws-auth is never written", async () => {
  const { aws, deps } = world();
  const plan = await migratePlan(deps);
  assert.deepEqual(plan.plan.items.map((i) => i.action), ["create", "create", "create", "create"]);
  assert.equal(aws.writes().length, 0, "plan writes nothing");
  assert.match(plan.commands.join("\n"), /--principal-arn arn:aws:iam::111122223333:role\/aws-reserved\/sso\.amazonaws\.com\/eu-west-1\/AWSReservedSSO_View_0123456789abcdef --kubernetes-groups viewers --username 'view:\{\{SessionNameRaw\}\}'/);
  const dry = await migrateApply(deps, { dryRun: true });
  assert.equal(dry.total, 4);
  assert.equal(aws.writes().length, 0, "--dry-run writes nothing");

  const first = await migrateApply(deps);
  assert.equal(first.failure, undefined);
  assert.equal(first.done, 4);
  assert.deepEqual(state(aws), [
    `${ARN("admin")} STANDARD admin:{{SessionName}} [] AmazonEKSClusterAdminPolicy`,
    `${ARN("AWSReservedSSO_View_0123456789abcdef", "/aws-reserved/sso.amazonaws.com/eu-west-1/")} STANDARD view:{{SessionNameRaw}} [viewers] `,
    `${ARN("dev")} STANDARD dev:{{SessionName}} [devs] `,
    `${ARN("node")} EC2_LINUX system:node:{{EC2PrivateDNSName}} [] `,
  ]);
  const writes = aws.writes().length;
  const again = await migrateApply(deps);
  assert.equal(again.total, 0);
  assert.equal(aws.writes().length, writes, "idempotent: the second run writes nothing");
  const v = await migrateVerify(deps);
  assert.equal(v.verification.ok, true, JSON.stringify(v.verification.items, null, 1));
  assert.deepEqual(v.verification.items.map((i) => i.status), ["equivalent", "same", "same", "same"]);
  assert.equal(v.next, "eks-access auth-mode set API --cluster prod --region eu-west-1");
});

test("migrate apply after a failure halfway (a fault in the store): reports what was done, and re-running continues to the same end state", async () => {
  const clean = world();
  await migrateApply(clean.deps);

  const { aws, deps } = world();
  // the admin's entry is created, its ClusterAdmin association fails; the next principals never start
  aws.fail = (op) => (op === "AssociateAccessPolicy" ? new EksAccessError("aws", "ThrottlingException: Rate exceeded") : undefined);
  const broken = await migrateApply(deps, { concurrency: 1 });
  assert.deepEqual(broken.failure, { principalArn: ARN("admin"), step: `associate AmazonEKSClusterAdminPolicy with ${ARN("admin")} cluster-wide`, error: "ThrottlingException: Rate exceeded" });
  assert.equal(broken.done, 0);
  assert.deepEqual(broken.applied.map((a) => a.steps), [[`create the access entry of ${ARN("admin")} (username admin:{{SessionName}})`]]);
  assert.equal(aws.entries.size, 1, "stopped: nothing after the failure started");
  const half = await migratePlan(deps);
  assert.deepEqual(half.plan.items.map((i) => i.action), ["complete", "create", "create", "create"], "the half-made entry is completed, not re-created");
  assert.equal((await migrateVerify(deps)).verification.ok, false);

  aws.fail = undefined;
  const resumed = await migrateApply(deps, { concurrency: 1 });
  assert.equal(resumed.failure, undefined);
  assert.equal(resumed.done, 4);
  assert.ok(!aws.calls.some((c, i) => c.startsWith("CreateAccessEntry") && c.endsWith(ARN("admin")) && i > aws.calls.indexOf(`CreateAccessEntry ${ARN("admin")}`)), "the admin entry is not created twice");
  assert.deepEqual(state(aws), state(clean.aws), "the same end state as a run without the failure");
  assert.equal((await migrateVerify(deps)).verification.ok, true);
});

test("a principal deleted in IAM during migrate apply: that step fails, the re-run reports it as not migratable and does the rest", async () => {
  const { aws, deps } = world();
  aws.fail = (op, arn) => {
    if (op === "CreateAccessEntry" && arn === ARN("dev")) aws.iam.delete("dev"); // deleted between the snapshot and the create
    return undefined;
  };
  const run = await migrateApply(deps, { concurrency: 1 });
  assert.match(run.failure!.error, /invalid principal/);
  assert.equal(run.done, 1);
  aws.fail = undefined;
  const rerun = await migrateApply(deps, { concurrency: 1 });
  assert.equal(rerun.failure, undefined);
  const dev = rerun.plan.items.find((i) => i.arn === ARN("dev"))!;
  assert.equal(dev.action, "cannot");
  assert.match(dev.reason, /does not exist in IAM/);
  assert.equal(aws.entries.size, 3);
  const v = (await migrateVerify(deps)).verification;
  assert.equal(v.ok, false);
  assert.deepEqual(v.items.map((i) => i.status), ["equivalent", "not-migratable", "same", "same"]);
  const check = await accessCheck(deps);
  assert.ok(check.failed);
  assert.ok(check.problems.some((p) => p.code === "row-principal-missing" && p.arn === ARN("dev")));
});

test("migrate apply refuses a CONFIG_MAP cluster (no access-entry API) and writes nothing", async () => {
  const { aws, deps } = world("CONFIG_MAP");
  await assert.rejects(migrateApply(deps), (e: unknown) => EksAccessError.is(e) && e.kind === "cluster-state" && /CONFIG_MAP mode.*auth-mode set API_AND_CONFIG_MAP/.test(e.line));
  assert.deepEqual(aws.writes(), []);
  const list = await accessList(deps);
  assert.equal(list.rows[0]!.source, "creator");
  assert.equal(list.rows.length, 5);
});

test("auth-mode set: one way only; API refused while aws-auth identities lack entries (unless --force); DescribeUpdate followed to the end", async () => {
  const sleeps: number[] = [];
  const setup = (mode: AuthenticationMode) => {
    const w = world(mode);
    return { ...w, deps: { ...w.deps, entries: w.aws, updates: w.aws, sleep: async (ms: number) => void sleeps.push(ms) } };
  };
  const cm = setup("CONFIG_MAP");
  await assert.rejects(setAuthMode(cm.deps, { mode: "API", force: true, dryRun: false }), /EKS goes to API only through API_AND_CONFIG_MAP/);
  const api = setup("API");
  await assert.rejects(setAuthMode(api.deps, { mode: "API_AND_CONFIG_MAP", force: true, dryRun: false }), /cannot go back to API_AND_CONFIG_MAP: EKS changes authentication modes one way only/);
  assert.equal((await setAuthMode(api.deps, { mode: "API", force: false, dryRun: false })).unchanged, true);
  assert.deepEqual([...cm.aws.writes(), ...api.aws.writes()], []);

  const both = setup("API_AND_CONFIG_MAP");
  const refused = await setAuthMode(both.deps, { mode: "API", force: false, dryRun: false });
  assert.equal(refused.awsAuthOnly.length, 4);
  assert.match(refused.refused!, /^refusing to switch cluster prod to API: aws-auth gives 4 identities no access entry stands in for \(arn:aws:iam::111122223333:role\/admin, .*, and 1 more\), which would be locked out; nothing was changed/);
  assert.deepEqual(both.aws.writes(), []);
  await migrateApply(both.deps);
  const writes = both.aws.writes().length;
  const dry = await setAuthMode(both.deps, { mode: "API", force: false, dryRun: true });
  assert.equal(dry.refused, undefined);
  assert.equal(dry.command, "aws eks update-cluster-config --name prod --region eu-west-1 --access-config authenticationMode=API");
  assert.equal(both.aws.writes().length, writes, "--dry-run changes nothing");
  both.aws.updateStatuses.push("InProgress", "InProgress", "Successful");
  const done = await setAuthMode(both.deps, { mode: "API", force: false, dryRun: false, intervalMs: 5 });
  assert.deepEqual(done.update, { id: "update-1", status: "Successful", errors: [] });
  assert.deepEqual(sleeps, [5, 5]);
  assert.equal(both.aws.mode, "API");
  assert.match(done.explanation.join(" "), /never back.*nobody's identity changes/);

  const forced = setup("API_AND_CONFIG_MAP");
  forced.aws.failedUpdate = true;
  forced.aws.updateStatuses.push("Failed");
  await assert.rejects(setAuthMode(forced.deps, { mode: "API", force: true, dryRun: false }), /update update-1 of cluster prod failed: AccessDenied: no/);
});
