/**
 * Every validation rule of the access-entry emulator (src/sandbox/emulator/access-entries.ts,
 * eks-access-api.ts, and CreateCluster's in eks-front.ts), one row each, with the exact line the
 * AWS CLI prints: `aws eks …` against one moto_server + EKS front. The rows run through the AWS
 * CLI's own entry point in one Python process (test/aws-helpers.ts awsBatch: ~0.05 s a call, not
 * ~0.5 s), and a few of them also through the `aws` executable, which must print the same.
 * Rules the AWS CLI cannot reach (it checks required members and types itself) are driven by raw
 * requests. Which messages are EKS's own wording, and which this emulator's, is in the README.
 * No refused call changes anything.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { CreateAccessEntryCommand, CreateClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand, DeleteRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { startEksFront, type EksFront } from "../../src/sandbox/emulator/eks-front.js";
import { startMoto, type MotoServer } from "../../src/sandbox/emulator/moto.js";
import { baseEnv, runAsync, tempDir, type Env, type RunResult } from "../helpers.js";
import { awsBatch } from "../aws-helpers.js";

const REGION = "us-west-2";
const ACCT = "123456789012";
const VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const DEV = `arn:aws:iam::${ACCT}:role/team/dev`; // STANDARD entry on "rules"
const NODE = `arn:aws:iam::${ACCT}:role/node`; // EC2_LINUX entry on "rules"
const SPARE = `arn:aws:iam::${ACCT}:role/spare`; // a role without an entry
const ALICE = `arn:aws:iam::${ACCT}:user/alice`; // a user without an entry
const GHOST = `arn:aws:iam::${ACCT}:role/ghost`; // not in IAM
const GONE = `arn:aws:iam::${ACCT}:role/gone`; // made, then deleted: moto's state dump still lists it, IAM does not
const SSO_NAME = "AWSReservedSSO_Admin_0123456789abcdef";
const NODE_TYPES = ["EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "EC2", "HYBRID_LINUX", "HYPERPOD_LINUX"];
const CONFIG_MAP_MSG = "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.";
const NOT_FOUND_MSG = "The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.";
const FORMAT_MSG = "The principalArn parameter format is not valid";

let moto: MotoServer;
let front: EksFront;
let dir: ReturnType<typeof tempDir>;
let env: Env;
let creds: { accessKeyId: string };
let stateBefore: string;

async function aws(e: Env, ...args: string[]): Promise<any> {
  const r = await runAsync("aws", [...args, "--output", "json"], e);
  assert.equal(r.status, 0, `aws ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : {};
}

/** [rule, `aws eks` arguments, exception, operation, message] */
type Row = [string, string[], string, string, string];

const C = ["--cluster-name", "rules"];
const IPE = "InvalidParameterException";
const RNF = "ResourceNotFoundException";
const IRE = "InvalidRequestException";

