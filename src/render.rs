//! Rendering a layer's template with minijinja: strict undefined, templates and shared macros
//! loaded from `stacks/` on demand.

use std::path::PathBuf;

use crate::diagnostic::{Diagnostic, Error, Location, Result};
use crate::project::{Layer, Project};

/// Template instructions one render may run: the 500-layer benchmark uses well under 1% of it.
pub const FUEL: u64 = 10_000_000;
/// The largest rendered template accepted (CloudFormation takes 1 MB from S3).
pub const MAX_OUTPUT: usize = 4 << 20;

pub struct Renderer {
    jinja: minijinja::Environment<'static>,
    stacks: PathBuf,
}

impl Renderer {
    pub fn new(project: &Project) -> Renderer {
        let stacks = project.stacks_dir();
        let mut jinja = minijinja::Environment::new();
        jinja.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        jinja.set_keep_trailing_newline(true);
        jinja.set_trim_blocks(true);
        jinja.set_lstrip_blocks(true);
        jinja.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        // A loop that never ends (or nests too deep) stops with an error instead of hanging the run.
        jinja.set_fuel(Some(FUEL));
        let dir = stacks.clone();
        jinja.set_loader(move |name: &str| {
            if name.split('/').any(|seg| seg == ".." || seg.is_empty()) {
                return Ok(None);
            }
            match std::fs::read_to_string(dir.join(name)) {
                Ok(text) => Ok(Some(text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("cannot read template `{name}`: {e}"),
                )),
            }
        });
        Renderer { jinja, stacks }
    }

    /// A `.j2` template is rendered; a plain `template.yaml`/`.json` (an imported one) is used as written,
    /// so CloudFormation's own `{{resolve:...}}` references stay untouched.
    pub fn render(&self, layer: &Layer, context: minijinja::Value) -> Result<String> {
        if !layer.template_name.ends_with(".j2") {
            return std::fs::read_to_string(&layer.template_path).map_err(|e| Error::io(&layer.template_path, e));
        }
        let template = self.jinja.get_template(&layer.template_name).map_err(|e| self.error(layer, &e))?;
        let text = template.render(context).map_err(|e| self.error(layer, &e))?;
        if text.len() > MAX_OUTPUT {
            return Err(Error::config(
                Diagnostic::new(format!(
                    "layer `{}`: the rendered template is {} bytes, more than any CloudFormation template can be",
                    layer.name,
                    text.len()
                ))
                .at(Location::file_only(&layer.template_path))
                .hint("a loop that repeats more than meant?"),
            ));
        }
        Ok(text)
    }

    /// Another template file of the project (a nested stack's), rendered with a layer's context when it
    /// ends in `.j2`, read as written otherwise. It must be under `stacks/`.
    pub fn render_file(
        &self,
        layer: &Layer,
        path: &std::path::Path,
        context: minijinja::Value,
    ) -> std::result::Result<String, String> {
        let name = path
            .strip_prefix(&self.stacks)
            .map_err(|_| format!("`{}` is not under {}", path.display(), self.stacks.display()))?
            .to_string_lossy()
            .replace('\\', "/");
        if !name.ends_with(".j2") {
            return std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()));
        }
        let template = self.jinja.get_template(&name).map_err(|e| self.error(layer, &e).to_string())?;
        template.render(context).map_err(|e| self.error(layer, &e).to_string())
    }

    fn error(&self, layer: &Layer, err: &minijinja::Error) -> Error {
        let name = err.name().unwrap_or(&layer.template_name).to_string();
        let path = self.stacks.join(&name);
        let mut detail = err.detail().map(|d| d.to_string()).unwrap_or_else(|| err.kind().to_string());
        if err.kind() == minijinja::ErrorKind::UndefinedError && err.detail().is_none() {
            detail = "undefined value".to_string();
            if let (Some(range), Ok(text)) = (err.range(), std::fs::read_to_string(&path)) {
                if let Some(name) = text.get(range) {
                    detail = format!("`{}` is undefined", name.trim());
                }
            }
        }
        let mut d = Diagnostic::new(format!("layer `{}`: cannot render `{name}`: {detail}", layer.name));
        if let Some(line) = err.line() {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let loc = match err.range() {
                Some(range) => {
                    let line_start: usize = text.split_inclusive('\n').take(line - 1).map(|l| l.len()).sum();
                    // Ranges from minijinja are byte offsets into the template source.
                    if range.start >= line_start && range.start <= text.len() {
                        Location::from_span(&path, &text, range)
                    } else {
                        Location::from_line_col(&path, &text, line, 1)
                    }
                }
                None => Location::from_line_col(&path, &text, line, 1),
            };
            d = d.at(loc);
        } else {
            d = d.at(Location::file_only(&path));
        }
        if err.kind() == minijinja::ErrorKind::OutOfFuel {
            d = d.hint(format!(
                "rendering stopped after {FUEL} template steps: a loop that does not end, or one far larger than a template needs"
            ));
        }
        if err.kind() == minijinja::ErrorKind::UndefinedError {
            d = d.hint("define the value in the environment file under [values] or [layers.<layer>.values]");
        }
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            d = d.note(format!("caused by: {cause}"));
            source = cause.source();
        }
        Error::config(d)
    }
}
