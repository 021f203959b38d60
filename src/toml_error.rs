//! Turns a `toml` parse or shape error into a located diagnostic, adding "did you mean" to unknown keys.

use std::path::Path;

use crate::diagnostic::{suggestion, Diagnostic, Location};

pub fn diagnostic(file: &Path, text: &str, err: &toml::de::Error) -> Diagnostic {
    let message = err.message().trim().to_string();
    let mut d = Diagnostic::new(format!("invalid TOML: {message}"));
    if let Some(span) = err.span() {
        d = d.at(Location::from_span(file, text, span));
    } else {
        d = d.at(Location::file_only(file));
    }
    if let Some((unknown, expected)) = parse_unknown_field(&message) {
        d.message = format!("unknown key `{unknown}`");
        d = d.note(format!("expected one of: {}", expected.join(", ")));
        d = d.hint_opt(suggestion(&unknown, expected.iter().map(|s| s.as_str())));
    }
    d
}

/// serde's message for `deny_unknown_fields`: "unknown field `x`, expected one of `a`, `b`" (or "expected `a`").
pub(crate) fn parse_unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let end = rest.find('`')?;
    let unknown = rest[..end].to_string();
    let expected: Vec<String> = rest[end + 1..].split('`').skip(1).step_by(2).map(|s| s.to_string()).collect();
    Some((unknown, expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Shape {
        region: Option<String>,
        tags: Option<toml::Table>,
    }

    #[test]
    fn unknown_key_gets_location_and_suggestion() {
        let text = "tags = {}\nregoin = \"us-east-1\"\n";
        let err = toml::from_str::<Shape>(text).unwrap_err();
        let d = diagnostic(Path::new("qa.toml"), text, &err);
        assert_eq!(d.message, "unknown key `regoin`");
        assert_eq!(d.hint.as_deref(), Some("did you mean `region`?"));
        let loc = d.location.unwrap();
        assert_eq!((loc.line, loc.col), (2, 1));
    }

    #[test]
    fn syntax_error_is_located() {
        let text = "region = \"us-east-1\n";
        let err = toml::from_str::<Shape>(text).unwrap_err();
        let d = diagnostic(Path::new("qa.toml"), text, &err);
        assert!(d.message.starts_with("invalid TOML"), "{}", d.message);
        assert_eq!(d.location.unwrap().line, 1);
    }
}
