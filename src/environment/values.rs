//! Template values and stack parameter values as the files write them, and the one merge rule.

use std::collections::BTreeMap;

use super::Setting;
use crate::diagnostic::{Diagnostic, Location};
use crate::source::{is_reference, Source};

/// A template value: plain data, possibly with value references inside.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueTree {
    Scalar(toml::Value),
    List(Vec<ValueTree>),
    Table(BTreeMap<String, ValueTree>),
    Ref(Source),
}

impl ValueTree {
    pub(super) fn parse(value: &toml::Value) -> std::result::Result<ValueTree, Diagnostic> {
        Ok(match value {
            toml::Value::Table(t) if is_reference(value) => ValueTree::Ref(Source::from_table(t)?),
            toml::Value::Table(t) => {
                let mut out = BTreeMap::new();
                for (k, v) in t {
                    out.insert(k.clone(), ValueTree::parse(v)?);
                }
                ValueTree::Table(out)
            }
            toml::Value::Array(a) => {
                ValueTree::List(a.iter().map(ValueTree::parse).collect::<std::result::Result<_, _>>()?)
            }
            other => ValueTree::Scalar(other.clone()),
        })
    }

    /// Every reference inside, depth first.
    pub fn references(&self) -> Vec<&Source> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Source>) {
        match self {
            ValueTree::Ref(s) => out.push(s),
            ValueTree::List(l) => l.iter().for_each(|v| v.collect(out)),
            ValueTree::Table(t) => t.values().for_each(|v| v.collect(out)),
            ValueTree::Scalar(_) => {}
        }
    }

    /// The value as an environment file writes it.
    pub fn to_toml(&self) -> toml::Value {
        match self {
            ValueTree::Scalar(v) => v.clone(),
            ValueTree::List(l) => toml::Value::Array(l.iter().map(|v| v.to_toml()).collect()),
            ValueTree::Table(t) => toml::Value::Table(t.iter().map(|(k, v)| (k.clone(), v.to_toml())).collect()),
            ValueTree::Ref(s) => s.to_toml(),
        }
    }

    /// `higher` over `self`: tables merge key by key, anything else is replaced whole.
    pub fn merge(self, higher: ValueTree) -> ValueTree {
        match (self, higher) {
            (ValueTree::Table(mut lo), ValueTree::Table(hi)) => {
                for (k, v) in hi {
                    let merged = match lo.remove(&k) {
                        Some(old) => old.merge(v),
                        None => v,
                    };
                    lo.insert(k, merged);
                }
                ValueTree::Table(lo)
            }
            (_, hi) => hi,
        }
    }
}

/// A stack parameter's value: a literal string or a reference.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Literal(String),
    Ref(Source),
}

impl ParamValue {
    pub(super) fn parse(value: &toml::Value) -> std::result::Result<ParamValue, Diagnostic> {
        match value {
            toml::Value::Table(t) if is_reference(value) => Ok(ParamValue::Ref(Source::from_table(t)?)),
            toml::Value::Table(_) => Err(Diagnostic::new(
                "a parameter value must be a string, number, boolean, list or a value reference with `from`",
            )),
            other => Ok(ParamValue::Literal(literal_string(other)?)),
        }
    }
}

/// How CloudFormation receives a TOML literal: lists become comma-delimited.
pub fn literal_string(value: &toml::Value) -> std::result::Result<String, Diagnostic> {
    Ok(match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(items) => {
            let parts: std::result::Result<Vec<String>, Diagnostic> = items
                .iter()
                .map(|i| match i {
                    toml::Value::Array(_) | toml::Value::Table(_) => {
                        Err(Diagnostic::new("a list parameter may hold only strings, numbers and booleans"))
                    }
                    other => literal_string(other),
                })
                .collect();
            parts?.join(",")
        }
        toml::Value::Table(_) => return Err(Diagnostic::new("a table is not a parameter value")),
    })
}

/// `--set` values are strings, except `true`, `false` and plain integers (so an image tag like `1e5` stays a string).
pub fn set_value(raw: &str) -> toml::Value {
    match raw {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => {
            let digits = raw.strip_prefix('-').unwrap_or(raw);
            let plain_int = !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_digit())
                && (digits == "0" || !digits.starts_with('0'));
            match raw.parse::<i64>() {
                Ok(i) if plain_int => toml::Value::Integer(i),
                _ => toml::Value::String(raw.to_string()),
            }
        }
    }
}

pub(super) fn nest(path: &[&str], leaf: ValueTree) -> (String, ValueTree) {
    let mut tree = leaf;
    for key in path[1..].iter().rev() {
        tree = ValueTree::Table(BTreeMap::from([(key.to_string(), tree)]));
    }
    (path[0].to_string(), tree)
}

pub(super) fn from_nested((key, tree): (String, ValueTree), origin: Location) -> BTreeMap<String, Setting<ValueTree>> {
    BTreeMap::from([(key, Setting { value: tree, origin })])
}

/// `higher` over `into`, key by key (the one merge rule, used for files, `--set` and layer values).
pub fn merge_values(into: &mut BTreeMap<String, Setting<ValueTree>>, higher: BTreeMap<String, Setting<ValueTree>>) {
    for (k, v) in higher {
        let merged = match into.remove(&k) {
            Some(old) => Setting { value: old.value.merge(v.value), origin: v.origin },
            None => v,
        };
        into.insert(k, merged);
    }
}
