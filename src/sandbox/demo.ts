/**
 * Seed 001 ("EKS authentication with IAM roles") run against the sandbox, step by step, with the
 * equivalent AWS CLI / kubectl command printed before each step. IAM calls go through the sandbox's
 * proxy and CA exactly as a user's would; kubectl runs `eks-access token` as its exec plugin.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { IAMClient, CreateUserCommand, CreateAccessKeyCommand, CreateRoleCommand, GetRoleCommand, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { EKSClient, AssociateAccessPolicyCommand, CreateAccessEntryCommand, DescribeClusterCommand, UpdateClusterConfigCommand } from "@aws-sdk/client-eks";
import { EksAccessError } from "../core/errors.js";
import { httpClientConfig } from "../adapters/http.js";
import { postTokenReview } from "./cluster/authenticator.js";
import { poll } from "./emulator/net.js";
import { SANDBOX_UNSET, sandboxEnvironment, type SandboxState } from "./sandbox.js";

export interface DemoResult {
  roleArn: string;
  userArn: string;
  whoami: { username: string; groups: string[] };
  namespaces: string[];
  unmappedError: string;
  /** what the access-entries part saw (undefined on a CONFIG_MAP cluster, which has no access entries) */
  accessEntries?: { viewerWhoami: string; teamAPods: boolean; defaultPodsError: string; deleteError: string; editorGroups: string[]; editorCreated: boolean; awsAuthAfterApi: string } | undefined;
}

type Print = (line: string) => void;

const USER = "kubedemy";
const ROLE = "Kubedemy_EKS_KubernetesAdmin";

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { env, encoding: "utf8", input: input ?? "" });
  if (r.error) throw new EksAccessError("config", `cannot run ${cmd}: ${r.error.message}`, { hint: `install ${cmd} and make sure it is on PATH` });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function must(what: string, r: { status: number; stdout: string; stderr: string }): string {
  if (r.status !== 0) throw new EksAccessError("internal", `${what} failed: ${r.stderr.trim().split("\n").pop()}`);
  return r.stdout;
}

