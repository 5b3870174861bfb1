/**
 * The access-entry APIs the EKS front emulates, on the wire: driven by the AWS CLI (v1, botocore)
 * and by @aws-sdk/client-eks, each answer checked strictly against botocore's EKS model (no member
 * the model lacks, required members present, enum values, epoch-second timestamps), and the state
 * kept across a restart of the front. The errors of every rule: access-entry-rules.test.ts.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { join } from "node:path";
import { statSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import {
  AssociateAccessPolicyCommand,
  CreateAccessEntryCommand,
  DeleteAccessEntryCommand,
  DescribeAccessEntryCommand,
  DescribeClusterCommand,
  DescribeUpdateCommand,
  DisassociateAccessPolicyCommand,
  EKSClient,
  ListAccessEntriesCommand,
  ListAccessPoliciesCommand,
  ListAssociatedAccessPoliciesCommand,
  UpdateAccessEntryCommand,
  UpdateClusterConfigCommand,
  ResourceInUseException,
} from "@aws-sdk/client-eks";
import { startEksFront, type EksFront } from "../../src/sandbox/emulator/eks-front.js";
import { startMoto, type MotoServer } from "../../src/sandbox/emulator/moto.js";
import { baseEnv, runAsync, tempDir, type Env } from "../helpers.js";
import { loadModel, shapeErrors } from "./botocore-model.js";

const REGION = "us-west-2";
const ACCT = "123456789012";
const VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
const model = loadModel("eks", "2017-11-01");

let moto: MotoServer;
let front: EksFront;
let dir: ReturnType<typeof tempDir>;
let stateFile: string;
let env: Env;
let creds: { accessKeyId: string; secretAccessKey: string };
const DEV = `arn:aws:iam::${ACCT}:role/team/dev`;
const NODE = `arn:aws:iam::${ACCT}:role/node`;
let creatorArn: string;

async function aws(e: Env, ...args: string[]): Promise<any> {
  const r = await runAsync("aws", [...args, "--output", "json"], e);
  assert.equal(r.status, 0, `aws ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : {};
}

async function awsFails(e: Env, ...args: string[]): Promise<string> {
  const r = await runAsync("aws", args, e);
  assert.notEqual(r.status, 0, `aws ${args.join(" ")} should fail`);
  return r.stderr.trim();
}

/** A raw request with an EKS credential scope (the front checks no signature), for the wire shapes. */
function raw(method: string, path: string, body?: unknown): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, front.url), {
      method,
      agent: false,
      headers: { authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/20261202/${REGION}/eks/aws4_request, SignedHeaders=host, Signature=00`, ...(text ? { "content-type": "application/json" } : {}) },
    }, (res) => {
      let b = "";
      res.setEncoding("utf8").on("data", (c: string) => (b += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
    });
    req.on("error", reject);
    req.end(text);
  });
}

/** The model's output shape of an operation, strictly. */
function conforms(op: string, body: string): void {
  const shape = model.operations[op]?.output?.shape;
  assert.ok(shape, `model has ${op}`);
  assert.deepEqual(shapeErrors(model.shapes, shape, JSON.parse(body), op, true), [], `${op}: ${body}`);
}

before(async () => {
  dir = tempDir();
  stateFile = join(dir.path, "access-state.json");
  moto = await startMoto();
  front = await startEksFront({ motoUrl: moto.url, accessStateFile: stateFile });
  const admin = baseEnv({ HOME: dir.path, AWS_ACCESS_KEY_ID: "setup", AWS_SECRET_ACCESS_KEY: "setup", AWS_DEFAULT_REGION: REGION, AWS_ENDPOINT_URL: front.url });
  const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "eks.amazonaws.com" }, Action: "sts:AssumeRole" }] });
  await aws(admin, "iam", "create-role", "--role-name", "dev", "--path", "/team/", "--assume-role-policy-document", trust);
  await aws(admin, "iam", "create-role", "--role-name", "node", "--assume-role-policy-document", trust);
  creatorArn = (await aws(admin, "iam", "create-user", "--user-name", "creator")).User.Arn;
  const key = (await aws(admin, "iam", "create-access-key", "--user-name", "creator")).AccessKey;
  creds = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
  env = baseEnv({ HOME: dir.path, AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey, AWS_DEFAULT_REGION: REGION, AWS_ENDPOINT_URL: front.url });
});

after(async () => {
  await front?.stop();
  await moto?.stop();
  dir?.cleanup();
});

describe("the AWS CLI as the client", () => {
  it("create-cluster keeps accessConfig and makes the creator's admin entry (bootstrapClusterCreatorAdminPermissions)", async () => {
    const created = await aws(env, "eks", "create-cluster", "--name", "api", "--role-arn", NODE, "--resources-vpc-config", "subnetIds=subnet-1", "--access-config", "authenticationMode=API_AND_CONFIG_MAP");
    assert.deepEqual(created.cluster.accessConfig, { authenticationMode: "API_AND_CONFIG_MAP", bootstrapClusterCreatorAdminPermissions: true });
    const described = await aws(env, "eks", "describe-cluster", "--name", "api");
    assert.deepEqual(described.cluster.accessConfig, { authenticationMode: "API_AND_CONFIG_MAP", bootstrapClusterCreatorAdminPermissions: true });
    assert.deepEqual((await aws(env, "eks", "list-access-entries", "--cluster-name", "api")).accessEntries, [creatorArn]);
    const policies = await aws(env, "eks", "list-associated-access-policies", "--cluster-name", "api", "--principal-arn", creatorArn);
    assert.deepEqual(policies.associatedAccessPolicies.map((p: any) => [p.policyArn, p.accessScope.type]), [[ADMIN, "cluster"]]);
    // EKS's API default is CONFIG_MAP
    const plain = await aws(env, "eks", "create-cluster", "--name", "cm", "--role-arn", NODE, "--resources-vpc-config", "subnetIds=subnet-1");
    assert.equal(plain.cluster.accessConfig.authenticationMode, "CONFIG_MAP");
    const refused = await awsFails(env, "eks", "create-cluster", "--name", "bad", "--role-arn", NODE, "--resources-vpc-config", "subnetIds=subnet-1", "--access-config", "authenticationMode=CONFIG_MAP,bootstrapClusterCreatorAdminPermissions=false");
    assert.equal(refused, "An error occurred (InvalidParameterException) when calling the CreateCluster operation: bootstrapClusterCreatorAdminPermissions must be true if cluster authentication mode is set to CONFIG_MAP");
    assert.ok(!(await aws(env, "eks", "list-clusters")).clusters.includes("bad"), "a refused CreateCluster makes no cluster");
  });

  it("create, describe, update, list (paginated), delete an access entry", async () => {
    const entry = (await aws(env, "eks", "create-access-entry", "--cluster-name", "api", "--principal-arn", DEV, "--kubernetes-groups", "devs", "--tags", "team=a")).accessEntry;
    assert.equal(entry.username, `arn:aws:sts::${ACCT}:assumed-role/dev/{{SessionName}}`);
    assert.deepEqual([entry.type, entry.kubernetesGroups, entry.tags], ["STANDARD", ["devs"], { team: "a" }]);
    assert.match(entry.accessEntryArn, new RegExp(`^arn:aws:eks:${REGION}:${ACCT}:access-entry/api/role/${ACCT}/dev/[0-9a-f-]{36}$`));
    const updated = (await aws(env, "eks", "update-access-entry", "--cluster-name", "api", "--principal-arn", DEV, "--username", "dev:{{SessionName}}", "--kubernetes-groups", "devs", "ops")).accessEntry;
    assert.deepEqual([updated.username, updated.kubernetesGroups], ["dev:{{SessionName}}", ["devs", "ops"]]);
    await aws(env, "eks", "create-access-entry", "--cluster-name", "api", "--principal-arn", NODE, "--type", "EC2_LINUX");
    // --page-size makes the CLI send maxResults=1 and follow every nextToken
    const listed = await aws(env, "eks", "list-access-entries", "--cluster-name", "api", "--page-size", "1");
    assert.deepEqual([...listed.accessEntries].sort(), [creatorArn, DEV, NODE].sort());
    assert.equal((await aws(env, "eks", "describe-access-entry", "--cluster-name", "api", "--principal-arn", NODE)).accessEntry.username, "system:node:{{EC2PrivateDNSName}}");
    await aws(env, "eks", "delete-access-entry", "--cluster-name", "api", "--principal-arn", NODE);
    assert.equal(await awsFails(env, "eks", "describe-access-entry", "--cluster-name", "api", "--principal-arn", NODE), "An error occurred (ResourceNotFoundException) when calling the DescribeAccessEntry operation: The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.");
  });

  it("associate (namespace scope, then re-scoped), list, filter, disassociate; list-access-policies", async () => {
    const a = await aws(env, "eks", "associate-access-policy", "--cluster-name", "api", "--principal-arn", DEV, "--policy-arn", VIEW, "--access-scope", "type=namespace,namespaces=team-a,dev-*");
    assert.deepEqual(a.associatedAccessPolicy.accessScope, { type: "namespace", namespaces: ["team-a", "dev-*"] });
    assert.equal(a.principalArn, DEV);
    assert.deepEqual((await aws(env, "eks", "list-access-entries", "--cluster-name", "api", "--associated-policy-arn", VIEW)).accessEntries, [DEV]);
    await aws(env, "eks", "associate-access-policy", "--cluster-name", "api", "--principal-arn", DEV, "--policy-arn", ADMIN, "--access-scope", "type=cluster");
    const both = await aws(env, "eks", "list-associated-access-policies", "--cluster-name", "api", "--principal-arn", DEV, "--page-size", "1");
    assert.deepEqual(both.associatedAccessPolicies.map((p: any) => p.policyArn), [VIEW, ADMIN]);
    await aws(env, "eks", "disassociate-access-policy", "--cluster-name", "api", "--principal-arn", DEV, "--policy-arn", ADMIN);
    assert.deepEqual((await aws(env, "eks", "list-associated-access-policies", "--cluster-name", "api", "--principal-arn", DEV)).associatedAccessPolicies.map((p: any) => p.policyArn), [VIEW]);
    const all = await aws(env, "eks", "list-access-policies", "--page-size", "2");
    assert.deepEqual(all.accessPolicies.map((p: any) => p.name), ["AmazonEKSAdminPolicy", "AmazonEKSAdminViewPolicy", "AmazonEKSClusterAdminPolicy", "AmazonEKSEditPolicy", "AmazonEKSViewPolicy"]);
  });

  // every rule's error, as the AWS CLI prints it: test/sandbox/access-entry-rules.test.ts

  it("update-cluster-config moves the mode one way only; describe-update reports the update", async () => {
    assert.equal(await awsFails(env, "eks", "update-cluster-config", "--name", "cm", "--access-config", "authenticationMode=API"), "An error occurred (InvalidParameterException) when calling the UpdateClusterConfig operation: Unsupported authentication mode update from CONFIG_MAP to API");
    const u = (await aws(env, "eks", "update-cluster-config", "--name", "cm", "--access-config", "authenticationMode=API_AND_CONFIG_MAP")).update;
    assert.deepEqual([u.type, u.status, u.params], ["AccessConfigUpdate", "InProgress", [{ type: "AuthenticationMode", value: '"API_AND_CONFIG_MAP"' }]]);
    assert.equal((await aws(env, "eks", "describe-update", "--name", "cm", "--update-id", u.id)).update.status, "Successful");
    assert.equal((await aws(env, "eks", "describe-cluster", "--name", "cm")).cluster.accessConfig.authenticationMode, "API_AND_CONFIG_MAP");
    // as EKS does on the switch: the creator gets its admin entry now
    assert.deepEqual((await aws(env, "eks", "list-access-entries", "--cluster-name", "cm")).accessEntries, [creatorArn]);
    assert.match(await awsFails(env, "eks", "update-cluster-config", "--name", "cm", "--access-config", "authenticationMode=CONFIG_MAP"), /Unsupported authentication mode update from API_AND_CONFIG_MAP to CONFIG_MAP$/);
  });
});

describe("the wire, against botocore's EKS model", () => {
  it("every operation's 200 answer has exactly the model's output shape", async () => {
    const p = encodeURIComponent(DEV);
    conforms("ListAccessPolicies", (await raw("GET", "/access-policies")).body);
    conforms("ListAccessEntries", (await raw("GET", "/clusters/api/access-entries?maxResults=1")).body);
    conforms("DescribeAccessEntry", (await raw("GET", `/clusters/api/access-entries/${p}`)).body);
    conforms("UpdateAccessEntry", (await raw("POST", `/clusters/api/access-entries/${p}`, { kubernetesGroups: ["devs"] })).body);
    conforms("AssociateAccessPolicy", (await raw("POST", `/clusters/api/access-entries/${p}/access-policies`, { policyArn: ADMIN, accessScope: { type: "cluster" } })).body);
    conforms("ListAssociatedAccessPolicies", (await raw("GET", `/clusters/api/access-entries/${p}/access-policies`)).body);
    conforms("DisassociateAccessPolicy", (await raw("DELETE", `/clusters/api/access-entries/${p}/access-policies/${encodeURIComponent(ADMIN)}`)).body);
    const node = encodeURIComponent(NODE);
    conforms("CreateAccessEntry", (await raw("POST", "/clusters/api/access-entries", { principalArn: NODE, type: "EC2_WINDOWS" })).body);
    conforms("DeleteAccessEntry", (await raw("DELETE", `/clusters/api/access-entries/${node}`)).body);
    const update = await raw("POST", "/clusters/cm/update-config", { accessConfig: { authenticationMode: "API" } });
    conforms("UpdateClusterConfig", update.body);
    conforms("DescribeUpdate", (await raw("GET", `/clusters/cm/updates/${JSON.parse(update.body).update.id}`)).body);
    const described = JSON.parse((await raw("GET", "/clusters/api")).body);
    assert.deepEqual(shapeErrors(model.shapes, "AccessConfigResponse", described.cluster.accessConfig, "accessConfig", true), []);
  });

  it("errors: status, x-amzn-ErrorType and a JSON message, as the model's exceptions", async () => {
    const r = await raw("POST", "/clusters/api/access-entries", { principalArn: DEV });
    assert.equal(r.status, 409);
    assert.equal(r.headers["x-amzn-errortype"], "ResourceInUseException");
    assert.equal((model.shapes["ResourceInUseException"] as any).error.httpStatusCode, 409);
    assert.deepEqual(JSON.parse(r.body), { message: "The specified access entry resource is already in use on this cluster." });
    const nf = await raw("GET", "/clusters/nope/access-entries");
    assert.equal(nf.status, (model.shapes["ResourceNotFoundException"] as any).error.httpStatusCode);
    const bad = await raw("POST", "/clusters/api/access-entries", "not an object");
    assert.equal(bad.status, 400);
    assert.equal(bad.headers["x-amzn-errortype"], "InvalidParameterException");
  });
});

describe("@aws-sdk/client-eks as the client", () => {
  it("runs every operation", async () => {
    const eks = new EKSClient({ region: REGION, endpoint: front.url, credentials: creds });
    await eks.send(new CreateAccessEntryCommand({ clusterName: "api", principalArn: NODE, kubernetesGroups: ["viewers"] }));
    await assert.rejects(eks.send(new CreateAccessEntryCommand({ clusterName: "api", principalArn: NODE })), (e: unknown) => e instanceof ResourceInUseException);
    const d = await eks.send(new DescribeAccessEntryCommand({ clusterName: "api", principalArn: NODE }));
    assert.ok(d.accessEntry?.createdAt instanceof Date);
    assert.equal(d.accessEntry?.principalArn, NODE);
    await eks.send(new UpdateAccessEntryCommand({ clusterName: "api", principalArn: NODE, kubernetesGroups: ["a"] }));
    await eks.send(new AssociateAccessPolicyCommand({ clusterName: "api", principalArn: NODE, policyArn: VIEW, accessScope: { type: "cluster" } }));
    const assoc = await eks.send(new ListAssociatedAccessPoliciesCommand({ clusterName: "api", principalArn: NODE }));
    assert.ok(assoc.associatedAccessPolicies?.[0]?.associatedAt instanceof Date);
    await eks.send(new DisassociateAccessPolicyCommand({ clusterName: "api", principalArn: NODE, policyArn: VIEW }));
    const pages: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await eks.send(new ListAccessEntriesCommand({ clusterName: "api", maxResults: 1, nextToken }));
      pages.push(...(page.accessEntries ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    assert.ok(pages.includes(NODE) && pages.includes(DEV));
    assert.equal((await eks.send(new ListAccessPoliciesCommand({}))).accessPolicies?.length, 5);
    await eks.send(new DeleteAccessEntryCommand({ clusterName: "api", principalArn: NODE }));
    const up = await eks.send(new UpdateClusterConfigCommand({ name: "api", accessConfig: { authenticationMode: "API" } }));
    assert.equal((await eks.send(new DescribeUpdateCommand({ name: "api", updateId: up.update!.id! }))).update?.status, "Successful");
    assert.equal((await eks.send(new DescribeClusterCommand({ name: "api" }))).cluster?.accessConfig?.authenticationMode, "API");
  });
});

describe("persistence", () => {
  it("the state file is 0600 and a restarted front answers the same", async () => {
    assert.equal(statSync(stateFile).mode & 0o777, 0o600);
    const before = await aws(env, "eks", "list-access-entries", "--cluster-name", "api");
    await front.stop();
    front = await startEksFront({ motoUrl: moto.url, accessStateFile: stateFile });
    const e2 = { ...env, AWS_ENDPOINT_URL: front.url };
    assert.deepEqual(await aws(e2, "eks", "list-access-entries", "--cluster-name", "api"), before);
    assert.equal((await aws(e2, "eks", "describe-cluster", "--name", "api")).cluster.accessConfig.authenticationMode, "API");
  });
});
