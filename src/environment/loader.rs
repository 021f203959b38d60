//! Loading an environment: its file and each it extends, layered, then `--set`, then the closing checks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::diagnostic::{display_path, suggestion, Diagnostic, Error, LineIndex, Location, Result};
use crate::graph;
use crate::project::{self, Project};
use crate::text::list;
use crate::toml_error;

use super::file::{EnvFile, LayerSection, OneOrMany, RawOptions};
use super::set::{self, Override};
use super::values::{from_nested, merge_values, nest};
use super::*;

/// Accumulates files, lowest precedence first.
#[derive(Default)]
struct Builder {
    files: Vec<PathBuf>,
    region: Option<Setting<String>>,
    account_id: Option<Setting<String>>,
    protected: Option<bool>,
    stack_name: Option<Setting<String>>,
    role_arn: Option<String>,
    artifact_bucket: Option<String>,
    artifact_prefix: Option<String>,
    artifact_buckets: BTreeMap<String, String>,
    stack: StackOptions,
    profile: Option<String>,
    assume_role: Option<AssumeRole>,
    tags: BTreeMap<String, String>,
    values: BTreeMap<String, Setting<ValueTree>>,
    layers: BTreeMap<String, LayerSettings>,
    secret_names: SecretNames,
    pinned: Vec<String>,
    promotable: Option<Vec<String>>,
    raw_parameters: BTreeMap<String, toml::Value>,
    errors: Vec<Diagnostic>,
    /// A file read from this text instead of the disk.
    edited: Option<(PathBuf, String)>,
}

/// Load environment `name` of `project`, applying `sets` (`key=value`) last.
pub fn load(project: &Project, name: &str, sets: &[String]) -> Result<Environment> {
    load_with(project, name, sets, None)
}

/// Like `load`, with `edited = (file, text)`: that file read as `text` (what `promote` is about to write).
pub fn load_with(project: &Project, name: &str, sets: &[String], edited: Option<(&Path, &str)>) -> Result<Environment> {
    let path = project.environments_dir().join(format!("{name}.toml"));
    // A name that is there but is not a file (a fifo, a folder, a link out) is read below, which says so.
    if name.starts_with('_') || std::fs::symlink_metadata(&path).is_err() {
        return Err(unknown_environment(project, name));
    }
    let mut b = Builder { edited: edited.map(|(p, t)| (p.to_path_buf(), t.to_string())), ..Builder::default() };
    let mut chain = Vec::new();
    b.apply_file(project, &path, &mut chain)?;
    for set in sets {
        b.apply_set(set);
    }
    b.finish(project, name, path)
}

fn unknown_environment(project: &Project, name: &str) -> Error {
    let known = project.environment_names();
    Error::config(
        Diagnostic::new(format!("unknown environment `{name}`"))
            .note(if known.is_empty() {
                format!("`{}` holds no environment files", display_path(&project.environments_dir()))
            } else {
                format!("environments of this project: {}", list(&known))
            })
            .hint_opt(suggestion(name, known.iter().map(|s| s.as_str()))),
    )
}

impl Builder {
    /// The closing checks (layers that exist, a region, a 12-digit account), then the environment.
    fn finish(mut self, project: &Project, name: &str, path: PathBuf) -> Result<Environment> {
        self.check_layers(project, name, &path);
        let region = match self.region.take() {
            Some(r) => r.value,
            None => {
                self.errors.push(
                    Diagnostic::new(format!("environment `{name}` sets no `region`"))
                        .at(Location::file_only(&path))
                        .hint("add `region = \"us-east-1\"` (or the region you deploy to) to the file or to a file it extends"),
                );
                String::new()
            }
        };
        if let Some(acct) = &self.account_id {
            if acct.value.len() != 12 || !acct.value.chars().all(|c| c.is_ascii_digit()) {
                self.errors.push(
                    Diagnostic::new(format!("`account_id` must be 12 digits, found `{}`", acct.value))
                        .at(acct.origin.clone()),
                );
            }
        }
        if !self.errors.is_empty() {
            return Err(Error::configs(self.errors));
        }
        let b = self;
        Ok(Environment {
            name: name.to_string(),
            file: path,
            files: b.files,
            region,
            account_id: b.account_id.map(|a| a.value),
            protected: b.protected.unwrap_or(false),
            stack_name: b.stack_name.map(|s| s.value).unwrap_or_else(|| project.stack_name.clone()),
            role_arn: b.role_arn,
            artifact_bucket: b.artifact_bucket,
            artifact_prefix: b.artifact_prefix,
            artifact_buckets: b.artifact_buckets,
            stack: b.stack,
            profile: b.profile,
            assume_role: b.assume_role,
            tags: b.tags,
            values: b.values,
            layers: b.layers,
            secret_names: b.secret_names,
            pinned: b.pinned,
            promotable: b.promotable,
            raw_parameters: b.raw_parameters,
        })
    }