const ROWS: Row[] = [
  // CreateAccessEntry
  ["duplicate principal", ["create-access-entry", ...C, "--principal-arn", DEV], "ResourceInUseException", "CreateAccessEntry", "The specified access entry resource is already in use on this cluster."],
  ["unknown cluster", ["create-access-entry", "--cluster-name", "nope", "--principal-arn", SPARE], RNF, "CreateAccessEntry", "No cluster found for name: nope."],
  ["CONFIG_MAP cluster", ["create-access-entry", "--cluster-name", "cm", "--principal-arn", SPARE], IRE, "CreateAccessEntry", CONFIG_MAP_MSG],
  ["STS session ARN", ["create-access-entry", ...C, "--principal-arn", `arn:aws:sts::${ACCT}:assumed-role/dev/alice`], IPE, "CreateAccessEntry", FORMAT_MSG],
  ["permission-set ARN (no IAM principal)", ["create-access-entry", ...C, "--principal-arn", "arn:aws:sso:::permissionSet/ssoins-1/ps-1"], IPE, "CreateAccessEntry", FORMAT_MSG],
  ["account root ARN", ["create-access-entry", ...C, "--principal-arn", `arn:aws:iam::${ACCT}:root`], IPE, "CreateAccessEntry", FORMAT_MSG],
  ["service-linked role", ["create-access-entry", ...C, "--principal-arn", `arn:aws:iam::${ACCT}:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS`], IPE, "CreateAccessEntry", "The caller is not allowed to modify access entries with a principalArn value of a Service Linked Role"],
  ["unknown type", ["create-access-entry", ...C, "--principal-arn", SPARE, "--type", "WINDOWS"], IPE, "CreateAccessEntry", "AccessEntry type must be one of [EC2, EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX, HYBRID_LINUX, HYPERPOD_LINUX, STANDARD]"],
  ...NODE_TYPES.map((t): Row => [`${t} takes roles only`, ["create-access-entry", ...C, "--principal-arn", ALICE, "--type", t], IPE, "CreateAccessEntry", `Access entries of type ${t} take an IAM role as principal, not a user.`]),
  ...NODE_TYPES.map((t): Row => [`${t} takes no username`, ["create-access-entry", ...C, "--principal-arn", SPARE, "--type", t, "--username", "node-x"], IPE, "CreateAccessEntry", `username and kubernetesGroups can't be set for access entries of type ${t}.`]),
  ["EC2_LINUX takes no kubernetesGroups", ["create-access-entry", ...C, "--principal-arn", SPARE, "--type", "EC2_LINUX", "--kubernetes-groups", "nodes"], IPE, "CreateAccessEntry", "username and kubernetesGroups can't be set for access entries of type EC2_LINUX."],
  ["EC2_LINUX takes a role of the cluster's account", ["create-access-entry", ...C, "--principal-arn", "arn:aws:iam::111122223333:role/elsewhere", "--type", "EC2_LINUX"], IPE, "CreateAccessEntry", `Access entries of type EC2_LINUX need a role in the cluster's account ${ACCT}, not 111122223333.`],
  ...["system:", "eks:", "aws:", "amazon:", "iam:"].map((p): Row => [`username starting ${p}`, ["create-access-entry", ...C, "--principal-arn", SPARE, "--username", `${p}admin`], IPE, "CreateAccessEntry", `The username must not begin with ${p}`]),
  ["empty username", ["create-access-entry", ...C, "--principal-arn", SPARE, "--username", ""], IPE, "CreateAccessEntry", "The username can't be empty."],
  ["{{SessionName}} without a colon before it", ["create-access-entry", ...C, "--principal-arn", SPARE, "--username", "dev{{SessionName}}"], IPE, "CreateAccessEntry", "The username dev{{SessionName}} is not valid: a colon must come before {{SessionName}} (e.g. dev:{{SessionName}})."],
  ["{{SessionNameRaw}} without a colon before it", ["create-access-entry", ...C, "--principal-arn", SPARE, "--username", "dev-{{SessionNameRaw}}"], IPE, "CreateAccessEntry", "The username dev-{{SessionNameRaw}} is not valid: a colon must come before {{SessionNameRaw}} (e.g. dev:{{SessionNameRaw}})."],
  ["system: group", ["create-access-entry", ...C, "--principal-arn", SPARE, "--kubernetes-groups", "devs", "system:masters"], IPE, "CreateAccessEntry", "The kubernetes group name system:masters is invalid, it cannot start with system:"],
  ["principal not in IAM", ["create-access-entry", ...C, "--principal-arn", GHOST], IPE, "CreateAccessEntry", "The specified principalArn is invalid: invalid principal."],
  ["principal deleted from IAM", ["create-access-entry", ...C, "--principal-arn", GONE], IPE, "CreateAccessEntry", "The specified principalArn is invalid: invalid principal."],
  ["SSO role named without its path", ["create-access-entry", ...C, "--principal-arn", `arn:aws:iam::${ACCT}:role/${SSO_NAME}`], IPE, "CreateAccessEntry", "The specified principalArn is invalid: invalid principal."],
  // DescribeAccessEntry
  ["unknown entry", ["describe-access-entry", ...C, "--principal-arn", GHOST], RNF, "DescribeAccessEntry", NOT_FOUND_MSG],
  ["an access-entry ARN as principal", ["describe-access-entry", ...C, "--principal-arn", `arn:aws:eks:${REGION}:${ACCT}:access-entry/rules/role/${ACCT}/dev/0`], IPE, "DescribeAccessEntry", FORMAT_MSG],
  ["unknown cluster", ["describe-access-entry", "--cluster-name", "nope", "--principal-arn", DEV], RNF, "DescribeAccessEntry", "No cluster found for name: nope."],
  ["CONFIG_MAP cluster", ["describe-access-entry", "--cluster-name", "cm", "--principal-arn", DEV], IRE, "DescribeAccessEntry", CONFIG_MAP_MSG],
  // ListAccessEntries
  ["CONFIG_MAP cluster", ["list-access-entries", "--cluster-name", "cm"], IRE, "ListAccessEntries", CONFIG_MAP_MSG],
  ["unknown cluster", ["list-access-entries", "--cluster-name", "nope"], RNF, "ListAccessEntries", "No cluster found for name: nope."],
  ["maxResults over 100", ["list-access-entries", ...C, "--page-size", "101"], IPE, "ListAccessEntries", "maxResults must be between 1 and 100, got 101"],
  ["a forged nextToken", ["list-access-entries", ...C, "--starting-token", "forged"], IPE, "ListAccessEntries", "The nextToken forged is not valid for ListAccessEntries."],
  // UpdateAccessEntry
  ["username starting system:", ["update-access-entry", ...C, "--principal-arn", DEV, "--username", "system:admin"], IPE, "UpdateAccessEntry", "The username must not begin with system:"],
  ["system: group", ["update-access-entry", ...C, "--principal-arn", DEV, "--kubernetes-groups", "system:bootstrappers"], IPE, "UpdateAccessEntry", "The kubernetes group name system:bootstrappers is invalid, it cannot start with system:"],
  ["{{SessionNameRaw}} without a colon before it", ["update-access-entry", ...C, "--principal-arn", DEV, "--username", "x{{SessionNameRaw}}"], IPE, "UpdateAccessEntry", "The username x{{SessionNameRaw}} is not valid: a colon must come before {{SessionNameRaw}} (e.g. dev:{{SessionNameRaw}})."],
  ["EC2_LINUX entry: a username", ["update-access-entry", ...C, "--principal-arn", NODE, "--username", "node-x"], IPE, "UpdateAccessEntry", "username and kubernetesGroups can't be set for access entries of type EC2_LINUX."],
  ["EC2_LINUX entry: kubernetesGroups", ["update-access-entry", ...C, "--principal-arn", NODE, "--kubernetes-groups", "nodes"], IPE, "UpdateAccessEntry", "username and kubernetesGroups can't be set for access entries of type EC2_LINUX."],
  ["EC2_LINUX entry: its system:node username", ["update-access-entry", ...C, "--principal-arn", NODE, "--username", "system:node:{{EC2PrivateDNSName}}"], IPE, "UpdateAccessEntry", "The username must not begin with system:"],
  ["unknown entry", ["update-access-entry", ...C, "--principal-arn", GHOST, "--kubernetes-groups", "a"], RNF, "UpdateAccessEntry", NOT_FOUND_MSG],
  ["CONFIG_MAP cluster", ["update-access-entry", "--cluster-name", "cm", "--principal-arn", DEV, "--kubernetes-groups", "a"], IRE, "UpdateAccessEntry", CONFIG_MAP_MSG],
  // DeleteAccessEntry
  ["unknown entry", ["delete-access-entry", ...C, "--principal-arn", GHOST], RNF, "DeleteAccessEntry", NOT_FOUND_MSG],
  ["CONFIG_MAP cluster", ["delete-access-entry", "--cluster-name", "cm", "--principal-arn", DEV], IRE, "DeleteAccessEntry", CONFIG_MAP_MSG],
  // AssociateAccessPolicy
  ["a node-type entry", ["associate-access-policy", ...C, "--principal-arn", NODE, "--policy-arn", VIEW, "--access-scope", "type=cluster"], IPE, "AssociateAccessPolicy", 'This operation can only be performed on Access Entries with a type of "STANDARD".'],
  ["unknown access policy", ["associate-access-policy", ...C, "--principal-arn", DEV, "--policy-arn", "arn:aws:eks::aws:cluster-access-policy/AmazonEKSNopePolicy", "--access-scope", "type=cluster"], IPE, "AssociateAccessPolicy", "The policyArn arn:aws:eks::aws:cluster-access-policy/AmazonEKSNopePolicy is not a valid access policy. List them with 'list-access-policies'."],
  ["an IAM policy ARN", ["associate-access-policy", ...C, "--principal-arn", DEV, "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess", "--access-scope", "type=cluster"], IPE, "AssociateAccessPolicy", "The policyArn arn:aws:iam::aws:policy/AdministratorAccess is not a valid access policy. List them with 'list-access-policies'."],
  ["unknown scope type", ["associate-access-policy", ...C, "--principal-arn", DEV, "--policy-arn", VIEW, "--access-scope", "type=everywhere"], IPE, "AssociateAccessPolicy", "The accessScope type everywhere is not valid. Valid types are [cluster, namespace]."],
  ["namespace scope without namespaces", ["associate-access-policy", ...C, "--principal-arn", DEV, "--policy-arn", VIEW, "--access-scope", "type=namespace"], IPE, "AssociateAccessPolicy", "The accessScope of type namespace needs at least one namespace."],
  ["cluster scope with namespaces", ["associate-access-policy", ...C, "--principal-arn", DEV, "--policy-arn", VIEW, "--access-scope", "type=cluster,namespaces=team-a"], IPE, "AssociateAccessPolicy", "The accessScope of type cluster can't list namespaces."],
  ["unknown entry", ["associate-access-policy", ...C, "--principal-arn", GHOST, "--policy-arn", VIEW, "--access-scope", "type=cluster"], RNF, "AssociateAccessPolicy", NOT_FOUND_MSG],
  ["CONFIG_MAP cluster", ["associate-access-policy", "--cluster-name", "cm", "--principal-arn", DEV, "--policy-arn", VIEW, "--access-scope", "type=cluster"], IRE, "AssociateAccessPolicy", CONFIG_MAP_MSG],
  // DisassociateAccessPolicy
  ["a policy not associated", ["disassociate-access-policy", ...C, "--principal-arn", DEV, "--policy-arn", VIEW], RNF, "DisassociateAccessPolicy", `The policyArn ${VIEW} is not associated with the access entry of ${DEV}.`],
  ["unknown entry", ["disassociate-access-policy", ...C, "--principal-arn", GHOST, "--policy-arn", VIEW], RNF, "DisassociateAccessPolicy", NOT_FOUND_MSG],
  ["CONFIG_MAP cluster", ["disassociate-access-policy", "--cluster-name", "cm", "--principal-arn", DEV, "--policy-arn", VIEW], IRE, "DisassociateAccessPolicy", CONFIG_MAP_MSG],
  // ListAssociatedAccessPolicies, ListAccessPolicies
  ["unknown entry", ["list-associated-access-policies", ...C, "--principal-arn", GHOST], RNF, "ListAssociatedAccessPolicies", NOT_FOUND_MSG],
  ["maxResults over 100", ["list-associated-access-policies", ...C, "--principal-arn", DEV, "--page-size", "101"], IPE, "ListAssociatedAccessPolicies", "maxResults must be between 1 and 100, got 101"],
  ["CONFIG_MAP cluster", ["list-associated-access-policies", "--cluster-name", "cm", "--principal-arn", DEV], IRE, "ListAssociatedAccessPolicies", CONFIG_MAP_MSG],
  ["maxResults over 100", ["list-access-policies", "--page-size", "101"], IPE, "ListAccessPolicies", "maxResults must be between 1 and 100, got 101"],
  ["a forged nextToken", ["list-access-policies", "--starting-token", "forged"], IPE, "ListAccessPolicies", "The nextToken forged is not valid for ListAccessPolicies."],
  // UpdateClusterConfig (accessConfig), CreateCluster (accessConfig)
  ["CONFIG_MAP → API skips a mode", ["update-cluster-config", "--name", "cm", "--access-config", "authenticationMode=API"], IPE, "UpdateClusterConfig", "Unsupported authentication mode update from CONFIG_MAP to API"],
  ["mode downgrade", ["update-cluster-config", "--name", "rules", "--access-config", "authenticationMode=CONFIG_MAP"], IPE, "UpdateClusterConfig", "Unsupported authentication mode update from API_AND_CONFIG_MAP to CONFIG_MAP"],
  ["the mode it has", ["update-cluster-config", "--name", "rules", "--access-config", "authenticationMode=API_AND_CONFIG_MAP"], IPE, "UpdateClusterConfig", "Unsupported authentication mode update from API_AND_CONFIG_MAP to API_AND_CONFIG_MAP"],
  ["unknown mode", ["update-cluster-config", "--name", "rules", "--access-config", "authenticationMode=EVERYTHING"], IPE, "UpdateClusterConfig", "Value 'EVERYTHING' at 'accessConfig.authenticationMode' failed to satisfy constraint: Member must satisfy enum value set: [CONFIG_MAP, API_AND_CONFIG_MAP, API]"],
  ["accessConfig without a mode", ["update-cluster-config", "--name", "rules", "--access-config", "{}"], IPE, "UpdateClusterConfig", "accessConfig.authenticationMode is required."],
  ["unknown cluster", ["update-cluster-config", "--name", "nope", "--access-config", "authenticationMode=API"], RNF, "UpdateClusterConfig", "No cluster found for name: nope."],
  ["CONFIG_MAP without the creator's admin entry", ["create-cluster", "--name", "bad", "--role-arn", NODE, "--resources-vpc-config", "subnetIds=subnet-1", "--access-config", "authenticationMode=CONFIG_MAP,bootstrapClusterCreatorAdminPermissions=false"], IPE, "CreateCluster", "bootstrapClusterCreatorAdminPermissions must be true if cluster authentication mode is set to CONFIG_MAP"],
  ["unknown mode", ["create-cluster", "--name", "bad", "--role-arn", NODE, "--resources-vpc-config", "subnetIds=subnet-1", "--access-config", "authenticationMode=EVERYTHING"], IPE, "CreateCluster", "Value 'EVERYTHING' at 'accessConfig.authenticationMode' failed to satisfy constraint: Member must satisfy enum value set: [CONFIG_MAP, API_AND_CONFIG_MAP, API]"],
];

