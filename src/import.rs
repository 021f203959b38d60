//! Paths in for teams arriving from elsewhere: cfn-toml config files, samconfig.toml, live stacks.
//! Pure: parsing what they wrote, and editing environment files with toml_edit (comments kept).

use std::collections::BTreeMap;

use toml_edit::{DocumentMut, Item, Table};

use crate::promote::to_edit_value;

/// What one source gives a layer of an environment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Imported {
    pub region: Option<String>,
    pub stack_name: Option<String>,
    pub parameters: BTreeMap<String, toml::Value>,
    pub tags: BTreeMap<String, String>,
    pub capabilities: Vec<String>,
    /// What could not be carried, one line each.
    pub not_carried: Vec<String>,
}

/// A cfn-toml file: `[deploy]` (bucket, region, stack_name) and `[parameters]`.
pub fn cfn_toml(text: &str) -> Result<Imported, String> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| e.message().to_string())?;
    let mut out = Imported::default();
    for (k, v) in &doc {
        match (k.as_str(), v) {
            ("deploy", toml::Value::Table(d)) => {
                for (dk, dv) in d {
                    match (dk.as_str(), dv) {
                        ("region", toml::Value::String(s)) => out.region = Some(s.clone()),
                        ("stack_name", toml::Value::String(s)) => out.stack_name = Some(s.clone()),
                        ("bucket", _) => out.not_carried.push(format!(
                            "[deploy].bucket = {dv}: stackc sends templates in the request and needs no artifact bucket"
                        )),
                        _ => out.not_carried.push(format!("[deploy].{dk} = {dv}: stackc has no such setting")),
                    }
                }
            }
            ("parameters", toml::Value::Table(p)) => {
                for (pk, pv) in p {
                    match pv {
                        toml::Value::Table(_) | toml::Value::Datetime(_) => out
                            .not_carried
                            .push(format!("[parameters].{pk}: a {} is not a parameter value", pv.type_str())),
                        other => {
                            out.parameters.insert(pk.clone(), other.clone());
                        }
                    }
                }
            }
            _ => out.not_carried.push(format!("[{k}]: cfn-toml files have only [deploy] and [parameters]")),
        }
    }
    Ok(out)
}

/// The environments of a samconfig.toml: `[<env>.deploy.parameters]` with `parameter_overrides`
/// (the `K=V K2="v w"` string form, or a list of `K=V`), `stack_name`, `region`, `capabilities`, `tags`.
pub fn samconfig(text: &str) -> Result<BTreeMap<String, Imported>, String> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| e.message().to_string())?;
    let mut out = BTreeMap::new();
    for (env, v) in &doc {
        if env == "version" {
            continue;
        }
        let Some(t) = v.as_table() else { continue };
        let mut imp = Imported::default();
        let mut found = false;
        for (command, section) in t {
            let Some(params) = section.get("parameters").and_then(|p| p.as_table()) else { continue };
            for (k, v) in params {
                match (command.as_str(), k.as_str()) {
                    (_, "region") => imp.region = v.as_str().map(str::to_string),
                    ("deploy", "stack_name") | ("global", "stack_name") => {
                        imp.stack_name = v.as_str().map(str::to_string)
                    }
                    ("deploy", "parameter_overrides") | ("global", "parameter_overrides") => {
                        found = true;
                        let pairs = match v {
                            toml::Value::String(s) => split_overrides(s)?,
                            toml::Value::Array(a) => {
                                let mut out = Vec::new();
                                for item in a {
                                    let s = item.as_str().ok_or("parameter_overrides lists must hold strings")?;
                                    out.extend(split_overrides(s)?);
                                }
                                out
                            }
                            _ => return Err("parameter_overrides must be a string or a list".into()),
                        };
                        for (k, v) in pairs {
                            imp.parameters.insert(k, toml::Value::String(v));
                        }
                    }
                    ("deploy", "capabilities") => {
                        imp.capabilities = match v {
                            toml::Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
                            toml::Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
                            _ => Vec::new(),
                        }
                    }
                    ("deploy", "tags") => {
                        if let Some(s) = v.as_str() {
                            for (tk, tv) in split_overrides(s)? {
                                imp.tags.insert(tk, tv);
                            }
                        }
                    }
                    (c, k) if c == "deploy" || c == "global" => {
                        imp.not_carried.push(format!("[{env}.{c}.parameters].{k}: not a stackc setting"))
                    }
                    _ => {}
                }
            }
            found |= command == "deploy";
        }
        if found {
            out.insert(env.clone(), imp);
        }
    }
    Ok(out)
}

