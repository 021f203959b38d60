//! Hostile and broken input: every case is a clear error (exit 2) naming where, in bounded time, never a
//! panic or a hang. The property test at the end throws mutated environment files, value references and
//! templates at the real binary.

mod support;

use std::time::{Duration, Instant};

use support::*;

const TOPIC: &str = "Resources:\n  T:\n    Type: AWS::SNS::Topic\n";

fn one_layer(template: &str, env: &str) -> tempfile::TempDir {
    project(&[("stacks/app/template.yaml.j2", template), ("environments/qa.toml", env)])
}

/// Runs stackc and checks it ends in time, with exit 2, and no panic.
fn refused(dir: &std::path::Path, args: &[&str]) -> Run {
    let start = Instant::now();
    let run = stackc(dir, args);
    assert!(start.elapsed() < Duration::from_secs(20), "took {:?}", start.elapsed());
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run.code(2);
    run
}

#[test]
fn runaway_templates_stop_with_the_place() {
    let env = "region = \"us-east-1\"\n";
    let forever = "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Metadata:\n      X: \"{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}\"\n";
    refused(one_layer(forever, env).path(), &["render", "qa"])
        .stderr_has("layer `app`: cannot render")
        .stderr_has("stacks/app/template.yaml.j2:5:")
        .stderr_has("rendering stopped after");
    let repeated =
        "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Metadata:\n      X: \"{{ 'x' * 1000000000000 }}\"\n";
    refused(one_layer(repeated, env).path(), &["render", "qa"]).stderr_has("stacks/app/template.yaml.j2:5:");
    let recursive = "{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}Resources: {{ m(0) }}\n";
    refused(one_layer(recursive, env).path(), &["render", "qa"]).stderr_has("layer `app`");
}

/// Memory that runs out (a value doubled in a loop, or a low `ulimit -v`) ends with our sentence and exit 1,
/// not Rust's abort (exit 134, "memory allocation of N bytes failed").
#[cfg(unix)]
#[test]
fn memory_that_runs_out_ends_with_a_sentence_not_an_abort() {
    let env = "region = \"us-east-1\"\n";
    let string = "{% set ns = namespace(s='xxxxxxxxxxxxxxxx') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}Resources: {}\n";
    let list = "{% set ns = namespace(l=[1, 2, 3, 4]) %}{% for i in range(60) %}{% set ns.l = ns.l + ns.l %}{% endfor %}Resources: {}\n";
    for template in [string, list] {
        let dir = one_layer(template, env);
        let start = Instant::now();
        // Under a 1.5 GB address-space limit, as a small CI runner or a container might set.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -v 1500000; exec {} render qa --stdout", env!("CARGO_BIN_EXE_stackc")))
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(start.elapsed() < Duration::from_secs(30), "took {:?}", start.elapsed());
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.starts_with("error: out of memory: stackc was asked for "), "{stderr}");
        assert!(stderr.contains("doubles a string or a list"), "{stderr}");
        assert!(!stderr.contains("memory allocation of"), "{stderr}");
    }
}