    /// Layers named in the environment must exist.
    fn check_layers(&mut self, project: &Project, name: &str, path: &Path) {
        for (layer, settings) in &self.layers {
            if !project.layers.contains_key(layer) {
                let origin = settings
                    .parameters
                    .values()
                    .map(|s| s.origin.clone())
                    .chain(settings.values.values().map(|s| s.origin.clone()))
                    .next()
                    .unwrap_or_else(|| Location::file_only(path));
                self.errors.push(
                    Diagnostic::new(format!("environment `{name}` configures layer `{layer}`, which is not a layer"))
                        .at(origin)
                        .note(format!("layers: {}", list(&project.layers.keys().cloned().collect::<Vec<_>>())))
                        .hint_opt(suggestion(layer, project.layers.keys().map(|s| s.as_str()))),
                );
            }
        }
    }
}

impl Builder {
    fn apply_file(&mut self, project: &Project, path: &Path, chain: &mut Vec<PathBuf>) -> Result<()> {
        if chain.iter().any(|p| p == path) {
            let cycle: Vec<String> =
                chain.iter().chain(std::iter::once(&path.to_path_buf())).map(|p| display_path(p)).collect();
            return Err(Error::config(Diagnostic::new(format!("`extends` forms a cycle: {}", graph::path(&cycle)))));
        }
        let text = match &self.edited {
            Some((p, t)) if p == path => t.clone(),
            _ => project::read_inside(path, &project.root)?,
        };
        let mut file: EnvFile =
            toml::from_str(&text).map_err(|e| Error::config(toml_error::diagnostic(path, &text, &e)))?;
        let index = LineIndex::new(&text);
        let loc = |span: std::ops::Range<usize>| Location::from_span_indexed(path, &text, &index, span);
        // Values may be written as tables (`[values.services.api]`), which toml's Spanned cannot take;
        // their locations come from toml_edit's spans instead.
        let spans = toml_edit::ImDocument::parse(text.clone()).ok();
        let at = |keys: &[&str]| -> Location {
            spans.as_ref().and_then(|d| span_at(d, keys)).map(&loc).unwrap_or_else(|| Location::file_only(path))
        };
        chain.push(path.to_path_buf());
        if let Some(ext) = &file.extends {
            self.apply_extends(project, ext, &loc, chain)?;
        }
        chain.pop();
        self.files.push(path.to_path_buf());
        self.apply_settings(&mut file, &loc);
        self.apply_assumed_role(&mut file, &loc);
        let options = self.stack_options(file.options(), &|k| at(&[k]));
        self.stack = options.over(&self.stack);
        for (k, v) in std::mem::take(&mut file.tags) {
            self.tags.insert(k, v.into_inner());
        }
        let values = self.parse_values(&file.values, &|k| at(&["values", k]));
        merge_values(&mut self.values, values);
        self.apply_layers(std::mem::take(&mut file.layers), &at);
        Ok(())
    }

