//! Environment files and their layering.
//!
//! Precedence, lowest to highest: each file named in `extends` (in order, each after its own `extends`),
//! then the environment file itself, then `--set key=value` on the command line. Tables (`tags`,
//! `values`, `layers.<l>.values`, ...) merge key by key; anything else (a string, a list, a value
//! reference) is replaced whole by the higher layer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::{display_path, suggestion, Diagnostic, Error, LineIndex, Location, Result};
use crate::graph;
use crate::project::{self, Project};
use crate::source::{is_reference, Source};
use crate::stackset;
use crate::text::list;
use crate::toml_error;

/// Names the templates see besides the values; a value may not take one of them.
pub const RESERVED: &[&str] =
    &["env", "region", "account_id", "project", "layer", "stack_name", "stack_names", "protected", "tags", "role_arn"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvFile {
    #[serde(default)]
    extends: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    region: Option<Spanned<String>>,
    #[serde(default)]
    account_id: Option<Spanned<String>>,
    #[serde(default)]
    protected: Option<bool>,
    #[serde(default)]
    stack_name: Option<Spanned<String>>,
    #[serde(default)]
    role_arn: Option<Spanned<String>>,
    /// Where packaged artifacts (code, nested and large templates) go; `stackc bootstrap` makes it.
    #[serde(default)]
    artifact_bucket: Option<Spanned<String>>,
    /// The start of every artifact key (default `stackc/<project>/`).
    #[serde(default)]
    artifact_prefix: Option<Spanned<String>>,
    /// Buckets for layers in other regions than the environment's: `{ "us-east-1" = "..." }` (Lambda
    /// reads code only from a bucket in its own region).
    #[serde(default)]
    artifact_buckets: BTreeMap<String, String>,
    /// The AWS profile this environment is deployed with (`--profile` wins).
    #[serde(default)]
    profile: Option<Spanned<String>>,
    /// A role stackc assumes (STS) for everything it does in this environment.
    #[serde(default)]
    role_arn_to_assume: Option<Spanned<String>>,
    #[serde(default)]
    role_session_name: Option<Spanned<String>>,
    /// 15 to 720 minutes (the role's maximum session must allow it).
    #[serde(default)]
    role_duration_minutes: Option<Spanned<u32>>,
    /// SNS topics CloudFormation tells about stack events.
    #[serde(default)]
    notification_arns: Option<Spanned<Vec<String>>>,
    /// CloudWatch alarms that roll an update back when they fire (up to 5).
    #[serde(default)]
    rollback_alarms: Option<Spanned<Vec<String>>>,
    /// How long CloudFormation watches the alarms after an update (0-180 minutes).
    #[serde(default)]
    rollback_monitoring_minutes: Option<Spanned<u32>>,
    /// Keep what a failed deploy made, to debug it (no rollback).
    #[serde(default)]
    disable_rollback: Option<bool>,
    /// Termination protection on the stacks (default: the environment's `protected`).
    #[serde(default)]
    termination_protection: Option<bool>,
    /// Give up on a stack operation after this many minutes: an update is cancelled (CloudFormation rolls
    /// it back); a create is left to CloudFormation and reported as failed.
    #[serde(default)]
    timeout_minutes: Option<Spanned<u32>>,
    #[serde(default)]
    tags: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    values: BTreeMap<String, toml::Value>,
    #[serde(default)]
    layers: BTreeMap<String, LayerSection>,
    #[serde(default)]
    secret_names: Option<SecretNamesFile>,
    /// Keys that belong to this environment and are never promoted into it or from it
    /// (`domain`, `layers.db.parameters.InstanceClass`, `layers.*.parameters.CertificateArn`).
    #[serde(default)]
    pinned: Vec<String>,
    /// Allow-list mode for promotion into this environment: only keys matching one of these are carried.
    #[serde(default)]
    promotable: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SecretNamesFile {
    keyring_service: Option<String>,
    keyring_account: Option<String>,
    ssm: Option<String>,
    secretsmanager: Option<String>,
    secretsmanager_key: Option<String>,
    env: Option<String>,
}

/// How `--password-from` and `secret set --to` name a parameter's secret in each store.
/// Patterns may use {project}, {env}, {layer}, {parameter} and {LAYER}, {PARAMETER} (upper case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretNames {
    pub keyring_service: String,
    pub keyring_account: String,
    pub ssm: String,
    pub secretsmanager: String,
    pub secretsmanager_key: String,
    pub env: String,
}

impl Default for SecretNames {
    fn default() -> SecretNames {
        SecretNames {
            keyring_service: "stackc/{project}/{env}".into(),
            keyring_account: "{layer}/{parameter}".into(),
            ssm: "/{project}/{env}/{layer}/{parameter}".into(),
            secretsmanager: "{project}/{env}/{layer}".into(),
            secretsmanager_key: "{parameter}".into(),
            env: "STACKC_{LAYER}_{PARAMETER}".into(),
        }
    }
}

impl SecretNames {
    pub fn fill(pattern: &str, project: &str, env: &str, layer: &str, parameter: &str) -> String {
        let upper = |s: &str| {
            s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect::<String>()
        };
        pattern
            .replace("{project}", project)
            .replace("{env}", env)
            .replace("{layer}", layer)
            .replace("{parameter}", parameter)
            .replace("{LAYER}", &upper(layer))
            .replace("{PARAMETER}", &upper(parameter))
    }

    /// Where a parameter's secret lives in `kind`, by this convention.
    pub fn source(&self, kind: SecretStore, project: &str, env: &str, layer: &str, parameter: &str) -> Source {
        let f = |p: &str| SecretNames::fill(p, project, env, layer, parameter);
        match kind {
            SecretStore::Keyring => {
                Source::Keyring { service: Some(f(&self.keyring_service)), account: Some(f(&self.keyring_account)) }
            }
            SecretStore::Ssm => Source::SsmSecure { name: f(&self.ssm) },
            SecretStore::SecretsManager => Source::SecretsManager {
                id: f(&self.secretsmanager),
                key: Some(f(&self.secretsmanager_key)).filter(|k| !k.is_empty()),
                version_stage: None,
            },
            SecretStore::Env => Source::Env { var: f(&self.env), default: None, secret: true },
            SecretStore::Prompt => Source::Prompt { message: Some(format!("{env} {layer} {parameter}")) },
        }
    }
}

/// The stores a password can come from on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SecretStore {
    Keyring,
    Ssm,
    #[value(name = "secretsmanager")]
    SecretsManager,
    Env,
    Prompt,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LayerSection {
    #[serde(default)]
    values: BTreeMap<String, toml::Value>,
    #[serde(default)]
    parameters: BTreeMap<String, toml::Value>,
    #[serde(default)]
    tags: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    stack_name: Option<Spanned<String>>,
    /// `false`: the layer does not exist in this environment.
    #[serde(default)]
    enabled: Option<bool>,
    /// The region of this layer's stack in this environment.
    #[serde(default)]
    region: Option<String>,
    /// SNS topics CloudFormation tells about stack events.
    #[serde(default)]
    notification_arns: Option<Spanned<Vec<String>>>,
    /// CloudWatch alarms that roll an update back when they fire (up to 5).
    #[serde(default)]
    rollback_alarms: Option<Spanned<Vec<String>>>,
    /// How long CloudFormation watches the alarms after an update (0-180 minutes).
    #[serde(default)]
    rollback_monitoring_minutes: Option<Spanned<u32>>,
    /// Keep what a failed deploy made, to debug it (no rollback).
    #[serde(default)]
    disable_rollback: Option<bool>,
    /// Termination protection on the stacks (default: the environment's `protected`).
    #[serde(default)]
    termination_protection: Option<bool>,
    /// Give up on a stack operation after this many minutes (see the environment's).
    #[serde(default)]
    timeout_minutes: Option<Spanned<u32>>,
    /// Targets and rollout of a layer deployed as a stack set, over layer.toml's `[stackset]`.
    #[serde(default)]
    stackset: Option<stackset::StackSetSettings>,
}

/// A template value: plain data, possibly with value references inside.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueTree {
    Scalar(toml::Value),
    List(Vec<ValueTree>),
    Table(BTreeMap<String, ValueTree>),
    Ref(Source),
}

