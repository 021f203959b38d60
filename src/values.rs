//! The resolution phase: collect every reference the selected layers need, de-duplicate, fetch them
//! through one provider call, then evaluate expressions and build each layer's template context and
//! stack parameters. Nothing here does I/O; the provider is the only way out.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value as Json};

use crate::diagnostic::{Diagnostic, Error, Location, Result};
use crate::environment;
use crate::environment::{Environment, ParamValue, Setting, ValueTree};
use crate::project::Project;
use crate::provider::{FetchError, Fetched, Provider};
use crate::scope;
use crate::secret::Secret;
use crate::source::Source;
use crate::text::list_by;
use crate::watch;

/// A value after resolution.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Plain(String),
    Secret(Secret),
    /// Not resolved in this run; shown as the description of its source.
    Placeholder(String),
}

impl Resolved {
    /// What may be shown or written: the value, unless it is secret or unresolved.
    pub fn shown(&self, source: Option<&Source>) -> String {
        match self {
            Resolved::Plain(v) => v.clone(),
            Resolved::Placeholder(d) => d.clone(),
            Resolved::Secret(_) => source.map(|s| s.describe()).unwrap_or_else(|| "<secret>".to_string()),
        }
    }

    pub fn is_secret(&self) -> bool {
        matches!(self, Resolved::Secret(_))
    }
}

/// One stack parameter with its value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub source: Option<Source>,
    pub value: Resolved,
    pub origin: Location,
}

impl Parameter {
    pub fn is_secret(&self) -> bool {
        self.value.is_secret() || self.source.as_ref().is_some_and(|s| s.is_secret())
    }

    /// The value as it may be printed or written.
    pub fn shown(&self) -> String {
        if self.is_secret() {
            return self.source.as_ref().map(|s| s.describe()).unwrap_or_else(|| "<secret>".to_string());
        }
        self.value.shown(self.source.as_ref())
    }
}

/// A layer's resolved inputs: its template context and its stack parameters.
#[derive(Debug, Clone)]
pub struct LayerValues {
    pub layer: String,
    pub stack_name: String,
    pub context: Map<String, Json>,
    /// Every layer's stack name, shared by all layers (cheap to clone).
    pub stack_names: minijinja::Value,
    pub parameters: BTreeMap<String, Parameter>,
}

impl LayerValues {
    /// What the layer's template is rendered with: the values, the built-ins and `stack_names`.
    pub fn jinja_context(&self) -> minijinja::Value {
        jinja_context(&self.context, &self.stack_names)
    }
}

fn jinja_context(ctx: &Map<String, Json>, stack_names: &minijinja::Value) -> minijinja::Value {
    minijinja::context! { stack_names => stack_names.clone(), ..minijinja::Value::from_serialize(ctx) }
}

/// Evaluates minijinja expressions with strict undefined.
pub struct Evaluator {
    jinja: minijinja::Environment<'static>,
}

impl Default for Evaluator {
    fn default() -> Self {
        let mut jinja = minijinja::Environment::new();
        jinja.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        Evaluator { jinja }
    }
}

impl Evaluator {
    pub fn eval(&self, expr: &str, ctx: minijinja::Value) -> std::result::Result<Json, String> {
        let compiled = self.jinja.compile_expression(expr).map_err(|e| e.to_string())?;
        let value = watch::busy(|| format!("expression `{expr}`"), || compiled.eval(ctx)).map_err(|e| e.to_string())?;
        if value.is_undefined() {
            return Err("the expression is undefined".into());
        }
        serde_json::to_value(&value).map_err(|e| e.to_string())
    }
}

/// Where a reference is used, for error messages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Use {
    pub layer: Option<String>,
    pub what: String,
}

