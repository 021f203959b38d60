//! The real binary on the shipped project and on small broken projects: exit codes and messages.

mod support;

use support::*;

#[test]
fn render_writes_every_layer_of_both_environments() {
    let dir = shipped_copy();
    for env in ["qa", "prod"] {
        let run = stackc(dir.path(), &["render", env]);
        run.ok();
        for layer in ["networking", "cluster", "service", "db", "ddb", "cicd", "frontend"] {
            let t = dir.path().join(format!("build/{env}/{layer}.yaml"));
            let p = dir.path().join(format!("build/{env}/{layer}.params.json"));
            assert!(t.is_file() && p.is_file(), "{env}/{layer} missing:\n{}", run.stdout);
            let params: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            assert!(params
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["ParameterKey"].is_string() && e["ParameterValue"].is_string()));
        }
    }
    let qa = std::fs::read_to_string(dir.path().join("build/qa/networking.yaml")).unwrap();
    let prod = std::fs::read_to_string(dir.path().join("build/prod/networking.yaml")).unwrap();
    assert!(qa.contains("10.10.0.0/24") && prod.contains("10.20.0.0/22"));
}

#[test]
fn render_finds_the_project_from_a_subfolder_and_with_dash_c() {
    let dir = shipped_copy();
    stackc(&dir.path().join("stacks/db"), &["render", "qa", "db"]).ok();
    assert!(dir.path().join("build/qa/db.yaml").is_file());
    assert!(!dir.path().join("build/qa/networking.yaml").exists(), "only the named layer is rendered");
    let elsewhere = tempfile::tempdir().unwrap();
    stackc(elsewhere.path(), &["-C", dir.path().to_str().unwrap(), "render", "prod", "networking"]).ok();
    assert!(dir.path().join("build/prod/networking.yaml").is_file());
    stackc(elsewhere.path(), &["render", "qa"]).code(2).stderr_has("no `stackc.toml`");
}

#[test]
fn render_out_and_stdout() {
    let dir = shipped_copy();
    let out = dir.path().join("elsewhere");
    stackc(dir.path(), &["render", "qa", "db", "--out", out.to_str().unwrap()]).ok();
    assert!(out.join("db.yaml").is_file() && out.join("db.params.json").is_file());
    let run = stackc(dir.path(), &["render", "qa", "networking", "--stdout"]);
    run.ok().stdout_has("AWS::EC2::VPC");
    assert!(!dir.path().join("build").exists(), "--stdout writes nothing");
}