impl ValueTree {
    fn parse(value: &toml::Value) -> std::result::Result<ValueTree, Diagnostic> {
        Ok(match value {
            toml::Value::Table(t) if is_reference(value) => ValueTree::Ref(Source::from_table(t)?),
            toml::Value::Table(t) => {
                let mut out = BTreeMap::new();
                for (k, v) in t {
                    out.insert(k.clone(), ValueTree::parse(v)?);
                }
                ValueTree::Table(out)
            }
            toml::Value::Array(a) => {
                ValueTree::List(a.iter().map(ValueTree::parse).collect::<std::result::Result<_, _>>()?)
            }
            other => ValueTree::Scalar(other.clone()),
        })
    }

    /// Every reference inside, depth first.
    pub fn references(&self) -> Vec<&Source> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Source>) {
        match self {
            ValueTree::Ref(s) => out.push(s),
            ValueTree::List(l) => l.iter().for_each(|v| v.collect(out)),
            ValueTree::Table(t) => t.values().for_each(|v| v.collect(out)),
            ValueTree::Scalar(_) => {}
        }
    }

    /// The value as an environment file writes it.
    pub fn to_toml(&self) -> toml::Value {
        match self {
            ValueTree::Scalar(v) => v.clone(),
            ValueTree::List(l) => toml::Value::Array(l.iter().map(|v| v.to_toml()).collect()),
            ValueTree::Table(t) => toml::Value::Table(t.iter().map(|(k, v)| (k.clone(), v.to_toml())).collect()),
            ValueTree::Ref(s) => s.to_toml(),
        }
    }

    /// `higher` over `self`: tables merge key by key, anything else is replaced whole.
    pub fn merge(self, higher: ValueTree) -> ValueTree {
        match (self, higher) {
            (ValueTree::Table(mut lo), ValueTree::Table(hi)) => {
                for (k, v) in hi {
                    let merged = match lo.remove(&k) {
                        Some(old) => old.merge(v),
                        None => v,
                    };
                    lo.insert(k, merged);
                }
                ValueTree::Table(lo)
            }
            (_, hi) => hi,
        }
    }
}

/// A stack parameter's value: a literal string or a reference.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Literal(String),
    Ref(Source),
}

impl ParamValue {
    fn parse(value: &toml::Value) -> std::result::Result<ParamValue, Diagnostic> {
        match value {
            toml::Value::Table(t) if is_reference(value) => Ok(ParamValue::Ref(Source::from_table(t)?)),
            toml::Value::Table(_) => Err(Diagnostic::new(
                "a parameter value must be a string, number, boolean, list or a value reference with `from`",
            )),
            other => Ok(ParamValue::Literal(literal_string(other)?)),
        }
    }
}

