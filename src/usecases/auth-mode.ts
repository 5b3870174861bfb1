/**
 * `auth-mode set API_AND_CONFIG_MAP|API`: changes the cluster's authentication mode the one way EKS
 * allows (CONFIG_MAP → API_AND_CONFIG_MAP → API, never back), after saying what changes.
 * Switching to API is refused while aws-auth gives identities that no access entry stands in for
 * (they would be locked out), unless forced; the update is then followed with DescribeUpdate until
 * it is no longer InProgress (bounded), or its id is reported.
 */
import { AUTHENTICATION_MODES, type AuthenticationMode } from "../core/access-entry-plan.js";
import { EksAccessError } from "../core/errors.js";
import { shellWord } from "../core/mapping/check.js";
import { awsAuthOnlyRows } from "../core/mapping/migrate.js";
import type { AccessEntryStore, ClusterAccess, ClusterUpdates } from "../ports/access-entry-store.js";
import { readAccessSnapshot, type SnapshotDeps } from "./access-snapshot.js";

export interface AuthModeDeps extends SnapshotDeps {
  entries: AccessEntryStore;
  updates: ClusterUpdates;
  /** waits `ms` (between DescribeUpdate calls) */
  sleep(ms: number): Promise<void>;
}

export interface AuthModeInput {
  mode: "API_AND_CONFIG_MAP" | "API";
  /** switch to API even though aws-auth gives identities no access entry stands in for */
  force: boolean;
  dryRun: boolean;
  /** follow the update until it is no longer InProgress (default true) */
  wait?: boolean | undefined;
  /** give up following after this long (default 30 minutes; EKS takes minutes) */
  timeoutMs?: number | undefined;
  /** between DescribeUpdate calls (default 10 s) */
  intervalMs?: number | undefined;
  /** calls in flight while reading the access entries and IAM (access-snapshot's default when absent) */
  concurrency?: number | undefined;
}

/** An aws-auth identity that the switch to API would take away. */
export interface LostIdentity {
  key: string;
  line: number;
  /** the row's ARN, or the account for mapAccounts */
  principal: string;
  username?: string | undefined;
  groups: string[];
}

export interface AuthModeOutput {
  cluster: string;
  region: string;
  from: AuthenticationMode;
  to: AuthenticationMode;
  /** what the switch changes, one line each */
  explanation: string[];
  /** identities only aws-auth gives (switching to API) */
  awsAuthOnly: LostIdentity[];
  dryRun: boolean;
  /** nothing to do: the cluster is in that mode already */
  unchanged: boolean;
  /** the AWS CLI command doing the same */
  command: string;
  update?: { id: string; status: string; errors: string[] } | undefined;
  /** why nothing was changed although the mode differs (the identities aws-auth alone gives), one line */
  refused?: string | undefined;
}

const ONE_WAY = "EKS changes authentication modes one way only: CONFIG_MAP → API_AND_CONFIG_MAP → API, never back.";

function explain(from: AuthenticationMode, to: AuthenticationMode, lost: number): string[] {
  if (to === "API_AND_CONFIG_MAP") {
    return [
      ONE_WAY,
      `${from} → API_AND_CONFIG_MAP: EKS reads access entries first, then aws-auth. Every aws-auth mapping keeps working; an access entry wins over aws-auth for the same principal.`,
      "The access-entry API becomes available (grant --backend access-entry, migrate apply). This cluster can never go back to CONFIG_MAP.",
    ];
  }
  return [
    ONE_WAY,
    `${from} → API: EKS stops reading aws-auth; only access entries authenticate. This cluster can never go back to reading aws-auth.`,
    lost ? `${lost} aws-auth identit${lost === 1 ? "y" : "ies"} no access entry stands in for will stop authenticating.` : "Every identity aws-auth gives has an access entry that already decides it: nobody's identity changes.",
  ];
}