/// A filter over a huge lazy sequence runs in one minijinja instruction, so fuel cannot stop it: the
/// watchdog does, after 30 s, naming the template or the expression (both run at once here).
#[test]
fn work_that_fuel_cannot_see_is_stopped_by_the_clock() {
    let huge = "((range(100000)|list) * 100000)|sum";
    let template = one_layer(&format!("Resources: {{}}\n# {{{{ {huge} }}}}\n"), "region = \"us-east-1\"\n");
    let expr = one_layer(
        TOPIC,
        &format!("region = \"us-east-1\"\n[values]\nbig = {{ from = \"expr\", expr = \"{huge}\" }}\n"),
    );
    let start = Instant::now();
    let runs: Vec<Run> = std::thread::scope(|s| {
        let a = s.spawn(|| stackc(template.path(), &["render", "qa", "--stdout"]));
        let b = s.spawn(|| stackc(expr.path(), &["render", "qa", "--stdout"]));
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    assert!(start.elapsed() < Duration::from_secs(45), "took {:?}", start.elapsed());
    runs[0].code(2).stderr_has("layer `app`: rendering `app/template.yaml.j2` has run for 3");
    runs[1].code(2).stderr_has(&format!("expression `{huge}` has run for 3"));
}

#[test]
fn includes_cannot_leave_stacks() {
    let env = "region = \"us-east-1\"\n";
    for include in ["../../etc/passwd", "/etc/passwd", "../environments/qa.toml"] {
        let t = format!("{{% include \"{include}\" %}}\n{TOPIC}");
        refused(one_layer(&t, env).path(), &["render", "qa"]).stderr_has("layer `app`: cannot render");
    }
}

#[test]
fn extends_cannot_name_paths_or_loop() {
    for ext in ["../../etc/x", "/tmp/x", "sub/env", ".hidden"] {
        let env = format!("extends = \"{ext}\"\nregion = \"us-east-1\"\n");
        refused(one_layer(TOPIC, &env).path(), &["validate", "qa"])
            .stderr_has("`extends` names environment files by name")
            .stderr_has("environments/qa.toml:1:");
    }
    let dir = one_layer(TOPIC, "extends = \"_a\"\nregion = \"us-east-1\"\n");
    write(dir.path(), "environments/_a.toml", "extends = \"_b\"\n");
    write(dir.path(), "environments/_b.toml", "extends = \"_a\"\n");
    refused(dir.path(), &["validate", "qa"]).stderr_has("`extends` forms a cycle");
}

#[test]
fn file_sources_stay_in_the_project() {
    let template = "Parameters:\n  P:\n    Type: String\nResources:\n  T:\n    Type: AWS::SNS::Topic\n";
    for path in ["../outside.txt", "/etc/hostname", "a/../../outside.txt"] {
        let env =
            format!("region = \"us-east-1\"\n[layers.app.parameters]\nP = {{ from = \"file\", path = \"{path}\" }}\n");
        refused(one_layer(template, &env).path(), &["validate", "qa"])
            .stderr_has("a `file` reference's `path` must stay inside the project")
            .stderr_has("environments/qa.toml:3:");
    }
    // A link inside the project that leads out is caught when it is read.
    let env = "region = \"us-east-1\"\n[layers.app.parameters]\nP = { from = \"file\", path = \"link.txt\" }\n";
    let dir = one_layer(template, env);
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(outside.path(), "outside-canary").unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("link.txt")).unwrap();
    let run = refused(dir.path(), &["render", "qa", "--format", "json"]);
    run.stderr_has("leads outside the project");
    assert!(!run.stdout.contains("outside-canary") && !run.stderr.contains("outside-canary"));
}

#[test]
fn yaml_bombs_and_deep_nesting_are_errors() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let p = i - 1;
        bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
    }
    bomb.push_str("Resources: *a8\n");
    let dir = project(&[("stacks/app/template.yaml", &bomb), ("environments/qa.toml", "region = \"us-east-1\"\n")]);
    refused(dir.path(), &["validate", "qa"]).stderr_has("layer `app`");
    let deep = format!("Resources: {}{}\n", "[".repeat(50_000), "]".repeat(50_000));
    let dir = project(&[("stacks/app/template.yaml", &deep), ("environments/qa.toml", "region = \"us-east-1\"\n")]);
    refused(dir.path(), &["validate", "qa"])
        .stderr_has("nest more than 256 levels")
        .stderr_has("stacks/app/template.yaml (rendered):1:1");
}

#[test]
fn cloudformation_hard_limits_are_findings() {
    let mut t = String::from("Parameters:\n");
    for i in 0..201 {
        t.push_str(&format!("  P{i}:\n    Type: String\n    Default: x\n"));
    }
    t.push_str("Resources:\n");
    for i in 0..501 {
        t.push_str(&format!("  T{i}:\n    Type: AWS::SNS::Topic\n"));
    }
    t.push_str("  Bad_Name:\n    Type: AWS::SNS::Topic\n");
    let env = "region = \"us-east-1\"\nstack_name = \"9-{project}_{env}\"\n";
    let dir = project(&[("stacks/app/template.yaml", &t), ("environments/qa.toml", env)]);
    refused(dir.path(), &["validate", "qa"])
        .stderr_has("the template has 502 Resources; CloudFormation allows 500")
        .stderr_has("the template has 201 Parameters; CloudFormation allows 200")
        .stderr_has("`Bad_Name` in Resources is not a valid logical ID")
        .stderr_has("`9-demo_qa` is not a valid stack name");
}