/// How CloudFormation receives a TOML literal: lists become comma-delimited.
pub fn literal_string(value: &toml::Value) -> std::result::Result<String, Diagnostic> {
    Ok(match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(items) => {
            let parts: std::result::Result<Vec<String>, Diagnostic> = items
                .iter()
                .map(|i| match i {
                    toml::Value::Array(_) | toml::Value::Table(_) => {
                        Err(Diagnostic::new("a list parameter may hold only strings, numbers and booleans"))
                    }
                    other => literal_string(other),
                })
                .collect();
            parts?.join(",")
        }
        toml::Value::Table(_) => return Err(Diagnostic::new("a table is not a parameter value")),
    })
}

/// A value together with where it was set.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Location,
}

#[derive(Debug, Clone, Default)]
pub struct LayerSettings {
    pub values: BTreeMap<String, Setting<ValueTree>>,
    pub parameters: BTreeMap<String, Setting<ParamValue>>,
    pub tags: BTreeMap<String, String>,
    pub stack_name: Option<String>,
    /// `enabled = false` in `[layers.<l>]`: the layer is left out of this environment.
    pub enabled: Option<bool>,
    /// `region = "..."` in `[layers.<l>]`.
    pub region: Option<String>,
    /// Stack options of this layer (over the environment's).
    pub stack: StackOptions,
    /// `[layers.<l>.stackset]`: a stack set layer's targets in this environment.
    pub stackset: Option<stackset::StackSetSettings>,
}

/// A role assumed through STS for a whole run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    pub arn: String,
    pub session_name: Option<String>,
    pub duration_minutes: Option<u32>,
}

/// How CloudFormation handles a stack's deploys: set for an environment, and per layer over it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackOptions {
    pub notification_arns: Option<Vec<String>>,
    pub rollback_alarms: Option<Vec<String>>,
    pub rollback_monitoring_minutes: Option<u32>,
    pub disable_rollback: Option<bool>,
    pub termination_protection: Option<bool>,
    pub timeout_minutes: Option<u32>,
}

/// Stack options as one file section wrote them, with where (for findings).
struct RawOptions {
    notification_arns: Option<Spanned<Vec<String>>>,
    rollback_alarms: Option<Spanned<Vec<String>>>,
    minutes: Option<Spanned<u32>>,
    disable_rollback: Option<bool>,
    termination_protection: Option<bool>,
    timeout_minutes: Option<Spanned<u32>>,
}

impl StackOptions {
    /// `self` where it says something, else `lower`.
    pub fn over(&self, lower: &StackOptions) -> StackOptions {
        StackOptions {
            notification_arns: self.notification_arns.clone().or_else(|| lower.notification_arns.clone()),
            rollback_alarms: self.rollback_alarms.clone().or_else(|| lower.rollback_alarms.clone()),
            rollback_monitoring_minutes: self.rollback_monitoring_minutes.or(lower.rollback_monitoring_minutes),
            disable_rollback: self.disable_rollback.or(lower.disable_rollback),
            termination_protection: self.termination_protection.or(lower.termination_protection),
            timeout_minutes: self.timeout_minutes.or(lower.timeout_minutes),
        }
    }
}

/// One environment after layering: what every later stage consumes.
#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    pub file: PathBuf,
    pub files: Vec<PathBuf>,
    pub region: String,
    pub account_id: Option<String>,
    pub protected: bool,
    pub stack_name: String,
    /// The service role CloudFormation uses for this environment's stacks.
    pub role_arn: Option<String>,
    /// The S3 bucket for packaged artifacts, and the prefix of their keys.
    pub artifact_bucket: Option<String>,
    pub artifact_prefix: Option<String>,
    /// Region -> bucket, for layers that live in another region than the environment's.
    pub artifact_buckets: BTreeMap<String, String>,
    /// Stack options for every layer (a layer's own are in its `LayerSettings`).
    pub stack: StackOptions,
    /// The profile to deploy with, and the role to assume for this environment.
    pub profile: Option<String>,
    pub assume_role: Option<AssumeRole>,
    pub tags: BTreeMap<String, String>,
    pub values: BTreeMap<String, Setting<ValueTree>>,
    pub layers: BTreeMap<String, LayerSettings>,
    pub secret_names: SecretNames,
    /// Key paths pinned to environments (from every file in the layering).
    pub pinned: Vec<String>,
    /// `promotable = [...]`: promotion into this environment carries only matching keys (None: all).
    pub promotable: Option<Vec<String>>,
    /// Each parameter's value as the files wrote it (`layers.<l>.parameters.<P>` -> TOML).
    pub raw_parameters: BTreeMap<String, toml::Value>,
}

impl Environment {
    /// Point `parameters` of `layer` at `store` by the naming convention (`--password-from`).
    /// This overrides whatever the environment files say for those parameters.
    pub fn password_from(&mut self, project: &str, store: SecretStore, layer: &str, parameters: &[String]) {
        let origin =
            Location { file: PathBuf::from("<--password-from>"), line: 0, col: 0, source_line: None, width: 0 };
        for p in parameters {
            let source = self.secret_names.source(store, project, &self.name, layer, p);
            self.layers
                .entry(layer.to_string())
                .or_default()
                .parameters
                .insert(p.clone(), Setting { value: ParamValue::Ref(source), origin: origin.clone() });
        }
    }

