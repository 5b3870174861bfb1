/**
 * `access list`, `access check`, `migrate plan|apply|verify`, `auth-mode set`: flags → the use
 * cases over the real adapters (the same ones grant uses), and their reports as text, JSON or YAML.
 * Each returns the text to print and the exit code; a refusal or a failure after a report is
 * thrown (one line on stderr) once the report is printed by the caller.
 */
import { stringify } from "yaml";
import { EksAccessError } from "../../core/errors.js";
import type { AccessProblem, AccessRow } from "../../core/mapping/access-report.js";
import type { MigrationItem, VerifyItem } from "../../core/mapping/migrate.js";
import { accessCheck, accessList } from "../../usecases/access-report.js";
import { setAuthMode, type AuthModeOutput } from "../../usecases/auth-mode.js";
import { migrateApply, migratePlan, migrateVerify, type MigrateApplyOutput, type MigratePlanOutput, type MigrateVerifyOutput } from "../../usecases/migrate.js";
import { accessDeps, type AccessArgs } from "./access.js";

export type Format = "text" | "table" | "json" | "yaml";

export interface ReadArgs extends Omit<AccessArgs, "output"> {
  output?: Format | undefined;
  concurrency?: number | undefined;
}

/** What a command prints, its exit code, and (after printing) the error that ends it. */
export interface CommandResult {
  text: string;
  code: number;
  error?: EksAccessError | undefined;
}

const concurrencyOf = (a: ReadArgs): number | undefined => {
  if (a.concurrency === undefined) return undefined;
  if (!Number.isInteger(a.concurrency) || a.concurrency < 1 || a.concurrency > 64) throw new EksAccessError("usage", `--concurrency ${a.concurrency} is not a whole number from 1 to 64`, { hint: "e.g. --concurrency 8" });
  return a.concurrency;
};

/** The adapters grant uses (the output format is this module's own). */
const depsOf = (a: ReadArgs, env: NodeJS.ProcessEnv): ReturnType<typeof accessDeps> => accessDeps({ ...a, output: undefined }, env);

const machine = (a: ReadArgs, value: unknown): string | undefined =>
  a.output === "json" ? `${JSON.stringify(value, null, 2)}\n` : a.output === "yaml" ? stringify(value, { lineWidth: 0 }) : undefined;

/** Columns padded to their widest cell (the last one not padded). */
function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

const sourceText = (r: AccessRow): string =>
  r.source === "access-entry" ? `access entry${r.type && r.type !== "STANDARD" ? ` (${r.type})` : ""}` : r.source === "creator" ? "EKS (creator)" : `${r.source} line ${r.line}`;

export async function runAccessList(a: ReadArgs, env = process.env): Promise<CommandResult> {
  const concurrency = concurrencyOf(a);
  const d = await depsOf(a, env);
  const o = await accessList(d.deps, { concurrency });
  const m = machine(a, o);
  if (m) return { text: m, code: 0 };
  const body = table(
    ["PRINCIPAL", "SOURCE", "USERNAME", "GROUPS", "POLICIES", "USED", "PROBLEMS"],
    o.rows.map((r) => [
      r.principal + (r.creator ? " *" : ""),
      sourceText(r),
      r.username,
      r.groups.join(",") || "-",
      r.policies.map((p) => `${p.policy.replace(/^AmazonEKS|Policy$/g, "")}(${p.scope.replace(/^in namespaces? /, "ns:")})`).join(",") || "-",
      r.used,
      r.problems.map((p) => p.code).join(",") || "-",
    ]),
  );
  const notes = o.rows.filter((r) => r.used !== "yes").map((r) => `  ${r.principal} (${sourceText(r)}): ${r.why}`);
  const counted = o.rows.filter((r) => r.used === "yes").length;
  const errors = o.problems.filter((p) => p.severity !== "info").length;
  const lines = [
    `Cluster ${o.cluster} (${o.region}), authentication mode ${o.mode}: ${counted} mapping${counted === 1 ? "" : "s"} in use of ${o.rows.length}.`,
    "",
    body.trimEnd(),
    ...o.rows.filter((r) => r.creator).map((r) => (r.source === "creator" ? `* ${r.why}` : "* looks like the cluster creator's bootstrap access entry: the first entry, with EKS's default username and AmazonEKSClusterAdminPolicy cluster-wide")),
    ...(notes.length ? ["", "Not used:", ...notes] : []),
    "",
    errors ? `${errors} problem${errors === 1 ? "" : "s"} (errors and warnings): eks-access access check --cluster ${o.cluster} --region ${o.region} shows each with its fix.` : "No errors or warnings (eks-access access check lists the notes).",
  ];
  return { text: `${lines.join("\n")}\n`, code: 0 };
}

function problemLines(problems: readonly AccessProblem[]): string[] {
  const where = (p: AccessProblem): string => (p.key === "accessEntries" ? `access entry ${p.arn}` : p.key === "cluster" ? "cluster" : `aws-auth ${p.key} line ${p.line}`);
  return problems.flatMap((p) => [`${where(p)}: ${p.severity} ${p.code}: ${p.message}`, `  fix: ${p.fix}`]);
}

