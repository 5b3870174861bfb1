/**
 * What the sandbox seeds for IAM Identity Center, so that permission-set grants work end to end.
 * moto 5.2.1 has sso-admin with one Identity Center instance per account and region (made on first
 * use, owned by the sandbox account), but it creates no AWSReservedSSO_ roles in IAM and lists at
 * most the instance's own account as provisioned (the front adds the assigned ones:
 * emulator/sso-admin.ts). Seeded here:
 *  - identity-store groups `eks-admins` and `eks-viewers` in the instance's identity store;
 *  - permission sets `EKSAdmin` and `EKSView`, each assigned to its group in the sandbox account
 *    123456789012 and in a second account, 210987654321, and provisioned there;
 *  - in each account, the role IAM Identity Center would make for each permission set,
 *    `AWSReservedSSO_<PermissionSet>_<16 random hex>` (trusting the account's Identity Center SAML
 *    provider): under `/aws-reserved/sso.amazonaws.com/<region>/` in 123456789012 and under
 *    `/aws-reserved/sso.amazonaws.com/` in 210987654321 (AWS leaves the region out for an instance in
 *    us-east-1), so both path forms can be met in one sandbox;
 *  - in 210987654321, `OrganizationAccountAccessRole` (admin rights, inline) trusting 123456789012,
 *    as AWS Organizations makes it in member accounts: the role eks-access assumes to read IAM there.
 * reassignPermissionSet() then plays what IAM Identity Center does when an assignment is deleted
 * and made again: the role goes, and a new one with a new random suffix comes (`access reconcile`).
 * moto does not check trust policies: any sandbox identity can assume these roles.
 */
