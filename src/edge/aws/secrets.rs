//! Writing secrets where they live: SSM SecureString and Secrets Manager (whole, or one key of a JSON secret).

use super::client;
use std::sync::Arc;

use super::{port_error, runtime, Aws};
use crate::secret::Secret;

pub fn put_ssm_secure(aws: &Arc<Aws>, name: &str, value: &Secret) -> Result<(), String> {
    let client = client!(aws_sdk_ssm, &aws.config(None));
    let req = client
        .put_parameter()
        .name(name)
        .value(value.expose())
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true);
    runtime().block_on(req.send()).map_err(|e| port_error("PutParameter", &aws.endpoint(), e).to_string())?;
    Ok(())
}

/// Set the whole secret, or one key of its JSON object (keeping the other keys).
pub fn put_secretsmanager(aws: &Arc<Aws>, id: &str, key: Option<&str>, value: &Secret) -> Result<(), String> {
    let client = client!(aws_sdk_secretsmanager, &aws.config(None));
    let endpoint = aws.endpoint();
    let existing = match runtime().block_on(client.get_secret_value().secret_id(id).send()) {
        Ok(v) => Some(Secret::new(v.secret_string().unwrap_or_default())),
        Err(e) => {
            let pe = port_error("GetSecretValue", &endpoint, e);
            if pe.to_string().contains("ResourceNotFoundException") {
                None
            } else {
                return Err(pe.to_string());
            }
        }
    };
    let body = match key {
        None => value.clone(),
        Some(k) => {
            let mut obj = match &existing {
                Some(s) if !s.is_empty() => match serde_json::from_str::<serde_json::Value>(s.expose()) {
                    Ok(serde_json::Value::Object(m)) => m,
                    _ => {
                        return Err(format!(
                            "secret `{id}` exists but is not a JSON object, so stackc will not replace it with one"
                        ))
                    }
                },
                _ => serde_json::Map::new(),
            };
            obj.insert(k.to_string(), serde_json::Value::String(value.expose().to_string()));
            Secret::new(serde_json::Value::Object(obj).to_string())
        }
    };
    if existing.is_some() {
        let req = client.put_secret_value().secret_id(id).secret_string(body.expose());
        runtime().block_on(req.send()).map_err(|e| port_error("PutSecretValue", &endpoint, e).to_string())?;
    } else {
        let req = client.create_secret().name(id).secret_string(body.expose());
        runtime().block_on(req.send()).map_err(|e| port_error("CreateSecret", &endpoint, e).to_string())?;
    }
    Ok(())
}
