/** EKS calls through @aws-sdk/client-eks. */
import { EKSClient, DescribeClusterCommand } from "@aws-sdk/client-eks";
import type { AwsCredentialIdentity } from "@smithy/types";
import { EksAccessError } from "../core/errors.js";
import type { ClusterDescription } from "../core/kubeconfig.js";
import { awsError, recordEndpoint } from "./aws-errors.js";
import { httpClientConfig } from "./http.js";

export interface EksOptions {
  region: string | undefined;
  credentials: AwsCredentialIdentity;
  endpoint?: string | undefined;
}

async function client(opts: EksOptions): Promise<EKSClient> {
  return new EKSClient({
    region: opts.region,
    credentials: opts.credentials,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(await httpClientConfig(process.env)),
  });
}

export async function describeCluster(opts: EksOptions, name: string): Promise<ClusterDescription> {
  const eks = await client(opts);
  const reached = recordEndpoint(eks);
  let cluster;
  try {
    cluster = (await eks.send(new DescribeClusterCommand({ name }))).cluster;
  } catch (err) {
    const e = err as { name?: string; message?: string };
    if (e.name === "ResourceNotFoundException") {
      throw new EksAccessError("not-found", `cluster "${name}" not found in region ${opts.region} (ResourceNotFoundException: ${e.message})`, {
        hint: `check --name and --region (list them with: aws eks list-clusters --region ${opts.region})`,
        cause: err,
      });
    }
    throw awsError(err, `eks:DescribeCluster ${name} failed`, "check your credentials, region and eks:DescribeCluster permission", reached.url);
  }
  if (!cluster || !cluster.status) {
    throw new EksAccessError("not-found", `cluster "${name}" not found`, { hint: "check --name and --region" });
  }
  return {
    name: cluster.name ?? name,
    arn: cluster.arn ?? "",
    endpoint: cluster.endpoint ?? "",
    certificateAuthorityData: cluster.certificateAuthority?.data ?? "",
    status: cluster.status,
    id: cluster.id,
    outpostConfig: cluster.outpostConfig ? { etcdInstanceType: (cluster.outpostConfig as { etcdInstanceType?: string }).etcdInstanceType } : undefined,
  };
}
