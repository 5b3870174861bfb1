/** `eks-access aws-auth restore`: flags → the restore use case, through the same cluster and context checks as grant. */
import { shellWord } from "../../core/mapping/check.js";
import { restoreAwsAuth, type BackupInfo, type RestoreOutput } from "../../usecases/aws-auth-restore.js";
import { accessDeps, type AccessArgs } from "./access.js";

export interface AwsAuthRestoreArgs extends AccessArgs {
  backup?: string | undefined;
  list?: boolean | undefined;
  dryRun?: boolean | undefined;
}

const describe = (b: BackupInfo): string =>
  b.problem ? `${b.file}  (unusable: ${b.problem})` : `${b.file}  (${b.takenAt ?? "time unknown"}, resourceVersion ${b.resourceVersion ?? "?"}, ${b.rows} row${b.rows === 1 ? "" : "s"})`;

export function renderRestore(o: RestoreOutput): string {
  const lines: string[] = [];
  const where = `--cluster ${shellWord(o.cluster)} --region ${shellWord(o.region)}`;
  if (!o.restored) {
    lines.push(o.backups.length ? `Backups of kube-system/aws-auth for context ${o.context} (${o.backupDir}), newest first:` : `No aws-auth backups for context ${o.context} in ${o.backupDir}.`);
    for (const b of o.backups) lines.push(`  ${describe(b)}`);
    if (o.backups.length) lines.push("", `Restore one: eks-access aws-auth restore ${where} --backup FILE [--dry-run]`);
  } else {
    lines.push(`${o.dryRun ? "Would restore" : "Restoring"} kube-system/aws-auth of cluster ${o.cluster} (context ${o.context}) from ${o.restored.chosen === "newest" ? "the newest backup" : "the backup"}:`, `  ${describe(o.restored)}`);
    if (o.restored.chosen === "newest" && o.backups.length) lines.push(`Older backups (--backup FILE to pick one):`, ...o.backups.map((b) => `  ${describe(b)}`));
    for (const n of o.notes) lines.push(`= ${n}`);
    lines.push("", o.diff ? o.diff.trimEnd() : "aws-auth already holds exactly the backup's data.");
    if (o.backupPath) lines.push("", `aws-auth backup: ${o.backupPath} (undo: eks-access aws-auth restore ${where} --backup ${o.backupPath})`);
    lines.push("", o.dryRun ? `Dry run: nothing was changed on cluster ${o.cluster}.` : o.diff ? `Restored on cluster ${o.cluster}${o.conflicts ? ` (${o.conflicts} conflicting write${o.conflicts > 1 ? "s" : ""} re-applied)` : ""}.` : `Nothing to change on cluster ${o.cluster}.`);
    return lines.join("\n") + "\n";
  }
  for (const n of o.notes) lines.push(`= ${n}`);
  return lines.join("\n") + "\n";
}

export async function runAwsAuthRestore(a: AwsAuthRestoreArgs, env = process.env): Promise<string> {
  const d = await accessDeps(a, env);
  const o = await restoreAwsAuth(d.deps, { backup: a.backup, list: !!a.list, dryRun: !!a.dryRun });
  return a.output === "json" ? `${JSON.stringify(o, null, 2)}\n` : renderRestore(o);
}
