//! Which changes make CloudFormation replace a resource (create a new one, then delete the old one with
//! its data): a change of a property the resource's schema lists as create-only. The list comes from the
//! CloudFormation resource schemas (`data/create-only-properties.txt`, made by `scripts/gen-create-only`).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value as Json;

use crate::assemble::Assembled;
use crate::cfn::template::Template;
use crate::project::Project;
use crate::render::Renderer;

const TABLE: &str = include_str!("../data/create-only-properties.txt");

/// The create-only property paths of a resource type (`Name`, `Settings/Engine`, `Tags/*/Key`).
pub fn create_only(resource_type: &str) -> &'static [&'static str] {
    static PARSED: OnceLock<HashMap<&'static str, Vec<&'static str>>> = OnceLock::new();
    let table = PARSED.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .map(|(t, props)| (t, props.split(' ').collect()))
            .collect()
    });
    table.get(resource_type).map(|v| v.as_slice()).unwrap_or(&[])
}

/// One resource CloudFormation would replace, and the property that makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    pub logical_id: String,
    pub resource_type: String,
    pub property: String,
}

/// The values at `path` (segments split by `/`, `*` = every item of a list).
fn values_at<'a>(node: &'a Json, path: &[&str], out: &mut Vec<&'a Json>) {
    let Some((first, rest)) = path.split_first() else {
        out.push(node);
        return;
    };
    match (node, *first) {
        (Json::Array(items), "*") => items.iter().for_each(|i| values_at(i, rest, out)),
        (Json::Object(m), key) => {
            if let Some(v) = m.get(key) {
                values_at(v, rest, out)
            } else {
                out.push(&Json::Null)
            }
        }
        _ => out.push(&Json::Null),
    }
}

/// `node` with `Ref`s to the layer's parameters and their `${Name}`s in `Fn::Sub` replaced by the values
/// the stack gets, so a parameter change counts as a change of the properties that use it.
fn with_parameters(node: &Json, parameters: &HashMap<String, String>) -> Json {
    match node {
        Json::Object(m) if m.len() == 1 => {
            let (k, v) = m.iter().next().unwrap();
            match (k.as_str(), v) {
                ("Ref", Json::String(p)) if parameters.contains_key(p) => Json::String(parameters[p].clone()),
                ("Fn::Sub", Json::String(text)) => {
                    let mut t = text.clone();
                    for (name, value) in parameters {
                        t = t.replace(&format!("${{{name}}}"), value);
                    }
                    serde_json::json!({ "Fn::Sub": t })
                }
                _ => Json::Object(m.iter().map(|(k, v)| (k.clone(), with_parameters(v, parameters))).collect()),
            }
        }
        Json::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), with_parameters(v, parameters))).collect()),
        Json::Array(a) => Json::Array(a.iter().map(|v| with_parameters(v, parameters)).collect()),
        other => other.clone(),
    }
}

/// The resources a change of one layer (as built before and after) would make CloudFormation replace:
/// a create-only property whose value changes (directly, or through a parameter), or a new type under
/// the same logical id.
pub fn replacements(before: &Assembled, after: &Assembled) -> Vec<Replacement> {
    let (Ok(old), Ok(new)) = (&before.template, &after.template) else { return Vec::new() };
    let params = |b: &Assembled| -> HashMap<String, String> { b.shown_parameters().into_iter().collect() };
    between(old, new, &params(before), &params(after))
}

/// The replacements between two versions of one template, each with the parameter values it gets.
pub fn between(
    old: &Template,
    new: &Template,
    old_params: &HashMap<String, String>,
    new_params: &HashMap<String, String>,
) -> Vec<Replacement> {
    let mut out = Vec::new();
    let (Some(old_resources), Some(new_resources)) = (old.section("Resources"), new.section("Resources")) else {
        return out;
    };
    for (id, was) in old_resources {
        let Some(now) = new_resources.get(id) else { continue };
        let kind = |r: &Json| r.get("Type").and_then(|t| t.as_str()).unwrap_or_default().to_string();
        let (old_type, new_type) = (kind(was), kind(now));
        if old_type != new_type {
            out.push(Replacement { logical_id: id.clone(), resource_type: new_type, property: "Type".into() });
            continue;
        }
        let empty = Json::Object(Default::default());
        let old_props = with_parameters(was.get("Properties").unwrap_or(&empty), old_params);
        let new_props = with_parameters(now.get("Properties").unwrap_or(&empty), new_params);
        for path in create_only(&old_type) {
            let segments: Vec<&str> = path.split('/').collect();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            values_at(&old_props, &segments, &mut a);
            values_at(&new_props, &segments, &mut b);
            if a != b {
                out.push(Replacement {
                    logical_id: id.clone(),
                    resource_type: old_type.clone(),
                    property: path.to_string(),
                });
            }
        }
    }
    out
}

/// A value known offline: a string, or a `Fn::Sub` whose variables were all substituted.
fn plain(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Object(m) => m.get("Fn::Sub").and_then(|s| s.as_str()).filter(|s| !s.contains("${")).map(String::from),
        _ => None,
    }
}

