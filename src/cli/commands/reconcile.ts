/** `eks-access access reconcile`: flags → the reconcile use case, through the same cluster and context checks as grant. */
import { shellWord } from "../../core/mapping/check.js";
import { reconcile, type ReconcileOutput } from "../../usecases/access-reconcile.js";
import { accessDeps, awsAuthWriteLines, type AccessArgs } from "./access.js";

export interface ReconcileArgs extends AccessArgs {
  dryRun?: boolean | undefined;
}

export function renderReconcile(o: ReconcileOutput): string {
  const lines: string[] = [];
  const changing = o.items.filter((i) => i.steps.length > 0);
  for (const i of o.items) {
    lines.push(`${i.principal}  [${i.source === "aws-auth" ? "aws-auth" : "access entry"}]`, `  ${i.message}`);
    for (const s of i.steps) lines.push(`  ${o.dryRun ? "would " : ""}${s.text}`);
    if (!i.steps.length) {
      const remove = i.source === "aws-auth" ? "kubectl -n kube-system edit configmap aws-auth" : `aws eks delete-access-entry --cluster-name ${shellWord(o.cluster)} --region ${shellWord(o.region)} --principal-arn ${shellWord(i.principal)}`;
      lines.push(`  = left as it is: nothing to point it at (it matches no one; remove it with: ${remove})`);
    }
  }
  for (const n of o.notes) lines.push(`= ${n}`);
  lines.push(...awsAuthWriteLines(o.awsAuth, o.cluster, o.region));
  const checked = `checked ${o.checked.awsAuthRows} IAM Identity Center row${o.checked.awsAuthRows === 1 ? "" : "s"} of aws-auth and ${o.checked.accessEntries} access entr${o.checked.accessEntries === 1 ? "y" : "ies"}`;
  if (lines.length) lines.push("");
  if (o.dryRun) {
    const cmds = changing.flatMap((i) => i.steps.flatMap((s) => (s.command ? [s.command] : [])));
    lines.push(`Dry run: nothing was changed on cluster ${o.cluster} (${checked}).`);
    if (cmds.length) lines.push("The same with the AWS CLI:", ...cmds.map((c) => `  ${c}`));
  } else {
    lines.push(changing.length ? `Reconciled on cluster ${o.cluster} (${o.region}, ${o.mode}): ${changing.length} grant${changing.length > 1 ? "s" : ""} brought back (${checked}).` : `Nothing to reconcile on cluster ${o.cluster}: ${checked}.`);
  }
  return lines.join("\n") + "\n";
}

export async function runReconcile(a: ReconcileArgs, env = process.env): Promise<string> {
  const d = await accessDeps(a, env);
  const o = await reconcile(d.deps, { dryRun: !!a.dryRun });
  return a.output === "json" ? `${JSON.stringify(o, null, 2)}\n` : renderReconcile(o);
}
