//! The commands that work offline: render, validate, graph, list (and `render --resolve`, which is
//! given a session).

use std::collections::BTreeMap;

use super::printer::printer;
use super::{adopt, build_dir, envdiff, load_env, print, promote_cmd, select_layers, session, write_output, EnvOpts};
use crate::assemble::{self, Assembled};
use crate::cli::{Command, GraphFormat, ImportCommand, NewCommand, Output, RenderArgs};
use crate::diagnostic::{display_path, Diagnostic, Error, ExitKind, Result};
use crate::edge::build_step;
use crate::edge::machine::Offline;
use crate::environment::{self, Environment};
use crate::graph;
use crate::package;
use crate::param_format::{self, ParamFormat};
use crate::project::Project;
use crate::scope;
use crate::text::count;
use crate::validate;
use crate::values::Resolved;

pub fn run(project: &Project, command: Command, opts: &EnvOpts) -> Result<()> {
    match command {
        Command::Render(args) => render(project, &args, opts, None),
        Command::Validate { env, output } => validate_cmd(project, env.as_deref(), opts, output),
        Command::Graph { env, format } => graph(project, &env, opts, format),
        Command::Build { env, layers } => build_cmd(project, &env, &layers, opts),
        Command::List { output: Output::Json } => {
            print(&(serde_json::to_string_pretty(&list_json(project)).unwrap_or_default() + "\n"));
            Ok(())
        }
        Command::List { .. } => {
            print(&format!("{}{}", envs_text(project), layers_text(project)));
            Ok(())
        }
        Command::Envs => {
            print(&envs_text(project));
            Ok(())
        }
        Command::Layers => {
            print(&layers_text(project));
            Ok(())
        }
        Command::Envdiff { from, to, output, .. } => envdiff::envdiff(project, &from, &to, opts, None, output),
        Command::Promote { from, to, only, dry_run, yes, allow_env_names } => {
            promote_cmd::promote(project, &from, &to, opts, &only, dry_run, yes, allow_env_names)
        }
        Command::Import { source: ImportCommand::CfnToml { files, env, layer } } => {
            adopt::import_cfn_toml(project, &files, &env, layer.as_deref())
        }
        Command::Import { source: ImportCommand::Samconfig { file, layer, template } } => {
            adopt::import_samconfig(project, &file, &layer, template.as_deref())
        }
        Command::New { what: NewCommand::Layer { name, from_template, depends_on } } => {
            adopt::new_layer(project, &name, from_template.as_deref(), &depends_on)
        }
        other => Err(Error::msg(format!("internal: {other:?} is not an offline command"))),
    }
}

/// `stackc build`: the selected layers' `[build]` commands, layer by layer.
fn build_cmd(project: &Project, env_name: &str, names: &[String], opts: &EnvOpts) -> Result<()> {
    let env = load_env(project, env_name, opts)?;
    let project = &scope::for_env(project, &env);
    let layers = select_layers(project, &env, names)?;
    let ran = build_step::run(project, &env, &layers, &|layer, step| printer().line(&format!("[{layer}] {step}")))?;
    let none = if ran == 0 { " (none of the selected layers has a [build] in its layer.toml)" } else { "" };
    printer().line(&format!("built {}{none}", count(ran, "layer")));
    Ok(())
}

fn offline_build(project: &Project, env: &Environment, layers: &[String]) -> Result<BTreeMap<String, Assembled>> {
    let mut provider = Offline::new(project.root.clone());
    assemble::layers(project, env, layers, &mut provider)
}

