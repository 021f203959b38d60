//! The CloudFormation resource provider schemas, as `scripts/gen-schemas` compacts them into
//! `data/resource-schemas.txt.gz`: per resource type its properties, required properties, write-only
//! properties and `Fn::GetAtt` attributes; per region the types it lacks. The data is decompressed and
//! indexed the first time a check asks (a few milliseconds), and a type's entry is parsed when first used.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::sync::OnceLock;

use serde::Deserialize;

const DATA: &[u8] = include_bytes!("../../data/resource-schemas.txt.gz");

/// One property's schema (or an object's, or a definition's).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Prop {
    /// s string, i integer, n number, b boolean, a array, o object, j free-form JSON, * anything.
    #[serde(default)]
    pub t: Option<String>,
    /// Allowed values.
    #[serde(default)]
    pub e: Option<Vec<serde_json::Value>>,
    /// A pattern a string must match.
    #[serde(default)]
    pub pt: Option<String>,
    /// Item schema of an array.
    #[serde(default)]
    pub i: Option<Box<Prop>>,
    /// A definition this property is.
    #[serde(default, rename = "$")]
    pub def: Option<String>,
    /// An object's properties.
    #[serde(default)]
    pub p: Option<BTreeMap<String, Prop>>,
    /// An object's required properties.
    #[serde(default)]
    pub r: Vec<String>,
    /// 1 when an object takes properties beyond `p`.
    #[serde(default)]
    pub open: Option<u8>,
}

impl Prop {
    pub fn kind(&self) -> &str {
        match (&self.t, &self.p) {
            (Some(t), _) => t,
            (None, Some(_)) => "o",
            (None, None) => "*",
        }
    }
}

/// One resource type's schema.
#[derive(Debug, Clone, Deserialize)]
pub struct ResourceSchema {
    #[serde(default)]
    pub p: BTreeMap<String, Prop>,
    #[serde(default)]
    pub r: Vec<String>,
    #[serde(default)]
    pub open: Option<u8>,
    #[serde(default)]
    pub d: HashMap<String, Prop>,
    /// GetAtt attributes beyond the top-level properties (a name, or a pattern such as `Outputs\..*`).
    #[serde(default)]
    pub a: Vec<String>,
    /// 1 when every top-level property can be read with GetAtt too.
    #[serde(default)]
    pub ap: Option<u8>,
    /// Write-only properties, `/`-joined paths (`*` for any array item): never returned on read.
    #[serde(default)]
    pub w: Vec<String>,
}

impl ResourceSchema {
    /// The root as an object schema.
    pub fn root(&self) -> Prop {
        Prop { p: Some(self.p.clone()), r: self.r.clone(), open: self.open, t: Some("o".into()), ..Prop::default() }
    }

    /// A property with its definition reference followed (a chain of references at most 16 long).
    pub fn resolve<'a>(&'a self, mut prop: &'a Prop) -> &'a Prop {
        for _ in 0..16 {
            match prop.def.as_ref().and_then(|d| self.d.get(d)) {
                Some(next) => prop = next,
                None => break,
            }
        }
        prop
    }

    /// Whether `Fn::GetAtt` can read `attribute`.
    pub fn has_attribute(&self, attribute: &str) -> bool {
        (self.ap == Some(1) && self.p.contains_key(attribute))
            || self.a.iter().any(|a| {
                if a.contains('\\') || a.contains('*') {
                    regex_lite::Regex::new(&format!("^(?:{a})$")).is_ok_and(|re| re.is_match(attribute))
                } else {
                    a == attribute
                }
            })
    }

    /// Every attribute name GetAtt can read (patterns left out), for suggestions.
    pub fn attribute_names(&self) -> Vec<&str> {
        let top = self.p.keys().filter(|_| self.ap == Some(1)).map(|s| s.as_str());
        top.chain(self.a.iter().filter(|a| !a.contains('\\') && !a.contains('*')).map(|s| s.as_str())).collect()
    }

    /// Whether the property at `path` (property names, `*` for an array item) is write-only.
    pub fn is_write_only(&self, path: &[String]) -> bool {
        let joined = path.join("/");
        self.w.iter().any(|w| joined == *w || joined.starts_with(&format!("{w}/")))
    }
}

