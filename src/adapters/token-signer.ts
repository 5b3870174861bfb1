/**
 * SigV4 query presigning of the token URL with @smithy/signature-v4 (evaluated only on a cache
 * miss), hashing with the SDK's pure-JS SHA-256: the dozen small hashes of one presign cost less
 * than loading node:crypto (~6 ms of a cold `token` call; measured with bench/ and by hand).
 */
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256Js } from "@smithy/core/checksum";
import type { AwsCredentialIdentity } from "@smithy/types";
import { assemblePresignedUrl, encodeToken, CLUSTER_ID_HEADER, OPERATION_QUERY, PRESIGN_EXPIRES_SECONDS } from "../core/token.js";
import type { StsTarget } from "../core/sts-endpoint.js";

export async function presignToken(opts: {
  credentials: AwsCredentialIdentity;
  target: StsTarget;
  clusterIdHeader: string;
  now: Date;
}): Promise<string> {
  const signer = new SignatureV4({
    service: "sts",
    region: opts.target.signingRegion,
    credentials: opts.credentials,
    sha256: Sha256Js,
    uriEscapePath: true,
    applyChecksum: false,
  });
  const url = new URL(opts.target.origin);
  const request = {
    method: "GET",
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: opts.target.path,
    query: Object.fromEntries(OPERATION_QUERY),
    headers: { host: url.host, [CLUSTER_ID_HEADER]: opts.clusterIdHeader },
  };
  const signed = await signer.presign(request, { expiresIn: PRESIGN_EXPIRES_SECONDS, signingDate: opts.now });
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.query ?? {})) {
    if (typeof v !== "string") throw new Error(`unexpected multi-valued query parameter ${k} from the signer`);
    query[k] = v;
  }
  return encodeToken(assemblePresignedUrl(opts.target.origin, opts.target.path, query));
}
