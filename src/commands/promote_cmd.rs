//! `stackc promote`: carry chosen settings from one environment into the next one's file, with replacement warnings and a check before writing.

use std::io::IsTerminal;

use similar::TextDiff;

use super::{load_env, print, write_file, EnvOpts};
use crate::assemble;
use crate::diagnostic::{display_path, Diagnostic, Error, Result};
use crate::edge::machine::Offline;
use crate::environment;
use crate::environment::Environment;
use crate::project::{self, Project};
use crate::promote::{self, Class, Difference};
use crate::replacement;
use crate::scope;
use crate::text::count;

pub(super) fn class_label(c: &Class) -> String {
    match c {
        Class::Promotable => "promotable".into(),
        Class::Pinned => "pinned".into(),
        Class::Secret => "secret source".into(),
        Class::NamesSource(why) => format!("names the source environment: {why}"),
        Class::LayerNotInTarget => "the layer is not in the target environment".into(),
        Class::NotInAllowList => "not in the target's `promotable` list".into(),
    }
}

pub(super) fn diff_line(d: &Difference) -> String {
    let show = |e: &Option<promote::Entry>| e.as_ref().map(|e| e.shown()).unwrap_or_else(|| "(not set)".into());
    let sign = match (&d.from, &d.to) {
        (Some(_), None) => "+",
        (None, Some(_)) => "-",
        _ => "~",
    };
    format!("  {sign} {}: {} -> {}   [{}]\n", d.path, show(&d.from), show(&d.to), class_label(&d.class))
}

/// What `promote --only` and `--allow-env-names` select from the differences.
struct Selection<'a> {
    only: &'a [String],
    allow_env_names: bool,
}

impl Selection<'_> {
    fn named(&self, path: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| path == o || path.starts_with(&format!("{o}.")))
    }

    fn carries(&self, d: &Difference) -> bool {
        matches!(d.class, Class::Promotable) || (self.allow_env_names && matches!(d.class, Class::NamesSource(_)))
    }
}

#[allow(clippy::too_many_arguments)]
pub fn promote(
    project: &Project,
    from: &str,
    to: &str,
    opts: &EnvOpts,
    only: &[String],
    dry_run: bool,
    yes: bool,
    allow_env_names: bool,
) -> Result<()> {
    if from == to {
        return Err(Error::msg("promote needs two different environments"));
    }
    let source = load_env(project, from, opts)?;
    let target = load_env(project, to, opts)?;
    let pick = Selection { only, allow_env_names };
    let diffs: Vec<Difference> = promote::differences(project, &source, &target)
        .into_iter()
        .filter(|d| d.from.is_some() && pick.named(&d.path))
        .collect();
    check_only(project, &source, only, &diffs)?;
    print_choices(from, to, &diffs, &pick);
    let edits: Vec<(String, toml::Value)> =
        diffs.iter().filter(|d| pick.carries(d)).map(|d| (d.path.clone(), d.from.clone().unwrap().raw)).collect();
    let file = target.file.clone();
    let old = project::read(&file)?;
    let new = promote::apply(&old, &edits)
        .map_err(|e| Error::config(Diagnostic::new(format!("cannot edit `{}`: {e}", display_path(&file)))))?;
    if edits.is_empty() || old == new {
        print(&format!("nothing to promote: `{to}` already has every promotable setting of `{from}`\n"));
        return Ok(());
    }
    let replaced = replacement_warnings(project, &target, opts, &file, &new);
    print(
        &TextDiff::from_lines(&old, &new)
            .unified_diff()
            .context_radius(2)
            .header(&display_path(&file), &display_path(&file))
            .to_string(),
    );
    if !replaced.is_empty() {
        super::printer().note(&format!(
            "carrying this into `{to}` makes CloudFormation REPLACE {} (a new one is created, then the old one \
             is deleted with its data):\n{}",
            count(replaced.len(), "resource"),
            replaced.join("\n")
        ));
    }
    if dry_run {
        print(&format!("dry run: `{}` was not changed\n", display_path(&file)));
        return Ok(());
    }
    if !yes {
        confirm_write(&file, edits.len())?;
    }
    write_checked(project, to, &file, &old, &new)?;
    print(&format!("updated `{}`: {} from `{from}`\n", display_path(&file), count(edits.len(), "setting")));
    Ok(())
}

