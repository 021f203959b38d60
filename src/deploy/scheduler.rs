//! Work over layers in dependency order: a layer starts when all its dependencies succeeded, at most
//! `concurrency` at once, and dependents of a failure are skipped. Knows nothing of CloudFormation:
//! deploying, destroying and deleting stack sets all run through it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;

/// What one layer's work ends in, as the scheduler needs to know it.
pub trait Settles: Send {
    /// Did it succeed (its dependents may start)?
    fn ok(&self) -> bool;
    /// The result of a layer not started because `because`.
    fn skipped(because: String) -> Self;
}

/// Run `work` for every layer of `order`: a layer starts when all its dependencies (within `deps` and
/// `order`) succeeded; at most `concurrency` at once; dependents of a failure are skipped.
pub fn schedule<R, F>(
    order: &[String],
    deps: &BTreeMap<String, BTreeSet<String>>,
    concurrency: usize,
    work: F,
) -> BTreeMap<String, R>
where
    R: Settles,
    F: Fn(&str) -> R + Sync,
{
    let mut outcomes: BTreeMap<String, R> = BTreeMap::new();
    let selected: BTreeSet<&String> = order.iter().collect();
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel::<(String, R)>();
        let mut running = 0usize;
        let mut started: BTreeSet<String> = BTreeSet::new();
        loop {
            for layer in order {
                if started.contains(layer) || outcomes.contains_key(layer) {
                    continue;
                }
                let my_deps: Vec<&String> =
                    deps.get(layer).map(|d| d.iter().filter(|x| selected.contains(x)).collect()).unwrap_or_default();
                if let Some(bad) = my_deps.iter().find(|d| outcomes.get(**d).is_some_and(|o| !o.ok())) {
                    outcomes.insert(layer.clone(), R::skipped(format!("`{bad}` did not deploy")));
                    continue;
                }
                if running >= concurrency.max(1) || !my_deps.iter().all(|d| outcomes.contains_key(*d)) {
                    continue;
                }
                started.insert(layer.clone());
                running += 1;
                let tx = tx.clone();
                let work = &work;
                let name = layer.clone();
                s.spawn(move || {
                    let outcome = work(&name);
                    let _ = tx.send((name, outcome));
                });
            }
            if running == 0 {
                break;
            }
            let (layer, outcome) = rx.recv().expect("a worker reports");
            running -= 1;
            outcomes.insert(layer, outcome);
        }
    });
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    #[derive(Debug, PartialEq)]
    struct Done(bool);

    impl Settles for Done {
        fn ok(&self) -> bool {
            self.0
        }

        fn skipped(_: String) -> Done {
            Done(false)
        }
    }

    #[test]
    fn schedule_bounds_concurrency_and_respects_order() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let order: Vec<String> = (0..8).map(|i| format!("l{i}")).collect();
        let deps = BTreeMap::from([("l7".to_string(), BTreeSet::from(["l0".to_string(), "l1".to_string()]))]);
        let now = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let finished = Mutex::new(Vec::new());
        let out = schedule(&order, &deps, 3, |l| {
            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(n, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            finished.lock().unwrap().push(l.to_string());
            now.fetch_sub(1, Ordering::SeqCst);
            Done(true)
        });
        assert_eq!(out.len(), 8);
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        let f = finished.into_inner().unwrap();
        let pos = |x: &str| f.iter().position(|y| y == x).unwrap();
        assert!(pos("l7") > pos("l0") && pos("l7") > pos("l1"));
    }

    #[test]
    fn dependents_of_a_failure_are_skipped_with_the_reason_and_others_go_on() {
        let order: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let deps = BTreeMap::from([("b".to_string(), BTreeSet::from(["a".to_string()]))]);
        let out = schedule(&order, &deps, 2, |l| Done(l != "a"));
        assert_eq!(out["a"], Done(false));
        assert_eq!(out["b"], Done(false), "skipped, never run");
        assert_eq!(out["c"], Done(true));
    }
}