    /// The artifact bucket for stacks in `region`: `artifact_buckets[region]`, else `artifact_bucket` when
    /// `region` is the environment's.
    pub fn artifact_bucket_in(&self, region: &str) -> Option<String> {
        self.artifact_buckets
            .get(region)
            .cloned()
            .or_else(|| (region == self.region).then(|| self.artifact_bucket.clone()).flatten())
    }

    pub fn layer(&self, name: &str) -> LayerSettings {
        self.layers.get(name).cloned().unwrap_or_default()
    }

    /// The stack name of a layer: the layer's own override, else the naming pattern.
    pub fn stack_name_of(&self, project: &str, layer: &str) -> String {
        if let Some(n) = self.layers.get(layer).and_then(|l| l.stack_name.clone()) {
            return n;
        }
        self.stack_name.replace("{project}", project).replace("{env}", &self.name).replace("{layer}", layer)
    }
}

/// Accumulates files, lowest precedence first.
#[derive(Default)]
struct Builder {
    files: Vec<PathBuf>,
    region: Option<Setting<String>>,
    account_id: Option<Setting<String>>,
    protected: Option<bool>,
    stack_name: Option<Setting<String>>,
    role_arn: Option<String>,
    artifact_bucket: Option<String>,
    artifact_prefix: Option<String>,
    artifact_buckets: BTreeMap<String, String>,
    stack: StackOptions,
    profile: Option<String>,
    assume_role: Option<AssumeRole>,
    tags: BTreeMap<String, String>,
    values: BTreeMap<String, Setting<ValueTree>>,
    layers: BTreeMap<String, LayerSettings>,
    secret_names: SecretNames,
    pinned: Vec<String>,
    promotable: Option<Vec<String>>,
    raw_parameters: BTreeMap<String, toml::Value>,
    errors: Vec<Diagnostic>,
    /// A file read from this text instead of the disk.
    edited: Option<(PathBuf, String)>,
}

/// Load environment `name` of `project`, applying `sets` (`key=value`) last.
pub fn load(project: &Project, name: &str, sets: &[String]) -> Result<Environment> {
    load_with(project, name, sets, None)
}

/// Like `load`, with `edited = (file, text)`: that file read as `text` (what `promote` is about to write).
pub fn load_with(project: &Project, name: &str, sets: &[String], edited: Option<(&Path, &str)>) -> Result<Environment> {
    let path = project.environments_dir().join(format!("{name}.toml"));
    // A name that is there but is not a file (a fifo, a folder, a link out) is read below, which says so.
    if name.starts_with('_') || std::fs::symlink_metadata(&path).is_err() {
        return Err(unknown_environment(project, name));
    }
    let mut b = Builder { edited: edited.map(|(p, t)| (p.to_path_buf(), t.to_string())), ..Builder::default() };
    let mut chain = Vec::new();
    b.apply_file(project, &path, &mut chain)?;
    for set in sets {
        b.apply_set(set);
    }
    b.finish(project, name, path)
}

fn unknown_environment(project: &Project, name: &str) -> Error {
    let known = project.environment_names();
    Error::config(
        Diagnostic::new(format!("unknown environment `{name}`"))
            .note(if known.is_empty() {
                format!("`{}` holds no environment files", display_path(&project.environments_dir()))
            } else {
                format!("environments of this project: {}", list(&known))
            })
            .hint_opt(suggestion(name, known.iter().map(|s| s.as_str()))),
    )
}

impl Builder {
    /// The closing checks (layers that exist, a region, a 12-digit account), then the environment.
    fn finish(mut self, project: &Project, name: &str, path: PathBuf) -> Result<Environment> {
        self.check_layers(project, name, &path);
        let region = match self.region.take() {
            Some(r) => r.value,
            None => {
                self.errors.push(
                    Diagnostic::new(format!("environment `{name}` sets no `region`"))
                        .at(Location::file_only(&path))
                        .hint("add `region = \"us-east-1\"` (or the region you deploy to) to the file or to a file it extends"),
                );
                String::new()
            }
        };
        if let Some(acct) = &self.account_id {
            if acct.value.len() != 12 || !acct.value.chars().all(|c| c.is_ascii_digit()) {
                self.errors.push(
                    Diagnostic::new(format!("`account_id` must be 12 digits, found `{}`", acct.value))
                        .at(acct.origin.clone()),
                );
            }
        }
        if !self.errors.is_empty() {
            return Err(Error::configs(self.errors));
        }
        let b = self;
        Ok(Environment {
            name: name.to_string(),
            file: path,
            files: b.files,
            region,
            account_id: b.account_id.map(|a| a.value),
            protected: b.protected.unwrap_or(false),
            stack_name: b.stack_name.map(|s| s.value).unwrap_or_else(|| project.stack_name.clone()),
            role_arn: b.role_arn,
            artifact_bucket: b.artifact_bucket,
            artifact_prefix: b.artifact_prefix,
            artifact_buckets: b.artifact_buckets,
            stack: b.stack,
            profile: b.profile,
            assume_role: b.assume_role,
            tags: b.tags,
            values: b.values,
            layers: b.layers,
            secret_names: b.secret_names,
            pinned: b.pinned,
            promotable: b.promotable,
            raw_parameters: b.raw_parameters,
        })
    }

