/** The EKS cluster's access configuration and access-entry API, as the access use cases need them. */
import type { AuthenticationMode, AccessScope, AccessEntryState } from "../core/access-entry-plan.js";

export interface ClusterAccess {
  name: string;
  arn: string;
  account: string;
  region: string;
  /** the Kubernetes API server URL (DescribeCluster endpoint) */
  endpoint: string;
  /** base64 of the cluster's CA bundle (DescribeCluster certificateAuthority.data), "" when unknown */
  certificateAuthority: string;
  mode: AuthenticationMode;
  /** DescribeCluster accessConfig.bootstrapClusterCreatorAdminPermissions */
  bootstrapCreatorAdmin?: boolean | undefined;
}

/** A cluster update (UpdateClusterConfig's answer, then DescribeUpdate). */
export interface ClusterUpdate {
  id: string;
  /** InProgress, Successful, Failed or Cancelled */
  status: string;
  /** one line each */
  errors: string[];
}

/** DescribeUpdate of the store's cluster. */
export interface ClusterUpdates {
  describeUpdate(updateId: string): Promise<ClusterUpdate>;
}

export interface AccessEntryStore {
  cluster(): Promise<ClusterAccess>;
  /** every entry's principal ARN (all pages) */
  listPrincipals(): Promise<string[]>;
  /** the entry with its associated policies, or undefined when there is none */
  get(principalArn: string): Promise<AccessEntryState | undefined>;
  create(e: { principalArn: string; username?: string | undefined; kubernetesGroups: readonly string[]; type?: string | undefined }): Promise<void>;
  update(principalArn: string, e: { username?: string | undefined; kubernetesGroups: readonly string[] }): Promise<void>;
  delete(principalArn: string): Promise<void>;
  associate(principalArn: string, policyArn: string, scope: AccessScope): Promise<void>;
  disassociate(principalArn: string, policyArn: string): Promise<void>;
  /** UpdateClusterConfig accessConfig.authenticationMode; the update's id */
  setAuthenticationMode(mode: AuthenticationMode): Promise<string>;
}
