//! Value references as typed data: where a value comes from.
//!
//! In an environment file a reference is an inline table with a `from` key, for example
//! `{ from = "ssm", name = "/cruddur/qa/cert-arn" }`. Anything else is a literal.

use std::fmt;

use crate::diagnostic::{suggestion, Diagnostic};

/// Where one value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// A minijinja expression over the environment's template values.
    Expr { expr: String },
    /// An environment variable of the stackc process.
    Env { var: String, default: Option<String>, secret: bool },
    /// The contents of a file (relative to the project root), trailing newline trimmed.
    File { path: String, secret: bool },
    /// An SSM parameter of type String or StringList.
    Ssm { name: String },
    /// An SSM SecureString parameter, decrypted.
    SsmSecure { name: String },
    /// A Secrets Manager secret: the whole secret string, or one key of a JSON secret.
    SecretsManager { id: String, key: Option<String>, version_stage: Option<String> },
    /// An entry of the OS keyring. Unset names follow the naming convention (see `keyring_names`).
    Keyring { service: Option<String>, account: Option<String> },
    /// An output of another layer's stack in the same environment.
    Output { layer: String, output: String },
    /// An output of a stack that stackc does not manage.
    StackOutput { stack: String, output: String, region: Option<String> },
    /// The ARN of the issued ACM certificate for a domain.
    Acm { domain: String, region: Option<String> },
    /// The id of the Route 53 hosted zone with this name.
    Route53 { zone: String, private: Option<bool> },
    /// Asked on the terminal, without echo.
    Prompt { message: Option<String> },
}

/// The names accepted after `from =`, for errors and suggestions.
pub const KINDS: &[&str] = &[
    "expr",
    "env",
    "file",
    "ssm",
    "ssm-secure",
    "secretsmanager",
    "keyring",
    "output",
    "stack-output",
    "acm",
    "route53",
    "prompt",
];

