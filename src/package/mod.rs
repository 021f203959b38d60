//! Packaging: what CloudFormation cannot take from a template body. Local code folders and files named by
//! a template (`CodeUri`, `Code`, `ContentUri`, `DefinitionUri`, `TemplateURL`, `Location`,
//! `BodyS3Location`, `DefinitionS3Location`, `AWS::Include`) become S3 objects, and a template over the
//! 51,200-byte body limit goes by TemplateURL.
//!
//! Everything here is pure: the template is rewritten in place and the artifacts to upload are returned
//! with their keys. A key is the SHA-256 of the artifact's bytes, and folders are zipped
//! deterministically (sorted entries, fixed timestamps and modes), so the same content gives the same key
//! and an unchanged layer stays a no-op. Uploading is the edge's (`aws::s3`).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::cfn::template::Template;
use crate::diagnostic;
use crate::files;
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};

use folder::stays_inside;
pub use properties::packaged_properties;
use properties::{local_path, names_local_paths, Form, PROPERTIES};

pub mod folder;
pub mod function;
pub mod ignore;
mod properties;
pub mod zip;

/// The largest template CloudFormation takes in the request body.
pub const BODY_LIMIT: usize = 51_200;
/// The largest template CloudFormation takes from S3.
pub const URL_LIMIT: usize = 1_048_576;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A folder (or a single file) zipped here.
    Zip,
    /// A file uploaded as it is (an existing .zip or .jar, an OpenAPI or state machine definition).
    File,
    /// A template (nested stack, or a layer's own template over the body limit).
    Template,
    /// Made by the layer's `[build]`, which has not run here (an offline render or validate, or a layer
    /// the run did not select): its key is a placeholder and it is never uploaded.
    Unbuilt,
}

/// A stand-in for `path` when it lies inside one of `unbuilt` (a layer's declared build outputs that do
/// not exist yet): rendering and validating go on before the build has run.
pub fn unbuilt(path: &str, dir: &Path, unbuilt: &[PathBuf], prefix: &str) -> Option<Artifact> {
    let at = normalise(&dir.join(path));
    unbuilt.iter().any(|u| at.starts_with(normalise(u))).then(|| Artifact {
        source: path.to_string(),
        key: format!("{prefix}unbuilt/{}", path.trim_start_matches("./").trim_end_matches('/')),
        bytes: Vec::new(),
        kind: Kind::Unbuilt,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Where it came from, for messages: the path as the template wrote it, or `template`.
    pub source: String,
    pub key: String,
    pub bytes: Vec<u8>,
    pub kind: Kind,
}

/// Where artifacts go: the bucket (None while it is unknown, e.g. offline; keys are still computed) and
/// the prefix every key starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub bucket: Option<String>,
    pub prefix: String,
    pub region: String,
}

impl Target {
    pub fn bucket(&self) -> &str {
        self.bucket.as_deref().unwrap_or("<artifact_bucket>")
    }

    pub fn s3_uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket())
    }

    /// The form CloudFormation takes for TemplateURL.
    pub fn https_url(&self, key: &str) -> String {
        format!("https://{}.s3.{}.amazonaws.com/{key}", self.bucket(), self.region)
    }
}

/// Renders (or reads) a nested template file; given the file's path, returns its text.
pub type NestedRenderer<'a> = dyn Fn(&Path) -> Result<String, String> + 'a;

pub struct Packager<'a> {
    pub target: Target,
    /// Local paths must stay inside this folder (the project).
    pub root: PathBuf,
    pub nested: &'a NestedRenderer<'a>,
    /// The layer's declared build outputs that do not exist yet (`unbuilt`).
    pub unbuilt: Vec<PathBuf>,
    /// Nested templates may nest; this bounds the depth (and catches a template that names itself).
    pub max_depth: usize,
}

/// A layer's template after packaging.
#[derive(Debug, Clone, PartialEq)]
pub struct Packaged {
    /// The body to send (rewritten when anything was replaced), or the text as rendered.
    pub body: String,
    /// Set when the body is too large to send: the key of the uploaded template.
    pub template_key: Option<String>,
    pub artifacts: Vec<Artifact>,
}

