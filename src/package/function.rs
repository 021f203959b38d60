//! `artifact("path")` in a template: any local file or folder packaged like a code folder, its S3
//! location returned for any property to use (a Glue job's script, an EMR step's jar, an AppSync schema).
//!
//! ```jinja
//! ScriptLocation: {{ artifact("jobs/etl.py") }}           {# s3://bucket/prefix/<sha256>.py #}
//! Code:
//!   S3Bucket: {{ artifact("src", zip=true).bucket }}
//!   S3Key: {{ artifact("src", zip=true).key }}
//! ```
//!
//! A folder is zipped (the same rules as a `CodeUri`: `.stackcignore`, defaults, credential refusal); a
//! file is uploaded as it is unless `zip=true`. The key is the SHA-256 of the bytes, so an unchanged path
//! keeps its location and its layer stays a no-op. Paths are relative to the layer's folder and must stay
//! inside the project. The render only computes; the artifacts are uploaded with the layer's others.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use minijinja::value::{Kwargs, Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};

use super::{folder, key_of, resolve, unbuilt, zip_path, Artifact, Kind, Target};
use crate::files;

/// The context key the render's artifact collector is passed under.
pub const CONTEXT_KEY: &str = "__stackc_artifacts";

/// What `artifact()` needs for one layer's render, and what it made.
#[derive(Debug)]
pub struct Collector {
    pub target: Target,
    /// The layer's folder: paths are relative to it.
    pub dir: PathBuf,
    /// The project: paths must stay inside it.
    pub root: PathBuf,
    /// Said when a path does not exist (the layer's build makes it: which command to run).
    pub missing_hint: Option<String>,
    /// The layer's declared build outputs that do not exist yet: a path in one stands in (`Kind::Unbuilt`).
    pub unbuilt: Vec<PathBuf>,
    made: Mutex<BTreeMap<(String, bool), Artifact>>,
}

impl Object for Collector {}

impl Collector {
    pub fn new(target: Target, dir: PathBuf, root: PathBuf, missing_hint: Option<String>) -> Collector {
        Collector { target, dir, root, missing_hint, unbuilt: Vec::new(), made: Mutex::new(BTreeMap::new()) }
    }

    /// The artifacts made so far, one per distinct content.
    pub fn made(&self) -> Vec<Artifact> {
        let mut seen = std::collections::BTreeSet::new();
        let made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        made.values().filter(|a| seen.insert(a.key.clone())).cloned().collect()
    }

    /// The artifact of `path` (zipped when a folder, or when `zip`), made once per render; a stand-in
    /// when the layer's build makes it and has not run.
    fn artifact(&self, path: &str, zip: bool) -> Result<Artifact, String> {
        if let Some(a) = self.made.lock().unwrap_or_else(|e| e.into_inner()).get(&(path.to_string(), zip)) {
            return Ok(a.clone());
        }
        let a = match unbuilt(path, &self.dir, &self.unbuilt, &self.target.prefix) {
            Some(a) => a,
            None => self.make(path, zip)?,
        };
        self.made.lock().unwrap_or_else(|e| e.into_inner()).insert((path.to_string(), zip), a.clone());
        Ok(a)
    }

    /// The artifact of `path` made now: a zip of a folder (or of a file, with `zip`), else the file.
    fn make(&self, path: &str, zip: bool) -> Result<Artifact, String> {
        let file = resolve(path, &self.dir, &self.root).map_err(|e| match &self.missing_hint {
            Some(hint) if e.contains("does not exist") => format!("{e}; {hint}"),
            _ => e,
        })?;
        if zip || file.is_dir() {
            let bytes = zip_path(&file, &self.dir, &self.root)?;
            let key = key_of(&self.target.prefix, &bytes, "zip");
            return Ok(Artifact { source: path.to_string(), key, bytes, kind: Kind::Zip });
        }
        let bytes = files::read_bytes(&file, Some(&self.root), folder::MAX_BYTES)
            .map_err(|e| format!("cannot upload `{path}`: it {e}"))?;
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("bin");
        let key = key_of(&self.target.prefix, &bytes, ext);
        Ok(Artifact { source: path.to_string(), key, bytes, kind: Kind::File })
    }
}

/// Where an artifact will be: printed as its `s3://` URI; `.bucket`, `.key`, `.uri`, `.url` (https, as
/// TemplateURL takes it) and `.region` for properties that take the parts.
#[derive(Debug)]
struct Location {
    bucket: String,
    key: String,
    uri: String,
    url: String,
    region: String,
}

impl Object for Location {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let v = match key.as_str()? {
            "bucket" => &self.bucket,
            "key" => &self.key,
            "uri" => &self.uri,
            "url" => &self.url,
            "region" => &self.region,
            _ => return None,
        };
        Some(Value::from(v.as_str()))
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Str(&["bucket", "key", "uri", "url", "region"])
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.uri)
    }
}

