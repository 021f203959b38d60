//! One layer as the engine takes it and gives it back: its prepared input (everything CreateChangeSet
//! needs), its outcome, and the error that fails it.

use std::collections::BTreeMap;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::scheduler::Settles;
use crate::cfn::port::{ApiValue, PortError, StackInfo};
use crate::stackset_settings;

/// A layer ready to be planned: everything CreateChangeSet needs.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub layer: String,
    pub stack_name: String,
    pub template_body: String,
    /// Where CloudFormation reads the template from when it is over the body limit (already uploaded).
    pub template_url: Option<String>,
    /// name, value for the API, value as shown, secret?
    pub parameters: Vec<PreparedParam>,
    pub tags: BTreeMap<String, String>,
    pub capabilities: Vec<String>,
    pub role_arn: Option<String>,
    /// Some(true): turn termination protection on; Some(false): off; None: leave it as it is.
    pub termination_protection: Option<bool>,
    pub notification_arns: Vec<String>,
    pub rollback_alarms: Vec<String>,
    pub rollback_minutes: Option<u32>,
    pub disable_rollback: bool,
    pub stack_policy: Option<String>,
    /// Layers whose outputs this layer needs but which are not deployed (their values are placeholders).
    pub waiting_for: Vec<String>,
    /// (logical id, type) of the template's resources, for plans made without a change set.
    pub resources: Vec<(String, String)>,
    /// The template's parameter defaults, as CloudFormation reports them back.
    pub defaults: BTreeMap<String, String>,
    /// Deployed as a stack set, with these targets (no change sets then).
    pub stackset: Option<stackset_settings::StackSetTarget>,
    /// `timeout_minutes`: how long the stack operation may run before stackc cancels an update (or, for a
    /// create, stops following it and fails the layer).
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct PreparedParam {
    pub name: String,
    pub value: ApiValue,
    pub shown: String,
    pub secret: bool,
    /// For a secret: a fingerprint of its source's version, when the source has versions.
    pub fingerprint: Option<String>,
}

impl Prepared {
    /// Identifies what would be deployed; secrets enter only through a hash.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.template_body.as_bytes());
        for p in &self.parameters {
            h.update(p.name.as_bytes());
            h.update([0]);
            match &p.value {
                ApiValue::Plain(v) => h.update(v.as_bytes()),
                ApiValue::Secret(s) => h.update(s.expose().as_bytes()),
                ApiValue::Previous => h.update(b"\x01previous"),
            }
            h.update([0]);
        }
        for (k, v) in &self.tags {
            h.update(k.as_bytes());
            h.update([0]);
            h.update(v.as_bytes());
            h.update([0]);
        }
        h.update(self.capabilities.join(",").as_bytes());
        format!("{:x}", h.finalize())
    }
}

/// What happened to one layer.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Deployed(StackInfo),
    UpToDate(StackInfo),
    /// Change set created and kept (`--no-execute`).
    Pending(String),
    Failed(String),
    Skipped(String),
}

impl Outcome {
    pub fn ok(&self) -> bool {
        matches!(self, Outcome::Deployed(_) | Outcome::UpToDate(_) | Outcome::Pending(_))
    }
}

impl Settles for Outcome {
    fn ok(&self) -> bool {
        Outcome::ok(self)
    }

    fn skipped(because: String) -> Outcome {
        Outcome::Skipped(because)
    }
}

/// A layer failed to plan: the message says why, in one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerError(pub String);

impl From<PortError> for LayerError {
    fn from(e: PortError) -> LayerError {
        LayerError(e.to_string())
    }
}
