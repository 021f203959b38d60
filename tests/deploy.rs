//! The real binary against a fresh emulator per test: the shipped Cruddur project's qa environment
//! deployed end to end, re-deployed, changed, partly deployed, refused, and destroyed.

mod support;

use support::emulator::Emulator;
use support::*;

const CANARY: &str = "canary-db-6b1d2f-do-not-print";

fn seed_cruddur_qa(emu: &Emulator) {
    let spec = serde_json::json!({
        "ssm": {"/cruddur/qa/codestar-connection-arn": "arn:aws:codestar-connections:us-east-1:123456789012:connection/qa"},
        "secrets": {"cruddur/qa/db": serde_json::json!({"password": CANARY, "username": "cruddurroot"}).to_string()},
        "certificates": [{"domain": "*.qa.cruddur.example.com", "region": "us-east-1"}],
        "ssm_certificate_arns": {"/cruddur/qa/certificate-arn": "*.qa.cruddur.example.com"},
        "zones": ["qa.cruddur.example.com"],
        "buckets": ["cruddur-qa-artifacts"],
    });
    emu.python("seed.py", &spec.to_string()).ok();
}

const LAYERS: [&str; 7] = ["networking", "cluster", "service", "db", "ddb", "cicd", "frontend"];

fn assert_no_canary(runs: &[&Run], dir: &std::path::Path) {
    for r in runs {
        assert!(
            !r.stdout.contains(CANARY) && !r.stderr.contains(CANARY),
            "the secret was printed:\n{}\n{}",
            r.stdout,
            r.stderr
        );
    }
    for (path, text) in files_under(dir) {
        assert!(!text.contains(CANARY), "the secret was written to {path}");
    }
}

#[test]
fn qa_deploys_end_to_end_then_is_up_to_date() {
    let emu = Emulator::start();
    seed_cruddur_qa(&emu);
    let dir = shipped_copy();
    let first = emu.stackc(dir.path(), &["deploy", "qa", "--yes"]);
    first.ok();
    let stacks = emu.stacks();
    for layer in LAYERS {
        let s = &stacks[format!("cruddur-qa-{layer}")];
        assert_eq!(s["status"], "CREATE_COMPLETE", "{layer}: {s}");
        assert_eq!(s["tags"]["stackc:layer"], layer);
        assert_eq!(s["tags"]["Environment"], "qa");
    }
    // Outputs of networking reached cluster, service and db as parameters.
    let net = &stacks["cruddur-qa-networking"]["outputs"];
    assert!(net["VpcId"].as_str().unwrap().starts_with("vpc-"));
    for layer in ["cluster", "service", "db"] {
        assert_eq!(stacks[format!("cruddur-qa-{layer}")]["parameters"]["VpcId"], net["VpcId"], "{layer}");
    }
    assert_eq!(stacks["cruddur-qa-db"]["parameters"]["SubnetIds"], net["PrivateSubnetIds"]);
    assert_eq!(
        stacks["cruddur-qa-service"]["parameters"]["ALBSecurityGroupId"],
        stacks["cruddur-qa-cluster"]["outputs"]["ALBSecurityGroupId"]
    );
    // The secret reached the stack (the emulator echoes NoEcho values; AWS would not).
    assert_eq!(stacks["cruddur-qa-db"]["parameters"]["MasterUserPassword"], CANARY);

    let second = emu.stackc(dir.path(), &["deploy", "qa", "--yes"]);
    second.ok().stdout_has("environment `qa` is up to date").stdout_has("7 unchanged");
    // Nothing differs and everything can be compared: no change set was needed to learn it (the db's
    // password comes from Secrets Manager, compared by version).
    assert!(!second.stderr.contains("creating change set"), "{}", second.stderr);
    // -v says what each layer cost: a no-op is a describe and a template read per layer.
    let counted = emu.stackc(dir.path(), &["-v", "deploy", "qa", "--yes"]);
    let line = counted
        .ok()
        .stderr
        .lines()
        .find(|l| l.contains("CloudFormation calls per layer:"))
        .unwrap_or_default()
        .to_string();
    eprintln!("{line}");
    let per: Vec<usize> = line
        .split(": ")
        .nth(1)
        .unwrap_or_default()
        .split(" (")
        .next()
        .unwrap_or_default()
        .split(", ")
        .filter_map(|x| x.rsplit(' ').next()?.parse().ok())
        .collect();
    assert_eq!(per.len(), 7, "{line}");
    assert!(per.iter().all(|n| *n <= 3), "{line}");
    let status = emu.stackc(dir.path(), &["status", "qa"]);
    status.ok();
    assert_eq!(status.stdout.matches("in sync").count(), 7, "{}", status.stdout);
    let outputs = emu.stackc(dir.path(), &["outputs", "qa", "--output", "json"]);
    let o: serde_json::Value = serde_json::from_str(&outputs.ok().stdout).unwrap();
    assert_eq!(o["networking"]["VpcId"], net["VpcId"]);
    let diff = emu.stackc(dir.path(), &["diff", "qa"]);
    diff.ok()
        .stdout_has("db (cruddur-qa-db): no differences")
        .stdout_has("masked and not compared: db.MasterUserPassword");
    let plan = emu.stackc(dir.path(), &["plan", "qa", "--detailed-exitcode"]);
    plan.ok();
    // A new version of the secret: the plan says it changed, without showing it. (Applying it is covered
    // in tests/secrets.rs, the_keyring_deploy_after_a_full_qa_deploy.)
    let rotated = format!("{CANARY}-rotated");
    emu.seed(
        &serde_json::json!({"secret_updates": {"cruddur/qa/db": serde_json::json!({"password": rotated}).to_string()}}),
    );
    let changed = emu.stackc(dir.path(), &["plan", "qa", "--detailed-exitcode"]);
    changed
        .code(3)
        .stdout_has("db (cruddur-qa-db): update")
        .stdout_has("~ MasterUserPassword: (secret, masked) changed")
        .stdout_has("6 unchanged");
    assert!(!changed.stdout.contains("rotated") && !changed.stderr.contains("rotated"));
    assert_no_canary(&[&first, &second, &status, &outputs, &diff, &plan, &changed], dir.path());
}

