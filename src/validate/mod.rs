//! Offline checks of one environment. Each finding names the file, layer and parameter involved.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use crate::assemble;
use crate::assemble::{parse_error_diagnostic, stack_tags, Assembled};
use crate::cfn::declarations::tag_problems;
use crate::cfn::template;
use crate::cfn::template::Template;
use crate::diagnostic::{suggestion, Diagnostic, Location};
use crate::environment::{Environment, ValueTree};
use crate::graph;
use crate::project::Project;
use crate::scope;
use crate::source::Source;
use crate::text::list;
use crate::value_checks;
use crate::values;
use crate::values::Resolved;
use cross_stack::{imports, output_references};

pub const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// Layers limited to some environments (`environments` in layer.toml) must name environments that exist.
pub fn layer_environments(project: &Project) -> Vec<Diagnostic> {
    let known = project.environment_names();
    let mut out = Vec::new();
    for layer in project.layers.values() {
        for e in layer.environments.iter().flatten().filter(|e| !known.contains(e)) {
            out.push(
                Diagnostic::new(format!(
                    "layer `{}`: `environments` names `{e}`, which is not an environment",
                    layer.name
                ))
                .at(layer
                    .metadata_path
                    .clone()
                    .map(|p| Location::file_only(&p))
                    .unwrap_or_else(|| Location::file_only(&layer.dir)))
                .note(format!("environments: {}", list(&known)))
                .hint_opt(suggestion(e, known.iter().map(|s| s.as_str()))),
            );
        }
    }
    out
}

mod cross_stack;
mod nested;
mod references;
mod schema;

/// What validate found in one environment: refusals, and notes that refuse nothing.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Diagnostic>,
    pub notes: Vec<String>,
}

/// Every finding for `env`, given all its layers built.
pub fn validate(project: &Project, env: &Environment, built: &BTreeMap<String, Assembled>) -> Vec<Diagnostic> {
    report(project, env, built).findings
}

/// Every finding and note for `env`, given all its layers built.
pub fn report(project: &Project, env: &Environment, built: &BTreeMap<String, Assembled>) -> Report {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let graph = scope::graph(project, Some(env));
    if let Err(cycle) = graph.waves() {
        out.push(
            Diagnostic::new(graph::cycle_message(&cycle))
                .hint("remove one of these `depends_on` entries or `output` references"),
        );
    }
    secret_values_in_templates(env, &mut out);
    value_checks(project, env, built, &mut out);
    regions(project, env, &mut out);
    stack_sets(project, env, built, &mut out);
    for (name, layer) in built {
        let template = match &layer.template {
            Ok(t) => t,
            Err(e) => {
                out.push(parse_error_diagnostic(project, name, &layer.text, e));
                continue;
            }
        };
        let file = project.layers[name].template_path.clone();
        let at_template = Location::file_only(&file);
        references::check(project, name, layer, template, &mut out);
        parameters(env, name, layer, template, &mut out);
        output_references(env, name, layer, built, &mut out);
        imports(env, name, layer, template, built, &graph, &at_template, &mut out);
        let mut by_schema = schema::check_layer(project, env, name, layer, template);
        out.append(&mut by_schema.refusals);
        notes.append(&mut by_schema.notes);
        let mut children = nested::check(project, env, name, layer, template);
        out.append(&mut children.findings.refusals);
        notes.append(&mut children.findings.notes);
        capabilities(project, name, template, &children.capabilities, &mut out);
        packaging(project, env, name, layer, &at_template, &mut out);
        hard_limits(&env.name, name, &layer.values.stack_name, template, &at_template, &mut out);
        for problem in tag_problems(&stack_tags(project, env, name)) {
            out.push(
                Diagnostic::new(format!("environment `{}`, layer `{name}`: {problem}", env.name))
                    .at(Location::file_only(&env.file))
                    .hint("tags come from [tags] and [layers.<layer>.tags] of the environment"),
            );
        }
        for p in layer.values.parameters.values() {
            if matches!(&p.source, Some(Source::Output { layer: from, .. }) if from == name) {
                out.push(
                    Diagnostic::new(format!(
                        "environment `{}`, layer `{name}`, parameter `{}`: takes an output of its own stack, which \
                         does not exist before the stack does",
                        env.name, p.name
                    ))
                    .at(p.origin.clone())
                    .hint("compute the value inside the template (Ref, GetAtt) instead"),
                );
            }
        }
        for (output, parameter) in template.outputs_exposing_no_echo() {
            out.push(
                Diagnostic::new(format!(
                    "environment `{}`, layer `{name}`: output `{output}` carries the NoEcho parameter `{parameter}`; \
                     CloudFormation would show the secret in clear to anyone who can describe the stack",
                    env.name
                ))
                .at(at_template.clone())
                .hint(format!(
                    "remove the output, or have consumers read the secret from where it lives (a dynamic reference such as \
                     {{{{resolve:secretsmanager:...}}}}) instead of from `{output}`"
                )),
            );
        }
    }
    Report { findings: out, notes }
}

