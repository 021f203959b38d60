//! How secrets are named in each store, by convention (`[secret_names]`).

use crate::source::Source;

/// How `--password-from` and `secret set --to` name a parameter's secret in each store.
/// Patterns may use {project}, {env}, {layer}, {parameter} and {LAYER}, {PARAMETER} (upper case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretNames {
    pub keyring_service: String,
    pub keyring_account: String,
    pub ssm: String,
    pub secretsmanager: String,
    pub secretsmanager_key: String,
    pub env: String,
}

impl Default for SecretNames {
    fn default() -> SecretNames {
        SecretNames {
            keyring_service: "stackc/{project}/{env}".into(),
            keyring_account: "{layer}/{parameter}".into(),
            ssm: "/{project}/{env}/{layer}/{parameter}".into(),
            secretsmanager: "{project}/{env}/{layer}".into(),
            secretsmanager_key: "{parameter}".into(),
            env: "STACKC_{LAYER}_{PARAMETER}".into(),
        }
    }
}

impl SecretNames {
    pub fn fill(pattern: &str, project: &str, env: &str, layer: &str, parameter: &str) -> String {
        let upper = |s: &str| {
            s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect::<String>()
        };
        pattern
            .replace("{project}", project)
            .replace("{env}", env)
            .replace("{layer}", layer)
            .replace("{parameter}", parameter)
            .replace("{LAYER}", &upper(layer))
            .replace("{PARAMETER}", &upper(parameter))
    }

    /// Where a parameter's secret lives in `kind`, by this convention.
    pub fn source(&self, kind: SecretStore, project: &str, env: &str, layer: &str, parameter: &str) -> Source {
        let f = |p: &str| SecretNames::fill(p, project, env, layer, parameter);
        match kind {
            SecretStore::Keyring => {
                Source::Keyring { service: Some(f(&self.keyring_service)), account: Some(f(&self.keyring_account)) }
            }
            SecretStore::Ssm => Source::SsmSecure { name: f(&self.ssm) },
            SecretStore::SecretsManager => Source::SecretsManager {
                id: f(&self.secretsmanager),
                key: Some(f(&self.secretsmanager_key)).filter(|k| !k.is_empty()),
                version_stage: None,
            },
            SecretStore::Env => Source::Env { var: f(&self.env), default: None, secret: true },
            SecretStore::Prompt => Source::Prompt { message: Some(format!("{env} {layer} {parameter}")) },
        }
    }
}

/// The stores a password can come from on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SecretStore {
    Keyring,
    Ssm,
    #[value(name = "secretsmanager")]
    SecretsManager,
    Env,
    Prompt,
}
