//! The resource-schema checks of one layer (`cfn::lint`), each finding placed on the line of the layer's
//! template source that produced it: the rendered line is found from the finding's path, and the `.j2`
//! line from a marked second render (made only when there is a finding to place).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::assemble::Assembled;
use crate::cfn::finding::{show_path, Rule, Seg};
use crate::cfn::lint::{lint, Context};
use crate::cfn::locate::locate;
use crate::cfn::template::Template;
use crate::diagnostic::{Diagnostic, Location};
use crate::environment::Environment;
use crate::package::packaged_properties;
use crate::project::Project;
use crate::render::{Renderer, SourceMap};
use crate::scope;

/// What the schema checks of one layer found: refusals, and notes (module types, accepted secret places).
#[derive(Debug, Default)]
pub struct LayerFindings {
    pub refusals: Vec<Diagnostic>,
    pub notes: Vec<String>,
}

pub fn check_layer(project: &Project, env: &Environment, name: &str, built: &Assembled, t: &Template) -> LayerFindings {
    let mut placer = Placer::new(project, name, built);
    let mut out = check_template(project, env, name, t, &mut placer);
    for accepted in &project.layers[name].secrets_readable_in {
        out.notes.push(format!(
            "layer `{name}`: layer.toml lets a secret reach `{accepted}`, which the resource returns on read"
        ));
    }
    out
}

/// The schema findings of one template of layer `name` (its own or a nested stack's), placed by `placer`.
pub(super) fn check_template(
    project: &Project,
    env: &Environment,
    name: &str,
    t: &Template,
    placer: &mut Placer,
) -> LayerFindings {
    let def = &project.layers[name];
    let region = scope::region_of(project, name, env);
    let packaged = packaged_properties();
    let ctx = Context { region: &region, accepted_secret_sinks: &def.secrets_readable_in, packaged: &packaged };
    let mut out = LayerFindings::default();
    for f in lint(t, &ctx) {
        let scope = format!("environment `{}`, layer `{name}`", env.name);
        if f.rule.is_note() {
            out.notes.push(format!("{scope}: {}", f.message));
            continue;
        }
        let mut d = Diagnostic::new(format!("{scope}: {}", f.message)).at(placer.place_path(&f.path));
        if let Some(rendered) = placer.rendered.take() {
            d = d.note(format!("rendered: {rendered}"));
        }
        let d = d.note(format!("at {} ({})", show_path(&f.path), rule_name(f.rule))).hint_opt(f.hint.clone());
        out.refusals.push(d);
    }
    out
}

fn rule_name(rule: Rule) -> String {
    serde_json::to_value(rule).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

/// Turns a finding's path into a place in the template source.
pub(super) struct Placer<'a> {
    project: &'a Project,
    /// The template's file and its rendered text.
    file: PathBuf,
    text: &'a str,
    context: minijinja::Value,
    map: Option<Option<SourceMap>>,
    sources: HashMap<PathBuf, String>,
    /// The rendered line of the last place, when it reads differently from its source line.
    pub(super) rendered: Option<String>,
}

impl<'a> Placer<'a> {
    pub(super) fn new(project: &'a Project, layer: &'a str, built: &'a Assembled) -> Placer<'a> {
        let file = project.layers[layer].template_path.clone();
        Placer::of_file(project, file, &built.text, built.values.jinja_context())
    }

    /// A placer for any template file of the project rendered with `context` into `text`.
    pub(super) fn of_file(project: &'a Project, file: PathBuf, text: &'a str, context: minijinja::Value) -> Placer<'a> {
        Placer { project, file, text, context, map: None, sources: HashMap::new(), rendered: None }
    }

    fn map(&mut self) -> Option<&SourceMap> {
        if self.map.is_none() {
            let renderer = Renderer::new(self.project);
            self.map = Some(renderer.source_map_of(&self.file, self.context.clone(), self.text));
        }
        self.map.as_ref().and_then(|m| m.as_ref())
    }

    /// The source place of a template path.
    pub(super) fn place_path(&mut self, path: &[Seg]) -> Location {
        self.place(path, None)
    }

    /// The source place of a template path, underlining `name` when the source line holds it.
    pub(super) fn place(&mut self, path: &[Seg], name: Option<&str>) -> Location {
        let template_path = self.file.clone();
        let Some((line, col)) = locate(self.text, path) else {
            return Location::file_only(&template_path);
        };
        let key = name.map(String::from).or_else(|| {
            path.iter().rev().find_map(|s| match s {
                Seg::Key(k) if !k.starts_with("Fn::") => Some(k.clone()),
                _ => None,
            })
        });
        let source = self.map().and_then(|m| m.source_of(line)).map(|(p, n)| (p.to_path_buf(), n));
        match source {
            Some((file, n)) => {
                let text = self.source_text(&file);
                let source_line = text.lines().nth(n.saturating_sub(1)).unwrap_or_default();
                let (col, width) = match key.as_deref().and_then(|k| source_line.find(k).map(|c| (c, k.len()))) {
                    Some((c, w)) => (source_line[..c].chars().count() + 1, w),
                    None => (source_line.len() - source_line.trim_start().len() + 1, 1),
                };
                let mut loc = Location::from_line_col(&file, &text, n, col);
                loc.width = width;
                self.rendered = self
                    .text
                    .lines()
                    .nth(line - 1)
                    .map(str::trim)
                    .filter(|r| *r != source_line.trim())
                    .map(String::from);
                loc
            }
            None => {
                // No source line known: point into the rendered text, and say so.
                let mut loc = Location::from_line_col(&template_path, self.text, line, col);
                loc.file = PathBuf::from(format!("{} (rendered)", template_path.display()));
                loc.width = key.map(|k| k.len()).unwrap_or(1);
                loc
            }
        }
    }

    fn source_text(&mut self, file: &Path) -> String {
        self.sources
            .entry(file.to_path_buf())
            .or_insert_with(|| std::fs::read_to_string(file).unwrap_or_default())
            .clone()
    }
}
