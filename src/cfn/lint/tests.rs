//! Each rule of the schema checks, on small templates.
use super::*;
use crate::cfn::finding::show_path;

fn findings(yaml: &str) -> Vec<Finding> {
    let t = Template::parse(yaml).unwrap();
    lint(&t, &Context { region: "us-east-1", accepted_secret_sinks: &[], packaged: &[] })
}

fn rules(yaml: &str) -> Vec<(Rule, String)> {
    findings(yaml).into_iter().map(|f| (f.rule, show_path(&f.path))).collect()
}

#[test]
fn a_clean_template_has_no_findings() {
    let yaml = "Parameters:\n  Pw: {Type: String, NoEcho: true}\nResources:\n  Vpc:\n    Type: AWS::EC2::VPC\n    Properties:\n      CidrBlock: 10.0.0.0/16\n      EnableDnsSupport: 'true'\n      Tags: [{Key: a, Value: b}]\n  Db:\n    Type: AWS::RDS::DBInstance\n    Properties:\n      DBInstanceClass: db.t3.micro\n      Engine: postgres\n      MasterUserPassword: !Ref Pw\n      AllocatedStorage: '20'\nOutputs:\n  V:\n    Value: !GetAtt Vpc.VpcId\n  A:\n    Value: !GetAtt Db.Endpoint.Address\n  C:\n    Value: !Sub '${Vpc.CidrBlock}'\n";
    assert_eq!(findings(yaml), vec![]);
}

#[test]
fn unknown_types_properties_and_resource_attributes() {
    let f = findings("Resources:\n  Igw:\n    Type: AWS::EC2::InternetGateways\n  Vpc:\n    Type: AWS::EC2::VPC\n    DependOn: Igw\n    Properties:\n      CidrBlok: 10.0.0.0/16\n      Tags: [{Key: a, Valu: b}]\n");
    let got: Vec<(Rule, String, Option<String>)> =
        f.iter().map(|f| (f.rule, show_path(&f.path), f.hint.clone())).collect();
    assert!(
        got.contains(&(
            Rule::UnknownType,
            "Resources.Igw.Type".into(),
            Some("did you mean `AWS::EC2::InternetGateway`?".into())
        )),
        "{got:?}"
    );
    assert!(
        got.contains(&(
            Rule::UnknownProperty,
            "Resources.Vpc.Properties.CidrBlok".into(),
            Some("did you mean `CidrBlock`?".into())
        )),
        "{got:?}"
    );
    assert!(
        got.contains(&(
            Rule::UnknownProperty,
            "Resources.Vpc.Properties.Tags[0].Valu".into(),
            Some("did you mean `Value`?".into())
        )),
        "{got:?}"
    );
    assert!(got.contains(&(Rule::MissingProperty, "Resources.Vpc.Properties.Tags[0]".into(), None)), "{got:?}");
    assert!(
        got.contains(&(
            Rule::UnknownResourceAttribute,
            "Resources.Vpc.DependOn".into(),
            Some("did you mean `DependsOn`?".into())
        )),
        "{got:?}"
    );
}

#[test]
fn required_types_enums_and_patterns() {
    let got = rules("Resources:\n  Sub:\n    Type: AWS::EC2::Subnet\n    Properties:\n      MapPublicIpOnLaunch: perhaps\n  Log:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      RetentionInDays: ten\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      Tags: {a: b}\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      BillingMode: PER_REQUESTS\n      KeySchema: [{AttributeName: id, KeyType: HASH}]\n  Rec:\n    Type: AWS::Route53::RecordSet\n    Properties:\n      Name: x.example.com\n      Type: A\n      Failover: 'PRIMARY '\n");
    for want in [
        (Rule::MissingProperty, "Resources.Sub.Properties"),
        (Rule::WrongType, "Resources.Sub.Properties.MapPublicIpOnLaunch"),
        (Rule::WrongType, "Resources.Log.Properties.RetentionInDays"),
        (Rule::WrongType, "Resources.Q.Properties.Tags"),
        (Rule::NotInEnum, "Resources.T.Properties.BillingMode"),
    ] {
        assert!(got.contains(&(want.0, want.1.to_string())), "{want:?} not in {got:?}");
    }
    assert!(got.iter().any(|(r, p)| *r == Rule::NotInEnum && p.ends_with("Failover")), "{got:?}");
}

