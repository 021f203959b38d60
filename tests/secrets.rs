//! Every value source resolved for real against the emulator and a real Secret Service, and the
//! canary: a planted secret appears in no output, file or log, yet reaches the stack.

mod support;

use support::emulator::Emulator;
use support::keyring::KeyringService;
use support::*;

const SSM_CANARY: &str = "canary-ssm-3f9a1c77";
const SM_CANARY: &str = "canary-sm-8b2e4d10";
const KR_CANARY: &str = "canary-kr-5c6d7e8f";

const PARAMS: &[(&str, bool)] = &[
    ("Plain", false),
    ("Secure", true),
    ("Whole", true),
    ("Key", true),
    ("Staged", true),
    ("Kr", true),
    ("LayerOut", false),
    ("ExtOut", false),
    ("ExtOutWest", false),
    ("CertExact", false),
    ("CertWild", false),
    ("CertWest", false),
    ("ZonePublic", false),
    ("ZonePrivate", false),
];

/// The probe layer reads its secrets back from SSM String parameters on purpose, so it lists them as
/// places a secret may be read from (validate refuses them otherwise).
fn probe_layer_toml() -> String {
    let readable: Vec<String> =
        PARAMS.iter().filter(|(_, secret)| *secret).map(|(p, _)| format!("\"Probe{p}.Value\"")).collect();
    format!("depends_on = [\"base\"]\nsecrets_readable_in = [{}]\n", readable.join(", "))
}

/// A layer whose every parameter is written into an SSM parameter /probe/<Name>, so the test can read
/// back what the stack really received.
fn probe_project() -> tempfile::TempDir {
    let mut t = String::from("Parameters:\n");
    for (p, secret) in PARAMS {
        t.push_str(&format!("  {p}:\n    Type: String\n{}", if *secret { "    NoEcho: true\n" } else { "" }));
    }
    t.push_str("Resources:\n");
    for (p, _) in PARAMS {
        t.push_str(&format!("  Probe{p}:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Name: /probe/{p}\n      Type: String\n      Value: !Ref {p}\n"));
    }
    let env = r#"region = "us-east-1"
[layers.probe.parameters]
Plain = { from = "ssm", name = "/src/plain" }
Secure = { from = "ssm-secure", name = "/src/secure" }
Whole = { from = "secretsmanager", id = "src/whole" }
Key = { from = "secretsmanager", id = "src/json", key = "password" }
Staged = { from = "secretsmanager", id = "src/staged", version_stage = "AWSPREVIOUS" }
Kr = { from = "keyring" }
LayerOut = { from = "output", layer = "base", output = "TopicArn" }
ExtOut = { from = "stack-output", stack = "legacy", output = "Endpoint" }
ExtOutWest = { from = "stack-output", stack = "legacy", output = "Endpoint", region = "us-west-2" }
CertExact = { from = "acm", domain = "api.example.com" }
CertWild = { from = "acm", domain = "www.example.com" }
CertWest = { from = "acm", domain = "*.example.com", region = "us-west-2" }
ZonePublic = { from = "route53", zone = "example.com" }
ZonePrivate = { from = "route53", zone = "example.com", private = true }
"#;
    project(&[
        (
            "stacks/base/template.yaml.j2",
            "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\nOutputs:\n  TopicArn:\n    Value: !Ref Topic\n",
        ),
        ("stacks/probe/layer.toml", &probe_layer_toml()),
        ("stacks/probe/template.yaml.j2", &t),
        ("environments/qa.toml", env),
    ])
}

fn seed_probe(emu: &Emulator) -> serde_json::Value {
    emu.seed(&serde_json::json!({
        "ssm": {"/src/plain": "plain-value"},
        "ssm_secure": {"/src/secure": SSM_CANARY},
        "secrets": {"src/whole": SM_CANARY, "src/json": serde_json::json!({"password": SM_CANARY, "user": "u"}).to_string()},
        "secret_versions": {"src/staged": ["staged-old-value", "staged-new-value"]},
        "stacks": {"legacy": {"outputs": {"Endpoint": "legacy-east"}}, "legacy-west-copy": {"region": "us-west-2", "outputs": {"Endpoint": "unused"}}},
        "certificates": [
            {"domain": "api.example.com"},
            {"domain": "*.example.com"},
            {"domain": "*.example.com", "region": "us-west-2"}
        ],
        "zones": ["example.com"],
        "private_zones": ["example.com"],
    }))
}

