#!/usr/bin/env python3
"""Test oracle: build an EKS token exactly as `aws eks get-token` (AWS CLI v1) does.

Reads one JSON object, or a list of them, on stdin:
  {"accessKeyId": str, "secretAccessKey": str, "sessionToken": str | null,
   "region": str,
   "clusterId": str | null,     # null: sign no x-k8s-aws-id header (SignedHeaders=host)
   "endpointUrl": str | null,   # e.g. "http://127.0.0.1:PORT"; default: the real STS host
   "now": str | null}           # ISO-8601 UTC instant to freeze the signer's clock at
Writes {"url": str, "token": str} (or a list of them) on stdout.

It uses botocore's own SigV4QueryAuth presigner and awscli's TokenGenerator and
x-k8s-aws-id header handlers (awscli/customizations/eks/get_token.py), so it is an
independent reference for the TypeScript signer and verifier. No network access:
presigning is local.
"""
import base64
import datetime
import json
import sys

import botocore.auth
import botocore.session
from awscli.customizations.eks.get_token import STSClientFactory, TokenGenerator

REAL_CLOCK = botocore.auth.get_current_datetime


def freeze_clock(iso_instant):
    if not iso_instant:
        botocore.auth.get_current_datetime = REAL_CLOCK
        return
    instant = datetime.datetime.fromisoformat(iso_instant.replace("Z", "+00:00"))
    instant = instant.astimezone(datetime.timezone.utc).replace(tzinfo=None)

    def frozen(remove_tzinfo=True):
        return instant if remove_tzinfo else instant.replace(tzinfo=datetime.timezone.utc)

    # botocore.auth imported get_current_datetime by name; patch that binding.
    botocore.auth.get_current_datetime = frozen


def make_sts_client(spec):
    session = botocore.session.Session()
    client_kwargs = {
        "region_name": spec["region"],
        "aws_access_key_id": spec["accessKeyId"],
        "aws_secret_access_key": spec["secretAccessKey"],
        "aws_session_token": spec.get("sessionToken") or None,
    }
    if spec.get("endpointUrl"):
        client_kwargs["endpoint_url"] = spec["endpointUrl"]
    sts = session.create_client("sts", **client_kwargs)
    # Same event handlers `aws eks get-token` registers (inject the signed x-k8s-aws-id header).
    STSClientFactory(session)._register_k8s_aws_id_handlers(sts)
    return sts


def presign(spec):
    freeze_clock(spec.get("now"))
    sts = make_sts_client(spec)
    if spec.get("clusterId") is None:
        url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
        token = "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode("utf-8")).decode("utf-8").rstrip("=")
        return {"url": url, "token": token}
    generator = TokenGenerator(sts)
    token = generator.get_token(spec["clusterId"])
    url = base64.urlsafe_b64decode(token[len("k8s-aws-v1."):] + "==").decode("utf-8")
    return {"url": url, "token": token}


def main():
    spec = json.load(sys.stdin)
    out = [presign(s) for s in spec] if isinstance(spec, list) else presign(spec)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