/** A raw request with an EKS credential scope (the front checks no signature), for what the AWS CLI never sends. */
function raw(method: string, path: string, body?: string): Promise<{ status: number; type: unknown; message: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, front.url), {
      method,
      agent: false,
      headers: { authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/20261202/${REGION}/eks/aws4_request, SignedHeaders=host, Signature=00`, "content-type": "application/json" },
    }, (res) => {
      let b = "";
      res.setEncoding("utf8").on("data", (c: string) => (b += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: res.headers["x-amzn-errortype"], message: (JSON.parse(b) as { message?: unknown }).message }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const entry = (arn: string) => `/clusters/rules/access-entries/${encodeURIComponent(arn)}`;

/** [rule, method, path, body, message] — all InvalidParameterException, 400 */
const RAW_ROWS: Array<[string, string, string, string | undefined, string]> = [
  ["body not JSON", "POST", "/clusters/rules/access-entries", "{not json", "The request body is not valid JSON."],
  ["body not an object", "POST", "/clusters/rules/access-entries", '["x"]', "The request body must be a JSON object."],
  ["principalArn missing", "POST", "/clusters/rules/access-entries", "{}", "principalArn is required."],
  ["principalArn not a string", "POST", "/clusters/rules/access-entries", '{"principalArn": 7}', "principalArn must be a string."],
  ["kubernetesGroups not a list of strings", "POST", "/clusters/rules/access-entries", JSON.stringify({ principalArn: SPARE, kubernetesGroups: "devs" }), "kubernetesGroups must be a list of strings."],
  ["tags not a map of strings", "POST", "/clusters/rules/access-entries", JSON.stringify({ principalArn: SPARE, tags: { a: 1 } }), "tags must be a map of strings."],
  ["username not a string", "POST", entry(DEV), '{"username": ["a"]}', "username must be a string."],
  ["accessScope missing", "POST", `${entry(DEV)}/access-policies`, JSON.stringify({ policyArn: VIEW }), "accessScope is required."],
  ["policyArn missing", "POST", `${entry(DEV)}/access-policies`, JSON.stringify({ accessScope: { type: "cluster" } }), "policyArn is required."],
  ["accessScope.namespaces not a list", "POST", `${entry(DEV)}/access-policies`, JSON.stringify({ policyArn: VIEW, accessScope: { type: "namespace", namespaces: "a" } }), "accessScope.namespaces must be a list of strings."],
  ["maxResults not an integer", "GET", "/clusters/rules/access-entries?maxResults=ten", undefined, "maxResults must be an integer."],
  ["maxResults 0", "GET", "/clusters/rules/access-entries?maxResults=0", undefined, "maxResults must be between 1 and 100, got 0"],
];

before(async () => {
  dir = tempDir();
  moto = await startMoto();
  front = await startEksFront({ motoUrl: moto.url });
  // the fixtures through the SDK (in-process: quick); the rows through the AWS CLI
  const iam = new IAMClient({ region: REGION, endpoint: front.url, credentials: { accessKeyId: "setup", secretAccessKey: "setup" } });
  const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] });
  const role = (RoleName: string, Path = "/") => iam.send(new CreateRoleCommand({ RoleName, Path, AssumeRolePolicyDocument: trust }));
  await Promise.all([role("dev", "/team/"), role("node"), role("spare"), role(SSO_NAME, "/aws-reserved/sso.amazonaws.com/us-west-2/"), iam.send(new CreateUserCommand({ UserName: "alice" })), iam.send(new CreateUserCommand({ UserName: "creator" }))]);
  await role("gone");
  await iam.send(new DeleteRoleCommand({ RoleName: "gone" }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "creator" }))).AccessKey!;
  creds = { accessKeyId: key.AccessKeyId! };
  env = baseEnv({ HOME: dir.path, AWS_ACCESS_KEY_ID: key.AccessKeyId, AWS_SECRET_ACCESS_KEY: key.SecretAccessKey, AWS_DEFAULT_REGION: REGION, AWS_ENDPOINT_URL: front.url });
  // signed by the creator, who gets the bootstrap entry, as on EKS
  const eks = new EKSClient({ region: REGION, endpoint: front.url, credentials: { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! } });
  const cluster = (name: string, authenticationMode?: "API_AND_CONFIG_MAP") =>
    eks.send(new CreateClusterCommand({ name, roleArn: NODE, resourcesVpcConfig: { subnetIds: ["subnet-1"] }, ...(authenticationMode ? { accessConfig: { authenticationMode } } : {}) }));
  await Promise.all([cluster("rules", "API_AND_CONFIG_MAP"), cluster("cm")]);
  await Promise.all([
    eks.send(new CreateAccessEntryCommand({ clusterName: "rules", principalArn: DEV })),
    eks.send(new CreateAccessEntryCommand({ clusterName: "rules", principalArn: NODE, type: "EC2_LINUX" })),
  ]);
  stateBefore = JSON.stringify(front.accessState());
});

after(async () => {
  await front?.stop();
  await moto?.stop();
  dir?.cleanup();
});

describe("every emulated rule, as the AWS CLI prints it", () => {
  let results: RunResult[];
  before(async () => {
    results = await awsBatch(env, ROWS.map(([, args]) => ["eks", ...args]));
  });
  ROWS.forEach(([rule, args, code, op, message], i) => {
    it(`${op}: ${rule}`, () => {
      const r = results[i]!;
      assert.notEqual(r.status, 0, `aws eks ${args.join(" ")} should fail: ${r.stdout}`);
      assert.equal(r.stderr.trim(), `An error occurred (${code}) when calling the ${op} operation: ${message}`);
    });
  });
  it("control: the `aws` executable prints the same lines (and exit status) for a sample of rows", async () => {
    const sample = [0, ROWS.findIndex(([, , code]) => code === RNF), ROWS.length - 1];
    const direct = await Promise.all(sample.map((i) => runAsync("aws", ["eks", ...ROWS[i]![1]], env)));
    assert.deepEqual(direct.map((r) => [r.status, r.stderr]), sample.map((i) => [results[i]!.status, results[i]!.stderr]));
  });
});

describe("the rules the AWS CLI cannot reach (it checks members and types itself), as raw requests", () => {
  for (const [rule, method, path, body, message] of RAW_ROWS) {
    it(rule, async () => {
      assert.deepEqual(await raw(method, path, body), { status: 400, type: "InvalidParameterException", message });
    });
  }
});

describe("afterwards", () => {
  it("no refused call changed anything; no refused CreateCluster made a cluster", async () => {
    assert.equal(JSON.stringify(front.accessState()), stateBefore);
    assert.ok(!(await aws(env, "eks", "list-clusters")).clusters.includes("bad"));
  });
});
