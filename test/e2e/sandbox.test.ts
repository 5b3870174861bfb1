/**
 * The README's main job end to end: `sandbox up`, `sandbox env`, the seed 001 demo, the SSO role
 * case of seeds 000/002 (with the classic path mistake), and `sandbox down` leaving nothing behind.
 * Real parts only: moto_server, kube-apiserver + etcd, the authenticator (eks-access serve, or the
 * real aws-iam-authenticator: EKS_ACCESS_TEST_AUTHENTICATOR, see sandbox-up.ts), kubectl, the AWS CLI.
 *
 * The user here sits behind a corporate proxy (HTTPS_PROXY, NO_PROXY, a KUBECONFIG of their own)
 * and the sandbox directory holds a stale state file naming a live unrelated process: `sandbox up`
 * must start anyway, and a sandbox shell must still reach "the internet" (127.0.0.2) through the
 * user's proxy. One sandbox serves every test of this file.
 */
import { before, after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync, readdirSync, readlinkSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { parse as parseYaml } from "yaml";
import { baseEnv, cliPath, run, runAsync, runCli, tempDir, type Env } from "../helpers.js";
import { processIdentity } from "../../src/sandbox/state.js";
import { postTokenReview } from "../../src/sandbox/cluster/authenticator.js";
import { startCorporateProxy, startInternet, type CorporateProxy, type Internet } from "../sandbox/loopback-internet.js";
import { evalInShell } from "./shell.js";
import { sandboxUp, TEST_AUTHENTICATOR } from "./sandbox-up.js";

let dir: string;
let cleanup: () => void;
let env: Env; // the environment `sandbox env` describes
let userEnv: Env; // the user's own environment, before `sandbox env`
let daemonPid: number;
let unrelated: ChildProcess; // the process a stale state file names
let up: { status: number; stdout: string; stderr: string };
let internet: Internet;
let corporate: CorporateProxy;

const kubectl = (args: string[], input?: string) => run("kubectl", args, { env, ...(input ? { input } : {}) });
const aws = (...args: string[]) => {
  const r = run("aws", args, { env });
  assert.equal(r.status, 0, `aws ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

before(async () => {
  const t = tempDir("eks-access-sandbox-");
  dir = t.path;
  cleanup = t.cleanup;
  internet = await startInternet(join(dir, "internet"));
  corporate = await startCorporateProxy();
  userEnv = baseEnv({ HOME: process.env["HOME"], HTTPS_PROXY: corporate.url, NO_PROXY: "localhost,.corp.example", KUBECONFIG: join(dir, "users-own-kubeconfig") });

  // a crash or reboot left a state file; its PID now belongs to an unrelated process
  unrelated = spawn("sleep", ["300"], { stdio: "ignore" });
  const sandboxDir = join(dir, "sandbox");
  mkdirSync(sandboxDir, { mode: 0o700 });
  writeFileSync(
    join(sandboxDir, "state.json"),
    JSON.stringify({ version: 1, pid: unrelated.pid, ready: true, dir: sandboxDir, clusterName: "sandbox", daemon: { startTime: "1", cmdline: [process.execPath, cliPath, "sandbox", "daemon", "--dir", sandboxDir] } }),
    { mode: 0o600 },
  );
  dir = sandboxDir;

  up = sandboxUp(dir, userEnv);
  assert.match(up.stdout, new RegExp(`^sandbox up in [\\d.]+s: cluster sandbox \\(https://127\\.0\\.0\\.1:\\d+\\), account 123456789012, region us-west-2, authenticator ${TEST_AUTHENTICATOR}\\n`));
  daemonPid = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).pid;
  const printed = runCli(["sandbox", "env", "--dir", dir], { env: userEnv });
  assert.equal(printed.status, 0, printed.stderr);
  env = await evalInShell(printed.stdout, userEnv);
});

after(async () => {
  runCli(["sandbox", "down", "--dir", dir], { env: baseEnv() });
  unrelated?.kill("SIGKILL");
  await corporate?.stop();
  await internet?.stop();
  cleanup?.();
});

test("sandbox up over a stale state file whose PID was reused: starts a new sandbox, never signals that process", () => {
  assert.match(up.stderr, new RegExp(`removing the state file of a sandbox that is no longer running \\(pid ${unrelated.pid} is not its daemon\\)`));
  assert.notEqual(daemonPid, unrelated.pid);
  assert.equal(unrelated.exitCode, null, "the unrelated process is alive");
  process.kill(unrelated.pid!, 0);
  // the new state file records the daemon's identity
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
  assert.deepEqual(state.daemon, processIdentity(daemonPid));
  assert.ok(state.daemon.cmdline.includes("daemon"));
});

test("sandbox up on the running sandbox says so, naming its authenticator; up or demo asked for the other one refuse and say how", () => {
  const again = runCli(["sandbox", "up", "--dir", dir], { env: userEnv });
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout, `sandbox already running (pid ${daemonPid}, cluster sandbox, authenticator ${TEST_AUTHENTICATOR}) in ${dir}\n`);
  const other = TEST_AUTHENTICATOR === "eks-access" ? "aws-iam-authenticator" : "eks-access";
  const refused = runCli(["sandbox", "up", "--dir", dir, "--authenticator", other], { env: userEnv });
  assert.equal(refused.status, 1);
  assert.equal(refused.stderr, `eks-access: error: the sandbox running in ${dir} authenticates with ${TEST_AUTHENTICATOR}, not ${other}; stop it first: eks-access sandbox down\n`);
  const demo = runCli(["sandbox", "demo", "--dir", dir, "--authenticator", other], { env: userEnv });
  assert.equal(demo.status, 1);
  assert.equal(demo.stderr, refused.stderr, "the demo does not run on a sandbox with another authenticator than asked");
  assert.equal(demo.stdout, "");
  assert.equal(JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).pid, daemonPid, "still the same sandbox");
});

