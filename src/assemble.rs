//! One environment, resolved and rendered (`layers` gives each layer `Assembled`): the input of render,
//! validate and (later) plan. Named apart from a layer's `[build]` commands (`edge::build_step`) and from
//! Cargo's build script.

use std::collections::BTreeMap;

use crate::cfn::template::{ParseError, Template};
use crate::diagnostic::{Diagnostic, Error, Location, Result};
use crate::environment::Environment;
use crate::package;
use crate::package::function::Collector;
use crate::project::{Layer, Project};
use crate::provider::Provider;
use crate::render::Renderer;
use crate::scope;
use crate::values::{self, LayerValues};

#[derive(Debug, Clone)]
pub struct Assembled {
    pub values: LayerValues,
    pub text: String,
    pub template: std::result::Result<Template, ParseError>,
    /// What the template's `artifact()` calls made (uploaded with the layer's other artifacts).
    pub made: std::sync::Arc<Vec<package::Artifact>>,
    /// The last packaging of this build and the target it was for (validate, the bucket check and the plan
    /// each need it; code folders are zipped and hashed once).
    pub packaged: std::sync::Arc<std::sync::Mutex<Option<(package::Target, Packaging)>>>,
}

type Packaging = std::result::Result<package::Packaged, Vec<String>>;

impl Assembled {
    /// The parameters as they may be written or shown: secrets and unresolved values as descriptions.
    pub fn shown_parameters(&self) -> Vec<(String, String)> {
        self.values.parameters.values().map(|p| (p.name.clone(), p.shown())).collect()
    }
}

/// Hands built layers back at the end of a one-shot command: each layer's parameters are dropped (a secret
/// is wiped as it goes); the rendered text, the parsed tree and the template data, public and the bulk of
/// the memory, are left for the process's exit to free all at once (freeing 500 parsed templates node by
/// node took an eighth of a render's wall time).
pub fn release(built: BTreeMap<String, Assembled>) {
    for (_, b) in built {
        let Assembled { values, text, template, made, packaged } = b;
        let LayerValues { context, parameters, .. } = values;
        drop(parameters);
        std::mem::forget((text, template, context, made, packaged));
    }
}

/// Layers built (resolved and rendered) by this process: `-vv` reports it, so a run's cost is visible.
pub static BUILDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Environment tags, then the layer's, then stackc's own.
pub fn stack_tags(project: &Project, env: &Environment, layer: &str) -> BTreeMap<String, String> {
    let mut tags = env.tags.clone();
    tags.extend(env.layer(layer).tags);
    tags.insert("stackc:project".into(), project.name.clone());
    tags.insert("stackc:env".into(), env.name.clone());
    tags.insert("stackc:layer".into(), layer.to_string());
    tags
}

/// Where the artifacts of `layer` in `env` go: the bucket of the region its stack lives in.
pub fn artifact_target(project: &Project, env: &Environment, layer: &str) -> package::Target {
    let region = scope::region_of(project, layer, env);
    package::Target {
        bucket: env.artifact_bucket_in(&region),
        prefix: env.artifact_prefix.clone().unwrap_or_else(|| format!("stackc/{}/", project.name)),
        region,
    }
}

/// What to do when `layer`'s stack needs an artifact bucket and `env` has none in its region.
pub fn missing_bucket(project: &Project, env: &Environment, layer: &str) -> String {
    let region = scope::region_of(project, layer, env);
    if region == env.region {
        format!(
            "environment `{}` sets no `artifact_bucket`: run `stackc bootstrap {}`, which makes one and sets it",
            env.name, env.name
        )
    } else {
        format!(
            "layer `{layer}` lives in {region}, and environment `{}` has no bucket there (Lambda reads code only \
             from its own region): run `stackc bootstrap {}`, which makes one in every region the layers use, or \
             set `artifact_buckets.{region} = \"...\"`",
            env.name, env.name
        )
    }
}

