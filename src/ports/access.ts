/**
 * What the access-management use cases (grant, revoke, access list/check, migrate, reconcile,
 * auth-mode set) need from the outside: IAM/SSO look-ups, the aws-auth ConfigMap and the EKS
 * access-entry API. Types only; adapters implement them, use cases take them as parameters.
 */

/** How the user named a principal on the command line; defined with its parser in core/principal.ts. */
import type { PrincipalInput } from "../core/principal.js";
export type { PrincipalInput };

/** An IAM role or user as IAM knows it now. */
export interface IamPrincipal {
  type: "role" | "user";
  /** the full ARN IAM returns, path included */
  arn: string;
  partition: string;
  account: string;
  name: string;
  /** "/" when none */
  path: string;
  /** AROA… / AIDA… */
  uniqueId: string;
  /** ISO 8601 */
  createDate: string;
}

export interface ResolvedPrincipal extends IamPrincipal {
  /** how the input became this principal, one line, e.g. "session arn:aws:sts::…:assumed-role/R/s → role R" */
  from: string;
  /** set when it is an IAM Identity Center provisioned role */
  permissionSet?: { name: string; arn: string; instanceArn: string } | undefined;
}

export interface PrincipalDirectory {
  /**
   * Resolves what the user typed to the IAM principals it denotes (a permission set gives one per
   * account). Throws EksAccessError("usage" | "not-found", one line naming the fix) for a
   * permission-set ARN where a role belongs, an SSO user or group, a not-provisioned permission set,
   * an unknown role or user.
   */
  resolve(input: PrincipalInput): Promise<ResolvedPrincipal[]>;
  /** The principal an ARN names now (path-insensitive: a path-less role ARN finds the role), or undefined. */
  lookup(arn: string): Promise<IamPrincipal | undefined>;
  /** The roles IAM Identity Center provisioned in an account (path /aws-reserved/sso.amazonaws.com/…), as IAM has them now. */
  ssoRoles(account: string): Promise<IamPrincipal[]>;
}

/** kube-system/aws-auth as read from the cluster. */
export interface AwsAuthConfigMap {
  /** the ConfigMap's data (mapRoles, mapUsers, mapAccounts, any other key) exactly as stored */
  data: Record<string, string>;
  resourceVersion: string;
  /** the whole object as the apiserver returned it (for backups) */
  raw: unknown;
}

export interface AwsAuthWrite {
  before: AwsAuthConfigMap | undefined;
  /** as written; when nothing was written, the ConfigMap as read (undefined: there is none) */
  after: AwsAuthConfigMap | undefined;
  /** the backup written before the change (0600), absent when nothing changed or there was no ConfigMap */
  backupPath?: string | undefined;
  /** how many 409 Conflicts were re-applied */
  conflicts: number;
}

/** A backup file read back: the data it holds, and what eks-access recorded about where it came from. */
export interface AwsAuthBackup {
  file: string;
  data: Record<string, string>;
  /** from the header eks-access writes (absent in a plain `kubectl get -o yaml` file) */
  context?: string | undefined;
  /** the API server it was read from (the cluster's identity: a context can be renamed or reached another way) */
  server?: string | undefined;
  resourceVersion?: string | undefined;
  /** ISO 8601 */
  takenAt?: string | undefined;
}

export interface AwsAuthStore {
  /** which cluster and where its backups go, for messages */
  readonly target: { context: string; server: string; backupDir: string };
  /** the ConfigMap, or undefined when it does not exist */
  read(): Promise<AwsAuthConfigMap | undefined>;
  /**
   * Optimistic concurrency: reads, calls `edit` with the current data (undefined: no ConfigMap),
   * writes with the read resourceVersion (create when absent); on 409 Conflict re-reads and calls
   * `edit` again, with bounded backoff. `edit` returns the new data, or "unchanged" to write nothing
   * (data equal to the current data is not written either). Before each write the previous
   * ConfigMap is saved as a timestamped 0600 backup.
   */
  update(edit: (current: AwsAuthConfigMap | undefined) => Record<string, string> | "unchanged"): Promise<AwsAuthWrite>;
  /** replaces the ConfigMap's data with a backup's (same concurrency rules, itself backed up first) */
  restore(backupFile: string): Promise<AwsAuthWrite>;
  /** reads a backup (or a saved ConfigMap manifest); one-line EksAccessError when it is not an aws-auth backup */
  readBackup(file: string): Promise<AwsAuthBackup>;
  /** the backups of this cluster, newest first */
  backups(): Promise<string[]>;
}
