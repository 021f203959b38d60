//! From a built layer to what the engine deploys: parameters with their API values (secrets only to
//! NoEcho parameters), the layers it still waits for, tags (with the secret-version fingerprints), the
//! packaged template and its artifacts, capabilities and policy. Pure: the caller uploads the artifacts.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use super::layer::{LayerError, Prepared, PreparedParam};
use crate::assemble::stack_tags;
use crate::assemble::{self, Assembled};
use crate::cfn::port::ApiValue;
use crate::cfn::template::Template;
use crate::environment::Environment;
use crate::files::{read_text, MAX_PROJECT_FILE};
use crate::package;
use crate::package::Artifact;
use crate::project::Project;
use crate::source::Source;
use crate::values;
use crate::values::Resolved;

/// `version_of` gives the version of a secret's source when the store keeps versions.
pub fn prepare(
    project: &Project,
    env: &Environment,
    layer: &str,
    b: &Assembled,
    version_of: &dyn Fn(&Source) -> Option<String>,
) -> Result<(Prepared, Vec<Artifact>), LayerError> {
    let template = b.template.as_ref().map_err(|e| LayerError::Unparsable(e.message.clone()))?;
    let def = &project.layers[layer];
    let options = env.layer(layer).stack.over(&env.stack);
    secrets_only_to_no_echo(b, template)?;
    let (parameters, waiting_for) = parameters(b, version_of);
    let mut tags = stack_tags(project, env, layer);
    if let Some(tag) = secret_versions_tag(&parameters) {
        tags.insert(super::plan::SECRET_VERSIONS_TAG.to_string(), tag);
    }
    let (packaged, template_url) = package(project, env, layer, b)?;
    let stack_policy = match &def.stack_policy {
        // Inside the project, a file, bounded: a link out of it or a fifo is refused, never read.
        Some(path) => Some(
            read_text(path, Some(&project.root), MAX_PROJECT_FILE)
                .map_err(|e| LayerError::StackPolicy { path: path.display().to_string(), error: e.to_string() })?,
        ),
        None => None,
    };
    let prepared = Prepared {
        layer: layer.to_string(),
        stack_name: b.values.stack_name.clone(),
        template_body: packaged.body,
        template_url,
        parameters,
        tags,
        capabilities: template.capabilities_to_send(&def.capabilities),
        role_arn: env.role_arn.clone(),
        // A stack set has no termination protection of its own.
        termination_protection: if def.stackset.is_some() {
            None
        } else {
            options.termination_protection.or(env.protected.then_some(true))
        },
        notification_arns: options.notification_arns.clone().unwrap_or_default(),
        rollback_alarms: options.rollback_alarms.clone().unwrap_or_default(),
        rollback_minutes: options.rollback_monitoring_minutes,
        disable_rollback: options.disable_rollback.unwrap_or(false),
        stack_policy,
        waiting_for: waiting_for.into_iter().collect(),
        resources: template.resource_types(),
        defaults: defaults(template),
        // Targets need the account, which the caller knows.
        stackset: None,
        timeout: options.timeout_minutes.map(|m| std::time::Duration::from_secs(u64::from(m) * 60)),
        nested_templates: packaged
            .artifacts
            .iter()
            .filter(|a| a.kind == package::Kind::Template)
            .map(|a| (a.key.clone(), String::from_utf8_lossy(&a.bytes).into_owned()))
            .collect(),
    };
    Ok((prepared, packaged.artifacts))
}

/// The last guard: a secret goes only to a parameter CloudFormation will not show.
fn secrets_only_to_no_echo(b: &Assembled, template: &Template) -> Result<(), LayerError> {
    let declared = template.parameters();
    for p in b.values.parameters.values().filter(|p| p.is_secret()) {
        if !declared.iter().any(|d| d.name == p.name && d.no_echo) {
            return Err(LayerError::SecretNotNoEcho { parameter: p.name.clone(), shown: p.shown() });
        }
    }
    Ok(())
}

/// Each parameter's API value, and the layers whose outputs are still placeholders.
fn parameters(b: &Assembled, version_of: &dyn Fn(&Source) -> Option<String>) -> (Vec<PreparedParam>, BTreeSet<String>) {
    let mut waiting_for = BTreeSet::new();
    let mut out = Vec::new();
    for p in b.values.parameters.values() {
        let value = match &p.value {
            Resolved::Plain(v) => ApiValue::Plain(v.clone()),
            Resolved::Secret(s) => ApiValue::Secret(s.clone()),
            Resolved::Placeholder(d) => {
                if let Some(Source::Output { layer: dep, .. }) = &p.source {
                    waiting_for.insert(dep.clone());
                }
                ApiValue::Placeholder(d.clone())
            }
        };
        // A fingerprint of the source's version, never of the value.
        let fingerprint = p.source.as_ref().filter(|_| p.is_secret()).and_then(|src| {
            let v = version_of(src)?;
            let h = Sha256::digest(format!("{}@{v}", src.describe()));
            Some(h.iter().take(5).map(|b| format!("{b:02x}")).collect::<String>())
        });
        out.push(PreparedParam { name: p.name.clone(), value, shown: p.shown(), secret: p.is_secret(), fingerprint });
    }
    (out, waiting_for)
}

