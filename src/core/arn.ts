/**
 * ARN parsing and canonicalisation (pure). Mirrors what the EKS authenticator does with the
 * GetCallerIdentity ARN, and recognises the classic mapping mistakes:
 *  - an STS assumed-role session ARN where the IAM role ARN belongs,
 *  - a role path (notably /aws-reserved/sso.amazonaws.com/[region/]) left in the ARN,
 *  - an IAM Identity Center permission-set ARN instead of the role it provisions.
 */
export interface Arn {
  partition: string;
  service: string;
  region: string;
  account: string;
  resource: string;
}

export function parseArn(input: string): Arn | undefined {
  const parts = input.split(":");
  if (parts.length < 6 || parts[0] !== "arn") return undefined;
  const [, partition, service, region, account] = parts as [string, string, string, string, string];
  if (!partition || !service) return undefined;
  return { partition, service, region, account, resource: parts.slice(5).join(":") };
}

export type Principal =
  | { type: "user"; arn: string; account: string; partition: string; path: string; name: string }
  | { type: "role"; arn: string; account: string; partition: string; path: string; name: string }
  | {
      type: "assumed-role";
      arn: string;
      account: string;
      partition: string;
      roleName: string;
      sessionName: string;
    }
  | { type: "root"; arn: string; account: string; partition: string }
  | { type: "federated-user"; arn: string; account: string; partition: string; name: string };

/** Parses an IAM/STS principal ARN; undefined for anything else. */
export function parsePrincipal(input: string): Principal | undefined {
  const arn = parseArn(input);
  if (!arn) return undefined;
  const { partition, account, resource } = arn;
  if (arn.service === "iam") {
    if (resource === "root") return { type: "root", arn: input, account, partition };
    const m = /^(user|role)(\/(?:.*\/)?)?([^/]+)$/.exec(resource);
    if (!m) return undefined;
    const type = m[1] as "user" | "role";
    return { type, arn: input, account, partition, path: m[2] ?? "/", name: m[3]! };
  }
  if (arn.service === "sts") {
    const assumed = /^assumed-role\/([^/]+)\/(.+)$/.exec(resource);
    if (assumed) {
      return { type: "assumed-role", arn: input, account, partition, roleName: assumed[1]!, sessionName: assumed[2]! };
    }
    const fed = /^federated-user\/(.+)$/.exec(resource);
    if (fed) return { type: "federated-user", arn: input, account, partition, name: fed[1]! };
  }
  return undefined;
}

/**
 * The ARN an authenticator compares mappings against (aws-iam-authenticator's Canonicalize): an
 * assumed-role session becomes `arn:<p>:iam::<acct>:role/<name>` (the role's path is not knowable
 * from the session ARN, so it is absent); IAM user and role ARNs are kept as they are (a user's ARN
 * from GetCallerIdentity carries its path).
 */
export function canonicalArn(input: string): string {
  const p = parsePrincipal(input);
  if (p?.type === "assumed-role") return `arn:${p.partition}:iam::${p.account}:role/${p.roleName}`;
  return input;
}

/** A role ARN as it must be written in aws-auth: path removed (a mapping with a path never matches). */
export function roleArnWithoutPath(input: string): string {
  const p = parsePrincipal(input);
  if (p?.type === "role") return `arn:${p.partition}:iam::${p.account}:role/${p.name}`;
  return input;
}

const SSO_ROLE = /^AWSReservedSSO_(.+)_([0-9a-f]{16})$/;
const SSO_PATH = /^\/aws-reserved\/sso\.amazonaws\.com\/(?:[a-z0-9-]+\/)?$/;

export interface SsoRole {
  permissionSet: string;
  suffix: string;
}

/** Recognises an IAM Identity Center provisioned role name: AWSReservedSSO_<PermissionSet>_<16 hex>. */
export function ssoRole(roleName: string): SsoRole | undefined {
  const m = SSO_ROLE.exec(roleName);
  return m ? { permissionSet: m[1]!, suffix: m[2]! } : undefined;
}

export const isSsoRolePath = (path: string): boolean => SSO_PATH.test(path);

export function isPermissionSetArn(input: string): boolean {
  const arn = parseArn(input);
  return !!arn && arn.service === "sso" && /^permissionSet\//.test(arn.resource);
}

/** The partitions aws-iam-authenticator v0.6.13 knows (aws-sdk-go v1.44 endpoints.DefaultPartitions). */
export const AUTHENTICATOR_PARTITIONS: readonly string[] = ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f"];

/**
 * Whether STS's UserId for this kind of principal is the unique id itself (IAM users, root,
 * federated users) rather than "<unique id>:<session>" (role sessions), as the authenticator splits it.
 */
export const keepsWholeUserId = (type: string | undefined): boolean => type === "user" || type === "root" || type === "federated-user";

export type CanonicalPrincipal = { type: "role" | "user" | "root" | "federated-user" | "assumed-role"; canonical: string } | { error: string };

/**
 * aws-iam-authenticator's arn.Canonicalize (pkg/arn/arn.go): the ARN must parse, be of a known
 * partition and name an IAM role, user or root, or an STS assumed role or federated user; an
 * assumed role becomes `arn:<p>:iam::<acct>:role/<name>` (the segments between `assumed-role/`
 * and the session, joined), everything else stays as given (case included).
 */
export function canonicalizePrincipal(input: string): CanonicalPrincipal {
  const arn = parseArn(input);
  if (!arn || !arn.partition || !arn.service) return { error: `arn '${input}' is invalid` };
  if (!AUTHENTICATOR_PARTITIONS.includes(arn.partition)) return { error: `arn '${input}' does not have a recognized partition` };
  const parts = arn.resource.split("/");
  const kind = parts[0];
  if (arn.service === "sts") {
    if (kind === "federated-user") return { type: "federated-user", canonical: input };
    if (kind === "assumed-role") {
      if (parts.length < 3) return { error: `assumed-role arn '${input}' does not have a role` };
      return { type: "assumed-role", canonical: `arn:${arn.partition}:iam::${arn.account}:role/${parts.slice(1, -1).join("/")}` };
    }
    return { error: `unrecognized resource ${arn.resource} for service sts` };
  }
  if (arn.service === "iam") {
    if (kind === "role" || kind === "user" || kind === "root") return { type: kind === "role" ? "role" : kind === "user" ? "user" : "root", canonical: input };
    return { error: `unrecognized resource ${arn.resource} for service iam` };
  }
  return { error: `service ${arn.service} in arn ${input} is not a valid service for identities` };
}
