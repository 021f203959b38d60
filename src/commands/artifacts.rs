//! `bootstrap` (the artifact bucket) and `package` (upload, and write the templates as deployed).

use std::path::Path;

use super::session::Session;
use super::{build_dir, print, write_file, write_output};
use crate::assemble;
use crate::diagnostic::{display_path, Diagnostic, Error, Result};
use crate::package;
use crate::package::human_bytes;
use crate::param_format;
use crate::scope;
use crate::text::count;

/// S3 bucket names: 3-63 characters of lower-case letters, digits, dots and dashes.
fn check_bucket_name(name: &str) -> Result<()> {
    let ok = (3..=63).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Error::config(Diagnostic::new(format!(
            "`{name}` is not a valid S3 bucket name (3 to 63 lower-case letters, digits, dots and dashes)"
        ))))
    }
}

/// The environment's artifact bucket, and one in every other region its layers live in (Lambda reads
/// code only from its own region), each recorded in the environment's file.
pub fn bootstrap(s: &Session, bucket: Option<&str>) -> Result<()> {
    s.check_account()?;
    let mut account = None;
    let mut default_name = |region: &str| -> Result<String> {
        if account.is_none() {
            account = Some(s.account().map_err(|e| Error::failed(Diagnostic::new(e.to_string())))?);
        }
        Ok(format!("stackc-{}-{region}", account.as_deref().unwrap_or_default()))
    };
    let home = match (bucket, &s.env.artifact_bucket) {
        (Some(b), _) => b.to_string(),
        (None, Some(b)) => b.clone(),
        (None, None) => default_name(&s.env.region)?,
    };
    let mut wanted = vec![(s.env.region.clone(), home)];
    let mut regions: Vec<String> = s.project.layers.keys().map(|l| scope::region_of(&s.project, l, &s.env)).collect();
    regions.sort();
    regions.dedup();
    for region in regions.into_iter().filter(|r| *r != s.env.region) {
        let name = match s.env.artifact_buckets.get(&region) {
            Some(b) => b.clone(),
            None => default_name(&region)?,
        };
        wanted.push((region, name));
    }
    for (_, name) in &wanted {
        check_bucket_name(name)?;
    }
    let mut text = String::new();
    for (i, (region, name)) in wanted.iter().enumerate() {
        let created = s.s3_in(region).bootstrap_bucket(name, region).map_err(|e| Error::failed(Diagnostic::new(e)))?;
        text.push_str(&format!(
            "{} s3://{name} in {region}: versioned, encrypted (SSE-S3), public access blocked\n",
            if created { "created" } else { "updated" },
        ));
        let recorded =
            if i == 0 { s.env.artifact_bucket.as_ref() } else { s.env.artifact_buckets.get(region.as_str()) };
        if recorded != Some(name) {
            let key = if i == 0 { "artifact_bucket".to_string() } else { format!("artifact_buckets.{region}") };
            record_bucket(&s.env.file, if i == 0 { None } else { Some(region.as_str()) }, name)?;
            text.push_str(&format!("set {key} = \"{name}\" in {}\n", display_path(&s.env.file)));
        }
    }
    print(&text);
    Ok(())
}

/// Write `artifact_bucket` (or, for another region, `artifact_buckets.<region>`) into the environment's
/// own file, keeping its comments and layout.
fn record_bucket(file: &Path, region: Option<&str>, name: &str) -> Result<()> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let mut doc: toml_edit::DocumentMut =
        text.parse().map_err(|e: toml_edit::TomlError| Error::msg(format!("{}: {e}", display_path(file))))?;
    match region {
        None => doc["artifact_bucket"] = toml_edit::value(name),
        Some(r) => {
            if doc.get("artifact_buckets").is_none() {
                let mut t = toml_edit::InlineTable::new();
                t.insert(r, name.into());
                doc["artifact_buckets"] = toml_edit::value(t);
            } else {
                doc["artifact_buckets"][r] = toml_edit::value(name);
            }
        }
    }
    write_file(file, &doc.to_string())
}

pub fn package(s: &Session, names: &[String], out: Option<&Path>) -> Result<()> {
    s.probe()?;
    let order = s.order(names)?;
    s.run_builds(&order, &super::progress::Progress::new())?;
    let built = s.build_public(&order)?;
    let dir = match out {
        Some(d) => d.to_path_buf(),
        None => build_dir(&s.project.root, &s.env.name)?,
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut summary = String::new();
    let mut errors = Vec::new();
    let (mut sent, mut bytes, mut present) = (0, 0, 0);
    for layer in &order {
        let b = &built[layer];
        let packaged = match assemble::package_layer(&s.project, &s.env, layer, b) {
            Ok(p) => p,
            Err(e) => {
                errors.extend(e.into_iter().map(|e| Diagnostic::new(format!("layer `{layer}`: {e}"))));
                continue;
            }
        };
        let target = assemble::artifact_target(&s.project, &s.env, layer);
        if !packaged.artifacts.is_empty() {
            let Some(bucket) = &target.bucket else {
                errors.push(Diagnostic::new(format!(
                    "layer `{layer}` needs an artifact bucket: {}",
                    assemble::missing_bucket(&s.project, &s.env, layer)
                )));
                continue;
            };
            if let Some(a) = packaged.artifacts.iter().find(|a| a.kind == package::Kind::Unbuilt) {
                errors.push(Diagnostic::new(format!(
                    "layer `{layer}`: {} is made by its [build], which did not run; nothing of it was uploaded",
                    a.source
                )));
                continue;
            }
            let done = s
                .s3_in(&target.region)
                .upload(bucket, &packaged.artifacts)
                .map_err(|e| Error::failed(Diagnostic::new(e)))?;
            sent += done.sent;
            bytes += done.bytes;
            present += done.present;
        }
        let rewritten = packaged.body != b.text;
        let ext = if rewritten || s.project.layers[layer].template_name.contains(".json") { "json" } else { "yaml" };
        let tpath = dir.join(format!("{layer}.{ext}"));
        write_output(&tpath, &packaged.body)?;
        let ppath = dir.join(format!("{layer}.params.json"));
        let params = serde_json::to_string_pretty(&param_format::to_json(&b.shown_parameters())).unwrap_or_default();
        write_output(&ppath, &(params + "\n"))?;
        let url = packaged
            .template_key
            .as_ref()
            .map(|k| format!("  (deployed from {})", target.https_url(k)))
            .unwrap_or_default();
        summary.push_str(&format!(
            "packaged {layer:<12} {}  {}{url}\n",
            display_path(&tpath),
            count(packaged.artifacts.len(), "artifact"),
        ));
    }
    summary.push_str(&format!(
        "uploaded {} ({}); {} already in the bucket\n",
        count(sent, "artifact"),
        human_bytes(bytes),
        present
    ));
    print(&(summary));
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::configs(errors))
    }
}
