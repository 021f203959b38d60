//! Errors as data: a message, an optional source location, and hints.
//! Rendering (`file:line:col`, the source line and a caret) lives here and nowhere else.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// How a failure maps onto the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// An operation against the world failed (exit 1).
    Failed,
    /// The user's input or configuration is wrong (exit 2).
    Config,
    /// `plan --detailed-exitcode` found changes (exit 3).
    ChangesPending,
    /// `diff` showed a difference (exit 1, as `git diff --exit-code`; nothing failed).
    Differs,
}

impl ExitKind {
    pub fn code(self) -> i32 {
        match self {
            ExitKind::Failed => 1,
            ExitKind::Config => 2,
            ExitKind::ChangesPending => 3,
            ExitKind::Differs => 1,
        }
    }
}

/// A place in a file, already turned into line and column (both 1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub source_line: Option<String>,
    pub width: usize,
}

/// `i`, or the start of the character it falls inside, within `text`.
fn char_floor(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl Location {
    /// A location from a byte span into `text`.
    pub fn from_span(file: &Path, text: &str, span: Range<usize>) -> Location {
        // Spans from parsers can point inside a multi-byte character: move them to its start.
        let span = char_floor(text, span.start)..char_floor(text, span.end);
        let start = span.start.min(text.len());
        let before = &text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let line_end = text[line_start..].find('\n').map(|i| line_start + i).unwrap_or(text.len());
        let col = text[line_start..start].chars().count() + 1;
        let source_line = text[line_start..line_end].trim_end_matches('\r').to_string();
        let end = span.end.min(line_end).max(start);
        let width = text[start..end].chars().count().max(1);
        Location { file: file.to_path_buf(), line, col, source_line: Some(source_line), width }
    }

    /// Like `from_span`, with the line starts of `text` computed once (for files with many settings).
    pub fn from_span_indexed(file: &Path, text: &str, index: &LineIndex, span: Range<usize>) -> Location {
        let span = char_floor(text, span.start)..char_floor(text, span.end);
        let start = span.start.min(text.len());
        let line0 = index.starts.partition_point(|&s| s <= start).saturating_sub(1);
        let line_start = index.starts[line0];
        let line_end = index.starts.get(line0 + 1).map(|e| e - 1).unwrap_or(text.len()).max(line_start);
        let col = text[line_start..start].chars().count() + 1;
        let source_line = text[line_start..line_end].trim_end_matches('\r').to_string();
        let end = span.end.min(line_end).max(start);
        let width = text[start..end].chars().count().max(1);
        Location { file: file.to_path_buf(), line: line0 + 1, col, source_line: Some(source_line), width }
    }

    /// A location from a 1-based line and column into `text`.
    pub fn from_line_col(file: &Path, text: &str, line: usize, col: usize) -> Location {
        let source_line = text.lines().nth(line.saturating_sub(1)).map(|l| l.to_string());
        Location { file: file.to_path_buf(), line, col: col.max(1), source_line, width: 1 }
    }

    pub fn file_only(file: &Path) -> Location {
        Location { file: file.to_path_buf(), line: 0, col: 0, source_line: None, width: 0 }
    }
}

/// Byte offsets of the starts of the lines of a text.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }
}

/// One reportable problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub location: Option<Location>,
    pub notes: Vec<String>,
    pub hint: Option<String>,
}