/** Every TCP socket in LISTEN state, by socket inode: its local address and port. */
function listeningSockets(): Map<string, { address: string; port: number; family: string }> {
  const out = new Map<string, { address: string; port: number; family: string }>();
  for (const family of ["tcp", "tcp6"]) {
    for (const line of readFileSync(`/proc/net/${family}`, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== "0A") continue; // 0A = LISTEN
      const [hex, portHex] = f[1]!.split(":") as [string, string];
      let address: string;
      if (family === "tcp") address = hexToIpv4(hex);
      else if (hex.startsWith("0000000000000000FFFF0000")) address = hexToIpv4(hex.slice(24));
      else address = hex === "00000000000000000000000000000000" ? "::" : hex === "00000000000000000000000001000000" ? "::1" : `ipv6:${hex}`;
      out.set(f[9]!, { address, port: parseInt(portHex, 16), family });
    }
  }
  return out;
}

/** /proc/net/tcp writes the address as a little-endian 32-bit hex number. */
const hexToIpv4 = (hex: string): string => [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join(".");

/** The daemon and all its descendants. */
function processTree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      /* gone */
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parent) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

test(`every port the sandbox listens on is on 127.0.0.1 (moto, STS, EKS front, gateway, proxy, etcd, kube-apiserver, ${TEST_AUTHENTICATOR})`, () => {
  const listening = listeningSockets();
  const mine: Array<{ pid: number; command: string; address: string; port: number; family: string }> = [];
  for (const pid of processTree(daemonPid)) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] ?? "";
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      const socket = inode !== undefined ? listening.get(inode) : undefined;
      if (socket) mine.push({ pid, command, ...socket });
    }
  }
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
  const ports = new Set(mine.map((s) => s.port));
  for (const url of [state.motoUrl, state.proxyUrl, state.apiServer, state.authenticatorUrl]) assert.ok(ports.has(Number(new URL(url).port)), `${url} is among the sockets found`);
  assert.ok(mine.some((s) => s.command.endsWith("etcd")), "etcd's sockets are found");
  const beyond = mine.filter((s) => s.address !== "127.0.0.1");
  assert.deepEqual(beyond, [], `listening beyond 127.0.0.1:\n${beyond.map((s) => `${s.command} (pid ${s.pid}) ${s.family} ${s.address}:${s.port}`).join("\n")}`);
});

