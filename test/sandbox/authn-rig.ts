/**
 * The bench on which aws-iam-authenticator v0.6.13 and `eks-access serve` are compared (the
 * differential and fault tests): both started by the sandbox's own launchers with the same config
 * file contents (the peer's flags; serve takes them as they are), the same dynamic file and
 * backend-mode file, the same kube-system/aws-auth (one kube-apiserver holds it; both watch it), and
 * the same STS — the sandbox's STS verifier (moto's identities, its own SigV4 check) behind a fault
 * gate (test/sandbox/sts-fault-gate.ts) posing as the real STS host names, reached through the
 * loopback CONNECT proxy and trusted through the test CA. Optionally a kube-apiserver per
 * authenticator, each with it as its token webhook, for kubectl.
 *
 * The identities (IAM users, role sessions, a second account) and the mappings in each backend are
 * fixed here, named by what they exercise: templates, duplicates, mapAccounts, paths, case, unique
 * ids. Start under the e2e lock: the peer binds :21363.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { stringify } from "yaml";
import { IAMClient, CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand, type IAMClientConfig } from "@aws-sdk/client-iam";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { startMoto, type MotoServer } from "../../src/sandbox/emulator/moto.js";
import { startStsVerifier, type StsVerifier } from "../../src/sandbox/emulator/sts-verifier.js";
import { createTestCa, issueLeafCertificate, type TestCa } from "../../src/sandbox/emulator/tls.js";
import { startConnectProxy, type ConnectProxy } from "../../src/sandbox/emulator/connect-proxy.js";
import { freePort } from "../../src/sandbox/emulator/net.js";
import { kubectl, startKube, type KubeEnv } from "../../src/sandbox/cluster/kube.js";
import { locatePeers, type Peers } from "../../src/sandbox/cluster/peers.js";
import { startAwsIamAuthenticator, type AwsIamAuthenticator, type StartAwsIamAuthenticatorOptions } from "../../src/sandbox/cluster/authenticator.js";
import { startEksAccessServe, type EksAccessServe } from "../../src/sandbox/cluster/eks-access-serve.js";
import { cliPath } from "../helpers.js";
import { inMotoAccount } from "../aws-helpers.js";
import { CASE_STS_HOSTS, type CaseCredentials } from "../token-cases.js";
import { startStsFaultGate, type StsFaultGate } from "./sts-fault-gate.js";

export const CLUSTER = "differential";
export const REGION = "us-west-2";
export const ACCT = "123456789012";
/** a second account, mapped whole through mapAccounts */
export const OTHER = "210987654321";

export interface Identity {
  name: string;
  arn: string;
  account: string;
  /** the IAM unique id (AIDA… / AROA…) */
  userId: string;
  creds: CaseCredentials;
  /** role sessions: the session name */
  session?: string;
}

/** The principals the rig makes in moto. */
const USERS = ["alice", "bob", "Carol", "Dup", "erin", "stranger"] as const;
const ROLES: ReadonlyArray<{ name: string; path?: string; session: string }> = [
  { name: "Dev", session: "alice@example.com" },
  { name: "Raw", session: "alice@example.com" },
  { name: "Keyed", session: "k1" },
  { name: "Twice", session: "t1" },
  { name: "Pathy", path: "/teams/", session: "p1" },
  { name: "PathyOk", path: "/teams/", session: "p2" },
  { name: "CaseRole", session: "c1" },
  { name: "Entry", session: "e1" },
  { name: "Stale", session: "s1" },
  { name: "ConfRole", session: "bob@example.com" },
  { name: "AWSReservedSSO_Admin_0123456789abcdef", path: "/aws-reserved/sso.amazonaws.com/us-west-2/", session: "sso-user@example.com" },
];

const user = (account: string, name: string): string => `arn:aws:iam::${account}:user/${name}`;
const role = (account: string, name: string): string => `arn:aws:iam::${account}:role/${name}`;

/** The config file's mappings (MountedFile). */
export const CONFIG_MAPPINGS = {
  mapUsers: [
    { userarn: user(ACCT, "alice"), username: "alice", groups: ["devs"] },
    { userarn: user(ACCT, "Dup"), username: "dup-from-config", groups: ["config"] },
  ],
  mapRoles: [{ rolearn: role(ACCT, "ConfRole"), username: "conf:{{SessionName}}:{{AccountID}}", groups: ["conf-{{AccountID}}", "static"] }],
};

