//! Rendering a layer's template with minijinja: strict undefined, templates and shared macros
//! loaded from `stacks/` on demand.

use std::path::PathBuf;

use crate::diagnostic::{Diagnostic, Error, Location, Result};
use crate::files::{read_text, MAX_PROJECT_FILE};
use crate::package;
use crate::project::{self, Layer, Project};
use crate::watch;

/// Template instructions one render may run: the 500-layer benchmark uses well under 1% of it.
pub const FUEL: u64 = 10_000_000;
/// The largest rendered template accepted (CloudFormation takes 1 MB from S3).
pub const MAX_OUTPUT: usize = 4 << 20;

/// Where each rendered line came from: (source file, 1-based line) by rendered line, when known.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    lines: Vec<Option<(PathBuf, usize)>>,
}

impl SourceMap {
    /// The source of the 1-based rendered `line`. A line whose end was not marked (text an expression
    /// printed over several lines) belongs to the next marked line: the one holding that expression.
    pub fn source_of(&self, line: usize) -> Option<(&std::path::Path, usize)> {
        self.lines.iter().skip(line.checked_sub(1)?).flatten().next().map(|(p, n)| (p.as_path(), *n))
    }
}

const MARK_START: char = '\u{E000}';
const MARK_SPLIT: char = '\u{E002}';
const MARK_END: char = '\u{E001}';

/// `text` with a mark `<start>name<split>line<end>` before each newline of literal text that the
/// renderer keeps as it is (not one `trim_blocks` removes after a tag, nor one a `{%-` strips).
fn mark_lines(name: &str, text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let (mut line, mut rest) = (1usize, text);
    let mut after_block_tag = false;
    while let Some(c) = rest.chars().next() {
        if let Some(close) = ["{{", "{%", "{#"].iter().find(|o| rest.starts_with(**o)).map(|o| match *o {
            "{{" => "}}",
            "{%" => "%}",
            _ => "#}",
        }) {
            let raw = rest.starts_with("{%") && rest[2..].trim_start_matches(['-', '+', ' ']).starts_with("raw");
            let end = if raw {
                rest.find("endraw").and_then(|i| rest[i..].find(close).map(|j| i + j))
            } else {
                rest.find(close)
            };
            let Some(end) = end else {
                out.push_str(rest);
                break;
            };
            let tag = &rest[..end + 2];
            line += tag.matches('\n').count();
            out.push_str(tag);
            after_block_tag = close != "}}";
            rest = &rest[end + 2..];
            continue;
        }
        if c == '\n' {
            let next = rest[1..].trim_start_matches([' ', '\t']);
            let stripped = ["{%-", "{{-", "{#-"].iter().any(|s| next.starts_with(s));
            if !after_block_tag && !stripped && !name.contains(MARK_START) {
                out.push(MARK_START);
                out.push_str(name);
                out.push(MARK_SPLIT);
                out.push_str(&line.to_string());
                out.push(MARK_END);
            }
            line += 1;
        }
        after_block_tag = false;
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

struct Marked {
    text: String,
    map: SourceMap,
}

/// The rendered text without its marks, and where each line came from (the last mark on it).
fn read_marks(marked: &str, stacks: &std::path::Path) -> Marked {
    let mut text = String::with_capacity(marked.len());
    let mut lines = Vec::new();
    for (i, piece) in marked.split('\n').enumerate() {
        if i > 0 {
            text.push('\n');
        }
        let mut source = None;
        let mut rest = piece;
        while let Some(start) = rest.find(MARK_START) {
            text.push_str(&rest[..start]);
            let after = &rest[start + MARK_START.len_utf8()..];
            let Some(end) = after.find(MARK_END) else {
                rest = after;
                continue;
            };
            if let Some((name, n)) = after[..end].split_once(MARK_SPLIT) {
                source = n.parse().ok().map(|n| (stacks.join(name), n));
            }
            rest = &after[end + MARK_END.len_utf8()..];
        }
        text.push_str(rest);
        lines.push(source);
    }
    Marked { text, map: SourceMap { lines } }
}

/// The minijinja environment every render uses (strict undefined, fuel, templates from `stacks/`);
/// `marked` loads each template with its line ends marked, for `source_map`.
fn environment(stacks: PathBuf, marked: bool) -> minijinja::Environment<'static> {
    let mut jinja = minijinja::Environment::new();
    jinja.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    jinja.set_keep_trailing_newline(true);
    jinja.set_trim_blocks(true);
    jinja.set_lstrip_blocks(true);
    jinja.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    // A loop that never ends (or nests too deep) stops with an error instead of hanging the run.
    jinja.set_fuel(Some(FUEL));
    jinja.set_loader(move |name: &str| load(&stacks, name, marked));
    jinja.add_function("artifact", package::function::artifact);
    jinja
}

/// The source of template `name` under `stacks`, or None when there is none. An include that is a link
/// out of the project (or a fifo, a device) is refused, never read.
fn load(stacks: &std::path::Path, name: &str, marked: bool) -> std::result::Result<Option<String>, minijinja::Error> {
    if name.split('/').any(|seg| seg == ".." || seg.is_empty()) {
        return Ok(None);
    }
    let root = stacks.parent().unwrap_or(stacks);
    match read_text(&stacks.join(name), Some(root), MAX_PROJECT_FILE) {
        Ok(text) if marked => Ok(Some(mark_lines(name, &text))),
        Ok(text) => Ok(Some(text)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("cannot read template `{name}`: it {e}"),
        )),
    }
}