impl Source {
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Expr { .. } => "expr",
            Source::Env { .. } => "env",
            Source::File { .. } => "file",
            Source::Ssm { .. } => "ssm",
            Source::SsmSecure { .. } => "ssm-secure",
            Source::SecretsManager { .. } => "secretsmanager",
            Source::Keyring { .. } => "keyring",
            Source::Output { .. } => "output",
            Source::StackOutput { .. } => "stack-output",
            Source::Acm { .. } => "acm",
            Source::Route53 { .. } => "route53",
            Source::Prompt { .. } => "prompt",
        }
    }

    /// Secret values are never shown, written or rendered into a template body.
    pub fn is_secret(&self) -> bool {
        match self {
            Source::SsmSecure { .. }
            | Source::SecretsManager { .. }
            | Source::Keyring { .. }
            | Source::Prompt { .. } => true,
            Source::Env { secret, .. } | Source::File { secret, .. } => *secret,
            _ => false,
        }
    }

    /// Sources that can be resolved on this machine without AWS or the keyring.
    pub fn is_local(&self) -> bool {
        matches!(self, Source::Expr { .. } | Source::Env { .. } | Source::File { .. })
    }

    /// Sources that need AWS.
    pub fn needs_aws(&self) -> bool {
        matches!(
            self,
            Source::Ssm { .. }
                | Source::SsmSecure { .. }
                | Source::SecretsManager { .. }
                | Source::Output { .. }
                | Source::StackOutput { .. }
                | Source::Acm { .. }
                | Source::Route53 { .. }
        )
    }

    /// Fill in the conventional keyring names: service `stackc/<project>/<env>`, account `<layer>/<parameter>`.
    pub fn with_defaults(&self, project: &str, env: &str, layer: &str, parameter: &str) -> Source {
        match self {
            Source::Keyring { service, account } => Source::Keyring {
                service: Some(service.clone().unwrap_or_else(|| keyring_service(project, env))),
                account: Some(account.clone().unwrap_or_else(|| format!("{layer}/{parameter}"))),
            },
            other => other.clone(),
        }
    }

    /// The readable description written wherever the value itself is not (render, plans, errors).
    pub fn describe(&self) -> String {
        let body = match self {
            Source::Expr { expr } => format!("expr:{expr}"),
            Source::Env { var, .. } => format!("env:{var}"),
            Source::File { path, .. } => format!("file:{path}"),
            Source::Ssm { name } => format!("ssm:{name}"),
            Source::SsmSecure { name } => format!("ssm-secure:{name}"),
            Source::SecretsManager { id, key, version_stage } => {
                let mut s = format!("secretsmanager:{id}");
                if let Some(k) = key {
                    s.push('#');
                    s.push_str(k);
                }
                if let Some(v) = version_stage {
                    s.push('@');
                    s.push_str(v);
                }
                s
            }
            Source::Keyring { service, account } => format!(
                "keyring:{}/{}",
                service.as_deref().unwrap_or("<service>"),
                account.as_deref().unwrap_or("<account>")
            ),
            Source::Output { layer, output } => format!("output:{layer}.{output}"),
            Source::StackOutput { stack, output, region } => match region {
                Some(r) => format!("stack-output:{stack}.{output}@{r}"),
                None => format!("stack-output:{stack}.{output}"),
            },
            Source::Acm { domain, region } => match region {
                Some(r) => format!("acm:{domain}@{r}"),
                None => format!("acm:{domain}"),
            },
            Source::Route53 { zone, private } => match private {
                Some(true) => format!("route53:{zone} (private)"),
                _ => format!("route53:{zone}"),
            },
            Source::Prompt { message } => format!("prompt:{}", message.as_deref().unwrap_or("value")),
        };
        if self.is_secret() {
            format!("<secret from {body}>")
        } else {
            format!("<{body}>")
        }
    }

    /// Parse a reference table (one that has a `from` key). Errors name the offending key.
    pub fn from_table(table: &toml::Table) -> Result<Source, Diagnostic> {
        let kind = match table.get("from") {
            Some(toml::Value::String(s)) => s.as_str(),
            Some(_) => return Err(Diagnostic::new("`from` must be a string naming a value source")),
            None => return Err(Diagnostic::new("a value reference needs a `from` key")),
        };
        let reader = Fields { table, kind };
        let source = match kind {
            "expr" => {
                reader.allow(&["expr"])?;
                Source::Expr { expr: reader.string("expr")? }
            }
            "env" => {
                reader.allow(&["var", "default", "secret"])?;
                Source::Env {
                    var: reader.string("var")?,
                    default: reader.opt_string("default")?,
                    secret: reader.flag("secret")?,
                }
            }
            "file" => file_source(&reader)?,
            "ssm" => {
                reader.allow(&["name"])?;
                Source::Ssm { name: reader.string("name")? }
            }
            "ssm-secure" => {
                reader.allow(&["name"])?;
                Source::SsmSecure { name: reader.string("name")? }
            }
            "secretsmanager" => {
                reader.allow(&["id", "key", "version_stage"])?;
                Source::SecretsManager {
                    id: reader.string("id")?,
                    key: reader.opt_string("key")?,
                    version_stage: reader.opt_string("version_stage")?,
                }
            }
            "keyring" => {
                reader.allow(&["service", "account"])?;
                Source::Keyring { service: reader.opt_string("service")?, account: reader.opt_string("account")? }
            }
            "output" => {
                reader.allow(&["layer", "output"])?;
                Source::Output { layer: reader.string("layer")?, output: reader.string("output")? }
            }
            "stack-output" => {
                reader.allow(&["stack", "output", "region"])?;
                Source::StackOutput {
                    stack: reader.string("stack")?,
                    output: reader.string("output")?,
                    region: reader.opt_string("region")?,
                }
            }
            "acm" => {
                reader.allow(&["domain", "region"])?;
                Source::Acm { domain: reader.string("domain")?, region: reader.opt_string("region")? }
            }
            "route53" => {
                reader.allow(&["zone", "private"])?;
                Source::Route53 { zone: reader.string("zone")?, private: reader.opt_flag("private")? }
            }
            "prompt" => {
                reader.allow(&["message"])?;
                Source::Prompt { message: reader.opt_string("message")? }
            }
            other => return Err(unknown_kind(other)),
        };
        if let Source::Expr { expr } = &source {
            if expr.trim().is_empty() {
                return Err(Diagnostic::new("`expr` must not be empty"));
            }
        }
        Ok(source)
    }
}

