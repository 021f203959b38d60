"""Proves each correction of moto_shim.py on its own: python check_shim.py ENDPOINT. Exits non-zero on failure."""

import sys

import boto3

kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
cf = boto3.client("cloudformation", **kw)

EXPORTER = """
Parameters:
  Subnets:
    Type: CommaDelimitedList
Resources:
  Topic:
    Type: AWS::SNS::Topic
  Dist:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig: {Enabled: true}
Outputs:
  TopicArn:
    Value: !Ref Topic
    Export:
      Name: !Sub "${AWS::StackName}-TopicArn"
  DistDomain:
    Value: !GetAtt Dist.DomainName
"""
IMPORTER = """
Resources:
  Param:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /shim/imported
      Type: String
      Value: !ImportValue exporter-TopicArn
"""
VPC = """
Resources:
  VPC:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.0.0.0/16}
  RT:
    Type: AWS::EC2::RouteTable
    Properties: {VpcId: !Ref VPC}
"""


def run(stack, body, params=None, kind="CREATE", name="cs1"):
    cf.create_change_set(StackName=stack, ChangeSetName=name, ChangeSetType=kind, TemplateBody=body,
                         Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (params or {}).items()])
    cf.execute_change_set(StackName=stack, ChangeSetName=name)
    return cf.describe_stacks(StackName=stack)["Stacks"][0]


failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (f": {detail}" if detail and not ok else ""))
    if not ok:
        failures.append(name)