#[test]
fn render_parameter_formats() {
    let dir = shipped_copy();
    // For the AWS CLI: descriptions are refused, each parameter named; a secret too, unless left out.
    let run = stackc(dir.path(), &["render", "qa", "db", "--format", "cfn-toml-v2"]);
    run.code(2)
        .stderr_has("3 parameters have only a description here: db.ServiceSecurityGroupId (<output:service.ServiceSecurityGroupId>), db.SubnetIds (<output:networking.PrivateSubnetIds>), db.VpcId (<output:networking.VpcId>); they were not looked up: add --resolve")
        .stderr_has("never prints a secret: db.MasterUserPassword; add --omit-secrets");
    let outputs = [
        "--set",
        "layers.db.parameters.VpcId=vpc-1",
        "--set",
        "layers.db.parameters.SubnetIds=subnet-a,subnet-b",
        "--set",
        "layers.db.parameters.ServiceSecurityGroupId=sg-1",
    ];
    let with = |args: &[&str]| -> Vec<String> { outputs.iter().chain(args).map(|s| s.to_string()).collect() };
    let args = with(&["render", "qa", "db", "--format", "cfn-toml-v2", "--omit-secrets"]);
    let run = stackc(dir.path(), &args.iter().map(String::as_str).collect::<Vec<_>>());
    run.ok().stdout_has("InstanceClass=db.t4g.micro").stdout_has("SubnetIds=subnet-a,subnet-b");
    assert!(!run.stdout.contains("MasterUserPassword"), "{}", run.stdout);
    let args = with(&["render", "qa", "db", "--format", "cfn-toml-v1", "--omit-secrets"]);
    let run = stackc(dir.path(), &args.iter().map(String::as_str).collect::<Vec<_>>());
    run.ok()
        .stdout_has("ParameterKey=InstanceClass,ParameterValue=db.t4g.micro")
        .stdout_has("ParameterKey=MasterUserPassword,UsePreviousValue=true");
    let run = stackc(dir.path(), &["render", "qa", "db", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&run.ok().stdout).unwrap();
    assert!(v.as_array().unwrap().iter().any(|p| p["ParameterKey"] == "MultiAZ" && p["ParameterValue"] == "false"));
    let run = stackc(dir.path(), &["render", "prod", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&run.ok().stdout).unwrap();
    assert_eq!(v.as_object().unwrap().len(), 7);
}

#[test]
fn set_overrides_environment_values() {
    let dir = shipped_copy();
    let run = stackc(
        dir.path(),
        &[
            "--set",
            "image_tag=abc 123",
            "--set",
            "layers.db.parameters.InstanceClass=db.t3.small",
            "render",
            "qa",
            "service",
            "db",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&run.ok().stdout).unwrap();
    let value = |layer: &str, key: &str| {
        v[layer].as_array().unwrap().iter().find(|p| p["ParameterKey"] == key).unwrap()["ParameterValue"].clone()
    };
    assert_eq!(value("service", "ImageUri"), "123456789012.dkr.ecr.us-east-1.amazonaws.com/backend-flask:abc 123");
    assert_eq!(value("db", "InstanceClass"), "db.t3.small");
}

#[test]
fn shipped_project_validates() {
    let dir = shipped_copy();
    stackc(dir.path(), &["validate", "qa"]).ok().stdout_has("ok: environment `qa`");
    stackc(dir.path(), &["validate", "prod"]).ok();
    stackc(dir.path(), &["validate"]).ok().stdout_has("`prod`").stdout_has("`qa`");
}

#[test]
fn graph_list_envs_layers() {
    let dir = shipped_copy();
    let run = stackc(dir.path(), &["graph", "qa"]);
    run.ok();
    let waves: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("wave")).collect();
    assert_eq!(waves.len(), 4, "{}", run.stdout);
    let pos = |s: &str| run.stdout.find(s).unwrap();
    assert!(
        pos("  networking") < pos("  cluster") && pos("  cluster") < pos("  service") && pos("  service") < pos("  db")
    );
    stackc(dir.path(), &["graph", "qa", "--format", "dot"]).ok().stdout_has("\"networking\" -> \"cluster\";");
    stackc(dir.path(), &["graph", "qa", "--format", "mermaid"]).ok().stdout_has("service --> db");
    stackc(dir.path(), &["list"]).ok().stdout_has("prod").stdout_has("protected").stdout_has("networking");
    stackc(dir.path(), &["envs"]).ok().stdout_has("qa");
    stackc(dir.path(), &["layers"]).ok().stdout_has("CAPABILITY_AUTO_EXPAND");
}

#[test]
fn unknown_environment_and_layer_list_what_exists() {
    let dir = shipped_copy();
    stackc(dir.path(), &["render", "prd"])
        .code(2)
        .stderr_has("unknown environment `prd`")
        .stderr_has("environments of this project: prod, qa")
        .stderr_has("did you mean `prod`?");
    stackc(dir.path(), &["render", "qa", "netwrking"])
        .code(2)
        .stderr_has("unknown layer `netwrking`")
        .stderr_has("did you mean `networking`?");
    stackc(dir.path(), &["render", "_shared"]).code(2).stderr_has("unknown environment `_shared`");
    stackc(dir.path(), &["frobnicate"]).code(2);
}

const NET: &str = "Parameters:\n  Cidr:\n    Type: String\nResources:\n  VPC:\n    Type: AWS::EC2::VPC\n    Properties:\n      CidrBlock: !Ref Cidr\nOutputs:\n  VpcId:\n    Value: !Ref VPC\n    Export:\n      Name: !Sub \"${AWS::StackName}-VpcId\"\n";

fn small(env: &str, app_template: &str) -> tempfile::TempDir {
    project(&[
        ("stacks/net/template.yaml.j2", NET),
        ("stacks/app/layer.toml", "depends_on = [\"net\"]\n"),
        ("stacks/app/template.yaml.j2", app_template),
        ("environments/qa.toml", env),
    ])
}

const APP: &str = "Parameters:\n  VpcId:\n    Type: String\n  Password:\n    Type: String\n    NoEcho: true\nResources:\n  SG:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: x\n      VpcId: !Ref VpcId\n";
const GOOD_ENV: &str = "region = \"eu-west-1\"\n[layers.net.parameters]\nCidr = \"10.0.0.0/16\"\n[layers.app.parameters]\nVpcId = { from = \"output\", layer = \"net\", output = \"VpcId\" }\nPassword = { from = \"keyring\" }\n";

#[test]
fn a_small_good_project_validates() {
    let dir = small(GOOD_ENV, APP);
    stackc(dir.path(), &["validate", "qa"]).ok();
}

#[test]
fn toml_syntax_error_shows_file_line_column_and_caret() {
    let dir = small("region = \"eu-west-1\"\n[layers.net.parameters]\nCidr = \"10.0.0.0/16\n", APP);
    let run = stackc(dir.path(), &["render", "qa"]);
    run.code(2).stderr_has("environments/qa.toml:3:").stderr_has("3 | Cidr = \"10.0.0.0/16").stderr_has("^");
}

#[test]
fn unknown_keys_get_did_you_mean() {
    let dir = small("regoin = \"eu-west-1\"\n", APP);
    stackc(dir.path(), &["render", "qa"])
        .code(2)
        .stderr_has("unknown key `regoin`")
        .stderr_has("environments/qa.toml:1:1")
        .stderr_has("did you mean `region`?");
    let dir = small("region = \"eu-west-1\"\n[layers.app.parameters]\nVpcId = { from = \"output\", layer = \"net\", outptu = \"VpcId\" }\n", APP);
    stackc(dir.path(), &["render", "qa"])
        .code(2)
        .stderr_has("unknown key `outptu`")
        .stderr_has("did you mean `output`?")
        .stderr_has("qa.toml:3:");
    let dir = small("region = \"eu-west-1\"\n[layers.ap.parameters]\nX = \"1\"\n", APP);
    stackc(dir.path(), &["render", "qa"])
        .code(2)
        .stderr_has("layer `ap`, which is not a layer")
        .stderr_has("did you mean `app`?");
    let dir =
        small("region = \"eu-west-1\"\n[layers.app.parameters]\nP = { from = \"secretmanager\", id = \"x\" }\n", APP);
    stackc(dir.path(), &["render", "qa"])
        .code(2)
        .stderr_has("unknown value source `secretmanager`")
        .stderr_has("did you mean `secretsmanager`?");
}

#[test]
fn undefined_template_variable_names_file_and_line() {
    let dir = small(GOOD_ENV, "Resources:\n  SG:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: {{ descripton }}\n");
    stackc(dir.path(), &["render", "qa", "app"])
        .code(2)
        .stderr_has("stacks/app/template.yaml.j2:5:")
        .stderr_has("undefined")
        .stderr_has("5 |       GroupDescription: {{ descripton }}");
}

#[test]
fn shared_macros_are_usable_from_every_layer() {
    let dir = small(GOOD_ENV, "{% import \"_lib/m.j2\" as m %}Resources:\n{{ m.sg(\"SG\") }}\n");
    write(dir.path(), "stacks/_lib/m.j2", "{% macro sg(name) %}\n  {{ name }}:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: from a macro\n{% endmacro %}\n");
    stackc(dir.path(), &["render", "qa", "app", "--stdout"]).ok().stdout_has("GroupDescription: from a macro");
}

#[test]
fn invalid_yaml_after_rendering_is_located() {
    let dir = small(GOOD_ENV, "Resources:\n  SG: [1, 2\n");
    stackc(dir.path(), &["validate", "qa"])
        .code(2)
        .stderr_has("not valid YAML")
        .stderr_has("template.yaml.j2 (rendered):");
    let dir = small(
        GOOD_ENV,
        "Resources:\n  SG:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: !Reff x\n",
    );
    stackc(dir.path(), &["validate", "qa"]).code(2).stderr_has("unknown tag `!Reff`");
}

fn findings(env: &str, app: &str) -> support::Run {
    let dir = small(env, app);
    let run = stackc(dir.path(), &["validate", "qa"]);
    run.code(2);
    run
}

#[test]
fn validate_reports_unknown_refs_getatts_and_subs() {
    let app = "Parameters:\n  VpcId:\n    Type: String\n  Password:\n    Type: String\n    NoEcho: true\nResources:\n  SG:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: !Sub \"${AWS::Regoin} ${Nope}\"\n      VpcId: !Ref VpcID\n  SG2:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: !GetAtt SGG.GroupId\n      VpcId: !Ref AWS::Region\n";
    let run = findings(GOOD_ENV, app);
    run.stderr_has("`Ref: VpcID` names no parameter")
        .stderr_has("did you mean `VpcId`?")
        .stderr_has("`Fn::GetAtt` names `SGG`")
        .stderr_has("`${AWS::Regoin}`")
        .stderr_has("`${Nope}`")
        .stderr_has("at Resources.SG.Properties.VpcId")
        .stderr_has("validation failed with 4 findings");
}

#[test]
fn validate_reports_parameter_problems() {
    let env = "region = \"eu-west-1\"\n[layers.net.parameters]\nCidr = \"10.0.0.0/16\"\n[layers.app.parameters]\nVpcid = \"vpc-1\"\nPassword = { from = \"keyring\" }\n";
    findings(env, APP)
        .stderr_has("parameter `VpcId` has no Default and gets no value")
        .stderr_has("parameter `Vpcid` is not declared by the layer's template")
        .stderr_has("did you mean `VpcId`?")
        .stderr_has("environments/qa.toml:5:");
}

#[test]
fn validate_reports_secrets_in_the_open() {
    let app = APP.replace("    NoEcho: true\n", "");
    findings(GOOD_ENV, &app)
        .stderr_has("parameter `Password`: a secret (<secret from keyring:stackc/demo/qa/app/Password>) is passed to a parameter that is not `NoEcho: true`");
    let env = format!("{GOOD_ENV}[values]\ndb_password = {{ from = \"secretsmanager\", id = \"demo/db\" }}\n");
    findings(&env, APP).stderr_has("value `db_password`: <secret from secretsmanager:demo/db> is secret and would be rendered into a template body");
}

#[test]
fn validate_reports_unknown_outputs_and_imports() {
    let env = GOOD_ENV.replace("output = \"VpcId\"", "output = \"VpcID\"");
    findings(&env, APP).stderr_has("layer `net` has no Output `VpcID`").stderr_has("did you mean `VpcId`?");
    let app = format!("{APP}  Other:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: x\n      VpcId: !ImportValue demo-qa-net-VpcIdd\n");
    findings(GOOD_ENV, &app)
        .stderr_has("`Fn::ImportValue demo-qa-net-VpcIdd` matches no Export")
        .stderr_has("did you mean `demo-qa-net-VpcId`?");
    let ok = format!("{APP}  Other:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: x\n      VpcId: !ImportValue demo-qa-net-VpcId\n");
    stackc(small(GOOD_ENV, &ok).path(), &["validate", "qa"]).ok();
}

#[test]
fn validate_reports_an_import_from_a_layer_not_depended_on() {
    let dir = small(GOOD_ENV, APP);
    write(dir.path(), "stacks/other/template.yaml.j2", "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !ImportValue demo-qa-net-VpcId\n");
    stackc(dir.path(), &["validate", "qa"])
        .code(2)
        .stderr_has("exported by layer `net`, which `other` does not depend on");
}

#[test]
fn validate_reports_dependency_cycles() {
    let dir = small(GOOD_ENV, APP);
    write(dir.path(), "stacks/net/layer.toml", "depends_on = [\"app\"]\n");
    stackc(dir.path(), &["validate", "qa"]).code(2).stderr_has("dependency cycle").stderr_has("app -> net -> app");
    stackc(dir.path(), &["graph", "qa"]).code(2).stderr_has("dependency cycle");
}

#[test]
fn validate_reports_missing_capabilities() {
    let app =
        format!("{APP}  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument: {{}}\n");
    findings(GOOD_ENV, &app).stderr_has("lacks CAPABILITY_IAM");
}

#[test]
fn layer_metadata_errors() {
    let dir = small(GOOD_ENV, APP);
    write(dir.path(), "stacks/app/layer.toml", "depends_on = [\"nett\"]\n");
    stackc(dir.path(), &["render", "qa"])
        .code(2)
        .stderr_has("depends on `nett`, which is not a layer")
        .stderr_has("did you mean `net`?");
    write(dir.path(), "stacks/app/layer.toml", "capabilities = [\"CAPABILITY_IAMM\"]\n");
    stackc(dir.path(), &["render", "qa"])
        .code(2)
        .stderr_has("unknown capability")
        .stderr_has("stacks/app/layer.toml:1:");
}

#[test]
fn extends_layering_and_cycles() {
    let dir = small("extends = \"_base\"\n[layers.net.parameters]\nCidr = \"10.1.0.0/16\"\n", APP);
    write(dir.path(), "environments/_base.toml", "region = \"eu-west-1\"\n[layers.net.parameters]\nCidr = \"10.0.0.0/16\"\n[layers.app.parameters]\nVpcId = \"vpc-base\"\nPassword = \"x\"\n");
    let run = stackc(dir.path(), &["render", "qa", "--format", "cfn-toml-v2"]);
    run.ok().stdout_has("Cidr=10.1.0.0/16").stdout_has("VpcId=vpc-base");
    let run = stackc(
        dir.path(),
        &["--set", "layers.net.parameters.Cidr=10.9.0.0/16", "render", "qa", "net", "--format", "cfn-toml-v2"],
    );
    run.ok().stdout_has("Cidr=10.9.0.0/16");
    write(dir.path(), "environments/_base.toml", "extends = \"qa\"\n");
    stackc(dir.path(), &["render", "qa"]).code(2).stderr_has("`extends` forms a cycle");
}

#[test]
fn missing_region_and_bad_account_are_config_errors() {
    let dir = small("[layers.net.parameters]\nCidr = \"1\"\n", APP);
    stackc(dir.path(), &["render", "qa"]).code(2).stderr_has("sets no `region`");
    let dir = small("region = \"eu-west-1\"\naccount_id = \"1234\"\n", APP);
    stackc(dir.path(), &["render", "qa"]).code(2).stderr_has("`account_id` must be 12 digits");
}

#[test]
fn render_never_writes_or_prints_a_secret() {
    let canary = "canary-7f3a9c1e-never-show";
    let env = "region = \"eu-west-1\"\n[layers.net.parameters]\nCidr = \"10.0.0.0/16\"\n[layers.app.parameters]\nVpcId = { from = \"output\", layer = \"net\", output = \"VpcId\" }\nPassword = { from = \"env\", var = \"APP_PASSWORD\", secret = true }\n";
    let dir = small(env, APP);
    let vars = [("APP_PASSWORD", canary)];
    let mut seen = String::new();
    for args in [
        vec!["render", "qa"],
        vec!["render", "qa", "--stdout"],
        vec!["render", "qa", "--format", "json"],
        vec!["validate", "qa"],
        vec!["graph", "qa"],
    ] {
        let run = stackc_env(dir.path(), &args, &vars);
        run.ok();
        seen.push_str(&run.stdout);
        seen.push_str(&run.stderr);
    }
    // The forms for the AWS CLI refuse the secret (and the output not looked up), naming both.
    for args in [
        vec!["render", "qa", "--format", "cfn-toml-v1"],
        vec!["render", "qa", "--format", "cfn-toml-v2"],
        vec!["render", "qa", "app", "--format", "cfn-toml-v2", "--omit-secrets"],
    ] {
        let run = stackc_env(dir.path(), &args, &vars);
        run.code(2).stderr_has("app.VpcId (<output:net.VpcId>)");
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        seen.push_str(&run.stdout);
        seen.push_str(&run.stderr);
    }
    let run = stackc_env(
        dir.path(),
        &[
            "--set",
            "layers.app.parameters.VpcId=vpc-1",
            "render",
            "qa",
            "app",
            "--format",
            "cfn-toml-v1",
            "--omit-secrets",
        ],
        &vars,
    );
    run.ok().stdout_has("ParameterKey=VpcId,ParameterValue=vpc-1 ParameterKey=Password,UsePreviousValue=true\n");
    seen.push_str(&run.stdout);
    // A failing run that names the parameter.
    let bad = APP.replace("    NoEcho: true\n", "");
    write(dir.path(), "stacks/app/template.yaml.j2", &bad);
    let run = stackc_env(dir.path(), &["validate", "qa"], &vars);
    run.code(2).stderr_has("parameter `Password`");
    seen.push_str(&run.stdout);
    seen.push_str(&run.stderr);
    for (path, text) in files_under(dir.path()) {
        assert!(!text.contains(canary), "secret written to {path}");
    }
    assert!(!seen.contains(canary), "secret printed");
    assert!(seen.contains("<secret from env:APP_PASSWORD>"), "the description is shown instead");
}

#[test]
fn completions_and_help_need_no_project() {
    let nowhere = tempfile::tempdir().unwrap();
    stackc(nowhere.path(), &["completions", "bash"]).ok().stdout_has("_stackc()").stdout_has("deploy");
    stackc(nowhere.path(), &["deploy", "--help"])
        .ok()
        .stdout_has("--password-from")
        .stdout_has("protected environment");
}

#[test]
fn value_checks_name_the_environment_and_key() {
    let dir = shipped_copy();
    let run = stackc(dir.path(), &["--set", "private_subnets=x", "validate", "qa"]);
    run.code(2).stderr_has("environment `qa`, value `private_subnets`: `x` is not a CIDR block");
    let qa = std::fs::read_to_string(dir.path().join("environments/qa.toml")).unwrap();
    std::fs::write(
        dir.path().join("environments/qa.toml"),
        qa.replace("\"10.10.20.0/24\"", "\"10.10.0.0/23\"").replace("\"10.10.24.0/24\"", "\"10.11.0.0/24\""),
    )
    .unwrap();
    let run = stackc(dir.path(), &["validate", "qa"]);
    run.code(2)
        .stderr_has("value `private_subnets.1`: `10.10.0.0/23` overlaps `10.10.0.0/24` (`public_subnets.0`)")
        .stderr_has("value `private_subnets.2`: `10.11.0.0/24` is not inside the VPC's 10.10.0.0/16")
        .stderr_has("environments/qa.toml:");
    let dir = small(GOOD_ENV, APP);
    write(
        dir.path(),
        "stackc.toml",
        "name = \"demo\"\n[checks]\nschedule = [\"jobs.*.cron\"]\nport = [\"jobs.*.port\"]\n",
    );
    write(dir.path(), "environments/qa.toml", &format!("{GOOD_ENV}[values]\njobs = [{{ cron = \"cron(0 12 * * ? *)\", port = 80 }}, {{ cron = \"rate(1 hours)\", port = 0 }}]\n"));
    stackc(dir.path(), &["validate", "qa"])
        .code(2)
        .stderr_has("value `jobs.1.cron`: `rate(1 hours)` is not a valid EventBridge schedule: a rate of 1 takes a singular unit")
        .stderr_has("value `jobs.1.port`: `0` is not a port");
}

#[test]
fn values_and_parameters_may_be_written_as_tables() {
    let env = "region = \"eu-west-1\"\n[layers.net.parameters]\nCidr = \"10.0.0.0/16\"\n[layers.app.parameters]\nVpcId = \"vpc-1\"\n[layers.app.parameters.Password]\nfrom = \"keyring\"\n\n[values.services.api]\nport = 8080\n[values.services.web]\nport = 80\n";
    let dir = small(env, APP);
    stackc(dir.path(), &["render", "qa", "app", "--format", "json"])
        .ok()
        .stdout_has("\"<secret from keyring:stackc/demo/qa/app/Password>\"");
    stackc(dir.path(), &["render", "qa", "app", "--format", "cfn-toml-v2"]).code(2).stderr_has("app.Password");
    write(dir.path(), "environments/qa.toml", &env.replace("port = 80\n", "port = 80\nbad = { from = \"nope\" }\n"));
    stackc(dir.path(), &["render", "qa"])
        .code(2)
        .stderr_has("value `services`: unknown value source `nope`")
        .stderr_has("environments/qa.toml:9:");
}

/// Every constraint a template declares is checked against the value it gets, each finding with the
/// environment, layer, parameter and the line that sets it; a secret is checked but never shown.
#[test]
fn template_constraints_are_checked_with_locations() {
    let template = "Parameters:\n  Name:\n    Type: String\n    AllowedPattern: '[a-z][a-z0-9-]*'\n    ConstraintDescription: lower-case letters, digits and dashes\n  Size:\n    Type: Number\n    MinValue: 1\n    MaxValue: 10\n  Ports:\n    Type: List<Number>\n    MaxValue: 65535\n  Zones:\n    Type: CommaDelimitedList\n    AllowedValues: [a, b, c]\n  Subnets:\n    Type: List<AWS::EC2::Subnet::Id>\n  Tag:\n    Type: String\n    MaxLength: 5\n  Pw:\n    Type: String\n    NoEcho: true\n    MinLength: 12\nResources:\n  T:\n    Type: AWS::SNS::Topic\n";
    let good = "region = \"eu-west-1\"\n[layers.app.parameters]\nName = \"web-1\"\nSize = 3\nPorts = \"80,443\"\nZones = \"a,c\"\nSubnets = \"subnet-1,subnet-2\"\nTag = \"v1\"\nPw = { from = \"env\", var = \"APP_PW\", secret = true }\n";
    let dir = project(&[("stacks/app/template.yaml", template), ("environments/qa.toml", good)]);
    let long_pw = [("APP_PW", "long-enough-canary-pw")];
    stackc_env(dir.path(), &["validate", "qa"], &long_pw).ok();
    let bad = "region = \"eu-west-1\"\n[layers.app.parameters]\nName = \"Web_1\"\nSize = 11\nPorts = \"80,70000\"\nZones = \"a,d\"\nSubnets = \"subnet-1,sg-2\"\nTag = \"v1.2.3\"\nPw = { from = \"env\", var = \"APP_PW\", secret = true }\n";
    write(dir.path(), "environments/qa.toml", bad);
    let short_pw = [("APP_PW", "short-cnry")];
    let run = stackc_env(dir.path(), &["validate", "qa"], &short_pw);
    run.code(2)
        .stderr_has("environment `qa`, layer `app`, parameter `Name`: `Web_1` does not match AllowedPattern `[a-z][a-z0-9-]*`; the template says: lower-case letters, digits and dashes")
        .stderr_has("environments/qa.toml:3:")
        .stderr_has("parameter `Size`: `11` is greater than MaxValue 10")
        .stderr_has("environments/qa.toml:4:")
        .stderr_has("parameter `Ports`: `80,70000` item 2 is greater than MaxValue 65535")
        .stderr_has("parameter `Zones`: `a,d` item 2 is not one of the AllowedValues (a, b, c)")
        .stderr_has("parameter `Subnets`: `subnet-1,sg-2` item 2 is not a AWS::EC2::Subnet::Id")
        .stderr_has("parameter `Tag`: `v1.2.3` is longer than MaxLength 5")
        .stderr_has("parameter `Pw`: the secret <secret from env:APP_PW> is shorter than MinLength 12 (10 characters)")
        .stderr_has("validation failed with 7 findings");
    assert!(!run.stderr.contains("short-cnry") && !run.stdout.contains("short-cnry"), "{}", run.stderr);
    // render still works (it checks nothing), deploy-style commands refuse before AWS (preflight).
    stackc_env(dir.path(), &["render", "qa"], &short_pw).ok();
}

/// A layer that exists only where it should: `environments` in layer.toml and `enabled = false` in an
/// environment leave it out of render, validate, graph, envdiff and promote for the others.
#[test]
fn layers_limited_to_some_environments() {
    let topic = "Parameters:\n  Size:\n    Type: String\n    Default: s\nResources:\n  T:\n    Type: AWS::SNS::Topic\n";
    let dir = project(&[
        ("stacks/app/template.yaml", topic),
        ("stacks/monitoring/template.yaml", topic),
        ("stacks/monitoring/layer.toml", "environments = [\"prod\"]\n"),
        ("stacks/cache/template.yaml", topic),
        ("environments/qa.toml", "region = \"eu-west-1\"\n[layers.cache]\nenabled = false\n"),
        ("environments/prod.toml", "region = \"eu-west-1\"\n[layers.monitoring.parameters]\nSize = \"xl\"\n"),
    ]);
    let qa = stackc(dir.path(), &["render", "qa"]);
    qa.ok().stdout_has("rendered app");
    assert!(!qa.stdout.contains("monitoring") && !qa.stdout.contains("cache"), "{}", qa.stdout);
    stackc(dir.path(), &["render", "prod"]).ok().stdout_has("rendered monitoring").stdout_has("rendered cache");
    let graph = stackc(dir.path(), &["graph", "qa"]);
    graph.ok();
    assert!(!graph.stdout.contains("monitoring") && !graph.stdout.contains("cache"), "{}", graph.stdout);
    stackc(dir.path(), &["render", "qa", "monitoring"]).code(2).stderr_has("unknown layer `monitoring`");
    stackc(dir.path(), &["validate"])
        .ok()
        .stdout_has("ok: environment `qa`: 1 layer valid")
        .stdout_has("`prod`: 3 layers valid");
    stackc(dir.path(), &["envdiff", "qa", "prod"])
        .ok()
        .stdout_has("monitoring   only in `prod`")
        .stdout_has("cache        only in `prod`");
    // prod's settings of its own layer are not carried into qa, which does not have it.
    stackc(dir.path(), &["promote", "prod", "qa", "--dry-run"])
        .ok()
        .stdout_has("keep  layers.monitoring.parameters.Size: (not set) (`prod` has xl)   [the layer is not in the target environment]")
        .stdout_has("nothing to promote");
    write(dir.path(), "stacks/monitoring/layer.toml", "environments = [\"prd\"]\n");
    stackc(dir.path(), &["validate"])
        .code(2)
        .stderr_has("layer `monitoring`: `environments` names `prd`, which is not an environment")
        .stderr_has("did you mean `prod`?");
}

#[test]
fn colour_follows_color_and_no_color() {
    let dir = small("regoin = \"eu-west-1\"\n", APP);
    let forced = stackc(dir.path(), &["--color", "always", "render", "qa"]);
    forced.code(2).stderr_has("\x1b[1;31merror\x1b[0m: unknown key `regoin`");
    let auto = stackc(dir.path(), &["render", "qa"]);
    assert!(!auto.stderr.contains('\x1b'), "not a terminal: no colour: {}", auto.stderr);
}

#[test]
fn stack_options_are_checked_where_they_are_written() {
    let env = "region = \"eu-west-1\"\nrollback_monitoring_minutes = 500\n[layers.app]\nnotification_arns = [\"arn:aws:sqs:eu-west-1:123456789012:q\"]\nrollback_alarms = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"]\ntimeout_minutes = 0\n";
    let dir = small(env, APP);
    stackc(dir.path(), &["validate", "qa"])
        .code(2)
        .stderr_has("`rollback_monitoring_minutes` is 0 to 180, found 500")
        .stderr_has("environments/qa.toml:2:")
        .stderr_has("`notification_arns`: `arn:aws:sqs:eu-west-1:123456789012:q` is not an sns ARN")
        .stderr_has("environments/qa.toml:4:")
        .stderr_has("`rollback_alarms` takes at most 5 ARNs, found 6")
        .stderr_has("`timeout_minutes` is 1 to 43200 (30 days), found 0")
        .stderr_has("environments/qa.toml:6:");
}

#[test]
fn validate_and_list_speak_json() {
    let dir = shipped_copy();
    let run = stackc(dir.path(), &["validate", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&run.ok().stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["environments"].as_array().unwrap().len(), 2);
    assert_eq!(v["environments"][0]["layers"], 7);
    let list: serde_json::Value =
        serde_json::from_str(&stackc(dir.path(), &["list", "--output", "json"]).ok().stdout).unwrap();
    assert_eq!(list["project"], "cruddur");
    assert_eq!(list["environments"], serde_json::json!(["prod", "qa"]));
    assert!(list["layers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["name"] == "service" && l["depends_on"] == serde_json::json!(["networking", "cluster"])));
    let dir = small(&format!("{GOOD_ENV}Bogus = \"x\"\n"), APP);
    let bad = stackc(dir.path(), &["validate", "qa", "--output", "json"]);
    bad.code(2);
    let v: serde_json::Value = serde_json::from_str(&bad.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let findings = v["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(findings.iter().all(|f| f["message"].as_str().is_some_and(|m| !m.is_empty())), "{v}");
    assert!(
        findings.iter().any(|f| f["file"].as_str().is_some_and(|p| p.ends_with("qa.toml")) && f["line"].is_number()),
        "{v}"
    );
}

/// Regions are checked wherever they are named (a typo gets the nearest real one), and so is everything
/// about a stack set layer: its targets and rollout settings, a `[layers.x.stackset]` on a layer that is
/// not one, an `output` read from one, a misspelt `deploy_as`.
#[test]
fn validate_checks_regions_and_stack_set_settings() {
    let topic = "Parameters:\n  Guard:\n    Type: String\n    Default: x\nResources:\n  T:\n    Type: AWS::SNS::Topic\nOutputs:\n  Arn:\n    Value: !Ref T\n";
    let dir = project(&[
        ("stacks/guard/template.yaml", topic),
        ("stacks/guard/layer.toml", "deploy_as = \"stackset\"\n[stackset]\nregions = [\"eu-west-1\", \"us-esat-1\"]\n"),
        ("stacks/app/template.yaml", topic),
        ("stacks/app/layer.toml", "region = \"eu-wset-1\"\n"),
        (
            "environments/qa.toml",
            "region = \"us-east-1\"\n[layers.guard.stackset]\naccounts = [\"1234\"]\nmax_concurrent = 2\nmax_concurrent_percent = 50\n\
             [layers.app.stackset]\nregions = [\"eu-west-1\"]\n[layers.app.parameters]\nGuard = { from = \"output\", layer = \"guard\", output = \"Arn\" }\n",
        ),
    ]);
    let run = stackc(dir.path(), &["validate", "qa"]);
    run.code(2)
        .stderr_has("stack set layer `guard`: `regions`: `us-esat-1` is not an AWS region (did you mean `us-east-1`?)")
        .stderr_has("`accounts`: `1234` is not an AWS account id")
        .stderr_has("set `max_concurrent` or `max_concurrent_percent`, not both")
        .stderr_has("layer `app`: region `eu-wset-1` is not an AWS region (did you mean `eu-west-1`?)")
        .stderr_has("`[layers.app.stackset]` is set, but layer `app` is not deployed as a stack set")
        .stderr_has("layer `guard` is deployed as a stack set, whose outputs stackc does not read");
    write(dir.path(), "stacks/guard/layer.toml", "deploy_as = \"stack-set\"\n");
    stackc(dir.path(), &["validate", "qa"])
        .code(2)
        .stderr_has("deploy_as is \"stack\" or \"stackset\", not `stack-set`")
        .stderr_has("layer.toml:1:");
}

/// Each kind of schema finding is reported at the line (and column) of the layer's `.j2` source that
/// produced it, loops and macros included; module types are a note, not a refusal.
#[test]
fn schema_findings_point_at_their_template_source_line() {
    let template = "\
{% import '_lib/m.j2' as m %}
Parameters:
  Pw: {Type: String, NoEcho: true}
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    DependOn: Igw
    Properties:
      CidrBlok: {{ cidr }}
{% for n in [1, 2] %}
  Subnet{{ n }}:
    Type: AWS::EC2::Subnet
    Properties:
      AvailabilityZone: us-east-1a
      MapPublicIpOnLaunch: maybe
{% endfor %}
  Igw:
    Type: AWS::EC2::InternetGateways
  Log:
    Type: AWS::Logs::LogGroup
    DependsOn: Nope
    Properties:
      LogGroupClass: RARE
      LogGroupName: !Ref Pw
  Mod:
    Type: Acme::Org::Thing::MODULE
Outputs:
{{ m.out('Cidr', '!GetAtt Vpc.CidrBlocks') }}
";
    let dir = project(&[
        ("stacks/_lib/m.j2", "{% macro out(name, value) %}\n  {{ name }}:\n    Value: {{ value }}\n{% endmacro %}\n"),
        ("stacks/net/template.yaml.j2", template),
        (
            "environments/qa.toml",
            "region = \"us-east-1\"\n[values]\ncidr = \"10.0.0.0/16\"\n[layers.net.parameters]\nPw = { from = \"env\", var = \"PW\", secret = true }\n",
        ),
    ]);
    let r = stackc_env(dir.path(), &["validate", "qa"], &[("PW", "hunter2-canary")]);
    r.code(2);
    let t = "stacks/net/template.yaml.j2";
    for (place, rule) in [
        (format!("{t}:7:5"), "(unknown-resource-attribute)"),
        (format!("{t}:9:7"), "(unknown-property)"),
        (format!("{t}:13:5"), "(missing-property)"),
        (format!("{t}:15:7"), "(wrong-type)"),
        (format!("{t}:18:5"), "(unknown-type)"),
        (format!("{t}:21:5"), "(unknown-dependency)"),
        (format!("{t}:23:7"), "(not-in-enum)"),
        (format!("{t}:24:7"), "(secret-in-readable-property)"),
        ("stacks/_lib/m.j2:3:5".to_string(), "(unknown-attribute)"),
    ] {
        let at =
            r.stderr.find(&format!("--> {place}\n")).unwrap_or_else(|| panic!("no finding at {place}:\n{}", r.stderr));
        let after = &r.stderr[at..];
        let end = after[4..].find("\nerror").map(|e| e + 4).unwrap_or(after.len());
        assert!(after[..end].contains(rule), "{place} is not {rule}:\n{}", &after[..end]);
    }
    r.stderr_has("did you mean `CidrBlock`?")
        .stderr_has("did you mean `AWS::EC2::InternetGateway`?")
        .stderr_has("did you mean `DependsOn`?")
        .stderr_has("rendered: Value: !GetAtt Vpc.CidrBlocks")
        .stderr_has("note: environment `qa`, layer `net`: resource `Mod` is of module type");
    assert!(!r.stderr.contains("hunter2-canary") && !r.stdout.contains("hunter2-canary"));
    // Accepting the readable secret in layer.toml turns that finding into a note said once.
    std::fs::write(dir.path().join("stacks/net/layer.toml"), "secrets_readable_in = [\"Log.LogGroupName\"]\n").unwrap();
    let r = stackc_env(dir.path(), &["validate", "qa"], &[("PW", "hunter2-canary")]);
    assert!(!r.stderr.contains("(secret-in-readable-property)"), "{}", r.stderr);
    assert_eq!(r.stderr.matches("layer.toml lets a secret reach `Log.LogGroupName`").count(), 1, "{}", r.stderr);
}

/// A nested stack whose template is a project file is checked as CloudFormation would check it minutes
/// into a deploy: parameters passed against those declared, outputs read, the child's own schema findings
/// (at the child's source line), and the IAM capability its resources need.
#[test]
fn nested_stacks_are_checked_against_their_child_templates() {
    let parent = "\
Parameters:
  Pw: {Type: String, NoEcho: true}
Resources:
  Child:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: nested/child.yaml.j2
      Parameters:
        Nmae: x
        Token: !Ref Pw
Outputs:
  Id:
    Value: !GetAtt Child.Outputs.TopicArnn
";
    let child = "\
Parameters:
  Name: {Type: String}
  Token: {Type: String}
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicNam: {{ prefix }}-x
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
Outputs:
  TopicArn:
    Value: !Ref Topic
";
    let dir = project(&[
        ("stacks/app/template.yaml", parent),
        ("stacks/app/nested/child.yaml.j2", child),
        (
            "environments/qa.toml",
            "region = \"us-east-1\"\n[values]\nprefix = \"demo\"\n[layers.app.parameters]\nPw = { from = \"env\", var = \"PW\", secret = true }\n",
        ),
    ]);
    let r = stackc_env(dir.path(), &["validate", "qa"], &[("PW", "hunter2-canary")]);
    r.code(2)
        .stderr_has("nested stack `Child` is passed parameter `Nmae`, which its template")
        .stderr_has("did you mean `Name`?")
        .stderr_has("nested stack `Child` does not pass parameter `Name`")
        .stderr_has("the NoEcho parameter `Pw` reaches parameter `Token` of nested stack `Child`")
        .stderr_has("`Child.Outputs.TopicArnn`: nested stack `Child` has no output `TopicArnn`")
        .stderr_has("did you mean `TopicArn`?")
        .stderr_has("--> stacks/app/nested/child.yaml.j2:8:7")
        .stderr_has("`TopicNam` is not a property of its type (nested stack `Child`")
        .stderr_has("a nested stack creates IAM resources but the layer lacks CAPABILITY_IAM")
        .stderr_has("set `capabilities = [\"CAPABILITY_IAM\"]` in stacks/app/layer.toml");
    assert!(r.stderr.contains("--> stacks/app/template.yaml:9:9"), "the unknown parameter's line:\n{}", r.stderr);
    assert!(r.stderr.contains("--> stacks/app/template.yaml:13:34"), "the output's line:\n{}", r.stderr);
    assert!(!r.stderr.contains("hunter2-canary"));
}

/// A nested template that does not render fails `render` (exit 2, naming the cause), as it fails
/// validate and would fail the deploy; the files that could be written are written.
#[test]
fn render_fails_when_a_nested_template_does_not_render() {
    let dir = project(&[
        (
            "stacks/app/template.yaml",
            "Resources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: nested/child.yaml.j2\n",
        ),
        ("stacks/app/nested/child.yaml.j2", "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: {{ nope }}\n"),
        ("environments/qa.toml", "region = \"us-east-1\"\n"),
    ]);
    let r = stackc(dir.path(), &["render", "qa"]);
    r.code(2)
        .stdout_has("cannot package app: 1 problem")
        .stderr_has("`nope` is undefined")
        .stderr_has("layer `app`: cannot package");
    assert!(dir.path().join("build/qa/app.yaml").is_file());
    std::fs::write(dir.path().join("stacks/app/nested/child.yaml.j2"), "Resources:\n  T:\n    Type: AWS::SNS::Topic\n")
        .unwrap();
    stackc(dir.path(), &["render", "qa"]).ok();
}

/// An environment's guards are not loosened for one run: `--set` cannot switch protection off or change
/// the account and role it is tied to (exit 2, saying to edit the file); tightening protection is fine.
#[test]
fn set_cannot_loosen_an_environments_guards() {
    let dir = shipped_copy();
    for set in ["protected=false", "account_id=111111111111", "role_arn_to_assume=arn:aws:iam::111111111111:role/x"] {
        let r = stackc(dir.path(), &["--set", set, "validate", "prod"]);
        r.code(2).stderr_has("cannot be").stderr_has("edit");
    }
    stackc(dir.path(), &["--set", "protected=true", "validate", "qa"]).ok();
}

/// A note that would name 100 layers names a dozen and counts the rest; `secret set --to` offers only the
/// stores it can write.
#[test]
fn long_notes_are_cut_and_secret_set_offers_only_writable_stores() {
    let mut files: Vec<(String, String)> = (0..100)
        .map(|i| {
            (format!("stacks/layer{i}/template.yaml"), "Resources:\n  T:\n    Type: AWS::SNS::Topic\n".to_string())
        })
        .collect();
    files.push(("environments/qa.toml".into(), "region = \"us-east-1\"\n".into()));
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let dir = project(&refs);
    let r = stackc(dir.path(), &["render", "qa", "layer1000"]);
    r.code(2).stderr_has("... and 88 more");
    assert!(r.stderr.lines().all(|l| l.len() < 300), "{}", r.stderr);
    let to_env = stackc(dir.path(), &["secret", "set", "qa", "layer0", "Pw", "--to", "env"]);
    to_env.code(2).stderr_has("invalid value 'env'").stderr_has("keyring, ssm, secretsmanager");
    let help = stackc(dir.path(), &["secret", "set", "--help"]);
    help.ok().stdout_has("--to <TO>");
    let to = &help.stdout[help.stdout.find("--to <TO>").unwrap()..];
    let values = to.lines().find(|l| l.contains("possible values")).unwrap_or_default();
    assert_eq!(values.trim(), "[possible values: keyring, ssm, secretsmanager]", "{to}");
}

/// `--region` and `--endpoint-url` are checked before any call: an upper-case region names the
/// lower-case one, an unknown one the nearest, and an endpoint that is not a URL says so (exit 2).
#[test]
fn region_and_endpoint_flags_are_checked_before_any_call() {
    let dir = shipped_copy();
    stackc(dir.path(), &["--region", "US-EAST-1", "status", "qa"])
        .code(2)
        .stderr_has("region names are lower case (`us-east-1`)");
    stackc(dir.path(), &["--region", "xx-nowhere-1", "status", "qa"]).code(2).stderr_has("is not an AWS region");
    for (url, says) in [
        ("not a url", "is not a URL"),
        ("ftp://host", "is not http or https"),
        ("http://", "has no host"),
        ("http://ho st:1", "has no host, or holds spaces"),
    ] {
        stackc(dir.path(), &["--endpoint-url", url, "status", "qa"]).code(2).stderr_has(says);
    }
    stackc(dir.path(), &["--region", "eu-west-1", "--endpoint-url", "http://127.0.0.1:1", "validate", "qa"]).ok();
}

/// Many layers are rendered on several threads; what they report reads the same as one thread would
/// write it: every failing layer, in layer order.
#[test]
fn render_errors_of_many_layers_come_in_layer_order() {
    let mut files: Vec<(String, String)> = vec![("environments/qa.toml".into(), "region = \"us-east-1\"\n".into())];
    for i in 0..40 {
        let body = if i == 5 || i == 33 {
            "Resources: {{ missing_value }}\n"
        } else {
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\n"
        };
        files.push((format!("stacks/l{i:02}/template.yaml.j2"), body.into()));
    }
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let dir = project(&refs);
    let run = stackc(dir.path(), &["render", "qa", "--stdout"]);
    run.code(2);
    let (first, second) =
        (run.stderr.find("l05").expect("l05 reported"), run.stderr.find("l33").expect("l33 reported"));
    assert!(first < second, "{}", run.stderr);
    let ok = stackc(dir.path(), &["render", "qa", "l00", "l39", "--stdout"]);
    ok.ok().stdout_has("# ---- layer l39 (demo-qa-l39) ----");
}

/// `render --stdout` prints a template that does not parse (to look at) and fails with where, in the same
/// words as writing it does; a duplicate key and an unknown tag are caught though no tree is kept.
#[test]
fn render_to_stdout_prints_what_does_not_parse_and_fails_with_where() {
    let cases = [
        (
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\n  T:\n    Type: AWS::SNS::Topic\n",
            "duplicate entry with key \"T\"",
        ),
        ("Resources:\n  T:\n    Type: !Nope AWS::SNS::Topic\n", "unknown tag `!Nope`"),
        ("Resources:\n  T: [\n", "template.yaml.j2 (rendered):"),
        ("- just\n- a list\n", "a template must be a mapping at the top level"),
    ];
    for (template, error) in cases {
        let dir =
            project(&[("stacks/app/template.yaml.j2", template), ("environments/qa.toml", "region = \"us-east-1\"\n")]);
        let printed = stackc(dir.path(), &["render", "qa", "--stdout"]);
        printed.code(2).stderr_has(error).stderr_has("is not valid YAML/JSON");
        assert_eq!(printed.stdout, template, "the text is printed as rendered");
        let written = stackc(dir.path(), &["render", "qa"]);
        written.code(2);
        assert_eq!(written.stderr, printed.stderr, "the same finding either way");
    }
}

/// Completion offers the project's environments and layers where a command takes them, and the bash
/// script asks for them (names from the shipped project).
#[test]
fn completion_offers_environment_and_layer_names() {
    let dir = shipped_copy();
    let envs = stackc(dir.path(), &["__complete", "--", "plan"]);
    assert_eq!(envs.stdout, "prod\nqa\n");
    let layers = stackc(dir.path(), &["__complete", "--", "deploy", "qa"]);
    assert!(layers.stdout.lines().any(|l| l == "db") && !layers.stdout.contains("qa"), "{}", layers.stdout);
    assert_eq!(stackc(dir.path(), &["__complete", "--", "prune", "qa"]).stdout, "");
    // No project here: nothing, and no error.
    let empty = tempfile::tempdir().unwrap();
    let none = stackc(empty.path(), &["__complete", "--", "deploy"]);
    none.ok();
    assert_eq!(none.stdout, "");
    // The bash script offers them after the static completions.
    let script = stackc(dir.path(), &["completions", "bash"]);
    script.ok().stdout_has("_stackc_with_names");
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_stackc")).parent().unwrap().to_path_buf();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg("source /dev/stdin; COMP_WORDS=(stackc deploy q); COMP_CWORD=2; _stackc_with_names; echo \"${COMPREPLY[@]}\"")
        .env("PATH", format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default()))
        .current_dir(dir.path())
        .stdin({
            let f = dir.path().join("completion.bash");
            std::fs::write(&f, &script.stdout).unwrap();
            std::fs::File::open(f).unwrap()
        })
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "qa", "{}", String::from_utf8_lossy(&out.stderr));
}
