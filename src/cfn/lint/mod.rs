//! A rendered template against the resource schemas, offline: resource types that exist (in the layer's
//! region), properties known for their type at any depth, required properties present, primitive types,
//! enum values and patterns, `Fn::GetAtt` attributes, `DependsOn` targets, resource attribute names, and
//! secrets (NoEcho parameters) reaching only write-only properties. Findings are data with a path into
//! the template; `locate` turns the path into a line.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value as Json};

use crate::diagnostic::suggestion;

use super::finding::{Finding, Rule, Seg};
use super::schema::{schemas, Prop, ResourceSchema};
use super::template::Template;

const RESOURCE_KEYS: &[&str] = &[
    "Type",
    "Properties",
    "DependsOn",
    "Condition",
    "Metadata",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "UpdatePolicy",
    "CreationPolicy",
    "Version",
];

/// What the checks need besides the template.
pub struct Context<'a> {
    pub region: &'a str,
    /// `Resource.Property` pairs the layer accepts a secret in (layer.toml `secrets_readable_in`).
    pub accepted_secret_sinks: &'a [String],
    /// (type, property) pairs packaging rewrites from a local path (`Code: src`) before anything is sent.
    pub packaged: &'a [(&'a str, &'a str)],
}

/// Every schema finding of `template`, and those of its own declarations (`declarations::check`).
pub fn lint(template: &Template, ctx: &Context) -> Vec<Finding> {
    let transforms = template.transforms();
    // A macro other than SAM and the language extensions can rewrite anything: only SAM's own types and
    // the ForEach keys are skipped for those two; any other transform turns the schema checks off.
    if transforms.iter().any(|t| !t.starts_with("AWS::Serverless") && t != "AWS::LanguageExtensions") {
        return Vec::new();
    }
    let declared = super::declarations::check(template);
    let Some(resources) = template.section("Resources") else { return declared };
    let secrets: BTreeSet<String> = template.parameters().into_iter().filter(|p| p.no_echo).map(|p| p.name).collect();
    let mut l = Linter { out: Vec::new(), patterns: HashMap::new(), types: HashMap::new() };
    for (id, r) in resources {
        if id.starts_with("Fn::ForEach") {
            continue;
        }
        l.resource(id, r, resources, ctx, &secrets, !transforms.is_empty());
    }
    l.getatts(&template.body, resources);
    l.out.extend(declared);
    l.out
}

struct Linter {
    out: Vec<Finding>,
    patterns: HashMap<String, Option<regex_lite::Regex>>,
    types: HashMap<String, Option<std::sync::Arc<ResourceSchema>>>,
}

fn is_checked_type(t: &str) -> bool {
    (t.starts_with("AWS::") || t.starts_with("Alexa::"))
        && t != "AWS::CloudFormation::CustomResource"
        && !t.ends_with("::MODULE")
}

impl Linter {
    fn schema(&mut self, type_name: &str) -> Option<std::sync::Arc<ResourceSchema>> {
        self.types.entry(type_name.to_string()).or_insert_with(|| schemas().resource(type_name)).clone()
    }

    fn push(&mut self, rule: Rule, resource: &str, path: Vec<Seg>, message: String, hint: Option<String>) {
        self.out.push(Finding { rule, resource: resource.to_string(), path, message, hint });
    }

