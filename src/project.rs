//! The project on disk: `stackc.toml`, the layers under `stacks/`, the environments under `environments/`.
//! Only small metadata files are read here; templates and environment files are read when a command needs them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diagnostic::{display_path, suggestion, Diagnostic, Error, Location, Result};
use crate::files::{read_text, ReadError, MAX_PROJECT_FILE};
use crate::stackset_settings;
use crate::text::list;
use crate::toml_error;
use crate::value_checks;

pub const PROJECT_FILE: &str = "stackc.toml";
pub const DEFAULT_STACK_NAME: &str = "{project}-{env}-{layer}";
const CAPABILITIES: &[&str] = &["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"];
const TEMPLATE_NAMES: &[&str] =
    &["template.yaml.j2", "template.yml.j2", "template.json.j2", "template.yaml", "template.json"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProjectFile {
    name: String,
    #[serde(default)]
    stack_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    checks: value_checks::Checks,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct LayerFile {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    capabilities: Vec<toml::Spanned<String>>,
    /// A stack policy file (JSON), relative to the layer's folder.
    #[serde(default)]
    stack_policy: Option<String>,
    #[serde(default)]
    hooks: HookCommands,
    #[serde(default)]
    build: Option<BuildStep>,
    /// The environments the layer exists in (default: all).
    #[serde(default)]
    environments: Option<Vec<toml::Spanned<String>>>,
    /// The region the layer's stack lives in when not the environment's (CloudFront's certificate: us-east-1).
    #[serde(default)]
    region: Option<String>,
    /// "stack" (the default) or "stackset": CloudFormation rolls the template out into many accounts and
    /// regions (`[stackset]`, and `[layers.<l>.stackset]` per environment).
    #[serde(default)]
    deploy_as: Option<toml::Spanned<String>>,
    #[serde(default)]
    stackset: Option<stackset_settings::StackSetSettings>,
    /// `Resource.Property` places this layer knowingly lets a NoEcho parameter reach although the resource
    /// returns them on read (a Lambda environment variable); validate says so once per run.
    #[serde(default)]
    secrets_readable_in: Vec<String>,
}

/// Commands run around a layer's deploy, from the project root (`sh -c`), with the environment name,
/// region, stack name and (after deploy) the stack's outputs as STACKC_* variables. Never secrets.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HookCommands {
    /// Before the layer's change set is executed (only when it has changes).
    #[serde(default)]
    pub before_deploy: Vec<String>,
    /// After the layer is deployed or found up to date.
    #[serde(default)]
    pub after_deploy: Vec<String>,
    /// Before the layer's stack is deleted.
    #[serde(default)]
    pub before_destroy: Vec<String>,
}

/// `[build]` in layer.toml: commands that make what the layer packages (install a Lambda's dependencies,
/// compile), run with `sh -c` in the layer's folder before anything is rendered or packaged, by `plan`,
/// `deploy` and `stackc build`. A failure stops the run before any change set.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BuildStep {
    /// Run in order; the first that fails stops the build.
    pub commands: Vec<String>,
    /// What the commands make, relative to the layer's folder: each must exist once they ran, and a path
    /// here that is missing tells an offline render to run the build first.
    #[serde(default)]
    pub outputs: Vec<String>,
}

/// One layer: a template and its metadata.
#[derive(Debug, Clone)]
pub struct Layer {
    pub name: String,
    pub dir: PathBuf,
    /// The template's name for the template loader, relative to `stacks/`.
    pub template_name: String,
    pub template_path: PathBuf,
    pub description: Option<String>,
    pub depends_on: Vec<String>,
    pub capabilities: Vec<String>,
    pub stack_policy: Option<PathBuf>,
    pub hooks: HookCommands,
    /// `[build]` in layer.toml.
    pub build: Option<BuildStep>,
    pub metadata_path: Option<PathBuf>,
    /// `environments = [...]` in layer.toml: only these have the layer (None: every environment).
    pub environments: Option<Vec<String>>,
    /// `region = "..."` in layer.toml: where the stack lives in every environment.
    pub region: Option<String>,
    /// `deploy_as = "stackset"`: deployed as a StackSet, with these settings (each environment's over them).
    pub stackset: Option<stackset_settings::StackSetSettings>,
    /// `secrets_readable_in = ["Resource.Property", ...]` in layer.toml.
    pub secrets_readable_in: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub name: String,
    pub description: Option<String>,
    pub stack_name: String,
    pub layers: BTreeMap<String, Layer>,
    /// Checks of template values (`[checks]` in stackc.toml).
    pub checks: value_checks::Checks,
}

impl Project {
    pub fn stacks_dir(&self) -> PathBuf {
        self.root.join("stacks")
    }

    pub fn environments_dir(&self) -> PathBuf {
        self.root.join("environments")
    }