pub fn render(project: &Project, args: &RenderArgs, opts: &EnvOpts, session: Option<&session::Session>) -> Result<()> {
    let RenderArgs { env: env_name, layers: names, out, stdout, format, resolve, omit_secrets } = args;
    let env = load_env(project, env_name, opts)?;
    let project = &scope::for_env(project, &env);
    let layers = select_layers(project, &env, names)?;
    if *stdout && format.is_none() && session.is_none() {
        return print_offline(project, &env, &layers);
    }
    let built = match session {
        None => offline_build(project, &env, &layers)?,
        Some(s) => s.build_public(&layers)?,
    };
    // A template that does not parse is still written (to look at), but the command fails.
    let mut parse_errors: Vec<Diagnostic> = layers
        .iter()
        .filter_map(|l| {
            built[l].template.as_ref().err().map(|e| assemble::parse_error_diagnostic(project, l, &built[l].text, e))
        })
        .collect();
    let many = layers.len() > 1;
    if let Some(fmt) = *format {
        if fmt != ParamFormat::Json {
            for_the_cli(&layers, &built, fmt, *resolve, *omit_secrets)?;
        }
        let mut text = String::new();
        if fmt == ParamFormat::Json && many {
            let all: serde_json::Map<String, serde_json::Value> =
                layers.iter().map(|l| (l.clone(), param_format::to_json(&built[l].shown_parameters()))).collect();
            text = serde_json::to_string_pretty(&all).unwrap_or_default() + "\n";
        } else {
            for l in &layers {
                if many {
                    text.push_str(&format!("# {l}\n"));
                }
                let (secret, public): (Vec<_>, Vec<_>) =
                    built[l].values.parameters.values().partition(|p| p.is_secret() && fmt != ParamFormat::Json);
                let public: Vec<(String, String)> = public.iter().map(|p| (p.name.clone(), p.shown())).collect();
                let kept: Vec<String> = secret.iter().map(|p| p.name.clone()).collect();
                text.push_str(&param_format::format_keeping(fmt, &public, &kept));
            }
        }
        print(&text);
    } else if *stdout {
        let mut text = String::new();
        for l in &layers {
            if many {
                text.push_str(&format!("# ---- layer {l} ({}) ----\n", built[l].values.stack_name));
            }
            text.push_str(&built[l].text);
            if !built[l].text.ends_with('\n') {
                text.push('\n');
            }
        }
        print(&text);
    } else {
        write_rendered(project, &env, &layers, &built, out.as_deref(), &mut parse_errors)?;
    }
    assemble::release(built);
    if !parse_errors.is_empty() {
        return Err(Error::configs(parse_errors));
    }
    Ok(())
}

/// `render --stdout` offline: each layer's text, checked as it would be parsed but with no tree kept (what
/// makes printing 500 layers cheap); a template that does not parse is printed and fails the command.
fn print_offline(project: &Project, env: &Environment, layers: &[String]) -> Result<()> {
    let mut provider = Offline::new(project.root.clone());
    let texts = assemble::render_texts(project, env, layers, &mut provider)?;
    let many = layers.len() > 1;
    let mut out = String::new();
    let mut parse_errors = Vec::new();
    for l in layers {
        let r = &texts[l];
        if many {
            out.push_str(&format!("# ---- layer {l} ({}) ----\n", r.stack_name));
        }
        out.push_str(&r.text);
        if !r.text.ends_with('\n') {
            out.push('\n');
        }
        if let Some(e) = &r.parse_error {
            parse_errors.push(assemble::parse_error_diagnostic(project, l, &r.text, e));
        }
    }
    print(&out);
    if !parse_errors.is_empty() {
        return Err(Error::configs(parse_errors));
    }
    Ok(())
}

