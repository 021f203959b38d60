//! Resolving value references against AWS: SSM (batches of 10), Secrets Manager (batches), stack
//! outputs, ACM and Route 53, each distinct reference fetched once per run. Secrets come back as
//! `Secret` and are never logged.

use super::client;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::cloudformation::AwsCloudFormation;
use super::{port_error, runtime, Aws};
use crate::cfn::port::{CloudFormation, StackInfo};
use crate::provider::{FetchError, Fetched, Provider};
use crate::secret::Secret;
use crate::source::Source;

pub const SSM_BATCH: usize = 10;
pub const SECRETS_BATCH: usize = 20;

/// Calls made, by API, so tests and `-v` can see the batching.
#[derive(Debug, Default, Clone)]
pub struct CallCount {
    pub ssm_get_parameters: usize,
    pub secrets_batch_get: usize,
    pub secrets_get: usize,
}

pub struct AwsValues {
    aws: Arc<Aws>,
    /// Stacks of this environment's layers, by layer, as the build being made knows them (set before each).
    pub deployed: BTreeMap<String, StackInfo>,
    cache: HashMap<Source, Result<Fetched, FetchError>>,
    pub calls: CallCount,
    /// The version of each secret's source (SSM parameter version, Secrets Manager version id).
    versions: HashMap<(String, String), String>,
}

impl AwsValues {
    pub fn new(aws: Arc<Aws>) -> AwsValues {
        AwsValues {
            aws,
            deployed: BTreeMap::new(),
            cache: HashMap::new(),
            calls: CallCount::default(),
            versions: HashMap::new(),
        }
    }

    /// The version of a secret source's current value, if the store keeps versions.
    pub fn version_of(&self, source: &Source) -> Option<String> {
        match source {
            Source::SsmSecure { name } => self.versions.get(&("ssm".to_string(), name.clone())).cloned(),
            Source::SecretsManager { id, version_stage, .. } => self
                .versions
                .get(&(format!("sm@{}", version_stage.as_deref().unwrap_or("AWSCURRENT")), id.clone()))
                .cloned(),
            _ => None,
        }
    }

    /// Distinct references looked up so far in this run.
    pub fn resolved_count(&self) -> usize {
        self.cache.len()
    }

    fn ssm(&mut self, names: &[(String, bool)]) -> HashMap<(String, bool), Result<Fetched, FetchError>> {
        let client = client!(aws_sdk_ssm, &self.aws.config(None));
        let endpoint = self.aws.endpoint();
        let mut out = HashMap::new();
        for secure in [false, true] {
            let wanted: Vec<&String> = names.iter().filter(|(_, s)| *s == secure).map(|(n, _)| n).collect();
            for chunk in wanted.chunks(SSM_BATCH) {
                self.calls.ssm_get_parameters += 1;
                let req = client
                    .get_parameters()
                    .set_names(Some(chunk.iter().map(|s| s.to_string()).collect()))
                    .with_decryption(secure);
                match runtime().block_on(req.send()) {
                    Ok(resp) => {
                        for p in resp.parameters() {
                            let name = p.name().unwrap_or_default().to_string();
                            let value = p.value().unwrap_or_default().to_string();
                            if secure {
                                self.versions.insert(("ssm".to_string(), name.clone()), p.version().to_string());
                            }
                            let is_secure = p.r#type().map(|t| t.as_str() == "SecureString").unwrap_or(false);
                            let r = if secure {
                                Ok(Fetched::Secret(Secret::new(value)))
                            } else if is_secure {
                                Err(FetchError {
                                    message: format!("`{name}` is a SecureString"),
                                    hint: Some(
                                        "use `from = \"ssm-secure\"` for it (and pass it to a NoEcho parameter)".into(),
                                    ),
                                })
                            } else {
                                Ok(Fetched::Plain(value))
                            };
                            out.insert((name, secure), r);
                        }
                        for missing in resp.invalid_parameters() {
                            out.insert((missing.clone(), secure), Err(not_found_ssm(missing, secure)));
                        }
                    }
                    Err(e) => {
                        let msg = port_error("GetParameters", &endpoint, e).to_string();
                        for n in chunk {
                            out.insert(((*n).clone(), secure), Err(FetchError::new(msg.clone())));
                        }
                    }
                }
            }
        }
        out
    }

