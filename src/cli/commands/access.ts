/** `grant`, `revoke`: flags → the use case's input, the real adapters, and the report. */
import { awsContext, principalDirectory, type AwsContext } from "../../compose.js";
import { checkedEndpoint, endpointOverride } from "../../core/aws-env.js";
import { usageError } from "../../core/errors.js";
import { classifyPrincipal, permissionSetInput, type PrincipalInput } from "../../core/principal.js";
import type { ClusterAccess, ClusterUpdates } from "../../ports/access-entry-store.js";
import type { AwsAuthStore } from "../../ports/access.js";
import { grant, revoke, type AccessChangeOutput, type AccessDeps, type Backend, type UsernameTemplate } from "../../usecases/access-grant.js";

export interface AccessArgs {
  cluster: string;
  region?: string | undefined;
  profile?: string | undefined;
  endpointUrl?: string | undefined;
  kubeconfig?: string | undefined;
  context?: string | undefined;
  output?: "text" | "json" | undefined;
  debug?: boolean | undefined;
  lookupRole?: string | undefined;
}

export interface PrincipalArgs {
  principal?: string | undefined;
  me?: boolean | undefined;
  permissionSet?: string | undefined;
  account?: string[] | undefined;
  allAccounts?: boolean | undefined;
  instanceArn?: string | undefined;
}

export interface GrantArgs extends AccessArgs, PrincipalArgs {
  group?: string[] | undefined;
  policy?: string | undefined;
  namespace?: string[] | undefined;
  username?: string | undefined;
  usernameTemplate?: UsernameTemplate | undefined;
  backend?: Backend | undefined;
  dryRun?: boolean | undefined;
  force?: boolean | undefined;
}

export interface RevokeArgs extends AccessArgs, PrincipalArgs {
  group?: string[] | undefined;
  policy?: string | undefined;
  backend?: Backend | undefined;
  force?: boolean | undefined;
  dryRun?: boolean | undefined;
}

/** Exactly one of --principal, --me, --permission-set. */
export function principalInputOf(a: PrincipalArgs): PrincipalInput {
  const given = [a.principal !== undefined && "--principal", a.me && "--me", a.permissionSet !== undefined && "--permission-set"].filter(Boolean);
  if (given.length !== 1) {
    throw usageError(given.length ? `give one of ${given.join(", ")}, not several` : "name who: --principal ARN|NAME, --me, or --permission-set NAME --account ID", "e.g. --principal arn:aws:iam::111122223333:role/dev");
  }
  if (a.permissionSet === undefined && (a.account?.length || a.allAccounts || a.instanceArn)) {
    throw usageError("--account, --all-accounts and --instance-arn go with --permission-set", "add --permission-set NAME, or drop them");
  }
  if (a.permissionSet !== undefined) {
    if (!!a.account?.length === !!a.allAccounts) throw usageError(`--permission-set ${a.permissionSet} needs --account ID (repeatable) or --all-accounts`, "name the accounts whose provisioned role to grant");
    return permissionSetInput(a.permissionSet, a.allAccounts ? "all" : a.account!, a.instanceArn);
  }
  return a.me ? { kind: "me" } : classifyPrincipal(a.principal!);
}

/**
 * The cluster's kube-system/aws-auth: --context (which must point at this cluster: never edit
 * another cluster's aws-auth), else the kubeconfig context whose server is the cluster's endpoint,
 * else the endpoint itself with the caller's AWS credentials (compose.ts awsAuthStore).
 */
export function awsAuthConnector(a: Pick<AccessArgs, "kubeconfig" | "context">, env: NodeJS.ProcessEnv, ctx: AwsContext): (cluster: ClusterAccess) => Promise<AwsAuthStore> {
  return async (cluster) => {
    const { awsAuthStore } = await import("../../compose.js");
    return awsAuthStore({ kubeconfig: a.kubeconfig, context: a.context, env, cluster, ctx });
  };
}

