//! `--set KEY=VALUE`: the grammar of a command-line override and what it may not touch (the guards of an
//! environment, protection switched off, reserved names), as a typed `Override` the loader applies last.

use super::values::set_value;
use super::RESERVED;
use crate::diagnostic::Diagnostic;

/// One `--set`, parsed: where it goes and its value (`raw` as TOML would read it, else a string).
#[derive(Debug, Clone, PartialEq)]
pub enum Override {
    Region(String),
    StackName(String),
    RoleArn(String),
    ArtifactBucket(String),
    ArtifactPrefix(String),
    /// `artifact_buckets.<region>`.
    ArtifactBucketIn {
        region: String,
        bucket: String,
    },
    /// `protected = true` (the only way `--set` may change it).
    Protected,
    Tag {
        key: String,
        value: String,
    },
    LayerParameter {
        layer: String,
        name: String,
        value: toml::Value,
    },
    LayerValue {
        layer: String,
        path: Vec<String>,
        value: toml::Value,
    },
    LayerTag {
        layer: String,
        key: String,
        value: String,
    },
    /// A template value at a key path (with or without the `values.` prefix).
    Value {
        path: Vec<String>,
        value: toml::Value,
    },
}

/// Parse one `--set` argument; a refusal says why and, where one helps, what to do instead.
pub fn parse(set: &str) -> Result<Override, Diagnostic> {
    let Some((key, raw)) = set.split_once('=') else {
        return Err(Diagnostic::new(format!("`--set {set}` needs the form KEY=VALUE")));
    };
    let key = key.trim();
    let value = set_value(raw);
    let path: Vec<&str> = key.split('.').collect();
    if path.iter().any(|p| p.is_empty()) {
        return Err(Diagnostic::new(format!("`--set {set}`: `{key}` is not a valid key path")));
    }
    let text = match &value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let owned = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    Ok(match path.as_slice() {
        ["region"] => Override::Region(text),
        // The guards of an environment are changed in its file, where review sees it, never for one run.
        ["account_id" | "role_arn_to_assume"] => {
            return Err(Diagnostic::new(format!(
                "`--set {set}`: `{key}` guards the environment and cannot be set on the command line"
            ))
            .hint("edit it in the environment's file"))
        }
        ["stack_name"] => Override::StackName(text),
        ["role_arn"] => Override::RoleArn(text),
        ["artifact_bucket"] => Override::ArtifactBucket(text),
        ["artifact_prefix"] => Override::ArtifactPrefix(text),
        ["artifact_buckets", region] => Override::ArtifactBucketIn { region: region.to_string(), bucket: text },
        ["protected"] => match value {
            toml::Value::Boolean(true) => Override::Protected,
            toml::Value::Boolean(false) => {
                return Err(Diagnostic::new(format!(
                    "`--set {set}`: protection cannot be switched off on the command line"
                ))
                .hint("edit `protected` in the environment's file; `--yes` answers the confirmation"))
            }
            _ => return Err(Diagnostic::new(format!("`--set {set}`: `protected` must be true or false"))),
        },
        ["tags", tag] => Override::Tag { key: tag.to_string(), value: text },
        ["layers", layer, "parameters", param] => {
            Override::LayerParameter { layer: layer.to_string(), name: param.to_string(), value }
        }
        ["layers", layer, "values", rest @ ..] if !rest.is_empty() => {
            Override::LayerValue { layer: layer.to_string(), path: owned(rest), value }
        }
        ["layers", layer, "tags", tag] => {
            Override::LayerTag { layer: layer.to_string(), key: tag.to_string(), value: text }
        }
        ["layers", ..] => {
            return Err(Diagnostic::new(format!("`--set {set}`: cannot set `{key}`")).hint(
                "use layers.<layer>.parameters.<Name>, layers.<layer>.values.<key> or layers.<layer>.tags.<Key>",
            ))
        }
        ["values", rest @ ..] if !rest.is_empty() => Override::Value { path: owned(rest), value },
        [first, ..] if RESERVED.contains(first) => {
            return Err(Diagnostic::new(format!("`--set {set}`: `{first}` cannot be set")))
        }
        rest => Override::Value { path: owned(rest), value },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_of_set_parses_to_where_it_goes() {
        assert_eq!(parse("region=eu-west-1").unwrap(), Override::Region("eu-west-1".into()));
        assert_eq!(
            parse("artifact_buckets.us-east-1=b").unwrap(),
            Override::ArtifactBucketIn { region: "us-east-1".into(), bucket: "b".into() }
        );
        assert_eq!(parse("protected=true").unwrap(), Override::Protected);
        assert_eq!(parse("tags.team=core").unwrap(), Override::Tag { key: "team".into(), value: "core".into() });
        assert_eq!(
            parse("layers.db.parameters.Size=3").unwrap(),
            Override::LayerParameter { layer: "db".into(), name: "Size".into(), value: toml::Value::Integer(3) }
        );
        assert_eq!(
            parse("layers.db.values.a.b=x").unwrap(),
            Override::LayerValue { layer: "db".into(), path: vec!["a".into(), "b".into()], value: "x".into() }
        );
        let plain = Override::Value { path: vec!["a".into(), "b".into()], value: toml::Value::Boolean(true) };
        assert_eq!(parse("values.a.b=true").unwrap(), plain);
        assert_eq!(parse("a.b=true").unwrap(), plain);
    }

    #[test]
    fn the_guards_and_bad_forms_are_refused_with_a_reason() {
        let refused = |s: &str| parse(s).unwrap_err().message;
        assert!(refused("region").contains("needs the form KEY=VALUE"));
        assert!(refused("a..b=1").contains("is not a valid key path"));
        assert!(refused("account_id=1").contains("guards the environment"));
        assert!(refused("role_arn_to_assume=x").contains("guards the environment"));
        assert!(refused("protected=false").contains("cannot be switched off"));
        assert!(refused("protected=maybe").contains("must be true or false"));
        assert!(refused("layers.db.outputs.X=1").contains("cannot set `layers.db.outputs.X`"));
        assert!(refused(&format!("{}=1", RESERVED[0])).contains("cannot be set"));
    }
}