    /// Find the project: `dir` itself if given, else the current directory or the nearest parent with `stackc.toml`.
    pub fn discover(dir: Option<&Path>) -> Result<Project> {
        let root = match dir {
            Some(d) => {
                let d = absolute(d)?;
                if !d.join(PROJECT_FILE).is_file() {
                    return Err(Error::config(
                        Diagnostic::new(format!("no `{PROJECT_FILE}` in `{}`", display_path(&d)))
                            .hint("pass the folder that holds stackc.toml, or run `stackc init` there"),
                    ));
                }
                d
            }
            None => {
                let cwd = std::env::current_dir().map_err(|e| Error::io(Path::new("."), e))?;
                let mut cur: Option<&Path> = Some(&cwd);
                let mut found = None;
                while let Some(c) = cur {
                    if c.join(PROJECT_FILE).is_file() {
                        found = Some(c.to_path_buf());
                        break;
                    }
                    cur = c.parent();
                }
                found.ok_or_else(|| {
                    Error::config(
                        Diagnostic::new(format!("no `{PROJECT_FILE}` in `{}` or any parent folder", cwd.display()))
                            .hint("run stackc inside a project, or pass `-C DIR`"),
                    )
                })?
            }
        };
        Project::load(&root)
    }

    pub fn load(root: &Path) -> Result<Project> {
        let path = root.join(PROJECT_FILE);
        let text = read(&path)?;
        let file: ProjectFile =
            toml::from_str(&text).map_err(|e| Error::config(toml_error::diagnostic(&path, &text, &e)))?;
        let mut layers = BTreeMap::new();
        let stacks = root.join("stacks");
        let entries = std::fs::read_dir(&stacks).map_err(|e| {
            Error::config(Diagnostic::new(format!("cannot read the layers folder `{}`: {e}", display_path(&stacks))))
        })?;
        let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect();
        dirs.sort();
        let mut errors = Vec::new();
        for dir in dirs {
            let name = dir.file_name().unwrap_or_default().to_string_lossy().to_string();
            if name.starts_with('_') || name.starts_with('.') {
                continue;
            }
            match load_layer(&name, &dir) {
                Ok(layer) => {
                    layers.insert(name, layer);
                }
                Err(mut e) => errors.append(&mut e.diagnostics),
            }
        }
        for layer in layers.values() {
            for dep in &layer.depends_on {
                if !layers.contains_key(dep) {
                    let mut d =
                        Diagnostic::new(format!("layer `{}` depends on `{dep}`, which is not a layer", layer.name));
                    if let Some(p) = &layer.metadata_path {
                        d = d.at(Location::file_only(p));
                    }
                    errors.push(d.hint_opt(suggestion(dep, layers.keys().map(|s| s.as_str()))));
                }
            }
        }
        if !errors.is_empty() {
            return Err(Error::configs(errors));
        }
        Ok(Project {
            root: root.to_path_buf(),
            name: file.name,
            description: file.description,
            stack_name: file.stack_name.unwrap_or_else(|| DEFAULT_STACK_NAME.to_string()),
            layers,
            checks: file.checks,
        })
    }

    /// The environments: `environments/*.toml` whose name does not start with `_` (those are shared files).
    pub fn environment_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.environments_dir())
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let p = e.path();
                        let stem = p.file_stem()?.to_string_lossy().to_string();
                        (p.extension()? == "toml" && !stem.starts_with('_')).then_some(stem)
                    })
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    pub fn layer(&self, name: &str) -> Result<&Layer> {
        self.layers.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.layers.keys().map(|s| s.as_str()).collect();
            Error::config(
                Diagnostic::new(format!("unknown layer `{name}`"))
                    .note(format!("layers of this project: {}", list(&known)))
                    .hint_opt(suggestion(name, known.iter().copied())),
            )
        })
    }
}

