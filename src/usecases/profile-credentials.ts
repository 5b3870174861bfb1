/**
 * Credentials for a named profile, sharing the AWS CLI's credential cache (~/.aws/cli/cache):
 * a `role_arn` profile (source_profile or credential_source, with or without mfa_serial) or an SSO
 * profile whose botocore cache entry is good for 15+ minutes is served from it — no AssumeRole,
 * no MFA prompt, not even the source credentials. On a miss one process per key (a lock, not
 * the data file) runs the SDK's profile chain, asking for the MFA code at most once, and writes
 * the entry the AWS CLI would have written; processes that waited read that entry instead.
 * Every other profile kind goes straight to the SDK.
 */
import { cacheKindOf, assumeRoleCacheKeyJson, assumeRoleEntry, ssoEntry, type CachedRoleCredentials } from "../core/aws-cli-cache.js";
import { effectiveProfile, envCredentials, type Env } from "../core/aws-env.js";
import type { AcquireLock, AssumeHook, AwsCliCachePort, CredentialSources, Credentials, ProfileCredentialSource, ResolvedCredentials } from "../ports/aws.js";

/**
 * Credential resolution for every command, with the AWS CLI's precedence:
 *  --profile → that profile only (static keys, role_arn chains, mfa_serial, credential_process,
 *              web identity, sso_session / legacy SSO), through the AWS CLI cache;
 *  else environment keys;
 *  else a role or SSO profile selected by AWS_PROFILE / AWS_DEFAULT_PROFILE / "default" → the
 *  same, through the AWS CLI cache; anything else → the SDK default chain.
 */
export async function resolveCredentialsFor(req: { profile?: string | undefined; env: Env }, sources: CredentialSources): Promise<ResolvedCredentials> {
  if (!req.profile) {
    const fromEnv = envCredentials(req.env);
    if (fromEnv) return { credentials: fromEnv, source: "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)" };
  }
  const name = effectiveProfile(req.profile, req.env);
  const deps = { sdk: sources.profiles, cache: sources.cache, lock: sources.lock };
  if (req.profile || cacheKindOf(await sources.profiles.settings(name)).kind !== "none") return resolveProfileCredentials(name, deps);
  return { credentials: await sources.defaultChain(), source: `SDK default chain (profile ${name}, SSO, process, web identity, container or instance metadata)` };
}

export interface ProfileCredentialDeps {
  sdk: ProfileCredentialSource;
  cache: AwsCliCachePort;
  lock: AcquireLock;
}

export async function resolveProfileCredentials(profile: string, deps: ProfileCredentialDeps): Promise<ResolvedCredentials> {
  const settings = await deps.sdk.settings(profile);
  const kind = cacheKindOf(settings);
  if (kind.kind === "none") {
    const credentials = await deps.sdk.resolve(profile, hopCache(profile, deps, undefined));
    return { credentials, source: `profile ${profile} (${describeProfile(settings)})` };
  }
  const file = deps.cache.fileFor(kind.keyJson);
  const what = kind.kind === "role" ? `role_arn ${settings["role_arn"]}` : `SSO role ${settings["sso_role_name"]} in ${settings["sso_account_id"]}`;
  const hit = deps.cache.read(kind.keyJson);
  if (hit) return { credentials: hit, source: `profile ${profile}: ${what} via AWS CLI cache hit ${file}` };
  const release = await deps.lock(`aws-${kind.keyJson}`);
  try {
    const again = deps.cache.read(kind.keyJson);
    if (again) return { credentials: again, source: `profile ${profile}: ${what} via AWS CLI cache hit ${file} (written by another process while this one waited)` };
    const credentials = await deps.sdk.resolve(profile, hopCache(profile, deps, kind.kind === "role" ? kind.keyJson : undefined));
    let stored = kind.kind === "role"; // the role hop's entry was written by the hook
    if (kind.kind === "sso" && isSessionCredentials(credentials)) {
      stored = deps.cache.write(kind.keyJson, ssoEntry(credentials, settings["sso_account_id"]!));
    }
    const verb = kind.kind === "role" ? "assumed now" : "fetched from IAM Identity Center now";
    return { credentials, source: `profile ${profile}: ${what} ${verb}${stored ? ` and cached in ${file}` : ""}` };
  } finally {
    release();
  }
}

const isSessionCredentials = (c: Credentials): c is CachedRoleCredentials => !!c.sessionToken && c.expiration instanceof Date;

/**
 * The hook for every AssumeRole hop of the SDK's chain. The hop whose settings are the requested
 * profile's (`topKey`) is only reached on a miss, under its lock: it assumes and caches. An inner
 * hop (a source_profile that is itself a role_arn profile) is looked up and cached the same way
 * (botocore caches every hop), but its MFA code, if any, has already been asked for by the SDK.
 */
function hopCache(profile: string, deps: ProfileCredentialDeps, topKey: string | undefined): AssumeHook {
  return async (params, assume) => {
    const keyJson = await hopKey(profile, deps, params);
    if (keyJson !== undefined && keyJson !== topKey) {
      const hit = deps.cache.read(keyJson);
      if (hit) return hit;
    }
    const out = await assume();
    if (keyJson !== undefined) deps.cache.write(keyJson, assumeRoleEntry(out.credentials, { arn: out.assumedRoleArn, assumedRoleId: out.assumedRoleId }));
    return out.credentials;
  };
}

/** The key of the profile in `profile`'s source_profile chain (itself first) that this hop belongs to. */
async function hopKey(profile: string, deps: ProfileCredentialDeps, params: { RoleArn: string; ExternalId?: string | undefined; SerialNumber?: string | undefined }): Promise<string | undefined> {
  const seen = new Set<string>();
  for (let name: string | undefined = profile; name !== undefined && !seen.has(name); ) {
    seen.add(name);
    const s = await deps.sdk.settings(name);
    if (s["role_arn"] === params.RoleArn && (s["external_id"] || undefined) === (params.ExternalId || undefined) && (s["mfa_serial"] || undefined) === (params.SerialNumber || undefined)) {
      return assumeRoleCacheKeyJson({ role_arn: s["role_arn"], role_session_name: s["role_session_name"], external_id: s["external_id"], mfa_serial: s["mfa_serial"], duration_seconds: s["duration_seconds"] });
    }
    name = s["source_profile"];
  }
  return undefined;
}

function describeProfile(s: Readonly<Record<string, string | undefined>>): string {
  if (s["aws_access_key_id"]) return "static keys";
  if (s["credential_process"]) return "credential_process";
  if (s["web_identity_token_file"]) return "web identity";
  if (s["sso_session"] || s["sso_start_url"]) return "SSO";
  if (s["login_session"]) return "console login";
  if (Object.keys(s).length === 0) return "not in the config files";
  return "SDK profile chain";
}
