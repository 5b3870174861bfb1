/**
 * The `aws eks update-kubeconfig` merge model, on `yaml` Documents so comments, key order and unknown
 * fields of the user's file survive (pure: text in, text out).
 *
 * Rules (awscli/customizations/eks/kubeconfig.py): a missing or empty file starts as the CLI's
 * skeleton; the top-level keys have fixed types; an entry with the same name is replaced in place,
 * else appended; the context is named by the alias or the user name; current-context is set.
 */
import { Document, isMap, isSeq, isScalar, parseAllDocuments, parseDocument, Scalar, YAMLMap, YAMLSeq, type ToStringOptions } from "yaml";
import { EksAccessError } from "./errors.js";

/** Whether two API server URLs name the same server (trailing slashes and case aside). */
export const sameServer = (a: string, b: string): boolean => a.replace(/\/+$/, "").toLowerCase() === b.replace(/\/+$/, "").toLowerCase();

/** A parsed kubeconfig (a yaml Document, so comments and key order survive). */
export type KubeconfigDoc = Document;

export const EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1";

export interface ClusterEntry {
  cluster: { "certificate-authority-data": string; server: string; "proxy-url"?: string };
  name: string;
}
export interface ExecEnvVar {
  name: string;
  value: string;
}
export interface UserEntry {
  name: string;
  user: { exec: { apiVersion: string; args: string[]; command: string; env?: ExecEnvVar[] } };
}
export interface ContextEntry {
  context: { cluster: string; user: string };
  name: string;
}

/** The parts of DescribeCluster the kubeconfig entries are made from. */
export interface ClusterDescription {
  name: string;
  arn: string;
  endpoint: string;
  certificateAuthorityData: string;
  status: string;
  id?: string | undefined;
  outpostConfig?: { etcdInstanceType?: string | undefined } | undefined;
}

export interface EntryOptions {
  exec: "aws" | "eks-access";
  roleArn?: string | undefined;
  proxyUrl?: string | undefined;
  /** profile to put in the entry's env (AWS_PROFILE) */
  profile?: string | undefined;
  userAlias?: string | undefined;
}

const SKELETON_KEYS: ReadonlyArray<readonly [string, "str" | "seq" | "map"]> = [
  ["apiVersion", "str"],
  ["clusters", "seq"],
  ["contexts", "seq"],
  ["current-context", "str"],
  ["kind", "str"],
  ["preferences", "map"],
  ["users", "seq"],
];

export const DUMP_OPTIONS: ToStringOptions = { indentSeq: false, lineWidth: 0, minContentWidth: 0, singleQuote: true };

export function clusterEntry(c: ClusterDescription, proxyUrl?: string): ClusterEntry {
  return {
    cluster: {
      "certificate-authority-data": c.certificateAuthorityData,
      server: c.endpoint,
      ...(proxyUrl !== undefined ? { "proxy-url": proxyUrl } : {}),
    },
    name: c.arn,
  };
}

/** AWS CLI v2 rule: Outposts local clusters (outpostConfig without etcdInstanceType... see REFERENCE §10) are identified by id. */
export function usesClusterId(c: ClusterDescription): boolean {
  return c.outpostConfig !== undefined && c.outpostConfig !== null && !c.outpostConfig.etcdInstanceType;
}

export function userEntry(c: ClusterDescription, opts: EntryOptions): UserEntry {
  const region = c.arn.split(":")[3] ?? "";
  const byId = usesClusterId(c);
  const idFlag = byId ? "--cluster-id" : "--cluster-name";
  const idValue = byId ? (c.id ?? "") : c.name;
  const args =
    opts.exec === "aws"
      ? ["--region", region, "eks", "get-token", idFlag, idValue, "--output", "json", ...(opts.roleArn ? ["--role", opts.roleArn] : [])]
      : ["token", idFlag, idValue, "--region", region, "--output", "json", ...(opts.roleArn ? ["--role-arn", opts.roleArn] : [])];
  return {
    name: opts.userAlias || c.arn,
    user: {
      exec: {
        apiVersion: EXEC_API_VERSION,
        args,
        command: opts.exec === "aws" ? "aws" : "eks-access",
        ...(opts.profile ? { env: [{ name: "AWS_PROFILE", value: opts.profile }] } : {}),
      },
    },
  };
}

