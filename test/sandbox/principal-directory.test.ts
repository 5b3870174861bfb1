/**
 * The principal directory against moto (behind the sandbox's front, as in the sandbox) with the
 * sandbox's IAM Identity Center seed: every input form, every error form, permission sets across
 * two accounts, re-created roles; and the AWS CLI seeing what the sandbox seeded.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand, DeleteRoleCommand, GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity } from "@smithy/types";
import { AwsPrincipalDirectory, type PrincipalDirectoryOptions } from "../../src/adapters/principal-directory.js";
import { principalDirectory } from "../../src/compose.js";
import { EksAccessError } from "../../src/core/errors.js";
import { awsAuthArn, defaultAccessEntryUsername, permissionSetInput, type PrincipalInput } from "../../src/core/principal.js";
import { startEksFront, type EksFront } from "../../src/sandbox/emulator/eks-front.js";
import { motoState, startMoto, type MotoServer } from "../../src/sandbox/emulator/moto.js";
import { listenOnLoopback } from "../../src/sandbox/emulator/net.js";
import { SANDBOX_MEMBER_ACCOUNT, seedIdentityCenter, type IdentityCenterSeed } from "../../src/sandbox/identity-center.js";
import { baseEnv, runAsync } from "../helpers.js";
import { inMotoAccount } from "../aws-helpers.js";

const ACCOUNT = "123456789012";
const MEMBER = SANDBOX_MEMBER_ACCOUNT;
const REGION = "us-west-2";
const SETUP = { accessKeyId: "setup", secretAccessKey: "setup" };
const TRUST = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "sts:AssumeRole" }] });

let moto: MotoServer;
let front: EksFront;
let seed: IdentityCenterSeed;
/** the caller: IAM user bob, path /people/ */
let bob: AwsCredentialIdentity;
let dir: AwsPrincipalDirectory;

function directory(extra: Partial<PrincipalDirectoryOptions> = {}): AwsPrincipalDirectory {
  return new AwsPrincipalDirectory({ region: REGION, credentials: bob, env: {}, endpoints: { iam: front.url, sts: front.url, ssoAdmin: front.url }, ...extra });
}

/** An IAM client acting in `account` of moto (header-selected, for setting up and checking). */
function iamIn(account: string): IAMClient {
  return inMotoAccount(new IAMClient({ region: REGION, endpoint: moto.url, credentials: SETUP }), account);
}

async function refusal(p: Promise<unknown>): Promise<{ kind: string; line: string }> {
  try {
    await p;
  } catch (err) {
    assert.ok(EksAccessError.is(err), `not an EksAccessError: ${String(err)}`);
    assert.ok(!err.line.includes("\n"), `one line: ${err.line}`);
    return { kind: err.kind, line: err.line };
  }
  assert.fail("did not fail");
}