#[test]
fn bad_schedules_and_cidrs_are_named() {
    let dir = project(&[
        ("stackc.toml", "name = \"demo\"\n[checks]\nschedule = [\"jobs.*.at\"]\ncidr = [\"blocks\"]\n"),
        ("stacks/app/template.yaml.j2", TOPIC),
        (
            "environments/qa.toml",
            "region = \"us-east-1\"\n[values]\njobs = [{ at = \"at(2026-02-30T09:00:00)\" }, { at = \"at(2026-03-01T09:00:00)\" }]\nblocks = [\"2001:db8::/56\", \"2001:db8::1/64\", \"10.0.0.0/8\"]\n",
        ),
    ]);
    refused(dir.path(), &["validate", "qa"])
        .stderr_has("value `jobs.0.at`: `at(2026-02-30T09:00:00)` is not a valid EventBridge schedule: at(): 2026-02 has no day 30")
        .stderr_has("`2001:db8::1/64` has host bits set; the block is 2001:db8::/64")
        .stderr_has("validation failed with 2 findings");
}

/// A small deterministic generator (xorshift), so a failure names the case that made it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

/// Mutates a valid input: deletes, duplicates or inserts troublesome pieces at random places.
fn mutate(rng: &mut Rng, text: &str) -> String {
    const PIECES: &[&str] = &[
        "\"",
        "'",
        "{",
        "}",
        "[",
        "]",
        "=",
        "\n",
        "{{",
        "}}",
        "{%",
        "%}",
        "\\",
        "\u{0}",
        "é",
        "🙂",
        "..",
        "/",
        "[[",
        "]]",
        "from = \"",
        "!Ref",
        "*a",
        "&a",
        ":",
        "- ",
        "\t",
        "#",
        "inf",
        "nan",
        "-0",
        "1e999",
        "0x10",
    ];
    let mut s: Vec<char> = text.chars().collect();
    for _ in 0..(1 + rng.next() % 4) {
        let at = (rng.next() % (s.len() as u64 + 1)) as usize;
        match rng.next() % 3 {
            0 if !s.is_empty() => {
                let end = (at + 1 + (rng.next() % 8) as usize).min(s.len());
                s.drain(at.min(s.len())..end);
            }
            1 => {
                let piece = rng.pick(PIECES);
                for (i, c) in piece.chars().enumerate() {
                    s.insert(at + i, c);
                }
            }
            _ => {
                let end = (at + (rng.next() % 16) as usize).min(s.len());
                let copy: Vec<char> = s[at.min(end)..end].to_vec();
                for (i, c) in copy.into_iter().enumerate() {
                    s.insert(at + i, c);
                }
            }
        }
    }
    s.into_iter().collect()
}