    /// The files an `extends` names, applied first (each by name, in `environments/`).
    fn apply_extends(
        &mut self,
        project: &Project,
        ext: &Spanned<OneOrMany>,
        loc: &dyn Fn(std::ops::Range<usize>) -> Location,
        chain: &mut Vec<PathBuf>,
    ) -> Result<()> {
        let names = match ext.get_ref() {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        };
        for n in names {
            if n.is_empty() || n.contains(['/', '\\']) || n.starts_with('.') {
                return Err(Error::config(
                    Diagnostic::new(format!(
                        "`extends` names environment files by name (like `_shared`), not by path: `{n}`"
                    ))
                    .at(loc(ext.span())),
                ));
            }
            let parent = project.environments_dir().join(format!("{}.toml", n.trim_end_matches(".toml")));
            if !parent.is_file() {
                return Err(Error::config(
                    Diagnostic::new(format!("`extends` names `{n}`, but `{}` does not exist", display_path(&parent)))
                        .at(loc(ext.span())),
                ));
            }
            self.apply_file(project, &parent, chain)?;
        }
        Ok(())
    }

    /// The environment's own settings: where it lives, its names, its artifact buckets and credentials.
    fn apply_settings(&mut self, file: &mut EnvFile, loc: &dyn Fn(std::ops::Range<usize>) -> Location) {
        if let Some(r) = file.region.take() {
            self.region = Some(Setting { origin: loc(r.span()), value: r.into_inner() });
        }
        if let Some(a) = file.account_id.take() {
            self.account_id = Some(Setting { origin: loc(a.span()), value: a.into_inner() });
        }
        if let Some(p) = file.protected.take() {
            self.protected = Some(p);
        }
        if let Some(s) = file.stack_name.take() {
            self.stack_name = Some(Setting { origin: loc(s.span()), value: s.into_inner() });
        }
        if let Some(list) = file.promotable.take() {
            self.promotable = Some(list);
        }
        for p in std::mem::take(&mut file.pinned) {
            if !self.pinned.contains(&p) {
                self.pinned.push(p);
            }
        }
        if let Some(n) = file.secret_names.take() {
            let d = &mut self.secret_names;
            for (target, value) in [
                (&mut d.keyring_service, n.keyring_service),
                (&mut d.keyring_account, n.keyring_account),
                (&mut d.ssm, n.ssm),
                (&mut d.secretsmanager, n.secretsmanager),
                (&mut d.secretsmanager_key, n.secretsmanager_key),
                (&mut d.env, n.env),
            ] {
                if let Some(v) = value {
                    *target = v;
                }
            }
        }
        if let Some(r) = file.role_arn.take() {
            self.role_arn = Some(r.into_inner());
        }
        if let Some(r) = file.artifact_bucket.take() {
            self.artifact_bucket = Some(r.into_inner());
        }
        if let Some(r) = file.artifact_prefix.take() {
            self.artifact_prefix = Some(r.into_inner());
        }
        self.artifact_buckets.extend(std::mem::take(&mut file.artifact_buckets));
        if let Some(p) = file.profile.take() {
            self.profile = Some(p.into_inner());
        }
    }

    /// `role_arn_to_assume` and its session name and duration, checked as STS would.
    fn apply_assumed_role(&mut self, file: &mut EnvFile, loc: &dyn Fn(std::ops::Range<usize>) -> Location) {
        if let Some(arn) = file.role_arn_to_assume.take() {
            let ok = arn.get_ref().starts_with("arn:aws")
                && arn.get_ref().contains(":iam::")
                && arn.get_ref().contains(":role/");
            if !ok {
                self.errors.push(
                    Diagnostic::new(format!(
                        "`role_arn_to_assume`: `{}` is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
                        arn.get_ref()
                    ))
                    .at(loc(arn.span())),
                );
            }
            self.assume_role = Some(AssumeRole { arn: arn.into_inner(), session_name: None, duration_minutes: None });
        }
        if let Some(role) = self.assume_role.as_mut() {
            if let Some(n) = file.role_session_name.take() {
                role.session_name = Some(n.into_inner());
            }
            if let Some(d) = file.role_duration_minutes.take() {
                if !(15..=720).contains(d.get_ref()) {
                    self.errors.push(
                        Diagnostic::new(format!("`role_duration_minutes` is 15 to 720, found {}", d.get_ref()))
                            .at(loc(d.span())),
                    );
                }
                role.duration_minutes = Some(d.into_inner());
            }
        }
    }

