//! What one run has under way, for an interrupt to clean up: the change sets it made and has neither
//! executed nor deleted, the CreateChangeSet calls still in flight, and whether the user asked it to stop.
//! Held by the run (the session) and lent to its engines, so nothing of it outlives the run.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::cfn::pacing;
use crate::cfn::port::CloudFormation;

#[derive(Debug, Default)]
pub struct RunState {
    /// (stack, change set, made by a CREATE change set): deleted by `discard_open`.
    open: Mutex<Vec<(String, String, bool)>>,
    /// Set by an interrupt while layers execute: no further layer starts.
    interrupted: AtomicBool,
    /// CreateChangeSet calls sent and not yet answered, and whether an interrupt is discarding what the
    /// run made: it waits for those calls (whose change sets would otherwise appear after it looked) and
    /// no new one is sent.
    in_flight: AtomicUsize,
    discarding: AtomicBool,
}

/// A CreateChangeSet call in flight until dropped.
pub struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

impl RunState {
    /// Runs one CreateChangeSet call, counted as in flight until the returned guard drops (the caller
    /// records the change set first); None, without sending it, once an interrupt is discarding.
    pub fn creating<T>(&self, call: impl FnOnce() -> T) -> Option<(T, InFlight<'_>)> {
        // Counted before the flag is read: `discard_open` sets the flag before it reads the count, so
        // either it waits for this call or this call sees the flag.
        self.in_flight.fetch_add(1, SeqCst);
        let guard = InFlight(&self.in_flight);
        if self.discarding.load(SeqCst) {
            return None;
        }
        Some((call(), guard))
    }

    pub fn opened(&self, stack: &str, change_set: &str, create: bool) {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).push((stack.to_string(), change_set.to_string(), create));
    }

    pub fn closed(&self, change_set: &str) {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).retain(|(_, cs, _)| cs != change_set);
    }

    /// Stop starting layers (an interrupt during execution).
    pub fn interrupt(&self) {
        self.interrupted.store(true, SeqCst);
    }

    pub fn interrupted(&self) -> bool {
        self.interrupted.load(SeqCst)
    }

    /// Delete every change set this run made and did not execute (and the empty stack a CREATE change
    /// set leaves behind). Returns how many.
    pub fn discard_open(&self, cfn: &dyn CloudFormation) -> usize {
        self.discarding.store(true, SeqCst);
        pacing::give_up();
        // A creation already sent is waited for (its change set is then open), up to a minute.
        let start = Instant::now();
        while self.in_flight.load(SeqCst) > 0 && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(20));
        }
        // The deletions below are retried when throttled: a change set left behind is what this prevents.
        pacing::resume();
        let open = std::mem::take(&mut *self.open.lock().unwrap_or_else(|e| e.into_inner()));
        for (stack, cs, create) in &open {
            let _ = cfn.delete_change_set(stack, cs);
            if *create {
                if let Ok(Some(info)) = cfn.describe_stack(stack) {
                    if info.status == "REVIEW_IN_PROGRESS" {
                        let _ = cfn.delete_stack(stack);
                    }
                }
            }
        }
        open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_discarding_no_creation_is_sent_and_one_in_flight_is_counted_until_dropped() {
        let run = RunState::default();
        let (sent, guard) = run.creating(|| 1).unwrap();
        assert_eq!((sent, run.in_flight.load(SeqCst)), (1, 1));
        drop(guard);
        assert_eq!(run.in_flight.load(SeqCst), 0);
        run.discarding.store(true, SeqCst);
        assert!(run.creating(|| unreachable!("not sent once discarding")).is_none());
        assert_eq!(run.in_flight.load(SeqCst), 0, "the refused call is not left counted");
    }
}