impl Source {
    /// The reference as an environment file writes it (an inline table with `from`).
    pub fn to_toml(&self) -> toml::Value {
        let mut t = toml::Table::new();
        t.insert("from".into(), self.kind().into());
        let mut put = |k: &str, v: Option<&String>| {
            if let Some(v) = v {
                t.insert(k.into(), toml::Value::String(v.clone()));
            }
        };
        match self {
            Source::Expr { expr } => put("expr", Some(expr)),
            Source::Env { var, default, .. } => {
                put("var", Some(var));
                put("default", default.as_ref());
            }
            Source::File { path, .. } => put("path", Some(path)),
            Source::Ssm { name } | Source::SsmSecure { name } => put("name", Some(name)),
            Source::SecretsManager { id, key, version_stage } => {
                put("id", Some(id));
                put("key", key.as_ref());
                put("version_stage", version_stage.as_ref());
            }
            Source::Keyring { service, account } => {
                put("service", service.as_ref());
                put("account", account.as_ref());
            }
            Source::Output { layer, output } => {
                put("layer", Some(layer));
                put("output", Some(output));
            }
            Source::StackOutput { stack, output, region } => {
                put("stack", Some(stack));
                put("output", Some(output));
                put("region", region.as_ref());
            }
            Source::Acm { domain, region } => {
                put("domain", Some(domain));
                put("region", region.as_ref());
            }
            Source::Route53 { zone, .. } => put("zone", Some(zone)),
            Source::Prompt { message } => put("message", message.as_ref()),
        }
        match self {
            Source::Env { secret: true, .. } | Source::File { secret: true, .. } => {
                t.insert("secret".into(), toml::Value::Boolean(true));
            }
            Source::Route53 { private: Some(p), .. } => {
                t.insert("private".into(), toml::Value::Boolean(*p));
            }
            _ => {}
        }
        toml::Value::Table(t)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

pub fn keyring_service(project: &str, env: &str) -> String {
    format!("stackc/{project}/{env}")
}

/// Whether a TOML value is a reference (a table with a `from` key).
pub fn is_reference(value: &toml::Value) -> bool {
    matches!(value, toml::Value::Table(t) if t.contains_key("from"))
}

/// `{ from = "file", path = ... }`: the path must stay inside the project.
fn file_source(reader: &Fields) -> Result<Source, Diagnostic> {
    reader.allow(&["path", "secret"])?;
    let path = reader.string("path")?;
    if let Some(why) = leaves_the_project(&path) {
        return Err(Diagnostic::new(format!("a `file` reference's `path` must stay inside the project: `{path}` {why}"))
            .hint("keep a secret that lives outside the repository in the keyring, SSM or Secrets Manager, or pass it with `{ from = \"env\", ... }`"));
    }
    Ok(Source::File { path, secret: reader.flag("secret")? })
}

fn unknown_kind(kind: &str) -> Diagnostic {
    Diagnostic::new(format!("unknown value source `{kind}`"))
        .note(format!("sources: {}", KINDS.join(", ")))
        .hint_opt(suggestion(kind, KINDS.iter().copied()))
}

struct Fields<'a> {
    table: &'a toml::Table,
    kind: &'a str,
}

impl Fields<'_> {
    fn allow(&self, keys: &[&str]) -> Result<(), Diagnostic> {
        for key in self.table.keys() {
            if key != "from" && !keys.contains(&key.as_str()) {
                return Err(Diagnostic::new(format!("unknown key `{key}` in a `{}` reference", self.kind))
                    .note(format!("a `{}` reference takes: {}", self.kind, keys.join(", ")))
                    .hint_opt(suggestion(key, keys.iter().copied())));
            }
        }
        Ok(())
    }

    fn opt_string(&self, key: &str) -> Result<Option<String>, Diagnostic> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(toml::Value::String(_)) => {
                Err(Diagnostic::new(format!("`{key}` of a `{}` reference must not be empty", self.kind)))
            }
            Some(other) => Err(Diagnostic::new(format!(
                "`{key}` of a `{}` reference must be a string, found {}",
                self.kind,
                other.type_str()
            ))),
        }
    }

    fn string(&self, key: &str) -> Result<String, Diagnostic> {
        self.opt_string(key)?.ok_or_else(|| Diagnostic::new(format!("a `{}` reference needs `{key}`", self.kind)))
    }

    fn opt_flag(&self, key: &str) -> Result<Option<bool>, Diagnostic> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::Boolean(b)) => Ok(Some(*b)),
            Some(other) => Err(Diagnostic::new(format!("`{key}` must be true or false, found {}", other.type_str()))),
        }
    }

    fn flag(&self, key: &str) -> Result<bool, Diagnostic> {
        Ok(self.opt_flag(key)?.unwrap_or(false))
    }
}