#[test]
fn mutated_inputs_never_panic_and_errors_say_where() {
    let env = "extends = \"_base\"\nregion = \"us-east-1\"\ntimeout_minutes = 30\nartifact_buckets = { \"eu-west-1\" = \"b-west\" }\n[tags]\nOwner = \"a\"\n[values]\nname = \"web\"\nports = [80, 443]\n[layers.app.parameters]\nSize = { from = \"expr\", expr = \"name ~ '-1'\" }\nPw = { from = \"env\", var = \"PW\", secret = true }\nVpc = { from = \"output\", layer = \"net\", output = \"VpcId\" }\n[layers.guard.stackset]\naccounts = [\"111111111111\"]\nregions = [\"us-east-1\", \"eu-west-1\"]\nmax_concurrent_percent = 50\n";
    let base = "[values]\nname = \"base\"\n";
    let template = "Parameters:\n  Size:\n    Type: String\n  Pw:\n    Type: String\n    NoEcho: true\n  Vpc:\n    Type: String\nResources:\n{% for p in ports %}  Topic{{ p }}:\n    Type: AWS::SNS::Topic\n    Properties:\n      DisplayName: !Sub \"${AWS::StackName}-{{ name }}-{{ p }}\"\n{% endfor %}";
    let net = "Resources:\n  V:\n    Type: AWS::EC2::VPC\n    Properties: {CidrBlock: 10.0.0.0/16}\nOutputs:\n  VpcId:\n    Value: !Ref V\n";
    let seed: u64 = std::env::var("STACKC_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_1234_abcd);
    let cases: u64 = std::env::var("STACKC_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    let mut rng = Rng(seed);
    let dir = project(&[
        ("stacks/app/layer.toml", "depends_on = [\"net\"]\n"),
        ("stacks/net/template.yaml", net),
        ("stacks/guard/template.yaml", "Resources:\n  T:\n    Type: AWS::SNS::Topic\n"),
        ("stacks/guard/layer.toml", "deploy_as = \"stackset\"\n[stackset]\nfailure_tolerance = 0\n"),
        ("environments/_base.toml", base),
    ]);
    let mut failures = Vec::new();
    for case in 0..cases {
        let (which, mutated) = match case % 3 {
            0 => ("environments/qa.toml", mutate(&mut rng, env)),
            1 => ("stacks/app/template.yaml.j2", mutate(&mut rng, template)),
            _ => ("environments/_base.toml", mutate(&mut rng, base)),
        };
        write(dir.path(), "environments/qa.toml", if which == "environments/qa.toml" { &mutated } else { env });
        write(dir.path(), "stacks/app/template.yaml.j2", if which.starts_with("stacks") { &mutated } else { template });
        write(dir.path(), "environments/_base.toml", if which == "environments/_base.toml" { &mutated } else { base });
        let start = Instant::now();
        let run = stackc_env(dir.path(), &["validate", "qa"], &[("PW", "fuzz-canary-secret")]);
        let took = start.elapsed();
        let problem = if run.stderr.contains("panicked") || run.code > 2 || run.code < 0 {
            Some(format!("exit {} (panic or signal)", run.code))
        } else if took > Duration::from_secs(10) {
            Some(format!("took {took:?}"))
        } else if run.code == 2 && !run.stderr.contains("error:") {
            Some("exit 2 without an error".into())
        } else if run.code == 2
            && !(run.stderr.contains(".toml") || run.stderr.contains("template.yaml") || run.stderr.contains("layer `"))
        {
            Some("an error that names no file or layer".into())
        } else if run.stdout.contains("fuzz-canary-secret") || run.stderr.contains("fuzz-canary-secret") {
            Some("the secret was printed".into())
        } else {
            None
        };
        if let Some(p) = problem {
            failures
                .push(format!("case {case} ({which}): {p}\n--- input ---\n{mutated}\n--- stderr ---\n{}", run.stderr));
        }
    }
    assert!(failures.is_empty(), "{} of {cases} cases failed (seed {seed}):\n{}", failures.len(), failures.join("\n"));
}

/// Templates and settings CloudFormation would refuse, refused by validate with where; and valid
/// templates (the language extensions' ForEach) that must pass.
#[test]
fn declarations_cloudformation_refuses_are_refused_offline() {
    let env = "region = \"us-east-1\"\n";
    let cases: &[(&str, &str)] = &[
        ("Parameters:\n  P: {Type: String, AllowedPattern: '[a-z', Default: a}\nResources:\n  T:\n    Type: AWS::SNS::Topic\n", "AllowedPattern `[a-z` is not a valid pattern"),
        ("Parameters:\n  P: {Type: String, MinLength: 5, MaxLength: 2, Default: abc}\nResources:\n  T:\n    Type: AWS::SNS::Topic\n", "MinLength 5 is more than MaxLength 2"),
        ("Parameters:\n  P: {Type: Number, Default: NaN}\nResources:\n  T:\n    Type: AWS::SNS::Topic\n", "Default of a Number"),
        ("Parameters:\n  P: {Type: Number, Default: 1e999}\nResources:\n  T:\n    Type: AWS::SNS::Topic\n", "not a finite number"),
        ("Parameters:\n  P: {Type: Number, MinValue: low, Default: 1}\nResources:\n  T:\n    Type: AWS::SNS::Topic\n", "MinValue: `low` is not a number"),
        ("Parameters:\n  P: {Type: String, AllowedValues: [a, b], Default: c}\nResources:\n  T:\n    Type: AWS::SNS::Topic\n", "its Default `c` breaks its own constraints"),
        ("Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Condition: Nope\n", "condition `Nope` is not defined"),
        ("Mappings:\n  M: {a: {b: c}}\nResources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: !Ref M}\n", "names a mapping"),
        ("Resources:\n  T:\n    Properties: {}\n", "resource `T` has no `Type`"),
        ("Resources:\n  T:\n    Type: AWS::SNS::Topic\nOutputs:\n  O:\n    Value: null\n", "output `O` has no value"),
    ];
    for (template, says) in cases {
        refused(one_layer(template, env).path(), &["validate", "qa"])
            .stderr_has(says)
            .stderr_has("stacks/app/template.yaml.j2:");
    }
    let tags: String = (0..60).map(|i| format!("k{i} = \"v\"\n")).collect();
    refused(one_layer(TOPIC, &format!("{env}[tags]\n{tags}")).path(), &["validate", "qa"])
        .stderr_has("CloudFormation allows 50");
    refused(one_layer(TOPIC, &format!("{env}[tags]\n\"aws:team\" = \"x\"\n")).path(), &["validate", "qa"])
        .stderr_has("reserved for AWS");
    refused(one_layer(TOPIC, &format!("{env}[tags]\nlong = \"{}\"\n", "v".repeat(300))).path(), &["validate", "qa"])
        .stderr_has("more than 256");
    let own = "Parameters:\n  X: {Type: String}\nResources:\n  T:\n    Type: AWS::SNS::Topic\nOutputs:\n  Arn:\n    Value: !Ref T\n";
    let dir = one_layer(
        own,
        &format!("{env}[layers.app.parameters]\nX = {{ from = \"output\", layer = \"app\", output = \"Arn\" }}\n"),
    );
    refused(dir.path(), &["validate", "qa"]).stderr_has("takes an output of its own stack");
    let foreach = "Transform: AWS::LanguageExtensions\nResources:\n  Fn::ForEach::Topics:\n    - Name\n    - [a, b]\n    - Topic${Name}:\n        Type: AWS::SNS::Topic\n";
    stackc(one_layer(foreach, env).path(), &["validate", "qa"]).ok();
}

/// The nesting pre-check reads strings, comments and block scalars: valid templates with many brackets
/// in text pass, and brackets hidden behind an apostrophe inside a word are still counted (fast).
#[test]
fn the_nesting_check_has_no_false_positives_and_no_blind_spot() {
    let env = "region = \"us-east-1\"\n";
    let code = format!(
        "Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Role: arn:aws:iam::123456789012:role/r\n      Runtime: python3.12\n      Handler: index.h\n      Code:\n        ZipFile: |\n          x = {}\n",
        "{ ".repeat(300) // spaced: `{{` is the template language's own
    );
    stackc(one_layer(&code, env).path(), &["validate", "qa"]).ok();
    let hidden = format!("Resources: {}it's{}\n", "[".repeat(10), "[".repeat(100_000));
    refused(one_layer(&hidden, env).path(), &["validate", "qa"]).stderr_has("nest more than 256");
}

/// `stackc status qa` of a one-layer project against the endpoint on `port` (and one more variable):
/// the run and the endpoint's URL.
fn status_against(port: u16, var: (&str, &str)) -> (Run, String) {
    let dir = project(&[("stacks/app/template.yaml", TOPIC), ("environments/qa.toml", "region = \"us-east-1\"\n")]);
    let url = format!("http://127.0.0.1:{port}");
    let vars = [("AWS_ENDPOINT_URL", url.as_str()), ("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "x"), var];
    (stackc_env(dir.path(), &["status", "qa"], &vars), url)
}

/// An endpoint that accepts the connection and never answers ends in a message naming the timeout, in
/// bounded time (read timeout 1 s here; every attempt of the SDK's retries times out too).
#[test]
fn an_endpoint_that_never_answers_times_out_with_a_message() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream); // accepted, never answered
        }
    });
    let start = Instant::now();
    let (run, _) = status_against(port, ("STACKC_READ_TIMEOUT", "1"));
    assert!(start.elapsed() < Duration::from_secs(60), "took {:?}", start.elapsed());
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(run.stderr.contains("timed out") || run.stderr.contains("timeout"), "{}", run.stderr);
    eprintln!("gave up after {:?}: {}", start.elapsed(), run.stderr.trim());
}

