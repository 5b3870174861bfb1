/** Builds the real adapters for the shells, lazily (each command loads only what it uses). */
import type { Env } from "./adapters/aws-config.js";
import type { AwsCredentialIdentity } from "@smithy/types";

export interface AwsContext {
  region: string | undefined;
  credentials: AwsCredentialIdentity;
  /** the profile the user named (flag or environment), as the AWS CLI's session.profile */
  namedProfile: string | undefined;
}

export interface AwsContextOptions {
  profile?: string | undefined;
  region?: string | undefined;
  env: Env;
  assumeRoleArn?: string | undefined;
  assumeSessionName?: string;
  /** print what was resolved (profile, region and origin, credential source) on stderr; never secrets */
  debug?: boolean | undefined;
}

/** `eks-access: debug: ` lines on stderr, for --debug / EKS_ACCESS_DEBUG=1. */
export const debugWriter = (on: boolean | undefined): ((line: string) => void) | undefined =>
  on ? (line) => void process.stderr.write(`eks-access: debug: ${line}\n`) : undefined;

/** Region + credentials for an AWS API call, with --assume-role-arn applied when given. */
export async function awsContext(opts: AwsContextOptions): Promise<AwsContext> {
  const debug = debugWriter(opts.debug || opts.env["EKS_ACCESS_DEBUG"] === "1");
  const { effectiveProfile, namedProfile, endpointOverride } = await import("./adapters/aws-config.js");
  const { resolveRegion, resolveCredentials } = await import("./aws-part.js");
  const profile = effectiveProfile(opts.profile, opts.env);
  const named = namedProfile(opts.profile, opts.env);
  const { region, origin } = await resolveRegion(opts.region, profile, opts.env);
  debug?.(`profile: ${named ?? "none (default chain)"}`);
  debug?.(`region: ${region ?? "none"} (${origin})`);
  debug?.(`endpoints: sts ${endpointOverride("sts", opts.env) ?? "AWS default for the region"}, eks ${endpointOverride("eks", opts.env) ?? "AWS default for the region"}`);
  const resolved = await resolveCredentials({ profile: opts.profile, env: opts.env, promptMfa: undefined, debug });
  debug?.(`credentials: ${resolved.source}`);
  let credentials: AwsCredentialIdentity = resolved.credentials;
  if (opts.assumeRoleArn) {
    const { assumeRole } = await import("./adapters/sts.js");
    const sessionName = opts.assumeSessionName ?? "eks-access";
    credentials = await assumeRole({ region, credentials, roleArn: opts.assumeRoleArn, sessionName, env: opts.env });
    debug?.(`credentials: --assume-role-arn ${opts.assumeRoleArn} (session ${sessionName}) assumed now`);
  }
  return { region, credentials, namedProfile: named };
}

export interface PrincipalDirectoryChoices {
  /** the IAM Identity Center instance's region (default: the context's region) */
  ssoRegion?: string | undefined;
  /** where bare names are looked up (the cluster's account; default: the caller's) */
  homeAccount?: string | undefined;
  /** the role assumed to read IAM in other accounts (default OrganizationAccountAccessRole) */
  lookupRoleName?: string | undefined;
}

/**
 * The IAM / IAM Identity Center principal directory (grant, revoke, reconcile, ...), with the
 * endpoint overrides of the environment (AWS_ENDPOINT_URL_IAM, _STS, _SSO_ADMIN, AWS_ENDPOINT_URL).
 * The SDK clients load on first use; sso-admin only for a permission set.
 */
export async function principalDirectory(ctx: AwsContext, env: Env, choices: PrincipalDirectoryChoices = {}): Promise<import("./ports/access.js").PrincipalDirectory> {
  const { endpointOverride } = await import("./adapters/aws-config.js");
  const { AwsPrincipalDirectory } = await import("./adapters/principal-directory.js");
  return new AwsPrincipalDirectory({
    region: ctx.region,
    credentials: ctx.credentials,
    env,
    endpoints: { iam: endpointOverride("iam", env), sts: endpointOverride("sts", env), ssoAdmin: endpointOverride("sso_admin", env) },
    ...choices,
  });
}

/**
 * kube-system/aws-auth of a kubeconfig context (kubectl's rules: --kubeconfig, KUBECONFIG,
 * ~/.kube/config; --context, else the context whose server is `server` — the current one first —
 * else the current one), backups under
 * ~/.eks-access/backups/<context>/ (EKS_ACCESS_STATE_DIR moves them). @kubernetes/client-node
 * loads only now.
 */
export async function awsAuthStore(c: { kubeconfig?: string | undefined; context?: string | undefined; server?: string | undefined; env: Env }): Promise<import("./ports/access.js").AwsAuthStore> {
  const { homedir } = await import("node:os");
  const { awsAuthBackupDir } = await import("./core/cache-dirs.js");
  const { kubeAwsAuthStore } = await import("./adapters/kube-aws-auth.js");
  const home = homedir();
  return kubeAwsAuthStore({ kubeconfig: c.kubeconfig, context: c.context, server: c.server, env: c.env, home, cwd: process.cwd() }, { backupDir: (context) => awsAuthBackupDir(c.env, home, context) });
}

/**
 * Region and credentials for a long-running process (`serve`): resolved now, so a problem shows at
 * start, and resolved again (same precedence, same AWS CLI cache) once they are within 5 minutes
 * of their expiration — a role or SSO session outlives no server. One provider for every SDK
 * client of the process: they share the credentials, and concurrent asks share one resolution.
 */
export async function awsSession(opts: AwsContextOptions): Promise<{ region: string | undefined; credentials: () => Promise<AwsCredentialIdentity> }> {
  const first = await awsContext(opts);
  let current: AwsCredentialIdentity = first.credentials;
  let pending: Promise<AwsCredentialIdentity> | undefined;
  const fresh = (c: AwsCredentialIdentity): boolean => c.expiration === undefined || c.expiration.getTime() - Date.now() > 5 * 60_000;
  const credentials = (): Promise<AwsCredentialIdentity> => {
    if (fresh(current)) return Promise.resolve(current);
    pending ??= (async () => {
      const { resolveCredentials } = await import("./aws-part.js");
      return (await resolveCredentials({ profile: opts.profile, env: opts.env, promptMfa: undefined })).credentials;
    })()
      .then((c) => (current = c))
      .finally(() => (pending = undefined));
    return pending;
  };
  return { region: first.region, credentials };
}
