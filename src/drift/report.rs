//! Drift as the user reads it: a text report and its JSON form, from the same findings.

use serde_json::{json, Value as Json};

use super::{is_drift, InstanceDrift, LayerDrift, NestedDrift, State};
use crate::cfn::port;
use crate::cfn::port::ResourceDrift;
use crate::secret::REDACTED;
use crate::text;

fn shown(d: &port::PropertyDifference) -> String {
    if d.expected == REDACTED && d.actual == REDACTED {
        return format!("{}: changed (from a secret; values not shown)", d.path);
    }
    match d.kind.as_str() {
        "ADD" => format!("{}: added {}", d.path, d.actual),
        "REMOVE" => format!("{}: removed (the template sets {})", d.path, d.expected),
        _ => format!("{}: template {}, live {}", d.path, d.expected, d.actual),
    }
}

fn physical(r: &ResourceDrift) -> String {
    if r.physical_id.is_empty() {
        String::new()
    } else {
        format!(" {}", r.physical_id)
    }
}

/// Each drifted resource of `resources` with its differences, indented by `pad`.
fn resource_lines(t: &mut String, pad: &str, resources: &[ResourceDrift]) {
    for r in resources.iter().filter(|r| is_drift(&r.status)) {
        if r.status == "DELETED" {
            t.push_str(&format!(
                "{pad}- {} {}{}: DELETED (it no longer exists)\n",
                r.logical_id,
                r.resource_type,
                physical(r)
            ));
            continue;
        }
        t.push_str(&format!("{pad}~ {} {}{}: MODIFIED\n", r.logical_id, r.resource_type, physical(r)));
        for d in &r.differences {
            t.push_str(&format!("{pad}    {}\n", shown(d)));
        }
    }
}

/// The report for a terminal: a line per layer, then each drifted resource with its differences (for a
/// stack set, per drifted instance).
pub fn to_text(env: &str, found: &[LayerDrift]) -> String {
    let mut t = String::new();
    for l in found {
        let head = format!("{:<12} {:<28}", l.layer, l.stack);
        match &l.state {
            State::NotDeployed => t.push_str(&format!("{head} not deployed\n")),
            State::Failed(why) => t.push_str(&format!("{head} not checked: {why}\n")),
            State::Checked { status, resources, incomplete, nested } => {
                let drifted = resources.iter().filter(|r| is_drift(&r.status)).count();
                let unchecked = resources.iter().filter(|r| r.status == "NOT_CHECKED").count();
                let checked = resources.len() - unchecked;
                let mut summary = if drifted > 0 {
                    format!("{drifted} of {checked} checked resources drifted")
                } else {
                    format!("{} in sync", text::count(checked, "checked resource"))
                };
                if unchecked > 0 {
                    summary.push_str(&format!(", {unchecked} not checkable"));
                }
                t.push_str(&format!("{head} {status:<9} {summary}\n"));
                if let Some(why) = incomplete {
                    t.push_str(&format!("  incomplete: {why}\n"));
                }
                resource_lines(&mut t, "  ", resources);
                nested_lines(&mut t, "  ", nested);
            }
            State::StackSetChecked { instances, incomplete } => {
                let drifted: Vec<&InstanceDrift> = instances.iter().filter(|i| i.status == "DRIFTED").collect();
                let status = if drifted.is_empty() { "IN_SYNC" } else { "DRIFTED" };
                t.push_str(&format!(
                    "{head} {status:<9} stack set: {} of {} drifted\n",
                    drifted.len(),
                    text::count(instances.len(), "instance")
                ));
                if let Some(why) = incomplete {
                    t.push_str(&format!("  incomplete: {why}\n"));
                }
                for i in instances.iter().filter(|i| i.status != "IN_SYNC") {
                    t.push_str(&format!("  instance {}/{}: {}\n", i.account, i.region, i.status));
                    resource_lines(&mut t, "    ", &i.resources);
                }
            }
        }
    }
    let drifted: Vec<&str> = found.iter().filter(|l| l.drifted()).map(|l| l.layer.as_str()).collect();
    if drifted.is_empty() {
        t.push_str(&format!("{env}: no drift found\n"));
    } else {
        t.push_str(&format!(
            "{env}: {} drifted ({}). CloudFormation does not undo drift by itself, and a deploy without \
             changes leaves it: set the live values back, or change the project to match them\n",
            text::count(drifted.len(), "layer"),
            drifted.join(", ")
        ));
    }
    t
}

