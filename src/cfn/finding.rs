//! What the template checks find, and where: a path into a template (`Seg`), the kinds of finding (`Rule`),
//! a finding as data, and the walk over every node with its path. `lint` (the resource schemas) and
//! `declarations` (the template's own declarations) both speak it; `locate` turns a path into a line.

use serde_json::Value as Json;

/// A step into a template: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl Seg {
    pub fn key(k: &str) -> Seg {
        Seg::Key(k.to_string())
    }
}

/// Shows a path as `Resources.Vpc.Properties.Tags[0].Key`.
pub fn show_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The kinds of finding, for counting and for `--output json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    UnknownType,
    TypeNotInRegion,
    MissingType,
    ModuleType,
    UnknownResourceAttribute,
    UnknownProperty,
    MissingProperty,
    WrongType,
    NotInEnum,
    NoPatternMatch,
    UnknownAttribute,
    UnknownDependency,
    SecretInReadableProperty,
    BadParameter,
    UnknownCondition,
    RefToMapping,
    NullOutput,
}

impl Rule {
    pub const ALL: [Rule; 17] = [
        Rule::UnknownType,
        Rule::TypeNotInRegion,
        Rule::MissingType,
        Rule::ModuleType,
        Rule::UnknownResourceAttribute,
        Rule::UnknownProperty,
        Rule::MissingProperty,
        Rule::WrongType,
        Rule::NotInEnum,
        Rule::NoPatternMatch,
        Rule::UnknownAttribute,
        Rule::UnknownDependency,
        Rule::SecretInReadableProperty,
        Rule::BadParameter,
        Rule::UnknownCondition,
        Rule::RefToMapping,
        Rule::NullOutput,
    ];

    /// A note, not a refusal.
    pub fn is_note(self) -> bool {
        matches!(self, Rule::ModuleType)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: Rule,
    pub resource: String,
    /// Where in the template: the offending key or value.
    pub path: Vec<Seg>,
    pub message: String,
    pub hint: Option<String>,
}

/// Calls `f` with every node of `v` and its path, parents before children.
pub fn visit(v: &Json, at: &mut Vec<Seg>, f: &mut dyn FnMut(&[Seg], &Json)) {
    f(at, v);
    match v {
        Json::Object(m) => {
            for (k, x) in m {
                at.push(Seg::Key(k.clone()));
                visit(x, at, f);
                at.pop();
            }
        }
        Json::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                at.push(Seg::Index(i));
                visit(x, at, f);
                at.pop();
            }
        }
        _ => {}
    }
}
