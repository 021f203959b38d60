//! A plan: per layer what would change. Computing it is the engine's; this is the data and its text.

use std::collections::BTreeMap;

use serde::Serialize;

use super::changes::{property_diffs, replaces_state, Masking, PropertyDiff};
use crate::cfn::port::{ResourceChange, StackInfo};
use crate::text;

mod text_form;
pub use text_form::{to_markdown, to_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    /// Delete a stack whose first create failed, then create it.
    Recreate,
    NoChanges,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParamChange {
    pub name: String,
    pub old: Option<String>,
    pub new: Option<String>,
    pub secret: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagChange {
    pub key: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerPlan {
    pub layer: String,
    pub stack_name: String,
    pub action: Action,
    pub changes: Vec<Change>,
    pub parameters: Vec<ParamChange>,
    pub tags: Vec<TagChange>,
    /// Outputs of layers that are not deployed yet: the plan shows placeholders and no change set was made.
    pub waiting_for: Vec<String>,
    /// The deployed template differs from the rendered one (after normalising), which matters on its own
    /// when no resource changes: new outputs, conditions, metadata or a description.
    pub template_changed: bool,
    /// A stack set layer: `changes` are its instances (`account/region`), not resources.
    pub stack_set: bool,
    #[serde(skip)]
    pub change_set: Option<String>,
    #[serde(skip)]
    pub existing: Option<StackInfo>,
    /// A digest of what was planned (template, parameters, tags), to tell whether a deploy may reuse the change set.
    #[serde(skip)]
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    pub replacement: Option<String>,
    /// What changes inside a modified resource (secrets masked).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<PropertyDiff>,
    /// The change set replaces a resource that holds data.
    pub replaces_state: bool,
    /// A nested stack's own changes, masked by its own template (values not shown where it is not known).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nested: Vec<Change>,
    /// Why a nested stack's changes could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nested_unknown: Option<String>,
}

impl Change {
    /// A change set's resource change, its property details masked.
    pub fn of(c: &ResourceChange, masking: &Masking) -> Change {
        Change {
            action: c.action.clone(),
            logical_id: c.logical_id.clone(),
            resource_type: c.resource_type.clone(),
            replacement: c.replacement.clone(),
            properties: property_diffs(c, masking),
            replaces_state: replaces_state(c),
            nested: Vec::new(),
            nested_unknown: None,
        }
    }

    /// A resource the plan lists without a change set (a create planned from the template).
    pub fn added(logical_id: &str, resource_type: &str) -> Change {
        Change {
            action: "Add".into(),
            logical_id: logical_id.into(),
            resource_type: resource_type.into(),
            replacement: None,
            properties: Vec::new(),
            replaces_state: false,
            nested: Vec::new(),
            nested_unknown: None,
        }
    }
}

impl LayerPlan {
    pub fn has_changes(&self) -> bool {
        self.action != Action::NoChanges
    }

    /// This plan, found to change nothing.
    pub fn unchanged(mut self) -> LayerPlan {
        self.action = Action::NoChanges;
        self.parameters.clear();
        self.tags.clear();
        self.change_set = None;
        self
    }
}

/// The tag that records, per secret parameter, a fingerprint of the *version* of its source (an SSM
/// parameter version, a Secrets Manager version id), never of the value.
pub const SECRET_VERSIONS_TAG: &str = "stackc:secret-versions";

/// `Param=fp;Param=fp` from the tag.
pub fn secret_versions(tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    tags.get(SECRET_VERSIONS_TAG)
        .map(|v| {
            v.split(';').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
        })
        .unwrap_or_default()
}

/// Whether a secret changed, as far as can be told without looking at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretState {
    Unchanged,
    Changed,
    Unknown,
}

pub fn secret_state(old_tags: Option<&BTreeMap<String, String>>, name: &str, fingerprint: Option<&str>) -> SecretState {
    let old = old_tags.map(secret_versions).unwrap_or_default();
    match (old.get(name), fingerprint) {
        (Some(a), Some(b)) if a == b => SecretState::Unchanged,
        (Some(_), Some(_)) => SecretState::Changed,
        _ => SecretState::Unknown,
    }
}

/// Parameter differences between a deployed stack and what would be deployed. Secrets are never shown.
/// `defaults` are the template's parameter defaults: a deployed value that is the default is no change.
pub fn parameter_changes(
    old: Option<&BTreeMap<String, String>>,
    new: &[(String, String, bool)],
    defaults: &BTreeMap<String, String>,
) -> Vec<ParamChange> {
    let mut out = Vec::new();
    for (name, value, secret) in new {
        let before = old.and_then(|o| o.get(name)).cloned();
        if *secret {
            let shown = Some("(secret)".to_string());
            if before.is_none() {
                out.push(ParamChange { name: name.clone(), old: None, new: shown, secret: true });
            }
            // A deployed NoEcho value reads back as **** and cannot be compared.
            continue;
        }
        if before.as_deref() != Some(value.as_str()) {
            out.push(ParamChange { name: name.clone(), old: before, new: Some(value.clone()), secret: false });
        }
    }
    for (name, default) in defaults {
        if new.iter().any(|(n, _, _)| n == name) {
            continue;
        }
        match old.and_then(|o| o.get(name)) {
            Some(before) if before == default => {}
            before => out.push(ParamChange {
                name: name.clone(),
                old: before.cloned(),
                new: Some(default.clone()),
                secret: false,
            }),
        }
    }
    if let Some(old) = old {
        for (name, value) in old {
            if !new.iter().any(|(n, _, _)| n == name) && !defaults.contains_key(name) {
                out.push(ParamChange { name: name.clone(), old: Some(value.clone()), new: None, secret: false });
            }
        }
    }
    out
}

pub fn tag_changes(old: Option<&BTreeMap<String, String>>, new: &BTreeMap<String, String>) -> Vec<TagChange> {
    let empty = BTreeMap::new();
    let old = old.unwrap_or(&empty);
    let mut out = Vec::new();
    for (k, v) in new {
        if old.get(k) != Some(v) {
            out.push(TagChange { key: k.clone(), old: old.get(k).cloned(), new: Some(v.clone()) });
        }
    }
    for (k, v) in old {
        if !new.contains_key(k) {
            out.push(TagChange { key: k.clone(), old: Some(v.clone()), new: None });
        }
    }
    out
}

/// Why a deployed stack differs from the project, in the words `plan` and `status` share; empty when
/// nothing the caller could compare differs.
pub fn reasons(
    template_changed: bool,
    parameters: &[ParamChange],
    tags: &[TagChange],
    waiting_for: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    if !waiting_for.is_empty() {
        out.push(format!("waits for {}", waiting_for.join(", ")));
    }
    if template_changed {
        out.push("template".to_string());
    }
    let names: Vec<&str> = parameters.iter().map(|c| c.name.as_str()).collect();
    if !names.is_empty() {
        out.push(format!("{} {}", text::plural(names.len(), "parameter"), names.join(", ")));
    }
    let keys: Vec<&str> = tags.iter().map(|t| t.key.as_str()).collect();
    if !keys.is_empty() {
        out.push(format!("{} {}", text::plural(keys.len(), "tag"), keys.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plan that modifies the layer's Database (replacing it as `repl` says; `stateful`: a replacement
    /// that loses data) and changes one parameter.
    fn db_plan(layer: &str, action: Action, repl: Option<&str>, stateful: bool, param: ParamChange) -> LayerPlan {
        LayerPlan {
            layer: layer.into(),
            stack_name: format!("app-qa-{layer}"),
            action,
            changes: vec![Change {
                action: "Modify".into(),
                logical_id: "Database".into(),
                resource_type: "AWS::RDS::DBInstance".into(),
                replacement: repl.map(str::to_string),
                properties: vec![],
                replaces_state: stateful,
                nested: vec![],
                nested_unknown: None,
            }],
            parameters: vec![param],
            tags: vec![],
            waiting_for: vec![],
            template_changed: false,
            stack_set: false,
            change_set: None,
            existing: None,
            digest: String::new(),
        }
    }

    #[test]
    fn markdown_for_a_pull_request() {
        let lp = |layer: &str, action: Action, repl: Option<&str>| {
            let secret = ParamChange {
                name: "Pw".into(),
                old: Some("(secret)".into()),
                new: Some("changed".into()),
                secret: true,
            };
            db_plan(layer, action, repl, false, secret)
        };
        let mut same = lp("net", Action::NoChanges, None);
        same.changes.clear();
        let md = to_markdown("qa", &[lp("db", Action::Update, Some("True")), same]);
        assert!(
            md.starts_with("### stackc plan for `qa`\n\n0 to create, 1 to update, 0 to recreate, 1 unchanged\n"),
            "{md}"
        );
        assert!(md.contains("| db | `app-qa-db` | update | 1 | **1** |"), "{md}");
        assert!(md.contains("| net | `app-qa-net` | no changes | 0 | 0 |"), "{md}");
        assert!(md.contains("<summary><code>db</code> (app-qa-db)</summary>"));
        assert!(md.contains("~ Database                         AWS::RDS::DBInstance  REPLACEMENT"), "{md}");
        assert!(md.contains("~ Pw: (secret, masked) changed"), "{md}");
        assert!(!md.contains("<code>net</code>"), "unchanged layers get no details");
    }

    #[test]
    fn parameter_changes_mask_secrets_and_find_changes() {
        let old = BTreeMap::from([
            ("A".to_string(), "1".to_string()),
            ("Gone".to_string(), "x".to_string()),
            ("Pw".to_string(), "****".to_string()),
        ]);
        let new = vec![
            ("A".to_string(), "2".to_string(), false),
            ("New".to_string(), "n".to_string(), false),
            ("Pw".to_string(), "<secret from keyring:s/a>".to_string(), true),
        ];
        let defaults = BTreeMap::from([("Port".to_string(), "5432".to_string())]);
        let mut old = old;
        old.insert("Port".into(), "5432".into());
        let c = parameter_changes(Some(&old), &new, &defaults);
        assert_eq!(c.len(), 3, "a deployed default is no change: {c:?}");
        assert_eq!(c[0], ParamChange { name: "A".into(), old: Some("1".into()), new: Some("2".into()), secret: false });
        assert_eq!(c[1].name, "New");
        assert_eq!(c[2], ParamChange { name: "Gone".into(), old: Some("x".into()), new: None, secret: false });
        old.insert("Port".into(), "6543".into());
        let c = parameter_changes(Some(&old), &new, &defaults);
        assert!(
            c.contains(&ParamChange {
                name: "Port".into(),
                old: Some("6543".into()),
                new: Some("5432".into()),
                secret: false
            }),
            "{c:?}"
        );
        let first = parameter_changes(None, &new, &BTreeMap::new());
        let pw = first.iter().find(|p| p.name == "Pw").unwrap();
        assert_eq!(pw.new.as_deref(), Some("(secret)"));
    }

    #[test]
    fn text_marks_replacements() {
        let class =
            ParamChange { name: "InstanceClass".into(), old: Some("a".into()), new: Some("b".into()), secret: false };
        let p = db_plan("db", Action::Update, Some("True"), true, class);
        let t = to_text("qa", &[p]);
        assert!(t.contains("~ Database") && t.contains("REPLACEMENT"), "{t}");
        assert!(t.contains("~ InstanceClass: a -> b"));
        assert!(t.contains("0 to create, 1 to update"));
    }

    #[test]
    fn many_stack_set_instances_of_one_kind_are_one_line() {
        let instance = |action: &str, i: usize, what: &str| Change {
            action: action.into(),
            logical_id: format!("{:012}/eu-west-1", i),
            resource_type: what.into(),
            replacement: None,
            properties: vec![],
            replaces_state: false,
            nested: vec![],
            nested_unknown: None,
        };
        let mut changes: Vec<Change> = (0..40).map(|i| instance("Modify", i, "stack instance")).collect();
        changes.push(instance("Add", 99, "stack instance (new)"));
        let p = LayerPlan {
            layer: "guard".into(),
            stack_name: "app-qa-guard".into(),
            action: Action::Update,
            changes,
            parameters: vec![],
            tags: vec![],
            waiting_for: vec![],
            template_changed: true,
            stack_set: true,
            change_set: None,
            existing: None,
            digest: String::new(),
        };
        let text = to_text("qa", &[p]);
        assert!(
            text.contains("  ~ 40 x stack instance: 000000000000/eu-west-1, 000000000001/eu-west-1, 000000000002/eu-west-1, ... and 37 more"),
            "{text}"
        );
        assert!(text.contains("  + 000000000099/eu-west-1"), "a short group is listed: {text}");
        assert!(!text.contains("000000000039"), "{text}");
    }

    #[test]
    fn reasons_name_what_differs() {
        assert!(reasons(false, &[], &[], &[]).is_empty());
        let p = |n: &str| ParamChange { name: n.into(), old: Some("a".into()), new: Some("b".into()), secret: false };
        let t = TagChange { key: "Owner".into(), old: None, new: Some("x".into()) };
        assert_eq!(
            reasons(true, &[p("A"), p("B")], &[t], &["networking".into()]),
            vec!["waits for networking", "template", "parameters A, B", "tag Owner"]
        );
        assert_eq!(reasons(false, &[p("A")], &[], &[]), vec!["parameter A"]);
    }
}
