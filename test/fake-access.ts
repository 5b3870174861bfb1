/**
 * Hand-written fakes of the access ports for the use-case unit tests: an EKS access-entry API over
 * a Map (EKS's own rules are tested on the emulator), and an IAM/Identity Center directory over a
 * list of principals.
 */
import { EksAccessError } from "../src/core/errors.js";
import type { AccessEntryState, AccessScope, AuthenticationMode } from "../src/core/access-entry-plan.js";
import type { AccessEntryStore, ClusterAccess } from "../src/ports/access-entry-store.js";
import type { IamPrincipal, PrincipalDirectory, PrincipalInput, ResolvedPrincipal } from "../src/ports/access.js";

export class FakeEntries implements AccessEntryStore {
  readonly entries = new Map<string, AccessEntryState>();
  readonly calls: string[] = [];
  /** the entries' clock (ISO); each create takes the next second */
  clock = Date.parse("2025-01-01T00:00:00Z");
  /** throws on the n-th write call (1-based), to stop a run halfway */
  failAt: number | undefined;
  private writes = 0;

  constructor(
    public mode: AuthenticationMode,
    readonly account = "111122223333",
  ) {}

  async cluster(): Promise<ClusterAccess> {
    return { name: "prod", arn: `arn:aws:eks:eu-west-1:${this.account}:cluster/prod`, account: this.account, region: "eu-west-1", endpoint: "https://prod.example", certificateAuthority: "", mode: this.mode };
  }
  async listPrincipals(): Promise<string[]> {
    return [...this.entries.keys()];
  }
  async get(principalArn: string): Promise<AccessEntryState | undefined> {
    const e = this.entries.get(principalArn);
    return e && structuredClone(e);
  }
  private write(what: string): void {
    this.calls.push(what);
    if (++this.writes === this.failAt) throw new EksAccessError("aws", `eks: ${what} failed (the fake's failAt)`);
  }
  async create(e: { principalArn: string; username?: string | undefined; kubernetesGroups: readonly string[]; type?: string | undefined }): Promise<void> {
    this.write(`create ${e.principalArn}`);
    if (this.entries.has(e.principalArn)) throw new Error(`ResourceInUseException: ${e.principalArn}`);
    const type = e.type ?? "STANDARD";
    const name = e.principalArn.slice(e.principalArn.lastIndexOf("/") + 1);
    const username = e.username ?? (e.principalArn.includes(":role/") ? `arn:aws:sts::${e.principalArn.split(":")[4]}:assumed-role/${name}/{{SessionName}}` : e.principalArn);
    this.clock += 1000;
    this.entries.set(e.principalArn, { principalArn: e.principalArn, type, username, kubernetesGroups: [...e.kubernetesGroups], createdAt: new Date(this.clock).toISOString(), policies: [] });
  }
  async update(principalArn: string, e: { username?: string | undefined; kubernetesGroups: readonly string[] }): Promise<void> {
    this.write(`update ${principalArn}`);
    const cur = this.entries.get(principalArn)!;
    this.entries.set(principalArn, { ...cur, kubernetesGroups: [...e.kubernetesGroups], ...(e.username !== undefined ? { username: e.username } : {}) });
  }
  async delete(principalArn: string): Promise<void> {
    this.write(`delete ${principalArn}`);
    this.entries.delete(principalArn);
  }
  async associate(principalArn: string, policyArn: string, scope: AccessScope): Promise<void> {
    this.write(`associate ${principalArn} ${policyArn.slice(policyArn.lastIndexOf("/") + 1)}`);
    const cur = this.entries.get(principalArn)!;
    this.entries.set(principalArn, { ...cur, policies: [...cur.policies.filter((p) => p.policyArn !== policyArn), { policyArn, accessScope: scope }] });
  }
  async disassociate(principalArn: string, policyArn: string): Promise<void> {
    this.write(`disassociate ${principalArn}`);
    const cur = this.entries.get(principalArn)!;
    this.entries.set(principalArn, { ...cur, policies: cur.policies.filter((p) => p.policyArn !== policyArn) });
  }
  async setAuthenticationMode(mode: AuthenticationMode): Promise<string> {
    this.mode = mode;
    return "update-1";
  }
}

/** An IAM role or user as the directory answers it. */
export function principal(arn: string, createDate = "2024-06-01T00:00:00.000Z"): IamPrincipal {
  const m = /^arn:(aws[a-z-]*):iam::(\d{12}):(role|user)(\/(?:.*\/)?)?([^/]+)$/.exec(arn)!;
  return { type: m[3] as "role" | "user", arn, partition: m[1]!, account: m[2]!, name: m[5]!, path: m[4] ?? "/", uniqueId: `${m[3] === "role" ? "AROA" : "AIDA"}${m[5]!.toUpperCase().slice(0, 12)}`, createDate };
}

export class FakeDirectory implements PrincipalDirectory {
  readonly lookups: string[] = [];
  constructor(public principals: IamPrincipal[]) {}
  async resolve(input: PrincipalInput): Promise<ResolvedPrincipal[]> {
    if (input.kind !== "arn" && input.kind !== "name") throw new Error(`the fake resolves ARNs and names, not ${input.kind}`);
    const p = this.principals.find((x) => x.arn === input.value || x.name === input.value);
    if (!p) throw new Error(`no principal ${input.value}`);
    return [{ ...p, from: `${p.type} ${p.arn}` }];
  }
  async lookup(arn: string): Promise<IamPrincipal | undefined> {
    this.lookups.push(arn);
    const name = arn.slice(arn.lastIndexOf("/") + 1);
    const account = arn.split(":")[4];
    return this.principals.find((p) => p.name === name && p.account === account && arn.includes(`:${p.type}/`));
  }
  async ssoRoles(account: string): Promise<IamPrincipal[]> {
    return this.principals.filter((p) => p.account === account && p.path.startsWith("/aws-reserved/sso.amazonaws.com/"));
  }
}
