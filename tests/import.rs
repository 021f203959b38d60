//! Paths in: init, new layer, and imports from cfn-toml, samconfig.toml and a deployed stack.

mod support;

use std::collections::BTreeMap;

use support::emulator::Emulator;
use support::*;

const NET_TEMPLATE: &str = "AWSTemplateFormatVersion: 2010-09-09\nParameters:\n  VpcCidrBlock:\n    Type: String\n  Label:\n    Type: String\n  Azs:\n    Type: CommaDelimitedList\nResources:\n  VPC:\n    Type: AWS::EC2::VPC\n    Properties:\n      CidrBlock: !Ref VpcCidrBlock\n      Tags:\n        - Key: Name\n          Value: !Ref Label\nOutputs:\n  VpcId:\n    Value: !Ref VPC\n";
const DB_TEMPLATE: &str = "Parameters:\n  VpcId:\n    Type: String\n  InstanceClass:\n    Type: String\n    Default: db.t4g.micro\n  Note:\n    Type: String\nResources:\n  SG:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: \"{{resolve:ssm:/cruddur/db/sg-description}}\"\n      VpcId: !Ref VpcId\n";

/// Parameters as `render --format json` prints them for one layer.
fn rendered(dir: &std::path::Path, env: &str, layer: &str) -> BTreeMap<String, String> {
    let run = stackc(dir, &["render", env, layer, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&run.ok().stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| (p["ParameterKey"].as_str().unwrap().to_string(), p["ParameterValue"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn seed_000s_cfn_toml_layout_moves_in_one_command_per_layer() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "aws/cfn/networking/config.toml", "[deploy]\nbucket = \"cfn-artifacts-cruddur\"\nregion = \"us-east-1\"\nstack_name = \"CrdNet\"\n\n[parameters]\nVpcCidrBlock = \"10.0.0.0/16\"\nLabel = \"Cruddur \\\"main\\\" VPC, it's ours\"\nAzs = \"us-east-1a,us-east-1b\"\n");
    write(root, "aws/cfn/networking/template.yaml", NET_TEMPLATE);
    write(root, "aws/cfn/db/config.toml", "[deploy]\nbucket = \"cfn-artifacts-cruddur\"\nregion = \"us-east-1\"\nstack_name = \"CrdDb\"\n\n[parameters]\nVpcId = \"vpc-0123\"\nNote = \"a b, c\"\n");
    write(root, "aws/cfn/db/template.yaml", DB_TEMPLATE);
    stackc(root, &["init", "--name", "cruddur"]).ok();
    stackc(root, &["init"]).code(2).stderr_has("already holds a stackc project");
    let net = stackc(root, &["import", "cfn-toml", "aws/cfn/networking/config.toml", "--env", "qa"]);
    net.ok()
        .stdout_has("imported layer `networking` into environment `qa`: 3 parameters, stack `CrdNet`")
        .stderr_has("not carried: [deploy].bucket");
    stackc(root, &["import", "cfn-toml", "aws/cfn/db/config.toml", "--env", "qa"]).ok();
    stackc(root, &["validate", "qa"]).ok();
    // The same parameters as cfn-toml would have passed, values with quotes, commas and spaces intact.
    let net = rendered(root, "qa", "networking");
    assert_eq!(net["Label"], "Cruddur \"main\" VPC, it's ours");
    assert_eq!(net["Azs"], "us-east-1a,us-east-1b");
    assert_eq!(net.len(), 3);
    let db = rendered(root, "qa", "db");
    assert_eq!(
        db,
        BTreeMap::from([("Note".to_string(), "a b, c".to_string()), ("VpcId".to_string(), "vpc-0123".to_string())])
    );
    // The existing stacks keep their names; the imported template is used as written.
    stackc(root, &["list"]).ok().stdout_has("db").stdout_has("networking");
    let t = stackc(root, &["render", "qa", "db", "--stdout"]);
    t.ok().stdout_has("{{resolve:ssm:/cruddur/db/sg-description}}");
    let env = std::fs::read_to_string(root.join("environments/qa.toml")).unwrap();
    assert!(env.contains("[layers.networking]\nstack_name = \"CrdNet\""), "{env}");
    // Importing again changes nothing.
    stackc(root, &["import", "cfn-toml", "aws/cfn/networking/config.toml", "aws/cfn/db/config.toml", "--env", "qa"])
        .ok();
    assert_eq!(std::fs::read_to_string(root.join("environments/qa.toml")).unwrap(), env);
    stackc(root, &["import", "cfn-toml", "aws/cfn/db/config.toml", "--env", "qa", "--layer", "x", "--layer", "y"])
        .code(2);
    write(root, "bad/config.toml", "[deploy]\nregion = \n");
    stackc(root, &["import", "cfn-toml", "bad/config.toml", "--env", "qa"])
        .code(2)
        .stderr_has("is not a cfn-toml file");
}

#[test]
fn samconfig_environments_become_stackc_environments() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    stackc(root, &["init", "--name", "ddb"]).ok();
    write(root, "sam/template.yaml", "Transform: AWS::Serverless-2016-10-31\nParameters:\n  Stage:\n    Type: String\n  Label:\n    Type: String\n  Memory:\n    Type: Number\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Handler: index.handler\n      InlineCode: \"def handler(e, c): return 1\"\n      MemorySize: !Ref Memory\n      Environment:\n        Variables:\n          STAGE: !Ref Stage\n          LABEL: !Ref Label\n");
    write(
        root,
        "sam/samconfig.toml",
        "version = 0.1\n[default.deploy.parameters]\nstack_name = \"ddb-qa\"\nregion = \"us-east-1\"\ncapabilities = \"CAPABILITY_IAM CAPABILITY_AUTO_EXPAND\"\nparameter_overrides = \"Stage=qa Label=\\\"spaces and, commas\\\" Memory=128\"\n\n[prod.deploy.parameters]\nstack_name = \"ddb-prod\"\nregion = \"us-east-1\"\nparameter_overrides = [\"Stage=prod\", \"Label='single quoted'\", \"Memory=1024\"]\n",
    );
    let run = stackc(root, &["import", "samconfig", "sam/samconfig.toml", "--layer", "ddb"]);
    run.ok().stdout_has("into environment `default`").stdout_has("into environment `prod`");
    let meta = std::fs::read_to_string(root.join("stacks/ddb/layer.toml")).unwrap();
    assert!(meta.contains("CAPABILITY_AUTO_EXPAND") && meta.contains("CAPABILITY_IAM"), "{meta}");
    stackc(root, &["validate", "default"]).ok();
    stackc(root, &["validate", "prod"]).ok();
    let qa = rendered(root, "default", "ddb");
    assert_eq!(qa["Label"], "spaces and, commas");
    assert_eq!(qa["Memory"], "128");
    let prod = rendered(root, "prod", "ddb");
    assert_eq!(prod["Label"], "single quoted");
    assert_eq!(prod["Stage"], "prod");
}

#[test]
fn new_layer_writes_commented_entries_into_every_environment() {
    let dir = shipped_copy();
    let prod = std::fs::read_to_string(dir.path().join("environments/prod.toml")).unwrap();
    write(dir.path(), "queue.yaml", "Parameters:\n  RetentionSeconds:\n    Type: Number\n    Default: 345600\n    Description: How long messages stay\n  Mode:\n    Type: String\n    AllowedValues: [fifo, standard]\n  Token:\n    Type: String\n    NoEcho: true\nResources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      MessageRetentionPeriod: !Ref RetentionSeconds\n");
    let run =
        stackc(dir.path(), &["new", "layer", "queue", "--from-template", "queue.yaml", "--depends-on", "networking"]);
    run.ok().stdout_has("parameter entries added, commented, to: prod, qa");
    let after = std::fs::read_to_string(dir.path().join("environments/prod.toml")).unwrap();
    assert!(after.starts_with(&prod), "the existing file is kept as it was");
    assert!(after.contains("# [layers.queue.parameters]\n# RetentionSeconds = \"345600\"   # Number; default 345600; How long messages stay\n"), "{after}");
    assert!(after.contains("# Mode = \"\"   # String; one of fifo, standard\n"), "{after}");
    assert!(
        after.contains("# Token = { from = \"keyring\" }   # String; NoEcho: a secret, give it a secret source\n"),
        "{after}"
    );
    assert!(std::fs::read_to_string(dir.path().join("stacks/queue/layer.toml"))
        .unwrap()
        .contains("depends_on = [\"networking\"]"));
    stackc(dir.path(), &["graph", "qa"]).ok().stdout_has("queue  <- networking");
    stackc(dir.path(), &["new", "layer", "queue"]).code(2).stderr_has("exists already");
    stackc(dir.path(), &["new", "layer", "x", "--depends-on", "netwrk"])
        .code(2)
        .stderr_has("did you mean `networking`?");
    // A new layer from the skeleton renders and validates once its environments are set.
    stackc(dir.path(), &["new", "layer", "extra"]).ok();
    stackc(dir.path(), &["validate", "qa"]).code(2).stderr_has("parameter `Mode` has no Default");
}

#[test]
fn a_deployed_stack_is_adopted_with_its_parameters_and_tags() {
    let emu = Emulator::start();
    // Someone deployed this by hand once.
    let legacy = project(&[
        ("stacks/db/template.yaml", "Parameters:\n  Size:\n    Type: String\n    Default: small\n  Label:\n    Type: String\n  Password:\n    Type: String\n    NoEcho: true\nResources:\n  P:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Name: /legacy/label\n      Type: String\n      Value: !Ref Label\n"),
        ("environments/qa.toml", "region = \"us-east-1\"\n[tags]\nOwner = \"team-a\"\n[layers.db]\nstack_name = \"hand-made-db\"\n[layers.db.parameters]\nSize = \"large\"\nLabel = \"made, by \\\"hand\\\"\"\nPassword = { from = \"env\", var = \"LEGACY_PW\", secret = true }\n"),
    ]);
    let url = emu.url();
    let vars = [
        ("AWS_ENDPOINT_URL", url.as_str()),
        ("AWS_ACCESS_KEY_ID", "x"),
        ("AWS_SECRET_ACCESS_KEY", "x"),
        ("AWS_REGION", "us-east-1"),
        ("LEGACY_PW", "legacy-canary-991"),
    ];
    stackc_env(legacy.path(), &["deploy", "qa", "--yes"], &vars).ok();
    // A new project adopts it.
    let dir = tempfile::tempdir().unwrap();
    stackc(dir.path(), &["init", "--name", "adopted"]).ok();
    let run = emu.stackc(dir.path(), &["import", "stack", "hand-made-db", "--env", "qa", "--layer", "db"]);
    run.ok().stdout_has("imported layer `db` into environment `qa`").stderr_has("stackc secret set qa db Password");
    let env = std::fs::read_to_string(dir.path().join("environments/qa.toml")).unwrap();
    assert!(env.contains("stack_name = \"hand-made-db\""), "{env}");
    assert!(env.contains("Password = { from = \"keyring\" }"), "{env}");
    assert!(env.contains("Owner = \"team-a\"") && !env.contains("stackc:"), "{env}");
    assert!(
        !env.contains("legacy-canary-991")
            && !run.stdout.contains("legacy-canary-991")
            && !run.stderr.contains("legacy-canary-991")
    );
    for (path, text) in files_under(dir.path()) {
        assert!(!text.contains("legacy-canary-991"), "secret written to {path}");
    }
    stackc(dir.path(), &["validate", "qa"]).ok();
    let params = rendered(dir.path(), "qa", "db");
    assert_eq!(params["Size"], "large");
    assert_eq!(params["Label"], "made, by \"hand\"");
    assert_eq!(params["Password"], "<secret from keyring:stackc/adopted/qa/db/Password>");
}

/// `import stack` never makes two layers deploy one stack: a stack this project manages is refused
/// (naming its layer), and so is a nested stack (naming its parent, which deploys it).
#[test]
fn import_refuses_a_managed_stack_and_a_nested_stack() {
    let emu = Emulator::start();
    emu.seed(&serde_json::json!({"buckets": ["arts"]}));
    let dir = project(&[
        (
            "stacks/app/template.yaml",
            "Resources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: nested/child.yaml\n",
        ),
        ("stacks/app/nested/child.yaml", "Resources:\n  T:\n    Type: AWS::SNS::Topic\n"),
        ("environments/qa.toml", "region = \"us-east-1\"\nartifact_bucket = \"arts\"\n"),
    ]);
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    emu.stackc(dir.path(), &["import", "stack", "demo-qa-app", "--env", "qa", "--layer", "again"])
        .code(2)
        .stderr_has("stack `demo-qa-app` is already layer `app` of environment `qa` of this project");
    let child = emu.stacks().as_object().unwrap().keys().find(|k| k.as_str() != "demo-qa-app").unwrap().clone();
    emu.stackc(dir.path(), &["import", "stack", &child, "--env", "qa", "--layer", "child"])
        .code(2)
        .stderr_has(&format!("stack `{child}` is a nested stack of `demo-qa-app`"));
    assert!(!dir.path().join("stacks/again").exists() && !dir.path().join("stacks/child").exists());
}

/// Importing a samconfig file into a layer that exists keeps (adds) the capabilities samconfig names.
#[test]
fn samconfig_into_an_existing_layer_keeps_its_capabilities() {
    let dir = project(&[
        ("stacks/fn/template.yaml", "Resources:\n  T:\n    Type: AWS::SNS::Topic\n"),
        ("stacks/fn/layer.toml", "# the function layer\ndescription = \"fn\"\n"),
        ("environments/qa.toml", "region = \"us-east-1\"\n"),
        ("sam/samconfig.toml", "version = 0.1\n[qa.deploy.parameters]\nstack_name = \"fn-qa\"\ncapabilities = \"CAPABILITY_IAM CAPABILITY_AUTO_EXPAND\"\n"),
    ]);
    stackc(dir.path(), &["import", "samconfig", "sam/samconfig.toml", "--layer", "fn"]).ok();
    let meta = std::fs::read_to_string(dir.path().join("stacks/fn/layer.toml")).unwrap();
    assert!(meta.starts_with("# the function layer\n"), "{meta}");
    assert!(meta.contains("CAPABILITY_IAM") && meta.contains("CAPABILITY_AUTO_EXPAND"), "{meta}");
}
