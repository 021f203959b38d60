//! Commands: wire the pipeline stages to the file system and the terminal.

mod adopt;
mod printer;
pub use printer::printer;
mod artifacts;
mod promote_cmd;
mod secrets;
mod session;
mod stacks;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::build::{self, BuiltLayer};
use crate::cli::{Cli, Command, GraphFormat, ImportCommand, NewCommand, RenderArgs, SecretCommand};
use crate::diagnostic::{display_path, Diagnostic, Error, ExitKind, Result};
use crate::edge::local::Offline;
use crate::environment::SecretStore;
use crate::environment::{self, Environment};
use crate::graph::Graph;
use crate::param_format::{self, ParamFormat};
use crate::project::Project;
use crate::provider::Placeholders;
use crate::text::count;
use crate::validate;

/// When this process started its work; progress lines count from here.
pub fn started() -> std::time::Instant {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *START.get_or_init(std::time::Instant::now)
}

/// What every command needs to load an environment.
pub struct EnvOpts {
    pub sets: Vec<String>,
    pub password_from: Option<SecretStore>,
}

/// Load an environment with `--set`, then `--password-from` on the NoEcho parameters of every layer.
pub fn load_env(project: &Project, name: &str, opts: &EnvOpts) -> Result<Environment> {
    let mut env = environment::load(project, name, &opts.sets)?;
    if let Some(store) = opts.password_from {
        let layers: Vec<String> = project.layers.keys().cloned().collect();
        let built = build::build(project, &env, &layers, &mut Placeholders)?;
        for (layer, b) in &built {
            if let Ok(t) = &b.template {
                let secret: Vec<String> = t.parameters().into_iter().filter(|p| p.no_echo).map(|p| p.name).collect();
                env.password_from(&project.name, store, layer, &secret);
            }
        }
    }
    Ok(env)
}