/// Links out of the project are refused for every kind of path stackc reads, naming the link and never a
/// line of what it points at; files that are not files (a fifo, a device, a folder) are named as such
/// without blocking.
#[cfg(unix)]
#[test]
fn links_out_and_files_that_are_not_files_are_refused_without_reading_them() {
    let outside = tempfile::tempdir().unwrap();
    let creds = outside.path().join("credentials");
    std::fs::write(&creds, "[default]\naws_access_key_id = AKIAOUTSIDE0000\nnot toml at all [[\n").unwrap();
    let env = "region = \"us-east-1\"\n";
    // extends through a link.
    let dir = one_layer(TOPIC, "extends = \"_shared\"\nregion = \"us-east-1\"\n");
    std::os::unix::fs::symlink(&creds, dir.path().join("environments/_shared.toml")).unwrap();
    let r = refused(dir.path(), &["validate", "qa"]);
    r.stderr_has("leads outside the project");
    assert!(!r.stderr.contains("AKIA") && !r.stdout.contains("AKIA"), "{}", r.stderr);
    // An include through a linked folder.
    let dir = one_layer(&format!("{{% include \"_lib/credentials\" %}}\n{TOPIC}"), env);
    std::os::unix::fs::symlink(outside.path(), dir.path().join("stacks/_lib")).unwrap();
    for args in [&["render", "qa", "--stdout"][..], &["validate", "qa"][..]] {
        let r = refused(dir.path(), args);
        r.stderr_has("leads outside the project");
        assert!(!r.stderr.contains("AKIA") && !r.stdout.contains("AKIA"), "{}", r.stderr);
    }
    // A `file` source that is a link to a device, and one that is a fifo.
    let dir = one_layer(
        "Parameters:\n  P: {Type: String}\nResources:\n  T:\n    Type: AWS::SNS::Topic\n",
        &format!("{env}[layers.app.parameters]\nP = {{ from = \"file\", path = \"value.txt\" }}\n"),
    );
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("value.txt")).unwrap();
    refused(dir.path(), &["render", "qa"]).stderr_has("leads outside the project");
    std::fs::remove_file(dir.path().join("value.txt")).unwrap();
    if std::process::Command::new("mkfifo").arg(dir.path().join("value.txt")).status().is_ok_and(|s| s.success()) {
        refused(dir.path(), &["render", "qa"]).stderr_has("is a fifo, not a file");
        // An environment file that is a fifo.
        let dir = one_layer(TOPIC, env);
        std::fs::remove_file(dir.path().join("environments/qa.toml")).unwrap();
        std::process::Command::new("mkfifo").arg(dir.path().join("environments/qa.toml")).status().unwrap();
        refused(dir.path(), &["validate", "qa"]).stderr_has("is a fifo, not a file");
    }
}

