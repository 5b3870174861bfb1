/**
 * Credential resolution for every command, with the AWS CLI's precedence:
 *  --profile → that profile only (static keys, role_arn + source_profile chains, mfa_serial,
 *              credential_process, web identity, sso_session / legacy SSO);
 *  else environment keys; else the SDK default chain (AWS_PROFILE, SSO, process, web identity,
 *  container and instance metadata).
 * SDK modules are imported only when needed, so environment credentials cost nothing to load.
 * Failures become one-line errors that say what to run (e.g. the exact `aws sso login`).
 */
import type { AwsCredentialIdentity } from "@smithy/types";
import { EksAccessError, mfaWithoutTerminal } from "../core/errors.js";
import { loadProfile, type Env } from "./aws-config.js";
import { effectiveProfile, envCredentials, namedProfile } from "../core/aws-env.js";
import { httpClientConfig } from "./http.js";
import { awsError, networkFailure } from "./aws-errors.js";

export type Credentials = AwsCredentialIdentity;

export interface CredentialOptions {
  profile?: string | undefined;
  env: Env;
  /** asks for an MFA code; undefined when no terminal is available */
  promptMfa?: ((serial: string) => Promise<string>) | undefined;
}

export async function resolveCredentials(opts: CredentialOptions): Promise<Credentials> {
  if (!opts.profile) {
    const fromEnv = envCredentials(opts.env);
    if (fromEnv) return fromEnv;
  }
  const profileName = effectiveProfile(opts.profile, opts.env);
  const mfaCodeProvider = async (serial: string): Promise<string> => {
    if (!opts.promptMfa) throw mfaWithoutTerminal(profileName, serial);
    return opts.promptMfa(serial);
  };
  try {
    if (opts.profile) {
      const { fromIni } = await import("@aws-sdk/credential-provider-ini");
      return await fromIni({ profile: opts.profile, mfaCodeProvider, ignoreCache: true, clientConfig: await httpClientConfig(opts.env) })();
    }
    const { defaultProvider } = await import("@aws-sdk/credential-provider-node");
    return await defaultProvider({ mfaCodeProvider, ignoreCache: true, clientConfig: await httpClientConfig(opts.env) })();
  } catch (err) {
    throw await explainCredentialError(err, profileName, namedProfile(opts.profile, opts.env) !== undefined);
  }
}

async function explainCredentialError(err: unknown, profileName: string, profileNamed: boolean): Promise<EksAccessError> {
  if (EksAccessError.is(err)) return err;
  // the SSO portal, STS or the metadata service could not be reached: not a credentials problem
  if (networkFailure(err)) return awsError(err, `could not load AWS credentials for profile "${profileName}"`, "");
  const message = err instanceof Error ? err.message : String(err);
  let profile;
  try {
    profile = await loadProfile(profileName);
  } catch {
    profile = undefined;
  }
  const errName = (err as { name?: string }).name ?? "";
  if (profile?.isSso && (errName === "ForbiddenException" || /No access/i.test(message))) {
    const account = profile.settings["sso_account_id"] ?? "?";
    const role = profile.settings["sso_role_name"] ?? "?";
    return new EksAccessError("credentials", `IAM Identity Center refused role "${role}" in account ${account} for profile "${profileName}" (${firstLine(message)})`, {
      hint: "the permission set is not assigned to you in that account: ask an Identity Center admin, or pick an assigned role (aws sso list-account-roles)",
      cause: err,
    });
  }
  if (profile?.isSso) {
    const login = profile.ssoSession ? `aws sso login --sso-session ${profile.ssoSession}` : `aws sso login --profile ${profileName}`;
    return new EksAccessError("sso-expired", `the IAM Identity Center (SSO) session for profile "${profileName}" is expired or missing (${firstLine(message)})`, {
      hint: `run: ${login}`,
      cause: err,
    });
  }
  if (profile && Object.keys(profile.settings).length === 0 && profileNamed) {
    return new EksAccessError("config", `profile "${profileName}" is not defined in your AWS config or credentials files`, {
      hint: "check the name (aws configure list-profiles) or set AWS_CONFIG_FILE",
      cause: err,
    });
  }
  return new EksAccessError("credentials", `could not load AWS credentials for profile "${profileName}": ${firstLine(message)}`, {
    hint: "configure credentials (aws configure, aws sso login, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)",
    cause: err,
  });
}

const firstLine = (s: string): string => s.split("\n")[0]!.trim();
