//! `plan` and `deploy`: plan every selected layer, show the plan, confirm, execute in dependency order.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use serde_json::json;

use super::approve::{self, require_confirmation_possible, Approval, LateApproval};
use super::progress::Progress;
use super::remove;
use super::session::Session;
use super::{print, printer};
use crate::assemble;
use crate::cfn::port::StackInfo;
use crate::cli::{DeployArgs, Output, PlanOutput};

use crate::deploy::driver::Driver;
use crate::deploy::engine::Engine;
use crate::deploy::layer::{Outcome, Prepared};
use crate::deploy::plan::{self, LayerPlan};
use crate::deploy::ports::Settings;
use crate::deploy::ports::{NoHooks, Preapproved};
use crate::diagnostic::{Diagnostic, Error, ExitKind, Result};
use crate::edge::{aws, signals};
use crate::text::count;

fn settings(args: &DeployArgs) -> Settings {
    Settings { concurrency: args.concurrency.max(1), recreate: args.recreate, ..Settings::default() }
}

/// `deploy --no-execute`: the change set kept for a layer, or why it has none.
fn print_kept(lp: &LayerPlan) {
    match &lp.change_set {
        Some(cs) => print(&format!("change set for {}: {cs}\n", lp.stack_name)),
        None if lp.stack_set && lp.has_changes() => print(&format!(
            "{}: a stack set has no change sets; `stackc deploy` applies the plan above\n",
            lp.stack_name
        )),
        None if lp.has_changes() => {
            print(&format!("{}: no change set yet (waits for {})\n", lp.stack_name, lp.waiting_for.join(", ")))
        }
        None => {}
    }
}

/// With `-v`: the CloudFormation calls made for each selected layer's stack.
fn report_calls(s: &Session, order: &[String]) {
    let calls = s.cfn.calls();
    let per: Vec<String> =
        order.iter().map(|l| format!("{l} {}", calls.get(&s.stack_name(l)).copied().unwrap_or(0))).collect();
    let total: usize = calls.values().sum();
    let throttled = aws::throttled();
    printer().detail(
        1,
        &format!(
            "CloudFormation calls per layer: {} ({total} in all; throttled {throttled} {}, each retried)",
            per.join(", "),
            if throttled == 1 { "time" } else { "times" }
        ),
    );
}

/// Plan the selected layers, given the stacks of the layers and their dependencies as they are now.
fn make_plan(
    s: &Session,
    engine: &Engine,
    order: &[String],
    stacks: &BTreeMap<String, StackInfo>,
) -> Result<Vec<(Prepared, LayerPlan)>> {
    s.run_builds(order, engine.driver.reporter)?;
    let offline = s.builds.preflight()?;
    let deployed = Session::usable(stacks);
    s.builds.resolve_upfront(order, &deployed)?;
    s.check_buckets(&offline, order)?;
    // The stacks were just described: planning does not describe them again.
    let known = order.iter().map(|l| (s.stack_name(l), stacks.get(l).cloned()));
    engine.described.lock().unwrap_or_else(|e| e.into_inner()).extend(known);
    let prepare = |layer: &str, known: &BTreeMap<String, StackInfo>| s.prepare(layer, known);
    let results = engine.plan_all(order, &deployed, &prepare);
    let mut plans = Vec::new();
    let mut errors = Vec::new();
    for layer in order {
        match results.get(layer) {
            Some(Ok(p)) => plans.push(p.clone()),
            Some(Err(e)) => errors.push(Diagnostic::new(format!("layer `{layer}`: {}", s.redact(&e.to_string())))),
            None => errors.push(Diagnostic::new(format!("layer `{layer}` was not planned"))),
        }
    }
    if !errors.is_empty() {
        for (_, lp) in &plans {
            engine.discard(lp);
        }
        return Err(Error { kind: ExitKind::Failed, diagnostics: errors });
    }
    Ok(plans)
}

fn plan_json(env: &str, plans: &[&LayerPlan]) -> serde_json::Value {
    json!({
        "environment": env,
        "changes_pending": plans.iter().any(|p| p.has_changes()),
        "layers": plans,
    })
}

pub fn plan(s: &Session, args: &DeployArgs, keep: bool, output: PlanOutput, detailed: bool) -> Result<()> {
    let never = AtomicBool::new(false);
    let on_signal = on_interrupt(s, &never, keep);
    signals::guarded(&on_signal, || plan_guarded(s, args, keep, output, detailed))
}

