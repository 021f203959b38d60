//! Deploys against an emulator that takes AWS's time (`--pace`) and throttles as AWS does (`--throttle`):
//! the live view, Ctrl-C, `timeout_minutes`, a root cause deep in a long history, and backoff.

mod support;

use support::emulator::Emulator;
use support::*;

#[test]
fn paced_corrections_each_hold() {
    let paced = Emulator::start_with(&["--pace", "0.01"]);
    let run = paced.python_with("check_paced.py", &["pace"], "");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.matches("ok ").count(), 5, "{}", run.stdout);
    let throttled = Emulator::start_with(&["--throttle", "2"]);
    let run = throttled.python_with("check_paced.py", &["throttle"], "");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.matches("ok ").count(), 1, "{}", run.stdout);
}

const PARAM: &str = "  P:\n    Type: AWS::SSM::Parameter\n    Properties: {Name: !Sub \"/${AWS::StackName}/p\", Type: String, Value: v}\n";

/// A layer with a queue (a minute on AWS) and a parameter.
fn queued() -> String {
    format!("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n{PARAM}")
}

fn pty(emu: &Emulator, dir: &std::path::Path, args: &[&str], answers: serde_json::Value) -> (i64, String) {
    pty_for(emu, dir, args, answers, 30)
}

/// `pty` with the run given `timeout` seconds before it is killed.
fn pty_for(
    emu: &Emulator,
    dir: &std::path::Path,
    args: &[&str],
    answers: serde_json::Value,
    timeout: u64,
) -> (i64, String) {
    let mut argv = vec![env!("CARGO_BIN_EXE_stackc").to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let spec = serde_json::json!({
        "argv": argv,
        "cwd": dir,
        "env": {"AWS_ENDPOINT_URL": emu.url(), "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "us-east-1", "NO_COLOR": "1", "TERM": "xterm"},
        "answers": answers,
        "timeout": timeout,
    });
    let run = emu.python("pty_run.py", &spec.to_string());
    run.ok();
    let result: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    (result["code"].as_i64().unwrap(), result["output"].as_str().unwrap().to_string())
}

/// Three waves (net; app and web at once; edge), each layer taking its time: the live block shows every
/// layer's latest resource step as it happens and keeps one final line per layer.
#[test]
fn the_live_view_follows_a_multi_wave_deploy_step_by_step() {
    let emu = Emulator::start_with(&["--pace", "0.02"]);
    let dir = project(&[
        ("stacks/net/template.yaml", &queued()),
        ("stacks/app/template.yaml", &queued()),
        ("stacks/app/layer.toml", "depends_on = [\"net\"]\n"),
        ("stacks/web/template.yaml", &format!("Resources:\n{PARAM}")),
        ("stacks/web/layer.toml", "depends_on = [\"net\"]\n"),
        ("stacks/edge/template.yaml", &format!("Resources:\n{PARAM}")),
        ("stacks/edge/layer.toml", "depends_on = [\"app\", \"web\"]\n"),
        ("environments/qa.toml", "region = \"us-east-1\"\n"),
    ]);
    let (code, output) = pty(&emu, dir.path(), &["deploy", "qa", "--yes"], serde_json::json!([]));
    assert_eq!(code, 0, "{output}");
    assert!(output.matches("\u{1b}[1F").count() > 10, "redrawn in place, many times: {output:?}");
    // Steps seen live, while the queue (~1.2 s here) was being made.
    assert!(output.contains("CREATE_IN_PROGRESS Q AWS::SQS::Queue"), "{output:?}");
    // While app's queue was in progress, web (same wave) had already finished: both rows on one frame.
    let both = output.split("\u{1b}[J").any(|frame| {
        frame.contains("CREATE_IN_PROGRESS Q AWS::SQS::Queue") && frame.contains("web") && frame.contains("done")
    });
    assert!(both, "layers of one wave run side by side: {output:?}");
    for layer in ["net", "app", "web", "edge"] {
        assert!(output.contains(&format!("{layer:<12} demo-qa-{layer}: CREATE_COMPLETE")), "{layer}: {output:?}");
    }
    assert!(output.rfind("demo-qa-edge").unwrap() > output.rfind("CREATE_COMPLETE Q AWS::SQS::Queue").unwrap());
}

/// Ctrl-C while a slow layer executes: it finishes, its dependent never starts; Ctrl-C twice stops
/// following (the stack goes on in CloudFormation) and the next run waits for it and finishes the job.
#[test]
fn ctrl_c_during_a_slow_execution_and_the_rerun_that_finishes_the_job() {
    let emu = Emulator::start_with(&["--pace", "0.04"]);
    let dir = project(&[
        ("stacks/app/template.yaml", &queued()),
        ("stacks/web/template.yaml", &format!("Resources:\n{PARAM}")),
        ("stacks/web/layer.toml", "depends_on = [\"app\"]\n"),
        ("environments/qa.toml", "region = \"us-east-1\"\n"),
    ]);
    let once = serde_json::json!([["CREATE_IN_PROGRESS Q", "^C"]]);
    let (code, output) = pty(&emu, dir.path(), &["deploy", "qa", "--yes"], once);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("interrupted: the layers already running go on"), "{output}");
    assert!(output.contains("interrupted (Ctrl-C) before it started"), "{output}");
    let stacks = emu.stacks();
    assert_eq!(
        stacks["demo-qa-app"]["status"], "CREATE_COMPLETE",
        "the running layer was followed to its end: {stacks}"
    );
    assert!(stacks.get("demo-qa-web").is_none(), "no other layer started: {stacks}");

    emu.stackc(dir.path(), &["destroy", "qa", "--yes"]).ok();
    let twice = serde_json::json!([["CREATE_IN_PROGRESS Q", "^C"], ["Ctrl-C again", "^C"]]);
    let (code, output) = pty(&emu, dir.path(), &["deploy", "qa", "--yes"], twice);
    assert_eq!(code, 130, "{output}");
    assert!(output.contains("stopped following; CloudFormation goes on"), "{output}");
    assert_eq!(emu.stacks()["demo-qa-app"]["status"], "CREATE_IN_PROGRESS", "left running in CloudFormation");
    let rerun = emu.stackc(dir.path(), &["deploy", "qa", "--yes"]);
    rerun.ok().stderr_has("waiting: another operation is in progress (CREATE_IN_PROGRESS)");
    let stacks = emu.stacks();
    assert_eq!(stacks["demo-qa-app"]["status"], "CREATE_COMPLETE", "{stacks}");
    assert_eq!(stacks["demo-qa-web"]["status"], "CREATE_COMPLETE", "{stacks}");
}

/// An update that runs past `timeout_minutes` (a database added: 72 s here) is cancelled; CloudFormation
/// rolls it back and the run follows the rollback to its end, then says what happened.
#[test]
fn timeout_minutes_cancels_an_update_and_follows_its_rollback() {
    let emu = Emulator::start_with(&["--pace", "0.12"]);
    let dir = project(&[
        ("stacks/app/template.yaml", &format!("Resources:\n{PARAM}")),
        ("environments/qa.toml", "region = \"us-east-1\"\n[layers.app]\ntimeout_minutes = 1\n"),
    ]);
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    let db = "  Db:\n    Type: AWS::RDS::DBInstance\n    Properties: {Engine: postgres, DBInstanceClass: db.t3.micro, AllocatedStorage: \"20\", MasterUsername: root, ManageMasterUserPassword: true}\n";
    std::fs::write(dir.path().join("stacks/app/template.yaml"), format!("Resources:\n{PARAM}{db}")).unwrap();
    let run = emu.stackc(dir.path(), &["deploy", "qa", "--yes"]);
    run.code(1)
        .stderr_has("still UPDATE_IN_PROGRESS after timeout_minutes (1)")
        .stderr_has("stackc cancelled the update and CloudFormation rolled it back (UPDATE_ROLLBACK_COMPLETE)");
    // The run's own lines: the cancel, then the rollback's events as CloudFormation records them.
    run.stderr_has("[app] still UPDATE_IN_PROGRESS after timeout_minutes (1): cancelling the update")
        .stderr_has("CREATE_FAILED Db AWS::RDS::DBInstance  Resource creation cancelled")
        .stderr_has("UPDATE_ROLLBACK_COMPLETE demo-qa-app");
    let stacks = emu.stacks();
    assert_eq!(stacks["demo-qa-app"]["status"], "UPDATE_ROLLBACK_COMPLETE", "{stacks}");
    let dbs = emu.query("rds", "describe_db_instances", serde_json::json!({}));
    assert_eq!(dbs["DBInstances"].as_array().map(Vec::len), Some(0), "rolled back: {dbs}");
}

/// A resource that fails after 70 others (well past the first page of 100 events, with the rollback's
/// events after it) is still named as the root cause.
#[test]
fn a_failure_deep_in_a_long_history_is_still_the_root_cause() {
    let emu = Emulator::start_with(&["--pace", "0.005"]);
    let many: String = (0..70)
        .map(|i| {
            format!(
                "  P{i}:\n    Type: AWS::SSM::Parameter\n    Properties: {{Name: /deep/{i}, Type: String, Value: v}}\n"
            )
        })
        .collect();
    let broken = "  Broken:\n    Type: AWS::EC2::Subnet\n    DependsOn: P69\n    Properties: {VpcId: vpc-0000000000000dead, CidrBlock: 10.9.0.0/24}\n";
    let dir = project(&[
        ("stacks/app/template.yaml", &format!("Resources:\n{many}{broken}")),
        ("environments/qa.toml", "region = \"us-east-1\"\n"),
    ]);
    let run = emu.stackc(dir.path(), &["deploy", "qa", "--yes"]);
    run.code(1)
        .stderr_has("layer `app` (demo-qa-app): Broken (AWS::EC2::Subnet) failed:")
        .stderr_has("stack `demo-qa-app` is now ROLLBACK_COMPLETE");
    let events = emu.query("cloudformation", "describe_stack_events", serde_json::json!({"StackName": "demo-qa-app"}));
    assert!(
        events.get("NextToken").is_some(),
        "the history is longer than a page: {}",
        events["StackEvents"].as_array().unwrap().len()
    );
    emu.stackc(dir.path(), &["events", "qa"]).ok().stdout_has("root cause: Broken (AWS::EC2::Subnet) CREATE_FAILED:");
}

/// Thirty layers in three waves against an API that allows 8 calls a second per action (each of the 30 stacks takes 7): the deploy
/// finishes with no error, and `-v` says how often it was throttled.
#[test]
fn thirty_layers_under_throttling_finish_and_say_how_often_they_were_throttled() {
    let emu = Emulator::start_with(&["--throttle", "8"]);
    let mut files: Vec<(String, String)> = vec![("environments/qa.toml".into(), "region = \"us-east-1\"\n".into())];
    for i in 0..30 {
        files.push((format!("stacks/l{i:02}/template.yaml"), format!("Resources:\n{PARAM}")));
        if i >= 10 {
            files.push((format!("stacks/l{i:02}/layer.toml"), format!("depends_on = [\"l{:02}\"]\n", i - 10)));
        }
    }
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let dir = project(&refs);
    let run = emu.stackc(dir.path(), &["deploy", "qa", "--yes", "-v"]);
    run.ok();
    let stacks = emu.stacks();
    let complete = stacks.as_object().unwrap().values().filter(|s| s["status"] == "CREATE_COMPLETE").count();
    assert_eq!(complete, 30, "{stacks}");
    let line = run
        .stderr
        .lines()
        .chain(run.stdout.lines())
        .find(|l| l.contains("CloudFormation calls per layer"))
        .unwrap_or_default();
    let throttled: usize = line
        .split("throttled ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no throttle count: {}{}", run.stdout, run.stderr));
    assert!(throttled > 0, "the API refused some calls and each was retried: {line}");
}

