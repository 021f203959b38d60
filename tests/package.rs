//! Packaging against the emulator: the artifact bucket, local code, nested stacks and templates over the
//! body limit, each deployed and then deployed again as a no-op.

mod support;

use std::time::Instant;

use support::emulator::Emulator;
use support::*;

const CANARY: &str = "pkg-canary-93e1c0";
const FUNCTION: &str = "Transform: AWS::Serverless-2016-10-31\nParameters:\n  Token:\n    Type: String\n    NoEcho: true\n  Size:\n    Type: String\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Handler: index.handler\n      CodeUri: src/\n  Raw:\n    Type: AWS::Lambda::Function\n    Properties:\n      Runtime: python3.12\n      Handler: index.handler\n      Role: !GetAtt Role.Arn\n      Code: src\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Principal: {Service: lambda.amazonaws.com}\n            Action: sts:AssumeRole\n  Child:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: nested/child.yaml.j2\n      Parameters:\n        Size: !Ref Size\nOutputs:\n  ChildTopic:\n    Value: !GetAtt Child.Outputs.TopicArn\n";
const CHILD: &str = "Parameters:\n  Size:\n    Type: String\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: {{ env }}-child-{{ size }}\nOutputs:\n  TopicArn:\n    Value: !Ref Topic\n";

fn token() -> Vec<(String, String)> {
    vec![("APP_TOKEN".to_string(), CANARY.to_string())]
}

fn code_project(bucket: Option<&str>) -> tempfile::TempDir {
    let env = format!(
        "# qa: the test environment\nregion = \"us-east-1\"\n{}[values]\nsize = \"s\"\n[layers.app.parameters]\nSize = \"s\"\nToken = {{ from = \"env\", var = \"APP_TOKEN\", secret = true }}\n",
        bucket.map(|b| format!("artifact_bucket = \"{b}\"\n")).unwrap_or_default()
    );
    let dir = project(&[
        ("stacks/app/template.yaml", FUNCTION),
        ("stacks/app/layer.toml", "capabilities = [\"CAPABILITY_IAM\"]\n"),
        ("stacks/app/nested/child.yaml.j2", CHILD),
        ("stacks/app/src/index.py", "def handler(event, context):\n    return 'ok'\n"),
        ("stacks/app/src/lib/util.py", "X = 1\n"),
        ("environments/qa.toml", &env),
    ]);
    dir
}

#[test]
fn bootstrap_makes_a_private_versioned_encrypted_bucket_and_records_it() {
    let emu = Emulator::start();
    let dir = code_project(None);
    // Without a bucket, validate says what needs one and how to get it.
    stackc_env(dir.path(), &["validate", "qa"], &[("APP_TOKEN", CANARY)])
        .code(2)
        .stderr_has("environment `qa`, layer `app`: `src/`, `nested/child.yaml.j2` must go to S3")
        .stderr_has("run `stackc bootstrap qa`");
    let run = emu.stackc_with(dir.path(), &["bootstrap", "qa"], &token(), None);
    let bucket = "stackc-123456789012-us-east-1";
    run.ok()
        .stdout_has(&format!(
            "created s3://{bucket} in us-east-1: versioned, encrypted (SSE-S3), public access blocked"
        ))
        .stdout_has("set artifact_bucket = \"stackc-123456789012-us-east-1\" in environments/qa.toml");
    let env = std::fs::read_to_string(dir.path().join("environments/qa.toml")).unwrap();
    assert!(env.starts_with("# qa: the test environment\nregion = \"us-east-1\"\n"), "{env}");
    assert!(env.contains(&format!("artifact_bucket = \"{bucket}\"")), "{env}");
    let args = serde_json::json!({"Bucket": bucket});
    assert_eq!(emu.query("s3", "get_bucket_versioning", args.clone())["Status"], "Enabled");
    let sse = emu.query("s3", "get_bucket_encryption", args.clone());
    assert_eq!(
        sse["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "AES256"
    );
    let block = &emu.query("s3", "get_public_access_block", args)["PublicAccessBlockConfiguration"];
    for k in ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"] {
        assert_eq!(block[k], true, "{k}: {block}");
    }
    // Again: the bucket is kept, its settings applied again, the file untouched.
    emu.stackc_with(dir.path(), &["bootstrap", "qa"], &token(), None)
        .ok()
        .stdout_has(&format!("updated s3://{bucket}"));
    assert_eq!(std::fs::read_to_string(dir.path().join("environments/qa.toml")).unwrap(), env);
    stackc_env(dir.path(), &["validate", "qa"], &[("APP_TOKEN", CANARY)]).ok();
    emu.stackc_with(dir.path(), &["bootstrap", "qa", "--bucket", "Not_Valid"], &token(), None)
        .code(2)
        .stderr_has("not a valid S3 bucket name");
}

