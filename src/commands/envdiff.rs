//! `stackc envdiff A B`: how two environments differ (their own settings, the values and parameters
//! promote would carry, each layer's template and parameters), as one report rendered as text or JSON.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::promote_cmd::{class_label, diff_line};
use super::{load_env, print, EnvOpts};
use crate::assemble::{self, Assembled};
use crate::cli::Output;
use crate::diagnostic::Result;
use crate::diff;
use crate::edge::machine::Offline;
use crate::environment::Environment;
use crate::project::{Layer, Project};
use crate::promote;
use crate::scope;

#[derive(Serialize)]
struct Report {
    from: String,
    to: String,
    /// The environments' own settings and tags that differ.
    environment: Vec<Row>,
    /// What promote would see: values and parameters that differ, and how each is classed.
    settings: Vec<Setting>,
    layers: Vec<LayerRow>,
}

#[derive(Serialize)]
struct Row {
    key: String,
    from: Option<String>,
    to: Option<String>,
}

#[derive(Serialize)]
struct Setting {
    path: String,
    from: Option<String>,
    to: Option<String>,
    class: String,
    #[serde(skip)]
    line: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum LayerRow {
    OnlyIn { layer: String, only_in: String },
    Compared { layer: String, template_lines_changed: usize, parameters_differ: Vec<String> },
}

/// Both environments built, when the caller has them already (resolved against AWS).
type Built = (BTreeMap<String, Assembled>, BTreeMap<String, Assembled>);

pub fn envdiff(
    project: &Project,
    from: &str,
    to: &str,
    opts: &EnvOpts,
    resolved: Option<Built>,
    output: Output,
) -> Result<()> {
    let a = load_env(project, from, opts)?;
    let b = load_env(project, to, opts)?;
    let settings = promote::differences(project, &a, &b)
        .iter()
        .map(|d| {
            let show = |e: &Option<promote::Entry>| e.as_ref().map(|e| e.shown());
            Setting {
                path: d.path.clone(),
                from: show(&d.from),
                to: show(&d.to),
                class: class_label(&d.class),
                line: diff_line(d),
            }
        })
        .collect();
    let (ba, bb) = match resolved {
        Some(r) => r,
        None => {
            let in_env = |e: &Environment| -> Vec<String> {
                project.layers.keys().filter(|l| scope::layer_in(project, l, e)).cloned().collect()
            };
            (
                assemble::layers(project, &a, &in_env(&a), &mut Offline::new(project.root.clone()))?,
                assemble::layers(project, &b, &in_env(&b), &mut Offline::new(project.root.clone()))?,
            )
        }
    };
    let report = Report {
        from: from.to_string(),
        to: to.to_string(),
        environment: environment_rows(project, &a, &b),
        settings,
        layers: layer_rows(project, (&a, &ba), (&b, &bb)),
    };
    match output {
        Output::Text => print(&to_text(&report)),
        Output::Json => print(&(serde_json::to_string_pretty(&report).unwrap_or_default() + "\n")),
    }
    Ok(())
}

/// The environments' own settings, their stack set targets and their tags, where they differ.
fn environment_rows(project: &Project, a: &Environment, b: &Environment) -> Vec<Row> {
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "(none)".into());
    let buckets = |e: &Environment| {
        let v: Vec<String> = e.artifact_buckets.iter().map(|(r, b)| format!("{r}={b}")).collect();
        if v.is_empty() {
            "(none)".to_string()
        } else {
            v.join(", ")
        }
    };
    let minutes = |e: &Environment| opt(&e.stack.timeout_minutes.map(|m| m.to_string()));
    let assumed = |e: &Environment| opt(&e.assume_role.as_ref().map(|r| r.arn.clone()));
    let mut pairs: Vec<(String, String, String)> = [
        ("region", a.region.clone(), b.region.clone()),
        ("account_id", opt(&a.account_id), opt(&b.account_id)),
        ("protected", a.protected.to_string(), b.protected.to_string()),
        ("role_arn", opt(&a.role_arn), opt(&b.role_arn)),
        ("artifact_bucket", opt(&a.artifact_bucket), opt(&b.artifact_bucket)),
        ("artifact_buckets", buckets(a), buckets(b)),
        ("timeout_minutes", minutes(a), minutes(b)),
        ("profile", opt(&a.profile), opt(&b.profile)),
        ("role_arn_to_assume", assumed(a), assumed(b)),
    ]
    .into_iter()
    .map(|(w, x, y)| (w.to_string(), x, y))
    .collect();
    pairs.extend(
        project
            .layers
            .values()
            .filter(|l| l.stackset.is_some())
            .map(|l| (format!("layers.{}.stackset", l.name), targets(a, l), targets(b, l))),
    );
    let mut rows: Vec<Row> = pairs
        .into_iter()
        .filter(|(_, x, y)| x != y)
        .map(|(key, x, y)| Row { key, from: Some(x), to: Some(y) })
        .collect();
    let tag_keys: BTreeSet<&String> = a.tags.keys().chain(b.tags.keys()).collect();
    for k in tag_keys.into_iter().filter(|k| a.tags.get(*k) != b.tags.get(*k)) {
        rows.push(Row { key: format!("tags.{k}"), from: a.tags.get(k).cloned(), to: b.tags.get(k).cloned() });
    }
    rows
}

