//! A template's own declarations, as CloudFormation would refuse them: parameter constraints that cannot
//! hold (an invalid pattern, a minimum over its maximum, a Number that is not a finite number, a Default
//! its own constraints refuse), a resource `Condition` that is not defined, `Ref` of a mapping, an
//! output without a value; and stack tags over CloudFormation's limits.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::constraints::Constraints;
use super::finding::{visit, Finding, Rule, Seg};
use super::template::Template;
use crate::diagnostic;

/// CloudFormation's limits on stack tags.
pub const MAX_TAGS: usize = 50;
pub const MAX_TAG_KEY: usize = 128;
pub const MAX_TAG_VALUE: usize = 256;

fn finding(rule: Rule, resource: &str, path: Vec<Seg>, message: String) -> Finding {
    Finding { rule, resource: resource.to_string(), path, message, hint: None }
}

/// Every finding of the template's own declarations.
pub fn check(t: &Template) -> Vec<Finding> {
    let mut out = Vec::new();
    for (name, decl) in t.section("Parameters").into_iter().flatten() {
        let at = |key: &str| vec![Seg::key("Parameters"), Seg::key(name), Seg::key(key)];
        for (key, problem) in parameter_problems(decl) {
            out.push(finding(Rule::BadParameter, name, at(key), format!("parameter `{name}`: {problem}")));
        }
    }
    let conditions = t.names("Conditions");
    for (id, r) in t.section("Resources").into_iter().flatten() {
        if let Some(Json::String(c)) = r.get("Condition") {
            if !conditions.contains(c) {
                let at = vec![Seg::key("Resources"), Seg::key(id), Seg::key("Condition")];
                let mut f = finding(
                    Rule::UnknownCondition,
                    id,
                    at,
                    format!("resource `{id}`: condition `{c}` is not defined under Conditions"),
                );
                f.hint = diagnostic::suggestion(c, conditions.iter().map(|s| s.as_str()));
                out.push(f);
            }
        }
    }
    for (id, o) in t.section("Outputs").into_iter().flatten() {
        if let Some(Json::String(c)) = o.get("Condition") {
            if !conditions.contains(c) {
                let at = vec![Seg::key("Outputs"), Seg::key(id), Seg::key("Condition")];
                out.push(finding(
                    Rule::UnknownCondition,
                    id,
                    at,
                    format!("output `{id}`: condition `{c}` is not defined under Conditions"),
                ));
            }
        }
        if o.get("Value").is_none_or(Json::is_null) {
            let at = vec![Seg::key("Outputs"), Seg::key(id)];
            out.push(finding(
                Rule::NullOutput,
                id,
                at,
                format!("output `{id}` has no value (CloudFormation requires one)"),
            ));
        }
    }
    let mappings = t.names("Mappings");
    let mut refs = Vec::new();
    refs_to(&t.body, &mut Vec::new(), &mut refs);
    for (path, name) in refs.into_iter().filter(|(_, n)| mappings.contains(n)) {
        let m = format!("`Ref: {name}` names a mapping; a mapping is read with Fn::FindInMap");
        out.push(finding(Rule::RefToMapping, &name, path, m));
    }
    out
}

fn refs_to(v: &Json, at: &mut Vec<Seg>, out: &mut Vec<(Vec<Seg>, String)>) {
    visit(v, at, &mut |at, node| {
        if let Json::Object(m) = node {
            if let (1, Some(Json::String(name))) = (m.len(), m.get("Ref")) {
                out.push((at.to_vec(), name.clone()));
            }
        }
    });
}

/// A number as CloudFormation reads one: finite, from a number or a numeric string.
fn finite(v: &Json) -> Result<f64, String> {
    let n = match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if n.is_finite() => Ok(n),
        Some(_) => Err(format!("`{}` is not a finite number", text(v))),
        None => Err(format!("`{}` is not a number", text(v))),
    }
}

fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// (the key at fault, what is wrong) for one parameter declaration.
fn parameter_problems(decl: &Json) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for key in ["MinLength", "MaxLength", "MinValue", "MaxValue"] {
        if let Some(Err(why)) = decl.get(key).map(finite) {
            out.push((key, format!("{key}: {why}")));
        }
    }
    let get = |k: &str| decl.get(k).and_then(|v| finite(v).ok());
    if let (Some(lo), Some(hi)) = (get("MinLength"), get("MaxLength")) {
        if lo > hi {
            out.push(("MinLength", format!("MinLength {lo} is more than MaxLength {hi}: no value can meet both")));
        }
    }
    if let (Some(lo), Some(hi)) = (get("MinValue"), get("MaxValue")) {
        if lo > hi {
            out.push(("MinValue", format!("MinValue {lo} is more than MaxValue {hi}: no value can meet both")));
        }
    }
    if let Some(Json::String(p)) = decl.get("AllowedPattern") {
        if let Err(e) = regex_lite::Regex::new(p) {
            let why = e.to_string();
            // Lookaround and back-references are valid in CloudFormation's (Java) patterns; only real
            // syntax errors are refused.
            if !why.contains("not supported") {
                out.push((
                    "AllowedPattern",
                    format!("AllowedPattern `{p}` is not a valid pattern: {}", why.lines().last().unwrap_or(&why)),
                ));
            }
        }
    }
    let kind = decl.get("Type").and_then(|t| t.as_str()).unwrap_or("String");
    if kind == "Number" {
        for v in decl.get("AllowedValues").and_then(|a| a.as_array()).into_iter().flatten() {
            if let Err(why) = finite(v) {
                out.push(("AllowedValues", format!("AllowedValues of a Number: {why}")));
            }
        }
    }
    if let Some(default) = decl.get("Default").filter(|d| !d.is_null()) {
        let c = Constraints::of(decl);
        let value = text(default);
        if kind == "Number" {
            if let Err(why) = finite(default) {
                out.push(("Default", format!("Default of a Number: {why}")));
                return out;
            }
        }
        // An empty Default of a list type is CloudFormation's way of saying "none".
        if !(value.is_empty() && (kind.starts_with("List<") || kind == "CommaDelimitedList")) {
            for v in c.violations(&value) {
                out.push(("Default", format!("its Default `{value}` breaks its own constraints: {v}")));
            }
        }
    }
    out
}

