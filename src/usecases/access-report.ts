/**
 * `access list` and `access check`: one snapshot of both systems (access-snapshot.ts), then the
 * pure reports (core/mapping/access-report.ts). Both only read.
 */
import { checkAccess, failsAccessCheck, listAccess, type AccessProblem, type AccessRow } from "../core/mapping/access-report.js";
import type { AuthenticationMode } from "../core/access-entry-plan.js";
import { readAccessSnapshot, type SnapshotDeps, type SnapshotInput } from "./access-snapshot.js";

export interface AccessReportOutput {
  cluster: string;
  region: string;
  mode: AuthenticationMode;
  /** the calls the snapshot made */
  reads: { accessEntries: number; iamLookups: number };
}

export interface AccessListOutput extends AccessReportOutput {
  rows: AccessRow[];
  problems: AccessProblem[];
}

export interface AccessCheckOutput extends AccessReportOutput {
  problems: AccessProblem[];
  /** an error or warning was found (the CLI exits 1) */
  failed: boolean;
}

export async function accessList(deps: SnapshotDeps, input: SnapshotInput = {}): Promise<AccessListOutput> {
  const s = await readAccessSnapshot(deps, input);
  const problems = checkAccess(s);
  return { cluster: s.cluster.name, region: s.cluster.region, mode: s.cluster.mode, reads: s.reads, rows: listAccess(s, problems), problems };
}

export async function accessCheck(deps: SnapshotDeps, input: SnapshotInput = {}): Promise<AccessCheckOutput> {
  const s = await readAccessSnapshot(deps, input);
  const problems = checkAccess(s);
  return { cluster: s.cluster.name, region: s.cluster.region, mode: s.cluster.mode, reads: s.reads, problems, failed: failsAccessCheck(problems) };
}
