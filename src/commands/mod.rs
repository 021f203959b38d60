//! Commands: wire the pipeline stages to the file system and the terminal.

mod adopt;
mod approve;
mod offline;
mod printer;
pub use printer::printer;
mod artifacts;
mod builds;
mod deploy;
mod envdiff;
mod events;
mod inspect;
mod progress;
mod promote_cmd;
mod recover;
mod remove;
mod secrets;
mod session;

use std::path::{Path, PathBuf};

use crate::assemble;
use crate::cli::{Cli, Command, ImportCommand, SecretCommand};
use crate::completion;
use crate::diagnostic::{display_path, Diagnostic, Error, Result};
use crate::edge::watchdog;
use crate::environment::SecretStore;
use crate::environment::{self, Environment};
use crate::files;
use crate::project::Project;
use crate::provider::Placeholders;
use crate::scope;
use crate::value_checks::region_problem;

/// When this process started its work; progress lines count from here.
pub fn started() -> std::time::Instant {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *START.get_or_init(std::time::Instant::now)
}

/// What every command needs to load an environment.
pub struct EnvOpts {
    pub sets: Vec<String>,
    pub password_from: Option<SecretStore>,
    /// `--region`: the environment's region for this run (templates, look-ups, hooks and AWS alike).
    pub region: Option<String>,
}

/// Load an environment with `--set`, then `--password-from` on the NoEcho parameters of every layer.
pub fn load_env(project: &Project, name: &str, opts: &EnvOpts) -> Result<Environment> {
    let mut env = environment::load(project, name, &opts.sets)?;
    if let Some(region) = &opts.region {
        env.region = region.clone();
    }
    if let Some(store) = opts.password_from {
        let layers: Vec<String> = project.layers.keys().cloned().collect();
        let built = assemble::layers(project, &env, &layers, &mut Placeholders)?;
        for (layer, b) in &built {
            if let Ok(t) = &b.template {
                let secret: Vec<String> = t.parameters().into_iter().filter(|p| p.no_echo).map(|p| p.name).collect();
                env.password_from(&project.name, store, layer, &secret);
            }
        }
    }
    Ok(env)
}

/// `--region` and `--endpoint-url` are checked before anything is read or sent.
fn check_connection_flags(cli: &Cli) -> Result<()> {
    if let Some(why) = cli.region.as_deref().and_then(region_problem) {
        return Err(Error::config(Diagnostic::new(format!("--region: {why}"))));
    }
    if let Some(url) = &cli.endpoint_url {
        if let Some(why) = endpoint_problem(url) {
            return Err(Error::config(Diagnostic::new(format!("--endpoint-url `{url}`: {why}")).hint(
                "an endpoint is a URL such as http://127.0.0.1:5000 or https://cloudformation.eu-west-1.amazonaws.com",
            )));
        }
    }
    Ok(())
}

/// What is wrong with an endpoint URL: it needs http or https, a host, and nothing a URL cannot hold.
pub fn endpoint_problem(url: &str) -> Option<String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Some("is not a URL (no scheme://)".into());
    };
    if scheme != "http" && scheme != "https" {
        return Some(format!("`{scheme}` is not http or https"));
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let name = if host.starts_with('[') {
        host
    } else {
        host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) && !port.is_empty() {
                h
            } else {
                host
            }
        })
    };
    if name.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("has no host, or holds spaces".into());
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || "-._[]:".contains(c)) {
        return Some(format!("`{name}` is not a host name"));
    }
    None
}

pub fn run(cli: Cli) -> Result<()> {
    started();
    watchdog::start();
    printer::set_colour(cli.color);
    printer().set_verbose(cli.verbose);
    match &cli.command {
        Command::Init { name } => {
            let dir = cli.project.clone().unwrap_or_else(|| PathBuf::from("."));
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            return adopt::init(&dir, name.as_deref());
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "stackc", &mut std::io::stdout());
            match shell {
                clap_complete::Shell::Bash => print(completion::BASH),
                clap_complete::Shell::Fish => print(completion::FISH),
                _ => {}
            }
            return Ok(());
        }
        Command::Complete { words } => {
            // Silent on any error: a completion that cannot find a project offers nothing.
            let dir = completion::project_dir(words).map(PathBuf::from).or_else(|| cli.project.clone());
            if let Ok(project) = Project::discover(dir.as_deref()) {
                let names = completion::candidates(&project, words);
                print(&names.iter().map(|n| format!("{n}\n")).collect::<String>());
            }
            return Ok(());
        }
        _ => {}
    }
    check_connection_flags(&cli)?;
    let opts = EnvOpts { sets: cli.set.clone(), password_from: cli.password_from, region: cli.region.clone() };
    let project = Project::discover(cli.project.as_deref())?;
    match aws_environment(&cli.command) {
        Some(env) => {
            let s = session::Session::open(project, &cli, &opts, env)?;
            with_aws(&s, &cli, &opts)
        }
        None => offline::run(&project, cli.command, &opts),
    }
}

