/** STS calls through the AWS SDK v3 client (AssumeRole for --role-arn, GetCallerIdentity for whoami). */
import { STSClient, AssumeRoleCommand, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity } from "@smithy/types";
import { httpClientConfig } from "./http.js";
import type { AssumedRole, AssumeRoleParams } from "../ports/aws.js";
import { awsError, recordEndpoint } from "./aws-errors.js";

export interface StsOptions {
  region: string | undefined;
  credentials: AwsCredentialIdentity;
  env?: Readonly<Record<string, string | undefined>>;
}

async function client(opts: StsOptions): Promise<STSClient> {
  return new STSClient({ region: opts.region || "us-east-1", credentials: opts.credentials, ...(await httpClientConfig(opts.env ?? process.env)) });
}

export async function assumeRole(
  opts: StsOptions & { roleArn: string; sessionName: string; externalId?: string | undefined },
): Promise<AwsCredentialIdentity> {
  const sts = await client(opts);
  const reached = recordEndpoint(sts);
  try {
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: opts.roleArn,
        RoleSessionName: opts.sessionName,
        ...(opts.externalId ? { ExternalId: opts.externalId } : {}),
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error("AssumeRole returned no credentials");
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
      ...(c.Expiration ? { expiration: c.Expiration } : {}),
    };
  } catch (err) {
    throw awsError(err, `could not assume role ${opts.roleArn}`, "check the role ARN and that its trust policy allows your identity to assume it", reached.url);
  }
}

/**
 * One AssumeRole hop of a profile chain (the SDK's roleAssumer), with the response's session
 * details the AWS CLI's cache entry holds.
 */
export async function assumeRoleWithParams(opts: StsOptions, params: AssumeRoleParams): Promise<AssumedRole> {
  const sts = await client(opts);
  const reached = recordEndpoint(sts);
  try {
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: params.RoleArn,
        RoleSessionName: params.RoleSessionName,
        ...(params.ExternalId ? { ExternalId: params.ExternalId } : {}),
        ...(params.SerialNumber ? { SerialNumber: params.SerialNumber, TokenCode: params.TokenCode } : {}),
        ...(params.DurationSeconds ? { DurationSeconds: params.DurationSeconds } : {}),
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) throw new Error("AssumeRole returned no session credentials");
    return {
      credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration },
      assumedRoleArn: out.AssumedRoleUser?.Arn,
      assumedRoleId: out.AssumedRoleUser?.AssumedRoleId,
    };
  } catch (err) {
    throw awsError(err, `could not assume role ${params.RoleArn}`, "check the role ARN, its trust policy and the MFA code", reached.url);
  }
}

export type { CallerIdentity } from "../ports/sts.js";
import type { CallerIdentity } from "../ports/sts.js";

export async function getCallerIdentity(opts: StsOptions): Promise<CallerIdentity> {
  const sts = await client(opts);
  const reached = recordEndpoint(sts);
  try {
    const out = await sts.send(new GetCallerIdentityCommand({}));
    return { arn: out.Arn ?? "", account: out.Account ?? "", userId: out.UserId ?? "" };
  } catch (err) {
    throw awsError(err, "sts:GetCallerIdentity failed", "check your credentials and region", reached.url);
  }
}
