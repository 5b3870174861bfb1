/**
 * Everything that changes which token `eks-access token` would produce (pure). The adapter hashes
 * the canonical JSON of this into the cache file name. No secret enters the key: environment
 * credentials are identified by their access key id alone (a secret key and a session token each
 * belong to exactly one access key id), and the AWS config files by a stat fingerprint, so any
 * edit to them starts a new entry.
 */
/** What a token is asked for: the command-line inputs that select cluster, identity and region. */
export interface TokenRequest {
  clusterName?: string | undefined;
  clusterId?: string | undefined;
  region?: string | undefined;
  profile?: string | undefined;
  roleArn?: string | undefined;
  externalId?: string | undefined;
  sessionName?: string | undefined;
}

export interface TokenCacheKeyInput extends TokenRequest {
  /** environment variables that select region, profile, endpoint or credential source (values as-is, secrets excluded) */
  selectors: Record<string, string | undefined>;
  /** AWS_ACCESS_KEY_ID when credentials come from the environment */
  envAccessKeyId?: string | undefined;
  /** identity of the shared config and credentials files' current versions (inode, size, mtime) */
  configFingerprint: string;
}

export const CACHE_FORMAT_VERSION = 2;
const KEY_VERSION = 2;

export function canonicalCacheKey(input: TokenCacheKeyInput): string {
  const selectors = Object.fromEntries(
    Object.entries(input.selectors)
      .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== "")
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  return JSON.stringify({
    v: KEY_VERSION,
    clusterName: input.clusterName ?? null,
    clusterId: input.clusterId ?? null,
    region: input.region ?? null,
    profile: input.profile ?? null,
    roleArn: input.roleArn ?? null,
    externalId: input.externalId ?? null,
    sessionName: input.sessionName ?? null,
    selectors,
    envAccessKeyId: input.envAccessKeyId ?? null,
    config: input.configFingerprint,
  });
}

/** Environment variables whose values select the identity, region or endpoint (not secrets). */
export const SELECTOR_ENV = [
  "AWS_PROFILE",
  "AWS_DEFAULT_PROFILE",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_STS",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_ROLE_ARN",
  "AWS_ROLE_SESSION_NAME",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_STS_REGIONAL_ENDPOINTS",
] as const;

/**
 * The cache file name for a canonical key: a 128-bit non-cryptographic hash (four 32-bit FNV-1a
 * style lanes with different seeds). It is only an index: each entry stores its full canonical key
 * and is used only when that matches exactly, so a collision is a cache miss, never a wrong token.
 * (Pure JS on purpose: loading node:crypto would cost the cache-hit path more than all else.)
 */
export function cacheFileName(canonicalKey: string): string {
  const seeds = [0x811c9dc5, 0x01000193, 0x9e3779b9, 0x85ebca6b];
  return `${seeds.map((seed) => lane(canonicalKey, seed).toString(16).padStart(8, "0")).join("")}.json`;
}

function lane(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
    h ^= h >>> 13;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export interface CachedToken {
  /** the canonical key the entry was written for */
  key: string;
  token: string;
  expirationTimestamp: string;
  /** epoch ms of expirationTimestamp */
  expiresAt: number;
}

/** A cached token is handed out only while at least this much of its life is left. */
export const REUSE_MARGIN_MS = 5 * 60 * 1000;

export function isReusable(entry: CachedToken, nowMs: number): boolean {
  return entry.expiresAt - nowMs >= REUSE_MARGIN_MS;
}

/** Validates a parsed cache file for this key; anything unexpected is a miss, never an error. */
export function parseCachedToken(raw: unknown, key: string): CachedToken | undefined {
  if (raw === null || typeof raw !== "object") return undefined;
  const r = raw as Record<string, unknown>;
  if (r["v"] !== CACHE_FORMAT_VERSION || r["key"] !== key) return undefined;
  const { token, expirationTimestamp, expiresAt } = r;
  if (typeof token !== "string" || !token.startsWith("k8s-aws-v1.")) return undefined;
  if (typeof expirationTimestamp !== "string" || typeof expiresAt !== "number" || !Number.isFinite(expiresAt)) return undefined;
  if (Date.parse(expirationTimestamp) !== expiresAt) return undefined;
  return { key, token, expirationTimestamp, expiresAt };
}
