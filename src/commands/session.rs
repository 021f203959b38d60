//! What every AWS command shares: the environment, the AWS clients, the order of layers, the account, the
//! hooks and builds a run starts, and turning a built layer (`builds`) into what CreateChangeSet needs:
//! its stack-set target, its artifacts uploaded.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use super::builds::Builds;
use super::printer;
use crate::assemble;
use crate::cfn::port;
use crate::cfn::port::{CloudFormation, StackInfo, StackSets};
use crate::cfn::stack_state::{classify, StackState};
use crate::cfn::template::Template;
use crate::cli::Cli;
use crate::scope;

use crate::deploy::layer::{nested_body, LayerError, Outcome, Prepared};
use crate::deploy::ports::Reporter;
use crate::deploy::prepare;
use crate::deploy::run_state::RunState;
use crate::deploy::scheduler::schedule;
use crate::deploy::stackset;
use crate::deploy::step::Step;
use crate::diagnostic::{Diagnostic, Error, Result};
use crate::edge::aws::regional::Regional;
use crate::edge::aws::s3;
use crate::edge::aws::s3::S3;
use crate::edge::aws::values::AwsValues;
use crate::edge::aws::{Aws, Connection};
use crate::edge::machine::Offline;
use crate::edge::sources::Sources;
use crate::edge::{build_step, hooks};
use crate::environment::Environment;
use crate::graph;
use crate::graph::Graph;
use crate::package;
use crate::project::Project;
use crate::source::Source;
use crate::stackset_settings::StackSetTarget;
use crate::text::{count, list};

pub struct Session {
    pub project: Arc<Project>,
    pub env: Arc<Environment>,
    pub aws: Arc<Aws>,
    pub cfn: Regional,
    pub graph: Arc<Graph>,
    /// The layers resolved and rendered in this run, and the sources of their values.
    pub builds: Builds,
    /// What this run has under way: the change sets an interrupt deletes, whether to start more layers.
    pub run: RunState,
    s3_regions: Mutex<BTreeMap<String, Arc<s3::S3>>>,
    /// The account of the credentials in use, asked once.
    account: std::sync::OnceLock<String>,
}

impl Session {
    pub fn open(project: Project, cli: &Cli, opts: &super::EnvOpts, env_name: &str) -> Result<Session> {
        let env = super::load_env(&project, env_name, opts)?;
        let project = scope::for_env(&project, &env);
        let aws = Arc::new(Aws::new(Connection {
            profile: cli.profile.clone().or_else(|| env.profile.clone()),
            region: env.region.clone(),
            endpoint_url: cli.endpoint_url.clone(),
            assume_role: env.assume_role.clone(),
            default_session_name: format!("stackc-{}-{}", project.name, env.name),
        }));
        // Layers whose stack lives in another region than the environment's.
        let elsewhere: BTreeMap<String, String> = project
            .layers
            .keys()
            .map(|l| (env.stack_name_of(&project.name, l), scope::region_of(&project, l, &env)))
            .filter(|(_, r)| *r != env.region)
            .collect();
        // Stack sets administered from a delegated administrator account.
        let delegated = project
            .layers
            .values()
            .filter_map(|l| {
                let base = l.stackset.as_ref()?;
                let s = env.layers.get(&l.name).and_then(|x| x.stackset.as_ref()).map(|x| x.over(base));
                let s = s.unwrap_or_else(|| base.clone());
                (s.call_as.as_deref() == Some("delegated_admin")).then(|| env.stack_name_of(&project.name, &l.name))
            })
            .collect();
        let cfn = Regional::new(aws.clone(), elsewhere, delegated);
        let values = Sources::new(AwsValues::new(aws.clone()), Offline::new(project.root.clone()));
        let graph = scope::graph(&project, Some(&env));
        if let Err(cycle) = graph.waves() {
            return Err(Error::msg(graph::cycle_message(&cycle)));
        }
        let (project, env, graph) = (Arc::new(project), Arc::new(env), Arc::new(graph));
        let builds = Builds::new(project.clone(), env.clone(), graph.clone(), values, cli.verbose);
        Ok(Session {
            project,
            env,
            aws,
            cfn,
            graph,
            builds,
            s3_regions: Mutex::new(BTreeMap::new()),
            account: std::sync::OnceLock::new(),
            run: RunState::default(),
        })
    }

