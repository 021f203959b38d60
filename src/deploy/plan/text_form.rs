//! A plan as a person reads it: text for the terminal (signs, replacement warnings, a stack set's many
//! instances summarised) and markdown for a pull request.

use super::{Action, Change, LayerPlan};
use crate::deploy::changes::to_lines;

/// Up to this many stack set instances of one kind are listed one per line; more are summarised.
const STACK_SET_LINES: usize = 12;

/// The whole plan as text, layers in the given order.
pub fn to_text(env: &str, plans: &[LayerPlan]) -> String {
    let mut s = String::new();
    let count = |a: Action| plans.iter().filter(|p| p.action == a).count();
    for p in plans {
        layer_text(&mut s, p);
    }
    s.push_str(&format!(
        "plan for {env}: {} to create, {} to update, {} to recreate, {} unchanged\n",
        count(Action::Create),
        count(Action::Update),
        count(Action::Recreate),
        count(Action::NoChanges)
    ));
    s
}

fn sign_of(action: &str) -> &'static str {
    match action {
        "Add" => "+",
        "Remove" => "-",
        "Modify" => "~",
        _ => "*",
    }
}

/// One layer's part of the plan: what happens to its stack, then its resources, parameters and tags.
fn layer_text(s: &mut String, p: &LayerPlan) {
    let action = match p.action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Recreate => "recreate (delete the failed stack, then create)",
        Action::NoChanges => "no changes",
    };
    let kind = if p.stack_set { " stack set" } else { "" };
    s.push_str(&format!("{} ({}):{kind} {action}\n", p.layer, p.stack_name));
    if p.stack_set && p.template_changed {
        s.push_str("  template: changes; every instance is updated\n");
    }
    if !p.waiting_for.is_empty() {
        s.push_str(&format!(
            "  planned from the template: {} not deployed yet, their outputs are shown as placeholders\n",
            p.waiting_for.join(", ")
        ));
    }
    if p.template_changed && p.changes.is_empty() && p.action == Action::Update && !p.stack_set {
        s.push_str("  template: changes outside resources (outputs, conditions, metadata or description)\n");
    }
    let summarised = if p.stack_set { summarise_instances(s, &p.changes) } else { Default::default() };
    for c in p.changes.iter().filter(|c| !summarised.contains(&(c.action.clone(), c.resource_type.clone()))) {
        let repl = match c.replacement.as_deref() {
            Some("True") => "  REPLACEMENT",
            Some("Conditional") => "  may need replacement",
            _ => "",
        };
        change_lines(s, "  ", sign_of(c.action.as_str()), repl, c);
    }
    parameters_and_tags_text(s, p);
}

/// A stack set's instances can number in the hundreds: more than a screenful of one kind is one line.
/// Returns the (action, type) pairs so summarised.
fn summarise_instances(s: &mut String, changes: &[Change]) -> std::collections::BTreeSet<(String, String)> {
    let mut summarised = std::collections::BTreeSet::new();
    let mut groups: Vec<((&str, &str), Vec<&str>)> = Vec::new();
    for c in changes {
        let key = (c.action.as_str(), c.resource_type.as_str());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(&c.logical_id),
            None => groups.push((key, vec![&c.logical_id])),
        }
    }
    for ((action, what), places) in groups.into_iter().filter(|(_, v)| v.len() > STACK_SET_LINES) {
        let first: Vec<&str> = places.iter().take(3).copied().collect();
        s.push_str(&format!(
            "  {} {} x {what}: {}, ... and {} more (`--output json` lists them all)\n",
            sign_of(action),
            places.len(),
            first.join(", "),
            places.len() - first.len()
        ));
        summarised.insert((action.to_string(), what.to_string()));
    }
    summarised
}