# 3. placeholder-resources: a GetAtt on a type moto does not model answers with a placeholder.
# 1. outputs-after-execute: outputs and exports exist after ExecuteChangeSet.
s = run("exporter", EXPORTER, {"Subnets": "subnet-a,subnet-b"})
outputs = {o["OutputKey"]: o["OutputValue"] for o in s.get("Outputs", [])}
check("1 outputs-after-execute", "TopicArn" in outputs, str(outputs))
exports = [e["Name"] for e in cf.list_exports()["Exports"]]
check("1 exports-after-execute", "exporter-TopicArn" in exports, str(exports))
check("3 placeholder-resources", outputs.get("DistDomain", "").endswith(".cloudfront.net"), str(outputs))
# 6. list-parameters
params = {p["ParameterKey"]: p["ParameterValue"] for p in s["Parameters"]}
check("6 list-parameters", params.get("Subnets") == "subnet-a,subnet-b", str(params))
# 2. imports-in-change-sets
s = run("importer", IMPORTER)
ssm = boto3.client("ssm", **kw)
check("2 imports-in-change-sets", s["StackStatus"] == "CREATE_COMPLETE" and ssm.get_parameter(Name="/shim/imported")["Parameter"]["Value"] == outputs["TopicArn"])
# 5. create-over-review: a CREATE change set never executed, then another one.
cf.create_change_set(StackName="review", ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=IMPORTER.replace("/shim/imported", "/shim/review"))
s = run("review", IMPORTER.replace("/shim/imported", "/shim/review"), name="second")
same_name = [x for x in cf.describe_stacks()["Stacks"] if x["StackName"] == "review"]
check("5 create-over-review", len(same_name) == 1 and s["StackStatus"] == "CREATE_COMPLETE", str(len(same_name)))
# 4. delete-in-order
run("vpc", VPC)
cf.delete_stack(StackName="vpc")
live = [x["StackName"] for x in cf.describe_stacks()["Stacks"]]
deleted = [x for x in cf.list_stacks()["StackSummaries"] if x["StackName"] == "vpc"]
check("4 delete-in-order", "vpc" not in live and deleted and deleted[0]["StackStatus"] == "DELETE_COMPLETE", str(deleted))
TG = """
Resources:
  VPC:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.1.0.0/16}
  TG:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: {Name: shim-tg, Port: 80, Protocol: HTTP, TargetType: ip, VpcId: !Ref VPC}
"""
run("tg", TG)
cf.delete_stack(StackName="tg")
again = run("tg", TG, name="cs2")
check("4 delete-target-groups", again["StackStatus"] == "CREATE_COMPLETE", again["StackStatus"])
# 7. rollback: a failing resource rolls the first create back to ROLLBACK_COMPLETE with a resource event.
FAILING = """
Resources:
  Good:
    Type: AWS::SNS::Topic
  Bad:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/none/0
      Port: 443
      Protocol: HTTPS
      Certificates: [{CertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/none"}]
      DefaultActions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "200"}}]
"""
cf.create_change_set(StackName="failing", ChangeSetName="cs1", ChangeSetType="CREATE", TemplateBody=FAILING)
cf.execute_change_set(StackName="failing", ChangeSetName="cs1")
s = cf.describe_stacks(StackName="failing")["Stacks"][0]
events = cf.describe_stack_events(StackName="failing")["StackEvents"]
failed = [e for e in events if e["ResourceStatus"].endswith("_FAILED")]
check("7 rollback", s["StackStatus"] == "ROLLBACK_COMPLETE" and failed and failed[0]["LogicalResourceId"] == "Bad", f"{s['StackStatus']} {failed}")
# 8. load-balancer-type
NLB = """
Resources:
  VPC:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.2.0.0/16}
  Subnet:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref VPC, CidrBlock: 10.2.0.0/24}
  LB:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties: {Type: network, Subnets: [!Ref Subnet]}
  TG:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: {Port: 80, Protocol: TCP, TargetType: ip, VpcId: !Ref VPC}
  Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref LB
      Port: 80
      Protocol: TCP
      DefaultActions: [{Type: forward, TargetGroupArn: !Ref TG}]
"""
s = run("nlb", NLB)
check("8 load-balancer-type", s["StackStatus"] == "CREATE_COMPLETE", s["StackStatus"])
# 9. update-in-place: an RDS instance whose password changes stays in the stack.
DB = """
Parameters:
  Password: {Type: String, NoEcho: true}
Resources:
  Database:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: postgres
      DBInstanceClass: db.t3.micro
      AllocatedStorage: "20"
      MasterUsername: root
      MasterUserPassword: !Ref Password
Outputs:
  Endpoint:
    Value: {"Fn::GetAtt": [Database, Endpoint.Address]}
"""
run("db", DB, {"Password": "first-password"})
s = run("db", DB, {"Password": "second-password"}, kind="UPDATE", name="cs2")
rds = boto3.client("rds", **kw)
instances = rds.describe_db_instances()["DBInstances"]
outputs = {o["OutputKey"]: o["OutputValue"] for o in s.get("Outputs", [])}
check("9 update-in-place", s["StackStatus"] == "UPDATE_COMPLETE" and len(instances) == 1 and outputs.get("Endpoint"), f"{s['StackStatus']} {len(instances)} {outputs}")
# 10. tags-in-change-sets: a change set that changes only the stack's tags is made and applied.
TAGGED = "Parameters:\n  Size:\n    Type: String\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
SIZE = [{"ParameterKey": "Size", "ParameterValue": "s"}]
cf.create_change_set(StackName="tagged", ChangeSetName="cs1", ChangeSetType="CREATE", TemplateBody=TAGGED, Parameters=SIZE, Tags=[{"Key": "Owner", "Value": "a"}])
cf.execute_change_set(StackName="tagged", ChangeSetName="cs1")
cf.create_change_set(StackName="tagged", ChangeSetName="cs2", ChangeSetType="UPDATE", TemplateBody=TAGGED, Parameters=SIZE, Tags=[{"Key": "Owner", "Value": "b"}])
check("10 tags-in-change-sets (made)", cf.describe_change_set(StackName="tagged", ChangeSetName="cs2")["Status"] == "CREATE_COMPLETE")
cf.execute_change_set(StackName="tagged", ChangeSetName="cs2")
tags = {t["Key"]: t["Value"] for t in cf.describe_stacks(StackName="tagged")["Stacks"][0].get("Tags", [])}
check("10 tags-in-change-sets", tags == {"Owner": "b"}, str(tags))
# 11. drift: a value changed out of band is MODIFIED with both values, a deleted one DELETED, a type whose
# live state is not read NOT_CHECKED; the stack is DRIFTED.
DRIFTING = """
Parameters:
  Level:
    Type: String
Resources:
  Kept:
    Type: AWS::SSM::Parameter
    Properties: {Name: /drift/kept, Type: String, Value: !Ref Level}
  Changed:
    Type: AWS::SSM::Parameter
    Properties: {Name: /drift/changed, Type: String, Value: !Sub "${Level}-x"}
  Gone:
    Type: AWS::SSM::Parameter
    Properties: {Name: /drift/gone, Type: String, Value: v}
  Topic:
    Type: AWS::SNS::Topic
"""
run("drifting", DRIFTING, {"Level": "info"})
detection = cf.detect_stack_drift(StackName="drifting")["StackDriftDetectionId"]
status = cf.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
check("11 drift (in sync first)", status["StackDriftStatus"] == "IN_SYNC", str(status))
ssm = boto3.client("ssm", **kw)
ssm.put_parameter(Name="/drift/changed", Value="debug", Type="String", Overwrite=True)
ssm.delete_parameter(Name="/drift/gone")
detection = cf.detect_stack_drift(StackName="drifting")["StackDriftDetectionId"]
status = cf.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
drifts = {d["LogicalResourceId"]: d for d in cf.describe_stack_resource_drifts(StackName="drifting")["StackResourceDrifts"]}
seen = {k: d["StackResourceDriftStatus"] for k, d in drifts.items()}
diff = drifts["Changed"].get("PropertyDifferences", [])
check("11 drift", status["StackDriftStatus"] == "DRIFTED" and status["DriftedStackResourceCount"] == 2
      and seen == {"Kept": "IN_SYNC", "Changed": "MODIFIED", "Gone": "DELETED", "Topic": "NOT_CHECKED"}
      and diff == [{"PropertyPath": "/Value", "ExpectedValue": "info-x", "ActualValue": "debug", "DifferenceType": "NOT_EQUAL"}],
      f"{status} {seen} {diff}")
