//! `stackc secret set` and `stackc secret check`.

use std::io::{IsTerminal, Read};

use super::print;
use super::session::Session;
use crate::assemble;
use crate::cfn::constraints::Constraints;
use crate::cli;
use crate::cli::Output;
use crate::cli::{SecretCommand, WritableStore};
use crate::diagnostic::{suggestion, Diagnostic, Error, ExitKind, Result};
use crate::edge::aws::secrets;
use crate::edge::keyring;
use crate::environment::ParamValue;
use crate::provider::Fetched;
use crate::provider::Placeholders;
use crate::secret::Secret;
use crate::source::Source;
use crate::text::count;

pub fn run(s: &Session, command: &SecretCommand) -> Result<()> {
    match command {
        SecretCommand::Set { layer, parameter, to, generate, .. } => set(s, layer, parameter, *to, *generate),
        SecretCommand::Check { output, .. } => check(s, *output),
    }
}

/// The template's declaration of the parameter must exist and be NoEcho.
fn check_parameter(s: &Session, layer: &str, parameter: &str) -> Result<Constraints> {
    s.project.layer(layer)?;
    let built = assemble::layers(&s.project, &s.env, &[layer.to_string()], &mut Placeholders)?;
    let Ok(t) = &built[layer].template else {
        return Err(Error::msg(format!(
            "layer `{layer}`: the rendered template does not parse; run `stackc validate {}`",
            s.env.name
        )));
    };
    let params = t.parameters();
    let Some(p) = params.iter().find(|p| p.name == parameter) else {
        return Err(Error::config(
            Diagnostic::new(format!("layer `{layer}` has no parameter `{parameter}`"))
                .note(format!(
                    "its parameters: {}",
                    params.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
                ))
                .hint_opt(suggestion(parameter, params.iter().map(|p| p.name.as_str()))),
        ));
    };
    if !p.no_echo {
        return Err(Error::config(
            Diagnostic::new(format!("parameter `{parameter}` of layer `{layer}` is not declared `NoEcho: true`; a secret passed to it would show in the console"))
                .hint("declare `NoEcho: true` on it in the layer's template first"),
        ));
    }
    Ok(p.constraints.clone())
}

fn set(s: &Session, layer: &str, parameter: &str, to: Option<WritableStore>, generate: bool) -> Result<()> {
    let constraints = check_parameter(s, layer, parameter)?;
    let configured = s.env.layer(layer).parameters.get(parameter).and_then(|p| match &p.value {
        ParamValue::Ref(src) => Some(src.with_defaults(&s.project.name, &s.env.name, layer, parameter)),
        ParamValue::Literal(_) => None,
    });
    let dest = match to {
        Some(store) => s.env.secret_names.source(store.into(), &s.project.name, &s.env.name, layer, parameter),
        None => match &configured {
            Some(src @ (Source::Keyring { .. } | Source::SsmSecure { .. } | Source::SecretsManager { .. })) => src.clone(),
            _ => {
                return Err(Error::config(
                    Diagnostic::new(format!(
                        "environment `{}` does not take `{layer}.{parameter}` from the keyring, SSM or Secrets Manager; say where to store it",
                        s.env.name
                    ))
                    .hint("add --to keyring, --to ssm or --to secretsmanager"),
                ))
            }
        },
    };
    let value = if generate {
        generate_password(&constraints)?
    } else {
        read_value(&format!("{} {layer} {parameter}", s.env.name))?
    };
    if value.is_empty() {
        return Err(Error::msg("the value is empty; nothing was stored"));
    }
    let violations = constraints.violations(value.expose());
    if !violations.is_empty() {
        return Err(Error::config(Diagnostic::new(format!(
            "layer `{layer}`, parameter `{parameter}`: the value {}; nothing was stored",
            violations.join("; ")
        ))));
    }
    let where_ = match &dest {
        Source::Keyring { service, account } => {
            let (service, account) = (service.clone().unwrap_or_default(), account.clone().unwrap_or_default());
            let store =
                keyring::set(&service, &account, &value).map_err(|e| Error::failed(Diagnostic::new(e.to_string())))?;
            format!("{} (OS keyring: {})", dest.describe(), store.name())
        }
        Source::SsmSecure { name } => {
            secrets::put_ssm_secure(&s.aws, name, &value).map_err(|e| Error::failed(Diagnostic::new(e)))?;
            dest.describe()
        }
        Source::SecretsManager { id, key, .. } => {
            secrets::put_secretsmanager(&s.aws, id, key.as_deref(), &value)
                .map_err(|e| Error::failed(Diagnostic::new(e)))?;
            dest.describe()
        }
        _ => unreachable!(),
    };
    print(&format!(
        "stored {}{} {layer} {parameter} in {where_}\n",
        if generate { "a generated password for " } else { "" },
        s.env.name
    ));
    if configured.as_ref() != Some(&dest) {
        let store = match &dest {
            Source::Keyring { .. } => "keyring",
            Source::SsmSecure { .. } => "ssm",
            _ => "secretsmanager",
        };
        super::printer().note(&format!(
            "environment `{}` takes this parameter from {}; deploy with `--password-from {store}` or point the parameter at {}",
            s.env.name,
            configured.map(|c| c.describe()).unwrap_or_else(|| "nowhere".into()),
            dest.describe()
        ));
    }
    Ok(())
}