fn parameters_and_tags_text(s: &mut String, p: &LayerPlan) {
    if !p.parameters.is_empty() {
        s.push_str("  parameters:\n");
        for c in &p.parameters {
            match (&c.old, &c.new) {
                (None, Some(_)) if c.secret => s.push_str(&format!("    + {}: (secret, masked)\n", c.name)),
                (Some(_), Some(n)) if c.secret => s.push_str(&format!("    ~ {}: (secret, masked) {n}\n", c.name)),
                (None, Some(n)) => s.push_str(&format!("    + {}: {n}\n", c.name)),
                (Some(o), Some(n)) => s.push_str(&format!("    ~ {}: {o} -> {n}\n", c.name)),
                (Some(o), None) => s.push_str(&format!("    - {}: {o}\n", c.name)),
                (None, None) => {}
            }
        }
    }
    if !p.tags.is_empty() && p.action != Action::Create {
        s.push_str("  tags:\n");
        for t in &p.tags {
            match (&t.old, &t.new) {
                (None, Some(n)) => s.push_str(&format!("    + {}: {n}\n", t.key)),
                (Some(o), Some(n)) => s.push_str(&format!("    ~ {}: {o} -> {n}\n", t.key)),
                (Some(o), None) => s.push_str(&format!("    - {}: {o}\n", t.key)),
                (None, None) => {}
            }
        }
    }
}

/// One resource's line, its properties, a stateful replacement's warning and its nested stack's changes.
fn change_lines(s: &mut String, pad: &str, sign: &str, repl: &str, c: &Change) {
    s.push_str(&format!("{pad}{sign} {:<32} {}{repl}\n", c.logical_id, c.resource_type));
    for line in to_lines(&c.properties) {
        s.push_str(&format!("{pad}    {line}\n"));
    }
    if c.replaces_state {
        s.push_str(&format!(
            "{pad}    !! {} is replaced: the new {} starts empty and the old one is deleted with its data \
             (unless its DeletionPolicy/UpdateReplacePolicy keeps it)\n",
            c.logical_id, c.resource_type
        ));
    }
    if let Some(why) = &c.nested_unknown {
        s.push_str(&format!("{pad}    nested stack changes not known: {why}\n"));
    }
    if !c.nested.is_empty() {
        s.push_str(&format!("{pad}    nested stack {}:\n", c.logical_id));
    }
    for n in &c.nested {
        let sign = match n.action.as_str() {
            "Add" => "+",
            "Remove" => "-",
            "Modify" => "~",
            _ => "*",
        };
        let repl = match n.replacement.as_deref() {
            Some("True") => "  REPLACEMENT",
            Some("Conditional") => "  may need replacement",
            _ => "",
        };
        change_lines(s, &format!("{pad}      "), sign, repl, n);
    }
}

/// The plan as Markdown for a pull-request comment: a summary table, then per changed layer its
/// resource, parameter and tag changes (secrets masked, as in the text).
pub fn to_markdown(env: &str, plans: &[LayerPlan]) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let count = |a: Action| plans.iter().filter(|p| p.action == a).count();
    let mut s = format!(
        "### stackc plan for `{env}`\n\n{} to create, {} to update, {} to recreate, {} unchanged\n\n| layer | stack | action | resources | replacements |\n|---|---|---|---|---|\n",
        count(Action::Create),
        count(Action::Update),
        count(Action::Recreate),
        count(Action::NoChanges)
    );
    for p in plans {
        let action = match p.action {
            Action::Create => "create",
            Action::Update => "update",
            Action::Recreate => "recreate",
            Action::NoChanges => "no changes",
        };
        let replacements = p.changes.iter().filter(|c| c.replacement.as_deref() == Some("True")).count();
        s.push_str(&format!(
            "| {} | `{}` | {action} | {} | {} |\n",
            cell(&p.layer),
            cell(&p.stack_name),
            p.changes.len(),
            if replacements > 0 { format!("**{replacements}**") } else { "0".into() }
        ));
    }
    for p in plans.iter().filter(|p| p.has_changes()) {
        s.push_str(&format!("\n<details><summary><code>{}</code> ({})</summary>\n\n```diff\n", p.layer, p.stack_name));
        // The text plan's lines for the layer, as a diff block (+ added, - removed, ~ changed).
        let text = to_text(env, std::slice::from_ref(p));
        for line in text.lines().skip(1).filter(|l| !l.starts_with("plan for ")) {
            s.push_str(line.trim_start());
            s.push('\n');
        }
        s.push_str("```\n\n</details>\n");
    }
    s
}
