/**
 * The TokenReview exchange of aws-iam-authenticator v0.6.13 (pkg/server/server.go
 * authenticateEndpoint), pure: the request as it reads it, the caller it derives from the STS
 * answer (pkg/token/token.go getIdentityFromSTSResponse), and the answers it writes.
 *
 *  - Request: any JSON value that decodes into a TokenReview (an object, or `null`); only
 *    spec.token is used, apiVersion/kind are not checked (a missing token is refused by the
 *    verifier, 403). Anything else is 400 "expected a request body to be a TokenReview".
 *  - Success, 200: status {authenticated: true, user {username, uid, groups, extra}}, with uid
 *    `aws-iam-authenticator:<account>:<unique id>` and extra {accessKeyId, arn, canonicalArn,
 *    principalId, sessionName} (each a one-item list; v0.6.13 has no
 *    `sigs.k8s.io/aws-iam-authenticator/principalId`, newer versions add it). Empty groups and
 *    extra are left out (Go's omitempty). For a "scrubbed" account: uid
 *    `aws-iam-authenticator:administrative:<username>` and no extra.
 *  - Refusal: the peer's status codes — 403 for a bad token, STS's refusal and an unmapped
 *    identity, 429 for throttling, 500 when STS is unavailable. The peer's body is a TokenReview
 *    {"status":{"user":{}}}, which kube-apiserver never reads on a non-2xx answer: it logs
 *    "Failed to make webhook authenticator request: …" with the message of a metav1.Status body,
 *    else "unknown" (client-go rest.Result.Error, newUnstructuredResponseError). So eks-access
 *    answers a Status (Failure, reason, code) whose message is the one-line reason, never the token.
 * A success carries the request's apiVersion (v1 or v1beta1; v1beta1 otherwise) and kind
 * TokenReview, which the peer leaves empty.
 */
import { canonicalizePrincipal, keepsWholeUserId } from "../arn.js";
import type { CallerIdentity } from "../mapping/resolve.js";

export const REVIEW_VERSIONS = ["authentication.k8s.io/v1", "authentication.k8s.io/v1beta1"] as const;
export type ReviewVersion = (typeof REVIEW_VERSIONS)[number];

export interface ParsedReview {
  apiVersion: ReviewVersion;
  token: string;
}

/** The request body as the peer decodes it, or undefined (400). */
export function parseTokenReview(body: string): ParsedReview | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (doc === null) return { apiVersion: "authentication.k8s.io/v1beta1", token: "" };
  if (typeof doc !== "object" || Array.isArray(doc)) return undefined;
  const d = doc as { apiVersion?: unknown; spec?: unknown };
  if (d.spec !== undefined && d.spec !== null && (typeof d.spec !== "object" || Array.isArray(d.spec))) return undefined;
  const token = (d.spec as { token?: unknown } | null | undefined)?.token;
  if (token !== undefined && token !== null && typeof token !== "string") return undefined;
  const apiVersion = REVIEW_VERSIONS.find((v) => v === d.apiVersion) ?? "authentication.k8s.io/v1beta1";
  return { apiVersion, token: token ?? "" };
}

/** What STS GetCallerIdentity answered (ports/token-review.ts StsIdentity). */
export interface StsAnswer {
  arn: string;
  account: string;
  userId: string;
  accessKeyId: string;
}

/**
 * The caller as the peer derives it from STS's answer, or the reason it refuses it (an STS error,
 * 403): the ARN must canonicalise; a role session's UserId must be "<unique id>:<session>".
 */
export function callerOf(sts: StsAnswer): CallerIdentity | { error: string } {
  const c = canonicalizePrincipal(sts.arn);
  if ("error" in c) return { error: `sts getCallerIdentity failed: ${c.error}` };
  if (!keepsWholeUserId(c.type)) {
    const parts = sts.userId.split(":");
    if (parts.length !== 2) return { error: `sts getCallerIdentity failed: malformed UserID ${JSON.stringify(sts.userId)}` };
    return { arn: sts.arn, canonicalArn: c.canonical, account: sts.account, userId: parts[0]!, sessionName: parts[1]!, accessKeyId: sts.accessKeyId };
  }
  return { arn: sts.arn, canonicalArn: c.canonical, account: sts.account, userId: sts.userId, sessionName: "", accessKeyId: sts.accessKeyId };
}

export interface ReviewUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** The user an authenticated review answers (uid and extra as the peer sets them). */
export function reviewUser(caller: CallerIdentity, mapped: { username: string; groups: readonly string[] }, scrubbed: boolean): ReviewUser {
  const user: ReviewUser = { username: mapped.username };
  user.uid = scrubbed ? `aws-iam-authenticator:administrative:${mapped.username}` : `aws-iam-authenticator:${caller.account}:${caller.userId}`;
  if (mapped.groups.length > 0) user.groups = [...mapped.groups];
  if (!scrubbed) {
    user.extra = {
      accessKeyId: [caller.accessKeyId ?? ""],
      arn: [caller.arn],
      canonicalArn: [caller.canonicalArn ?? caller.arn],
      principalId: [caller.userId],
      sessionName: [caller.sessionName ?? ""],
    };
  }
  if (user.username === "") delete (user as { username?: string }).username;
  return user;
}

const envelope = (apiVersion: ReviewVersion, status: Record<string, unknown>): string =>
  `${JSON.stringify({ apiVersion, kind: "TokenReview", metadata: { creationTimestamp: null }, spec: {}, status })}\n`;

export function authenticatedReview(apiVersion: ReviewVersion, user: ReviewUser): string {
  return envelope(apiVersion, { authenticated: true, user });
}

const REASONS: Readonly<Record<number, string>> = { 400: "BadRequest", 403: "Forbidden", 405: "MethodNotAllowed", 413: "RequestEntityTooLarge", 429: "TooManyRequests", 503: "ServiceUnavailable" };

/** A refusal the apiserver logs: a metav1.Status whose message is the reason (see the top of this file). */
export function refusal(code: number, reason: string): string {
  return `${JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: reason, reason: REASONS[code] ?? "InternalError", code })}\n`;
}
