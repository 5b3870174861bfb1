/** ConfigMap data as a unified diff (what --dry-run shows and what a write reports). Pure. */
import { createPatch } from "diff";

/** A unified diff of the ConfigMap's data, one file per changed key. */
export function dataDiff(before: Readonly<Record<string, string>>, after: Readonly<Record<string, string>>): string {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return keys
    .filter((k) => before[k] !== after[k])
    .map((k) => createPatch(`kube-system/aws-auth data.${k}`, before[k] ?? "", after[k] ?? "", "", "", { context: 3 }).replace(/^Index: .*\n=+\n/, ""))
    .join("");
}
