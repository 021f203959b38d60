//! The AWS edge: one shared tokio runtime, SDK configuration (credential chain, `--profile`,
//! `--region`, `--endpoint-url` / `AWS_ENDPOINT_URL`), and the mapping of SDK errors to one sentence.
//! Everything else in stackc is synchronous and talks to AWS only through `CloudFormation` and `Provider`.

pub mod capped;
pub mod cloudformation;
pub mod record;
pub mod regional;
pub mod s3;
pub mod secrets;
pub mod stacksets;
pub mod values;

use std::sync::{Arc, OnceLock};

/// A client of an SDK service crate over an `SdkConfig`, carrying the response cap
/// (`client!(aws_sdk_ssm, &config)`, in the modules of this folder): every client stackc makes is made so.
macro_rules! client {
    ($service:ident, $config:expr) => {{
        let config: &::aws_config::SdkConfig = $config;
        $service::Client::from_conf(
            $service::config::Builder::from(config)
                .interceptor(super::capped::CapResponses)
                .retry_classifier(super::capped::NoRetryWhenTooLarge)
                .build(),
        )
    }};
}
pub(crate) use client;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::cfn::port::PortError;
use crate::environment;
use crate::secret;
use crate::secret::Secret;

/// Connection settings from the command line.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub profile: Option<String>,
    pub region: String,
    pub endpoint_url: Option<String>,
    /// Assumed (STS AssumeRole) over the credentials found, for every call of the run.
    pub assume_role: Option<environment::AssumeRole>,
    /// The session name when the role does not set one.
    pub default_session_name: String,
}

pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime")
    })
}

/// Loaded once per region.
pub struct Aws {
    pub conn: Connection,
    configs: std::sync::Mutex<std::collections::HashMap<String, Arc<SdkConfig>>>,
}

/// How long a call may wait: to connect, for the answer to start and keep coming, and in all (one
/// attempt). An endpoint that accepts and never answers ends in a message, never a hang.
/// `STACKC_CONNECT_TIMEOUT` and `STACKC_READ_TIMEOUT` (seconds) change the first two.
fn timeouts() -> aws_config::timeout::TimeoutConfig {
    let seconds = |var: &str, default: u64| {
        std::env::var(var).ok().and_then(|v| v.trim().parse::<u64>().ok()).filter(|s| *s > 0).unwrap_or(default)
    };
    let read = seconds("STACKC_READ_TIMEOUT", 30);
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(seconds("STACKC_CONNECT_TIMEOUT", 5)))
        .read_timeout(std::time::Duration::from_secs(read))
        .operation_attempt_timeout(std::time::Duration::from_secs(read * 2))
        .build()
}

/// Retries inside the SDK: standard (exponential backoff with jitter), up to 6 attempts a call and 5 s
/// between two, so an unreachable endpoint is reported within seconds. A throttled call that outlasts
/// them gets more patience from `regional::patiently`.
fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(6).with_max_backoff(std::time::Duration::from_secs(5))
}

