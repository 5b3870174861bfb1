/**
 * aws-iam-authenticator's configuration, read as v0.6.13's `server` command reads it
 * (cmd/aws-iam-authenticator/root.go getConfig + server.go flags, through viper): a YAML (or JSON)
 * file whose keys are case-insensitive — `clusterID` and the `server.*` keys — and the command's
 * flags. A flag given on the command line wins, then KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID (for
 * the cluster id), then the file, then the flag's default. Mapping rows are decoded like viper's
 * mapstructure: field names case-insensitive (`roleARN` is `rolearn`), unknown fields ignored,
 * numbers taken as text, a comma-separated string as a list. Pure.
 *
 * Checked as the peer checks at start: a cluster id, a known partition, backend modes known and
 * not repeated (the deprecated `File`/`ConfigMap` read as MountedFile/EKSConfigMap), DynamicFile
 * if and only if server.dynamicfilepath, and every server.mapRoles/mapUsers ARN canonicalisable
 * (the MountedFile mapper refuses to start otherwise). `CRD` is not served by eks-access.
 */
import { parse } from "yaml";
import { AUTHENTICATOR_PARTITIONS, canonicalizePrincipal } from "../arn.js";
import { memberOf } from "../dynamic-file.js";
import { EksAccessError, usageError } from "../errors.js";
import type { BackendName, ConfigMappingRow } from "../mapping/resolve.js";

export interface AuthenticatorConfig {
  clusterId: string;
  partition: string;
  address: string;
  port: number;
  /** host of the URL in the generated webhook kubeconfig and the generated certificate's SAN */
  hostname: string;
  /** where cert.pem / key.pem are (generated when missing) */
  stateDir: string;
  /** where the webhook kubeconfig is written at start, unless kubeconfigPregenerated */
  generateKubeconfig: string;
  kubeconfigPregenerated: boolean;
  /** kubeconfig for the EKSConfigMap backend ("" = in-cluster) */
  kubeconfig: string;
  /** API server URL overriding the kubeconfig's */
  master: string;
  backendMode: BackendName[];
  /** accounts whose identities are not logged and get uid aws-iam-authenticator:administrative:<username>, no extra */
  scrubbedAccounts: string[];
  dynamicFilePath: string;
  dynamicFileUserIdStrict: boolean;
  /** a file {"backendMode": "DynamicFile EKSConfigMap"} that changes the backend order at run time */
  dynamicBackendModePath: string;
  mapRoles: ConfigMappingRow[];
  mapUsers: ConfigMappingRow[];
  mapAccounts: string[];
  /** per backend: usernames that must not start with these (server.reservedPrefixConfig) */
  reservedPrefixes: Partial<Record<BackendName, string[]>>;
  /** server.ec2DescribeInstancesRoleARN (read to say it is not supported) */
  ec2DescribeInstancesRoleArn: string;
}

/** The peer's server flags eks-access accepts (undefined: not given on the command line). */
export interface AuthenticatorFlags {
  clusterId?: string | undefined;
  partition?: string | undefined;
  address?: string | undefined;
  port?: number | undefined;
  hostname?: string | undefined;
  stateDir?: string | undefined;
  generateKubeconfig?: string | undefined;
  kubeconfigPregenerated?: boolean | undefined;
  kubeconfig?: string | undefined;
  master?: string | undefined;
  /** comma-separated as the peer's --backend-mode, or repeated */
  backendMode?: readonly string[] | undefined;
}

/** The peer's defaults (server.go, root.go). */
export const PEER_DEFAULTS = {
  port: 21362,
  address: "127.0.0.1",
  partition: "aws",
  stateDir: "/var/aws-iam-authenticator",
  generateKubeconfig: "/etc/kubernetes/aws-iam-authenticator/kubeconfig.yaml",
  backendMode: ["MountedFile"],
} as const;

const VALID_MODES: Readonly<Record<string, BackendName | "CRD">> = {
  MountedFile: "MountedFile",
  File: "MountedFile",
  EKSConfigMap: "EKSConfigMap",
  ConfigMap: "EKSConfigMap",
  DynamicFile: "DynamicFile",
  EKSAccessEntries: "EKSAccessEntries",
  CRD: "CRD",
};

type Doc = Record<string, unknown>;

/** viper's case-insensitive key look-up (the last spelling wins, as in a YAML map read twice). */
const key = memberOf;

const scalarText = (v: unknown): string | undefined => (typeof v === "string" ? v : typeof v === "number" || typeof v === "bigint" || typeof v === "boolean" ? String(v) : undefined);

function bad(path: string, what: string): EksAccessError {
  return new EksAccessError("config", `${path} ${what}`, { hint: "fix the aws-iam-authenticator config file (the same file the peer reads)" });
}

function text(v: unknown, path: string): string {
  if (v === undefined || v === null) return "";
  const s = scalarText(v);
  if (s === undefined) throw bad(path, "is not a string");
  return s;
}

