import os
import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])

def lambda_handler(event, context):
    for record in event.get("Records", []):
        image = record.get("dynamodb", {}).get("NewImage", {})
        if not image.get("pk", {}).get("S", "").startswith("MSG#"):
            continue
        group = image["message_group_uuid"]["S"]
        print(f"message for group {group}")
    return {"processed": len(event.get("Records", []))}
