//! The JSON Schemas in `schemas/` (for editors: taplo's `#:schema` directive) accept every shipped and
//! example file and refuse a wrong key, checked with the `jsonschema` package of the test venv. That they
//! name exactly the keys stackc takes is checked by the unit tests `schema_parity`.

mod support;

use support::*;

const CHECK: &str = r#"
import json, sys, tomllib, pathlib
from jsonschema import Draft202012Validator
root = pathlib.Path(sys.argv[1])
schemas = {k: Draft202012Validator(json.loads((root / "schemas" / f"{k}.schema.json").read_text())) for k in ("stackc", "layer", "environment")}
bad = 0
for path in sys.argv[2:]:
    p = pathlib.Path(path)
    kind = "stackc" if p.name == "stackc.toml" else "layer" if p.name == "layer.toml" else "environment"
    for e in schemas[kind].iter_errors(tomllib.loads(p.read_text())):
        bad += 1
        print(f"{path}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
print(f"checked {len(sys.argv) - 2} files, {bad} errors")
"#;

fn check(files: &[std::path::PathBuf]) -> (bool, String) {
    let out = std::process::Command::new(venv().join("bin/python"))
        .arg("-c")
        .arg(CHECK)
        .arg(repo())
        .args(files)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success() && text.contains(" 0 errors"), text)
}

fn toml_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() && !["target", "build", ".git", "tests", "node_modules"].contains(&name.as_str()) {
            toml_files(&path, out);
        } else if name == "stackc.toml"
            || name == "layer.toml"
            || (name.ends_with(".toml") && path.parent().is_some_and(|p| p.ends_with("environments")))
        {
            out.push(path);
        }
    }
}

#[test]
fn every_shipped_and_example_file_fits_its_schema_and_a_wrong_key_does_not() {
    let mut files = Vec::new();
    for dir in ["stacks", "environments", "examples"] {
        toml_files(&repo().join(dir), &mut files);
    }
    files.push(repo().join("stackc.toml"));
    assert!(files.len() > 20, "{files:?}");
    let (ok, text) = check(&files);
    assert!(ok, "{text}");
    // A misspelt key, a wrong type and an unknown source are each refused.
    let dir = tempfile::tempdir().unwrap();
    let env_dir = dir.path().join("environments");
    std::fs::create_dir_all(&env_dir).unwrap();
    for (name, text) in [
        ("typo.toml", "regoin = \"us-east-1\"\n"),
        ("type.toml", "region = \"us-east-1\"\nprotected = \"yes\"\n"),
        ("source.toml", "region = \"us-east-1\"\n[layers.a.parameters]\nP = { from = \"vault\", path = \"x\" }\n"),
    ] {
        let f = env_dir.join(name);
        std::fs::write(&f, text).unwrap();
        let (ok, out) = check(&[f]);
        assert!(!ok && out.contains("checked 1 files") && !out.contains(" 0 errors"), "{name}: {out}");
    }
}

const BY_DIRECTIVE: &str = r##"
import json, sys, tomllib, pathlib
from jsonschema import Draft202012Validator
for path in sys.argv[1:]:
    p = pathlib.Path(path)
    first = p.read_text().splitlines()[0]
    assert first.startswith("#:schema "), f"{path}: no directive: {first}"
    schema = (p.parent / first.removeprefix("#:schema ")).resolve()
    errors = list(Draft202012Validator(json.loads(schema.read_text())).iter_errors(tomllib.loads(p.read_text())))
    print(f"{p.name} -> {schema.name}: {len(errors)} errors")
"##;

/// `init`, `new layer` and `import` start the files they create with taplo's `#:schema` directive, whose
/// path (relative to the file) leads to the schema in `.stackc/schemas/`, which the file fits.
#[test]
fn files_stackc_creates_name_their_schema_by_a_path_that_leads_to_it() {
    let dir = tempfile::tempdir().unwrap();
    stackc(dir.path(), &["init", "--name", "demo"]).ok();
    stackc(dir.path(), &["new", "layer", "api"]).ok();
    write(dir.path(), "sam/template.yaml", "Resources:\n  T:\n    Type: AWS::SNS::Topic\n");
    write(
        dir.path(),
        "sam/samconfig.toml",
        "version = 0.1\n[prod.deploy.parameters]\nstack_name = \"legacy\"\nregion = \"eu-west-1\"\n",
    );
    stackc(dir.path(), &["import", "samconfig", "sam/samconfig.toml", "--layer", "legacy"]).ok();
    let files: Vec<std::path::PathBuf> = [
        "stackc.toml",
        "environments/qa.toml",
        "stacks/api/layer.toml",
        "stacks/legacy/layer.toml",
        "environments/prod.toml",
    ]
    .iter()
    .map(|f| dir.path().join(f))
    .collect();
    let out = std::process::Command::new(venv().join("bin/python"))
        .arg("-c")
        .arg(BY_DIRECTIVE)
        .args(&files)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    for (file, schema) in
        [("stackc.toml", "stackc"), ("qa.toml", "environment"), ("layer.toml", "layer"), ("prod.toml", "environment")]
    {
        assert!(text.contains(&format!("{file} -> {schema}.schema.json: 0 errors")), "{file}: {text}");
    }
    let shipped = std::fs::read_to_string(repo().join("schemas/layer.schema.json")).unwrap();
    assert_eq!(std::fs::read_to_string(dir.path().join(".stackc/schemas/layer.schema.json")).unwrap(), shipped);
    // The files still load: the directive is a comment to stackc.
    stackc(dir.path(), &["validate"]).ok();
}