function list(v: unknown, path: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === "string") return v.trim() === "" ? [] : v.split(/[\s,]+/).filter((x) => x !== "");
  if (!Array.isArray(v)) throw bad(path, "is not a list");
  return v.map((x, i) => text(x, `${path}[${i}]`));
}

function bool(v: unknown, path: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === "boolean") return v;
  const s = scalarText(v)?.toLowerCase();
  if (s === "true" || s === "1" || s === "t") return true;
  if (s === "false" || s === "0" || s === "f" || s === "") return false;
  throw bad(path, "is not true or false");
}

function rows(v: unknown, path: string, arnField: "rolearn" | "userarn"): ConfigMappingRow[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(path, "is not a list of mappings");
  return v.map((r, i) => {
    const at = `${path}[${i}]`;
    if (typeof r !== "object" || r === null || Array.isArray(r)) throw bad(at, "is not a mapping (rolearn/userarn, username, groups)");
    const arn = text(key(r, arnField), `${at}.${arnField}`);
    if (arn === "" && key(r, "sso") !== undefined) throw bad(at, "uses `sso:`, which aws-iam-authenticator v0.6.13 does not know: write the role ARN, and see serve --match-sso-permission-sets");
    const c = canonicalizePrincipal(arn.toLowerCase());
    if ("error" in c) throw bad(`${at}.${arnField}`, `is not usable: error canonicalizing ARN: ${c.error}`);
    return { arn, username: text(key(r, "username"), `${at}.username`), groups: list(key(r, "groups"), `${at}.groups`) };
  });
}

/** The file's settings (before flags); throws a one-line EksAccessError for a file the peer would refuse. */
export function parseAuthenticatorConfigFile(source: string, name: string): Doc {
  let doc: unknown;
  try {
    doc = parse(source, { prettyErrors: false });
  } catch (err) {
    throw new EksAccessError("config", `Can't read configuration file ${name}: ${(err as Error).message.split("\n")[0]}`, { hint: "fix its YAML" });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new EksAccessError("config", `configuration file ${name} is not a YAML map (clusterID, server: …)`, { hint: "see aws-iam-authenticator's example config" });
  return doc as Doc;
}

/** Flags over environment over file over defaults, checked as the peer checks them at start. */
export function resolveAuthenticatorConfig(file: Doc, flags: AuthenticatorFlags, env: Readonly<Record<string, string | undefined>>, opts: { clusterIdOptional?: boolean } = {}): AuthenticatorConfig {
  const server = key(file, "server") ?? {};
  if (typeof server !== "object" || server === null || Array.isArray(server)) throw bad("server", "is not a map");
  const s = (name: string): unknown => key(server, name);
  const pick = <T>(flag: T | undefined, fromFile: T | undefined, fallback: T): T => flag ?? fromFile ?? fallback;
  const fileText = (name: string): string | undefined => (s(name) === undefined ? undefined : text(s(name), `server.${name}`));
  const clusterId = flags.clusterId ?? (env["KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID"] || undefined) ?? (key(file, "clusterID") === undefined ? "" : text(key(file, "clusterID"), "clusterID"));
  if (clusterId === "" && !opts.clusterIdOptional) throw usageError("cluster ID cannot be empty", "give --cluster-id (or clusterID in the config file, or KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID): the id tokens are signed for (x-k8s-aws-id), e.g. the EKS cluster name");
  const partition = pick(flags.partition, fileText("partition"), PEER_DEFAULTS.partition);
  if (!AUTHENTICATOR_PARTITIONS.includes(partition)) throw usageError(`Invalid partition ${partition}`, `use one of ${AUTHENTICATOR_PARTITIONS.join(", ")}`);
  const portText = flags.port ?? (s("port") === undefined ? undefined : Number(text(s("port"), "server.port")));
  const port = portText ?? PEER_DEFAULTS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`port ${String(portText)} is not a port number`, "use 0-65535 (0: any free port)");
  const modes = flags.backendMode ? flags.backendMode.flatMap((m) => m.split(",")).map((m) => m.trim()).filter((m) => m !== "") : s("backendMode") !== undefined ? list(s("backendMode"), "server.backendMode") : [...PEER_DEFAULTS.backendMode];
  const backendMode = checkBackendModes(modes);
  const dynamicFilePath = fileText("dynamicfilepath") ?? "";
  if (backendMode.includes("DynamicFile") && dynamicFilePath === "") throw usageError("dynamicfile is set in backend-mode but dynamicfilepath is not set", "set server.dynamicfilepath in the config file");
  if (!backendMode.includes("DynamicFile") && dynamicFilePath !== "") {
    throw usageError("dynamicfile is not set in backend-mode but dynamicfilepath is set", "add DynamicFile to --backend-mode (server.backendMode), or remove server.dynamicfilepath");
  }
  const reservedPrefixes: AuthenticatorConfig["reservedPrefixes"] = {};
  const rpc = s("reservedPrefixConfig");
  if (rpc !== undefined && rpc !== null) {
    if (!Array.isArray(rpc)) throw bad("server.reservedPrefixConfig", "is not a list");
    rpc.forEach((c, i) => {
      const mode = VALID_MODES[text(key(c, "backendMode"), `server.reservedPrefixConfig[${i}].backendmode`)];
      if (mode && mode !== "CRD") reservedPrefixes[mode] = list(key(c, "usernamePrefixReserveList"), `server.reservedPrefixConfig[${i}].usernamePrefixReserveList`);
    });
  }
  return {
    clusterId,
    partition,
    address: pick(flags.address, fileText("address"), PEER_DEFAULTS.address),
    port,
    hostname: pick(flags.hostname, fileText("hostname"), ""),
    stateDir: pick(flags.stateDir, fileText("stateDir"), PEER_DEFAULTS.stateDir),
    generateKubeconfig: pick(flags.generateKubeconfig, fileText("generateKubeconfig"), PEER_DEFAULTS.generateKubeconfig),
    kubeconfigPregenerated: flags.kubeconfigPregenerated ?? bool(s("kubeconfigPregenerated"), "server.kubeconfigPregenerated"),
    kubeconfig: pick(flags.kubeconfig, fileText("kubeconfig"), ""),
    master: pick(flags.master, fileText("master"), ""),
    backendMode,
    scrubbedAccounts: list(s("scrubbedAccounts"), "server.scrubbedAccounts"),
    dynamicFilePath,
    dynamicFileUserIdStrict: bool(s("dynamicfileUserIDStrict"), "server.dynamicfileUserIDStrict"),
    dynamicBackendModePath: fileText("dynamicBackendModePath") ?? "",
    mapRoles: rows(s("mapRoles"), "server.mapRoles", "rolearn"),
    mapUsers: rows(s("mapUsers"), "server.mapUsers", "userarn"),
    mapAccounts: list(s("mapAccounts"), "server.mapAccounts"),
    reservedPrefixes,
    ec2DescribeInstancesRoleArn: fileText("ec2DescribeInstancesRoleARN") ?? "",
  };
}

