/**
 * `serve`'s AWS look-ups against moto, through the AWS SDK clients they use: ec2:DescribeInstances
 * for {{EC2PrivateDNSName}} (answer kept, concurrent asks share a call, each call counted) and IAM
 * for the matches beyond the peer (a role's ARN with its path, a user's groups — each only for the
 * principal whose unique id the caller has). Under the lock: moto_server.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ec2Directory } from "../../src/adapters/ec2-dns.js";
import { iamCallerDirectory } from "../../src/adapters/iam-caller.js";
import { startMoto, type MotoServer } from "../../src/sandbox/emulator/moto.js";
import { baseEnv, type Env } from "../helpers.js";
import { aws } from "../aws-helpers.js";

const REGION = "us-west-2";
const credentials = async () => ({ accessKeyId: "lookups", secretAccessKey: "lookups" });
let moto: MotoServer;
let admin: Env;

before(async () => {
  moto = await startMoto();
  admin = baseEnv({ AWS_ACCESS_KEY_ID: "admin", AWS_SECRET_ACCESS_KEY: "admin", AWS_DEFAULT_REGION: REGION, AWS_ENDPOINT_URL: moto.url });
});
after(async () => {
  await moto?.stop();
});

describe("ec2:DescribeInstances for {{EC2PrivateDNSName}}", () => {
  it("answers the instance's private DNS name, asks once per instance, and refuses an unknown one in one line", async () => {
    const images = aws(admin, "ec2", "describe-images", "--owners", "amazon") as { Images: Array<{ ImageId: string }> };
    const run = aws(admin, "ec2", "run-instances", "--image-id", images.Images[0]!.ImageId, "--count", "1", "--instance-type", "t3.micro") as { Instances: Array<{ InstanceId: string; PrivateDnsName: string }> };
    const { InstanceId: id, PrivateDnsName: name } = run.Instances[0]!;
    assert.match(name, /^ip-.*\.(ec2\.internal|compute\.internal)$/, "control: moto gave it a private DNS name");
    let calls = 0;
    const ec2 = ec2Directory({ region: REGION, credentials, endpoint: moto.url, env: {}, metrics: { ec2DescribeInstancesCall: () => calls++ } });
    const answers = await Promise.all([ec2.privateDnsName(id), ec2.privateDnsName(id), ec2.privateDnsName(id)]);
    assert.deepEqual(answers, [name, name, name]);
    assert.equal(await ec2.privateDnsName(id), name);
    assert.equal(calls, 1, "one call for four asks");
    await assert.rejects(ec2.privateDnsName("i-0000000000000dead"), (err: Error) => /^ec2:DescribeInstances i-0000000000000dead failed \(InvalidInstanceID\.NotFound\)/.test(err.message) && !err.message.includes("\n"));
  });
});

describe("IAM for the matches beyond the peer", () => {
  it("a role's ARN with its path, only for its unique id; a user's groups with their paths, only for its unique id", async () => {
    const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:root" }, Action: "sts:AssumeRole" }] });
    const role = (aws(admin, "iam", "create-role", "--role-name", "Dev", "--path", "/teams/", "--assume-role-policy-document", trust) as { Role: { RoleId: string; Arn: string } }).Role;
    const user = (aws(admin, "iam", "create-user", "--user-name", "carol") as { User: { UserId: string } }).User;
    for (const [group, path] of [["readers", "/teams/"], ["ops", "/"]] as const) {
      aws(admin, "iam", "create-group", "--group-name", group, "--path", path);
      aws(admin, "iam", "add-user-to-group", "--group-name", group, "--user-name", "carol");
    }
    const iam = await iamCallerDirectory({ region: REGION, credentials, endpoint: moto.url, env: {} });
    assert.deepEqual(await iam.role("Dev", role.RoleId), { arn: "arn:aws:iam::123456789012:role/teams/Dev", id: role.RoleId });
    assert.equal(await iam.role("Dev", "AROAANOTHERROLEID"), undefined, "another unique id (a re-created role, another account's)");
    assert.equal(await iam.role("Nobody", "AROAX"), undefined);
    const groups = await iam.groupsOfUser("carol", user.UserId);
    assert.deepEqual(groups?.map((g) => g.arn).sort(), ["arn:aws:iam::123456789012:group/ops", "arn:aws:iam::123456789012:group/teams/readers"]);
    assert.ok(groups?.every((g) => g.id.length > 0));
    assert.equal(await iam.groupsOfUser("carol", "AIDANOTCAROL"), undefined);
    assert.equal(await iam.groupsOfUser("nobody", "AIDAX"), undefined);
  });
});