import { randomBytes } from "node:crypto";
import { CreateRoleCommand, DeleteRoleCommand, GetRoleCommand, IAMClient, ListRolesCommand, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import {
  CreateAccountAssignmentCommand,
  CreatePermissionSetCommand,
  DeleteAccountAssignmentCommand,
  DescribePermissionSetCommand,
  ListAccountAssignmentsCommand,
  ListInstancesCommand,
  ListPermissionSetsCommand,
  ProvisionPermissionSetCommand,
  SSOAdminClient,
} from "@aws-sdk/client-sso-admin";
import { inMotoAccount } from "./emulator/moto.js";

/** The sandbox's second account: permission sets are provisioned there too. */
export const SANDBOX_MEMBER_ACCOUNT = "210987654321";
export const SANDBOX_PERMISSION_SETS = ["EKSAdmin", "EKSView"] as const;
const SSO_PATH = "/aws-reserved/sso.amazonaws.com/";

export interface SeededSsoRole {
  account: string;
  permissionSet: string;
  arn: string;
  path: string;
}

export interface IdentityCenterSeed {
  instanceArn: string;
  identityStoreId: string;
  permissionSets: Record<string, string>;
  roles: SeededSsoRole[];
}

export interface IdentityCenterOptions {
  /** moto_server's URL (the seeding talks to it directly, unsigned checks off) */
  motoUrl: string;
  region: string;
  /** the instance's account (the sandbox account) */
  account: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** An identity-store call (no SDK client for it in the project): moto's JSON protocol. */
async function identityStore(opts: IdentityCenterOptions, action: string, body: object): Promise<Record<string, unknown>> {
  const res = await fetch(`${opts.motoUrl}/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `AWSIdentityStore.${action}`,
      "x-moto-account-id": opts.account,
      authorization: `AWS4-HMAC-SHA256 Credential=${opts.credentials.accessKeyId}/20240101/${opts.region}/identitystore/aws4_request, SignedHeaders=host, Signature=00`,
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`identitystore ${action} answered HTTP ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

export async function seedIdentityCenter(opts: IdentityCenterOptions): Promise<IdentityCenterSeed> {
  const base = { region: opts.region, endpoint: opts.motoUrl, credentials: opts.credentials };
  const sso = inMotoAccount(new SSOAdminClient(base), opts.account);
  const instance = (await sso.send(new ListInstancesCommand({}))).Instances?.[0];
  if (!instance?.InstanceArn || !instance.IdentityStoreId) throw new Error("moto sso-admin answered no Identity Center instance");
  const instanceArn = instance.InstanceArn;
  const identityStoreId = instance.IdentityStoreId;
  const accounts = [opts.account, SANDBOX_MEMBER_ACCOUNT];
  const seed: IdentityCenterSeed = { instanceArn, identityStoreId, permissionSets: {}, roles: [] };

  const member = inMotoAccount(new IAMClient(base), SANDBOX_MEMBER_ACCOUNT);
  await member.send(
    new CreateRoleCommand({
      RoleName: "OrganizationAccountAccessRole",
      AssumeRolePolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${opts.account}:root` }, Action: "sts:AssumeRole" }] }),
    }),
  );
  // moto_server loads no AWS managed policies: AdministratorAccess's statement, inline
  await member.send(
    new PutRolePolicyCommand({ RoleName: "OrganizationAccountAccessRole", PolicyName: "AdministratorAccess", PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }) }),
  );

  const groups: Record<string, string> = {};
  for (const [ps, group] of [["EKSAdmin", "eks-admins"], ["EKSView", "eks-viewers"]] as const) {
    groups[ps] = String((await identityStore(opts, "CreateGroup", { IdentityStoreId: identityStoreId, DisplayName: group, Description: `sandbox: permission set ${ps}` }))["GroupId"]);
  }
  for (const ps of SANDBOX_PERMISSION_SETS) {
    const arn = (await sso.send(new CreatePermissionSetCommand({ InstanceArn: instanceArn, Name: ps, Description: `eks-access sandbox: ${ps}`, SessionDuration: "PT1H" }))).PermissionSet?.PermissionSetArn;
    if (!arn) throw new Error(`moto sso-admin created permission set ${ps} without an ARN`);
    seed.permissionSets[ps] = arn;
    for (const account of accounts) {
      await sso.send(new CreateAccountAssignmentCommand({ InstanceArn: instanceArn, PermissionSetArn: arn, TargetId: account, TargetType: "AWS_ACCOUNT", PrincipalType: "GROUP", PrincipalId: groups[ps] }));
      await sso.send(new ProvisionPermissionSetCommand({ InstanceArn: instanceArn, PermissionSetArn: arn, TargetId: account, TargetType: "AWS_ACCOUNT" }));
    }
  }

  for (const account of accounts) {
    const iam = inMotoAccount(new IAMClient(base), account);
    const path = account === opts.account ? `${SSO_PATH}${opts.region}/` : SSO_PATH;
    const samlProvider = `arn:aws:iam::${account}:saml-provider/AWSSSO_${randomBytes(8).toString("hex")}_DO_NOT_DELETE`;
    const trust = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Federated: samlProvider }, Action: ["sts:AssumeRoleWithSAML", "sts:TagSession"], Condition: { StringEquals: { "SAML:aud": "https://signin.aws.amazon.com/saml" } } }],
    });
    for (const ps of SANDBOX_PERMISSION_SETS) {
      const role = (await iam.send(new CreateRoleCommand({ RoleName: `AWSReservedSSO_${ps}_${randomBytes(8).toString("hex")}`, Path: path, AssumeRolePolicyDocument: trust, MaxSessionDuration: 3600 }))).Role;
      seed.roles.push({ account, permissionSet: ps, arn: role?.Arn ?? "", path });
    }
  }
  return seed;
}

/**
 * A permission set's assignments in one account deleted and made again, as IAM Identity Center
 * does it: with the last assignment gone it deletes the account's AWSReservedSSO_<PS>_<suffix>
 * role; the new assignment provisions a new role, same path, new random suffix. Answers the old
 * and the new role ARN.
 */
export async function reassignPermissionSet(opts: IdentityCenterOptions, target: { account: string; permissionSet: string }): Promise<{ oldArn: string; newArn: string }> {
  const base = { region: opts.region, endpoint: opts.motoUrl, credentials: opts.credentials };
  const sso = inMotoAccount(new SSOAdminClient(base), opts.account);
  const instanceArn = (await sso.send(new ListInstancesCommand({}))).Instances?.[0]?.InstanceArn;
  if (!instanceArn) throw new Error("moto sso-admin answered no Identity Center instance");
  let permissionSetArn: string | undefined;
  for (const arn of (await sso.send(new ListPermissionSetsCommand({ InstanceArn: instanceArn }))).PermissionSets ?? []) {
    if ((await sso.send(new DescribePermissionSetCommand({ InstanceArn: instanceArn, PermissionSetArn: arn }))).PermissionSet?.Name === target.permissionSet) permissionSetArn = arn;
  }
  if (!permissionSetArn) throw new Error(`no permission set ${target.permissionSet} in the sandbox`);
  const assignments = (await sso.send(new ListAccountAssignmentsCommand({ InstanceArn: instanceArn, AccountId: target.account, PermissionSetArn: permissionSetArn }))).AccountAssignments ?? [];
  if (assignments.length === 0) throw new Error(`permission set ${target.permissionSet} is not assigned in ${target.account}`);
  const iam = inMotoAccount(new IAMClient(base), target.account);
  const roles = (await iam.send(new ListRolesCommand({ PathPrefix: SSO_PATH }))).Roles ?? [];
  const old = roles.find((r) => r.RoleName?.startsWith(`AWSReservedSSO_${target.permissionSet}_`));
  if (!old?.RoleName || !old.Arn) throw new Error(`no AWSReservedSSO_${target.permissionSet}_ role in ${target.account}`);
  const trust = (await iam.send(new GetRoleCommand({ RoleName: old.RoleName }))).Role?.AssumeRolePolicyDocument;
  for (const a of assignments) {
    await sso.send(new DeleteAccountAssignmentCommand({ InstanceArn: instanceArn, PermissionSetArn: permissionSetArn, TargetId: target.account, TargetType: "AWS_ACCOUNT", PrincipalType: a.PrincipalType, PrincipalId: a.PrincipalId }));
  }
  await iam.send(new DeleteRoleCommand({ RoleName: old.RoleName }));
  for (const a of assignments) {
    await sso.send(new CreateAccountAssignmentCommand({ InstanceArn: instanceArn, PermissionSetArn: permissionSetArn, TargetId: target.account, TargetType: "AWS_ACCOUNT", PrincipalType: a.PrincipalType, PrincipalId: a.PrincipalId }));
  }
  const role = (
    await iam.send(
      new CreateRoleCommand({
        RoleName: `AWSReservedSSO_${target.permissionSet}_${randomBytes(8).toString("hex")}`,
        Path: old.Path,
        AssumeRolePolicyDocument: trust ? decodeURIComponent(trust) : "{}",
        MaxSessionDuration: 3600,
      }),
    )
  ).Role;
  return { oldArn: old.Arn, newArn: role?.Arn ?? "" };
}