    fn resource(
        &mut self,
        id: &str,
        r: &Json,
        all: &Map<String, Json>,
        ctx: &Context,
        secrets: &BTreeSet<String>,
        transformed: bool,
    ) {
        let base = vec![Seg::key("Resources"), Seg::key(id)];
        let Some(body) = r.as_object() else { return };
        self.resource_keys(id, body, &base, all, transformed);
        let Some(type_name) = body.get("Type").and_then(|t| t.as_str()) else {
            let mut at = base.clone();
            at.truncate(2);
            self.push(Rule::MissingType, id, at, format!("resource `{id}` has no `Type`"), None);
            return;
        };
        let at_type = [base.clone(), vec![Seg::key("Type")]].concat();
        if type_name.ends_with("::MODULE") {
            let m = format!("resource `{id}` is of module type `{type_name}`, which stackc cannot check offline");
            self.push(Rule::ModuleType, id, at_type, m, None);
            return;
        }
        if !is_checked_type(type_name) || (transformed && type_name.starts_with("AWS::Serverless::")) {
            return;
        }
        let Some(schema) = self.schema(type_name) else {
            let hint = suggestion(type_name, schemas().type_names());
            let m = format!("resource `{id}`: `{type_name}` is not a CloudFormation resource type");
            self.push(Rule::UnknownType, id, at_type, m, hint);
            return;
        };
        if !schemas().in_region(type_name, ctx.region) {
            let m = format!("resource `{id}`: `{type_name}` is not available in {}", ctx.region);
            self.push(Rule::TypeNotInRegion, id, at_type, m, None);
        }
        let local_paths: Vec<&str> = ctx.packaged.iter().filter(|(t, _)| *t == type_name).map(|(_, p)| *p).collect();
        let unpackaged;
        let mut props = body.get("Properties").unwrap_or(&Json::Null);
        if let Some(m) =
            props.as_object().filter(|m| local_paths.iter().any(|p| m.get(*p).is_some_and(Json::is_string)))
        {
            // A local path here becomes the property's deployed form when the layer is packaged.
            let mut m = m.clone();
            for (k, v) in m.iter_mut().filter(|(k, v)| local_paths.contains(&k.as_str()) && v.is_string()) {
                *v = serde_json::json!({ "Fn::Packaged": k });
            }
            unpackaged = Json::Object(m);
            props = &unpackaged;
        }
        let mut at = base.clone();
        at.push(Seg::key("Properties"));
        let root = schema.root();
        if props.is_null() {
            self.required(id, &schema, &root, &Map::new(), &base);
        } else {
            self.value(id, &schema, &root, props, &mut at, &mut Vec::new());
        }
        self.secret_sinks(id, type_name, &schema, props, ctx, secrets, &base);
    }

    fn resource_keys(
        &mut self,
        id: &str,
        body: &Map<String, Json>,
        base: &[Seg],
        all: &Map<String, Json>,
        transformed: bool,
    ) {
        for key in body.keys().filter(|k| !RESOURCE_KEYS.contains(&k.as_str())) {
            let hint = suggestion(key, RESOURCE_KEYS.iter().copied());
            let at = [base.to_vec(), vec![Seg::key(key)]].concat();
            self.push(
                Rule::UnknownResourceAttribute,
                id,
                at,
                format!("resource `{id}`: `{key}` is not a resource attribute"),
                hint,
            );
        }
        let depends: Vec<(Option<usize>, &str)> = match body.get("DependsOn") {
            Some(Json::String(s)) => vec![(None, s.as_str())],
            Some(Json::Array(a)) => {
                a.iter().enumerate().filter_map(|(i, v)| v.as_str().map(|s| (Some(i), s))).collect()
            }
            _ => Vec::new(),
        };
        for (i, target) in depends {
            // SAM makes resources named after the ones it expands (`FnRole`): those exist after the transform.
            let generated = transformed && all.keys().any(|k| target.starts_with(k.as_str()) && target != k);
            if (!all.contains_key(target) && !generated) || target == id {
                let mut at = [base.to_vec(), vec![Seg::key("DependsOn")]].concat();
                at.extend(i.map(Seg::Index));
                let why = if target == id { "itself" } else { "a resource that does not exist" };
                let hint = suggestion(target, all.keys().map(|k| k.as_str()).filter(|k| *k != id));
                self.push(
                    Rule::UnknownDependency,
                    id,
                    at,
                    format!("resource `{id}` depends on `{target}`, {why}"),
                    hint,
                );
            }
        }
    }

