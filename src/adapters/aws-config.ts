/** Shared AWS config/credentials files: profile selection, region, SSO settings (SDK loader). */

import type { Env } from "../core/aws-env.js";

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
