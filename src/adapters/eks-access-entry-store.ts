/** The EKS access-entry API (and the cluster's authentication mode) through @aws-sdk/client-eks. */
import {
  AssociateAccessPolicyCommand,
  CreateAccessEntryCommand,
  DeleteAccessEntryCommand,
  DescribeAccessEntryCommand,
  DescribeClusterCommand,
  DescribeUpdateCommand,
  DisassociateAccessPolicyCommand,
  EKSClient,
  ListAccessEntriesCommand,
  ListAssociatedAccessPoliciesCommand,
  UpdateAccessEntryCommand,
  UpdateClusterConfigCommand,
} from "@aws-sdk/client-eks";
import type { AwsCredentialIdentity } from "@smithy/types";
import { parseArn } from "../core/arn.js";
import { EksAccessError } from "../core/errors.js";
import type { AccessEntryState, AccessScope, AssociatedPolicy, AuthenticationMode } from "../core/access-entry-plan.js";
import type { AccessEntryStore, ClusterAccess, ClusterUpdates } from "../ports/access-entry-store.js";
import { awsError, recordEndpoint } from "./aws-errors.js";
import { httpClientConfig } from "./http.js";

export interface EksAccessOptions {
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentity;
  endpoint?: string | undefined;
}

const iso = (d: Date | undefined): string | undefined => d?.toISOString();