    /// Selected layers (all if none named), in dependency order.
    pub fn order(&self, names: &[String]) -> Result<Vec<String>> {
        super::select_layers(&self.project, &self.env, names)
    }

    pub fn stack_name(&self, layer: &str) -> String {
        self.env.stack_name_of(&self.project.name, layer)
    }

    /// One call that fails fast, in one sentence, when AWS cannot be reached or the credentials are bad.
    pub fn probe(&self) -> Result<()> {
        let first = self.project.layers.keys().next().map(|l| self.stack_name(l)).unwrap_or_default();
        match self.cfn.describe_stack(&first) {
            Ok(_) => Ok(()),
            Err(e) => Err(Error::failed(Diagnostic::new(e.to_string()))),
        }
    }

    /// Refuse to touch an account other than the one the environment names.
    pub fn check_account(&self) -> Result<()> {
        self.probe()?;
        let Some(want) = &self.env.account_id else { return Ok(()) };
        let have = self.account().map_err(|e| Error::failed(Diagnostic::new(e.to_string())))?;
        if &have != want {
            return Err(Error::config(
                Diagnostic::new(format!(
                    "environment `{}` belongs to account {want}, but the credentials in use are for account {have}",
                    self.env.name
                ))
                .hint("switch credentials (e.g. --profile) to the environment's account"),
            ));
        }
        Ok(())
    }

    /// The stacks of `layers` as they are now (absent ones left out), looked up `concurrency` at a time.
    pub fn describe(&self, layers: &BTreeSet<String>, concurrency: usize) -> Result<BTreeMap<String, StackInfo>> {
        let found = Mutex::new(BTreeMap::new());
        let errors = Mutex::new(Vec::new());
        let order: Vec<String> = layers.iter().cloned().collect();
        schedule(&order, &BTreeMap::new(), concurrency, |layer| {
            let name = self.stack_name(layer);
            let answer = if self.project.layers.get(layer).is_some_and(|l| l.stackset.is_some()) {
                self.cfn.describe_stack_set(&name).map(|s| s.as_ref().map(stackset::as_stack_info))
            } else {
                self.cfn.describe_stack(&name)
            };
            match answer {
                Ok(Some(info)) => {
                    found.lock().unwrap().insert(layer.to_string(), info);
                }
                Ok(None) => {}
                Err(e) => errors.lock().unwrap().push(e.to_string()),
            }
            Outcome::Pending(String::new())
        });
        let errors = errors.into_inner().unwrap();
        if let Some(first) = errors.first() {
            return Err(Error::failed(Diagnostic::new(first.clone())));
        }
        Ok(found.into_inner().unwrap())
    }

