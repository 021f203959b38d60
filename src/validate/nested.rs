//! Nested stacks whose template is a file of the project (`TemplateURL: nested/child.yaml.j2`), checked as
//! CloudFormation would check them only minutes into a deploy: the parameters the parent passes against
//! the ones the child declares (missing, unknown, a secret into a parameter that is not NoEcho),
//! `Fn::GetAtt Child.Outputs.X` against the child's outputs, the child's own schema checks, and the
//! capabilities its resources need, which the parent's stack must be given. A child that does not exist
//! or does not render is reported by the packaging check; it is skipped here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use super::schema::{check_template, LayerFindings, Placer};
use crate::assemble::Assembled;
use crate::cfn::finding::Seg;
use crate::cfn::lint::getatt_walk;
use crate::cfn::template::{parameters_referenced, Template};
use crate::diagnostic;
use crate::diagnostic::{suggestion, Diagnostic};
use crate::environment::Environment;
use crate::project::Project;
use crate::render::Renderer;
use crate::text::list;

/// How deep nested templates are followed (as packaging does).
const MAX_DEPTH: usize = 5;

/// One nested stack of a template: its logical id, its template's file, text and parse.
struct Child {
    id: String,
    file: PathBuf,
    text: String,
    template: Template,
}

/// The checks of every nested stack under a layer, and the capabilities the children need.
pub struct Nested {
    pub findings: LayerFindings,
    pub capabilities: BTreeSet<String>,
}

pub fn check(project: &Project, env: &Environment, name: &str, built: &Assembled, t: &Template) -> Nested {
    let mut out = Nested { findings: LayerFindings::default(), capabilities: BTreeSet::new() };
    let def = &project.layers[name];
    let scope =
        Scope { project, env, layer: name, renderer: Renderer::new(project), context: built.values.jinja_context() };
    let mut parent = Placer::new(project, name, built);
    scope.walk(t, &def.dir, &mut parent, 0, &mut out);
    out
}

struct Scope<'a> {
    project: &'a Project,
    env: &'a Environment,
    layer: &'a str,
    renderer: Renderer,
    context: minijinja::Value,
}

