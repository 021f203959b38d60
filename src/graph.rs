//! The layer dependency graph as a plain DAG of names: waves of layers that can run together, cycles,
//! pictures. What the edges are for one environment is `scope::graph`'s to say.

/// A cycle or chain as people read it: `a -> b -> a`.
pub fn path(names: &[String]) -> String {
    names.join(" -> ")
}

/// The one message for layers that depend on each other in a circle.
pub fn cycle_message(cycle: &[String]) -> String {
    format!("the layers form a dependency cycle: {}", path(cycle))
}

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    /// layer -> the layers it depends on
    pub deps: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    pub fn from_edges<'a>(edges: impl IntoIterator<Item = (&'a str, &'a [&'a str])>) -> Graph {
        let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (n, ds) in edges {
            deps.entry(n.to_string()).or_default().extend(ds.iter().map(|d| d.to_string()));
            for d in ds {
                deps.entry(d.to_string()).or_default();
            }
        }
        Graph { deps }
    }

    /// Layers grouped so that every layer comes after all it depends on; layers of one wave are independent.
    pub fn waves(&self) -> Result<Vec<Vec<String>>, Vec<String>> {
        let mut done: BTreeSet<String> = BTreeSet::new();
        let mut waves = Vec::new();
        while done.len() < self.deps.len() {
            let wave: Vec<String> = self
                .deps
                .iter()
                .filter(|(n, ds)| {
                    !done.contains(*n) && ds.iter().all(|d| done.contains(d) || !self.deps.contains_key(d))
                })
                .map(|(n, _)| n.clone())
                .collect();
            if wave.is_empty() {
                return Err(self.find_cycle(&done));
            }
            done.extend(wave.iter().cloned());
            waves.push(wave);
        }
        Ok(waves)
    }

    fn find_cycle(&self, done: &BTreeSet<String>) -> Vec<String> {
        // Walk dependencies from any unfinished layer until one repeats.
        let start = self.deps.keys().find(|n| !done.contains(*n)).cloned().unwrap_or_default();
        let mut path = vec![start.clone()];
        let mut cur = start;
        loop {
            let next = self.deps[&cur].iter().find(|d| !done.contains(*d) && self.deps.contains_key(*d)).cloned();
            let Some(next) = next else { return path };
            if let Some(pos) = path.iter().position(|p| *p == next) {
                let mut cycle = path[pos..].to_vec();
                cycle.push(next);
                return cycle;
            }
            path.push(next.clone());
            cur = next;
        }
    }

    /// The selected layers plus everything they depend on, transitively.
    pub fn closure(&self, selected: &[String]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut stack: Vec<String> = selected.to_vec();
        while let Some(n) = stack.pop() {
            if out.insert(n.clone()) {
                if let Some(ds) = self.deps.get(&n) {
                    stack.extend(ds.iter().cloned());
                }
            }
        }
        out
    }

    pub fn to_text(&self, waves: &[Vec<String>]) -> String {
        let mut s = String::new();
        for (i, wave) in waves.iter().enumerate() {
            s.push_str(&format!("wave {}:\n", i + 1));
            for layer in wave {
                let deps = &self.deps[layer];
                if deps.is_empty() {
                    s.push_str(&format!("  {layer}\n"));
                } else {
                    s.push_str(&format!("  {layer}  <- {}\n", deps.iter().cloned().collect::<Vec<_>>().join(", ")));
                }
            }
        }
        s
    }

    pub fn to_dot(&self, title: &str) -> String {
        let mut s = format!("digraph \"{}\" {{\n  rankdir=LR;\n", title.replace('"', "'"));
        for (n, deps) in &self.deps {
            s.push_str(&format!("  \"{n}\";\n"));
            for d in deps {
                s.push_str(&format!("  \"{d}\" -> \"{n}\";\n"));
            }
        }
        s.push_str("}\n");
        s
    }

    pub fn to_mermaid(&self) -> String {
        let mut s = String::from("graph LR\n");
        for (n, deps) in &self.deps {
            if deps.is_empty() {
                s.push_str(&format!("  {n}\n"));
            }
            for d in deps {
                s.push_str(&format!("  {d} --> {n}\n"));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_group_independent_layers() {
        let g = Graph::from_edges([
            ("networking", &[][..]),
            ("cluster", &["networking"][..]),
            ("db", &["networking", "cluster"][..]),
            ("service", &["cluster", "networking"][..]),
            ("ddb", &[][..]),
        ]);
        let w = g.waves().unwrap();
        assert_eq!(w, vec![vec!["ddb", "networking"], vec!["cluster"], vec!["db", "service"]]);
    }

    #[test]
    fn cycles_are_reported_as_a_path() {
        let g = Graph::from_edges([("a", &["c"][..]), ("b", &["a"][..]), ("c", &["b"][..]), ("d", &[][..])]);
        let cycle = g.waves().unwrap_err();
        assert_eq!(cycle.first(), cycle.last());
        assert_eq!(cycle.len(), 4, "{cycle:?}");
        for n in ["a", "b", "c"] {
            assert!(cycle.contains(&n.to_string()));
        }
    }

    #[test]
    fn closure_follows_dependencies() {
        let g = Graph::from_edges([("a", &[][..]), ("b", &["a"][..]), ("c", &["b"][..]), ("d", &[][..])]);
        let c: Vec<String> = g.closure(&["c".into()]).into_iter().collect();
        assert_eq!(c, vec!["a", "b", "c"]);
    }

    #[test]
    fn pictures_have_every_edge() {
        let g = Graph::from_edges([("a", &[][..]), ("b", &["a"][..])]);
        assert!(g.to_dot("x").contains("\"a\" -> \"b\";"));
        assert!(g.to_mermaid().contains("a --> b"));
    }
}
