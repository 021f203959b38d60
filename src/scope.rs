//! The project as one environment has it: the layers it has, the region each lives in, and how they
//! depend on each other (declared `depends_on` plus the outputs its parameters take). The one place that
//! needs both a project and an environment, so neither needs the other.

use std::collections::{BTreeMap, BTreeSet};

use crate::environment::{Environment, ParamValue};
use crate::graph::Graph;
use crate::project::Project;
use crate::source::Source;

/// Whether `layer` exists in the environment `env` (layer.toml's `environments`, the environment's
/// `[layers.<l>] enabled`).
pub fn layer_in(project: &Project, layer: &str, env: &Environment) -> bool {
    let listed =
        project.layers.get(layer).is_some_and(|l| l.environments.as_ref().is_none_or(|e| e.contains(&env.name)));
    listed && env.layers.get(layer).and_then(|s| s.enabled) != Some(false)
}

/// The region of `layer`'s stack in `env`: the environment's `[layers.<l>] region`, else layer.toml's,
/// else the environment's.
pub fn region_of(project: &Project, layer: &str, env: &Environment) -> String {
    env.layers
        .get(layer)
        .and_then(|s| s.region.clone())
        .or_else(|| project.layers.get(layer).and_then(|l| l.region.clone()))
        .unwrap_or_else(|| env.region.clone())
}

/// The project as environment `env` has it: without the layers it leaves out.
pub fn for_env(project: &Project, env: &Environment) -> Project {
    let mut p = project.clone();
    p.layers.retain(|name, _| layer_in(project, name, env));
    p
}

/// Declared `depends_on` plus, given an environment, the layers whose outputs its parameters use.
pub fn graph(project: &Project, env: Option<&Environment>) -> Graph {
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, layer) in &project.layers {
        let entry = deps.entry(name.clone()).or_default();
        entry.extend(layer.depends_on.iter().cloned());
        if let Some(env) = env {
            for setting in env.layer(name).parameters.values() {
                if let ParamValue::Ref(Source::Output { layer: dep, .. }) = &setting.value {
                    if dep != name && project.layers.contains_key(dep) {
                        entry.insert(dep.clone());
                    }
                }
            }
        }
    }
    Graph { deps }
}
