/**
 * The IAM role or user an ARN names now, through @aws-sdk/client-iam (GetRole / GetUser by name: a
 * path in the ARN is not part of the look-up, so a path-less role ARN finds the role), with its
 * unique id (AROA…/AIDA…) and creation date. NoSuchEntity answers undefined.
 */
import { GetRoleCommand, GetUserCommand, IAMClient } from "@aws-sdk/client-iam";
import type { AwsCredentialIdentityProvider } from "@smithy/types";
import { parsePrincipal } from "../core/arn.js";
import type { IamPrincipal, PrincipalDirectory } from "../ports/access.js";
import { awsError, isNoSuchEntity, recordEndpoint } from "./aws-errors.js";
import { httpClientConfig } from "./http.js";

export interface IamLookupOptions {
  region: string;
  credentials: AwsCredentialIdentityProvider;
  /** IAM endpoint override (AWS_ENDPOINT_URL_IAM) */
  endpoint?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
}

export async function iamPrincipalLookup(opts: IamLookupOptions): Promise<Pick<PrincipalDirectory, "lookup">> {
  const iam = new IAMClient({ region: opts.region, credentials: opts.credentials, ...(opts.endpoint ? { endpoint: opts.endpoint } : {}), ...(await httpClientConfig(opts.env)) });
  const reached = recordEndpoint(iam);
  return {
    async lookup(arn: string): Promise<IamPrincipal | undefined> {
      const p = parsePrincipal(arn);
      if (p?.type !== "role" && p?.type !== "user") return undefined;
      let found: { Arn?: string | undefined; Path?: string | undefined; CreateDate?: Date | undefined; id?: string | undefined } | undefined;
      try {
        if (p.type === "role") {
          const r = (await iam.send(new GetRoleCommand({ RoleName: p.name }))).Role;
          found = r && { ...r, id: r.RoleId };
        } else {
          const u = (await iam.send(new GetUserCommand({ UserName: p.name }))).User;
          found = u && { ...u, id: u.UserId };
        }
      } catch (err) {
        if (isNoSuchEntity(err)) return undefined;
        throw awsError(err, `iam:Get${p.type === "role" ? "Role" : "User"} ${p.name} failed`, "check the credentials' iam:GetRole and iam:GetUser permissions", reached.url);
      }
      if (!found?.Arn || !found.id) return undefined;
      return {
        type: p.type,
        arn: found.Arn,
        partition: p.partition,
        account: p.account,
        name: p.name,
        path: found.Path ?? "/",
        uniqueId: found.id,
        createDate: (found.CreateDate ?? new Date(0)).toISOString(),
      };
    },
  };
}