/// The template function. Without a collector in the context (an expression source, a test), it says
/// where it can be used.
pub fn artifact(state: &State, path: String, kwargs: Kwargs) -> Result<Value, Error> {
    let zip: Option<bool> = kwargs.get("zip")?;
    kwargs.assert_all_used()?;
    let collector = state
        .lookup(CONTEXT_KEY)
        .and_then(|v| v.downcast_object::<Collector>())
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "artifact() can be used only in a layer's templates"))?;
    let a = collector
        .artifact(&path, zip.unwrap_or(false))
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("artifact(\"{path}\"): {e}")))?;
    let t = &collector.target;
    Ok(Value::from_object(Location {
        bucket: t.bucket().to_string(),
        uri: t.s3_uri(&a.key),
        url: t.https_url(&a.key),
        region: t.region.clone(),
        key: a.key,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(source: &str, collector: Option<&Value>) -> Result<String, Error> {
        let mut jinja = minijinja::Environment::new();
        jinja.add_function("artifact", artifact);
        let ctx = match collector {
            Some(c) => minijinja::context! { __stackc_artifacts => c.clone() },
            None => minijinja::context! {},
        };
        jinja.render_str(source, ctx)
    }

    #[test]
    fn a_file_is_uploaded_as_it_is_and_a_folder_zipped_each_once_by_content() {
        let dir =
            super::super::tests::tree(&[("stacks/l/jobs/etl.py", "print(1)\n"), ("stacks/l/src/a.py", "A = 1\n")]);
        let target = Target { bucket: Some("arts".into()), prefix: "p/".into(), region: "eu-west-1".into() };
        let c = Collector::new(target, dir.path().join("stacks/l"), dir.path().to_path_buf(), None);
        let v = Value::from_object(c);
        let text = render(
            "{{ artifact('jobs/etl.py') }}|{{ artifact('src').bucket }}|{{ artifact('src').key }}|{{ artifact('jobs/etl.py', zip=true).url }}|{{ artifact('./src').uri }}",
            Some(&v),
        )
        .unwrap();
        let parts: Vec<&str> = text.split('|').collect();
        let key = |bytes: &[u8], ext: &str| key_of("p/", bytes, ext);
        assert_eq!(parts[0], format!("s3://arts/{}", key(b"print(1)\n", "py")));
        assert_eq!(parts[1], "arts");
        assert!(parts[2].starts_with("p/") && parts[2].ends_with(".zip"), "{}", parts[2]);
        assert!(parts[3].starts_with("https://arts.s3.eu-west-1.amazonaws.com/p/") && parts[3].ends_with(".zip"));
        assert_eq!(parts[4], format!("s3://arts/{}", parts[2]), "the same folder named two ways is one artifact");
        let made = v.downcast_object_ref::<Collector>().unwrap().made();
        assert_eq!(made.len(), 3, "{made:?}");
        assert_eq!(made.iter().find(|a| a.kind == Kind::File).unwrap().bytes, b"print(1)\n");
    }

    #[test]
    fn a_path_outside_the_project_or_missing_is_an_error_naming_it() {
        let dir = super::super::tests::tree(&[("stacks/l/x.txt", "x")]);
        let target = Target { bucket: None, prefix: "p/".into(), region: "eu-west-1".into() };
        let hint = Some("run `stackc build qa l` first".to_string());
        let v = Value::from_object(Collector::new(target, dir.path().join("stacks/l"), dir.path().to_path_buf(), hint));
        let outside = render("{{ artifact('../../../etc/passwd') }}", Some(&v)).unwrap_err().to_string();
        assert!(outside.contains("`../../../etc/passwd` is outside the project"), "{outside}");
        let missing = render("{{ artifact('dist') }}", Some(&v)).unwrap_err().to_string();
        assert!(missing.contains("`dist` does not exist") && missing.contains("stackc build qa l"), "{missing}");
        let offline = render("{{ artifact('x.txt') }}", Some(&v)).unwrap();
        assert!(offline.starts_with("s3://<artifact_bucket>/p/"), "{offline}");
        let nowhere = render("{{ artifact('x.txt') }}", None).unwrap_err().to_string();
        assert!(nowhere.contains("only in a layer's templates"), "{nowhere}");
        let typo = render("{{ artifact('x.txt', zipped=true) }}", Some(&v)).unwrap_err().to_string();
        assert!(typo.contains("zipped"), "{typo}");
    }

    #[test]
    fn a_path_the_build_makes_stands_in_until_it_has_run_and_is_marked_so() {
        let dir = super::super::tests::tree(&[("stacks/l/x.txt", "x")]);
        let target = Target { bucket: Some("arts".into()), prefix: "p/".into(), region: "eu-west-1".into() };
        let mut c = Collector::new(target, dir.path().join("stacks/l"), dir.path().to_path_buf(), None);
        c.unbuilt = vec![dir.path().join("stacks/l/dist")];
        let v = Value::from_object(c);
        let text = render("{{ artifact('dist/app.zip') }}|{{ artifact('./dist').key }}", Some(&v)).unwrap();
        assert_eq!(text, "s3://arts/p/unbuilt/dist/app.zip|p/unbuilt/dist");
        let made = v.downcast_object_ref::<Collector>().unwrap().made();
        assert!(made.iter().all(|a| a.kind == Kind::Unbuilt && a.bytes.is_empty()), "{made:?}");
        let missing = render("{{ artifact('other') }}", Some(&v)).unwrap_err().to_string();
        assert!(missing.contains("`other` does not exist"), "only declared outputs stand in: {missing}");
    }
}
