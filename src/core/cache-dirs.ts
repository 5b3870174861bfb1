/** Where eks-access and the AWS CLI keep their caches (pure: the home directory is passed in). */
import type { Env } from "./aws-env.js";

/** The token cache (and the lock files): EKS_ACCESS_CACHE_DIR, else ~/.kube/cache/eks-access. */
export const tokenCacheDir = (env: Env, home: string): string => env["EKS_ACCESS_CACHE_DIR"] || `${env["HOME"] || home}/.kube/cache/eks-access`;

/**
 * The AWS CLI's credential cache (awscli/customizations/assumerole.py CACHE_DIR): ~/.aws/cli/cache;
 * EKS_ACCESS_AWS_CLI_CACHE_DIR moves eks-access's view of it (e.g. to keep a throw-away account's
 * sessions apart), `off` turns it off (undefined).
 */
export function awsCliCacheDir(env: Env, home: string): string | undefined {
  const override = env["EKS_ACCESS_AWS_CLI_CACHE_DIR"];
  if (override === "off") return undefined;
  return override || `${env["HOME"] || home}/.aws/cli/cache`;
}

/**
 * eks-access's own state (kept, unlike the caches): EKS_ACCESS_STATE_DIR, else ~/.eks-access.
 * aws-auth backups live under backups/<kubeconfig context>/.
 */
export const stateDir = (env: Env, home: string): string => env["EKS_ACCESS_STATE_DIR"] || `${env["HOME"] || home}/.eks-access`;

/** Where the aws-auth backups of one cluster context go (the context name made a safe file name). */
export const awsAuthBackupDir = (env: Env, home: string, context: string): string =>
  `${stateDir(env, home)}/backups/${context.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_") || "_"}`;
