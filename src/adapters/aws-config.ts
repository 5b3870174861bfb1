/** Shared AWS config/credentials files: profile selection, region, SSO settings (SDK loader). */

export type Env = Readonly<Record<string, string | undefined>>;

/** AWS CLI v2 precedence: --profile, AWS_PROFILE, AWS_DEFAULT_PROFILE, "default". */
export function effectiveProfile(flag: string | undefined, env: Env): string {
  return flag || env["AWS_PROFILE"] || env["AWS_DEFAULT_PROFILE"] || "default";
}

/** True when a profile is in effect that the user named (flag or environment), as the CLI's session.profile. */
export function namedProfile(flag: string | undefined, env: Env): string | undefined {
  return flag || env["AWS_PROFILE"] || env["AWS_DEFAULT_PROFILE"] || undefined;
}

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
  const direct = flag || env["AWS_REGION"] || env["AWS_DEFAULT_REGION"];
  if (direct) return direct;
  try {
    return (await loadProfile(profile)).settings["region"] || undefined;
  } catch {
    return undefined;
  }
}

/** The AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL override, as the CLI and SDK read them. */
export function endpointOverride(service: string, env: Env): string | undefined {
  return env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] || env["AWS_ENDPOINT_URL"] || undefined;
}
