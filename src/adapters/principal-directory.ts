/**
 * PrincipalDirectory over IAM, STS and IAM Identity Center (sso-admin), AWS SDK v3.
 *
 * - ARNs and names are looked up in IAM by name (GetRole / GetUser): the path comes from IAM, and a
 *   path the user spelled out must be the real one. A session ARN becomes its role.
 * - A permission set is found in the Identity Center instance (ListInstances, ListPermissionSets +
 *   DescribePermissionSet by name), its provisioned accounts checked
 *   (ListAccountsForProvisionedPermissionSet), and in each account its AWSReservedSSO_ role is
 *   found under /aws-reserved/sso.amazonaws.com/ (IAM ListRoles with that path prefix).
 * - IAM of another account than the caller's is read with a role assumed there (default
 *   OrganizationAccountAccessRole, the role AWS Organizations creates in member accounts).
 *
 * Every SDK client is imported on first use: building the directory loads none, and only a
 * permission set loads the sso-admin client.
 */
import type { AwsCredentialIdentity } from "@smithy/types";
import type { IAMClient, Role, User } from "@aws-sdk/client-iam";
import type { SSOAdminClient } from "@aws-sdk/client-sso-admin";
import type { STSClient } from "@aws-sdk/client-sts";
import { parseArn, parsePrincipal } from "../core/arn.js";
import type { Env } from "../core/aws-env.js";
import { EksAccessError, usageError } from "../core/errors.js";
import { checkGivenPath, classifyPrincipal, instanceArnOf, provisionedTargets, ssoRoleIn, type PrincipalInput } from "../core/principal.js";
import type { IamPrincipal, PrincipalDirectory, ResolvedPrincipal } from "../ports/access.js";
import type { CallerIdentity } from "../ports/sts.js";
import { awsError, isNoSuchEntity, recordEndpoint, type EndpointRecorder } from "./aws-errors.js";
import { httpClientConfig } from "./http.js";

export const DEFAULT_LOOKUP_ROLE = "OrganizationAccountAccessRole";
const LOOKUP_SESSION = "eks-access-principal-lookup";
const SSO_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/";

export interface PrincipalDirectoryOptions {
  region: string | undefined;
  credentials: AwsCredentialIdentity;
  /** HTTPS_PROXY / NO_PROXY / AWS_CA_BUNDLE for the SDK clients (default process.env) */
  env?: Env | undefined;
  /** endpoint overrides (AWS_ENDPOINT_URL_IAM, _STS, _SSO_ADMIN or AWS_ENDPOINT_URL) */
  endpoints?: { iam?: string | undefined; sts?: string | undefined; ssoAdmin?: string | undefined } | undefined;
  /** the region of the IAM Identity Center instance (default: region) */
  ssoRegion?: string | undefined;
  /** where bare names are looked up: the cluster's account (default: the caller's) */
  homeAccount?: string | undefined;
  /** the role assumed to read IAM of accounts other than the caller's (default OrganizationAccountAccessRole) */
  lookupRoleName?: string | undefined;
}

interface Client<C> {
  client: C;
  reached: EndpointRecorder;
}

type PermissionSetRef = NonNullable<ResolvedPrincipal["permissionSet"]>;

const errorName = (err: unknown): string | undefined => (err as { name?: string } | undefined)?.name;

function fromIam(type: "role" | "user", r: Role | User): IamPrincipal {
  const arn = r.Arn ?? "";
  const parsed = parseArn(arn);
  const name = type === "role" ? (r as Role).RoleName : (r as User).UserName;
  const uniqueId = type === "role" ? (r as Role).RoleId : (r as User).UserId;
  return {
    type,
    arn,
    partition: parsed?.partition ?? "aws",
    account: parsed?.account ?? "",
    name: name ?? "",
    path: r.Path ?? "/",
    uniqueId: uniqueId ?? "",
    createDate: r.CreateDate ? new Date(r.CreateDate).toISOString() : "",
  };
}

export class AwsPrincipalDirectory implements PrincipalDirectory {
  readonly #opts: PrincipalDirectoryOptions;
  readonly #iam = new Map<string, Promise<Client<IAMClient>>>();
  #caller: Promise<CallerIdentity> | undefined;
  #sso: Promise<Client<SSOAdminClient>> | undefined;

  constructor(opts: PrincipalDirectoryOptions) {
    this.#opts = opts;
  }