/// `K=V K2="v w" K3='x'` (and `ParameterKey=K,ParameterValue=V`), as SAM CLI reads them.
pub fn split_overrides(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                in_word = true;
                let quote = c;
                let mut closed = false;
                while let Some(d) = chars.next() {
                    if d == '\\' && quote == '"' {
                        if let Some(e) = chars.next() {
                            cur.push(e);
                        }
                    } else if d == quote {
                        closed = true;
                        break;
                    } else {
                        cur.push(d);
                    }
                }
                if !closed {
                    return Err(format!("unclosed {quote} in `{s}`"));
                }
            }
            '\\' => {
                in_word = true;
                if let Some(d) = chars.next() {
                    cur.push(d);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            other => {
                in_word = true;
                cur.push(other);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    let mut out = Vec::new();
    for w in words {
        if let Some(rest) = w.strip_prefix("ParameterKey=") {
            let (k, v) = rest.split_once(",ParameterValue=").ok_or_else(|| format!("`{w}` lacks ParameterValue"))?;
            out.push((k.to_string(), v.to_string()));
        } else {
            let (k, v) = w.split_once('=').ok_or_else(|| format!("`{w}` is not KEY=VALUE"))?;
            out.push((k.to_string(), v.to_string()));
        }
    }
    Ok(out)
}

/// Write what was imported for `layer` into an environment file's text (new or existing).
pub fn write_env(text: &str, layer: &str, imp: &Imported) -> Result<String, String> {
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| e.to_string())?;
    if let Some(r) = &imp.region {
        if !doc.contains_key("region") {
            doc.insert("region", toml_edit::value(r.as_str()));
        }
    }
    let layers = ensure_table(doc.as_table_mut(), "layers", true)?;
    let l = ensure_table(layers, layer, true)?;
    if let Some(name) = &imp.stack_name {
        l.insert("stack_name", toml_edit::value(name.as_str()));
    }
    if !imp.parameters.is_empty() {
        let p = ensure_table(l, "parameters", false)?;
        for (k, v) in &imp.parameters {
            match p.get_mut(k) {
                Some(Item::Value(old)) => {
                    let decor = old.decor().clone();
                    let mut new = to_edit_value(v);
                    *new.decor_mut() = decor;
                    *old = new;
                }
                _ => {
                    p.insert(k, Item::Value(to_edit_value(v)));
                }
            }
        }
    }
    if !imp.tags.is_empty() {
        let t = ensure_table(l, "tags", false)?;
        for (k, v) in &imp.tags {
            t.insert(k, toml_edit::value(v.as_str()));
        }
    }
    Ok(doc.to_string())
}

fn ensure_table<'a>(parent: &'a mut Table, key: &str, implicit: bool) -> Result<&'a mut Table, String> {
    if !parent.contains_key(key) {
        let mut t = Table::new();
        t.set_implicit(implicit);
        parent.insert(key, Item::Table(t));
    }
    match parent.get_mut(key) {
        Some(Item::Table(t)) => Ok(t),
        _ => Err(format!("`{key}` is not a table in the environment file")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cfn_toml_files_carry_deploy_and_parameters() {
        let imp = cfn_toml("[deploy]\nbucket = \"cfn-artifacts\"\nregion = \"ca-central-1\"\nstack_name = \"CrdNet\"\n\n[parameters]\nVpcCidrBlock = \"10.0.0.0/16\"\nAzs = \"ca-central-1a,ca-central-1b\"\nCount = 3\n").unwrap();
        assert_eq!(imp.region.as_deref(), Some("ca-central-1"));
        assert_eq!(imp.stack_name.as_deref(), Some("CrdNet"));
        assert_eq!(imp.parameters["Count"], toml::Value::Integer(3));
        assert_eq!(imp.parameters["Azs"], toml::Value::String("ca-central-1a,ca-central-1b".into()));
        assert!(imp.not_carried[0].contains("bucket"));
    }

    #[test]
    fn overrides_in_both_forms_and_awkward_quoting() {
        let got = split_overrides(
            r#"Env=qa Name="my app" Quote='it''s' Json="{\"a\": 1}" Csv=a,b ParameterKey=X,ParameterValue=y z=1=2"#,
        )
        .unwrap();
        let want = [
            ("Env", "qa"),
            ("Name", "my app"),
            ("Quote", "its"),
            ("Json", "{\"a\": 1}"),
            ("Csv", "a,b"),
            ("X", "y"),
            ("z", "1=2"),
        ];
        assert_eq!(got, want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>());
        assert!(split_overrides("A=\"open").is_err());
        assert!(split_overrides("novalue").is_err());
        let envs = samconfig("version = 0.1\n[default.deploy.parameters]\nstack_name = \"app\"\nregion = \"eu-west-1\"\ncapabilities = \"CAPABILITY_IAM CAPABILITY_AUTO_EXPAND\"\nparameter_overrides = \"Stage=dev Label=\\\"a b\\\"\"\n[prod.deploy.parameters]\nstack_name = \"app-prod\"\nparameter_overrides = [\"Stage=prod\", \"Label=c,d\"]\n").unwrap();
        assert_eq!(envs["default"].parameters["Label"], toml::Value::String("a b".into()));
        assert_eq!(envs["prod"].parameters["Label"], toml::Value::String("c,d".into()));
        assert_eq!(envs["default"].capabilities, vec!["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]);
    }

    #[test]
    fn writing_keeps_the_file_and_adds_tables() {
        let text = "# qa, hand kept\nregion = \"us-east-1\" # here\n\n[layers.db.parameters]\n# sizes\nInstanceClass = \"db.t3.micro\"\n";
        let imp = Imported {
            stack_name: Some("CrdDb".into()),
            parameters: BTreeMap::from([
                ("InstanceClass".into(), toml::Value::String("db.t4g.micro".into())),
                ("Port".into(), toml::Value::Integer(5432)),
            ]),
            ..Default::default()
        };
        let out = write_env(text, "db", &imp).unwrap();
        assert!(out.starts_with("# qa, hand kept\nregion = \"us-east-1\" # here\n\n"), "{out}");
        assert!(out.contains("# sizes\nInstanceClass = \"db.t4g.micro\"\nPort = 5432\n"), "{out}");
        assert!(out.contains("stack_name = \"CrdDb\""), "{out}");
        let reparsed: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(reparsed["layers"]["db"]["stack_name"].as_str(), Some("CrdDb"));
    }
}