/// Ctrl-C while forty layers plan against a throttling API (so CreateChangeSet calls are in flight, retried,
/// when it comes): the run waits for those calls and deletes what they made too; nothing stays in
/// REVIEW_IN_PROGRESS and no change set is left.
#[test]
fn ctrl_c_while_planning_leaves_nothing_behind_even_from_calls_in_flight() {
    let emu = Emulator::start_with(&["--throttle", "3"]);
    let mut files: Vec<(String, String)> = vec![("environments/qa.toml".into(), "region = \"us-east-1\"\n".into())];
    for i in 0..40 {
        files.push((format!("stacks/l{i:02}/template.yaml"), format!("Resources:\n{PARAM}")));
    }
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let dir = project(&refs);
    // The interrupt waits for calls in flight (the SDK's own retries of a throttled call included, up to a
    // minute), so the run may take longer than the usual 30 s on a loaded machine.
    let answers = serde_json::json!([["creating change set", "^C"]]);
    let (code, output) = pty_for(&emu, dir.path(), &["deploy", "qa", "--concurrency", "16"], answers, 90);
    assert_eq!(code, 130, "{output}");
    assert!(output.contains("interrupted: nothing was executed; deleted the "), "{output}");
    let stacks = emu.stacks();
    let left: Vec<&String> = stacks.as_object().unwrap().keys().collect();
    assert!(left.is_empty(), "every empty stack of a create change set is gone: {stacks}");
}

