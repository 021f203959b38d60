//! A rendered CloudFormation template, parsed (by `yaml`: short-form tags such as `!Ref` and `!Sub`
//! become the long JSON form, so later stages see one shape).

use serde_json::{Map, Value as Json};

use super::constraints::Constraints;
use super::yaml;

/// Why a rendered template is not a template, with the 1-based line and column when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub line: Option<usize>,
    pub col: Option<usize>,
}

/// The CloudFormation template shape stackc reads.
#[derive(Debug, Clone)]
pub struct Template {
    pub body: Json,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateParameter {
    pub name: String,
    pub kind: String,
    pub default: Option<Json>,
    pub no_echo: bool,
    pub allowed: Vec<Json>,
    pub constraints: Constraints,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, ParseError> {
        // The YAML parser slows down badly on very deep flow nesting; no template needs it.
        if let Some(line) = too_deep(text, 256) {
            return Err(ParseError {
                message: "brackets nest more than 256 levels deep".into(),
                line: Some(line),
                col: Some(1),
            });
        }
        let body = yaml::to_json(text).map_err(|e| ParseError { message: e.message, line: e.line, col: e.col })?;
        if !body.is_object() {
            return Err(ParseError {
                message: "a template must be a mapping at the top level".into(),
                line: Some(1),
                col: Some(1),
            });
        }
        Ok(Template { body })
    }

    /// Whether `text` parses, with the same error `parse` would give, without keeping the tree (render
    /// to stdout needs only the answer; the tree of 500 layers is most of its memory).
    pub fn check(text: &str) -> Result<(), ParseError> {
        if let Some(line) = too_deep(text, 256) {
            return Err(ParseError {
                message: "brackets nest more than 256 levels deep".into(),
                line: Some(line),
                col: Some(1),
            });
        }
        yaml::check(text).map_err(|e| ParseError { message: e.message, line: e.line, col: e.col })
    }

    pub fn section(&self, name: &str) -> Option<&Map<String, Json>> {
        self.body.get(name).and_then(|v| v.as_object())
    }

    pub fn parameters(&self) -> Vec<TemplateParameter> {
        self.section("Parameters")
            .map(|m| {
                m.iter()
                    .map(|(name, p)| TemplateParameter {
                        name: name.clone(),
                        kind: p.get("Type").and_then(|t| t.as_str()).unwrap_or("String").to_string(),
                        default: p.get("Default").cloned(),
                        no_echo: p.get("NoEcho").map(truthy).unwrap_or(false),
                        allowed: p.get("AllowedValues").and_then(|a| a.as_array()).cloned().unwrap_or_default(),
                        constraints: Constraints::of(p),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn parameter(&self, name: &str) -> Option<TemplateParameter> {
        self.parameters().into_iter().find(|p| p.name == name)
    }

    pub fn names(&self, section: &str) -> Vec<String> {
        self.section(section).map(|m| m.keys().cloned().collect()).unwrap_or_default()
    }

    pub fn resource_types(&self) -> Vec<(String, String)> {
        self.section("Resources")
            .map(|m| {
                m.iter()
                    .map(|(n, r)| (n.clone(), r.get("Type").and_then(|t| t.as_str()).unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Logical ids of the IAM resources, and whether any of them is given a name.
    pub fn iam_resources(&self) -> (Vec<String>, bool) {
        let mut ids = Vec::new();
        let mut named = false;
        for (id, r) in self.section("Resources").into_iter().flatten() {
            if r.get("Type").and_then(|t| t.as_str()).is_some_and(|t| t.starts_with("AWS::IAM::")) {
                ids.push(id.clone());
                named |= r.get("Properties").and_then(|p| p.as_object()).is_some_and(|p| {
                    ["RoleName", "UserName", "GroupName", "ManagedPolicyName", "InstanceProfileName"]
                        .iter()
                        .any(|k| p.contains_key(*k))
                });
            }
        }
        (ids, named)
    }

    /// The capabilities CloudFormation will ask for to deploy this template.
    pub fn needed_capabilities(&self) -> Vec<String> {
        let mut caps = Vec::new();
        match self.iam_resources() {
            (_, true) => caps.push("CAPABILITY_NAMED_IAM".to_string()),
            (ids, false) if !ids.is_empty() => caps.push("CAPABILITY_IAM".to_string()),
            _ => {}
        }
        if !self.transforms().is_empty() {
            caps.push("CAPABILITY_AUTO_EXPAND".to_string());
        }
        caps
    }

    /// What to acknowledge when deploying: the layer's own capabilities, plus CAPABILITY_AUTO_EXPAND when
    /// the template uses a Transform (SAM, AWS::Include, a macro). Only IAM needs the user's say-so.
    pub fn capabilities_to_send(&self, declared: &[String]) -> Vec<String> {
        let mut caps = declared.to_vec();
        if !self.transforms().is_empty() && !caps.iter().any(|c| c == "CAPABILITY_AUTO_EXPAND") {
            caps.push("CAPABILITY_AUTO_EXPAND".to_string());
        }
        caps
    }

    pub fn transforms(&self) -> Vec<String> {
        match self.body.get("Transform") {
            Some(Json::String(s)) => vec![s.clone()],
            Some(Json::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        }
    }
}

/// CloudFormation accepts `true`, `"true"` and `"True"` for booleans.
pub fn truthy(v: &Json) -> bool {
    match v {
        Json::Bool(b) => *b,
        Json::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// `${Name}` and `${Name.Attr}` variables of an `Fn::Sub` string (`${!Literal}` is not a variable).
/// Names of the parameters a piece of template refers to by `Ref` or as a `Fn::Sub` variable (not the
/// ones a `Fn::Sub` variable map redefines).
pub fn parameters_referenced(node: &Json) -> Vec<String> {
    let mut out = Vec::new();
    match node {
        Json::Object(m) if m.len() == 1 => {
            let (k, v) = m.iter().next().unwrap();
            match (k.as_str(), v) {
                ("Ref", Json::String(name)) => out.push(name.clone()),
                ("Fn::Sub", Json::String(text)) => out.extend(sub_variables(text)),
                ("Fn::Sub", Json::Array(a)) => {
                    let local = a.get(1).and_then(|v| v.as_object());
                    if let Some(text) = a.first().and_then(|t| t.as_str()) {
                        out.extend(
                            sub_variables(text).into_iter().filter(|v| !local.is_some_and(|m| m.contains_key(v))),
                        );
                    }
                    if let Some(m) = local {
                        m.values().for_each(|v| out.extend(parameters_referenced(v)));
                    }
                }
                (_, v) => out.extend(parameters_referenced(v)),
            }
        }
        Json::Object(m) => m.values().for_each(|v| out.extend(parameters_referenced(v))),
        Json::Array(a) => a.iter().for_each(|v| out.extend(parameters_referenced(v))),
        _ => {}
    }
    out
}

impl Template {
    /// Outputs whose value or export name carries a `NoEcho` parameter: (output, parameter). CloudFormation
    /// would show such a value in clear to anyone who can describe the stack (cfn-lint W2010).
    pub fn outputs_exposing_no_echo(&self) -> Vec<(String, String)> {
        let secret: Vec<String> = self.parameters().into_iter().filter(|p| p.no_echo).map(|p| p.name).collect();
        let mut out = Vec::new();
        for (name, output) in self.section("Outputs").into_iter().flatten() {
            let mut seen = parameters_referenced(output);
            seen.sort();
            seen.dedup();
            for p in seen.into_iter().filter(|p| secret.contains(p)) {
                out.push((name.clone(), p));
            }
        }
        out
    }
}

/// The line where `[`/`{` nesting first goes deeper than `limit`, if it does. Brackets inside strings
/// (YAML and JSON quoting, escapes included), comments and block scalars (`|`, `>`) do not count; a quote
/// counts as one only where a scalar can start, so an apostrophe inside a word hides nothing.
fn too_deep(text: &str, limit: usize) -> Option<usize> {
    // Fewer brackets in all than the limit cannot nest deeper than it (most templates: no line scan).
    if text.bytes().filter(|b| matches!(b, b'[' | b'{')).count() <= limit {
        return None;
    }
    let mut depth = 0usize;
    // The indentation of the line that opened a block scalar; lines indented deeper are its text.
    let mut block: Option<usize> = None;
    for (n, raw) in text.split('\n').enumerate() {
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        if let Some(at) = block {
            if raw.trim().is_empty() || indent > at {
                continue;
            }
            block = None;
        }
        let (opened, ends_in_block) = scan_line(raw, &mut depth, limit);
        if opened {
            return Some(n + 1);
        }
        if ends_in_block {
            block = Some(indent);
        }
    }
    None
}

/// One line of `too_deep`: (nesting went over `limit`, the line starts a block scalar).
fn scan_line(line: &str, depth: &mut usize, limit: usize) -> (bool, bool) {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut last_code = None::<char>;
    while i < chars.len() {
        let c = chars[i];
        let prev = if i == 0 { None } else { Some(chars[i - 1]) };
        let scalar_start = last_code.is_none_or(|p| matches!(p, '[' | '{' | ',' | ':' | '-' | '?'));
        match c {
            '#' if prev.is_none_or(char::is_whitespace) => break,
            '"' | '\'' if scalar_start => {
                i = skip_string(&chars, i);
                last_code = Some('s');
                continue;
            }
            '[' | '{' => {
                *depth += 1;
                if *depth > limit {
                    return (true, false);
                }
            }
            ']' | '}' => *depth = depth.saturating_sub(1),
            _ => {}
        }
        if !c.is_whitespace() {
            last_code = Some(c);
        }
        i += 1;
    }
    // `key: |`, `- >-`, `key: |2+`: a block scalar's text follows on deeper lines.
    let code: String = chars.iter().collect::<String>();
    let code = code.split(" #").next().unwrap_or_default().trim_end();
    let indicator = code.rsplit([' ', '\t']).next().unwrap_or_default();
    let block = indicator.starts_with(['|', '>'])
        && indicator[1..].chars().all(|c| c == '-' || c == '+' || c.is_ascii_digit())
        && (code.len() == indicator.len() || code[..code.len() - indicator.len()].trim_end().ends_with([':', '-']));
    (false, block)
}

/// The index after the string that starts at `start` (its closing quote; or the line's end).
fn skip_string(chars: &[char], start: usize) -> usize {
    let q = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        match (q, chars[i]) {
            ('"', '\\') => i += 2,
            ('\'', '\'') if chars.get(i + 1) == Some(&'\'') => i += 2,
            (q, c) if c == q => return i + 1,
            _ => i += 1,
        }
    }
    i
}

pub fn sub_variables(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let var = &after[..end];
                if !var.starts_with('!') {
                    out.push(var.trim().to_string());
                }
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hostile_yaml_is_an_error_not_a_hang() {
        // "Billion laughs": each level repeats the one before ten times (10^9 nodes if expanded).
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        bomb.push_str("Resources: *a9\n");
        let start = std::time::Instant::now();
        let err = Template::parse(&bomb).unwrap_err();
        assert!(start.elapsed() < std::time::Duration::from_secs(2), "{:?}", start.elapsed());
        assert!(!err.message.is_empty());
        // Deep nesting.
        let deep = format!("Resources: {}{}", "[".repeat(100_000), "]".repeat(100_000));
        let start = std::time::Instant::now();
        assert!(Template::parse(&deep).is_err());
        assert!(start.elapsed() < std::time::Duration::from_secs(2), "{:?}", start.elapsed());
    }

    #[test]
    fn the_nesting_check_reads_strings_comments_and_block_scalars() {
        let brackets = "[".repeat(300);
        let braces = "{".repeat(300);
        // Valid templates with many brackets where they are text.
        let json = format!("{{\"Resources\": {{\"T\": {{\"Type\": \"AWS::SNS::Topic\", \"Metadata\": {{\"x\": \"{brackets} \\\" {brackets}\"}}}}}}}}");
        assert!(Template::parse(&json).is_ok(), "a JSON string");
        let lambda = format!("Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code:\n        ZipFile: |\n          x = '{braces}'\n          y = {braces}\n      Handler: index.h\n");
        assert!(Template::parse(&lambda).is_ok(), "a literal block");
        let comment = format!("# {brackets}\nResources:\n  T:\n    Type: AWS::SNS::Topic # {braces}\n");
        assert!(Template::parse(&comment).is_ok(), "comments");
        let single = format!(
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Metadata: {{x: '{brackets} it''s {brackets}'}}\n"
        );
        assert!(Template::parse(&single).is_ok(), "a single-quoted string with a doubled quote");
        // An apostrophe inside a word is not a quote: the brackets after it still count, fast.
        let trick = format!("Resources: {}it's{}\n", "[".repeat(10), "[".repeat(100_000));
        let start = std::time::Instant::now();
        let err = Template::parse(&trick).unwrap_err();
        assert!(err.message.contains("nest more than 256"), "{err:?}");
        assert!(start.elapsed() < std::time::Duration::from_secs(1), "{:?}", start.elapsed());
        // After a block scalar ends, brackets count again.
        let after = format!("Resources:\n  F:\n    Metadata: |\n      {braces}\n    Deep: {}\n", "[".repeat(300));
        assert_eq!(Template::parse(&after).unwrap_err().line, Some(5));
    }

    #[test]
    fn outputs_that_carry_a_no_echo_parameter_are_found() {
        let t = Template::parse(
            "Parameters:\n  Pw:\n    Type: String\n    NoEcho: true\n  Name:\n    Type: String\nResources:\n  T:\n    Type: AWS::SNS::Topic\nOutputs:\n  Plain:\n    Value: !Ref Pw\n  Url:\n    Value: !Sub 'postgres://root:${Pw}@host'\n  Joined:\n    Value: !Join ['', [a, !Ref Pw]]\n  Exported:\n    Value: !Ref T\n    Export:\n      Name: !Sub '${Pw}-x'\n  Fine:\n    Value: !Ref Name\n  Shadowed:\n    Value: !Sub ['${Pw}', {Pw: !Ref Name}]\n  Escaped:\n    Value: !Sub '${!Pw}'\n",
        )
        .unwrap();
        let found: Vec<String> = t.outputs_exposing_no_echo().into_iter().map(|(o, _)| o).collect();
        assert_eq!(found, vec!["Plain", "Url", "Joined", "Exported"]);
    }

    #[test]
    fn short_forms_become_long_forms() {
        let t = Template::parse(
            "Resources:\n  A:\n    Type: X\n    Properties:\n      R: !Ref P\n      G: !GetAtt B.Arn.Deep\n      S: !Sub '${AWS::Region}'\n      J: !Join [',', [!Ref P, !ImportValue x]]\n      I: !If [C, !Ref P, !Ref AWS::NoValue]\n",
        )
        .unwrap();
        let p = &t.body["Resources"]["A"]["Properties"];
        assert_eq!(p["R"], json!({"Ref": "P"}));
        assert_eq!(p["G"], json!({"Fn::GetAtt": ["B", "Arn.Deep"]}));
        assert_eq!(p["S"], json!({"Fn::Sub": "${AWS::Region}"}));
        assert_eq!(p["J"], json!({"Fn::Join": [",", [{"Ref": "P"}, {"Fn::ImportValue": "x"}]]}));
        assert_eq!(p["I"]["Fn::If"][2], json!({"Ref": "AWS::NoValue"}));
    }

    #[test]
    fn unknown_tags_and_bad_yaml_are_errors_with_position() {
        let e = Template::parse("Resources:\n  A: !Reff x\n").unwrap_err();
        assert!(e.message.contains("unknown tag `!Reff`"), "{e:?}");
        let e = Template::parse("Resources:\n  A: [1, 2\n").unwrap_err();
        assert!(e.line.is_some(), "{e:?}");
    }

    #[test]
    fn json_templates_parse_too() {
        let t =
            Template::parse(r#"{"Parameters": {"P": {"Type": "String", "NoEcho": "true"}}, "Resources": {}}"#).unwrap();
        assert!(t.parameter("P").unwrap().no_echo);
    }

    #[test]
    fn sub_variables_skip_literals() {
        assert_eq!(
            sub_variables("arn:${AWS::Partition}:s3:::${Bucket}/${!Literal}x${Res.Arn}"),
            vec!["AWS::Partition", "Bucket", "Res.Arn"]
        );
    }
}