    /// Check `v` against `prop`; `names` is the property path without indexes (`*` for items).
    fn value(
        &mut self,
        id: &str,
        s: &ResourceSchema,
        prop: &Prop,
        v: &Json,
        at: &mut Vec<Seg>,
        names: &mut Vec<String>,
    ) {
        let prop = s.resolve(prop);
        if let Json::Object(m) = v {
            if let Some(Json::Array(branches)) = m.get("Fn::If").filter(|_| m.len() == 1) {
                for (i, b) in branches.iter().enumerate().skip(1).take(2) {
                    at.extend([Seg::key("Fn::If"), Seg::Index(i)]);
                    self.value(id, s, prop, b, at, names);
                    at.truncate(at.len() - 2);
                }
                return;
            }
        }
        if is_intrinsic(v) {
            return;
        }
        match (prop.kind(), v) {
            ("*" | "j", _) => {}
            ("o", Json::Object(m)) => self.object(id, s, prop, m, at, names),
            ("a", Json::Array(items)) => {
                let item = prop.i.as_deref().cloned().unwrap_or_default();
                names.push("*".into());
                for (i, x) in items.iter().enumerate() {
                    at.push(Seg::Index(i));
                    self.value(id, s, &item, x, at, names);
                    at.pop();
                }
                names.pop();
            }
            (kind, v) => self.scalar(id, prop, kind, v, at, names),
        }
    }

    fn object(
        &mut self,
        id: &str,
        s: &ResourceSchema,
        prop: &Prop,
        m: &Map<String, Json>,
        at: &mut Vec<Seg>,
        names: &mut Vec<String>,
    ) {
        let Some(known) = &prop.p else { return };
        for (k, v) in m {
            if k.starts_with("Fn::ForEach") || k == "Fn::Transform" {
                continue;
            }
            at.push(Seg::Key(k.clone()));
            names.push(k.clone());
            match known.get(k) {
                Some(child) => self.value(id, s, child, v, at, names),
                None if prop.open == Some(1) => {}
                None => {
                    let hint = suggestion(k, known.keys().map(|k| k.as_str()));
                    let place = if names.len() > 1 {
                        format!(" in `{}`", names[..names.len() - 1].join("."))
                    } else {
                        String::new()
                    };
                    let m = format!("resource `{id}`: `{k}` is not a property{place} of its type");
                    self.push(Rule::UnknownProperty, id, at.clone(), m, hint);
                }
            }
            names.pop();
            at.pop();
        }
        self.required(id, s, prop, m, at);
    }

    fn required(&mut self, id: &str, _s: &ResourceSchema, prop: &Prop, m: &Map<String, Json>, at: &[Seg]) {
        // A mapping built by an intrinsic at its top cannot be checked key by key.
        if m.keys().any(|k| k.starts_with("Fn::")) {
            return;
        }
        let missing: Vec<&String> = prop.r.iter().filter(|r| !m.contains_key(*r)).collect();
        if missing.is_empty() {
            return;
        }
        let list = missing.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ");
        let what = if missing.len() == 1 { "property" } else { "properties" };
        let m = format!("resource `{id}`: required {what} {list} missing");
        self.push(Rule::MissingProperty, id, at.to_vec(), m, None);
    }

    fn scalar(&mut self, id: &str, prop: &Prop, kind: &str, v: &Json, at: &[Seg], names: &[String]) {
        let name = names.join(".");
        let wrong = |want: &str| format!("resource `{id}`: `{name}` must be {want}, not {}", describe(v));
        let problem = match (kind, v) {
            ("s", Json::String(_) | Json::Number(_) | Json::Bool(_)) => None,
            ("s", _) => Some(wrong("a string")),
            ("i", Json::Number(n)) if n.is_i64() || n.is_u64() => None,
            ("i", Json::String(t)) if t.trim().parse::<i64>().is_ok() => None,
            ("i", _) => Some(wrong("an integer")),
            ("n", Json::Number(_)) => None,
            ("n", Json::String(t)) if t.trim().parse::<f64>().is_ok_and(f64::is_finite) => None,
            ("n", _) => Some(wrong("a number")),
            ("b", Json::Bool(_)) => None,
            ("b", Json::String(t)) if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") => None,
            ("b", _) => Some(wrong("a boolean")),
            ("o", _) => Some(wrong("a mapping")),
            ("a", _) => Some(wrong("a list")),
            _ => None,
        };
        if let Some(m) = problem {
            self.push(Rule::WrongType, id, at.to_vec(), m, None);
            return;
        }
        let text = match v {
            Json::String(s) => s.clone(),
            Json::Number(n) => n.to_string(),
            Json::Bool(b) => b.to_string(),
            _ => return,
        };
        if let Some(allowed) = &prop.e {
            let shown: Vec<String> = allowed.iter().map(scalar_text).collect();
            if !shown.contains(&text) {
                let hint = suggestion(&text, shown.iter().map(|s| s.as_str()));
                let list = if shown.len() > 12 { format!("{}, ...", shown[..12].join(", ")) } else { shown.join(", ") };
                let m = format!("resource `{id}`: `{name}` is `{text}`, not one of: {list}");
                self.push(Rule::NotInEnum, id, at.to_vec(), m, hint);
            }
        }
        if let Some(pattern) = &prop.pt {
            let re =
                self.patterns.entry(pattern.clone()).or_insert_with(|| regex_lite::Regex::new(pattern).ok()).clone();
            if re.is_some_and(|re| !re.is_match(&text)) {
                let m = format!("resource `{id}`: `{name}` is `{text}`, which does not match the pattern `{pattern}`");
                self.push(Rule::NoPatternMatch, id, at.to_vec(), m, None);
            }
        }
    }

