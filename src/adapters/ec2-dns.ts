/**
 * `{{EC2PrivateDNSName}}` as aws-iam-authenticator fills it: ec2:DescribeInstances of the instance
 * whose id is the caller's session name, its PrivateDnsName (@aws-sdk/client-ec2, loaded on first
 * use). Answers are kept (an instance's private DNS name does not change), bounded; concurrent
 * asks for one instance share one call. Each call counts in
 * aws_iam_authenticator_ec2_describe_instances_calls_total.
 */
import type { AwsCredentialIdentityProvider } from "@smithy/types";
import { ExpiringLru } from "../core/expiring-lru.js";
import type { AuthnMetrics, Ec2Directory } from "../ports/authn.js";
import { awsError } from "./aws-errors.js";
import { httpClientConfig } from "./http.js";

export interface Ec2DnsOptions {
  region: string;
  credentials: AwsCredentialIdentityProvider;
  endpoint?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  metrics: Pick<AuthnMetrics, "ec2DescribeInstancesCall">;
}

export function ec2Directory(opts: Ec2DnsOptions): Ec2Directory {
  const known = new ExpiringLru<string>(50_000);
  const pending = new Map<string, Promise<string>>();
  let client: Promise<{ send(id: string): Promise<string | undefined> }> | undefined;
  const connect = async (): Promise<{ send(id: string): Promise<string | undefined> }> => {
    const { DescribeInstancesCommand, EC2Client } = await import("@aws-sdk/client-ec2");
    const ec2 = new EC2Client({ region: opts.region, credentials: opts.credentials, ...(opts.endpoint ? { endpoint: opts.endpoint } : {}), ...(await httpClientConfig(opts.env)) });
    return {
      async send(id) {
        const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
        return out.Reservations?.[0]?.Instances?.[0]?.PrivateDnsName || undefined;
      },
    };
  };
  return {
    privateDnsName(instanceId: string): Promise<string> {
      const hit = known.get(instanceId, 0);
      if (hit !== undefined) return Promise.resolve(hit);
      let p = pending.get(instanceId);
      if (!p) {
        p = (async () => {
          client ??= connect();
          opts.metrics.ec2DescribeInstancesCall();
          let name: string | undefined;
          try {
            name = await (await client).send(instanceId);
          } catch (err) {
            throw awsError(err, `ec2:DescribeInstances ${instanceId} failed`, "the server's credentials need ec2:DescribeInstances in the nodes' region");
          }
          if (!name) throw new Error(`ec2:DescribeInstances found no private DNS name for ${instanceId}`);
          known.set(instanceId, name, Number.MAX_SAFE_INTEGER);
          return name;
        })().finally(() => pending.delete(instanceId));
        pending.set(instanceId, p);
      }
      return p;
    },
  };
}
