/** Shared AWS config/credentials files: profile selection, region, SSO settings (SDK loader). */

import { envRegion, type Env } from "../core/aws-env.js";

export type { Env };
export { effectiveProfile, namedProfile, endpointOverride } from "../core/aws-env.js";



export interface ProfileInfo {
  name: string;
  settings: Record<string, string | undefined>;
  ssoSession?: string | undefined;
  isSso: boolean;
}

export async function loadProfile(name: string): Promise<ProfileInfo> {
  const { loadSharedConfigFiles } = await import("@smithy/core/config");
  const files = await loadSharedConfigFiles({ ignoreCache: true });
  const settings = { ...(files.credentialsFile[name] ?? {}), ...(files.configFile[name] ?? {}) };
  const ssoSession = settings["sso_session"];
  return { name, settings, ssoSession, isSso: !!(ssoSession || settings["sso_start_url"]) };
}

/** --region, AWS_REGION (v2), AWS_DEFAULT_REGION, then the profile's `region`. */
export async function resolveRegion(flag: string | undefined, profile: string, env: Env): Promise<string | undefined> {
  const direct = envRegion(flag, env);
  if (direct) return direct;
  try {
    return (await loadProfile(profile)).settings["region"] || undefined;
  } catch {
    return undefined;
  }
}