export async function setAuthMode(deps: AuthModeDeps, input: AuthModeInput): Promise<AuthModeOutput> {
  const cluster: ClusterAccess = await deps.entries.cluster();
  const from = cluster.mode;
  const to = input.mode;
  const flags = `--cluster ${shellWord(cluster.name)} --region ${shellWord(cluster.region)}`;
  const command = `aws eks update-cluster-config --name ${shellWord(cluster.name)} --region ${shellWord(cluster.region)} --access-config authenticationMode=${to}`;
  const out: AuthModeOutput = { cluster: cluster.name, region: cluster.region, from, to, explanation: [], awsAuthOnly: [], dryRun: input.dryRun, unchanged: false, command };
  if (from === to) return { ...out, unchanged: true, explanation: [`cluster ${cluster.name} is in ${to} mode already: nothing to do.`] };
  if (AUTHENTICATION_MODES.indexOf(to) < AUTHENTICATION_MODES.indexOf(from)) {
    throw new EksAccessError("cluster-state", `cluster ${cluster.name} is in ${from} mode and cannot go back to ${to}: ${ONE_WAY}`, { hint: "nothing was changed" });
  }
  if (from === "CONFIG_MAP" && to === "API") {
    throw new EksAccessError("cluster-state", `cluster ${cluster.name} is in CONFIG_MAP mode: EKS goes to API only through API_AND_CONFIG_MAP; nothing was changed`, {
      hint: `switch to API_AND_CONFIG_MAP (aws-auth keeps working), migrate, then to API: eks-access auth-mode set API_AND_CONFIG_MAP ${flags}; eks-access migrate apply ${flags}`,
    });
  }
  if (to === "API") {
    const snapshot = await readAccessSnapshot(deps, { concurrency: input.concurrency, cluster });
    if (snapshot.awsAuth.state === "unreadable") {
      throw new EksAccessError("kubernetes", `refusing to switch cluster ${cluster.name} to API unseen: kube-system/aws-auth could not be read (${snapshot.awsAuth.error}); nothing was changed`, { hint: "pass --context for this cluster" });
    }
    out.awsAuthOnly = awsAuthOnlyRows(snapshot).map((e) => ({
      key: e.row!.kind,
      line: e.row!.line,
      principal: e.row!.kind === "mapAccounts" ? (e.row!.account ?? "") : (e.row!.arn ?? ""),
      username: e.row!.username,
      groups: e.row!.groups,
    }));
  }
  out.explanation = explain(from, to, out.awsAuthOnly.length);
  if (out.awsAuthOnly.length && !input.force) {
    const n = out.awsAuthOnly.length;
    const some = out.awsAuthOnly.slice(0, 3).map((l) => l.principal).join(", ");
    out.refused = `refusing to switch cluster ${cluster.name} to API: aws-auth gives ${n} identit${n === 1 ? "y" : "ies"} no access entry stands in for (${some}${n > 3 ? `, and ${n - 3} more` : ""}), which would be locked out; nothing was changed; migrate them first (eks-access migrate apply ${flags}) or add --force`;
    return out; // the shell lists them, then reports the refusal as its error
  }
  if (input.dryRun) return out;
  const id = await deps.entries.setAuthenticationMode(to);
  out.update = { id, status: "InProgress", errors: [] };
  if (input.wait === false || !id) return out;
  const deadline = (input.timeoutMs ?? 30 * 60_000) / (input.intervalMs ?? 10_000);
  for (let n = 0; ; n++) {
    const u = await deps.updates.describeUpdate(id);
    out.update = { id, status: u.status, errors: u.errors };
    if (u.status !== "InProgress" || n >= deadline) break;
    await deps.sleep(input.intervalMs ?? 10_000);
  }
  if (out.update.status === "Failed" || out.update.status === "Cancelled") {
    throw new EksAccessError("aws", `the authentication mode update ${id} of cluster ${cluster.name} ${out.update.status.toLowerCase()}: ${out.update.errors.join("; ") || "no reason given"}`, {
      hint: `see: aws eks describe-update --name ${shellWord(cluster.name)} --region ${shellWord(cluster.region)} --update-id ${id}`,
    });
  }
  return out;
}
