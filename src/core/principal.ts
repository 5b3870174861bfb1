/**
 * Principals (pure): what the user typed for `--principal` / `--permission-set`, refused with a
 * one-line fix when it can never be mapped, and the form each access system stores.
 *
 * What each system stores (EKS user guide, "Create access entries" and "Set a custom username for
 * EKS access entries"; aws-iam-authenticator pkg/arn Canonicalize):
 *  - aws-auth compares the GetCallerIdentity ARN canonicalised: a role session becomes
 *    `arn:<p>:iam::<acct>:role/<name>` (the path is not in a session ARN, so a mapping with a path
 *    never matches); a user's ARN is kept as STS returns it, path included. So mapRoles gets the
 *    role ARN without its path, mapUsers the user ARN with its path.
 *  - access entries take the principal's ARN as IAM has it; a role ARN "can include a path" and
 *    IAM Identity Center roles (path /aws-reserved/sso.amazonaws.com/[region/]) are refused without
 *    it ("invalid principal"), so the full ARN is written. EKS stores the principal's unique id with
 *    the entry. Default username: a user's ARN; for a role
 *    `arn:<p>:sts::<acct>:assumed-role/<name>/{{SessionName}}`, path removed.
 */
import { EksAccessError, usageError } from "./errors.js";
import { isSsoRolePath, parseArn, parsePrincipal, ssoRole } from "./arn.js";

/** How the user named a principal on the command line (`--principal`, `--me`, `--permission-set`). */
export type PrincipalInput =
  /** a role or user ARN (with or without a path) or an STS assumed-role session ARN */
  | { kind: "arn"; value: string }
  /** a bare role or user name, looked up in IAM of the cluster's account (role first, then user) */
  | { kind: "name"; value: string }
  /** the caller (GetCallerIdentity; a session becomes its role) */
  | { kind: "me" }
  /**
   * an IAM Identity Center permission set (name or ARN), in the listed accounts or every provisioned
   * one; `instanceArn` picks the Identity Center instance when the credentials see several
   */
  | { kind: "permission-set"; nameOrArn: string; accounts: string[] | "all"; instanceArn?: string | undefined };

/** The parts of an IAM role or user the backend forms are made from. */
export interface PrincipalRef {
  type: "role" | "user";
  /** the full ARN IAM returns, path included */
  arn: string;
  partition: string;
  account: string;
  name: string;
}