test("sandbox env: points every client at the sandbox and prints no secret", () => {
  const printed = runCli(["sandbox", "env", "--dir", dir], { env: baseEnv() }).stdout;
  const secret = /aws_secret_access_key = (\S+)/.exec(readFileSync(env["AWS_SHARED_CREDENTIALS_FILE"]!, "utf8"))![1]!;
  assert.ok(!printed.includes(secret), "the admin's secret key stays in the 0600 credentials file");
  assert.equal(statSync(env["AWS_SHARED_CREDENTIALS_FILE"]!).mode & 0o777, 0o600);
  for (const k of ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE", "HTTPS_PROXY", "AWS_CA_BUNDLE", "KUBECONFIG", "AWS_REGION"]) assert.ok(env[k], k);
  assert.match(printed, /^unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY/m);
  assert.match(printed, new RegExp(`^# eks-access sandbox: cluster sandbox, account 123456789012, authenticator ${TEST_AUTHENTICATOR} `));
  // the installed AWS CLI and eks-access both reach the emulated account through the proxy
  assert.match(aws("sts", "get-caller-identity", "--query", "Arn", "--output", "text"), /^arn:aws:iam::123456789012:user\/sandbox-admin\n$/);
  const who = JSON.parse(runCli(["whoami", "-o", "json"], { env }).stdout);
  assert.equal(who.arn, "arn:aws:iam::123456789012:user/sandbox-admin");
});

test("the emulated account also answers Organizations, SSO admin and Identity Store through the proxy", () => {
  const org = JSON.parse(aws("organizations", "create-organization", "--feature-set", "ALL", "--output", "json"));
  assert.match(org.Organization.Id, /^o-[a-z0-9]+$/);
  const accounts = JSON.parse(aws("organizations", "list-accounts", "--output", "json")).Accounts as Array<{ Id: string }>;
  assert.ok(accounts.some((a) => a.Id === "123456789012"));
  const instances = JSON.parse(aws("sso-admin", "list-instances", "--output", "json")).Instances as Array<{ InstanceArn: string; IdentityStoreId: string }>;
  assert.equal(instances.length, 1);
  assert.match(instances[0]!.InstanceArn, /^arn:aws:sso:::instance\/ssoins-/);
  const users = JSON.parse(aws("identitystore", "list-users", "--identity-store-id", instances[0]!.IdentityStoreId, "--output", "json"));
  assert.deepEqual(users.Users, []);
  // what the sandbox seeds for IAM Identity Center (src/sandbox/identity-center.ts), seen through the proxy
  const instanceArn = instances[0]!.InstanceArn;
  const sets = JSON.parse(aws("sso-admin", "list-permission-sets", "--instance-arn", instanceArn, "--output", "json")).PermissionSets as string[];
  const named = Object.fromEntries(sets.map((arn) => [JSON.parse(aws("sso-admin", "describe-permission-set", "--instance-arn", instanceArn, "--permission-set-arn", arn, "--output", "json")).PermissionSet.Name, arn]));
  assert.deepEqual(Object.keys(named).sort(), ["EKSAdmin", "EKSView"]);
  const provisioned = JSON.parse(aws("sso-admin", "list-accounts-for-provisioned-permission-set", "--instance-arn", instanceArn, "--permission-set-arn", named["EKSAdmin"], "--output", "json"));
  assert.deepEqual(provisioned.AccountIds, ["123456789012", "210987654321"]);
  const ssoRoles = JSON.parse(aws("iam", "list-roles", "--path-prefix", "/aws-reserved/sso.amazonaws.com/", "--output", "json")).Roles as Array<{ Arn: string }>;
  assert.deepEqual(ssoRoles.map((r) => r.Arn.replace(/_[0-9a-f]{16}$/, "_<suffix>")).sort(), ["EKSAdmin", "EKSView"].map((ps) => `arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/us-west-2/AWSReservedSSO_${ps}_<suffix>`));
});

test("seed 001 demo: IAM user → role → aws-auth → kubeconfig → kubectl through IAM; unmapped identity refused", () => {
  const r = runCli(["sandbox", "demo", "--dir", dir], { env });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /\[7\/7\].*\n {6}Username admin:ASIA[A-Z0-9]+:kubedemy\n {6}Groups {3}system:masters, system:authenticated\n/);
  assert.match(r.stdout, /namespaces: default kube-node-lease kube-public kube-system\n/);
  assert.match(r.stdout, /kubectl --context unmapped get ns {2}→ {2}error: You must be logged in to the server \(Unauthorized\)\n/);
  // on a sandbox it did not start, the demo shows access entries but leaves the one-way switch to the user
  assert.match(r.stdout, /kubectl get pods -n team-a {8}→ {2}allowed/);
  assert.match(r.stdout, /\[3\/4\] Not switching your running sandbox to API: the switch is one way/);
  // kubectl itself, with the entry `kubeconfig add` wrote, runs eks-access as its exec plugin
  const who = JSON.parse(kubectl(["auth", "whoami", "-o", "json"]).stdout);
  assert.match(who.status.userInfo.username, /^admin:ASIA[A-Z0-9]+:kubedemy$/);
  assert.deepEqual(who.status.userInfo.extra.arn, [`arn:aws:sts::123456789012:assumed-role/Kubedemy_EKS_KubernetesAdmin/kubedemy`]);
  const kc = readFileSync(env["KUBECONFIG"]!, "utf8");
  assert.match(kc, /command: eks-access\n/);
  assert.equal(statSync(env["KUBECONFIG"]!).mode & 0o777, 0o600);
  // and the exec plugin's tokens are cached for the next kubectl (0600 entries)
  const cacheDir = env["EKS_ACCESS_CACHE_DIR"]!;
  const entries = readdirSync(cacheDir);
  assert.ok(entries.length >= 1);
  for (const e of entries) assert.equal(statSync(join(cacheDir, e)).mode & 0o777, 0o600);
});

