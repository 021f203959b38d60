"""Prints every stack the emulator holds as JSON: {name: {status, parameters, outputs, tags}}.

python describe.py ENDPOINT [REGION]. For assertions in tests only.
"""

import json
import sys

import boto3

cf = boto3.client("cloudformation", endpoint_url=sys.argv[1], region_name=sys.argv[2] if len(sys.argv) > 2 else "us-east-1",
                  aws_access_key_id="x", aws_secret_access_key="x")
out = {}
for s in cf.describe_stacks()["Stacks"]:
    out[s["StackName"]] = {
        "status": s["StackStatus"],
        "parameters": {p["ParameterKey"]: p.get("ParameterValue") for p in s.get("Parameters", [])},
        "outputs": {o["OutputKey"]: o["OutputValue"] for o in s.get("Outputs", [])},
        "tags": {t["Key"]: t["Value"] for t in s.get("Tags", [])},
        "termination_protection": s.get("EnableTerminationProtection", False),
    }
ssm = boto3.client("ssm", endpoint_url=sys.argv[1], region_name=sys.argv[2] if len(sys.argv) > 2 else "us-east-1",
                   aws_access_key_id="x", aws_secret_access_key="x")
params = {}
for page in ssm.get_paginator("describe_parameters").paginate():
    for p in page["Parameters"]:
        params[p["Name"]] = ssm.get_parameter(Name=p["Name"], WithDecryption=True)["Parameter"]["Value"]
print(json.dumps({"stacks": out, "ssm": params}))
