//! The command line: definitions only, no behaviour.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::environment::SecretStore;
use crate::param_format::ParamFormat;

/// The version, with the date of the CloudFormation resource schemas validate checks against.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (CloudFormation resource schemas of ",
    include_str!("../data/resource-schemas.date"),
    ")"
);

/// stackc: layered CloudFormation deploys from TOML environments and minijinja templates.
///
/// A project holds `stackc.toml`, one folder per layer under `stacks/` (a template and its
/// `layer.toml`), and one file per environment under `environments/`. stackc renders every layer
/// of an environment, checks it offline, and (with AWS) deploys it through change sets.
///
/// Exit codes: 0 success, 1 an operation failed, 2 usage or configuration error.
#[derive(Debug, Parser)]
#[command(name = "stackc", version = VERSION, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Run on the project in DIR instead of the one found from the current directory upward.
    #[arg(short = 'C', long = "project", global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,

    /// Override a setting for this run (highest precedence): `image_tag=abc` sets a template value,
    /// `layers.db.parameters.DBInstanceClass=db.t3.small` a parameter, `tags.Owner=me` a tag.
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// AWS profile (otherwise the standard credential chain: environment, SSO, ~/.aws, instance role).
    #[arg(long, global = true, env = "AWS_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,

    /// Override the environment's region.
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,

    /// Send AWS calls to this endpoint (a local emulator); `AWS_ENDPOINT_URL` works too.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Take every password parameter (declared `NoEcho: true`) of the selected layers from this store,
    /// named by the environment's `[secret_names]` convention (see README).
    #[arg(long, global = true, value_enum, value_name = "STORE")]
    pub password_from: Option<SecretStore>,

    /// Colour: on a terminal (auto; never with NO_COLOR or TERM=dumb), always, or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorMode::Auto, value_name = "WHEN")]
    pub color: ColorMode,

    /// More detail on stderr (-v: value resolution and API call counts). Secrets are never shown.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// cfn-toml files (`[deploy]` and `[parameters]`, one per layer, e.g. aws/cfn/<layer>/config.toml).
    ///
    /// The layer is named after the file's folder unless --layer; a template next to the file
    /// (template.yaml) becomes the layer's template when the layer does not exist yet.
    CfnToml {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The environment to write into.
        #[arg(long)]
        env: String,
        /// The layer (only with one file).
        #[arg(long)]
        layer: Option<String>,
    },
    /// A samconfig.toml: each config environment becomes a stackc environment.
    Samconfig {
        file: PathBuf,
        /// The layer the SAM application becomes.
        #[arg(long)]
        layer: String,
        /// The SAM template (default: template.yaml next to samconfig.toml).
        #[arg(long)]
        template: Option<PathBuf>,
    },
    /// A deployed stack: its template, parameters and tags (NoEcho parameters become a secret source).
    Stack {
        stack: String,
        #[arg(long)]
        env: String,
        #[arg(long)]
        layer: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum NewCommand {
    /// A new layer: its template (a skeleton, or --from-template) and layer.toml, and commented
    /// parameter entries in every environment file.
    Layer {
        name: String,
        #[arg(long, value_name = "FILE")]
        from_template: Option<PathBuf>,
        #[arg(long, value_name = "LAYER")]
        depends_on: Vec<String>,
    },
}

/// The stores `secret set` writes to (a variable or a prompt holds nothing to write).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WritableStore {
    Keyring,
    Ssm,
    #[value(name = "secretsmanager")]
    SecretsManager,
}

