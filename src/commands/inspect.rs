//! Reading what is deployed: `status`, `outputs`, `diff` and `drift`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::json;

use super::session::Session;
use super::{print, printer};
use crate::cfn::events::{Event, History, Window};
use crate::cfn::port::{CloudFormation, StackInfo, StackInstance, StackSets};
use crate::cfn::stack_state::{self, StackState};
use crate::cfn::template::Template;
use crate::cli::Output;
use crate::deploy::layer::Prepared;
use crate::deploy::plan::{self};
use crate::diagnostic::{Diagnostic, Error, ExitKind, Result};
use crate::diff;
use crate::drift;
use crate::drift::Waits;
use crate::secret;
use crate::text::{self, count};

/// What differs between a deployed stack and the project without reading any secret: the normalised
/// template, the parameters that are not secret, the tags (but the secret-version tag) and missing
/// dependencies. `status` and `diff` use it; `plan` decides with the same `plan::reasons`.
struct Comparison {
    template: Vec<diff::Line>,
    parameters: Vec<plan::ParamChange>,
    tags: Vec<plan::TagChange>,
    waiting_for: Vec<String>,
    secrets: Vec<String>,
}

impl Comparison {
    fn of(s: &Session, info: &StackInfo, p: &Prepared) -> std::result::Result<Comparison, String> {
        let deployed = if stack_state::is_stack_set(info) {
            s.cfn
                .describe_stack_set(&p.stack_name)
                .map_err(|e| e.to_string())?
                .map(|x| x.template_body)
                .unwrap_or_default()
        } else {
            s.cfn.get_template(&p.stack_name).map_err(|e| e.to_string())?
        };
        let shown: Vec<(String, String, bool)> =
            p.parameters.iter().map(|x| (x.name.clone(), x.shown.clone(), x.secret)).collect();
        let parameters = plan::parameter_changes(Some(&info.parameters), &shown, &p.defaults)
            .into_iter()
            .filter(|c| !c.secret)
            .collect();
        let without_versions = |t: &BTreeMap<String, String>| -> BTreeMap<String, String> {
            t.iter().filter(|(k, _)| *k != plan::SECRET_VERSIONS_TAG).map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        let tags = plan::tag_changes(Some(&without_versions(&info.tags)), &without_versions(&p.tags));
        Ok(Comparison {
            template: diff::templates(&deployed, &p.template_body),
            parameters,
            tags,
            waiting_for: p.waiting_for.clone(),
            secrets: p.parameters.iter().filter(|x| x.secret).map(|x| x.name.clone()).collect(),
        })
    }

    fn reasons(&self) -> Vec<String> {
        plan::reasons(!self.template.is_empty(), &self.parameters, &self.tags, &self.waiting_for)
    }
}

/// For a stack whose last operation failed or rolled back: its root cause in one line.
fn failure_reason(s: &Session, stack: &str, status: &str) -> Option<String> {
    let failed = status.ends_with("ROLLBACK_COMPLETE") || status.ends_with("_FAILED");
    if !failed || stack_state::is_stack_set(&StackInfo { status: status.into(), ..Default::default() }) {
        return None;
    }
    let window = Window::LastOperation;
    let newest_first = s.cfn.stack_events(stack, &|e| window.reached(stack, e)).ok()?;
    let history = History {
        stack: stack.to_string(),
        nested_as: None,
        events: window.select(stack, &newest_first).into_iter().map(Event::from).collect(),
        nested: Vec::new(),
    };
    let c = history.root_cause()?;
    Some(format!("failed: {} ({}) {}: {}", c.logical_id, c.resource_type, c.status, c.reason))
}

/// The command that gets a stack in `status` going again, when only one does.
fn next_step(env: &str, layer: &str, status: &str) -> Option<String> {
    match stack_state::classify(Some(status), layer) {
        StackState::RollbackFailed => Some(format!(
            "the rollback failed too: fix the resource, then `stackc continue-rollback {env} {layer}` (or skip it: `--skip <LogicalId>`)"
        )),
        StackState::FailedCreate => {
            Some(format!("its first create failed: `stackc deploy {env} {layer} --recreate` deletes it and creates it anew"))
        }
        _ => None,
    }
}

/// What `status` found for one environment: rendered as text or JSON from this one value.
#[derive(Debug, Serialize)]
struct StatusReport {
    environment: String,
    layers: Vec<LayerStatus>,
}

/// One layer's stack as `status` saw it.
#[derive(Debug, Serialize)]
struct LayerStatus {
    layer: String,
    stack: String,
    /// The stack's status, or NOT_DEPLOYED.
    status: String,
    last_updated: Option<String>,
    /// None: not deployed, or could not be compared (`unknown_because`).
    in_sync: Option<bool>,
    /// What a deployed stack showed (None: not deployed, and then none of these keys is written).
    #[serde(flatten)]
    deployed: Option<Deployed>,
}

#[derive(Debug, Serialize)]
struct Deployed {
    /// Why a failed stack failed (its root cause), when it did.
    reason: Option<String>,
    /// The command that gets a stuck stack going again (a failed first create, a failed rollback).
    next: Option<String>,
    differs: Vec<String>,
    secrets_not_compared: Vec<String>,
    unknown_because: Option<String>,
    stack_set_instances: Option<Vec<InstanceStatus>>,
}

#[derive(Debug, Serialize)]
struct InstanceStatus {
    account: String,
    region: String,
    organizational_unit: Option<String>,
    status: String,
    detailed_status: Option<String>,
    reason: Option<String>,
}

pub fn status(s: &Session, output: Output) -> Result<()> {
    s.probe()?;
    let order = s.order(&[])?;
    let all: BTreeSet<String> = order.iter().cloned().collect();
    let stacks = s.describe(&all, 4)?;
    let deployed = Session::usable(&stacks);
    let mut layers = Vec::new();
    for layer in &order {
        layers.push(layer_status(s, layer, stacks.get(layer), &deployed)?);
    }
    let report = StatusReport { environment: s.env.name.clone(), layers };
    let with_reasons: Vec<String> = report.layers.iter().filter(|l| l.has_reason()).map(|l| l.layer.clone()).collect();
    if !with_reasons.is_empty() {
        s.scrub_reasons_of(&with_reasons);
    }
    match output {
        Output::Json => print(&(serde_json::to_string_pretty(&report).unwrap_or_default() + "\n")),
        Output::Text => print(&status_text(&report)),
    }
    Ok(())
}

impl LayerStatus {
    /// Whether the row shows a reason CloudFormation gave (a failure, an instance's status reason).
    fn has_reason(&self) -> bool {
        self.deployed
            .as_ref()
            .is_some_and(|d| d.reason.is_some() || d.stack_set_instances.iter().flatten().any(|i| i.reason.is_some()))
    }
}

/// One layer's row: its stack (if any), compared with what the project would deploy now.
fn layer_status(
    s: &Session,
    layer: &str,
    info: Option<&StackInfo>,
    deployed: &BTreeMap<String, StackInfo>,
) -> Result<LayerStatus> {
    let stack = s.stack_name(layer);
    let Some(info) = info else {
        return Ok(LayerStatus {
            layer: layer.to_string(),
            stack,
            status: "NOT_DEPLOYED".into(),
            last_updated: None,
            in_sync: None,
            deployed: None,
        });
    };
    let compared =
        s.prepare_public(layer, deployed).map_err(|e| e.to_string()).and_then(|p| Comparison::of(s, info, &p));
    let (in_sync, differs, unknown_because) = match &compared {
        Ok(c) => (Some(c.reasons().is_empty()), c.reasons(), None),
        Err(why) => (None, Vec::new(), Some(why.clone())),
    };
    let stack_set_instances = if stack_state::is_stack_set(info) {
        let found = s.cfn.stack_instances(&info.name).map_err(|e| Error::failed(Diagnostic::new(e.to_string())))?;
        let of = |i: &StackInstance| InstanceStatus {
            account: i.account.clone(),
            region: i.region.clone(),
            organizational_unit: i.organizational_unit.clone(),
            status: i.status.clone(),
            detailed_status: i.detailed.clone(),
            reason: i.reason.clone(),
        };
        Some(found.iter().map(of).collect())
    } else {
        None
    };
    let deployed = Deployed {
        reason: failure_reason(s, &stack, &info.status),
        next: next_step(&s.env.name, layer, &info.status),
        differs,
        secrets_not_compared: compared.map(|c| c.secrets).unwrap_or_default(),
        unknown_because,
        stack_set_instances,
    };
    Ok(LayerStatus {
        layer: layer.to_string(),
        stack,
        status: info.status.clone(),
        last_updated: info.last_updated.clone(),
        in_sync,
        deployed: Some(deployed),
    })
}

/// The status table: a row per layer, the reason of a failed one and stack set instances under it.
fn status_text(report: &StatusReport) -> String {
    let mut t = String::new();
    let mut table_rows = Vec::new();
    let mut under: Vec<Vec<String>> = Vec::new();
    for r in &report.layers {
        let d = r.deployed.as_ref();
        let sync = match (r.in_sync, d.and_then(|d| d.unknown_because.as_ref())) {
            (Some(true), _) => "in sync".to_string(),
            (Some(false), _) => {
                format!("differs from the project: {}", d.map(|d| d.differs.join("; ")).unwrap_or_default())
            }
            (None, Some(why)) => format!("not compared: {why}"),
            (None, None) => String::new(),
        };
        let last = r.last_updated.clone().unwrap_or_else(|| "-".into());
        table_rows.push(vec![r.layer.clone(), r.stack.clone(), r.status.clone(), last, sync]);
        let mut lines = Vec::new();
        if let Some(reason) = d.and_then(|d| d.reason.as_ref()) {
            lines.push(format!("  {reason} (`stackc events {}` shows every event)", report.environment));
        }
        if let Some(next) = d.and_then(|d| d.next.as_ref()) {
            lines.push(format!("  {next}"));
        }
        for i in d.and_then(|d| d.stack_set_instances.as_ref()).into_iter().flatten() {
            let reason = i.reason.as_deref().map(|x| format!("  {x}")).unwrap_or_default();
            lines.push(format!(
                "  instance {:<28} {:<10} {}{reason}",
                format!("{}/{}", i.account, i.region),
                i.status,
                i.detailed_status.as_deref().unwrap_or_default(),
            ));
        }
        under.push(lines);
    }
    for (line, lines) in text::table(&table_rows).lines().zip(&under) {
        t.push_str(line);
        t.push('\n');
        for l in lines {
            t.push_str(l);
            t.push('\n');
        }
    }
    let secrets: Vec<String> = report
        .layers
        .iter()
        .flat_map(|r| r.deployed.iter().flat_map(|d| &d.secrets_not_compared).map(move |x| format!("{}.{x}", r.layer)))
        .collect();
    if !secrets.is_empty() {
        t.push_str(&format!(
            "secret parameters are not read by status (`stackc plan` compares their versions): {}\n",
            secrets.join(", ")
        ));
    }
    t
}

pub fn outputs(s: &Session, layer: Option<&str>, output: Output) -> Result<()> {
    s.probe()?;
    let order = match layer {
        Some(l) => s.order(&[l.to_string()])?,
        None => s.order(&[])?,
    };
    let all: BTreeSet<String> = order.iter().cloned().collect();
    let stacks = s.describe(&all, 4)?;
    if layer.is_some() && stacks.is_empty() {
        return Err(Error::failed(Diagnostic::new(format!(
            "layer `{}` is not deployed in `{}`",
            order[0], s.env.name
        ))));
    }
    // An output that carries a NoEcho parameter would show a secret: masked, with a note.
    let mut masked_notes = Vec::new();
    let by_layer: BTreeMap<&String, BTreeMap<String, String>> = order
        .iter()
        .filter_map(|l| stacks.get(l).map(|i| (l, i)))
        .map(|(l, info)| {
            let mut outs = info.outputs.clone();
            let exposing = s
                .cfn
                .get_template(&info.name)
                .ok()
                .and_then(|t| Template::parse(&t).ok())
                .map(|t| t.outputs_exposing_no_echo())
                .unwrap_or_default();
            for (output, parameter) in exposing {
                if let Some(v) = outs.get_mut(&output) {
                    *v = secret::REDACTED.to_string();
                    masked_notes.push(format!("{l}.{output} (it carries the NoEcho parameter `{parameter}`)"));
                }
            }
            (l, outs)
        })
        .collect();
    if !masked_notes.is_empty() {
        printer()
            .note(&format!("masked {}; remove such outputs (`stackc validate` refuses them)", masked_notes.join(", ")));
    }
    match output {
        Output::Json => {
            let v = if let Some(l) = layer { json!(by_layer.get(&l.to_string())) } else { json!(by_layer) };
            print(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"));
        }
        Output::Text => {
            let mut t = String::new();
            for (l, outs) in by_layer {
                for (k, v) in outs {
                    t.push_str(&format!("{l:<12} {k:<28} {}\n", s.redact(&v)));
                }
            }
            print(&t);
        }
    }
    Ok(())
}

/// One layer as `diff` found it: not deployed, or compared with its stack (and its nested stacks'
/// templates, by logical id).
struct LayerDiff {
    layer: String,
    stack: String,
    compared: Option<(Comparison, Vec<(String, Vec<diff::Line>)>)>,
}

impl LayerDiff {
    fn differs(&self) -> bool {
        self.compared.as_ref().is_none_or(|(c, nested)| !c.reasons().is_empty() || !nested.is_empty())
    }

    fn to_text(&self) -> String {
        let (layer, stack) = (&self.layer, &self.stack);
        match &self.compared {
            None => format!("{layer} ({stack}): not deployed; it would be created\n"),
            Some(_) if !self.differs() => format!("{layer} ({stack}): no differences\n"),
            Some((c, nested)) => comparison_text(layer, stack, c, nested),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        let Some((c, nested)) = &self.compared else {
            return json!({"layer": self.layer, "stack": self.stack, "deployed": false, "differs": ["not deployed"]});
        };
        json!({
            "nested_stacks": nested.iter().map(|(id, lines)| json!({"logical_id": id, "template": diff::to_text(lines, 2)})).collect::<Vec<_>>(),
            "layer": self.layer,
            "stack": self.stack,
            "deployed": true,
            "differs": c.reasons(),
            "template": diff::to_text(&c.template, 2),
            "parameters": c.parameters.iter().map(|x| json!({"name": x.name, "deployed": x.old, "project": x.new})).collect::<Vec<_>>(),
            "tags": c.tags.iter().map(|t| json!({"key": t.key, "deployed": t.old, "project": t.new})).collect::<Vec<_>>(),
        })
    }
}

/// Prints what differs; exits 1 when anything does (a layer not deployed counts), like `git diff --exit-code`.
pub fn diff_cmd(s: &Session, layers: &[String], output: Output) -> Result<()> {
    s.probe()?;
    let order = s.order(layers)?;
    let closure = s.graph.closure(&order);
    let stacks = s.describe(&closure, 4)?;
    let deployed = Session::usable(&stacks);
    // Every value that is not secret must resolve (all problems at once); secrets are not fetched.
    s.build_public(&order)?;
    let mut secret_params = Vec::new();
    let mut found = Vec::new();
    for layer in &order {
        let stack = s.stack_name(layer);
        let p = s
            .prepare_public(layer, &deployed)
            .map_err(|e| Error::failed(Diagnostic::new(format!("layer `{layer}`: {e}"))))?;
        secret_params.extend(p.parameters.iter().filter(|x| x.secret).map(|x| format!("{layer}.{}", x.name)));
        let compared = match stacks.get(layer) {
            None => None,
            Some(info) => {
                let c = Comparison::of(s, info, &p).map_err(|m| Error::failed(Diagnostic::new(m)))?;
                Some((c, nested_diffs(s, layer, &stack, &deployed)?))
            }
        };
        found.push(LayerDiff { layer: layer.clone(), stack, compared });
    }
    let differing = found.iter().filter(|d| d.differs()).count();
    match output {
        Output::Text => {
            let mut text: String = found.iter().map(LayerDiff::to_text).collect();
            if !secret_params.is_empty() {
                text.push_str(&format!(
                    "secret parameters are masked and not compared: {}\n",
                    secret_params.join(", ")
                ));
            }
            printer().changes(&text)
        }
        Output::Json => print(
            &(serde_json::to_string_pretty(&json!({
                "environment": s.env.name,
                "differs": differing > 0,
                "layers": found.iter().map(LayerDiff::to_json).collect::<Vec<_>>(),
                "secrets_not_compared": secret_params,
            }))
            .unwrap_or_default()
                + "\n"),
        ),
    }
    if differing > 0 {
        return Err(Error { kind: ExitKind::Differs, diagnostics: Vec::new() });
    }
    Ok(())
}

/// `  what:` and a `~ name: old -> new` line per change (nothing when there is none).
fn changed_lines<'a>(
    text: &mut String,
    what: &str,
    changes: impl Iterator<Item = (&'a str, &'a Option<String>, &'a Option<String>)>,
) {
    let mut changes = changes.peekable();
    if changes.peek().is_some() {
        text.push_str(&format!("  {what}:\n"));
    }
    for (name, old, new) in changes {
        let (old, new) = (old.as_deref().unwrap_or("(none)"), new.as_deref().unwrap_or("(removed)"));
        text.push_str(&format!("    ~ {name}: {old} -> {new}\n"));
    }
}

/// One differing layer's part of `diff`: template, nested stacks' templates, parameters, tags.
fn comparison_text(layer: &str, stack: &str, c: &Comparison, nested: &[(String, Vec<diff::Line>)]) -> String {
    let mut text = String::new();
    text.push_str(&format!("{layer} ({stack}):\n"));
    if !c.waiting_for.is_empty() {
        text.push_str(&format!(
            "  waits for {} (not deployed): their outputs are placeholders\n",
            c.waiting_for.join(", ")
        ));
    }
    if !c.template.is_empty() {
        text.push_str("  template:\n");
        for l in diff::to_text(&c.template, 2).lines() {
            text.push_str(&format!("    {l}\n"));
        }
    }
    for (id, lines) in nested {
        text.push_str(&format!("  nested stack {id}, template:\n"));
        for l in diff::to_text(lines, 2).lines() {
            text.push_str(&format!("    {l}\n"));
        }
    }
    let params = c.parameters.iter().map(|x| (x.name.as_str(), &x.old, &x.new));
    changed_lines(&mut text, "parameters", params);
    changed_lines(&mut text, "tags", c.tags.iter().map(|x| (x.key.as_str(), &x.old, &x.new)));
    text
}

/// Each nested stack of `layer` whose deployed template differs from the project's: (logical id, diff).
fn nested_diffs(
    s: &Session,
    layer: &str,
    stack: &str,
    deployed: &BTreeMap<String, StackInfo>,
) -> Result<Vec<(String, Vec<diff::Line>)>> {
    let failed = |m: String| Error::failed(Diagnostic::new(format!("layer `{layer}`: {m}")));
    let children = s.nested_templates_public(layer, deployed).map_err(|e| failed(e.to_string()))?;
    let mut out = Vec::new();
    for (id, body) in children {
        let Some(physical) = s.cfn.physical_id(stack, &id).map_err(|e| failed(e.to_string()))? else {
            out.push((id, diff::templates("", &body)));
            continue;
        };
        let live = s.cfn.get_template(&physical).map_err(|e| failed(e.to_string()))?;
        let lines = diff::templates(&live, &body);
        if !lines.is_empty() {
            out.push((id, lines));
        }
    }
    Ok(out)
}

/// Drift detection on the selected layers' stacks; exits 1 when any drifted or could not be checked (an error
/// names those).
pub fn drift(s: &Session, layers: &[String], output: Output) -> Result<()> {
    s.probe()?;
    let order = s.order(layers)?;
    let all: BTreeSet<String> = order.iter().cloned().collect();
    let stacks = s.describe(&all, 4)?;
    let selected: Vec<(String, String, Option<StackInfo>)> =
        order.iter().map(|l| (l.clone(), s.stack_name(l), stacks.get(l).cloned())).collect();
    if output == Output::Text {
        printer().line(&format!("detecting drift in {} ...", count(stacks.len(), "stack")));
    }
    let found = drift::detect(&s.cfn, &selected, Waits::default());
    match output {
        Output::Text => printer().changes(&drift::to_text(&s.env.name, &found)),
        Output::Json => printer().json(&drift::to_json(&s.env.name, &found)),
    }
    let failed: Vec<String> = found.iter().filter(|l| l.failed()).map(|l| format!("layer `{}`", l.layer)).collect();
    if !failed.is_empty() {
        return Err(Error::failed(Diagnostic::new(format!(
            "drift could not be fully checked for {}; see above",
            failed.join(", ")
        ))));
    }
    if found.iter().any(|l| l.drifted()) {
        return Err(Error { kind: ExitKind::Differs, diagnostics: Vec::new() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stuck_stack_shows_the_command_that_gets_it_going() {
        let row = |status: &str| LayerStatus {
            layer: "db".into(),
            stack: "app-qa-db".into(),
            status: status.into(),
            last_updated: None,
            in_sync: None,
            deployed: Some(Deployed {
                reason: Some("failed: Db (AWS::RDS::DBInstance) UPDATE_FAILED: storage full".into()),
                next: next_step("qa", "db", status),
                differs: Vec::new(),
                secrets_not_compared: Vec::new(),
                unknown_because: None,
                stack_set_instances: None,
            }),
        };
        let report = StatusReport { environment: "qa".into(), layers: vec![row("UPDATE_ROLLBACK_FAILED")] };
        let text = status_text(&report);
        assert!(
            text.contains("  the rollback failed too: fix the resource, then `stackc continue-rollback qa db`"),
            "{text}"
        );
        let json = serde_json::to_value(&report).unwrap();
        assert!(json["layers"][0]["next"].as_str().unwrap().contains("continue-rollback qa db"), "{json}");
        assert!(next_step("qa", "db", "ROLLBACK_COMPLETE").unwrap().contains("stackc deploy qa db --recreate"));
        assert_eq!(next_step("qa", "db", "UPDATE_COMPLETE"), None);
    }
}
