//! The commands that talk to CloudFormation: plan, deploy, status, outputs, diff, destroy.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::json;

use super::approve::{self, confirm, require_confirmation_possible, Approval, LateApproval};
use super::session::Session;
use super::{print, printer};
use crate::cfn::events::{Event, History, Window};
use crate::cfn::port::{CloudFormation, StackEvent, StackInfo, StackSets};
use crate::cli::{DeployArgs, Output, PlanOutput};
use crate::deploy::engine::{Engine, LayerError, NoHooks, Outcome, Preapproved, Prepared, Reporter, Settings};
use crate::deploy::plan::{self, LayerPlan};
use crate::diagnostic::{Diagnostic, Error, ExitKind, Result};
use crate::diff;
use crate::text::{self, count};

/// Progress on stderr. Elsewhere than a terminal: `[layer] status` lines and stack events, with the
/// elapsed time. On a terminal: a live block of one line per layer (its status, its latest event, its
/// time), redrawn in place; failed resources and hooks' output still print as lines above it.
/// Secrets are redacted either way (the printer scrubs everything).
pub struct Progress {
    start: Instant,
    lock: Mutex<()>,
    live: Option<std::sync::Arc<Board>>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

/// The live block's state, shared with the thread that redraws it twice a second.
struct Board {
    layers: Mutex<Vec<Row>>,
    stop: AtomicBool,
    start: Instant,
}

struct Row {
    layer: String,
    status: String,
    event: Option<String>,
    started: Instant,
    /// Seconds it took, once it finished (done, up to date, failed, deleted).
    took: Option<f64>,
    failed: bool,
}

impl Board {
    fn draw(&self) {
        let layers = self.layers.lock().unwrap();
        if layers.is_empty() {
            return;
        }
        let spin = ["|", "/", "-", "\\"][(self.start.elapsed().as_millis() / 250 % 4) as usize];
        printer().live_draw(block_lines(&layers, printer().live_rows().max(3), spin));
    }
}

/// The live block: a line per layer (mark, name, time, status, latest event). A block taller than
/// `room` cannot be redrawn in place: then the layers that finished well are left out (and counted),
/// then whatever does not fit.
fn block_lines(layers: &[Row], room: usize, spin: &str) -> Vec<String> {
    let width = layers.iter().map(|r| r.layer.len()).max().unwrap_or(0);
    let shown: Vec<&Row> = if layers.len() <= room {
        layers.iter().collect()
    } else {
        layers.iter().filter(|r| r.took.is_none() || r.failed).take(room - 1).collect()
    };
    let hidden = layers.len() - shown.len();
    let mut lines: Vec<String> = shown
        .iter()
        .map(|r| {
            let (mark, secs) = match r.took {
                Some(t) if r.failed => ("x", t),
                Some(t) => ("+", t),
                None => (spin, r.started.elapsed().as_secs_f64()),
            };
            let event = r.event.as_deref().map(|e| format!("  {e}")).unwrap_or_default();
            format!("{mark} {:<width$} {secs:>6.1}s  {}{event}", r.layer, r.status)
        })
        .collect();
    if hidden > 0 {
        let done = layers.iter().filter(|r| r.took.is_some() && !r.failed).count();
        lines.push(format!("  ({hidden} more {} not shown; {done} finished)", crate::text::plural(hidden, "layer")));
    }
    lines
}

impl Progress {
    pub fn new() -> Progress {
        let live = (printer().live_supported() && printer().verbosity() == 0).then(|| {
            std::sync::Arc::new(Board {
                layers: Mutex::new(Vec::new()),
                stop: AtomicBool::new(false),
                start: Instant::now(),
            })
        });
        let ticker = live.clone().map(|board| {
            std::thread::spawn(move || {
                while !board.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(250));
                    if !board.stop.load(Ordering::Relaxed) {
                        board.draw();
                    }
                }
            })
        });
        Progress { start: super::started(), lock: Mutex::new(()), live, ticker }
    }

    fn line(&self, text: &str) {
        let _g = self.lock.lock().unwrap();
        let t = self.start.elapsed().as_secs_f64();
        printer().line(&format!("{t:>7.2}s {text}"));
    }

    /// End this phase's live block: kept on the screen (`keep`) or removed (planning progress, before the
    /// plan is shown). The next status starts a new block.
    pub fn settle(&self, keep: bool) {
        if let Some(board) = &self.live {
            let mut layers = board.layers.lock().unwrap();
            if keep && !layers.is_empty() {
                drop(layers);
                board.draw();
                layers = board.layers.lock().unwrap();
            }
            layers.clear();
            printer().live_end(keep);
        }
    }

    fn update(&self, board: &Board, layer: &str, f: impl FnOnce(&mut Row)) {
        {
            let mut layers = board.layers.lock().unwrap();
            if !layers.iter().any(|r| r.layer == layer) {
                layers.push(Row {
                    layer: layer.to_string(),
                    status: String::new(),
                    event: None,
                    started: Instant::now(),
                    took: None,
                    failed: false,
                });
            }
            let row = layers.iter_mut().find(|r| r.layer == layer).unwrap();
            f(row);
        }
        board.draw();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(board) = &self.live {
            board.stop.store(true, Ordering::Relaxed);
        }
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        self.settle(true);
    }
}