    /// Layers named in the environment must exist.
    fn check_layers(&mut self, project: &Project, name: &str, path: &Path) {
        for (layer, settings) in &self.layers {
            if !project.layers.contains_key(layer) {
                let origin = settings
                    .parameters
                    .values()
                    .map(|s| s.origin.clone())
                    .chain(settings.values.values().map(|s| s.origin.clone()))
                    .next()
                    .unwrap_or_else(|| Location::file_only(path));
                self.errors.push(
                    Diagnostic::new(format!("environment `{name}` configures layer `{layer}`, which is not a layer"))
                        .at(origin)
                        .note(format!("layers: {}", list(&project.layers.keys().cloned().collect::<Vec<_>>())))
                        .hint_opt(suggestion(layer, project.layers.keys().map(|s| s.as_str()))),
                );
            }
        }
    }
}

impl Builder {
    fn apply_file(&mut self, project: &Project, path: &Path, chain: &mut Vec<PathBuf>) -> Result<()> {
        if chain.iter().any(|p| p == path) {
            let cycle: Vec<String> =
                chain.iter().chain(std::iter::once(&path.to_path_buf())).map(|p| display_path(p)).collect();
            return Err(Error::config(Diagnostic::new(format!("`extends` forms a cycle: {}", graph::path(&cycle)))));
        }
        let text = match &self.edited {
            Some((p, t)) if p == path => t.clone(),
            _ => project::read_inside(path, &project.root)?,
        };
        let mut file: EnvFile =
            toml::from_str(&text).map_err(|e| Error::config(toml_error::diagnostic(path, &text, &e)))?;
        let index = LineIndex::new(&text);
        let loc = |span: std::ops::Range<usize>| Location::from_span_indexed(path, &text, &index, span);
        // Values may be written as tables (`[values.services.api]`), which toml's Spanned cannot take;
        // their locations come from toml_edit's spans instead.
        let spans = toml_edit::ImDocument::parse(text.clone()).ok();
        let at = |keys: &[&str]| -> Location {
            spans.as_ref().and_then(|d| span_at(d, keys)).map(&loc).unwrap_or_else(|| Location::file_only(path))
        };
        chain.push(path.to_path_buf());
        if let Some(ext) = &file.extends {
            self.apply_extends(project, ext, &loc, chain)?;
        }
        chain.pop();
        self.files.push(path.to_path_buf());
        self.apply_settings(&mut file, &loc);
        self.apply_assumed_role(&mut file, &loc);
        let raw = RawOptions {
            notification_arns: file.notification_arns.take(),
            rollback_alarms: file.rollback_alarms.take(),
            minutes: file.rollback_monitoring_minutes.take(),
            disable_rollback: file.disable_rollback.take(),
            termination_protection: file.termination_protection.take(),
            timeout_minutes: file.timeout_minutes.take(),
        };
        let options = self.stack_options(raw, &|k| at(&[k]));
        self.stack = options.over(&self.stack);
        for (k, v) in std::mem::take(&mut file.tags) {
            self.tags.insert(k, v.into_inner());
        }
        let values = self.parse_values(&file.values, &|k| at(&["values", k]));
        merge_values(&mut self.values, values);
        self.apply_layers(std::mem::take(&mut file.layers), &at);
        Ok(())
    }

    /// The files an `extends` names, applied first (each by name, in `environments/`).
    fn apply_extends(
        &mut self,
        project: &Project,
        ext: &Spanned<OneOrMany>,
        loc: &dyn Fn(std::ops::Range<usize>) -> Location,
        chain: &mut Vec<PathBuf>,
    ) -> Result<()> {
        let names = match ext.get_ref() {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        };
        for n in names {
            if n.is_empty() || n.contains(['/', '\\']) || n.starts_with('.') {
                return Err(Error::config(
                    Diagnostic::new(format!(
                        "`extends` names environment files by name (like `_shared`), not by path: `{n}`"
                    ))
                    .at(loc(ext.span())),
                ));
            }
            let parent = project.environments_dir().join(format!("{}.toml", n.trim_end_matches(".toml")));
            if !parent.is_file() {
                return Err(Error::config(
                    Diagnostic::new(format!("`extends` names `{n}`, but `{}` does not exist", display_path(&parent)))
                        .at(loc(ext.span())),
                ));
            }
            self.apply_file(project, &parent, chain)?;
        }
        Ok(())
    }

    /// The environment's own settings: where it lives, its names, its artifact buckets and credentials.
    fn apply_settings(&mut self, file: &mut EnvFile, loc: &dyn Fn(std::ops::Range<usize>) -> Location) {
        if let Some(r) = file.region.take() {
            self.region = Some(Setting { origin: loc(r.span()), value: r.into_inner() });
        }
        if let Some(a) = file.account_id.take() {
            self.account_id = Some(Setting { origin: loc(a.span()), value: a.into_inner() });
        }
        if let Some(p) = file.protected.take() {
            self.protected = Some(p);
        }
        if let Some(s) = file.stack_name.take() {
            self.stack_name = Some(Setting { origin: loc(s.span()), value: s.into_inner() });
        }
        if let Some(list) = file.promotable.take() {
            self.promotable = Some(list);
        }
        for p in std::mem::take(&mut file.pinned) {
            if !self.pinned.contains(&p) {
                self.pinned.push(p);
            }
        }
        if let Some(n) = file.secret_names.take() {
            let d = &mut self.secret_names;
            for (target, value) in [
                (&mut d.keyring_service, n.keyring_service),
                (&mut d.keyring_account, n.keyring_account),
                (&mut d.ssm, n.ssm),
                (&mut d.secretsmanager, n.secretsmanager),
                (&mut d.secretsmanager_key, n.secretsmanager_key),
                (&mut d.env, n.env),
            ] {
                if let Some(v) = value {
                    *target = v;
                }
            }
        }
        if let Some(r) = file.role_arn.take() {
            self.role_arn = Some(r.into_inner());
        }
        if let Some(r) = file.artifact_bucket.take() {
            self.artifact_bucket = Some(r.into_inner());
        }
        if let Some(r) = file.artifact_prefix.take() {
            self.artifact_prefix = Some(r.into_inner());
        }
        self.artifact_buckets.extend(std::mem::take(&mut file.artifact_buckets));
        if let Some(p) = file.profile.take() {
            self.profile = Some(p.into_inner());
        }
    }