impl From<WritableStore> for SecretStore {
    fn from(w: WritableStore) -> SecretStore {
        match w {
            WritableStore::Keyring => SecretStore::Keyring,
            WritableStore::Ssm => SecretStore::Ssm,
            WritableStore::SecretsManager => SecretStore::SecretsManager,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store a secret for a parameter: typed without echo on a terminal, or read from stdin when piped.
    ///
    /// Prints where it went, never the value.
    Set {
        env: String,
        layer: String,
        parameter: String,
        /// Where to store it (default: the parameter's own secret source in the environment file).
        #[arg(long, value_enum)]
        to: Option<WritableStore>,
        /// Generate a strong random password instead of reading one.
        #[arg(long)]
        generate: bool,
    },
    /// For every secret the environment needs: does its source exist and can it be read? Values are never shown.
    Check {
        env: String,
        /// text, or json (each secret's source and whether it can be read; never a value).
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorMode {
    Auto,
    Always,
    Never,
}

/// How `plan` prints: the terminal's text, JSON for tools, or Markdown for a pull-request comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanOutput {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// The environment, e.g. `qa`.
    pub env: String,
    /// Only these layers (default: all). Dependencies that are not named must be deployed already.
    pub layers: Vec<String>,
    /// How many layers may run at once.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub concurrency: usize,
    /// Delete a stack whose first create failed (ROLLBACK_COMPLETE) and create it again.
    #[arg(long)]
    pub recreate: bool,
}

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The environment, e.g. `qa`.
    pub env: String,
    /// Only these layers (default: all).
    pub layers: Vec<String>,
    /// Write into DIR/<layer>.yaml instead of build/<env>/.
    #[arg(long, value_name = "DIR", conflicts_with = "stdout")]
    pub out: Option<PathBuf>,
    /// Print the rendered templates instead of writing files.
    #[arg(long)]
    pub stdout: bool,
    /// Print the parameters in this form instead of writing files. The cfn-toml forms are for the AWS
    /// CLI, so a value that is only a description (not looked up: add --resolve) is refused, and so is a
    /// secret (never printed: add --omit-secrets).
    #[arg(long, value_enum, conflicts_with_all = ["stdout", "out"])]
    pub format: Option<ParamFormat>,
    /// Look up the values that are not secret (SSM String, outputs, ACM, Route 53) in AWS;
    /// secrets stay descriptions.
    #[arg(long)]
    pub resolve: bool,
    /// With a cfn-toml --format: leave secret parameters out (cfn-toml-v2: `aws cloudformation deploy`
    /// keeps the deployed value; cfn-toml-v1: `UsePreviousValue=true`).
    #[arg(long, requires = "format")]
    pub omit_secrets: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render templates and parameter files of an environment (offline; secrets appear as descriptions).
    ///
    /// Writes build/<env>/<layer>.yaml and build/<env>/<layer>.params.json under the project root.
    Render(RenderArgs),
    /// Check an environment offline (or every environment): templates, references, parameters, secrets.
    ///
    /// Exits 2 when there is any finding.
    Validate {
        /// The environment (default: every environment).
        env: Option<String>,
        /// text, or json (every finding with its file, line and column).
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Run the `[build]` commands of the environment's layers (or the named ones), as plan and deploy do.
    ///
    /// Each runs with `sh -c` in its layer's folder, with the run's names and the layer's literal values
    /// (never a secret); what it makes is what `render` packages. Exit 1 when a command fails.
    Build { env: String, layers: Vec<String> },
    /// Show the layers in dependency waves; layers of one wave are independent.
    Graph {
        env: String,
        #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
    },
    /// Create change sets for every selected layer and show one plan for the environment; execute nothing.
    ///
    /// Layers whose dependencies are not deployed yet are planned from their template, with placeholder
    /// outputs. The change sets are deleted afterwards unless --keep.
    /// With --detailed-exitcode: 0 no changes, 3 changes pending (1 and 2 as always).
    Plan {
        #[command(flatten)]
        args: DeployArgs,
        /// Keep the change sets (to review or execute them in the console).
        #[arg(long)]
        keep: bool,
        /// text, json, or markdown (a pull-request comment).
        #[arg(long, value_enum, default_value_t = PlanOutput::Text)]
        output: PlanOutput,
        /// Exit 3 when changes are pending, 0 when there are none.
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Plan, confirm, then execute the change sets layer by layer in dependency order.
    ///
    /// Independent layers run at once (up to --concurrency). A protected environment never executes
    /// without a typed confirmation or --yes; without a terminal and without --yes stackc refuses (exit 2).
    /// Exit 1 if any layer failed or was skipped.
    Deploy {
        #[command(flatten)]
        args: DeployArgs,
        /// Execute without asking.
        #[arg(short, long)]
        yes: bool,
        /// Create the change sets and stop (they are kept for review).
        #[arg(long)]
        no_execute: bool,
        /// In a protected environment, approve replacing this stateful resource (LAYER/RESOURCE, e.g.
        /// `db/Database`), which `--yes` alone refuses. Repeatable.
        #[arg(long, value_name = "LAYER/RESOURCE")]
        allow_replace: Vec<String>,
        /// text, or json (the plan and each layer's outcome; progress stays on stderr).
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Every layer's stack, its status and last update, and whether it differs from what would be rendered now.
    Status {
        env: String,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// The outputs of the environment's stacks (or of one layer).
    Outputs {
        env: String,
        layer: Option<String>,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Rendered template and parameters against what is deployed (normalised; secrets masked).
    Diff {
        env: String,
        layers: Vec<String>,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// What changed in the deployed stacks outside CloudFormation (drift detection), per layer.
    ///
    /// Runs CloudFormation's drift detection on every deployed layer (or the named ones) at once and shows
    /// each drifted resource with its template and live values. Values that come from a secret are never
    /// shown. Exit 1 when anything drifted or a layer could not be checked (named on stderr).
    Drift {
        env: String,
        layers: Vec<String>,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// What CloudFormation recorded for the last operation of each layer's stack (alias: logs).
    ///
    /// Every event of the operation (all pages), nested stacks' events under their parent, and the root
    /// cause of a failure first: the resource that failed for a reason of its own, found inside the nested
    /// stack that failed. `--since 2h` (or a time, 2026-12-03T19:00:00Z) shows every event since then.
    #[command(visible_alias = "logs")]
    Events {
        env: String,
        layers: Vec<String>,
        /// Events since this long ago (90s, 30m, 2h, 1d) or this time (RFC 3339), instead of the last operation.
        #[arg(long, value_name = "DURATION|TIME")]
        since: Option<String>,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Delete the environment's stacks (or the named layers) in reverse dependency order.
    Destroy {
        env: String,
        layers: Vec<String>,
        /// Delete without asking.
        #[arg(short, long)]
        yes: bool,
        #[arg(long, default_value_t = 4, value_name = "N")]
        concurrency: usize,
    },
    /// Finish an update whose rollback failed (UPDATE_ROLLBACK_FAILED), so the layer can be deployed again.
    ///
    /// CloudFormation's ContinueUpdateRollback, followed to its end with the stack's events. Fix what kept a
    /// resource from rolling back first (`stackc events` names it), or name it with `--skip`: CloudFormation
    /// then marks it rolled back without touching it, and what the stack records of it may no longer match
    /// what exists. Without layers: every layer of the environment in UPDATE_ROLLBACK_FAILED.
    ContinueRollback {
        env: String,
        layers: Vec<String>,
        /// A resource to leave as it is (its logical id; `Nested.Resource` inside a nested stack). One layer only.
        #[arg(long, value_name = "LOGICAL_ID")]
        skip: Vec<String>,
        /// Do not ask (a protected environment asks before resources are skipped).
        #[arg(short, long)]
        yes: bool,
    },
    /// Make the environment's artifact buckets for packaged code and templates.
    ///
    /// Versioned, encrypted (SSE-S3), all public access blocked. Named `artifact_bucket` if the
    /// environment sets it, else `stackc-<account>-<region>`, which is then written into the environment's
    /// file; one more in each other region a layer lives in (`artifact_buckets`).
    Bootstrap {
        env: String,
        /// Use this bucket name (and record it).
        #[arg(long)]
        bucket: Option<String>,
    },
    /// Upload what the templates need (code, nested and oversized templates) and write the templates as
    /// they are deployed, with their parameters, into build/<env>/ (or --out).
    Package {
        env: String,
        layers: Vec<String>,
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Delete the stacks and stack sets of layers gone from the project (or left out of this environment).
    ///
    /// Found by their stackc:project/env/layer tags; newest first, after confirmation. A stack set's
    /// instances go first; an instance's own stack is never deleted on its own.
    Prune {
        env: String,
        /// Delete without asking.
        #[arg(short, long)]
        yes: bool,
        /// Look in this region too (repeatable); the environment's region, its layers' and those recorded
        /// by earlier deploys are always looked in. (`--region` would move the environment itself.)
        #[arg(long = "look-in", value_name = "REGION")]
        regions: Vec<String>,
    },
    /// Store secrets and check that an environment's secrets exist.
    Secret {
        #[command(subcommand)]
        command: SecretCommand,
    },
    /// The differences between two environments: settings (classified for promotion), and whether the
    /// rendered templates differ. Secret values are never shown; secret sources are compared as written.
    Envdiff {
        from: String,
        to: String,
        /// Also compare the resolved parameters (values that are not secret, looked up in AWS).
        #[arg(long)]
        resolve: bool,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Carry what was proven in one environment into another's file: shows the change, then writes it.
    ///
    /// Only promotable settings are carried: never a secret source, never a setting pinned to an
    /// environment (`pinned = [...]` in an environment file), and not a value that names the source
    /// environment unless --allow-env-names. The target file keeps its comments and formatting.
    /// The everyday case: `stackc promote qa prod --only image_tag`.
    Promote {
        from: String,
        to: String,
        /// Only these settings (key paths like `image_tag` or `layers.service.parameters.DesiredCount`,
        /// or a prefix like `layers.service`).
        #[arg(long, value_name = "KEY")]
        only: Vec<String>,
        /// Show what would change and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write without asking.
        #[arg(short, long)]
        yes: bool,
        /// Also carry values that name the source environment.
        #[arg(long)]
        allow_env_names: bool,
    },
    /// Bring existing configuration into the project: cfn-toml files, samconfig.toml, a deployed stack.
    Import {
        #[command(subcommand)]
        source: ImportCommand,
    },
    /// Start a project in the current directory (or -C DIR): stackc.toml, stacks/, environments/qa.toml.
    Init {
        /// The project's name (default: the directory's).
        #[arg(long)]
        name: Option<String>,
    },
    /// Add to the project.
    New {
        #[command(subcommand)]
        what: NewCommand,
    },
    /// Print a shell completion script: `stackc completions bash > /etc/bash_completion.d/stackc` (bash and
    /// fish also complete the project's environment and layer names).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Names for shell completion, for the words typed so far (the scripts `completions` prints call it).
    #[command(name = "__complete", hide = true)]
    Complete {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        words: Vec<String>,
    },
    /// List environments and layers.
    #[command(visible_alias = "ls")]
    List {
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
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