/// The resources of the target the edit would make CloudFormation replace: its layers rendered offline as
/// they are and as they would be, compared on their create-only properties. A target that does not
/// render either way gives a line saying the check could not be made.
fn replacement_warnings(
    project: &Project,
    target: &Environment,
    opts: &EnvOpts,
    file: &std::path::Path,
    new: &str,
) -> Vec<String> {
    let after = match environment::load_with(project, &target.name, &opts.sets, Some((file, new))) {
        Ok(mut e) => {
            e.region = target.region.clone();
            e
        }
        Err(e) => return vec![format!("  (not checked: the edited file does not load: {e})")],
    };
    let layers = |env: &Environment| -> Vec<String> {
        project.layers.keys().filter(|l| scope::layer_in(project, l, env)).cloned().collect()
    };
    let offline = || Offline::new(project.root.clone());
    let built = (
        assemble::layers(&scope::for_env(project, target), target, &layers(target), &mut offline()),
        assemble::layers(&scope::for_env(project, &after), &after, &layers(&after), &mut offline()),
    );
    let (Ok(before), Ok(now)) = built else {
        return vec!["  (not checked: the target does not render offline; `stackc plan` shows replacements)".into()];
    };
    let mut out = Vec::new();
    for (layer, b) in &before {
        let Some(a) = now.get(layer) else { continue };
        let mut found = replacement::replacements(b, a);
        found.extend(replacement::nested(project, layer, b, a));
        for r in found {
            out.push(format!(
                "  layer `{layer}`: {} ({}), because `{}` changes",
                r.logical_id, r.resource_type, r.property
            ));
        }
    }
    out
}

/// Every `--only` key must name a setting of the source environment.
fn check_only(project: &Project, source: &Environment, only: &[String], diffs: &[Difference]) -> Result<()> {
    let settings = promote::settings(project, source);
    for o in only {
        let prefix = format!("{o}.");
        if !diffs.iter().any(|d| d.path == *o || d.path.starts_with(&prefix))
            && !settings.keys().any(|k| k == o || k.starts_with(&prefix))
        {
            return Err(Error::config(Diagnostic::new(format!("`{o}` is not a setting of `{}`", source.name))));
        }
    }
    Ok(())
}

/// Each difference, carried or kept and why; a note for each refused because it names the source.
fn print_choices(from: &str, to: &str, diffs: &[Difference], pick: &Selection) {
    let show = |e: &Option<promote::Entry>| e.as_ref().map(|e| e.shown()).unwrap_or_else(|| "(not set)".into());
    let mut text = String::new();
    for d in diffs {
        let label = class_label(&d.class);
        if pick.carries(d) {
            text.push_str(&format!("  carry {}: {} -> {}   [{label}]\n", d.path, show(&d.to), show(&d.from)));
        } else {
            text.push_str(&format!(
                "  keep  {}: {} (`{from}` has {})   [{label}]\n",
                d.path,
                show(&d.to),
                show(&d.from)
            ));
        }
    }
    if !text.is_empty() {
        let n = diffs.iter().filter(|d| pick.carries(d)).count();
        print(&format!("promote `{from}` into `{to}` ({n} to carry):\n{text}"));
    }
    for d in diffs.iter().filter(|d| matches!(d.class, Class::NamesSource(_)) && !pick.allow_env_names) {
        super::printer().note(&format!(
            "not carrying `{}`: {}; pass --allow-env-names to carry it anyway",
            d.path,
            class_label(&d.class).trim_start_matches("names the source environment: ")
        ));
    }
}

/// Ask before writing; without a terminal, refuse (exit 2) and say how to go on.
fn confirm_write(file: &std::path::Path, n: usize) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::config(
            Diagnostic::new(format!(
                "refusing to change `{}` without confirmation: there is no terminal to ask on",
                display_path(file)
            ))
            .hint("review with --dry-run, then re-run with --yes"),
        ));
    }
    let line = super::printer()
        .ask(&format!("Write these {} to {}? [y/N] ", count(n, "change"), display_path(file)))
        .unwrap_or_default();
    if matches!(line.as_str(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Error::failed(Diagnostic::new("promote cancelled; nothing was written")))
    }
}

/// Replace the file whole; if the environment no longer loads, put the old file back.
fn write_checked(project: &Project, env: &str, file: &std::path::Path, old: &str, new: &str) -> Result<()> {
    write_file(file, new)?;
    if let Err(e) = environment::load(project, env, &[]) {
        let _ = write_file(file, old);
        return Err(e);
    }
    Ok(())
}
