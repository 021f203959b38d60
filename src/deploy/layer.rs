//! One layer as the engine takes it and gives it back: its prepared input (everything CreateChangeSet
//! needs), its outcome, and the error that fails it.

use std::collections::BTreeMap;
use std::fmt;
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
    /// The packaged bodies of the nested stacks' templates, by artifact key: a plan shows a nested stack's
    /// changes masked by its own template.
    pub nested_templates: BTreeMap<String, String>,
}

/// The packaged body a nested stack's `TemplateURL` points at, among `templates` (packaged bodies by
/// artifact key; `Prepared::nested_templates`).
pub fn nested_body<'a>(templates: &'a BTreeMap<String, String>, url: &str) -> Option<&'a str> {
    templates.iter().find(|(key, _)| url.ends_with(key.as_str())).map(|(_, body)| body.as_str())
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
                ApiValue::Placeholder(d) => {
                    h.update(b"\x02placeholder");
                    h.update(d.as_bytes())
                }
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

/// Why a layer failed to plan, execute or delete: each kind with what it needs to be said, worded in one
/// place (`Display`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerError {
    /// What CloudFormation (or the way to it) answered, as `PortError` words it.
    Port(String),
    /// Another operation kept the stack busy past the run's timeout.
    Busy {
        stack: String,
        status: String,
    },
    /// The stack's first create failed and was rolled back: only `--recreate` gets past it.
    FailedCreate {
        stack: String,
        status: String,
    },
    /// A state only a person can resolve, in `stack_state`'s words.
    Stuck(String),
    /// An update failed and so did its rollback: the way out is `stackc continue-rollback`.
    RollbackFailed {
        stack: String,
        env: String,
        layer: String,
    },
    /// Ctrl-C came before its change set was made.
    Interrupted,
    ChangeSetNotCreated {
        stack: String,
    },
    ChangeSetRejected {
        stack: String,
        reason: String,
    },
    NoChangeSet,
    /// Still in progress when the run's timeout came.
    StillInProgress {
        stack: String,
        status: String,
    },
    /// The stack (or stack set) was gone when read after its operation.
    Disappeared {
        what: &'static str,
        name: String,
    },
    /// Past `timeout_minutes` (`after` says how) during a create, which cannot be cancelled.
    CreateNotCancellable {
        stack: String,
        after: String,
        env: String,
    },
    CancelFailed {
        stack: String,
        after: String,
        error: String,
    },
    /// Past `timeout_minutes`: cancelled and rolled back, ending in `end`.
    RolledBack {
        stack: String,
        after: String,
        end: String,
    },
    DeleteEnded {
        stack: String,
        status: String,
        reason: Option<String>,
    },
    /// A continued rollback did not end in UPDATE_ROLLBACK_COMPLETE.
    RollbackEnded {
        stack: String,
        status: String,
        reason: Option<String>,
    },
    /// AWS stopped answering while a stack was followed; the operation goes on.
    LostContact {
        stack: String,
        error: String,
    },
    NotFound {
        stack: String,
    },
    /// The change set made after the approval was refused (why).
    Refused(String),
    /// A hook failed (its own sentence).
    Hook(String),
    /// Deployed, but a hook after it failed.
    AfterDeploy(String),
    /// The operation failed: its root cause, as `explain_failure` found it.
    Failed(String),
    /// A stack set operation outlasted the run's timeout.
    OperationRunning {
        op: String,
        what: String,
        name: String,
        status: String,
    },
    /// A stack set operation outlasted `timeout_minutes` and was stopped.
    OperationStopped {
        what: String,
        name: String,
        status: String,
    },
    /// A stack set operation ended other than SUCCEEDED: each failed instance's line.
    OperationEnded {
        what: String,
        name: String,
        status: String,
        failed: Vec<String>,
    },
    /// The rendered template does not parse (the parser's message).
    Unparsable(String),
    StackPolicy {
        path: String,
        error: String,
    },
    /// A secret would reach a parameter CloudFormation shows.
    SecretNotNoEcho {
        parameter: String,
        shown: String,
    },
    /// Packaging failed (each reason).
    Packaging(Vec<String>),
    /// Artifacts (their sources) need a bucket the environment does not have (what to do).
    NeedsBucket {
        sources: Vec<String>,
        how: String,
    },
    /// What the layer's `[build]` makes is not there: the build did not run for it.
    Unbuilt(Vec<String>),
    Upload(String),
    StackSetSettings(Vec<String>),
    /// The layer's values could not be resolved or rendered (the diagnostics, scrubbed).
    Unresolved(String),
    NotBuilt,
}

