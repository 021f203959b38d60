//! An environment's layers resolved and rendered during one AWS run: the value sources (AWS, the keyring,
//! this machine), the offline pre-flight, the resolution phase before any change set, and the cache that
//! builds a layer again only when its dependencies' stacks changed. What it builds is what `Session`
//! turns into CreateChangeSet input.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::printer;
use crate::assemble::{self, Assembled};
use crate::cfn::port::StackInfo;
use crate::deploy::layer::LayerError;
use crate::diagnostic::{Diagnostic, Error, Result};
use crate::edge::machine::Offline;
use crate::edge::sources::Sources;
use crate::environment::Environment;
use crate::graph::Graph;
use crate::project::Project;
use crate::provider::{self, Fetched};
use crate::source::Source;
use crate::text::{count, plural};
use crate::validate;
use crate::values::{self, Resolved};

/// The outputs of a layer's dependencies (None: not deployed) a build used.
type InputsKey = Vec<(String, Option<BTreeMap<String, String>>)>;

pub struct Builds {
    project: Arc<Project>,
    env: Arc<Environment>,
    graph: Arc<Graph>,
    /// Where values come from; the outputs of deployed stacks are set on it before each build.
    values: Mutex<Sources>,
    /// Layers built (resolved and rendered, secrets included) in this run, with the outputs of their
    /// dependencies they were built from: a layer is built again only when those change.
    cache: Mutex<BTreeMap<String, (InputsKey, Assembled)>>,
    verbose: u8,
}

impl Builds {
    pub fn new(
        project: Arc<Project>,
        env: Arc<Environment>,
        graph: Arc<Graph>,
        values: Sources,
        verbose: u8,
    ) -> Builds {
        Builds { project, env, graph, values: Mutex::new(values), cache: Mutex::default(), verbose }
    }