/// Problems of a stack's tags (all of them, as CloudFormation gets them).
pub fn tag_problems(tags: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    if tags.len() > MAX_TAGS {
        out.push(format!(
            "{} tags, and CloudFormation allows {MAX_TAGS} on a stack (stackc adds 3 or 4 of its own)",
            tags.len()
        ));
    }
    for (k, v) in tags {
        if k.to_ascii_lowercase().starts_with("aws:") {
            out.push(format!("tag `{k}`: keys starting `aws:` are reserved for AWS"));
        }
        if k.is_empty() || k.chars().count() > MAX_TAG_KEY {
            out.push(format!("tag key `{}`: 1 to {MAX_TAG_KEY} characters", k.chars().take(40).collect::<String>()));
        }
        if v.chars().count() > MAX_TAG_VALUE {
            out.push(format!("tag `{k}`: its value has {} characters, more than {MAX_TAG_VALUE}", v.chars().count()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::finding::show_path;

    fn found(yaml: &str) -> Vec<(Rule, String, String)> {
        check(&Template::parse(yaml).unwrap()).into_iter().map(|f| (f.rule, show_path(&f.path), f.message)).collect()
    }

    #[test]
    fn parameters_whose_constraints_cannot_hold_are_refused() {
        let got = found("Parameters:\n  A: {Type: String, AllowedPattern: '[a-z'}\n  B: {Type: String, MinLength: 5, MaxLength: 2}\n  C: {Type: Number, Default: NaN}\n  D: {Type: Number, MinValue: abc}\n  E: {Type: String, AllowedValues: [x, y], Default: z}\n  F: {Type: Number, Default: 1e999}\n  G: {Type: String, AllowedPattern: '(?=x)x', Default: x}\n  H: {Type: CommaDelimitedList, Default: ''}\n  I: {Type: String, AllowedPattern: '[a-z]+', Default: ABC}\n");
        let at: Vec<&str> = got.iter().map(|(_, p, _)| p.as_str()).collect();
        assert_eq!(
            at,
            vec![
                "Parameters.A.AllowedPattern",
                "Parameters.B.MinLength",
                "Parameters.C.Default",
                "Parameters.D.MinValue",
                "Parameters.E.Default",
                "Parameters.F.Default",
                "Parameters.I.Default"
            ],
            "{got:?}"
        );
        assert!(got[0].2.contains("not a valid pattern"), "{got:?}");
        assert!(got[2].2.contains("not a finite number") || got[2].2.contains("not a number"), "{got:?}");
    }

    #[test]
    fn conditions_mappings_and_outputs() {
        let got = found("Mappings:\n  M: {a: {b: c}}\nConditions:\n  Prod: !Equals [a, b]\nResources:\n  T:\n    Type: AWS::SNS::Topic\n    Condition: Prd\n  U:\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: !Ref M}\nOutputs:\n  Empty:\n    Value: null\n  Gated:\n    Condition: Nope\n    Value: x\n");
        let rules: Vec<(Rule, &str)> = got.iter().map(|(r, p, _)| (*r, p.as_str())).collect();
        assert!(rules.contains(&(Rule::UnknownCondition, "Resources.T.Condition")), "{rules:?}");
        assert!(rules.contains(&(Rule::UnknownCondition, "Outputs.Gated.Condition")), "{rules:?}");
        assert!(rules.contains(&(Rule::NullOutput, "Outputs.Empty")), "{rules:?}");
        assert!(rules.contains(&(Rule::RefToMapping, "Resources.U.Properties.TopicName")), "{rules:?}");
    }

    #[test]
    fn tag_limits() {
        let mut tags: BTreeMap<String, String> = (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
        tags.insert("aws:owner".into(), "x".into());
        tags.insert("long".into(), "v".repeat(257));
        let p = tag_problems(&tags);
        assert!(p.iter().any(|m| m.contains("53 tags")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("reserved")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("257 characters")), "{p:?}");
        assert!(tag_problems(&BTreeMap::from([("Owner".to_string(), "team".to_string())])).is_empty());
    }
}
