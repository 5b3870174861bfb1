/** What grant and revoke report, per principal and for aws-auth. */
import type { AuthenticationMode } from "../core/access-entry-plan.js";

export interface PrincipalChange {
  principal: string;
  /** how the input became this principal */
  from: string;
  backend: "aws-auth" | "access-entry";
  /** the ARN as the backend stores it */
  writtenAs: string;
  username?: string | undefined;
  steps: Array<{ text: string; command?: string | undefined }>;
  notes: string[];
}

export interface AccessChangeOutput {
  cluster: string;
  region: string;
  mode: AuthenticationMode;
  dryRun: boolean;
  changes: PrincipalChange[];
  /** aws-auth: the unified diff of the ConfigMap, the backup written before the change (none when the change created it) */
  awsAuth?: { diff: string; backupPath?: string | undefined; conflicts: number; created?: boolean | undefined } | undefined;
}
