//! A YAML (or JSON) template read straight into the JSON tree later stages use: the short-form tags
//! (`!Ref`, `!Sub`, `!GetAtt`, ...) become their long form (`{"Ref": ..}`, `{"Fn::Sub": ..}`) while the
//! parser walks the text, with no YAML tree built and converted on the way (that was half a render).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde_json::{Map, Value as Json};

/// The function tags that become `Fn::<Name>`.
const FN_TAGS: &[&str] = &[
    "Base64",
    "Cidr",
    "FindInMap",
    "GetAZs",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "If",
    "Equals",
    "And",
    "Or",
    "Not",
    "ToJsonString",
    "Length",
    "ForEach",
];

/// Why the text is not a template: the parser's message and its 1-based line and column when known.
pub struct YamlError {
    pub message: String,
    pub line: Option<usize>,
    pub col: Option<usize>,
}

/// The document of `text` as JSON.
pub fn to_json(text: &str) -> Result<Json, YamlError> {
    yaml_serde::from_str::<Node>(text).map(|n| n.0).map_err(|e| YamlError {
        message: e.to_string().split(" at line ").next().unwrap_or_default().to_string(),
        line: e.location().map(|l| l.line()),
        col: e.location().map(|l| l.column()),
    })
}

/// Whether `text` is a template document as `to_json` reads it (the same errors, tags, duplicate keys,
/// a mapping at the top), without building the tree: for a caller that needs only the answer.
pub fn check(text: &str) -> Result<(), YamlError> {
    match yaml_serde::from_str::<Checked>(text) {
        Ok(Checked(Shape::Map)) => Ok(()),
        Ok(_) => Err(YamlError {
            message: "a template must be a mapping at the top level".into(),
            line: Some(1),
            col: Some(1),
        }),
        Err(e) => Err(YamlError {
            message: e.to_string().split(" at line ").next().unwrap_or_default().to_string(),
            line: e.location().map(|l| l.line()),
            col: e.location().map(|l| l.column()),
        }),
    }
}

/// What a checked node was, as far as a check needs to know: a template is a mapping.
#[derive(PartialEq)]
enum Shape {
    Map,
    Other,
}

struct Checked(Shape);

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CheckVisitor).map(Checked)
    }
}

/// `NodeVisitor`'s checks with nothing kept but the keys of the mapping being read.
struct CheckVisitor;

impl<'de> Visitor<'de> for CheckVisitor {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_none<E>(self) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        Checked::deserialize(d).map(|c| c.0)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Shape::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut keys = std::collections::HashSet::new();
        while let Some(Key(key)) = map.next_key()? {
            if keys.contains(&key) {
                return Err(de::Error::custom(format!("duplicate entry with key {key:?}")));
            }
            keys.insert(key);
            map.next_value::<Checked>()?;
        }
        Ok(Shape::Map)
    }
    /// A function tag is checked in place; `!GetAtt` and a tag that is not CloudFormation's are read as
    /// `to_json` reads them (small nodes), so their errors are the same words.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Shape, A::Error> {
        let (tag, content): (String, _) = data.variant()?;
        if tag == "Ref" || tag == "Condition" || (tag != "GetAtt" && FN_TAGS.contains(&tag.as_str())) {
            content.newtype_variant::<Checked>()?;
        } else {
            let Node(inner) = content.newtype_variant()?;
            long_form(&tag, inner).map_err(de::Error::custom)?;
        }
        Ok(Shape::Map)
    }
}