    /// `role_arn_to_assume` and its session name and duration, checked as STS would.
    fn apply_assumed_role(&mut self, file: &mut EnvFile, loc: &dyn Fn(std::ops::Range<usize>) -> Location) {
        if let Some(arn) = file.role_arn_to_assume.take() {
            let ok = arn.get_ref().starts_with("arn:aws")
                && arn.get_ref().contains(":iam::")
                && arn.get_ref().contains(":role/");
            if !ok {
                self.errors.push(
                    Diagnostic::new(format!(
                        "`role_arn_to_assume`: `{}` is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
                        arn.get_ref()
                    ))
                    .at(loc(arn.span())),
                );
            }
            self.assume_role = Some(AssumeRole { arn: arn.into_inner(), session_name: None, duration_minutes: None });
        }
        if let Some(role) = self.assume_role.as_mut() {
            if let Some(n) = file.role_session_name.take() {
                role.session_name = Some(n.into_inner());
            }
            if let Some(d) = file.role_duration_minutes.take() {
                if !(15..=720).contains(d.get_ref()) {
                    self.errors.push(
                        Diagnostic::new(format!("`role_duration_minutes` is 15 to 720, found {}", d.get_ref()))
                            .at(loc(d.span())),
                    );
                }
                role.duration_minutes = Some(d.into_inner());
            }
        }
    }

    /// Each `[layers.<name>]` section: values, parameters, tags and the layer's own settings and options.
    fn apply_layers(&mut self, layers: BTreeMap<String, LayerSection>, at: &dyn Fn(&[&str]) -> Location) {
        for (layer, section) in layers {
            let values = self.parse_values(&section.values, &|k| at(&["layers", &layer, "values", k]));
            let mut params = BTreeMap::new();
            for (k, v) in &section.parameters {
                self.raw_parameters.insert(format!("layers.{layer}.parameters.{k}"), v.clone());
                let origin = at(&["layers", &layer, "parameters", k]);
                match ParamValue::parse(v) {
                    Ok(p) => {
                        params.insert(k.clone(), Setting { value: p, origin });
                    }
                    Err(d) => self.errors.push(located(d, origin, format!("parameter `{k}` of layer `{layer}`"))),
                }
            }
            let entry = self.layers.entry(layer.clone()).or_default();
            merge_values(&mut entry.values, values);
            entry.parameters.extend(params);
            for (k, v) in section.tags {
                entry.tags.insert(k, v.into_inner());
            }
            if let Some(s) = section.stack_name {
                entry.stack_name = Some(s.into_inner());
            }
            if let Some(e) = section.enabled {
                entry.enabled = Some(e);
            }
            if let Some(r) = section.region {
                entry.region = Some(r);
            }
            if let Some(ss) = section.stackset {
                let base = entry.stackset.take().unwrap_or_default();
                entry.stackset = Some(ss.over(&base));
            }
            let layer_at = |k: &str| at(&["layers", &layer, k]);
            let raw = RawOptions {
                notification_arns: section.notification_arns,
                rollback_alarms: section.rollback_alarms,
                minutes: section.rollback_monitoring_minutes,
                disable_rollback: section.disable_rollback,
                termination_protection: section.termination_protection,
                timeout_minutes: section.timeout_minutes,
            };
            let options = self.stack_options(raw, &layer_at);
            let entry = self.layers.entry(layer.clone()).or_default();
            entry.stack = options.over(&entry.stack);
        }
    }

    /// Stack options as a file wrote them, checked where CloudFormation would refuse them.
    fn stack_options(&mut self, raw: RawOptions, at: &dyn Fn(&str) -> Location) -> StackOptions {
        let RawOptions {
            notification_arns,
            rollback_alarms,
            minutes,
            disable_rollback,
            termination_protection,
            timeout_minutes,
        } = raw;
        for (key, arns, service) in
            [("notification_arns", &notification_arns, "sns"), ("rollback_alarms", &rollback_alarms, "cloudwatch")]
        {
            let Some(arns) = arns else { continue };
            if arns.get_ref().len() > 5 {
                self.errors.push(
                    Diagnostic::new(format!("`{key}` takes at most 5 ARNs, found {}", arns.get_ref().len()))
                        .at(at(key)),
                );
            }
            for a in arns
                .get_ref()
                .iter()
                .filter(|a| !a.starts_with(&format!("arn:aws:{service}:")) && !a.starts_with("arn:aws-"))
            {
                self.errors.push(
                    Diagnostic::new(format!("`{key}`: `{a}` is not an {service} ARN (arn:aws:{service}:...)"))
                        .at(at(key)),
                );
            }
        }
        if let Some(m) = &minutes {
            if *m.get_ref() > 180 {
                self.errors.push(
                    Diagnostic::new(format!("`rollback_monitoring_minutes` is 0 to 180, found {}", m.get_ref()))
                        .at(at("rollback_monitoring_minutes")),
                );
            }
        }
        if let Some(t) = &timeout_minutes {
            if *t.get_ref() == 0 || *t.get_ref() > 43_200 {
                self.errors.push(
                    Diagnostic::new(format!("`timeout_minutes` is 1 to 43200 (30 days), found {}", t.get_ref()))
                        .at(at("timeout_minutes")),
                );
            }
        }
        StackOptions {
            notification_arns: notification_arns.map(Spanned::into_inner),
            rollback_alarms: rollback_alarms.map(Spanned::into_inner),
            rollback_monitoring_minutes: minutes.map(Spanned::into_inner),
            disable_rollback,
            termination_protection,
            timeout_minutes: timeout_minutes.map(Spanned::into_inner),
        }
    }

