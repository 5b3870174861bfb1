/** Where eks-access and the AWS CLI keep their caches (pure: the home directory is passed in). */
import type { Env } from "./aws-env.js";

/** The token cache (and the lock files): EKS_ACCESS_CACHE_DIR, else ~/.kube/cache/eks-access. */
export const tokenCacheDir = (env: Env, home: string): string => env["EKS_ACCESS_CACHE_DIR"] || `${env["HOME"] || home}/.kube/cache/eks-access`;

/** The AWS CLI's credential cache (awscli/customizations/assumerole.py CACHE_DIR): ~/.aws/cli/cache. */
export const awsCliCacheDir = (env: Env, home: string): string => `${env["HOME"] || home}/.aws/cli/cache`;
