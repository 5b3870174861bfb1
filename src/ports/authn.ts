/**
 * What the TokenReview use cases (usecases/token-review.ts, usecases/authn-backends.ts) need from
 * the outside besides the TokenVerifier (ports/token-review.ts): the mapping backends' current
 * data, IAM and EC2 look-ups, metrics and the log. Types only.
 */
import type { BackendName, MappingBackend } from "../core/mapping/resolve.js";

/** One mapping backend kept current in the background (a file, the aws-auth watch, the EKS API). */
export interface BackendSource {
  readonly name: BackendName;
  /** one line for people, e.g. "kube-system/aws-auth on https://… (watched)" */
  readonly description: string;
  /** the last good mappings, indexed; undefined until the first load */
  current(): MappingBackend | undefined;
  /** begins loading (and watching); resolves once started, not once loaded */
  start(): Promise<void>;
  /** stops any background work (idempotent) */
  close(): void;
}

/** Makes the source of one backend (each is made once, when the backend order first names it). */
export type BackendSourceFactory = (name: BackendName) => Promise<BackendSource>;

/** A role or group as IAM has it: the ARN with its path, and its unique id. */
export interface IamEntity {
  arn: string;
  id: string;
}

/** IAM look-ups for the matches beyond the peer (role paths, IAM groups, SSO permission sets). */
export interface IamCallerDirectory {
  /** the role `name` if its unique id is `uniqueId` (else undefined: another account's, or re-created) */
  role(name: string, uniqueId: string): Promise<IamEntity | undefined>;
  /** the IAM groups of user `name` if its unique id is `uniqueId` (else undefined) */
  groupsOfUser(name: string, uniqueId: string): Promise<IamEntity[] | undefined>;
}

/** ec2:DescribeInstances for {{EC2PrivateDNSName}}. */
export interface Ec2Directory {
  /** the instance's PrivateDnsName; throws a one-line Error when it cannot be found */
  privateDnsName(instanceId: string): Promise<string>;
}

/** aws_iam_authenticator_authenticate_latency_seconds' result label (v0.6.13's values, `uknown_user` sic). */
export type ReviewResult = "success" | "malformed_request" | "invalid_token" | "sts_error" | "sts_throttling" | "uknown_user";

export interface AuthnMetrics {
  /** one answered review: the peer's latency histogram by result, and eks-access's decisions by outcome */
  review(result: ReviewResult, outcome: string, seconds: number): void;
  /** an answer only a match beyond the peer gave */
  improvedMatch(kind: string): void;
  /** a backend's new data refused (the last good kept: 1) or accepted again (0) */
  backendStale(backend: BackendName, stale: boolean): void;
  /** a refused load of a backend's data (an invalid aws-auth, dynamic file, config file) */
  backendLoadFailure(backend: BackendName | "config"): void;
  /** the peer's aws_iam_authenticator_configmap_watch_failures_total */
  configMapWatchFailure(): void;
  /** the peer's aws_iam_authenticator_dynamicfile_failures_total */
  dynamicFileFailure(): void;
  /** the peer's aws_iam_authenticator_ec2_describe_instances_calls_total */
  ec2DescribeInstancesCall(): void;
  /** IAM look-ups of the matches beyond the peer: from the cache, called, failed */
  iamLookup(kind: "role" | "groups", result: "hit" | "call" | "error"): void;
}

/** Structured log lines (the adapter redacts tokens, signatures and secrets). */
export interface AuthnLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}
