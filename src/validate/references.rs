//! `Ref`, `Fn::GetAtt`, `Fn::Sub` variables and condition names must name something the template has,
//! each finding placed on the template source line that names it.

use crate::build::BuiltLayer;
use crate::cfn::lint::Seg;
use crate::cfn::template::{sub_variables, Template};
use crate::diagnostic::{suggestion, Diagnostic};
use crate::project::Project;
use serde_json::Value as Json;

use super::schema;
use super::PSEUDO_PARAMETERS;

/// Ref, GetAtt, Sub and Condition names must exist.
pub(super) fn check(project: &Project, layer: &str, built: &BuiltLayer, t: &Template, out: &mut Vec<Diagnostic>) {
    let mut placer = schema::Placer::new(project, layer, built);
    let params = t.names("Parameters");
    let resources = t.names("Resources");
    let conditions = t.names("Conditions");
    let mut known: Vec<&str> = params.iter().chain(resources.iter()).map(|s| s.as_str()).collect();
    known.extend(PSEUDO_PARAMETERS);
    let is_sam = t.transforms().iter().any(|x| x.starts_with("AWS::Serverless"));
    let mut found = Vec::new();
    walk(&t.body, &mut Vec::new(), &mut |path, node| {
        let Json::Object(m) = node else { return };
        if m.len() != 1 {
            return;
        }
        let (k, v) = m.iter().next().unwrap();
        let where_ = path.to_vec();
        match (k.as_str(), v) {
            ("Ref", Json::String(name)) if !known.contains(&name.as_str()) => {
                found.push((
                    format!("`Ref: {name}` names no parameter, resource or pseudo parameter"),
                    where_,
                    name.clone(),
                    false,
                ));
            }
            ("Fn::GetAtt", Json::Array(a)) => {
                if let Some(Json::String(r)) = a.first() {
                    if !resources.contains(r) {
                        found.push((
                            format!("`Fn::GetAtt` names `{r}`, which is not a resource"),
                            where_,
                            r.clone(),
                            true,
                        ));
                    }
                }
            }
            ("Fn::Sub", sub) => {
                let (text, vars) = match sub {
                    Json::String(s) => (Some(s.as_str()), None),
                    Json::Array(a) => (a.first().and_then(|s| s.as_str()), a.get(1).and_then(|v| v.as_object())),
                    _ => (None, None),
                };
                for var in text.map(sub_variables).unwrap_or_default() {
                    let head = var.split('.').next().unwrap_or_default();
                    let local = vars.is_some_and(|m| m.contains_key(&var) || m.contains_key(head));
                    let ok = local
                        || known.contains(&var.as_str())
                        || (var.contains('.') && resources.iter().any(|r| r == head));
                    if !ok {
                        found.push((
                            format!("`Fn::Sub` variable `${{{var}}}` names no parameter, resource or pseudo parameter"),
                            where_.clone(),
                            head.to_string(),
                            false,
                        ));
                    }
                }
            }
            ("Condition", Json::String(c)) if !conditions.contains(c) => {
                found.push((format!("condition `{c}` is not defined under Conditions"), where_, c.clone(), false));
            }
            ("Fn::If", Json::Array(a)) => {
                if let Some(Json::String(c)) = a.first() {
                    if !conditions.contains(c) {
                        found.push((
                            format!("`Fn::If` names condition `{c}`, which is not defined"),
                            where_,
                            c.clone(),
                            false,
                        ));
                    }
                }
            }
            _ => {}
        }
    });
    for (message, path, name, resource_only) in found {
        // SAM generates resources (e.g. `<Function>Role`) that exist only after the transform.
        if is_sam && resources.iter().any(|r| name.starts_with(r.as_str()) && name != *r) {
            continue;
        }
        let candidates: Vec<&str> =
            if resource_only { resources.iter().map(|s| s.as_str()).collect() } else { known.clone() };
        out.push(
            Diagnostic::new(format!("layer `{layer}`: {message}"))
                .at(placer.place(&segments(&path), Some(&name)))
                .note(format!("at {}", path.join(".")))
                .hint_opt(suggestion(&name, candidates)),
        );
    }
}

/// A `walk` path as steps (a number is a list index).
fn segments(path: &[String]) -> Vec<Seg> {
    path.iter().map(|s| s.parse::<usize>().map(Seg::Index).unwrap_or_else(|_| Seg::Key(s.clone()))).collect()
}

pub(super) fn walk(node: &Json, path: &mut Vec<String>, f: &mut dyn FnMut(&[String], &Json)) {
    f(path, node);
    match node {
        Json::Object(m) => {
            for (k, v) in m {
                path.push(k.clone());
                walk(v, path, f);
                path.pop();
            }
        }
        Json::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                path.push(i.to_string());
                walk(v, path, f);
                path.pop();
            }
        }
        _ => {}
    }
}
