//! What every AWS command shares: the environment, the AWS clients, the value provider, the order of
//! layers, and turning a layer into what CreateChangeSet needs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use super::printer;
use crate::build;
use crate::cli::Cli;
use crate::deploy::engine::{schedule, LayerError, Outcome, Prepared, PreparedParam};
use crate::deploy::port::{ApiValue, CloudFormation, StackInfo};
use crate::deploy::stack_state::{classify, StackState};
use crate::diagnostic::{Diagnostic, Error, Result};
use crate::edge::aws::cloudformation::AwsCloudFormation;
use crate::edge::aws::values::AwsValues;
use crate::edge::aws::{Aws, Connection};
use crate::edge::sources::Sources;
use crate::environment::Environment;
use crate::graph::Graph;
use crate::project::Project;
use crate::source::Source;
use crate::text::{count, plural};
use crate::values::{self, Resolved};

pub struct Session {
    pub project: Project,
    pub env: Environment,
    pub aws: Arc<Aws>,
    pub cfn: AwsCloudFormation,
    pub values: Mutex<Sources>,
    pub deployed_view: Arc<Mutex<BTreeMap<String, StackInfo>>>,
    pub graph: Graph,
    pub verbose: u8,
    /// Each layer's template parameters, from the offline build of `preflight`.
    declared: Mutex<BTreeMap<String, Vec<crate::template::TemplateParameter>>>,
    s3: std::sync::OnceLock<crate::edge::aws::s3::S3>,
}