impl Diagnostic {
    /// For `--output json`: the message with its place, notes and hint.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "message": self.message,
            "file": self.location.as_ref().map(|l| display_path(&l.file)),
            "line": self.location.as_ref().map(|l| l.line).filter(|l| *l > 0),
            "column": self.location.as_ref().map(|l| l.col).filter(|c| *c > 0),
            "notes": self.notes,
            "hint": self.hint,
        })
    }

    pub fn new(message: impl Into<String>) -> Diagnostic {
        Diagnostic { message: message.into(), location: None, notes: Vec::new(), hint: None }
    }

    pub fn at(mut self, location: Location) -> Diagnostic {
        self.location = Some(location);
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn hint_opt(self, hint: Option<String>) -> Diagnostic {
        match hint {
            Some(h) => self.hint(h),
            None => self,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        if let Some(loc) = &self.location {
            if loc.line > 0 {
                writeln!(f, "  --> {}:{}:{}", display_path(&loc.file), loc.line, loc.col)?;
            } else {
                writeln!(f, "  --> {}", display_path(&loc.file))?;
            }
            if let Some(src) = &loc.source_line {
                let gutter = loc.line.to_string();
                let pad = " ".repeat(gutter.len());
                writeln!(f, "{pad} |")?;
                writeln!(f, "{gutter} | {src}")?;
                let indent: String =
                    src.chars().take(loc.col.saturating_sub(1)).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
                writeln!(f, "{pad} | {indent}{}", "^".repeat(loc.width.max(1)))?;
            }
        }
        for note in &self.notes {
            writeln!(f, "  = note: {note}")?;
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "  = hint: {hint}")?;
        }
        Ok(())
    }
}

/// Paths are shown relative to the current directory when they are below it.
pub fn display_path(path: &Path) -> String {
    if let Ok(cwd) = std::env::current_dir() {
        if let Ok(rel) = path.strip_prefix(&cwd) {
            return rel.display().to_string();
        }
    }
    path.display().to_string()
}

/// The error type every fallible stage returns: one or more diagnostics and how to exit.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ExitKind,
    pub diagnostics: Vec<Diagnostic>,
}

impl Error {
    pub fn config(d: Diagnostic) -> Error {
        Error { kind: ExitKind::Config, diagnostics: vec![d] }
    }

    pub fn configs(ds: Vec<Diagnostic>) -> Error {
        Error { kind: ExitKind::Config, diagnostics: ds }
    }

    pub fn failed(d: Diagnostic) -> Error {
        Error { kind: ExitKind::Failed, diagnostics: vec![d] }
    }

    pub fn msg(message: impl Into<String>) -> Error {
        Error::config(Diagnostic::new(message))
    }

    pub fn io(path: &Path, err: std::io::Error) -> Error {
        Error::failed(Diagnostic::new(format!("cannot access `{}`: {err}", display_path(path))))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The closest candidate to `name`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a, I>(name: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal))
        .map(|(_, c)| c.to_string())
}

/// `did you mean `x`?` or nothing.
pub fn suggestion<'a, I>(name: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    did_you_mean(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_inside_a_character_do_not_panic() {
        let text = "ab\nxé🙂z\n";
        for start in 0..text.len() + 3 {
            for end in start..text.len() + 3 {
                let l = Location::from_span(Path::new("f"), text, start..end);
                assert!(l.line >= 1 && l.col >= 1);
                let idx = LineIndex::new(text);
                Location::from_span_indexed(Path::new("f"), text, &idx, start..end);
            }
        }
    }

    #[test]
    fn span_maps_to_line_and_column() {
        let text = "a = 1\nregoin = \"x\"\n";
        let loc = Location::from_span(Path::new("e.toml"), text, 6..12);
        assert_eq!((loc.line, loc.col, loc.width), (2, 1, 6));
        assert_eq!(loc.source_line.as_deref(), Some("regoin = \"x\""));
        let indexed = Location::from_span_indexed(Path::new("e.toml"), text, &LineIndex::new(text), 6..12);
        assert_eq!(indexed, loc);
        let last = Location::from_span_indexed(Path::new("e.toml"), "a\nbc", &LineIndex::new("a\nbc"), 3..4);
        assert_eq!((last.line, last.col, last.source_line.as_deref()), (2, 2, Some("bc")));
    }

    #[test]
    fn rendering_shows_caret_under_the_span() {
        let text = "a = 1\nb = oops\n";
        let d = Diagnostic::new("bad value").at(Location::from_span(Path::new("/x/e.toml"), text, 10..14));
        let shown = d.to_string();
        assert!(shown.contains("/x/e.toml:2:5"), "{shown}");
        assert!(shown.contains("2 | b = oops\n  |     ^^^^"), "{shown}");
    }

    #[test]
    fn suggestions_only_for_close_names() {
        assert_eq!(did_you_mean("regoin", ["region", "tags"]).as_deref(), Some("region"));
        assert_eq!(did_you_mean("zzz", ["region", "tags"]), None);
    }
}