export async function eksAccessEntries(opts: EksAccessOptions): Promise<AccessEntryStore & ClusterUpdates> {
  const eks = new EKSClient({
    region: opts.region,
    credentials: opts.credentials,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(await httpClientConfig(process.env)),
  });
  const reached = recordEndpoint(eks);
  const clusterName = opts.clusterName;
  const region = opts.region;

  /** runs one call; EKS's own errors keep their code and message (the AWS CLI's wording) */
  async function call<T>(op: string, f: () => Promise<T>, hint = `check your credentials and the eks:${op} permission on cluster ${clusterName}`): Promise<T> {
    try {
      return await f();
    } catch (err) {
      const e = err as { name?: string; message?: string };
      if (e.name === "ResourceNotFoundException" && op === "DescribeCluster") {
        throw new EksAccessError("not-found", `cluster "${clusterName}" not found in region ${region} (ResourceNotFoundException: ${e.message})`, {
          hint: `check --cluster and --region (list them with: aws eks list-clusters --region ${region})`,
          cause: err,
        });
      }
      if (e.name === "InvalidRequestException" && /authentication mode/.test(e.message ?? "")) {
        throw new EksAccessError("cluster-state", `eks:${op} on ${clusterName}: ${e.message}`, {
          hint: `this cluster uses aws-auth only; switch it with: eks-access auth-mode set API_AND_CONFIG_MAP --cluster ${clusterName} --region ${region}`,
          cause: err,
        });
      }
      throw awsError(err, `eks:${op} on ${clusterName}`, hint, reached.url);
    }
  }

  const scopeOf = (s: { type?: string | undefined; namespaces?: string[] | undefined } | undefined): AccessScope =>
    s?.type === "namespace" ? { type: "namespace", namespaces: s.namespaces ?? [] } : { type: "cluster", namespaces: [] };

  async function policiesOf(principalArn: string): Promise<AssociatedPolicy[]> {
    const out: AssociatedPolicy[] = [];
    let nextToken: string | undefined;
    do {
      const page = await call("ListAssociatedAccessPolicies", () => eks.send(new ListAssociatedAccessPoliciesCommand({ clusterName, principalArn, nextToken })));
      for (const p of page.associatedAccessPolicies ?? []) if (p.policyArn) out.push({ policyArn: p.policyArn, accessScope: scopeOf(p.accessScope) });
      nextToken = page.nextToken;
    } while (nextToken);
    return out;
  }

  const store: AccessEntryStore & ClusterUpdates = {
    async cluster(): Promise<ClusterAccess> {
      const c = (await call("DescribeCluster", () => eks.send(new DescribeClusterCommand({ name: clusterName })))).cluster;
      const arn = c?.arn ?? "";
      return {
        name: c?.name ?? clusterName,
        arn,
        account: parseArn(arn)?.account ?? "",
        region,
        endpoint: c?.endpoint ?? "",
        certificateAuthority: c?.certificateAuthority?.data ?? "",
        // clusters made before access entries existed report no accessConfig: they are CONFIG_MAP
        mode: (c?.accessConfig?.authenticationMode as AuthenticationMode | undefined) ?? "CONFIG_MAP",
        bootstrapCreatorAdmin: c?.accessConfig?.bootstrapClusterCreatorAdminPermissions,
      };
    },
    async listPrincipals(): Promise<string[]> {
      const out: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await call("ListAccessEntries", () => eks.send(new ListAccessEntriesCommand({ clusterName, nextToken })));
        out.push(...(page.accessEntries ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      return out;
    },
    async get(principalArn: string): Promise<AccessEntryState | undefined> {
      let entry;
      try {
        entry = (await eks.send(new DescribeAccessEntryCommand({ clusterName, principalArn }))).accessEntry;
      } catch (err) {
        if ((err as { name?: string }).name === "ResourceNotFoundException") {
          // no entry, or no cluster: tell them apart with the cluster's own description
          await store.cluster();
          return undefined;
        }
        return call("DescribeAccessEntry", () => Promise.reject(err));
      }
      if (!entry) return undefined;
      return {
        principalArn: entry.principalArn ?? principalArn,
        type: entry.type ?? "STANDARD",
        username: entry.username ?? "",
        kubernetesGroups: entry.kubernetesGroups ?? [],
        accessEntryArn: entry.accessEntryArn,
        createdAt: iso(entry.createdAt),
        modifiedAt: iso(entry.modifiedAt),
        policies: await policiesOf(principalArn),
      };
    },
    async create(e): Promise<void> {
      await call("CreateAccessEntry", () =>
        eks.send(
          new CreateAccessEntryCommand({
            clusterName,
            principalArn: e.principalArn,
            ...(e.kubernetesGroups.length ? { kubernetesGroups: [...e.kubernetesGroups] } : {}),
            ...(e.username !== undefined ? { username: e.username } : {}),
            ...(e.type ? { type: e.type } : {}),
          }),
        ),
      );
    },
    async update(principalArn, e): Promise<void> {
      await call("UpdateAccessEntry", () =>
        eks.send(new UpdateAccessEntryCommand({ clusterName, principalArn, kubernetesGroups: [...e.kubernetesGroups], ...(e.username !== undefined ? { username: e.username } : {}) })),
      );
    },
    async delete(principalArn): Promise<void> {
      await call("DeleteAccessEntry", () => eks.send(new DeleteAccessEntryCommand({ clusterName, principalArn })));
    },
    async associate(principalArn, policyArn, scope): Promise<void> {
      await call("AssociateAccessPolicy", () =>
        eks.send(
          new AssociateAccessPolicyCommand({
            clusterName,
            principalArn,
            policyArn,
            accessScope: scope.type === "cluster" ? { type: "cluster" } : { type: "namespace", namespaces: [...scope.namespaces] },
          }),
        ),
      );
    },
    async disassociate(principalArn, policyArn): Promise<void> {
      await call("DisassociateAccessPolicy", () => eks.send(new DisassociateAccessPolicyCommand({ clusterName, principalArn, policyArn })));
    },
    async setAuthenticationMode(mode): Promise<string> {
      const r = await call("UpdateClusterConfig", () => eks.send(new UpdateClusterConfigCommand({ name: clusterName, accessConfig: { authenticationMode: mode } })));
      return r.update?.id ?? "";
    },
    async describeUpdate(updateId) {
      const u = (await call("DescribeUpdate", () => eks.send(new DescribeUpdateCommand({ name: clusterName, updateId })))).update;
      return { id: u?.id ?? updateId, status: u?.status ?? "", errors: (u?.errors ?? []).map((e) => `${e.errorCode ?? "error"}: ${e.errorMessage ?? ""}`.trim()) };
    },
  };
  return store;
}