  async resolve(input: PrincipalInput): Promise<ResolvedPrincipal[]> {
    switch (input.kind) {
      case "arn": {
        const checked = classifyPrincipal(input.value);
        if (checked.kind !== "arn") throw usageError(`${input.value} is not an ARN`, "give it as a name instead");
        return [await this.#fromArn(checked.value)];
      }
      case "name":
        return [await this.#fromName(input.value)];
      case "me":
        return [await this.#fromCaller()];
      case "permission-set":
        return this.#fromPermissionSet(input);
    }
  }

  async lookup(arn: string): Promise<IamPrincipal | undefined> {
    const p = parsePrincipal(arn.trim());
    if (p?.type === "assumed-role") return this.#get(p.account, "role", p.roleName);
    if (p?.type === "role" || p?.type === "user") return this.#get(p.account, p.type, p.name);
    return undefined;
  }

  async #fromArn(arn: string): Promise<ResolvedPrincipal> {
    const p = parsePrincipal(arn)!;
    if (p.type === "assumed-role") {
      const role = await this.#get(p.account, "role", p.roleName);
      if (!role) {
        throw new EksAccessError("not-found", `the role of session ${arn}, ${p.roleName}, does not exist in account ${p.account}`, {
          hint: "it was deleted or renamed: grant the role that exists now (aws iam list-roles)",
        });
      }
      return { ...role, from: `session ${arn} → role ${role.arn}` };
    }
    if (p.type !== "role" && p.type !== "user") throw usageError(`${arn} is not an IAM role or user ARN`, "give a role or user ARN");
    const found = await this.#get(p.account, p.type, p.name);
    if (!found) {
      throw new EksAccessError("not-found", `no IAM ${p.type} named ${p.name} in account ${p.account} (${arn})`, {
        hint: `check the ARN (aws iam get-${p.type} --${p.type}-name ${p.name})`,
      });
    }
    checkGivenPath(arn, found);
    return { ...found, from: found.arn === arn ? `${p.type} ${arn}` : `${arn} → ${p.type} ${found.arn} (path from IAM)` };
  }

  async #fromName(name: string): Promise<ResolvedPrincipal> {
    const account = this.#opts.homeAccount ?? (await this.#callerIdentity()).account;
    const [role, user] = await Promise.all([this.#get(account, "role", name), this.#get(account, "user", name)]);
    if (role && user) {
      throw usageError(`both an IAM role and an IAM user are named ${name} in account ${account}`, `give the ARN: --principal ${role.arn} or --principal ${user.arn}`);
    }
    const found = role ?? user;
    if (!found) {
      throw new EksAccessError("not-found", `no IAM role or user named ${name} in account ${account}`, {
        hint: "check the name (aws iam get-role --role-name NAME) or give the ARN; an IAM Identity Center user or group is not an IAM principal: use --permission-set NAME --account ID",
      });
    }
    return { ...found, from: `name ${name} → ${found.type} ${found.arn}` };
  }

  async #fromCaller(): Promise<ResolvedPrincipal> {
    const id = await this.#callerIdentity();
    let checked: PrincipalInput;
    try {
      checked = classifyPrincipal(id.arn);
    } catch (err) {
      if (EksAccessError.is(err)) throw new EksAccessError(err.kind, `--me: the caller ${err.message}`, { ...(err.hint ? { hint: err.hint } : {}) });
      throw err;
    }
    if (checked.kind !== "arn") throw new EksAccessError("internal", `GetCallerIdentity answered ${id.arn}, which is not an ARN`);
    const found = await this.#fromArn(checked.value);
    return { ...found, from: found.arn === id.arn ? `caller ${id.arn}` : `caller ${id.arn} → ${found.type} ${found.arn}` };
  }

  async #fromPermissionSet(input: Extract<PrincipalInput, { kind: "permission-set" }>): Promise<ResolvedPrincipal[]> {
    const sso = await this.#ssoClient();
    const ps = await this.#permissionSet(sso, input);
    const targets = provisionedTargets(ps.name, input.accounts, await this.#provisionedAccounts(sso, ps));
    return Promise.all(
      targets.map(async (account) => {
        const role = ssoRoleIn(ps.name, account, await this.ssoRoles(account));
        return { ...role, from: `permission set ${ps.name} in ${account} → role ${role.arn}`, permissionSet: ps };
      }),
    );
  }

  async #permissionSet(sso: Client<SSOAdminClient>, input: Extract<PrincipalInput, { kind: "permission-set" }>): Promise<PermissionSetRef> {
    const { DescribePermissionSetCommand, ListPermissionSetsCommand } = await import("@aws-sdk/client-sso-admin");
    const describe = async (instanceArn: string, arn: string): Promise<string | undefined> => {
      try {
        return (await sso.client.send(new DescribePermissionSetCommand({ InstanceArn: instanceArn, PermissionSetArn: arn }))).PermissionSet?.Name;
      } catch (err) {
        if (errorName(err) === "ResourceNotFoundException") return undefined;
        throw awsError(err, `sso-admin:DescribePermissionSet ${arn} failed`, "check your credentials and their sso:DescribePermissionSet permission", sso.reached.url);
      }
    };
    const byArn = instanceArnOf(input.nameOrArn);
    if (byArn !== undefined) {
      const instanceArn = input.instanceArn ?? byArn;
      const name = await describe(instanceArn, input.nameOrArn);
      if (name === undefined) throw new EksAccessError("not-found", `permission set ${input.nameOrArn} does not exist in ${instanceArn}`, { hint: `list them with: aws sso-admin list-permission-sets --instance-arn ${instanceArn}` });
      return { name, arn: input.nameOrArn, instanceArn };
    }
    const instanceArn = input.instanceArn ?? (await this.#instance(sso));
    const arns: string[] = [];
    let token: string | undefined;
    do {
      let out;
      try {
        out = await sso.client.send(new ListPermissionSetsCommand({ InstanceArn: instanceArn, ...(token ? { NextToken: token } : {}) }));
      } catch (err) {
        throw awsError(err, `sso-admin:ListPermissionSets ${instanceArn} failed`, "check your credentials and their sso:ListPermissionSets permission", sso.reached.url);
      }
      arns.push(...(out.PermissionSets ?? []));
      token = out.NextToken || undefined;
    } while (token);
    const names: string[] = [];
    for (let i = 0; i < arns.length; i += 8) {
      const batch = arns.slice(i, i + 8);
      const found = await Promise.all(batch.map((arn) => describe(instanceArn, arn)));
      const at = found.indexOf(input.nameOrArn);
      if (at >= 0) return { name: input.nameOrArn, arn: batch[at]!, instanceArn };
      names.push(...found.filter((n): n is string => n !== undefined));
    }
    const near = names.filter((n) => n.toLowerCase() === input.nameOrArn.toLowerCase());
    throw new EksAccessError("not-found", `no permission set named ${input.nameOrArn} in IAM Identity Center instance ${instanceArn}`, {
      hint: near.length > 0 ? `did you mean ${near.join(" or ")}? (names are case-sensitive)` : `see them in the IAM Identity Center console, or: aws sso-admin list-permission-sets --instance-arn ${instanceArn}`,
    });
  }

  async #instance(sso: Client<SSOAdminClient>): Promise<string> {
    const { ListInstancesCommand } = await import("@aws-sdk/client-sso-admin");
    const arns: string[] = [];
    let token: string | undefined;
    do {
      let out;
      try {
        out = await sso.client.send(new ListInstancesCommand({ ...(token ? { NextToken: token } : {}) }));
      } catch (err) {
        throw awsError(err, "sso-admin:ListInstances failed", "check your credentials and their sso:ListInstances permission", sso.reached.url);
      }
      for (const i of out.Instances ?? []) if (i.InstanceArn) arns.push(i.InstanceArn);
      token = out.NextToken || undefined;
    } while (token);
    if (arns.length === 1) return arns[0]!;
    if (arns.length === 0) {
      throw new EksAccessError("not-found", `no IAM Identity Center instance is visible to these credentials in ${this.#ssoRegion()}`, {
        hint: "Identity Center lives in one region and is administered from the organization's management account or its delegated administrator: use those credentials and that region",
      });
    }
    throw usageError(`these credentials see ${arns.length} IAM Identity Center instances (${arns.join(", ")})`, "pick one with --instance-arn ARN");
  }

  async #provisionedAccounts(sso: Client<SSOAdminClient>, ps: PermissionSetRef): Promise<string[]> {
    const { ListAccountsForProvisionedPermissionSetCommand } = await import("@aws-sdk/client-sso-admin");
    const accounts: string[] = [];
    let token: string | undefined;
    do {
      let out;
      try {
        out = await sso.client.send(new ListAccountsForProvisionedPermissionSetCommand({ InstanceArn: ps.instanceArn, PermissionSetArn: ps.arn, ...(token ? { NextToken: token } : {}) }));
      } catch (err) {
        throw awsError(err, `sso-admin:ListAccountsForProvisionedPermissionSet ${ps.name} failed`, "check your credentials and their sso:ListAccountsForProvisionedPermissionSet permission", sso.reached.url);
      }
      accounts.push(...(out.AccountIds ?? []));
      token = out.NextToken || undefined;
    } while (token);
    return [...new Set(accounts)];
  }

