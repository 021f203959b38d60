//! The edge: every adapter that reaches outside the process. AWS (one shared runtime, the SDK clients,
//! CloudFormation, the value look-ups, the artifact bucket), the OS keyring, this machine's environment
//! variables, files and terminal, and the shell that runs hooks. Everything else in stackc is pure and
//! reaches the world only through the traits these implement (`Provider`, `CloudFormation`, `HookRunner`);
//! `tests/purity.rs` checks that by place.

pub mod aws;
pub mod build_step;
pub mod hooks;
pub mod keyring;
pub mod machine;
pub mod memory;
pub mod signals;
pub mod sources;
pub mod watchdog;