/// The longest value `secret set` reads: Secrets Manager's 64 KiB (SSM takes 8 KiB, a parameter 4 KiB).
const MAX_SECRET_BYTES: u64 = 65_536;

/// Typed twice without echo on a terminal, or read whole from stdin when piped (at most 64 KiB).
fn read_value(what: &str) -> Result<Secret> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("value for {what}: "))
            .map_err(|e| Error::failed(Diagnostic::new(format!("cannot read from the terminal: {e}"))))?;
        let again = rpassword::prompt_password("again: ")
            .map_err(|e| Error::failed(Diagnostic::new(format!("cannot read from the terminal: {e}"))))?;
        if first != again {
            return Err(Error::msg("the two entries differ; nothing was stored"));
        }
        return Ok(Secret::new(first));
    }
    let mut buf = String::new();
    std::io::stdin()
        .take(MAX_SECRET_BYTES + 1)
        .read_to_string(&mut buf)
        .map_err(|e| Error::failed(Diagnostic::new(format!("cannot read stdin: {e}"))))?;
    if buf.len() as u64 > MAX_SECRET_BYTES {
        return Err(Error::msg(format!(
            "the value on stdin is longer than {MAX_SECRET_BYTES} bytes (Secrets Manager's limit, the largest any store takes); nothing was stored"
        )));
    }
    let trimmed = buf.strip_suffix('\n').unwrap_or(&buf);
    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
    Ok(Secret::new(trimmed))
}

/// 32 characters (or what MinLength/MaxLength allow) of letters and digits, with a few symbols RDS and
/// shells accept if the parameter's AllowedPattern needs them, from the OS's random source.
pub fn generate_password(constraints: &Constraints) -> Result<Secret> {
    let mut f = std::fs::File::open("/dev/urandom")
        .map_err(|e| Error::failed(Diagnostic::new(format!("no random source: {e}"))))?;
    let mut buf = [0u8; 4096];
    let mut used = buf.len();
    let mut failed = None;
    let mut random = || {
        if used == buf.len() {
            if let Err(e) = f.read_exact(&mut buf) {
                failed = Some(e.to_string());
            }
            used = 0;
        }
        used += 1;
        buf[used - 1]
    };
    let value = constraints.generate(32, &mut random);
    if let Some(e) = failed {
        return Err(Error::failed(Diagnostic::new(format!("no random source: {e}"))));
    }
    match value {
        Some(v) => Ok(Secret::new(v)),
        None => Err(Error::config(Diagnostic::new(format!(
            "cannot generate a value that meets the parameter's constraints (AllowedPattern `{}`, length {}..{}); \
             type one instead (without --generate)",
            constraints.allowed_pattern.as_deref().unwrap_or("none"),
            constraints.min_length.unwrap_or(1),
            constraints.max_length.map(|m| m.to_string()).unwrap_or_default()
        )))),
    }
}