fn resources_json(resources: &[&ResourceDrift]) -> Vec<Json> {
    resources
        .iter()
        .map(|r| {
            json!({
                "logical_id": r.logical_id,
                "physical_id": r.physical_id,
                "type": r.resource_type,
                "status": r.status,
                "differences": r.differences.iter().map(|d| json!({
                    "path": d.path,
                    "kind": d.kind,
                    "secret": d.expected == REDACTED && d.actual == REDACTED,
                    "expected": d.expected,
                    "actual": d.actual,
                })).collect::<Vec<_>>(),
            })
        })
        .collect()
}

pub fn to_json(env: &str, found: &[LayerDrift]) -> Json {
    let layers: Vec<Json> = found
        .iter()
        .map(|l| {
            let mut instances = Json::Null;
            let nested_json = match &l.state {
                State::Checked { nested, .. } => nested_json(nested),
                _ => Vec::new(),
            };
            let (status, reason, resources, unchecked) = match &l.state {
                State::NotDeployed => ("NOT_DEPLOYED".to_string(), None, Vec::new(), Vec::new()),
                State::Failed(why) => ("NOT_CHECKED".to_string(), Some(why.clone()), Vec::new(), Vec::new()),
                State::Checked { status, resources, incomplete, .. } => (
                    status.clone(),
                    incomplete.clone(),
                    resources.iter().filter(|r| is_drift(&r.status)).collect(),
                    resources.iter().filter(|r| r.status == "NOT_CHECKED").map(|r| r.logical_id.clone()).collect(),
                ),
                State::StackSetChecked { instances: found, incomplete } => {
                    instances = Json::Array(
                        found
                            .iter()
                            .map(|i| {
                                let drifted: Vec<&ResourceDrift> =
                                    i.resources.iter().filter(|r| is_drift(&r.status)).collect();
                                json!({"account": i.account, "region": i.region, "status": i.status,
                                       "drifted_resources": resources_json(&drifted)})
                            })
                            .collect(),
                    );
                    let any = found.iter().any(|i| i.status == "DRIFTED");
                    (if any { "DRIFTED" } else { "IN_SYNC" }.to_string(), incomplete.clone(), Vec::new(), Vec::new())
                }
            };
            json!({
                "layer": l.layer,
                "stack": l.stack,
                "status": status,
                "reason": reason,
                "drifted_resources": resources_json(&resources),
                "not_checkable": unchecked,
                "stack_set_instances": instances,
                "nested_stacks": nested_json,
            })
        })
        .collect();
    json!({
        "environment": env,
        "drifted": found.iter().any(LayerDrift::drifted),
        "complete": !found.iter().any(LayerDrift::failed),
        "layers": layers,
    })
}

/// A nested stack's name from its stack id (`arn:...:stack/<name>/<guid>`).
fn name_of(stack: &str) -> &str {
    stack.rsplit(':').next().and_then(|s| s.split('/').nth(1)).unwrap_or(stack)
}

/// Each nested stack's line, then its drifted resources and its own nested stacks, indented under `pad`.
fn nested_lines(t: &mut String, pad: &str, nested: &[NestedDrift]) {
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
                nested_lines(t, &format!("{pad}  "), nested);
            }
            State::Failed(why) => t.push_str(&format!("{head}: not checked: {why}\n")),
            _ => {}
        }
    }
}

fn nested_json(nested: &[NestedDrift]) -> Vec<Json> {
    nested
        .iter()
        .map(|n| match &n.state {
            State::Checked { status, resources, incomplete, nested } => {
                let drifted: Vec<&ResourceDrift> = resources.iter().filter(|r| is_drift(&r.status)).collect();
                json!({"logical_id": n.logical_id, "stack": n.stack, "status": status, "reason": incomplete,
                       "drifted_resources": resources_json(&drifted), "nested_stacks": nested_json(nested)})
            }
            State::Failed(why) => {
                json!({"logical_id": n.logical_id, "stack": n.stack, "status": "NOT_CHECKED", "reason": why})
            }
            _ => json!({"logical_id": n.logical_id, "stack": n.stack}),
        })
        .collect()
}