# 12. stack-set-updates: an update of the stack set reaches the stacks of its instances.
SET = "Parameters:\n  Level:\n    Type: String\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\nOutputs:\n  Level:\n    Value: !Ref Level\n"
cf.create_stack_set(StackSetName="fleet", TemplateBody=SET, Parameters=[{"ParameterKey": "Level", "ParameterValue": "one"}])
cf.create_stack_instances(StackSetName="fleet", Accounts=["123456789012"], Regions=["us-east-1", "eu-west-1"])
cf.update_stack_set(StackSetName="fleet", TemplateBody=SET.replace("Value: !Ref Level", "Value: !Sub '${Level}-v2'"),
                    Parameters=[{"ParameterKey": "Level", "ParameterValue": "two"}])
seen = {}
for region in ["us-east-1", "eu-west-1"]:
    c = boto3.client("cloudformation", **{**kw, "region_name": region})
    for st in c.describe_stacks()["Stacks"]:
        if "fleet" in st["StackName"]:
            seen[region] = {o["OutputKey"]: o["OutputValue"] for o in st.get("Outputs", [])}
check("12 stack-set-updates", seen == {"us-east-1": {"Level": "two-v2"}, "eu-west-1": {"Level": "two-v2"}}, str(seen))
# 13. stack-set-organizational-units: instances name their unit; deleting by unit removes them.
org = boto3.client("organizations", **kw)
org.create_organization(FeatureSet="ALL")
root = org.list_roots()["Roots"][0]["Id"]
unit = org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
member = org.create_account(AccountName="member", Email="member@example.com")["CreateAccountStatus"]["AccountId"]
org.move_account(AccountId=member, SourceParentId=root, DestinationParentId=unit)
cf.create_stack_set(StackSetName="guard", TemplateBody=SET, Parameters=[{"ParameterKey": "Level", "ParameterValue": "one"}],
                    PermissionModel="SERVICE_MANAGED", AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False})
