//! Every rendered template of every environment of the shipped project passes cfn-lint
//! (no errors and no warnings). cfn-lint comes from the venv made by scripts/setup-venv.

mod support;

use support::*;

#[test]
fn cfn_lint_reports_nothing_on_the_shipped_project() {
    let lint = venv().join("bin/cfn-lint");
    assert!(lint.is_file(), "cfn-lint not found at {}: run scripts/setup-venv (or set STACKC_VENV)", lint.display());
    let dir = shipped_copy();
    let mut templates = Vec::new();
    for env in ["qa", "prod"] {
        stackc(dir.path(), &["render", env]).ok();
        for (name, _) in files_under(&dir.path().join("build").join(env)) {
            if name.ends_with(".yaml") {
                templates.push(dir.path().join("build").join(env).join(name));
            }
        }
    }
    assert_eq!(templates.len(), 14);
    let out = std::process::Command::new(&lint).args(&templates).output().expect("run cfn-lint");
    let code = out.status.code().unwrap_or(-1);
    // cfn-lint's exit code is a bitmask: 2 errors, 4 warnings, 8 informational.
    assert_eq!(
        code & 0b0110,
        0,
        "cfn-lint found problems (exit {code}):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cfn_lint_is_able_to_fail() {
    // The check above is only worth something if cfn-lint flags a broken template here.
    let lint = venv().join("bin/cfn-lint");
    assert!(lint.is_file(), "run scripts/setup-venv");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketNmae: x\n")
        .unwrap();
    let code = std::process::Command::new(&lint).arg(&bad).status().unwrap().code().unwrap_or(-1);
    assert_ne!(code & 2, 0, "cfn-lint should report an error for an unknown property");
}
