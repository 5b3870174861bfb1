/**
 * The access entries of an EKS cluster, from the EKS API, as `serve` authorizes with them: every
 * entry (ListAccessEntries, all pages), each described (DescribeAccessEntry) with its associated
 * policies (ListAssociatedAccessPolicies, all pages), and the IAM unique id each is bound to —
 * the same AccessEntryView rows the dynamic file gives. Refreshed periodically; a failed refresh
 * keeps the last good set and says so in one line (again only when the failure changes, and once
 * when refreshing works again).
 *
 * Not hammering the API: at most `concurrency` calls in flight; the next refresh starts an
 * interval after the previous one ended (never two at once); node-type entries, which EKS gives no
 * access policies, are not asked for them; an entry's unique id is looked up in IAM once in its
 * lifetime (it cannot change: EKS binds the entry to the id it had when the entry was made).
 *
 * EKS keeps that id but does not show it. IAM shows today's principal, so an entry whose principal
 * was deleted, or deleted and re-created after the entry was made (IAM CreateDate later than the
 * entry's createdAt: a new unique id), matches no one, as on EKS, and is left out with a note. So
 * is a principal of another account, whose unique id this account's IAM cannot look up.
 */
import { parseArn, parsePrincipal } from "../core/arn.js";
import { entryBinding } from "../core/principal.js";
import { dynamicFileFor, type AccessEntryView, type DynamicFileRow } from "../core/dynamic-file.js";
import { formatDuration } from "../core/duration.js";
import { EksAccessError } from "../core/errors.js";
import { mapLimit } from "../core/map-limit.js";
import { indexByPrincipalId } from "../core/subject-access.js";
import type { AccessEntrySource, DescribedAccessEntry, EksAccessEntryApi } from "../ports/access-entries.js";
import type { PrincipalDirectory } from "../ports/access.js";

