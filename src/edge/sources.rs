//! Everything a run resolves values from, behind one `Provider`: AWS (SSM and Secrets Manager in
//! batches, outputs, ACM, Route 53), the OS keyring, the terminal, environment variables and files. Each
//! distinct reference is fetched once per run (a prompt is asked once); stack outputs are read afresh,
//! since a deploy makes new ones.

use std::collections::HashMap;

use super::aws::values::AwsValues;
use super::machine::Offline;
use crate::provider::{FetchError, Fetched, Provider};
use crate::source::Source;

pub struct Sources {
    pub aws: AwsValues,
    local: Offline,
    personal: HashMap<Source, Result<Fetched, FetchError>>,
}

impl Sources {
    pub fn new(aws: AwsValues, local: Offline) -> Sources {
        Sources { aws, local, personal: HashMap::new() }
    }

    /// Distinct references looked up so far in this run.
    pub fn resolved_count(&self) -> usize {
        self.aws.resolved_count() + self.personal.len()
    }
}

impl Provider for Sources {
    fn fetch(&mut self, requests: &[Source]) -> Vec<Result<Fetched, FetchError>> {
        let aws: Vec<Source> = requests.iter().filter(|s| s.needs_aws()).cloned().collect();
        let mut from_aws_answers = if aws.is_empty() { Vec::new() } else { self.aws.fetch(&aws) }.into_iter();
        let mut out = Vec::with_capacity(requests.len());
        for s in requests {
            let r = if s.needs_aws() {
                from_aws_answers.next().unwrap_or_else(|| Err(FetchError::new("not fetched")))
            } else {
                if !self.personal.contains_key(s) {
                    let r = match s {
                        Source::Keyring { .. } => super::keyring::fetch(s),
                        Source::Prompt { message } => {
                            super::machine::prompt(message.as_deref().unwrap_or("value")).map(Fetched::Secret)
                        }
                        other => {
                            self.local.fetch_local(other).unwrap_or_else(|| Err(FetchError::new("unsupported source")))
                        }
                    };
                    self.personal.insert(s.clone(), r);
                }
                self.personal[s].clone()
            };
            out.push(r);
        }
        out
    }
}
