//! The command line: definitions only, no behaviour.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::param_format::ParamFormat;

/// stackc: layered CloudFormation deploys from TOML environments and minijinja templates.
///
/// A project holds `stackc.toml`, one folder per layer under `stacks/` (a template and its
/// `layer.toml`), and one file per environment under `environments/`. stackc renders every layer
/// of an environment, checks it offline, and (with AWS) deploys it through change sets.
///
/// Exit codes: 0 success, 1 an operation failed, 2 usage or configuration error.
#[derive(Debug, Parser)]
#[command(name = "stackc", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Run on the project in DIR instead of the one found from the current directory upward.
    #[arg(short = 'C', long = "project", global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,

    /// Override a setting for this run (highest precedence): `image_tag=abc` sets a template value,
    /// `layers.db.parameters.DBInstanceClass=db.t3.small` a parameter, `tags.Owner=me` a tag.
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render templates and parameter files of an environment (offline; secrets appear as descriptions).
    ///
    /// Writes build/<env>/<layer>.yaml and build/<env>/<layer>.params.json under the project root.
    Render {
        /// The environment, e.g. `qa`.
        env: String,
        /// Only these layers (default: all).
        layers: Vec<String>,
        /// Write into DIR/<layer>.yaml instead of build/<env>/.
        #[arg(long, value_name = "DIR", conflicts_with = "stdout")]
        out: Option<PathBuf>,
        /// Print the rendered templates instead of writing files.
        #[arg(long)]
        stdout: bool,
        /// Print the parameters in this form instead of writing files.
        #[arg(long, value_enum, conflicts_with_all = ["stdout", "out"])]
        format: Option<ParamFormat>,
    },
    /// Check an environment offline (or every environment): templates, references, parameters, secrets.
    ///
    /// Exits 2 when there is any finding.
    Validate {
        /// The environment (default: every environment).
        env: Option<String>,
    },
    /// Show the layers in dependency waves; layers of one wave are independent.
    Graph {
        env: String,
        #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
    },
    /// List environments and layers.
    #[command(visible_alias = "ls")]
    List,
    /// List the environments.
    Envs,
    /// List the layers with their dependencies and capabilities.
    Layers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Text,
    Dot,
    Mermaid,
}