/// A stack set layer's targets as an environment has them (over the layer's own settings).
fn targets(e: &Environment, layer: &Layer) -> String {
    let base = layer.stackset.clone().unwrap_or_default();
    let t = e.layers.get(&layer.name).and_then(|s| s.stackset.as_ref()).map(|s| s.over(&base)).unwrap_or(base);
    let list = |v: &Option<Vec<String>>| v.as_ref().map(|v| v.join(" ")).unwrap_or_else(|| "(default)".into());
    let whom = if t.organizational_units.is_some() { list(&t.organizational_units) } else { list(&t.accounts) };
    format!("{whom} in {}", list(&t.regions))
}

/// Each layer: in one environment only, or how its template and parameters differ.
fn layer_rows(
    project: &Project,
    (a, ba): (&Environment, &BTreeMap<String, Assembled>),
    (b, bb): (&Environment, &BTreeMap<String, Assembled>),
) -> Vec<LayerRow> {
    let mut rows = Vec::new();
    for l in project.layers.keys() {
        let (x, y) = match (ba.get(l), bb.get(l)) {
            (Some(x), Some(y)) => (x, y),
            (Some(_), None) => {
                rows.push(LayerRow::OnlyIn { layer: l.clone(), only_in: a.name.clone() });
                continue;
            }
            (None, Some(_)) => {
                rows.push(LayerRow::OnlyIn { layer: l.clone(), only_in: b.name.clone() });
                continue;
            }
            (None, None) => continue,
        };
        let lines = diff::templates(&x.text, &y.text);
        let changed = lines.iter().filter(|d| !matches!(d, diff::Line::Same(_))).count();
        let pa: BTreeMap<String, String> = x.shown_parameters().into_iter().collect();
        let pb: BTreeMap<String, String> = y.shown_parameters().into_iter().collect();
        let keys: BTreeSet<&String> = pa.keys().chain(pb.keys()).collect();
        let differ = keys.into_iter().filter(|k| pa.get(*k) != pb.get(*k)).cloned().collect();
        rows.push(LayerRow::Compared { layer: l.clone(), template_lines_changed: changed, parameters_differ: differ });
    }
    rows
}

fn to_text(r: &Report) -> String {
    let mut t = format!("{} -> {}\n", r.from, r.to);
    if !r.environment.is_empty() {
        t.push_str("environment:\n");
        let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not set)".into());
        for row in &r.environment {
            t.push_str(&format!("  ~ {}: {} -> {}\n", row.key, shown(&row.from), shown(&row.to)));
        }
    }
    if !r.settings.is_empty() {
        t.push_str("settings:\n");
        r.settings.iter().for_each(|s| t.push_str(&s.line));
    }
    t.push_str("layers:\n");
    for row in &r.layers {
        match row {
            LayerRow::OnlyIn { layer, only_in } => t.push_str(&format!("  {layer:<12} only in `{only_in}`\n")),
            LayerRow::Compared { layer, template_lines_changed: n, parameters_differ: p } => {
                let template =
                    if *n == 0 { "same template".to_string() } else { format!("templates differ ({n} lines)") };
                let params = if p.is_empty() {
                    "same parameters".to_string()
                } else {
                    format!("parameters differ: {}", p.join(", "))
                };
                t.push_str(&format!("  {layer:<12} {template}; {params}\n"));
            }
        }
    }
    t
}