/// Why a project-relative path would leave the project, if it would: absolute, or `..` past the root.
pub fn leaves_the_project(path: &str) -> Option<&'static str> {
    let p = std::path::Path::new(path);
    if p.is_absolute() || path.starts_with('~') || (cfg!(windows) && path.contains(':')) {
        return Some("is absolute");
    }
    let mut depth: i64 = 0;
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => depth -= 1,
            std::path::Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return Some("goes above the project root");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Source, Diagnostic> {
        let v: toml::Table = toml::from_str(&format!("v = {text}")).unwrap();
        Source::from_table(v["v"].as_table().unwrap())
    }

    #[test]
    fn parses_every_kind() {
        let cases = [
            (r#"{ from = "expr", expr = "'www.' ~ domain" }"#, "<expr:'www.' ~ domain>", false),
            (r#"{ from = "env", var = "TAG", default = "latest" }"#, "<env:TAG>", false),
            (r#"{ from = "env", var = "PW", secret = true }"#, "<secret from env:PW>", true),
            (r#"{ from = "file", path = "x.txt" }"#, "<file:x.txt>", false),
            (r#"{ from = "ssm", name = "/a/b" }"#, "<ssm:/a/b>", false),
            (r#"{ from = "ssm-secure", name = "/a/k" }"#, "<secret from ssm-secure:/a/k>", true),
            (
                r#"{ from = "secretsmanager", id = "c/qa/db", key = "password" }"#,
                "<secret from secretsmanager:c/qa/db#password>",
                true,
            ),
            (r#"{ from = "keyring", service = "s", account = "a" }"#, "<secret from keyring:s/a>", true),
            (r#"{ from = "output", layer = "networking", output = "VpcId" }"#, "<output:networking.VpcId>", false),
            (
                r#"{ from = "stack-output", stack = "legacy", output = "Arn", region = "eu-west-1" }"#,
                "<stack-output:legacy.Arn@eu-west-1>",
                false,
            ),
            (
                r#"{ from = "acm", domain = "*.example.com", region = "us-east-1" }"#,
                "<acm:*.example.com@us-east-1>",
                false,
            ),
            (r#"{ from = "route53", zone = "example.com" }"#, "<route53:example.com>", false),
            (r#"{ from = "prompt", message = "DB password" }"#, "<secret from prompt:DB password>", true),
        ];
        for (text, described, secret) in cases {
            let s = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(s.describe(), described);
            assert_eq!(s.is_secret(), secret, "{text}");
        }
    }

    #[test]
    fn unknown_kind_suggests() {
        let e = parse(r#"{ from = "secretmanager", id = "x" }"#).unwrap_err();
        assert!(e.message.contains("unknown value source `secretmanager`"));
        assert_eq!(e.hint.as_deref(), Some("did you mean `secretsmanager`?"));
    }

    #[test]
    fn unknown_and_missing_keys_are_errors() {
        let e = parse(r#"{ from = "ssm", nmae = "/x" }"#).unwrap_err();
        assert!(e.message.contains("unknown key `nmae`"), "{}", e.message);
        assert_eq!(e.hint.as_deref(), Some("did you mean `name`?"));
        let e = parse(r#"{ from = "output", layer = "networking" }"#).unwrap_err();
        assert!(e.message.contains("needs `output`"));
        let e = parse(r#"{ from = "ssm", name = 3 }"#).unwrap_err();
        assert!(e.message.contains("must be a string"));
    }

    #[test]
    fn references_round_trip_through_toml() {
        for text in [
            r#"{ from = "secretsmanager", id = "c/qa/db", key = "password", version_stage = "AWSPREVIOUS" }"#,
            r#"{ from = "env", var = "PW", default = "d", secret = true }"#,
            r#"{ from = "route53", zone = "example.com", private = true }"#,
            r#"{ from = "stack-output", stack = "legacy", output = "Arn", region = "eu-west-1" }"#,
        ] {
            let s = parse(text).unwrap();
            assert_eq!(Source::from_table(s.to_toml().as_table().unwrap()).unwrap(), s, "{text}");
        }
    }

    #[test]
    fn keyring_defaults_follow_the_convention() {
        let s = parse(r#"{ from = "keyring" }"#).unwrap().with_defaults("cruddur", "prod", "db", "MasterUserPassword");
        assert_eq!(s.describe(), "<secret from keyring:stackc/cruddur/prod/db/MasterUserPassword>");
    }
}
