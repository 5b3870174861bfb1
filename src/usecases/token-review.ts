/**
 * One TokenReview (POST /authenticate): the body → the token → the verifier (format, STS, cache)
 * → the caller → the mapping backends in their order (core/mapping/resolve.ts) → the answer, as
 * aws-iam-authenticator v0.6.13 decides it (core/authn/review.ts has the answer shapes).
 *
 * Beyond the peer, and never changing one of its answers: only when the peer's resolution finds
 * no mapping does this look further — IAM's view of the caller (its role's path, its IAM groups,
 * its role's IAM Identity Center permission set; each opt-in) — and resolve again. An identity the
 * peer maps gets exactly the peer's answer, and IAM is asked only about identities the peer would
 * refuse. `{{EC2PrivateDNSName}}` asks EC2 (ec2:DescribeInstances) only when a matched template needs it.
 */
import { AuthnError, type AuthnOutcome } from "../core/authn-error.js";
import { authenticatedReview, callerOf, parseTokenReview, refusal, reviewUser } from "../core/authn/review.js";
import { parsePrincipal } from "../core/arn.js";
import { resolveWithBackends, type CallerIdentity, type MappingBackend, type Resolution } from "../core/mapping/resolve.js";
import type { AuthnLog, AuthnMetrics, Ec2Directory, IamCallerDirectory, ReviewResult } from "../ports/authn.js";
import type { TokenVerifier } from "../ports/token-review.js";

/** The matches beyond the peer, each opt-in (serve --match-role-paths, --match-iam-groups, --match-sso-permission-sets). */
export interface BeyondThePeer {
  rolePaths: boolean;
  iamGroups: boolean;
  ssoPermissionSets: boolean;
}

export interface TokenReviewDeps {
  verifier: TokenVerifier;
  /** the backends in their current order, each with its last good data, up to the first that has not loaded yet */
  backends(): readonly MappingBackend[];
  /**
   * The backends of the order that have not loaded yet (start-up: the aws-auth watch's first list).
   * A caller the loaded ones do not map may be mapped by these: answered 500 (the apiserver retries), not 403.
   */
  pending?(): readonly string[];
  /** accounts whose identities are not logged and get the administrative uid (server.scrubbedAccounts) */
  scrubbedAccounts(): ReadonlySet<string>;
  beyond: BeyondThePeer;
  /** needed when any of `beyond` is on */
  iam?: IamCallerDirectory | undefined;
  /** for {{EC2PrivateDNSName}}; without it such a template refuses the review, as an EC2 error would */
  ec2?: Ec2Directory | undefined;
  metrics: AuthnMetrics;
  log: AuthnLog;
  /** milliseconds, for latencies */
  now(): number;
}

export interface TokenReviewInput {
  body: string;
  /** the client's address, for the log */
  client?: string | undefined;
  /** when the request arrived (deps.now()), so the latency covers reading the body */
  started?: number | undefined;
}

export interface TokenReviewOutput {
  status: number;
  body: string;
}

const RESULT_OF: Readonly<Record<AuthnOutcome, ReviewResult>> = {
  format: "invalid_token",
  "cluster-id": "invalid_token",
  "sts-rejected": "sts_error",
  "sts-throttled": "sts_throttling",
  "sts-unavailable": "sts_error",
};

