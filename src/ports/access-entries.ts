/**
 * Where `serve` gets the access entries it authorizes with, and what the EKS source needs from the
 * EKS API. Types only: the file source and the EKS source (src/adapters/access-entries-file.ts,
 * src/usecases/eks-access-entries.ts) implement AccessEntrySource; the server sees only that.
 */
import type { AccessEntryView, DynamicFileRow } from "../core/dynamic-file.js";

export interface AccessEntrySource {
  /** one line for people, e.g. "file /etc/x.json" or "EKS cluster prod (eu-west-1), refreshed every 30s" */
  readonly description: string;
  /** the current entries by the principal's IAM unique id: the last good set, never a half-read one */
  current(): ReadonlyMap<string, DynamicFileRow>;
  /** stops any background work (idempotent) */
  close(): void;
}

/** An access entry as DescribeAccessEntry answers it (the members the source uses). */
export interface DescribedAccessEntry {
  principalArn: string;
  /** arn:<p>:eks:<region>:<cluster account>:access-entry/<cluster>/<role|user>/<account>/<name>/<uuid> */
  accessEntryArn: string;
  username: string;
  kubernetesGroups: string[];
  type: string;
  createdAt: Date;
}

export interface Page<T> {
  items: T[];
  nextToken?: string | undefined;
}

/**
 * One EKS cluster's access-entry API, a page or an entry per call. Failures throw one-line
 * EksAccessErrors (no secret); an entry deleted since it was listed answers undefined.
 */
export interface EksAccessEntryApi {
  listAccessEntries(nextToken: string | undefined): Promise<Page<string>>;
  describeAccessEntry(principalArn: string): Promise<DescribedAccessEntry | undefined>;
  listAssociatedAccessPolicies(principalArn: string, nextToken: string | undefined): Promise<Page<AccessEntryView["policies"][number]> | undefined>;
}
