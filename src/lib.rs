//! stackc: the pipeline is config -> values -> render -> graph -> validate -> package -> plan -> diff -> deploy.
//!
//! Every module is pure (no network, no terminal, no process environment) but two places: `edge` holds
//! the adapters (AWS, the keyring, this machine's variables, files and terminal, the hook and build
//! runners) and `commands` wires the stages to them and to the user. `tests/purity.rs` checks that by
//! place, and that each floor imports only from floors below it.
//!
//! The floors, lowest first (a module names only modules on its floor or below):
//! 1. Words and files: `diagnostic` (errors as data), `text` (wording), `files` (bounded, link-safe reads and
//!    writes), `watch`, `secret` (the one secret type), `toml_error`.
//! 2. CloudFormation's vocabulary, knowing nothing of stackc: `cfn` (the port, stack states, events and
//!    pacing, the template model and its YAML reader, parameter constraints, resource schemas and the
//!    lint), `graph` (a plain DAG of names).
//! 3. The project as written: `source` (value references), `project` (stackc.toml, layer.toml),
//!    `environment` (environment files, layered), `stackset_settings`, `value_checks` (stackc.toml's
//!    `[checks]` of template values, as opposed to `cfn::constraints`, the template's own), `scope` (the
//!    project as one environment has it), `editor_schemas` (the JSON Schemas a project carries for editors).
//! 4. From files to templates: `provider` (the seam values are fetched through), `values` (resolution),
//!    `render` (minijinja), `package` (artifacts, `artifact()`), `assemble` (an environment resolved and
//!    rendered), `param_format`.
//! 5. What is done with them: `validate` (every offline finding), `diff`, `replacement`, `promote`, `import`,
//!    `drift`, `deploy` (the engine and its scheduler), `completion`.
//! 6. The world: `edge` (adapters) and `commands` (wiring), `cli` (the command line).

pub mod assemble;
pub mod cfn;
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
pub mod value_checks;
pub mod values;
pub mod watch;