    fn parse_values(
        &mut self,
        raw: &BTreeMap<String, toml::Value>,
        at: &dyn Fn(&str) -> Location,
    ) -> BTreeMap<String, Setting<ValueTree>> {
        let mut out = BTreeMap::new();
        for (k, v) in raw {
            if RESERVED.contains(&k.as_str()) {
                self.errors.push(
                    Diagnostic::new(format!("`{k}` is a reserved name and cannot be a template value"))
                        .at(at(k))
                        .note(format!("reserved: {}", RESERVED.join(", "))),
                );
                continue;
            }
            match ValueTree::parse(v) {
                Ok(t) => {
                    out.insert(k.clone(), Setting { value: t, origin: at(k) });
                }
                Err(d) => self.errors.push(located(d, at(k), format!("value `{k}`"))),
            }
        }
        out
    }

    fn apply_set(&mut self, set: &str) {
        let origin = Location { file: PathBuf::from("<command line>"), line: 0, col: 0, source_line: None, width: 0 };
        let Some((key, raw)) = set.split_once('=') else {
            self.errors.push(Diagnostic::new(format!("`--set {set}` needs the form KEY=VALUE")));
            return;
        };
        let key = key.trim();
        let value = set_value(raw);
        let path: Vec<&str> = key.split('.').collect();
        if path.iter().any(|p| p.is_empty()) {
            self.errors.push(Diagnostic::new(format!("`--set {set}`: `{key}` is not a valid key path")));
            return;
        }
        let text = || match &value {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match path.as_slice() {
            ["region"] => self.region = Some(Setting { value: text(), origin }),
            // The guards of an environment are changed in its file, where review sees it, never for one run.
            ["account_id" | "role_arn_to_assume"] => self.errors.push(
                Diagnostic::new(format!(
                    "`--set {set}`: `{key}` guards the environment and cannot be set on the command line"
                ))
                .hint("edit it in the environment's file"),
            ),
            ["stack_name"] => self.stack_name = Some(Setting { value: text(), origin }),
            ["role_arn"] => self.role_arn = Some(text()),
            ["artifact_bucket"] => self.artifact_bucket = Some(text()),
            ["artifact_prefix"] => self.artifact_prefix = Some(text()),
            ["artifact_buckets", region] => {
                self.artifact_buckets.insert(region.to_string(), text());
            }
            ["protected"] => match value {
                toml::Value::Boolean(true) => self.protected = Some(true),
                toml::Value::Boolean(false) => self.errors.push(
                    Diagnostic::new(format!("`--set {set}`: protection cannot be switched off on the command line"))
                        .hint("edit `protected` in the environment's file; `--yes` answers the confirmation"),
                ),
                _ => self.errors.push(Diagnostic::new(format!("`--set {set}`: `protected` must be true or false"))),
            },
            ["tags", tag] => {
                self.tags.insert(tag.to_string(), text());
            }
            ["layers", layer, "parameters", param] => {
                self.raw_parameters.insert(format!("layers.{layer}.parameters.{param}"), value.clone());
                let entry = self.layers.entry(layer.to_string()).or_default();
                entry.parameters.insert(param.to_string(), Setting { value: ParamValue::Literal(text()), origin });
            }
            ["layers", layer, "values", rest @ ..] if !rest.is_empty() => {
                let tree = nest(rest, ValueTree::Scalar(value));
                let entry = self.layers.entry(layer.to_string()).or_default();
                merge_values(&mut entry.values, from_nested(tree, origin));
            }
            ["layers", layer, "tags", tag] => {
                let entry = self.layers.entry(layer.to_string()).or_default();
                entry.tags.insert(tag.to_string(), text());
            }
            ["layers", ..] => self.errors.push(Diagnostic::new(format!("`--set {set}`: cannot set `{key}`")).hint(
                "use layers.<layer>.parameters.<Name>, layers.<layer>.values.<key> or layers.<layer>.tags.<Key>",
            )),
            ["values", rest @ ..] if !rest.is_empty() => self.set_value_path(rest, value, origin),
            [first, ..] if RESERVED.contains(first) => {
                self.errors.push(Diagnostic::new(format!("`--set {set}`: `{first}` cannot be set")))
            }
            rest => self.set_value_path(rest, value, origin),
        }
    }

    fn set_value_path(&mut self, path: &[&str], value: toml::Value, origin: Location) {
        let tree = nest(path, ValueTree::Scalar(value));
        merge_values(&mut self.values, from_nested(tree, origin));
    }
}

/// The byte range of the value (or, for a table, its key) at `keys` in a parsed file.
fn span_at(doc: &toml_edit::ImDocument<String>, keys: &[&str]) -> Option<std::ops::Range<usize>> {
    let mut item = doc.as_item();
    let mut key_span = None;
    for k in keys {
        let (key, next) = item.as_table_like()?.get_key_value(k)?;
        key_span = key.span();
        item = next;
    }
    match item {
        toml_edit::Item::Value(v) => v.span().or(key_span),
        _ => key_span.or_else(|| item.span()),
    }
}

/// `--set` values are strings, except `true`, `false` and plain integers (so an image tag like `1e5` stays a string).
pub fn set_value(raw: &str) -> toml::Value {
    match raw {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => {
            let digits = raw.strip_prefix('-').unwrap_or(raw);
            let plain_int = !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_digit())
                && (digits == "0" || !digits.starts_with('0'));
            match raw.parse::<i64>() {
                Ok(i) if plain_int => toml::Value::Integer(i),
                _ => toml::Value::String(raw.to_string()),
            }
        }
    }
}

