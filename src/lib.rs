//! stackc: the pipeline is config -> values -> render -> graph -> validate -> plan -> diff -> deploy.
//!
//! Pure stages (no network, no terminal): `source`, `environment`, `values`, `provider` (the seam and its
//! local and in-memory implementations), `render`, `template`, `graph`, `validate`, `param_format`.
//! Commands (`commands`) wire the stages to the file system and the terminal.

pub mod build;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod constraints;
pub mod deploy;
pub mod diagnostic;
pub mod diff;
pub mod edge;
pub mod environment;
pub mod graph;
pub mod import;
pub mod package;
pub mod param_format;
pub mod project;
pub mod promote;
pub mod provider;
pub mod render;
pub mod secret;
pub mod source;
pub mod template;
pub mod text;
pub mod toml_error;
pub mod validate;
pub mod values;