/// Every distinct non-expression reference of the layers, with its uses, in a stable order.
pub fn collect(project: &Project, env: &Environment, layers: &[String]) -> BTreeMap<Source, BTreeSet<Use>> {
    let mut out: BTreeMap<Source, BTreeSet<Use>> = BTreeMap::new();
    let mut add = |source: &Source, layer: Option<&str>, what: String| {
        if !matches!(source, Source::Expr { .. }) {
            out.entry(source.clone()).or_default().insert(Use { layer: layer.map(str::to_string), what });
        }
    };
    for (key, setting) in &env.values {
        for s in setting.value.references() {
            add(s, None, format!("value `{key}`"));
        }
    }
    for layer in layers {
        let settings = env.layer(layer);
        for (key, setting) in &settings.values {
            for s in setting.value.references() {
                add(s, Some(layer), format!("value `{key}`"));
            }
        }
        for (name, setting) in &settings.parameters {
            if let ParamValue::Ref(s) = &setting.value {
                add(
                    &s.with_defaults(&project.name, &env.name, layer, name),
                    Some(layer),
                    format!("parameter `{name}`"),
                );
            }
        }
    }
    out
}

/// Resolve the selected layers of an environment. All failures are reported together.
pub fn resolve(
    project: &Project,
    env: &Environment,
    layers: &[String],
    provider: &mut dyn Provider,
) -> Result<BTreeMap<String, LayerValues>> {
    let fetched = fetch_all(env, collect(project, env, layers), provider)?;
    let stack_names: BTreeMap<String, String> =
        project.layers.keys().map(|l| (l.clone(), env.stack_name_of(&project.name, l))).collect();
    let stack_names = minijinja::Value::from_serialize(&stack_names);
    let evaluator = Evaluator::default();
    let eval = |expr: &str, ctx: &Map<String, Json>| evaluator.eval(expr, jinja_context(ctx, &stack_names));
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for layer in layers {
        let settings = env.layer(layer);
        let stack_name = env.stack_name_of(&project.name, layer);
        let mut context = builtins(project, env, layer, &stack_name, &settings.tags);
        let mut merged: BTreeMap<String, Setting<ValueTree>> = env.values.clone();
        environment::merge_values(&mut merged, settings.values);
        let at = |what: String| format!("environment `{}`, layer `{layer}`, {what}", env.name);
        errors.extend(template_values(&merged, &fetched, &eval, &mut context, &at));
        let (parameters, mut failed) = parameters(project, env, layer, &settings.parameters, &fetched, &context, &eval);
        errors.append(&mut failed);
        out.insert(
            layer.clone(),
            LayerValues { layer: layer.clone(), stack_name, context, stack_names: stack_names.clone(), parameters },
        );
    }
    if !errors.is_empty() {
        return Err(Error::configs(errors));
    }
    Ok(out)
}

/// One provider call for every distinct reference; every reference that fails is reported at once.
fn fetch_all(
    env: &Environment,
    needed: BTreeMap<Source, BTreeSet<Use>>,
    provider: &mut dyn Provider,
) -> Result<HashMap<Source, Fetched>> {
    let requests: Vec<Source> = needed.keys().cloned().collect();
    let answers = if requests.is_empty() { Vec::new() } else { provider.fetch(&requests) };
    let mut fetched = HashMap::new();
    let mut errors = Vec::new();
    let no_answer = std::iter::repeat_with(|| Err(FetchError::new("the provider gave no answer")));
    for (source, answer) in requests.iter().zip(answers.into_iter().chain(no_answer)) {
        match answer {
            Ok(v) => {
                fetched.insert(source.clone(), v);
            }
            Err(e) => errors.push(missing(env, source, &needed[source], &e)),
        }
    }
    if errors.is_empty() {
        Ok(fetched)
    } else {
        Err(Error::configs(errors))
    }
}

/// The names every template sees besides the values.
fn builtins(
    project: &Project,
    env: &Environment,
    layer: &str,
    stack_name: &str,
    layer_tags: &BTreeMap<String, String>,
) -> Map<String, Json> {
    let mut context = Map::new();
    context.insert("project".into(), Json::String(project.name.clone()));
    context.insert("env".into(), Json::String(env.name.clone()));
    context.insert("region".into(), Json::String(scope::region_of(project, layer, env)));
    context.insert("account_id".into(), env.account_id.clone().map(Json::String).unwrap_or(Json::Null));
    context.insert("protected".into(), Json::Bool(env.protected));
    context.insert("layer".into(), Json::String(layer.to_string()));
    context.insert("stack_name".into(), Json::String(stack_name.to_string()));
    let mut tags: BTreeMap<String, String> = env.tags.clone();
    tags.extend(layer_tags.clone());
    context.insert("tags".into(), serde_json::to_value(&tags).unwrap_or(Json::Null));
    context
}