fn seed_west_stack(emu: &Emulator) {
    emu.seed(
        &serde_json::json!({"stacks": {"legacy": {"region": "us-west-2", "outputs": {"Endpoint": "legacy-west"}}}}),
    );
}

#[test]
fn every_source_resolves_and_reaches_the_stack() {
    let emu = Emulator::start();
    let kr = KeyringService::start();
    let seeded = seed_probe(&emu);
    seed_west_stack(&emu);
    let dir = probe_project();
    // Stored by one process...
    let set = emu.stackc_with(
        dir.path(),
        &["secret", "set", "qa", "probe", "Kr"],
        &kr.vars(),
        Some(&format!("{KR_CANARY}\n")),
    );
    set.ok()
        .stdout_has("stored qa probe Kr in <secret from keyring:stackc/demo/qa/probe/Kr> (OS keyring: Secret Service)");
    // ...deployed by the next.
    let deploy = emu.stackc_with(dir.path(), &["deploy", "qa", "--yes"], &kr.vars(), None);
    deploy.ok();
    let ssm = emu.ssm();
    let stacks = emu.stacks();
    let expect = |p: &str, v: &str| assert_eq!(ssm[format!("/probe/{p}")], v, "{p}");
    expect("Plain", "plain-value");
    expect("Secure", SSM_CANARY);
    expect("Whole", SM_CANARY);
    expect("Key", SM_CANARY);
    expect("Staged", "staged-old-value");
    expect("Kr", KR_CANARY);
    expect("LayerOut", stacks["demo-qa-base"]["outputs"]["TopicArn"].as_str().unwrap());
    expect("ExtOut", "legacy-east");
    expect("ExtOutWest", "legacy-west");
    expect("CertExact", seeded["certificates"]["api.example.com@us-east-1"].as_str().unwrap());
    expect("CertWild", seeded["certificates"]["*.example.com@us-east-1"].as_str().unwrap());
    expect("CertWest", seeded["certificates"]["*.example.com@us-west-2"].as_str().unwrap());
    expect("ZonePublic", seeded["zones"]["example.com"].as_str().unwrap());
    expect("ZonePrivate", seeded["private_zones"]["example.com"].as_str().unwrap());
}