fn nest(path: &[&str], leaf: ValueTree) -> (String, ValueTree) {
    let mut tree = leaf;
    for key in path[1..].iter().rev() {
        tree = ValueTree::Table(BTreeMap::from([(key.to_string(), tree)]));
    }
    (path[0].to_string(), tree)
}

fn from_nested((key, tree): (String, ValueTree), origin: Location) -> BTreeMap<String, Setting<ValueTree>> {
    BTreeMap::from([(key, Setting { value: tree, origin })])
}

/// `higher` over `into`, key by key (the one merge rule, used for files, `--set` and layer values).
pub fn merge_values(into: &mut BTreeMap<String, Setting<ValueTree>>, higher: BTreeMap<String, Setting<ValueTree>>) {
    for (k, v) in higher {
        let merged = match into.remove(&k) {
            Some(old) => Setting { value: old.value.merge(v.value), origin: v.origin },
            None => v,
        };
        into.insert(k, merged);
    }
}

fn located(d: Diagnostic, origin: Location, what: String) -> Diagnostic {
    let message = format!("{what}: {}", d.message);
    Diagnostic { message, location: Some(origin), ..d }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(tree: &ValueTree) -> &toml::Value {
        match tree {
            ValueTree::Scalar(v) => v,
            other => panic!("not a scalar: {other:?}"),
        }
    }

    #[test]
    fn set_values_keep_tags_as_strings() {
        assert_eq!(set_value("3"), toml::Value::Integer(3));
        assert_eq!(set_value("-3"), toml::Value::Integer(-3));
        assert_eq!(set_value("true"), toml::Value::Boolean(true));
        for s in ["1e5", "007", "1.0", "abc", "", "10.0.0.0/16"] {
            assert_eq!(set_value(s), toml::Value::String(s.to_string()), "{s}");
        }
    }

    #[test]
    fn tables_merge_and_scalars_replace() {
        let lo = ValueTree::parse(&toml::from_str::<toml::Value>("a = 1\n[t]\nx = 1\ny = 2").unwrap()).unwrap();
        let hi = ValueTree::parse(&toml::from_str::<toml::Value>("a = 2\n[t]\ny = 3\nz = 4").unwrap()).unwrap();
        let ValueTree::Table(m) = lo.merge(hi) else { panic!() };
        assert_eq!(scalar(&m["a"]), &toml::Value::Integer(2));
        let ValueTree::Table(t) = &m["t"] else { panic!() };
        assert_eq!(scalar(&t["x"]), &toml::Value::Integer(1));
        assert_eq!(scalar(&t["y"]), &toml::Value::Integer(3));
        assert_eq!(scalar(&t["z"]), &toml::Value::Integer(4));
    }

    #[test]
    fn a_reference_replaces_a_table_whole() {
        let lo =
            ValueTree::parse(&toml::from_str::<toml::Value>("[v]\nfrom = \"ssm\"\nname = \"/a\"").unwrap()).unwrap();
        let hi = ValueTree::parse(&toml::from_str::<toml::Value>("[v]\nfrom = \"env\"\nvar = \"X\"").unwrap()).unwrap();
        let ValueTree::Table(m) = lo.merge(hi) else { panic!() };
        assert_eq!(m["v"], ValueTree::Ref(Source::Env { var: "X".into(), default: None, secret: false }));
    }

    #[test]
    fn naming_convention_fills_every_store() {
        let n = SecretNames::default();
        let src = |k| n.source(k, "cruddur", "prod", "db", "MasterUserPassword").describe();
        assert_eq!(src(SecretStore::Keyring), "<secret from keyring:stackc/cruddur/prod/db/MasterUserPassword>");
        assert_eq!(src(SecretStore::Ssm), "<secret from ssm-secure:/cruddur/prod/db/MasterUserPassword>");
        assert_eq!(src(SecretStore::SecretsManager), "<secret from secretsmanager:cruddur/prod/db#MasterUserPassword>");
        assert_eq!(src(SecretStore::Env), "<secret from env:STACKC_DB_MASTERUSERPASSWORD>");
        assert_eq!(src(SecretStore::Prompt), "<secret from prompt:prod db MasterUserPassword>");
    }

    #[test]
    fn list_parameters_are_comma_delimited() {
        let v: toml::Value = toml::from_str::<toml::Table>("v = [\"a\", 1, true]").unwrap()["v"].clone();
        assert_eq!(literal_string(&v).unwrap(), "a,1,true");
    }
}