cf.create_stack_instances(StackSetName="guard", DeploymentTargets={"OrganizationalUnitIds": [unit]}, Regions=["us-east-1"])
listed = cf.list_stack_instances(StackSetName="guard")["Summaries"]
check("13 stack-set-organizational-units (listed)", [(i["Account"], i.get("OrganizationalUnitId")) for i in listed] == [(member, unit)], str(listed))
cf.delete_stack_instances(StackSetName="guard", DeploymentTargets={"OrganizationalUnitIds": [unit]}, Regions=["us-east-1"], RetainStacks=False)
left = cf.list_stack_instances(StackSetName="guard")["Summaries"]
check("13 stack-set-organizational-units (deleted)", left == [], str(left))
# 14. stack-set-drift: a value changed by hand in one instance's region makes that instance DRIFTED.
PARAM_SET = "Resources:\n  P:\n    Type: AWS::SSM::Parameter\n    Properties: {Name: /fleet/level, Type: String, Value: calm}\n"
cf.create_stack_set(StackSetName="watch", TemplateBody=PARAM_SET)
cf.create_stack_instances(StackSetName="watch", Accounts=["123456789012"], Regions=["us-east-1", "eu-west-1"])
boto3.client("ssm", **{**kw, "region_name": "eu-west-1"}).put_parameter(Name="/fleet/level", Value="loud", Type="String", Overwrite=True)
op = cf.detect_stack_set_drift(StackSetName="watch")["OperationId"]
done = cf.describe_stack_set_operation(StackSetName="watch", OperationId=op)["StackSetOperation"]["Status"]
status = {i["Region"]: i.get("DriftStatus") for i in cf.list_stack_instances(StackSetName="watch")["Summaries"]}
diffs = cf.list_stack_instance_resource_drifts(StackSetName="watch", StackInstanceAccount="123456789012", StackInstanceRegion="eu-west-1", OperationId=op)["Summaries"]
check("14 stack-set-drift", done == "SUCCEEDED" and status == {"us-east-1": "IN_SYNC", "eu-west-1": "DRIFTED"}
      and diffs[0]["StackResourceDriftStatus"] == "MODIFIED" and diffs[0]["PropertyDifferences"][0]["ActualValue"] == "loud",
      f"{done} {status} {diffs}")
# 15. resource-events: each resource's steps are events, in order, with the physical id when complete.
run("stepped", "Resources:\n  T:\n    Type: AWS::SNS::Topic\n  Q:\n    Type: AWS::SQS::Queue\n")
steps = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in cf.describe_stack_events(StackName="stepped")["StackEvents"][::-1]]
complete = [e for e in cf.describe_stack_events(StackName="stepped")["StackEvents"] if e["ResourceStatus"] == "CREATE_COMPLETE" and e["LogicalResourceId"] == "T"]
stepped = ("T", "CREATE_IN_PROGRESS") in steps and ("T", "CREATE_COMPLETE") in steps
check("15 resource-events", stepped and steps.index(("T", "CREATE_IN_PROGRESS")) < steps.index(("T", "CREATE_COMPLETE"))
      and ("Q", "CREATE_COMPLETE") in steps and complete and complete[0]["PhysicalResourceId"].startswith("arn:"), str(steps))
# 16. paged-events: 100 a page, newest first, a token for the rest.
many = "Resources:\n" + "".join(f"  P{i}:\n    Type: AWS::SSM::Parameter\n    Properties: {{Name: /paged/{i}, Type: String, Value: v}}\n" for i in range(60))
run("paged", many)
first = cf.describe_stack_events(StackName="paged")
second = cf.describe_stack_events(StackName="paged", NextToken=first["NextToken"]) if "NextToken" in first else {"StackEvents": []}
check("16 paged-events", len(first["StackEvents"]) == 100 and len(second["StackEvents"]) > 20
      and first["StackEvents"][0]["Timestamp"] >= second["StackEvents"][0]["Timestamp"], f"{len(first['StackEvents'])} {len(second['StackEvents'])}")
