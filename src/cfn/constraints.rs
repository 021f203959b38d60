//! The constraints a CloudFormation template declares on a parameter (Type, AllowedValues,
//! AllowedPattern, MinLength/MaxLength, MinValue/MaxValue), checked against a value before anything is
//! sent. Messages never contain the value, so the same check serves secrets.

use serde_json::Value as Json;

/// CloudFormation's quota on one parameter value.
pub const MAX_VALUE_BYTES: usize = 4096;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Constraints {
    pub kind: String,
    pub allowed_values: Vec<String>,
    pub allowed_pattern: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    /// The template's ConstraintDescription, shown with any violation.
    pub description: Option<String>,
}

/// Identifier types CloudFormation checks by their shape: (type, prefix).
const ID_PREFIXES: &[(&str, &str)] = &[
    ("AWS::EC2::VPC::Id", "vpc-"),
    ("AWS::EC2::Subnet::Id", "subnet-"),
    ("AWS::EC2::SecurityGroup::Id", "sg-"),
    ("AWS::EC2::Image::Id", "ami-"),
    ("AWS::EC2::Instance::Id", "i-"),
    ("AWS::EC2::Volume::Id", "vol-"),
];

fn scalar(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn number(v: Option<&Json>) -> Option<f64> {
    match v? {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl Constraints {
    /// From a parameter's declaration in a template's Parameters section.
    pub fn of(decl: &Json) -> Constraints {
        Constraints {
            kind: decl.get("Type").and_then(|t| t.as_str()).unwrap_or("String").to_string(),
            allowed_values: decl
                .get("AllowedValues")
                .and_then(|a| a.as_array())
                .map(|a| a.iter().map(scalar).collect())
                .unwrap_or_default(),
            allowed_pattern: decl.get("AllowedPattern").and_then(|p| p.as_str()).map(str::to_string),
            min_length: number(decl.get("MinLength")).map(|n| n as u64),
            max_length: number(decl.get("MaxLength")).map(|n| n as u64),
            min_value: number(decl.get("MinValue")),
            max_value: number(decl.get("MaxValue")),
            description: decl.get("ConstraintDescription").and_then(|d| d.as_str()).map(str::to_string),
        }
    }

    fn is_list(&self) -> bool {
        self.kind == "CommaDelimitedList" || self.kind.starts_with("List<")
    }

    /// The type of one element: `List<Number>` -> `Number`; a plain type is its own element.
    fn element_kind(&self) -> &str {
        if let Some(inner) = self.kind.strip_prefix("List<").and_then(|k| k.strip_suffix('>')) {
            inner
        } else if self.kind == "CommaDelimitedList" {
            "String"
        } else {
            &self.kind
        }
    }

    /// The pattern compiled to match the whole value (as CloudFormation does); None when there is no
    /// pattern or its syntax is beyond what is checked here (lookarounds, back-references).
    pub fn pattern(&self) -> Option<regex_lite::Regex> {
        let p = self.allowed_pattern.as_ref()?;
        regex_lite::Regex::new(&format!("^(?:{p})$")).ok()
    }

    /// Every violation by `value`, each a phrase that does not contain the value ("is shorter than
    /// MinLength 8"). Empty when the value is acceptable.
    pub fn violations(&self, value: &str) -> Vec<String> {
        let mut out = Vec::new();
        if value.len() > MAX_VALUE_BYTES {
            out.push(format!(
                "is {} bytes, more than the {MAX_VALUE_BYTES} CloudFormation takes for one parameter value",
                value.len()
            ));
        }
        let elements: Vec<&str> = if self.is_list() { value.split(',').map(str::trim).collect() } else { vec![value] };
        let element_kind = self.element_kind().to_string();
        let at = |i: usize| if self.is_list() { format!("item {} ", i + 1) } else { String::new() };
        if !self.is_list() {
            let len = value.chars().count() as u64;
            if let Some(min) = self.min_length.filter(|m| len < *m) {
                out.push(format!("is shorter than MinLength {min} ({len} characters)"));
            }
            if let Some(max) = self.max_length.filter(|m| len > *m) {
                out.push(format!("is longer than MaxLength {max} ({len} characters)"));
            }
        }
        let pattern = self.pattern();
        for (i, e) in elements.iter().enumerate() {
            if element_kind == "Number" {
                match e.parse::<f64>() {
                    Err(_) => out.push(format!("{}is not a number (the type is {})", at(i), self.kind)),
                    Ok(n) => {
                        if let Some(min) = self.min_value.filter(|m| n < *m) {
                            out.push(format!("{}is less than MinValue {min}", at(i)));
                        }
                        if let Some(max) = self.max_value.filter(|m| n > *m) {
                            out.push(format!("{}is greater than MaxValue {max}", at(i)));
                        }
                    }
                }
            }
            if let Some((_, prefix)) = ID_PREFIXES.iter().find(|(t, _)| *t == element_kind) {
                if !e.starts_with(prefix) {
                    out.push(format!("{}is not a {element_kind} (it must start with `{prefix}`)", at(i)));
                }
            }
            if let Some(re) = &pattern {
                if !re.is_match(e) {
                    out.push(format!(
                        "{}does not match AllowedPattern `{}`",
                        at(i),
                        self.allowed_pattern.as_deref().unwrap_or_default()
                    ));
                }
            }
            if !self.allowed_values.is_empty() && !self.allowed_values.iter().any(|a| a == e) {
                out.push(format!("{}is not one of the AllowedValues ({})", at(i), self.allowed_values.join(", ")));
            }
        }
        if let (false, Some(d)) = (out.is_empty(), &self.description) {
            out.push(format!("the template says: {d}"));
        }
        out
    }

    /// A random value meeting the length bounds and the pattern (for `secret set --generate`): `wanted`
    /// characters unless the bounds say otherwise, drawn from `random`. None when no attempt matched.
    pub fn generate(&self, wanted: usize, random: &mut dyn FnMut() -> u8) -> Option<String> {
        let min = self.min_length.unwrap_or(1).min(u64::from(u32::MAX)) as usize;
        let max = self.max_length.map(|m| m.min(u64::from(u32::MAX)) as usize).unwrap_or(usize::MAX);
        // No value CloudFormation takes is longer than its quota: never try to make one.
        if min > MAX_VALUE_BYTES {
            return None;
        }
        let len = wanted.clamp(min.min(max), max.max(min)).min(MAX_VALUE_BYTES);
        // Letters and digits first; symbols only if the pattern asks for more than those give.
        const PLAIN: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
        const SYMBOLS: &[u8] = b"-_.~+=!#%^*";
        let pattern = self.pattern();
        let mut alphabets = vec![PLAIN.to_vec(), [PLAIN, SYMBOLS].concat()];
        if let Some(re) = &pattern {
            // Last resort for narrow patterns (`[!#%]+`): the characters that, repeated, match on their own.
            let narrow: Vec<u8> = (33u8..=126)
                .filter(|c| !b"\"'`\\/@".contains(c))
                .filter(|c| re.is_match(&(*c as char).to_string().repeat(len)))
                .collect();
            if !narrow.is_empty() {
                alphabets.push(narrow);
            }
        }
        for alphabet in alphabets {
            for _ in 0..2000 {
                let s: String = (0..len)
                    .map(|_| {
                        // Rejection sampling keeps the draw uniform.
                        loop {
                            let r = random() as usize;
                            if r < 256 - 256 % alphabet.len() {
                                return alphabet[r % alphabet.len()] as char;
                            }
                        }
                    })
                    .collect();
                if pattern.as_ref().is_none_or(|re| re.is_match(&s)) && self.violations(&s).is_empty() {
                    return Some(s);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_constraint_is_checked_without_the_value_in_the_message() {
        let c = Constraints::of(
            &json!({"Type": "String", "MinLength": 8, "MaxLength": "12", "AllowedPattern": "[a-zA-Z0-9]+", "ConstraintDescription": "letters and digits"}),
        );
        assert!(c.violations("abcd1234").is_empty());
        let v = c.violations("abc");
        assert_eq!(v, vec!["is shorter than MinLength 8 (3 characters)", "the template says: letters and digits"]);
        let v = c.violations("abc-defg-hijk-lmn");
        assert!(
            v[0].starts_with("is longer than MaxLength 12") && v[1] == "does not match AllowedPattern `[a-zA-Z0-9]+`",
            "{v:?}"
        );
        for v in c.violations("sekrit!!canary") {
            assert!(!v.contains("sekrit"), "{v}");
        }
        // The whole value must match, as in CloudFormation.
        let c = Constraints::of(&json!({"AllowedPattern": "[0-9]+"}));
        assert!(!c.violations("12a").is_empty());
        assert!(c.violations("12").is_empty());
        let long = "1".repeat(MAX_VALUE_BYTES + 1);
        assert_eq!(
            c.violations(&long)[0],
            "is 4097 bytes, more than the 4096 CloudFormation takes for one parameter value"
        );
        assert!(Constraints::of(&json!({})).violations(&"x".repeat(MAX_VALUE_BYTES)).is_empty());
    }

    #[test]
    fn numbers_and_lists() {
        let c = Constraints::of(&json!({"Type": "Number", "MinValue": 1, "MaxValue": 10}));
        assert!(c.violations("5").is_empty());
        assert_eq!(c.violations("0"), vec!["is less than MinValue 1"]);
        assert_eq!(c.violations("11"), vec!["is greater than MaxValue 10"]);
        assert_eq!(c.violations("five"), vec!["is not a number (the type is Number)"]);
        let c = Constraints::of(&json!({"Type": "List<Number>", "MaxValue": 65535}));
        assert_eq!(c.violations("80, 443,70000"), vec!["item 3 is greater than MaxValue 65535"]);
        let c = Constraints::of(&json!({"Type": "CommaDelimitedList", "AllowedValues": ["a", "b"]}));
        assert!(c.violations("a,b").is_empty());
        assert_eq!(c.violations("a,c"), vec!["item 2 is not one of the AllowedValues (a, b)"]);
        let c = Constraints::of(&json!({"Type": "List<AWS::EC2::Subnet::Id>"}));
        assert!(c.violations("subnet-1,subnet-2").is_empty());
        assert_eq!(
            c.violations("subnet-1,sg-2"),
            vec!["item 2 is not a AWS::EC2::Subnet::Id (it must start with `subnet-`)"]
        );
        let c = Constraints::of(&json!({"Type": "AWS::EC2::VPC::Id"}));
        assert_eq!(c.violations("vpc1").len(), 1);
    }

    #[test]
    fn an_unsupported_pattern_is_not_checked() {
        let c = Constraints::of(&json!({"AllowedPattern": "(?=.*[0-9]).+"}));
        assert!(c.pattern().is_none());
        assert!(c.violations("anything").is_empty());
    }

    #[test]
    fn generated_values_meet_the_constraints() {
        let mut state = 0x2545F4914F6CDD1Du64;
        let mut random = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        };
        let c = Constraints::of(&json!({"MinLength": 8, "MaxLength": 16, "AllowedPattern": "[a-z][a-zA-Z0-9]*"}));
        for _ in 0..20 {
            let s = c.generate(32, &mut random).unwrap();
            assert_eq!(s.len(), 16);
            assert!(c.violations(&s).is_empty(), "{s}");
        }
        let c = Constraints::of(&json!({"MinLength": 41}));
        assert_eq!(c.generate(32, &mut random).unwrap().len(), 41);
        // A length no parameter value can have is refused at once, not attempted.
        let start = std::time::Instant::now();
        assert_eq!(Constraints::of(&json!({"MinLength": 100_000_000u64})).generate(32, &mut random), None);
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
        let c = Constraints::of(&json!({"MinLength": 4000, "AllowedPattern": "[!#%]+"}));
        assert_eq!(c.generate(32, &mut random).map(|s| s.len()), Some(4000));
        let c = Constraints::of(&json!({"AllowedPattern": "[!#%]+"}));
        assert!(c.generate(8, &mut random).unwrap().chars().all(|ch| "!#%".contains(ch)));
        let c = Constraints::of(&json!({"AllowedPattern": "x{3}"}));
        assert_eq!(c.generate(32, &mut random), None, "no draw of 32 characters can match");
    }
}