async function awsCli(credentials: AwsCredentialIdentity, ...args: string[]): Promise<Record<string, unknown>> {
  const env = baseEnv({
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
    AWS_DEFAULT_REGION: REGION,
  });
  // async: the front answers from this very process
  const r = await runAsync("aws", [...args, "--endpoint-url", front.url, "--output", "json"], env);
  assert.equal(r.status, 0, `aws ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

async function assume(roleArn: string, session: string, credentials = bob): Promise<AwsCredentialIdentity> {
  const sts = new STSClient({ region: REGION, endpoint: moto.url, credentials });
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: session }))).Credentials!;
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
}

const one = async (input: PrincipalInput, d = dir) => {
  const r = await d.resolve(input);
  assert.equal(r.length, 1);
  return r[0]!;
};

before(async () => {
  moto = await startMoto();
  front = await startEksFront({ motoUrl: moto.url });
  seed = await seedIdentityCenter({ motoUrl: moto.url, region: REGION, account: ACCOUNT, credentials: SETUP });
  const iam = iamIn(ACCOUNT);
  await iam.send(new CreateUserCommand({ UserName: "bob", Path: "/people/" }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "bob" }))).AccessKey!;
  bob = { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
  await iam.send(new CreateRoleCommand({ RoleName: "deployer", Path: "/svc/team/", AssumeRolePolicyDocument: TRUST }));
  await iam.send(new CreateRoleCommand({ RoleName: "plain", AssumeRolePolicyDocument: TRUST }));
  await iam.send(new CreateRoleCommand({ RoleName: "twin", AssumeRolePolicyDocument: TRUST }));
  await iam.send(new CreateUserCommand({ UserName: "twin" }));
  await iamIn(MEMBER).send(new CreateRoleCommand({ RoleName: "cross", Path: "/x/", AssumeRolePolicyDocument: TRUST }));
  dir = directory();
});

after(async () => {
  await front?.stop();
  await moto?.stop();
});

describe("principal directory: IAM roles and users", () => {
  it("a role ARN with its path, without it, and the session ARN all give the role with its path and id", async () => {
    const real = (await iamIn(ACCOUNT).send(new GetRoleCommand({ RoleName: "deployer" }))).Role!;
    const arn = "arn:aws:iam::123456789012:role/svc/team/deployer";
    for (const [value, from] of [
      [arn, `role ${arn}`],
      ["arn:aws:iam::123456789012:role/deployer", `arn:aws:iam::123456789012:role/deployer → role ${arn} (path from IAM)`],
      ["arn:aws:sts::123456789012:assumed-role/deployer/alice@example.com", `session arn:aws:sts::123456789012:assumed-role/deployer/alice@example.com → role ${arn}`],
    ] as const) {
      const p = await one({ kind: "arn", value });
      assert.deepEqual(p, { type: "role", arn, partition: "aws", account: ACCOUNT, name: "deployer", path: "/svc/team/", uniqueId: real.RoleId, createDate: real.CreateDate!.toISOString(), from }, value);
    }
    const p = await one({ kind: "arn", value: "arn:aws:iam::123456789012:role/deployer" });
    assert.equal(awsAuthArn(p), "arn:aws:iam::123456789012:role/deployer");
    assert.equal(defaultAccessEntryUsername(p), "arn:aws:sts::123456789012:assumed-role/deployer/{{SessionName}}");
  });

  it("--me: the caller through STS GetCallerIdentity; a role session becomes its role with its path, a user stays itself", async () => {
    const session = await assume("arn:aws:iam::123456789012:role/svc/team/deployer", "carol@example.com");
    const asRole = await one({ kind: "me" }, directory({ credentials: session }));
    assert.equal(asRole.arn, "arn:aws:iam::123456789012:role/svc/team/deployer");
    assert.match(asRole.from, /^caller arn:aws:sts::123456789012:assumed-role\/deployer\/carol@example\.com/);
    const asUser = await one({ kind: "me" });
    assert.equal(asUser.arn, "arn:aws:iam::123456789012:user/people/bob");
    assert.equal(asUser.type, "user");
  });

  it("a user ARN without its path finds the user, whose aws-auth form keeps the path", async () => {
    const p = await one({ kind: "arn", value: "arn:aws:iam::123456789012:user/bob" });
    assert.equal(p.type, "user");
    assert.equal(p.arn, "arn:aws:iam::123456789012:user/people/bob");
    assert.equal(p.path, "/people/");
    assert.match(p.uniqueId, /\S/);
    assert.equal(awsAuthArn(p), "arn:aws:iam::123456789012:user/people/bob");
    assert.equal((await one({ kind: "arn", value: "arn:aws:iam::123456789012:user/people/bob" })).from, "user arn:aws:iam::123456789012:user/people/bob");
  });

  it("names: role first, then user; both is ambiguous; none is not found", async () => {
    assert.equal((await one({ kind: "name", value: "plain" })).arn, "arn:aws:iam::123456789012:role/plain");
    const u = await one({ kind: "name", value: "bob" });
    assert.equal(u.arn, "arn:aws:iam::123456789012:user/people/bob");
    assert.equal(u.from, "name bob → user arn:aws:iam::123456789012:user/people/bob");
    const twin = await refusal(dir.resolve({ kind: "name", value: "twin" }));
    assert.equal(twin.kind, "usage");
    assert.equal(twin.line, "both an IAM role and an IAM user are named twin in account 123456789012; give the ARN: --principal arn:aws:iam::123456789012:role/twin or --principal arn:aws:iam::123456789012:user/twin");
    const none = await refusal(dir.resolve({ kind: "name", value: "nobody" }));
    assert.equal(none.kind, "not-found");
    assert.match(none.line, /^no IAM role or user named nobody in account 123456789012; check the name .*use --permission-set NAME --account ID$/);
  });

  it("errors: a wrong path names the real ARN; unknown roles, users and sessions; refused forms", async () => {
    const wrong = await refusal(dir.resolve({ kind: "arn", value: "arn:aws:iam::123456789012:role/svc/deployer" }));
    assert.equal(wrong.line, "arn:aws:iam::123456789012:role/svc/deployer does not exist: IAM has that role as arn:aws:iam::123456789012:role/svc/team/deployer; use arn:aws:iam::123456789012:role/svc/team/deployer (or just the name deployer)");
    assert.equal((await refusal(dir.resolve({ kind: "arn", value: "arn:aws:iam::123456789012:role/ghost" }))).line, "no IAM role named ghost in account 123456789012 (arn:aws:iam::123456789012:role/ghost); check the ARN (aws iam get-role --role-name ghost)");
    assert.match((await refusal(dir.resolve({ kind: "arn", value: "arn:aws:iam::123456789012:user/ghost" }))).line, /^no IAM user named ghost .*aws iam get-user --user-name ghost/);
    assert.match((await refusal(dir.resolve({ kind: "arn", value: "arn:aws:sts::123456789012:assumed-role/ghost/s" }))).line, /^the role of session arn:aws:sts::123456789012:assumed-role\/ghost\/s, ghost, does not exist in account 123456789012; it was deleted or renamed/);
    const ps = await refusal(dir.resolve({ kind: "arn", value: seed.permissionSets["EKSAdmin"]! }));
    assert.equal(ps.kind, "usage");
    assert.match(ps.line, /is an IAM Identity Center permission set, not a role; use --permission-set NAME --account ID/);
  });

  it("--me: the caller user, and a session's role with its path", async () => {
    const me = await one({ kind: "me" });
    assert.equal(me.arn, "arn:aws:iam::123456789012:user/people/bob");
    assert.equal(me.from, "caller arn:aws:iam::123456789012:user/people/bob", "GetCallerIdentity answers a user with its path");
    const session = await assume("arn:aws:iam::123456789012:role/svc/team/deployer", "alice");
    const asRole = await one({ kind: "me" }, directory({ credentials: session }));
    assert.equal(asRole.arn, "arn:aws:iam::123456789012:role/svc/team/deployer");
    assert.equal(asRole.from, "caller arn:aws:sts::123456789012:assumed-role/deployer/alice → role arn:aws:iam::123456789012:role/svc/team/deployer");
  });

  it("another account's principal is read through OrganizationAccountAccessRole there", async () => {
    const p = await one({ kind: "arn", value: `arn:aws:iam::${MEMBER}:role/cross` });
    assert.equal(p.arn, `arn:aws:iam::${MEMBER}:role/x/cross`);
    assert.equal(p.account, MEMBER);
    const lookups = (await motoState(moto.url)).assumedRoles.filter((s) => s.sessionName === "eks-access-principal-lookup");
    assert.deepEqual([...new Set(lookups.map((s) => s.roleArn))], [`arn:aws:iam::${MEMBER}:role/OrganizationAccountAccessRole`]);
  });

  it("lookup: path-insensitive, undefined once deleted, a new unique id once re-created", async () => {
    const iam = iamIn(ACCOUNT);
    await iam.send(new CreateRoleCommand({ RoleName: "phoenix", Path: "/p/", AssumeRolePolicyDocument: TRUST }));
    const first = await dir.lookup("arn:aws:iam::123456789012:role/phoenix");
    assert.equal(first?.arn, "arn:aws:iam::123456789012:role/p/phoenix");
    assert.equal((await dir.lookup("arn:aws:sts::123456789012:assumed-role/phoenix/s"))?.uniqueId, first?.uniqueId);
    await iam.send(new DeleteRoleCommand({ RoleName: "phoenix" }));
    assert.equal(await dir.lookup("arn:aws:iam::123456789012:role/p/phoenix"), undefined);
    await iam.send(new CreateRoleCommand({ RoleName: "phoenix", Path: "/p/", AssumeRolePolicyDocument: TRUST }));
    const again = await dir.lookup("arn:aws:iam::123456789012:role/p/phoenix");
    assert.equal(again?.arn, first?.arn);
    assert.notEqual(again?.uniqueId, first?.uniqueId);
    assert.ok(Date.parse(again!.createDate) >= Date.parse(first!.createDate));
    assert.equal(await dir.lookup("arn:aws:s3:::bucket"), undefined);
  });

  it("compose: the environment's endpoint override reaches IAM, STS and sso-admin", async () => {
    const d = await principalDirectory({ region: REGION, credentials: bob, namedProfile: undefined }, { AWS_ENDPOINT_URL: front.url });
    assert.equal((await d.resolve({ kind: "me" }))[0]?.arn, "arn:aws:iam::123456789012:user/people/bob");
    assert.equal((await d.resolve(permissionSetInput("EKSView", [ACCOUNT])))[0]?.permissionSet?.name, "EKSView");
  });
});

describe("principal directory: IAM Identity Center permission sets", () => {
  it("by name across both accounts: one role each, the right path and unique id", async () => {
    const got = await dir.resolve(permissionSetInput("EKSAdmin", "all"));
    assert.deepEqual(got.map((p) => [p.account, p.path]), [
      [ACCOUNT, "/aws-reserved/sso.amazonaws.com/us-west-2/"],
      [MEMBER, "/aws-reserved/sso.amazonaws.com/"],
    ]);
    for (const p of got) {
      const seeded = seed.roles.find((r) => r.account === p.account && r.permissionSet === "EKSAdmin")!;
      assert.equal(p.arn, seeded.arn);
      assert.match(p.name, /^AWSReservedSSO_EKSAdmin_[0-9a-f]{16}$/);
      const real = (await iamIn(p.account).send(new GetRoleCommand({ RoleName: p.name }))).Role!;
      assert.equal(p.uniqueId, real.RoleId);
      assert.equal(p.createDate, real.CreateDate!.toISOString());
      assert.deepEqual(p.permissionSet, { name: "EKSAdmin", arn: seed.permissionSets["EKSAdmin"], instanceArn: seed.instanceArn });
      assert.equal(p.from, `permission set EKSAdmin in ${p.account} → role ${p.arn}`);
      assert.equal(awsAuthArn(p), `arn:aws:iam::${p.account}:role/${p.name}`);
    }
  });

  it("by ARN, in listed accounts, with an explicit instance", async () => {
    const got = await dir.resolve(permissionSetInput(seed.permissionSets["EKSView"]!, [MEMBER]));
    assert.deepEqual(got.map((p) => p.arn), [seed.roles.find((r) => r.account === MEMBER && r.permissionSet === "EKSView")!.arn]);
    const picked = await dir.resolve(permissionSetInput("EKSView", [ACCOUNT], seed.instanceArn));
    assert.equal(picked[0]?.path, "/aws-reserved/sso.amazonaws.com/us-west-2/");
  });

  it("errors: not provisioned, unknown name (with a near miss), unknown ARN", async () => {
    const np = await refusal(dir.resolve(permissionSetInput("EKSAdmin", ["111122223333"])));
    assert.equal(np.kind, "not-found");
    assert.equal(np.line, "permission set EKSAdmin is not provisioned in 111122223333; assign it to a user or group in that account first");
    assert.equal((await refusal(dir.resolve(permissionSetInput("EKSadmin", "all")))).line, `no permission set named EKSadmin in IAM Identity Center instance ${seed.instanceArn}; did you mean EKSAdmin? (names are case-sensitive)`);
    assert.match((await refusal(dir.resolve(permissionSetInput("EKSEdit", "all")))).line, /^no permission set named EKSEdit in IAM Identity Center instance .*; see them in the IAM Identity Center console, or: aws sso-admin list-permission-sets --instance-arn /);
    const ghost = `${seed.instanceArn.replace(":instance/", ":permissionSet/")}/ps-0000000000000000`;
    assert.match((await refusal(dir.resolve(permissionSetInput(ghost, "all")))).line, /^permission set .*ps-0000000000000000 does not exist in arn:aws:sso:::instance\/ssoins-/);
  });
});

describe("principal directory: what AWS answers elsewhere (a stand-in STS and sso-admin)", () => {
  let server: Server;
  let stopServer: () => Promise<void>;
  let url: string;
  let callerArn = "arn:aws:iam::123456789012:user/bob";
  let instances: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        if (req.headers["x-amz-target"] === "SWBExternalService.ListInstances") {
          res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
          res.end(JSON.stringify({ Instances: instances.map((InstanceArn) => ({ InstanceArn })) }));
          return;
        }
        const action = new URLSearchParams(body).get("Action");
        if (action === "GetCallerIdentity") {
          res.writeHead(200, { "content-type": "text/xml" });
          res.end(`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${callerArn}</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`);
          return;
        }
        res.writeHead(403, { "content-type": "text/xml" });
        res.end(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: ${callerArn} is not authorized to perform: sts:AssumeRole</Message></Error><RequestId>1</RequestId></ErrorResponse>`);
      });
    });
    const l = await listenOnLoopback(server, "stand-in");
    url = `http://127.0.0.1:${l.port}`;
    stopServer = l.stop;
  });
  after(async () => stopServer?.());

  it("a lookup role that cannot be assumed: the error says which and what to do", async () => {
    const d = directory({ endpoints: { iam: front.url, sts: url, ssoAdmin: front.url }, lookupRoleName: "Reader" });
    const r = await refusal(d.resolve({ kind: "arn", value: `arn:aws:iam::${MEMBER}:role/cross` }));
    assert.equal(r.kind, "aws");
    assert.match(r.line, new RegExp(`^could not read IAM of account ${MEMBER}: assuming arn:aws:iam::${MEMBER}:role/Reader failed \\(AccessDenied\\): User: .* is not authorized to perform: sts:AssumeRole; use credentials of account ${MEMBER}, or name a role there that trusts you and may read IAM \\(--lookup-role NAME; default OrganizationAccountAccessRole\\)$`));
  });

  it("--me as the root user or a federated user is refused", async () => {
    const d = directory({ endpoints: { iam: front.url, sts: url, ssoAdmin: front.url } });
    callerArn = "arn:aws:iam::123456789012:root";
    assert.equal((await refusal(d.resolve({ kind: "me" }))).line, "--me: the caller arn:aws:iam::123456789012:root is the root user of account 123456789012, which EKS cannot map; grant an IAM role or user of that account instead");
    callerArn = "arn:aws:sts::123456789012:federated-user/bob";
    assert.match((await refusal(directory({ endpoints: { iam: front.url, sts: url, ssoAdmin: front.url } }).resolve({ kind: "me" }))).line, /^--me: the caller arn:aws:sts::123456789012:federated-user\/bob is an STS federated-user session/);
    callerArn = "arn:aws:iam::123456789012:user/bob";
  });

  it("several or no Identity Center instances", async () => {
    const d = () => directory({ endpoints: { iam: front.url, sts: front.url, ssoAdmin: url } });
    instances = ["arn:aws:sso:::instance/ssoins-1111111111111111", "arn:aws:sso:::instance/ssoins-2222222222222222"];
    const several = await refusal(d().resolve(permissionSetInput("EKSAdmin", "all")));
    assert.equal(several.kind, "usage");
    assert.equal(several.line, "these credentials see 2 IAM Identity Center instances (arn:aws:sso:::instance/ssoins-1111111111111111, arn:aws:sso:::instance/ssoins-2222222222222222); pick one with --instance-arn ARN");
    instances = [];
    assert.match((await refusal(d().resolve(permissionSetInput("EKSAdmin", "all")))).line, /^no IAM Identity Center instance is visible to these credentials in us-west-2; Identity Center lives in one region/);
  });
});