pub fn run(cli: Cli) -> Result<()> {
    started();
    printer().set_verbose(cli.verbose);
    if let Command::Init { name } = &cli.command {
        let dir = cli.project.clone().unwrap_or_else(|| PathBuf::from("."));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        return adopt::init(&dir, name.as_deref());
    }
    if let Command::Completions { shell } = &cli.command {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        clap_complete::generate(*shell, &mut cmd, "stackc", &mut std::io::stdout());
        return Ok(());
    }
    let opts = EnvOpts { sets: cli.set.clone(), password_from: cli.password_from };
    let project = Project::discover(cli.project.as_deref())?;
    match &cli.command {
        Command::Render(args) if args.resolve => {
            let s = session::Session::open(project.clone(), &cli, &opts, &args.env)?;
            s.probe()?;
            return render(&project, args, &opts, Some(&s));
        }
        Command::Import { source: ImportCommand::Stack { stack, env, layer } } => {
            let s = session::Session::open(project, &cli, &opts, env)?;
            return adopt::import_stack(&s, stack, layer);
        }
        Command::Envdiff { from, to, resolve: true } => {
            let a = session::Session::open(project.clone(), &cli, &opts, from)?;
            let b = session::Session::open(project.clone(), &cli, &opts, to)?;
            a.probe()?;
            let layers: Vec<String> = project.layers.keys().cloned().collect();
            let resolved = (a.build_public(&layers)?, b.build_public(&layers)?);
            return promote_cmd::envdiff(&project, from, to, &opts, Some(resolved));
        }
        Command::Plan { args, keep, output, detailed_exitcode } => {
            let s = session::Session::open(project, &cli, &opts, &args.env)?;
            return stacks::plan(&s, args, *keep, *output, *detailed_exitcode);
        }
        Command::Deploy { args, yes, no_execute } => {
            let s = session::Session::open(project, &cli, &opts, &args.env)?;
            return stacks::deploy(&s, args, *yes, *no_execute);
        }
        Command::Status { env, output } => {
            let s = session::Session::open(project, &cli, &opts, env)?;
            return stacks::status(&s, *output);
        }
        Command::Outputs { env, layer, output } => {
            let s = session::Session::open(project, &cli, &opts, env)?;
            return stacks::outputs(&s, layer.as_deref(), *output);
        }
        Command::Diff { env, layers } => {
            let s = session::Session::open(project, &cli, &opts, env)?;
            return stacks::diff_cmd(&s, layers);
        }
        Command::Secret { command } => {
            let env = match command {
                SecretCommand::Set { env, .. } | SecretCommand::Check { env } => env,
            };
            let s = session::Session::open(project, &cli, &opts, env)?;
            return secrets::run(&s, command);
        }
        Command::Destroy { env, layers, yes, concurrency } => {
            let s = session::Session::open(project, &cli, &opts, env)?;
            return stacks::destroy(&s, layers, *yes, *concurrency);
        }
        Command::Bootstrap { env, bucket } => {
            let s = session::Session::open(project, &cli, &opts, env)?;
            return artifacts::bootstrap(&s, bucket.as_deref());
        }
        Command::Package { env, layers, out } => {
            let s = session::Session::open(project, &cli, &opts, env)?;
            return artifacts::package(&s, layers, out.as_deref());
        }
        _ => {}
    }
    match cli.command {
        Command::Render(args) => render(&project, &args, &opts, None),
        Command::Validate { env } => validate_cmd(&project, env.as_deref(), &opts),
        Command::Graph { env, format } => graph(&project, &env, &opts, format),
        Command::List => {
            print(&format!("{}{}", envs_text(&project), layers_text(&project)));
            Ok(())
        }
        Command::Envs => {
            print(&envs_text(&project));
            Ok(())
        }
        Command::Layers => {
            print(&layers_text(&project));
            Ok(())
        }
        Command::Envdiff { from, to, .. } => promote_cmd::envdiff(&project, &from, &to, &opts, None),
        Command::Promote { from, to, only, dry_run, yes, allow_env_names } => {
            promote_cmd::promote(&project, &from, &to, &opts, &only, dry_run, yes, allow_env_names)
        }
        Command::Import { source: ImportCommand::CfnToml { files, env, layer } } => {
            adopt::import_cfn_toml(&project, &files, &env, layer.as_deref())
        }
        Command::Import { source: ImportCommand::Samconfig { file, layer, template } } => {
            adopt::import_samconfig(&project, &file, &layer, template.as_deref())
        }
        Command::New { what: NewCommand::Layer { name, from_template, depends_on } } => {
            adopt::new_layer(&project, &name, from_template.as_deref(), &depends_on)
        }
        Command::Import { source: ImportCommand::Stack { .. } } | Command::Init { .. } => unreachable!("handled above"),
        Command::Completions { .. }
        | Command::Plan { .. }
        | Command::Deploy { .. }
        | Command::Secret { .. }
        | Command::Status { .. }
        | Command::Outputs { .. }
        | Command::Diff { .. }
        | Command::Destroy { .. }
        | Command::Bootstrap { .. }
        | Command::Package { .. } => {
            unreachable!("handled above")
        }
    }
}

/// A result on stdout, through the printer (scrubbed of the run's secrets).
pub(crate) fn print(s: &str) {
    printer().out(s);
}

/// The layers to work on, in dependency order: the named ones (checked), or all.
pub fn select_layers(project: &Project, env: &Environment, names: &[String]) -> Result<Vec<String>> {
    let mut errors = Vec::new();
    for n in names {
        if let Err(mut e) = project.layer(n) {
            errors.append(&mut e.diagnostics);
        }
    }
    if !errors.is_empty() {
        return Err(Error::configs(errors));
    }
    let graph = Graph::of(project, Some(env));
    let order: Vec<String> = match graph.waves() {
        Ok(w) => w.into_iter().flatten().collect(),
        Err(_) => project.layers.keys().cloned().collect(),
    };
    Ok(order.into_iter().filter(|l| names.is_empty() || names.contains(l)).collect())
}

fn offline_build(project: &Project, env: &Environment, layers: &[String]) -> Result<BTreeMap<String, BuiltLayer>> {
    let mut provider = Offline::new(project.root.clone());
    build::build(project, env, layers, &mut provider)
}