test("seeds 000/002: an IAM Identity Center role works only when mapped without its /aws-reserved/ path", () => {
  const name = "AWSReservedSSO_AdministratorAccess_4b272cfed6132d4f";
  const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:user/sandbox-admin" }, Action: "sts:AssumeRole" }] });
  const withPath = JSON.parse(aws("iam", "create-role", "--role-name", name, "--path", "/aws-reserved/sso.amazonaws.com/us-west-2/", "--assume-role-policy-document", trust, "--output", "json")).Role.Arn as string;
  assert.equal(withPath, `arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/us-west-2/${name}`);
  // the SSO user's session, as IAM Identity Center creates it (session name = the user)
  const cfg = env["AWS_CONFIG_FILE"]!;
  const config = readFileSync(cfg, "utf8") + `[profile sso-admin]\nrole_arn = ${withPath}\nsource_profile = sandbox-admin\nrole_session_name = prabesh\nregion = us-west-2\n`;
  execFileSync("sh", ["-c", `cat > '${cfg}'`], { input: config });
  const who = JSON.parse(runCli(["whoami", "--profile", "sso-admin", "-o", "json"], { env }).stdout);
  assert.equal(who.arn, `arn:aws:sts::123456789012:assumed-role/${name}/prabesh`);
  assert.equal(who.mapArn, `arn:aws:iam::123456789012:role/${name}`, "whoami names the ARN to map: no path");
  const add = runCli(["kubeconfig", "add", "--name", "sandbox", "--profile", "sso-admin", "--alias", "sso", "--user-alias", "sso"], { env });
  assert.equal(add.status, 0, add.stderr);

  // Each version of aws-auth also maps the demo's role (current context) under a versioned name, a
  // control that tells when the authenticator has loaded that version.
  const mapWith = (rolearn: string, version: string) =>
    kubectl(["--context", "sandbox-admin", "apply", "-f", "-"], [
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata: {name: aws-auth, namespace: kube-system}",
      "data:",
      "  mapRoles: |",
      `    - rolearn: ${rolearn}`,
      "      username: sso:{{SessionName}}",
      "      groups: [system:masters]",
      "    - rolearn: arn:aws:iam::123456789012:role/Kubedemy_EKS_KubernetesAdmin",
      `      username: ${version}:{{SessionName}}`,
      "      groups: [system:masters]",
      "",
    ].join("\n"));
  const loaded = (version: string) => {
    const r = waitForAnswer(["--context", "kubernetes-admin", "auth", "whoami", "-o", "json"], (x) => x.status === 0 && JSON.parse(x.stdout).status.userInfo.username === `${version}:kubedemy`, 100);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).status.userInfo.username, `${version}:kubedemy`, `the authenticator loaded aws-auth ${version}`);
  };

  assert.equal(mapWith(withPath, "v1").status, 0);
  loaded("v1");
  const refused = kubectl(["--context", "sso", "auth", "whoami", "-o", "json"]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /Unauthorized/, "the path makes the mapping never match (aws-iam-authenticator #268)");

  assert.equal(mapWith(who.mapArn, "v2").status, 0);
  loaded("v2");
  const ok = kubectl(["--context", "sso", "auth", "whoami", "-o", "json"]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).status.userInfo.username, "sso:prabesh");
});

/** The authenticator applies aws-auth through a watch: retry (bounded) until it shows the expected answer. */
function waitForAnswer(args: string[], done: (r: { status: number; stdout: string; stderr: string }) => boolean, attempts: number) {
  let r = kubectl(args);
  for (let i = 1; i < attempts && !done(r); i++) {
    execFileSync("sleep", ["0.2"]);
    r = kubectl(args);
  }
  return r;
}