export function contextEntry(cluster: ClusterEntry, user: UserEntry, alias?: string): ContextEntry {
  return { context: { cluster: cluster.name, user: user.name }, name: alias || user.name };
}

function corrupted(path: string, detail: string): EksAccessError {
  return new EksAccessError("kubeconfig", `kubeconfig ${path} is not valid: ${detail}`, {
    hint: "fix or move the file (nothing was written), or choose another with --kubeconfig",
  });
}

/** A new document with the AWS CLI's skeleton. */
export function newKubeconfig(): Document {
  return new Document({
    apiVersion: "v1",
    clusters: [],
    contexts: [],
    "current-context": "",
    kind: "Config",
    preferences: {},
    users: [],
  });
}

/** Parses and validates; an empty or all-comment file is a new kubeconfig (as the AWS CLI treats it). */
export function parseKubeconfig(text: string, path: string): Document {
  const doc = parseDocument(text, { keepSourceTokens: false, uniqueKeys: true });
  if (doc.errors.some((e) => e.code === "MULTIPLE_DOCS")) {
    const count = parseAllDocuments(text).length;
    throw corrupted(path, `it contains ${count} YAML documents (separated by ---); a kubeconfig is one document`);
  }
  if (doc.errors.length > 0) throw corrupted(path, `YAML error: ${doc.errors[0]!.message.split("\n")[0]}`);
  if (doc.contents === null || (isScalar(doc.contents) && (doc.contents.value === null || doc.contents.value === undefined))) {
    const fresh = newKubeconfig();
    fresh.commentBefore = doc.commentBefore;
    return fresh;
  }
  if (!isMap(doc.contents)) throw corrupted(path, "the top level is not a mapping");
  const top = doc.contents;
  for (const [key, kind] of SKELETON_KEYS) {
    const node = top.get(key, true);
    if (node === undefined || (isScalar(node) && node.value === null)) continue;
    const ok = kind === "seq" ? isSeq(node) : kind === "map" ? isMap(node) : isScalar(node) && typeof node.value === "string";
    if (!ok) throw corrupted(path, `${key} should be a ${kind === "seq" ? "list" : kind === "map" ? "mapping" : "string"}`);
    if (isSeq(node)) {
      node.items.forEach((item, i) => {
        if (!isMap(item)) throw corrupted(path, `${key}[${i}] is not a mapping`);
      });
    }
  }
  return doc;
}

function seqOf(doc: Document, key: string): YAMLSeq {
  const top = doc.contents as YAMLMap;
  const node = top.get(key, true);
  if (isSeq(node)) {
    node.flow = false; // an empty `users: []` grows into a block list, as kubectl and the AWS CLI write it
    return node;
  }
  const seq = new YAMLSeq();
  top.set(key, seq);
  return seq;
}

const nameOf = (item: unknown): unknown => (isMap(item) ? item.get("name") : undefined);

export function hasCluster(doc: Document, name: string): boolean {
  const node = (doc.contents as YAMLMap).get("clusters", true);
  return isSeq(node) && node.items.some((i) => nameOf(i) === name);
}

function upsert(doc: Document, key: string, entry: { name: string }): void {
  const seq = seqOf(doc, key);
  const node = doc.createNode(entry);
  const at = seq.items.findIndex((i) => nameOf(i) === entry.name);
  if (at >= 0) {
    const old = seq.items[at] as YAMLMap;
    node.commentBefore = old.commentBefore;
    node.comment = old.comment;
    seq.items[at] = node;
  } else {
    seq.items.push(node);
  }
}

/** Inserts cluster + user, makes their context, sets current-context; returns the context. */
export function insertClusterUserPair(doc: Document, cluster: ClusterEntry, user: UserEntry, alias?: string): ContextEntry {
  const context = contextEntry(cluster, user, alias);
  upsert(doc, "clusters", cluster);
  upsert(doc, "users", user);
  upsert(doc, "contexts", context);
  (doc.contents as YAMLMap).set("current-context", new Scalar(context.name)); // plain style, not the old '' quotes
  return context;
}

export function dumpKubeconfig(doc: Document): string {
  return doc.toString(DUMP_OPTIONS);
}

export function dumpEntry(entry: object): string {
  return new Document(entry).toString(DUMP_OPTIONS);
}