export async function runAccessCheck(a: ReadArgs, env = process.env): Promise<CommandResult> {
  const concurrency = concurrencyOf(a);
  const d = await depsOf(a, env);
  const o = await accessCheck(d.deps, { concurrency });
  const code = o.failed ? 1 : 0;
  const m = machine(a, o);
  if (m) return { text: m, code };
  if (o.problems.length === 0) return { text: `cluster ${o.cluster} (${o.region}, ${o.mode}): no problems found in aws-auth or the access entries\n`, code };
  const count = (s: string): number => o.problems.filter((p) => p.severity === s).length;
  const lines = [...problemLines(o.problems), `${o.problems.length} problem${o.problems.length === 1 ? "" : "s"} on cluster ${o.cluster} (${o.mode}): ${count("error")} error(s), ${count("warning")} warning(s), ${count("info")} info`];
  return { text: `${lines.join("\n")}\n`, code };
}

// ─── migrate ────────────────────────────────────────────────────────────────────────────────────

const ACTION_TEXT: Record<MigrationItem["action"], string> = {
  create: "create",
  complete: "complete",
  recreate: "re-create",
  done: "done",
  "keep-entry": "keep entry",
  skip: "skip",
  cannot: "CANNOT",
};

function planText(o: MigratePlanOutput, dryRun: boolean): string[] {
  const p = o.plan;
  const lines = [`Migration of cluster ${p.cluster} (${p.region}, ${p.mode}): aws-auth → access entries`, ""];
  for (const it of p.items) {
    lines.push(`${it.key} line ${it.line}  ${it.arn}  [${ACTION_TEXT[it.action]}]`);
    if (it.want) lines.push(`  → ${it.want.type} entry ${it.principalArn ?? ""}${it.want.username !== undefined ? `, username ${it.want.username}` : ""}${it.want.kubernetesGroups.length ? `, groups ${it.want.kubernetesGroups.join(", ")}` : ""}${it.want.policies.length ? `, ${it.want.policies.map((x) => x.policyArn.slice(x.policyArn.lastIndexOf("/") + 1)).join(", ")}` : ""}`);
    lines.push(`  ${it.reason}`);
    for (const n of it.notes) lines.push(`  = ${n}`);
  }
  const c = p.counts;
  lines.push("", `${p.items.length} aws-auth row${p.items.length === 1 ? "" : "s"}: ${c.create} to create, ${c.complete} to complete, ${c.recreate} to re-create, ${c.done} done, ${c["keep-entry"]} with a different entry kept, ${c.skip} without effect, ${c.cannot} that cannot be migrated.`);
  if (o.commands.length && dryRun) lines.push("The same with the AWS CLI:", ...o.commands.map((x) => `  ${x}`));
  return lines;
}

export async function runMigratePlan(a: ReadArgs, env = process.env): Promise<CommandResult> {
  const concurrency = concurrencyOf(a);
  const d = await depsOf(a, env);
  const o = await migratePlan(d.deps, { concurrency });
  const m = machine(a, o);
  if (m) return { text: m, code: 0 };
  const lines = planText(o, true);
  const flags = `--cluster ${o.plan.cluster} --region ${o.plan.region}`;
  lines.push("", o.plan.mode === "CONFIG_MAP" ? `Next: eks-access auth-mode set API_AND_CONFIG_MAP ${flags}, then eks-access migrate apply ${flags}` : `Next: eks-access migrate apply ${flags} (nothing was changed)`);
  return { text: `${lines.join("\n")}\n`, code: 0 };
}

export async function runMigrateApply(a: ReadArgs & { dryRun?: boolean | undefined }, env = process.env): Promise<CommandResult> {
  const concurrency = concurrencyOf(a);
  const d = await depsOf(a, env);
  const o: MigrateApplyOutput = await migrateApply(d.deps, { concurrency, dryRun: a.dryRun });
  const flags = `--cluster ${o.plan.cluster} --region ${o.plan.region}`;
  const error = o.failure
    ? new EksAccessError("aws", `migrate apply stopped at ${o.failure.principalArn} (${o.failure.step}): ${o.failure.error}`, {
        hint: `${o.done} of ${o.total} principals done; fix the cause and re-run eks-access migrate apply ${flags}: it continues where this stopped`,
      })
    : undefined;
  const m = machine(a, o);
  if (m) return { text: m, code: error ? 1 : 0, error };
  const lines = planText(o, o.dryRun);
  if (o.dryRun) lines.push("", `Dry run: nothing was changed on cluster ${o.plan.cluster}.`);
  else {
    lines.push("");
    for (const it of o.applied) for (const s of it.steps) lines.push(`done: ${s}`);
    lines.push(o.total === 0 ? "Nothing to apply: every row that can be migrated is." : `Applied: ${o.done} of ${o.total} principal${o.total === 1 ? "" : "s"}.`);
    if (!error) lines.push(`Next: eks-access migrate verify ${flags}`);
  }
  return { text: `${lines.join("\n")}\n`, code: error ? 1 : 0, error };
}