    /// The offline checks of `validate`, before anything is sent: every finding at once (exit 2). Gives
    /// the layers as built offline.
    pub fn preflight(&self) -> Result<BTreeMap<String, Assembled>> {
        let layers: Vec<String> = self.project.layers.keys().cloned().collect();
        let mut offline = Offline::new(self.project.root.clone());
        let built = assemble::layers(&self.project, &self.env, &layers, &mut offline)?;
        let mut findings = validate::validate(&self.project, &self.env, &built);
        if findings.is_empty() {
            return Ok(built);
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

    /// The resolution phase for the whole selection, before any change set: every value resolved and every
    /// layer rendered once (every missing value reported at once), then checked against its template's
    /// constraints. What it builds is kept for planning and deploying.
    pub fn resolve_upfront(&self, layers: &[String], deployed: &BTreeMap<String, StackInfo>) -> Result<()> {
        let built = {
            let mut provider = self.values.lock().unwrap();
            provider.aws.deployed = deployed.clone();
            assemble::layers(&self.project, &self.env, layers, &mut *provider)?
        };
        self.report_calls();
        // From here on every printed line is scrubbed of these values.
        for b in built.values() {
            scrub_secrets_of(b);
        }
        let mut findings = Vec::new();
        for (layer, b) in &built {
            findings.extend(self.constraint_findings(layer, b));
        }
        if !findings.is_empty() {
            let n = findings.len();
            findings.push(Diagnostic::new(format!(
                "{} break the templates' constraints; nothing was sent to AWS",
                if n == 1 { "1 resolved value would".to_string() } else { format!("{n} resolved values would") }
            )));
            return Err(Error::configs(findings));
        }
        let mut cache = self.cache.lock().unwrap();
        for (layer, b) in built {
            cache.insert(layer.clone(), (self.inputs_key(&layer, deployed), b));
        }
        Ok(())
    }

    /// The template's constraints against the values as resolved (secrets included, never shown).
    fn constraint_findings(&self, layer: &str, b: &Assembled) -> Vec<Diagnostic> {
        let Ok(template) = &b.template else { return Vec::new() };
        let mut findings = Vec::new();
        for decl in template.parameters() {
            if let Some(value) = b.values.parameters.get(&decl.name) {
                findings.extend(validate::constraint_findings(&self.env.name, layer, &decl, value));
            }
        }
        findings
    }

    /// What a layer's values depend on in AWS that can change during a run: its dependencies' stacks.
    fn inputs_key(&self, layer: &str, deployed: &BTreeMap<String, StackInfo>) -> InputsKey {
        self.graph
            .deps
            .get(layer)
            .into_iter()
            .flatten()
            .map(|d| (d.clone(), deployed.get(d).map(|i| i.outputs.clone())))
            .collect()
    }

    /// Build `layers` with every value that is not secret looked up in AWS (`render --resolve`), against
    /// the usable stacks of `deployed`. Secret references are never fetched: they stay descriptions.
    pub fn public(
        &self,
        layers: &[String],
        deployed: BTreeMap<String, StackInfo>,
    ) -> Result<BTreeMap<String, Assembled>> {
        let mut provider = self.values.lock().unwrap();
        provider.aws.deployed = deployed;
        let built = assemble::layers(&self.project, &self.env, layers, &mut PublicOnly(&mut *provider))?;
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

    /// A layer resolved and rendered for `deployed`: from this run's cache while its dependencies' stacks
    /// are as they were, else built now. Public builds (no secrets fetched) are never cached. Secrets it
    /// resolves are scrubbed from everything printed from here on.
    pub fn layer(
        &self,
        layer: &str,
        deployed: &BTreeMap<String, StackInfo>,
        public: bool,
    ) -> std::result::Result<Assembled, LayerError> {
        let key = self.inputs_key(layer, deployed);
        if !public {
            if let Some((k, b)) = self.cache.lock().unwrap().get(layer) {
                if *k == key {
                    return Ok(b.clone());
                }
            }
        }
        let mut built = {
            let mut provider = self.values.lock().unwrap();
            provider.aws.deployed = deployed.clone();
            let layers = [layer.to_string()];
            let result = if public {
                assemble::layers(&self.project, &self.env, &layers, &mut PublicOnly(&mut *provider))
            } else {
                assemble::layers(&self.project, &self.env, &layers, &mut *provider)
            };
            result.map_err(|e| LayerError::Unresolved(printer().scrub(&diagnostics_text(&e))))?
        };
        let b = built.remove(layer).ok_or_else(|| LayerError::NotBuilt)?;
        scrub_secrets_of(&b);
        if !public {
            self.cache.lock().unwrap().insert(layer.to_string(), (key, b.clone()));
        }
        Ok(b)
    }

    /// The version of a secret's current value, as the fingerprint a plan compares (None: unversioned).
    pub fn version_of(&self, source: &Source) -> Option<String> {
        self.values.lock().unwrap().aws.version_of(source)
    }

    /// Read the secrets `layers` take that can be read without asking anyone, only so that everything
    /// printed from here on is scrubbed of them: `events` and `status` print CloudFormation's reasons,
    /// which can quote a value a stack was given. Gives the descriptions of those that could not be read
    /// (a `prompt` source, a store this machine cannot reach), whose values a reason could still show.
    pub fn learn_secrets(&self, layers: &[String]) -> Vec<String> {
        let secret: Vec<Source> =
            values::collect(&self.project, &self.env, layers).into_keys().filter(Source::is_secret).collect();
        let (asks, readable): (Vec<Source>, Vec<Source>) =
            secret.into_iter().partition(|s| matches!(s, Source::Prompt { .. }));
        let mut unread: Vec<String> = asks.iter().map(Source::describe).collect();
        for (source, answer) in readable.iter().zip(self.fetch(&readable)) {
            match answer {
                Ok(Fetched::Secret(value)) => printer().add_secret(&value),
                Ok(Fetched::Placeholder) | Err(_) => unread.push(source.describe()),
                Ok(_) => {}
            }
        }
        unread
    }

    /// Look `sources` up directly (`secret check`).
    pub fn fetch(&self, sources: &[Source]) -> Vec<std::result::Result<Fetched, provider::FetchError>> {
        provider::Provider::fetch(&mut *self.values.lock().unwrap(), sources)
    }
}

/// From here on every printed line is scrubbed of the secrets `b` resolved.
fn scrub_secrets_of(b: &Assembled) {
    for p in b.values.parameters.values() {
        if let Resolved::Secret(s) = &p.value {
            printer().add_secret(s);
        }
    }
}

/// Passes only references that are not secret to the provider; secrets stay placeholders.
struct PublicOnly<'a>(&'a mut Sources);

impl provider::Provider for PublicOnly<'_> {
    fn fetch(&mut self, requests: &[Source]) -> Vec<std::result::Result<provider::Fetched, provider::FetchError>> {
        let public: Vec<Source> = requests.iter().filter(|s| !s.is_secret()).cloned().collect();
        let mut answers = self.0.fetch(&public).into_iter();
        requests
            .iter()
            .map(|s| {
                if s.is_secret() {
                    Ok(Fetched::Placeholder)
                } else {
                    answers.next().unwrap_or(Ok(Fetched::Placeholder))
                }
            })
            .collect()
    }
}

pub fn diagnostics_text(e: &Error) -> String {
    e.diagnostics.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; ")
}
