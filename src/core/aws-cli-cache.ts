/**
 * The AWS CLI's credential cache (~/.aws/cli/cache), pure: the cache keys botocore builds, the
 * entries it writes and reads, and when an entry is still good. An adapter hashes the key JSON
 * with SHA-1 into the file name (`<sha1 hex>.json`) and does the I/O.
 *
 * botocore (credentials.py):
 *  - assume role (`BaseAssumeRoleCredentialFetcher._create_cache_key`): json.dumps(sort_keys=True)
 *    with Python's default separators (", ", ": ") of the AssumeRole arguments the profile
 *    configures: RoleArn, plus RoleSessionName (only when role_session_name is set: a generated
 *    name is left out), ExternalId, SerialNumber (mfa_serial) and DurationSeconds (an int). The
 *    source credentials are not in the key: a `source_profile` and a `credential_source` profile
 *    assuming the same role with the same settings share the entry, as in the AWS CLI.
 *  - SSO (`SSOCredentialFetcher._create_cache_key`): compact json.dumps (",", ":"), sorted, of
 *    accountId, roleName and sessionName (sso_session profiles) or startUrl (legacy profiles).
 *  - an entry is reused while at least 15 minutes of it remain (`DEFAULT_EXPIRY_WINDOW_SECONDS`).
 *  - `JSONFileCache` writes json.dumps(response) through a temp file and os.replace, datetimes as
 *    `%Y-%m-%dT%H:%M:%S%Z` ("2026-01-01T00:00:00UTC"); SSO expirations are "...Z" strings.
 */
import type { StaticCredentials } from "./aws-env.js";

/** botocore's expiry window: an entry with less than this left is treated as expired. */
export const AWS_CLI_EXPIRY_WINDOW_MS = 15 * 60 * 1000;

/** The top-level field eks-access adds to the entries it writes (the AWS CLI reads only `Credentials`). */
export const EKS_ACCESS_MARK = "EksAccess";

/** Python's json.dumps for a flat object of strings and integers (ensure_ascii, sort_keys). */
export function pythonJsonDumps(obj: Record<string, string | number>, compact: boolean): string {
  const [item, kv] = compact ? [",", ":"] : [", ", ": "];
  const keys = Object.keys(obj).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${pyString(k)}${kv}${pyValue(obj[k]!)}`).join(item)}}`;
}

const pyValue = (v: string | number): string => (typeof v === "number" ? String(v) : pyString(v));

/** JSON.stringify escapes control characters as Python does; Python also escapes DEL and every non-ASCII UTF-16 unit. */
const pyString = (s: string): string => JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

/** The settings of a `role_arn` profile that go into botocore's key (values as in the config file). */
export interface RoleProfileSettings {
  role_arn: string;
  role_session_name?: string | undefined;
  external_id?: string | undefined;
  mfa_serial?: string | undefined;
  duration_seconds?: string | undefined;
}

export function assumeRoleCacheKeyJson(p: RoleProfileSettings): string {
  const args: Record<string, string | number> = { RoleArn: p.role_arn };
  if (p.role_session_name) args["RoleSessionName"] = p.role_session_name;
  if (p.external_id !== undefined) args["ExternalId"] = p.external_id;
  if (p.mfa_serial !== undefined) args["SerialNumber"] = p.mfa_serial;
  if (p.duration_seconds !== undefined && /^\s*[+-]?\d+\s*$/.test(p.duration_seconds)) args["DurationSeconds"] = parseInt(p.duration_seconds, 10);
  return pythonJsonDumps(args, false);
}

export interface SsoProfileSettings {
  sso_account_id: string;
  sso_role_name: string;
  sso_session?: string | undefined;
  sso_start_url?: string | undefined;
}

export function ssoCacheKeyJson(p: SsoProfileSettings): string {
  const args: Record<string, string> = { roleName: p.sso_role_name, accountId: p.sso_account_id };
  if (p.sso_session) args["sessionName"] = p.sso_session;
  else args["startUrl"] = p.sso_start_url ?? "";
  return pythonJsonDumps(args, true);
}

/** What a profile's credentials come from, for the cache: a role, an SSO role, or neither. */
export type CachedKind = { kind: "role"; keyJson: string } | { kind: "sso"; keyJson: string } | { kind: "none" };