    /// Every `Fn::GetAtt` (and `Fn::Sub` `${Resource.Attribute}`) names an attribute the resource's type has.
    fn getatts(&mut self, body: &Json, resources: &Map<String, Json>) {
        let mut found = Vec::new();
        getatt_walk(body, &mut Vec::new(), &mut found);
        for (path, resource, attribute) in found {
            let Some(type_name) = resources.get(&resource).and_then(|r| r.get("Type")).and_then(|t| t.as_str()) else {
                continue;
            };
            if !is_checked_type(type_name) {
                continue;
            }
            let Some(schema) = self.schema(type_name) else { continue };
            if !schema.has_attribute(&attribute) {
                let names = schema.attribute_names();
                let hint = suggestion(&attribute, names.iter().copied());
                let m =
                    format!("`{resource}.{attribute}`: `{type_name}` has no attribute `{attribute}` for Fn::GetAtt");
                self.push(Rule::UnknownAttribute, &resource, path, m, hint);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn secret_sinks(
        &mut self,
        id: &str,
        type_name: &str,
        schema: &ResourceSchema,
        props: &Json,
        ctx: &Context,
        secrets: &BTreeSet<String>,
        base: &[Seg],
    ) {
        if secrets.is_empty() || type_name == "AWS::CloudFormation::Stack" {
            // A nested stack's parameters are checked against the child's NoEcho declarations.
            return;
        }
        let mut sinks = Vec::new();
        secret_walk(props, &mut vec![Seg::key("Properties")], &mut Vec::new(), secrets, &mut sinks);
        for (at, names, parameter) in sinks {
            let property = names.join(".");
            let accepted = ctx.accepted_secret_sinks.iter().any(|a| {
                a == &format!("{id}.{property}") || a == &format!("{id}.{}", names.first().cloned().unwrap_or_default())
            });
            if schema.is_write_only(&names) || accepted {
                continue;
            }
            let m = format!(
                "resource `{id}`: the NoEcho parameter `{parameter}` reaches `{property}`, which `{type_name}` returns on \
                 read: the secret could be read back from the resource, and out through any Ref or GetAtt of it"
            );
            let hint = format!(
                "pass it only to a write-only property (one CloudFormation never returns, such as a password), or, if \
                 this resource must hold it, list it in the layer's layer.toml: secrets_readable_in = [\"{id}.{}\"]",
                names.first().cloned().unwrap_or_default()
            );
            let path = [base.to_vec(), at].concat();
            self.push(Rule::SecretInReadableProperty, id, path, m, Some(hint));
        }
    }
}

fn scalar_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn describe(v: &Json) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(b) => format!("`{b}`"),
        Json::Number(n) => format!("`{n}`"),
        Json::String(s) if s.chars().count() > 40 => "a string".into(),
        Json::String(s) => format!("`{s}`"),
        Json::Array(_) => "a list".into(),
        Json::Object(_) => "a mapping".into(),
    }
}

mod walks;

pub use walks::getatt_walk;
use walks::{is_intrinsic, secret_walk};

#[cfg(test)]
mod tests;
