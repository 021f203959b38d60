//! Walks over a template's tree that the checks share: every node with its path, the attributes read
//! with `Fn::GetAtt`, and where a NoEcho parameter's value lands.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use crate::cfn::finding::{visit, Seg};
use crate::cfn::template::{parameters_referenced, sub_variables};

/// Whether `v` is `{"Ref": ...}` or `{"Fn::...": ...}`.
pub(super) fn is_intrinsic(v: &Json) -> bool {
    matches!(v, Json::Object(m) if m.len() == 1 && m.keys().next().is_some_and(|k| k == "Ref" || k.starts_with("Fn::")))
}

/// Every `Fn::GetAtt` (and `${Resource.Attribute}` of a `Fn::Sub`): (path, resource, attribute).
pub fn getatt_walk(v: &Json, at: &mut Vec<Seg>, found: &mut Vec<(Vec<Seg>, String, String)>) {
    visit(v, at, &mut |at, node| {
        let Json::Object(m) = node else { return };
        let Some((k, x)) = m.iter().next().filter(|_| m.len() == 1) else { return };
        match (k.as_str(), x) {
            ("Fn::GetAtt", Json::Array(a)) => {
                if let (Some(Json::String(r)), Some(Json::String(attr))) = (a.first(), a.get(1)) {
                    found.push((at.to_vec(), r.clone(), attr.clone()));
                }
            }
            ("Fn::GetAtt", Json::String(s)) => {
                if let Some((r, attr)) = s.split_once('.') {
                    found.push((at.to_vec(), r.into(), attr.into()));
                }
            }
            ("Fn::Sub", sub) => {
                let text = match sub {
                    Json::String(s) => Some(s.as_str()),
                    Json::Array(a) => a.first().and_then(|s| s.as_str()),
                    _ => None,
                };
                let local = sub.as_array().and_then(|a| a.get(1)).and_then(|v| v.as_object());
                for var in text.map(sub_variables).unwrap_or_default() {
                    if let Some((r, attr)) = var.split_once('.') {
                        if !local.is_some_and(|l| l.contains_key(&var) || l.contains_key(r)) && !r.starts_with("AWS::")
                        {
                            found.push((at.to_vec(), r.into(), attr.into()));
                        }
                    }
                }
            }
            _ => {}
        }
    });
}

/// Where a NoEcho parameter's value lands: (path, property names with `*` for items, parameter). A value
/// reached through `Fn::If`, `Fn::Join`, `Fn::Sub` or any other function lands in the property holding it.
pub(super) fn secret_walk(
    v: &Json,
    at: &mut Vec<Seg>,
    names: &mut Vec<String>,
    secrets: &BTreeSet<String>,
    out: &mut Vec<(Vec<Seg>, Vec<String>, String)>,
) {
    match v {
        Json::Object(m) if is_intrinsic(v) => {
            let mut used = parameters_referenced(v);
            used.sort();
            used.dedup();
            for p in used.into_iter().filter(|p| secrets.contains(p)) {
                out.push((at.clone(), names.clone(), p));
            }
            let _ = m;
        }
        Json::Object(m) => {
            for (k, x) in m {
                at.push(Seg::Key(k.clone()));
                names.push(k.clone());
                secret_walk(x, at, names, secrets, out);
                names.pop();
                at.pop();
            }
        }
        Json::Array(a) => {
            names.push("*".into());
            for (i, x) in a.iter().enumerate() {
                at.push(Seg::Index(i));
                secret_walk(x, at, names, secrets, out);
                at.pop();
            }
            names.pop();
        }
        _ => {}
    }
}
