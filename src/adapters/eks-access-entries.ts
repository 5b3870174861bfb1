/**
 * One EKS cluster's access-entry API through @aws-sdk/client-eks (ListAccessEntries,
 * DescribeAccessEntry, ListAssociatedAccessPolicies, 100 a page), for `serve --access-entries-from
 * eks`. Credentials come as a provider, so a long-running server's role or SSO session is
 * re-resolved when it nears expiry. Failures become one-line EksAccessErrors naming the call and
 * the endpoint; an entry deleted between the listing and the call answers undefined.
 */
import { DescribeAccessEntryCommand, EKSClient, ListAccessEntriesCommand, ListAssociatedAccessPoliciesCommand } from "@aws-sdk/client-eks";
import type { AwsCredentialIdentityProvider } from "@smithy/types";
import { EksAccessError } from "../core/errors.js";
import type { EksAccessEntryApi } from "../ports/access-entries.js";
import { awsError, recordEndpoint } from "./aws-errors.js";
import { httpClientConfig } from "./http.js";

export interface EksAccessEntryApiOptions {
  cluster: string;
  region: string;
  credentials: AwsCredentialIdentityProvider;
  /** EKS endpoint override (--endpoint-url, AWS_ENDPOINT_URL_EKS) */
  endpoint?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
}

const PAGE = 100;

const HINT = "check --cluster-name, --region, the credentials and their eks:ListAccessEntries, eks:DescribeAccessEntry and eks:ListAssociatedAccessPolicies permissions";

export async function eksAccessEntryApi(opts: EksAccessEntryApiOptions): Promise<EksAccessEntryApi> {
  const eks = new EKSClient({ region: opts.region, credentials: opts.credentials, ...(opts.endpoint ? { endpoint: opts.endpoint } : {}), ...(await httpClientConfig(opts.env)) });
  const reached = recordEndpoint(eks);
  const clusterName = opts.cluster;
  const fail = (err: unknown, call: string): EksAccessError => {
    const e = err as { name?: string; message?: string };
    if (call === "ListAccessEntries" && e.name === "ResourceNotFoundException") {
      return new EksAccessError("not-found", `cluster "${clusterName}" not found in region ${opts.region} (ResourceNotFoundException: ${e.message ?? ""})`, {
        hint: `check --cluster-name and --region (list them with: aws eks list-clusters --region ${opts.region})`,
        cause: err,
      });
    }
    return awsError(err, `eks:${call} ${clusterName} failed`, HINT, reached.url);
  };
  const gone = (err: unknown): boolean => (err as { name?: string }).name === "ResourceNotFoundException";
  return {
    async listAccessEntries(nextToken) {
      try {
        const out = await eks.send(new ListAccessEntriesCommand({ clusterName, maxResults: PAGE, nextToken }));
        return { items: out.accessEntries ?? [], nextToken: out.nextToken };
      } catch (err) {
        throw fail(err, "ListAccessEntries");
      }
    },
    async describeAccessEntry(principalArn) {
      try {
        const e = (await eks.send(new DescribeAccessEntryCommand({ clusterName, principalArn }))).accessEntry;
        if (!e) return undefined;
        return {
          principalArn: e.principalArn ?? principalArn,
          accessEntryArn: e.accessEntryArn ?? "",
          username: e.username ?? "",
          kubernetesGroups: e.kubernetesGroups ?? [],
          type: e.type ?? "STANDARD",
          createdAt: e.createdAt ?? new Date(0),
        };
      } catch (err) {
        if (gone(err)) return undefined;
        throw fail(err, "DescribeAccessEntry");
      }
    },
    async listAssociatedAccessPolicies(principalArn, nextToken) {
      try {
        const out = await eks.send(new ListAssociatedAccessPoliciesCommand({ clusterName, principalArn, maxResults: PAGE, nextToken }));
        return {
          items: (out.associatedAccessPolicies ?? []).map((p) => ({
            policyArn: p.policyArn ?? "",
            // a scope type this code does not know grants nothing (a namespace scope of no namespace)
            accessScope: p.accessScope?.type === "cluster" ? { type: "cluster" as const, namespaces: [] } : { type: "namespace" as const, namespaces: p.accessScope?.type === "namespace" ? (p.accessScope.namespaces ?? []) : [] },
          })),
          nextToken: out.nextToken,
        };
      } catch (err) {
        if (gone(err)) return undefined;
        throw fail(err, "ListAssociatedAccessPolicies");
      }
    },
  };
}