const idText = (i?: { username: string; groups: string[] }): string => (i ? `${i.username} [${i.groups.join(", ")}]` : "(not mapped)");

export async function runMigrateVerify(a: ReadArgs, env = process.env): Promise<CommandResult> {
  const concurrency = concurrencyOf(a);
  const d = await depsOf(a, env);
  const o: MigrateVerifyOutput = await migrateVerify(d.deps, { concurrency });
  const v = o.verification;
  const code = v.ok ? 0 : 1;
  const m = machine(a, o);
  if (m) return { text: m, code };
  const lines = [`Verification of cluster ${v.cluster} (${v.region}, ${v.mode}): each aws-auth identity resolved from aws-auth alone and from the access entries alone`, ""];
  for (const it of v.items as VerifyItem[]) {
    lines.push(`${it.key} line ${it.line}  ${it.principalArn ?? it.arn}  ${it.status.toUpperCase()}`);
    if (it.caller) lines.push(`  as ${it.caller}`, `  aws-auth:       ${idText(it.before)}`, `  access entries: ${idText(it.after)}`);
    for (const x of it.differences) lines.push(`  ~ ${x}`);
    for (const n of it.notes) lines.push(`  = ${n}`);
  }
  const c = v.counts;
  lines.push("", `${v.items.length} identit${v.items.length === 1 ? "y" : "ies"}: ${c.same} same, ${c.equivalent} equivalent, ${c.differs} different, ${c.missing} without an access entry, ${c["not-migratable"]} not migratable.`);
  const flags = `--cluster ${v.cluster} --region ${v.region}`;
  if (o.next) lines.push(`Proven: every identity aws-auth gives is the same from the access entries. Switch when ready: ${o.next}`);
  else if (v.ok) lines.push(v.mode === "API" ? "The cluster is in API mode already." : `Proven. The cluster is in ${v.mode} mode: eks-access auth-mode set API_AND_CONFIG_MAP ${flags} first.`);
  else lines.push(`Not proven: fix the above (eks-access migrate apply ${flags}), or switch anyway with eks-access auth-mode set API ${flags} --force (the identities above lose access).`);
  return { text: `${lines.join("\n")}\n`, code };
}

// ─── auth-mode set ──────────────────────────────────────────────────────────────────────────────

export interface AuthModeArgs extends ReadArgs {
  mode: string;
  force?: boolean | undefined;
  dryRun?: boolean | undefined;
  wait?: boolean | undefined;
}

export async function runAuthModeSet(a: AuthModeArgs, env = process.env): Promise<CommandResult> {
  if (a.mode !== "API" && a.mode !== "API_AND_CONFIG_MAP") {
    throw new EksAccessError("usage", `${a.mode === "CONFIG_MAP" ? "a cluster can't be set back to CONFIG_MAP" : `unknown authentication mode ${JSON.stringify(a.mode)}`}`, { hint: "give API_AND_CONFIG_MAP or API (EKS changes modes one way: CONFIG_MAP → API_AND_CONFIG_MAP → API)" });
  }
  const concurrency = concurrencyOf(a);
  const d = await depsOf(a, env);
  const o: AuthModeOutput = await setAuthMode({ ...d.deps, updates: d.updates, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }, { mode: a.mode, force: !!a.force, dryRun: !!a.dryRun, wait: a.wait, concurrency });
  const error = o.refused ? new EksAccessError("refused", o.refused) : undefined;
  const m = machine(a, o);
  if (m) return { text: m, code: error ? 1 : 0, error };
  const lines = [...o.explanation];
  if (o.awsAuthOnly.length) {
    lines.push("", `aws-auth identities no access entry stands in for (${o.awsAuthOnly.length}):`);
    for (const l of o.awsAuthOnly) lines.push(`  ${l.key} line ${l.line}  ${l.principal}${l.username !== undefined ? `  ${l.username}` : ""}${l.groups.length ? ` [${l.groups.join(", ")}]` : ""}`);
    lines.push(`Migrate them: eks-access migrate plan --cluster ${o.cluster} --region ${o.region}, then migrate apply`);
  }
  if (o.unchanged) return { text: `${lines.join("\n")}\n`, code: 0 };
  if (o.dryRun || error) lines.push("", `${error ? "Refused" : "Dry run"}: nothing was changed. The same with the AWS CLI: ${o.command}`);
  else if (o.update) {
    lines.push("", `Update ${o.update.id}: ${o.update.status}${o.update.status === "InProgress" ? ` (follow it: aws eks describe-update --name ${o.cluster} --region ${o.region} --update-id ${o.update.id})` : ""}.`);
    if (o.update.status === "Successful") lines.push(`Cluster ${o.cluster} is now in ${o.to} mode.`);
  }
  return { text: `${lines.join("\n")}\n`, code: error ? 1 : 0, error };
}