  /** The roles under /aws-reserved/sso.amazonaws.com/ of an account. */
  async ssoRoles(account: string): Promise<IamPrincipal[]> {
    const iam = await this.#iamFor(account);
    const { ListRolesCommand } = await import("@aws-sdk/client-iam");
    const roles: IamPrincipal[] = [];
    let marker: string | undefined;
    do {
      let out;
      try {
        out = await iam.client.send(new ListRolesCommand({ PathPrefix: SSO_ROLE_PATH, ...(marker ? { Marker: marker } : {}) }));
      } catch (err) {
        throw awsError(err, `iam:ListRoles in ${account} failed`, "check the credentials used there and their iam:ListRoles permission", iam.reached.url);
      }
      roles.push(...(out.Roles ?? []).map((r) => fromIam("role", r)));
      marker = out.IsTruncated ? out.Marker : undefined;
    } while (marker);
    return roles;
  }

  /** The role or user of that name in the account, as IAM has it now, or undefined. */
  async #get(account: string, type: "role" | "user", name: string): Promise<IamPrincipal | undefined> {
    const iam = await this.#iamFor(account);
    const { GetRoleCommand, GetUserCommand } = await import("@aws-sdk/client-iam");
    try {
      if (type === "role") {
        const role = (await iam.client.send(new GetRoleCommand({ RoleName: name }))).Role;
        return role ? fromIam("role", role) : undefined;
      }
      const user = (await iam.client.send(new GetUserCommand({ UserName: name }))).User;
      return user ? fromIam("user", user) : undefined;
    } catch (err) {
      if (isNoSuchEntity(err)) return undefined;
      const op = type === "role" ? "iam:GetRole" : "iam:GetUser";
      throw awsError(err, `${op} ${name} in ${account} failed`, `check the credentials used there and their ${op} permission`, iam.reached.url);
    }
  }

  #ssoRegion(): string {
    return this.#opts.ssoRegion || this.#opts.region || "us-east-1";
  }

  #clientConfig(): ReturnType<typeof httpClientConfig> {
    return httpClientConfig(this.#opts.env ?? process.env);
  }

  #callerIdentity(): Promise<CallerIdentity> {
    return (this.#caller ??= (async () => {
      const { GetCallerIdentityCommand } = await import("@aws-sdk/client-sts");
      const sts = await this.#stsClient();
      try {
        const out = await sts.client.send(new GetCallerIdentityCommand({}));
        return { arn: out.Arn ?? "", account: out.Account ?? "", userId: out.UserId ?? "" };
      } catch (err) {
        throw awsError(err, "sts:GetCallerIdentity failed", "check your credentials and region", sts.reached.url);
      }
    })());
  }

  async #stsClient(): Promise<Client<STSClient>> {
    const { STSClient } = await import("@aws-sdk/client-sts");
    const endpoint = this.#opts.endpoints?.sts;
    const client = new STSClient({ region: this.#opts.region || "us-east-1", credentials: this.#opts.credentials, ...(endpoint ? { endpoint } : {}), ...(await this.#clientConfig()) });
    return { client, reached: recordEndpoint(client) };
  }

  #ssoClient(): Promise<Client<SSOAdminClient>> {
    return (this.#sso ??= (async () => {
      const { SSOAdminClient } = await import("@aws-sdk/client-sso-admin");
      const endpoint = this.#opts.endpoints?.ssoAdmin;
      const client = new SSOAdminClient({ region: this.#ssoRegion(), credentials: this.#opts.credentials, ...(endpoint ? { endpoint } : {}), ...(await this.#clientConfig()) });
      return { client, reached: recordEndpoint(client) };
    })());
  }

  /** IAM of an account: the caller's with the given credentials, any other through the lookup role. */
  #iamFor(account: string): Promise<Client<IAMClient>> {
    let client = this.#iam.get(account);
    if (!client) {
      client = (async () => {
        const caller = await this.#callerIdentity();
        const credentials = account === caller.account ? this.#opts.credentials : await this.#assumeLookupRole(account, caller);
        const { IAMClient } = await import("@aws-sdk/client-iam");
        const endpoint = this.#opts.endpoints?.iam;
        const iam = new IAMClient({ region: this.#opts.region || "us-east-1", credentials, ...(endpoint ? { endpoint } : {}), ...(await this.#clientConfig()) });
        return { client: iam, reached: recordEndpoint(iam) };
      })();
      this.#iam.set(account, client);
    }
    return client;
  }

  async #assumeLookupRole(account: string, caller: CallerIdentity): Promise<AwsCredentialIdentity> {
    const roleName = this.#opts.lookupRoleName || DEFAULT_LOOKUP_ROLE;
    const roleArn = `arn:${parseArn(caller.arn)?.partition ?? "aws"}:iam::${account}:role/${roleName}`;
    const { AssumeRoleCommand } = await import("@aws-sdk/client-sts");
    const sts = await this.#stsClient();
    try {
      const c = (await sts.client.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: LOOKUP_SESSION }))).Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error("AssumeRole returned no credentials");
      return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}) };
    } catch (err) {
      throw awsError(
        err,
        `could not read IAM of account ${account}: assuming ${roleArn} failed`,
        `use credentials of account ${account}, or name a role there that trusts you and may read IAM (--lookup-role NAME; default ${DEFAULT_LOOKUP_ROLE})`,
        sts.reached.url,
      );
    }
  }
}