# 17. change-details: a replaced queue (create-only QueueName) and a parameter-caused in-place change.
DETAIL = "Parameters:\n  Level: {Type: String}\nResources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties: {QueueName: %s}\n  P:\n    Type: AWS::SSM::Parameter\n    Properties: {Name: /detail/p, Type: String, Value: !Ref Level}\n"
run("detailed", DETAIL % "first", {"Level": "info"})
cf.create_change_set(StackName="detailed", ChangeSetName="cs2", ChangeSetType="UPDATE", TemplateBody=DETAIL % "second",
                     Parameters=[{"ParameterKey": "Level", "ParameterValue": "debug"}])
described = cf.describe_change_set(StackName="detailed", ChangeSetName="cs2", IncludePropertyValues=True)
by_id = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in described["Changes"]}
q, p = by_id.get("Q", {}), by_id.get("P", {})
qd = [d["Target"] for d in q.get("Details", [])]
pd = [(d["ChangeSource"], d.get("CausingEntity"), d["Target"].get("RequiresRecreation"), d["Target"].get("BeforeValue"), d["Target"].get("AfterValue")) for d in p.get("Details", [])]
check("17 change-details", q.get("Replacement") == "True" and qd and qd[0]["Name"] == "QueueName" and qd[0]["RequiresRecreation"] == "Always"
      and qd[0].get("BeforeValue") == "first" and qd[0].get("AfterValue") == "second"
      and p.get("Replacement") == "False" and ("ParameterReference", "Level", "Never", "info", "debug") in pd, f"{q} {p}")
plain = cf.describe_change_set(StackName="detailed", ChangeSetName="cs2")
check("17 change-details (values only on request)", all("BeforeValue" not in d["Target"] for c in plain["Changes"] for d in c["ResourceChange"].get("Details", [])), str(plain["Changes"]))
# 18. termination-protection: turned on, shown, and a delete refused until it is off again.
run("guarded", "Resources:\n  T:\n    Type: AWS::SNS::Topic\n")
cf.update_termination_protection(StackName="guarded", EnableTerminationProtection=True)
shown = cf.describe_stacks(StackName="guarded")["Stacks"][0].get("EnableTerminationProtection")
try:
    cf.delete_stack(StackName="guarded")
    refused = False
except Exception as error:
    refused = "TerminationProtection" in str(error)
cf.update_termination_protection(StackName="guarded", EnableTerminationProtection=False)
cf.delete_stack(StackName="guarded")
gone = all(s["StackName"] != "guarded" for s in cf.list_stacks(StackStatusFilter=["CREATE_COMPLETE"])["StackSummaries"])
check("18 termination-protection", shown is True and refused and gone, f"{shown} {refused} {gone}")
# 19. nested-change-sets: the parent's change names the nested stack's change set, which lists its own changes.
s3 = boto3.client("s3", **kw)
s3.create_bucket(Bucket="nested-shim")
CHILD = "Parameters:\n  Level: {Type: String}\nResources:\n  P:\n    Type: AWS::SSM::Parameter\n    Properties: {Name: /nest/p, Type: String, Value: !Ref Level}\n"
s3.put_object(Bucket="nested-shim", Key="child.yaml", Body=CHILD.encode())
s3.put_object(Bucket="nested-shim", Key="child2.yaml", Body=CHILD.replace("/nest/p, Type", "/nest/p, Description: two, Type").encode())
PARENT = "Resources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: https://nested-shim.s3.amazonaws.com/%s\n      Parameters: {Level: %s}\n"
run("parent", PARENT % ("child.yaml", "calm"))
cf.create_change_set(StackName="parent", ChangeSetName="cs2", ChangeSetType="UPDATE", TemplateBody=PARENT % ("child2.yaml", "loud"), IncludeNestedStacks=True)
top = cf.describe_change_set(StackName="parent", ChangeSetName="cs2")["Changes"]
nested_id = top[0]["ResourceChange"].get("ChangeSetId") if top else None
inner = cf.describe_change_set(ChangeSetName=nested_id, IncludePropertyValues=True)["Changes"] if nested_id else []
names = [d["Target"].get("Name") for c in inner for d in c["ResourceChange"].get("Details", [])]
check("19 nested-change-sets", bool(nested_id) and inner and inner[0]["ResourceChange"]["LogicalResourceId"] == "P" and "Value" in names and "Description" in names, f"{top} {inner}")
# 20. nested-parent: the nested stack made by the parent's change set names its parent and root.
child = next((s for s in cf.describe_stacks()["Stacks"] if s["StackId"] != cf.describe_stacks(StackName="parent")["Stacks"][0]["StackId"]
              and s.get("ParentId") == cf.describe_stacks(StackName="parent")["Stacks"][0]["StackId"]), None)