impl Reporter for Progress {
    fn status(&self, layer: &str, text: &str) {
        let Some(board) = &self.live else { return self.line(&format!("[{layer}] {text}")) };
        // Hooks (the command and its output) and a stack set's per-instance results are kept: a line each.
        let kept = text.starts_with("  ")
            || ["before_deploy:", "after_deploy:", "before_destroy:"].iter().any(|h| text.starts_with(h));
        if kept {
            self.line(&format!("[{layer}] {text}"));
            return;
        }
        self.update(board, layer, |row| {
            let finished = text.starts_with("done")
                || text == "up to date"
                || text == "failed"
                || text == "deleted"
                || text.starts_with("deployed");
            row.status = text.to_string();
            if finished {
                row.took = Some(row.started.elapsed().as_secs_f64());
                row.failed = text == "failed";
                row.event = None;
            } else if row.took.is_some() {
                // Started again (planned anew, or executed after planning).
                row.took = None;
                row.started = Instant::now();
            }
        });
    }

    fn event(&self, layer: &str, e: &StackEvent) {
        let reason = e.reason.as_deref().map(|r| format!("  {r}")).unwrap_or_default();
        let text = format!("{} {} {}", e.status, e.logical_id, e.resource_type);
        let Some(board) = &self.live else { return self.line(&format!("[{layer}]   {text}{reason}")) };
        if e.status.ends_with("_FAILED") {
            self.line(&format!("[{layer}]   {text}{reason}"));
        }
        self.update(board, layer, |row| row.event = Some(text));
    }
}

fn settings(args: &DeployArgs) -> Settings {
    Settings { concurrency: args.concurrency.max(1), recreate: args.recreate, ..Settings::default() }
}

