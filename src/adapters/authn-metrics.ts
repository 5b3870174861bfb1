/**
 * `serve`'s Prometheus metrics (prom-client, its own registry, served on GET /metrics):
 *  - aws-iam-authenticator v0.6.13's, same names, labels and buckets (pkg/metrics/metrics.go):
 *    aws_iam_authenticator_authenticate_latency_seconds{result} (success, malformed_request,
 *    invalid_token, sts_error, uknown_user — sic — and sts_throttling, which v0.6.13 lacks and newer
 *    versions add), _configmap_watch_failures_total, _dynamicfile_failures_total,
 *    _sts_connection_failures_total, _sts_responses_total{ResponseCode},
 *    _ec2_describe_instances_calls_total;
 *  - eks-access's: decisions by outcome, matches beyond the peer, mapping loads refused and which
 *    backend runs on its last good data, IAM look-ups, the verified-token cache's hits and misses
 *    and the STS call latency, the cache's size and the STS calls under way;
 *  - Node's process metrics (process_*, nodejs_*).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { BackendName } from "../core/mapping/resolve.js";
import type { AuthnMetrics, ReviewResult } from "../ports/authn.js";

const PEER = "aws_iam_authenticator";
const OURS = "eks_access_authn";

export class PromAuthnMetrics implements AuthnMetrics {
  readonly registry = new Registry();
  private readonly latency = new Histogram({ name: `${PEER}_authenticate_latency_seconds`, help: "Authenticate call latency", labelNames: ["result"], registers: [this.registry] });
  private readonly configMapWatchFailures = new Counter({ name: `${PEER}_configmap_watch_failures_total`, help: "EKS Configmap watch failures", registers: [this.registry] });
  private readonly dynamicFileFailures = new Counter({ name: `${PEER}_dynamicfile_failures_total`, help: "Dynamic file failures", registers: [this.registry] });
  private readonly stsConnectionFailures = new Counter({ name: `${PEER}_sts_connection_failures_total`, help: "Sts call could not succeed or timedout", registers: [this.registry] });
  private readonly stsResponses = new Counter({ name: `${PEER}_sts_responses_total`, help: "Sts responses with error code label", labelNames: ["ResponseCode"], registers: [this.registry] });
  private readonly ec2Calls = new Counter({ name: `${PEER}_ec2_describe_instances_calls_total`, help: "Number of EC2 describe instances calls.", registers: [this.registry] });
  private readonly decisions = new Counter({ name: `${OURS}_decisions_total`, help: "TokenReview answers by outcome (authenticated, not-mapped, template-error, reserved-prefix, format, cluster-id, sts-rejected, sts-throttled, sts-unavailable, not-ready, malformed, internal)", labelNames: ["outcome"], registers: [this.registry] });
  private readonly beyond = new Counter({ name: `${OURS}_beyond_peer_matches_total`, help: "Reviews authenticated only by a match aws-iam-authenticator would not make (role-path, sso-permission-set, iam-group)", labelNames: ["kind"], registers: [this.registry] });
  private readonly loadFailures = new Counter({ name: `${OURS}_mapping_load_failures_total`, help: "New mapping data refused (invalid aws-auth, dynamic file or config file): the last good data is kept", labelNames: ["backend"], registers: [this.registry] });
  private readonly stale = new Gauge({ name: `${OURS}_mapping_stale`, help: "1 while a backend answers from its last good data because its newest version was refused", labelNames: ["backend"], registers: [this.registry] });
  private readonly iam = new Counter({ name: `${OURS}_iam_lookups_total`, help: "IAM look-ups for the matches beyond the peer (hit: from the cache)", labelNames: ["kind", "result"], registers: [this.registry] });
  private readonly cache = new Counter({ name: `${OURS}_token_cache_total`, help: "Verified-token cache look-ups", labelNames: ["result"], registers: [this.registry] });
  private readonly limited = new Counter({ name: `${OURS}_sts_calls_limited_total`, help: "STS calls eks-access's own limits refused (429): per principal, global rate, concurrency", labelNames: ["scope"], registers: [this.registry] });
  private readonly stsLatency = new Histogram({ name: `${OURS}_sts_request_duration_seconds`, help: "STS GetCallerIdentity call latency by HTTP status (error: no answer)", labelNames: ["code"], buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    for (const outcome of ["authenticated", "not-mapped"]) this.decisions.inc({ outcome }, 0);
  }

  review(result: ReviewResult, outcome: string, seconds: number): void {
    this.latency.observe({ result }, seconds);
    this.decisions.inc({ outcome });
  }

  improvedMatch(kind: string): void {
    this.beyond.inc({ kind });
  }

  backendStale(backend: BackendName, stale: boolean): void {
    this.stale.set({ backend }, stale ? 1 : 0);
  }

  backendLoadFailure(backend: BackendName | "config"): void {
    this.loadFailures.inc({ backend });
  }

  configMapWatchFailure(): void {
    this.configMapWatchFailures.inc();
  }

  dynamicFileFailure(): void {
    this.dynamicFileFailures.inc();
  }

  ec2DescribeInstancesCall(): void {
    this.ec2Calls.inc();
  }

  iamLookup(kind: "role" | "groups", result: "hit" | "call" | "error"): void {
    this.iam.inc({ kind, result });
  }

  /** for the verifier: a verified-token cache look-up */
  tokenCache(hit: boolean): void {
    this.cache.inc({ result: hit ? "hit" : "miss" });
  }

  /** for the verifier: one STS call, its HTTP status or "error" (no answer: timeout, unreachable) */
  stsCall(seconds: number, code: number | "error"): void {
    this.stsLatency.observe({ code: String(code) }, seconds);
    if (code === "error") this.stsConnectionFailures.inc();
    else this.stsResponses.inc({ ResponseCode: String(code) });
  }

  /** for the verifier: our own limit refused an STS call */
  stsLimited(scope: string): void {
    this.limited.inc({ scope });
  }

  /** gauges read from the verifier at each scrape: verified tokens cached, STS calls under way */
  watchVerifier(stats: () => { cacheEntries: number; stsCallsInFlight: number }): void {
    new Gauge({ name: `${OURS}_token_cache_entries`, help: "Verified tokens in the cache (bounded by --token-cache-size)", registers: [this.registry], collect() {
      this.set(stats().cacheEntries);
    } });
    new Gauge({ name: `${OURS}_sts_calls_in_flight`, help: "STS calls under way", registers: [this.registry], collect() {
      this.set(stats().stsCallsInFlight);
    } });
  }

  /** the text exposition format, and its content type */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
