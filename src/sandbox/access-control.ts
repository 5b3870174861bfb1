/**
 * How the sandbox enforces EKS access control with the unmodified aws-iam-authenticator and
 * `eks-access serve`, from the EKS front's access-entry state:
 *  - authentication: the access entries as the authenticator's dynamic file (DynamicFile backend,
 *    matched by IAM unique id, as EKS does), and the backend order as its backend-mode file —
 *    CONFIG_MAP: the creator's mapping, then aws-auth; API_AND_CONFIG_MAP: access entries, then
 *    aws-auth; API: access entries only — so a mode change takes effect without a restart;
 *  - authorization: the same dynamic file, whose rows carry their access policies, read by
 *    `eks-access serve` (SubjectAccessReview beside RBAC).
 * Files are rewritten atomically, and only when their content changes.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { dynamicFileFor } from "../core/dynamic-file.js";
import type { AccessState, AuthenticationMode } from "./emulator/access-entries.js";

export const BACKEND_MODES: Readonly<Record<AuthenticationMode, string>> = {
  CONFIG_MAP: "MountedFile EKSConfigMap",
  API_AND_CONFIG_MAP: "DynamicFile EKSConfigMap",
  API: "DynamicFile",
};

function writeIfChanged(path: string, text: string): boolean {
  try {
    if (readFileSync(path, "utf8") === text) return false;
  } catch {
    /* new file */
  }
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
  return true;
}

export interface AccessControlFiles {
  /** the dynamic file: access entries with their policies */
  entriesFile: string;
  /** `{"backendMode": "..."}` */
  backendModeFile: string;
}

/** Writes the two files for one cluster from the emulator's state (a cluster not yet made: `mode`). */
export function writeAccessControlFiles(files: AccessControlFiles, state: AccessState, cluster: string, mode: AuthenticationMode): void {
  const c = state.clusters[cluster];
  const entries = Object.values(state.entries[cluster] ?? {});
  writeIfChanged(files.entriesFile, `${JSON.stringify(dynamicFileFor(entries), null, 2)}\n`);
  writeIfChanged(files.backendModeFile, `${JSON.stringify({ backendMode: BACKEND_MODES[c?.authenticationMode ?? mode] })}\n`);
}
