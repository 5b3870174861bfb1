/** The `token` command's flags, shared by the fast-path parser (src/core/flags.ts) and the yargs help. */
import type { FlagSpec as ParserSpec } from "../core/flags.js";

export interface FlagSpec extends ParserSpec {
  describe: string;
}

export const TOKEN_FLAGS = {
  "cluster-name": { type: "string", describe: "Name of the EKS cluster the token is for (signed into the x-k8s-aws-id header)" },
  "cluster-id": { type: "string", describe: "Cluster id instead of name (local clusters on AWS Outposts)" },
  region: { type: "string", describe: "AWS Region of the STS endpoint (default: AWS_REGION, AWS_DEFAULT_REGION, profile region)" },
  profile: { type: "string", describe: "AWS profile to sign with (default: AWS_PROFILE or the default chain)" },
  "role-arn": { type: "string", describe: "Assume this IAM role before signing (session name EKSGetTokenAuth)" },
  "external-id": { type: "string", describe: "External id for --role-arn" },
  "session-name": { type: "string", describe: "Role session name for --role-arn (shows up as {{SessionName}})" },
  output: { type: "string", short: "o", describe: "Output format: json (the ExecCredential kubectl reads)" },
  "no-cache": { type: "boolean", describe: "Do not read or write the token cache (~/.kube/cache/eks-access)" },
  debug: { type: "boolean", describe: "Print on stderr what was resolved (profile, region, credential source, cache files, STS endpoint); never secrets. Also EKS_ACCESS_DEBUG=1" },
} as const satisfies Record<string, FlagSpec>;
