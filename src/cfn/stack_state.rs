//! What a stack's status means for the next deploy.

use super::port::StackInfo;

/// The status a stack set layer's `StackInfo` carries (no stack has it; see deploy::stackset), so status, destroy and hooks can
/// treat the layer like any other.
pub const STACK_SET_ACTIVE: &str = "ACTIVE";

pub fn is_stack_set(info: &StackInfo) -> bool {
    info.status == STACK_SET_ACTIVE
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackState {
    /// No stack (never created, deleted, or only a never-executed CREATE change set): create it.
    Absent,
    /// A healthy stack: update it.
    Updatable,
    /// An operation is running: wait for it, never interrupt it.
    Busy,
    /// The first create failed and was rolled back: it can only be deleted and created again.
    FailedCreate,
    /// An update failed and so did its rollback (UPDATE_ROLLBACK_FAILED): ContinueUpdateRollback, once the
    /// resource that could not roll back is fixed or skipped, is the way out.
    RollbackFailed,
    /// A state that needs a person; the text says what to do.
    Stuck(String),
}

pub fn classify(status: Option<&str>, stack: &str) -> StackState {
    let Some(status) = status else { return StackState::Absent };
    match status {
        "REVIEW_IN_PROGRESS" | "DELETE_COMPLETE" => StackState::Absent,
        // A stack set layer (see deploy::stackset): healthy; its operations are followed when they run.
        STACK_SET_ACTIVE => StackState::Updatable,
        "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" | "CREATE_FAILED" => StackState::FailedCreate,
        "UPDATE_ROLLBACK_FAILED" => StackState::RollbackFailed,
        "DELETE_FAILED" => StackState::Stuck(format!(
            "stack `{stack}` is in DELETE_FAILED: a delete could not remove every resource. Remove what blocks it \
             (see the stack's events), then run `stackc destroy` again"
        )),
        s if s.ends_with("_IN_PROGRESS") => StackState::Busy,
        s if s.ends_with("_COMPLETE") => StackState::Updatable,
        other => {
            StackState::Stuck(format!("stack `{stack}` is in {other}, which stackc does not know how to continue from"))
        }
    }
}

/// Whether a finished operation succeeded.
pub fn succeeded(status: &str) -> bool {
    matches!(status, "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE")
}

pub fn in_progress(status: &str) -> bool {
    status.ends_with("_IN_PROGRESS")
}

/// CloudFormation's ways of saying a change set has nothing to do.
pub fn is_no_changes_reason(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("didn't contain changes")
        || r.contains("no updates are to be performed")
        || r.contains("does not contain changes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_decisions() {
        assert_eq!(classify(None, "s"), StackState::Absent);
        assert_eq!(classify(Some("REVIEW_IN_PROGRESS"), "s"), StackState::Absent);
        assert_eq!(classify(Some("CREATE_COMPLETE"), "s"), StackState::Updatable);
        assert_eq!(classify(Some("UPDATE_ROLLBACK_COMPLETE"), "s"), StackState::Updatable);
        assert_eq!(classify(Some("ROLLBACK_COMPLETE"), "s"), StackState::FailedCreate);
        assert_eq!(classify(Some("UPDATE_IN_PROGRESS"), "s"), StackState::Busy);
        assert_eq!(classify(Some("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"), "s"), StackState::Busy);
        assert_eq!(classify(Some("UPDATE_ROLLBACK_FAILED"), "app"), StackState::RollbackFailed);
    }

    #[test]
    fn no_changes_in_both_wordings() {
        assert!(is_no_changes_reason(
            "The submitted information didn't contain changes. Submit different information to create a change set."
        ));
        assert!(is_no_changes_reason("No updates are to be performed."));
        assert!(!is_no_changes_reason("Template format error"));
    }
}