/// The template values of a layer into `context`: plain and fetched ones first, then expressions (which
/// may use each other: evaluated in passes until nothing more succeeds), then expressions nested in
/// tables and lists (which see the top-level values). Returns what failed.
fn template_values(
    merged: &BTreeMap<String, Setting<ValueTree>>,
    fetched: &HashMap<Source, Fetched>,
    eval: &dyn Fn(&str, &Map<String, Json>) -> std::result::Result<Json, String>,
    context: &mut Map<String, Json>,
    at: &dyn Fn(String) -> String,
) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let mut pending: Vec<(String, String, Location)> = Vec::new();
    for (key, setting) in merged {
        match &setting.value {
            ValueTree::Ref(Source::Expr { expr }) => pending.push((key.clone(), expr.clone(), setting.origin.clone())),
            tree => {
                context.insert(key.clone(), to_json(tree, fetched));
            }
        }
    }
    loop {
        let before = pending.len();
        let mut still = Vec::new();
        let mut last_errors = Vec::new();
        for (key, expr, origin) in pending {
            match eval(&expr, context) {
                Ok(v) => {
                    context.insert(key, v);
                }
                Err(e) => {
                    last_errors.push(
                        Diagnostic::new(at(format!("value `{key}`: expression `{expr}` failed: {e}")))
                            .at(origin.clone()),
                    );
                    still.push((key, expr, origin));
                }
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        if pending.len() == before {
            errors.extend(last_errors);
            break;
        }
    }
    for (key, setting) in merged {
        if !matches!(setting.value, ValueTree::Ref(Source::Expr { .. })) && has_nested_expr(&setting.value) {
            match eval_nested(&setting.value, context, fetched, eval) {
                Ok(v) => {
                    context.insert(key.clone(), v);
                }
                Err(e) => errors.push(Diagnostic::new(at(format!("value `{key}`: {e}"))).at(setting.origin.clone())),
            }
        }
    }
    errors
}

/// A layer's stack parameters: literals, expressions over the context, and fetched references (a
/// reference not resolved in this run is a placeholder showing its source).
fn parameters(
    project: &Project,
    env: &Environment,
    layer: &str,
    settings: &BTreeMap<String, Setting<ParamValue>>,
    fetched: &HashMap<Source, Fetched>,
    context: &Map<String, Json>,
    eval: &dyn Fn(&str, &Map<String, Json>) -> std::result::Result<Json, String>,
) -> (BTreeMap<String, Parameter>, Vec<Diagnostic>) {
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for (name, setting) in settings {
        let (source, value) = match &setting.value {
            ParamValue::Literal(s) => (None, Resolved::Plain(s.clone())),
            ParamValue::Ref(Source::Expr { expr }) => match eval(expr, context) {
                Ok(v) => (Some(Source::Expr { expr: expr.clone() }), Resolved::Plain(json_param_string(&v))),
                Err(e) => {
                    errors.push(
                        Diagnostic::new(format!(
                            "environment `{}`, layer `{layer}`, parameter `{name}`: expression `{expr}` failed: {e}",
                            env.name
                        ))
                        .at(setting.origin.clone()),
                    );
                    continue;
                }
            },
            ParamValue::Ref(s) => {
                let s = s.with_defaults(&project.name, &env.name, layer, name);
                let value = match fetched.get(&s) {
                    Some(Fetched::Plain(v)) => Resolved::Plain(v.clone()),
                    // A secret-typed answer is a secret, whatever the source was declared.
                    Some(Fetched::Secret(v)) => Resolved::Secret(v.clone()),
                    Some(Fetched::Placeholder) | None => Resolved::Placeholder(s.describe()),
                };
                (Some(s), value)
            }
        };
        out.insert(name.clone(), Parameter { name: name.clone(), source, value, origin: setting.origin.clone() });
    }
    (out, errors)
}

fn missing(env: &Environment, source: &Source, uses: &BTreeSet<Use>, e: &FetchError) -> Diagnostic {
    let places: Vec<String> = uses
        .iter()
        .map(|u| match &u.layer {
            Some(l) => format!("layer `{l}`, {}", u.what),
            None => u.what.clone(),
        })
        .collect();
    Diagnostic::new(format!("environment `{}`: {} could not be resolved: {}", env.name, source.describe(), e.message))
        .note(format!("needed by {}", list_by(&places, "; ")))
        .hint_opt(e.hint.clone())
}

/// A value tree as template data. Secrets are never substituted: they appear as their description.
fn to_json(tree: &ValueTree, fetched: &HashMap<Source, Fetched>) -> Json {
    match tree {
        ValueTree::Scalar(v) => toml_to_json(v),
        ValueTree::List(items) => Json::Array(items.iter().map(|i| to_json(i, fetched)).collect()),
        ValueTree::Table(t) => Json::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v, fetched))).collect()),
        ValueTree::Ref(s) => match fetched.get(s) {
            Some(Fetched::Plain(v)) if !s.is_secret() => Json::String(v.clone()),
            _ => Json::String(s.describe()),
        },
    }
}