export async function runDemo(state: SandboxState, opts: { binDir: string; cli: string; print: Print; /** switch the cluster to API (one way): only on a sandbox the demo started */ switchToApi?: boolean }): Promise<DemoResult> {
  const { print } = opts;
  // This process becomes a sandbox user too (the SDK reads AWS_CONFIG_FILE etc. from process.env).
  const env = process.env;
  for (const [k, v] of sandboxEnvironment(state, opts.binDir)) env[k] = v;
  for (const k of SANDBOX_UNSET) delete env[k];
  const acct = state.accountId;
  const eksAccess = (args: string[]): string => must(`eks-access ${args.join(" ")}`, sh(process.execPath, [opts.cli, ...args], env));
  const kubectl = (args: string[], input?: string) => sh("kubectl", args, env, input);

  // sandbox-admin is the account's admin (as the identity that created the cluster would be)
  const adminCreds = await import("../adapters/credentials.js").then((m) => m.resolveCredentials({ profile: "sandbox-admin", env }));
  const iam = new IAMClient({ region: state.region, credentials: adminCreds, ...(await httpClientConfig(env)) });

  print(`Seed 001 on the sandbox: EKS authentication with an IAM role (cluster ${state.clusterName}, account ${acct}, authenticator ${state.authenticator})`);
  print("");
  print(`[1/7] Create an IAM user and access key          aws iam create-user --user-name ${USER} && aws iam create-access-key --user-name ${USER}`);
  await existingOk(iam.send(new CreateUserCommand({ UserName: USER, Tags: [{ Key: "owner", Value: "kubedemy" }] })));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: USER }))).AccessKey!;
  const userArn = `arn:aws:iam::${acct}:user/${USER}`;
  print(`      ${userArn} (key ${key.AccessKeyId})`);

  print(`[2/7] Create the role admins assume              aws iam create-role --role-name ${ROLE} --assume-role-policy-document file://trust.json`);
  const trust = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: userArn }, Action: "sts:AssumeRole" }] };
  await existingOk(iam.send(new CreateRoleCommand({ RoleName: ROLE, AssumeRolePolicyDocument: JSON.stringify(trust) })));
  const roleArn = (await iam.send(new GetRoleCommand({ RoleName: ROLE }))).Role!.Arn!;
  print(`      ${roleArn}`);

  print(`[3/7] Allow it eks:DescribeCluster              aws iam put-role-policy --role-name ${ROLE} --policy-name Describe_Cluster ...`);
  const describe = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "eks:DescribeCluster", Resource: state.clusterArn }] };
  await iam.send(new PutRolePolicyCommand({ RoleName: ROLE, PolicyName: "Describe_Cluster", PolicyDocument: JSON.stringify(describe) }));

  print(`[4/7] Map the role in kube-system/aws-auth       kubectl apply -f aws-auth.yaml   (as the cluster admin)`);
  eksAccess(["kubeconfig", "add", "--name", state.clusterName, "--profile", "sandbox-admin", "--alias", "sandbox-admin", "--user-alias", "sandbox-admin"]);
  const awsAuth = [
    "apiVersion: v1",
    "kind: ConfigMap",
    "metadata:",
    "  name: aws-auth",
    "  namespace: kube-system",
    "data:",
    "  mapRoles: |",
    `    - rolearn: ${roleArn}`,
    "      username: admin:{{AccessKeyID}}:{{SessionName}}",
    "      groups:",
    "        - system:masters",
    "",
  ].join("\n");
  for (const line of awsAuth.trimEnd().split("\n")) print(`      ${line}`);
  must("kubectl apply aws-auth", kubectl(["--context", "sandbox-admin", "apply", "-f", "-"], awsAuth));

  print(`[5/7] A profile that assumes the role            ~/.aws/config: [profile KubernetesAdmin] role_arn = ${roleArn}, source_profile = ${USER}`);
  setIniSection(state.awsCredentialsFile, USER, { aws_access_key_id: key.AccessKeyId!, aws_secret_access_key: key.SecretAccessKey! });
  setIniSection(state.awsConfigFile, `profile ${USER}`, { region: state.region });
  setIniSection(state.awsConfigFile, "profile KubernetesAdmin", { role_arn: roleArn, source_profile: USER, role_session_name: USER, region: state.region });

  // The authenticator picks aws-auth up through a watch; wait (bounded) until it maps the role.
  await waitForMapping(state, () => JSON.parse(eksAccess(["token", "--cluster-name", state.clusterName, "--profile", "KubernetesAdmin", "--no-cache"])).status.token);

  print(`[6/7] Write the kubeconfig entry                 eks-access kubeconfig add --name ${state.clusterName} --profile KubernetesAdmin`);
  print(`      ${eksAccess(["kubeconfig", "add", "--name", state.clusterName, "--profile", "KubernetesAdmin", "--alias", "kubernetes-admin"]).trim()}`);

  print("[7/7] Use the cluster through IAM                kubectl auth whoami && kubectl get ns");
  const who = JSON.parse(must("kubectl auth whoami", kubectl(["auth", "whoami", "-o", "json"]))) as { status: { userInfo: { username: string; groups?: string[] } } };
  const whoami = { username: who.status.userInfo.username, groups: who.status.userInfo.groups ?? [] };
  print(`      Username ${whoami.username}`);
  print(`      Groups   ${whoami.groups.join(", ")}`);
  const ns = must("kubectl get ns", kubectl(["get", "ns", "-o", "name"]));
  const namespaces = ns.trim().split("\n").map((l) => l.replace(/^namespace\//, ""));
  print(`      namespaces: ${namespaces.join(" ")}`);

  print("");
  print(`And an identity that is not mapped (the user ${USER} itself, without the role) is refused:`);
  eksAccess(["kubeconfig", "add", "--name", state.clusterName, "--profile", USER, "--alias", "unmapped", "--user-alias", "unmapped"]);
  const denied = kubectl(["--context", "unmapped", "get", "ns"]);
  if (denied.status === 0) throw new EksAccessError("internal", "the unmapped identity was let in");
  const unmappedError = denied.stderr.trim().split("\n").pop() ?? "";
  print(`      kubectl --context unmapped get ns  →  ${unmappedError}`);
  must("kubectl config use-context", kubectl(["config", "use-context", "kubernetes-admin"]));

  const eks = new EKSClient({ region: state.region, credentials: adminCreds, ...(await httpClientConfig(env)) });
  const mode = (await eks.send(new DescribeClusterCommand({ name: state.clusterName }))).cluster?.accessConfig?.authenticationMode;
  let accessEntries: DemoResult["accessEntries"];
  if (mode === "API_AND_CONFIG_MAP" || mode === "API") {
    accessEntries = await accessEntriesPart({ state, print, iam, eks, userArn, eksAccess, kubectl, mode, switchToApi: opts.switchToApi === true });
  } else {
    print("");
    print(`(The cluster's authentication mode is ${mode}: no access entries. eks-access sandbox up --auth-mode API_AND_CONFIG_MAP shows them too.)`);
  }
  print("");
  print(`Done. Try it yourself: eks-access sandbox up; eval "$(eks-access sandbox env)"; kubectl auth whoami`);
  return { roleArn, userArn, whoami, namespaces, unmappedError, accessEntries };
}

type Sh = (args: string[], input?: string) => { status: number; stdout: string; stderr: string };

/** Polls (bounded: 120 × 250 ms) until `probe` holds: the authenticator picks changes up by reloading a file. */
async function until<T>(what: string, probe: () => T, holds: (v: T) => boolean, logs: string): Promise<T> {
  const r = await poll(probe, holds, 120, 250);
  if (r.held) return r.value;
  throw new EksAccessError("internal", `${what} did not happen`, { hint: `see ${logs}` });
}

/** Where the authenticator of the sandbox logs (and the authorizer, when it is a process of its own). */
const authenticatorLogs = (state: SandboxState): string =>
  state.authenticator === "eks-access" ? join(state.dir, "eks-access-serve.log") : `${join(state.dir, "authenticator", "aws-iam-authenticator.log")} and ${join(state.dir, "eks-access-serve.log")}`;

const lastLine = (r: { stderr: string }): string => r.stderr.trim().split("\n").pop() ?? "";

/** Access entries, access policies and the one-way switch to API (issue: the sandbox enforces EKS access control). */
async function accessEntriesPart(c: {
  state: SandboxState;
  print: Print;
  iam: IAMClient;
  eks: EKSClient;
  userArn: string;
  eksAccess: (args: string[]) => string;
  kubectl: Sh;
  mode: string;
  switchToApi: boolean;
}): Promise<NonNullable<DemoResult["accessEntries"]>> {
  const { state, print, iam, eks, kubectl, eksAccess } = c;
  const cluster = state.clusterName;
  const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: c.userArn }, Action: "sts:AssumeRole" }] });
  const asRole = async (name: string): Promise<string> => {
    await existingOk(iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust })));
    setIniSection(state.awsConfigFile, `profile ${name}`, { role_arn: `arn:aws:iam::${state.accountId}:role/${name}`, source_profile: USER, role_session_name: USER, region: state.region });
    eksAccess(["kubeconfig", "add", "--name", cluster, "--profile", name, "--alias", name, "--user-alias", name]);
    return `arn:aws:iam::${state.accountId}:role/${name}`;
  };
  const as = (ctx: string, args: string[]) => kubectl(["--context", ctx, ...args]);
  const whoamiOf = (ctx: string) => {
    const r = as(ctx, ["auth", "whoami", "-o", "json"]);
    return r.status === 0 ? (JSON.parse(r.stdout) as { status: { userInfo: { username: string; groups?: string[] } } }).status.userInfo : undefined;
  };

  print("");
  print(`Access entries (the cluster's authentication mode is ${c.mode}: access entries first, then aws-auth)`);
  must("kubectl create namespace", as("kubernetes-admin", ["create", "namespace", "team-a"]));
  must("kubectl create namespace", as("kubernetes-admin", ["create", "namespace", "team-b"]));
  print(`[1/4] An access entry with AmazonEKSViewPolicy on team-a   aws eks create-access-entry --cluster-name ${cluster} --principal-arn <TeamAViewer role>`);
  print(`                                                             aws eks associate-access-policy ... --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy --access-scope type=namespace,namespaces=team-a`);
  const viewer = await asRole("TeamAViewer");
  await existingOk(eks.send(new CreateAccessEntryCommand({ clusterName: cluster, principalArn: viewer })), "ResourceInUseException");
  await eks.send(new AssociateAccessPolicyCommand({ clusterName: cluster, principalArn: viewer, policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", accessScope: { type: "namespace", namespaces: ["team-a"] } }));
  const who = await until("TeamAViewer's access entry reaching the authenticator", () => whoamiOf("TeamAViewer"), (w) => w !== undefined, authenticatorLogs(state));
  print(`      kubectl auth whoami               →  ${who!.username} (EKS's default username for a role)`);
  const teamA = as("TeamAViewer", ["get", "pods", "-n", "team-a"]);
  print(`      kubectl get pods -n team-a        →  ${teamA.status === 0 ? "allowed (No resources found)" : lastLine(teamA)}`);
  const other = as("TeamAViewer", ["get", "pods", "-n", "default"]);
  print(`      kubectl get pods -n default       →  ${lastLine(other)}`);
  const del = as("TeamAViewer", ["delete", "pod", "web", "-n", "team-a"]);
  print(`      kubectl delete pod web -n team-a  →  ${lastLine(del)}`);

  print(`[2/4] An entry with a Kubernetes group, bound by RBAC        aws eks create-access-entry ... --kubernetes-groups team-b-editors; kubectl create rolebinding ... --clusterrole=edit --group=team-b-editors -n team-b`);
  const editor = await asRole("TeamBEditor");
  await existingOk(eks.send(new CreateAccessEntryCommand({ clusterName: cluster, principalArn: editor, kubernetesGroups: ["team-b-editors"], username: "team-b-editor:{{SessionName}}" })), "ResourceInUseException");
  must("kubectl create rolebinding", as("kubernetes-admin", ["create", "rolebinding", "team-b-editors", "-n", "team-b", "--clusterrole=edit", "--group=team-b-editors"]));
  const ed = await until("TeamBEditor's access entry reaching the authenticator", () => whoamiOf("TeamBEditor"), (w) => w !== undefined, authenticatorLogs(state));
  const made = as("TeamBEditor", ["create", "configmap", "settings", "-n", "team-b"]);
  print(`      kubectl auth whoami               →  ${ed!.username}, groups ${(ed!.groups ?? []).join(", ")}`);
  print(`      kubectl create configmap -n team-b →  ${made.status === 0 ? made.stdout.trim() : lastLine(made)}`);

  let awsAuthAfterApi = "";
  if (c.switchToApi || c.mode === "API") {
    print(`[3/4] Switch the cluster to API (one way: no going back)    aws eks update-cluster-config --name ${cluster} --access-config authenticationMode=API`);
    if (c.mode !== "API") await eks.send(new UpdateClusterConfigCommand({ name: cluster, accessConfig: { authenticationMode: "API" } }));
    const refused = await until("aws-auth being ignored in API mode", () => as("kubernetes-admin", ["get", "ns"]), (r) => r.status !== 0, authenticatorLogs(state));
    awsAuthAfterApi = lastLine(refused);
    print(`[4/4] The aws-auth-only identity (KubernetesAdmin)        kubectl --context kubernetes-admin get ns  →  ${awsAuthAfterApi}`);
    print(`      while the access entries still work: kubectl --context TeamAViewer get pods -n team-a  →  ${as("TeamAViewer", ["get", "pods", "-n", "team-a"]).status === 0 ? "allowed" : "refused"}`);
  } else {
    print("[3/4] Not switching your running sandbox to API: the switch is one way. To see aws-auth stop counting:");
    print(`      aws eks update-cluster-config --name ${cluster} --access-config authenticationMode=API   (or: eks-access sandbox demo on a new sandbox)`);
  }
  // leave kubectl where seed 001 left it (or, once aws-auth no longer counts, on an access entry)
  must("kubectl config use-context", kubectl(["config", "use-context", awsAuthAfterApi ? "TeamAViewer" : "kubernetes-admin"]));
  return {
    viewerWhoami: who!.username,
    teamAPods: teamA.status === 0,
    defaultPodsError: lastLine(other),
    deleteError: lastLine(del),
    editorGroups: ed!.groups ?? [],
    editorCreated: made.status === 0,
    awsAuthAfterApi,
  };
}

async function waitForMapping(state: SandboxState, token: () => string): Promise<void> {
  const webhook = { url: state.authenticatorUrl, caFile: state.authenticatorCaFile, version: "v1beta1" as const };
  for (let i = 0; i < 100; i++) {
    const r = await postTokenReview(webhook, token());
    if (r.status.authenticated) return;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new EksAccessError("internal", `${state.authenticator} did not pick up the aws-auth mapping`, { hint: `see ${authenticatorLogs(state)}` });
}

/** Re-running the demo on a sandbox that already has the user/role/entry reuses them. */
async function existingOk(p: Promise<unknown>, already = "EntityAlreadyExistsException"): Promise<void> {
  try {
    await p;
  } catch (err) {
    if ((err as { name?: string }).name !== already) throw err;
  }
}

/** Replaces (or appends) one [section] of an AWS INI file, keeping the others (file stays 0600). */
function setIniSection(file: string, section: string, values: Record<string, string>): void {
  const text = readFileSync(file, "utf8");
  const kept: string[] = [];
  let skipping = false;
  for (const line of text.split("\n")) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) skipping = header[1]!.trim() === section;
    if (!skipping && line !== "") kept.push(line);
  }
  kept.push(`[${section}]`, ...Object.entries(values).map(([k, v]) => `${k} = ${v}`));
  writeFileSync(file, `${kept.join("\n")}\n`, { mode: 0o600 });
}