fn plan_guarded(s: &Session, args: &DeployArgs, keep: bool, output: PlanOutput, detailed: bool) -> Result<()> {
    s.check_account()?;
    let order = s.order(&args.layers)?;
    let progress = Progress::new();
    let engine = Engine::new(
        Driver { cfn: &s.cfn, reporter: &progress, settings: settings(args), run: &s.run },
        &NoHooks,
        &Preapproved,
    );
    let stacks = s.describe(&s.graph.closure(&order), args.concurrency)?;
    let plans = make_plan(s, &engine, &order, &stacks)?;
    progress.settle(false);
    let lps: Vec<&LayerPlan> = plans.iter().map(|(_, lp)| lp).collect();
    let owned: Vec<LayerPlan> = lps.iter().map(|lp| (*lp).clone()).collect();
    match output {
        PlanOutput::Json => {
            print(&(serde_json::to_string_pretty(&plan_json(&s.env.name, &lps)).unwrap_or_default() + "\n"))
        }
        PlanOutput::Text => printer().changes(&plan::to_text(&s.env.name, &owned)),
        PlanOutput::Markdown => print(&plan::to_markdown(&s.env.name, &owned)),
    }
    for (_, lp) in &plans {
        if keep {
            if let Some(cs) = &lp.change_set {
                printer().line(&format!("kept change set {cs} for {}", lp.stack_name));
            }
        } else {
            engine.discard(lp);
        }
    }
    report_calls(s, &order);
    if detailed && lps.iter().any(|p| p.has_changes()) {
        return Err(Error { kind: ExitKind::ChangesPending, diagnostics: Vec::new() });
    }
    Ok(())
}