#[test]
fn a_changed_value_is_planned_exactly_and_applied() {
    let emu = Emulator::start();
    seed_cruddur_qa(&emu);
    let dir = shipped_copy();
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    let set = "layers.service.parameters.DesiredCount=2";
    let plan = emu.stackc(dir.path(), &["--set", set, "plan", "qa", "--detailed-exitcode"]);
    plan.code(3)
        .stdout_has("service (cruddur-qa-service): update")
        .stdout_has("~ DesiredCount: 1 -> 2")
        .stdout_has("0 to create, 1 to update, 0 to recreate, 6 unchanged");
    let changed: Vec<&str> = plan.stdout.lines().filter(|l| l.trim_start().starts_with(['~', '+', '-'])).collect();
    assert!(
        changed.iter().all(|l| l.contains("DesiredCount") || l.contains("FargateService")),
        "only that change: {changed:?}"
    );
    let json = emu.stackc(dir.path(), &["--set", set, "plan", "qa", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    assert_eq!(v["changes_pending"], true);
    let deploy = emu.stackc(dir.path(), &["--set", set, "deploy", "qa", "--yes"]);
    deploy.ok().stdout_has("service      cruddur-qa-service: UPDATE_COMPLETE");
    assert_eq!(emu.stacks()["cruddur-qa-service"]["parameters"]["DesiredCount"], "2");
    emu.stackc(dir.path(), &["--set", set, "plan", "qa", "--detailed-exitcode"]).ok();
    // No change set is left behind by plan.
    assert!(!emu.stackc(dir.path(), &["plan", "qa"]).stderr.contains("kept change set"));
}

#[test]
fn a_single_layer_reads_its_dependencies_from_deployed_stacks() {
    let emu = Emulator::start();
    seed_cruddur_qa(&emu);
    let dir = shipped_copy();
    let refused = emu.stackc(dir.path(), &["deploy", "qa", "db", "--yes"]);
    refused
        .code(2)
        .stderr_has("layer `db` depends on `networking`, which is not deployed in `qa`")
        .stderr_has("stackc deploy qa networking db");
    assert_eq!(emu.stacks().as_object().unwrap().len(), 0, "nothing was created");
    // plan works on an empty account, with placeholders.
    emu.stackc(dir.path(), &["plan", "qa", "db"])
        .ok()
        .stdout_has("<output:networking.VpcId>")
        .stdout_has("planned from the template");
    emu.stackc(dir.path(), &["deploy", "qa", "networking", "cluster", "service", "--yes"]).ok();
    let db = emu.stackc(dir.path(), &["deploy", "qa", "db", "--yes"]);
    db.ok();
    let stacks = emu.stacks();
    assert_eq!(
        stacks["cruddur-qa-db"]["parameters"]["ServiceSecurityGroupId"],
        stacks["cruddur-qa-service"]["outputs"]["ServiceSecurityGroupId"]
    );
    assert!(stacks.get("cruddur-qa-cicd").is_none());
}

#[test]
fn without_a_terminal_and_without_yes_nothing_changes() {
    let emu = Emulator::start();
    seed_cruddur_qa(&emu);
    let dir = shipped_copy();
    emu.stackc(dir.path(), &["deploy", "prod"])
        .code(2)
        .stderr_has("refusing to deploy to protected environment `prod`")
        .stderr_has("--yes");
    emu.stackc(dir.path(), &["deploy", "qa"]).code(2).stderr_has("refusing to deploy to environment `qa`");
    emu.stackc(dir.path(), &["destroy", "qa"]).code(2).stderr_has("refusing");
    assert_eq!(emu.stacks().as_object().unwrap().len(), 0);
}

#[test]
fn the_account_guard_refuses_another_account() {
    let emu = Emulator::start();
    let dir = shipped_copy();
    // prod names account 111122223333; the emulator's credentials are for 123456789012.
    emu.stackc(dir.path(), &["deploy", "prod", "--yes"])
        .code(2)
        .stderr_has("belongs to account 111122223333")
        .stderr_has("123456789012");
    assert_eq!(emu.stacks().as_object().unwrap().len(), 0);
}

#[test]
fn destroy_removes_layers_in_reverse_order() {
    let emu = Emulator::start();
    seed_cruddur_qa(&emu);
    let dir = shipped_copy();
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    emu.stackc(dir.path(), &["destroy", "qa", "networking", "--yes"])
        .code(2)
        .stderr_has("cannot destroy `networking`: layer `cluster` depends on it");
    let run = emu.stackc(dir.path(), &["destroy", "qa", "--yes"]);
    run.ok();
    let at = |layer: &str, what: &str| {
        run.stderr
            .lines()
            .position(|l| l.contains(&format!("[{layer}] {what}")))
            .unwrap_or_else(|| panic!("no `{what}` for {layer}:\n{}", run.stderr))
    };
    for (later, earlier) in
        [("networking", "cluster"), ("cluster", "service"), ("service", "db"), ("service", "cicd"), ("cluster", "cicd")]
    {
        assert!(
            at(later, "deleting") > at(earlier, "deleted"),
            "{later} deleted before {earlier} was gone:\n{}",
            run.stderr
        );
    }
    assert_eq!(emu.stacks().as_object().unwrap().len(), 0);
    emu.stackc(dir.path(), &["destroy", "qa", "--yes"]).ok().stdout_has("nothing to destroy");
}

/// (layer, start, end) of each layer's execution, from the progress lines' timestamps.
fn spans(stderr: &str) -> Vec<(String, f64, f64)> {
    let mut out: Vec<(String, f64, f64)> = Vec::new();
    for line in stderr.lines() {
        let mut parts = line.split_whitespace();
        let (Some(t), Some(layer)) = (parts.next(), parts.next()) else { continue };
        let Ok(t) = t.trim_end_matches('s').parse::<f64>() else { continue };
        let layer = layer.trim_matches(|c| c == '[' || c == ']').to_string();
        let rest: Vec<&str> = parts.collect();
        if rest.first() == Some(&"creating") && rest.len() == 1 {
            out.push((layer, t, f64::MAX));
        } else if rest.first() == Some(&"done:") {
            if let Some(s) = out.iter_mut().find(|s| s.0 == layer) {
                s.2 = t;
            }
        }
    }
    out
}

#[test]
fn independent_layers_run_at_once_and_dependents_wait() {
    let emu = Emulator::start();
    seed_cruddur_qa(&emu);
    let dir = shipped_copy();
    let run = emu.stackc(dir.path(), &["deploy", "qa", "--yes", "--concurrency", "4"]);
    run.ok();
    let s = spans(&run.stderr);
    let get =
        |l: &str| s.iter().find(|x| x.0 == l).cloned().unwrap_or_else(|| panic!("{l} not in {s:?}\n{}", run.stderr));
    let wave1: Vec<_> = ["networking", "ddb", "frontend"].iter().map(|l| get(l)).collect();
    let latest_start = wave1.iter().map(|x| x.1).fold(0.0, f64::max);
    let earliest_end = wave1.iter().map(|x| x.2).fold(f64::MAX, f64::min);
    assert!(latest_start <= earliest_end, "wave 1 did not overlap: {wave1:?}");
    assert!(get("cluster").1 >= get("networking").2, "cluster started before networking finished");
    assert!(get("db").1 >= get("service").2 && get("cicd").1 >= get("service").2);
}

#[test]
fn a_failed_layer_stops_its_dependents_and_a_rerun_finishes() {
    let emu = Emulator::start();
    // Everything but a certificate the cluster's HTTPS listener can use.
    let spec = serde_json::json!({
        "ssm": {"/cruddur/qa/codestar-connection-arn": "arn:aws:codestar-connections:us-east-1:123456789012:connection/qa",
                "/cruddur/qa/certificate-arn": "arn:aws:acm:us-east-1:123456789012:certificate/missing"},
        "secrets": {"cruddur/qa/db": serde_json::json!({"password": CANARY}).to_string()},
        "certificates": [{"domain": "*.qa.cruddur.example.com", "region": "us-east-1"}],
        "zones": ["qa.cruddur.example.com"],
        "buckets": ["cruddur-qa-artifacts"],
    });
    emu.python("seed.py", &spec.to_string()).ok();
    let dir = shipped_copy();
    let run = emu.stackc(dir.path(), &["deploy", "qa", "--yes"]);
    run.code(1)
        .stderr_has(
            "layer `cluster` (cruddur-qa-cluster): HTTPSListener (AWS::ElasticLoadBalancingV2::Listener) failed:",
        )
        .stderr_has("Supplied certificate was not found")
        .stderr_has("stack `cruddur-qa-cluster` is now ROLLBACK_COMPLETE")
        .stderr_has("--recreate")
        .stderr_has("layer `service` was skipped: `cluster` did not deploy")
        .stderr_has("run the same command again");
    run.stdout_has("networking   cruddur-qa-networking: CREATE_COMPLETE")
        .stdout_has("db           cruddur-qa-db: skipped");
    assert!(emu.stacks().get("cruddur-qa-service").is_none(), "dependents were not started");
    // Fix the value where it lives, run the same command: it finishes the job.
    let fix = serde_json::json!({"ssm_certificate_arns": {"/cruddur/qa/certificate-arn": "*.qa.cruddur.example.com"}});
    emu.python("seed.py", &fix.to_string()).ok();
    let blocked = emu.stackc(dir.path(), &["deploy", "qa", "--yes"]);
    blocked.code(1).stderr_has("stack `cruddur-qa-cluster` is in ROLLBACK_COMPLETE").stderr_has("--recreate");
    let again = emu.stackc(dir.path(), &["deploy", "qa", "--yes", "--recreate"]);
    again
        .ok()
        .stdout_has("networking   cruddur-qa-networking: up to date")
        .stdout_has("cluster      cruddur-qa-cluster: CREATE_COMPLETE")
        .stdout_has("db           cruddur-qa-db: CREATE_COMPLETE");
    again.stdout_has("recreate (delete the failed stack, then create)");
    assert_no_canary(&[&run, &blocked, &again], dir.path());
}

#[test]
fn missing_values_fail_before_any_change_set() {
    let emu = Emulator::start();
    let dir = shipped_copy();
    let run = emu.stackc(dir.path(), &["deploy", "qa", "--yes"]);
    run.code(2)
        .stderr_has("<ssm:/cruddur/qa/certificate-arn> could not be resolved: SSM parameter `/cruddur/qa/certificate-arn` does not exist")
        .stderr_has("<secret from secretsmanager:cruddur/qa/db#password> could not be resolved")
        .stderr_has("needed by layer `db`, parameter `MasterUserPassword`")
        .stderr_has("no issued ACM certificate for `*.qa.cruddur.example.com`")
        .stderr_has("no Route 53 hosted zone named `qa.cruddur.example.com`");
    assert_eq!(emu.stacks().as_object().unwrap().len(), 0);
}

#[test]
fn an_unreachable_endpoint_is_one_sentence() {
    let dir = shipped_copy();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let run = stackc_env(
        dir.path(),
        &["status", "qa"],
        &[("AWS_ENDPOINT_URL", &url), ("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "x")],
    );
    run.code(1).stderr_has(&format!("cannot reach AWS at {url} (connection refused)"));
    assert_eq!(run.stderr.lines().filter(|l| l.starts_with("error:")).count(), 1, "{}", run.stderr);
}

/// `continue-rollback` acts only on a failed rollback: a named layer that is not in one is an error naming
/// its status, an environment with none says so and exits 0, `--skip` for several stacks is refused. (The
/// emulator cannot reach UPDATE_ROLLBACK_FAILED; the way through it is the engine's test on the fake.)
#[test]
fn continue_rollback_acts_only_on_a_failed_rollback() {
    let emu = Emulator::start();
    let dir = project(&[
        ("stacks/app/template.yaml", "Resources:\n  T:\n    Type: AWS::SNS::Topic\n"),
        ("environments/qa.toml", "region = \"us-east-1\"\n"),
    ]);
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    emu.stackc(dir.path(), &["continue-rollback", "qa"])
        .ok()
        .stdout_has("no stack of `qa` is in UPDATE_ROLLBACK_FAILED; there is no rollback to continue");
    emu.stackc(dir.path(), &["continue-rollback", "qa", "app", "--skip", "T"])
        .code(1)
        .stderr_has("layer `app` (demo-qa-app) is CREATE_COMPLETE: there is no failed rollback to continue");
    let calls = emu.query("cloudformation", "describe_stacks", serde_json::json!({"StackName": "demo-qa-app"}));
    assert_eq!(calls["Stacks"][0]["StackStatus"], "CREATE_COMPLETE", "{calls}");
}

#[test]
fn shim_corrections_each_hold() {
    let emu = Emulator::start();
    let run = emu.python("check_shim.py", "");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.matches("ok ").count(), 29, "{}", run.stdout);
}

#[test]
fn missing_credentials_are_one_sentence() {
    let emu = Emulator::start();
    let dir = shipped_copy();
    let url = emu.url();
    let run = stackc_env(
        dir.path(),
        &["status", "qa"],
        &[
            ("AWS_ENDPOINT_URL", url.as_str()),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    run.code(1)
        .stderr_has("AWS credentials are missing or expired (none found in the environment")
        .stderr_has("looked up through the default chain (no profile chosen)")
        .stderr_has("--profile");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    // A profile the run was told to use is named, and who chose it.
    let named = stackc_env(
        dir.path(),
        &["status", "qa", "--profile", "nosuch"],
        &[
            ("AWS_ENDPOINT_URL", url.as_str()),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    named.code(1).stderr_has("AWS credentials are missing or expired").stderr_has("profile `nosuch` (--profile)");
    assert_eq!(named.stderr.lines().count(), 1, "{}", named.stderr);
}

#[test]
fn no_execute_and_keep_leave_change_sets_for_review() {
    let emu = Emulator::start();
    seed_cruddur_qa(&emu);
    let dir = shipped_copy();
    let run = emu.stackc(dir.path(), &["deploy", "qa", "--no-execute"]);
    run.ok()
        .stdout_has("change set for cruddur-qa-networking: arn:")
        .stdout_has("cruddur-qa-db: no change set yet (waits for networking, service)");
    let stacks = emu.stacks();
    assert_eq!(stacks["cruddur-qa-networking"]["status"], "REVIEW_IN_PROGRESS", "nothing was executed");
    assert!(stacks.get("cruddur-qa-db").is_none());
    emu.stackc(dir.path(), &["plan", "qa", "networking", "--keep"]).ok().stderr_has("kept change set");
    // A later deploy takes over the stacks left in review.
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    assert_eq!(emu.stacks()["cruddur-qa-networking"]["status"], "CREATE_COMPLETE");
}

#[test]
fn hooks_get_outputs_never_secrets_and_fail_the_deploy() {
    let emu = Emulator::start();
    let dir = project(&[
        ("stacks/site/template.yaml", "Parameters:\n  Pw:\n    Type: String\n    NoEcho: true\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\nOutputs:\n  TopicArn:\n    Value: !Ref Topic\n"),
        (
            "stacks/site/layer.toml",
            "[hooks]\nbefore_deploy = [\"echo before > before.txt\"]\nafter_deploy = [\"env > hook-env.txt\", \"echo \\\"$STACKC_ENV $STACKC_REGION $STACKC_STACK_NAME $STACKC_OUTPUT_TopicArn\\\" > after.txt\", \"echo streamed-line\"]\nbefore_destroy = [\"echo bye > destroy.txt\"]\n",
        ),
        ("stacks/app/template.yaml", "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n"),
        ("stacks/app/layer.toml", "depends_on = [\"site\"]\n"),
        ("environments/qa.toml", "region = \"us-east-1\"\n[layers.site.parameters]\nPw = { from = \"env\", var = \"HOOK_SECRET\", secret = true }\n"),
    ]);
    let secret = ("HOOK_SECRET".to_string(), "canary-hook-771".to_string());
    let run = emu.stackc_with(dir.path(), &["deploy", "qa", "--yes"], &[secret.clone()], None);
    run.ok().stderr_has("[site] after_deploy: echo streamed-line").stderr_has("[site]   | streamed-line");
    let root = dir.path();
    let after = std::fs::read_to_string(root.join("after.txt")).unwrap();
    let arn = emu.stacks()["demo-qa-site"]["outputs"]["TopicArn"].as_str().unwrap().to_string();
    assert_eq!(after.trim(), format!("qa us-east-1 demo-qa-site {arn}"));
    assert!(root.join("before.txt").is_file());
    let env = std::fs::read_to_string(root.join("hook-env.txt")).unwrap();
    assert!(!env.contains("canary-hook-771") && !env.contains("HOOK_SECRET"), "a secret reached the hook");
    assert!(!run.stderr.contains("canary-hook-771") && !run.stdout.contains("canary-hook-771"));
    // Up to date: after_deploy runs again (hooks are expected to be idempotent), before_deploy does not.
    std::fs::remove_file(root.join("before.txt")).unwrap();
    std::fs::remove_file(root.join("after.txt")).unwrap();
    emu.stackc_with(dir.path(), &["deploy", "qa", "--yes"], &[secret.clone()], None).ok().stdout_has("up to date");
    assert!(!root.join("before.txt").exists());
    assert!(root.join("after.txt").is_file());
    // A failing hook fails the layer and stops its dependents.
    std::fs::write(
        root.join("stacks/site/layer.toml"),
        "[hooks]\nafter_deploy = [\"echo upload failed >&2; exit 3\"]\n",
    )
    .unwrap();
    let failed =
        emu.stackc_with(dir.path(), &["deploy", "qa", "--yes", "--set", "tags.Round=2"], &[secret.clone()], None);
    failed
        .code(1)
        .stderr_has("the after_deploy hook `echo upload failed >&2; exit 3` failed (exit status 3)")
        .stderr_has("[site]   | upload failed");
    std::fs::write(root.join("stacks/site/layer.toml"), "[hooks]\nbefore_destroy = [\"echo bye > destroy.txt\"]\n")
        .unwrap();
    emu.stackc_with(dir.path(), &["destroy", "qa", "--yes"], &[secret], None).ok();
    assert!(root.join("destroy.txt").is_file());
    assert_eq!(emu.stacks().as_object().unwrap().len(), 0);
}

/// `plan`, `status` and `diff` agree on whether a layer differs, including changes no resource sees: a
/// new output (a change set with no resource changes) and a tag.
#[test]
fn plan_status_and_diff_agree_on_outputs_and_tags() {
    let emu = Emulator::start();
    let template = "Parameters:\n  Size:\n    Type: String\nResources:\n  T:\n    Type: AWS::SNS::Topic\n";
    let env = "region = \"us-east-1\"\n[tags]\nOwner = \"team-a\"\n[layers.app.parameters]\nSize = \"s\"\n";
    let dir = project(&[("stacks/app/template.yaml", template), ("environments/qa.toml", env)]);
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    let agree = |expect_differs: bool, what: &str| {
        let plan = emu.stackc(dir.path(), &["plan", "qa", "--detailed-exitcode"]);
        let status = emu.stackc(dir.path(), &["status", "qa"]);
        let diff = emu.stackc(dir.path(), &["diff", "qa"]);
        if expect_differs {
            plan.code(3).stdout_has("app (demo-qa-app): update");
            status.ok().stdout_has(&format!("differs from the project: {what}"));
            diff.code(1);
        } else {
            plan.ok().stdout_has("app (demo-qa-app): no changes");
            status.ok().stdout_has("in sync");
            diff.ok().stdout_has("no differences");
        }
    };
    agree(false, "");
    // A new output: no resource changes, but the stack's outputs would.
    let with_output = format!("{template}Outputs:\n  TopicArn:\n    Value: !Ref T\n");
    std::fs::write(dir.path().join("stacks/app/template.yaml"), &with_output).unwrap();
    agree(true, "template");
    let coloured = emu.stackc(dir.path(), &["--color", "always", "plan", "qa"]);
    coloured.ok().stdout_has("\x1b[33m  ~ T");
    let plain = emu.stackc(dir.path(), &["--color", "never", "plan", "qa"]);
    assert!(!plain.ok().stdout.contains('\x1b'), "{}", plain.stdout);
    emu.stackc(dir.path(), &["plan", "qa", "--output", "markdown"])
        .ok()
        .stdout_has("### stackc plan for `qa`")
        .stdout_has("| app | `demo-qa-app` | update |")
        .stdout_has("<summary><code>app</code> (demo-qa-app)</summary>");
    // (AWS's change set has no resource change here, and the plan says "template: changes outside
    // resources"; the emulator lists the topic as modified. The engine's unit tests cover the former.)
    emu.stackc(dir.path(), &["diff", "qa"]).code(1).stdout_has("+   TopicArn:");
    let diff = emu.stackc(dir.path(), &["diff", "qa", "--output", "json"]);
    diff.code(1);
    let d: serde_json::Value = serde_json::from_str(&diff.stdout).unwrap();
    assert_eq!(d["differs"], true);
    assert_eq!(d["layers"][0]["differs"], serde_json::json!(["template"]), "{d}");
    let deploy = emu.stackc(dir.path(), &["deploy", "qa", "--yes", "--output", "json"]);
    let r: serde_json::Value = serde_json::from_str(&deploy.ok().stdout).unwrap();
    assert_eq!(r["ok"], true);
    assert_eq!(r["layers"][0]["outcome"], "deployed", "{r}");
    assert_eq!(r["layers"][0]["status"], "UPDATE_COMPLETE");
    assert!(emu.stacks()["demo-qa-app"]["outputs"]["TopicArn"].as_str().is_some_and(|a| a.starts_with("arn:")));
    let again = emu.stackc(dir.path(), &["deploy", "qa", "--yes", "--output", "json"]);
    let r: serde_json::Value = serde_json::from_str(&again.ok().stdout).unwrap();
    assert_eq!(r["layers"][0]["outcome"], "up_to_date", "{r}");
    let same = emu.stackc(dir.path(), &["diff", "qa", "--output", "json"]);
    let d: serde_json::Value = serde_json::from_str(&same.ok().stdout).unwrap();
    assert_eq!(d["differs"], false);
    agree(false, "");
    // A tag.
    std::fs::write(dir.path().join("environments/qa.toml"), env.replace("team-a", "team-b")).unwrap();
    agree(true, "tag Owner");
    emu.stackc(dir.path(), &["diff", "qa"]).code(1).stdout_has("~ Owner: team-a -> team-b");
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    agree(false, "");
}

/// The README's AWS CLI example, taken from README.md and run as written (stackc and the venv's `aws`
/// on PATH) once networking is deployed: cluster is created with the looked-up outputs.
#[test]
fn the_readme_cli_example_runs_as_written() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let after = &readme[readme.find("`--format cfn-toml-v1` prints").expect("the README's cfn-toml section")..];
    let start = after.find("```sh\n").unwrap() + 6;
    let block = &after[start..start + after[start..].find("```").unwrap()];
    assert!(block.contains("--format cfn-toml-v2"), "{block}");
    let emu = Emulator::start();
    seed_cruddur_qa(&emu);
    let dir = shipped_copy();
    emu.stackc(dir.path(), &["deploy", "qa", "networking", "--yes"]).ok();
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_stackc"), bin.path().join("stackc")).unwrap();
    let path = format!("{}:{}:{}", bin.path().display(), venv().join("bin").display(), std::env::var("PATH").unwrap());
    let out = std::process::Command::new("sh")
        .args(["-c", &format!("set -e\n{block}")])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("AWS_ENDPOINT_URL", emu.url())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the README block failed:\n{block}\n{text}");
    let stacks = emu.stacks();
    let cluster = &stacks["cruddur-qa-cluster"];
    assert_eq!(cluster["status"], "CREATE_COMPLETE", "{cluster}");
    assert_eq!(cluster["parameters"]["VpcId"], stacks["cruddur-qa-networking"]["outputs"]["VpcId"]);
}

/// `--region`, `--profile` and `--endpoint-url` are where the whole run goes: the stacks, what templates
/// see, and what hooks get (a hook must never upload into another account or region than the deploy).
#[test]
fn hooks_and_templates_see_the_runs_region_profile_and_endpoint() {
    let emu = Emulator::start();
    let dir = project(&[
        (
            "stacks/app/template.yaml.j2",
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\nOutputs:\n  Where:\n    Value: \"{{ region }}\"\n",
        ),
        (
            "stacks/app/layer.toml",
            "[hooks]\nafter_deploy = [\"env | grep -E '^(AWS_|STACKC_)' | grep -v SECRET | sort > hook.env\"]\n",
        ),
        ("environments/qa.toml", "region = \"us-east-1\"\n"),
    ]);
    let config = dir.path().join("aws-config");
    std::fs::write(&config, "[profile demo]\nregion = us-west-2\n").unwrap();
    let vars = [
        ("AWS_CONFIG_FILE".to_string(), config.display().to_string()),
        // The shell's endpoint is not where this run goes: --endpoint-url is.
        ("AWS_ENDPOINT_URL".to_string(), "http://127.0.0.1:9".to_string()),
    ];
    let url = emu.url();
    let run = emu.stackc_with(
        dir.path(),
        &["--profile", "demo", "--region", "eu-west-1", "--endpoint-url", &url, "deploy", "qa", "--yes"],
        &vars,
        None,
    );
    run.ok();
    let west = emu.stacks_in("eu-west-1");
    assert_eq!(west["demo-qa-app"]["outputs"]["Where"], "eu-west-1", "the template saw the run's region: {west}");
    assert!(emu.stacks().as_object().is_none_or(|m| m.is_empty()), "nothing went to the file's region");
    let seen = std::fs::read_to_string(dir.path().join("hook.env")).unwrap();
    for line in [
        "AWS_REGION=eu-west-1".to_string(),
        "AWS_DEFAULT_REGION=eu-west-1".to_string(),
        "AWS_PROFILE=demo".to_string(),
        "STACKC_PROFILE=demo".to_string(),
        "STACKC_REGION=eu-west-1".to_string(),
        format!("AWS_ENDPOINT_URL={url}"),
        format!("STACKC_ENDPOINT_URL={url}"),
    ] {
        assert!(seen.lines().any(|l| l == line), "the hook lacks {line}:\n{seen}");
    }
}

/// `prune` deletes what stackc made for this environment whose layer is gone, nothing else.
#[test]
fn prune_deletes_only_stacks_of_removed_layers() {
    let emu = Emulator::start();
    let topic = "Resources:\n  T:\n    Type: AWS::SNS::Topic\n";
    let dir = project(&[
        ("stacks/net/template.yaml", topic),
        ("stacks/old/template.yaml", topic),
        ("environments/qa.toml", "region = \"us-east-1\"\n"),
        ("environments/prod.toml", "region = \"us-east-1\"\n"),
    ]);
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    emu.stackc(dir.path(), &["deploy", "prod", "--yes"]).ok();
    emu.seed(&serde_json::json!({"stacks": {"hand-made": {"outputs": {}}}}));
    emu.stackc(dir.path(), &["prune", "qa", "--yes"]).ok().stdout_has("nothing to prune in `qa`");
    std::fs::remove_dir_all(dir.path().join("stacks/old")).unwrap();
    emu.stackc(dir.path(), &["prune", "qa"]).code(2).stderr_has("--yes");
    let run = emu.stackc(dir.path(), &["prune", "qa", "--yes"]);
    run.ok().stdout_has("old (demo-qa-old): delete; the layer is no longer in `qa`").stdout_has("demo-qa-old deleted");
    let stacks = emu.stacks();
    let mut names: Vec<&String> = stacks.as_object().unwrap().keys().collect();
    names.sort();
    assert_eq!(names, vec!["demo-prod-net", "demo-prod-old", "demo-qa-net", "hand-made"], "{stacks}");
    emu.stackc(dir.path(), &["prune", "qa", "--yes"]).ok().stdout_has("nothing to prune");
}

/// A layer pinned to another region, then removed from the project: its region was recorded when it was
/// deployed, so prune finds and deletes its stack there; with no record, `--look-in` names where to look.
#[test]
fn prune_finds_stacks_left_in_other_regions() {
    let emu = Emulator::start();
    let topic = "Resources:\n  T:\n    Type: AWS::SNS::Topic\n";
    let dir = project(&[
        ("stacks/net/template.yaml", topic),
        ("stacks/cert/template.yaml", topic),
        ("stacks/cert/layer.toml", "region = \"us-west-2\"\n"),
        ("environments/qa.toml", "region = \"us-east-1\"\n"),
    ]);
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    assert!(emu.stacks_in("us-west-2").get("demo-qa-cert").is_some());
    let record = emu.query("ssm", "get_parameter", serde_json::json!({"Name": "/stackc/demo/qa/regions"}));
    assert_eq!(record["Parameter"]["Value"], "us-west-2", "{record}");
    std::fs::remove_dir_all(dir.path().join("stacks/cert")).unwrap();
    let run = emu.stackc(dir.path(), &["prune", "qa", "--yes", "-v"]);
    run.ok()
        .stderr_has("looked in us-west-2: 1 stack")
        .stdout_has("cert (demo-qa-cert): delete; the layer is no longer in `qa`")
        .stdout_has("demo-qa-cert deleted");
    assert!(emu.stacks_in("us-west-2").get("demo-qa-cert").is_none());
    assert!(emu.stacks().get("demo-qa-net").is_some());
    // Deployed with no record (an older stackc, or SSM refused): prune looks there when told.
    write(dir.path(), "stacks/cert/template.yaml", topic);
    write(dir.path(), "stacks/cert/layer.toml", "region = \"eu-central-1\"\n");
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    emu.query("ssm", "delete_parameter", serde_json::json!({"Name": "/stackc/demo/qa/regions"}));
    std::fs::remove_dir_all(dir.path().join("stacks/cert")).unwrap();
    emu.stackc(dir.path(), &["prune", "qa", "--yes"]).ok().stdout_has("nothing to prune in `qa`");
    let run = emu.stackc(dir.path(), &["prune", "qa", "--yes", "--look-in", "eu-central-1"]);
    run.ok().stdout_has("demo-qa-cert deleted");
    assert!(emu.stacks_in("eu-central-1").get("demo-qa-cert").is_none());
}

/// Ctrl-C at the confirmation deletes the change sets the run made (and the empty stack of a create):
/// nothing is left behind in CloudFormation.
#[test]
fn ctrl_c_at_the_prompt_leaves_no_change_set_behind() {
    let emu = Emulator::start();
    let template = "Parameters:\n  Size:\n    Type: String\nResources:\n  T:\n    Type: AWS::SNS::Topic\n";
    let dir = project(&[
        ("stacks/app/template.yaml", template),
        ("stacks/extra/template.yaml", template),
        (
            "environments/qa.toml",
            "region = \"us-east-1\"\n[layers.app.parameters]\nSize = \"s\"\n[layers.extra.parameters]\nSize = \"s\"\n",
        ),
    ]);
    emu.stackc(dir.path(), &["deploy", "qa", "app", "--yes"]).ok();
    // app would be updated, extra created: both have a change set when the prompt shows.
    let spec = serde_json::json!({
        "argv": [env!("CARGO_BIN_EXE_stackc"), "--set", "layers.app.parameters.Size=m", "deploy", "qa"],
        "cwd": dir.path(),
        "env": {"AWS_ENDPOINT_URL": emu.url(), "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "us-east-1", "NO_COLOR": "1"},
        "answers": [["[y/N]", "^C"]],
    });
    let run = emu.python("pty_run.py", &spec.to_string());
    run.ok();
    let result: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let output = result["output"].as_str().unwrap();
    assert_eq!(result["code"], 130, "{output}");
    assert!(output.contains("interrupted: nothing was executed; deleted the 2 change sets this run made"), "{output}");
    let sets = emu.query("cloudformation", "list_change_sets", serde_json::json!({"StackName": "demo-qa-app"}));
    // (The emulator keeps executed change sets, which AWS removes; none may be left to execute.)
    let open: Vec<&serde_json::Value> =
        sets["Summaries"].as_array().unwrap().iter().filter(|c| c["ExecutionStatus"] != "EXECUTE_COMPLETE").collect();
    assert!(open.is_empty(), "{sets}");
    let stacks = emu.stacks();
    assert_eq!(stacks["demo-qa-app"]["parameters"]["Size"], "s", "nothing was executed");
    assert!(stacks.get("demo-qa-extra").is_none(), "the empty stack of the create change set is gone: {stacks}");
}

/// `role_arn_to_assume`: the whole run works as the role (here in another account, which the account
/// guard checks), not as the credentials it started with.
#[test]
fn an_environment_can_assume_a_role_in_another_account() {
    let emu = Emulator::start();
    let dir = project(&[
        ("stacks/app/template.yaml", "Resources:\n  T:\n    Type: AWS::SNS::Topic\n"),
        ("stacks/app/layer.toml", "[hooks]\nafter_deploy = [\"env | grep -E '^AWS_(ACCESS_KEY_ID|SESSION_TOKEN|PROFILE)=' | cut -c1-40 | sort > creds.txt\"]\n"),
        (
            "environments/qa.toml",
            "region = \"us-east-1\"\naccount_id = \"111111111111\"\nrole_arn_to_assume = \"arn:aws:iam::111111111111:role/deployer\"\nrole_session_name = \"ci-deploy\"\nrole_duration_minutes = 30\n",
        ),
    ]);
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    // The hook acted as the role: temporary credentials, not the caller's own key.
    let creds = std::fs::read_to_string(dir.path().join("creds.txt")).unwrap();
    assert!(creds.contains("AWS_SESSION_TOKEN=") && !creds.contains("AWS_ACCESS_KEY_ID=testing"), "{creds}");
    // The caller's own account (the emulator's default) has no stack: it went to the role's account.
    assert!(emu.stacks().as_object().is_none_or(|m| m.is_empty()), "{}", emu.stacks());
    emu.stackc(dir.path(), &["status", "qa"]).ok().stdout_has("demo-qa-app").stdout_has("in sync");
    // Without the role, the account guard refuses.
    write(dir.path(), "environments/qa.toml", "region = \"us-east-1\"\naccount_id = \"111111111111\"\n");
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).code(2).stderr_has("belongs to account 111111111111");
    write(
        dir.path(),
        "environments/qa.toml",
        "region = \"us-east-1\"\nrole_arn_to_assume = \"deployer\"\nrole_duration_minutes = 5\n",
    );
    stackc(dir.path(), &["validate", "qa"])
        .code(2)
        .stderr_has("`role_arn_to_assume`: `deployer` is not an IAM role ARN")
        .stderr_has("`role_duration_minutes` is 15 to 720, found 5");
}

/// One deploy across two regions: a layer with its own `region` (CloudFront's certificate lives in
/// us-east-1) and a layer in the environment's region that takes its output.
#[test]
fn one_deploy_spans_two_regions() {
    let emu = Emulator::start();
    let dir = project(&[
        ("stacks/cert/template.yaml.j2", "Resources:\n  T:\n    Type: AWS::SNS::Topic\nOutputs:\n  TopicArn:\n    Value: !Ref T\n  Where:\n    Value: \"{{ region }}\"\n"),
        ("stacks/cert/layer.toml", "region = \"us-east-1\"\n"),
        ("stacks/app/template.yaml.j2", "Parameters:\n  CertTopic:\n    Type: String\nResources:\n  T:\n    Type: AWS::SNS::Topic\nOutputs:\n  Where:\n    Value: \"{{ region }}\"\n"),
        ("stacks/app/layer.toml", "[hooks]\nafter_deploy = [\"echo $AWS_REGION > app.region\"]\n"),
        ("environments/qa.toml", "region = \"eu-west-1\"\n[layers.app.parameters]\nCertTopic = { from = \"output\", layer = \"cert\", output = \"TopicArn\" }\n"),
    ]);
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    let east = emu.stacks_in("us-east-1");
    let west = emu.stacks_in("eu-west-1");
    assert_eq!(east["demo-qa-cert"]["outputs"]["Where"], "us-east-1", "{east}");
    assert!(east.get("demo-qa-app").is_none());
    assert_eq!(west["demo-qa-app"]["outputs"]["Where"], "eu-west-1", "{west}");
    assert_eq!(west["demo-qa-app"]["parameters"]["CertTopic"], east["demo-qa-cert"]["outputs"]["TopicArn"]);
    assert_eq!(std::fs::read_to_string(dir.path().join("app.region")).unwrap().trim(), "eu-west-1");
    let status = emu.stackc(dir.path(), &["status", "qa"]);
    assert_eq!(status.ok().stdout.matches("in sync").count(), 2, "{}", status.stdout);
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok().stdout_has("is up to date");
    emu.stackc(dir.path(), &["destroy", "qa", "--yes"]).ok();
    assert!(emu.stacks_in("us-east-1").get("demo-qa-cert").is_none());
}

/// `drift` asks CloudFormation what changed outside it: a value changed by hand shows both values, a
/// deleted resource is named, a value that came from a secret shows as changed with neither value, and
/// the exit code says whether anything drifted.
#[test]
fn drift_shows_changes_made_outside_cloudformation_and_never_a_secret() {
    let emu = Emulator::start();
    emu.seed(&serde_json::json!({"ssm_secure": {"/demo/qa/token": CANARY}}));
    let template = "Parameters:
  Level: {Type: String}
  Token: {Type: String, NoEcho: true}
Resources:
  LevelParameter:
    Type: AWS::SSM::Parameter
    Properties: {Name: /app/level, Type: String, Value: !Ref Level}
  TokenParameter:
    Type: AWS::SSM::Parameter
    Properties: {Name: /app/token, Type: String, Value: !Sub \"bearer ${Token}\"}
  Flag:
    Type: AWS::SSM::Parameter
    Properties: {Name: /app/flag, Type: String, Value: on}
  Topic:
    Type: AWS::SNS::Topic
";
    let dir = project(&[
        ("stacks/app/template.yaml", template),
        // The token is kept readable on purpose (an SSM String), so drift has a secret to mask.
        ("stacks/app/layer.toml", "secrets_readable_in = [\"TokenParameter.Value\"]\n"),
        ("stacks/web/template.yaml", "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"),
        (
            "environments/qa.toml",
            "region = \"us-east-1\"\n[layers.app.parameters]\nLevel = \"info\"\nToken = { from = \"ssm-secure\", name = \"/demo/qa/token\" }\n",
        ),
    ]);
    emu.stackc(dir.path(), &["deploy", "qa", "app", "--yes"]).ok();
    let clean = emu.stackc(dir.path(), &["drift", "qa"]);
    clean.ok().stdout_has("IN_SYNC").stdout_has("qa: no drift found").stdout_has("web").stdout_has("not deployed");

    emu.query(
        "ssm",
        "put_parameter",
        serde_json::json!({"Name": "/app/level", "Value": "debug", "Type": "String", "Overwrite": true}),
    );
    emu.query("ssm", "put_parameter", serde_json::json!({"Name": "/app/token", "Value": format!("bearer {CANARY}-rotated"), "Type": "String", "Overwrite": true}));
    emu.query("ssm", "delete_parameter", serde_json::json!({"Name": "/app/flag"}));
    let drifted = emu.stackc(dir.path(), &["drift", "qa"]);
    drifted
        .code(1)
        .stdout_has("DRIFTED")
        .stdout_has("3 of 3 checked resources drifted, 1 not checkable")
        .stdout_has("~ LevelParameter AWS::SSM::Parameter /app/level: MODIFIED")
        .stdout_has("/Value: template info, live debug")
        .stdout_has("/Value: changed (from a secret; values not shown)")
        .stdout_has("- Flag AWS::SSM::Parameter /app/flag: DELETED")
        .stdout_has("qa: 1 layer drifted (app)");
    let json = emu.stackc(dir.path(), &["drift", "qa", "app", "--output", "json"]);
    json.code(1);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["drifted"], true, "{v}");
    let resources = v["layers"][0]["drifted_resources"].as_array().unwrap();
    let token = resources.iter().find(|r| r["logical_id"] == "TokenParameter").unwrap();
    assert_eq!(token["differences"][0]["secret"], true, "{v}");
    assert_eq!(v["layers"][0]["not_checkable"], serde_json::json!(["Topic"]), "{v}");
    assert_no_canary(&[&clean, &drifted, &json], dir.path());
    // A deploy without changes leaves drift alone (as in AWS): drift still says so.
    emu.stackc(dir.path(), &["deploy", "qa", "app", "--yes"]).ok().stdout_has("up to date");
    emu.stackc(dir.path(), &["drift", "qa", "app"]).code(1).stdout_has("does not undo drift");
    emu.stackc(dir.path(), &["drift", "qa", "nope"]).code(2).stderr_has("nope");
}

/// The instance stacks of `demo-qa-guard` in a region: the `Level` output of each.
fn guard_instances(emu: &Emulator, region: &str) -> Vec<String> {
    let stacks = emu.stacks_in(region);
    stacks
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| name.starts_with("StackSet-demo-qa-guard-"))
        .map(|(_, s)| s["outputs"]["Level"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A layer deployed as a StackSet: planned and shown like the others (its instances as the changes),
/// created in every target region, updated everywhere, rolled out to a new region and out of an old one,
/// shown per instance by `status`, and removed by `destroy`. The secret it takes is never shown.
#[test]
fn a_stack_set_layer_rolls_out_across_regions() {
    let emu = Emulator::start();
    emu.seed(&serde_json::json!({"ssm_secure": {"/demo/qa/token": CANARY}}));
    let guard = "Parameters:
  Level: {Type: String}
  Token: {Type: String, NoEcho: true}
Resources:
  Topic:
    Type: AWS::SNS::Topic
  LevelParameter:
    Type: AWS::SSM::Parameter
    Properties: {Name: !Sub \"/guard/${AWS::Region}/level\", Type: String, Value: !Ref Level}
  TokenParameter:
    Type: AWS::SSM::Parameter
    Properties: {Name: !Sub \"/guard/${AWS::Region}/token\", Type: String, Value: !Ref Token}
Outputs:
  Level:
    Value: !Ref Level
";
    let env = |level: &str, regions: &str| {
        format!(
            "region = \"us-east-1\"\n[layers.guard.parameters]\nLevel = \"{level}\"\nToken = {{ from = \"ssm-secure\", name = \"/demo/qa/token\" }}\n[layers.guard.stackset]\nregions = [{regions}]\n"
        )
    };
    let dir = project(&[
        ("stacks/guard/template.yaml", guard),
        (
            "stacks/guard/layer.toml",
            "deploy_as = \"stackset\"\nsecrets_readable_in = [\"TokenParameter.Value\"]\n[stackset]\nmax_concurrent = 1\nfailure_tolerance = 0\n",
        ),
        ("stacks/app/template.yaml", "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"),
        ("environments/qa.toml", &env("info", "\"us-east-1\", \"eu-west-1\"")),
    ]);
    let mut runs = Vec::new();
    emu.stackc(dir.path(), &["validate", "qa"]).ok();
    let plan = emu.stackc(dir.path(), &["plan", "qa"]);
    plan.ok()
        .stdout_has("guard (demo-qa-guard): stack set create")
        .stdout_has("+ 123456789012/us-east-1")
        .stdout_has("+ 123456789012/eu-west-1");
    emu.stackc(dir.path(), &["deploy", "qa", "--no-execute"])
        .ok()
        .stdout_has("demo-qa-guard: a stack set has no change sets; `stackc deploy` applies the plan above");
    assert!(guard_instances(&emu, "us-east-1").is_empty(), "--no-execute made nothing");
    let first = emu.stackc(dir.path(), &["deploy", "qa", "--yes"]);
    first.ok().stderr_has("[guard]   instance 123456789012/eu-west-1: SUCCEEDED");
    assert_eq!(guard_instances(&emu, "us-east-1"), ["info"]);
    assert_eq!(guard_instances(&emu, "eu-west-1"), ["info"]);
    let status = emu.stackc(dir.path(), &["status", "qa"]);
    status.ok().stdout_has("instance 123456789012/eu-west-1").stdout_has("CURRENT");
    let again = emu.stackc(dir.path(), &["deploy", "qa", "--yes"]);
    again.ok().stdout_has("is up to date");

    // A new value everywhere, a new region, a region dropped.
    write(dir.path(), "environments/qa.toml", &env("debug", "\"us-east-1\", \"ap-south-1\""));
    let plan = emu.stackc(dir.path(), &["plan", "qa", "guard"]);
    plan.ok()
        .stdout_has("stack set update")
        .stdout_has("~ 123456789012/us-east-1")
        .stdout_has("+ 123456789012/ap-south-1")
        .stdout_has("- 123456789012/eu-west-1")
        .stdout_has("Level: info -> debug");
    let second = emu.stackc(dir.path(), &["deploy", "qa", "--yes"]);
    second.ok();
    assert_eq!(guard_instances(&emu, "us-east-1"), ["debug"]);
    assert_eq!(guard_instances(&emu, "ap-south-1"), ["debug"]);
    assert!(guard_instances(&emu, "eu-west-1").is_empty());
    let clean = emu.stackc(dir.path(), &["drift", "qa"]);
    clean.ok().stdout_has("IN_SYNC   stack set: 0 of 2 instances drifted");
    // Someone changes the values by hand in one region: that instance has drifted, the secret one is
    // shown as changed without its values.
    for (name, value) in
        [("/guard/us-east-1/level", "tampered".to_string()), ("/guard/us-east-1/token", format!("{CANARY}-2"))]
    {
        emu.query(
            "ssm",
            "put_parameter",
            serde_json::json!({"Name": name, "Value": value, "Type": "String", "Overwrite": true}),
        );
    }
    let drift = emu.stackc(dir.path(), &["drift", "qa", "guard"]);
    drift
        .code(1)
        .stdout_has("DRIFTED   stack set: 1 of 2 instances drifted")
        .stdout_has("instance 123456789012/us-east-1: DRIFTED")
        .stdout_has("/Value: template debug, live tampered")
        .stdout_has("/Value: changed (from a secret; values not shown)");
    assert!(!drift.stdout.contains("ap-south-1: "), "the instance in sync is not listed: {}", drift.stdout);
    // The layer is removed from the project: prune removes its instances, then the stack set.
    std::fs::remove_dir_all(dir.path().join("stacks/guard")).unwrap();
    write(dir.path(), "environments/qa.toml", "region = \"us-east-1\"\n");
    let prune = emu.stackc(dir.path(), &["prune", "qa", "--yes"]);
    prune.ok().stdout_has("guard (demo-qa-guard): delete").stdout_has("demo-qa-guard deleted");
    assert!(guard_instances(&emu, "us-east-1").is_empty() && guard_instances(&emu, "ap-south-1").is_empty());
    let sets = emu.query("cloudformation", "list_stack_sets", serde_json::json!({}));
    assert!(sets["Summaries"].as_array().unwrap().iter().all(|s| s["Status"] == "DELETED"), "{sets}");
    emu.stackc(dir.path(), &["prune", "qa", "--yes"]).ok().stdout_has("nothing to prune");
    let destroy = emu.stackc(dir.path(), &["destroy", "qa", "--yes"]);
    destroy.ok();
    runs.extend([&plan, &first, &status, &again, &second, &clean, &drift, &prune, &destroy]);
    assert_no_canary(&runs, dir.path());
}

/// On a terminal, progress is a live block of one line per layer, redrawn in place (the planning block
/// is removed before the plan is shown, the execution block stays); hook output still prints as lines.
/// Without a terminal, the same run prints plain lines with no cursor movement.
#[test]
fn a_terminal_gets_a_live_line_per_layer() {
    let emu = Emulator::start();
    let topic = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n";
    let dir = project(&[
        ("stacks/app/template.yaml", topic),
        ("stacks/web/template.yaml", topic),
        ("stacks/web/layer.toml", "depends_on = [\"app\"]\n[hooks]\nafter_deploy = [\"echo hook-said-hello\"]\n"),
        ("environments/qa.toml", "region = \"us-east-1\"\n"),
    ]);
    let spec = serde_json::json!({
        "argv": [env!("CARGO_BIN_EXE_stackc"), "deploy", "qa", "--yes"],
        "cwd": dir.path(),
        "env": {"AWS_ENDPOINT_URL": emu.url(), "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "us-east-1", "NO_COLOR": "1", "TERM": "xterm"},
    });
    let run = emu.python("pty_run.py", &spec.to_string());
    run.ok();
    let result: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let output = result["output"].as_str().unwrap();
    assert_eq!(result["code"], 0, "{output}");
    assert!(output.contains("\u{1b}[1F\u{1b}[J"), "the block is redrawn in place: {output:?}");
    // What stays on the screen: the plan, the final block (a line per layer), the hook's lines, the result.
    let plan_at = output.find("plan for qa: 2 to create").expect("plan shown");
    let final_block = output.rfind("+ app ").expect("app's line");
    assert!(final_block > plan_at, "{output:?}");
    assert!(output[final_block..].contains("done: CREATE_COMPLETE"), "{output:?}");
    assert!(output.contains("[web]   | hook-said-hello"), "hook output is a line of its own: {output:?}");
    assert!(output.contains("web          demo-qa-web: CREATE_COMPLETE"), "{output:?}");
    // The planning block was removed before the plan: nothing between the last erase before the plan and it.
    let before_plan = &output[..output.find("app (demo-qa-app): create").expect("plan shown")];
    assert!(before_plan.ends_with("\u{1b}[J"), "{before_plan:?}");
    let plain = emu.stackc(dir.path(), &["deploy", "qa", "--yes"]);
    plain.ok();
    assert!(!plain.stderr.contains('\u{1b}'), "no terminal, no escape codes: {:?}", plain.stderr);
}

/// Ctrl-C while layers execute: the running layer finishes (its hook ignores the interrupt, as a slow
/// CloudFormation operation would go on), no other layer starts, and the run says how to follow up.
#[test]
fn ctrl_c_during_execution_lets_the_running_layer_finish_and_starts_no_other() {
    let emu = Emulator::start();
    let topic = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n";
    let dir = project(&[
        ("stacks/app/template.yaml", topic),
        ("stacks/app/layer.toml", "[hooks]\nbefore_deploy = [\"trap '' INT; echo slow-start; sleep 2\"]\n"),
        ("stacks/web/template.yaml", topic),
        ("stacks/web/layer.toml", "depends_on = [\"app\"]\n"),
        ("environments/qa.toml", "region = \"us-east-1\"\n"),
    ]);
    let spec = serde_json::json!({
        "argv": [env!("CARGO_BIN_EXE_stackc"), "deploy", "qa", "--yes"],
        "cwd": dir.path(),
        "env": {"AWS_ENDPOINT_URL": emu.url(), "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "us-east-1", "NO_COLOR": "1"},
        "answers": [["slow-start", "^C"]],
    });
    let run = emu.python("pty_run.py", &spec.to_string());
    run.ok();
    let result: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let output = result["output"].as_str().unwrap();
    assert_eq!(result["code"], 1, "{output}");
    assert!(output.contains("interrupted: the layers already running go on"), "{output}");
    assert!(output.contains("interrupted (Ctrl-C) before it started"), "{output}");
    let stacks = emu.stacks();
    assert_eq!(stacks["demo-qa-app"]["status"], "CREATE_COMPLETE", "the running layer finished: {stacks}");
    assert!(stacks.get("demo-qa-web").is_none(), "no other layer started: {stacks}");
    // The next run finishes the job.
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    assert_eq!(emu.stacks()["demo-qa-web"]["status"], "CREATE_COMPLETE");
}

/// A stack set targeted at an organizational unit (service-managed): its accounts get instances, a
/// second deploy changes nothing, a new region adds instances, and destroy removes them by unit.
#[test]
fn a_stack_set_targets_an_organizational_unit() {
    let emu = Emulator::start();
    let org = emu.seed(&serde_json::json!({"organization": {"workloads": ["alpha", "beta"]}}));
    let unit = org["units"]["workloads"].as_str().unwrap().to_string();
    let (alpha, beta) = (org["accounts"]["alpha"].as_str().unwrap(), org["accounts"]["beta"].as_str().unwrap());
    let env = |regions: &str| {
        format!("region = \"us-east-1\"\n[layers.guard.stackset]\norganizational_units = [\"{unit}\"]\nregions = [{regions}]\n")
    };
    let dir = project(&[
        ("stacks/guard/template.yaml", "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"),
        ("stacks/guard/layer.toml", "deploy_as = \"stackset\"\n"),
        ("environments/qa.toml", &env("\"us-east-1\"")),
    ]);
    let instances = || {
        let listed =
            emu.query("cloudformation", "list_stack_instances", serde_json::json!({"StackSetName": "demo-qa-guard"}));
        let mut v: Vec<String> = listed["Summaries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| format!("{}/{}", i["Account"].as_str().unwrap(), i["Region"].as_str().unwrap()))
            .collect();
        v.sort();
        v
    };
    let plan = emu.stackc(dir.path(), &["plan", "qa"]);
    plan.ok().stdout_has(&format!("+ {unit}/us-east-1"));
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    let mut want = vec![format!("{alpha}/us-east-1"), format!("{beta}/us-east-1")];
    want.sort();
    assert_eq!(instances(), want);
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok().stdout_has("is up to date");
    write(dir.path(), "environments/qa.toml", &env("\"us-east-1\", \"eu-west-1\""));
    emu.stackc(dir.path(), &["plan", "qa"])
        .ok()
        .stdout_has(&format!("+ {unit}/eu-west-1"))
        .stdout_has("stack set update");
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    assert_eq!(instances().len(), 4, "{:?}", instances());
    emu.stackc(dir.path(), &["status", "qa"]).ok().stdout_has(&format!("instance {alpha}/eu-west-1"));
    emu.stackc(dir.path(), &["destroy", "qa", "--yes"]).ok();
    let gone = emu.query("cloudformation", "list_stack_sets", serde_json::json!({}));
    assert!(gone["Summaries"].as_array().unwrap().iter().all(|s| s["Status"] == "DELETED"), "{gone}");
}

/// After a failed deploy, `stackc events` shows the last operation (every page: the stack's history is
/// longer than one), the root cause first; `status` says it in one line; `--since` reaches back further;
/// `logs` is the same command; JSON carries the root cause. The secret of the stack shows nowhere.
/// CloudFormation's reasons can quote a value (EC2: "The vpc ID '<id>' does not exist"): when that value is a
/// secret, `events` and `status` print the reason scrubbed, as `deploy` does, though neither deploys: they
/// read the environment's secrets (those that can be read without asking) only to scrub them.
#[test]
fn a_secret_quoted_in_a_failure_reason_is_scrubbed_by_events_and_status() {
    let quoted = "vpc-0c4a7a1e5ec7e7d0";
    let emu = Emulator::start();
    emu.seed(&serde_json::json!({"ssm_secure": {"/demo/qa/vpc": quoted}}));
    let template = "Parameters:\n  Vpc: {Type: String, NoEcho: true}\nResources:\n  Broken:\n    Type: AWS::EC2::Subnet\n    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.9.0.0/24}\n";
    let dir = project(&[
        ("stacks/net/template.yaml", template),
        ("stacks/net/layer.toml", "secrets_readable_in = [\"Broken.VpcId\"]\n"),
        (
            "environments/qa.toml",
            "region = \"us-east-1\"\n[layers.net.parameters]\nVpc = { from = \"ssm-secure\", name = \"/demo/qa/vpc\" }\n",
        ),
    ]);
    let failed = emu.stackc(dir.path(), &["deploy", "qa", "--yes"]);
    failed.code(1).stderr_has("Broken (AWS::EC2::Subnet) failed");
    let events = emu.stackc(dir.path(), &["events", "qa"]);
    events.ok().stdout_has("root cause: Broken (AWS::EC2::Subnet) CREATE_FAILED:").stdout_has("****");
    let json = emu.stackc(dir.path(), &["events", "qa", "--output", "json"]);
    let status = emu.stackc(dir.path(), &["status", "qa"]);
    status.ok().stdout_has("failed: Broken (AWS::EC2::Subnet) CREATE_FAILED:");
    for run in [&failed, &events, &json, &status] {
        assert!(
            !run.stdout.contains(quoted) && !run.stderr.contains(quoted),
            "the secret the reason quotes was printed:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    // A secret that cannot be read without asking is named, not silently left in.
    std::fs::write(
        dir.path().join("environments/qa.toml"),
        "region = \"us-east-1\"\n[layers.net.parameters]\nVpc = { from = \"ssm-secure\", name = \"/demo/qa/other\" }\n",
    )
    .unwrap();
    let unread = emu.stackc(dir.path(), &["events", "qa"]);
    unread.ok().stderr_has("could not be read to scrub").stderr_has("/demo/qa/other");
}

#[test]
fn events_after_a_failed_deploy_name_the_root_cause() {
    let emu = Emulator::start();
    emu.seed(&serde_json::json!({"ssm_secure": {"/demo/qa/token": CANARY}}));
    let many: String = (0..60)
        .map(|i| {
            format!(
                "  P{i}:\n    Type: AWS::SSM::Parameter\n    Properties: {{Name: /many/{i}, Type: String, Value: v}}\n"
            )
        })
        .collect();
    let v1 = format!(
        "Parameters:\n  Token: {{Type: String, NoEcho: true}}\nResources:\n  Secret:\n    Type: AWS::SSM::Parameter\n    Properties: {{Name: /app/token, Type: String, Value: !Ref Token}}\n{many}"
    );
    let broken = "  Broken:\n    Type: AWS::EC2::Subnet\n    Properties: {VpcId: vpc-0000000000000dead, CidrBlock: 10.9.0.0/24}\n";
    let dir = project(&[
        ("stacks/app/template.yaml", &v1),
        ("stacks/app/layer.toml", "secrets_readable_in = [\"Secret.Value\"]\n"),
        (
            "environments/qa.toml",
            "region = \"us-east-1\"\n[layers.app.parameters]\nToken = { from = \"ssm-secure\", name = \"/demo/qa/token\" }\n",
        ),
    ]);
    emu.stackc(dir.path(), &["deploy", "qa", "--yes"]).ok();
    std::fs::write(dir.path().join("stacks/app/template.yaml"), format!("{v1}{broken}")).unwrap();
    let failed = emu.stackc(dir.path(), &["deploy", "qa", "--yes"]);
    failed.code(1).stderr_has("Broken (AWS::EC2::Subnet) failed");

    let events = emu.stackc(dir.path(), &["events", "qa"]);
    events
        .ok()
        .stdout_has("qa: events of the last operation")
        .stdout_has("app  demo-qa-app  UPDATE_ROLLBACK_COMPLETE")
        .stdout_has("root cause: Broken (AWS::EC2::Subnet) CREATE_FAILED:");
    assert!(!events.stdout.contains("P59 "), "only the last operation:\n{}", events.stdout);
    let json = emu.stackc(dir.path(), &["logs", "qa", "app", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    assert_eq!(v["layers"][0]["root_cause"]["logical_id"], "Broken", "{v}");
    let since = emu.stackc(dir.path(), &["events", "qa", "--since", "1d"]);
    since.ok().stdout_has("since 20");
    let created = since.stdout.matches("CREATE_COMPLETE").count();
    assert!(created >= 61, "the first deploy's events too, over more than one page ({created}):\n{}", since.stdout);
    let status = emu.stackc(dir.path(), &["status", "qa"]);
    status.ok().stdout_has("failed: Broken (AWS::EC2::Subnet) CREATE_FAILED:").stdout_has("stackc events qa");
    assert_no_canary(&[&failed, &events, &json, &since, &status], dir.path());
}

/// Plans say what changes inside each resource: the property, whether it replaces the resource and why,
/// before and after. In a protected environment a replaced stateful resource (here a queue, whose name is
/// create-only) is refused under `--yes` until `--allow-replace` names it.
#[test]
fn plans_show_property_changes_and_a_stateful_replacement_needs_naming() {
    let emu = Emulator::start();
    emu.seed(&serde_json::json!({"ssm_secure": {"/demo/prod/token": CANARY}}));
    let template = |queue: &str| {
        format!(
            "Parameters:\n  Level: {{Type: String}}\n  Token: {{Type: String, NoEcho: true}}\nResources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties: {{QueueName: {queue}}}\n  Setting:\n    Type: AWS::SSM::Parameter\n    Properties: {{Name: /app/level, Type: String, Value: !Ref Level}}\n  Secret:\n    Type: AWS::SSM::Parameter\n    Properties: {{Name: /app/token, Type: String, Value: !Ref Token}}\n"
        )
    };
    let env = |level: &str| {
        format!("region = \"us-east-1\"\nprotected = true\n[layers.app.parameters]\nLevel = \"{level}\"\nToken = {{ from = \"ssm-secure\", name = \"/demo/prod/token\" }}\n")
    };
    let dir = project(&[
        ("stacks/app/template.yaml", &template("orders")),
        ("stacks/app/layer.toml", "secrets_readable_in = [\"Secret.Value\"]\n"),
        ("environments/prod.toml", &env("info")),
    ]);
    emu.stackc(dir.path(), &["deploy", "prod", "--yes"]).ok();
    std::fs::write(dir.path().join("stacks/app/template.yaml"), template("orders-v2")).unwrap();
    std::fs::write(dir.path().join("environments/prod.toml"), env("debug")).unwrap();

    let plan = emu.stackc(dir.path(), &["plan", "prod"]);
    plan.ok()
        .stdout_has("~ Queue")
        .stdout_has("~ QueueName: orders -> orders-v2  (REPLACES the resource; direct change)")
        .stdout_has("!! Queue is replaced: the new AWS::SQS::Queue starts empty")
        .stdout_has("~ Value: info -> debug  (in place; parameter Level)");
    let json = emu.stackc(dir.path(), &["plan", "prod", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    let queue =
        v["layers"][0]["changes"].as_array().unwrap().iter().find(|c| c["logical_id"] == "Queue").unwrap().clone();
    assert_eq!(queue["replaces_state"], true, "{queue}");
    assert_eq!(queue["properties"][0]["recreation"], "always", "{queue}");
    let md = emu.stackc(dir.path(), &["plan", "prod", "--output", "markdown"]);
    md.ok().stdout_has("QueueName: orders -> orders-v2");

    let refused = emu.stackc(dir.path(), &["deploy", "prod", "--yes"]);
    refused
        .code(2)
        .stderr_has(
            "refusing to replace stateful resources in protected environment `prod` without naming them: app/Queue",
        )
        .stderr_has("--allow-replace app/Queue");
    assert_eq!(emu.stacks()["demo-prod-app"]["parameters"]["Level"], "info", "nothing was executed");
    let allowed = emu.stackc(dir.path(), &["deploy", "prod", "--yes", "--allow-replace", "app/Queue"]);
    allowed.ok();
    assert_no_canary(&[&plan, &json, &md, &refused, &allowed], dir.path());
}

/// A layer whose inputs were placeholders when the plan was approved gets its change set during the
/// deploy: that change set is shown before it executes (in a protected environment `--yes` covers it).
#[test]
fn a_change_set_made_after_the_confirmation_is_shown() {
    let emu = Emulator::start();
    let dir = project(&[
        (
            "stacks/net/template.yaml",
            "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\nOutputs:\n  TopicArn:\n    Value: !Ref Topic\n",
        ),
        (
            "stacks/app/template.yaml",
            "Parameters:\n  Topic: {Type: String}\nResources:\n  P:\n    Type: AWS::SSM::Parameter\n    Properties: {Name: /app/topic, Type: String, Value: !Ref Topic}\n",
        ),
        (
            "environments/prod.toml",
            "region = \"us-east-1\"\nprotected = true\n[layers.app.parameters]\nTopic = { from = \"output\", layer = \"net\", output = \"TopicArn\" }\n",
        ),
    ]);
    let run = emu.stackc(dir.path(), &["deploy", "prod", "--yes"]);
    run.ok()
        .stderr_has("app was planned again after the confirmation (its dependencies' outputs are known now):")
        .stderr_has("+ P                                AWS::SSM::Parameter");
    assert_eq!(emu.stacks()["demo-prod-app"]["status"], "CREATE_COMPLETE");
}

/// A stack policy is read like every project file: a link out of the project is refused, the layer
/// fails before anything is sent, and nothing of it is created.
#[test]
fn a_stack_policy_that_links_out_of_the_project_is_refused() {
    let emu = Emulator::start();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("p.json"), "{\"Statement\": []}").unwrap();
    let dir = project(&[
        ("stacks/app/template.yaml", "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"),
        ("stacks/app/layer.toml", "stack_policy = \"policy.json\"\n"),
        ("environments/qa.toml", "region = \"us-east-1\"\n"),
    ]);
    std::os::unix::fs::symlink(outside.path().join("p.json"), dir.path().join("stacks/app/policy.json")).unwrap();
    let run = emu.stackc(dir.path(), &["deploy", "qa", "--yes"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    run.stderr_has("cannot read the stack policy").stderr_has("policy.json: it ");
    assert!(emu.stacks().get("demo-qa-app").is_none(), "{}", emu.stacks());
}