#[test]
fn local_code_and_a_nested_stack_deploy_and_redeploy_as_a_no_op() {
    let emu = Emulator::start();
    emu.seed(&serde_json::json!({"buckets": ["arts"]}));
    let dir = code_project(Some("arts"));
    let render = stackc_env(dir.path(), &["render", "qa"], &[("APP_TOKEN", CANARY)]);
    render.ok().stdout_has("would upload zip of src/").stdout_has("would upload template nested/child.yaml.j2");
    let token = token();
    let mut runs = vec![render];
    let first = emu.stackc_with(dir.path(), &["deploy", "qa", "--yes"], &token, None);
    first.ok().stderr_has("[app] artifacts: 2 uploaded");
    let stacks = emu.stacks();
    let app = &stacks["demo-qa-app"];
    assert_eq!(app["status"], "CREATE_COMPLETE", "{app}");
    // The nested template was rendered with the environment's values and created as its own stack.
    let child = stacks.as_object().unwrap().iter().find(|(n, _)| n.as_str() != "demo-qa-app").map(|(_, s)| s.clone());
    assert!(child.is_some(), "the nested stack exists: {stacks}");
    let topics = emu.query("sns", "list_topics", serde_json::json!({}));
    assert!(topics.to_string().contains("qa-child-s"), "{topics}");
    let objects = emu.query("s3", "list_objects_v2", serde_json::json!({"Bucket": "arts"}));
    let keys: Vec<&str> = objects["Contents"].as_array().unwrap().iter().map(|o| o["Key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.iter().all(|k| k.starts_with("stackc/demo/")), "{keys:?}");
    let bytes: u64 = objects["Contents"].as_array().unwrap().iter().map(|o| o["Size"].as_u64().unwrap()).sum();
    eprintln!("uploaded {bytes} bytes in {} objects", keys.len());
    // The deployed template names the uploaded code.
    let body = emu.query("cloudformation", "get_template", serde_json::json!({"StackName": "demo-qa-app"}))
        ["TemplateBody"]
        .to_string();
    assert!(
        body.contains("s3://arts/stackc/demo/")
            && body.contains("https://arts.s3.us-east-1.amazonaws.com/stackc/demo/"),
        "{body}"
    );
    // Again, unchanged: nothing uploaded, nothing to do.
    let t = Instant::now();
    let again = emu.stackc_with(dir.path(), &["deploy", "qa", "--yes"], &token, None);
    eprintln!("no-op redeploy: {} ms", t.elapsed().as_millis());
    again.ok().stdout_has("environment `qa` is up to date");
    assert_eq!(emu.stacks()["demo-qa-app"]["parameters"]["Token"], CANARY, "the secret reached the stack");
    assert!(!again.stderr.contains("uploaded"), "{}", again.stderr);
    emu.stackc_with(dir.path(), &["status", "qa"], &token, None).ok().stdout_has("in sync");
    emu.stackc_with(dir.path(), &["diff", "qa"], &token, None).ok().stdout_has("no differences");
    // A code change: a new key, one upload, an update.
    write(dir.path(), "stacks/app/src/index.py", "def handler(event, context):\n    return 'changed'\n");
    // (A plan needs the new code in S3 for its change set, so the plan uploads it; the deploy finds it there.)
    let plan = emu.stackc_with(dir.path(), &["plan", "qa", "--detailed-exitcode"], &token, None);
    plan.code(3).stdout_has("app (demo-qa-app): update").stderr_has("[app] artifacts: 1 uploaded");
    let deploy = emu.stackc_with(dir.path(), &["deploy", "qa", "--yes"], &token, None);
    deploy.ok();
    assert!(!deploy.stderr.contains("uploaded"), "{}", deploy.stderr);
    assert_eq!(emu.stacks()["demo-qa-app"]["status"], "UPDATE_COMPLETE");
    let package = emu.stackc_with(dir.path(), &["package", "qa"], &token, None);
    package.ok();
    runs.extend([first, again, plan, deploy, package]);
    // The secret is in no output, no file, and no uploaded object.
    for r in &runs {
        assert!(!r.stdout.contains(CANARY) && !r.stderr.contains(CANARY), "{}{}", r.stdout, r.stderr);
    }
    for (path, text) in files_under(dir.path()) {
        assert!(!text.contains(CANARY), "the secret was written to {path}");
    }
    let objects = emu.query("s3", "list_objects_v2", serde_json::json!({"Bucket": "arts"}));
    for o in objects["Contents"].as_array().unwrap() {
        let got = emu.query("s3", "get_object", serde_json::json!({"Bucket": "arts", "Key": o["Key"]}));
        assert!(!got["Body"].as_str().unwrap_or_default().contains(CANARY), "the secret was uploaded in {}", o["Key"]);
    }
}

#[test]
fn a_60_kb_template_deploys_from_s3() {
    let emu = Emulator::start();
    emu.seed(&serde_json::json!({"buckets": ["arts"]}));
    // 120 topics with long descriptions of their purpose: about 60 KB of template.
    let mut t = String::from("Resources:\n");
    for i in 0..120 {
        t.push_str(&format!(
            "  Topic{i}:\n    Type: AWS::SNS::Topic\n    Metadata:\n      Purpose: \"{}\"\n    Properties:\n      DisplayName: topic-{i}\n",
            "x".repeat(440)
        ));
    }
    assert!(t.len() > 55_000 && t.len() < 70_000, "{}", t.len());
    let dir = project(&[
        ("stacks/big/template.yaml", &t),
        ("environments/qa.toml", "region = \"us-east-1\"\nartifact_bucket = \"arts\"\n"),
    ]);
    stackc(dir.path(), &["render", "qa"]).ok().stdout_has("would upload template (over the body limit)");
    let run = emu.stackc(dir.path(), &["deploy", "qa", "--yes"]);
    run.ok().stderr_has("[big] artifacts: 1 uploaded");
    assert_eq!(emu.stacks()["demo-qa-big"]["status"], "CREATE_COMPLETE");
    let topics = emu.query("sns", "list_topics", serde_json::json!({}));
    assert_eq!(
        topics["Topics"].as_array().unwrap().len(),
        100,
        "list_topics pages at 100: {}",
        topics["Topics"].as_array().unwrap().len()
    );
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok().stdout_has("is up to date");
    // Without a bucket: refused before anything is sent, with the way out.
    write(dir.path(), "environments/qa.toml", "region = \"us-east-1\"\n");
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"])
        .code(2)
        .stderr_has("the template (")
        .stderr_has("must go to S3, and environment `qa` sets no `artifact_bucket`");
}

#[test]
fn package_writes_the_deployable_set_with_valid_zips() {
    let emu = Emulator::start();
    emu.seed(&serde_json::json!({"buckets": ["arts"]}));
    let dir = code_project(Some("arts"));
    std::fs::create_dir_all(dir.path().join("stacks/app/src/__pycache__")).unwrap();
    write(dir.path(), "stacks/app/src/__pycache__/index.cpython-312.pyc", "machine-specific");
    // A local .env (left out by default) and notes a .stackcignore leaves out never reach the bucket.
    write(dir.path(), "stacks/app/src/.env", &format!("DB_PASSWORD={CANARY}-dotenv\n"));
    write(dir.path(), "stacks/app/src/NOTES.md", "internal notes\n");
    write(dir.path(), "stacks/app/.stackcignore", "*.md\n");
    let run = emu.stackc_with(dir.path(), &["package", "qa"], &token(), None);
    run.ok().stdout_has("packaged app").stdout_has("uploaded 2 artifacts");
    assert!(!format!("{}{}", run.stdout, run.stderr).contains(CANARY), "{}{}", run.stdout, run.stderr);
    let packaged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("build/qa/app.json")).unwrap()).unwrap();
    let uri = packaged["Resources"]["Fn"]["Properties"]["CodeUri"].as_str().unwrap().to_string();
    let key = uri.trim_start_matches("s3://arts/").to_string();
    assert_eq!(packaged["Resources"]["Raw"]["Properties"]["Code"]["S3Key"], key.as_str());
    // The uploaded zip is a valid archive with the code and without the cache.
    let check = format!(
        "import boto3, io, zipfile, sys\ns3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x')\nz = zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket='arts', Key='{key}')['Body'].read()))\nassert z.testzip() is None\nprint(sorted(z.namelist()))\nprint(z.read('index.py').decode())\n"
    );
    let script = dir.path().join("check_zip.py");
    std::fs::write(&script, check).unwrap();
    let out = std::process::Command::new(venv().join("bin/python")).arg(&script).arg(emu.url()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.starts_with("['index.py', 'lib/util.py']\n") && text.contains("return 'ok'"), "{text}");
    // Packaging again sends nothing.
    emu.stackc_with(dir.path(), &["package", "qa"], &token(), None)
        .ok()
        .stdout_has("uploaded 0 artifacts (0 B); 2 already in the bucket");
}