/// The environment a command works on when it talks to AWS; None for the commands that work offline.
fn aws_environment(command: &Command) -> Option<&str> {
    match command {
        Command::Render(args) if args.resolve => Some(&args.env),
        Command::Envdiff { from, resolve: true, .. } => Some(from),
        Command::Import { source: ImportCommand::Stack { env, .. } } => Some(env),
        Command::Plan { args, .. } | Command::Deploy { args, .. } => Some(&args.env),
        Command::Status { env, .. }
        | Command::Outputs { env, .. }
        | Command::Diff { env, .. }
        | Command::Drift { env, .. }
        | Command::Events { env, .. }
        | Command::Destroy { env, .. }
        | Command::ContinueRollback { env, .. }
        | Command::Bootstrap { env, .. }
        | Command::Package { env, .. }
        | Command::Prune { env, .. } => Some(env),
        Command::Secret { command: SecretCommand::Set { env, .. } | SecretCommand::Check { env, .. } } => Some(env),
        _ => None,
    }
}

/// The commands that talk to AWS, with a session on the environment `aws_environment` named.
fn with_aws(s: &session::Session, cli: &Cli, opts: &EnvOpts) -> Result<()> {
    match &cli.command {
        Command::Render(args) => {
            s.probe()?;
            offline::render(&s.project, args, opts, Some(s))
        }
        Command::Import { source: ImportCommand::Stack { stack, layer, .. } } => adopt::import_stack(s, stack, layer),
        Command::Envdiff { from, to, output, .. } => {
            // Each session has the layers of its own environment; the comparison needs them all.
            let full = Project::discover(cli.project.as_deref())?;
            let b = session::Session::open(full.clone(), cli, opts, to)?;
            s.probe()?;
            let layers_of = |x: &session::Session| x.project.layers.keys().cloned().collect::<Vec<_>>();
            let resolved = (s.build_public(&layers_of(s))?, b.build_public(&layers_of(&b))?);
            envdiff::envdiff(&full, from, to, opts, Some(resolved), *output)
        }
        Command::Plan { args, keep, output, detailed_exitcode } => {
            deploy::plan(s, args, *keep, *output, *detailed_exitcode)
        }
        Command::Deploy { args, yes, no_execute, output, allow_replace } => {
            let approval = approve::Approval { yes: *yes, allow_replace: allow_replace.clone() };
            deploy::deploy(s, args, &approval, *no_execute, *output)
        }
        Command::Status { output, .. } => inspect::status(s, *output),
        Command::Outputs { layer, output, .. } => inspect::outputs(s, layer.as_deref(), *output),
        Command::Diff { layers, output, .. } => inspect::diff_cmd(s, layers, *output),
        Command::Drift { layers, output, .. } => inspect::drift(s, layers, *output),
        Command::Events { layers, since, output, .. } => events::events(s, layers, since.as_deref(), *output),
        Command::Secret { command } => secrets::run(s, command),
        Command::Destroy { layers, yes, concurrency, .. } => remove::destroy(s, layers, *yes, *concurrency),
        Command::ContinueRollback { layers, skip, yes, .. } => recover::continue_rollback(s, layers, skip, *yes),
        Command::Bootstrap { bucket, .. } => artifacts::bootstrap(s, bucket.as_deref()),
        Command::Package { layers, out, .. } => artifacts::package(s, layers, out.as_deref()),
        Command::Prune { yes, regions, .. } => remove::prune(s, *yes, regions),
        other => Err(Error::msg(format!("internal: {other:?} is not a command that talks to AWS"))),
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
    let graph = scope::graph(project, Some(env));
    let order: Vec<String> = match graph.waves() {
        Ok(w) => w.into_iter().flatten().collect(),
        Err(_) => project.layers.keys().cloned().collect(),
    };
    Ok(order.into_iter().filter(|l| names.is_empty() || names.contains(l)).collect())
}

/// A file the user owns (an environment file), replaced whole: a failed run never leaves half of it.
pub(crate) fn write_file(path: &Path, text: &str) -> Result<()> {
    files::write_atomically(path, text.as_bytes()).map_err(|e| Error::io(path, e))
}

/// stackc's own output (under `build/` or `--out`), rewritten in place when it changed.
pub(crate) fn write_output(path: &Path, text: &str) -> Result<()> {
    files::write_output(path, text.as_bytes()).map_err(|e| Error::io(path, e))
}

/// `build/<env>` of the project, where render and package write unless told `--out`: refused when
/// `build` or `build/<env>` is a link (it would write outside the project).
pub(crate) fn build_dir(root: &Path, env: &str) -> Result<std::path::PathBuf> {
    let build = root.join("build");
    for dir in [build.clone(), build.join(env)] {
        if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Error::config(
                Diagnostic::new(format!(
                    "`{}` is a link; stackc writes only inside the project there",
                    display_path(&dir)
                ))
                .hint("remove the link, or say where to write with --out"),
            ));
        }
    }
    Ok(build.join(env))
}