/// A parameter value over CloudFormation's 4096 bytes is refused before anything is sent, naming the
/// parameter; a plain value is shown cut, a secret not at all.
#[test]
fn a_parameter_value_over_4096_bytes_is_refused_with_its_name() {
    let template = "Parameters:\n  Big: {Type: String}\n  Hidden: {Type: String, NoEcho: true}\nResources:\n  T:\n    Type: AWS::SNS::Topic\n";
    let env = "region = \"us-east-1\"\n[layers.app.parameters]\nBig = { from = \"file\", path = \"big.txt\" }\nHidden = { from = \"env\", var = \"HIDDEN_BIG\", secret = true }\n";
    let dir = one_layer(template, env);
    write(dir.path(), "big.txt", &"b".repeat(5000));
    let secret = format!("canary-{}", "s".repeat(4200));
    let run = stackc_env(dir.path(), &["validate", "qa"], &[("HIDDEN_BIG", &secret)]);
    run.code(2)
        .stderr_has("layer `app`, parameter `Big`: `bbbbbbbbbb")
        .stderr_has("(5000 bytes) is 5000 bytes, more than the 4096 CloudFormation takes for one parameter value")
        .stderr_has("parameter `Hidden`: the secret")
        .stderr_has("is 4207 bytes");
    assert!(!run.stderr.contains(&"b".repeat(100)), "the value is cut: {}", run.stderr);
    assert!(!run.stderr.contains("canary-") && !run.stdout.contains("canary-"), "{}", run.stderr);
}

