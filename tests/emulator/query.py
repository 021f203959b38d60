"""One AWS call against the emulator, for assertions: python query.py ENDPOINT < {"service":..,"method":..,"args":{..}}
Prints the response as JSON (a streaming Body is read as text; a zip's entries are read out, each after its name)."""
import io
import json
import sys
import zipfile

import boto3

spec = json.load(sys.stdin)
client = boto3.client(spec["service"], endpoint_url=sys.argv[1], region_name=spec.get("region", "us-east-1"),
                      aws_access_key_id="x", aws_secret_access_key="x")
resp = getattr(client, spec["method"])(**spec.get("args", {}))
if "Body" in resp:
    raw = resp["Body"].read()
    if raw.startswith(b"PK\x03\x04"):
        z = zipfile.ZipFile(io.BytesIO(raw))
        raw = b"".join(name.encode() + b"\n" + z.read(name) for name in z.namelist())
    resp["Body"] = raw.decode(errors="replace")
print(json.dumps(resp, default=str))