/// Plan the selected layers, given the stacks of the layers and their dependencies as they are now.
fn make_plan(
    s: &Session,
    engine: &Engine,
    order: &[String],
    stacks: &BTreeMap<String, StackInfo>,
) -> Result<Vec<(Prepared, LayerPlan)>> {
    let offline = s.preflight()?;
    let deployed = Session::usable(stacks);
    s.resolve_upfront(order, &deployed)?;
    s.check_buckets(&offline)?;
    let prepare = |layer: &str, known: &BTreeMap<String, StackInfo>| s.prepare(layer, known);
    let results = engine.plan_all(order, &deployed, &prepare);
    let mut plans = Vec::new();
    let mut errors = Vec::new();
    for layer in order {
        match results.get(layer) {
            Some(Ok(p)) => plans.push(p.clone()),
            Some(Err(LayerError(msg))) => errors.push(Diagnostic::new(format!("layer `{layer}`: {}", s.redact(msg)))),
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
    crate::edge::signals::guarded(&on_signal, || plan_guarded(s, args, keep, output, detailed))
}

fn plan_guarded(s: &Session, args: &DeployArgs, keep: bool, output: PlanOutput, detailed: bool) -> Result<()> {
    s.check_account()?;
    let order = s.order(&args.layers)?;
    let progress = Progress::new();
    let engine =
        Engine { cfn: &s.cfn, reporter: &progress, settings: settings(args), hooks: &NoHooks, approver: &Preapproved };
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
            let deleted = if keep { 0 } else { crate::deploy::engine::discard_open(&s.cfn) };
            printer().line(&format!(
                "\ninterrupted: nothing was executed{}",
                if keep {
                    String::new()
                } else {
                    format!("; deleted the {} this run made", count(deleted, "change set"))
                }
            ));
            std::process::exit(130);
        }
        if n == 1 {
            crate::deploy::engine::interrupt();
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
    crate::edge::signals::guarded(&on_signal, || deploy_guarded(s, args, approval, no_execute, output, &executing))
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
    let engine = Engine { cfn: &s.cfn, reporter: &progress, settings: settings(args), hooks: &hooks, approver: &late };
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
        for lp in &lps {
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
        return Ok(());
    }
    if !approve::deploy(s, &lps, approval)? {
        for lp in &lps {
            engine.discard(lp);
        }
        return Err(Error::failed(Diagnostic::new("deploy cancelled; nothing was executed")));
    }
    let planned: BTreeMap<String, (Prepared, LayerPlan)> =
        plans.into_iter().map(|(p, lp)| (p.layer.clone(), (p, lp))).collect();
    let deployed = Session::usable(&stacks);
    let prepare = |layer: &str, known: &BTreeMap<String, StackInfo>| s.prepare(layer, known);
    executing.store(true, Ordering::SeqCst);
    let outcomes = engine.execute_all(&order, &s.graph.deps, planned, deployed, &prepare);
    progress.settle(true);
    report_outcomes(s, &order, &outcomes, output)
}

fn report_outcomes(s: &Session, order: &[String], outcomes: &BTreeMap<String, Outcome>, output: Output) -> Result<()> {
    printer().detail(
        2,
        &format!(
            "this run built {} (resolved and rendered) for {}",
            count(crate::build::BUILDS.load(std::sync::atomic::Ordering::Relaxed), "layer"),
            count(order.len(), "selected layer")
        ),
    );
    let mut text = String::new();
    let mut failures = Vec::new();
    for layer in order {
        let stack = s.stack_name(layer);
        match outcomes.get(layer) {
            Some(Outcome::Deployed(i)) => text.push_str(&format!("{layer:<12} {stack}: {}\n", i.status)),
            Some(Outcome::UpToDate(_)) => text.push_str(&format!("{layer:<12} {stack}: up to date\n")),
            Some(Outcome::Pending(cs)) => text.push_str(&format!("{layer:<12} {stack}: change set {cs}\n")),
            Some(Outcome::Failed(msg)) => {
                text.push_str(&format!("{layer:<12} {stack}: FAILED\n"));
                failures.push(Diagnostic::new(format!("layer `{layer}` ({stack}): {}", s.redact(msg))));
            }
            Some(Outcome::Skipped(why)) => {
                text.push_str(&format!("{layer:<12} {stack}: skipped ({why})\n"));
                failures.push(Diagnostic::new(format!("layer `{layer}` was skipped: {why}")));
            }
            None => {}
        }
    }
    match output {
        Output::Text => print(&text),
        Output::Json => {
            let layers: Vec<serde_json::Value> = order
                .iter()
                .filter_map(|layer| {
                    let (outcome, status, message) = match outcomes.get(layer)? {
                        Outcome::Deployed(i) => ("deployed", Some(i.status.clone()), None),
                        Outcome::UpToDate(_) => ("up_to_date", None, None),
                        Outcome::Pending(cs) => ("pending", None, Some(cs.clone())),
                        Outcome::Failed(m) => ("failed", None, Some(s.redact(m))),
                        Outcome::Skipped(why) => ("skipped", None, Some(why.clone())),
                    };
                    Some(json!({"layer": layer, "stack": s.stack_name(layer), "outcome": outcome, "status": status, "message": message}))
                })
                .collect();
            print(
                &(serde_json::to_string_pretty(
                    &json!({"environment": s.env.name, "ok": failures.is_empty(), "layers": layers}),
                )
                .unwrap_or_default()
                    + "\n"),
            );
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        failures.push(Diagnostic::new("the deploy did not finish; fix the cause and run the same command again"));
        Err(Error { kind: ExitKind::Failed, diagnostics: failures })
    }
}

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
        let deployed = if crate::cfn::stack_state::is_stack_set(info) {
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
    if !failed || crate::cfn::stack_state::is_stack_set(&StackInfo { status: status.into(), ..Default::default() }) {
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

pub fn status(s: &Session, output: Output) -> Result<()> {
    s.probe()?;
    let order = s.order(&[])?;
    let all: BTreeSet<String> = order.iter().cloned().collect();
    let stacks = s.describe(&all, 4)?;
    let deployed = Session::usable(&stacks);
    let mut rows = Vec::new();
    for layer in &order {
        let stack = s.stack_name(layer);
        let Some(info) = stacks.get(layer) else {
            rows.push(json!({"layer": layer, "stack": stack, "status": "NOT_DEPLOYED", "last_updated": null, "in_sync": null}));
            continue;
        };
        let compared =
            s.prepare_public(layer, &deployed).map_err(|LayerError(m)| m).and_then(|p| Comparison::of(s, info, &p));
        let (in_sync, differs, note) = match &compared {
            Ok(c) => (Some(c.reasons().is_empty()), c.reasons(), None),
            Err(why) => (None, Vec::new(), Some(why.clone())),
        };
        let secrets = compared.as_ref().map(|c| c.secrets.clone()).unwrap_or_default();
        let instances = if crate::cfn::stack_state::is_stack_set(info) {
            let found = s.cfn.stack_instances(&info.name).map_err(|e| Error::failed(Diagnostic::new(e.to_string())))?;
            Some(
                found
                    .iter()
                    .map(|i| {
                        json!({"account": i.account, "region": i.region, "organizational_unit": i.organizational_unit,
                               "status": i.status, "detailed_status": i.detailed, "reason": i.reason})
                    })
                    .collect::<Vec<_>>(),
            )
        } else {
            None
        };
        let reason = failure_reason(s, &stack, &info.status);
        rows.push(json!({
            "layer": layer, "stack": stack, "status": info.status, "last_updated": info.last_updated,
            "reason": reason,
            "in_sync": in_sync, "differs": differs, "secrets_not_compared": secrets, "unknown_because": note,
            "stack_set_instances": instances,
        }));
    }
    match output {
        Output::Json => print(
            &(serde_json::to_string_pretty(&json!({"environment": s.env.name, "layers": rows})).unwrap_or_default()
                + "\n"),
        ),
        Output::Text => {
            let mut t = String::new();
            let mut table_rows = Vec::new();
            let mut under: Vec<Vec<String>> = Vec::new();
            for r in &rows {
                let sync = match r["in_sync"].as_bool() {
                    Some(true) => "in sync".to_string(),
                    Some(false) => {
                        let why: Vec<&str> =
                            r["differs"].as_array().into_iter().flatten().filter_map(|x| x.as_str()).collect();
                        format!("differs from the project: {}", why.join("; "))
                    }
                    None if r["status"] == "NOT_DEPLOYED" => String::new(),
                    None => format!("not compared: {}", r["unknown_because"].as_str().unwrap_or_default()),
                };
                let cell = |k: &str, or: &str| r[k].as_str().unwrap_or(or).to_string();
                table_rows.push(vec![
                    cell("layer", ""),
                    cell("stack", ""),
                    cell("status", ""),
                    cell("last_updated", "-"),
                    sync,
                ]);
                let mut lines = Vec::new();
                if let Some(reason) = r["reason"].as_str() {
                    lines.push(format!("  {reason} (`stackc events {}` shows every event)", s.env.name));
                }
                for i in r["stack_set_instances"].as_array().into_iter().flatten() {
                    let text = |k: &str| i[k].as_str().unwrap_or_default().to_string();
                    let reason = i["reason"].as_str().map(|x| format!("  {x}")).unwrap_or_default();
                    lines.push(format!(
                        "  instance {:<28} {:<10} {}{reason}",
                        format!("{}/{}", text("account"), text("region")),
                        text("status"),
                        text("detailed_status"),
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
            let secrets: Vec<String> = rows
                .iter()
                .flat_map(|r| {
                    let layer = r["layer"].as_str().unwrap_or_default().to_string();
                    r["secrets_not_compared"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|x| x.as_str())
                        .map(move |x| format!("{layer}.{x}"))
                        .collect::<Vec<_>>()
                })
                .collect();
            if !secrets.is_empty() {
                t.push_str(&format!(
                    "secret parameters are not read by status (`stackc plan` compares their versions): {}\n",
                    secrets.join(", ")
                ));
            }
            print(&(t));
        }
    }
    Ok(())
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
                .and_then(|t| crate::cfn::template::Template::parse(&t).ok())
                .map(|t| t.outputs_exposing_no_echo())
                .unwrap_or_default();
            for (output, parameter) in exposing {
                if let Some(v) = outs.get_mut(&output) {
                    *v = crate::secret::REDACTED.to_string();
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

/// Prints what differs; exits 1 when anything does (a layer not deployed counts), like `git diff --exit-code`.
pub fn diff_cmd(s: &Session, layers: &[String], output: Output) -> Result<()> {
    s.probe()?;
    let order = s.order(layers)?;
    let closure = s.graph.closure(&order);
    let stacks = s.describe(&closure, 4)?;
    let deployed = Session::usable(&stacks);
    // Every value that is not secret must resolve (all problems at once); secrets are not fetched.
    s.build_public(&order)?;
    let mut text = String::new();
    let mut differing = 0;
    let mut secret_params = Vec::new();
    let mut rows = Vec::new();
    for layer in &order {
        let stack = s.stack_name(layer);
        let p = s
            .prepare_public(layer, &deployed)
            .map_err(|LayerError(m)| Error::failed(Diagnostic::new(format!("layer `{layer}`: {m}"))))?;
        secret_params.extend(p.parameters.iter().filter(|x| x.secret).map(|x| format!("{layer}.{}", x.name)));
        let Some(info) = stacks.get(layer) else {
            text.push_str(&format!("{layer} ({stack}): not deployed; it would be created\n"));
            rows.push(json!({"layer": layer, "stack": stack, "deployed": false, "differs": ["not deployed"]}));
            differing += 1;
            continue;
        };
        let c = Comparison::of(s, info, &p).map_err(|m| Error::failed(Diagnostic::new(m)))?;
        let nested = nested_diffs(s, layer, &stack, &deployed)?;
        rows.push(json!({
            "nested_stacks": nested.iter().map(|(id, lines)| json!({"logical_id": id, "template": diff::to_text(lines, 2)})).collect::<Vec<_>>(),
            "layer": layer,
            "stack": stack,
            "deployed": true,
            "differs": c.reasons(),
            "template": diff::to_text(&c.template, 2),
            "parameters": c.parameters.iter().map(|x| json!({"name": x.name, "deployed": x.old, "project": x.new})).collect::<Vec<_>>(),
            "tags": c.tags.iter().map(|t| json!({"key": t.key, "deployed": t.old, "project": t.new})).collect::<Vec<_>>(),
        }));
        if c.reasons().is_empty() && nested.is_empty() {
            text.push_str(&format!("{layer} ({stack}): no differences\n"));
            continue;
        }
        differing += 1;
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
        for (id, lines) in &nested {
            text.push_str(&format!("  nested stack {id}, template:\n"));
            for l in diff::to_text(lines, 2).lines() {
                text.push_str(&format!("    {l}\n"));
            }
        }
        if !c.parameters.is_empty() {
            text.push_str("  parameters:\n");
            for ch in &c.parameters {
                text.push_str(&format!(
                    "    ~ {}: {} -> {}\n",
                    ch.name,
                    ch.old.as_deref().unwrap_or("(none)"),
                    ch.new.as_deref().unwrap_or("(removed)")
                ));
            }
        }
        if !c.tags.is_empty() {
            text.push_str("  tags:\n");
            for t in &c.tags {
                text.push_str(&format!(
                    "    ~ {}: {} -> {}\n",
                    t.key,
                    t.old.as_deref().unwrap_or("(none)"),
                    t.new.as_deref().unwrap_or("(removed)")
                ));
            }
        }
    }
    if !secret_params.is_empty() {
        text.push_str(&format!("secret parameters are masked and not compared: {}\n", secret_params.join(", ")));
    }
    match output {
        Output::Text => printer().changes(&text),
        Output::Json => print(
            &(serde_json::to_string_pretty(&json!({
                "environment": s.env.name,
                "differs": differing > 0,
                "layers": rows,
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

/// Each nested stack of `layer` whose deployed template differs from the project's: (logical id, diff).
fn nested_diffs(
    s: &Session,
    layer: &str,
    stack: &str,
    deployed: &BTreeMap<String, StackInfo>,
) -> Result<Vec<(String, Vec<diff::Line>)>> {
    let failed = |m: String| Error::failed(Diagnostic::new(format!("layer `{layer}`: {m}")));
    let children = s.nested_templates_public(layer, deployed).map_err(|LayerError(m)| failed(m))?;
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
    let found = crate::drift::detect(&s.cfn, &selected, crate::drift::Waits::default());
    match output {
        Output::Text => printer().changes(&crate::drift::to_text(&s.env.name, &found)),
        Output::Json => printer().json(&crate::drift::to_json(&s.env.name, &found)),
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

pub fn destroy(s: &Session, layers: &[String], yes: bool, concurrency: usize) -> Result<()> {
    require_confirmation_possible(s, yes, "destroy stacks in")?;
    s.check_account()?;
    let order = s.order(layers)?;
    let all: BTreeSet<String> = s.project.layers.keys().cloned().collect();
    let stacks = s.describe(&all, concurrency)?;
    let needed = crate::deploy::engine::still_needed(&order, &s.graph.deps, &stacks);
    if !needed.is_empty() {
        return Err(Error::configs(
            needed
                .into_iter()
                .map(|(layer, other)| {
                    Diagnostic::new(format!(
                        "cannot destroy `{layer}`: layer `{other}` depends on it and is still deployed"
                    ))
                    .hint(format!("destroy both: `stackc destroy {} {other} {layer}`", s.env.name))
                })
                .collect(),
        ));
    }
    let present: Vec<&String> = order.iter().filter(|l| stacks.contains_key(*l)).collect();
    if present.is_empty() {
        print(&format!("nothing to destroy in `{}`\n", s.env.name));
        return Ok(());
    }
    for l in order.iter().rev() {
        if let Some(i) = stacks.get(l) {
            print(&format!("{l} ({}): delete\n", i.name));
        }
    }
    if !yes && !confirm(s, &format!("Delete {}", count(present.len(), "stack")))? {
        return Err(Error::failed(Diagnostic::new("destroy cancelled; nothing was deleted")));
    }
    let progress = Progress::new();
    let (stack_name, redact) = (|l: &str| s.stack_name(l), |t: &str| s.redact(t));
    let hooks = s.hooks(&progress, &stack_name, &redact);
    let engine = Engine {
        cfn: &s.cfn,
        reporter: &progress,
        settings: Settings { concurrency, ..Settings::default() },
        hooks: &hooks,
        approver: &Preapproved,
    };
    let outcomes = engine.destroy_all(&order, &s.graph.deps, &stacks);
    progress.settle(true);
    let mut text = String::new();
    let mut failures = Vec::new();
    for layer in order.iter().rev() {
        match outcomes.get(layer) {
            Some(Outcome::Deployed(_)) => text.push_str(&format!("{layer:<12} deleted\n")),
            Some(Outcome::UpToDate(_)) => text.push_str(&format!("{layer:<12} not deployed\n")),
            Some(Outcome::Failed(m)) => failures.push(Diagnostic::new(format!("layer `{layer}`: {m}"))),
            Some(Outcome::Skipped(why)) => failures.push(Diagnostic::new(format!("layer `{layer}` was kept: {why}"))),
            _ => {}
        }
    }
    print(&text);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error { kind: ExitKind::Failed, diagnostics: failures })
    }
}

/// `stackc prune`: the stacks of layers that are gone, after confirmation, one at a time, newest first.
pub fn prune(s: &Session, yes: bool) -> Result<()> {
    require_confirmation_possible(s, yes, "prune stacks in")?;
    s.check_account()?;
    let mut all = s.cfn.list_stacks().map_err(|e| Error::failed(Diagnostic::new(e.to_string())))?;
    let sets = s.cfn.list_stack_sets().map_err(|e| Error::failed(Diagnostic::new(e.to_string())))?;
    all.extend(sets.iter().map(crate::deploy::stackset::as_stack_info));
    let layers: BTreeSet<String> = s.project.layers.keys().cloned().collect();
    let gone = crate::deploy::engine::prunable(&all, &s.project.name, &s.env.name, &layers);
    if gone.is_empty() {
        print(&format!("nothing to prune in `{}`: every stack stackc made for it has its layer\n", s.env.name));
        return Ok(());
    }
    for (layer, info) in &gone {
        print(&format!("{layer} ({}): delete; the layer is no longer in `{}`\n", info.name, s.env.name));
    }
    if !yes && !confirm(s, &format!("Delete {}", count(gone.len(), "stack")))? {
        return Err(Error::failed(Diagnostic::new("prune cancelled; nothing was deleted")));
    }
    let progress = Progress::new();
    let engine = Engine {
        cfn: &s.cfn,
        reporter: &progress,
        settings: Settings::default(),
        hooks: &NoHooks,
        approver: &Preapproved,
    };
    let mut text = String::new();
    let mut failures = Vec::new();
    for (layer, info) in &gone {
        if info.termination_protection {
            failures.push(Diagnostic::new(format!(
                "stack `{}` has termination protection; turn it off first: `aws cloudformation update-termination-protection --no-enable-termination-protection --stack-name {}`",
                info.name, info.name
            )));
            continue;
        }
        let deleted = if crate::cfn::stack_state::is_stack_set(info) {
            engine.delete_stack_set_layer(layer, &info.name)
        } else {
            engine.delete(layer, &info.name)
        };
        match deleted {
            Ok(()) => text.push_str(&format!("{layer:<12} {} deleted\n", info.name)),
            Err(LayerError(m)) => failures.push(Diagnostic::new(format!("stack `{}`: {m}", info.name))),
        }
    }
    print(&text);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error { kind: ExitKind::Failed, diagnostics: failures })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(layer: &str, took: Option<f64>, failed: bool) -> Row {
        Row { layer: layer.into(), status: "s".into(), event: None, started: Instant::now(), took, failed }
    }

    #[test]
    fn a_block_taller_than_the_terminal_keeps_the_running_and_failed_layers() {
        let rows = vec![
            row("a", Some(1.0), false),
            row("b", None, false),
            row("c", Some(2.0), true),
            row("d", Some(1.0), false),
        ];
        let all = block_lines(&rows, 10, "|");
        assert_eq!(all.len(), 4);
        assert!(all[0].starts_with("+ a") && all[1].starts_with("| b") && all[2].starts_with("x c"), "{all:?}");
        let cut = block_lines(&rows, 3, "|");
        assert_eq!(cut.len(), 3, "{cut:?}");
        assert!(cut[0].starts_with("| b") && cut[1].starts_with("x c"), "{cut:?}");
        assert_eq!(cut[2], "  (2 more layers not shown; 2 finished)");
    }
}