describe("the sandbox's Identity Center seed, seen by the AWS CLI", () => {
  it("sso-admin: the instance, both permission sets, provisioned in both accounts", async () => {
    const instances = (await awsCli(bob, "sso-admin", "list-instances"))["Instances"] as Array<{ InstanceArn: string; OwnerAccountId: string }>;
    assert.deepEqual(instances.map((i) => [i.InstanceArn, i.OwnerAccountId]), [[seed.instanceArn, ACCOUNT]]);
    const arns = (await awsCli(bob, "sso-admin", "list-permission-sets", "--instance-arn", seed.instanceArn))["PermissionSets"] as string[];
    assert.deepEqual(new Set(arns), new Set(Object.values(seed.permissionSets)));
    const described = await awsCli(bob, "sso-admin", "describe-permission-set", "--instance-arn", seed.instanceArn, "--permission-set-arn", seed.permissionSets["EKSAdmin"]!);
    assert.equal((described["PermissionSet"] as { Name: string }).Name, "EKSAdmin");
    const accounts = await awsCli(bob, "sso-admin", "list-accounts-for-provisioned-permission-set", "--instance-arn", seed.instanceArn, "--permission-set-arn", seed.permissionSets["EKSAdmin"]!);
    assert.deepEqual(accounts["AccountIds"], [ACCOUNT, MEMBER]);
  });

  it("iam list-roles --path-prefix: the AWSReservedSSO_ roles of each account, with and without the region segment", async () => {
    const mine = (await awsCli(bob, "iam", "list-roles", "--path-prefix", "/aws-reserved/sso.amazonaws.com/"))["Roles"] as Array<{ Arn: string; Path: string }>;
    assert.deepEqual(mine.map((r) => r.Path), ["/aws-reserved/sso.amazonaws.com/us-west-2/", "/aws-reserved/sso.amazonaws.com/us-west-2/"]);
    assert.deepEqual(new Set(mine.map((r) => r.Arn)), new Set(seed.roles.filter((r) => r.account === ACCOUNT).map((r) => r.arn)));
    const member = await assume(`arn:aws:iam::${MEMBER}:role/OrganizationAccountAccessRole`, "cli");
    const theirs = (await awsCli(member, "iam", "list-roles", "--path-prefix", "/aws-reserved/sso.amazonaws.com/"))["Roles"] as Array<{ Arn: string; Path: string }>;
    assert.deepEqual(new Set(theirs.map((r) => r.Arn)), new Set(seed.roles.filter((r) => r.account === MEMBER).map((r) => r.arn)));
    assert.ok(theirs.every((r) => r.Path === "/aws-reserved/sso.amazonaws.com/" && r.Arn.startsWith(`arn:aws:iam::${MEMBER}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_`)));
  });
});
