/**
 * Username and group templates, as aws-iam-authenticator v0.6.13 renders them
 * (pkg/server/server.go, handler.renderTemplate, called by renderTemplates for the username and for
 * every group of the mapping that matched):
 *   1. `{{EC2PrivateDNSName}}`, only when the template contains it: the session name must be an EC2
 *      instance id (`instanceIDPattern` = ^i-(\w{8}|\w{17})$), else the request is refused
 *      ("SessionName did not contain an instance id"); the name comes from ec2:DescribeInstances;
 *   2. `{{AccountID}}` → the account id;
 *   3. `{{SessionName}}` → the session name with every `@` replaced by `-`;
 *   4. `{{SessionNameRaw}}` → the session name as it is;
 *   5. `{{AccessKeyID}}` → the access key id that signed the token.
 * Each is a plain, case-sensitive, replace-all of the exact text: anything else between braces
 * (`{{sessionName}}`, `{{ SessionName }}`, `{SessionName}`) is left in the username as typed.
 * Pure.
 */

/** Every placeholder the authenticator replaces, in the order it replaces them. */
export const TEMPLATE_PLACEHOLDERS = ["{{EC2PrivateDNSName}}", "{{AccountID}}", "{{SessionName}}", "{{SessionNameRaw}}", "{{AccessKeyID}}"] as const;
export type Placeholder = (typeof TEMPLATE_PLACEHOLDERS)[number];

/**
 * What EKS access entries accept in a username (EKS User Guide, "Set a custom username for EKS
 * access entries"): `{{SessionName}}` and `{{SessionNameRaw}}` only, each with a colon somewhere
 * before it; no username may start with system:, eks:, aws:, amazon: or iam:. Groups
 * (kubernetesGroups) take no placeholder and may not start with system:. For migration: an aws-auth
 * username using anything else (`{{AccountID}}`, `{{AccessKeyID}}`, `{{EC2PrivateDNSName}}` outside
 * the node types EKS fills itself) has no access-entry equivalent.
 */
export const ACCESS_ENTRY_TEMPLATES = {
  usernamePlaceholders: ["{{SessionName}}", "{{SessionNameRaw}}"] as readonly Placeholder[],
  /** a colon must come before each of these in the username */
  needColonBefore: ["{{SessionName}}", "{{SessionNameRaw}}"] as readonly Placeholder[],
  reservedUsernamePrefixes: ["system:", "eks:", "aws:", "amazon:", "iam:"] as readonly string[],
  reservedGroupPrefixes: ["system:"] as readonly string[],
  groupPlaceholders: [] as readonly Placeholder[],
} as const;

const KNOWN = new Set<string>(TEMPLATE_PLACEHOLDERS);
const BRACED = /\{\{[^{}]*\}\}/g;
/** a known name in a form the authenticator does not replace: single braces, spaces, other case */
const NEAR_MISS = /\{+\s*(ec2privatednsname|accountid|sessionnameraw|sessionname|accesskeyid)\s*\}+/gi;

/** The `{{…}}` spans of a template, in order, known or not. */
export function placeholdersIn(template: string): string[] {
  return template.match(BRACED) ?? [];
}

/**
 * Why a username or group template would not render as meant, in one line, or undefined when it
 * is fine: an unknown `{{…}}`, or a known name the authenticator would not recognise.
 */
export function templateProblem(template: string): string | undefined {
  const unknown = placeholdersIn(template).filter((p) => !KNOWN.has(p));
  const near = [...template.matchAll(NEAR_MISS)].map((m) => m[0]).filter((m) => !KNOWN.has(m));
  const bad = [...new Set([...unknown, ...near])];
  if (bad.length === 0) return undefined;
  const suggestion = bad
    .map((b) => {
      const name = /[a-z0-9]+/i.exec(b)?.[0]?.toLowerCase();
      const known = TEMPLATE_PLACEHOLDERS.find((p) => p.slice(2, -2).toLowerCase() === name);
      return known ? ` (${b} → ${known})` : "";
    })
    .join("");
  return `unknown template ${bad.join(", ")} in "${template}"${suggestion}: the authenticator replaces only ${allowedList()}, exactly as written (case-sensitive, no spaces), and leaves anything else as typed`;
}

