//! Ctrl-C (SIGINT) and SIGTERM while a run talks to CloudFormation: the caller decides what the first
//! and the second one mean.

/// Runs `work` with SIGINT and SIGTERM caught: the first calls `on_signal(1)`, the next `on_signal(2)`,
/// and so on, on another thread (it may end the process). Meant to wrap the rest of a run: afterwards
/// the signals stay caught and are ignored.
#[cfg(unix)]
pub fn guarded<R>(on_signal: &(dyn Fn(usize) + Sync), work: impl FnOnce() -> R) -> R {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::iterator::Signals;
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM]) else { return work() };
    let handle = signals.handle();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for (n, _) in signals.forever().enumerate() {
                on_signal(n + 1);
            }
        });
        let result = work();
        handle.close();
        result
    })
}

#[cfg(not(unix))]
pub fn guarded<R>(_on_signal: &(dyn Fn(usize) + Sync), work: impl FnOnce() -> R) -> R {
    work()
}