fn has_nested_expr(tree: &ValueTree) -> bool {
    match tree {
        ValueTree::Ref(Source::Expr { .. }) => true,
        ValueTree::List(l) => l.iter().any(has_nested_expr),
        ValueTree::Table(t) => t.values().any(has_nested_expr),
        _ => false,
    }
}

type Eval<'a> = dyn Fn(&str, &Map<String, Json>) -> std::result::Result<Json, String> + 'a;

fn eval_nested(
    tree: &ValueTree,
    ctx: &Map<String, Json>,
    fetched: &HashMap<Source, Fetched>,
    eval: &Eval<'_>,
) -> std::result::Result<Json, String> {
    Ok(match tree {
        ValueTree::Ref(Source::Expr { expr }) => {
            eval(expr, ctx).map_err(|e| format!("expression `{expr}` failed: {e}"))?
        }
        ValueTree::List(items) => Json::Array(
            items.iter().map(|i| eval_nested(i, ctx, fetched, eval)).collect::<std::result::Result<_, _>>()?,
        ),
        ValueTree::Table(t) => {
            let mut m = Map::new();
            for (k, v) in t {
                m.insert(k.clone(), eval_nested(v, ctx, fetched, eval)?);
            }
            Json::Object(m)
        }
        other => to_json(other, fetched),
    })
}