/// Every region named (the environment's, each layer's) is a region.
fn regions(project: &Project, env: &Environment, out: &mut Vec<Diagnostic>) {
    let at_env = Location::file_only(&env.file);
    if let Some(why) = value_checks::region_problem(&env.region) {
        out.push(Diagnostic::new(format!("environment `{}`: region {why}", env.name)).at(at_env.clone()));
    }
    for region in env.artifact_buckets.keys() {
        if let Some(why) = value_checks::region_problem(region) {
            out.push(
                Diagnostic::new(format!("environment `{}`: artifact_buckets: {why}", env.name)).at(at_env.clone()),
            );
        }
    }
    for (name, layer) in &project.layers {
        let (region, at) = match (env.layers.get(name).and_then(|s| s.region.as_ref()), &layer.region) {
            (Some(r), _) => (r, at_env.clone()),
            (None, Some(r)) => {
                (r, layer.metadata_path.as_deref().map(Location::file_only).unwrap_or_else(|| at_env.clone()))
            }
            (None, None) => continue,
        };
        if let Some(why) = value_checks::region_problem(region) {
            out.push(Diagnostic::new(format!("environment `{}`, layer `{name}`: region {why}", env.name)).at(at));
        }
    }
}

/// Stack set layers: their settings as CloudFormation would take them, and nothing that reads outputs
/// from them (a stack set's instances have outputs in many places; stackc reads none).
fn stack_sets(project: &Project, env: &Environment, built: &BTreeMap<String, Assembled>, out: &mut Vec<Diagnostic>) {
    let at_env = Location::file_only(&env.file);
    for (name, layer) in &project.layers {
        let section = env.layers.get(name).and_then(|s| s.stackset.as_ref());
        let Some(base) = &layer.stackset else {
            if section.is_some() {
                out.push(
                    Diagnostic::new(format!(
                        "environment `{}`: `[layers.{name}.stackset]` is set, but layer `{name}` is not deployed as a stack set",
                        env.name
                    ))
                    .at(at_env.clone())
                    .hint(format!("add `deploy_as = \"stackset\"` to stacks/{name}/layer.toml, or remove the section")),
                );
            }
            continue;
        };
        // A problem layer.toml's own settings have is reported there; what the environment adds, in its file.
        let own = base.problems();
        let at_layer = layer.metadata_path.as_deref().map(Location::file_only).unwrap_or_else(|| at_env.clone());
        let settings = section.map(|s| s.over(base)).unwrap_or_else(|| base.clone());
        for problem in settings.problems() {
            let at = if own.contains(&problem) { at_layer.clone() } else { at_env.clone() };
            out.push(
                Diagnostic::new(format!("environment `{}`, stack set layer `{name}`: {problem}", env.name)).at(at),
            );
        }
    }
    for (name, b) in built {
        for p in b.values.parameters.values() {
            let Some(Source::Output { layer: from, .. }) = &p.source else { continue };
            if project.layers.get(from).is_some_and(|l| l.stackset.is_some()) {
                out.push(
                    Diagnostic::new(format!(
                        "environment `{}`, layer `{name}`, parameter `{}`: layer `{from}` is deployed as a stack set, \
                         whose outputs stackc does not read",
                        env.name, p.name
                    ))
                    .at(p.origin.clone())
                    .hint("export the value from the instances and read it with Fn::ImportValue, or keep it in SSM"),
                );
            }
        }
    }
}

/// The `[checks]` of stackc.toml over every layer's template values, each problem once.
fn value_checks(project: &Project, env: &Environment, built: &BTreeMap<String, Assembled>, out: &mut Vec<Diagnostic>) {
    let mut seen = BTreeSet::new();
    for layer in built.values() {
        for (path, message) in value_checks::run(&project.checks, &layer.values.context) {
            if seen.insert((path.clone(), message.clone())) {
                let top = path.split('.').next().unwrap_or_default();
                let origin = env
                    .layers
                    .get(&layer.values.layer)
                    .and_then(|l| l.values.get(top))
                    .or_else(|| env.values.get(top))
                    .map(|s| s.origin.clone())
                    .unwrap_or_else(|| Location::file_only(&env.file));
                out.push(Diagnostic::new(format!("environment `{}`, value `{path}`: {message}", env.name)).at(origin));
            }
        }
    }
}