/// What `secret check` found: rendered as text or JSON from this one value.
#[derive(Debug, serde::Serialize)]
struct SecretCheck {
    environment: String,
    ok: bool,
    secrets: Vec<SecretRow>,
}

/// One secret parameter: where its value lives and whether it can be read (never the value).
#[derive(Debug, serde::Serialize)]
struct SecretRow {
    layer: String,
    parameter: String,
    source: String,
    ok: bool,
    status: String,
}

impl SecretCheck {
    fn to_text(&self) -> String {
        let row = |r: &SecretRow| format!("{:<12} {:<24} {:<56} {}\n", r.layer, r.parameter, r.source, r.status);
        self.secrets.iter().map(row).collect()
    }
}

fn check(s: &Session, output: cli::Output) -> Result<()> {
    let layers: Vec<String> = s.order(&[])?;
    let mut needs: Vec<(String, String, Source)> = Vec::new();
    for layer in &layers {
        for (name, p) in &s.env.layer(layer).parameters {
            if let ParamValue::Ref(src) = &p.value {
                let src = src.with_defaults(&s.project.name, &s.env.name, layer, name);
                if src.is_secret() {
                    needs.push((layer.clone(), name.clone(), src));
                }
            }
        }
    }
    if needs.is_empty() && output == Output::Text {
        print(&format!("environment `{}` needs no secrets\n", s.env.name));
        return Ok(());
    }
    let checkable: Vec<Source> =
        needs.iter().map(|n| n.2.clone()).filter(|src| !matches!(src, Source::Prompt { .. })).collect();
    let answers = s.builds.fetch(&checkable);
    let mut report = SecretCheck { environment: s.env.name.clone(), ok: true, secrets: Vec::new() };
    for (layer, name, src) in &needs {
        let status = match checkable.iter().position(|c| c == src) {
            None => "asked on the terminal when needed".to_string(),
            Some(i) => match &answers[i] {
                Ok(Fetched::Secret(v)) if !v.is_empty() => "ok".to_string(),
                Ok(_) => "empty".to_string(),
                Err(e) => format!("MISSING: {}", e.message),
            },
        };
        let ok = !status.starts_with("MISSING") && status != "empty";
        report.ok &= ok;
        let row = SecretRow { layer: layer.clone(), parameter: name.clone(), source: src.describe(), ok, status };
        report.secrets.push(row);
    }
    match output {
        Output::Text => print(&report.to_text()),
        Output::Json => print(&(serde_json::to_string_pretty(&report).unwrap_or_default() + "\n")),
    }
    let missing = report.secrets.iter().filter(|r| !r.ok).count();
    if missing > 0 {
        return Err(Error {
            kind: ExitKind::Failed,
            diagnostics: vec![Diagnostic::new(format!(
                "{} of `{}` cannot be read",
                count(missing, "secret"),
                s.env.name
            ))
            .hint(format!("store each with `stackc secret set {} <layer> <parameter>`", s.env.name))],
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_and_varied() {
        let none = Constraints::default();
        let a = generate_password(&none).unwrap();
        let b = generate_password(&none).unwrap();
        assert_eq!(a.expose().len(), 32);
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().chars().all(|c| c.is_ascii_alphanumeric()));
        // The RDS-style constraint of the shipped db layer, and a narrow one.
        let rds =
            Constraints::of(&serde_json::json!({"MinLength": 12, "MaxLength": 20, "AllowedPattern": "[a-zA-Z0-9]*"}));
        let c = generate_password(&rds).unwrap();
        assert_eq!(c.expose().len(), 20);
        let narrow = Constraints::of(&serde_json::json!({"AllowedPattern": "[0-9]{6}"}));
        assert!(generate_password(&narrow).is_err_and(|e| e.diagnostics[0].to_string().contains("type one instead")));
    }
}
