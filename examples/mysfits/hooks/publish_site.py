"""after_deploy hook of the site layer: fills the site's REPLACE_ME_* placeholders from the stack's outputs
and uploads it; with --empty (before_destroy) empties the bucket so the stack can be deleted."""
import os
import pathlib
import sys

import boto3

out = lambda k: os.environ[f"STACKC_OUTPUT_{k}"]
s3 = boto3.client("s3", region_name=os.environ["STACKC_REGION"])
bucket = out("SiteBucket")
if sys.argv[1] == "--empty":
    for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=obj["Key"])
    print(f"emptied {bucket}")
    sys.exit(0)
values = {
    "REPLACE_ME_REGION": os.environ["STACKC_REGION"],
    "REPLACE_ME_API_ENDPOINT": out("ApiEndpoint"),
    "REPLACE_ME_COGNITO_USER_POOL_ID": out("UserPoolId"),
    "REPLACE_ME_COGNITO_USER_POOL_CLIENT_ID": out("UserPoolClientId"),
}
root = pathlib.Path(sys.argv[1])
for path in sorted(root.rglob("*")):
    if path.is_file():
        body = path.read_text()
        for k, v in values.items():
            body = body.replace(k, v)
        key = str(path.relative_to(root))
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="text/html" if key.endswith(".html") else "text/plain")
        print(f"uploaded {key}")