/// One node of the document.
struct Node(Json);

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor).map(Node)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Json, E> {
        Ok(Json::from(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Json, E> {
        Ok(Json::from(u))
    }
    /// `.nan` and `.inf` have no JSON form: null, as CloudFormation's own YAML reader gives nothing usable.
    fn visit_f64<E>(self, f: f64) -> Result<Json, E> {
        Ok(serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number))
    }
    fn visit_str<E>(self, s: &str) -> Result<Json, E> {
        Ok(Json::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Json, E> {
        Ok(Json::String(s))
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        Node::deserialize(d).map(|n| n.0)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(Node(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    /// A key given twice is an error (CloudFormation refuses it too); `1` and `"1"` are the same key.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut out = Map::new();
        while let Some(Key(key)) = map.next_key()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate entry with key {key:?}")));
            }
            let Node(value) = map.next_value()?;
            out.insert(key, value);
        }
        Ok(Json::Object(out))
    }
    /// A tagged node: yaml_serde hands it over as an enum whose variant is the tag without its `!`.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Json, A::Error> {
        let (tag, content): (String, _) = data.variant()?;
        let Node(inner) = content.newtype_variant()?;
        long_form(&tag, inner).map_err(de::Error::custom)
    }
}

/// `!Tag value` as the one-key mapping CloudFormation's JSON form writes.
fn long_form(tag: &str, inner: Json) -> Result<Json, String> {
    let (key, value) = match tag {
        "Ref" | "Condition" => (tag.to_string(), inner),
        "GetAtt" => {
            let v = match inner {
                Json::String(s) => match s.split_once('.') {
                    Some((a, b)) => Json::Array(vec![Json::String(a.into()), Json::String(b.into())]),
                    None => return Err(format!("`!GetAtt {s}` needs the form Resource.Attribute")),
                },
                other => other,
            };
            ("Fn::GetAtt".to_string(), v)
        }
        n if FN_TAGS.contains(&n) => (format!("Fn::{n}"), inner),
        _ => return Err(format!("unknown tag `!{tag}`")),
    };
    let mut m = Map::with_capacity(1);
    m.insert(key, value);
    Ok(Json::Object(m))
}

/// A mapping key: a string, or a number or boolean written as one (`80:`, `true:`).
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KeyVisitor).map(Key)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, number or boolean as a mapping key")
    }
    fn visit_str<E>(self, s: &str) -> Result<String, E> {
        Ok(s.to_owned())
    }
    fn visit_string<E>(self, s: String) -> Result<String, E> {
        Ok(s)
    }
    fn visit_bool<E>(self, b: bool) -> Result<String, E> {
        Ok(b.to_string())
    }
    fn visit_i64<E>(self, i: i64) -> Result<String, E> {
        Ok(i.to_string())
    }
    fn visit_u64<E>(self, u: u64) -> Result<String, E> {
        Ok(u.to_string())
    }
    fn visit_f64<E>(self, f: f64) -> Result<String, E> {
        Ok(f.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Err(E::custom("unsupported mapping key: null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(de::Error::custom("unsupported mapping key: a sequence"))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(de::Error::custom("unsupported mapping key: a mapping"))
    }
    fn visit_enum<A: EnumAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(de::Error::custom("unsupported mapping key: a tagged value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `check` says what `to_json` says (and the template's top-level rule), on valid templates and on
    /// thousands of broken ones.
    #[test]
    fn check_agrees_with_the_full_parse() {
        let base = "Parameters:\n  Name: {Type: String}\nResources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Sub \"${Name}-x\"\n      Tags: [{Key: a, Value: !GetAtt R.Arn}, {Key: b, Value: !Ref Name}]\n  R:\n    Type: AWS::SNS::Topic\nOutputs:\n  O:\n    Value: !Join [\",\", [!Ref B, \"1\"]]\n";
        let pieces = [
            "!GetAtt R",
            "!Nope x",
            ":",
            "\n  B:",
            "- ",
            "{",
            "}",
            "[",
            "]",
            "'",
            "\"",
            "!Ref",
            "\t",
            "&a",
            "*a",
            "? ",
            "!!str",
            "1: x\n1: y\n",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let agree = |text: &str| {
            let full = to_json(text).map(|j| j.is_object());
            let quick = check(text);
            match (&full, &quick) {
                (Ok(true), Ok(())) => {}
                (Ok(false), Err(e)) => assert!(e.message.contains("mapping at the top"), "{text:?}"),
                (Err(a), Err(b)) => assert_eq!((&a.message, a.line, a.col), (&b.message, b.line, b.col), "{text:?}"),
                _ => panic!(
                    "disagree on {text:?}: full {:?}, check {:?}",
                    full.as_ref().map_err(|e| &e.message),
                    quick.as_ref().map_err(|e| &e.message)
                ),
            }
        };
        agree(base);
        for _ in 0..3000 {
            let mut t: Vec<char> = base.chars().collect();
            for _ in 0..(1 + next() % 3) {
                let at = (next() % (t.len() as u64 + 1)) as usize;
                if next() % 2 == 0 && at < t.len() {
                    let end = (at + 1 + (next() % 6) as usize).min(t.len());
                    t.drain(at..end);
                } else {
                    let p = pieces[(next() % pieces.len() as u64) as usize];
                    for (i, c) in p.chars().enumerate() {
                        t.insert(at + i, c);
                    }
                }
            }
            agree(&t.into_iter().collect::<String>());
        }
    }

    fn parsed(text: &str) -> Json {
        to_json(text).unwrap_or_else(|e| panic!("{}", e.message))
    }

    #[test]
    fn short_forms_become_long_forms_at_any_depth() {
        let t =
            "A: !Ref X\nB: !GetAtt R.Arn\nC: !Sub ['${A}', {A: !Ref Y}]\nD: !If [C, !Base64 x, !Ref 'AWS::NoValue']\n";
        assert_eq!(
            parsed(t),
            json!({
                "A": {"Ref": "X"},
                "B": {"Fn::GetAtt": ["R", "Arn"]},
                "C": {"Fn::Sub": ["${A}", {"A": {"Ref": "Y"}}]},
                "D": {"Fn::If": ["C", {"Fn::Base64": "x"}, {"Ref": "AWS::NoValue"}]},
            })
        );
    }

    #[test]
    fn scalars_keys_and_order_are_kept() {
        let t = "z: 1\na: -2\nf: 1.5\nb: true\nn: ~\n80: port\ntrue: yes\ns: '010'\n";
        let v = parsed(t);
        assert_eq!(
            v,
            json!({"z": 1, "a": -2, "f": 1.5, "b": true, "n": null, "80": "port", "true": "yes", "s": "010"})
        );
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["z", "a", "f", "b", "n", "80", "true", "s"]);
        assert_eq!(parsed("x: .nan\n"), json!({"x": null}));
    }

    #[test]
    fn wrong_documents_are_errors_with_a_place() {
        let e = to_json("A: 1\nB:\n  C: !Reff X\n").err().unwrap();
        assert!(e.message.contains("unknown tag `!Reff`"), "{}", e.message);
        assert_eq!(e.line, Some(3), "{}", e.message);
        let e = to_json("A: 1\nB: 2\nA: 3\n").err().unwrap();
        assert!(e.message.contains("duplicate entry with key \"A\""), "{}", e.message);
        let e = to_json("80: a\n'80': b\n").err().unwrap();
        assert!(e.message.contains("duplicate entry"), "{}", e.message);
        for bad in ["? [a]\n: b\n", "~: x\n", "X: !GetAtt NoDot\n"] {
            assert!(to_json(bad).is_err(), "{bad}");
        }
        let e = to_json("A: [1, 2\n").err().unwrap();
        assert!(e.line.is_some(), "{}", e.message);
    }

    #[test]
    fn json_templates_read_the_same() {
        let t =
            r#"{"Resources": {"T": {"Type": "AWS::SNS::Topic", "Properties": {"N": {"Fn::Sub": "${AWS::Region}"}}}}}"#;
        assert_eq!(parsed(t)["Resources"]["T"]["Properties"]["N"], json!({"Fn::Sub": "${AWS::Region}"}));
    }
}