impl fmt::Display for LayerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerError::Port(m) | LayerError::Stuck(m) | LayerError::Refused(m) | LayerError::Hook(m) => f.write_str(m),
            LayerError::Failed(m) | LayerError::Upload(m) | LayerError::Unresolved(m) => f.write_str(m),
            LayerError::Busy { stack, status } => write!(
                f,
                "stack `{stack}` has been in {status} for longer than the timeout; another operation is still running on it"
            ),
            LayerError::FailedCreate { stack, status } => write!(
                f,
                "stack `{stack}` is in {status}: its first create failed and CloudFormation rolled it back, so it \
                 cannot be updated. Run again with --recreate to delete it and create it anew"
            ),
            LayerError::Interrupted => f.write_str("interrupted before its change set was made"),
            LayerError::ChangeSetNotCreated { stack } => write!(f, "change set for `{stack}` did not finish creating"),
            LayerError::ChangeSetRejected { stack, reason } => {
                write!(f, "CloudFormation rejected the change set for `{stack}`: {reason}")
            }
            LayerError::NoChangeSet => f.write_str("no change set to execute"),
            LayerError::StillInProgress { stack, status } => {
                write!(f, "stack `{stack}` is still {status} after the timeout")
            }
            LayerError::Disappeared { what, name } => write!(f, "{what} `{name}` disappeared during the deploy"),
            LayerError::CreateNotCancellable { stack, after, env } => write!(
                f,
                "stack `{stack}` is {after}; a create cannot be cancelled, so CloudFormation goes on (or rolls back \
                 on its own): `stackc status {env}` shows where it is"
            ),
            LayerError::CancelFailed { stack, after, error } => {
                write!(f, "stack `{stack}` is {after}, and cancelling the update failed: {error}")
            }
            LayerError::RolledBack { stack, after, end } => write!(
                f,
                "stack `{stack}` was {after}: stackc cancelled the update and CloudFormation rolled it back ({end})"
            ),
            LayerError::DeleteEnded { stack, status, reason } => {
                write!(f, "deleting `{stack}` ended in {status}")?;
                reason.as_ref().map_or(Ok(()), |r| write!(f, ": {r}"))
            }
            LayerError::RollbackFailed { stack, env, layer } => write!(
                f,
                "stack `{stack}` is in UPDATE_ROLLBACK_FAILED: an update failed and so did its rollback. Fix the resource \
                 that could not roll back (`stackc events {env} {layer}` names it), then run `stackc continue-rollback \
                 {env} {layer}` (CloudFormation's ContinueUpdateRollback; `--skip <LogicalId>` leaves a resource that \
                 cannot be fixed as it is) and deploy again"
            ),
            LayerError::RollbackEnded { stack, status, reason } => {
                write!(f, "the continued rollback of `{stack}` ended in {status}")?;
                reason.as_ref().map_or(Ok(()), |r| write!(f, ": {r}"))?;
                write!(f, "; the layer's events name the resource that still cannot roll back (`--skip <LogicalId>` leaves it)")
            }
            LayerError::LostContact { stack, error } => write!(
                f,
                "stackc lost contact with CloudFormation while following `{stack}`: {error}. The operation goes on \
                 in CloudFormation without stackc: `stackc status` shows where it is, and the same command run \
                 again waits for it and finishes the job"
            ),
            LayerError::NotFound { stack } => write!(f, "stack `{stack}` not found"),
            LayerError::AfterDeploy(m) => write!(f, "deployed, but {m}"),
            LayerError::OperationRunning { op, what, name, status } => write!(
                f,
                "stack set operation {op} ({what}) on `{name}` is still {status} after the timeout; it goes on in \
                 CloudFormation"
            ),
            LayerError::OperationStopped { what, name, status } => write!(
                f,
                "stack set operation ({what}) on `{name}` ran past timeout_minutes and was stopped ({status}); the \
                 instances it did not reach stay OUTDATED and the next deploy updates them"
            ),
            LayerError::OperationEnded { what, name, status, failed } => {
                write!(f, "stack set operation ({what}) on `{name}` ended {status}")?;
                if !failed.is_empty() {
                    write!(f, "\n  {}", failed.join("\n  "))?;
                }
                Ok(())
            }
            _ => self.fmt_input(f),
        }
    }
}

