//! Every project under examples/: every environment renders, validates and passes cfn-lint; each
//! deploys its qa environment to the emulator and is destroyed again.

mod support;

use support::emulator::Emulator;
use support::*;

fn examples() -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("stackc.toml").is_file())
        .collect();
    out.sort();
    assert!(!out.is_empty());
    out
}

fn copy(example: &std::path::Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for part in ["stacks", "environments"] {
        copy_tree(&example.join(part), &dir.path().join(part));
    }
    std::fs::copy(example.join("stackc.toml"), dir.path().join("stackc.toml")).unwrap();
    dir
}

#[test]
fn every_example_renders_validates_and_lints_clean() {
    let lint = venv().join("bin/cfn-lint");
    assert!(lint.is_file(), "run scripts/setup-venv");
    for example in examples() {
        let name = example.file_name().unwrap().to_string_lossy().to_string();
        assert!(example.join("README.md").is_file(), "{name} has no README.md");
        let dir = copy(&example);
        let envs = stackc(dir.path(), &["envs"]);
        envs.ok();
        for env in ["qa", "prod"] {
            assert!(envs.stdout.contains(&format!("  {env} ")), "{name} lacks {env}");
            stackc(dir.path(), &["validate", env]).ok();
            stackc(dir.path(), &["render", env]).ok();
        }
        let templates: Vec<_> = files_under(&dir.path().join("build"))
            .into_iter()
            .filter(|(p, _)| p.ends_with(".yaml"))
            .map(|(p, _)| dir.path().join("build").join(p))
            .collect();
        assert!(!templates.is_empty());
        let out = std::process::Command::new(&lint).args(&templates).output().unwrap();
        let code = out.status.code().unwrap_or(-1);
        assert_eq!(code & 0b0110, 0, "{name}: cfn-lint found problems:\n{}", String::from_utf8_lossy(&out.stdout));
    }
}

#[test]
fn every_example_deploys_qa_to_the_emulator_and_is_destroyed() {
    for example in examples() {
        let name = example.file_name().unwrap().to_string_lossy().to_string();
        let emu = Emulator::start();
        if let Ok(seed) = std::fs::read_to_string(example.join("emulator.json")) {
            emu.seed(&serde_json::from_str(&seed).unwrap());
        }
        let dir = copy(&example);
        for extra in ["hooks", "site", "data"] {
            if example.join(extra).is_dir() {
                copy_tree(&example.join(extra), &dir.path().join(extra));
            }
        }
        // Hooks written in Python use the venv's (it has boto3).
        let python = [("STACKC_PYTHON".to_string(), venv().join("bin/python").display().to_string())];
        let deploy = emu.stackc_with(dir.path(), &["deploy", "qa", "--yes"], &python, None);
        assert_eq!(deploy.code, 0, "{name}:\n{}\n{}", deploy.stdout, deploy.stderr);
        let stacks = emu.stacks();
        assert!(stacks.as_object().unwrap().values().all(|s| s["status"] == "CREATE_COMPLETE"), "{name}: {stacks}");
        if example.join("hooks/push_image.sh").is_file() {
            deploy.stderr_has("no STACKC_IMAGE_CONTEXT: not building an image");
        }
        if name == "mysfits" {
            mysfits_hooks_did_their_work(&emu);
        }
        emu.stackc_with(dir.path(), &["deploy", "qa", "--yes"], &python, None).ok().stdout_has("up to date");
        emu.stackc_with(dir.path(), &["destroy", "qa", "--yes"], &python, None).ok();
        assert_eq!(emu.stacks().as_object().unwrap().len(), 0, "{name}: stacks left after destroy");
    }
}

#[test]
fn interval_processing_compiles_its_process_list() {
    let dir = copy(&repo().join("examples/interval-processing"));
    let run = stackc(dir.path(), &["render", "qa", "processing", "--stdout"]);
    run.ok();
    for p in
        ["FileGeneration", "NightlyDataChange", "HourlyDataChange", "HalfHourlyDataChange", "QuarterHourlyDataChange"]
    {
        assert!(
            run.stdout.contains(&format!("  Task{p}:\n")) && run.stdout.contains(&format!("  Schedule{p}:\n")),
            "{p}"
        );
    }
    assert!(run.stdout.contains("ScheduleExpression: \"rate(15 minutes)\""));
    let shared = std::fs::read_to_string(dir.path().join("environments/_shared.toml")).unwrap();
    std::fs::write(
        dir.path().join("environments/_shared.toml"),
        shared.replace("cron(0 2 * * ? *)", "cron(0 2 * * * *)"),
    )
    .unwrap();
    stackc(dir.path(), &["validate", "qa"]).code(2).stderr_has(
        "environment `qa`, value `processes.0.schedule`: `cron(0 2 * * * *)` is not a valid EventBridge schedule",
    );
}

/// The data layer's hook loaded the seed data; the site layer's hook filled the placeholders from outputs.
fn mysfits_hooks_did_their_work(emu: &Emulator) {
    let stacks = emu.stacks();
    let out =
        |layer: &str, key: &str| stacks[format!("mysfits-qa-{layer}")]["outputs"][key].as_str().unwrap().to_string();
    let scan = emu.python(
        "query.py",
        &serde_json::json!({"service": "dynamodb", "method": "scan", "args": {"TableName": out("data", "TableName")}})
            .to_string(),
    );
    let scan: serde_json::Value = serde_json::from_str(&scan.ok().stdout).unwrap();
    assert_eq!(scan["Count"], 5, "{scan}");
    let get = emu.python("query.py", &serde_json::json!({"service": "s3", "method": "get_object", "args": {"Bucket": out("site", "SiteBucket"), "Key": "index.html"}}).to_string());
    let page: serde_json::Value = serde_json::from_str(&get.ok().stdout).unwrap();
    let body = page["Body"].as_str().unwrap();
    assert!(!body.contains("REPLACE_ME"), "{body}");
    assert!(body.contains(&format!("var cognitoUserPoolId = '{}'", out("auth", "UserPoolId"))), "{body}");
    assert!(body.contains(&format!("var mysfitsApiEndpoint = '{}'", out("service", "ApiEndpoint"))), "{body}");
    assert!(body.contains("var awsRegion = 'us-east-1'"));
}
