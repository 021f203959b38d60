//! A secret value. Display, Debug and serialisation redact it; the only way out is `expose`,
//! which the AWS adapter calls when it builds the CreateChangeSet request.

use std::fmt;

pub const REDACTED: &str = "********";

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The clear value. Every caller is a place where the secret leaves stackc for AWS or the keyring.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort: overwrite the bytes before the allocation is freed.
        let bytes = unsafe { self.0.as_bytes_mut() };
        for b in bytes.iter_mut() {
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_formatting_path_redacts() {
        let s = Secret::new("hunter2-canary");
        let shown = [
            format!("{s}"),
            format!("{s:?}"),
            format!("{s:#?}"),
            format!("{:?}", Some(s.clone())),
            format!("{:?}", vec![s.clone()]),
            serde_json::to_string(&s).unwrap(),
            toml::to_string(&std::collections::BTreeMap::from([("k", s.clone())])).unwrap(),
        ];
        for out in shown {
            assert!(!out.contains("hunter2"), "leaked in {out}");
            assert!(out.contains(REDACTED), "{out}");
        }
        assert_eq!(s.expose(), "hunter2-canary");
    }
}