#[test]
fn the_canary_appears_nowhere() {
    let emu = Emulator::start();
    let kr = KeyringService::start();
    seed_probe(&emu);
    seed_west_stack(&emu);
    let dir = probe_project();
    let tmp = tempfile::tempdir().unwrap();
    let mut vars = kr.vars();
    vars.push(("TMPDIR".into(), tmp.path().display().to_string()));
    let mut runs = Vec::new();
    let run = |args: &[&str], stdin: Option<&str>| emu.stackc_with(dir.path(), args, &vars, stdin);
    runs.push(run(&["-vv", "secret", "set", "qa", "probe", "Kr"], Some(KR_CANARY)));
    for args in [
        vec!["-vv", "render", "qa"],
        vec!["-vv", "render", "qa", "--resolve"],
        vec!["-vv", "render", "qa", "--stdout"],
        vec!["-vv", "render", "qa", "--format", "json"],
        vec!["-vv", "validate", "qa"],
        vec!["-vv", "plan", "qa"],
        vec!["-vv", "plan", "qa", "--output", "json"],
        vec!["-vv", "deploy", "qa", "--yes"],
        vec!["-vv", "deploy", "qa", "--yes"],
        vec!["-vv", "render", "qa", "--resolve", "--format", "cfn-toml-v1", "--omit-secrets"],
        vec!["-vv", "diff", "qa"],
        vec!["-vv", "status", "qa"],
        vec!["-vv", "status", "qa", "--output", "json"],
        vec!["-vv", "outputs", "qa"],
        vec!["-vv", "secret", "check", "qa"],
    ] {
        let r = run(&args, None);
        assert_eq!(r.code, 0, "{args:?}:\n{}\n{}", r.stdout, r.stderr);
        runs.push(r);
    }
    // A changed secret: the update goes through, nothing shows it.
    runs.push(run(&["secret", "set", "qa", "probe", "Kr"], Some(&format!("{KR_CANARY}-2"))));
    let update = run(&["-vv", "deploy", "qa", "--yes"], None);
    update.ok();
    runs.push(update);
    // Failures that name the secret's parameter.
    let bad = run(
        &["-vv", "--set", "layers.probe.parameters.Plain=x", "deploy", "qa", "--yes", "--password-from", "ssm"],
        None,
    );
    assert_ne!(bad.code, 0, "{}\n{}", bad.stdout, bad.stderr);
    assert!(bad.stderr.contains("parameter `Kr`") || bad.stderr.contains("probe/Kr"), "{}", bad.stderr);
    runs.push(bad);
    std::fs::write(
        dir.path().join("stacks/probe/template.yaml.j2"),
        std::fs::read_to_string(dir.path().join("stacks/probe/template.yaml.j2"))
            .unwrap()
            .replace("  Kr:\n    Type: String\n    NoEcho: true\n", "  Kr:\n    Type: String\n"),
    )
    .unwrap();
    let leak = run(&["-vv", "deploy", "qa", "--yes"], None);
    leak.code(2)
        .stderr_has("is passed to a parameter that is not `NoEcho: true`")
        .stderr_has("nothing was sent to AWS");
    runs.push(leak);
    let invalid = run(&["validate", "qa"], None);
    invalid.code(2).stderr_has("parameter `Kr`: a secret (<secret from keyring:stackc/demo/qa/probe/Kr>) is passed to a parameter that is not `NoEcho: true`");
    runs.push(invalid);

    for canary in [SSM_CANARY, SM_CANARY, KR_CANARY] {
        for r in &runs {
            assert!(
                !r.stdout.contains(canary) && !r.stderr.contains(canary),
                "{canary} printed:\n{}\n{}",
                r.stdout,
                r.stderr
            );
        }
        for (path, text) in files_under(dir.path()).into_iter().chain(files_under(tmp.path())) {
            assert!(!text.contains(canary), "{canary} written to {path}");
        }
    }
    // And yet the stack received them.
    let ssm = emu.ssm();
    assert_eq!(ssm["/probe/Secure"], SSM_CANARY);
    assert_eq!(ssm["/probe/Key"], SM_CANARY);
    assert_eq!(ssm["/probe/Kr"], format!("{KR_CANARY}-2"));
}

#[test]
fn lookups_are_batched_and_deduplicated() {
    let emu = Emulator::start();
    let mut ssm = serde_json::Map::new();
    let mut params = String::from("region = \"us-east-1\"\n[layers.many.parameters]\n");
    let mut template = String::from("Parameters:\n");
    for i in 0..25 {
        ssm.insert(format!("/many/p{i}"), format!("v{i}").into());
        params.push_str(&format!("P{i} = {{ from = \"ssm\", name = \"/many/p{i}\" }}\n"));
        template.push_str(&format!("  P{i}:\n    Type: String\n"));
    }
    // The same parameter twice more, and three secrets (one of them twice).
    params.push_str("Again = { from = \"ssm\", name = \"/many/p0\" }\n");
    template.push_str("  Again:\n    Type: String\n");
    for (name, id) in [("S1", "s/1"), ("S2", "s/2"), ("S3", "s/3"), ("S4", "s/1")] {
        params.push_str(&format!("{name} = {{ from = \"secretsmanager\", id = \"{id}\" }}\n"));
        template.push_str(&format!("  {name}:\n    Type: String\n    NoEcho: true\n"));
    }
    template.push_str("Resources:\n  T:\n    Type: AWS::SNS::Topic\n");
    emu.seed(&serde_json::json!({"ssm": ssm, "secrets": {"s/1": "a", "s/2": "b", "s/3": "c"}}));
    let dir = project(&[("stacks/many/template.yaml.j2", &template), ("environments/qa.toml", &params)]);
    let run = emu.stackc(dir.path(), &["-v", "plan", "qa"]);
    run.ok().stderr_has("resolved 28 distinct references: 3 SSM GetParameters calls, 1 Secrets Manager BatchGetSecretValue call, 0 GetSecretValue calls");
}

