//! Which drifted properties come from a secret (a `NoEcho` parameter or a secret dynamic reference), and
//! masking them: such a property is shown as changed, never with its values.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::cfn::port::ResourceDrift;
use crate::cfn::template::{parameters_referenced, Template};
use crate::secret::REDACTED;

/// Per resource, the JSON pointers into its properties whose value comes from a secret: a `Ref` to or
/// `Fn::Sub` of a `NoEcho` parameter, or a `{{resolve:ssm-secure:...}}`/`{{resolve:secretsmanager:...}}`
/// dynamic reference.
pub fn secret_paths(template: &Template) -> BTreeMap<String, Vec<String>> {
    let no_echo: Vec<String> = template.parameters().into_iter().filter(|p| p.no_echo).map(|p| p.name).collect();
    let mut out = BTreeMap::new();
    for (id, resource) in template.section("Resources").into_iter().flatten() {
        let mut paths = Vec::new();
        if let Some(props) = resource.get("Properties") {
            walk(props, String::new(), &no_echo, &mut paths);
        }
        if !paths.is_empty() {
            out.insert(id.clone(), paths);
        }
    }
    out
}

fn walk(node: &Json, path: String, no_echo: &[String], out: &mut Vec<String>) {
    let intrinsic =
        node.as_object().is_some_and(|m| m.len() == 1 && m.keys().all(|k| k == "Ref" || k.starts_with("Fn::")));
    if intrinsic {
        if parameters_referenced(node).iter().any(|p| no_echo.contains(p)) || mentions_secret_reference(node) {
            out.push(path);
        }
        return;
    }
    match node {
        Json::Object(m) => m.iter().for_each(|(k, v)| walk(v, format!("{path}/{}", escape(k)), no_echo, out)),
        Json::Array(a) => a.iter().enumerate().for_each(|(i, v)| walk(v, format!("{path}/{i}"), no_echo, out)),
        Json::String(s) if is_secret_reference(s) => out.push(path),
        _ => {}
    }
}

fn is_secret_reference(s: &str) -> bool {
    s.contains("{{resolve:ssm-secure:") || s.contains("{{resolve:secretsmanager:")
}

fn mentions_secret_reference(node: &Json) -> bool {
    match node {
        Json::String(s) => is_secret_reference(s),
        Json::Array(a) => a.iter().any(mentions_secret_reference),
        Json::Object(m) => m.values().any(mentions_secret_reference),
        _ => false,
    }
}

/// JSON pointer escaping of one key.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// True when `path` is a secret path, inside one, or holds one (a difference on a whole list of
/// environment variables holds the secret one).
fn touches(path: &str, secret: &str) -> bool {
    let within =
        |inner: &str, outer: &str| inner == outer || outer.is_empty() || inner.starts_with(&format!("{outer}/"));
    within(path, secret) || within(secret, path)
}

/// Replaces the values of every difference that touches a secret path with the redaction mark.
pub fn mask(resources: &mut [ResourceDrift], secret: &BTreeMap<String, Vec<String>>) {
    for r in resources {
        let Some(paths) = secret.get(&r.logical_id) else { continue };
        for d in &mut r.differences {
            if paths.iter().any(|p| touches(&d.path, p)) {
                d.expected = REDACTED.to_string();
                d.actual = REDACTED.to_string();
            }
        }
    }
}
