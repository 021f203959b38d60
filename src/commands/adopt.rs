//! `stackc init`, `stackc new layer` and `stackc import`: starting a project and bringing what a team
//! already has into it.

use std::path::{Path, PathBuf};

use super::print;
use super::session::Session;
use crate::cfn::port::{CloudFormation, StackInfo};
use crate::cfn::template::Template;
use crate::diagnostic::{display_path, Diagnostic, Error, Result};
use crate::editor_schemas::{self, Kind};
use crate::import::{self, Imported};
use crate::project::{self, Project, PROJECT_FILE};
use crate::source::Source;
use crate::text::count;
use crate::values;

fn write_new(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// The schemas editors read, into `.stackc/schemas/` (rewritten when this stackc's differ: they follow the
/// stackc that last wrote a file).
fn write_schemas(root: &Path) -> Result<()> {
    let dir = root.join(editor_schemas::DIR);
    for (name, text) in editor_schemas::FILES {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
            write_new(&path, text)?;
        }
    }
    Ok(())
}

/// A new file of `kind`, starting with its schema directive (and the schemas written for it).
fn write_new_with_schema(root: &Path, kind: Kind, path: &Path, text: &str) -> Result<()> {
    write_schemas(root)?;
    write_new(path, &editor_schemas::with_directive(kind, text))
}

pub fn init(dir: &Path, name: Option<&str>) -> Result<()> {
    if dir.join(PROJECT_FILE).exists() {
        return Err(Error::config(Diagnostic::new(format!("`{}` already holds a stackc project", display_path(dir)))));
    }
    let default = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_else(|| "app".into());
    let name: String = name
        .map(str::to_string)
        .unwrap_or(default)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    write_new_with_schema(dir, Kind::Project, &dir.join(PROJECT_FILE), &format!("# A stackc project: layers in stacks/, environments in environments/.\nname = \"{name}\"\n# Stack names; {{project}}, {{env}} and {{layer}} are replaced.\nstack_name = \"{{project}}-{{env}}-{{layer}}\"\n"))?;
    write_new_with_schema(
        dir,
        Kind::Environment,
        &dir.join("environments/qa.toml"),
        "# The qa environment. Values here reach templates; [layers.<layer>.parameters] reach stacks.\nregion = \"us-east-1\"\n# account_id = \"123456789012\"   # refuse to deploy with credentials of another account\n# protected = true               # never deploy without confirmation\n\n[tags]\nEnvironment = \"qa\"\n\n[values]\n",
    )?;
    write_new(&dir.join("stacks/_lib/macros.j2"), "{# Shared macros: {% import \"_lib/macros.j2\" as m %} #}\n")?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        write_new(&ignore, "build/\n")?;
    }
    print(&format!("created project `{name}` in {}: add a layer with `stackc new layer <name>`\n", display_path(dir)));
    Ok(())
}

/// Commented entries for a layer's parameters, for an environment file.
fn commented_parameters(layer: &str, t: &Template) -> String {
    let params = t.parameters();
    if params.is_empty() {
        return String::new();
    }
    let mut s = format!("\n# Parameters of layer `{layer}` (from its template); uncomment and set what this environment needs.\n# [layers.{layer}.parameters]\n");
    let section = t.section("Parameters");
    for p in params {
        let desc = section
            .and_then(|m| m.get(&p.name))
            .and_then(|x| x.get("Description"))
            .and_then(|d| d.as_str())
            .unwrap_or_default();
        let mut about = vec![p.kind.clone()];
        if let Some(d) = &p.default {
            about.push(format!("default {}", values::json_param_string(d)));
        }
        if !p.allowed.is_empty() {
            about.push(format!(
                "one of {}",
                p.allowed.iter().map(values::json_param_string).collect::<Vec<_>>().join(", ")
            ));
        }
        if p.no_echo {
            about.push("NoEcho: a secret, give it a secret source".into());
        }
        if !desc.is_empty() {
            about.push(desc.to_string());
        }
        let example = if p.no_echo {
            "{ from = \"keyring\" }".to_string()
        } else {
            let d = p.default.as_ref().map(values::json_param_string).unwrap_or_default();
            format!("{:?}", d)
        };
        s.push_str(&format!("# {} = {example}   # {}\n", p.name, about.join("; ")));
    }
    s
}

