"""after_deploy hook of the data layer: loads the seed data into the table (idempotent: put_item by key)."""
import json
import os
import sys

import boto3

table = os.environ["STACKC_OUTPUT_TableName"]
items = json.load(open(sys.argv[1]))
client = boto3.client("dynamodb", region_name=os.environ["STACKC_REGION"])
for item in items:
    client.put_item(TableName=table, Item={k: {"S": str(v)} for k, v in item.items()})
print(f"loaded {len(items)} mysfits into {table}")