impl Session {
    pub fn open(project: Project, cli: &Cli, opts: &super::EnvOpts, env_name: &str) -> Result<Session> {
        let env = super::load_env(&project, env_name, opts)?;
        let region = cli.region.clone().unwrap_or_else(|| env.region.clone());
        let aws = Arc::new(Aws::new(Connection {
            profile: cli.profile.clone(),
            region,
            endpoint_url: cli.endpoint_url.clone(),
        }));
        let cfn = AwsCloudFormation::new(&aws);
        let deployed_view = Arc::new(Mutex::new(BTreeMap::new()));
        let values = Mutex::new(Sources::new(
            AwsValues::new(aws.clone(), deployed_view.clone()),
            crate::edge::local::Offline::new(project.root.clone()),
        ));
        let graph = Graph::of(&project, Some(&env));
        if let Err(cycle) = graph.waves() {
            return Err(Error::msg(format!("the layers form a dependency cycle: {}", cycle.join(" -> "))));
        }
        Ok(Session {
            project,
            env,
            aws,
            cfn,
            values,
            deployed_view,
            graph,
            declared: Mutex::new(BTreeMap::new()),
            s3: std::sync::OnceLock::new(),
            verbose: cli.verbose,
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
        let have = self.cfn.account_id().map_err(|e| Error::failed(Diagnostic::new(e.to_string())))?;
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
            match self.cfn.describe_stack(&self.stack_name(layer)) {
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

    /// The offline checks of `validate`, before anything is sent: every finding at once (exit 2).
    pub fn preflight(&self) -> Result<()> {
        let layers: Vec<String> = self.project.layers.keys().cloned().collect();
        let mut offline = crate::edge::local::Offline::new(self.project.root.clone());
        let built = build::build(&self.project, &self.env, &layers, &mut offline)?;
        *self.declared.lock().unwrap() =
            built.iter().filter_map(|(l, b)| b.template.as_ref().ok().map(|t| (l.clone(), t.parameters()))).collect();
        let mut findings = crate::validate::validate(&self.project, &self.env, &built);
        if findings.is_empty() {
            return Ok(());
        }
        let n = findings.len();
        findings.push(
            Diagnostic::new(format!(
                "`{}` does not validate ({}); nothing was sent to AWS",
                self.env.name,
                count(n, "finding")
            ))
            .hint(format!("`stackc validate {}` lists the same findings", self.env.name)),
        );
        Err(Error::configs(findings))
    }

    /// The resolution phase for the whole selection, before any change set: every missing value at once.
    pub fn resolve_upfront(&self, layers: &[String]) -> Result<()> {
        let mut provider = self.values.lock().unwrap();
        provider.aws.allow_undeployed = true;
        let resolved = values::resolve(&self.project, &self.env, layers, &mut *provider)?;
        drop(provider);
        self.report_calls();
        // From here on every printed line is scrubbed of these values.
        for lv in resolved.values() {
            for p in lv.parameters.values() {
                if let Resolved::Secret(s) = &p.value {
                    printer().add_secret(s);
                }
            }
        }
        // The template's constraints against the values as resolved (secrets included, never shown).
        let declared = self.declared.lock().unwrap();
        let mut findings = Vec::new();
        for (layer, lv) in &resolved {
            for decl in declared.get(layer).into_iter().flatten() {
                if let Some(value) = lv.parameters.get(&decl.name) {
                    findings.extend(crate::validate::constraint_findings(&self.env.name, layer, decl, value));
                }
            }
        }
        if !findings.is_empty() {
            let n = findings.len();
            findings.push(Diagnostic::new(format!(
                "{} break the templates' constraints; nothing was sent to AWS",
                if n == 1 { "1 resolved value would".to_string() } else { format!("{n} resolved values would") }
            )));
            return Err(Error::configs(findings));
        }
        Ok(())
    }

    /// Build `layers` with every value that is not secret looked up in AWS (`render --resolve`).
    /// Secret references are never fetched: they stay descriptions.
    pub fn build_public(&self, layers: &[String]) -> Result<BTreeMap<String, build::BuiltLayer>> {
        let closure = self.graph.closure(layers);
        let stacks = self.describe(&closure, 4)?;
        *self.deployed_view.lock().unwrap() = Session::usable(&stacks);
        let mut provider = self.values.lock().unwrap();
        provider.aws.allow_undeployed = true;
        let mut public = PublicOnly(&mut *provider);
        let built = build::build(&self.project, &self.env, layers, &mut public)?;
        drop(provider);
        self.report_calls();
        Ok(built)
    }

    /// With -v: how many look-ups the resolution phase made.
    pub fn report_calls(&self) {
        if self.verbose == 0 {
            return;
        }
        let p = self.values.lock().unwrap();
        let c = &p.aws.calls;
        printer().line(&format!(
            "resolved {} distinct references: {} SSM GetParameters {}, {} Secrets Manager BatchGetSecretValue {}, {} GetSecretValue {}",
            p.resolved_count(),
            c.ssm_get_parameters,
            plural(c.ssm_get_parameters, "call"),
            c.secrets_batch_get,
            plural(c.secrets_batch_get, "call"),
            c.secrets_get,
            plural(c.secrets_get, "call")
        ));
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

    fn prepare_with(
        &self,
        layer: &str,
        deployed: &BTreeMap<String, StackInfo>,
        public: bool,
    ) -> std::result::Result<Prepared, LayerError> {
        let built = {
            let mut provider = self.values.lock().unwrap();
            *self.deployed_view.lock().unwrap() = deployed.clone();
            provider.aws.allow_undeployed = true;
            let layers = [layer.to_string()];
            let result = if public {
                build::build(&self.project, &self.env, &layers, &mut PublicOnly(&mut *provider))
            } else {
                build::build(&self.project, &self.env, &layers, &mut *provider)
            };
            result.map_err(|e| LayerError(self.redact(&diagnostics_text(&e))))?
        };
        let b = &built[layer];
        let template = b
            .template
            .as_ref()
            .map_err(|e| LayerError(format!("the rendered template does not parse: {}", e.message)))?;
        let def = &self.project.layers[layer];
        // The last guard: a secret goes only to a parameter CloudFormation will not show.
        let declared = template.parameters();
        for p in b.values.parameters.values().filter(|p| p.is_secret()) {
            if !declared.iter().any(|d| d.name == p.name && d.no_echo) {
                return Err(LayerError(format!(
                    "parameter `{}` gets a secret ({}) but is not declared `NoEcho: true` in the template; refusing to send it",
                    p.name,
                    p.shown()
                )));
            }
        }
        let mut waiting_for = BTreeSet::new();
        let mut parameters = Vec::new();
        for p in b.values.parameters.values() {
            let value = match &p.value {
                Resolved::Plain(v) => ApiValue::Plain(v.clone()),
                Resolved::Secret(s) => {
                    printer().add_secret(s);
                    ApiValue::Secret(s.clone())
                }
                Resolved::Placeholder(d) => {
                    if let Some(Source::Output { layer: dep, .. }) = &p.source {
                        waiting_for.insert(dep.clone());
                    }
                    ApiValue::Plain(d.clone())
                }
            };
            let fingerprint = if p.is_secret() {
                p.source.as_ref().and_then(|src| self.values.lock().unwrap().aws.version_of(src)).map(|v| {
                    use sha2::Digest;
                    let h = sha2::Sha256::digest(format!(
                        "{}@{v}",
                        p.source.as_ref().map(|s| s.describe()).unwrap_or_default()
                    ));
                    h.iter().take(5).map(|b| format!("{b:02x}")).collect::<String>()
                })
            } else {
                None
            };
            parameters.push(PreparedParam {
                name: p.name.clone(),
                value,
                shown: p.shown(),
                secret: p.is_secret(),
                fingerprint,
            });
        }
        let mut tags = self.tags(layer);
        let versions: Vec<String> =
            parameters.iter().filter_map(|p| p.fingerprint.as_ref().map(|f| format!("{}={f}", p.name))).collect();
        let mut tag = String::new();
        for v in versions {
            // Tag values hold 256 characters; a secret left out is reported as "may have changed".
            if tag.len() + v.len() < 255 {
                if !tag.is_empty() {
                    tag.push(';');
                }
                tag.push_str(&v);
            }
        }
        if !tag.is_empty() {
            tags.insert(crate::deploy::plan::SECRET_VERSIONS_TAG.to_string(), tag);
        }
        // Local code, nested templates and an oversized body go to the artifact bucket (uploaded only by
        // a run that deploys; `status` and `diff` compute the same keys without sending anything).
        let target = build::artifact_target(&self.project, &self.env);
        let packaged = build::package_layer(&self.project, &self.env, layer, b)
            .map_err(|errors| LayerError(format!("cannot package the template: {}", errors.join("; "))))?;
        if !packaged.artifacts.is_empty() {
            let Some(bucket) = &target.bucket else {
                return Err(LayerError(format!(
                    "the template needs an artifact bucket ({}), and environment `{}` sets no `artifact_bucket`: run \
                     `stackc bootstrap {}` or set one",
                    packaged.artifacts.iter().map(|a| a.source.as_str()).collect::<Vec<_>>().join(", "),
                    self.env.name,
                    self.env.name
                )));
            };
            if !public {
                let done = self.s3().upload(bucket, &packaged.artifacts).map_err(LayerError)?;
                let said = format!(
                    "[{layer}] artifacts: {} uploaded ({}), {} already in s3://{bucket}",
                    done.sent,
                    crate::package::human_bytes(done.bytes),
                    done.present
                );
                if done.sent > 0 {
                    printer().line(&said);
                } else {
                    printer().detail(1, &said);
                }
            }
        }
        let policy = match &def.stack_policy {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| LayerError(format!("cannot read {}: {e}", path.display())))?,
            ),
            None => None,
        };
        Ok(Prepared {
            layer: layer.to_string(),
            stack_name: b.values.stack_name.clone(),
            template_body: packaged.body,
            template_url: packaged.template_key.as_ref().map(|k| target.https_url(k)),
            parameters,
            tags,
            capabilities: template.capabilities_to_send(&def.capabilities),
            role_arn: self.env.role_arn.clone(),
            termination_protection: self.env.protected,
            stack_policy: policy,
            waiting_for: waiting_for.into_iter().collect(),
            resources: template.resource_types(),
            defaults: template
                .parameters()
                .into_iter()
                .filter_map(|tp| {
                    let d = tp.default?;
                    Some((
                        tp.name,
                        match d {
                            serde_json::Value::String(s) => s,
                            serde_json::Value::Array(a) => {
                                a.iter().map(crate::values::json_param_string).collect::<Vec<_>>().join(",")
                            }
                            other => other.to_string(),
                        },
                    ))
                })
                .collect(),
        })
    }

    /// Environment tags, then layer tags, then stackc's own.
    pub fn tags(&self, layer: &str) -> BTreeMap<String, String> {
        let mut tags = self.env.tags.clone();
        tags.extend(self.env.layer(layer).tags);
        tags.insert("stackc:project".into(), self.project.name.clone());
        tags.insert("stackc:env".into(), self.env.name.clone());
        tags.insert("stackc:layer".into(), layer.to_string());
        tags
    }

    /// Replace every secret value of this run by the redaction mark.
    /// The hooks of this environment's layers, reporting through `reporter`.
    pub fn hooks<'a>(
        &'a self,
        reporter: &'a dyn crate::deploy::engine::Reporter,
        stack_name: &'a (dyn Fn(&str) -> String + Sync),
        redact: &'a (dyn Fn(&str) -> String + Sync),
    ) -> crate::edge::hooks::ShellHooks<'a> {
        crate::edge::hooks::ShellHooks { project: &self.project, env: &self.env, stack_name, redact, reporter }
    }

    /// The artifact bucket's client, made on first use.
    pub fn s3(&self) -> &crate::edge::aws::s3::S3 {
        self.s3.get_or_init(|| crate::edge::aws::s3::S3::new(&self.aws))
    }

    /// `text` without the secret values this run has seen (the printer does this to everything it prints).
    pub fn redact(&self, text: &str) -> String {
        printer().scrub(text)
    }
}

/// Passes only references that are not secret to the provider; secrets stay placeholders.
struct PublicOnly<'a>(&'a mut Sources);

impl crate::provider::Provider for PublicOnly<'_> {
    fn fetch(
        &mut self,
        requests: &[Source],
    ) -> Vec<std::result::Result<crate::provider::Fetched, crate::provider::FetchError>> {
        let public: Vec<Source> = requests.iter().filter(|s| !s.is_secret()).cloned().collect();
        let mut answers = self.0.fetch(&public).into_iter();
        requests
            .iter()
            .map(|s| {
                if s.is_secret() {
                    Ok(crate::provider::Fetched::Placeholder)
                } else {
                    answers.next().unwrap_or(Ok(crate::provider::Fetched::Placeholder))
                }
            })
            .collect()
    }
}

pub fn diagnostics_text(e: &Error) -> String {
    e.diagnostics.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; ")
}