static THROTTLED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many CloudFormation answers were `Throttling` (each retried) so far in this run, for `-v`.
pub fn throttled() -> usize {
    THROTTLED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Counts the throttled answers the SDK reads (it retries them itself, so no error reaches stackc).
#[derive(Debug)]
struct CountThrottles;

impl aws_sdk_cloudformation::config::Intercept for CountThrottles {
    fn name(&self) -> &'static str {
        "stackc::CountThrottles"
    }

    fn read_after_deserialization(
        &self,
        context: &aws_sdk_cloudformation::config::interceptors::AfterDeserializationInterceptorContextRef<'_>,
        _: &aws_sdk_cloudformation::config::RuntimeComponents,
        _: &mut aws_sdk_cloudformation::config::ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let response = context.response();
        let body = response.body().bytes().unwrap_or_default();
        if response.status().is_client_error() && is_throttling(body) {
            THROTTLED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Whether an error answer's body carries one of AWS's throttling codes (query or JSON protocol).
fn is_throttling(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&body[..body.len().min(2048)]);
    ["Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"]
        .iter()
        .any(|code| text.contains(&format!("<Code>{code}</Code>")) || text.contains(&format!("#{code}\"")))
}

/// A CloudFormation client over `config` that counts throttled answers.
pub fn cloudformation_client(config: &SdkConfig) -> aws_sdk_cloudformation::Client {
    let conf = aws_sdk_cloudformation::config::Builder::from(config)
        .interceptor(CountThrottles)
        .interceptor(capped::CapResponses)
        .retry_classifier(capped::NoRetryWhenTooLarge)
        .build();
    aws_sdk_cloudformation::Client::from_conf(conf)
}

impl Aws {
    pub fn new(conn: Connection) -> Aws {
        let _ = CREDENTIAL_SOURCE.set(credential_source(&conn, |k| std::env::var(k).ok().filter(|v| !v.is_empty())));
        Aws { conn, configs: Default::default() }
    }

    /// The environment's region: where calls go unless told otherwise.
    pub fn region(&self) -> &str {
        &self.conn.region
    }

    pub fn config(&self, region: Option<&str>) -> Arc<SdkConfig> {
        let region = region.unwrap_or(&self.conn.region).to_string();
        let mut configs = self.configs.lock().unwrap();
        if let Some(c) = configs.get(&region) {
            return c.clone();
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.clone()))
            .retry_config(retry_config())
            .timeout_config(timeouts());
        if let Some(p) = &self.conn.profile {
            loader = loader.profile_name(p);
        }
        if let Some(e) = &self.conn.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        let mut config = runtime().block_on(loader.load());
        if let Some(role) = &self.conn.assume_role {
            let mut builder = aws_config::sts::AssumeRoleProvider::builder(&role.arn)
                .session_name(role.session_name.clone().unwrap_or_else(|| self.conn.default_session_name.clone()))
                .configure(&config);
            if let Some(m) = role.duration_minutes {
                builder = builder.session_length(std::time::Duration::from_secs(u64::from(m) * 60));
            }
            let provider = runtime().block_on(builder.build());
            config = config
                .into_builder()
                .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(provider))
                .build();
        }
        let config = Arc::new(config);
        configs.insert(region, config.clone());
        config
    }

    /// The credentials this run uses (the assumed role's when the environment assumes one): for hooks,
    /// so that they act as the run does.
    pub fn credentials(&self) -> Result<(String, secret::Secret, Option<secret::Secret>), String> {
        use aws_credential_types::provider::ProvideCredentials;
        let config = self.config(None);
        let provider = config.credentials_provider().ok_or("no credentials provider is configured")?;
        let creds = runtime().block_on(provider.provide_credentials()).map_err(|e| e.to_string())?;
        Ok((
            creds.access_key_id().to_string(),
            Secret::new(creds.secret_access_key()),
            creds.session_token().map(Secret::new),
        ))
    }

    pub fn endpoint(&self) -> String {
        self.conn
            .endpoint_url
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .unwrap_or_else(|| format!("the {} endpoints", self.conn.region))
    }
}

/// One sentence for an SDK error: credentials, throttling, the network, or the service's own message.
pub fn port_error<E>(
    operation: &str,
    endpoint: &str,
    err: aws_sdk_cloudformation::error::SdkError<E, aws_sdk_cloudformation::config::http::HttpResponse>,
) -> PortError
where
    E: aws_sdk_cloudformation::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match classify_sdk_error(operation, endpoint, err) {
        PortError::Credentials { message } => match CREDENTIAL_SOURCE.get() {
            Some(source) => PortError::Credentials { message: format!("{message}; looked up through {source}") },
            None => PortError::Credentials { message },
        },
        other => other,
    }
}

/// Where this run's credentials come from, for the message when they are missing or refused.
static CREDENTIAL_SOURCE: OnceLock<String> = OnceLock::new();

/// The credential source as a person would name it: the profile and who chose it, the environment's
/// keys, or the default chain; and the role assumed over it.
fn credential_source(conn: &Connection, var: impl Fn(&str) -> Option<String>) -> String {
    let base = match (&conn.profile, var("AWS_PROFILE")) {
        (Some(p), _) => format!("profile `{p}` (--profile)"),
        (None, Some(p)) => format!("profile `{p}` (AWS_PROFILE)"),
        (None, None) if var("AWS_ACCESS_KEY_ID").is_some() => "AWS_ACCESS_KEY_ID in the environment".to_string(),
        (None, None) => "the default chain (no profile chosen)".to_string(),
    };
    match &conn.assume_role {
        Some(role) => format!("{base}, then role `{}` (the environment's role_arn_to_assume)", role.arn),
        None => base,
    }
}