/// `Name=fingerprint;...` for the secrets whose source has versions. Tag values hold 256 characters; a
/// secret left out is planned as "may have changed".
fn secret_versions_tag(parameters: &[PreparedParam]) -> Option<String> {
    let mut tag = String::new();
    for p in parameters {
        let Some(f) = &p.fingerprint else { continue };
        let v = format!("{}={f}", p.name);
        if tag.len() + v.len() < 255 {
            if !tag.is_empty() {
                tag.push(';');
            }
            tag.push_str(&v);
        }
    }
    (!tag.is_empty()).then_some(tag)
}

/// The packaged template (local code, nested templates and an oversized body go to the artifact bucket)
/// and, when the body is too large to send, the URL CloudFormation reads it from.
fn package(
    project: &Project,
    env: &Environment,
    layer: &str,
    b: &Assembled,
) -> Result<(package::Packaged, Option<String>), LayerError> {
    let target = assemble::artifact_target(project, env, layer);
    let packaged = assemble::package_layer(project, env, layer, b).map_err(LayerError::Packaging)?;
    let unbuilt: Vec<String> =
        packaged.artifacts.iter().filter(|a| a.kind == package::Kind::Unbuilt).map(|a| a.source.clone()).collect();
    if !unbuilt.is_empty() {
        return Err(LayerError::Unbuilt(unbuilt));
    }
    if !packaged.artifacts.is_empty() && target.bucket.is_none() {
        return Err(LayerError::NeedsBucket {
            sources: packaged.artifacts.iter().map(|a| a.source.clone()).collect(),
            how: assemble::missing_bucket(project, env, layer),
        });
    }
    let url = packaged.template_key.as_ref().map(|k| target.https_url(k));
    Ok((packaged, url))
}

