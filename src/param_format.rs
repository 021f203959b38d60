//! Parameters in the forms other tools take them.
//!
//! - `json`: the list CreateStack / CreateChangeSet take (`[{"ParameterKey": .., "ParameterValue": ..}]`).
//! - `cfn-toml-v1`: `aws cloudformation create-stack --parameters` shorthand, one shell word per parameter.
//! - `cfn-toml-v2`: `aws cloudformation deploy --parameter-overrides`, one `Key=Value` shell word each.
//!
//! Values are quoted so that spaces, commas, quotes and backslashes survive both the shell and the
//! CLI's shorthand parser. Only values safe to show are given here (secrets as descriptions).

use serde_json::{json, Value as Json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ParamFormat {
    Json,
    #[value(name = "cfn-toml-v1")]
    CfnTomlV1,
    #[value(name = "cfn-toml-v2")]
    CfnTomlV2,
}

pub fn to_json(params: &[(String, String)]) -> Json {
    Json::Array(params.iter().map(|(k, v)| json!({"ParameterKey": k, "ParameterValue": v})).collect())
}

pub fn format(format: ParamFormat, params: &[(String, String)]) -> String {
    match format {
        ParamFormat::Json => {
            let mut s = serde_json::to_string_pretty(&to_json(params)).unwrap_or_default();
            s.push('\n');
            s
        }
        ParamFormat::CfnTomlV1 => {
            let words: Vec<String> = params
                .iter()
                .map(|(k, v)| {
                    shell_quote(&format!("ParameterKey={},ParameterValue={}", shorthand_quote(k), shorthand_quote(v)))
                })
                .collect();
            format!("{}\n", words.join(" "))
        }
        ParamFormat::CfnTomlV2 => {
            let words: Vec<String> = params.iter().map(|(k, v)| shell_quote(&format!("{k}={v}"))).collect();
            format!("{}\n", words.join(" "))
        }
    }
}

/// Like `format`, plus parameters that keep their deployed value: `UsePreviousValue=true` in the
/// create/update-stack shorthand; left out for `deploy --parameter-overrides` (which keeps them) and JSON.
pub fn format_keeping(format_: ParamFormat, params: &[(String, String)], keep: &[String]) -> String {
    let text = format(format_, params);
    if format_ != ParamFormat::CfnTomlV1 || keep.is_empty() {
        return text;
    }
    let mut line = text.trim_end_matches('\n').to_string();
    for k in keep {
        let word = shell_quote(&format!("ParameterKey={},UsePreviousValue=true", shorthand_quote(k)));
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    line.push('\n');
    line
}

/// A value for the AWS CLI shorthand parser: bare when harmless, else double-quoted with `\` escapes.
pub fn shorthand_quote(v: &str) -> String {
    let harmless = !v.is_empty()
        && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:@+*#%^~!?".contains(c))
        && !v.starts_with(['@', '\'', '"']);
    if harmless {
        return v.to_string();
    }
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}

/// A POSIX shell word: bare when harmless, else single-quoted (with `'\''` for a single quote).
pub fn shell_quote(v: &str) -> String {
    if !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c)) {
        return v.to_string();
    }
    format!("'{}'", v.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_parameters_use_the_previous_value_in_the_shorthand_only() {
        let params = vec![("Size".to_string(), "a b".to_string())];
        let keep = vec!["Pw".to_string()];
        assert_eq!(
            format_keeping(ParamFormat::CfnTomlV1, &params, &keep),
            "'ParameterKey=Size,ParameterValue=\"a b\"' ParameterKey=Pw,UsePreviousValue=true\n"
        );
        assert_eq!(format_keeping(ParamFormat::CfnTomlV1, &[], &keep), "ParameterKey=Pw,UsePreviousValue=true\n");
        assert_eq!(format_keeping(ParamFormat::CfnTomlV2, &params, &keep), "'Size=a b'\n");
    }

    /// Split a command line the way a POSIX shell does for the quoting used here.
    fn shell_split(s: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut cur = String::new();
        let mut in_word = false;
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\'' => {
                    in_word = true;
                    for d in chars.by_ref() {
                        if d == '\'' {
                            break;
                        }
                        cur.push(d);
                    }
                }
                '\\' => {
                    in_word = true;
                    if let Some(d) = chars.next() {
                        cur.push(d);
                    }
                }
                ' ' | '\n' => {
                    if in_word {
                        words.push(std::mem::take(&mut cur));
                        in_word = false;
                    }
                }
                other => {
                    in_word = true;
                    cur.push(other);
                }
            }
        }
        if in_word {
            words.push(cur);
        }
        words
    }

    /// The AWS CLI shorthand parser for `Key=Value,Key=Value` with double-quoted values.
    fn shorthand_parse(s: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut chars = s.chars().peekable();
        loop {
            let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
            if key.is_empty() {
                break;
            }
            let mut value = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.push(chars.next().unwrap()),
                        '"' => break,
                        o => value.push(o),
                    }
                }
                chars.next_if_eq(&',');
            } else {
                value = chars.by_ref().take_while(|c| *c != ',').collect();
            }
            out.push((key, value));
        }
        out
    }

    fn awkward() -> Vec<(String, String)> {
        vec![
            ("Plain".into(), "db.t3.micro".into()),
            ("Spaces".into(), "Cruddur backend service".into()),
            ("Commas".into(), "subnet-1,subnet-2".into()),
            ("Quotes".into(), r#"it's "quoted" \ here"#.into()),
            ("Empty".into(), "".into()),
            ("Equals".into(), "a=b".into()),
        ]
    }

    #[test]
    fn v1_survives_shell_and_shorthand() {
        let line = format(ParamFormat::CfnTomlV1, &awkward());
        let words = shell_split(&line);
        assert_eq!(words.len(), awkward().len(), "{line}");
        for (word, (k, v)) in words.iter().zip(awkward()) {
            let parsed = shorthand_parse(word);
            assert_eq!(
                parsed,
                vec![("ParameterKey".to_string(), k.clone()), ("ParameterValue".to_string(), v.clone())],
                "{word}"
            );
        }
    }

    #[test]
    fn v2_survives_the_shell() {
        let line = format(ParamFormat::CfnTomlV2, &awkward());
        let words = shell_split(&line);
        let expected: Vec<String> = awkward().iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(words, expected, "{line}");
    }

    #[test]
    fn json_is_the_create_stack_shape() {
        let j = to_json(&[("A".into(), "1".into())]);
        assert_eq!(j, json!([{"ParameterKey": "A", "ParameterValue": "1"}]));
    }
}
