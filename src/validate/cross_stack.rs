//! Findings about what crosses from one stack to another: a layer's `output` references (the output must
//! exist in the layer it names, and no layer may take one of its own) and `Fn::ImportValue` of another
//! layer's export (that layer must be a dependency, and export the name as the template would).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use crate::assemble::Assembled;
use crate::cfn::template::{sub_variables, Template};
use crate::diagnostic::{suggestion, Diagnostic, Location};
use crate::environment::Environment;
use crate::graph::Graph;
use crate::source::Source;
use crate::values::Resolved;

use super::json_scalar;
use super::references::walk;

pub(super) fn output_references(
    env: &Environment,
    layer: &str,
    built: &Assembled,
    all: &BTreeMap<String, Assembled>,
    out: &mut Vec<Diagnostic>,
) {
    for p in built.values.parameters.values() {
        let Some(Source::Output { layer: from, output }) = &p.source else { continue };
        let Some(other) = all.get(from) else {
            out.push(
                Diagnostic::new(format!(
                    "environment `{}`, layer `{layer}`, parameter `{}`: `output` names layer `{from}`, which is not a layer of this environment",
                    env.name, p.name
                ))
                .at(p.origin.clone())
                .hint_opt(suggestion(from, all.keys().map(|s| s.as_str()))),
            );
            continue;
        };
        let Ok(t) = &other.template else { continue };
        let outputs = t.names("Outputs");
        if !outputs.contains(output) {
            out.push(
                Diagnostic::new(format!(
                    "environment `{}`, layer `{layer}`, parameter `{}`: layer `{from}` has no Output `{output}`",
                    env.name, p.name
                ))
                .at(p.origin.clone())
                .note(format!(
                    "outputs of `{from}`: {}",
                    if outputs.is_empty() { "none".into() } else { outputs.join(", ") }
                ))
                .hint_opt(suggestion(output, outputs.iter().map(|s| s.as_str()))),
            );
        }
    }
}

/// What a template's own references evaluate to, where that is knowable offline.
struct Static<'a> {
    stack_name: &'a str,
    region: &'a str,
    account: Option<&'a str>,
    params: BTreeMap<String, String>,
}

impl Static<'_> {
    fn eval(&self, v: &Json) -> Option<String> {
        match v {
            Json::String(s) => Some(s.clone()),
            Json::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next()?;
                match k.as_str() {
                    "Ref" => self.var(arg.as_str()?),
                    "Fn::Sub" => {
                        let (text, vars) = match arg {
                            Json::String(s) => (s.as_str(), None),
                            Json::Array(a) => (a.first()?.as_str()?, a.get(1).and_then(|v| v.as_object())),
                            _ => return None,
                        };
                        let mut result = text.to_string();
                        for var in sub_variables(text) {
                            let value = match vars.and_then(|m| m.get(&var)) {
                                Some(v) => self.eval(v)?,
                                None => self.var(&var)?,
                            };
                            result = result.replace(&format!("${{{var}}}"), &value);
                        }
                        Some(result)
                    }
                    "Fn::Join" => {
                        let a = arg.as_array()?;
                        let sep = a.first()?.as_str()?;
                        let parts: Option<Vec<String>> = a.get(1)?.as_array()?.iter().map(|p| self.eval(p)).collect();
                        Some(parts?.join(sep))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn var(&self, name: &str) -> Option<String> {
        match name {
            "AWS::StackName" => Some(self.stack_name.to_string()),
            "AWS::Region" => Some(self.region.to_string()),
            "AWS::AccountId" => self.account.map(str::to_string),
            other => self.params.get(other).cloned(),
        }
    }
}

fn statics<'a>(env: &'a Environment, layer: &'a Assembled) -> Static<'a> {
    let mut params = BTreeMap::new();
    if let Ok(t) = &layer.template {
        for p in t.parameters() {
            if let Some(d) = &p.default {
                params.insert(p.name.clone(), json_scalar(d));
            }
        }
    }
    for (k, p) in &layer.values.parameters {
        if let Resolved::Plain(v) = &p.value {
            params.insert(k.clone(), v.clone());
        } else {
            params.remove(k);
        }
    }
    Static { stack_name: &layer.values.stack_name, region: &env.region, account: env.account_id.as_deref(), params }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn imports(
    env: &Environment,
    layer: &str,
    built: &Assembled,
    t: &Template,
    all: &BTreeMap<String, Assembled>,
    graph: &Graph,
    at: &Location,
    out: &mut Vec<Diagnostic>,
) {
    let mut names = Vec::new();
    walk(&t.body, &mut Vec::new(), &mut |_, node| {
        if let Json::Object(m) = node {
            if let (1, Some(arg)) = (m.len(), m.get("Fn::ImportValue")) {
                names.push(arg.clone());
            }
        }
    });
    if names.is_empty() {
        return;
    }
    let me = statics(env, built);
    // Every export of every layer, by statically known name.
    let mut exports: BTreeMap<String, String> = BTreeMap::new();
    for (other, b) in all {
        let Ok(ot) = &b.template else { continue };
        let s = statics(env, b);
        if let Some(outputs) = ot.section("Outputs") {
            for o in outputs.values() {
                if let Some(name) = o.get("Export").and_then(|e| e.get("Name")).and_then(|n| s.eval(n)) {
                    exports.insert(name, other.clone());
                }
            }
        }
    }
    let mut deps = graph.closure(&[layer.to_string()]);
    deps.remove(layer);
    let mut seen = BTreeSet::new();
    for arg in names {
        let Some(name) = me.eval(&arg) else { continue };
        if !seen.insert(name.clone()) {
            continue;
        }
        match exports.get(&name) {
            Some(owner) if deps.contains(owner) => {}
            Some(owner) => out.push(
                Diagnostic::new(format!(
                    "environment `{}`, layer `{layer}`: `Fn::ImportValue {name}` is exported by layer `{owner}`, which `{layer}` does not depend on",
                    env.name
                ))
                .at(at.clone())
                .hint(format!("add \"{owner}\" to depends_on in stacks/{layer}/layer.toml")),
            ),
            None => out.push(
                Diagnostic::new(format!(
                    "environment `{}`, layer `{layer}`: `Fn::ImportValue {name}` matches no Export of a layer it depends on",
                    env.name
                ))
                .at(at.clone())
                .hint_opt(suggestion(&name, exports.keys().map(|s| s.as_str()))),
            ),
        }
    }
}