pub fn toml_to_json(v: &toml::Value) -> Json {
    match v {
        toml::Value::String(s) => Json::String(s.clone()),
        toml::Value::Integer(i) => Json::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map(Json::Number).unwrap_or(Json::Null),
        toml::Value::Boolean(b) => Json::Bool(*b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Array(a) => Json::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Json::Object(t.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect()),
    }
}

/// A JSON value as CloudFormation receives a parameter: strings as is, lists comma-delimited.
pub fn json_param_string(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Array(items) => items.iter().map(json_param_string).collect::<Vec<_>>().join(","),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Memory;

    pub(crate) fn fixture(env_toml: &str) -> (tempfile::TempDir, Project, Environment) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("stackc.toml"), "name = \"demo\"\n").unwrap();
        for l in ["net", "db"] {
            std::fs::create_dir_all(root.join("stacks").join(l)).unwrap();
            std::fs::write(root.join("stacks").join(l).join("template.yaml.j2"), "Resources: {}\n").unwrap();
        }
        std::fs::create_dir_all(root.join("environments")).unwrap();
        std::fs::write(root.join("environments/qa.toml"), env_toml).unwrap();
        let project = Project::load(root).unwrap();
        let env = crate::environment::load(&project, "qa", &[]).unwrap();
        (dir, project, env)
    }

    #[test]
    fn references_are_deduplicated_and_fetched_in_one_batch() {
        let (_d, project, env) = fixture(
            r#"
region = "us-east-1"
[layers.net.parameters]
A = { from = "ssm", name = "/x" }
B = { from = "ssm", name = "/x" }
C = { from = "ssm", name = "/y" }
[layers.db.parameters]
D = { from = "ssm", name = "/x" }
"#,
        );
        let mut p = Memory::default()
            .with(Source::Ssm { name: "/x".into() }, Fetched::Plain("X".into()))
            .with(Source::Ssm { name: "/y".into() }, Fetched::Plain("Y".into()));
        let layers = vec!["db".to_string(), "net".to_string()];
        let out = resolve(&project, &env, &layers, &mut p).unwrap();
        assert_eq!(p.batches.len(), 1);
        assert_eq!(p.batches[0].len(), 2);
        assert_eq!(out["net"].parameters["B"].value, Resolved::Plain("X".into()));
        assert_eq!(out["db"].parameters["D"].value, Resolved::Plain("X".into()));
    }

    #[test]
    fn every_missing_value_is_reported_at_once() {
        let (_d, project, env) = fixture(
            r#"
region = "us-east-1"
[layers.net.parameters]
A = { from = "ssm", name = "/missing-a" }
[layers.db.parameters]
B = { from = "secretsmanager", id = "demo/qa/db", key = "password" }
"#,
        );
        let err = resolve(&project, &env, &["db".into(), "net".into()], &mut Memory::default()).unwrap_err();
        assert_eq!(err.diagnostics.len(), 2);
        let all = err.to_string();
        assert!(all.contains("<ssm:/missing-a>") && all.contains("layer `net`, parameter `A`"), "{all}");
        assert!(
            all.contains("secretsmanager:demo/qa/db#password") && all.contains("layer `db`, parameter `B`"),
            "{all}"
        );
    }

    #[test]
    fn expressions_see_values_in_any_order_and_layer_overrides() {
        let (_d, project, env) = fixture(
            r#"
region = "eu-west-1"
[values]
www = { from = "expr", expr = "'www.' ~ domain" }
domain = "example.com"
size = "small"
[layers.db.values]
size = "large"
[layers.db.parameters]
Label = { from = "expr", expr = "env ~ '-' ~ size ~ '-' ~ www" }
"#,
        );
        let out = resolve(&project, &env, &["db".into()], &mut Memory::default()).unwrap();
        assert_eq!(out["db"].parameters["Label"].value, Resolved::Plain("qa-large-www.example.com".into()));
    }

    #[test]
    fn an_undefined_name_in_an_expression_is_an_error_naming_the_value() {
        let (_d, project, env) =
            fixture("region = \"eu-west-1\"\n[values]\nx = { from = \"expr\", expr = \"nope ~ 'a'\" }\n");
        let err = resolve(&project, &env, &["db".into()], &mut Memory::default()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("value `x`") && text.contains("qa.toml:3"), "{text}");
    }

    #[test]
    fn secrets_are_never_template_data_and_parameters_show_descriptions() {
        let (_d, project, env) = fixture(
            r#"
region = "eu-west-1"
[values]
leak = { from = "ssm-secure", name = "/k" }
[layers.db.parameters]
Password = { from = "keyring" }
"#,
        );
        let kr = Source::Keyring { service: Some("stackc/demo/qa".into()), account: Some("db/Password".into()) };
        let mut p = Memory::default()
            .with(Source::SsmSecure { name: "/k".into() }, Fetched::Secret(Secret::new("canary-1")))
            .with(kr, Fetched::Secret(Secret::new("canary-2")));
        let out = resolve(&project, &env, &["db".into()], &mut p).unwrap();
        let ctx = serde_json::to_string(&out["db"].context).unwrap();
        assert!(!ctx.contains("canary"), "{ctx}");
        let param = &out["db"].parameters["Password"];
        assert!(param.is_secret());
        assert_eq!(param.shown(), "<secret from keyring:stackc/demo/qa/db/Password>");
        assert!(!format!("{param:?}").contains("canary"));
    }
}
