"""One AWS call against the emulator, for assertions: python query.py ENDPOINT < {"service":..,"method":..,"args":{..}}
Prints the response as JSON (a streaming Body is read as text)."""
import json
import sys

import boto3

spec = json.load(sys.stdin)
client = boto3.client(spec["service"], endpoint_url=sys.argv[1], region_name=spec.get("region", "us-east-1"),
                      aws_access_key_id="x", aws_secret_access_key="x")
resp = getattr(client, spec["method"])(**spec.get("args", {}))
if "Body" in resp:
    resp["Body"] = resp["Body"].read().decode()
print(json.dumps(resp, default=str))
