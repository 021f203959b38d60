//! What a layer is doing, as the engine (and the hooks and builds around it) report it: a value the
//! progress view reads by kind, worded in one place.

use std::fmt;

/// One step of a layer's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Another operation is in progress on the stack (its status): waiting for it to end.
    Waiting(String),
    CreatingChangeSet,
    /// Its change set executes: an update, or a create.
    Executing {
        update: bool,
    },
    /// Past `timeout_minutes` (how long it ran, worded): the update is being cancelled.
    Cancelling(String),
    /// Its dependencies' outputs are known now: planned again before it executes.
    PlanningAgain,
    UpToDate,
    /// Finished, with the stack's final status.
    Done(String),
    Failed,
    Deleting,
    /// ContinueUpdateRollback was called; the rollback is being followed.
    ContinuingRollback,
    Deleted,
    CreatingStackSet,
    /// A stack set operation ran past `timeout_minutes` (its status, the minutes): being stopped.
    StoppingOperation {
        status: String,
        minutes: u64,
    },
    /// One stack set instance's result: where, its status, and why when given.
    Instance {
        place: String,
        status: String,
        reason: Option<String>,
    },
    /// A stack set's instances being added (or removed): targets, regions.
    Instances {
        adding: bool,
        targets: Vec<String>,
        regions: Vec<String>,
    },
    /// The stack set and the instances it keeps (how many) being updated.
    UpdatingStackSet {
        instances: usize,
    },
    DeletingStackSet,
    /// A command about to run: a hook (its phase's name) or the layer's build.
    Command {
        what: &'static str,
        command: String,
    },
    /// A line a command printed (scrubbed by whoever reports it).
    Output(String),
}

impl Step {
    /// The layer is finished with (its row's time stops).
    pub fn finishes(&self) -> bool {
        matches!(self, Step::Done(_) | Step::UpToDate | Step::Failed | Step::Deleted)
    }

    /// A line of its own, kept in the scroll-back (commands, what they print, instances), rather than the
    /// layer's current state.
    pub fn is_line(&self) -> bool {
        matches!(self, Step::Command { .. } | Step::Output(_) | Step::Instance { .. })
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Waiting(status) => write!(f, "waiting: another operation is in progress ({status})"),
            Step::CreatingChangeSet => f.write_str("creating change set"),
            Step::Executing { update: true } => f.write_str("updating"),
            Step::Executing { update: false } => f.write_str("creating"),
            Step::Cancelling(after) => write!(f, "{after}: cancelling the update"),
            Step::PlanningAgain => f.write_str("inputs are known now: planning again"),
            Step::UpToDate => f.write_str("up to date"),
            Step::Done(status) => write!(f, "done: {status}"),
            Step::Failed => f.write_str("failed"),
            Step::Deleting => f.write_str("deleting"),
            Step::ContinuingRollback => f.write_str("continuing the rollback"),
            Step::Deleted => f.write_str("deleted"),
            Step::CreatingStackSet => f.write_str("creating stack set"),
            Step::StoppingOperation { status, minutes } => {
                write!(f, "still {status} after timeout_minutes ({minutes}): stopping the operation")
            }
            Step::Instance { place, status, reason } => {
                write!(f, "  instance {place}: {status}")?;
                reason.as_ref().map_or(Ok(()), |r| write!(f, "  {r}"))
            }
            Step::Instances { adding, targets, regions } => {
                let what = if *adding { "adding" } else { "removing" };
                write!(f, "{what} instances: {} in {}", targets.join(", "), regions.join(", "))
            }
            Step::UpdatingStackSet { instances: 1 } => f.write_str("updating stack set and its 1 instance"),
            Step::UpdatingStackSet { instances } => write!(f, "updating stack set and its {instances} instances"),
            Step::DeletingStackSet => f.write_str("deleting stack set"),
            Step::Command { what, command } => write!(f, "{what}: {command}"),
            Step::Output(line) => write!(f, "  | {line}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_as_before_and_say_what_they_are() {
        assert_eq!(Step::Done("UPDATE_COMPLETE".into()).to_string(), "done: UPDATE_COMPLETE");
        let instance = Step::Instance {
            place: "111111111111/eu-west-1".into(),
            status: "FAILED".into(),
            reason: Some("quota".into()),
        };
        assert_eq!(instance.to_string(), "  instance 111111111111/eu-west-1: FAILED  quota");
        assert!(instance.is_line() && !instance.finishes());
        assert!(Step::UpToDate.finishes() && Step::Failed.finishes() && !Step::Deleting.finishes());
        assert_eq!(Step::Command { what: "build", command: "make".into() }.to_string(), "build: make");
        assert!(Step::Output("x".into()).is_line());
    }
}
