//! Snapshots of what the shipped project renders, and of the text of error reports.

mod support;

use support::*;

#[test]
fn rendered_templates_and_parameters() {
    let dir = shipped_copy();
    for env in ["qa", "prod"] {
        stackc(dir.path(), &["render", env]).ok();
        for (name, text) in files_under(&dir.path().join("build").join(env)) {
            insta::assert_snapshot!(format!("{env}__{name}"), text);
        }
    }
}

#[test]
fn error_reports() {
    let base = [
        ("stacks/app/template.yaml.j2", "Parameters:\n  Size:\n    Type: String\nResources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub \"${Size}-{{ prefix }}\"\n"),
        ("environments/qa.toml", "region = \"eu-west-1\"\n[values]\nprefix = \"p\"\n[layers.app.parameters]\nSize = \"s\"\n"),
    ];
    let cases: Vec<(&str, Vec<(&str, &str)>, Vec<&str>)> = vec![
        ("toml_syntax", vec![("environments/qa.toml", "region = \"eu-west-1\n")], vec!["render", "qa"]),
        ("unknown_key", vec![("environments/qa.toml", "region = \"eu-west-1\"\n[layers.app.paramters]\nSize = \"s\"\n")], vec!["render", "qa"]),
        ("undefined_variable", vec![("environments/qa.toml", "region = \"eu-west-1\"\n[layers.app.parameters]\nSize = \"s\"\n")], vec!["render", "qa"]),
        ("unknown_environment", vec![], vec!["render", "qaa"]),
        ("undeclared_parameter", vec![("environments/qa.toml", "region = \"eu-west-1\"\n[values]\nprefix = \"p\"\n[layers.app.parameters]\nSize = \"s\"\nSise = \"t\"\n")], vec!["validate", "qa"]),
    ];
    for (name, overrides, args) in cases {
        let dir = project(&base);
        for (p, c) in overrides {
            write(dir.path(), p, c);
        }
        let run = stackc(dir.path(), &args);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        insta::assert_snapshot!(format!("error__{name}"), run.stderr);
    }
}