/** kube-system/aws-auth's data (EKSConfigMap), as YAML strings. */
export const AWS_AUTH = {
  mapRoles: stringify([
    { rolearn: role(ACCT, "Dev"), username: "dev:{{SessionName}}", groups: ["devs"] },
    { rolearn: role(ACCT, "Raw"), username: "raw:{{SessionNameRaw}}", groups: ["raw"] },
    { rolearn: role(ACCT, "Keyed"), username: "key:{{AccessKeyID}}:{{AccountID}}", groups: ["keyed"] },
    { rolearn: role(ACCT, "Twice"), username: "twice-first", groups: ["first"] },
    { rolearn: role(ACCT, "Twice"), username: "twice-last", groups: ["last"] },
    // written with the role's path: aws-iam-authenticator compares path-less ARNs, so it never matches (#268)
    { rolearn: role(ACCT, "teams/Pathy"), username: "pathy", groups: ["paths"] },
    { rolearn: role(ACCT, "PathyOk"), username: "pathy-ok:{{SessionName}}", groups: ["paths"] },
    { rolearn: role(ACCT, "CASEROLE"), username: "case-role", groups: ["case"] },
    { rolearn: role(ACCT, "Stale"), username: "stale-from-aws-auth", groups: ["aws-auth"] },
    { rolearn: role(ACCT, "Entry"), username: "entry-from-aws-auth", groups: ["aws-auth"] },
    { rolearn: role(ACCT, "AWSReservedSSO_Admin_0123456789abcdef"), username: "sso:{{SessionNameRaw}}", groups: ["sso-admins"] },
  ]),
  mapUsers: stringify([
    { userarn: user(ACCT, "bob"), username: "bob", groups: ["system:masters"] },
    { userarn: user(ACCT, "carol"), username: "carol-lower", groups: ["case"] },
    { userarn: user(ACCT, "Dup"), username: "dup-from-aws-auth", groups: ["aws-auth"] },
  ]),
  mapAccounts: stringify([OTHER]),
};

export interface Rig {
  dir: string;
  ca: TestCa;
  moto: MotoServer;
  sts: StsVerifier;
  gate: StsFaultGate;
  proxy: ConnectProxy;
  /** holds kube-system/aws-auth; with `apiservers`, serve is its token webhook */
  kube: KubeEnv;
  /** with `apiservers: "both"`: a second kube-apiserver whose token webhook is the peer */
  peerKube?: KubeEnv | undefined;
  readonly peer: AwsIamAuthenticator;
  /** SIGKILL to the peer (v0.6.13 ignores SIGTERM), then the same command line again on the same port; resolves once its /healthz answers */
  restartPeer(): Promise<AwsIamAuthenticator>;
  /** the running serve (restartServe replaces it) */
  readonly serve: EksAccessServe;
  /** SIGTERM to serve (in-flight reviews finish), then the same command line again on the same port */
  restartServe(): Promise<EksAccessServe>;
  /** another serve with the same inputs (config, aws-auth watch, dynamic file, STS route) in its own directory and port: a replica sharing nothing with the first; stopped with the rig */
  startServeReplica(name: string): Promise<EksAccessServe>;
  ids: Record<string, Identity>;
  /** the dynamic file both read (DynamicFile, user-id strict) and the backend-mode file both watch */
  dynamicFile: string;
  backendModeFile: string;
  /** kubectl apply of an aws-auth ConfigMap with this data */
  applyAwsAuth(data: Record<string, string>): Promise<void>;
  /** the environment both authenticators reach STS with */
  stsRoute: Record<string, string>;
  /** with `holdableLink`: both reach the apiserver (their aws-auth watch) through this; while held, new connections wait */
  link?: { hold(): void; release(): void } | undefined;
  stop(): Promise<void>;
}

export interface RigOptions {
  dir: string;
  /** `serve` flags after the peer's */
  serveArgs?: string[];
  /** serve as the token webhook of `kube` ("serve"), and the peer of a second kube-apiserver too ("both") */
  apiservers?: "serve" | "both";
  /** both aws-auth watches go through a TCP link the test can hold (to keep a restarted authenticator from loading aws-auth) */
  holdableLink?: boolean;
  log?: (line: string) => void;
}