/** Entry types EKS refuses access policies for. */
const NODE_TYPES = new Set(["EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "HYBRID_LINUX", "HYPERPOD_LINUX"]);

/** More pages than any cluster has (the quota is in the thousands, 100 a page): a token loop, not data. */
const MAX_PAGES = 1000;

export interface EksAccessEntriesDeps {
  eks: EksAccessEntryApi;
  iam: Pick<PrincipalDirectory, "lookup">;
  /** one line each, never a secret */
  log(line: string): void;
  /** runs `fn` once after `ms`; returns what cancels it */
  schedule(fn: () => void, ms: number): () => void;
}

export interface EksAccessEntriesOptions {
  cluster: string;
  region: string;
  intervalMs: number;
  /** calls in flight at most (default 4) */
  concurrency?: number;
}

const entriesText = (n: number): string => `${n} ${n === 1 ? "entry" : "entries"}`;

async function allPages<T>(page: (token: string | undefined) => Promise<{ items: T[]; nextToken?: string | undefined } | undefined>, what: string): Promise<T[] | undefined> {
  const items: T[] = [];
  let token: string | undefined;
  for (let n = 0; n < MAX_PAGES; n++) {
    const p = await page(token);
    if (p === undefined) return undefined;
    items.push(...p.items);
    if (!p.nextToken) return items;
    token = p.nextToken;
  }
  throw new EksAccessError("aws", `${what}: more than ${MAX_PAGES} pages (the nextToken never ends)`);
}

export class EksAccessEntries implements AccessEntrySource {
  readonly description: string;
  private index: ReadonlyMap<string, DynamicFileRow> = new Map();
  private entries = 0;
  /** accessEntryArn → the unique id it is bound to, or null: it matches no one */
  private readonly ids = new Map<string, string | null>();
  private readonly noted = new Set<string>();
  private signature = "";
  private failure: string | undefined;
  private cancel: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly deps: EksAccessEntriesDeps,
    private readonly opts: EksAccessEntriesOptions,
  ) {
    this.description = `EKS cluster ${opts.cluster} (${opts.region}), refreshed every ${formatDuration(opts.intervalMs)}`;
  }

  current(): ReadonlyMap<string, DynamicFileRow> {
    return this.index;
  }

  /** The first load (its failure is the caller's: `serve` does not start without access entries), then the refresh loop. */
  async start(): Promise<void> {
    await this.refreshOrThrow();
    this.loop();
  }

  close(): void {
    this.closed = true;
    this.cancel?.();
  }

  /** One refresh; false (and the last good set kept) when it failed. */
  async refresh(): Promise<boolean> {
    try {
      await this.refreshOrThrow();
      return true;
    } catch (err) {
      const problem = err instanceof Error ? err.message.split("\n")[0]! : String(err);
      if (problem !== this.failure) this.deps.log(`${this.prefix()}: refresh failed: ${problem}; keeping the last good set (${entriesText(this.entries)})`);
      this.failure = problem;
      return false;
    }
  }

  private loop(): void {
    if (this.closed) return;
    this.cancel = this.deps.schedule(() => {
      void this.refresh().then(() => this.loop());
    }, this.opts.intervalMs);
  }

  private prefix(): string {
    return `access entries of EKS cluster ${this.opts.cluster}`;
  }

  private note(key: string, line: string): void {
    if (this.noted.has(key)) return;
    this.noted.add(key);
    this.deps.log(`${this.prefix()}: ${line}`);
  }

  private async refreshOrThrow(): Promise<void> {
    const arns = (await allPages((t) => this.deps.eks.listAccessEntries(t), `eks:ListAccessEntries ${this.opts.cluster}`))!;
    const views = (await mapLimit(arns, this.opts.concurrency ?? 4, (arn) => this.view(arn))).filter((v): v is AccessEntryView => v !== undefined);
    this.index = indexByPrincipalId(dynamicFileFor(views));
    this.entries = views.length;
    const signature = JSON.stringify(views);
    const recovered = this.failure !== undefined;
    this.failure = undefined;
    if (signature !== this.signature || recovered) {
      const withPolicies = views.filter((v) => v.policies.length > 0).length;
      this.deps.log(`${this.prefix()}: ${recovered ? "refreshed again: " : ""}${entriesText(views.length)}, ${withPolicies} with access policies`);
    }
    this.signature = signature;
  }

  /** An entry as the file would hold it, or undefined: gone since it was listed, or matching no one. */
  private async view(principalArn: string): Promise<AccessEntryView | undefined> {
    const d = await this.deps.eks.describeAccessEntry(principalArn);
    if (d === undefined) return undefined;
    const policies = NODE_TYPES.has(d.type) ? [] : await allPages((t) => this.deps.eks.listAssociatedAccessPolicies(principalArn, t), `eks:ListAssociatedAccessPolicies ${principalArn}`);
    if (policies === undefined) return undefined;
    const principalId = await this.uniqueId(d);
    if (principalId === null) return undefined;
    return { principalArn: d.principalArn, principalId, username: d.username, kubernetesGroups: d.kubernetesGroups, type: d.type, policies };
  }

  private async uniqueId(d: DescribedAccessEntry): Promise<string | null> {
    const known = this.ids.get(d.accessEntryArn);
    if (known !== undefined) return known;
    const id = await this.lookUp(d);
    this.ids.set(d.accessEntryArn, id);
    return id;
  }

  private async lookUp(d: DescribedAccessEntry): Promise<string | null> {
    const skip = (why: string): null => {
      this.note(d.accessEntryArn, `the entry for ${d.principalArn} matches no one and is left out: ${why}`);
      return null;
    };
    const p = parsePrincipal(d.principalArn);
    if (p?.type !== "role" && p?.type !== "user") return skip("not an IAM role or user ARN");
    const clusterAccount = parseArn(d.accessEntryArn)?.account;
    if (clusterAccount !== undefined && p.account !== clusterAccount) {
      return skip(`the principal is in account ${p.account}, not the cluster's ${clusterAccount}, so its unique id can't be looked up here`);
    }
    const now = await this.deps.iam.lookup(d.principalArn);
    const binding = entryBinding({ principalArn: d.principalArn, createdAt: d.createdAt.toISOString() }, now);
    if (!binding.bound) return skip(binding.why === "recreated" ? `${binding.message}; re-create the entry (eks-access access reconcile --cluster ${this.opts.cluster} does)` : binding.message);
    return now!.uniqueId;
  }
}
