import { homedir } from "node:os";
import { delimiter } from "node:path";
import { awsContext } from "../../compose.js";
import { nodeFiles } from "../../adapters/files.js";
import { describeCluster } from "../../adapters/eks.js";
import { endpointOverride } from "../../adapters/aws-config.js";
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
      describeCluster: (name) => describeCluster({ region: ctx.region, credentials: ctx.credentials, endpoint: a.endpointUrl ?? endpointOverride("eks", env) }, name),
      files: nodeFiles,
      kubeconfigEnv: env["KUBECONFIG"],
      home: env["HOME"] || homedir(),
      cwd: process.cwd(),
      pathSeparator: delimiter,
    },
  );
  return result.stdout;
}
