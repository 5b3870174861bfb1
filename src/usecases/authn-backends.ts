/**
 * The TokenReview server's mapping backends in their order: the configured one (server.backendMode
 * / --backend-mode), or the one a backend-mode file names while it exists
 * (server.dynamicBackendModePath, as the peer: a changed file re-orders without a restart, a
 * deleted one brings the configured order back, an invalid one changes nothing). A backend's
 * source is made and started the first time an order names it and kept until close. Ready once
 * every backend of the current order has loaded once (`/readyz`). Until then reviews see only the
 * backends before the first one not loaded yet (`current()`): an answer from a later backend could
 * be overruled by it a moment later, so the review waits for it instead (`pending()`).
 */
import { dynamicFileBackend, type BackendName, type MappingBackend } from "../core/mapping/resolve.js";
import type { DynamicFileRow } from "../core/dynamic-file.js";
import type { AccessEntrySource } from "../ports/access-entries.js";
import type { AuthnLog, BackendSource, BackendSourceFactory } from "../ports/authn.js";

export class AuthnBackends {
  private readonly sources = new Map<BackendName, BackendSource>();
  private order: readonly BackendName[];
  private active: BackendSource[] = [];

  constructor(
    private readonly configured: readonly BackendName[],
    private readonly make: BackendSourceFactory,
    private readonly log: AuthnLog,
  ) {
    this.order = configured;
  }

  /** Starts the configured backends' sources. */
  async start(): Promise<void> {
    await this.use(this.configured);
  }

  /** The order in force: `order`, or the configured one for undefined (a backend-mode file deleted). */
  async setOrder(order: readonly BackendName[] | undefined): Promise<void> {
    const next = order ?? this.configured;
    if (next.join(" ") === this.order.join(" ")) return;
    const from = this.order.join(" ");
    await this.use(next);
    this.log.info("backend mode changed", { from, to: next.join(" "), why: order ? "backend-mode file" : "backend-mode file removed: the configured order" });
  }

  private async use(order: readonly BackendName[]): Promise<void> {
    const list: BackendSource[] = [];
    for (const name of order) {
      let s = this.sources.get(name);
      if (!s) {
        s = await this.make(name);
        this.sources.set(name, s);
        await s.start();
      }
      list.push(s);
    }
    this.order = order;
    this.active = list;
  }

  get names(): readonly BackendName[] {
    return this.order;
  }

  /**
   * The backends of the order with their last good data, up to the first one that has not loaded
   * yet: what may answer a review now (a match there is final, whatever the later ones hold).
   */
  current(): MappingBackend[] {
    const out: MappingBackend[] = [];
    for (const s of this.active) {
      const b = s.current();
      if (!b) break;
      out.push(b);
    }
    return out;
  }

  /** The names of the order's backends that have not loaded yet (empty once ready). */
  pending(): BackendName[] {
    return this.active.filter((s) => s.current() === undefined).map((s) => s.name);
  }

  /** The backends of the order that have not loaded yet, as "Name (description)". */
  notReady(): string[] {
    return this.active.filter((s) => s.current() === undefined).map((s) => `${s.name} (${s.description})`);
  }

  describe(): string[] {
    return this.active.map((s) => `${s.name}: ${s.description}`);
  }

  close(): void {
    for (const s of this.sources.values()) s.close();
  }
}

/**
 * The EKSAccessEntries backend over an access-entry source (the EKS API, refreshed; or a file):
 * rows by unique id, re-indexed only when the source's set changes.
 */
export function accessEntriesBackendSource(entries: AccessEntrySource): BackendSource {
  let seen: ReadonlyMap<string, DynamicFileRow> | undefined;
  let indexed: MappingBackend | undefined;
  return {
    name: "EKSAccessEntries",
    description: entries.description,
    current() {
      const now = entries.current();
      if (now !== seen) {
        seen = now;
        const rows = [...now.values()];
        indexed = dynamicFileBackend({ mapRoles: rows.filter((r) => r.rolearn !== undefined), mapUsers: rows.filter((r) => r.rolearn === undefined), mapAccounts: [] }, { userIdStrict: true, name: "EKSAccessEntries" });
      }
      return indexed;
    },
    start: () => Promise.resolve(),
    close: () => entries.close(),
  };
}