impl Packaged {
    pub fn upload_bytes(&self) -> usize {
        self.artifacts.iter().map(|a| a.bytes.len()).sum()
    }
}

impl Packager<'_> {
    /// Package a template whose text is `text` and whose local paths are relative to `dir`.
    pub fn package(&self, text: &str, template: &Json, dir: &Path) -> Result<Packaged, Vec<String>> {
        self.package_at(text, template, dir, 0)
    }

    fn package_at(&self, text: &str, template: &Json, dir: &Path, depth: usize) -> Result<Packaged, Vec<String>> {
        // Most templates name no local path: their text goes as rendered, with no copy of the tree made.
        let (body, mut artifacts) = if names_local_paths(template) {
            self.replace_local_paths(text, template, dir, depth)?
        } else {
            (text.to_string(), Vec::new())
        };
        let mut template_key = None;
        if body.len() > BODY_LIMIT && depth == 0 {
            if body.len() > URL_LIMIT {
                return Err(vec![format!(
                    "the template is {} bytes, over CloudFormation's limit of {URL_LIMIT} bytes even from S3; split the layer (a nested stack per part)",
                    body.len()
                )]);
            }
            let a = Artifact {
                source: "template".into(),
                key: self.key(body.as_bytes(), "template"),
                bytes: body.as_bytes().to_vec(),
                kind: Kind::Template,
            };
            template_key = Some(a.key.clone());
            artifacts.push(a);
        }
        // The same artifact named twice is uploaded once.
        let mut seen = std::collections::BTreeSet::new();
        artifacts.retain(|a| seen.insert(a.key.clone()));
        Ok(Packaged { body, template_key, artifacts })
    }

    /// The template with each local path replaced by its artifact's location, and the artifacts.
    fn replace_local_paths(
        &self,
        text: &str,
        template: &Json,
        dir: &Path,
        depth: usize,
    ) -> Result<(String, Vec<Artifact>), Vec<String>> {
        let mut body = template.clone();
        let mut artifacts = Vec::new();
        let mut errors = Vec::new();
        if let Some(resources) = body.get_mut("Resources").and_then(|r| r.as_object_mut()) {
            for (id, resource) in resources.iter_mut() {
                let ty = resource.get("Type").and_then(|t| t.as_str()).unwrap_or_default().to_string();
                for (_, prop, form, zip) in PROPERTIES.iter().filter(|(t, ..)| *t == ty) {
                    let Some(value) = resource.get_mut("Properties").and_then(|p| p.get_mut(*prop)) else { continue };
                    let Some(path) = local_path(value).map(str::to_string) else { continue };
                    let what = format!("resource `{id}` ({ty}) property `{prop}`");
                    match self.artifact(&path, dir, *form, *zip, depth) {
                        Ok(mut made) => {
                            let main = made.remove(0);
                            *value = match form {
                                Form::S3Uri => json!(self.target.s3_uri(&main.key)),
                                Form::LambdaCode => json!({"S3Bucket": self.target.bucket(), "S3Key": main.key}),
                                Form::BucketKey => json!({"Bucket": self.target.bucket(), "Key": main.key}),
                                Form::TemplateUrl => json!(self.target.https_url(&main.key)),
                            };
                            artifacts.push(main);
                            artifacts.extend(made);
                        }
                        Err(e) => errors.push(format!("{what}: {e}")),
                    }
                }
            }
        }
        self.includes(&mut body, dir, &mut artifacts, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        let body = if artifacts.is_empty() {
            text.to_string()
        } else {
            serde_json::to_string_pretty(&body).unwrap_or_default() + "\n"
        };
        Ok((body, artifacts))
    }

    /// `Fn::Transform: {Name: AWS::Include, Parameters: {Location: path}}` anywhere in the template.
    fn includes(&self, node: &mut Json, dir: &Path, artifacts: &mut Vec<Artifact>, errors: &mut Vec<String>) {
        match node {
            Json::Object(m) => {
                if let Some(Json::Object(t)) = m.get_mut("Fn::Transform") {
                    if t.get("Name").and_then(|n| n.as_str()) == Some("AWS::Include") {
                        if let Some(loc) = t.get_mut("Parameters").and_then(|p| p.get_mut("Location")) {
                            if let Some(path) = local_path(loc).map(str::to_string) {
                                match self.file_artifact(&path, dir, Kind::File) {
                                    Ok(a) => {
                                        *loc = json!(self.target.s3_uri(&a.key));
                                        artifacts.push(a);
                                    }
                                    Err(e) => errors.push(format!("AWS::Include `{path}`: {e}")),
                                }
                            }
                        }
                    }
                }
                for v in m.values_mut() {
                    self.includes(v, dir, artifacts, errors);
                }
            }
            Json::Array(a) => a.iter_mut().for_each(|v| self.includes(v, dir, artifacts, errors)),
            _ => {}
        }
    }

    fn key(&self, bytes: &[u8], ext: &str) -> String {
        key_of(&self.target.prefix, bytes, ext)
    }

    fn resolve(&self, path: &str, dir: &Path) -> Result<PathBuf, String> {
        resolve(path, dir, &self.root)
    }

    /// The artifacts one property names: the first is the one the property points at.
    fn artifact(&self, path: &str, dir: &Path, form: Form, zip: bool, depth: usize) -> Result<Vec<Artifact>, String> {
        if let Form::TemplateUrl = form {
            if depth + 1 > self.max_depth {
                return Err(format!(
                    "nested templates go deeper than {} levels (does one include itself?)",
                    self.max_depth
                ));
            }
            let file = self.resolve(path, dir)?;
            if file.is_dir() {
                return Err(format!("`{path}` is a folder; a nested stack names a template file"));
            }
            let text = (self.nested)(&file)?;
            let parsed = Template::parse(&text).map_err(|e| {
                format!(
                    "the nested template `{path}` does not parse: {}{}",
                    e.message,
                    e.line.map(|l| format!(" (line {l})")).unwrap_or_default()
                )
            })?;
            let inner = self
                .package_at(&text, &parsed.body, file.parent().unwrap_or(dir), depth + 1)
                .map_err(|e| format!("in the nested template `{path}`: {}", e.join("; ")))?;
            if inner.body.len() > URL_LIMIT {
                return Err(format!(
                    "the nested template `{path}` is {} bytes, over the {URL_LIMIT}-byte limit",
                    inner.body.len()
                ));
            }
            let main = Artifact {
                source: path.to_string(),
                key: self.key(inner.body.as_bytes(), "template"),
                bytes: inner.body.into_bytes(),
                kind: Kind::Template,
            };
            let mut out = vec![main];
            out.extend(inner.artifacts);
            return Ok(out);
        }
        if let Some(a) = unbuilt(path, dir, &self.unbuilt, &self.target.prefix) {
            return Ok(vec![a]);
        }
        let file = self.resolve(path, dir)?;
        let as_is = file.extension().and_then(|e| e.to_str()).is_some_and(|e| e == "zip" || e == "jar");
        if zip && !as_is {
            let bytes = zip_path(&file, dir, &self.root)?;
            return Ok(vec![Artifact {
                source: path.to_string(),
                key: self.key(&bytes, "zip"),
                bytes,
                kind: Kind::Zip,
            }]);
        }
        Ok(vec![self.file_artifact(path, dir, Kind::File)?])
    }

    fn file_artifact(&self, path: &str, dir: &Path, kind: Kind) -> Result<Artifact, String> {
        if let Some(a) = unbuilt(path, dir, &self.unbuilt, &self.target.prefix) {
            return Ok(a);
        }
        let file = self.resolve(path, dir)?;
        if file.is_dir() {
            return Err(format!("`{path}` is a folder; a file is expected here"));
        }
        let bytes = files::read_bytes(&file, Some(&self.root), folder::MAX_BYTES)
            .map_err(|e| format!("cannot upload `{path}`: it {e}"))?;
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("bin").to_string();
        Ok(Artifact { source: path.to_string(), key: self.key(&bytes, &ext), bytes, kind })
    }
}