const IAM_NAME = /^[\w+=,.@-]{1,64}$/;
const ACCOUNT = /^\d{12}$/;
const PERMISSION_SET_NAME = /^[\w+=,.@-]{1,32}$/;
/** Identity store user and group ids: a UUID, optionally prefixed with 10 hex digits and a dash. */
const IDENTITY_STORE_ID = /^(?:[0-9a-f]{10}-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** arn:<p>:sso:::permissionSet/ssoins-…/ps-… (and moto's arn:<p>:sso:::instance/ssoins-…/ps-…) */
const PERMISSION_SET_ARN = /^arn:(aws[a-z-]*):sso:::(?:permissionSet|instance)\/((?:sso)?ins-[a-zA-Z0-9-.]{16})\/ps-[a-zA-Z0-9-./]{16}$/;
const INSTANCE_ARN = /^arn:aws[a-z-]*:sso:::instance\/(?:sso)?ins-[a-zA-Z0-9-.]{16}$/;

const PRINCIPAL_FORMS = "give a role or user ARN (arn:aws:iam::ACCOUNT:role/NAME), a session ARN (aws sts get-caller-identity), or a role or user name";
const USE_PERMISSION_SET = "use --permission-set NAME --account ID (or --all-accounts): EKS maps the AWSReservedSSO_ role it provisions in each account";

/**
 * Classifies `--principal` text: an ARN of an IAM role or user (path or not), an assumed-role
 * session ARN, or a role/user name. Anything that can never be an EKS mapping is refused with a
 * usage error naming what to do instead.
 */
export function classifyPrincipal(text: string): PrincipalInput {
  const value = text.trim();
  if (value === "") throw usageError("--principal is empty", PRINCIPAL_FORMS);
  if (value.startsWith("arn:")) return { kind: "arn", value: checkedPrincipalArn(value) };
  if (IDENTITY_STORE_ID.test(value)) {
    throw usageError(`${value} looks like an IAM Identity Center user or group id, which EKS cannot map`, USE_PERMISSION_SET);
  }
  if (IAM_NAME.test(value)) return { kind: "name", value };
  throw usageError(`--principal ${JSON.stringify(value)} is neither an ARN nor an IAM role or user name`, PRINCIPAL_FORMS);
}

function checkedPrincipalArn(value: string): string {
  if (PERMISSION_SET_ARN.test(value)) throw usageError(`${value} is an IAM Identity Center permission set, not a role`, USE_PERMISSION_SET);
  const arn = parseArn(value);
  if (!arn) throw usageError(`${value} is not a valid ARN`, PRINCIPAL_FORMS);
  if (arn.service === "sso" || arn.service === "identitystore") {
    const what = /^(?:[^/]*\/)*user\//.test(arn.resource) ? "user" : /^(?:[^/]*\/)*group\//.test(arn.resource) ? "group" : /^instance\//.test(arn.resource) ? "instance" : "resource";
    throw usageError(`${value} is an IAM Identity Center ${what}, not an IAM role or user`, USE_PERMISSION_SET);
  }
  const p = parsePrincipal(value);
  if (p && !ACCOUNT.test(p.account)) throw usageError(`${value}: "${p.account}" is not a 12-digit account id`, PRINCIPAL_FORMS);
  if (p?.type === "role" || p?.type === "user") {
    if (!IAM_NAME.test(p.name)) throw usageError(`${value}: "${p.name}" is not a valid IAM ${p.type} name`, PRINCIPAL_FORMS);
    return value;
  }
  if (p?.type === "assumed-role") {
    if (!IAM_NAME.test(p.roleName)) throw usageError(`${value}: "${p.roleName}" is not a valid IAM role name`, PRINCIPAL_FORMS);
    return value;
  }
  if (p?.type === "root") throw usageError(`${value} is the root user of account ${p.account}, which EKS cannot map`, "grant an IAM role or user of that account instead");
  if (p?.type === "federated-user") {
    throw usageError(`${value} is an STS federated-user session (GetFederationToken), which neither aws-auth nor access entries can map`, "grant an IAM role (or the IAM user that made the session) instead");
  }
  if (arn.service === "iam" && arn.resource.startsWith("group/")) throw usageError(`${value} is an IAM group: EKS maps roles and users, not groups`, "grant a role its members assume, or each user");
  if (arn.service === "iam" && arn.resource.startsWith("instance-profile/")) throw usageError(`${value} is an instance profile, not a role`, "grant the role the instance profile contains (aws iam get-instance-profile)");
  throw usageError(`${value} is not an IAM role or user ARN`, PRINCIPAL_FORMS);
}

/**
 * `--permission-set NAME|ARN` with `--account ID …` or every provisioned account, checked offline:
 * the name or ARN form, 12-digit account ids (duplicates dropped), the instance ARN's form.
 */
export function permissionSetInput(nameOrArn: string, accounts: readonly string[] | "all", instanceArn?: string): PrincipalInput {
  const value = nameOrArn.trim();
  if (value.startsWith("arn:")) {
    if (!PERMISSION_SET_ARN.test(value)) throw usageError(`--permission-set ${value} is not a permission-set ARN`, "give its name or its ARN (arn:aws:sso:::permissionSet/ssoins-…/ps-…)");
  } else if (!PERMISSION_SET_NAME.test(value)) {
    throw usageError(`--permission-set ${JSON.stringify(value)} is not a permission-set name (1-32 of letters, digits and +=,.@_-)`, "give its name as IAM Identity Center shows it, or its ARN");
  }
  if (instanceArn !== undefined && !INSTANCE_ARN.test(instanceArn)) throw usageError(`--instance-arn ${instanceArn} is not an IAM Identity Center instance ARN`, "list them with: aws sso-admin list-instances");
  if (accounts !== "all") {
    if (accounts.length === 0) throw usageError(`--permission-set ${value} needs the accounts to grant in`, "add --account ID (repeatable) or --all-accounts");
    const bad = accounts.find((a) => !ACCOUNT.test(a));
    if (bad !== undefined) throw usageError(`--account ${JSON.stringify(bad)} is not a 12-digit account id`, "give the account id, e.g. --account 111122223333");
  }
  return { kind: "permission-set", nameOrArn: value, accounts: accounts === "all" ? "all" : [...new Set(accounts)], ...(instanceArn !== undefined ? { instanceArn } : {}) };
}

/** The Identity Center instance a permission-set ARN belongs to, or undefined when it is not one. */
export function instanceArnOf(permissionSetArn: string): string | undefined {
  const m = PERMISSION_SET_ARN.exec(permissionSetArn);
  return m ? `arn:${m[1]}:sso:::instance/${m[2]}` : undefined;
}

/** The path an IAM role or user ARN spells out ("/a/b/"), or undefined when it has none. */
export function arnPath(arn: string): string | undefined {
  const p = parsePrincipal(arn);
  if (p?.type !== "role" && p?.type !== "user") return undefined;
  const resource = parseArn(arn)!.resource;
  return resource.indexOf("/") === resource.lastIndexOf("/") ? undefined : p.path;
}

/** Is this role the one IAM Identity Center provisions for `permissionSet` (name + reserved path)? */
export function isSsoRoleOf(role: { name: string; path: string }, permissionSet: string): boolean {
  return ssoRole(role.name)?.permissionSet === permissionSet && isSsoRolePath(role.path);
}

/** aws-auth's key for the principal: mapRoles or mapUsers. */
export const awsAuthKey = (p: PrincipalRef): "mapRoles" | "mapUsers" => (p.type === "role" ? "mapRoles" : "mapUsers");

/** The ARN to write in aws-auth: a role without its path, a user with its path (as the authenticator compares them). */
export function awsAuthArn(p: PrincipalRef): string {
  return p.type === "role" ? `arn:${p.partition}:iam::${p.account}:role/${p.name}` : p.arn;
}

/** The principalArn to give CreateAccessEntry: the ARN as IAM has it, path included. */
export const accessEntryArn = (p: PrincipalRef): string => p.arn;

/** The username EKS gives an access entry created without one. */
export function defaultAccessEntryUsername(p: PrincipalRef): string {
  return p.type === "role" ? `arn:${p.partition}:sts::${p.account}:assumed-role/${p.name}/{{SessionName}}` : p.arn;
}

/**
 * The accounts a permission-set grant targets: every provisioned one for "all", else the requested
 * ones, each of which must be provisioned (a role exists only where the permission set is).
 */
export function provisionedTargets(permissionSet: string, requested: readonly string[] | "all", provisioned: readonly string[]): string[] {
  if (requested === "all") {
    if (provisioned.length === 0) throw new EksAccessError("not-found", `permission set ${permissionSet} is not provisioned in any account`, { hint: "assign it to a user or group in an account first" });
    return [...provisioned].sort();
  }
  const missing = requested.find((a) => !provisioned.includes(a));
  if (missing !== undefined) throw new EksAccessError("not-found", `permission set ${permissionSet} is not provisioned in ${missing}`, { hint: "assign it to a user or group in that account first" });
  return [...requested];
}

/** Throws when an ARN that spells a path names a principal whose real path differs. */
export function checkGivenPath(given: string, actual: PrincipalRef & { path: string }): void {
  const path = arnPath(given);
  if (path === undefined || path === actual.path) return;
  throw new EksAccessError("not-found", `${given} does not exist: IAM has that ${actual.type} as ${actual.arn}`, { hint: `use ${actual.arn} (or just the name ${actual.name})` });
}

/** The one role IAM Identity Center provisioned for `permissionSet` among an account's roles. */
export function ssoRoleIn<R extends { name: string; path: string }>(permissionSet: string, account: string, roles: readonly R[]): R {
  const found = roles.filter((r) => isSsoRoleOf(r, permissionSet));
  if (found.length === 1) return found[0]!;
  if (found.length === 0) {
    throw new EksAccessError("not-found", `permission set ${permissionSet} is provisioned in ${account} but IAM there has no AWSReservedSSO_${permissionSet}_… role under /aws-reserved/sso.amazonaws.com/`, {
      hint: "assign the permission set to a user or group in that account (IAM Identity Center creates the role with the assignment)",
    });
  }
  throw new EksAccessError("not-found", `account ${account} has several roles for permission set ${permissionSet}: ${found.map((r) => r.name).join(", ")}`, {
    hint: "give the role's ARN with --principal",
  });
}

/**
 * Whether an access entry still reaches its principal as IAM has it now. EKS binds an entry to the
 * unique id the principal had when the entry was made and never shows that id; IAM shows today's
 * principal. So an entry matches no one when its principal is gone, when IAM's principal of that
 * name is now another ARN (another path), or when it was created after the entry (deleted and
 * re-created: a new unique id). Dates are ISO 8601 (IAM CreateDate, the entry's createdAt).
 */
export type EntryBinding = { bound: true } | { bound: false; why: "missing" | "other-principal" | "recreated"; message: string };

export function entryBinding(entry: { principalArn: string; createdAt: string }, now: { type: "role" | "user"; arn: string; createDate: string } | undefined): EntryBinding {
  const type = parsePrincipal(entry.principalArn)?.type === "user" ? "user" : "role";
  if (now === undefined) return { bound: false, why: "missing", message: `the ${type} no longer exists in IAM` };
  if (now.arn !== entry.principalArn) return { bound: false, why: "other-principal", message: `IAM's ${now.type} of that name is now ${now.arn}, another principal` };
  if (Date.parse(now.createDate) > Date.parse(entry.createdAt)) {
    return { bound: false, why: "recreated", message: `the ${now.type} was re-created (IAM CreateDate ${now.createDate}) after the entry was made (${entry.createdAt}), and EKS keeps the old unique id` };
  }
  return { bound: true };
}
