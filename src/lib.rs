//! stackc: the pipeline is config -> values -> render -> graph -> validate -> package -> plan -> diff -> deploy.
//!
//! Every module is pure (no network, no terminal, no process environment) but two places: `edge` holds
//! the adapters (AWS, the keyring, this machine's variables, files and terminal, the hook runner) and
//! `commands` wires the stages to them and to the user. `tests/purity.rs` checks that by place.

pub mod build;
pub mod cfn;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod completion;
pub mod deploy;
pub mod diagnostic;
pub mod diff;
pub mod drift;
pub mod edge;
pub mod editor_schemas;
pub mod environment;
pub mod files;
pub mod graph;
pub mod import;
pub mod package;
pub mod param_format;
pub mod project;
pub mod promote;
pub mod provider;
pub mod render;
pub mod replacement;
#[cfg(test)]
mod schema_parity;
pub mod scope;
pub mod secret;
pub mod source;
pub mod stackset_settings;
pub mod text;
pub mod toml_error;
pub mod validate;
pub mod values;
pub mod watch;