    /// Stacks whose outputs can be used (a healthy, finished stack).
    pub fn usable(stacks: &BTreeMap<String, StackInfo>) -> BTreeMap<String, StackInfo> {
        stacks
            .iter()
            .filter(|(_, s)| classify(Some(&s.status), &s.name) == StackState::Updatable)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Every artifact bucket a selected layer will upload into exists (one HeadBucket per bucket), so a fresh
    /// account is told to bootstrap before any change set, not by a failed upload halfway.
    pub fn check_buckets(&self, built: &BTreeMap<String, assemble::Assembled>, selected: &[String]) -> Result<()> {
        let mut buckets: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for (layer, b) in built.iter().filter(|(l, _)| selected.contains(l)) {
            let Ok(packaged) = assemble::package_layer(&self.project, &self.env, layer, b) else { continue };
            let target = assemble::artifact_target(&self.project, &self.env, layer);
            if let (false, Some(bucket)) = (packaged.artifacts.is_empty(), target.bucket) {
                buckets.entry((bucket, target.region)).or_default().push(layer.clone());
            }
        }
        let mut missing = Vec::new();
        for ((bucket, region), layers) in &buckets {
            match self.s3_in(region).bucket_exists(bucket) {
                Ok(true) => {}
                Ok(false) => missing.push(
                    Diagnostic::new(format!(
                        "environment `{}`: the artifact bucket `{bucket}` ({region}) does not exist; {} upload into it",
                        self.env.name,
                        list(layers)
                    ))
                    .hint(format!(
                        "run `stackc bootstrap {}`, which makes it (versioned, encrypted, private)",
                        self.env.name
                    )),
                ),
                Err(e) => missing.push(Diagnostic::new(format!(
                    "environment `{}`: the artifact bucket `{bucket}` ({region}) cannot be reached: {e}",
                    self.env.name
                ))),
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        missing.push(Diagnostic::new("nothing was sent to CloudFormation"));
        Err(Error::configs(missing))
    }

    /// Build `layers` with every value that is not secret looked up in AWS (`render --resolve`).
    /// Secret references are never fetched: they stay descriptions.
    pub fn build_public(&self, layers: &[String]) -> Result<BTreeMap<String, assemble::Assembled>> {
        let stacks = self.describe(&self.graph.closure(layers), 4)?;
        self.builds.public(layers, Session::usable(&stacks))
    }

    /// Resolve and render one layer with the outputs of `deployed`, ready for CreateChangeSet.
    pub fn prepare(
        &self,
        layer: &str,
        deployed: &BTreeMap<String, StackInfo>,
    ) -> std::result::Result<Prepared, LayerError> {
        self.prepare_with(layer, deployed, false)
    }

    /// Like `prepare`, but secrets are not fetched (they stay descriptions): for `status` and `diff`,
    /// which compare and never send, so they neither prompt nor need the keyring.
    pub fn prepare_public(
        &self,
        layer: &str,
        deployed: &BTreeMap<String, StackInfo>,
    ) -> std::result::Result<Prepared, LayerError> {
        self.prepare_with(layer, deployed, true)
    }

    /// The nested stacks of a layer as they would be deployed: (logical id, the child's body after
    /// packaging), for `diff`. Secrets are not fetched.
    pub fn nested_templates_public(
        &self,
        layer: &str,
        deployed: &BTreeMap<String, StackInfo>,
    ) -> std::result::Result<Vec<(String, String)>, LayerError> {
        let b = self.builds.layer(layer, deployed, true)?;
        let version_of = |src: &Source| self.builds.version_of(src);
        let (prepared, _) = prepare::prepare(&self.project, &self.env, layer, &b, &version_of)?;
        let Ok(parent) = Template::parse(&prepared.template_body) else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for (id, r) in parent.section("Resources").into_iter().flatten() {
            let Some(url) = r.pointer("/Properties/TemplateURL").and_then(|u| u.as_str()) else { continue };
            if let Some(body) = nested_body(&prepared.nested_templates, url) {
                out.push((id.clone(), body.to_string()));
            }
        }
        Ok(out)
    }

    fn prepare_with(
        &self,
        layer: &str,
        deployed: &BTreeMap<String, StackInfo>,
        public: bool,
    ) -> std::result::Result<Prepared, LayerError> {
        let b = self.builds.layer(layer, deployed, public)?;
        let version_of = |src: &Source| self.builds.version_of(src);
        let (mut prepared, artifacts) = prepare::prepare(&self.project, &self.env, layer, &b, &version_of)?;
        prepared.stackset = self.stack_set_target(layer)?;
        // Artifacts go up only in a run that deploys; `status` and `diff` compute the same keys.
        if !public && !artifacts.is_empty() {
            let target = assemble::artifact_target(&self.project, &self.env, layer);
            let bucket = target.bucket.as_deref().unwrap_or_default();
            let done = self.s3_in(&target.region).upload(bucket, &artifacts).map_err(LayerError::Upload)?;
            let said = format!(
                "[{layer}] artifacts: {} uploaded ({}), {} already in s3://{bucket}",
                done.sent,
                package::human_bytes(done.bytes),
                done.present
            );
            if done.sent > 0 {
                printer().line(&said);
            } else {
                printer().detail(1, &said);
            }
        }
        Ok(prepared)
    }

    /// Where a stack set layer's instances go in this environment (None: the layer is a stack). Targets
    /// default to the environment's account (`account_id`, else the credentials') and the layer's region.
    pub fn stack_set_target(&self, layer: &str) -> std::result::Result<Option<StackSetTarget>, LayerError> {
        let Some(base) = self.project.layers.get(layer).and_then(|l| l.stackset.as_ref()) else { return Ok(None) };
        let settings = match self.env.layers.get(layer).and_then(|s| s.stackset.as_ref()) {
            Some(s) => s.over(base),
            None => base.clone(),
        };
        let problems = settings.problems();
        if !problems.is_empty() {
            return Err(LayerError::StackSetSettings(problems));
        }
        let account = match &self.env.account_id {
            Some(a) => a.clone(),
            None => self.account()?,
        };
        Ok(Some(settings.resolve(&account, &scope::region_of(&self.project, layer, &self.env))))
    }

    /// The hooks of this environment's layers, reporting through `reporter`.
    pub fn hooks<'a>(
        &'a self,
        reporter: &'a dyn Reporter,
        stack_name: &'a (dyn Fn(&str) -> String + Sync),
        redact: &'a (dyn Fn(&str) -> String + Sync),
    ) -> hooks::ShellHooks<'a> {
        // A role-assuming environment's hooks act as the role; its secret key and token are scrubbed from
        // everything printed, like any secret.
        let any_hooks = self.project.layers.values().any(|l| {
            !l.hooks.before_deploy.is_empty() || !l.hooks.after_deploy.is_empty() || !l.hooks.before_destroy.is_empty()
        });
        let assumed = self.env.assume_role.as_ref().filter(|_| any_hooks).map(|_| {
            let creds = self.aws.credentials();
            if let Ok((_, secret, token)) = &creds {
                printer().add_secret(secret);
                if let Some(t) = token {
                    printer().add_secret(t);
                }
            }
            creds
        });
        hooks::ShellHooks {
            project: &self.project,
            env: &self.env,
            connection: &self.aws.conn,
            assumed,
            stack_name,
            redact,
            reporter,
        }
    }

    /// The `[build]` commands of `layers`, before anything of them is rendered or packaged; their output
    /// is the layer's progress (scrubbed). A failure stops the run: no change set was made.
    pub fn run_builds(&self, layers: &[String], reporter: &dyn Reporter) -> Result<()> {
        let on_step = |layer: &str, step: &Step| match step {
            Step::Output(line) => reporter.status(layer, &Step::Output(self.redact(line))),
            other => reporter.status(layer, other),
        };
        build_step::run(&self.project, &self.env, layers, &on_step).map(|_| ())
    }

    /// The account of the credentials in use (STS is asked once per run).
    pub fn account(&self) -> std::result::Result<String, port::PortError> {
        if let Some(a) = self.account.get() {
            return Ok(a.clone());
        }
        let a = self.cfn.account_id()?;
        Ok(self.account.get_or_init(|| a).clone())
    }

    /// S3 in `region`, one client per region for the run.
    pub fn s3_in(&self, region: &str) -> Arc<s3::S3> {
        let mut clients = self.s3_regions.lock().unwrap();
        clients.entry(region.to_string()).or_insert_with(|| Arc::new(S3::new(&self.aws, Some(region)))).clone()
    }

    /// Before printing CloudFormation's reasons for `layers` (which can quote a value a stack was given):
    /// everything printed from here on is scrubbed of their secrets; those that cannot be read are named.
    pub fn scrub_reasons_of(&self, layers: &[String]) {
        let unread = self.builds.learn_secrets(layers);
        if unread.is_empty() {
            return;
        }
        printer().note(&format!(
            "{} could not be read to scrub {} from CloudFormation's reasons ({}): a reason that quotes {} would show it",
            count(unread.len(), "secret"),
            if unread.len() == 1 { "it" } else { "them" },
            unread.join(", "),
            if unread.len() == 1 { "its value" } else { "one" }
        ));
    }

    /// `text` without the secret values this run has seen (the printer does this to everything it prints).
    pub fn redact(&self, text: &str) -> String {
        printer().scrub(text)
    }
}
