//! A layer's `[build]`: its commands run with `sh -c` in the layer's folder, before anything of the layer
//! is rendered or packaged, so what they make is what gets zipped.
//!
//! A command gets the run's names (STACKC_PROJECT, STACKC_ENV, STACKC_LAYER, STACKC_REGION,
//! STACKC_STACK_NAME, AWS_REGION) and the layer's literal template values: all of them as
//! STACKC_VALUES_JSON and each top-level one that is a string, number or boolean as STACKC_VALUE_<KEY>.
//! Never a secret: a value that comes from a source (SSM, a secret store, the keyring, an expression) is
//! left out, and variables that are secret sources of the environment are removed. Its output is shown
//! line by line, scrubbed like everything stackc prints.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::hooks::{follow, secret_vars};
use crate::deploy::step::Step;
use crate::diagnostic::{Diagnostic, Error, Result};
use crate::environment::{self, Environment, Setting, ValueTree};
use crate::project::{Layer, Project};
use crate::scope;

/// Runs the `[build]` of each of `layers` that has one, in the order given; the first failure stops the
/// rest. `on_step(layer, step)` is told each command before it runs and each line it prints.
pub fn run(
    project: &Project,
    env: &Environment,
    layers: &[String],
    on_step: &(dyn Fn(&str, &Step) + Sync),
) -> Result<usize> {
    let mut ran = 0;
    for layer in layers.iter().filter_map(|l| project.layers.get(l)) {
        let Some(step) = &layer.build else { continue };
        for command in step.commands.iter().filter(|c| !c.trim().is_empty()) {
            on_step(&layer.name, &Step::Command { what: "build", command: command.clone() });
            let cmd = command_for(project, env, layer, command);
            follow(cmd, &|line| on_step(&layer.name, &Step::Output(line.to_string()))).map_err(|why| {
                Error::failed(
                    Diagnostic::new(format!("layer `{}`: the build command `{command}` {why}", layer.name))
                        .note("nothing was rendered, packaged or sent for this run"),
                )
            })?;
        }
        let missing: Vec<&String> = step.outputs.iter().filter(|o| !layer.dir.join(o).exists()).collect();
        if !missing.is_empty() {
            let names: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
            return Err(Error::failed(
                Diagnostic::new(format!(
                    "layer `{}`: the build finished but did not make {} (its `outputs` in layer.toml)",
                    layer.name,
                    names.join(", ")
                ))
                .note("nothing was rendered, packaged or sent for this run"),
            ));
        }
        ran += 1;
    }
    Ok(ran)
}

fn command_for(project: &Project, env: &Environment, layer: &Layer, command: &str) -> std::process::Command {
    let region = scope::region_of(project, &layer.name, env);
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c").arg(command).current_dir(&layer.dir);
    for v in secret_vars(env) {
        cmd.env_remove(v);
    }
    let values = literal_values(env, &layer.name);
    for (k, v) in &values {
        let text = match v {
            Json::String(s) => s.clone(),
            Json::Number(n) => n.to_string(),
            Json::Bool(b) => b.to_string(),
            _ => continue,
        };
        let key: String =
            k.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
        cmd.env(format!("STACKC_VALUE_{key}"), text);
    }
    cmd.env("STACKC_PROJECT", &project.name)
        .env("STACKC_ENV", &env.name)
        .env("STACKC_LAYER", &layer.name)
        .env("STACKC_REGION", &region)
        .env("AWS_REGION", &region)
        .env("AWS_DEFAULT_REGION", &region)
        .env("STACKC_STACK_NAME", env.stack_name_of(&project.name, &layer.name))
        .env("STACKC_VALUES_JSON", Json::Object(values).to_string());
    cmd
}

/// The layer's template values (the environment's, the layer's over them) that are written in the files
/// as they are: a value with a source anywhere inside it is left out whole.
fn literal_values(env: &Environment, layer: &str) -> Map<String, Json> {
    let mut merged: BTreeMap<String, Setting<ValueTree>> = env.values.clone();
    environment::merge_values(&mut merged, env.layer(layer).values);
    merged.into_iter().filter_map(|(k, v)| literal(&v.value).map(|j| (k, j))).collect()
}

fn literal(tree: &ValueTree) -> Option<Json> {
    Some(match tree {
        ValueTree::Scalar(v) => serde_json::to_value(v).ok()?,
        ValueTree::List(items) => Json::Array(items.iter().map(literal).collect::<Option<_>>()?),
        ValueTree::Table(t) => {
            Json::Object(t.iter().map(|(k, v)| Some((k.clone(), literal(v)?))).collect::<Option<_>>()?)
        }
        ValueTree::Ref(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_with_a_source_inside_is_left_out_whole() {
        let scalar = |s: &str| ValueTree::Scalar(toml::Value::String(s.into()));
        let source = crate::source::Source::Env { var: "X".into(), secret: true, default: None };
        let with_ref =
            ValueTree::Table(BTreeMap::from([("a".into(), scalar("1")), ("b".into(), ValueTree::Ref(source))]));
        assert_eq!(literal(&with_ref), None);
        let plain = ValueTree::List(vec![scalar("x"), ValueTree::Scalar(toml::Value::Integer(3))]);
        assert_eq!(literal(&plain), Some(serde_json::json!(["x", 3])));
    }
}