#[test]
fn password_from_keyring_feeds_the_cruddur_db_layer() {
    let emu = Emulator::start();
    let kr = KeyringService::start();
    emu.seed(&serde_json::json!({
        "ssm": {"/cruddur/qa/codestar-connection-arn": "arn:aws:codestar-connections:us-east-1:123456789012:connection/qa"},
        "certificates": [{"domain": "*.qa.cruddur.example.com"}],
        "ssm_certificate_arns": {"/cruddur/qa/certificate-arn": "*.qa.cruddur.example.com"},
        "zones": ["qa.cruddur.example.com"],
    }));
    let dir = shipped_copy();
    // qa takes the password from Secrets Manager, which holds none here; --password-from overrides it.
    emu.stackc_with(dir.path(), &["deploy", "qa", "networking", "cluster", "service", "db", "--yes"], &kr.vars(), None)
        .code(2)
        .stderr_has("secretsmanager:cruddur/qa/db#password");
    let set = emu.stackc_with(
        dir.path(),
        &["secret", "set", "qa", "db", "MasterUserPassword", "--to", "keyring"],
        &kr.vars(),
        Some("kr-password-0123456789\n"),
    );
    set.ok()
        .stdout_has("<secret from keyring:stackc/cruddur/qa/db/MasterUserPassword>")
        .stderr_has("--password-from keyring");
    let render = emu.stackc_with(
        dir.path(),
        &["render", "qa", "db", "--format", "cfn-toml-v2", "--password-from", "keyring"],
        &kr.vars(),
        None,
    );
    render.code(2).stderr_has("never prints a secret: db.MasterUserPassword");
    let render = emu.stackc_with(
        dir.path(),
        &["render", "qa", "db", "--format", "json", "--password-from", "keyring"],
        &kr.vars(),
        None,
    );
    render.ok().stdout_has("\"<secret from keyring:stackc/cruddur/qa/db/MasterUserPassword>\"");
    let check = emu.stackc_with(dir.path(), &["secret", "check", "qa", "--password-from", "keyring"], &kr.vars(), None);
    check.ok().stdout_has("MasterUserPassword").stdout_has(" ok");
    let deploy = emu.stackc_with(
        dir.path(),
        &["deploy", "qa", "networking", "cluster", "service", "db", "--yes", "--password-from", "keyring"],
        &kr.vars(),
        None,
    );
    deploy.ok();
    assert_eq!(emu.stacks()["cruddur-qa-db"]["parameters"]["MasterUserPassword"], "kr-password-0123456789");
    assert!(!deploy.stdout.contains("kr-password") && !deploy.stderr.contains("kr-password"));
}

