/**
 * `aws-auth restore`: brings kube-system/aws-auth back to a backup eks-access wrote before a change
 * (default: the newest backup of this cluster's kubeconfig context, i.e. "undo the last change").
 * The write is the store's conflict-safe update, so the state it replaces is itself backed up
 * first and restoring is reversible too. Only `data` is restored (what the authenticator reads),
 * byte for byte. Refused in one line, with nothing changed: a file that is not an aws-auth backup,
 * a backup taken from another cluster (its recorded API server, or context for older headers), no backup at all.
 */
import { EksAccessError } from "../core/errors.js";
import { sameServer } from "../core/kubeconfig.js";
import { parseAwsAuth } from "../core/mapping/aws-auth.js";
import { dataDiff } from "../core/mapping/diff.js";
import type { AuthenticationMode } from "../core/access-entry-plan.js";
import type { AccessEntryStore, ClusterAccess } from "../ports/access-entry-store.js";
import type { AwsAuthBackup, AwsAuthStore } from "../ports/access.js";

export interface RestoreDeps {
  entries: Pick<AccessEntryStore, "cluster">;
  awsAuth(cluster: ClusterAccess): Promise<AwsAuthStore>;
}

export interface RestoreInput {
  /** the backup file; default: the newest of this context */
  backup?: string | undefined;
  /** only list the backups */
  list: boolean;
  dryRun: boolean;
}

export interface BackupInfo {
  file: string;
  takenAt?: string | undefined;
  resourceVersion?: string | undefined;
  /** mapRoles + mapUsers rows and mapAccounts entries it holds */
  rows: number;
  /** why it cannot be read back (listed anyway) */
  problem?: string | undefined;
}

export interface RestoreOutput {
  cluster: string;
  region: string;
  mode: AuthenticationMode;
  /** the kubeconfig context whose aws-auth this is, and where its backups are */
  context: string;
  backupDir: string;
  /** --list: every backup, newest first; a restore: the others there are, newest first */
  backups: BackupInfo[];
  restored?: (BackupInfo & { chosen: "given" | "newest" }) | undefined;
  dryRun: boolean;
  /** unified diff from the ConfigMap now to the backup ("" when they are equal) */
  diff: string;
  /** the backup of the state the restore replaced */
  backupPath?: string | undefined;
  conflicts: number;
  notes: string[];
}

const info = (b: AwsAuthBackup): BackupInfo => ({ file: b.file, takenAt: b.takenAt, resourceVersion: b.resourceVersion, rows: parseAwsAuth(b.data).rows.length });

/** A backup's line in a listing: one that cannot be read is listed with why, not a failure. */
async function listed(store: AwsAuthStore, file: string): Promise<BackupInfo> {
  try {
    return info(await store.readBackup(file));
  } catch (err) {
    if (!EksAccessError.is(err)) throw err;
    return { file, rows: 0, problem: err.message };
  }
}

export async function restoreAwsAuth(deps: RestoreDeps, input: RestoreInput): Promise<RestoreOutput> {
  if (input.list && input.backup !== undefined) throw new EksAccessError("usage", "--list and --backup do not go together", { hint: "--list shows the backups; --backup FILE restores one" });
  const cluster = await deps.entries.cluster();
  const store = await deps.awsAuth(cluster);
  const out: RestoreOutput = {
    cluster: cluster.name,
    region: cluster.region,
    mode: cluster.mode,
    context: store.target.context,
    backupDir: store.target.backupDir,
    backups: [],
    dryRun: input.dryRun,
    diff: "",
    conflicts: 0,
    notes: [],
  };
  if (cluster.mode === "API") out.notes.push(`cluster ${cluster.name} is in API mode: EKS does not read aws-auth, so restoring it changes no one's access`);
  const files = await store.backups();
  if (input.list) {
    for (const f of files) out.backups.push(await listed(store, f));
    return out;
  }
  const file = input.backup ?? files[0];
  if (file === undefined) {
    throw new EksAccessError("not-found", `no aws-auth backup of context ${store.target.context} in ${store.target.backupDir}`, {
      hint: "eks-access writes one before each change it makes; name another file with --backup FILE",
    });
  }
  const backup = await store.readBackup(file);
  if (backup.server !== undefined ? !sameServer(backup.server, store.target.server) : backup.context !== undefined && backup.context !== store.target.context) {
    throw new EksAccessError("usage", `${file} was taken from ${backup.server !== undefined ? `the cluster at ${backup.server}` : `kubeconfig context ${backup.context}`}, not ${store.target.server} (cluster ${cluster.name}); nothing was changed`, {
      hint: `restore another cluster's aws-auth with that cluster's --context; list this cluster's backups with eks-access aws-auth restore --cluster ${cluster.name} --list`,
    });
  }
  out.restored = { ...info(backup), chosen: input.backup === undefined ? "newest" : "given" };
  out.backups = await Promise.all(files.filter((f) => f !== file).map((f) => listed(store, f)));
  const broken = parseAwsAuth(backup.data).issues.filter((i) => i.code === "yaml-syntax" || i.code === "not-a-list");
  for (const i of broken) out.notes.push(`the backup's ${i.message}`);
  if (input.dryRun) {
    const current = await store.read();
    out.diff = dataDiff(current?.data ?? {}, backup.data);
    return out;
  }
  const w = await store.restore(file);
  out.diff = dataDiff(w.before?.data ?? {}, w.after?.data ?? {});
  out.backupPath = w.backupPath;
  out.conflicts = w.conflicts;
  return out;
}