/// AWS gone mid-deploy (the emulator stops while a layer executes): the run ends with a message that says
/// the operation goes on without stackc and how to pick it up, never a hang or a panic.
#[test]
fn losing_aws_while_a_layer_executes_says_the_operation_goes_on() {
    let emu = Emulator::start_with(&["--pace", "0.05"]);
    let dir = project(&[("stacks/app/template.yaml", &queued()), ("environments/qa.toml", "region = \"us-east-1\"\n")]);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_stackc"))
        .current_dir(dir.path())
        .args(["deploy", "qa", "--yes"])
        .envs([("AWS_ENDPOINT_URL", emu.url().as_str()), ("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "x")])
        .envs([("AWS_REGION", "us-east-1"), ("NO_COLOR", "1"), ("STACKC_CONNECT_TIMEOUT", "1")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while emu.stacks().get("demo-qa-app").is_none_or(|s| s["status"] != "CREATE_IN_PROGRESS") {
        assert!(start.elapsed() < std::time::Duration::from_secs(30), "the layer never started executing");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(emu);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stackc lost contact with CloudFormation while following `demo-qa-app`"), "{stderr}");
    assert!(stderr.contains("the same command run again waits for it"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(start.elapsed() < std::time::Duration::from_secs(90), "took {:?}", start.elapsed());
}
