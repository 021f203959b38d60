//! What changes inside a modified resource, from a change set's details: each property that changes,
//! whether that replaces the resource (never, conditionally, always) and why (a parameter, another
//! resource's attribute, a direct change), with before/after values where CloudFormation gives them and
//! never a secret's. A replacement of a stateful resource (a database, a bucket, a table...) is marked.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value as Json;

use super::layer::nested_body;
use crate::cfn::port::{PropertyChange, ResourceChange};
use crate::cfn::stateful::is_stateful;
use crate::cfn::template::{parameters_referenced, Template};

/// One property (or resource attribute) that changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PropertyDiff {
    /// The property's name, or the attribute (`Tags`, `Metadata`, `DeletionPolicy`...) when not a property.
    pub property: String,
    /// never, conditionally, always (or unknown when CloudFormation does not say).
    pub recreation: String,
    /// Why: `parameter X`, `X.Attr`, `resource X`, `direct change`, `automatic`.
    pub causes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// The value comes from a secret: never shown.
    pub secret: bool,
    /// Values not shown because where they come from is not known (a nested stack whose template was not
    /// packaged by this run).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
}

/// What is needed to keep secrets out of a plan: the secret parameters and the template they reach.
pub struct Masking<'a> {
    pub secret_parameters: &'a BTreeSet<String>,
    /// The rendered template, parsed (None when not known, a nested stack's: then no value is shown).
    pub template: Option<&'a Json>,
}

impl Masking<'_> {
    /// Whether the property of `resource` named `name` is built from a secret parameter.
    fn carries_secret(&self, resource: &str, name: Option<&str>) -> bool {
        let Some(body) = self.template else { return false };
        let node = match name {
            Some(n) => body.pointer(&format!("/Resources/{resource}/Properties/{n}")),
            None => body.pointer(&format!("/Resources/{resource}")),
        };
        node.is_some_and(|n| parameters_referenced(n).iter().any(|p| self.secret_parameters.contains(p)))
    }
}

/// One stack of a nested tree as a plan masks it: its template and the parameters that can carry a secret.
pub struct Level {
    pub body: Json,
    pub secret_parameters: BTreeSet<String>,
}

impl Level {
    pub fn masking(&self) -> Masking<'_> {
        Masking { secret_parameters: &self.secret_parameters, template: Some(&self.body) }
    }

    /// The level of this stack's nested stack `logical_id`: its template, found by its `TemplateURL` among
    /// `templates` (packaged bodies by artifact key), and as secret every parameter it declares `NoEcho`
    /// and every one this stack passes it a secret in. None when its template is not among them (its
    /// values are then not shown).
    pub fn child(&self, logical_id: &str, templates: &BTreeMap<String, String>) -> Option<Level> {
        let resource = self.body.pointer(&format!("/Resources/{logical_id}/Properties"))?;
        let url = resource.get("TemplateURL")?.as_str()?;
        let child = Template::parse(nested_body(templates, url)?).ok()?;
        let mut secret_parameters: BTreeSet<String> =
            child.parameters().into_iter().filter(|p| p.no_echo).map(|p| p.name).collect();
        for (name, value) in resource.get("Parameters").and_then(Json::as_object).into_iter().flatten() {
            if parameters_referenced(value).iter().any(|p| self.secret_parameters.contains(p)) {
                secret_parameters.insert(name.clone());
            }
        }
        Some(Level { body: child.body, secret_parameters })
    }
}

fn cause(d: &PropertyChange) -> String {
    let entity = d.causing_entity.clone().unwrap_or_default();
    match d.change_source.as_deref() {
        Some("ParameterReference") => format!("parameter {entity}"),
        Some("ResourceAttribute") => entity,
        Some("ResourceReference") => format!("resource {entity}"),
        Some("DirectModification") => "direct change".into(),
        Some("Automatic") => "automatic (a nested stack's template or a dynamic value)".into(),
        Some(other) => other.to_string(),
        None => "change".into(),
    }
}

/// The strongest of two recreation answers.
fn stronger(a: &str, b: &str) -> String {
    let rank = |r: &str| match r {
        "always" => 3,
        "conditionally" => 2,
        "never" => 1,
        _ => 0,
    };
    if rank(b) > rank(a) {
        b.to_string()
    } else {
        a.to_string()
    }
}