    /// Each `[layers.<name>]` section: values, parameters, tags and the layer's own settings and options.
    fn apply_layers(&mut self, layers: BTreeMap<String, LayerSection>, at: &dyn Fn(&[&str]) -> Location) {
        for (layer, mut section) in layers {
            let raw_options = section.options();
            let values = self.parse_values(&section.values, &|k| at(&["layers", &layer, "values", k]));
            let mut params = BTreeMap::new();
            for (k, v) in &section.parameters {
                self.raw_parameters.insert(format!("layers.{layer}.parameters.{k}"), v.clone());
                let origin = at(&["layers", &layer, "parameters", k]);
                match ParamValue::parse(v) {
                    Ok(p) => {
                        params.insert(k.clone(), Setting { value: p, origin });
                    }
                    Err(d) => self.errors.push(located(d, origin, format!("parameter `{k}` of layer `{layer}`"))),
                }
            }
            let entry = self.layers.entry(layer.clone()).or_default();
            merge_values(&mut entry.values, values);
            entry.parameters.extend(params);
            for (k, v) in section.tags {
                entry.tags.insert(k, v.into_inner());
            }
            if let Some(s) = section.stack_name {
                entry.stack_name = Some(s.into_inner());
            }
            if let Some(e) = section.enabled {
                entry.enabled = Some(e);
            }
            if let Some(r) = section.region {
                entry.region = Some(r);
            }
            if let Some(ss) = section.stackset {
                let base = entry.stackset.take().unwrap_or_default();
                entry.stackset = Some(ss.over(&base));
            }
            let layer_at = |k: &str| at(&["layers", &layer, k]);
            let options = self.stack_options(raw_options, &layer_at);
            let entry = self.layers.entry(layer.clone()).or_default();
            entry.stack = options.over(&entry.stack);
        }
    }

    /// Stack options as a file wrote them, checked where CloudFormation would refuse them.
    fn stack_options(&mut self, raw: RawOptions, at: &dyn Fn(&str) -> Location) -> StackOptions {
        let RawOptions {
            notification_arns,
            rollback_alarms,
            minutes,
            disable_rollback,
            termination_protection,
            timeout_minutes,
        } = raw;
        for (key, arns, service) in
            [("notification_arns", &notification_arns, "sns"), ("rollback_alarms", &rollback_alarms, "cloudwatch")]
        {
            let Some(arns) = arns else { continue };
            if arns.get_ref().len() > 5 {
                self.errors.push(
                    Diagnostic::new(format!("`{key}` takes at most 5 ARNs, found {}", arns.get_ref().len()))
                        .at(at(key)),
                );
            }
            for a in arns
                .get_ref()
                .iter()
                .filter(|a| !a.starts_with(&format!("arn:aws:{service}:")) && !a.starts_with("arn:aws-"))
            {
                self.errors.push(
                    Diagnostic::new(format!("`{key}`: `{a}` is not an {service} ARN (arn:aws:{service}:...)"))
                        .at(at(key)),
                );
            }
        }
        if let Some(m) = &minutes {
            if *m.get_ref() > 180 {
                self.errors.push(
                    Diagnostic::new(format!("`rollback_monitoring_minutes` is 0 to 180, found {}", m.get_ref()))
                        .at(at("rollback_monitoring_minutes")),
                );
            }
        }
        if let Some(t) = &timeout_minutes {
            if *t.get_ref() == 0 || *t.get_ref() > 43_200 {
                self.errors.push(
                    Diagnostic::new(format!("`timeout_minutes` is 1 to 43200 (30 days), found {}", t.get_ref()))
                        .at(at("timeout_minutes")),
                );
            }
        }
        StackOptions {
            notification_arns: notification_arns.map(Spanned::into_inner),
            rollback_alarms: rollback_alarms.map(Spanned::into_inner),
            rollback_monitoring_minutes: minutes.map(Spanned::into_inner),
            disable_rollback,
            termination_protection,
            timeout_minutes: timeout_minutes.map(Spanned::into_inner),
        }
    }