check("20 nested-parent", child is not None and child.get("RootId") == child.get("ParentId"), str([(s["StackName"], s.get("ParentId")) for s in cf.describe_stacks()["Stacks"]]))
# 26. nested-stack-id: the nested stack's resource has the nested stack's id as physical id.
nested_resource = cf.describe_stack_resource(StackName="parent", LogicalResourceId="Child")["StackResourceDetail"]
check("26 nested-stack-id", child is not None and nested_resource["PhysicalResourceId"] == child["StackId"], str(nested_resource.get("PhysicalResourceId")))
# 24. intrinsics: Fn::Cidr as documented, Fn::GetAZs of the stack's own region (an argument resolved).
INTRINSICS = """
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.20.0.0/16}
  Second:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref Vpc
      CidrBlock: !Select [1, !Cidr [!GetAtt Vpc.CidrBlock, 3, 8]]
      AvailabilityZone: !Select [1, !GetAZs ""]
Outputs:
  Blocks: {Value: !Join [",", !Cidr ["10.20.0.0/16", 3, 8]]}
  Small: {Value: !Join [",", !Cidr ["192.168.0.0/24", 2, 6]]}
  Zones: {Value: !Join [",", !GetAZs ""]}
  ZonesByRef: {Value: !Join [",", {"Fn::GetAZs": !Ref "AWS::Region"}]}
  ZonesByTag: {Value: !Join [",", !GetAZs {Ref: "AWS::Region"}]}
  Encoded: {Value: !Base64 {"Fn::Join": ["-", [a, b]]}}
  Zone: {Value: !GetAtt Second.AvailabilityZone}
"""
eu = boto3.client("cloudformation", **{**kw, "region_name": "eu-west-1"})
eu.create_change_set(StackName="intrinsics", ChangeSetName="cs1", ChangeSetType="CREATE", TemplateBody=INTRINSICS)
eu.execute_change_set(StackName="intrinsics", ChangeSetName="cs1")
s = eu.describe_stacks(StackName="intrinsics")["Stacks"][0]
out = {o["OutputKey"]: o["OutputValue"] for o in s.get("Outputs", [])}
ec2 = boto3.client("ec2", **{**kw, "region_name": "eu-west-1"})
subnet = ec2.describe_subnets(Filters=[{"Name": "cidr-block", "Values": ["10.20.1.0/24"]}])["Subnets"]
check("24 intrinsics", s["StackStatus"] == "CREATE_COMPLETE"
      and out.get("Blocks") == "10.20.0.0/24,10.20.1.0/24,10.20.2.0/24"
      and out.get("Small") == "192.168.0.0/26,192.168.0.64/26"
      and out.get("Zones") == "eu-west-1a,eu-west-1b,eu-west-1c" and out.get("ZonesByRef") == out.get("Zones")
      and out.get("ZonesByTag") == out.get("Zones") and out.get("Encoded") == "YS1i"
      and len(subnet) == 1 and subnet[0]["AvailabilityZone"] == "eu-west-1b", f"{s['StackStatus']} {out} {subnet}")
# 25. attributes: an attribute moto's model holds but does not answer through Fn::GetAtt.
check("25 attributes", out.get("Zone") == "eu-west-1b", str(out))
sys.exit(1 if failures else 0)