/// A layer's `layer.toml`, checked: known capabilities, `deploy_as`, a `[stackset]` section only on a stack
/// set layer, and a stack policy that exists (and only on a stack).
fn read_layer_file(name: &str, dir: &Path, meta_path: &Path) -> Result<LayerFile> {
    let text = read(meta_path)?;
    let meta: LayerFile =
        toml::from_str(&text).map_err(|e| Error::config(toml_error::diagnostic(meta_path, &text, &e)))?;
    for cap in &meta.capabilities {
        if !CAPABILITIES.contains(&cap.get_ref().as_str()) {
            return Err(Error::config(
                Diagnostic::new(format!("unknown capability `{}`", cap.get_ref()))
                    .at(Location::from_span(meta_path, &text, cap.span()))
                    .note(format!("capabilities: {}", CAPABILITIES.join(", ")))
                    .hint_opt(suggestion(cap.get_ref(), CAPABILITIES.iter().copied())),
            ));
        }
    }
    match meta.deploy_as.as_ref().map(|d| d.get_ref().as_str()) {
        None | Some("stack") | Some("stackset") => {}
        Some(other) => {
            let span = meta.deploy_as.as_ref().map(|d| d.span()).unwrap_or_default();
            return Err(Error::config(
                Diagnostic::new(format!("layer `{name}`: deploy_as is \"stack\" or \"stackset\", not `{other}`"))
                    .at(Location::from_span(meta_path, &text, span)),
            ));
        }
    }
    let stackset = meta.deploy_as.as_ref().is_some_and(|d| d.get_ref() == "stackset");
    if meta.stackset.is_some() && !stackset {
        return Err(Error::config(
            Diagnostic::new(format!("layer `{name}` has a [stackset] section but is not deployed as one"))
                .at(Location::file_only(meta_path))
                .hint("add `deploy_as = \"stackset\"`, or remove the section"),
        ));
    }
    if stackset && meta.stack_policy.is_some() {
        return Err(Error::config(
            Diagnostic::new(format!(
                "layer `{name}` is deployed as a stack set, which has no stack policy; remove `stack_policy`"
            ))
            .at(Location::file_only(meta_path)),
        ));
    }
    if let Some(step) = &meta.build {
        check_build(name, step)
            .map_err(|why| Error::config(Diagnostic::new(why).at(Location::file_only(meta_path))))?;
    }
    if let Some(policy) = &meta.stack_policy {
        if !dir.join(policy).is_file() {
            return Err(Error::config(
                Diagnostic::new(format!(
                    "layer `{name}`: stack_policy `{policy}` does not exist in `{}`",
                    display_path(dir)
                ))
                .at(Location::file_only(meta_path)),
            ));
        }
    }
    Ok(meta)
}

/// A `[build]` that can run: at least one command, and outputs inside the layer's folder.
fn check_build(name: &str, step: &BuildStep) -> std::result::Result<(), String> {
    if step.commands.iter().all(|c| c.trim().is_empty()) {
        return Err(format!(
            "layer `{name}`: [build] has no commands; give `commands = [\"...\"]` or remove the section"
        ));
    }
    for out in &step.outputs {
        let p = Path::new(out);
        let escapes =
            p.components().any(|c| !matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir));
        if out.is_empty() || escapes {
            return Err(format!(
                "layer `{name}`: build output `{out}` must be a path inside the layer's folder (no `..`, not absolute)"
            ));
        }
    }
    Ok(())
}

fn load_layer(name: &str, dir: &Path) -> Result<Layer> {
    let template = TEMPLATE_NAMES.iter().map(|t| dir.join(t)).find(|p| p.is_file()).ok_or_else(|| {
        Error::config(Diagnostic::new(format!(
            "layer `{name}` has no template: expected `{}` in `{}`",
            TEMPLATE_NAMES[0],
            display_path(dir)
        )))
    })?;
    let meta_path = dir.join("layer.toml");
    let (meta, metadata_path) = if meta_path.is_file() {
        (read_layer_file(name, dir, &meta_path)?, Some(meta_path))
    } else {
        (LayerFile::default(), None)
    };
    let file_name = template.file_name().unwrap_or_default().to_string_lossy().to_string();
    let stackset =
        meta.deploy_as.as_ref().is_some_and(|d| d.get_ref() == "stackset").then(|| meta.stackset.unwrap_or_default());
    Ok(Layer {
        name: name.to_string(),
        dir: dir.to_path_buf(),
        template_name: format!("{name}/{file_name}"),
        template_path: template,
        description: meta.description,
        depends_on: meta.depends_on,
        capabilities: meta.capabilities.into_iter().map(|c| c.into_inner()).collect(),
        stack_policy: meta.stack_policy.map(|p| dir.join(p)),
        hooks: meta.hooks,
        build: meta.build,
        metadata_path,
        environments: meta.environments.map(|v| v.into_iter().map(|e| e.into_inner()).collect()),
        region: meta.region,
        stackset,
        secrets_readable_in: meta.secrets_readable_in,
    })
}

/// A project file's text: a regular file, bounded (`files::read_text`).
pub fn read(path: &Path) -> Result<String> {
    read_checked(path, None)
}

/// Like `read`, and the file must be inside `root` once links are followed.
pub fn read_inside(path: &Path, root: &Path) -> Result<String> {
    read_checked(path, Some(root))
}

fn read_checked(path: &Path, root: Option<&Path>) -> Result<String> {
    read_text(path, root, MAX_PROJECT_FILE).map_err(|e| match e {
        ReadError::Io(io) => Error::io(path, io),
        other => Error::config(Diagnostic::new(format!("`{}` {other}", display_path(path)))),
    })
}

fn absolute(p: &Path) -> Result<PathBuf> {
    let abs =
        if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().map_err(|e| Error::io(p, e))?.join(p) };
    Ok(abs.canonicalize().unwrap_or(abs))
}