pub fn new_layer(project: &Project, name: &str, from: Option<&Path>, depends_on: &[String]) -> Result<()> {
    if name.starts_with('_')
        || name.is_empty()
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::msg(format!(
            "`{name}` is not a layer name (letters, digits, - and _; not starting with _)"
        )));
    }
    let dir = project.stacks_dir().join(name);
    if dir.exists() {
        return Err(Error::config(Diagnostic::new(format!("layer `{name}` exists already"))));
    }
    for d in depends_on {
        project.layer(d)?;
    }
    let text = match from {
        Some(f) => project::read(f)?,
        None => "AWSTemplateFormatVersion: \"2010-09-09\"\nDescription: \"{{ project }} {{ env }}: LAYER\"\nParameters: {}\nResources:\n  Placeholder:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Name: /{{ project }}/{{ env }}/LAYER/created-by-stackc\n      Type: String\n      Value: replace this layer's resources\n".replace("LAYER", name),
    };
    // A minijinja source stays one (template.yaml.j2); a plain CloudFormation file stays plain.
    let jinja = from.is_none() || from.is_some_and(|f| f.extension().is_some_and(|e| e == "j2"));
    let parsed = match Template::parse(&text) {
        Ok(t) => Some(t),
        Err(_) if jinja => None,
        Err(e) => return Err(Error::config(Diagnostic::new(format!("the template does not parse: {}", e.message)))),
    };
    let file_name = match (jinja, from.and_then(|f| f.extension()).is_some_and(|e| e == "json")) {
        (true, _) => "template.yaml.j2",
        (false, true) => "template.json",
        (false, false) => "template.yaml",
    };
    write_new(&dir.join(file_name), &text)?;
    let caps = parsed.as_ref().map(Template::needed_capabilities).unwrap_or_default();
    let mut meta = format!("description = \"{name}\"\n");
    if !depends_on.is_empty() {
        meta.push_str(&format!(
            "depends_on = [{}]\n",
            depends_on.iter().map(|d| format!("\"{d}\"")).collect::<Vec<_>>().join(", ")
        ));
    }
    if !caps.is_empty() {
        meta.push_str(&format!(
            "capabilities = [{}]\n",
            caps.iter().map(|d| format!("\"{d}\"")).collect::<Vec<_>>().join(", ")
        ));
    }
    write_new_with_schema(&project.root, Kind::Layer, &dir.join("layer.toml"), &meta)?;
    let entries = match &parsed {
        Some(t) => commented_parameters(name, t),
        None => {
            super::printer()
                .note("the template uses minijinja, so its parameters were not listed in the environment files");
            String::new()
        }
    };
    let mut touched = Vec::new();
    for env in project.environment_names().into_iter().filter(|_| !entries.is_empty()) {
        let path = project.environments_dir().join(format!("{env}.toml"));
        let mut s = project::read(&path)?;
        if !s.ends_with('\n') {
            s.push('\n');
        }
        s.push_str(&entries);
        std::fs::write(&path, s).map_err(|e| Error::io(&path, e))?;
        touched.push(env);
    }
    if entries.is_empty() {
        touched.clear();
    }
    print(&format!(
        "created layer `{name}` ({}); parameter entries added, commented, to: {}\n",
        display_path(&dir),
        if touched.is_empty() { "none".into() } else { touched.join(", ") }
    ));
    Ok(())
}

/// Add the imported capabilities an existing layer's layer.toml lacks (its comments and layout kept).
fn keep_capabilities(path: &Path, wanted: &[String]) -> Result<()> {
    let old = if path.exists() { project::read(path)? } else { String::new() };
    let mut doc: toml_edit::DocumentMut = old
        .parse()
        .map_err(|e| Error::config(Diagnostic::new(format!("cannot edit `{}`: {e}", display_path(path)))))?;
    let caps = doc.entry("capabilities").or_insert(toml_edit::value(toml_edit::Array::new()));
    let Some(list) = caps.as_array_mut() else {
        return Err(Error::config(Diagnostic::new(format!(
            "`capabilities` in `{}` is not a list",
            display_path(path)
        ))));
    };
    let mut added = Vec::new();
    for c in wanted {
        if !list.iter().any(|v| v.as_str() == Some(c.as_str())) {
            list.push(c.as_str());
            added.push(c.clone());
        }
    }
    if !added.is_empty() {
        std::fs::write(path, doc.to_string()).map_err(|e| Error::io(path, e))?;
        super::printer().note(&format!("added to {}: capabilities {}", display_path(path), added.join(", ")));
    }
    Ok(())
}