/// Dependencies outside the selection must be deployed.
fn check_dependencies(s: &Session, order: &[String], stacks: &BTreeMap<String, StackInfo>) -> Result<()> {
    let selected: BTreeSet<&String> = order.iter().collect();
    let usable = Session::usable(stacks);
    let mut errors = Vec::new();
    for layer in order {
        for dep in s.graph.deps.get(layer).into_iter().flatten() {
            if !selected.contains(dep) && !usable.contains_key(dep) {
                let state = stacks
                    .get(dep)
                    .map(|i| format!("its stack `{}` is {}", i.name, i.status))
                    .unwrap_or_else(|| format!("there is no stack `{}`", s.stack_name(dep)));
                errors.push(
                    Diagnostic::new(format!(
                        "layer `{layer}` depends on `{dep}`, which is not deployed in `{}` ({state})",
                        s.env.name
                    ))
                    .hint(format!(
                        "deploy it first (`stackc deploy {} {dep}`) or include it: `stackc deploy {} {dep} {}`",
                        s.env.name,
                        s.env.name,
                        order.join(" ")
                    )),
                );
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::configs(errors))
    }
}

/// What Ctrl-C means during a plan or deploy: before anything executes, delete the change sets this run
/// made and stop (exit 130); while layers execute, start no other layer (and a second Ctrl-C stops
/// following the ones CloudFormation is running).
fn on_interrupt<'a>(s: &'a Session, executing: &'a AtomicBool, keep: bool) -> impl Fn(usize) + Sync + 'a {
    move |n: usize| {
        if !executing.load(Ordering::SeqCst) {
            if !keep {
                printer()
                    .line("\ninterrupted: deleting the change sets this run made (and waiting for those being made)");
            }
            let deleted = if keep { 0 } else { s.run.discard_open(&s.cfn) };
            printer().line(&format!(
                "interrupted: nothing was executed{}",
                if keep {
                    String::new()
                } else {
                    format!("; deleted the {} this run made", count(deleted, "change set"))
                }
            ));
            std::process::exit(130);
        }
        if n == 1 {
            s.run.interrupt();
            printer().line(&format!(
                "\ninterrupted: the layers already running go on in CloudFormation and no other layer starts; Ctrl-C again \
                 to stop following them (`stackc status {}` shows where they are)",
                s.env.name
            ));
        } else {
            printer().line(&format!(
                "\nstopped following; CloudFormation goes on with the layers in progress: `stackc status {}` shows where they are",
                s.env.name
            ));
            std::process::exit(130);
        }
    }
}

pub fn deploy(s: &Session, args: &DeployArgs, approval: &Approval, no_execute: bool, output: Output) -> Result<()> {
    let executing = AtomicBool::new(false);
    let on_signal = on_interrupt(s, &executing, false);
    signals::guarded(&on_signal, || deploy_guarded(s, args, approval, no_execute, output, &executing))
}

fn deploy_guarded(
    s: &Session,
    args: &DeployArgs,
    approval: &Approval,
    no_execute: bool,
    output: Output,
    executing: &AtomicBool,
) -> Result<()> {
    if !no_execute {
        require_confirmation_possible(s, approval.yes, "deploy to")?;
    }
    s.check_account()?;
    let order = s.order(&args.layers)?;
    let progress = Progress::new();
    let (stack_name, redact) = (|l: &str| s.stack_name(l), |t: &str| s.redact(t));
    let hooks = s.hooks(&progress, &stack_name, &redact);
    let late = LateApproval { session: s, approval, asking: Mutex::new(()) };
    let engine =
        Engine::new(Driver { cfn: &s.cfn, reporter: &progress, settings: settings(args), run: &s.run }, &hooks, &late);
    let closure = s.graph.closure(&order);
    let stacks = s.describe(&closure, args.concurrency)?;
    check_dependencies(s, &order, &stacks)?;
    let plans = make_plan(s, &engine, &order, &stacks)?;
    progress.settle(false);
    let lps: Vec<LayerPlan> = plans.iter().map(|(_, lp)| lp.clone()).collect();
    // With --output json the plan is for the person watching (stderr); stdout carries the result.
    match output {
        Output::Text => printer().changes(&plan::to_text(&s.env.name, &lps)),
        Output::Json => printer().line(plan::to_text(&s.env.name, &lps).trim_end()),
    }
    let after_hooks = order.iter().any(|l| !s.project.layers[l].hooks.after_deploy.is_empty());
    if !lps.iter().any(|p| p.has_changes()) {
        if output == Output::Text {
            print(&format!("environment `{}` is up to date\n", s.env.name));
        }
        if !after_hooks || no_execute {
            report_calls(s, &order);
            if output == Output::Json {
                let up: BTreeMap<String, Outcome> =
                    lps.iter().map(|lp| (lp.layer.clone(), Outcome::UpToDate(StackInfo::default()))).collect();
                return report_outcomes(s, &order, &up, output);
            }
            return Ok(());
        }
    }
    if no_execute && output == Output::Json {
        let refs: Vec<&LayerPlan> = lps.iter().collect();
        print(&(serde_json::to_string_pretty(&plan_json(&s.env.name, &refs)).unwrap_or_default() + "\n"));
        return Ok(());
    }
    if no_execute {
        lps.iter().for_each(print_kept);
        return Ok(());
    }
    if !approve::deploy(s, &lps, approval)? {
        for lp in &lps {
            engine.discard(lp);
        }
        return Err(Error::failed(Diagnostic::new("deploy cancelled; nothing was executed")));
    }
    remove::record_regions(s, &order);
    let planned: BTreeMap<String, (Prepared, LayerPlan)> =
        plans.into_iter().map(|(p, lp)| (p.layer.clone(), (p, lp))).collect();
    let deployed = Session::usable(&stacks);
    let prepare = |layer: &str, known: &BTreeMap<String, StackInfo>| s.prepare(layer, known);
    executing.store(true, Ordering::SeqCst);
    let outcomes = engine.execute_all(&order, &s.graph.deps, planned, deployed, &prepare);
    progress.settle(true);
    report_calls(s, &order);
    report_outcomes(s, &order, &outcomes, output)
}

/// How a run ended, per selected layer: rendered as text or JSON from this one value.
#[derive(Debug, serde::Serialize)]
struct RunReport {
    environment: String,
    ok: bool,
    layers: Vec<LayerEnd>,
}

#[derive(Debug, serde::Serialize)]
struct LayerEnd {
    layer: String,
    stack: String,
    /// deployed, up_to_date, pending, failed or skipped.
    outcome: &'static str,
    /// The stack's status after a deploy.
    status: Option<String>,
    /// The change set left pending, the failure (scrubbed), or why the layer was skipped.
    message: Option<String>,
}

impl RunReport {
    fn of(s: &Session, order: &[String], outcomes: &BTreeMap<String, Outcome>) -> RunReport {
        let layers: Vec<LayerEnd> = order
            .iter()
            .filter_map(|layer| {
                let (outcome, status, message) = match outcomes.get(layer)? {
                    Outcome::Deployed(i) => ("deployed", Some(i.status.clone()), None),
                    Outcome::UpToDate(_) => ("up_to_date", None, None),
                    Outcome::Pending(cs) => ("pending", None, Some(cs.clone())),
                    Outcome::Failed(m) => ("failed", None, Some(s.redact(m))),
                    Outcome::Skipped(why) => ("skipped", None, Some(why.clone())),
                };
                Some(LayerEnd { layer: layer.clone(), stack: s.stack_name(layer), outcome, status, message })
            })
            .collect();
        let ok = !layers.iter().any(|l| matches!(l.outcome, "failed" | "skipped"));
        RunReport { environment: s.env.name.clone(), ok, layers }
    }

    fn to_text(&self) -> String {
        let mut text = String::new();
        for l in &self.layers {
            let what = match (l.outcome, &l.status, &l.message) {
                ("deployed", Some(status), _) => status.clone(),
                ("up_to_date", ..) => "up to date".into(),
                ("pending", _, Some(cs)) => format!("change set {cs}"),
                ("skipped", _, Some(why)) => format!("skipped ({why})"),
                _ => "FAILED".into(),
            };
            text.push_str(&format!("{:<12} {}: {what}\n", l.layer, l.stack));
        }
        text
    }

    /// One diagnostic per layer that failed or was skipped.
    fn failures(&self) -> Vec<Diagnostic> {
        let said = |l: &LayerEnd| l.message.clone().unwrap_or_default();
        self.layers
            .iter()
            .filter_map(|l| match l.outcome {
                "failed" => Some(Diagnostic::new(format!("layer `{}` ({}): {}", l.layer, l.stack, said(l)))),
                "skipped" => Some(Diagnostic::new(format!("layer `{}` was skipped: {}", l.layer, said(l)))),
                _ => None,
            })
            .collect()
    }
}

fn report_outcomes(s: &Session, order: &[String], outcomes: &BTreeMap<String, Outcome>, output: Output) -> Result<()> {
    printer().detail(
        2,
        &format!(
            "this run built {} (resolved and rendered) for {}",
            count(assemble::BUILDS.load(std::sync::atomic::Ordering::Relaxed), "layer"),
            count(order.len(), "selected layer")
        ),
    );
    let report = RunReport::of(s, order, outcomes);
    match output {
        Output::Text => print(&report.to_text()),
        Output::Json => print(&(serde_json::to_string_pretty(&report).unwrap_or_default() + "\n")),
    }
    let mut failures = report.failures();
    if failures.is_empty() {
        Ok(())
    } else {
        failures.push(Diagnostic::new("the deploy did not finish; fix the cause and run the same command again"));
        Err(Error { kind: ExitKind::Failed, diagnostics: failures })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_report_gives_text_json_and_failures_from_one_value() {
        let end = |layer: &str, outcome, status: Option<&str>, message: Option<&str>| LayerEnd {
            layer: layer.into(),
            stack: format!("app-qa-{layer}"),
            outcome,
            status: status.map(String::from),
            message: message.map(String::from),
        };
        let report = RunReport {
            environment: "qa".into(),
            ok: false,
            layers: vec![
                end("net", "deployed", Some("UPDATE_COMPLETE"), None),
                end("db", "up_to_date", None, None),
                end("app", "failed", None, Some("Topic (AWS::SNS::Topic) failed: no")),
                end("web", "skipped", None, Some("needs `app`, which failed")),
            ],
        };
        assert_eq!(
            report.to_text(),
            "net          app-qa-net: UPDATE_COMPLETE\ndb           app-qa-db: up to date\n\
             app          app-qa-app: FAILED\nweb          app-qa-web: skipped (needs `app`, which failed)\n"
        );
        let said: Vec<String> = report.failures().into_iter().map(|d| d.message).collect();
        assert_eq!(
            said,
            [
                "layer `app` (app-qa-app): Topic (AWS::SNS::Topic) failed: no",
                "layer `web` was skipped: needs `app`, which failed"
            ]
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["layers"][2]["outcome"], "failed");
        assert_eq!(json["layers"][0]["status"], "UPDATE_COMPLETE");
        assert_eq!(json["ok"], false);
    }
}
