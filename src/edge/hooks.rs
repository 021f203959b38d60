//! Layer hooks: shell commands run around a layer's deploy or delete.

use std::io::BufRead;

use crate::cfn::port::StackInfo;
use crate::deploy::ports::{HookPhase, HookRunner, Reporter};
use crate::deploy::step::Step;
use crate::edge::aws;
use crate::environment::{Environment, ParamValue, ValueTree};
use crate::project::Project;
use crate::scope;
use crate::secret;
use crate::source::Source;

/// Runs layer hooks with `sh -c` from the project root, streaming their output through the progress
/// lines (secrets scrubbed). They get STACKC_PROJECT, STACKC_ENV, STACKC_REGION, STACKC_LAYER,
/// STACKC_STACK_NAME, STACKC_OUTPUT_<Key> and STACKC_OUTPUTS_JSON, and the run's region, profile,
/// endpoint and account (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, STACKC_ACCOUNT_ID); never a secret: environment variables
/// that are secret sources of this environment are removed from their environment.
pub struct ShellHooks<'a> {
    pub project: &'a Project,
    pub env: &'a Environment,
    /// The connection this run uses: a hook talks to the same account, region and endpoint.
    pub connection: &'a aws::Connection,
    /// When the run assumes a role: its temporary credentials (or why they could not be had), so a hook
    /// acts as the run does.
    pub assumed: Option<Result<(String, secret::Secret, Option<secret::Secret>), String>>,
    /// The stack name of a layer.
    pub stack_name: &'a (dyn Fn(&str) -> String + Sync),
    /// Scrubs the run's secret values from a line.
    pub redact: &'a (dyn Fn(&str) -> String + Sync),
    pub reporter: &'a dyn Reporter,
}

impl HookRunner for ShellHooks<'_> {
    fn run(&self, layer: &str, phase: HookPhase, stack: Option<&StackInfo>) -> std::result::Result<(), String> {
        let Some(def) = self.project.layers.get(layer) else { return Ok(()) };
        let (name, commands) = match phase {
            HookPhase::BeforeDeploy => ("before_deploy", &def.hooks.before_deploy),
            HookPhase::AfterDeploy => ("after_deploy", &def.hooks.after_deploy),
            HookPhase::BeforeDestroy => ("before_destroy", &def.hooks.before_destroy),
        };
        let outputs = stack.map(|st| st.outputs.clone()).unwrap_or_default();
        for command in commands {
            self.reporter.status(layer, &Step::Command { what: name, command: command.clone() });
            let mut cmd = self.command(layer, command, &outputs);
            self.identity(&mut cmd).map_err(|why| {
                format!(
                    "the {name} hook `{command}` was not run: the assumed role's credentials are not available ({why})"
                )
            })?;
            self.follow(layer, cmd).map_err(|why| format!("the {name} hook `{command}` {why}"))?;
        }
        Ok(())
    }
}

impl ShellHooks<'_> {
    /// `sh -c command` in the project's folder, with the run's names and the stack's outputs in its
    /// environment, and no variable that holds a secret of the environment.
    fn command(
        &self,
        layer: &str,
        command: &str,
        outputs: &std::collections::BTreeMap<String, String>,
    ) -> std::process::Command {
        let secret_vars = secret_vars(self.env);
        // The layer's own region (a layer may live elsewhere than the environment).
        let region = scope::region_of(self.project, layer, self.env);
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c").arg(command).current_dir(&self.project.root);
        for v in secret_vars {
            cmd.env_remove(v);
        }
        cmd.env("STACKC_PROJECT", &self.project.name)
            .env("STACKC_ENV", &self.env.name)
            .env("STACKC_REGION", &region)
            .env("AWS_REGION", &region)
            .env("AWS_DEFAULT_REGION", &region)
            .env("STACKC_LAYER", layer)
            .env("STACKC_STACK_NAME", (self.stack_name)(layer))
            .env("STACKC_OUTPUTS_JSON", serde_json::to_string(outputs).unwrap_or_default());
        if let Some(a) = &self.env.account_id {
            cmd.env("STACKC_ACCOUNT_ID", a);
        }
        if let Some(e) = &self.connection.endpoint_url {
            cmd.env("AWS_ENDPOINT_URL", e).env("STACKC_ENDPOINT_URL", e);
        }
        for (k, v) in outputs {
            let key: String = k.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
            cmd.env(format!("STACKC_OUTPUT_{key}"), v);
        }
        cmd
    }

    /// The identity and profile of this run, not whatever the shell had; why not, when the assumed
    /// role's credentials could not be had.
    fn identity(&self, cmd: &mut std::process::Command) -> std::result::Result<(), String> {
        match &self.assumed {
            Some(Ok((key, secret, token))) => {
                cmd.env("AWS_ACCESS_KEY_ID", key)
                    .env("AWS_SECRET_ACCESS_KEY", secret.expose())
                    .env_remove("AWS_PROFILE");
                match token {
                    Some(t) => cmd.env("AWS_SESSION_TOKEN", t.expose()),
                    None => cmd.env_remove("AWS_SESSION_TOKEN"),
                };
            }
            Some(Err(why)) => return Err(why.clone()),
            None => {
                if let Some(p) = &self.connection.profile {
                    cmd.env("AWS_PROFILE", p).env("STACKC_PROFILE", p);
                }
            }
        }
        Ok(())
    }

    /// Runs it, each line of its output shown (redacted) as the layer's progress; why it failed.
    fn follow(&self, layer: &str, cmd: std::process::Command) -> std::result::Result<(), String> {
        follow(cmd, &|line| self.reporter.status(layer, &Step::Output((self.redact)(line))))
    }
}

/// The variables that are secret sources of `env` (`{ env = "...", secret = true }`): removed from the
/// environment of every command stackc runs.
pub fn secret_vars(env: &Environment) -> Vec<String> {
    let params = env.layers.values().flat_map(|l| l.parameters.values());
    let mut vars: Vec<String> = params
        .filter_map(|p| match &p.value {
            ParamValue::Ref(Source::Env { var, secret: true, .. }) => Some(var.clone()),
            _ => None,
        })
        .collect();
    let values = env.values.values().chain(env.layers.values().flat_map(|l| l.values.values()));
    for v in values {
        secret_vars_in(&v.value, &mut vars);
    }
    vars
}

fn secret_vars_in(tree: &ValueTree, out: &mut Vec<String>) {
    match tree {
        ValueTree::Ref(Source::Env { var, secret: true, .. }) => out.push(var.clone()),
        ValueTree::List(items) => items.iter().for_each(|t| secret_vars_in(t, out)),
        ValueTree::Table(t) => t.values().for_each(|t| secret_vars_in(t, out)),
        _ => {}
    }
}

/// Runs `cmd` (stdin closed), giving each line of its output and error output to `on_line` as it comes;
/// why it failed.
pub fn follow(mut cmd: std::process::Command, on_line: &(dyn Fn(&str) + Sync)) -> std::result::Result<(), String> {
    cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("could not start: {e}"))?;
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for line in std::io::BufReader::new(out).lines().map_while(|l| l.ok()) {
                on_line(&line);
            }
        });
        for line in std::io::BufReader::new(err).lines().map_while(|l| l.ok()) {
            on_line(&line);
        }
    });
    let status = child.wait().map_err(|e| format!("failed: {e}"))?;
    if !status.success() {
        return Err(format!(
            "failed ({})",
            status.code().map(|c| format!("exit status {c}")).unwrap_or_else(|| "killed by a signal".into())
        ));
    }
    Ok(())
}
