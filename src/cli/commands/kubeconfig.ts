import { homedir } from "node:os";
import { delimiter } from "node:path";
import { awsContext } from "../../compose.js";
import { nodeFiles, userPath } from "../../adapters/files.js";
import { describeCluster } from "../../adapters/eks.js";
import { checkedEndpoint, endpointOverride } from "../../core/aws-env.js";
import { kubeconfigAdd } from "../../usecases/kubeconfig-add.js";

export interface KubeconfigAddArgs {
  name: string;
  region?: string | undefined;
  profile?: string | undefined;
  roleArn?: string | undefined;
  assumeRoleArn?: string | undefined;
  proxyUrl?: string | undefined;
  alias?: string | undefined;
  userAlias?: string | undefined;
  kubeconfig?: string | undefined;
  dryRun?: boolean | undefined;
  verbose?: boolean | undefined;
  exec?: "aws" | "eks-access" | undefined;
  execProfile?: string | undefined;
  endpointUrl?: string | undefined;
}

export async function runKubeconfigAdd(a: KubeconfigAddArgs, env = process.env): Promise<string> {
  const eksEndpoint = a.endpointUrl !== undefined ? checkedEndpoint(a.endpointUrl, "--endpoint-url", "eks") : endpointOverride("eks", env);
  if (a.assumeRoleArn) endpointOverride("sts", env); // read by the SDK's STS client: a bad one fails here, naming the variable
  const ctx = await awsContext({ profile: a.profile, region: a.region, env, assumeRoleArn: a.assumeRoleArn, assumeSessionName: "EKSDescribeClusterSession" });
  const result = await kubeconfigAdd(
    {
      name: a.name,
      roleArn: a.roleArn,
      proxyUrl: a.proxyUrl,
      alias: a.alias,
      userAlias: a.userAlias,
      kubeconfig: a.kubeconfig,
      dryRun: !!a.dryRun,
      verbose: !!a.verbose,
      exec: a.exec ?? "eks-access",
      entryProfile: a.execProfile ?? ctx.namedProfile,
    },
    {
      describeCluster: (name) => describeCluster({ region: ctx.region, credentials: ctx.credentials, endpoint: eksEndpoint }, name),
      files: nodeFiles,
      kubeconfigEnv: env["KUBECONFIG"],
      resolvePath: (p) => userPath(p, env["HOME"] || homedir(), process.cwd()),
      pathSeparator: delimiter,
    },
  );
  return result.stdout;
}
