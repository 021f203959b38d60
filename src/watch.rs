//! What each thread is busy with and since when, for work that runs user-written logic with no clock of
//! its own: rendering a template and evaluating an `expr` value. minijinja's fuel counts instructions,
//! but a built-in filter over a huge lazy sequence (`((range(100000)|list) * 100000)|sum`) runs for hours
//! in one instruction. The edge's watchdog (`edge::watchdog`) reads this and stops a run that overstays.

use std::collections::HashMap;
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

static BUSY: Mutex<Option<HashMap<ThreadId, (Instant, String)>>> = Mutex::new(None);

/// Runs `work`, recorded as `what` (`layer `app`: rendering`) while it runs on this thread.
pub fn busy<T>(what: impl FnOnce() -> String, work: impl FnOnce() -> T) -> T {
    let id = std::thread::current().id();
    let previous = {
        let mut busy = BUSY.lock().unwrap_or_else(|e| e.into_inner());
        busy.get_or_insert_with(HashMap::new).insert(id, (Instant::now(), what()))
    };
    let out = work();
    let mut busy = BUSY.lock().unwrap_or_else(|e| e.into_inner());
    let map = busy.get_or_insert_with(HashMap::new);
    // A nested job hands the thread back to the one it interrupted (an expression inside a render).
    match previous {
        Some(p) => map.insert(id, p),
        None => map.remove(&id),
    };
    out
}

/// The job that has run longer than `limit`, if any: what it is and for how long.
pub fn overdue(limit: Duration) -> Option<(String, Duration)> {
    let busy = BUSY.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    busy.as_ref()?
        .values()
        .map(|(since, what)| (what, now.duration_since(*since)))
        .filter(|(_, took)| *took > limit)
        .max_by_key(|(_, took)| *took)
        .map(|(what, took)| (what.clone(), took))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_seen_while_it_runs_and_forgotten_after() {
        let seen = busy(
            || "layer `slow`: rendering".to_string(),
            || {
                std::thread::sleep(Duration::from_millis(30));
                overdue(Duration::from_millis(10))
            },
        );
        let (what, took) = seen.expect("the job is overdue while it runs");
        assert_eq!(what, "layer `slow`: rendering");
        assert!(took >= Duration::from_millis(30));
        assert!(overdue(Duration::from_millis(10)).is_none_or(|(w, _)| w != "layer `slow`: rendering"));
        // A nested job gives the thread back to the outer one.
        busy(
            || "outer".to_string(),
            || {
                busy(|| "inner".to_string(), || ());
                std::thread::sleep(Duration::from_millis(15));
                assert_eq!(overdue(Duration::from_millis(10)).map(|(w, _)| w).as_deref(), Some("outer"));
            },
        );
    }
}