#[test]
fn getatt_and_depends_on_targets() {
    let got = rules("Resources:\n  Vpc:\n    Type: AWS::EC2::VPC\n    DependsOn: [Nope, Vpc]\n    Properties: {CidrBlock: 10.0.0.0/16}\nOutputs:\n  A:\n    Value: !GetAtt Vpc.Arn\n  B:\n    Value: !Sub '${Vpc.Nope}'\n");
    assert!(got.contains(&(Rule::UnknownAttribute, "Outputs.A.Value".into())), "{got:?}");
    assert!(got.contains(&(Rule::UnknownAttribute, "Outputs.B.Value".into())), "{got:?}");
    assert!(got.contains(&(Rule::UnknownDependency, "Resources.Vpc.DependsOn[0]".into())), "{got:?}");
    assert!(got.contains(&(Rule::UnknownDependency, "Resources.Vpc.DependsOn[1]".into())), "{got:?}");
}

#[test]
fn custom_third_party_sam_and_intrinsics_pass_modules_are_noted() {
    let got = rules("Transform: AWS::Serverless-2016-10-31\nConditions:\n  C: !Equals [a, b]\nResources:\n  C1:\n    Type: Custom::Thing\n    Properties: {Anything: 1}\n  M:\n    Type: MongoDB::Atlas::Cluster\n    Properties: {X: 1}\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {Whatever: 1}\n  Mod:\n    Type: My::Org::Thing::MODULE\n  L:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      RetentionInDays: !If [C, 7, !Ref AWS::NoValue]\n");
    assert_eq!(got, vec![(Rule::ModuleType, "Resources.Mod.Type".into())]);
    // SAM's generated resources (`FRole`) may be depended on.
    let sam = rules("Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n    Type: AWS::Serverless::Function\n  T:\n    Type: AWS::SNS::Topic\n    DependsOn: FRole\n");
    assert!(sam.is_empty(), "{sam:?}");
    assert!(Rule::ModuleType.is_note());
}

#[test]
fn if_branches_are_checked() {
    let got = rules("Conditions:\n  C: !Equals [a, b]\nResources:\n  L:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      RetentionInDays: !If [C, 7, seven]\n");
    assert_eq!(got, vec![(Rule::WrongType, "Resources.L.Properties.RetentionInDays.Fn::If[2]".into())]);
}

#[test]
fn a_secret_may_reach_only_write_only_properties() {
    let yaml = "Parameters:\n  Pw: {Type: String, NoEcho: true}\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Ref Pw\n  P:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Type: String\n      Value: !Sub 'x-${Pw}'\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Role: arn:aws:iam::1:role/r\n      Code: {ZipFile: x}\n      Environment:\n        Variables:\n          PW: !Ref Pw\n  Db:\n    Type: AWS::RDS::DBInstance\n    Properties:\n      DBInstanceClass: db.t3.micro\n      Engine: postgres\n      MasterUserPassword: !Ref Pw\n";
    let got = rules(yaml);
    let secret: Vec<&String> =
        got.iter().filter(|(r, _)| *r == Rule::SecretInReadableProperty).map(|(_, p)| p).collect();
    assert_eq!(
        secret,
        vec![
            "Resources.Topic.Properties.TopicName",
            "Resources.P.Properties.Value",
            "Resources.F.Properties.Environment.Variables.PW"
        ]
    );
    let t = Template::parse(yaml).unwrap();
    let accepted = vec!["F.Environment".to_string(), "Topic.TopicName".to_string(), "P.Value".to_string()];
    let f = lint(&t, &Context { region: "us-east-1", accepted_secret_sinks: &accepted, packaged: &[] });
    assert!(f.iter().all(|f| f.rule != Rule::SecretInReadableProperty), "{f:?}");
}

#[test]
fn a_type_a_region_lacks_is_named() {
    let s = schemas();
    let (region, missing) = s
        .type_names()
        .find_map(|t| {
            ["af-south-1", "ap-east-2", "eu-south-2"]
                .into_iter()
                .find(|r| !s.in_region(t, r))
                .map(|r| (r, t.to_string()))
        })
        .unwrap();
    let yaml = format!("Resources:\n  X:\n    Type: {missing}\n");
    let t = Template::parse(&yaml).unwrap();
    let f = lint(&t, &Context { region, accepted_secret_sinks: &[], packaged: &[] });
    assert!(f.iter().any(|f| f.rule == Rule::TypeNotInRegion), "{f:?}");
}