test("every certificate of the sandbox stays valid for a year: a sandbox left running does not break after a week", () => {
  const files = [join(dir, "pki"), join(dir, "kube", "pki")].flatMap((d) => readdirSync(d).filter((f) => f.endsWith(".crt")).map((f) => join(d, f)));
  assert.ok(files.some((f) => f.endsWith("sandbox-ca.crt")) && files.some((f) => f.endsWith("aws-endpoints.crt")), files.join(", "));
  const yearFromNow = Date.now() + 364 * 24 * 3600_000;
  for (const file of files) {
    const cert = new X509Certificate(readFileSync(file));
    assert.ok(Date.parse(cert.validTo) > yearFromNow, `${file} expires ${cert.validTo}`);
  }
});

/** X-Amz-Date of a token (k8s-aws-v1.<base64url of the presigned URL>), as epoch ms. */
function signedAtOf(token: string): number {
  const url = new URL(Buffer.from(token.slice("k8s-aws-v1.".length), "base64url").toString("utf8"));
  const d = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(url.searchParams.get("X-Amz-Date") ?? "")!;
  return Date.UTC(+d[1]!, +d[2]! - 1, +d[3]!, +d[4]!, +d[5]!, +d[6]!);
}

test("kubectl keeps working past one minute on a cached credential (signed 90 s ago); a token signed 17 min ago is refused", async () => {
  // A kubeconfig of its own and an empty token cache: as a new user right after `kubeconfig add`.
  const kubeconfig = join(dir, "time-rule.kubeconfig");
  const cacheDir = join(dir, "time-rule-cache");
  const e: Env = { ...env, KUBECONFIG: kubeconfig, EKS_ACCESS_CACHE_DIR: cacheDir };
  const add = runCli(["kubeconfig", "add", "--name", "sandbox", "--alias", "time-rule"], { env: e });
  assert.equal(add.status, 0, add.stderr);
  const user = (parseYaml(readFileSync(kubeconfig, "utf8")) as { users: Array<{ user: { exec: { command: string; args: string[]; env?: Array<{ name: string; value: string }> | null } } }> }).users[0]!.user.exec;
  assert.equal(user.command, "eks-access");
  const execEnv: Env = { ...e, ...Object.fromEntries((user.env ?? []).map((v) => [v.name, v.value])) };

  // the exec plugin, run 90 s in the past (libfaketime), writes the cache entry kubectl will get
  const signed = run("faketime", ["-f", "-90s", cliPath, ...user.args], { env: execEnv });
  assert.equal(signed.status, 0, signed.stderr);
  const entries = readdirSync(cacheDir);
  assert.equal(entries.length, 1);
  const entryFile = join(cacheDir, entries[0]!);
  const entryText = readFileSync(entryFile, "utf8");
  const entry = JSON.parse(entryText) as { token: string; expirationTimestamp: string; expiresAt: number };
  const signedAt = signedAtOf(entry.token);
  // 14 min after X-Amz-Date, as the AWS CLI's (the two are read from the clock a moment apart, and
  // X-Amz-Date has whole seconds: the difference may round up by a second)
  const lifetime = entry.expiresAt - signedAt;
  assert.ok(lifetime >= 14 * 60_000 && lifetime <= 14 * 60_000 + 2_000, `the entry expires ${lifetime} ms after X-Amz-Date`);
  assert.equal(Date.parse(entry.expirationTimestamp), entry.expiresAt);

  const whoami = run("kubectl", ["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"], { env: e });
  assert.ok(Date.now() - signedAt > 60_000, "the token kubectl presented was more than a minute old");
  assert.equal(whoami.status, 0, whoami.stderr);
  assert.equal(whoami.stdout, "arn:aws:iam::123456789012:user/sandbox-admin", "the creator, by its bootstrap access entry");
  const ns = run("kubectl", ["get", "ns", "kube-system", "-o", "name"], { env: e });
  assert.equal(ns.status, 0, ns.stderr);
  assert.equal(ns.stdout, "namespace/kube-system\n");
  assert.equal(readFileSync(entryFile, "utf8"), entryText, "kubectl got the cached token (nothing re-signed)");

  // the sandbox's STS itself, asked through the proxy as the authenticator asks it
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
  const askSts = (token: string) => {
    const url = Buffer.from(token.slice("k8s-aws-v1.".length), "base64url").toString("utf8");
    return run("curl", ["-sS", "--proxy", state.proxyUrl, "--cacert", state.caFile, "-H", "x-k8s-aws-id: sandbox", "-H", "accept: application/json", url], { env: baseEnv() });
  };
  const fresh = askSts(entry.token);
  assert.equal(JSON.parse(fresh.stdout).GetCallerIdentityResponse.GetCallerIdentityResult.Arn, "arn:aws:iam::123456789012:user/sandbox-admin");

  // 17 minutes old: past STS's 15 minutes. The cache would never hand it out, so present it directly.
  const old = run("faketime", ["-f", "-17m", cliPath, ...user.args, "--no-cache"], { env: execEnv });
  assert.equal(old.status, 0, old.stderr);
  const oldToken = JSON.parse(old.stdout).status.token as string;
  assert.ok(Date.now() - signedAtOf(oldToken) > 16 * 60_000);
  const refused = JSON.parse(askSts(oldToken).stdout) as { Error: { Code: string; Message: string } };
  assert.equal(refused.Error.Code, "SignatureDoesNotMatch");
  assert.match(refused.Error.Message, /^Signature expired: \d{8}T\d{6}Z is now earlier than /);
  const review = await postTokenReview({ url: state.authenticatorUrl, caFile: state.authenticatorCaFile }, oldToken);
  assert.equal(review.httpStatus, 403);
  assert.notEqual(review.status.authenticated, true);
});