/// The template's parameter defaults as CloudFormation reports them back (lists comma-joined).
fn defaults(template: &Template) -> BTreeMap<String, String> {
    template
        .parameters()
        .into_iter()
        .filter_map(|tp| {
            let d = match tp.default? {
                serde_json::Value::String(s) => s,
                serde_json::Value::Array(a) => a.iter().map(values::json_param_string).collect::<Vec<_>>().join(","),
                other => other.to_string(),
            };
            Some((tp.name, d))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Fetched, Memory};
    use crate::secret::Secret;

    const TEMPLATE: &str = "Transform: AWS::Serverless-2016-10-31\nParameters:\n  Pw:\n    Type: String\n    NoEcho: true\n  Vpc:\n    Type: String\n  Zones:\n    Type: CommaDelimitedList\n    Default: [a, b]\n  Size:\n    Type: Number\n    Default: 3\nResources:\n  T:\n    Type: AWS::SNS::Topic\n";

    fn built(env_text: &str, template: &str, memory: Memory) -> (tempfile::TempDir, Project, Environment, Assembled) {
        let dir = tempfile::tempdir().unwrap();
        for (p, c) in [
            ("stackc.toml", "name = \"demo\"\n"),
            ("stacks/net/template.yaml", "Resources:\n  V:\n    Type: AWS::EC2::VPC\n"),
            ("stacks/app/template.yaml", template),
            ("environments/qa.toml", env_text),
        ] {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, c).unwrap();
        }
        let project = Project::discover(Some(dir.path())).unwrap();
        let env = crate::environment::load(&project, "qa", &[]).unwrap();
        let mut memory = memory;
        let mut all = assemble::layers(&project, &env, &["app".to_string()], &mut memory).unwrap();
        let b = all.remove("app").unwrap();
        (dir, project, env, b)
    }

    const ENV: &str = "region = \"eu-west-1\"\n[tags]\nOwner = \"team\"\n[layers.app.parameters]\nPw = { from = \"ssm-secure\", name = \"/pw\" }\nVpc = { from = \"output\", layer = \"net\", output = \"VpcId\" }\n";

    fn memory() -> Memory {
        Memory::default()
            .with(Source::SsmSecure { name: "/pw".into() }, Fetched::Secret(Secret::new("prep-canary")))
            .with(Source::Output { layer: "net".into(), output: "VpcId".into() }, Fetched::Placeholder)
    }

    #[test]
    fn a_prepared_layer_has_everything_the_engine_sends() {
        let (_dir, project, env, b) = built(ENV, TEMPLATE, memory());
        let (p, artifacts) = prepare(&project, &env, "app", &b, &|_| Some("7".into())).unwrap();
        assert!(artifacts.is_empty());
        assert_eq!(p.stack_name, "demo-qa-app");
        let pw = p.parameters.iter().find(|x| x.name == "Pw").unwrap();
        assert!(pw.secret && matches!(&pw.value, ApiValue::Secret(s) if s.expose() == "prep-canary"));
        assert_eq!(pw.fingerprint.as_deref().map(str::len), Some(10));
        assert_eq!(p.waiting_for, vec!["net"]);
        assert_eq!(p.tags["Owner"], "team");
        assert_eq!(p.tags["stackc:layer"], "app");
        assert_eq!(p.tags[super::super::plan::SECRET_VERSIONS_TAG], format!("Pw={}", pw.fingerprint.as_ref().unwrap()));
        assert_eq!(p.capabilities, vec!["CAPABILITY_AUTO_EXPAND"], "inferred from the Transform");
        assert_eq!(p.defaults["Zones"], "a,b");
        assert_eq!(p.defaults["Size"], "3");
        assert_eq!(p.resources, vec![("T".to_string(), "AWS::SNS::Topic".to_string())]);
        assert!(!format!("{p:?}").contains("prep-canary"), "Debug never shows the secret");
        // Without a version there is no fingerprint, and no tag.
        let (p, _) = prepare(&project, &env, "app", &b, &|_| None).unwrap();
        assert!(!p.tags.contains_key(super::super::plan::SECRET_VERSIONS_TAG));
    }

    #[test]
    fn stack_options_come_from_the_environment_and_the_layer_over_it() {
        let env = "region = \"eu-west-1\"\nnotification_arns = [\"arn:aws:sns:eu-west-1:123456789012:deploys\"]\nrollback_monitoring_minutes = 5\n[layers.app]\nrollback_alarms = [\"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:5xx\"]\nrollback_monitoring_minutes = 15\ndisable_rollback = true\ntermination_protection = false\n[layers.app.parameters]\nPw = { from = \"ssm-secure\", name = \"/pw\" }\nVpc = { from = \"output\", layer = \"net\", output = \"VpcId\" }\n";
        let (_dir, project, env, b) = built(env, TEMPLATE, memory());
        let (p, _) = prepare(&project, &env, "app", &b, &|_| None).unwrap();
        assert_eq!(p.notification_arns, vec!["arn:aws:sns:eu-west-1:123456789012:deploys"]);
        assert_eq!(p.rollback_alarms, vec!["arn:aws:cloudwatch:eu-west-1:123456789012:alarm:5xx"]);
        assert_eq!(p.rollback_minutes, Some(15), "the layer's own wins");
        assert!(p.disable_rollback);
        assert_eq!(p.termination_protection, Some(false));
    }

    #[test]
    fn a_secret_for_a_parameter_that_echoes_is_refused() {
        let (_dir, project, env, b) = built(ENV, &TEMPLATE.replace("    NoEcho: true\n", ""), memory());
        let err = prepare(&project, &env, "app", &b, &|_| None).unwrap_err();
        assert!(
            err.to_string().contains("parameter `Pw` gets a secret (<secret from ssm-secure:/pw>)"),
            "{}",
            err.to_string()
        );
        assert!(!err.to_string().contains("prep-canary"));
    }

    #[test]
    fn the_version_tag_stays_within_a_tag_value() {
        let params: Vec<PreparedParam> = (0..40)
            .map(|i| PreparedParam {
                name: format!("Secret{i}"),
                value: ApiValue::Plain(String::new()),
                shown: String::new(),
                secret: true,
                fingerprint: Some("0123456789".into()),
            })
            .collect();
        let tag = secret_versions_tag(&params).unwrap();
        assert!(tag.len() <= 255, "{}", tag.len());
        assert!(tag.starts_with("Secret0=0123456789;Secret1="));
        assert_eq!(secret_versions_tag(&params[..0]), None);
    }

    #[test]
    fn local_code_without_a_bucket_is_refused() {
        let template = "Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: src\n";
        let (dir, project, env, b) = built("region = \"eu-west-1\"\n", template, Memory::default());
        std::fs::create_dir_all(dir.path().join("stacks/app/src")).unwrap();
        std::fs::write(dir.path().join("stacks/app/src/index.py"), "pass\n").unwrap();
        let err = prepare(&project, &env, "app", &b, &|_| None).unwrap_err();
        assert!(
            err.to_string().contains("needs an artifact bucket (src)")
                && err.to_string().contains("stackc bootstrap qa"),
            "{}",
            err.to_string()
        );
    }
}
