"""Seeds a moto server with the values a test project reads: python seed.py ENDPOINT < spec.json

spec: {"ssm": {"/name": "value"}, "ssm_secure": {"/name": "value"}, "secrets": {"id": "string"},
       "certificates": [{"domain": "*.example.com", "region": "us-east-1"}], "zones": ["example.com"],
       "ssm_certificate_arns": {"/name": "*.example.com"}, "buckets": ["name"],
       "organization": {"unit name": ["account name", ...]}}
Prints what it created (ARNs, zone ids) as JSON; never the secret values.
"""

import json
import sys

import boto3

endpoint = sys.argv[1]
spec = json.load(sys.stdin)
kw = dict(endpoint_url=endpoint, aws_access_key_id="x", aws_secret_access_key="x")
region = spec.get("region", "us-east-1")
out = {"certificates": {}, "zones": {}}
ssm = boto3.client("ssm", region_name=region, **kw)
for name, value in spec.get("ssm", {}).items():
    ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
for name, value in spec.get("ssm_secure", {}).items():
    ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
sm = boto3.client("secretsmanager", region_name=region, **kw)
for sid, value in spec.get("secrets", {}).items():
    sm.create_secret(Name=sid, SecretString=value)
# A secret with history: the first value becomes AWSPREVIOUS when the second is put.
for sid, values in spec.get("secret_versions", {}).items():
    sm.create_secret(Name=sid, SecretString=values[0])
    for v in values[1:]:
        sm.put_secret_value(SecretId=sid, SecretString=v)
for sid, value in spec.get("secret_updates", {}).items():
    sm.put_secret_value(SecretId=sid, SecretString=value)
# Stacks stackc does not manage, with outputs: {"name": {"region": ..., "outputs": {"Key": "Value"}}}
for name, st in spec.get("stacks", {}).items():
    body = {"Resources": {"T": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {k: {"Value": v} for k, v in st.get("outputs", {}).items()}}
    cf = boto3.client("cloudformation", region_name=st.get("region", region), **kw)
    cf.create_stack(StackName=name, TemplateBody=json.dumps(body))
for cert in spec.get("certificates", []):
    acm = boto3.client("acm", region_name=cert.get("region", region), **kw)
    arn = acm.request_certificate(DomainName=cert["domain"], SubjectAlternativeNames=cert.get("sans", [cert["domain"]]))["CertificateArn"]
    acm.describe_certificate(CertificateArn=arn)  # with MOTO_ACM_VALIDATION_WAIT=0 this issues it
    out["certificates"][cert["domain"] + "@" + cert.get("region", region)] = arn
    out["certificates"].setdefault(cert["domain"], arn)
# SSM parameters that hold the ARN of a certificate created above (as a team keeps them).
for name, domain in spec.get("ssm_certificate_arns", {}).items():
    arn = out["certificates"].get(domain)
    if arn is None:  # a certificate seeded earlier
        acm = boto3.client("acm", region_name=region, **kw)
        arn = next(c["CertificateArn"] for c in acm.list_certificates()["CertificateSummaryList"] if c["DomainName"] == domain)
    ssm.put_parameter(Name=name, Value=arn, Type="String", Overwrite=True)
s3 = boto3.client("s3", region_name=region, **kw)
for bucket in spec.get("buckets", []):
    s3.create_bucket(Bucket=bucket)
r53 = boto3.client("route53", region_name=region, **kw)
for zone in spec.get("zones", []):
    z = r53.create_hosted_zone(Name=zone, CallerReference=zone)["HostedZone"]
    out["zones"][zone] = z["Id"].split("/")[-1]
out["private_zones"] = {}
for zone in spec.get("private_zones", []):
    ec2 = boto3.client("ec2", region_name=region, **kw)
    vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    z = r53.create_hosted_zone(Name=zone, CallerReference=zone + "-private", VPC={"VPCRegion": region, "VPCId": vpc},
                               HostedZoneConfig={"PrivateZone": True, "Comment": "private"})["HostedZone"]
    out["private_zones"][zone] = z["Id"].split("/")[-1]
# An AWS Organization: units under the root, each with its member accounts -> {"units": {name: id},
# "accounts": {name: id}}.
if "organization" in spec:
    org = boto3.client("organizations", region_name=region, **kw)
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    out["units"], out["accounts"] = {}, {}
    for unit, members in spec["organization"].items():
        uid = org.create_organizational_unit(ParentId=root, Name=unit)["OrganizationalUnit"]["Id"]
        out["units"][unit] = uid
        for m in members:
            aid = org.create_account(AccountName=m, Email=f"{m}@example.com")["CreateAccountStatus"]["AccountId"]
            org.move_account(AccountId=aid, SourceParentId=root, DestinationParentId=uid)
            out["accounts"][m] = aid
print(json.dumps(out))
