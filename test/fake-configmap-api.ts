/** An in-memory kube-system/aws-auth for the aws-auth store's unit tests (adapter and use cases). */
import { KubeStatusError, type ConfigMapApi, type KubeObject } from "../src/adapters/kube-aws-auth.js";

/** An in-memory apiserver for one ConfigMap, with resourceVersions, and hooks to meddle between calls. */
export class FakeApi implements ConfigMapApi {
  readonly context = "ctx";
  readonly server = "https://127.0.0.1:6443";
  version = 1;
  calls: string[] = [];
  /** runs before a write is judged (another writer sneaking in, or a refusal) */
  beforeWrite: (verb: "create" | "replace") => void = () => {};
  constructor(public stored: KubeObject | undefined) {}
  async get(): Promise<KubeObject | undefined> {
    this.calls.push("get");
    return this.stored && structuredClone(this.stored);
  }
  async create(cm: KubeObject): Promise<KubeObject> {
    this.calls.push("create");
    this.beforeWrite("create");
    if (this.stored) throw new KubeStatusError(409, "AlreadyExists", 'configmaps "aws-auth" already exists');
    this.stored = { ...cm, metadata: { ...cm.metadata, resourceVersion: String(++this.version) } };
    return structuredClone(this.stored);
  }
  async replace(cm: KubeObject): Promise<KubeObject> {
    this.calls.push("replace");
    this.beforeWrite("replace");
    if (cm.metadata?.resourceVersion !== this.stored?.metadata?.resourceVersion) throw new KubeStatusError(409, "Conflict", "the object has been modified; please apply your changes to the latest version and try again");
    this.stored = { ...cm, metadata: { ...cm.metadata, resourceVersion: String(++this.version) } };
    return structuredClone(this.stored);
  }
  /** another writer changes the data (a new resourceVersion) */
  otherWriter(data: Record<string, string>): void {
    this.stored = { ...this.stored!, data, metadata: { ...this.stored!.metadata, resourceVersion: String(++this.version) } };
  }
}

