/**
 * `migrate plan|apply|verify`: aws-auth → access entries over one snapshot of both systems.
 *  - plan: what each aws-auth row becomes (core/mapping/migrate.ts), nothing written;
 *  - apply: the plan's steps, at most `concurrency` principals at once. Idempotent and resumable:
 *    the plan is made from the live state each run, so what is done is skipped and an entry left
 *    half-made (created, policy not yet associated) is completed. The first failure stops new work
 *    (the calls in flight finish) and is reported with what was done; re-running continues;
 *  - verify: every migrated principal gets the same username and groups from its access entry as
 *    from aws-auth (resolveIdentity both ways), then the command that switches the cluster to API.
 * aws-auth itself is never changed: its rows stop counting when the cluster is switched to API.
 */
import { stepCommand, stepText, type AccessEntryStep } from "../core/access-entry-plan.js";
import { EksAccessError } from "../core/errors.js";
import { shellWord } from "../core/mapping/check.js";
import { planMigration, verifyMigration, type MigrationAction, type MigrationPlan, type Verification } from "../core/mapping/migrate.js";
import { applyEntrySteps } from "./access-grant.js";
import { readAccessSnapshot, type AccessSnapshot, type SnapshotDeps, type SnapshotInput } from "./access-snapshot.js";
import { mapLimit } from "../core/map-limit.js";

export interface MigratePlanOutput {
  plan: MigrationPlan;
  /** every step as the AWS CLI command doing the same, in order */
  commands: string[];
  reads: AccessSnapshot["reads"];
}

export interface MigrateApplyInput extends SnapshotInput {
  dryRun?: boolean | undefined;
}

export interface AppliedItem {
  key: string;
  line: number;
  principalArn: string;
  action: MigrationAction;
  steps: string[];
}

export interface MigrateApplyOutput extends MigratePlanOutput {
  dryRun: boolean;
  applied: AppliedItem[];
  /** the first failure: what was being done, the error (one line) */
  failure?: { principalArn: string; step: string; error: string } | undefined;
  /** principals with steps to do, and how many of them were finished */
  total: number;
  done: number;
}

export interface MigrateVerifyOutput {
  verification: Verification;
  /** what to run next, when the migration is proven (the switch to API) */
  next?: string | undefined;
  reads: AccessSnapshot["reads"];
}

const flagsOf = (s: AccessSnapshot): string => `--cluster ${shellWord(s.cluster.name)} --region ${shellWord(s.cluster.region)}`;
const commandsOf = (s: AccessSnapshot, steps: readonly AccessEntryStep[]): string[] => steps.map((st) => stepCommand(s.cluster.name, s.cluster.region, st));

function readable(s: AccessSnapshot): void {
  if (s.awsAuth.state === "unreadable") {
    throw new EksAccessError("kubernetes", `kube-system/aws-auth of cluster ${s.cluster.name} could not be read: ${s.awsAuth.error}`, { hint: "pass --context for this cluster; nothing was changed" });
  }
}

export async function migratePlan(deps: SnapshotDeps, input: SnapshotInput = {}): Promise<MigratePlanOutput> {
  const s = await readAccessSnapshot(deps, input);
  readable(s);
  const plan = planMigration(s);
  return { plan, commands: commandsOf(s, plan.items.flatMap((i) => i.steps)), reads: s.reads };
}

export async function migrateApply(deps: SnapshotDeps, input: MigrateApplyInput = {}): Promise<MigrateApplyOutput> {
  const s = await readAccessSnapshot(deps, input);
  readable(s);
  if (s.cluster.mode === "CONFIG_MAP") {
    throw new EksAccessError("cluster-state", `cluster ${s.cluster.name} is in CONFIG_MAP mode: it has no access entries to migrate to; nothing was changed`, {
      hint: `switch it first (aws-auth keeps working): eks-access auth-mode set API_AND_CONFIG_MAP ${flagsOf(s)}`,
    });
  }
  const plan = planMigration(s);
  const todo = plan.items.filter((i) => i.steps.length > 0);
  const out: MigrateApplyOutput = { plan, commands: commandsOf(s, todo.flatMap((i) => i.steps)), reads: s.reads, dryRun: !!input.dryRun, applied: [], total: todo.length, done: 0 };
  if (input.dryRun) return out;
  let stopped = false;
  await mapLimit(todo, input.concurrency ?? 4, async (it) => {
    if (stopped) return;
    const done: string[] = [];
    for (const step of it.steps) {
      try {
        await applyEntrySteps(deps.entries, [step]);
        done.push(stepText(step));
      } catch (err) {
        stopped = true;
        out.failure ??= { principalArn: it.principalArn!, step: stepText(step), error: (err instanceof Error ? err.message : String(err)).split("\n")[0]! };
        if (done.length) out.applied.push({ key: it.key, line: it.line, principalArn: it.principalArn!, action: it.action, steps: done });
        return;
      }
    }
    out.applied.push({ key: it.key, line: it.line, principalArn: it.principalArn!, action: it.action, steps: done });
    out.done++;
  });
  return out;
}

export async function migrateVerify(deps: SnapshotDeps, input: SnapshotInput = {}): Promise<MigrateVerifyOutput> {
  const s = await readAccessSnapshot(deps, input);
  readable(s);
  const verification = verifyMigration(s);
  const next = verification.ok && s.cluster.mode === "API_AND_CONFIG_MAP" ? `eks-access auth-mode set API ${flagsOf(s)}` : undefined;
  return { verification, next, reads: s.reads };
}