/// An artifact's key: the prefix, then the SHA-256 of its bytes (the first 16 bytes, in hex).
pub fn key_of(prefix: &str, bytes: &[u8], ext: &str) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}.{ext}")
}

/// `path` (relative to `dir`), checked: it exists and stays inside `root` (the project), links followed.
pub fn resolve(path: &str, dir: &Path, root: &Path) -> Result<PathBuf, String> {
    let joined = dir.join(path);
    let normal = normalise(&joined);
    if !normal.starts_with(normalise(root)) {
        return Err(format!("`{path}` is outside the project; only paths inside it are packaged"));
    }
    if !normal.exists() {
        return Err(format!("`{path}` does not exist (relative to {})", diagnostic::display_path(dir)));
    }
    stays_inside(&normal, root).map_err(|to| format!("`{path}` leads outside the project (to {to})"))?;
    Ok(normal)
}

/// `a/./b/../c` -> `a/c`, without touching the file system (so links cannot be used to escape).
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// A zip of the folder (or file) whose bytes depend only on the files' names, contents and whether they
/// are executable; what `.stackcignore` files leave out is not in it.
pub fn zip_path(path: &Path, layer_dir: &Path, root: &Path) -> Result<Vec<u8>, String> {
    let files = folder::files_of(path, layer_dir, root)?;
    zip::zip_entries(&folder::read_all(&files, root)?)
}