fn classify_sdk_error<E>(
    operation: &str,
    endpoint: &str,
    err: aws_sdk_cloudformation::error::SdkError<E, aws_sdk_cloudformation::config::http::HttpResponse>,
) -> PortError
where
    E: aws_sdk_cloudformation::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use aws_sdk_cloudformation::error::{DisplayErrorContext, SdkError};
    let context = DisplayErrorContext(&err).to_string();
    let status = err.raw_response().map(|r| r.status().as_u16());
    if let Some(too_large) = cause_of::<capped::TooLarge>(&err) {
        return PortError::Api {
            operation: operation.into(),
            code: "ResponseTooLarge".into(),
            message: format!("{endpoint} sent {too_large}"),
        };
    }
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            match e.code() {
                // An answer with no error code the SDK could read (an HTML page from a proxy, a crashed
                // handler): say what was answered, never "Unknown: ".
                None => PortError::ServiceFault { operation: operation.into(), endpoint: endpoint.into(), status },
                Some(code) => {
                    let message = e.message().filter(|m| !m.trim().is_empty()).unwrap_or("(no message)").to_string();
                    classify_code(operation, code, &message)
                }
            }
        }
        SdkError::ResponseError(_) => {
            PortError::ServiceFault { operation: operation.into(), endpoint: endpoint.into(), status }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            let lower = context.to_ascii_lowercase();
            if lower.contains("no credentials found") {
                PortError::Credentials {
                    message: "none found in the environment, ~/.aws profiles, SSO, web identity or instance metadata"
                        .into(),
                }
            } else if lower.contains("credential") {
                PortError::Credentials { message: short(&context) }
            } else {
                let why = if lower.contains("connection refused") {
                    "connection refused".to_string()
                } else if lower.contains("dns error") || lower.contains("failed to lookup") {
                    "the host name does not resolve".to_string()
                } else if lower.contains("timed out") || lower.contains("timeout") {
                    "the connection timed out".to_string()
                } else {
                    short(&context)
                };
                PortError::Unreachable { endpoint: endpoint.to_string(), message: why }
            }
        }
        _ => {
            if context.to_ascii_lowercase().contains("credential") {
                PortError::Credentials { message: short(&context) }
            } else {
                PortError::Api { operation: operation.into(), code: "Error".into(), message: short(&context) }
            }
        }
    }
}

/// The first error of type `T` in `err`'s chain of causes.
fn cause_of<'a, T: std::error::Error + 'static>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a T> {
    let mut at = Some(err);
    while let Some(e) = at {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        at = e.source();
    }
    None
}

pub fn classify_code(operation: &str, code: &str, message: &str) -> PortError {
    match code {
        "Throttling" | "ThrottlingException" | "TooManyRequestsException" | "RequestLimitExceeded" => {
            PortError::Throttled { operation: operation.into() }
        }
        "ExpiredToken"
        | "ExpiredTokenException"
        | "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "SignatureDoesNotMatch" => PortError::Credentials { message: format!("{code}: {message}") },
        _ if message.contains("No updates are to be performed") => PortError::NoChanges,
        _ if message.contains("is in") && message.contains("_IN_PROGRESS state") => {
            PortError::InProgress { message: message.into() }
        }
        _ => PortError::Api { operation: operation.into(), code: code.into(), message: message.into() },
    }
}

fn short(s: &str) -> String {
    let s = s.replace('\n', " ");
    if s.len() > 300 {
        format!("{}...", &s[..s.char_indices().take_while(|(i, _)| *i < 300).last().map(|(i, _)| i).unwrap_or(0)])
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_source_is_named_as_chosen() {
        let none = |_: &str| None;
        let conn = Connection { profile: Some("dev".into()), ..Default::default() };
        assert_eq!(credential_source(&conn, none), "profile `dev` (--profile)");
        let env_profile = |k: &str| (k == "AWS_PROFILE").then(|| "ops".to_string());
        assert_eq!(credential_source(&Connection::default(), env_profile), "profile `ops` (AWS_PROFILE)");
        let keys = |k: &str| (k == "AWS_ACCESS_KEY_ID").then(|| "AKIA".to_string());
        assert_eq!(credential_source(&Connection::default(), keys), "AWS_ACCESS_KEY_ID in the environment");
        let role = environment::AssumeRole {
            arn: "arn:aws:iam::123456789012:role/deploy".into(),
            session_name: None,
            duration_minutes: None,
        };
        let assumed = Connection { assume_role: Some(role), ..Default::default() };
        assert_eq!(
            credential_source(&assumed, none),
            "the default chain (no profile chosen), then role `arn:aws:iam::123456789012:role/deploy` (the environment's role_arn_to_assume)"
        );
    }

    #[test]
    fn throttling_answers_are_told_apart() {
        let query = b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>";
        assert!(is_throttling(query));
        assert!(is_throttling(br#"{"__type":"com.amazonaws#ThrottlingException","message":"slow down"}"#));
        assert!(!is_throttling(b"<ErrorResponse><Error><Code>ValidationError</Code><Message>Throttling is a word</Message></Error></ErrorResponse>"));
    }

    #[test]
    fn codes_become_decisions() {
        assert!(matches!(classify_code("DescribeStacks", "Throttling", "Rate exceeded"), PortError::Throttled { .. }));
        assert!(matches!(
            classify_code("X", "ExpiredToken", "The security token included in the request is expired"),
            PortError::Credentials { .. }
        ));
        assert_eq!(
            classify_code("CreateChangeSet", "ValidationError", "No updates are to be performed."),
            PortError::NoChanges
        );
        assert!(matches!(
            classify_code(
                "CreateChangeSet",
                "ValidationError",
                "Stack:arn is in UPDATE_IN_PROGRESS state and can not be updated."
            ),
            PortError::InProgress { .. }
        ));
        assert!(matches!(classify_code("X", "ValidationError", "Template format error"), PortError::Api { .. }));
    }
}
