/** Where a token's presigned GetCallerIdentity URL points, and the region it is signed for (pure). */
export interface StsTarget {
  /** scheme://host[:port] with no trailing slash */
  origin: string;
  /** the path the request is made to ("/" unless an endpoint override has a path, kept as given) */
  path: string;
  signingRegion: string;
}

/** DNS suffix per partition, chosen from the region's prefix (as the SDK endpoint rulesets do). */
export function dnsSuffix(region: string): string {
  if (region.startsWith("cn-")) return "amazonaws.com.cn";
  if (region.startsWith("us-isob-")) return "sc2s.sgov.gov";
  if (region.startsWith("us-iso-")) return "c2s.ic.gov";
  if (region.startsWith("eu-isoe-")) return "cloud.adc-e.uk";
  if (region.startsWith("us-isof-")) return "csp.hci.ic.gov";
  if (region.startsWith("eusc-")) return "amazonaws.eu";
  return "amazonaws.com";
}

export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("us-isob-")) return "aws-iso-b";
  if (region.startsWith("us-iso-")) return "aws-iso";
  if (region.startsWith("eu-isoe-")) return "aws-iso-e";
  if (region.startsWith("us-isof-")) return "aws-iso-f";
  if (region.startsWith("eusc-")) return "aws-eusc";
  return "aws";
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