/// The property-level view of one resource change, merged by property and masked.
pub fn property_diffs(c: &ResourceChange, masking: &Masking) -> Vec<PropertyDiff> {
    let mut out: Vec<PropertyDiff> = Vec::new();
    for d in &c.details {
        let property = d.name.clone().filter(|_| d.attribute == "Properties").unwrap_or_else(|| d.attribute.clone());
        let recreation =
            d.requires_recreation.as_deref().map(str::to_ascii_lowercase).unwrap_or_else(|| "unknown".into());
        let secret = d.change_source.as_deref() == Some("ParameterReference")
            && d.causing_entity.as_ref().is_some_and(|e| masking.secret_parameters.contains(e))
            || (d.attribute == "Properties" && masking.carries_secret(&c.logical_id, d.name.as_deref()))
            || [&d.before, &d.after].iter().any(|v| v.as_deref().is_some_and(|v| v.contains("****")));
        let why = cause(d);
        match out.iter_mut().find(|p| p.property == property) {
            Some(p) => {
                p.recreation = stronger(&p.recreation, &recreation);
                if !p.causes.contains(&why) {
                    p.causes.push(why);
                }
                p.secret |= secret;
                p.before = p.before.take().or(d.before.clone());
                p.after = p.after.take().or(d.after.clone());
            }
            None => out.push(PropertyDiff {
                property,
                recreation,
                causes: vec![why],
                before: d.before.clone(),
                after: d.after.clone(),
                secret,
                hidden: masking.template.is_none(),
            }),
        }
    }
    for p in out.iter_mut().filter(|p| p.secret || p.hidden) {
        p.before = None;
        p.after = None;
    }
    out
}

/// Whether replacing this resource loses data: its type keeps state, and the change set replaces it.
pub fn replaces_state(c: &ResourceChange) -> bool {
    c.action == "Modify" && c.replacement.as_deref() == Some("True") && is_stateful(&c.resource_type)
}

/// A value as one short line.
fn short(v: &str) -> String {
    let one: String = v.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 60 {
        format!("{}...", one.chars().take(57).collect::<String>())
    } else {
        one
    }
}

