/**
 * Reads both of a cluster's identity systems once, for `access list`, `access check`,
 * `auth-mode set` and `migrate`: the authentication mode (DescribeCluster), aws-auth as the
 * authenticator reads it, every access entry with its policies (ListAccessEntries, then
 * DescribeAccessEntry + ListAssociatedAccessPolicies each), and IAM's view of every principal
 * named in either (one look-up per principal name: unique id, path, CreateDate), so each entry's
 * binding is known (core/entry-binding). Reads run with at most `concurrency` calls in flight.
 *
 * In CONFIG_MAP mode EKS has no access-entry API, so there are no entries to read. In API mode
 * EKS ignores aws-auth: a ConfigMap that cannot be read is noted, not fatal; in the other modes it
 * is an error (the reports would be wrong without it).
 */
import { principalKey, principalsToLookUp, statusOf, type Inventory, type PrincipalLookup } from "../core/mapping/inventory.js";
import { parseAwsAuth } from "../core/mapping/aws-auth.js";
import { EksAccessError } from "../core/errors.js";
import type { AccessEntryStore, ClusterAccess } from "../ports/access-entry-store.js";
import type { AwsAuthStore, PrincipalDirectory } from "../ports/access.js";
import { mapLimit } from "../core/map-limit.js";

export interface SnapshotDeps {
  entries: AccessEntryStore;
  directory: Pick<PrincipalDirectory, "lookup">;
  /** the cluster's aws-auth store (a kubeconfig context for this cluster) */
  awsAuth(cluster: ClusterAccess): Promise<AwsAuthStore>;
}

export interface SnapshotInput {
  /** calls in flight at most (default 4) */
  concurrency?: number | undefined;
  /** the cluster as the caller has just described it (else DescribeCluster is called) */
  cluster?: ClusterAccess | undefined;
}

export interface AccessSnapshot extends Inventory {
  cluster: ClusterAccess;
  /** aws-auth's resourceVersion when read */
  awsAuthResourceVersion?: string | undefined;
  /** how many calls the reading made */
  reads: { accessEntries: number; iamLookups: number };
}

const firstLine = (err: unknown): string => (EksAccessError.is(err) ? err.line : err instanceof Error ? err.message : String(err)).split("\n")[0]!;

export async function readAccessSnapshot(deps: SnapshotDeps, input: SnapshotInput = {}): Promise<AccessSnapshot> {
  const limit = input.concurrency ?? 4;
  const cluster = input.cluster ?? (await deps.entries.cluster());
  const readAwsAuth = async (): Promise<Pick<AccessSnapshot, "awsAuth" | "awsAuthResourceVersion"> & { data: Record<string, string> }> => {
    try {
      const cm = await (await deps.awsAuth(cluster)).read();
      return cm ? { awsAuth: { state: "present" }, data: cm.data, awsAuthResourceVersion: cm.resourceVersion } : { awsAuth: { state: "absent" }, data: {} };
    } catch (err) {
      if (cluster.mode !== "API") throw err;
      return { awsAuth: { state: "unreadable", error: firstLine(err) }, data: {} };
    }
  };
  const readEntries = async () => {
    if (cluster.mode === "CONFIG_MAP") return [];
    const arns = await deps.entries.listPrincipals();
    const read = await mapLimit(arns, limit, (arn) => deps.entries.get(arn));
    return read.filter((e): e is NonNullable<typeof e> => e !== undefined);
  };
  const [aws, entries] = await Promise.all([readAwsAuth(), readEntries()]);
  const parsed = parseAwsAuth(aws.data);

  const arns = principalsToLookUp(parsed.rows, entries);
  const answers = await mapLimit(arns, limit, async (arn): Promise<PrincipalLookup> => {
    try {
      const p = await deps.directory.lookup(arn);
      return p ? { state: "found", principal: p } : { state: "missing" };
    } catch (err) {
      return { state: "unknown", error: firstLine(err) };
    }
  });
  const iam = new Map<string, PrincipalLookup>();
  arns.forEach((arn, i) => iam.set(principalKey(arn)!, answers[i]!));
  const records = entries.map((entry) => ({ entry, binding: statusOf(entry, iam.get(principalKey(entry.principalArn) ?? "")) }));
  return { cluster, awsAuth: aws.awsAuth, awsAuthResourceVersion: aws.awsAuthResourceVersion, parsed, entries: records, iam, reads: { accessEntries: entries.length, iamLookups: arns.length } };
}
