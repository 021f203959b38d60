//! envdiff and promote on the shipped project: classes, dry runs, formatting kept, idempotence, refusals.

mod support;

use support::*;

#[test]
fn envdiff_shows_every_difference_with_its_class() {
    let dir = shipped_copy();
    let run = stackc(dir.path(), &["envdiff", "qa", "prod"]);
    run.ok()
        .stdout_has("~ protected: false -> true")
        .stdout_has("~ account_id: (none) -> 111122223333")
        .stdout_has("~ tags.Environment: qa -> prod")
        .stdout_has("~ image_tag: 2026.11.21-3 -> 2026.11.20-1   [promotable]")
        .stdout_has("~ domain: qa.cruddur.example.com -> cruddur.example.com   [pinned]")
        .stdout_has("layers.db.parameters.MasterUserPassword: { from = \"secretsmanager\", id = \"cruddur/qa/db\", key = \"password\" } -> { from = \"keyring\" }   [secret source]")
        .stdout_has("[names the source environment: it names `qa`]")
        .stdout_has("networking   templates differ");
    let json = stackc(dir.path(), &["envdiff", "qa", "prod", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    assert!(v["environment"].as_array().unwrap().iter().any(|r| r["key"] == "protected" && r["to"] == "true"), "{v}");
    assert!(v["settings"].as_array().unwrap().iter().any(|r| r["path"] == "domain" && r["class"] == "pinned"), "{v}");
    assert!(
        v["layers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["layer"] == "networking" && r["template_lines_changed"].as_u64() > Some(0)),
        "{v}"
    );
    // The same environment twice: nothing differs.
    let same = stackc(dir.path(), &["envdiff", "qa", "qa"]);
    same.ok();
    assert!(
        !same.stdout.contains("settings:") && same.stdout.contains("same template; same parameters"),
        "{}",
        same.stdout
    );
}

#[test]
fn promote_carries_only_what_was_proven_and_keeps_the_file() {
    let dir = shipped_copy();
    let prod = dir.path().join("environments/prod.toml");
    let before = std::fs::read_to_string(&prod).unwrap();
    let dry = stackc(dir.path(), &["promote", "qa", "prod", "--dry-run"]);
    dry.ok()
        .stdout_has("carry image_tag: 2026.11.20-1 -> 2026.11.21-3   [promotable]")
        .stdout_has("keep  domain: cruddur.example.com (`qa` has qa.cruddur.example.com)   [pinned]")
        .stdout_has("keep  layers.db.parameters.MasterUserPassword: { from = \"keyring\" }")
        .stdout_has("-image_tag = \"2026.11.20-1\"\n+image_tag = \"2026.11.21-3\"")
        .stdout_has("dry run");
    dry.stderr_has("not carrying `layers.cicd.parameters.ConnectionArn`: it names `qa`");
    assert_eq!(std::fs::read_to_string(&prod).unwrap(), before, "--dry-run leaves the file byte-identical");

    stackc(dir.path(), &["promote", "qa", "prod"]).code(2).stderr_has("refusing to change").stderr_has("--yes");
    assert_eq!(std::fs::read_to_string(&prod).unwrap(), before);

    stackc(dir.path(), &["promote", "qa", "prod", "--yes"])
        .ok()
        .stdout_has("updated `environments/prod.toml`: 1 setting from `qa`");
    let after = std::fs::read_to_string(&prod).unwrap();
    let changed: Vec<(&str, &str)> = before.lines().zip(after.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(
        changed,
        vec![("image_tag = \"2026.11.20-1\"", "image_tag = \"2026.11.21-3\"")],
        "only that line changed"
    );
    assert_eq!(before.lines().count(), after.lines().count());
    stackc(dir.path(), &["validate", "prod"]).ok();
    // Twice is a no-op.
    stackc(dir.path(), &["promote", "qa", "prod", "--yes"]).ok().stdout_has("nothing to promote");
    assert_eq!(std::fs::read_to_string(&prod).unwrap(), after);
}

#[test]
fn promote_only_and_allow_env_names() {
    let dir = shipped_copy();
    let prod = dir.path().join("environments/prod.toml");
    let before = std::fs::read_to_string(&prod).unwrap();
    stackc(dir.path(), &["promote", "qa", "prod", "--only", "layers.cicd", "--yes"])
        .ok()
        .stdout_has("nothing to promote");
    assert_eq!(std::fs::read_to_string(&prod).unwrap(), before);
    let run = stackc(
        dir.path(),
        &["promote", "qa", "prod", "--only", "layers.cicd.parameters.ConnectionArn", "--allow-env-names", "--yes"],
    );
    run.ok().stdout_has("carry layers.cicd.parameters.ConnectionArn");
    let after = std::fs::read_to_string(&prod).unwrap();
    assert!(
        after.contains("ConnectionArn = { from = \"ssm\", name = \"/cruddur/qa/codestar-connection-arn\" }"),
        "{after}"
    );
    assert!(after.contains("image_tag = \"2026.11.20-1\""), "--only kept the rest");
    stackc(dir.path(), &["promote", "qa", "prod", "--only", "no_such_key"])
        .code(2)
        .stderr_has("`no_such_key` is not a setting of `qa`");
    stackc(dir.path(), &["promote", "qa", "qa"]).code(2);
}

#[test]
fn promote_adds_missing_settings_in_a_new_table_and_keeps_comments() {
    let dir = project(&[
        ("stacks/app/template.yaml.j2", "Parameters:\n  Size:\n    Type: String\n  Tag:\n    Type: String\nResources:\n  T:\n    Type: AWS::SNS::Topic\n"),
        ("environments/qa.toml", "region = \"eu-west-1\"\n[values]\nflag = true\n[layers.app.parameters]\nSize = \"s\"\nTag = \"v2\"\n"),
        ("environments/prod.toml", "# production\nregion = \"eu-west-1\"   # keep me\n\n# sizes live here\n[layers.app.parameters]\nSize = \"s\" # same\n"),
    ]);
    stackc(dir.path(), &["promote", "qa", "prod", "--yes"]).ok();
    let after = std::fs::read_to_string(dir.path().join("environments/prod.toml")).unwrap();
    assert!(after.starts_with("# production\nregion = \"eu-west-1\"   # keep me\n\n# sizes live here\n[layers.app.parameters]\nSize = \"s\" # same\nTag = \"v2\"\n"), "{after}");
    assert!(after.contains("[values]\nflag = true\n"), "{after}");
    stackc(dir.path(), &["render", "prod", "--format", "cfn-toml-v2"]).ok().stdout_has("Tag=v2");
}

#[test]
fn envdiff_resolve_compares_looked_up_values() {
    let emu = support::emulator::Emulator::start();
    let seeded = emu.seed(&serde_json::json!({
        "ssm": {"/cruddur/qa/codestar-connection-arn": "arn:qa-conn", "/cruddur/prod/codestar-connection-arn": "arn:prod-conn"},
        "certificates": [{"domain": "*.qa.cruddur.example.com"}, {"domain": "*.cruddur.example.com"}, {"domain": "cruddur.example.com"}],
        "ssm_certificate_arns": {"/cruddur/qa/certificate-arn": "*.qa.cruddur.example.com"},
        "zones": ["qa.cruddur.example.com", "cruddur.example.com"],
    }));
    let dir = shipped_copy();
    let run = emu.stackc(dir.path(), &["envdiff", "qa", "prod", "--resolve"]);
    run.ok().stdout_has("cicd         templates differ").stdout_has("parameters differ: ConnectionArn, GitHubBranch");
    assert!(!run.stderr.contains("could not be resolved"), "{}", run.stderr);
    // Resolved, frontend's certificates are real ARNs, and they differ.
    assert!(
        run.stdout.contains("frontend     templates differ") && run.stdout.contains("CertificateArn"),
        "{}",
        run.stdout
    );
    assert!(seeded["certificates"]["cruddur.example.com"].is_string());
}

/// Allow-list mode: a target with `promotable = [...]` takes only what the list names.
#[test]
fn an_allow_list_carries_only_what_it_names() {
    let dir = project(&[
        ("stacks/app/template.yaml", "Parameters:\n  Size:\n    Type: String\n  Tag:\n    Type: String\nResources:\n  T:\n    Type: AWS::SNS::Topic\n"),
        ("environments/qa.toml", "region = \"eu-west-1\"\n[values]\nflag = true\n[layers.app.parameters]\nSize = \"m\"\nTag = \"v2\"\n"),
        ("environments/prod.toml", "region = \"eu-west-1\"\npromotable = [\"layers.*.parameters.Tag\"]\n[layers.app.parameters]\nSize = \"s\"\nTag = \"v1\"\n"),
    ]);
    stackc(dir.path(), &["promote", "qa", "prod", "--dry-run"])
        .ok()
        .stdout_has("carry layers.app.parameters.Tag: v1 -> v2   [promotable]")
        .stdout_has("keep  layers.app.parameters.Size: s (`qa` has m)   [not in the target's `promotable` list]")
        .stdout_has("keep  flag: (not set) (`qa` has true)   [not in the target's `promotable` list]");
    stackc(dir.path(), &["promote", "qa", "prod", "--yes"])
        .ok()
        .stdout_has("updated `environments/prod.toml`: 1 setting");
    let after = std::fs::read_to_string(dir.path().join("environments/prod.toml")).unwrap();
    assert!(after.contains("Tag = \"v2\"") && after.contains("Size = \"s\"") && !after.contains("flag"), "{after}");
}

/// Carrying a value that reaches a create-only property (here through a parameter into the database's
/// identifier) warns that CloudFormation will replace the resource; a value that updates in place does not.
#[test]
fn promote_warns_when_a_carried_value_replaces_a_resource() {
    let db = "Parameters:\n  Name:\n    Type: String\n  Class:\n    Type: String\nResources:\n  Database:\n    Type: AWS::RDS::DBInstance\n    Properties:\n      DBInstanceIdentifier: !Sub \"${Name}-db\"\n      DBInstanceClass: !Ref Class\n      Engine: postgres\n  Log:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      LogGroupName: \"/app/{{ log_prefix }}\"\n";
    let dir = project(&[
        ("stacks/db/template.yaml.j2", db),
        (
            "environments/qa.toml",
            "region = \"us-east-1\"\n[values]\nlog_prefix = \"v2\"\n[layers.db.parameters]\nName = \"orders2\"\nClass = \"db.m5.large\"\n",
        ),
        (
            "environments/prod.toml",
            "region = \"us-east-1\"\n[values]\nlog_prefix = \"v1\"\n[layers.db.parameters]\nName = \"orders\"\nClass = \"db.t3.micro\"\n",
        ),
    ]);
    let class = stackc(dir.path(), &["promote", "qa", "prod", "--only", "layers.db.parameters.Class", "--dry-run"]);
    class.ok().stdout_has("carry layers.db.parameters.Class");
    assert!(!class.stderr.contains("REPLACE"), "{}", class.stderr);
    let all = stackc(dir.path(), &["promote", "qa", "prod", "--dry-run"]);
    all.ok()
        .stderr_has("makes CloudFormation REPLACE 2 resources")
        .stderr_has("layer `db`: Database (AWS::RDS::DBInstance), because `DBInstanceIdentifier` changes")
        .stderr_has("layer `db`: Log (AWS::Logs::LogGroup), because `LogGroupName` changes");
}

/// envdiff shows what only an environment decides: its artifact buckets, its timeout, and where a stack
/// set layer's instances go.
#[test]
fn envdiff_shows_buckets_timeouts_and_stack_set_targets() {
    let topic = "Resources:\n  T:\n    Type: AWS::SNS::Topic\n";
    let dir = project(&[
        ("stacks/guard/template.yaml", topic),
        ("stacks/guard/layer.toml", "deploy_as = \"stackset\"\n[stackset]\nregions = [\"eu-west-1\"]\n"),
        ("environments/qa.toml", "region = \"eu-west-1\"\ntimeout_minutes = 30\n[layers.guard.stackset]\naccounts = [\"111111111111\"]\n"),
        (
            "environments/prod.toml",
            "region = \"eu-west-1\"\nartifact_buckets = { us-east-1 = \"prod-use1\" }\n[layers.guard.stackset]\norganizational_units = [\"ou-ab12-abcdefgh\"]\nregions = [\"eu-west-1\", \"us-east-1\"]\n",
        ),
    ]);
    stackc(dir.path(), &["envdiff", "qa", "prod"])
        .ok()
        .stdout_has("~ artifact_buckets: (none) -> us-east-1=prod-use1")
        .stdout_has("~ timeout_minutes: 30 -> (none)")
        .stdout_has("~ layers.guard.stackset: 111111111111 in eu-west-1 -> ou-ab12-abcdefgh in eu-west-1 us-east-1");
}

/// The replacement warning looks inside nested stacks: a carried value that reaches a child's create-only
/// property (through the parent's parameters, or a template value the child is rendered with) is named
/// as `Child/Resource`.
#[test]
fn promote_warns_about_replacements_inside_nested_stacks() {
    let parent = "Parameters:\n  Name:\n    Type: String\nResources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: nested/child.yaml.j2\n      Parameters:\n        QueueName: !Sub \"${Name}-q\"\n";
    let child = "Parameters:\n  QueueName:\n    Type: String\nResources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Ref QueueName\n  Table:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      TableName: \"{{ table }}\"\n      BillingMode: PAY_PER_REQUEST\n      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n      KeySchema: [{AttributeName: id, KeyType: HASH}]\n";
    let dir = project(&[
        ("stacks/app/template.yaml", parent),
        ("stacks/app/nested/child.yaml.j2", child),
        ("environments/qa.toml", "region = \"us-east-1\"\nartifact_bucket = \"b\"\n[values]\ntable = \"t2\"\n[layers.app.parameters]\nName = \"orders2\"\n"),
        ("environments/prod.toml", "region = \"us-east-1\"\nartifact_bucket = \"b\"\n[values]\ntable = \"t1\"\n[layers.app.parameters]\nName = \"orders\"\n"),
    ]);
    let run = stackc(dir.path(), &["promote", "qa", "prod", "--dry-run", "--allow-env-names"]);
    run.ok()
        .stderr_has("layer `app`: Child/Queue (AWS::SQS::Queue), because `QueueName` changes")
        .stderr_has("layer `app`: Child/Table (AWS::DynamoDB::Table), because `TableName` changes");
}
