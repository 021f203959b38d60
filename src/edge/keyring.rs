//! The OS keyring, at the edge: macOS Keychain, Windows Credential Manager, and on Linux the Secret
//! Service (GNOME Keyring, KWallet) with the kernel keyutils store as the fallback for machines without
//! one. `STACKC_KEYRING=secret-service|keyutils` picks a Linux store explicitly.
//! Errors never carry the secret (the crate's BadEncoding holds the raw bytes; it is not passed on).
//! Also here: the other value that lives with the operator, a prompt on the terminal.

use crate::provider::{FetchError, Fetched};
use crate::secret::Secret;
use crate::source::Source;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    SecretService,
    Keyutils,
    Native,
}

impl Store {
    pub fn name(self) -> &'static str {
        match self {
            Store::SecretService => "Secret Service",
            Store::Keyutils => "kernel keyutils",
            Store::Native => "OS keychain",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyringError {
    NotFound,
    Unavailable(String),
    Other(String),
}

impl std::fmt::Display for KeyringError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyringError::NotFound => write!(f, "no such entry in the OS keyring"),
            KeyringError::Unavailable(why) => write!(f, "the OS keyring is not available: {why}"),
            KeyringError::Other(why) => write!(f, "the OS keyring failed: {why}"),
        }
    }
}

fn map(e: keyring::Error) -> KeyringError {
    match e {
        keyring::Error::NoEntry => KeyringError::NotFound,
        keyring::Error::NoStorageAccess(err) | keyring::Error::PlatformFailure(err) => {
            KeyringError::Unavailable(err.to_string())
        }
        keyring::Error::BadEncoding(_) => KeyringError::Other("the entry is not UTF-8 text".into()),
        keyring::Error::TooLong(what, max) => KeyringError::Other(format!("{what} is longer than {max}")),
        keyring::Error::Invalid(what, why) => KeyringError::Other(format!("{what} is invalid: {why}")),
        keyring::Error::Ambiguous(_) => KeyringError::Other("several entries match".into()),
        other => KeyringError::Other(other.to_string()),
    }
}

fn stores() -> Vec<Store> {
    if cfg!(target_os = "linux") {
        match std::env::var("STACKC_KEYRING").as_deref() {
            Ok("secret-service") => vec![Store::SecretService],
            Ok("keyutils") => vec![Store::Keyutils],
            _ => vec![Store::SecretService, Store::Keyutils],
        }
    } else {
        vec![Store::Native]
    }
}

fn entry(store: Store, service: &str, account: &str) -> Result<keyring::Entry, KeyringError> {
    match store {
        #[cfg(target_os = "linux")]
        Store::SecretService => {
            let c = keyring::secret_service::SsCredential::new_with_target(None, service, account).map_err(map)?;
            Ok(keyring::Entry::new_with_credential(Box::new(c)))
        }
        #[cfg(target_os = "linux")]
        Store::Keyutils => {
            let c = keyring::keyutils::KeyutilsCredential::new_with_target(None, service, account).map_err(map)?;
            Ok(keyring::Entry::new_with_credential(Box::new(c)))
        }
        _ => keyring::Entry::new(service, account).map_err(map),
    }
}

/// Read an entry: the first store that is available answers.
pub fn get(service: &str, account: &str) -> Result<(Secret, Store), KeyringError> {
    let mut last = KeyringError::Unavailable("no store configured".into());
    for store in stores() {
        match entry(store, service, account).and_then(|e| e.get_password().map_err(map)) {
            Ok(v) => return Ok((Secret::new(v), store)),
            Err(KeyringError::Unavailable(why)) => last = KeyringError::Unavailable(format!("{}: {why}", store.name())),
            Err(KeyringError::NotFound) => {
                last = KeyringError::NotFound;
                // An available store that lacks the entry: the fallback is not consulted unless
                // the entry could live there (keyutils is only used when the Secret Service is absent).
                if store == Store::SecretService {
                    return Err(KeyringError::NotFound);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// Store an entry in the first available store; says which.
pub fn set(service: &str, account: &str, value: &Secret) -> Result<Store, KeyringError> {
    let mut last = KeyringError::Unavailable("no store configured".into());
    for store in stores() {
        match entry(store, service, account).and_then(|e| e.set_password(value.expose()).map_err(map)) {
            Ok(()) => return Ok(store),
            Err(KeyringError::Unavailable(why)) => last = KeyringError::Unavailable(format!("{}: {why}", store.name())),
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// A value from the OS keyring.
pub fn fetch(source: &Source) -> Result<Fetched, FetchError> {
    match source {
        Source::Keyring { service, account } => {
            let (service, account) = (service.as_deref().unwrap_or_default(), account.as_deref().unwrap_or_default());
            match get(service, account) {
                Ok((secret, _)) => Ok(Fetched::Secret(secret)),
                Err(KeyringError::NotFound) => Err(FetchError {
                    message: format!("the OS keyring has no entry for service `{service}`, account `{account}`"),
                    hint: Some("store it with `stackc secret set <env> <layer> <parameter> --to keyring`".into()),
                }),
                Err(e) => Err(FetchError::new(e.to_string())),
            }
        }
        _ => Err(FetchError::new("not a keyring source")),
    }
}