fn secret_values_in_templates(env: &Environment, out: &mut Vec<Diagnostic>) {
    let mut check = |layer: Option<&str>, key: &str, tree: &ValueTree, origin: &Location| {
        for s in tree.references() {
            if s.is_secret() {
                let scope = layer.map(|l| format!("layer `{l}`, ")).unwrap_or_default();
                out.push(
                    Diagnostic::new(format!(
                        "environment `{}`, {scope}value `{key}`: {} is secret and would be rendered into a template body",
                        env.name,
                        s.describe()
                    ))
                    .at(origin.clone())
                    .hint("pass secrets as stack parameters declared `NoEcho: true` under [layers.<layer>.parameters]"),
                );
            }
        }
    };
    for (k, v) in &env.values {
        check(None, k, &v.value, &v.origin);
    }
    for (l, settings) in &env.layers {
        for (k, v) in &settings.values {
            check(Some(l), k, &v.value, &v.origin);
        }
    }
}

fn parameters(env: &Environment, layer: &str, built: &Assembled, t: &Template, out: &mut Vec<Diagnostic>) {
    let declared = t.parameters();
    let names: Vec<&str> = declared.iter().map(|p| p.name.as_str()).collect();
    let given = &built.values.parameters;
    for p in &declared {
        let gets = given.get(&p.name);
        if p.default.is_none() && gets.is_none() {
            out.push(
                Diagnostic::new(format!(
                    "environment `{}`, layer `{layer}`: template parameter `{}` has no Default and gets no value",
                    env.name, p.name
                ))
                .at(Location::file_only(&env.file))
                .hint(format!("set it under [layers.{layer}.parameters] as `{} = ...`", p.name)),
            );
        }
        let Some(value) = gets else { continue };
        if value.is_secret() && !p.no_echo {
            out.push(
                Diagnostic::new(format!(
                    "environment `{}`, layer `{layer}`, parameter `{}`: a secret ({}) is passed to a parameter that is not `NoEcho: true`",
                    env.name,
                    p.name,
                    value.shown()
                ))
                .at(value.origin.clone())
                .hint(format!("declare `NoEcho: true` on parameter `{}` in the layer's template", p.name)),
            );
        }
        out.extend(constraint_findings(&env.name, layer, p, value));
    }
    for (name, value) in given {
        if !names.contains(&name.as_str()) {
            out.push(
                Diagnostic::new(format!(
                    "environment `{}`, layer `{layer}`: parameter `{name}` is not declared by the layer's template",
                    env.name
                ))
                .at(value.origin.clone())
                .note(format!(
                    "declared parameters: {}",
                    if names.is_empty() { "none".to_string() } else { list(&names) }
                ))
                .hint_opt(suggestion(name, names.iter().copied())),
            );
        }
    }
}

/// CloudFormation's quotas and naming rules that no setting lifts, so a deploy would fail on them.
fn hard_limits(env: &str, layer: &str, stack: &str, t: &Template, at: &Location, out: &mut Vec<Diagnostic>) {
    let valid_stack = stack.len() <= 128
        && stack.starts_with(|c: char| c.is_ascii_alphabetic())
        && stack.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid_stack {
        out.push(
            Diagnostic::new(format!(
                "environment `{env}`, layer `{layer}`: `{stack}` is not a valid stack name (a letter, then letters, digits \
                 and dashes, at most 128 characters)"
            ))
            .hint("change `stack_name` in stackc.toml, the environment file, or the layer's section"),
        );
    }
    for (section, limit) in [("Resources", 500), ("Parameters", 200), ("Outputs", 200), ("Mappings", 200)] {
        let names = t.names(section);
        if names.len() > limit {
            out.push(
                Diagnostic::new(format!(
                    "environment `{env}`, layer `{layer}`: the template has {} {section}; CloudFormation allows {limit}",
                    names.len()
                ))
                .at(at.clone())
                .hint("split the layer, or move part of it into a nested stack"),
            );
        }
        for name in names
            .iter()
            .filter(|n| !n.starts_with("Fn::ForEach::"))
            .filter(|n| n.is_empty() || n.len() > 255 || !n.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            out.push(
                Diagnostic::new(format!(
                    "environment `{env}`, layer `{layer}`: `{name}` in {section} is not a valid logical ID (letters and \
                     digits only, at most 255)"
                ))
                .at(at.clone()),
            );
        }
    }
}

