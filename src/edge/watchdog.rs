//! Stops a run whose template or expression has been busy far longer than any real one takes (see
//! `watch`): one thread, started once, looking each second. Nothing has been sent to AWS for the layer
//! being rendered; layers already deploying go on in CloudFormation, and the message says so.

use std::time::Duration;

use crate::watch;

/// Far more than any real template or expression takes (500 layers render in well under a second).
pub const LIMIT: Duration = Duration::from_secs(30);

/// Starts the watchdog (once per process).
pub fn start() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new().name("watchdog".into()).spawn(|| loop {
            std::thread::sleep(Duration::from_secs(1));
            if let Some((what, took)) = watch::overdue(LIMIT) {
                eprintln!(
                    "error: {what} has run for {} s, longer than any real one takes: a loop or a filter over a \
                     huge sequence (`(list * 100000)|sum`)? stopped; nothing was sent to AWS for it (stacks \
                     already deploying go on in CloudFormation: `stackc status` shows them)",
                    took.as_secs()
                );
                std::process::exit(2);
            }
        });
        drop(spawned);
    });
}