/// `secret set` reading an endless stdin (/dev/zero) stops at 64 KiB with a message: nothing stored,
/// nothing sent, no memory growing without end.
#[test]
fn secret_set_from_an_endless_stdin_is_bounded() {
    let template = "Parameters:\n  Pw: {Type: String, NoEcho: true}\nResources:\n  T:\n    Type: AWS::SNS::Topic\n";
    let dir = one_layer(template, "region = \"us-east-1\"\n");
    let start = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stackc"))
        .current_dir(dir.path())
        .args(["secret", "set", "qa", "app", "Pw", "--to", "ssm", "--endpoint-url", "http://127.0.0.1:9"])
        .env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(20), "took {:?}", start.elapsed());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the value on stdin is longer than 65536 bytes"), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("connection refused"), "{stderr}");
}

/// Render writes only inside the project: a `build` folder that is a link out is refused, and a
/// planted temporary file that links elsewhere is replaced, never written through.
#[test]
fn render_never_writes_through_a_link() {
    let dir = one_layer(TOPIC, "region = \"us-east-1\"\n");
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("build")).unwrap();
    let run = refused(dir.path(), &["render", "qa"]);
    run.stderr_has("is a link; stackc writes only inside the project").stderr_has("--out");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0, "nothing written outside");

    std::fs::remove_file(dir.path().join("build")).unwrap();
    std::fs::create_dir_all(dir.path().join("build/qa")).unwrap();
    let target = outside.path().join("victim.txt");
    std::fs::write(&target, "untouched").unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("build/qa/app.yaml.tmp")).unwrap();
    stackc(dir.path(), &["render", "qa"]).ok();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
    assert!(std::fs::read_to_string(dir.path().join("build/qa/app.yaml")).unwrap().contains("AWS::SNS::Topic"));
    assert!(!dir.path().join("build/qa/app.yaml.tmp").exists());
}

/// An endpoint that answers 200 and then sends without end (no length, the body ends only when the
/// connection does) is read up to the response cap and the call ends in a sentence saying so: no memory
/// growing without bound, no abort, no hang.
#[test]
fn an_endless_answer_is_cut_at_the_response_cap_with_a_message() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = asked.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n<x>");
                let chunk = vec![b'x'; 64 << 10];
                while stream.write_all(&chunk).is_ok() {}
            });
        }
    });
    let start = Instant::now();
    let (run, url) = status_against(port, ("STACKC_MAX_RESPONSE_MB", "2"));
    let took = start.elapsed();
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("DescribeStacks failed: ResponseTooLarge: {url} sent an answer larger than 2 MiB")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked") && !run.stderr.contains("out of memory"), "{}", run.stderr);
    // Not asked again: the endpoint would send as much the next time.
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1, "the call was retried");
    eprintln!("cut after {took:?}: {}", run.stderr.trim());
}