/// Each layer's template and parameters file under `out` (or `build/<env>`), and what a deploy would
/// upload; a layer that cannot be packaged adds its reasons to `problems` (its files are still written).
fn write_rendered(
    project: &Project,
    env: &Environment,
    layers: &[String],
    built: &BTreeMap<String, Assembled>,
    out: Option<&std::path::Path>,
    problems: &mut Vec<Diagnostic>,
) -> Result<()> {
    let dir = match out {
        Some(d) => d.to_path_buf(),
        None => build_dir(&project.root, &env.name)?,
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut summary = String::new();
    for l in layers {
        let b = &built[l];
        let ext = if project.layers[l].template_name.contains(".json") { "json" } else { "yaml" };
        let tpath = dir.join(format!("{l}.{ext}"));
        write_output(&tpath, &b.text)?;
        let ppath = dir.join(format!("{l}.params.json"));
        let params =
            serde_json::to_string_pretty(&param_format::to_json(&b.shown_parameters())).unwrap_or_default() + "\n";
        write_output(&ppath, &params)?;
        let n = b.values.parameters.len();
        summary.push_str(&format!(
            "rendered {l:<12} {}  {}  ({})\n",
            display_path(&tpath),
            display_path(&ppath),
            count(n, "parameter")
        ));
        // What a deploy would upload (content-addressed: an unchanged artifact is not sent again).
        match assemble::package_layer(project, env, l, b) {
            Ok(p) => {
                let target = assemble::artifact_target(project, env, l);
                for line in package::summary(l, &p, &target) {
                    summary.push_str(&format!("  {}\n", line.split_once(": ").map_or(line.as_str(), |x| x.1)));
                }
            }
            Err(errors) => {
                // A deploy would fail on it (a nested template that does not render, a path that is
                // not there): the files are written, and render fails with each reason.
                summary.push_str(&format!("  cannot package {l}: {} (below)\n", count(errors.len(), "problem")));
                problems.extend(
                    errors.into_iter().map(|e| {
                        Diagnostic::new(format!("environment `{}`, layer `{l}`: cannot package: {e}", env.name))
                    }),
                );
            }
        }
    }
    print(&summary);
    Ok(())
}

/// The cfn-toml forms go straight to the AWS CLI: every value must be real. A description of a value
/// that was not looked up is refused (add --resolve), and so is a secret (never printed) unless
/// --omit-secrets leaves it out.
fn for_the_cli(
    layers: &[String],
    built: &BTreeMap<String, Assembled>,
    fmt: ParamFormat,
    resolved: bool,
    omit_secrets: bool,
) -> Result<()> {
    let flag = if fmt == ParamFormat::CfnTomlV1 { "cfn-toml-v1" } else { "cfn-toml-v2" };
    let mut unresolved = Vec::new();
    let mut secrets = Vec::new();
    for l in layers {
        for p in built[l].values.parameters.values() {
            if p.is_secret() {
                secrets.push(format!("{l}.{}", p.name));
            } else if matches!(p.value, Resolved::Placeholder(_)) {
                unresolved.push(format!("{l}.{} ({})", p.name, p.shown()));
            }
        }
    }
    let mut diagnostics = Vec::new();
    if !unresolved.is_empty() {
        let how = if resolved {
            "they could not be looked up (is the layer they come from deployed?)"
        } else {
            "they were not looked up: add --resolve to read them from AWS"
        };
        diagnostics.push(Diagnostic::new(format!(
            "--format {flag} prints values for the AWS CLI, and {} only a description here: {}; {how}",
            if unresolved.len() == 1 {
                "1 parameter has".to_string()
            } else {
                format!("{} parameters have", unresolved.len())
            },
            unresolved.join(", ")
        )));
    }
    if !secrets.is_empty() && !omit_secrets {
        diagnostics.push(Diagnostic::new(format!(
            "--format {flag} never prints a secret: {}; add --omit-secrets to leave {} out (the deployed stack keeps \
             its value), or deploy with `stackc deploy`",
            secrets.join(", "),
            if secrets.len() == 1 { "it" } else { "them" }
        )));
    }
    if diagnostics.is_empty() {
        Ok(())
    } else {
        Err(Error { kind: ExitKind::Config, diagnostics })
    }
}

/// Everything the project holds, for tools.
fn list_json(project: &Project) -> serde_json::Value {
    serde_json::json!({
        "project": project.name,
        "environments": project.environment_names(),
        "layers": project.layers.values().map(|l| serde_json::json!({
            "name": l.name,
            "description": l.description,
            "depends_on": l.depends_on,
            "capabilities": l.capabilities,
            "environments": l.environments,
        })).collect::<Vec<_>>(),
    })
}

/// What `validate` found across environments: rendered as text or JSON from this one value.
#[derive(Debug, serde::Serialize)]
struct ValidateReport {
    ok: bool,
    notes: std::collections::BTreeSet<String>,
    environments: Vec<EnvValidated>,
    #[serde(serialize_with = "diagnostics_json")]
    findings: Vec<Diagnostic>,
}

/// One environment: how many layers it has, how many findings they gave.
#[derive(Debug, serde::Serialize)]
struct EnvValidated {
    environment: String,
    layers: usize,
    findings: usize,
}

fn diagnostics_json<S: serde::Serializer>(d: &[Diagnostic], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(d.iter().map(Diagnostic::to_json))
}

impl ValidateReport {
    /// A line for each environment without findings (the findings themselves are the error).
    fn to_text(&self) -> String {
        let ok = self.environments.iter().filter(|e| e.findings == 0);
        ok.map(|e| format!("ok: environment `{}`: {} valid\n", e.environment, count(e.layers, "layer"))).collect()
    }
}

fn validate_cmd(project: &Project, env: Option<&str>, opts: &EnvOpts, output: Output) -> Result<()> {
    let envs: Vec<String> = match env {
        Some(e) => vec![e.to_string()],
        None => project.environment_names(),
    };
    let findings = validate::layer_environments(project);
    let mut report = ValidateReport { ok: true, notes: Default::default(), environments: Vec::new(), findings };
    for name in &envs {
        let env = match load_env(project, name, opts) {
            Ok(e) => e,
            Err(mut e) => {
                report.findings.append(&mut e.diagnostics);
                continue;
            }
        };
        let full = project;
        let project = &scope::for_env(full, &env);
        let layers: Vec<String> = project.layers.keys().cloned().collect();
        let built = match offline_build(project, &env, &layers) {
            Ok(b) => b,
            Err(mut e) => {
                report.findings.append(&mut e.diagnostics);
                continue;
            }
        };
        let mut found = validate::report(project, &env, &built);
        report.notes.extend(found.notes);
        let counts = EnvValidated { environment: name.clone(), layers: layers.len(), findings: found.findings.len() };
        report.environments.push(counts);
        report.findings.append(&mut found.findings);
    }
    report.ok = report.findings.is_empty();
    for n in &report.notes {
        printer().note(n);
    }
    match output {
        Output::Text => print(&report.to_text()),
        Output::Json => print(&(serde_json::to_string_pretty(&report).unwrap_or_default() + "\n")),
    }
    let mut findings = report.findings;
    if findings.is_empty() {
        Ok(())
    } else {
        let n = findings.len();
        findings.push(Diagnostic::new(format!("validation failed with {}", count(n, "finding"))));
        Err(Error { kind: ExitKind::Config, diagnostics: findings })
    }
}

fn graph(project: &Project, env_name: &str, opts: &EnvOpts, format: GraphFormat) -> Result<()> {
    let env = load_env(project, env_name, opts)?;
    let g = scope::graph(&scope::for_env(project, &env), Some(&env));
    let text = match format {
        GraphFormat::Text => match g.waves() {
            Ok(w) => g.to_text(&w),
            Err(cycle) => return Err(Error::msg(graph::cycle_message(&cycle))),
        },
        GraphFormat::Dot => g.to_dot(&format!("{}-{}", project.name, env.name)),
        GraphFormat::Mermaid => g.to_mermaid(),
    };
    print(&text);
    Ok(())
}

fn envs_text(project: &Project) -> String {
    let mut s = String::from("environments:\n");
    for name in project.environment_names() {
        let detail = match environment::load(project, &name, &[]) {
            Ok(e) => format!(
                "region {}{}{}",
                e.region,
                e.account_id.map(|a| format!(", account {a}")).unwrap_or_default(),
                if e.protected { ", protected" } else { "" }
            ),
            Err(e) => format!("invalid: {}", e.diagnostics.first().map(|d| d.message.clone()).unwrap_or_default()),
        };
        s.push_str(&format!("  {name:<12} {detail}\n"));
    }
    s
}

fn layers_text(project: &Project) -> String {
    let mut s = String::from("layers:\n");
    for (name, l) in &project.layers {
        let mut parts = Vec::new();
        if !l.depends_on.is_empty() {
            parts.push(format!("depends on {}", l.depends_on.join(", ")));
        }
        if !l.capabilities.is_empty() {
            parts.push(l.capabilities.join(" "));
        }
        let desc = l.description.clone().unwrap_or_default();
        s.push_str(&format!(
            "  {name:<12} {desc}{}{}\n",
            if parts.is_empty() || desc.is_empty() { "" } else { "  " },
            if parts.is_empty() { String::new() } else { format!("[{}]", parts.join("; ")) }
        ));
    }
    s
}