/** mapper.ValidateBackendMode, with the deprecated names mapped and CRD refused. */
export function checkBackendModes(modes: readonly string[]): BackendName[] {
  if (modes.length === 0) throw usageError("at least one backend-mode must be specified", "e.g. --backend-mode MountedFile,EKSConfigMap");
  const out: BackendName[] = [];
  for (const m of modes) {
    const mode = VALID_MODES[m];
    if (mode === undefined) throw usageError(`backend-mode "${m}" is not a valid mode`, "use MountedFile, EKSConfigMap, DynamicFile or EKSAccessEntries");
    if (mode === "CRD") throw usageError('backend-mode "CRD" is not served by eks-access', "move the IAMIdentityMapping objects to aws-auth (EKSConfigMap) or the config file (MountedFile)");
    if (out.includes(mode)) throw usageError(`backend-mode ${JSON.stringify(modes)} has duplicates`, "name each backend once");
    out.push(mode);
  }
  return out;
}

/** The settings a running server takes from a changed file (restartNeeded names the others). */
export const HOT_KEYS = ["mapRoles", "mapUsers", "mapAccounts", "reservedPrefixes", "scrubbedAccounts"] as const satisfies ReadonlyArray<keyof AuthenticatorConfig>;

/** The hot settings of a configuration (what a reload applies), in HOT_KEYS' order. */
export const hotPart = (c: AuthenticatorConfig): Pick<AuthenticatorConfig, (typeof HOT_KEYS)[number]> =>
  Object.fromEntries(HOT_KEYS.map((k) => [k, c[k]])) as Pick<AuthenticatorConfig, (typeof HOT_KEYS)[number]>;

/**
 * The settings a running server takes from a changed file without a restart (mappings, reserved
 * prefixes, scrubbed accounts), and the names of those it cannot (they need one).
 */
export function restartNeeded(before: AuthenticatorConfig, after: AuthenticatorConfig): string[] {
  const hot = new Set<keyof AuthenticatorConfig>(HOT_KEYS);
  return (Object.keys(before) as Array<keyof AuthenticatorConfig>).filter((k) => !hot.has(k) && JSON.stringify(before[k]) !== JSON.stringify(after[k]));
}

/** The backend-mode file the peer watches (server.dynamicBackendModePath): `{"backendMode": "A B"}`. */
export function parseBackendModeFile(source: string): BackendName[] | string {
  let doc: unknown;
  try {
    doc = JSON.parse(source);
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
  const v = key(doc, "backendMode");
  if (typeof v !== "string") return 'no "backendMode" string';
  try {
    return checkBackendModes(v.split(" ").filter((m) => m !== ""));
  } catch (err) {
    return (err as Error).message;
  }
}