export function cacheKindOf(settings: Readonly<Record<string, string | undefined>>): CachedKind {
  const role = settings["role_arn"];
  // web identity profiles carry role_arn too, but the SDK resolves them without an AssumeRole hook
  if (role && !settings["web_identity_token_file"] && (settings["source_profile"] !== undefined || settings["credential_source"] !== undefined)) {
    return {
      kind: "role",
      keyJson: assumeRoleCacheKeyJson({
        role_arn: role,
        role_session_name: settings["role_session_name"],
        external_id: settings["external_id"],
        mfa_serial: settings["mfa_serial"],
        duration_seconds: settings["duration_seconds"],
      }),
    };
  }
  const account = settings["sso_account_id"];
  const roleName = settings["sso_role_name"];
  if (!role && account && roleName && (settings["sso_session"] || settings["sso_start_url"])) {
    return { kind: "sso", keyJson: ssoCacheKeyJson({ sso_account_id: account, sso_role_name: roleName, sso_session: settings["sso_session"], sso_start_url: settings["sso_start_url"] }) };
  }
  return { kind: "none" };
}

/**
 * A timestamp as botocore writes or accepts it: ISO 8601 with Z, a numeric offset or botocore's
 * "UTC"/"GMT" suffix, optional fractional seconds. No zone (naive) → undefined: botocore itself
 * cannot compare such a value with its aware clock.
 */
export function parseBotocoreTime(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|UTC|GMT|[+-]\d{2}:?\d{2})$/.exec(s.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  let ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +sec!, frac ? Math.floor(Number(frac) * 1000) : 0);
  if (zone && /^[+-]/.test(zone)) {
    const z = zone.replace(":", "");
    const offset = (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5))) * 60_000;
    ms += z[0] === "+" ? -offset : offset;
  }
  return Number.isFinite(ms) ? ms : undefined;
}

export interface CachedRoleCredentials extends StaticCredentials {
  sessionToken: string;
  expiration: Date;
}

/** The credentials of a parsed cache entry, if well-formed and good for at least the expiry window. */
export function parseCacheEntry(raw: unknown, nowMs: number): CachedRoleCredentials | undefined {
  if (raw === null || typeof raw !== "object") return undefined;
  const c = (raw as Record<string, unknown>)["Credentials"];
  if (c === null || typeof c !== "object") return undefined;
  const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = c as Record<string, unknown>;
  if (typeof AccessKeyId !== "string" || !AccessKeyId || typeof SecretAccessKey !== "string" || !SecretAccessKey) return undefined;
  if (typeof SessionToken !== "string" || !SessionToken || typeof Expiration !== "string") return undefined;
  const expiresAt = parseBotocoreTime(Expiration);
  if (expiresAt === undefined || expiresAt - nowMs < AWS_CLI_EXPIRY_WINDOW_MS) return undefined;
  return { accessKeyId: AccessKeyId, secretAccessKey: SecretAccessKey, sessionToken: SessionToken, expiration: new Date(expiresAt) };
}

const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, "Z");

/** An AssumeRole entry as botocore caches the response (plus eks-access's mark). */
export function assumeRoleEntry(c: CachedRoleCredentials, assumedRole?: { arn?: string | undefined; assumedRoleId?: string | undefined }): Record<string, unknown> {
  const account = assumedRole?.arn?.split(":")[4];
  return {
    Credentials: {
      AccessKeyId: c.accessKeyId,
      SecretAccessKey: c.secretAccessKey,
      SessionToken: c.sessionToken,
      Expiration: isoSeconds(c.expiration),
      ...(account ? { AccountId: account } : {}),
    },
    ...(assumedRole?.arn ? { AssumedRoleUser: { AssumedRoleId: assumedRole.assumedRoleId ?? "", Arn: assumedRole.arn } } : {}),
    [EKS_ACCESS_MARK]: { v: 1 },
  };
}

/** An SSO role-credentials entry as botocore's SSOCredentialFetcher caches it (plus the mark). */
export function ssoEntry(c: CachedRoleCredentials, accountId: string): Record<string, unknown> {
  return {
    ProviderType: "sso",
    Credentials: { AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, SessionToken: c.sessionToken, Expiration: isoSeconds(c.expiration), AccountId: accountId },
    [EKS_ACCESS_MARK]: { v: 1 },
  };
}

export function isEksAccessEntry(raw: unknown): boolean {
  return raw !== null && typeof raw === "object" && typeof (raw as Record<string, unknown>)[EKS_ACCESS_MARK] === "object";
}
