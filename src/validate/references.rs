//! `Ref`, `Fn::GetAtt`, `Fn::Sub` variables and condition names must name something the template has,
//! each finding placed on the template source line that names it.

use crate::assemble::Assembled;
use crate::cfn::finding::Seg;
use crate::cfn::template::{sub_variables, Template};
use crate::diagnostic::{suggestion, Diagnostic};
use crate::project::Project;
use serde_json::Value as Json;

use super::schema;
use super::PSEUDO_PARAMETERS;

/// Ref, GetAtt, Sub and Condition names must exist.
pub(super) fn check(project: &Project, layer: &str, built: &Assembled, t: &Template, out: &mut Vec<Diagnostic>) {
    let mut placer = schema::Placer::new(project, layer, built);
    let params = t.names("Parameters");
    let resources = t.names("Resources");
    let conditions = t.names("Conditions");
    let mut known: Vec<&str> = params.iter().chain(resources.iter()).map(|s| s.as_str()).collect();
    known.extend(PSEUDO_PARAMETERS);
    let names = Names { known, resources: &resources, conditions: &conditions };
    let is_sam = t.transforms().iter().any(|x| x.starts_with("AWS::Serverless"));
    let mut found = Vec::new();
    walk(&t.body, &mut Vec::new(), &mut |path, node| {
        let Json::Object(m) = node else { return };
        if m.len() != 1 {
            return;
        }
        let (k, v) = m.iter().next().unwrap();
        for (message, name, resource_only) in names.unknown_in(k, v) {
            found.push((message, path.to_vec(), name, resource_only));
        }
    });
    for (message, path, name, resource_only) in found {
        // SAM generates resources (e.g. `<Function>Role`) that exist only after the transform.
        if is_sam && resources.iter().any(|r| name.starts_with(r.as_str()) && name != *r) {
            continue;
        }
        let candidates: Vec<&str> =
            if resource_only { resources.iter().map(|s| s.as_str()).collect() } else { names.known.clone() };
        out.push(
            Diagnostic::new(format!("layer `{layer}`: {message}"))
                .at(placer.place(&segments(&path), Some(&name)))
                .note(format!("at {}", path.join(".")))
                .hint_opt(suggestion(&name, candidates)),
        );
    }
}

/// What a template declares: parameters, resources and pseudo parameters (`known`), and conditions.
struct Names<'a> {
    known: Vec<&'a str>,
    resources: &'a [String],
    conditions: &'a [String],
}

impl Names<'_> {
    /// The names one `{key: value}` node uses that the template does not declare: (message, the name,
    /// whether only a resource would fit).
    fn unknown_in(&self, key: &str, value: &Json) -> Vec<(String, String, bool)> {
        match (key, value) {
            ("Ref", Json::String(name)) if !self.known.contains(&name.as_str()) => {
                vec![(format!("`Ref: {name}` names no parameter, resource or pseudo parameter"), name.clone(), false)]
            }
            ("Fn::GetAtt", Json::Array(a)) => match a.first() {
                Some(Json::String(r)) if !self.resources.contains(r) => {
                    vec![(format!("`Fn::GetAtt` names `{r}`, which is not a resource"), r.clone(), true)]
                }
                _ => Vec::new(),
            },
            ("Fn::Sub", sub) => self.unknown_sub_variables(sub),
            ("Condition", Json::String(c)) if !self.conditions.contains(c) => {
                vec![(format!("condition `{c}` is not defined under Conditions"), c.clone(), false)]
            }
            ("Fn::If", Json::Array(a)) => match a.first() {
                Some(Json::String(c)) if !self.conditions.contains(c) => {
                    vec![(format!("`Fn::If` names condition `{c}`, which is not defined"), c.clone(), false)]
                }
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// `${Name}` variables of an `Fn::Sub` that neither its own variable map nor the template declares.
    fn unknown_sub_variables(&self, sub: &Json) -> Vec<(String, String, bool)> {
        let (text, vars) = match sub {
            Json::String(s) => (Some(s.as_str()), None),
            Json::Array(a) => (a.first().and_then(|s| s.as_str()), a.get(1).and_then(|v| v.as_object())),
            _ => (None, None),
        };
        let mut out = Vec::new();
        for var in text.map(sub_variables).unwrap_or_default() {
            let head = var.split('.').next().unwrap_or_default();
            let local = vars.is_some_and(|m| m.contains_key(&var) || m.contains_key(head));
            let ok = local
                || self.known.contains(&var.as_str())
                || (var.contains('.') && self.resources.iter().any(|r| r == head));
            if !ok {
                out.push((
                    format!("`Fn::Sub` variable `${{{var}}}` names no parameter, resource or pseudo parameter"),
                    head.to_string(),
                    false,
                ));
            }
        }
        out
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
