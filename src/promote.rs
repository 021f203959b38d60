//! Comparing two environments and carrying settings from one into the other's file.
//! Pure: the settings come from loaded environments; the edit works on the target file's text with
//! toml_edit, so its comments, key order and formatting stay.

use std::collections::{BTreeMap, BTreeSet};

use toml_edit::{DocumentMut, Item, Table, Value};

use crate::environment::{Environment, ParamValue};
use crate::project::Project;
use crate::scope;

/// One setting of an environment, by key path (`image_tag`, `layers.db.parameters.InstanceClass`).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub raw: toml::Value,
    pub secret: bool,
}

impl Entry {
    /// How the value reads in an environment file (a reference shows as its inline table).
    pub fn shown(&self) -> String {
        match &self.raw {
            toml::Value::String(s) => s.clone(),
            other => to_edit_value(other).to_string().trim().to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// Carried over by promote.
    Promotable,
    /// Declared as belonging to one environment (`pinned`); never carried.
    Pinned,
    /// A secret source; the target keeps its own.
    Secret,
    /// The value names the source environment (why); carried only with --allow-env-names.
    NamesSource(String),
    /// A setting of a layer the target environment does not have (`environments`, `enabled = false`).
    LayerNotInTarget,
    /// The target takes only what its `promotable` list names, and this is not among it.
    NotInAllowList,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub path: String,
    pub from: Option<Entry>,
    pub to: Option<Entry>,
    pub class: Class,
}

/// Every template value and parameter of the environment, flattened to key paths.
pub fn settings(project: &Project, env: &Environment) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    for (k, v) in &env.values {
        out.insert(
            k.clone(),
            Entry { raw: v.value.to_toml(), secret: v.value.references().iter().any(|s| s.is_secret()) },
        );
    }
    for layer in project.layers.keys() {
        let settings = env.layer(layer);
        for (k, v) in &settings.values {
            out.insert(
                format!("layers.{layer}.values.{k}"),
                Entry { raw: v.value.to_toml(), secret: v.value.references().iter().any(|s| s.is_secret()) },
            );
        }
        for (k, v) in &settings.parameters {
            let path = format!("layers.{layer}.parameters.{k}");
            let secret = matches!(&v.value, ParamValue::Ref(s) if s.is_secret());
            let raw = env.raw_parameters.get(&path).cloned().unwrap_or_else(|| match &v.value {
                ParamValue::Literal(s) => toml::Value::String(s.clone()),
                ParamValue::Ref(s) => s.to_toml(),
            });
            out.insert(path, Entry { raw, secret });
        }
    }
    out
}

/// `pattern` matches `path` segment by segment; `*` matches one segment, a trailing `*` any rest.
pub fn pinned_match(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let s: Vec<&str> = path.split('.').collect();
    for (i, seg) in p.iter().enumerate() {
        if *seg == "*" && i == p.len() - 1 {
            return s.len() >= p.len();
        }
        match s.get(i) {
            Some(x) if *seg == "*" || seg == x => {}
            _ => return false,
        }
    }
    p.len() == s.len()
}

/// Why a value identifies the source environment, if it does.
pub fn names_source(text: &str, project: &Project, source: &Environment) -> Option<String> {
    if let Some(acct) = &source.account_id {
        if text.contains(acct.as_str()) {
            return Some(format!("it holds `{}`'s account id {acct}", source.name));
        }
    }
    for layer in project.layers.keys() {
        let stack = source.stack_name_of(&project.name, layer);
        if text.contains(&stack) {
            return Some(format!("it holds the stack name {stack}"));
        }
    }
    let lower = text.to_ascii_lowercase();
    let word = source.name.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut from = 0;
    while let Some(i) = lower[from..].find(&word).map(|i| i + from) {
        let before = i.checked_sub(1).map(|j| bytes[j].is_ascii_alphanumeric()).unwrap_or(false);
        let after = bytes.get(i + word.len()).map(|b| b.is_ascii_alphanumeric()).unwrap_or(false);
        if !before && !after {
            return Some(format!("it names `{}`", source.name));
        }
        from = i + word.len();
    }
    None
}

/// Settings that differ between two environments, classified for promotion from `source` to `target`.
pub fn differences(project: &Project, source: &Environment, target: &Environment) -> Vec<Difference> {
    let a = settings(project, source);
    let b = settings(project, target);
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let pinned: Vec<&String> = source.pinned.iter().chain(target.pinned.iter()).collect();
    let mut out = Vec::new();
    for k in keys {
        let (from, to) = (a.get(k), b.get(k));
        if from == to {
            continue;
        }
        let layer = k.strip_prefix("layers.").and_then(|r| r.split('.').next());
        let class = if layer.is_some_and(|l| project.layers.contains_key(l) && !scope::layer_in(project, l, target)) {
            Class::LayerNotInTarget
        } else if from.is_some_and(|e| e.secret) || to.is_some_and(|e| e.secret) {
            Class::Secret
        } else if pinned.iter().any(|p| pinned_match(p, k)) {
            Class::Pinned
        } else if target.promotable.as_ref().is_some_and(|allow| !allow.iter().any(|p| pinned_match(p, k))) {
            Class::NotInAllowList
        } else if let Some(why) = from.and_then(|f| names_source(&f.shown(), project, source)) {
            Class::NamesSource(why)
        } else {
            Class::Promotable
        };
        out.push(Difference { path: k.clone(), from: from.cloned(), to: to.cloned(), class });
    }
    out
}

/// A toml_edit value for a toml value (tables inline).
pub fn to_edit_value(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::from(s.as_str()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::from(*b),
        toml::Value::Datetime(d) => d.to_string().parse::<Value>().unwrap_or_else(|_| Value::from(d.to_string())),
        toml::Value::Array(a) => {
            let mut arr = toml_edit::Array::new();
            for x in a {
                arr.push(to_edit_value(x));
            }
            Value::Array(arr)
        }
        toml::Value::Table(t) => {
            let mut it = toml_edit::InlineTable::new();
            for (k, x) in t {
                it.insert(k, to_edit_value(x));
            }
            Value::InlineTable(it)
        }
    }
}

/// Set each key path in the environment file's text; everything else in the file stays as it was.
pub fn apply(text: &str, edits: &[(String, toml::Value)]) -> Result<String, String> {
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| e.to_string())?;
    for (path, value) in edits {
        let segs: Vec<&str> = path.split('.').collect();
        let (last, parents) = segs.split_last().ok_or("empty key path")?;
        let parents: Vec<&str> = if parents.is_empty() { vec!["values"] } else { parents.to_vec() };
        let mut table: &mut Table = doc.as_table_mut();
        for (i, seg) in parents.iter().enumerate() {
            if !table.contains_key(seg) {
                let mut t = Table::new();
                // Intermediate tables (`layers`, `layers.db`) stay implicit: only `[layers.db.parameters]` shows.
                t.set_implicit(i + 1 < parents.len());
                table.insert(seg, Item::Table(t));
            }
            table = match table.get_mut(seg) {
                Some(Item::Table(t)) => t,
                Some(Item::Value(Value::InlineTable(_))) => {
                    return Err(format!("`{}` is an inline table; stackc will not rewrite it", parents[..=i].join(".")))
                }
                _ => return Err(format!("`{}` is not a table", parents[..=i].join("."))),
            };
        }
        let mut new = to_edit_value(value);
        match table.get_mut(last) {
            Some(Item::Value(old)) => {
                let decor = old.decor().clone();
                *new.decor_mut() = decor;
                *old = new;
            }
            _ => {
                table.insert(last, Item::Value(new));
            }
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_patterns() {
        assert!(pinned_match("domain", "domain"));
        assert!(!pinned_match("domain", "domain_x"));
        assert!(pinned_match("layers.*.parameters.CertificateArn", "layers.cluster.parameters.CertificateArn"));
        assert!(pinned_match("layers.ddb.parameters.*", "layers.ddb.parameters.ReadCapacityUnits"));
        assert!(!pinned_match("layers.ddb.parameters.*", "layers.db.parameters.ReadCapacityUnits"));
    }

    #[test]
    fn edits_keep_comments_order_and_formatting() {
        let text = "# prod\nextends = \"_shared\"\n\n[values]\n# the tag qa tested\nimage_tag = \"old\"   # promoted from qa\ndomain = \"x\"\n\n[layers.db.parameters]\nInstanceClass = \"db.r6g.large\"\n";
        let out = apply(
            text,
            &[
                ("image_tag".into(), toml::Value::String("new".into())),
                ("layers.service.parameters.DesiredCount".into(), toml::Value::Integer(3)),
                ("layers.db.parameters.MultiAZ".into(), toml::Value::Boolean(true)),
            ],
        )
        .unwrap();
        assert!(out.starts_with("# prod\nextends = \"_shared\"\n\n[values]\n# the tag qa tested\nimage_tag = \"new\"   # promoted from qa\ndomain = \"x\"\n"), "{out}");
        assert!(out.contains("[layers.db.parameters]\nInstanceClass = \"db.r6g.large\"\nMultiAZ = true\n"), "{out}");
        assert!(out.contains("[layers.service.parameters]\nDesiredCount = 3\n"), "{out}");
        assert!(!out.contains("[layers]\n") && !out.contains("[layers.service]\n"), "{out}");
        // Applying the same again changes nothing.
        assert_eq!(apply(&out, &[("image_tag".into(), toml::Value::String("new".into()))]).unwrap(), out);
    }
}