const allowedList = (): string => TEMPLATE_PLACEHOLDERS.join(", ");

/** What the authenticator knows of the caller when it renders (token.Identity + the EC2 look-up). */
export interface TemplateIdentity {
  accountId: string;
  /** the part of GetCallerIdentity's UserId after the colon (assumed roles); "" for users */
  sessionName: string;
  accessKeyId: string;
  /** what ec2:DescribeInstances answers for the instance named by sessionName, when known */
  ec2PrivateDnsName?: string | undefined;
}

export type Rendered = { ok: true; value: string } | { ok: false; error: string };

const INSTANCE_ID = /^i-(\w{8}|\w{17})$/;

/** Renders one template exactly as handler.renderTemplate does (see the top of this file). */
export function renderTemplate(template: string, id: TemplateIdentity): Rendered {
  let out = template;
  if (out.includes("{{EC2PrivateDNSName}}")) {
    if (!INSTANCE_ID.test(id.sessionName)) return { ok: false, error: "SessionName did not contain an instance id" };
    if (id.ec2PrivateDnsName === undefined) {
      return { ok: false, error: `{{EC2PrivateDNSName}} needs ec2:DescribeInstances of ${id.sessionName}, which this offline resolution cannot do` };
    }
    out = out.split("{{EC2PrivateDNSName}}").join(id.ec2PrivateDnsName);
  }
  out = out.split("{{AccountID}}").join(id.accountId);
  out = out.split("{{SessionName}}").join(id.sessionName.split("@").join("-"));
  out = out.split("{{SessionNameRaw}}").join(id.sessionName);
  out = out.split("{{AccessKeyID}}").join(id.accessKeyId);
  return { ok: true, value: out };
}

/**
 * The EC2 instance id whose ec2:DescribeInstances answer the templates need ({{EC2PrivateDNSName}}
 * with an instance id as session name and no name known yet), or undefined.
 */
export function ec2LookupNeeded(templates: readonly string[], id: TemplateIdentity): string | undefined {
  if (id.ec2PrivateDnsName !== undefined || !INSTANCE_ID.test(id.sessionName)) return undefined;
  return templates.some((t) => t.includes("{{EC2PrivateDNSName}}")) ? id.sessionName : undefined;
}

/**
 * Why a username cannot be an access entry's (EKS's CreateAccessEntry rules above), in one line,
 * or undefined when EKS accepts it.
 */
export function accessEntryUsernameProblem(username: string): string | undefined {
  const t = ACCESS_ENTRY_TEMPLATES;
  const reserved = t.reservedUsernamePrefixes.find((p) => username.startsWith(p));
  if (reserved) return `username ${username} starts with ${reserved}: access-entry usernames can't start with ${t.reservedUsernamePrefixes.join(", ")}`;
  const other = placeholdersIn(username).filter((p) => !t.usernamePlaceholders.includes(p as Placeholder));
  if (other.length > 0) return `username ${username} uses ${other.join(", ")}: access entries accept only ${t.usernamePlaceholders.join(" and ")} in a username`;
  for (const p of t.needColonBefore) {
    const at = username.indexOf(p);
    if (at !== -1 && !username.slice(0, at).includes(":")) return `username ${username} needs a colon before ${p} in an access entry (e.g. name:${p})`;
  }
  return undefined;
}

/** Why a group cannot be an access entry's kubernetesGroups value, or undefined. */
export function accessEntryGroupProblem(group: string): string | undefined {
  if (group.startsWith("system:")) return `group ${group} starts with system:: access entries can't name system: groups (EKS fills node and admin groups itself)`;
  if (placeholdersIn(group).length > 0) return `group ${group} uses a template: access entries take no templates in kubernetesGroups`;
  return undefined;
}