/// The replacements inside a layer's nested stacks (templates of the project, rendered with each
/// version's values): `Child/Resource`, the child's parameters taken from what the parent passes.
pub fn nested(project: &Project, layer: &str, before: &Assembled, after: &Assembled) -> Vec<Replacement> {
    let (Ok(old), Ok(new), Ok(def)) = (&before.template, &after.template, project.layer(layer)) else {
        return Vec::new();
    };
    let renderer = Renderer::new(project);
    let params = |b: &Assembled| -> HashMap<String, String> { b.shown_parameters().into_iter().collect() };
    let (old_params, new_params) = (params(before), params(after));
    let child = |t: &Template, id: &str, b: &Assembled, parent_params: &HashMap<String, String>| {
        let props = t.body.pointer(&format!("/Resources/{id}/Properties"))?;
        let url = props.get("TemplateURL")?.as_str()?;
        let file = def.dir.join(url).canonicalize().ok()?;
        let text = renderer.render_file(def, &file, b.values.jinja_context()).ok()?;
        let passed = with_parameters(props.get("Parameters").unwrap_or(&Json::Null), parent_params);
        let child_params: HashMap<String, String> = passed
            .as_object()
            .map(|m| m.iter().filter_map(|(k, v)| plain(v).map(|s| (k.clone(), s))).collect())
            .unwrap_or_default();
        Some((Template::parse(&text).ok()?, child_params))
    };
    let mut out = Vec::new();
    for (id, r) in old.section("Resources").into_iter().flatten() {
        if r.get("Type").and_then(|t| t.as_str()) != Some("AWS::CloudFormation::Stack") {
            continue;
        }
        let (Some((a, ap)), Some((b, bp))) = (child(old, id, before, &old_params), child(new, id, after, &new_params))
        else {
            continue;
        };
        out.extend(
            between(&a, &b, &ap, &bp)
                .into_iter()
                .map(|r| Replacement { logical_id: format!("{id}/{}", r.logical_id), ..r }),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::{LayerValues, Parameter, Resolved};

    fn built(template: &str, parameters: &[(&str, &str)]) -> Assembled {
        let mut values = LayerValues {
            layer: "db".into(),
            stack_name: "app-qa-db".into(),
            context: Default::default(),
            stack_names: minijinja::Value::UNDEFINED,
            parameters: Default::default(),
        };
        for (k, v) in parameters {
            let p = Parameter {
                name: k.to_string(),
                source: None,
                value: Resolved::Plain(v.to_string()),
                origin: crate::diagnostic::Location::file_only(std::path::Path::new("qa.toml")),
            };
            values.parameters.insert(k.to_string(), p);
        }
        Assembled {
            values,
            text: template.to_string(),
            template: crate::cfn::template::Template::parse(template),
            made: Default::default(),
            packaged: Default::default(),
        }
    }

    const DB: &str = "Parameters:\n  Name:\n    Type: String\nResources:\n  Database:\n    Type: AWS::RDS::DBInstance\n    Properties:\n      DBInstanceIdentifier: !Sub \"${Name}-db\"\n      DBInstanceClass: DBCLASS\n";

    #[test]
    fn the_schema_table_knows_common_types() {
        assert!(create_only("AWS::RDS::DBInstance").contains(&"DBInstanceIdentifier"));
        assert!(create_only("AWS::SSM::Parameter").contains(&"Name"));
        assert!(!create_only("AWS::RDS::DBInstance").contains(&"DBInstanceClass"));
        assert!(create_only("AWS::Nope::Nothing").is_empty());
    }

    #[test]
    fn a_parameter_that_reaches_a_create_only_property_replaces_and_others_do_not() {
        let before = built(&DB.replace("DBCLASS", "db.t3.micro"), &[("Name", "orders")]);
        let bigger = built(&DB.replace("DBCLASS", "db.m5.large"), &[("Name", "orders")]);
        assert!(replacements(&before, &bigger).is_empty(), "a class change updates in place");
        let renamed = built(&DB.replace("DBCLASS", "db.t3.micro"), &[("Name", "billing")]);
        assert_eq!(
            replacements(&before, &renamed),
            vec![Replacement {
                logical_id: "Database".into(),
                resource_type: "AWS::RDS::DBInstance".into(),
                property: "DBInstanceIdentifier".into()
            }]
        );
    }

    #[test]
    fn a_new_type_under_the_same_id_and_list_items_count() {
        let topic = |t: &str| built(&format!("Resources:\n  R:\n    Type: {t}\n"), &[]);
        assert_eq!(replacements(&topic("AWS::SNS::Topic"), &topic("AWS::SQS::Queue"))[0].property, "Type");
        let mut v = Vec::new();
        let doc = serde_json::json!({"Tags": [{"Key": "a"}, {"Key": "b"}]});
        values_at(&doc, &["Tags", "*", "Key"], &mut v);
        assert_eq!(v, [&serde_json::json!("a"), &serde_json::json!("b")]);
    }
}