fn render(project: &Project, args: &RenderArgs, opts: &EnvOpts, session: Option<&session::Session>) -> Result<()> {
    let RenderArgs { env: env_name, layers: names, out, stdout, format, resolve, omit_secrets } = args;
    let env = load_env(project, env_name, opts)?;
    let layers = select_layers(project, &env, names)?;
    let built = match session {
        None => offline_build(project, &env, &layers)?,
        Some(s) => s.build_public(&layers)?,
    };
    // A template that does not parse is still written (to look at), but the command fails.
    let parse_errors: Vec<Diagnostic> = layers
        .iter()
        .filter_map(|l| {
            built[l].template.as_ref().err().map(|e| build::parse_error_diagnostic(project, l, &built[l], e))
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
        let dir = out.clone().unwrap_or_else(|| project.root.join("build").join(&env.name));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let mut summary = String::new();
        for l in &layers {
            let b = &built[l];
            let ext = if project.layers[l].template_name.contains(".json") { "json" } else { "yaml" };
            let tpath = dir.join(format!("{l}.{ext}"));
            write_file(&tpath, &b.text)?;
            let ppath = dir.join(format!("{l}.params.json"));
            let params =
                serde_json::to_string_pretty(&param_format::to_json(&b.shown_parameters())).unwrap_or_default() + "\n";
            write_file(&ppath, &params)?;
            let n = b.values.parameters.len();
            summary.push_str(&format!(
                "rendered {l:<12} {}  {}  ({})\n",
                display_path(&tpath),
                display_path(&ppath),
                count(n, "parameter")
            ));
            // What a deploy would upload (content-addressed: an unchanged artifact is not sent again).
            match build::package_layer(project, &env, l, b) {
                Ok(p) => {
                    let target = build::artifact_target(project, &env);
                    for line in crate::package::summary(l, &p, &target) {
                        summary.push_str(&format!(
                            "  would upload {}\n",
                            line.split_once(": ").map_or(line.as_str(), |x| x.1)
                        ));
                    }
                }
                Err(errors) => {
                    for e in errors {
                        summary.push_str(&format!("  cannot package: {e}\n"));
                    }
                }
            }
        }
        print(&summary);
    }
    if !parse_errors.is_empty() {
        return Err(Error::configs(parse_errors));
    }
    Ok(())
}

/// The cfn-toml forms go straight to the AWS CLI: every value must be real. A description of a value
/// that was not looked up is refused (add --resolve), and so is a secret (never printed) unless
/// --omit-secrets leaves it out.
fn for_the_cli(
    layers: &[String],
    built: &BTreeMap<String, BuiltLayer>,
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
            } else if matches!(p.value, crate::values::Resolved::Placeholder(_)) {
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

/// Write through a temporary file and rename, so a failed run never leaves half a file.
/// A file that already holds `text` is left alone (creating files is the slow part on many disks).
pub(crate) fn write_file(path: &Path, text: &str) -> Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(());
    }
    let tmp = path.with_extension(format!("{}.tmp", path.extension().and_then(|e| e.to_str()).unwrap_or("")));
    std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

fn validate_cmd(project: &Project, env: Option<&str>, opts: &EnvOpts) -> Result<()> {
    let envs: Vec<String> = match env {
        Some(e) => vec![e.to_string()],
        None => project.environment_names(),
    };
    let mut findings = Vec::new();
    let mut summary = String::new();
    for name in &envs {
        let env = match load_env(project, name, opts) {
            Ok(e) => e,
            Err(mut e) => {
                findings.append(&mut e.diagnostics);
                continue;
            }
        };
        let layers: Vec<String> = project.layers.keys().cloned().collect();
        let built = match offline_build(project, &env, &layers) {
            Ok(b) => b,
            Err(mut e) => {
                findings.append(&mut e.diagnostics);
                continue;
            }
        };
        let mut found = validate::validate(project, &env, &built);
        if found.is_empty() {
            summary.push_str(&format!("ok: environment `{name}`: {} layers valid\n", layers.len()));
        }
        findings.append(&mut found);
    }
    print(&summary);
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
    let g = Graph::of(project, Some(&env));
    let text = match format {
        GraphFormat::Text => match g.waves() {
            Ok(w) => g.to_text(&w),
            Err(cycle) => {
                return Err(Error::msg(format!("the layers form a dependency cycle: {}", cycle.join(" -> "))))
            }
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