    fn secrets(&mut self, ids: &[String]) -> HashMap<String, Result<String, FetchError>> {
        let client = client!(aws_sdk_secretsmanager, &self.aws.config(None));
        let endpoint = self.aws.endpoint();
        let mut out = HashMap::new();
        for chunk in ids.chunks(SECRETS_BATCH) {
            self.calls.secrets_batch_get += 1;
            let req = client.batch_get_secret_value().set_secret_id_list(Some(chunk.to_vec()));
            match runtime().block_on(req.send()) {
                Ok(resp) => {
                    for v in resp.secret_values() {
                        let name = v.name().unwrap_or_default().to_string();
                        let arn = v.arn().unwrap_or_default().to_string();
                        let value = v.secret_string().map(str::to_string).ok_or_else(|| {
                            FetchError::new("the secret has no string value (binary secrets are not supported)")
                        });
                        for id in chunk {
                            if *id == name || *id == arn {
                                out.insert(id.clone(), value.clone());
                                if let Some(version) = v.version_id() {
                                    self.versions
                                        .insert(("sm@AWSCURRENT".to_string(), id.clone()), version.to_string());
                                }
                            }
                        }
                    }
                    for e in resp.errors() {
                        if let Some(id) = e.secret_id() {
                            out.insert(
                                id.to_string(),
                                Err(FetchError::new(format!(
                                    "{}: {}",
                                    e.error_code().unwrap_or("Error"),
                                    e.message().unwrap_or_default()
                                ))),
                            );
                        }
                    }
                    for id in chunk {
                        out.entry(id.clone()).or_insert_with(|| Err(not_found_secret(id)));
                    }
                }
                Err(e) => {
                    let msg = port_error("BatchGetSecretValue", &endpoint, e).to_string();
                    for id in chunk {
                        out.insert(id.clone(), Err(FetchError::new(msg.clone())));
                    }
                }
            }
        }
        out
    }

    fn secret_with_stage(&mut self, id: &str, stage: &str) -> Result<String, FetchError> {
        self.calls.secrets_get += 1;
        let client = client!(aws_sdk_secretsmanager, &self.aws.config(None));
        match runtime().block_on(client.get_secret_value().secret_id(id).version_stage(stage).send()) {
            Ok(v) => {
                if let Some(version) = v.version_id() {
                    self.versions.insert((format!("sm@{stage}"), id.to_string()), version.to_string());
                }
                v.secret_string().map(str::to_string).ok_or_else(|| FetchError::new("the secret has no string value"))
            }
            Err(e) => {
                let pe = port_error("GetSecretValue", &self.aws.endpoint(), e);
                if pe.to_string().contains("ResourceNotFoundException") {
                    Err(not_found_secret(id))
                } else {
                    Err(FetchError::new(pe.to_string()))
                }
            }
        }
    }