/// The headline use, exactly: `stackc deploy qa db --password-from keyring` once all of qa is deployed
/// (the password moves from Secrets Manager to the keyring, and the RDS instance is updated in place).
#[test]
fn the_keyring_deploy_after_a_full_qa_deploy() {
    let emu = Emulator::start();
    let kr = KeyringService::start();
    let (sm_password, kr_password) = ("sm-canary-5c1e0a-not-printed", "kr-canary-77d2b9-not-printed");
    emu.seed(&serde_json::json!({
        "ssm": {"/cruddur/qa/codestar-connection-arn": "arn:aws:codestar-connections:us-east-1:123456789012:connection/qa"},
        "secrets": {"cruddur/qa/db": serde_json::json!({"password": sm_password, "username": "cruddurroot"}).to_string()},
        "certificates": [{"domain": "*.qa.cruddur.example.com"}],
        "ssm_certificate_arns": {"/cruddur/qa/certificate-arn": "*.qa.cruddur.example.com"},
        "zones": ["qa.cruddur.example.com"],
        "buckets": ["cruddur-qa-artifacts"],
    }));
    let dir = shipped_copy();
    let full = emu.stackc_with(dir.path(), &["deploy", "qa", "--yes"], &kr.vars(), None);
    full.ok();
    let endpoint_before = emu.stacks()["cruddur-qa-db"]["outputs"]["Endpoint"].clone();
    assert!(endpoint_before.as_str().is_some_and(|e| !e.is_empty()), "{endpoint_before}");
    let set = emu.stackc_with(
        dir.path(),
        &["secret", "set", "qa", "db", "MasterUserPassword", "--to", "keyring"],
        &kr.vars(),
        Some(&format!("{kr_password}\n")),
    );
    set.ok();
    let deploy =
        emu.stackc_with(dir.path(), &["deploy", "qa", "db", "--password-from", "keyring", "--yes"], &kr.vars(), None);
    deploy.ok().stdout_has("db (cruddur-qa-db): update").stdout_has("~ MasterUserPassword: (secret, masked)");
    let stacks = emu.stacks();
    let db = &stacks["cruddur-qa-db"];
    assert_eq!(db["status"], "UPDATE_COMPLETE", "{db}");
    assert_eq!(db["parameters"]["MasterUserPassword"], kr_password);
    assert_eq!(db["outputs"]["Endpoint"], endpoint_before, "the instance was updated in place, not lost");
    // Every command still works afterwards (the emulator used to answer HTTP 500 from here on).
    let status = emu.stackc_with(dir.path(), &["status", "qa"], &kr.vars(), None);
    status.ok();
    assert_eq!(status.stdout.matches("cruddur-qa-").count(), 7, "{}", status.stdout);
    let outputs = emu.stackc_with(dir.path(), &["outputs", "qa", "db"], &kr.vars(), None);
    outputs.ok().stdout_has("Endpoint");
    for run in [&full, &set, &deploy, &status, &outputs] {
        for secret in [sm_password, kr_password] {
            assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "{}{}", run.stdout, run.stderr);
        }
    }
    for (path, text) in files_under(dir.path()) {
        assert!(!text.contains(sm_password) && !text.contains(kr_password), "a secret was written to {path}");
    }
}