/// What packaging needs: local paths that exist inside the project, and a bucket when anything goes to S3.
fn packaging(
    project: &Project,
    env: &Environment,
    name: &str,
    layer: &Assembled,
    at: &Location,
    out: &mut Vec<Diagnostic>,
) {
    match assemble::package_layer(project, env, name, layer) {
        Err(errors) => {
            for e in errors {
                out.push(Diagnostic::new(format!("environment `{}`, layer `{name}`: {e}", env.name)).at(at.clone()));
            }
        }
        Ok(p) if !p.artifacts.is_empty() && assemble::artifact_target(project, env, name).bucket.is_none() => {
            let what: Vec<String> = p
                .artifacts
                .iter()
                .map(|a| {
                    if a.source == "template" {
                        format!("the template ({} bytes)", a.bytes.len())
                    } else {
                        format!("`{}`", a.source)
                    }
                })
                .collect();
            out.push(
                Diagnostic::new(format!(
                    "environment `{}`, layer `{name}`: {} must go to S3, and {}",
                    env.name,
                    what.join(", "),
                    assemble::missing_bucket(project, env, name)
                ))
                .at(Location::file_only(&env.file)),
            );
        }
        Ok(_) => {}
    }
}

/// The template's constraints on one parameter against the value it gets. A secret is checked like
/// any value but never shown; a value not known here (a description) is not checked.
pub fn constraint_findings(
    env: &str,
    layer: &str,
    p: &template::TemplateParameter,
    value: &values::Parameter,
) -> Vec<Diagnostic> {
    let (shown, text) = match &value.value {
        Resolved::Plain(v) if !value.is_secret() && v.len() > 80 => {
            let cut = (0..=60).rev().find(|i| v.is_char_boundary(*i)).unwrap_or(0);
            (format!("`{}...` ({} bytes)", &v[..cut], v.len()), v.as_str())
        }
        Resolved::Plain(v) if !value.is_secret() => (format!("`{v}`"), v.as_str()),
        Resolved::Plain(v) => (format!("the secret {}", value.shown()), v.as_str()),
        Resolved::Secret(s) => (format!("the secret {}", value.shown()), s.expose()),
        Resolved::Placeholder(_) => return Vec::new(),
    };
    let violations = p.constraints.violations(text);
    if violations.is_empty() {
        return Vec::new();
    }
    let allowed: Vec<&str> = p.constraints.allowed_values.iter().map(String::as_str).collect();
    vec![Diagnostic::new(format!(
        "environment `{env}`, layer `{layer}`, parameter `{}`: {shown} {}",
        p.name,
        violations.join("; ")
    ))
    .at(value.origin.clone())
    .hint_opt(if value.is_secret() { None } else { suggestion(text, allowed.into_iter()) })]
}

pub(super) fn json_scalar(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The IAM capabilities the layer's template and its nested stacks need, against layer.toml's.
fn capabilities(project: &Project, layer: &str, t: &Template, nested: &BTreeSet<String>, out: &mut Vec<Diagnostic>) {
    let def = &project.layers[layer];
    let has = |c: &str| def.capabilities.iter().any(|x| x == c);
    let at =
        def.metadata_path.clone().map(|p| Location::file_only(&p)).unwrap_or_else(|| Location::file_only(&def.dir));
    let (iam, named) = t.iam_resources();
    let fix = |cap: &str| {
        let mut caps: Vec<String> = def.capabilities.iter().filter(|c| *c != "CAPABILITY_IAM").cloned().collect();
        caps.push(cap.to_string());
        let list: Vec<String> = caps.iter().map(|c| format!("\"{c}\"")).collect();
        format!("set `capabilities = [{}]` in stacks/{layer}/layer.toml", list.join(", "))
    };
    let nested_named = nested.contains("CAPABILITY_NAMED_IAM");
    if (named || nested_named) && !has("CAPABILITY_NAMED_IAM") {
        let whose = if named { "the template" } else { "a nested stack of the template" };
        out.push(
            Diagnostic::new(format!(
                "layer `{layer}`: {whose} creates named IAM resources but the layer lacks CAPABILITY_NAMED_IAM"
            ))
            .at(at.clone())
            .hint(fix("CAPABILITY_NAMED_IAM")),
        );
    } else if (!iam.is_empty() || nested.contains("CAPABILITY_IAM"))
        && !has("CAPABILITY_IAM")
        && !has("CAPABILITY_NAMED_IAM")
    {
        let what = if iam.is_empty() {
            "a nested stack creates IAM resources".to_string()
        } else {
            format!("the template creates IAM resources ({})", iam.join(", "))
        };
        out.push(
            Diagnostic::new(format!("layer `{layer}`: {what} but the layer lacks CAPABILITY_IAM"))
                .at(at.clone())
                .hint(fix("CAPABILITY_IAM")),
        );
    }
    // CAPABILITY_AUTO_EXPAND is inferred from a Transform (see `Template::capabilities_to_send`).
}
