//! This machine's own value sources: environment variables, files inside the project, and the terminal.

use std::path::PathBuf;

use crate::files::{read_text, ReadError};
use crate::provider::{FetchError, Fetched, Provider};
use crate::secret::Secret;
use crate::source::Source;

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
                // Links are followed and must stay inside; a fifo or a device is refused before it is
                // opened; a parameter value is at most 4 KiB, so reading stops at 1 MiB.
                Some(match read_text(&full, Some(&self.root), 1 << 20) {
                    Ok(text) => Ok(wrap(text.trim_end_matches(['\n', '\r']).to_string(), *secret)),
                    Err(e @ ReadError::Outside(_)) => Err(FetchError::new(format!(
                        "`{path}` {e}; a `file` reference reads only files inside the project"
                    ))),
                    Err(ReadError::TooLarge { .. }) => {
                        Err(FetchError::new(format!("`{path}` is over 1 MiB; a parameter value is at most 4 KiB")))
                    }
                    Err(e) => Err(FetchError::new(format!("cannot read `{}`: it {e}", full.display()))),
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

/// Ask on the terminal without echo. Without a terminal this is an error, never a hang.
pub fn prompt(message: &str) -> Result<Secret, FetchError> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() && std::fs::File::open("/dev/tty").is_err() {
        return Err(FetchError {
            message: format!("`{message}` must be typed on a terminal, and there is none"),
            hint: Some("store the value with `stackc secret set` and point the parameter at that source".into()),
        });
    }
    rpassword::prompt_password(format!("{message}: "))
        .map(Secret::new)
        .map_err(|e| FetchError::new(format!("cannot read `{message}` from the terminal: {e}")))
}
