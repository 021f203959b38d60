//! Removing stacks: which ones a removal may take (those of layers gone from the project, never one a
//! deployed layer outside the selection still needs), and destroying them in reverse dependency order.

use std::collections::{BTreeMap, BTreeSet};

use super::engine::Engine;
use super::layer::Outcome;
use super::ports::HookPhase;
use super::scheduler::schedule;
use super::step::Step;
use crate::cfn::port::StackInfo;
use crate::cfn::stack_state;

/// Stacks stackc made for `project`'s environment `env` (by their `stackc:*` tags) whose layer is no
/// longer one of `layers`: (layer, stack), newest first (a later stack may use an earlier one's exports).
/// `stacks` may hold stack set layers (as `stackset::as_stack_info` gives them). The stacks of a stack
/// set's instances (`StackSet-<name>-<id>`, which carry the stack set's tags) are never pruned on their
/// own: removing the stack set removes them.
pub fn prunable(stacks: &[StackInfo], project: &str, env: &str, layers: &BTreeSet<String>) -> Vec<(String, StackInfo)> {
    let mut out: Vec<(String, StackInfo)> = stacks
        .iter()
        .filter(|s| stack_state::is_stack_set(s) || !s.name.starts_with("StackSet-"))
        .filter(|s| {
            s.tags.get("stackc:project").map(String::as_str) == Some(project)
                && s.tags.get("stackc:env").map(String::as_str) == Some(env)
        })
        .filter_map(|s| {
            let layer = s.tags.get("stackc:layer")?;
            (!layers.contains(layer)).then(|| (layer.clone(), s.clone()))
        })
        .collect();
    out.sort_by(|a, b| b.1.last_updated.cmp(&a.1.last_updated).then(a.0.cmp(&b.0)));
    out
}

/// Layers of `order` (a selection to delete) that a deployed layer outside the selection still needs:
/// (layer, the layer that needs it).
pub fn still_needed(
    order: &[String],
    deps: &BTreeMap<String, BTreeSet<String>>,
    deployed: &BTreeMap<String, StackInfo>,
) -> Vec<(String, String)> {
    let selected: BTreeSet<&String> = order.iter().collect();
    let mut out = Vec::new();
    for layer in order {
        for (other, ds) in deps {
            if ds.contains(layer) && !selected.contains(other) && deployed.contains_key(other) {
                out.push((layer.clone(), other.clone()));
            }
        }
    }
    out
}

/// Delete the stacks of `order` in reverse dependency order: a layer goes once every selected layer
/// that depends on it is gone, after its before_destroy hooks. A stack with termination protection
/// is not touched (and the layers it depends on stay); a layer with no stack is `UpToDate`.
pub fn destroy_all(
    engine: &Engine,
    order: &[String],
    deps: &BTreeMap<String, BTreeSet<String>>,
    deployed: &BTreeMap<String, StackInfo>,
) -> BTreeMap<String, Outcome> {
    let selected: BTreeSet<&String> = order.iter().collect();
    let mut dependents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (layer, ds) in deps.iter().filter(|(l, _)| selected.contains(l)) {
        for d in ds {
            dependents.entry(d.clone()).or_default().insert(layer.clone());
        }
    }
    let reversed: Vec<String> = order.iter().rev().cloned().collect();
    schedule(&reversed, &dependents, engine.driver.settings.concurrency, |layer| {
        let Some(info) = deployed.get(layer) else { return Outcome::UpToDate(StackInfo::default()) };
        if info.termination_protection {
            return Outcome::Failed(format!(
                "stack `{}` has termination protection; turn it off first: `aws cloudformation update-termination-protection --no-enable-termination-protection --stack-name {}`",
                info.name, info.name
            ));
        }
        if let Err(e) = engine.hooks.run(layer, HookPhase::BeforeDestroy, Some(info)) {
            return Outcome::Failed(e);
        }
        match engine.delete_layer(layer, info) {
            Ok(()) => {
                engine.driver.reporter.status(layer, &Step::Deleted);
                Outcome::Deployed(StackInfo { status: "DELETE_COMPLETE".into(), ..info.clone() })
            }
            Err(e) => Outcome::Failed(e.to_string()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_projects_and_environments_stacks_of_removed_layers_are_prunable() {
        let stack = |name: &str, project: &str, env: &str, layer: &str, when: &str| StackInfo {
            name: name.into(),
            tags: BTreeMap::from([
                ("stackc:project".to_string(), project.to_string()),
                ("stackc:env".to_string(), env.to_string()),
                ("stackc:layer".to_string(), layer.to_string()),
            ]),
            last_updated: Some(when.into()),
            ..Default::default()
        };
        let mut untagged = stack("hand-made", "app", "qa", "x", "2026-01-05");
        untagged.tags.clear();
        // A removed stack set layer: the stack set is pruned, the stacks of its instances are not.
        let mut set = stack("app-qa-guard", "app", "qa", "guard", "2026-01-00");
        set.status = stack_state::STACK_SET_ACTIVE.into();
        let stacks = vec![
            set,
            stack("StackSet-app-qa-guard-1234", "app", "qa", "guard", "2026-01-06"),
            stack("app-qa-net", "app", "qa", "net", "2026-01-01"),
            stack("app-qa-old", "app", "qa", "old", "2026-01-02"),
            stack("app-qa-older", "app", "qa", "older", "2026-01-03"),
            stack("app-prod-old", "app", "prod", "old", "2026-01-04"),
            stack("other-qa-old", "other", "qa", "old", "2026-01-04"),
            untagged,
        ];
        let layers = BTreeSet::from(["net".to_string()]);
        let found: Vec<String> = prunable(&stacks, "app", "qa", &layers).into_iter().map(|(_, s)| s.name).collect();
        assert_eq!(
            found,
            vec!["app-qa-older", "app-qa-old", "app-qa-guard"],
            "newest first, nothing of another project or env, no instance stack"
        );
    }
}
