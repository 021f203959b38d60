//! Environment files and their layering.
//!
//! Precedence, lowest to highest: each file named in `extends` (in order, each after its own `extends`),
//! then the environment file itself, then `--set key=value` on the command line. Tables (`tags`,
//! `values`, `layers.<l>.values`, ...) merge key by key; anything else (a string, a list, a value
//! reference) is replaced whole by the higher layer.

mod file;
mod loader;
mod secret_names;
mod set;
mod values;

#[cfg(test)]
pub(crate) use file::EnvFile;
pub use loader::{load, load_with};
pub use secret_names::{SecretNames, SecretStore};
pub use values::{literal_string, merge_values, set_value, ParamValue, ValueTree};

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::diagnostic::Location;
use crate::stackset_settings;

/// Names the templates see besides the values; a value may not take one of them.
pub const RESERVED: &[&str] =
    &["env", "region", "account_id", "project", "layer", "stack_name", "stack_names", "protected", "tags", "role_arn"];

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
    pub stackset: Option<stackset_settings::StackSetSettings>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

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