export async function run(deps: TokenReviewDeps, input: TokenReviewInput): Promise<TokenReviewOutput> {
  const started = input.started ?? deps.now();
  const seconds = (): number => (deps.now() - started) / 1000;
  const base = { path: "/authenticate", client: input.client, method: "POST" };
  const answer = (status: number, body: string, result: ReviewResult, outcome: string): TokenReviewOutput => {
    deps.metrics.review(result, outcome, seconds());
    return { status, body };
  };
  const review = parseTokenReview(input.body);
  if (!review) {
    deps.log.error("could not parse request body", base);
    return answer(400, refusal(400, "expected a request body to be a TokenReview"), "malformed_request", "malformed");
  }
  let caller: CallerIdentity;
  try {
    const sts = await deps.verifier.verify(review.token);
    const c = callerOf(sts);
    if ("error" in c) throw new AuthnError("sts-rejected", c.error);
    caller = c;
  } catch (err) {
    if (!(err instanceof AuthnError)) {
      deps.log.error("token verification failed unexpectedly", { ...base, error: (err as Error).message });
      return answer(500, refusal(500, "internal error while verifying the token"), "sts_error", "internal");
    }
    deps.log.warn("access denied", { ...base, outcome: err.outcome, error: err.message });
    return answer(err.httpStatus, refusal(err.httpStatus, err.message), RESULT_OF[err.outcome], err.outcome);
  }
  const scrubbed = deps.scrubbedAccounts().has(caller.account);
  const who = scrubbed ? base : { ...base, arn: caller.canonicalArn };
  if (!scrubbed) deps.log.info("STS response", { ...base, accesskeyid: caller.accessKeyId, arn: caller.arn, accountid: caller.account, userid: caller.userId, session: caller.sessionName });

  let r: Resolution;
  try {
    r = await resolve(deps, caller);
  } catch (err) {
    deps.log.error("mapping failed unexpectedly", { ...who, error: (err as Error).message });
    return answer(500, refusal(500, "internal error while mapping the identity"), "uknown_user", "internal");
  }
  const pending = !r.mapped && r.reason === "not-mapped" ? (deps.pending?.() ?? []) : [];
  if (pending.length > 0) {
    const reason = `${caller.canonicalArn} is not mapped by the backends loaded so far; ${pending.join(", ")} not loaded yet: the apiserver retries`;
    deps.log.warn("not ready to answer", { ...who, error: reason });
    return answer(500, refusal(500, reason), "uknown_user", "not-ready");
  }
  if (!r.mapped) {
    deps.log.warn("access denied", { ...who, error: r.message });
    return answer(403, refusal(403, r.message), "uknown_user", r.reason);
  }
  const user = reviewUser(caller, r, scrubbed);
  if (r.improvement) deps.metrics.improvedMatch(r.improvement);
  deps.log.info("access granted", { ...who, username: r.username, uid: user.uid, groups: r.groups, backend: r.backend, ...(r.improvement ? { beyondThePeer: r.improvement } : {}) });
  return answer(200, authenticatedReview(review.apiVersion, user), "success", "authenticated");
}

/** The peer's resolution; then, only for what it does not map, EC2's and IAM's view of the caller. */
async function resolve(deps: TokenReviewDeps, caller: CallerIdentity): Promise<Resolution> {
  const backends = deps.backends();
  const sso = { matchSsoPermissionSets: deps.beyond.ssoPermissionSets };
  let id = caller;
  let r = resolveWithBackends(id, backends);
  if (!r.mapped && r.ec2InstanceId !== undefined) {
    if (!deps.ec2) return r;
    try {
      id = { ...id, ec2PrivateDnsName: await deps.ec2.privateDnsName(r.ec2InstanceId) };
    } catch (err) {
      return { mapped: false, reason: "template-error", message: `rendering {{EC2PrivateDNSName}} failed: ${(err as Error).message}`, trace: r.trace };
    }
    r = resolveWithBackends(id, backends);
  }
  if (r.mapped || r.reason !== "not-mapped" || !deps.iam) return r;
  const extras = await iamView(deps, caller);
  if (!extras) return r;
  return resolveWithBackends({ ...id, ...extras }, backends, sso);
}

/** What IAM says of the caller, for the opted-in matches (undefined: nothing to add). */
async function iamView(deps: TokenReviewDeps, caller: CallerIdentity): Promise<Pick<CallerIdentity, "iamRoleArn" | "iamGroups"> | undefined> {
  const iam = deps.iam!;
  const p = parsePrincipal(caller.arn);
  try {
    if (p?.type === "assumed-role" && (deps.beyond.rolePaths || deps.beyond.ssoPermissionSets)) {
      const role = await iam.role(p.roleName, caller.userId);
      return role ? { iamRoleArn: role.arn } : undefined;
    }
    if (p?.type === "user" && deps.beyond.iamGroups) {
      const groups = await iam.groupsOfUser(p.name, caller.userId);
      return groups?.length ? { iamGroups: groups } : undefined;
    }
  } catch (err) {
    deps.log.warn("IAM look-up failed: answering as aws-iam-authenticator would", { arn: caller.canonicalArn, error: (err as Error).message });
  }
  return undefined;
}