impl LayerError {
    /// Following a stack failed: when AWS could not be reached (or stopped taking the credentials) the
    /// operation itself goes on in CloudFormation, and the message says so and how to pick it up again.
    pub fn following(stack: &str, e: PortError) -> LayerError {
        match e {
            PortError::Unreachable { .. } | PortError::Credentials { .. } | PortError::Throttled { .. } => {
                LayerError::LostContact { stack: stack.to_string(), error: e.to_string() }
            }
            other => other.into(),
        }
    }

    /// The words of the errors about the layer's input (its template, values, packaging, settings).
    fn fmt_input(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerError::Unparsable(m) => write!(f, "the rendered template does not parse: {m}"),
            LayerError::StackPolicy { path, error } => write!(f, "cannot read the stack policy {path}: it {error}"),
            LayerError::SecretNotNoEcho { parameter, shown } => write!(
                f,
                "parameter `{parameter}` gets a secret ({shown}) but is not declared `NoEcho: true` in the \
                 template; refusing to send it"
            ),
            LayerError::Packaging(errors) => write!(f, "cannot package the template: {}", errors.join("; ")),
            LayerError::NeedsBucket { sources, how } => {
                write!(f, "the template needs an artifact bucket ({}): {how}", sources.join(", "))
            }
            LayerError::StackSetSettings(problems) => write!(f, "stack set settings: {}", problems.join("; ")),
            LayerError::Unbuilt(sources) => write!(
                f,
                "{} made by the layer's [build], which did not run for it: nothing of it is uploaded (`stackc build` \
                 runs it)",
                sources.join(", ")
            ),
            LayerError::NotBuilt => f.write_str("the layer was not built"),
            // Every other kind is worded in `Display`; this arm is never taken.
            other => write!(f, "{other:?}"),
        }
    }
}

impl From<PortError> for LayerError {
    fn from(e: PortError) -> LayerError {
        LayerError::Port(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_worded_in_one_place() {
        let deleted = LayerError::DeleteEnded { stack: "s".into(), status: "DELETE_FAILED".into(), reason: None };
        assert_eq!(deleted.to_string(), "deleting `s` ended in DELETE_FAILED");
        let why =
            LayerError::DeleteEnded { stack: "s".into(), status: "DELETE_FAILED".into(), reason: Some("r".into()) };
        assert_eq!(why.to_string(), "deleting `s` ended in DELETE_FAILED: r");
        let ended = LayerError::OperationEnded {
            what: "update".into(),
            name: "guard".into(),
            status: "FAILED".into(),
            failed: vec!["111/eu-west-1: FAILED quota".into(), "222/us-east-1: FAILED x".into()],
        };
        assert_eq!(
            ended.to_string(),
            "stack set operation (update) on `guard` ended FAILED\n  111/eu-west-1: FAILED quota\n  222/us-east-1: FAILED x"
        );
        let lost = LayerError::LostContact { stack: "s".into(), error: "timed out".into() }.to_string();
        assert!(lost.contains("`s`: timed out. The operation goes on in CloudFormation without stackc"), "{lost}");
        assert_eq!(LayerError::AfterDeploy("the hook failed".into()).to_string(), "deployed, but the hook failed");
    }
}