impl Scope<'_> {
    fn walk(&self, t: &Template, dir: &Path, placer: &mut Placer, depth: usize, out: &mut Nested) {
        if depth >= MAX_DEPTH {
            return;
        }
        for child in self.children(t, dir) {
            out.capabilities.extend(child.template.needed_capabilities().into_iter().filter(|c| c.contains("IAM")));
            self.parameters(t, &child, placer, &mut out.findings.refusals);
            self.outputs(t, &child, placer, &mut out.findings.refusals);
            let mut inner = Placer::of_file(self.project, child.file.clone(), &child.text, self.context.clone());
            let shown = diagnostic::display_path(&child.file);
            let mut found = check_template(self.project, self.env, self.layer, &child.template, &mut inner);
            for d in &mut found.refusals {
                d.message = format!("{} (nested stack `{}`, {shown})", d.message, child.id);
            }
            out.findings.refusals.append(&mut found.refusals);
            out.findings.notes.append(&mut found.notes);
            let child_dir = child.file.parent().unwrap_or(dir).to_path_buf();
            self.walk(&child.template, &child_dir, &mut inner, depth + 1, out);
        }
    }

    /// The nested stacks of `t` whose template is a local file inside the project that renders and parses.
    fn children(&self, t: &Template, dir: &Path) -> Vec<Child> {
        let root = self.project.root.canonicalize().unwrap_or_else(|_| self.project.root.clone());
        let mut out = Vec::new();
        for (id, r) in t.section("Resources").into_iter().flatten() {
            if r.get("Type").and_then(|v| v.as_str()) != Some("AWS::CloudFormation::Stack") {
                continue;
            }
            let Some(url) = r.pointer("/Properties/TemplateURL").and_then(|v| v.as_str()) else { continue };
            if ["s3://", "http://", "https://"].iter().any(|p| url.starts_with(p)) {
                continue;
            }
            let Ok(file) = dir.join(url).canonicalize() else { continue };
            if !file.starts_with(&root) || !file.is_file() {
                continue;
            }
            let def = &self.project.layers[self.layer];
            let Ok(text) = self.renderer.render_file(def, &file, self.context.clone()) else { continue };
            let Ok(template) = Template::parse(&text) else { continue };
            out.push(Child { id: id.clone(), file, text, template });
        }
        out
    }

    fn scope(&self) -> String {
        format!("environment `{}`, layer `{}`", self.env.name, self.layer)
    }

    /// What the parent passes (`Properties.Parameters`) against what the child declares.
    fn parameters(&self, parent: &Template, child: &Child, placer: &mut Placer, out: &mut Vec<Diagnostic>) {
        let empty = Map::new();
        let passed = parent.body.pointer(&format!("/Resources/{}/Properties/Parameters", child.id));
        let passed = passed.and_then(|p| p.as_object()).unwrap_or(&empty);
        let declared = child.template.parameters();
        let names: Vec<&str> = declared.iter().map(|p| p.name.as_str()).collect();
        let at = |k: &str| {
            let mut p =
                vec![Seg::key("Resources"), Seg::Key(child.id.clone()), Seg::key("Properties"), Seg::key("Parameters")];
            if !k.is_empty() {
                p.push(Seg::Key(k.to_string()));
            }
            p
        };
        let shown = diagnostic::display_path(&child.file);
        let secrets: BTreeSet<String> = parent.parameters().into_iter().filter(|p| p.no_echo).map(|p| p.name).collect();
        for (k, v) in passed {
            let Some(p) = declared.iter().find(|p| &p.name == k) else {
                out.push(
                    Diagnostic::new(format!(
                        "{}: nested stack `{}` is passed parameter `{k}`, which its template ({shown}) does not declare",
                        self.scope(),
                        child.id
                    ))
                    .at(placer.place(&at(k), Some(k)))
                    .note(format!("declared: {}", if names.is_empty() { "none".into() } else { list(&names) }))
                    .hint_opt(suggestion(k, names.iter().copied())),
                );
                continue;
            };
            let carried: Vec<String> = parameters_referenced(v).into_iter().filter(|r| secrets.contains(r)).collect();
            if let (false, Some(secret)) = (p.no_echo, carried.first()) {
                out.push(
                    Diagnostic::new(format!(
                        "{}: the NoEcho parameter `{secret}` reaches parameter `{k}` of nested stack `{}`, which is not \
                         `NoEcho: true`: CloudFormation would show the secret to anyone who can describe that stack",
                        self.scope(),
                        child.id
                    ))
                    .at(placer.place(&at(k), Some(k)))
                    .hint(format!("declare `NoEcho: true` on parameter `{k}` in {shown}")),
                );
            }
        }
        for p in declared.iter().filter(|p| p.default.is_none() && !passed.contains_key(&p.name)) {
            out.push(
                Diagnostic::new(format!(
                    "{}: nested stack `{}` does not pass parameter `{}`, which its template ({shown}) declares without a Default",
                    self.scope(),
                    child.id,
                    p.name
                ))
                .at(placer.place(&at(""), None))
                .hint(format!("add `{}: ...` under the nested stack's Parameters", p.name)),
            );
        }
    }

    /// Every `Fn::GetAtt Child.Outputs.X` (and `${Child.Outputs.X}`) names an output the child has.
    fn outputs(&self, parent: &Template, child: &Child, placer: &mut Placer, out: &mut Vec<Diagnostic>) {
        let outputs = child.template.names("Outputs");
        let mut found = Vec::new();
        outputs_read(&parent.body, &child.id, &mut Vec::new(), &mut found);
        for (path, output) in found.into_iter().filter(|(_, o)| !outputs.contains(o)) {
            out.push(
                Diagnostic::new(format!(
                    "{}: `{}.Outputs.{output}`: nested stack `{}` has no output `{output}` ({})",
                    self.scope(),
                    child.id,
                    child.id,
                    diagnostic::display_path(&child.file)
                ))
                .at(placer.place(&path, Some(&output)))
                .note(format!("outputs: {}", if outputs.is_empty() { "none".into() } else { list(&outputs) }))
                .hint_opt(suggestion(&output, outputs.iter().map(|s| s.as_str()))),
            );
        }
    }
}

/// The outputs of `child` the template reads (`Fn::GetAtt Child.Outputs.X`, `${Child.Outputs.X}`).
fn outputs_read(v: &Json, child: &str, at: &mut Vec<Seg>, found: &mut Vec<(Vec<Seg>, String)>) {
    let mut all = Vec::new();
    getatt_walk(v, at, &mut all);
    for (path, resource, attribute) in all {
        if let Some(output) = attribute.strip_prefix("Outputs.").filter(|_| resource == child) {
            found.push((path, output.to_string()));
        }
    }
}