/// Put an imported layer into the project: template (if the layer is new), layer.toml, environment entries.
fn adopt(project: &Project, env: &str, layer: &str, template: Option<(&str, String)>, imp: &Imported) -> Result<()> {
    let dir = project.stacks_dir().join(layer);
    if !dir.exists() {
        let Some((file_name, text)) = template else {
            return Err(Error::config(
                Diagnostic::new(format!("layer `{layer}` does not exist and no template was found for it"))
                    .hint(format!("put its template next to the imported file, or create the layer first: `stackc new layer {layer} --from-template FILE`")),
            ));
        };
        let mut caps = imp.capabilities.clone();
        if let Ok(t) = Template::parse(&text) {
            for c in t.needed_capabilities() {
                if !caps.contains(&c) {
                    caps.push(c);
                }
            }
        }
        write_new(&dir.join(file_name), &text)?;
        let mut meta = format!("description = \"{layer} (imported)\"\n");
        if !caps.is_empty() {
            meta.push_str(&format!(
                "capabilities = [{}]\n",
                caps.iter().map(|d| format!("\"{d}\"")).collect::<Vec<_>>().join(", ")
            ));
        }
        write_new_with_schema(&project.root, Kind::Layer, &dir.join("layer.toml"), &meta)?;
    } else if !imp.capabilities.is_empty() {
        keep_capabilities(&dir.join("layer.toml"), &imp.capabilities)?;
    }
    let path = project.environments_dir().join(format!("{env}.toml"));
    let old = if path.exists() { project::read(&path)? } else { String::new() };
    if let (Some(r), Ok(existing)) = (&imp.region, toml::from_str::<toml::Table>(&old)) {
        if let Some(have) = existing.get("region").and_then(|v| v.as_str()).filter(|h| *h != r) {
            super::printer().note(&format!("not carried: region {r}: environment `{env}` already deploys to {have}; change it there if it should move"));
        }
    }
    let new = import::write_env(&old, layer, imp)
        .map_err(|e| Error::config(Diagnostic::new(format!("cannot edit `{}`: {e}", display_path(&path)))))?;
    if old.is_empty() {
        write_new_with_schema(&project.root, Kind::Environment, &path, &new)?;
    } else {
        write_new(&path, &new)?;
    }
    let stack = imp.stack_name.as_deref().map(|s| format!(", stack `{s}`")).unwrap_or_default();
    print(&format!(
        "imported layer `{layer}` into environment `{env}`: {}{stack}\n",
        count(imp.parameters.len(), "parameter")
    ));
    for n in &imp.not_carried {
        super::printer().note(&format!("not carried: {n}"));
    }
    Ok(())
}

fn sibling_template(file: &Path) -> Option<(&'static str, String)> {
    let dir = file.parent()?;
    for (name, target) in
        [("template.yaml", "template.yaml"), ("template.yml", "template.yaml"), ("template.json", "template.json")]
    {
        if let Ok(t) = std::fs::read_to_string(dir.join(name)) {
            return Some((target, t));
        }
    }
    None
}

pub fn import_cfn_toml(project: &Project, files: &[PathBuf], env: &str, layer: Option<&str>) -> Result<()> {
    if layer.is_some() && files.len() > 1 {
        return Err(Error::msg("--layer names one layer; import one file at a time with it"));
    }
    for f in files {
        let text = project::read(f)?;
        let imp = import::cfn_toml(&text).map_err(|e| {
            Error::config(Diagnostic::new(format!("`{}` is not a cfn-toml file: {e}", display_path(f))))
        })?;
        let name = match layer {
            Some(l) => l.to_string(),
            None => f
                .canonicalize()
                .ok()
                .and_then(|p| p.parent().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().to_string()))
                .ok_or_else(|| Error::msg(format!("cannot tell the layer of `{}`; pass --layer", display_path(f))))?,
        };
        adopt(project, env, &name, sibling_template(f), &imp)?;
    }
    Ok(())
}

