/** Where a token's presigned GetCallerIdentity URL points, and the region it is signed for (pure). */
export interface StsTarget {
  /** scheme://host[:port] with no trailing slash */
  origin: string;
  /** the path the request is made to ("/" unless an endpoint override has a path, kept as given) */
  path: string;
  signingRegion: string;
}

/** Partition and DNS suffix by region prefix, as the SDK endpoint rulesets have them (first match wins). */
const PARTITIONS: ReadonlyArray<readonly [prefix: string, partition: string, dnsSuffix: string]> = [
  ["cn-", "aws-cn", "amazonaws.com.cn"],
  ["us-gov-", "aws-us-gov", "amazonaws.com"],
  ["us-isob-", "aws-iso-b", "sc2s.sgov.gov"],
  ["us-iso-", "aws-iso", "c2s.ic.gov"],
  ["eu-isoe-", "aws-iso-e", "cloud.adc-e.uk"],
  ["us-isof-", "aws-iso-f", "csp.hci.ic.gov"],
  ["eusc-", "aws-eusc", "amazonaws.eu"],
];

const partitionEntry = (region: string) => PARTITIONS.find(([prefix]) => region.startsWith(prefix));

export const dnsSuffix = (region: string): string => partitionEntry(region)?.[2] ?? "amazonaws.com";
export const partitionOf = (region: string): string => partitionEntry(region)?.[1] ?? "aws";

/** The DNS suffix of a partition's endpoints ("aws" → amazonaws.com), undefined for an unknown partition id. */
export function partitionDnsSuffix(partition: string): string | undefined {
  if (partition === "aws") return "amazonaws.com";
  return PARTITIONS.find(([, id]) => id === partition)?.[2];
}

/**
 * Regional STS always (as AWS CLI v2 and the SDKs do); the global endpoint only when no region is
 * known, signed for us-east-1. An endpoint override (AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL) replaces
 * the origin and path, and the token then carries that host, exactly as the AWS CLI does.
 */
export function stsTarget(region: string | undefined, endpointOverride?: string): StsTarget {
  const signingRegion = region || "us-east-1";
  if (endpointOverride) {
    const u = new URL(endpointOverride);
    const path = u.pathname === "" ? "/" : u.pathname;
    return { origin: `${u.protocol}//${u.host}`, path, signingRegion };
  }
  const host = region ? `sts.${region}.${dnsSuffix(region)}` : "sts.amazonaws.com";
  return { origin: `https://${host}`, path: "/", signingRegion };
}