/// A layer in another region than its environment's takes its code from a bucket in its own region
/// (Lambda reads code only there): validate says so, bootstrap makes one bucket per region and records
/// it, and the deploy uploads the layer's code to that bucket.
#[test]
fn a_layer_in_another_region_packages_into_a_bucket_of_its_region() {
    let emu = Emulator::start();
    let function = "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Runtime: python3.12\n      Handler: index.handler\n      Role: !GetAtt Role.Arn\n      Code: src\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Principal: {Service: lambda.amazonaws.com}\n            Action: sts:AssumeRole\n";
    let dir = project(&[
        ("stacks/edge/template.yaml", function),
        ("stacks/edge/layer.toml", "region = \"us-east-1\"\ncapabilities = [\"CAPABILITY_IAM\"]\n"),
        ("stacks/edge/src/index.py", "def handler(event, context):\n    return 'edge'\n"),
        ("stacks/app/template.yaml", "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"),
        ("environments/qa.toml", "region = \"eu-west-1\"\n[layers.app.tags]\nTeam = \"web\"\n"),
    ]);
    stackc(dir.path(), &["validate", "qa"])
        .code(2)
        .stderr_has("layer `edge` lives in us-east-1, and environment `qa` has no bucket there")
        .stderr_has("artifact_buckets.us-east-1");
    let boot = emu.stackc(dir.path(), &["bootstrap", "qa"]);
    boot.ok()
        .stdout_has("created s3://stackc-123456789012-eu-west-1 in eu-west-1")
        .stdout_has("created s3://stackc-123456789012-us-east-1 in us-east-1")
        .stdout_has("set artifact_buckets.us-east-1 = \"stackc-123456789012-us-east-1\"");
    let env = std::fs::read_to_string(dir.path().join("environments/qa.toml")).unwrap();
    assert!(env.contains("artifact_buckets = { us-east-1 = \"stackc-123456789012-us-east-1\" }"), "{env}");
    // The file still loads as written (the new keys sit before the tables).
    stackc(dir.path(), &["validate", "qa"]).ok();
    let location = |b: &str| {
        emu.query("s3", "get_bucket_location", serde_json::json!({"Bucket": b}))["LocationConstraint"].clone()
    };
    assert_eq!(location("stackc-123456789012-eu-west-1"), "eu-west-1");
    assert!(location("stackc-123456789012-us-east-1").is_null());
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok().stderr_has("[edge] artifacts: 1 uploaded");
    let objects = emu.query("s3", "list_objects_v2", serde_json::json!({"Bucket": "stackc-123456789012-us-east-1"}));
    assert_eq!(objects["KeyCount"], 1, "{objects}");
    let home = emu.query("s3", "list_objects_v2", serde_json::json!({"Bucket": "stackc-123456789012-eu-west-1"}));
    assert_eq!(home["KeyCount"], 0, "{home}");
    // Bootstrapping again changes nothing in the file.
    emu.stackc(dir.path(), &["bootstrap", "qa"]).ok().stdout_has("updated s3://stackc-123456789012-us-east-1");
    assert_eq!(std::fs::read_to_string(dir.path().join("environments/qa.toml")).unwrap(), env);
}

