//! The environment file as written: what serde reads from each file before layering (`loader`).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::stackset_settings;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvFile {
    #[serde(default)]
    pub(super) extends: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    pub(super) region: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) account_id: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) protected: Option<bool>,
    #[serde(default)]
    pub(super) stack_name: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) role_arn: Option<Spanned<String>>,
    /// Where packaged artifacts (code, nested and large templates) go; `stackc bootstrap` makes it.
    #[serde(default)]
    pub(super) artifact_bucket: Option<Spanned<String>>,
    /// The start of every artifact key (default `stackc/<project>/`).
    #[serde(default)]
    pub(super) artifact_prefix: Option<Spanned<String>>,
    /// Buckets for layers in other regions than the environment's: `{ "us-east-1" = "..." }` (Lambda
    /// reads code only from a bucket in its own region).
    #[serde(default)]
    pub(super) artifact_buckets: BTreeMap<String, String>,
    /// The AWS profile this environment is deployed with (`--profile` wins).
    #[serde(default)]
    pub(super) profile: Option<Spanned<String>>,
    /// A role stackc assumes (STS) for everything it does in this environment.
    #[serde(default)]
    pub(super) role_arn_to_assume: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) role_session_name: Option<Spanned<String>>,
    /// 15 to 720 minutes (the role's maximum session must allow it).
    #[serde(default)]
    pub(super) role_duration_minutes: Option<Spanned<u32>>,
    /// SNS topics CloudFormation tells about stack events.
    #[serde(default)]
    pub(super) notification_arns: Option<Spanned<Vec<String>>>,
    /// CloudWatch alarms that roll an update back when they fire (up to 5).
    #[serde(default)]
    pub(super) rollback_alarms: Option<Spanned<Vec<String>>>,
    /// How long CloudFormation watches the alarms after an update (0-180 minutes).
    #[serde(default)]
    pub(super) rollback_monitoring_minutes: Option<Spanned<u32>>,
    /// Keep what a failed deploy made, to debug it (no rollback).
    #[serde(default)]
    pub(super) disable_rollback: Option<bool>,
    /// Termination protection on the stacks (default: the environment's `protected`).
    #[serde(default)]
    pub(super) termination_protection: Option<bool>,
    /// Give up on a stack operation after this many minutes: an update is cancelled (CloudFormation rolls
    /// it back); a create is left to CloudFormation and reported as failed.
    #[serde(default)]
    pub(super) timeout_minutes: Option<Spanned<u32>>,
    #[serde(default)]
    pub(super) tags: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub(super) values: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub(super) layers: BTreeMap<String, LayerSection>,
    #[serde(default)]
    pub(super) secret_names: Option<SecretNamesFile>,
    /// Keys that belong to this environment and are never promoted into it or from it
    /// (`domain`, `layers.db.parameters.InstanceClass`, `layers.*.parameters.CertificateArn`).
    #[serde(default)]
    pub(super) pinned: Vec<String>,
    /// Allow-list mode for promotion into this environment: only keys matching one of these are carried.
    #[serde(default)]
    pub(super) promotable: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct SecretNamesFile {
    pub(super) keyring_service: Option<String>,
    pub(super) keyring_account: Option<String>,
    pub(super) ssm: Option<String>,
    pub(super) secretsmanager: Option<String>,
    pub(super) secretsmanager_key: Option<String>,
    pub(super) env: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct LayerSection {
    #[serde(default)]
    pub(super) values: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub(super) parameters: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub(super) tags: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub(super) stack_name: Option<Spanned<String>>,
    /// `false`: the layer does not exist in this environment.
    #[serde(default)]
    pub(super) enabled: Option<bool>,
    /// The region of this layer's stack in this environment.
    #[serde(default)]
    pub(super) region: Option<String>,
    /// SNS topics CloudFormation tells about stack events.
    #[serde(default)]
    pub(super) notification_arns: Option<Spanned<Vec<String>>>,
    /// CloudWatch alarms that roll an update back when they fire (up to 5).
    #[serde(default)]
    pub(super) rollback_alarms: Option<Spanned<Vec<String>>>,
    /// How long CloudFormation watches the alarms after an update (0-180 minutes).
    #[serde(default)]
    pub(super) rollback_monitoring_minutes: Option<Spanned<u32>>,
    /// Keep what a failed deploy made, to debug it (no rollback).
    #[serde(default)]
    pub(super) disable_rollback: Option<bool>,
    /// Termination protection on the stacks (default: the environment's `protected`).
    #[serde(default)]
    pub(super) termination_protection: Option<bool>,
    /// Give up on a stack operation after this many minutes (see the environment's).
    #[serde(default)]
    pub(super) timeout_minutes: Option<Spanned<u32>>,
    /// Targets and rollout of a layer deployed as a stack set, over layer.toml's `[stackset]`.
    #[serde(default)]
    pub(super) stackset: Option<stackset_settings::StackSetSettings>,
}

/// Stack options as one file section wrote them, with where (for findings).
pub(super) struct RawOptions {
    pub(super) notification_arns: Option<Spanned<Vec<String>>>,
    pub(super) rollback_alarms: Option<Spanned<Vec<String>>>,
    pub(super) minutes: Option<Spanned<u32>>,
    pub(super) disable_rollback: Option<bool>,
    pub(super) termination_protection: Option<bool>,
    pub(super) timeout_minutes: Option<Spanned<u32>>,
}

/// `options()` for a section that holds the stack options (the environment file's top level and each
/// `[layers.<l>]`): serde cannot flatten one struct into both while refusing unknown keys.
macro_rules! stack_options_of {
    ($section:ty) => {
        impl $section {
            /// The section's stack options, taken out of it.
            pub(super) fn options(&mut self) -> RawOptions {
                RawOptions {
                    notification_arns: self.notification_arns.take(),
                    rollback_alarms: self.rollback_alarms.take(),
                    minutes: self.rollback_monitoring_minutes.take(),
                    disable_rollback: self.disable_rollback.take(),
                    termination_protection: self.termination_protection.take(),
                    timeout_minutes: self.timeout_minutes.take(),
                }
            }
        }
    };
}

stack_options_of!(EnvFile);
stack_options_of!(LayerSection);
