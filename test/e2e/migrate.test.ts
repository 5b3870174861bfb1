/**
 * access list / access check / migrate plan|apply|verify / auth-mode set end to end, on one
 * sandbox walked CONFIG_MAP → API_AND_CONFIG_MAP → API with seeds-style aws-auth content (seed 000's
 * SSO role mapped without its path as <role>:{{SessionName}} with system:masters, node roles, a
 * duplicate, a session ARN, a role with a path, an IAM user, mapAccounts). Each principal is checked
 * with `kubectl auth whoami` before (aws-auth) and after the switch to API (access entries only,
 * through the unmodified aws-iam-authenticator): the same username and groups. The AWS CLI is the
 * second client (list-access-entries shows what migrate made). migrate apply is stopped halfway on
 * the live sandbox twice — a fault-injecting proxy in front of the EKS API refuses one policy
 * association (leaving an entry half-made), then one CreateAccessEntry — and a principal is deleted
 * in IAM between runs; re-running completes the half-made entry, leaves the deleted principal out
 * saying why, and does the rest. Refused and bad input leave the cluster, its entries and aws-auth
 * as they were.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { HttpsProxyAgent } from "https-proxy-agent";
import { cliPath, run, runAsync, runCli, type Env, type RunResult } from "../helpers.js";
import { eventually, roleProfile, startSandbox, whoamiAs } from "./shell.js";
import { aws as awsCli } from "../aws-helpers.js";

const ACCT = "123456789012";
const MEMBER = "210987654321";
const role = (name: string, path = "/") => `arn:aws:iam::${ACCT}:role${path}${name}`;
const TRUST = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: "sts:AssumeRole" }] });
const ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

let dir: string;
let env: Env;
let stopSandbox: (() => void) | undefined;
let ssoAdmin: string; // AWSReservedSSO_EKSAdmin_… with its /aws-reserved/sso.amazonaws.com/us-west-2/ path
let ssoName: string;

const aws = (...args: string[]): any => awsCli(env, ...args);
const cli = (...args: string[]) => runCli(args, { env });
const ok = (...args: string[]): string => {
  const r = cli(...args);
  assert.equal(r.status, 0, `eks-access ${args.join(" ")}: ${r.stdout}\n${r.stderr}`);
  return r.stdout;
};
/** exit 1 with exactly one line on stderr */
function refusal(args: string[], r: RunResult, message: RegExp): RunResult {
  assert.equal(r.status, 1, `eks-access ${args.join(" ")} should fail: ${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, message);
  assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
  return r;
}
const refused = (args: string[], message: RegExp): RunResult => refusal(args, cli(...args), message);
/** the same, run without blocking this process (whose fault-injecting proxy must answer meanwhile) */
const refusedThroughProxy = async (args: string[], message: RegExp): Promise<RunResult> => refusal(args, await runAsync(cliPath, [...args, "--endpoint-url", proxyUrl], env), message);
const admin = (args: string[], input?: string) => run("kubectl", ["--kubeconfig", join(dir, "kube", "admin.kubeconfig"), ...args], { env, ...(input ? { input } : {}) });
type Who = ReturnType<typeof whoamiAs>;
const as = (profile: string, args: string[]) => run("kubectl", ["--kubeconfig", join(dir, `kc-${profile}`), ...args], { env: { ...env, EKS_ACCESS_NO_CACHE: "1" } });
const whoami = (profile: string): Who => whoamiAs({ dir, env }, profile);
const mode = (): string => aws("eks", "describe-cluster", "--name", "sandbox", "--query", "cluster.accessConfig.authenticationMode");
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const entries = (): string[] => (aws("eks", "list-access-entries", "--cluster-name", "sandbox").accessEntries as string[]).sort();
const awsAuthData = (): Record<string, string> => JSON.parse(admin(["get", "configmap", "aws-auth", "-n", "kube-system", "-o", "json"]).stdout).data;

function awsAuthManifest(rows: { mapRoles: string[]; mapUsers: string[]; mapAccounts: string[] }): string {
  const block = (key: string, lines: string[]) => (lines.length ? [`  ${key}: |`, ...lines.map((l) => `    ${l}`)] : []);
  return ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: aws-auth, namespace: kube-system}", "data:", ...block("mapRoles", rows.mapRoles), ...block("mapUsers", rows.mapUsers), ...block("mapAccounts", rows.mapAccounts)].join("\n") + "\n";
}

// seeds-style aws-auth: the rows in the order migrate works through them
let MAP_ROLES: string[];
const MAP_USERS = [`- userarn: arn:aws:iam::${ACCT}:user/ursula`, "  username: ursula", "  groups:", "    - viewers"];
const MAP_ACCOUNTS = [`- "${MEMBER}"`];
const TEMP_AND_MON = (): string[] => [
  `- rolearn: ${role("temp")}`,
  "  username: temp:{{SessionName}}",
  "  groups: [devs]",
  `- rolearn: ${role("mon")}`,
  "  username: mon",
  "  groups: [system:monitoring]",
];

/**
 * A fault-injecting stand-in for the EKS endpoint (eks-access --endpoint-url http://127.0.0.1:PORT):
 * forwards every request unchanged (Host header and signature intact) to the sandbox's EKS through
 * its CONNECT proxy and CA, except the one call `fault` picks, which it answers with EKS's error
 * shape (a 400 the SDK does not retry), as the real API refusing one call halfway would.
 */
let proxy: Server;
let proxyUrl: string;
let fault: { op: "CreateAccessEntry" | "AssociateAccessPolicy"; principalArn: string } | undefined;
const proxied: string[] = [];

async function startFaultProxy(): Promise<void> {
  const agent = new HttpsProxyAgent(env["HTTPS_PROXY"]!);
  const ca = readFileSync(env["AWS_CA_BUNDLE"]!);
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
      const call =
        req.method === "POST" && path === "/clusters/sandbox/access-entries"
          ? { op: "CreateAccessEntry", principalArn: JSON.parse(body.toString("utf8")).principalArn as string }
          : req.method === "POST" && path.startsWith("/clusters/sandbox/access-entries/") && path.endsWith("/access-policies")
            ? { op: "AssociateAccessPolicy", principalArn: path.slice("/clusters/sandbox/access-entries/".length, -"/access-policies".length) }
            : undefined;
      if (call) proxied.push(`${call.op} ${call.principalArn}`);
      if (call && fault?.op === call.op && fault.principalArn === call.principalArn) {
        res.writeHead(400, { "content-type": "application/json", "x-amzn-errortype": "InvalidParameterException" });
        res.end(JSON.stringify({ message: "injected fault: the EKS API refused this call" }));
        return;
      }
      const up = httpsRequest({ host: "eks.us-west-2.amazonaws.com", port: 443, servername: "eks.us-west-2.amazonaws.com", ca, agent, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      up.on("error", (err) => {
        res.writeHead(502);
        res.end(String(err));
      });
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
}

before(async () => {
  const s = await startSandbox("eks-access-migrate-", "CONFIG_MAP");
  ({ dir, env } = s);
  stopSandbox = s.stop;
  for (const r of ["dev", "nodes", "winnodes", "fargate", "temp", "mon"]) aws("iam", "create-role", "--role-name", r, "--assume-role-policy-document", TRUST);
  aws("iam", "create-role", "--role-name", "deep", "--path", "/team/x/", "--assume-role-policy-document", TRUST);
  aws("iam", "create-user", "--user-name", "ursula");
  const key = aws("iam", "create-access-key", "--user-name", "ursula").AccessKey;
  appendFileSync(env["AWS_SHARED_CREDENTIALS_FILE"] ?? join(dir, ".aws", "credentials"), `[ursula]\naws_access_key_id = ${key.AccessKeyId}\naws_secret_access_key = ${key.SecretAccessKey}\n`);
  const sso = aws("iam", "list-roles", "--path-prefix", "/aws-reserved/sso.amazonaws.com/").Roles as Array<{ Arn: string; RoleName: string }>;
  ssoAdmin = sso.find((r) => r.RoleName.startsWith("AWSReservedSSO_EKSAdmin_"))!.Arn;
  ssoName = ssoAdmin.slice(ssoAdmin.lastIndexOf("/") + 1);
  roleProfile(s, "alice", ssoAdmin, "alice@example.com");
  roleProfile(s, "dev", role("dev"), "dana");
  roleProfile(s, "deep", role("deep", "/team/x/"), "dee");
  // an IAM user's own keys: a profile without a role
  appendFileSync(env["AWS_CONFIG_FILE"]!, "[profile ursula]\nregion = us-west-2\n");
  ok("kubeconfig", "add", "--name", "sandbox", "--profile", "sandbox-admin", "--exec-profile", "ursula", "--alias", "ursula", "--kubeconfig", join(dir, "kc-ursula"));
  MAP_ROLES = [
    `- rolearn: ${role("nodes")}`,
    "  username: system:node:{{EC2PrivateDNSName}}",
    "  groups:",
    "    - system:bootstrappers",
    "    - system:nodes",
    `- rolearn: ${role("winnodes")}`,
    "  username: system:node:{{EC2PrivateDNSName}}",
    "  groups:",
    "    - system:bootstrappers",
    "    - system:nodes",
    "    - eks:kube-proxy-windows",
    "# seed 000: the SSO role without its /aws-reserved/ path, a session-distinguishing username",
    `- rolearn: arn:aws:iam::${ACCT}:role/${ssoName}`,
    `  username: ${ssoName}:{{SessionName}}`,
    "  groups:",
    "    - system:masters",
    `- rolearn: ${role("dev")}`,
    "  username: dev-old",
    "  groups: [old]",
    `- rolearn: ${role("dev")}`,
    "  username: dev:{{SessionName}}",
    "  groups: [devs]",
    `- rolearn: ${role("deep")}`,
    "  username: deep:{{SessionName}}",
    "  groups: [viewers]",
    ...TEMP_AND_MON(),
    `- rolearn: ${role("fargate")}`,
    "  username: system:node:{{SessionName}}",
    "  groups: [system:bootstrappers, system:nodes, system:node-proxier]",
    `- rolearn: arn:aws:sts::${ACCT}:assumed-role/dev/alice`,
    "  username: alice",
  ];
  assert.equal(admin(["apply", "-f", "-"], awsAuthManifest({ mapRoles: MAP_ROLES, mapUsers: MAP_USERS, mapAccounts: MAP_ACCOUNTS })).status, 0);
  assert.equal(admin(["create", "clusterrolebinding", "viewers", "--clusterrole=view", "--group=viewers"]).status, 0);
  assert.equal(admin(["create", "clusterrolebinding", "devs", "--clusterrole=edit", "--group=devs"]).status, 0);
  await startFaultProxy();
});

after(async () => {
  await new Promise((r) => (proxy ? proxy.close(r) : r(undefined)));
  stopSandbox?.();
});

const before_: Record<string, Who> = {};

test("CONFIG_MAP: access list shows every aws-auth row, which ones the authenticator uses, and the creator EKS maps outside aws-auth", async () => {
  for (const p of ["alice", "dev", "deep", "ursula"]) before_[p] = await eventually(`${p} through aws-auth`, () => whoami(p), (w) => w.username !== undefined);
  assert.deepEqual(before_["alice"], { username: `${ssoName}:alice-example.com`, groups: ["system:masters", "system:authenticated"] });
  assert.deepEqual(before_["dev"], { username: "dev:dana", groups: ["devs", "system:authenticated"] }, "the last duplicate wins");
  assert.deepEqual(before_["deep"], { username: "deep:dee", groups: ["viewers", "system:authenticated"] });
  assert.deepEqual(before_["ursula"], { username: "ursula", groups: ["viewers", "system:authenticated"] });

  const list = JSON.parse(ok("access", "list", "--cluster", "sandbox", "-o", "json"));
  assert.equal(list.mode, "CONFIG_MAP");
  const rows = list.rows as Array<{ principal: string; source: string; line?: number; used: string; why: string; problems: Array<{ code: string }> }>;
  assert.equal(rows[0]!.source, "creator");
  const at = (source: string, line: number) => rows.find((r) => r.source === source && r.line === line)!;
  assert.equal(at("mapRoles", 17).used, "no");
  assert.match(at("mapRoles", 17).why, /a later row for the same ARN \(mapRoles line 20\) wins/);
  assert.equal(at("mapRoles", 20).used, "yes");
  assert.equal(at("mapRoles", 35).used, "no");
  assert.match(at("mapRoles", 35).why, /session ARN/);
  assert.deepEqual(at("mapRoles", 35).problems.map((p) => p.code), ["assumed-role-arn"]);
  assert.equal(at("mapAccounts", 1).used, "yes");
  assert.equal(rows.length, 13);
  const table = ok("access", "list", "--cluster", "sandbox");
  assert.match(table, /^Cluster sandbox \(us-west-2\), authentication mode CONFIG_MAP: 11 mappings in use of 13\.\n\nPRINCIPAL\s+SOURCE\s+USERNAME\s+GROUPS\s+POLICIES\s+USED\s+PROBLEMS\n/);
  assert.match(table, new RegExp(`arn:aws:iam::${ACCT}:role/dev\\s+mapRoles line 20\\s+dev:\\{\\{SessionName\\}\\}\\s+devs\\s+-\\s+yes\\s+-\\n`));
  const yaml = ok("access", "list", "--cluster", "sandbox", "-o", "yaml");
  assert.match(yaml, /^cluster: sandbox\nregion: us-west-2\nmode: CONFIG_MAP\n/);
});

test("CONFIG_MAP: access check finds aws-auth's problems with their fixes and exits 1", () => {
  const r = cli("access", "check", "--cluster", "sandbox");
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /aws-auth mapRoles line 17: warning duplicate-arn: .*\n  fix: eks-access grant --cluster sandbox --region us-west-2 --principal arn:aws:iam::123456789012:role\/dev --group devs --username 'dev:\{\{SessionName\}\}'\n/);
  assert.match(r.stdout, /aws-auth mapRoles line 35: error assumed-role-arn: /);
  assert.match(r.stdout, /aws-auth mapAccounts line 1: warning map-accounts: /);
  const json = JSON.parse(cli("access", "check", "--cluster", "sandbox", "-o", "json").stdout);
  assert.equal(json.failed, true);
  assert.ok(json.problems.every((p: { fix: string }) => p.fix.length > 0));
});

test("CONFIG_MAP: migrate plan says what each row becomes; apply and a switch straight to API are refused, changing nothing", () => {
  const plan = JSON.parse(ok("migrate", "plan", "--cluster", "sandbox", "-o", "json")).plan;
  const actions = plan.items.map((i: { key: string; line: number; action: string }) => `${i.key}:${i.line} ${i.action}`);
  assert.deepEqual(actions, [
    "mapRoles:1 create",
    "mapRoles:6 create",
    "mapRoles:13 create",
    "mapRoles:17 skip",
    "mapRoles:20 create",
    "mapRoles:23 create",
    "mapRoles:26 create",
    "mapRoles:29 cannot",
    "mapRoles:32 create",
    "mapRoles:35 skip",
    "mapUsers:1 create",
    "mapAccounts:1 cannot",
  ]);
  const item = (line: number) => plan.items.find((i: { line: number; key: string }) => i.key === "mapRoles" && i.line === line);
  assert.equal(item(13).principalArn, ssoAdmin, "the SSO role's path comes from IAM");
  assert.deepEqual(item(13).want.policies, [{ policyArn: ADMIN_POLICY, accessScope: { type: "cluster", namespaces: [] } }]);
  assert.equal(item(23).principalArn, role("deep", "/team/x/"));
  assert.deepEqual([item(1).want.type, item(6).want.type, item(32).want.type], ["EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX"]);
  assert.match(item(29).reason, /system:monitoring/);
  const text = ok("migrate", "plan", "--cluster", "sandbox");
  assert.match(text, /The same with the AWS CLI:\n  aws eks create-access-entry --cluster-name sandbox --region us-west-2 --principal-arn arn:aws:iam::123456789012:role\/nodes --type EC2_LINUX\n/);

  const data = awsAuthData();
  refused(["migrate", "apply", "--cluster", "sandbox"], /cluster sandbox is in CONFIG_MAP mode: it has no access entries to migrate to; nothing was changed; switch it first/);
  refused(["auth-mode", "set", "API", "--cluster", "sandbox"], /EKS goes to API only through API_AND_CONFIG_MAP; nothing was changed/);
  refused(["access", "list", "--cluster", "no-such-cluster"], /cluster "no-such-cluster" not found in region us-west-2/);
  assert.equal(mode(), "CONFIG_MAP");
  assert.deepEqual(awsAuthData(), data);
});

test("auth-mode set API_AND_CONFIG_MAP explains the one-way rule and follows the update; the AWS CLI sees the new mode", async () => {
  const out = ok("auth-mode", "set", "API_AND_CONFIG_MAP", "--cluster", "sandbox");
  assert.match(out, /^EKS changes authentication modes one way only: CONFIG_MAP → API_AND_CONFIG_MAP → API, never back\.\n/);
  assert.match(out, /\nUpdate [\w-]+: Successful\.\nCluster sandbox is now in API_AND_CONFIG_MAP mode\.\n$/);
  assert.equal(mode(), "API_AND_CONFIG_MAP");
  // aws-auth still counts: nobody's identity changed
  assert.deepEqual(await eventually("dev still through aws-auth", () => whoami("dev"), (w) => w.username !== undefined), before_["dev"]);
  const list = JSON.parse(ok("access", "list", "--cluster", "sandbox", "-o", "json"));
  const creator = list.rows.find((r: { creator?: boolean }) => r.creator);
  assert.equal(creator.principal, `arn:aws:iam::${ACCT}:user/sandbox-admin`, "the creator's bootstrap entry, made at the switch");
  assert.equal(creator.source, "access-entry");
});

test("migrate apply stopped halfway on the sandbox (the EKS API refusing a policy association, then a create; a principal deleted in between): re-running continues", async () => {
  const start = entries();
  const apply = ["migrate", "apply", "--cluster", "sandbox", "--concurrency", "1"];
  fault = { op: "AssociateAccessPolicy", principalArn: ssoAdmin };
  const first = await refusedThroughProxy(apply, new RegExp(`^eks-access: error: migrate apply stopped at ${esc(ssoAdmin)} \\(associate AmazonEKSClusterAdminPolicy with ${esc(ssoAdmin)} cluster-wide\\): eks:AssociateAccessPolicy on sandbox \\(InvalidParameterException\\): injected fault: the EKS API refused this call; 2 of 8 principals done; fix the cause and re-run eks-access migrate apply --cluster sandbox --region us-west-2: it continues where this stopped\n$`));
  assert.match(first.stdout, new RegExp(`done: create the access entry of ${esc(ssoAdmin)} \\(username ${ssoName}:\\{\\{SessionName\\}\\}\\)\n`));
  assert.deepEqual(entries(), [...start, role("nodes"), role("winnodes"), ssoAdmin].sort(), "what was done before the failure stays; nothing after it started");
  assert.deepEqual(aws("eks", "list-associated-access-policies", "--cluster-name", "sandbox", "--principal-arn", ssoAdmin).associatedAccessPolicies, [], "the admin's entry is half-made");
  const plan = JSON.parse(ok("migrate", "plan", "--cluster", "sandbox", "-o", "json")).plan;
  assert.deepEqual(plan.items.filter((i: { action: string }) => i.action !== "skip").map((i: { action: string }) => i.action), ["done", "done", "complete", "create", "create", "create", "cannot", "create", "create", "cannot"]);

  fault = { op: "CreateAccessEntry", principalArn: role("dev") };
  await refusedThroughProxy(apply, /stopped at arn:aws:iam::123456789012:role\/dev \(create the access entry of arn:aws:iam::123456789012:role\/dev .*\): eks:CreateAccessEntry on sandbox \(InvalidParameterException\): injected fault: the EKS API refused this call; 1 of 6 principals done;/);
  assert.ok(proxied.includes(`AssociateAccessPolicy ${ssoAdmin}`) && !entries().includes(role("dev")), "the half-made entry was completed, then dev's create failed");
  fault = undefined;
  // meanwhile temp's role is deleted in IAM: the next run leaves it out, saying why
  aws("iam", "delete-role", "--role-name", "temp");
  const calls = proxied.length;

  const third = ok("migrate", "apply", "--cluster", "sandbox");
  assert.match(third, /\[CANNOT\]\n  arn:aws:iam::123456789012:role\/temp does not exist in IAM/);
  assert.match(third, /Applied: 4 of 4 principals\./);
  assert.equal(proxied.length, calls, "control: the last run did not go through the proxy");
  const again = ok("migrate", "apply", "--cluster", "sandbox");
  assert.match(again, /Nothing to apply: every row that can be migrated is\./);

  // the AWS CLI sees what migrate made: the path kept, node types, system:masters as ClusterAdmin
  assert.deepEqual(entries(), [...start, role("nodes"), role("winnodes"), ssoAdmin, role("dev"), role("deep", "/team/x/"), role("fargate"), `arn:aws:iam::${ACCT}:user/ursula`].sort());
  const describe = (arn: string) => aws("eks", "describe-access-entry", "--cluster-name", "sandbox", "--principal-arn", arn).accessEntry;
  assert.deepEqual([describe(role("nodes")).type, describe(role("winnodes")).type, describe(role("fargate")).type], ["EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX"]);
  assert.deepEqual({ u: describe(role("dev")).username, g: describe(role("dev")).kubernetesGroups }, { u: "dev:{{SessionName}}", g: ["devs"] });
  assert.equal(describe(ssoAdmin).username, `${ssoName}:{{SessionName}}`);
  const assoc = aws("eks", "list-associated-access-policies", "--cluster-name", "sandbox", "--principal-arn", ssoAdmin).associatedAccessPolicies;
  assert.deepEqual(assoc.map((a: { policyArn: string; accessScope: unknown }) => [a.policyArn, a.accessScope]), [[ADMIN_POLICY, { type: "cluster", namespaces: [] }]]);
});

test("verify and access check report what cannot move; auth-mode set API refuses, lists them, and changes nothing", () => {
  const v = cli("migrate", "verify", "--cluster", "sandbox", "-o", "json");
  assert.equal(v.status, 1, v.stderr);
  const items = JSON.parse(v.stdout).verification.items as Array<{ arn: string; status: string }>;
  assert.deepEqual(
    items.map((i) => `${i.arn.slice(i.arn.lastIndexOf("/") + 1)} ${i.status}`),
    ["nodes same", "winnodes same", `${ssoName} equivalent`, "dev same", "deep same", "temp not-migratable", "mon not-migratable", "fargate same", "ursula same", `${MEMBER} not-migratable`],
  );
  const check = cli("access", "check", "--cluster", "sandbox");
  assert.equal(check.status, 1);
  assert.match(check.stdout, /aws-auth mapRoles line 26: warning row-principal-missing: mapRoles line 26: arn:aws:iam::123456789012:role\/temp does not exist in IAM/);
  assert.match(check.stdout, /cluster: info aws-auth-only: 3 identities come from aws-auth alone/);

  const data = awsAuthData();
  const r = refused(["auth-mode", "set", "API", "--cluster", "sandbox"], /refusing to switch cluster sandbox to API: aws-auth gives 3 identities no access entry stands in for \(arn:aws:iam::123456789012:role\/temp, arn:aws:iam::123456789012:role\/mon, 210987654321\), which would be locked out; nothing was changed/);
  assert.match(r.stdout, /aws-auth identities no access entry stands in for \(3\):\n  mapRoles line 26  arn:aws:iam::123456789012:role\/temp  temp:\{\{SessionName\}\} \[devs\]\n/);
  refused(["auth-mode", "set", "API", "--cluster", "sandbox", "--dry-run"], /refusing to switch/);
  assert.equal(mode(), "API_AND_CONFIG_MAP");
  assert.deepEqual(awsAuthData(), data);
});

test("once aws-auth holds only what moved, verify proves it and names the switch; auth-mode set API; every principal keeps its username and groups", async () => {
  // the owners drop what can't move (temp no longer exists, mon's group and the account have no entry form)
  const kept = MAP_ROLES.join("\n").replace(TEMP_AND_MON().join("\n") + "\n", "").split("\n");
  assert.equal(admin(["apply", "-f", "-"], awsAuthManifest({ mapRoles: kept, mapUsers: MAP_USERS, mapAccounts: [] })).status, 0);
  const v = ok("migrate", "verify", "--cluster", "sandbox");
  assert.match(v, new RegExp(`mapRoles line 13  ${esc(ssoAdmin)}  EQUIVALENT\n  as arn:aws:sts::${ACCT}:assumed-role/${ssoName}/eks-access-verify@example.com\n  aws-auth:       ${ssoName}:eks-access-verify-example.com \\[system:masters\\]\n  access entries: ${ssoName}:eks-access-verify-example.com \\[\\]\n  ~ groups -system:masters\n`));
  assert.match(v, /Proven: every identity aws-auth gives is the same from the access entries\. Switch when ready: eks-access auth-mode set API --cluster sandbox --region us-west-2\n$/);

  const dry = ok("auth-mode", "set", "API", "--cluster", "sandbox", "--dry-run");
  assert.match(dry, /Every identity aws-auth gives has an access entry that already decides it: nobody's identity changes\.\n\nDry run: nothing was changed\. The same with the AWS CLI: aws eks update-cluster-config --name sandbox --region us-west-2 --access-config authenticationMode=API\n$/);
  assert.equal(mode(), "API_AND_CONFIG_MAP");
  const out = ok("auth-mode", "set", "API", "--cluster", "sandbox");
  assert.match(out, /Cluster sandbox is now in API mode\.\n$/);
  assert.equal(mode(), "API");

  for (const p of ["dev", "deep", "ursula"]) {
    assert.deepEqual(await eventually(`${p} through its access entry`, () => whoami(p), (w) => w.username !== undefined), before_[p], `${p}: the same username and groups`);
  }
  const alice = await eventually("alice through her access entry", () => whoami("alice"), (w) => w.username !== undefined);
  assert.deepEqual(alice, { username: before_["alice"]!.username, groups: ["system:authenticated"] }, "system:masters became AmazonEKSClusterAdminPolicy");
  assert.equal(as("alice", ["auth", "can-i", "*", "*", "--all-namespaces"]).stdout.trim(), "yes", "…which lets her do everything, as system:masters did");
  assert.equal(as("deep", ["auth", "can-i", "delete", "pods", "-n", "default"]).stdout.trim(), "no", "control: viewers still only view");
});

test("API: aws-auth counts for nothing (a note, not a failure); going back is refused and changes nothing", () => {
  const list = JSON.parse(ok("access", "list", "--cluster", "sandbox", "-o", "json"));
  assert.ok(list.rows.filter((r: { source: string }) => r.source !== "access-entry").every((r: { used: string }) => r.used === "no"));
  assert.ok(list.rows.filter((r: { source: string }) => r.source === "access-entry").every((r: { used: string }) => r.used === "yes"));
  const check = ok("access", "check", "--cluster", "sandbox");
  assert.match(check, /cluster: info aws-auth-ignored: cluster sandbox is in API mode: EKS ignores all 9 aws-auth mappings/);
  const before = entries();
  refused(["auth-mode", "set", "API_AND_CONFIG_MAP", "--cluster", "sandbox"], /cluster sandbox is in API mode and cannot go back to API_AND_CONFIG_MAP: EKS changes authentication modes one way only/);
  assert.match(ok("auth-mode", "set", "API", "--cluster", "sandbox"), /in API mode already: nothing to do/);
  assert.equal(mode(), "API");
  assert.deepEqual(entries(), before);
});