/** A TCP forwarder to 127.0.0.1:`port` whose new connections wait while it is held. */
async function holdableLink(port: number): Promise<{ port: number; hold(): void; release(): void; stop(): Promise<void> }> {
  let held = false;
  let waiting: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.once("close", () => sockets.delete(client));
    client.pause();
    const go = (): void => {
      const up = connect(port, "127.0.0.1");
      sockets.add(up);
      up.once("close", () => sockets.delete(up));
      up.on("error", () => client.destroy());
      client.on("error", () => up.destroy());
      client.pipe(up).pipe(client);
      client.resume();
    };
    if (held) waiting.push(go);
    else go();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    hold: () => void (held = true),
    release: () => {
      held = false;
      const w = waiting;
      waiting = [];
      for (const go of w) go();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

async function seedIdentities(motoUrl: string): Promise<Record<string, Identity>> {
  const base: IAMClientConfig = { region: REGION, endpoint: motoUrl, credentials: { accessKeyId: "setup", secretAccessKey: "setup" } };
  const iam = new IAMClient(base);
  const ids: Record<string, Identity> = {};
  const makeUser = async (client: IAMClient, account: string, name: string, key = name): Promise<void> => {
    const u = (await client.send(new CreateUserCommand({ UserName: name }))).User!;
    const k = (await client.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
    ids[key] = { name: key, arn: u.Arn!, account, userId: u.UserId!, creds: { accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey! } };
  };
  for (const name of USERS) await makeUser(iam, ACCT, name);
  const trust = (account: string) => JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "sts:AssumeRole" }] });
  const sts = new STSClient({ region: REGION, endpoint: motoUrl, credentials: ids["alice"]!.creds });
  const assume = async (roleArn: string, roleId: string, account: string, session: string, key: string): Promise<void> => {
    const a = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: session }));
    const c = a.Credentials!;
    ids[key] = { name: key, arn: a.AssumedRoleUser!.Arn!, account, userId: roleId, session, creds: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! } };
  };
  for (const r of ROLES) {
    const made = (await iam.send(new CreateRoleCommand({ RoleName: r.name, Path: r.path, AssumeRolePolicyDocument: trust(ACCT) }))).Role!;
    await assume(made.Arn!, made.RoleId!, ACCT, r.session, r.name);
  }
  // the second account: a user and a role session, both mapped only through mapAccounts
  const other = inMotoAccount(new IAMClient(base), OTHER);
  await makeUser(other, OTHER, "visitor", "other-user");
  const member = (await other.send(new CreateRoleCommand({ RoleName: "Member", AssumeRolePolicyDocument: trust(ACCT) }))).Role!;
  await assume(member.Arn!, member.RoleId!, OTHER, "m1", "other-role");
  return ids;
}

