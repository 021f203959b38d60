//! The one outward seam of value resolution: a provider fetches a batch of references.
//! The adapters that implement it live in `edge` (AWS, the keyring, this machine); here are the ones
//! that reach nothing: placeholders and an in-memory map for tests.

use std::collections::HashMap;

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