pub fn import_samconfig(project: &Project, file: &Path, layer: &str, template: Option<&Path>) -> Result<()> {
    let text = project::read(file)?;
    let envs = import::samconfig(&text)
        .map_err(|e| Error::config(Diagnostic::new(format!("`{}`: {e}", display_path(file)))))?;
    if envs.is_empty() {
        return Err(Error::config(Diagnostic::new(format!(
            "`{}` has no [<env>.deploy.parameters]",
            display_path(file)
        ))));
    }
    let tpl = match template {
        Some(t) => Some(("template.yaml", project::read(t)?)),
        None => sibling_template(file),
    };
    for (env, imp) in envs {
        adopt(project, &env, layer, tpl.clone(), &imp)?;
    }
    Ok(())
}

/// A stack that is a layer of this project already, or a nested stack (its parent deploys it), is not
/// adopted: two layers would then deploy one stack.
fn refuse_adopting(s: &Session, stack: &str, info: &StackInfo) -> Result<()> {
    if let Some(parent) = &info.parent_id {
        let name = parent.rsplit(':').next().and_then(|x| x.split('/').nth(1)).unwrap_or(parent);
        return Err(Error::config(
            Diagnostic::new(format!("stack `{stack}` is a nested stack of `{name}`, which creates and updates it"))
                .hint(format!("import `{name}` instead, or keep the nested stack in its parent's template")),
        ));
    }
    let by_name = s.project.layers.keys().find(|l| s.stack_name(l) == stack);
    let tagged = (info.tags.get("stackc:project") == Some(&s.project.name))
        .then(|| (info.tags.get("stackc:env"), info.tags.get("stackc:layer")));
    let managed = match (by_name, tagged) {
        (Some(l), _) => Some(format!("layer `{l}` of environment `{}`", s.env.name)),
        (None, Some((Some(e), Some(l)))) => Some(format!("layer `{l}` of environment `{e}`")),
        _ => None,
    };
    match managed {
        Some(what) => Err(Error::config(
            Diagnostic::new(format!("stack `{stack}` is already {what} of this project"))
                .hint("two layers would then deploy one stack; use that layer"),
        )),
        None => Ok(()),
    }
}

pub fn import_stack(s: &Session, stack: &str, layer: &str) -> Result<()> {
    s.probe()?;
    let info = s
        .cfn
        .describe_stack(stack)
        .map_err(|e| Error::failed(Diagnostic::new(e.to_string())))?
        .ok_or_else(|| Error::failed(Diagnostic::new(format!("there is no stack `{stack}`"))))?;
    refuse_adopting(s, stack, &info)?;
    let body = s.cfn.get_template(stack).map_err(|e| Error::failed(Diagnostic::new(e.to_string())))?;
    let t = Template::parse(&body)
        .map_err(|e| Error::failed(Diagnostic::new(format!("the stack's template does not parse: {}", e.message))))?;
    let is_json = serde_json::from_str::<serde_json::Value>(&body).is_ok();
    let mut imp = Imported { stack_name: Some(stack.to_string()), ..Default::default() };
    let mut secrets = Vec::new();
    for p in t.parameters() {
        if p.no_echo {
            // Never the value (AWS shows ****): the user stores it where the source points.
            imp.parameters.insert(p.name.clone(), Source::Keyring { service: None, account: None }.to_toml());
            secrets.push(p.name.clone());
            continue;
        }
        if let Some(v) = info.parameters.get(&p.name) {
            let default = p.default.as_ref().map(values::json_param_string);
            if default.as_deref() != Some(v.as_str()) {
                imp.parameters.insert(p.name.clone(), toml::Value::String(v.clone()));
            }
        }
    }
    for (k, v) in &info.tags {
        if !k.starts_with("aws:") && !k.starts_with("stackc:") {
            imp.tags.insert(k.clone(), v.clone());
        }
    }
    adopt(&s.project, &s.env.name, layer, Some((if is_json { "template.json" } else { "template.yaml" }, body)), &imp)?;
    for p in secrets {
        super::printer().note(&format!(
            "`{p}` is NoEcho; its value was not imported. Store it: `stackc secret set {} {layer} {p}`",
            s.env.name
        ));
    }
    Ok(())
}