pub struct Renderer {
    jinja: minijinja::Environment<'static>,
    stacks: PathBuf,
}

impl Renderer {
    pub fn new(project: &Project) -> Renderer {
        let stacks = project.stacks_dir();
        Renderer { jinja: environment(stacks.clone(), false), stacks }
    }

    /// A `.j2` template is rendered; a plain `template.yaml`/`.json` (an imported one) is used as written,
    /// so CloudFormation's own `{{resolve:...}}` references stay untouched.
    pub fn render(&self, layer: &Layer, context: minijinja::Value) -> Result<String> {
        if !layer.template_name.ends_with(".j2") {
            return project::read_inside(&layer.template_path, self.root());
        }
        // Compiled, rendered and dropped: a layer's own template is used once, so it is not kept in the
        // environment's cache (shared macros and includes are). Kept, 500 compiled layers took a third of
        // a render's memory, and touching fresh memory is a good part of its time.
        let name = &layer.template_name;
        let text = load(&self.stacks, name, false)
            .and_then(|source| {
                let source = source.ok_or_else(|| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::TemplateNotFound,
                        format!("template {name:?} does not exist"),
                    )
                })?;
                let what = || format!("layer `{}`: rendering `{name}`", layer.name);
                watch::busy(what, || self.jinja.render_named_str(name, &source, context))
            })
            .map_err(|e| self.error(layer, &e))?;
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
            return read_text(path, Some(self.root()), MAX_PROJECT_FILE)
                .map_err(|e| format!("cannot read {}: it {e}", path.display()));
        }
        let template = self.jinja.get_template(&name).map_err(|e| self.error(layer, &e).to_string())?;
        let what = || format!("layer `{}`: rendering `{name}`", layer.name);
        watch::busy(what, || template.render(context)).map_err(|e| self.error(layer, &e).to_string())
    }

    /// Where each line of `rendered` (the layer's template as `render` made it) came from: the same render,
    /// with every source line's end marked, read back line by line. None when the marked render differs
    /// from `rendered` once the marks are taken out (a template that inspects its own text).
    pub fn source_map(&self, layer: &Layer, context: minijinja::Value, rendered: &str) -> Option<SourceMap> {
        self.source_map_of(&layer.template_path, context, rendered)
    }

    /// `source_map` for any template file of the project (a nested stack's).
    pub fn source_map_of(
        &self,
        path: &std::path::Path,
        context: minijinja::Value,
        rendered: &str,
    ) -> Option<SourceMap> {
        let name = path.strip_prefix(&self.stacks).ok()?.to_string_lossy().replace('\\', "/");
        if !name.ends_with(".j2") {
            let lines = (1..=rendered.lines().count()).map(|n| Some((path.to_path_buf(), n))).collect();
            return Some(SourceMap { lines });
        }
        let jinja = environment(self.stacks.clone(), true);
        let marked = jinja.get_template(&name).ok()?.render(context).ok()?;
        let map = read_marks(&marked, &self.stacks);
        (map.text == rendered).then_some(map.map)
    }

    /// The project's folder (the one `stacks/` is in).
    fn root(&self) -> &std::path::Path {
        self.stacks.parent().unwrap_or(&self.stacks)
    }

    fn error(&self, layer: &Layer, err: &minijinja::Error) -> Error {
        let name = err.name().unwrap_or(&layer.template_name).to_string();
        let path = self.stacks.join(&name);
        let mut detail = err.detail().map(|d| d.to_string()).unwrap_or_else(|| err.kind().to_string());
        if err.kind() == minijinja::ErrorKind::UndefinedError && err.detail().is_none() {
            detail = "undefined value".to_string();
            if let (Some(range), Ok(text)) = (err.range(), read_text(&path, Some(self.root()), MAX_PROJECT_FILE)) {
                if let Some(name) = text.get(range) {
                    detail = format!("`{}` is undefined", name.trim());
                }
            }
        }
        let mut d = Diagnostic::new(format!("layer `{}`: cannot render `{name}`: {detail}", layer.name));
        if let Some(line) = err.line() {
            // Never a line of a file outside the project.
            let text = read_text(&path, Some(self.root()), MAX_PROJECT_FILE).unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn render_marked(source: &str, ctx: minijinja::Value) -> (String, Marked) {
        let mut plain = environment(PathBuf::from("/s"), false);
        plain.add_template_owned("t.j2".to_string(), source.to_string()).unwrap();
        let expected = plain.get_template("t.j2").unwrap().render(ctx.clone()).unwrap();
        let mut marked = environment(PathBuf::from("/s"), true);
        marked.add_template_owned("t.j2".to_string(), mark_lines("t.j2", source)).unwrap();
        let got = marked.get_template("t.j2").unwrap().render(ctx).unwrap();
        (expected, read_marks(&got, std::path::Path::new("/s")))
    }

    #[test]
    fn each_rendered_line_maps_to_the_source_line_that_made_it() {
        let source = "Resources:\n{% for s in subnets %}\n  Subnet{{ s }}:\n    Type: AWS::EC2::Subnet\n{% endfor %}\n  {#- comment #}\n  Vpc:\n    Properties: {{ props | indent(6) }}\n    Tail: x\n{% raw %}\n  R: {{ not a tag }}\n{% endraw %}\n";
        let ctx = minijinja::context! { subnets => vec!["A", "B"], props => "\n  CidrBlok: x\n  Other: y" };
        let (expected, marked) = render_marked(source, ctx);
        assert_eq!(marked.text, expected, "the marks change nothing once taken out");
        let at = |n: usize| marked.map.source_of(n).map(|(_, l)| l);
        let rendered: Vec<&str> = expected.lines().collect();
        assert_eq!(rendered[1], "  SubnetA:");
        assert_eq!((at(1), at(2), at(3), at(4), at(5)), (Some(1), Some(3), Some(4), Some(3), Some(4)));
        let cidr = rendered.iter().position(|l| l.contains("CidrBlok")).unwrap() + 1;
        assert_eq!(at(cidr), Some(8), "lines an expression printed belong to the expression's line");
        let tail = rendered.iter().position(|l| l.contains("Tail")).unwrap() + 1;
        assert_eq!(at(tail), Some(9));
    }
}