/// The file system, mutated: every file stackc reads for one environment (environment files, a `file`
/// source, the template, an include, layer.toml, a code file and the code folder) is in turn replaced by a
/// link out of the project, a dangling link, a link to itself, a fifo, a folder, a link to /dev/zero, a file
/// over the size cap and an empty file. Each run of `validate` ends in bounded time with exit 0 or a
/// message naming a file or layer, never a panic, and never prints what the outside file holds.
#[cfg(unix)]
#[test]
fn a_mutated_file_system_never_hangs_panics_or_leaks() {
    const CANARY: &str = "OUTSIDE-CANARY-7f3a";
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.toml");
    std::fs::write(&secret, format!("leak = \"{CANARY}\"\n[[ not toml\n{CANARY}\n")).unwrap();
    let template = "{% include \"_lib/inc.j2\" %}Parameters:\n  P: {Type: String}\nResources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Runtime: python3.12\n      Handler: index.handler\n      Role: arn:aws:iam::123456789012:role/fn\n      Code: src\n";
    let files: &[(&str, &str)] = &[
        ("environments/_base.toml", "[values]\nname = \"base\"\n"),
        ("environments/qa.toml", "extends = \"_base\"\nregion = \"us-east-1\"\nartifact_bucket = \"arts\"\n[layers.app.parameters]\nP = { from = \"file\", path = \"value.txt\" }\n"),
        ("value.txt", "v\n"),
        ("stacks/app/template.yaml.j2", template),
        ("stacks/_lib/inc.j2", "# included\n"),
        ("stacks/app/layer.toml", "description = \"app\"\n"),
        ("stacks/app/src/index.py", "def handler(e, c):\n    return 1\n"),
    ];
    let targets = [
        "environments/qa.toml",
        "environments/_base.toml",
        "value.txt",
        "stacks/app/template.yaml.j2",
        "stacks/_lib/inc.j2",
        "stacks/app/layer.toml",
        "stacks/app/src/index.py",
        "stacks/app/src",
    ];
    let mutations = [
        "link out",
        "dangling link",
        "self link",
        "fifo",
        "folder",
        "/dev/zero",
        "over the cap",
        "empty",
        "loop inside",
    ];
    let has_mkfifo = std::process::Command::new("mkfifo").arg("--version").output().is_ok_and(|o| o.status.success());
    let mut failures = Vec::new();
    let mut runs = 0;
    for target in targets {
        for mutation in mutations {
            let dir = project(files);
            let path = dir.path().join(target);
            if path.is_dir() {
                std::fs::remove_dir_all(&path).unwrap();
            } else {
                std::fs::remove_file(&path).unwrap();
            }
            match mutation {
                "link out" => std::os::unix::fs::symlink(&secret, &path).unwrap(),
                "dangling link" => std::os::unix::fs::symlink(outside.path().join("nothing"), &path).unwrap(),
                "self link" => std::os::unix::fs::symlink(&path, &path).unwrap(),
                "fifo" if has_mkfifo => {
                    assert!(std::process::Command::new("mkfifo").arg(&path).status().unwrap().success())
                }
                "folder" => std::fs::create_dir_all(path.join("inner")).unwrap(),
                "/dev/zero" => std::os::unix::fs::symlink("/dev/zero", &path).unwrap(),
                "over the cap" => std::fs::write(&path, "# padding\n".repeat((5 << 20) / 10)).unwrap(),
                "empty" => std::fs::write(&path, "").unwrap(),
                "loop inside" => {
                    std::fs::create_dir_all(&path).unwrap();
                    std::os::unix::fs::symlink(".", path.join("a")).unwrap();
                    std::os::unix::fs::symlink("..", path.join("b")).unwrap();
                }
                _ => continue,
            }
            runs += 1;
            let start = Instant::now();
            let out = std::process::Command::new("timeout")
                .arg("20")
                .arg(env!("CARGO_BIN_EXE_stackc"))
                .args(["validate", "qa"])
                .current_dir(dir.path())
                .env("NO_COLOR", "1")
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            let took = start.elapsed();
            let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            let code = out.status.code().unwrap_or(-1);
            let names_where = [".toml", "value.txt", "template.yaml", "inc.j2", "src", "layer `", "environment `"]
                .iter()
                .any(|n| stderr.contains(n));
            let problem = if code == 124 {
                Some(format!("hung (killed after {took:?})"))
            } else if stderr.contains("panicked") || !(0..=2).contains(&code) {
                Some(format!("exit {code} (panic or signal)"))
            } else if stdout.contains(CANARY) || stderr.contains(CANARY) {
                Some("printed what the outside file holds".into())
            } else if code != 0 && !names_where {
                Some("an error that names no file or layer".into())
            } else {
                None
            };
            if let Some(p) = problem {
                failures.push(format!("{target} as {mutation}: {p}\n{stderr}"));
            }
        }
    }
    assert!(runs >= 60, "only {runs} cases ran");
    assert!(failures.is_empty(), "{} of {runs} cases failed:\n{}", failures.len(), failures.join("\n"));
}