/** What every access command needs: the cluster's access-entry API, IAM/SSO, the caller, its aws-auth. */
export async function accessDeps(a: AccessArgs, env: NodeJS.ProcessEnv): Promise<{ deps: AccessDeps; ctx: AwsContext; updates: ClusterUpdates }> {
  const eksEndpoint = a.endpointUrl !== undefined ? checkedEndpoint(a.endpointUrl, "--endpoint-url", "eks") : endpointOverride("eks", env);
  const ctx = await awsContext({ profile: a.profile, region: a.region, env, debug: a.debug });
  if (!ctx.region) throw usageError("no AWS region for the cluster", "pass --region, or set AWS_REGION or the profile's region");
  const [{ eksAccessEntries }, { getCallerIdentity }] = await Promise.all([import("../../adapters/eks-access-entry-store.js"), import("../../adapters/sts.js")]);
  const entries = await eksAccessEntries({ clusterName: a.cluster, region: ctx.region, credentials: ctx.credentials, endpoint: eksEndpoint });
  const directory = await principalDirectory(ctx, env, a.lookupRole ? { lookupRoleName: a.lookupRole } : {});
  let caller: ReturnType<AccessDeps["caller"]> | undefined;
  return {
    ctx,
    updates: entries,
    deps: {
      entries,
      directory,
      caller: () => (caller ??= getCallerIdentity({ region: ctx.region, credentials: ctx.credentials, env })),
      awsAuth: awsAuthConnector(a, env, ctx),
    },
  };
}

/** What an aws-auth write did: its diff, that the ConfigMap was created, or where the previous version was backed up (and how to bring it back). */
export function awsAuthWriteLines(w: AccessChangeOutput["awsAuth"], cluster: string, region: string): string[] {
  const lines: string[] = [];
  if (w?.diff) lines.push("", w.diff.trimEnd());
  if (w?.created) lines.push("kube-system/aws-auth did not exist: created it (no previous version to back up)");
  if (w?.backupPath) lines.push(`aws-auth backup: ${w.backupPath} (restore: eks-access aws-auth restore --cluster ${cluster} --region ${region} --backup ${w.backupPath})`);
  return lines;
}

export function renderChange(o: AccessChangeOutput, verb: "grant" | "revoke"): string {
  const lines: string[] = [];
  const counted = o.changes.reduce((n, c) => n + c.steps.length, 0);
  for (const c of o.changes) {
    lines.push(`${c.principal}${c.from ? `  (${c.from})` : ""}  [${c.backend === "aws-auth" ? "aws-auth" : "access entry"}]`);
    for (const s of c.steps) lines.push(`  ${o.dryRun ? "would " : ""}${s.text}`);
    for (const n of c.notes) lines.push(`  = ${n}`);
  }
  lines.push(...awsAuthWriteLines(o.awsAuth, o.cluster, o.region));
  if (o.dryRun) {
    const cmds = o.changes.flatMap((c) => c.steps.flatMap((s) => (s.command ? [s.command] : [])));
    lines.push("", `Dry run: nothing was changed on cluster ${o.cluster}.`);
    if (cmds.length) lines.push("The same with the AWS CLI:", ...cmds.map((c) => `  ${c}`));
  } else {
    lines.push("", counted ? `${verb === "grant" ? "Granted" : "Revoked"} on cluster ${o.cluster} (${o.region}, ${o.mode}): ${counted} change${counted > 1 ? "s" : ""}.` : `Nothing to change on cluster ${o.cluster}: already so.`);
  }
  return lines.join("\n") + "\n";
}

export async function runGrant(a: GrantArgs, env = process.env): Promise<string> {
  const principal = principalInputOf(a);
  const d = await accessDeps(a, env);
  const o = await grant(d.deps, {
    principal,
    groups: a.group ?? [],
    policy: a.policy,
    namespaces: a.namespace ?? [],
    username: a.username,
    usernameTemplate: a.usernameTemplate,
    backend: a.backend ?? "auto",
    dryRun: !!a.dryRun,
    force: !!a.force,
  });
  return a.output === "json" ? `${JSON.stringify(o, null, 2)}\n` : renderChange(o, "grant");
}

export async function runRevoke(a: RevokeArgs, env = process.env): Promise<string> {
  const principal = principalInputOf(a);
  const d = await accessDeps(a, env);
  const o = await revoke(d.deps, { principal, groups: a.group ?? [], policy: a.policy, backend: a.backend ?? "auto", force: !!a.force, dryRun: !!a.dryRun });
  return a.output === "json" ? `${JSON.stringify(o, null, 2)}\n` : renderChange(o, "revoke");
}
