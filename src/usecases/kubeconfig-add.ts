/** `kubeconfig add`: the drop-in for `aws eks update-kubeconfig`. */
import { EksAccessError } from "../core/errors.js";
import {
  clusterEntry,
  dumpEntry,
  dumpKubeconfig,
  hasCluster,
  insertClusterUserPair,
  newKubeconfig,
  parseKubeconfig,
  userEntry,
  type ClusterDescription,
  type KubeconfigDoc,
} from "../core/kubeconfig.js";
import type { TextFiles } from "../ports/files.js";

export interface KubeconfigAddInput {
  name: string;
  roleArn?: string | undefined;
  proxyUrl?: string | undefined;
  alias?: string | undefined;
  userAlias?: string | undefined;
  kubeconfig?: string | undefined;
  dryRun: boolean;
  verbose: boolean;
  exec: "aws" | "eks-access";
  /** profile written into the entry (AWS_PROFILE); the lookup profile unless --exec-profile */
  entryProfile?: string | undefined;
}

export interface KubeconfigAddDeps {
  describeCluster(name: string): Promise<ClusterDescription>;
  files: TextFiles;
  /** KUBECONFIG as set in the environment */
  kubeconfigEnv: string | undefined;
  /** a path as the user wrote it → the absolute path (`~` is the home directory; relative to the working directory) */
  resolvePath(path: string): string;
  /** KUBECONFIG's list separator (":", or ";" on Windows) */
  pathSeparator: string;
}

export interface KubeconfigAddOutput {
  stdout: string;
  path: string;
  contextName: string;
  updated: boolean;
}

const ACCEPTED_STATUS = ["ACTIVE", "UPDATING"];

/** --kubeconfig, else every non-empty KUBECONFIG element, else ~/.kube/config; each through the path port. */
export function candidatePaths(input: { kubeconfig?: string | undefined }, deps: Pick<KubeconfigAddDeps, "kubeconfigEnv" | "resolvePath" | "pathSeparator">): string[] {
  if (input.kubeconfig) return [deps.resolvePath(input.kubeconfig)];
  const fromEnv = (deps.kubeconfigEnv ?? "")
    .split(deps.pathSeparator)
    .filter((e) => e.trim().length > 0)
    .map((e) => deps.resolvePath(e));
  return fromEnv.length > 0 ? fromEnv : [deps.resolvePath("~/.kube/config")];
}

function load(files: TextFiles, path: string): KubeconfigDoc {
  const text = files.read(path);
  return text === undefined ? newKubeconfig() : parseKubeconfig(text, path);
}

/** The first file already holding the cluster wins (unreadable candidates are passed over), else the first path. */
export function chooseKubeconfig(paths: string[], clusterName: string, files: TextFiles): { path: string; doc: KubeconfigDoc } {
  for (const path of paths) {
    try {
      const doc = load(files, path);
      if (hasCluster(doc, clusterName)) return { path, doc };
    } catch (err) {
      if (!(EksAccessError.is(err))) throw err;
    }
  }
  const first = paths[0]!;
  return { path: first, doc: load(files, first) };
}

export async function kubeconfigAdd(input: KubeconfigAddInput, deps: KubeconfigAddDeps): Promise<KubeconfigAddOutput> {
  const cluster = await deps.describeCluster(input.name);
  if (!ACCEPTED_STATUS.includes(cluster.status)) {
    throw new EksAccessError("cluster-state", `Cluster status is ${cluster.status}`, {
      hint: `wait until cluster "${cluster.name}" is ACTIVE (aws eks wait cluster-active --name ${cluster.name})`,
    });
  }
  const cEntry = clusterEntry(cluster, input.proxyUrl);
  const uEntry = userEntry(cluster, {
    exec: input.exec,
    roleArn: input.roleArn,
    proxyUrl: input.proxyUrl,
    profile: input.entryProfile,
    userAlias: input.userAlias,
  });
  const { path, doc } = chooseKubeconfig(candidatePaths(input, deps), cEntry.name, deps.files);
  const updated = hasCluster(doc, cEntry.name);
  const context = insertClusterUserPair(doc, cEntry, uEntry, input.alias);
  const text = dumpKubeconfig(doc);
  if (input.dryRun) return { stdout: text, path, contextName: context.name, updated };
  deps.files.writeAtomic(path, text, 0o600);
  let stdout = updated ? `Updated context ${context.name} in ${path}\n` : `Added new context ${context.name} to ${path}\n`;
  if (input.verbose) {
    stdout += "Entries:\n\n";
    for (const e of [context, uEntry, cEntry]) stdout += `${dumpEntry(e)}\n`;
  }
  return { stdout, path, contextName: context.name, updated };
}