/// What `render` says would be uploaded, one line per artifact.
pub fn summary(layer: &str, packaged: &Packaged, target: &Target) -> Vec<String> {
    let mut by_source: BTreeMap<&str, &Artifact> = BTreeMap::new();
    for a in &packaged.artifacts {
        by_source.entry(a.source.as_str()).or_insert(a);
    }
    packaged
        .artifacts
        .iter()
        .map(|a| {
            let what = match a.kind {
                Kind::Zip => "zip of",
                Kind::File => "file",
                Kind::Template => "template",
                Kind::Unbuilt => {
                    return format!(
                        "{layer}: {} is made by the layer's [build], which has not run: `stackc build` makes it \
                         (plan and deploy run it first)",
                        a.source
                    )
                }
            };
            format!(
                "{layer}: would upload {what} {} ({}) -> s3://{}/{}",
                if a.kind == Kind::Template && a.source == "template" { "(over the body limit)" } else { &a.source },
                human_bytes(a.bytes.len()),
                target.bucket(),
                a.key
            )
        })
        .collect()
}

pub fn human_bytes(n: usize) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn target() -> Target {
        Target { bucket: Some("arts".into()), prefix: "stackc/demo/".into(), region: "eu-west-1".into() }
    }

    pub(crate) fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (p, c) in files {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, c).unwrap();
        }
        dir
    }

    fn no_nested(_: &Path) -> Result<String, String> {
        Err("no nested templates here".into())
    }

    #[test]
    fn zips_are_the_same_for_the_same_content() {
        let a =
            tree(&[("src/index.py", "print(1)\n"), ("src/lib/util.py", "x = 1\n"), ("src/__pycache__/x.pyc", "junk")]);
        let b = tree(&[("src/lib/util.py", "x = 1\n"), ("src/index.py", "print(1)\n")]);
        let za = zip_path(&a.path().join("src"), a.path(), a.path()).unwrap();
        let zb = zip_path(&b.path().join("src"), b.path(), b.path()).unwrap();
        assert_eq!(za, zb, "order of creation, timestamps and caches do not matter");
        std::fs::write(b.path().join("src/index.py"), "print(2)\n").unwrap();
        assert_ne!(za, zip_path(&b.path().join("src"), b.path(), b.path()).unwrap());
        // The archive lists both files, in order, and ends with the end-of-central-directory record.
        let text = String::from_utf8_lossy(&za);
        assert!(text.find("index.py").unwrap() < text.find("lib/util.py").unwrap());
        assert!(!text.contains("__pycache__"));
        assert_eq!(&za[za.len() - 22..za.len() - 18], &0x0605_4b50u32.to_le_bytes());
        assert_eq!(u16::from_le_bytes([za[za.len() - 12], za[za.len() - 11]]), 2);
    }

    #[test]
    fn code_paths_become_s3_locations_by_content() {
        let dir = tree(&[
            ("stacks/fn/src/index.py", "def handler(e, c): pass\n"),
            ("stacks/fn/api.yaml", "openapi: 3.0.0\n"),
        ]);
        let layer = dir.path().join("stacks/fn");
        let t = serde_json::json!({
            "Transform": "AWS::Serverless-2016-10-31",
            "Resources": {
                "F": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "src/", "Handler": "index.handler"}},
                "G": {"Type": "AWS::Lambda::Function", "Properties": {"Code": "./src"}},
                "Api": {"Type": "AWS::Serverless::Api", "Properties": {"DefinitionUri": "api.yaml"}},
                "Remote": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "s3://b/k.zip"}},
                "Inline": {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"ZipFile": "x"}}}
            }
        });
        let p =
            Packager { target: target(), root: dir.path().into(), nested: &no_nested, max_depth: 3, unbuilt: vec![] };
        let out = p.package("original text", &t, &layer).unwrap();
        let body: Json = serde_json::from_str(&out.body).unwrap();
        let uri = body["Resources"]["F"]["Properties"]["CodeUri"].as_str().unwrap();
        assert!(uri.starts_with("s3://arts/stackc/demo/") && uri.ends_with(".zip"), "{uri}");
        let g = &body["Resources"]["G"]["Properties"]["Code"];
        assert_eq!(g["S3Bucket"], "arts");
        assert_eq!(format!("s3://arts/{}", g["S3Key"].as_str().unwrap()), uri, "the same folder is one artifact");
        assert!(body["Resources"]["Api"]["Properties"]["DefinitionUri"].as_str().unwrap().ends_with(".yaml"));
        assert_eq!(body["Resources"]["Remote"]["Properties"]["CodeUri"], "s3://b/k.zip");
        assert_eq!(out.artifacts.len(), 2, "{:?}", out.artifacts.iter().map(|a| &a.source).collect::<Vec<_>>());
        assert_eq!(out.template_key, None);
        // Nothing local: the text is sent as rendered.
        let plain = serde_json::json!({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}});
        assert_eq!(p.package("as rendered", &plain, &layer).unwrap().body, "as rendered");
    }

    #[test]
    fn missing_and_escaping_paths_are_errors_naming_the_resource() {
        let dir = tree(&[("stacks/fn/x", "")]);
        let outside = tree(&[("secret.txt", "no")]);
        let layer = dir.path().join("stacks/fn");
        let rel_outside = format!("../../../{}/secret.txt", outside.path().file_name().unwrap().to_str().unwrap());
        let t = serde_json::json!({"Resources": {
            "F": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "nope/"}},
            "G": {"Type": "AWS::Lambda::Function", "Properties": {"Code": rel_outside}}
        }});
        let p =
            Packager { target: target(), root: dir.path().into(), nested: &no_nested, max_depth: 3, unbuilt: vec![] };
        let errors = p.package("", &t, &layer).unwrap_err();
        assert!(
            errors[0].contains("resource `F` (AWS::Serverless::Function) property `CodeUri`: `nope/` does not exist"),
            "{errors:?}"
        );
        assert!(errors[1].contains("is outside the project"), "{errors:?}");
    }

    #[test]
    fn a_link_out_of_the_project_is_never_packaged() {
        let dir = tree(&[("stacks/fn/src/index.py", "pass\n")]);
        let outside = tree(&[("credentials", "aws_secret_access_key = canary-link")]);
        std::os::unix::fs::symlink(outside.path().join("credentials"), dir.path().join("stacks/fn/src/creds")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("credentials"), dir.path().join("stacks/fn/creds.yaml"))
            .unwrap();
        let t = serde_json::json!({"Resources": {
            "F": {"Type": "AWS::Lambda::Function", "Properties": {"Code": "src"}},
            "Api": {"Type": "AWS::Serverless::Api", "Properties": {"DefinitionUri": "creds.yaml"}}
        }});
        let p =
            Packager { target: target(), root: dir.path().into(), nested: &no_nested, max_depth: 3, unbuilt: vec![] };
        let errors = p.package("", &t, &dir.path().join("stacks/fn")).unwrap_err();
        assert!(errors[0].contains("`creds` is a link that leads outside the project"), "{errors:?}");
        assert!(errors[1].contains("`creds.yaml` leads outside the project"), "{errors:?}");
        assert!(!errors.join(" ").contains("canary-link"));
    }

    #[test]
    fn nested_templates_are_rendered_packaged_and_linked() {
        let dir = tree(&[("stacks/app/nested/child.yaml", "ignored"), ("stacks/app/nested/code/f.py", "pass\n")]);
        let layer = dir.path().join("stacks/app");
        let render = |p: &Path| -> Result<String, String> {
            assert!(p.ends_with("nested/child.yaml"));
            Ok("Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: code\n".into())
        };
        let t = serde_json::json!({"Resources": {"Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "nested/child.yaml"}}}});
        let p = Packager { target: target(), root: dir.path().into(), nested: &render, max_depth: 3, unbuilt: vec![] };
        let out = p.package("", &t, &layer).unwrap();
        let body: Json = serde_json::from_str(&out.body).unwrap();
        let url = body["Resources"]["Child"]["Properties"]["TemplateURL"].as_str().unwrap();
        assert!(
            url.starts_with("https://arts.s3.eu-west-1.amazonaws.com/stackc/demo/") && url.ends_with(".template"),
            "{url}"
        );
        assert_eq!(out.artifacts.len(), 2);
        let child: Json = serde_json::from_slice(&out.artifacts[0].bytes).unwrap();
        assert_eq!(
            child["Resources"]["F"]["Properties"]["Code"]["S3Bucket"], "arts",
            "the child's own code was packaged"
        );
        // A template that names itself is stopped.
        let selfish = |_: &Path| -> Result<String, String> {
            Ok("Resources:\n  Again:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: child.yaml\n".into())
        };
        let p = Packager { target: target(), root: dir.path().into(), nested: &selfish, max_depth: 3, unbuilt: vec![] };
        let err = p.package("", &t, &layer).unwrap_err();
        assert!(err[0].contains("deeper than 3 levels"), "{err:?}");
    }

    #[test]
    fn a_large_template_goes_by_url_and_a_huge_one_is_refused() {
        let dir = tree(&[]);
        let p =
            Packager { target: target(), root: dir.path().into(), nested: &no_nested, max_depth: 3, unbuilt: vec![] };
        let t = serde_json::json!({"Resources": {}});
        let big = "x".repeat(BODY_LIMIT + 1);
        let out = p.package(&big, &t, dir.path()).unwrap();
        let key = out.template_key.clone().unwrap();
        assert_eq!(out.artifacts[0].key, key);
        assert_eq!(out.artifacts[0].bytes.len(), BODY_LIMIT + 1);
        assert_eq!(p.package("small", &t, dir.path()).unwrap().template_key, None);
        let huge = "x".repeat(URL_LIMIT + 1);
        assert!(p.package(&huge, &t, dir.path()).unwrap_err()[0].contains("over CloudFormation's limit"));
    }

    #[test]
    fn only_a_local_path_makes_a_template_rewritten() {
        let remote = json!({"Resources": {
            "F": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "s3://b/k.zip"}},
            "T": {"Type": "AWS::SNS::Topic", "Properties": {"CodeUri": "not/packaged/for/this/type"}},
            "I": {"Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "https://x/y.yaml"}}},
        }});
        assert!(!names_local_paths(&remote));
        let p = Packager {
            target: target(),
            root: PathBuf::from("/nowhere"),
            nested: &no_nested,
            max_depth: 3,
            unbuilt: vec![],
        };
        let out = p.package("the text as rendered\n", &remote, Path::new("/nowhere")).unwrap();
        assert_eq!(out.body, "the text as rendered\n");
        assert!(out.artifacts.is_empty());
        let code = json!({"Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "src"}}}});
        assert!(names_local_paths(&code));
        let deep = json!({"Resources": {"A": {"Properties": {"X": [{"Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "s.yaml"}}}]}}}});
        assert!(names_local_paths(&deep));
    }

    #[test]
    fn includes_are_uploaded() {
        let dir = tree(&[("stacks/a/snippet.yaml", "Type: AWS::SNS::Topic\n")]);
        let t = serde_json::json!({"Resources": {"T": {"Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "snippet.yaml"}}}}});
        let p =
            Packager { target: target(), root: dir.path().into(), nested: &no_nested, max_depth: 3, unbuilt: vec![] };
        let out = p.package("", &t, &dir.path().join("stacks/a")).unwrap();
        assert!(out.body.contains("s3://arts/stackc/demo/"), "{}", out.body);
        assert_eq!(out.artifacts[0].kind, Kind::File);
    }
}