/// Package a built layer: local code and nested templates become artifacts (nested templates rendered
/// with the layer's values), and a template over the body limit goes by URL. Uploads nothing.
pub fn package_layer(project: &Project, env: &Environment, layer: &str, built: &Assembled) -> Packaging {
    let target = artifact_target(project, env, layer);
    let mut cache = built.packaged.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, done)) = cache.as_ref().filter(|(t, _)| *t == target) {
        return done.clone();
    }
    let done = package_afresh(project, env, layer, built, target.clone());
    *cache = Some((target, done.clone()));
    done
}

fn package_afresh(
    project: &Project,
    env: &Environment,
    layer: &str,
    built: &Assembled,
    target: package::Target,
) -> Packaging {
    let Ok(template) = &built.template else {
        return Ok(package::Packaged { body: built.text.clone(), template_key: None, artifacts: Vec::new() });
    };
    let def = project.layer(layer).map_err(|e| vec![e.to_string()])?;
    // A renderer is made only when a nested template is met (most layers have none).
    let renderer = std::cell::OnceCell::new();
    let collector = artifacts_of(project, env, def);
    let context = with_collector(built.values.jinja_context(), &collector);
    let nested = |path: &std::path::Path| {
        renderer.get_or_init(|| Renderer::new(project)).render_file(def, path, context.clone())
    };
    let packager = package::Packager {
        target,
        root: project.root.clone(),
        nested: &nested,
        max_depth: 5,
        unbuilt: unbuilt_outputs(def),
    };
    let mut packaged = packager.package(&built.text, &template.body, &def.dir).map_err(|errors| {
        let hint = collector.downcast_object_ref::<Collector>().and_then(|c| c.missing_hint.clone());
        let with_hint = |e: String| match &hint {
            Some(h) if e.contains("does not exist") => format!("{e}; {h}"),
            _ => e,
        };
        errors.into_iter().map(with_hint).collect::<Vec<_>>()
    })?;
    let nested_made = collector.downcast_object_ref::<Collector>().map(Collector::made).unwrap_or_default();
    for a in built.made.iter().cloned().chain(nested_made) {
        if !packaged.artifacts.iter().any(|b| b.key == a.key) {
            packaged.artifacts.push(a);
        }
    }
    Ok(packaged)
}

/// The collector of `artifact()` calls for a render of `layer` (a `minijinja` object).
fn artifacts_of(project: &Project, env: &Environment, layer: &Layer) -> minijinja::Value {
    let hint = layer.build.as_ref().map(|_| {
        format!(
            "layer `{}` has a [build]: run `stackc build {} {}` first (plan and deploy run it)",
            layer.name, env.name, layer.name
        )
    });
    let target = artifact_target(project, env, &layer.name);
    let mut collector = Collector::new(target, layer.dir.clone(), project.root.clone(), hint);
    collector.unbuilt = unbuilt_outputs(layer);
    minijinja::Value::from_object(collector)
}

/// The layer's declared build outputs that do not exist (yet): packaging stands in for what is in them.
fn unbuilt_outputs(layer: &Layer) -> Vec<std::path::PathBuf> {
    let outputs = layer.build.iter().flat_map(|b| &b.outputs).map(|o| layer.dir.join(o));
    outputs.filter(|p| std::fs::symlink_metadata(p).is_err()).collect()
}

fn with_collector(context: minijinja::Value, collector: &minijinja::Value) -> minijinja::Value {
    minijinja::context! { __stackc_artifacts => collector.clone(), ..context }
}

/// Resolve and render `layers` of `env`. Render errors of all layers are reported together.
pub fn layers(
    project: &Project,
    env: &Environment,
    layers: &[String],
    provider: &mut dyn Provider,
) -> Result<BTreeMap<String, Assembled>> {
    each_layer(project, env, layers, provider, &|renderer, name, values| {
        build_one(project, env, renderer, name, values)
    })
}

/// What printing a layer's template needs: its stack name, the rendered text, and why it does not parse.
pub struct RenderedText {
    pub stack_name: String,
    pub text: String,
    pub parse_error: Option<ParseError>,
}