test("a sandbox shell still reaches the internet through the user's proxy, and sandbox env --unset gives the shell back", async () => {
  const seenBefore = corporate.seen.length;
  const script = [
    `eval "$('${cliPath}' sandbox env --dir '${dir}')"`,
    `curl -sS -v --max-time 20 --cacert '${internet.ca.certPath}' '${internet.url}/from-a-sandbox-shell'`,
    `eval "$('${cliPath}' sandbox env --dir '${dir}' --unset)"`,
    "printf '\\0---\\0'",
    "env -0",
  ].join("\n");
  const r = await runAsync("bash", ["-c", script], userEnv);
  assert.equal(r.status, 0, r.stderr);
  const [body, after] = r.stdout.split("\0---\0") as [string, string];
  assert.equal(body, "hello from the internet: /from-a-sandbox-shell\n");
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
  assert.match(r.stderr, new RegExp(`CONNECT 127\\.0\\.0\\.2:${internet.port}`), "curl used the sandbox proxy");
  assert.match(r.stderr, new RegExp(`${new URL(state.proxyUrl).port}`));
  assert.deepEqual(corporate.seen.slice(seenBefore), [{ target: `127.0.0.2:${internet.port}`, authorization: undefined }], "and the sandbox proxy went through the user's");
  // the shell's environment after --unset is the user's, exactly
  const restored: Env = {};
  for (const entry of after.split("\0").filter(Boolean)) {
    const i = entry.indexOf("=");
    restored[entry.slice(0, i)] = entry.slice(i + 1);
  }
  for (const k of ["PWD", "SHLVL", "_", "OLDPWD"]) delete restored[k];
  assert.deepEqual(restored, await evalInShell(":", userEnv));
  assert.equal(restored["HTTPS_PROXY"], corporate.url);
  assert.equal(restored["KUBECONFIG"], userEnv["KUBECONFIG"]);
  // while in the sandbox shell: the user's NO_PROXY kept, plus loopback
  assert.equal(env["NO_PROXY"], "localhost,.corp.example,127.0.0.1");
  assert.equal(env["EKS_ACCESS_SANDBOX_SAVED_HTTPS_PROXY"], corporate.url);
});

test("sandbox down stops every process it started", () => {
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
  const down = runCli(["sandbox", "down", "--dir", dir], { env: baseEnv() });
  assert.equal(down.status, 0, down.stderr);
  assert.equal(down.stdout, `sandbox stopped (${dir})\n`);
  assert.throws(() => process.kill(daemonPid, 0), /ESRCH/);
  const ps = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
  assert.ok(!ps.split("\n").some((l) => l.includes(dir)), `no process mentions ${dir}:\n${ps.split("\n").filter((l) => l.includes(dir)).join("\n")}`);
  assert.ok(!ps.includes(state.motoUrl.split(":").pop()), "moto is gone");
  const again = runCli(["sandbox", "down", "--dir", dir], { env: baseEnv() });
  assert.equal(again.stdout, `no sandbox running in ${dir}\n`);
  const envAfter = runCli(["sandbox", "env", "--dir", dir], { env: baseEnv() });
  assert.equal(envAfter.status, 1);
  assert.match(envAfter.stderr, /no sandbox is running in .*; start it: eks-access sandbox up/);
});
