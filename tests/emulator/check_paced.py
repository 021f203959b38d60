"""Proves corrections 21-23 of moto_shim.py, each on its own: python check_paced.py ENDPOINT MODE.

MODE "pace": the emulator runs with --pace 0.01; MODE "throttle": with --throttle 2. Exits non-zero on failure.
"""

import sys
import time

import boto3
from botocore.config import Config

endpoint, mode = sys.argv[1], sys.argv[2]
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
cf = boto3.client("cloudformation", config=Config(retries={"total_max_attempts": 1}), **kw)
failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (f": {detail}" if detail and not ok else ""))
    if not ok:
        failures.append(name)


def status(stack):
    return cf.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]


def settle(stack, limit=20):
    end = time.time() + limit
    while time.time() < end:
        try:
            s = status(stack)
        except Exception:
            return "GONE"
        if not s.endswith("_IN_PROGRESS"):
            return s
        time.sleep(0.05)
    return status(stack)


def steps(stack):
    return [(e["LogicalResourceId"], e["ResourceStatus"]) for e in cf.describe_stack_events(StackName=stack)["StackEvents"][::-1]]


def change_set(stack, body, kind):
    cf.create_change_set(StackName=stack, ChangeSetName=f"cs{time.time_ns()}", ChangeSetType=kind, TemplateBody=body)
    name = cf.list_change_sets(StackName=stack)["Summaries"][-1]["ChangeSetName"]
    first = cf.describe_change_set(StackName=stack, ChangeSetName=name)["Status"]
    while cf.describe_change_set(StackName=stack, ChangeSetName=name)["Status"] != "CREATE_COMPLETE":
        time.sleep(0.01)
    return name, first


QUEUE = "Resources:\n  T:\n    Type: AWS::SNS::Topic\n  Q:\n    Type: AWS::SQS::Queue\n    Properties: {QueueName: paced, VisibilityTimeout: %d}\n"

if mode == "pace":
    # 21. paced: the change set, the execution and the delete each pass through their IN_PROGRESS states,
    # a queue takes ~60 s x 0.01, every resource step is an event, and a busy stack refuses a new change set.
    name, first = change_set("paced", QUEUE % 30, "CREATE")
    started = time.time()
    cf.execute_change_set(StackName="paced", ChangeSetName=name)
    returned = time.time() - started
    during = status("paced")
    try:
        cf.create_change_set(StackName="paced", ChangeSetName="busy", ChangeSetType="UPDATE", TemplateBody=QUEUE % 40)
        refused = ""
    except Exception as error:
        refused = str(error)
    end = settle("paced")
    took = time.time() - started
    seen = steps("paced")
    ordered = seen.index(("Q", "CREATE_IN_PROGRESS")) < seen.index(("Q", "CREATE_COMPLETE")) < seen.index(("paced", "CREATE_COMPLETE"))
    check("21 paced (change set)", first == "CREATE_IN_PROGRESS", first)
    check("21 paced (create)", returned < 0.3 and during == "CREATE_IN_PROGRESS" and end == "CREATE_COMPLETE" and 0.6 <= took < 3 and ordered,
          f"{returned:.2f} {during} {end} {took:.2f} {seen}")
    check("21 paced (busy stack)", "CREATE_IN_PROGRESS state and can not be updated" in refused, refused)
    cf.delete_stack(StackName="paced")
    deleting = status("paced")
    end = settle("paced")
    gone = [e for e in cf.describe_stack_events(StackName=cf.list_stacks(StackStatusFilter=["DELETE_COMPLETE"])["StackSummaries"][0]["StackId"])["StackEvents"]]
    deleted = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in gone][::-1]
    check("21 paced (delete)", deleting == "DELETE_IN_PROGRESS" and end == "GONE" and ("Q", "DELETE_COMPLETE") in deleted
          and deleted.count(("paced", "DELETE_IN_PROGRESS")) == 1, f"{deleting} {end} {deleted}")
    # 23. cancel-update: CancelUpdateStack stops an update, which rolls back to the previous version.
    sqs = boto3.client("sqs", **kw)
    name, _ = change_set("cancelled", QUEUE % 30, "CREATE")
    cf.execute_change_set(StackName="cancelled", ChangeSetName=name)
    settle("cancelled")
    try:
        cf.cancel_update_stack(StackName="cancelled")
        idle_refused = ""
    except Exception as error:
        idle_refused = str(error)
    name, _ = change_set("cancelled", QUEUE % 45, "UPDATE")
    cf.execute_change_set(StackName="cancelled", ChangeSetName=name)
    time.sleep(0.1)
    cf.cancel_update_stack(StackName="cancelled")
    rolling = status("cancelled")
    end = settle("cancelled")
    url = sqs.get_queue_url(QueueName="paced")["QueueUrl"]
    timeout = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"]
    seen = steps("cancelled")
    check("23 cancel-update", rolling in ("UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_IN_PROGRESS") and end == "UPDATE_ROLLBACK_COMPLETE"
          and ("Q", "UPDATE_FAILED") in seen and timeout == "30" and "cannot be called from current stack status" in idle_refused,
          f"{rolling} {end} {timeout} {seen} {idle_refused}")
elif mode == "throttle":
    # 22. throttling: above 2 calls a second of one API, `Throttling: Rate exceeded` (HTTP 400); another
    # API is counted apart, and a second later the first answers again.
    codes = []
    for _ in range(8):
        try:
            cf.list_stacks()
            codes.append("ok")
        except cf.exceptions.ClientError as error:
            codes.append(f"{error.response['ResponseMetadata']['HTTPStatusCode']} {error.response['Error']['Code']}: {error.response['Error']['Message']}")
    try:
        cf.describe_stacks()
        other = "ok"
    except Exception as error:
        other = str(error)
    time.sleep(1.1)
    try:
        cf.list_stacks()
        later = "ok"
    except Exception as error:
        later = str(error)
    check("22 throttling", codes[:2] == ["ok", "ok"] and "400 Throttling: Rate exceeded" in codes and other == "ok" and later == "ok",
          f"{codes} {other} {later}")
sys.exit(1 if failures else 0)