/// Resolve and render `layers` of `env`, keeping only the text: each is checked as `layers` parses it, but
/// no tree is kept (and the values, secrets included, are dropped once rendered).
pub fn render_texts(
    project: &Project,
    env: &Environment,
    layers: &[String],
    provider: &mut dyn Provider,
) -> Result<BTreeMap<String, RenderedText>> {
    each_layer(project, env, layers, provider, &|renderer, name, values| {
        let (text, _) = render_one(project, env, renderer, name, &values)?;
        let parse_error = Template::check(&text).err();
        Ok(RenderedText { stack_name: values.stack_name.clone(), text, parse_error })
    })
}

type PerLayer<'a, T> = dyn Fn(&Renderer, &str, LayerValues) -> Result<T> + Sync + 'a;

/// `work` for each of `layers` once their values are resolved: spread over the cores, each thread taking
/// the next layer when it is done with one (templates differ in cost), merged back in layer order so
/// errors read the same on any machine. Each thread has its own renderer: minijinja compiles under its
/// lock.
fn each_layer<T: Send>(
    project: &Project,
    env: &Environment,
    layers: &[String],
    provider: &mut dyn Provider,
    work: &PerLayer<'_, T>,
) -> Result<BTreeMap<String, T>> {
    BUILDS.fetch_add(layers.len(), std::sync::atomic::Ordering::Relaxed);
    let resolved = values::resolve(project, env, layers, provider)?;
    let jobs: Vec<(String, LayerValues)> = resolved.into_iter().collect();
    let count = jobs.len();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    let threads = cores.min(count.div_ceil(16)).max(1);
    let queue = std::sync::Mutex::new(jobs.into_iter().enumerate());
    let next = || queue.lock().unwrap_or_else(|e| e.into_inner()).next();
    let mut done: Vec<(usize, String, Result<T>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let renderer = Renderer::new(project);
                    let mut mine = Vec::new();
                    while let Some((i, (n, v))) = next() {
                        let built = work(&renderer, &n, v);
                        mine.push((i, n, built));
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    });
    done.sort_by_key(|(i, ..)| *i);
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for (_, name, built) in done {
        match built {
            Ok(b) => {
                out.insert(name, b);
            }
            Err(mut e) => errors.append(&mut e.diagnostics),
        }
    }
    if !errors.is_empty() {
        return Err(Error::configs(errors));
    }
    Ok(out)
}

/// One layer: rendered and parsed.
fn build_one(
    project: &Project,
    env: &Environment,
    renderer: &Renderer,
    name: &str,
    values: LayerValues,
) -> Result<Assembled> {
    let (text, made) = render_one(project, env, renderer, name, &values)?;
    let template = Template::parse(&text);
    Ok(Assembled { values, text, template, made: std::sync::Arc::new(made), packaged: Default::default() })
}

/// One layer's rendered text, and what its `artifact()` calls made.
fn render_one(
    project: &Project,
    env: &Environment,
    renderer: &Renderer,
    name: &str,
    values: &LayerValues,
) -> Result<(String, Vec<package::Artifact>)> {
    let layer = project.layer(name)?;
    let collector = artifacts_of(project, env, layer);
    let text = renderer.render(layer, with_collector(values.jinja_context(), &collector))?;
    let made = collector.downcast_object_ref::<Collector>().map(Collector::made).unwrap_or_default();
    Ok((text, made))
}

/// A parse error of a rendered template, pointing into the rendered text.
pub fn parse_error_diagnostic(project: &Project, layer: &str, text: &str, e: &ParseError) -> Diagnostic {
    let path = project.layers.get(layer).map(|l| l.template_path.clone()).unwrap_or_default();
    let mut d =
        Diagnostic::new(format!("layer `{layer}`: the rendered template is not valid YAML/JSON: {}", e.message));
    if let (Some(line), Some(col)) = (e.line, e.col) {
        let mut loc = Location::from_line_col(&path, text, line, col);
        loc.file = std::path::PathBuf::from(format!("{} (rendered)", path.display()));
        d = d.at(loc);
    } else {
        d = d.at(Location::file_only(&path));
    }
    d.hint("`stackc render <env> <layer> --stdout` shows the rendered text")
}
