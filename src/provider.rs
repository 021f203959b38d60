//! The one outward seam of value resolution: a provider fetches a batch of references.
//! Adapters for AWS and the keyring implement it at the edge; here are the local and in-memory ones.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::secret::Secret;
use crate::source::Source;

/// What a provider returns for one reference.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    Plain(String),
    Secret(Secret),
    /// Not resolved in this run (offline render, or a stack that is not deployed yet): the
    /// value is shown as its source's description.
    Placeholder,
}

/// Why a reference could not be resolved, in one sentence, without the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    pub message: String,
    pub hint: Option<String>,
}

impl FetchError {
    pub fn new(message: impl Into<String>) -> FetchError {
        FetchError { message: message.into(), hint: None }
    }
}

pub trait Provider {
    /// Resolve every request; the answer has one entry per request, in the same order.
    /// `Expr` references never reach a provider.
    fn fetch(&mut self, requests: &[Source]) -> Vec<Result<Fetched, FetchError>>;
}

/// Resolves what this machine can without AWS or the keyring (environment variables, files) and
/// leaves the rest as placeholders. This is what `render` uses by default.
pub struct Offline {
    pub root: PathBuf,
    pub vars: Box<dyn Fn(&str) -> Option<String> + Send + Sync>,
}

impl Offline {
    pub fn new(root: PathBuf) -> Offline {
        Offline { root, vars: Box::new(|k| std::env::var(k).ok()) }
    }

    pub fn fetch_local(&self, source: &Source) -> Option<Result<Fetched, FetchError>> {
        match source {
            Source::Env { var, default, secret } => Some(match (self.vars)(var).or_else(|| default.clone()) {
                Some(v) => Ok(wrap(v, *secret)),
                None => Err(FetchError {
                    message: format!("environment variable `{var}` is not set"),
                    hint: Some(format!("export {var}=... or give the reference a `default`")),
                }),
            }),
            Source::File { path, secret } => {
                let full = self.root.join(path);
                // A link inside the project may point anywhere: where it really leads must be inside too.
                let (real, root) = (std::fs::canonicalize(&full), std::fs::canonicalize(&self.root));
                if let (Ok(real), Ok(root)) = (&real, &root) {
                    if !real.starts_with(root) {
                        return Some(Err(FetchError::new(format!(
                            "`{path}` leads outside the project (to {}); a `file` reference reads only files inside it",
                            real.display()
                        ))));
                    }
                    if std::fs::metadata(real).is_ok_and(|m| m.len() > 1 << 20) {
                        return Some(Err(FetchError::new(format!(
                            "`{path}` is over 1 MiB; a parameter value is at most 4 KiB"
                        ))));
                    }
                }
                Some(match std::fs::read_to_string(&full) {
                    Ok(text) => Ok(wrap(text.trim_end_matches(['\n', '\r']).to_string(), *secret)),
                    Err(e) => Err(FetchError::new(format!("cannot read `{}`: {e}", full.display()))),
                })
            }
            _ => None,
        }
    }
}

fn wrap(value: String, secret: bool) -> Fetched {
    if secret {
        Fetched::Secret(Secret::new(value))
    } else {
        Fetched::Plain(value)
    }
}

impl Provider for Offline {
    fn fetch(&mut self, requests: &[Source]) -> Vec<Result<Fetched, FetchError>> {
        requests.iter().map(|s| self.fetch_local(s).unwrap_or(Ok(Fetched::Placeholder))).collect()
    }
}

/// Answers every reference with a placeholder: for looking at templates without resolving anything.
pub struct Placeholders;

impl Provider for Placeholders {
    fn fetch(&mut self, requests: &[Source]) -> Vec<Result<Fetched, FetchError>> {
        requests.iter().map(|_| Ok(Fetched::Placeholder)).collect()
    }
}

/// An in-memory provider for tests: answers from a map keyed by the source, records every batch.
#[derive(Default)]
pub struct Memory {
    pub answers: HashMap<Source, Fetched>,
    pub batches: Vec<Vec<Source>>,
}

impl Memory {
    pub fn with(mut self, source: Source, value: Fetched) -> Memory {
        self.answers.insert(source, value);
        self
    }
}

impl Provider for Memory {
    fn fetch(&mut self, requests: &[Source]) -> Vec<Result<Fetched, FetchError>> {
        self.batches.push(requests.to_vec());
        requests.iter().map(|s| self.answers.get(s).cloned().ok_or_else(|| FetchError::new("not found"))).collect()
    }
}