export async function startAuthnRig(o: RigOptions): Promise<Rig> {
  const stops: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const dir = o.dir;
    const peers: Peers = await locatePeers({ build: true });
    const moto = await startMoto();
    stops.push(() => moto.stop());
    const sts = await startStsVerifier({ motoUrl: moto.url });
    stops.push(() => sts.stop());
    const ca = await createTestCa(join(dir, "pki"));
    const stsLeaf = await issueLeafCertificate(ca, { name: "sts", dnsNames: CASE_STS_HOSTS(REGION) });
    const gate = await startStsFaultGate({ tls: { cert: stsLeaf.certPem, key: stsLeaf.keyPem }, stsUrl: sts.url });
    stops.push(() => gate.stop());
    const proxy = await startConnectProxy({ routes: Object.fromEntries(CASE_STS_HOSTS(REGION).map((h) => [`${h}:443`, gate.port])) });
    stops.push(() => proxy.stop());
    const leaf = await issueLeafCertificate(ca, { name: "webhooks", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
    const tls = { certPath: leaf.certPath, keyPath: leaf.keyPath, caPath: ca.certPath };
    const ids = await seedIdentities(moto.url);

    const [servePort, peerPort] = [await freePort(), await freePort()];
    const kube = await startKube({
      dir: join(dir, "kube"),
      peers,
      ...(o.apiservers ? { webhook: { url: `https://127.0.0.1:${servePort}/authenticate`, caFile: ca.certPath, version: "v1" as const, cacheTtl: "0s" } } : {}),
    });
    stops.push(() => kube.stop());
    let peerKube: KubeEnv | undefined;
    if (o.apiservers === "both") {
      peerKube = await startKube({ dir: join(dir, "peer-kube"), peers, webhook: { url: `https://127.0.0.1:${peerPort}/authenticate`, caFile: ca.certPath, version: "v1beta1", cacheTtl: "0s" }, aggregateClusterRoles: false });
      stops.push(() => peerKube!.stop());
    }
    const applyAwsAuth = async (data: Record<string, string>): Promise<void> => {
      const file = join(dir, "aws-auth.yaml");
      writeFileSync(file, stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "aws-auth", namespace: "kube-system" }, data }));
      const r = await kubectl(kube.adminKubeconfig, ["apply", "-f", file]);
      if (r.code !== 0) throw new Error(`kubectl apply aws-auth: ${r.stderr}`);
    };
    await applyAwsAuth(AWS_AUTH);

    let link: Awaited<ReturnType<typeof holdableLink>> | undefined;
    let linkKubeconfig = kube.adminKubeconfig;
    if (o.holdableLink) {
      link = await holdableLink(Number(new URL(kube.server).port));
      stops.push(() => link!.stop());
      linkKubeconfig = join(dir, "linked-admin.kubeconfig");
      writeFileSync(linkKubeconfig, readFileSync(kube.adminKubeconfig, "utf8").replaceAll(kube.server, `https://127.0.0.1:${link.port}`));
    }
    const dynamicFile = join(dir, "access-entries.json");
    writeFileSync(
      dynamicFile,
      JSON.stringify({
        mapRoles: [
          { rolearn: role(ACCT, "Entry"), userid: ids["Entry"]!.userId, username: "entry:{{SessionName}}", groups: ["entries"] },
          // an entry bound to a unique id the role no longer has (deleted and re-created): matches no one
          { rolearn: role(ACCT, "Stale"), userid: "AROAWRONGWRONGWRONG00", username: "stale-entry", groups: ["entries"] },
        ],
        mapUsers: [{ userarn: user(ACCT, "erin"), userid: ids["erin"]!.userId, username: "erin", groups: ["entries"] }],
        mapAccounts: [],
      }),
    );
    const backendModeFile = join(dir, "backend-mode.json");
    const stsRoute = { HTTPS_PROXY: proxy.url, SSL_CERT_FILE: ca.certPath, NO_PROXY: "127.0.0.1,localhost" };
    const inputs = (name: string): Omit<StartAwsIamAuthenticatorOptions, "binary"> => ({
      dir: join(dir, name),
      clusterId: CLUSTER,
      tls,
      backendModes: ["MountedFile", "DynamicFile", "EKSConfigMap"],
      dynamicFile: { path: dynamicFile, userIdStrict: true },
      backendModeFile,
      kubeconfig: linkKubeconfig,
      ...CONFIG_MAPPINGS,
      env: stsRoute,
      ...(o.log ? { log: o.log } : {}),
    });
    const peerOptions = { ...inputs("peer"), binary: peers.awsIamAuthenticator, port: peerPort };
    const serveOptions = { ...inputs("serve"), tls, cli: cliPath, port: servePort, extraArgs: o.serveArgs ?? [] };
    const running = { peer: await startAwsIamAuthenticator(peerOptions) } as { peer: AwsIamAuthenticator; serve: EksAccessServe };
    stops.push(() => running.peer.stop());
    running.serve = await startEksAccessServe(serveOptions);
    stops.push(() => running.serve.stop());
    const rig: Rig = {
      dir, ca, moto, sts, gate, proxy, kube, peerKube, ids, dynamicFile, backendModeFile, applyAwsAuth, stsRoute, stop, link,
      get peer() {
        return running.peer;
      },
      get serve() {
        return running.serve;
      },
      restartPeer: async () => {
        await running.peer.stop();
        running.peer = await startAwsIamAuthenticator(peerOptions);
        return running.peer;
      },
      restartServe: async () => {
        await running.serve.stop();
        running.serve = await startEksAccessServe(serveOptions);
        return running.serve;
      },
      startServeReplica: async (name) => {
        const replica = await startEksAccessServe({ ...inputs(name), tls, cli: cliPath, extraArgs: o.serveArgs ?? [] });
        stops.push(() => replica.stop());
        return replica;
      },
    };
    return rig;
  } catch (err) {
    await stop();
    throw err;
  }
}