/// CloudFormation's drift detection on a parent stack does not look into its nested stacks: `stackc drift`
/// detects on each nested stack too and reports its drift under the parent (exit 1).
#[test]
fn drift_looks_into_nested_stacks() {
    let emu = Emulator::start();
    emu.seed(&serde_json::json!({"buckets": ["arts"]}));
    let child = "Parameters:\n  Level:\n    Type: String\nResources:\n  Setting:\n    Type: AWS::SSM::Parameter\n    Properties: {Name: /nested/level, Type: String, Value: !Ref Level}\n";
    let dir = project(&[
        (
            "stacks/app/template.yaml",
            "Resources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: nested/child.yaml\n      Parameters:\n        Level: calm\n",
        ),
        ("stacks/app/nested/child.yaml", child),
        ("environments/qa.toml", "region = \"us-east-1\"\nartifact_bucket = \"arts\"\n"),
    ]);
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    emu.stackc(dir.path(), &["drift", "qa"]).ok().stdout_has("nested stack Child (").stdout_has("IN_SYNC, 0 drifted");
    emu.query(
        "ssm",
        "put_parameter",
        serde_json::json!({"Name": "/nested/level", "Value": "loud", "Type": "String", "Overwrite": true}),
    );
    let drifted = emu.stackc(dir.path(), &["drift", "qa"]);
    drifted
        .code(1)
        .stdout_has("nested stack Child (")
        .stdout_has("DRIFTED, 1 drifted")
        .stdout_has("~ Setting AWS::SSM::Parameter")
        .stdout_has("/Value: template calm, live loud")
        .stdout_has("qa: 1 layer drifted (app)");
    let json = emu.stackc(dir.path(), &["drift", "qa", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["drifted"], true, "{v}");
    assert_eq!(v["layers"][0]["nested_stacks"][0]["drifted_resources"][0]["logical_id"], "Setting", "{v}");
}

/// A plan shows what changes inside a nested stack, under its parent: the change set is made with
/// IncludeNestedStacks and each nested change set described, masked by the nested stack's own template:
/// a plain value is shown, one the parent passes a secret into is masked (and never printed).
#[test]
fn plans_show_changes_inside_nested_stacks() {
    let emu = Emulator::start();
    emu.seed(&serde_json::json!({"buckets": ["arts"]}));
    let child = |description: &str| {
        format!("Parameters:\n  Level:\n    Type: String\n  Token:\n    Type: String\n    NoEcho: true\nResources:\n  Setting:\n    Type: AWS::SSM::Parameter\n    Properties: {{Name: /nested/level, Type: String, Value: !Ref Level{description}}}\n  Secret:\n    Type: AWS::SSM::Parameter\n    Properties: {{Name: /nested/token, Type: String, Value: !Ref Token}}\n")
    };
    let dir = project(&[
        (
            "stacks/app/template.yaml",
            "Parameters:\n  Pw: {Type: String, NoEcho: true}\nResources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: nested/child.yaml\n      Parameters:\n        Level: calm\n        Token: !Ref Pw\n",
        ),
        ("stacks/app/layer.toml", "secrets_readable_in = [\"Secret.Value\"]\n"),
        ("stacks/app/nested/child.yaml", &child("")),
        (
            "environments/qa.toml",
            "region = \"us-east-1\"\nartifact_bucket = \"arts\"\n[layers.app.parameters]\nPw = { from = \"env\", var = \"NESTED_PW\", secret = true }\n",
        ),
    ]);
    let (first, second) = ("nested-canary-first-91", "nested-canary-second-27");
    let pw = |v: &str| [("NESTED_PW".to_string(), v.to_string())];
    emu.stackc_with(dir.path(), &["deploy", "qa", "--yes"], &pw(first), None).ok();
    std::fs::write(dir.path().join("stacks/app/nested/child.yaml"), child(", Description: tuned")).unwrap();
    let plan = emu.stackc_with(dir.path(), &["plan", "qa"], &pw(second), None);
    plan.ok()
        .stdout_has("~ Child                            AWS::CloudFormation::Stack")
        .stdout_has("nested stack Child:")
        .stdout_has("~ Setting                          AWS::SSM::Parameter")
        .stdout_has("~ Description: -> tuned")
        .stdout_has("~ Value: (secret, masked)  (in place; parameter Token)");
    let json = emu.stackc_with(dir.path(), &["plan", "qa", "--output", "json"], &pw(second), None);
    let v: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    let nested = v["layers"][0]["changes"][0]["nested"].as_array().unwrap().clone();
    assert!(nested.iter().any(|c| c["logical_id"] == "Setting"), "{v}");
    let secret = nested.iter().find(|c| c["logical_id"] == "Secret");
    if let Some(secret) = secret {
        let value = secret["properties"].as_array().into_iter().flatten().find(|d| d["property"] == "Value");
        assert!(value.is_none_or(|d| d["secret"] == true), "the secret's property is masked: {secret}");
    }
    for run in [&plan, &json] {
        for canary in [first, second] {
            assert!(!run.stdout.contains(canary) && !run.stderr.contains(canary), "{}\n{}", run.stdout, run.stderr);
        }
    }
    // diff shows the child's template difference under its parent.
    let diff = emu.stackc_with(dir.path(), &["diff", "qa"], &pw(second), None);
    diff.code(1).stdout_has("nested stack Child, template:").stdout_has("Description: tuned");
    std::fs::write(dir.path().join("stacks/app/nested/child.yaml"), child("")).unwrap();
    emu.stackc_with(dir.path(), &["diff", "qa"], &pw(first), None).ok().stdout_has("app (demo-qa-app): no differences");
}

/// A nested stack lives in its parent's region, which may not be the environment's: `events` reads it
/// there (by the region in its stack id), not in the environment's region where it does not exist.
#[test]
fn events_follow_a_nested_stack_into_its_layers_region() {
    let emu = Emulator::start();
    emu.seed(&serde_json::json!({"buckets": ["arts-use1"]}));
    let dir = project(&[
        (
            "stacks/app/template.yaml",
            "Resources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: nested/child.yaml\n",
        ),
        ("stacks/app/nested/child.yaml", "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"),
        ("stacks/app/layer.toml", "region = \"us-east-1\"\n"),
        ("environments/qa.toml", "region = \"eu-west-1\"\nartifact_buckets = { us-east-1 = \"arts-use1\" }\n"),
    ]);
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    let events = emu.stackc(dir.path(), &["events", "qa"]);
    events.ok().stdout_has("nested stack Child (").stdout_has("Topic");
    let json = emu.stackc(dir.path(), &["events", "qa", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    assert!(v["layers"][0]["history"]["nested"][0]["events"].as_array().is_some_and(|e| !e.is_empty()), "{v}");
}

/// A bucket that does not exist (a fresh account) is found before any change set, and the answer is to
/// bootstrap; nothing reaches CloudFormation.
#[test]
fn a_missing_artifact_bucket_is_found_before_any_change_set() {
    let emu = Emulator::start();
    let dir = code_project(Some("never-made"));
    for command in ["plan", "deploy"] {
        let mut args = vec![command, "qa"];
        if command == "deploy" {
            args.push("--yes");
        }
        emu.stackc_with(dir.path(), &args, &token(), None)
            .code(2)
            .stderr_has("the artifact bucket `never-made` (us-east-1) does not exist; app upload into it")
            .stderr_has("run `stackc bootstrap qa`");
    }
    assert!(emu.stacks().as_object().unwrap().is_empty(), "{}", emu.stacks());
}

/// A private key in a code folder stops render and deploy before anything is sent, and says how to
/// leave it out or upload it on purpose.
#[test]
fn a_private_key_in_a_code_folder_is_refused_before_any_upload() {
    let dir = code_project(Some("arts"));
    write(dir.path(), "stacks/app/src/deploy_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n");
    stackc_env(dir.path(), &["render", "qa"], &[("APP_TOKEN", CANARY)])
        .code(2)
        .stderr_has("cannot package: resource `Fn` (AWS::Serverless::Function) property `CodeUri`")
        .stderr_has("`deploy_key` looks like a private key")
        .stderr_has("`!deploy_key`");
    let emu = Emulator::start();
    emu.seed(&serde_json::json!({"buckets": ["arts"]}));
    let run = emu.stackc_with(dir.path(), &["deploy", "qa", "--yes"], &token(), None);
    run.code(2).stderr_has("`deploy_key` looks like a private key").stderr_has("nothing was sent to AWS");
    assert!(!run.stdout.contains("b3BlbnNzaC1rZXktdjEAAAAA") && !run.stderr.contains("b3BlbnNzaC1rZXktdjEAAAAA"));
    // Named on purpose, it is uploaded.
    write(dir.path(), "stacks/app/src/.stackcignore", "!deploy_key\n");
    stackc_env(dir.path(), &["render", "qa"], &[("APP_TOKEN", CANARY)]).ok();
}

/// The bytes of an object in the emulator's bucket `arts`, or the sorted names and the `index.py` of a zip.
fn object_text(emu: &Emulator, dir: &std::path::Path, key: &str, zip: bool) -> String {
    let read = if zip {
        "z = zipfile.ZipFile(io.BytesIO(body))\nassert z.testzip() is None\nprint(sorted(z.namelist()))\nprint(z.read('index.py').decode())\n"
    } else {
        "print(body.decode(), end='')\n"
    };
    let script = format!(
        "import boto3, io, zipfile, sys\ns3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x')\nbody = s3.get_object(Bucket='arts', Key='{key}')['Body'].read()\n{read}"
    );
    let path = dir.join("read_object.py");
    std::fs::write(&path, script).unwrap();
    let out = std::process::Command::new(venv().join("bin/python")).arg(&path).arg(emu.url()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_file(&path).unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

const BUILT: &str = "Parameters:\n  Token:\n    Type: String\n    NoEcho: true\nTransform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Handler: index.handler\n      CodeUri: dist/\n";

/// A layer's `[build]` runs before anything is packaged, with the environment's values and no secret; what
/// it writes is what is zipped and uploaded; a failing build stops the deploy before any change set.
#[test]
fn a_layer_build_makes_what_is_zipped_and_a_failing_one_stops_before_any_change_set() {
    let emu = Emulator::start();
    emu.seed(&serde_json::json!({"buckets": ["arts"]}));
    let build = "[build]\ncommands = [\"mkdir -p dist && printf 'def handler(e, c):\\\\n    return \\\"%s\\\"\\\\n' \\\"$STACKC_VALUE_GREETING\\\" > dist/index.py\", \"env | sort\"]\noutputs = [\"dist\"]\n";
    let env = "region = \"us-east-1\"\nartifact_bucket = \"arts\"\n[values]\ngreeting = \"hello-qa\"\n[layers.app.parameters]\nToken = { from = \"env\", var = \"APP_TOKEN\", secret = true }\n";
    let dir = project(&[
        ("stacks/app/template.yaml", BUILT),
        ("stacks/app/layer.toml", build),
        ("stacks/other/template.yaml", "Resources:\n  T:\n    Type: AWS::SNS::Topic\n"),
        ("environments/qa.toml", env),
    ]);
    // Before any build: render and validate go on (the declared output stands in, and render says what
    // makes it), and deploying another layer neither runs app's build nor trips on its missing output.
    stackc_env(dir.path(), &["render", "qa"], &[("APP_TOKEN", CANARY)])
        .ok()
        .stdout_has("dist/ is made by the layer's [build], which has not run");
    stackc_env(dir.path(), &["validate", "qa"], &[("APP_TOKEN", CANARY)]).ok();
    let other = emu.stackc_with(dir.path(), &["deploy", "qa", "other", "--yes"], &token(), None);
    other.ok();
    assert!(!other.stderr.contains("build:") && !dir.path().join("stacks/app/dist").exists(), "{}", other.stderr);
    let first = emu.stackc_with(dir.path(), &["deploy", "qa", "--yes"], &token(), None);
    first
        .ok()
        .stderr_has("[app] build: mkdir -p dist")
        .stderr_has("STACKC_ENV=qa")
        .stderr_has("STACKC_VALUE_GREETING=hello-qa");
    assert!(!first.stderr.contains("APP_TOKEN="), "a secret source's variable reached the build: {}", first.stderr);
    assert_eq!(emu.stacks()["demo-qa-app"]["status"], "CREATE_COMPLETE");
    let objects = emu.query("s3", "list_objects_v2", serde_json::json!({"Bucket": "arts"}));
    let keys: Vec<String> =
        objects["Contents"].as_array().unwrap().iter().map(|o| o["Key"].as_str().unwrap().to_string()).collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(!keys[0].contains("unbuilt"), "{keys:?}");
    let listing = object_text(&emu, dir.path(), &keys[0], true);
    assert!(listing.starts_with("['index.py']\n") && listing.contains("return \"hello-qa\""), "{listing}");
    // The same build output again: the same key, nothing to do.
    emu.stackc_with(dir.path(), &["deploy", "qa", "--yes"], &token(), None).ok().stdout_has("is up to date");
    // A failing build: nothing rendered, packaged or sent; the stack as it was, no change set left.
    write(dir.path(), "stacks/app/layer.toml", "[build]\ncommands = [\"echo compiling; exit 3\"]\n");
    write(dir.path(), "environments/qa.toml", &env.replace("hello-qa", "changed"));
    let change_sets = || {
        let sets = emu.query("cloudformation", "list_change_sets", serde_json::json!({"StackName": "demo-qa-app"}));
        sets["Summaries"].as_array().map_or(0, |s| s.len())
    };
    let before = change_sets();
    let failed = emu.stackc_with(dir.path(), &["deploy", "qa", "--yes"], &token(), None);
    failed
        .code(1)
        .stderr_has("[app]   | compiling")
        .stderr_has("layer `app`: the build command `echo compiling; exit 3` failed (exit status 3)");
    assert_eq!(change_sets(), before, "a change set was made after the build failed");
    assert_eq!(emu.stacks()["demo-qa-app"]["status"], "CREATE_COMPLETE");
    // `stackc build` alone, and a build that does not make what it declares.
    write(dir.path(), "stacks/app/layer.toml", "[build]\ncommands = [\"true\"]\noutputs = [\"out\"]\n");
    stackc(dir.path(), &["build", "qa"]).code(1).stderr_has("the build finished but did not make `out`");
    // A missing path the build does not declare is an error that names the command.
    std::fs::remove_dir_all(dir.path().join("stacks/app/dist")).unwrap();
    stackc_env(dir.path(), &["render", "qa"], &[("APP_TOKEN", CANARY)])
        .code(2)
        .stderr_has("`dist/` does not exist")
        .stderr_has("run `stackc build qa app` first");
    write(dir.path(), "stacks/app/layer.toml", "[build]\ncommands = []\n");
    stackc(dir.path(), &["build", "qa"]).code(2).stderr_has("[build] has no commands");
    for r in [&first, &failed] {
        assert!(!r.stdout.contains(CANARY) && !r.stderr.contains(CANARY), "{}{}", r.stdout, r.stderr);
    }
    for (path, text) in files_under(dir.path()) {
        assert!(!text.contains(CANARY), "the secret was written to {path}");
    }
}

/// `artifact("path")` packages any file or folder for any property: the property gets the S3 location,
/// the object holds the exact bytes, and an unchanged path keeps its key (a no-op).
#[test]
fn artifact_packages_any_path_for_any_property() {
    let emu = Emulator::start();
    emu.seed(&serde_json::json!({"buckets": ["arts"]}));
    let template = "Resources:\n  Script:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Name: demo-qa-script\n      Type: String\n      Value: {{ artifact(\"jobs/etl.py\") }}\n  Bundle:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Name: demo-qa-bundle\n      Type: String\n      Value: \"{{ artifact('jobs').bucket }}/{{ artifact('jobs').key }}\"\n";
    let dir = project(&[
        ("stacks/etl/template.yaml.j2", template),
        ("stacks/etl/jobs/etl.py", "print('etl')\n"),
        ("stacks/etl/jobs/index.py", "def handler(e, c): pass\n"),
        ("environments/qa.toml", "region = \"us-east-1\"\nartifact_bucket = \"arts\"\n"),
    ]);
    stackc(dir.path(), &["render", "qa"])
        .ok()
        .stdout_has("would upload file jobs/etl.py")
        .stdout_has("would upload zip of jobs");
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok().stderr_has("[etl] artifacts: 2 uploaded");
    let param = |name: &str| {
        emu.query("ssm", "get_parameter", serde_json::json!({"Name": name}))["Parameter"]["Value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let script = param("demo-qa-script");
    let key = script.strip_prefix("s3://arts/").unwrap_or_else(|| panic!("{script}"));
    assert!(key.starts_with("stackc/demo/") && key.ends_with(".py"), "{key}");
    assert_eq!(object_text(&emu, dir.path(), key, false), "print('etl')\n");
    let bundle = param("demo-qa-bundle");
    let zip_key = bundle.strip_prefix("arts/").unwrap_or_else(|| panic!("{bundle}"));
    let listing = object_text(&emu, dir.path(), zip_key, true);
    assert!(listing.starts_with("['etl.py', 'index.py']\n"), "{listing}");
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok().stdout_has("is up to date");
    write(dir.path(), "stacks/etl/jobs/etl.py", "print('etl v2')\n");
    emu.stackc(dir.path(), &["plan", "qa", "--detailed-exitcode"]).code(3).stdout_has("etl (demo-qa-etl): update");
    write(dir.path(), "stacks/etl/template.yaml.j2", &template.replace("jobs/etl.py", "../../../etc/passwd"));
    stackc(dir.path(), &["render", "qa"])
        .code(2)
        .stderr_has("artifact(\"../../../etc/passwd\"): `../../../etc/passwd` is outside the project");
}
