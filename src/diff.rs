//! Template and parameter differences, computed on normalised documents so that formatting, key
//! order and number-vs-string spelling are not changes. Computing is here; colouring is the printer's.

use serde_json::{Map, Value as Json};
use similar::{ChangeTag, TextDiff};

use crate::cfn::template::Template;

/// One line of a diff: the vocabulary is added, removed, unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Added(String),
    Removed(String),
    Same(String),
}

/// CloudFormation reads `5`, `"5"`, `true` and `"true"` alike; sort keys so order is not a change.
pub fn normalise(v: &Json) -> Json {
    match v {
        Json::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), normalise(&m[k]));
            }
            Json::Object(out)
        }
        Json::Array(a) => Json::Array(a.iter().map(normalise).collect()),
        Json::Number(n) => Json::String(n.to_string()),
        Json::Bool(b) => Json::String(b.to_string()),
        other => other.clone(),
    }
}

/// Normalised YAML text of a template, or the text itself if it does not parse.
pub fn canonical(text: &str) -> String {
    match Template::parse(text) {
        Ok(t) => yaml_serde::to_string(&normalise(&t.body)).unwrap_or_else(|_| text.to_string()),
        Err(_) => text.to_string(),
    }
}

/// Line diff of two templates after normalising both; empty when they are the same.
pub fn templates(deployed: &str, rendered: &str) -> Vec<Line> {
    let a = canonical(deployed);
    let b = canonical(rendered);
    if a == b {
        return Vec::new();
    }
    TextDiff::from_lines(&a, &b)
        .iter_all_changes()
        .map(|c| {
            let s = c.value().trim_end_matches('\n').to_string();
            match c.tag() {
                ChangeTag::Insert => Line::Added(s),
                ChangeTag::Delete => Line::Removed(s),
                ChangeTag::Equal => Line::Same(s),
            }
        })
        .collect()
}

/// Only the changed lines and `context` lines around them, as text with `+`, `-` and ` ` prefixes.
pub fn to_text(lines: &[Line], context: usize) -> String {
    let changed: Vec<bool> = lines.iter().map(|l| !matches!(l, Line::Same(_))).collect();
    let mut out = String::new();
    let mut last_shown: Option<usize> = None;
    for (i, l) in lines.iter().enumerate() {
        let near = (i.saturating_sub(context)..=(i + context).min(lines.len() - 1)).any(|j| changed[j]);
        if !near {
            continue;
        }
        if let Some(prev) = last_shown {
            if i > prev + 1 {
                out.push_str("  ...\n");
            }
        }
        last_shown = Some(i);
        match l {
            Line::Added(s) => out.push_str(&format!("+ {s}\n")),
            Line::Removed(s) => out.push_str(&format!("- {s}\n")),
            Line::Same(s) => out.push_str(&format!("  {s}\n")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_order_and_number_spelling_are_not_changes() {
        let a = "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      DelaySeconds: 5\n      FifoQueue: true\n";
        let b = "{\"Resources\": {\"Q\": {\"Properties\": {\"FifoQueue\": \"true\", \"DelaySeconds\": \"5\"}, \"Type\": \"AWS::SQS::Queue\"}}}";
        assert!(templates(a, b).is_empty());
    }

    #[test]
    fn a_real_change_is_shown_with_context() {
        let a = "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      DelaySeconds: 5\n";
        let b = "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      DelaySeconds: 10\n";
        let d = templates(a, b);
        assert!(d.contains(&Line::Removed("      DelaySeconds: '5'".into())), "{d:?}");
        assert!(d.contains(&Line::Added("      DelaySeconds: '10'".into())), "{d:?}");
        let text = to_text(&d, 1);
        assert!(text.contains("- ") && text.contains("+ "), "{text}");
    }
}