    fn acm(&self, domain: &str, region: Option<&str>) -> Result<Fetched, FetchError> {
        let client = client!(aws_sdk_acm, &self.aws.config(region));
        let mut exact = Vec::new();
        let mut covering = Vec::new();
        let mut token = None;
        loop {
            let req = client
                .list_certificates()
                .certificate_statuses(aws_sdk_acm::types::CertificateStatus::Issued)
                .set_next_token(token);
            let resp = runtime()
                .block_on(req.send())
                .map_err(|e| FetchError::new(port_error("ListCertificates", &self.aws.endpoint(), e).to_string()))?;
            for c in resp.certificate_summary_list() {
                let arn = c.certificate_arn().unwrap_or_default().to_string();
                let mut names: Vec<String> = c.subject_alternative_name_summaries().to_vec();
                if let Some(d) = c.domain_name() {
                    names.push(d.to_string());
                }
                if names.iter().any(|n| n.eq_ignore_ascii_case(domain)) {
                    exact.push(arn);
                } else if names.iter().any(|n| wildcard_covers(n, domain)) {
                    covering.push(arn);
                }
            }
            token = resp.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        exact.sort();
        exact.dedup();
        covering.sort();
        covering.dedup();
        let region = region.unwrap_or(&self.aws.conn.region).to_string();
        match (exact.as_slice(), covering.as_slice()) {
            ([one], _) | ([], [one]) => Ok(Fetched::Plain(one.clone())),
            ([], []) => Err(FetchError {
                message: format!("no issued ACM certificate for `{domain}` in {region}"),
                hint: Some(format!("request one (`aws acm request-certificate --domain-name {domain} --region {region}`) and validate it")),
            }),
            (many, _) if !many.is_empty() => Err(FetchError::new(format!(
                "{} issued ACM certificates match `{domain}` in {region}: {}; name one by its ARN (e.g. from = \"ssm\")",
                many.len(),
                many.join(", ")
            ))),
            (_, many) => Err(FetchError::new(format!(
                "{} issued wildcard ACM certificates cover `{domain}` in {region}: {}",
                many.len(),
                many.join(", ")
            ))),
        }
    }

    fn route53(&self, zone: &str, private: Option<bool>) -> Result<Fetched, FetchError> {
        let client = client!(aws_sdk_route53, &self.aws.config(None));
        let want = format!("{}.", zone.trim_end_matches('.'));
        let resp = runtime()
            .block_on(client.list_hosted_zones_by_name().dns_name(&want).send())
            .map_err(|e| FetchError::new(port_error("ListHostedZonesByName", &self.aws.endpoint(), e).to_string()))?;
        let candidates: Vec<(String, bool)> = resp
            .hosted_zones()
            .iter()
            .filter(|z| z.name().eq_ignore_ascii_case(&want))
            .map(|z| {
                (
                    z.id().trim_start_matches("/hostedzone/").to_string(),
                    z.config().map(|c| c.private_zone()).unwrap_or(false),
                )
            })
            .collect();
        let pick: Vec<&(String, bool)> = match private {
            Some(p) => candidates.iter().filter(|(_, is_private)| *is_private == p).collect(),
            // Unless told, the public zone is the one records for the world go into.
            None => {
                let public: Vec<&(String, bool)> = candidates.iter().filter(|(_, p)| !p).collect();
                if public.is_empty() {
                    candidates.iter().collect()
                } else {
                    public
                }
            }
        };
        match pick.as_slice() {
            [one] => Ok(Fetched::Plain(one.0.clone())),
            [] => Err(FetchError::new(format!(
                "no {}Route 53 hosted zone named `{zone}`",
                match private {
                    Some(true) => "private ",
                    Some(false) => "public ",
                    None => "",
                }
            ))),
            many => Err(FetchError::new(format!(
                "{} hosted zones are named `{zone}` ({}); add `private = true` or `false`",
                many.len(),
                many.iter().map(|z| z.0.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    fn layer_output(&self, layer: &str, output: &str) -> Result<Fetched, FetchError> {
        match self.deployed.get(layer) {
            Some(stack) => match stack.outputs.get(output) {
                Some(v) => Ok(Fetched::Plain(v.clone())),
                None => Err(FetchError::new(format!(
                    "stack `{}` (layer `{layer}`) has no output `{output}`; it has: {}",
                    stack.name,
                    if stack.outputs.is_empty() {
                        "none".to_string()
                    } else {
                        stack.outputs.keys().cloned().collect::<Vec<_>>().join(", ")
                    }
                ))),
            },
            // Not deployed yet: a placeholder, and the layer's plan waits for that layer.
            None => Ok(Fetched::Placeholder),
        }
    }

    fn stack_output(&self, stack: &str, output: &str, region: Option<&str>) -> Result<Fetched, FetchError> {
        let cfn = match region {
            Some(r) => AwsCloudFormation::for_region(&self.aws, r),
            None => AwsCloudFormation::new(&self.aws),
        };
        match cfn.describe_stack(stack) {
            Ok(Some(s)) => s.outputs.get(output).cloned().map(Fetched::Plain).ok_or_else(|| {
                FetchError::new(format!(
                    "stack `{stack}` has no output `{output}`; it has: {}",
                    s.outputs.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            }),
            Ok(None) => Err(FetchError::new(format!("stack `{stack}` does not exist"))),
            Err(e) => Err(FetchError::new(e.to_string())),
        }
    }
}

fn not_found_ssm(name: &str, secure: bool) -> FetchError {
    FetchError {
        message: format!("SSM parameter `{name}` does not exist"),
        hint: Some(if secure {
            format!("create it: `aws ssm put-parameter --name {name} --type SecureString --value ...`")
        } else {
            format!("create it: `aws ssm put-parameter --name {name} --type String --value ...`")
        }),
    }
}

fn not_found_secret(id: &str) -> FetchError {
    FetchError {
        message: format!("Secrets Manager secret `{id}` does not exist"),
        hint: Some(format!("create it: `aws secretsmanager create-secret --name {id} --secret-string ...`")),
    }
}

/// `*.example.com` covers `api.example.com` (one label), not `example.com` or `a.b.example.com`.
pub fn wildcard_covers(pattern: &str, domain: &str) -> bool {
    let Some(suffix) = pattern.strip_prefix("*.") else { return false };
    let domain = domain.to_ascii_lowercase();
    let suffix = suffix.to_ascii_lowercase();
    match domain.strip_suffix(&suffix).and_then(|d| d.strip_suffix('.')) {
        Some(label) => !label.is_empty() && !label.contains('.') && label != "*",
        None => false,
    }
}

/// The value of `key` in a JSON secret.
pub fn json_key(secret: &str, key: &str, id: &str) -> Result<String, FetchError> {
    let v: serde_json::Value = serde_json::from_str(secret)
        .map_err(|_| FetchError::new(format!("secret `{id}` is not a JSON object, so it has no key `{key}`")))?;
    match v.get(key) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(serde_json::Value::Null) | None => {
            let keys: Vec<String> = v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
            Err(FetchError::new(format!("secret `{id}` has no key `{key}` (keys: {})", keys.join(", "))))
        }
        Some(other) => Ok(other.to_string()),
    }
}

impl Provider for AwsValues {
    fn fetch(&mut self, requests: &[Source]) -> Vec<Result<Fetched, FetchError>> {
        let todo: Vec<Source> = requests
            .iter()
            .filter(|s| !self.cache.contains_key(*s) || matches!(s, Source::Output { .. }))
            .cloned()
            .collect();
        // Batch the SSM and Secrets Manager look-ups.
        let ssm_names: Vec<(String, bool)> = todo
            .iter()
            .filter_map(|s| match s {
                Source::Ssm { name } => Some((name.clone(), false)),
                Source::SsmSecure { name } => Some((name.clone(), true)),
                _ => None,
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let ssm = if ssm_names.is_empty() { HashMap::new() } else { self.ssm(&ssm_names) };
        let secret_ids: Vec<String> = todo
            .iter()
            .filter_map(|s| match s {
                Source::SecretsManager { id, version_stage: None, .. } => Some(id.clone()),
                _ => None,
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let secrets = if secret_ids.is_empty() { HashMap::new() } else { self.secrets(&secret_ids) };
        for s in &todo {
            let r = match s {
                Source::Ssm { name } => {
                    ssm.get(&(name.clone(), false)).cloned().unwrap_or_else(|| Err(not_found_ssm(name, false)))
                }
                Source::SsmSecure { name } => {
                    ssm.get(&(name.clone(), true)).cloned().unwrap_or_else(|| Err(not_found_ssm(name, true)))
                }
                Source::SecretsManager { id, key, version_stage } => {
                    let whole = match version_stage {
                        Some(stage) => self.secret_with_stage(id, stage),
                        None => secrets.get(id).cloned().unwrap_or_else(|| Err(not_found_secret(id))),
                    };
                    whole
                        .and_then(|w| match key {
                            Some(k) => json_key(&w, k, id),
                            None => Ok(w),
                        })
                        .map(|v| Fetched::Secret(Secret::new(v)))
                }
                Source::Output { layer, output } => self.layer_output(layer, output),
                Source::StackOutput { stack, output, region } => self.stack_output(stack, output, region.as_deref()),
                Source::Acm { domain, region } => self.acm(domain, region.as_deref()),
                Source::Route53 { zone, private } => self.route53(zone, *private),
                _ => Err(FetchError::new("not a source held in AWS")),
            };
            self.cache.insert(s.clone(), r);
        }
        requests
            .iter()
            .map(|s| self.cache.get(s).cloned().unwrap_or_else(|| Err(FetchError::new("not fetched"))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(wildcard_covers("*.example.com", "api.example.com"));
        assert!(!wildcard_covers("*.example.com", "example.com"));
        assert!(!wildcard_covers("*.example.com", "a.b.example.com"));
        assert!(!wildcard_covers("example.com", "api.example.com"));
    }

    #[test]
    fn json_keys_are_extracted_without_echoing_the_secret() {
        assert_eq!(json_key(r#"{"password":"pw","user":"u"}"#, "password", "db").unwrap(), "pw");
        let e = json_key(r#"{"password":"pw"}"#, "pasword", "db").unwrap_err();
        assert!(e.message.contains("no key `pasword`") && !e.message.contains("pw\""), "{}", e.message);
        let e = json_key("plain-secret-text", "password", "db").unwrap_err();
        assert!(!e.message.contains("plain-secret-text"));
    }
}
