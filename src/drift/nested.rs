//! Nested stacks in a drift report. CloudFormation's drift detection on a parent stack does not look into
//! its nested stacks (it lists them as resources it cannot check), so each nested stack is detected on
//! its own, and its findings are reported under its parent.

use std::time::Instant;

use serde_json::{json, Value as Json};

use super::report::{resource_lines, resources_json};
use super::{is_drift, wait_for, State, Waits};
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

/// A nested stack's name from its stack id (`arn:...:stack/<name>/<guid>`).
fn name_of(stack: &str) -> &str {
    stack.rsplit(':').next().and_then(|s| s.split('/').nth(1)).unwrap_or(stack)
}

/// Each nested stack's line, then its drifted resources and its own nested stacks, indented under `pad`.
pub(super) fn lines(t: &mut String, pad: &str, nested: &[NestedDrift]) {
    for n in nested {
        let head = format!("{pad}nested stack {} ({})", n.logical_id, name_of(&n.stack));
        match &n.state {
            State::Checked { status, resources, incomplete, nested } => {
                let drifted = resources.iter().filter(|r| is_drift(&r.status)).count();
                t.push_str(&format!("{head}: {status}, {drifted} drifted\n"));
                if let Some(why) = incomplete {
                    t.push_str(&format!("{pad}  incomplete: {why}\n"));
                }
                resource_lines(t, &format!("{pad}  "), resources);
                lines(t, &format!("{pad}  "), nested);
            }
            State::Failed(why) => t.push_str(&format!("{head}: not checked: {why}\n")),
            _ => {}
        }
    }
}

pub(super) fn to_json(nested: &[NestedDrift]) -> Vec<Json> {
    nested
        .iter()
        .map(|n| match &n.state {
            State::Checked { status, resources, incomplete, nested } => {
                let drifted: Vec<&ResourceDrift> = resources.iter().filter(|r| is_drift(&r.status)).collect();
                json!({"logical_id": n.logical_id, "stack": n.stack, "status": status, "reason": incomplete,
                       "drifted_resources": resources_json(&drifted), "nested_stacks": to_json(nested)})
            }
            State::Failed(why) => {
                json!({"logical_id": n.logical_id, "stack": n.stack, "status": "NOT_CHECKED", "reason": why})
            }
            _ => json!({"logical_id": n.logical_id, "stack": n.stack}),
        })
        .collect()
}