/// The lines shown under a modified resource in a text plan.
pub fn to_lines(diffs: &[PropertyDiff]) -> Vec<String> {
    diffs
        .iter()
        .map(|p| {
            let values = match (&p.before, &p.after) {
                _ if p.secret => ": (secret, masked)".to_string(),
                _ if p.hidden => ": (values not shown: the nested stack's template is not known here)".to_string(),
                (Some(b), Some(a)) => format!(": {} -> {}", short(b), short(a)),
                (None, Some(a)) => format!(": -> {}", short(a)),
                (Some(b), None) => format!(": {} ->", short(b)),
                (None, None) => String::new(),
            };
            let effect = match p.recreation.as_str() {
                "always" => "REPLACES the resource",
                "conditionally" => "may replace the resource",
                "never" => "in place",
                _ => "effect not known",
            };
            format!("~ {}{values}  ({effect}; {})", p.property, p.causes.join(", "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(name: &str, recreation: &str, source: &str, entity: &str, before: &str, after: &str) -> PropertyChange {
        PropertyChange {
            attribute: "Properties".into(),
            name: Some(name.into()),
            path: Some(format!("/Properties/{name}")),
            requires_recreation: Some(recreation.into()),
            change_source: Some(source.into()),
            causing_entity: (!entity.is_empty()).then(|| entity.to_string()),
            before: Some(before.into()),
            after: Some(after.into()),
        }
    }

    #[test]
    fn properties_are_merged_explained_and_secrets_masked() {
        let template = serde_json::json!({"Resources": {"Db": {"Type": "AWS::RDS::DBInstance", "Properties": {
            "Engine": "mysql", "DBInstanceClass": {"Ref": "Class"}, "MasterUserPassword": {"Fn::Sub": "${Pw}x"}}}}});
        let change = ResourceChange {
            action: "Modify".into(),
            logical_id: "Db".into(),
            resource_type: "AWS::RDS::DBInstance".into(),
            replacement: Some("True".into()),
            details: vec![
                detail("Engine", "Always", "DirectModification", "", "postgres", "mysql"),
                detail("DBInstanceClass", "Never", "ParameterReference", "Class", "db.t3.micro", "db.t3.small"),
                detail("DBInstanceClass", "Conditionally", "DirectModification", "", "db.t3.micro", "db.t3.small"),
                detail("MasterUserPassword", "Never", "DirectModification", "", "old-secret-value", "new-secret-value"),
            ],
            nested_change_set: None,
        };
        let secrets = BTreeSet::from(["Pw".to_string()]);
        let diffs = property_diffs(&change, &Masking { secret_parameters: &secrets, template: Some(&template) });
        assert_eq!(diffs.len(), 3);
        assert_eq!(diffs[1].recreation, "conditionally");
        assert_eq!(diffs[1].causes, vec!["parameter Class", "direct change"]);
        assert!(diffs[2].secret && diffs[2].before.is_none() && diffs[2].after.is_none());
        let text = to_lines(&diffs).join("\n");
        assert!(text.contains("~ Engine: postgres -> mysql  (REPLACES the resource; direct change)"), "{text}");
        assert!(text.contains("~ MasterUserPassword: (secret, masked)"), "{text}");
        assert!(!text.contains("secret-value"), "{text}");
        assert!(replaces_state(&change));
        // Without a template to check (a nested stack), no value is shown.
        let blind = property_diffs(&change, &Masking { secret_parameters: &secrets, template: None });
        assert!(blind.iter().all(|d| d.hidden && d.before.is_none() && d.after.is_none()), "{blind:?}");
        assert!(to_lines(&blind).join("\n").contains("~ Engine: (values not shown"), "{blind:?}");
        // A secret parameter named as the cause masks the value too.
        let by_param = ResourceChange {
            details: vec![detail("Other", "Never", "ParameterReference", "Pw", "a", "b")],
            ..change.clone()
        };
        assert!(
            property_diffs(&by_param, &Masking { secret_parameters: &secrets, template: Some(&template) })[0].secret
        );
    }

    #[test]
    fn a_nested_level_takes_its_template_and_what_carries_a_secret_into_it() {
        let parent = Template::parse(
            "Parameters:\n  Pw: {Type: String, NoEcho: true}\nResources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: https://arts.s3.us-east-1.amazonaws.com/app/child-1a2b.yaml\n      Parameters: {Token: !Sub 'x-${Pw}', Level: calm}\n  Other:\n    Type: AWS::CloudFormation::Stack\n    Properties: {TemplateURL: https://arts.s3.us-east-1.amazonaws.com/app/gone.yaml}\n",
        )
        .unwrap();
        let top = Level { body: parent.body, secret_parameters: ["Pw".to_string()].into() };
        let child = "Parameters:\n  Token: {Type: String}\n  Level: {Type: String}\n  Key: {Type: String, NoEcho: true}\nResources: {}\n";
        let templates = BTreeMap::from([("app/child-1a2b.yaml".to_string(), child.to_string())]);
        let level = top.child("Child", &templates).unwrap();
        assert_eq!(level.secret_parameters, BTreeSet::from(["Key".to_string(), "Token".to_string()]));
        assert!(level.body.pointer("/Parameters/Level").is_some());
        assert!(top.child("Other", &templates).is_none(), "a template not packaged here is not guessed");
        assert!(top.child("Missing", &templates).is_none());
        // Inside it, what a secret feeds is masked even where CloudFormation would show it; the rest is shown.
        let child_change = |name: &str, entity: &str| ResourceChange {
            action: "Modify".into(),
            logical_id: "Setting".into(),
            resource_type: "AWS::SSM::Parameter".into(),
            details: vec![detail(name, "Never", "ParameterReference", entity, "old-7", "new-7")],
            ..Default::default()
        };
        let masked = property_diffs(&child_change("Value", "Token"), &level.masking());
        assert!(masked[0].secret && masked[0].before.is_none() && masked[0].after.is_none(), "{masked:?}");
        let shown = property_diffs(&child_change("Description", "Level"), &level.masking());
        assert_eq!((shown[0].before.as_deref(), shown[0].after.as_deref()), (Some("old-7"), Some("new-7")));
        assert!(!shown[0].hidden && !shown[0].secret);
    }
}