    fn parse_values(
        &mut self,
        raw: &BTreeMap<String, toml::Value>,
        at: &dyn Fn(&str) -> Location,
    ) -> BTreeMap<String, Setting<ValueTree>> {
        let mut out = BTreeMap::new();
        for (k, v) in raw {
            if RESERVED.contains(&k.as_str()) {
                self.errors.push(
                    Diagnostic::new(format!("`{k}` is a reserved name and cannot be a template value"))
                        .at(at(k))
                        .note(format!("reserved: {}", RESERVED.join(", "))),
                );
                continue;
            }
            match ValueTree::parse(v) {
                Ok(t) => {
                    out.insert(k.clone(), Setting { value: t, origin: at(k) });
                }
                Err(d) => self.errors.push(located(d, at(k), format!("value `{k}`"))),
            }
        }
        out
    }

    fn apply_set(&mut self, set: &str) {
        let origin = Location { file: PathBuf::from("<command line>"), line: 0, col: 0, source_line: None, width: 0 };
        let change = match set::parse(set) {
            Ok(change) => change,
            Err(refused) => return self.errors.push(refused),
        };
        match change {
            Override::Region(r) => self.region = Some(Setting { value: r, origin }),
            Override::StackName(n) => self.stack_name = Some(Setting { value: n, origin }),
            Override::RoleArn(r) => self.role_arn = Some(r),
            Override::ArtifactBucket(b) => self.artifact_bucket = Some(b),
            Override::ArtifactPrefix(p) => self.artifact_prefix = Some(p),
            Override::ArtifactBucketIn { region, bucket } => {
                self.artifact_buckets.insert(region, bucket);
            }
            Override::Protected => self.protected = Some(true),
            Override::Tag { key, value } => {
                self.tags.insert(key, value);
            }
            Override::LayerParameter { layer, name, value } => {
                self.raw_parameters.insert(format!("layers.{layer}.parameters.{name}"), value.clone());
                let text = match value {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                };
                let entry = self.layers.entry(layer).or_default();
                entry.parameters.insert(name, Setting { value: ParamValue::Literal(text), origin });
            }
            Override::LayerValue { layer, path, value } => {
                let path: Vec<&str> = path.iter().map(String::as_str).collect();
                let tree = nest(&path, ValueTree::Scalar(value));
                let entry = self.layers.entry(layer).or_default();
                merge_values(&mut entry.values, from_nested(tree, origin));
            }
            Override::LayerTag { layer, key, value } => {
                self.layers.entry(layer).or_default().tags.insert(key, value);
            }
            Override::Value { path, value } => {
                let path: Vec<&str> = path.iter().map(String::as_str).collect();
                self.set_value_path(&path, value, origin)
            }
        }
    }

    fn set_value_path(&mut self, path: &[&str], value: toml::Value, origin: Location) {
        let tree = nest(path, ValueTree::Scalar(value));
        merge_values(&mut self.values, from_nested(tree, origin));
    }
}

/// The byte range of the value (or, for a table, its key) at `keys` in a parsed file.
fn span_at(doc: &toml_edit::ImDocument<String>, keys: &[&str]) -> Option<std::ops::Range<usize>> {
    let mut item = doc.as_item();
    let mut key_span = None;
    for k in keys {
        let (key, next) = item.as_table_like()?.get_key_value(k)?;
        key_span = key.span();
        item = next;
    }
    match item {
        toml_edit::Item::Value(v) => v.span().or(key_span),
        _ => key_span.or_else(|| item.span()),
    }
}

fn located(d: Diagnostic, origin: Location, what: String) -> Diagnostic {
    let message = format!("{what}: {}", d.message);
    Diagnostic { message, location: Some(origin), ..d }
}
