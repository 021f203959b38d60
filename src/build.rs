//! One environment, resolved and rendered: the input of render, validate and (later) plan.

use std::collections::BTreeMap;

use crate::diagnostic::{Diagnostic, Error, Location, Result};
use crate::environment::Environment;
use crate::project::Project;
use crate::provider::Provider;
use crate::render::Renderer;
use crate::template::{ParseError, Template};
use crate::values::{self, LayerValues};

#[derive(Debug, Clone)]
pub struct BuiltLayer {
    pub values: LayerValues,
    pub text: String,
    pub template: std::result::Result<Template, ParseError>,
}

impl BuiltLayer {
    /// The parameters as they may be written or shown: secrets and unresolved values as descriptions.
    pub fn shown_parameters(&self) -> Vec<(String, String)> {
        self.values.parameters.values().map(|p| (p.name.clone(), p.shown())).collect()
    }
}

/// Resolve and render `layers` of `env`. Render errors of all layers are reported together.
pub fn build(
    project: &Project,
    env: &Environment,
    layers: &[String],
    provider: &mut dyn Provider,
) -> Result<BTreeMap<String, BuiltLayer>> {
    let resolved = values::resolve(project, env, layers, provider)?;
    let renderer = Renderer::new(project);
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for (name, values) in resolved {
        let layer = project.layer(&name)?;
        match renderer.render(layer, values.jinja_context()) {
            Ok(text) => {
                let template = Template::parse(&text);
                out.insert(name, BuiltLayer { values, text, template });
            }
            Err(mut e) => errors.append(&mut e.diagnostics),
        }
    }
    if !errors.is_empty() {
        return Err(Error::configs(errors));
    }
    Ok(out)
}

/// A parse error of a rendered template, pointing into the rendered text.
pub fn parse_error_diagnostic(project: &Project, layer: &str, built: &BuiltLayer, e: &ParseError) -> Diagnostic {
    let path = project.layers.get(layer).map(|l| l.template_path.clone()).unwrap_or_default();
    let mut d =
        Diagnostic::new(format!("layer `{layer}`: the rendered template is not valid YAML/JSON: {}", e.message));
    if let (Some(line), Some(col)) = (e.line, e.col) {
        let mut loc = Location::from_line_col(&path, &built.text, line, col);
        loc.file = std::path::PathBuf::from(format!("{} (rendered)", path.display()));
        d = d.at(loc);
    } else {
        d = d.at(Location::file_only(&path));
    }
    d.hint("`stackc render <env> <layer> --stdout` shows the rendered text")
}
