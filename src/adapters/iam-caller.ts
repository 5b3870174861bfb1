/**
 * The IAM look-ups behind `serve`'s matches beyond aws-iam-authenticator (ports/authn.ts
 * IamCallerDirectory), through @aws-sdk/client-iam in the server's own account: GetRole (the role's
 * ARN with its path), GetUser + ListGroupsForUser (every page). Each answer is checked against the
 * caller's unique id, so a same-named principal of this account never stands in for another
 * account's caller, nor a re-created one for the caller. Needs iam:GetRole, iam:GetUser,
 * iam:ListGroupsForUser. NoSuchEntity answers undefined; other failures throw one line.
 */
import { GetRoleCommand, GetUserCommand, IAMClient, ListGroupsForUserCommand, type Group } from "@aws-sdk/client-iam";
import type { AwsCredentialIdentityProvider } from "@smithy/types";
import type { IamCallerDirectory, IamEntity } from "../ports/authn.js";
import { awsError, isNoSuchEntity, recordEndpoint } from "./aws-errors.js";
import { httpClientConfig } from "./http.js";

export interface IamCallerOptions {
  region: string;
  credentials: AwsCredentialIdentityProvider;
  /** IAM endpoint override (AWS_ENDPOINT_URL_IAM) */
  endpoint?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
}

export async function iamCallerDirectory(opts: IamCallerOptions): Promise<IamCallerDirectory> {
  const iam = new IAMClient({ region: opts.region, credentials: opts.credentials, ...(opts.endpoint ? { endpoint: opts.endpoint } : {}), ...(await httpClientConfig(opts.env)) });
  const reached = recordEndpoint(iam);
  const fail = (err: unknown, what: string): never => {
    throw awsError(err, what, "serve's IAM matches need iam:GetRole, iam:GetUser and iam:ListGroupsForUser", reached.url);
  };
  return {
    async role(name: string, uniqueId: string): Promise<IamEntity | undefined> {
      try {
        const r = (await iam.send(new GetRoleCommand({ RoleName: name }))).Role;
        return r?.Arn && r.RoleId === uniqueId ? { arn: r.Arn, id: r.RoleId } : undefined;
      } catch (err) {
        if (isNoSuchEntity(err)) return undefined;
        return fail(err, `iam:GetRole ${name} failed`);
      }
    },
    async groupsOfUser(name: string, uniqueId: string): Promise<IamEntity[] | undefined> {
      try {
        const u = (await iam.send(new GetUserCommand({ UserName: name }))).User;
        if (u?.UserId !== uniqueId) return undefined;
        const groups: Group[] = [];
        let marker: string | undefined;
        for (let page = 0; page < 100; page++) {
          const out = await iam.send(new ListGroupsForUserCommand({ UserName: name, ...(marker ? { Marker: marker } : {}) }));
          groups.push(...(out.Groups ?? []));
          if (!out.IsTruncated || !out.Marker) break;
          marker = out.Marker;
        }
        return groups.flatMap((g) => (g.Arn && g.GroupId ? [{ arn: g.Arn, id: g.GroupId }] : []));
      } catch (err) {
        if (isNoSuchEntity(err)) return undefined;
        return fail(err, `iam:ListGroupsForUser ${name} failed`);
      }
    },
  };
}