/// The whole data set, indexed.
pub struct Schemas {
    text: String,
    date: String,
    index: HashMap<String, std::ops::Range<usize>>,
    missing: HashMap<String, HashSet<String>>,
    parsed: std::sync::Mutex<HashMap<String, std::sync::Arc<ResourceSchema>>>,
}

impl Schemas {
    fn load() -> Schemas {
        let mut text = String::new();
        // The data is ours, compiled in: a failure here is a build defect, seen by every test.
        flate2::read::GzDecoder::new(DATA)
            .read_to_string(&mut text)
            .expect("data/resource-schemas.txt.gz is gzip text");
        let mut s = Schemas {
            text: String::new(),
            date: String::new(),
            index: HashMap::new(),
            missing: HashMap::new(),
            parsed: Default::default(),
        };
        let mut at = 0;
        for line in text.split_inclusive('\n') {
            let body = line.trim_end_matches('\n');
            if let Some(date) = body.strip_prefix("@date\t") {
                s.date = date.to_string();
            } else if let Some(rest) = body.strip_prefix("@region\t") {
                let (region, types) = rest.split_once('\t').unwrap_or((rest, ""));
                s.missing
                    .insert(region.to_string(), types.split(' ').filter(|t| !t.is_empty()).map(String::from).collect());
            } else if let Some((name, _)) = body.split_once('\t') {
                s.index.insert(name.to_string(), at + name.len() + 1..at + body.len());
            }
            at += line.len();
        }
        s.text = text;
        s
    }

    /// The schemas' date (when cfn-lint took them from CloudFormation).
    pub fn date(&self) -> &str {
        &self.date
    }

    pub fn type_count(&self) -> usize {
        self.index.len()
    }

    pub fn type_names(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(|s| s.as_str())
    }

    /// A type's schema, in any region.
    pub fn resource(&self, type_name: &str) -> Option<std::sync::Arc<ResourceSchema>> {
        let mut parsed = self.parsed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = parsed.get(type_name) {
            return Some(s.clone());
        }
        let range = self.index.get(type_name)?.clone();
        let schema: ResourceSchema = serde_json::from_str(&self.text[range]).ok()?;
        let schema = std::sync::Arc::new(schema);
        parsed.insert(type_name.to_string(), schema.clone());
        Some(schema)
    }

    /// Whether `type_name` is available in `region` (a region the data does not know has every type).
    pub fn in_region(&self, type_name: &str, region: &str) -> bool {
        self.missing.get(region).is_none_or(|m| !m.contains(type_name))
    }
}

/// The schemas, loaded on first use.
pub fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(Schemas::load)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_knows_common_types_their_properties_and_attributes() {
        let s = schemas();
        assert!(s.type_count() > 1000, "{}", s.type_count());
        assert!(s.date().starts_with("20"), "{}", s.date());
        let vpc = s.resource("AWS::EC2::VPC").unwrap();
        assert!(vpc.p.contains_key("CidrBlock"));
        assert!(!vpc.p.contains_key("CidrBlok"));
        assert!(vpc.has_attribute("VpcId") && vpc.has_attribute("CidrBlockAssociations"));
        assert!(!vpc.has_attribute("Arn"));
        let db = s.resource("AWS::RDS::DBInstance").unwrap();
        assert!(db.is_write_only(&["MasterUserPassword".into()]));
        assert!(!db.is_write_only(&["DBInstanceIdentifier".into()]));
        assert!(db.has_attribute("Endpoint.Address"));
        let stack = s.resource("AWS::CloudFormation::Stack").unwrap();
        assert!(stack.has_attribute("Outputs.VpcId") && !stack.has_attribute("Nope"));
        assert!(s.resource("AWS::EC2::InternetGateways").is_none());
    }

    #[test]
    fn regions_lack_some_types() {
        let s = schemas();
        assert!(s.in_region("AWS::EC2::VPC", "us-east-1"));
        assert!(s.in_region("AWS::EC2::VPC", "xx-newregion-1"));
        let lacking = s.missing.values().map(|m| m.len()).max().unwrap_or(0);
        assert!(lacking > 0, "some region lacks some type");
    }
}