#[test]
fn secret_set_and_check() {
    let emu = Emulator::start();
    emu.seed(&serde_json::json!({"secrets": {"cruddur/qa/db": serde_json::json!({"username": "keep-me", "password": "old"}).to_string()}}));
    let dir = shipped_copy();
    // The environment's own source: one key of a JSON secret, the other keys kept.
    let set =
        emu.stackc_with(dir.path(), &["secret", "set", "qa", "db", "MasterUserPassword", "--generate"], &[], None);
    set.ok().stdout_has("stored a generated password for qa db MasterUserPassword in <secret from secretsmanager:cruddur/qa/db#password>");
    let check = emu.stackc(dir.path(), &["secret", "check", "qa"]);
    check.ok();
    assert!(
        check.stdout.lines().any(|l| l.contains("secretsmanager:cruddur/qa/db#password>") && l.ends_with(" ok")),
        "{}",
        check.stdout
    );
    let ssm_set = emu.stackc_with(
        dir.path(),
        &["secret", "set", "qa", "db", "MasterUserPassword", "--to", "ssm"],
        &[],
        Some("typed-into-a-pipe-123\n"),
    );
    ssm_set.ok().stdout_has("<secret from ssm-secure:/cruddur/qa/db/MasterUserPassword>");
    assert_eq!(emu.ssm()["/cruddur/qa/db/MasterUserPassword"], "typed-into-a-pipe-123");
    emu.stackc_with(dir.path(), &["secret", "set", "qa", "db", "MasterUserPasswd"], &[], Some("x"))
        .code(2)
        .stderr_has("layer `db` has no parameter `MasterUserPasswd`")
        .stderr_has("did you mean `MasterUserPassword`?");
    emu.stackc_with(dir.path(), &["secret", "set", "qa", "db", "InstanceClass", "--to", "ssm"], &[], Some("x"))
        .code(2)
        .stderr_has("is not declared `NoEcho: true`");
    emu.stackc_with(dir.path(), &["secret", "set", "qa", "db", "MasterUserPassword"], &[], Some(""))
        .code(2)
        .stderr_has("empty");
    emu.stackc_with(dir.path(), &["secret", "set", "qa", "db", "MasterUserPassword"], &[], Some("short"))
        .code(2)
        .stderr_has("the value is shorter than MinLength 12 (5 characters)");
    let at = emu.stackc_with(
        dir.path(),
        &["secret", "set", "qa", "db", "MasterUserPassword"],
        &[],
        Some("has-an-@-sign-canary"),
    );
    at.code(2).stderr_has("does not match AllowedPattern").stderr_has("nothing was stored");
    assert!(!at.stderr.contains("has-an-@"), "{}", at.stderr);
    let missing = emu.stackc(dir.path(), &["secret", "check", "qa", "--password-from", "ssm"]);
    missing.ok();
    assert!(
        missing
            .stdout
            .lines()
            .any(|l| l.contains("ssm-secure:/cruddur/qa/db/MasterUserPassword>") && l.ends_with(" ok")),
        "{}",
        missing.stdout
    );
    let json = emu.stackc(dir.path(), &["secret", "check", "qa", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert!(
        v["secrets"].as_array().unwrap().iter().any(|x| x["parameter"] == "MasterUserPassword" && x["ok"] == true),
        "{v}"
    );
    let gone =
        emu.stackc(dir.path(), &["secret", "check", "qa", "--password-from", "secretsmanager", "--output", "json"]);
    gone.code(1);
    let v: serde_json::Value = serde_json::from_str(&gone.stdout).unwrap();
    assert_eq!(v["ok"], false, "{v}");
    let absent = emu.stackc(dir.path(), &["secret", "check", "qa", "--password-from", "secretsmanager"]);
    absent.code(1).stdout_has(
        "MISSING: Secrets Manager secret `cruddur/qa/db` has no key `MasterUserPassword`"
            .replace("Secrets Manager secret `cruddur/qa/db` has no key", "secret `cruddur/qa/db` has no key")
            .as_str(),
    );
}

#[test]
fn a_prompt_without_a_terminal_is_an_error_not_a_hang() {
    let emu = Emulator::start();
    let dir = probe_project();
    std::fs::write(
        dir.path().join("environments/qa.toml"),
        std::fs::read_to_string(dir.path().join("environments/qa.toml"))
            .unwrap()
            .replace("Kr = { from = \"keyring\" }", "Kr = { from = \"prompt\", message = \"Probe password\" }"),
    )
    .unwrap();
    let run = emu.stackc_with(dir.path(), &["plan", "qa"], &[("STACKC_KEYRING".into(), "keyutils".into())], None);
    run.code(2).stderr_has("`Probe password` must be typed on a terminal, and there is none");
}

#[test]
fn keyutils_is_the_fallback_without_a_secret_service() {
    let dir = project(&[
        (
            "stacks/app/template.yaml.j2",
            "Parameters:\n  Pw:\n    Type: String\n    NoEcho: true\nResources:\n  T:\n    Type: AWS::SNS::Topic\n",
        ),
        ("environments/qa.toml", "region = \"us-east-1\"\n[layers.app.parameters]\nPw = { from = \"keyring\" }\n"),
    ]);
    let bin = env!("CARGO_BIN_EXE_stackc");
    let script = format!("printf %s canary-keyutils-0123 | {bin} secret set qa app Pw && {bin} secret check qa");
    let out = std::process::Command::new("keyctl")
        .args(["session", "-", "sh", "-c", &script])
        .current_dir(dir.path())
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env_remove("STACKC_KEYRING")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .output()
        .expect("keyctl (Debian package keyutils) runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("(OS keyring: kernel keyutils)"), "{stdout}");
    assert!(stdout.lines().any(|l| l.contains("keyring:stackc/demo/qa/app/Pw>") && l.ends_with(" ok")), "{stdout}");
    assert!(!stdout.contains("canary-keyutils") && !stderr.contains("canary-keyutils"));
    // The entry lived in that session's keyring only.
    let outside = stackc_env(
        dir.path(),
        &["secret", "check", "qa"],
        &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus"), ("AWS_REGION", "us-east-1")],
    );
    outside.code(1).stdout_has("MISSING");
}

#[test]
fn secret_set_reads_a_terminal_without_echo() {
    let emu = Emulator::start();
    let dir = shipped_copy();
    let typed = "typed-on-a-tty-4242";
    let spec = serde_json::json!({
        "argv": [env!("CARGO_BIN_EXE_stackc"), "secret", "set", "qa", "db", "MasterUserPassword", "--to", "ssm"],
        "cwd": dir.path(),
        "env": {"AWS_ENDPOINT_URL": emu.url(), "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "us-east-1", "NO_COLOR": "1"},
        "answers": [["value for qa db MasterUserPassword", typed], ["again", typed]],
    });
    let run = emu.python("pty_run.py", &spec.to_string());
    run.ok();
    let result: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let output = result["output"].as_str().unwrap();
    assert_eq!(result["code"], 0, "{output}");
    assert!(output.contains("value for qa db MasterUserPassword") && output.contains("again"), "{output}");
    assert!(
        output
            .contains("stored qa db MasterUserPassword in <secret from ssm-secure:/cruddur/qa/db/MasterUserPassword>"),
        "{output}"
    );
    assert!(!output.contains(typed), "the typed value was echoed: {output}");
    assert_eq!(emu.ssm()["/cruddur/qa/db/MasterUserPassword"], typed);
    // Two different entries store nothing.
    let spec = serde_json::json!({
        "argv": [env!("CARGO_BIN_EXE_stackc"), "secret", "set", "qa", "db", "MasterUserPassword", "--to", "ssm"],
        "cwd": dir.path(),
        "env": {"AWS_ENDPOINT_URL": emu.url(), "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "us-east-1"},
        "answers": [["value for", "first-value-1234"], ["again", "other-value-1234"]],
    });
    let run = emu.python("pty_run.py", &spec.to_string());
    let result: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(result["code"], 2, "{}", result["output"]);
    assert!(result["output"].as_str().unwrap().contains("the two entries differ"));
    assert_eq!(emu.ssm()["/cruddur/qa/db/MasterUserPassword"], typed);
}

#[test]
fn status_and_diff_never_ask_for_a_secret() {
    let emu = Emulator::start();
    let dir = project(&[
        ("stacks/app/template.yaml", "Parameters:\n  Pw:\n    Type: String\n    NoEcho: true\n  Size:\n    Type: String\nResources:\n  T:\n    Type: AWS::SNS::Topic\n"),
        ("environments/qa.toml", "region = \"us-east-1\"\n[layers.app.parameters]\nPw = { from = \"env\", var = \"APP_PW\", secret = true }\nSize = \"s\"\n"),
    ]);
    let pw = [("APP_PW".to_string(), "status-canary-123".to_string())];
    emu.stackc_with(dir.path(), &["deploy", "qa", "--yes"], &pw, None).ok();
    // Now the password would have to be typed: status and diff must not need it.
    std::fs::write(
        dir.path().join("environments/qa.toml"),
        "region = \"us-east-1\"\n[layers.app.parameters]\nPw = { from = \"prompt\" }\nSize = \"m\"\n",
    )
    .unwrap();
    emu.stackc(dir.path(), &["status", "qa"]).ok().stdout_has("differs from the project");
    emu.stackc(dir.path(), &["diff", "qa"])
        .code(1)
        .stdout_has("~ Size: s -> m")
        .stdout_has("masked and not compared: app.Pw");
    emu.stackc(dir.path(), &["plan", "qa"]).code(2).stderr_has("must be typed on a terminal");
}

/// A resolved secret that breaks the template's constraints stops the run before any change set,
/// named by environment, layer and parameter, and never shown.
#[test]
fn a_resolved_secret_that_breaks_a_constraint_stops_before_aws() {
    let emu = Emulator::start();
    let bad = "short-cnry";
    emu.seed(&serde_json::json!({
        "ssm": {"/cruddur/qa/codestar-connection-arn": "arn:aws:codestar-connections:us-east-1:123456789012:connection/qa"},
        "secrets": {"cruddur/qa/db": serde_json::json!({"password": bad}).to_string()},
        "certificates": [{"domain": "*.qa.cruddur.example.com"}],
        "ssm_certificate_arns": {"/cruddur/qa/certificate-arn": "*.qa.cruddur.example.com"},
        "zones": ["qa.cruddur.example.com"],
    }));
    let dir = shipped_copy();
    for args in [vec!["plan", "qa"], vec!["deploy", "qa", "--yes"]] {
        let run = emu.stackc(dir.path(), &args);
        run.code(2)
            .stderr_has("environment `qa`, layer `db`, parameter `MasterUserPassword`: the secret <secret from secretsmanager:cruddur/qa/db#password> is shorter than MinLength 12 (10 characters)")
            .stderr_has("nothing was sent to AWS");
        assert!(!run.stdout.contains(bad) && !run.stderr.contains(bad), "{}{}", run.stdout, run.stderr);
    }
    assert!(emu.stacks().as_object().is_none_or(|m| m.is_empty()), "no stack was made: {}", emu.stacks());
}

/// An output that carries a NoEcho parameter would hand the secret to anyone who can describe the
/// stack: validate and deploy refuse it, and `outputs` masks it on a stack deployed by other means.
#[test]
fn a_secret_in_an_output_is_refused_and_masked() {
    let emu = Emulator::start();
    let canary = "output-canary-4411aa";
    let template = "Parameters:\n  Pw:\n    Type: String\n    NoEcho: true\nResources:\n  T:\n    Type: AWS::SNS::Topic\nOutputs:\n  TopicArn:\n    Value: !Ref T\n  Url:\n    Value: !Sub 'postgres://root:${Pw}@db'\n";
    let dir = project(&[
        ("stacks/app/template.yaml", template),
        ("environments/qa.toml", "region = \"us-east-1\"\n[layers.app.parameters]\nPw = { from = \"env\", var = \"APP_PW\", secret = true }\n"),
    ]);
    let pw = [("APP_PW".to_string(), canary.to_string())];
    let validate = emu.stackc_with(dir.path(), &["validate", "qa"], &pw, None);
    validate
        .code(2)
        .stderr_has("environment `qa`, layer `app`: output `Url` carries the NoEcho parameter `Pw`")
        .stderr_has("stacks/app/template.yaml");
    let deploy = emu.stackc_with(dir.path(), &["deploy", "qa", "--yes"], &pw, None);
    deploy.code(2).stderr_has("output `Url` carries the NoEcho parameter `Pw`").stderr_has("nothing was sent to AWS");
    assert!(emu.stacks().as_object().is_none_or(|m| m.is_empty()));
    // Deployed anyway, with the AWS CLI: stackc masks the output.
    let aws = std::process::Command::new(venv().join("bin/aws"))
        .args(["cloudformation", "deploy", "--stack-name", "demo-qa-app", "--template-file"])
        .arg(dir.path().join("stacks/app/template.yaml"))
        .args(["--parameter-overrides", &format!("Pw={canary}")])
        .envs([
            ("AWS_ENDPOINT_URL", emu.url().as_str()),
            ("AWS_ACCESS_KEY_ID", "x"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ])
        .output()
        .unwrap();
    assert!(aws.status.success(), "{}", String::from_utf8_lossy(&aws.stderr));
    assert!(
        emu.stacks()["demo-qa-app"]["outputs"]["Url"].as_str().unwrap().contains(canary),
        "the setup leaks, as meant"
    );
    let text = emu.stackc(dir.path(), &["outputs", "qa"]);
    text.ok()
        .stdout_has("Url")
        .stdout_has("********")
        .stdout_has("TopicArn")
        .stderr_has("masked app.Url (it carries the NoEcho parameter `Pw`)");
    let json = emu.stackc(dir.path(), &["outputs", "qa", "app", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    assert_eq!(v["Url"], "********");
    assert!(v["TopicArn"].as_str().unwrap().starts_with("arn:"));
    for run in [&validate, &deploy, &text, &json] {
        assert!(!run.stdout.contains(canary) && !run.stderr.contains(canary), "{}{}", run.stdout, run.stderr);
    }
}
