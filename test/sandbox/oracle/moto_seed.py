#!/usr/bin/env python3
"""Test helper: create IAM principals in a running moto_server through boto3 (a real AWS client).

Reads one JSON object on stdin:
  {"endpointUrl": "http://127.0.0.1:PORT", "accountId": "123456789012" | null,
   "user": {"name": str, "path": str} | null,
   "inactiveKey": bool,                      # also create a second, deactivated key for the user
   "role": {"name": str, "path": str, "sessionName": str} | null}
Writes what moto's API answered (not its state dump) on stdout:
  {"user": {"arn", "userId", "accessKeyId", "secretAccessKey", "inactiveAccessKeyId"?},
   "role": {"arn", "roleId"},
   "assumed": {"arn", "assumedRoleId", "accessKeyId", "secretAccessKey", "sessionToken"}}
Only ever talks to the given loopback endpoint.
"""
import json
import sys

import boto3

TRUST_ANYONE = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
})


def client(spec, service):
    c = boto3.client(
        service,
        endpoint_url=spec["endpointUrl"],
        region_name="us-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    account = spec.get("accountId")
    if account:
        def add_account_header(request, **_):
            request.headers["x-moto-account-id"] = account
        c.meta.events.register("before-sign.*.*", add_account_header)
    return c


def seed_user(iam, user, inactive_key):
    created = iam.create_user(UserName=user["name"], Path=user["path"])["User"]
    key = iam.create_access_key(UserName=user["name"])["AccessKey"]
    out = {
        "arn": created["Arn"],
        "userId": created["UserId"],
        "accessKeyId": key["AccessKeyId"],
        "secretAccessKey": key["SecretAccessKey"],
    }
    if inactive_key:
        second = iam.create_access_key(UserName=user["name"])["AccessKey"]
        iam.update_access_key(UserName=user["name"], AccessKeyId=second["AccessKeyId"], Status="Inactive")
        out["inactiveAccessKeyId"] = second["AccessKeyId"]
        out["inactiveSecretAccessKey"] = second["SecretAccessKey"]
    return out


def seed_role(iam, sts, role):
    created = iam.create_role(RoleName=role["name"], Path=role["path"], AssumeRolePolicyDocument=TRUST_ANYONE)["Role"]
    answer = sts.assume_role(RoleArn=created["Arn"], RoleSessionName=role["sessionName"])
    creds = answer["Credentials"]
    return (
        {"arn": created["Arn"], "roleId": created["RoleId"]},
        {
            "arn": answer["AssumedRoleUser"]["Arn"],
            "assumedRoleId": answer["AssumedRoleUser"]["AssumedRoleId"],
            "accessKeyId": creds["AccessKeyId"],
            "secretAccessKey": creds["SecretAccessKey"],
            "sessionToken": creds["SessionToken"],
        },
    )


def main():
    spec = json.load(sys.stdin)
    iam = client(spec, "iam")
    out = {}
    if spec.get("user"):
        out["user"] = seed_user(iam, spec["user"], spec.get("inactiveKey", False))
    if spec.get("role"):
        out["role"], out["assumed"] = seed_role(iam, client(spec, "sts"), spec["role"])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
