//! Nested stacks in a drift report. CloudFormation's drift detection on a parent stack does not look into
//! its nested stacks (it lists them as resources it cannot check), so each nested stack is detected on
//! its own, and its findings are reported under its parent (`report` shows them).

use std::time::Instant;

use super::{wait_for, State, Waits};
use crate::cfn::port::{CloudFormation, ResourceDrift};

/// Nested stacks are followed this deep.
const MAX_DEPTH: usize = 5;

/// One nested stack's drift, under its parent.
#[derive(Debug, Clone, PartialEq)]
pub struct NestedDrift {
    /// Its logical id in the parent.
    pub logical_id: String,
    /// Its stack id.
    pub stack: String,
    pub state: State,
}

/// Detect drift on every nested stack among `resources` (a parent's drift results), one after another.
pub(super) fn check(
    cfn: &dyn CloudFormation,
    resources: &[ResourceDrift],
    waits: Waits,
    deadline: Instant,
    depth: usize,
) -> Vec<NestedDrift> {
    if depth >= MAX_DEPTH {
        return Vec::new();
    }
    resources
        .iter()
        .filter(|r| r.resource_type == "AWS::CloudFormation::Stack" && !r.physical_id.is_empty())
        .map(|r| {
            let state = match cfn.detect_drift(&r.physical_id) {
                Ok(id) => wait_for(cfn, &r.physical_id, &id, waits, deadline, depth + 1).unwrap_or_else(State::Failed),
                Err(e) => State::Failed(e.to_string()),
            };
            NestedDrift { logical_id: r.logical_id.clone(), stack: r.physical_id.clone(), state }
        })
        .collect()
}
