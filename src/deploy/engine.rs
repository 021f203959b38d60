//! The deploy engine: plan every selected layer through change sets, then execute them in dependency
//! order, independent layers at once (bounded), following each stack to the end and explaining failures.
//! It speaks only to the CloudFormation port, so scripted fakes can drive every path.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{Duration, Instant};

use super::changes::Masking;
use super::layer::{LayerError, Outcome, Prepared};
use super::plan::{self, Action, Change, LayerPlan};
use super::ports::{Approver, HookPhase, HookRunner, Reporter};
use super::run_state::RunState;
use super::scheduler::schedule;
use super::step::Step;
use crate::cfn::pacing::{self, Pacer};
use crate::cfn::port::{
    first_page, ChangeSetInfo, ChangeSetRequest, ChangeSetType, CloudFormation, PortError, ResourceChange, StackEvent,
    StackInfo,
};
use crate::cfn::stack_state::{self, classify, StackState};
use crate::cfn::template::Template;
use crate::diff;

/// How following a stack operation ended.
enum Followed {
    Done(Option<StackInfo>),
    /// Still in progress when the time was up.
    TimedOut(StackInfo),
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub concurrency: usize,
    /// Waits between looks: the shortest and (usually) the longest. Waiting for a change set or a busy
    /// stack grows by half each look; following an operation waits as `cfn::pacing::Pacer` says.
    pub poll_initial: Duration,
    pub poll_max: Duration,
    /// Give up waiting for one stack operation after this long.
    pub timeout: Duration,
    pub recreate: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            concurrency: 4,
            poll_initial: Duration::from_millis(100),
            poll_max: Duration::from_secs(5),
            timeout: Duration::from_secs(3 * 3600),
            recreate: false,
        }
    }
}

pub struct Engine<'a> {
    pub cfn: &'a dyn CloudFormation,
    pub reporter: &'a dyn Reporter,
    pub settings: Settings,
    pub hooks: &'a dyn HookRunner,
    /// Asked about a change set made after the user approved the plan.
    pub approver: &'a dyn Approver,
    /// What this run has under way (change sets to discard on an interrupt, whether to stop).
    pub run: &'a RunState,
    /// Stacks the caller has just described (None: there is none), by stack name: the first plan of each
    /// takes its state from here instead of describing it again.
    pub described: std::sync::Mutex<BTreeMap<String, Option<StackInfo>>>,
}

fn change_set_name() -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("stackc-{}-{:06}", t.as_secs(), t.subsec_micros())
}

impl Engine<'_> {
    pub(super) fn sleep(&self, attempt: u32) {
        let factor = 1.5f64.powi(attempt.min(20) as i32);
        let d = self.settings.poll_initial.mul_f64(factor).min(self.settings.poll_max);
        if !d.is_zero() {
            std::thread::sleep(d);
        }
    }

    /// Describe, waiting out any operation in progress (never interrupting it).
    pub fn settled_stack(&self, layer: &str, stack: &str) -> Result<Option<StackInfo>, LayerError> {
        let start = Instant::now();
        let mut attempt = 0;
        let known = self.described.lock().unwrap_or_else(|e| e.into_inner()).remove(stack);
        if let Some(info) = known.filter(|i| i.as_ref().is_none_or(|i| !stack_state::in_progress(&i.status))) {
            return Ok(info);
        }
        loop {
            let info = self.cfn.describe_stack(stack)?;
            match info.as_ref().map(|i| classify(Some(&i.status), stack)) {
                Some(StackState::Busy) => {
                    let status = info.as_ref().map(|i| i.status.clone()).unwrap_or_default();
                    if start.elapsed() > self.settings.timeout {
                        return Err(LayerError::Busy { stack: stack.to_string(), status });
                    }
                    if attempt == 0 {
                        self.reporter.status(layer, &Step::Waiting(status.to_string()));
                    }
                    self.sleep(attempt);
                    attempt += 1;
                }
                _ => return Ok(info),
            }
        }
    }

    /// Plan one layer: create a change set and read what it would do (or plan from the template when
    /// the layer waits for undeployed dependencies).
    pub fn plan_layer(&self, p: &Prepared) -> Result<LayerPlan, LayerError> {
        if let Some(target) = &p.stackset {
            return self.plan_stack_set(p, target);
        }
        let existing = self.settled_stack(&p.layer, &p.stack_name)?;
        let (action, kind) = self.action_for(p, existing.as_ref())?;
        let updating = existing.as_ref().filter(|_| action == Action::Update);
        let (parameters, unknown_secrets) = Self::parameter_plan(p, updating);
        // Outputs, conditions, metadata and the description change with no resource change: compare the
        // deployed template itself (normalised), as `status` does.
        let template_changed = action == Action::Update
            && p.waiting_for.is_empty()
            && self.cfn.get_template(&p.stack_name).map_or(true, |t| !diff::templates(&t, &p.template_body).is_empty());
        let mut lp = LayerPlan {
            layer: p.layer.clone(),
            stack_name: p.stack_name.clone(),
            action,
            changes: Vec::new(),
            parameters,
            tags: plan::tag_changes(updating.map(|e| &e.tags), &p.tags),
            waiting_for: p.waiting_for.clone(),
            template_changed,
            stack_set: false,
            change_set: None,
            existing: existing.clone(),
            digest: p.digest(),
        };
        if !p.waiting_for.is_empty() || action == Action::Recreate {
            // No change set can be made yet: inputs are placeholders, or the failed stack must go first.
            if action != Action::Update {
                lp.changes = p.resources.iter().map(|(id, ty)| Change::added(id, ty)).collect();
            }
            return Ok(lp);
        }
        let template = Template::parse(&p.template_body).ok();
        // Nothing differs that stackc can compare, and nothing it cannot compare is there: no change set
        // is needed to learn that nothing would change (the comparison `status` makes).
        let same = plan::reasons(lp.template_changed, &lp.parameters, &lp.tags, &lp.waiting_for).is_empty();
        if kind == ChangeSetType::Update && same && !unknown_secrets && template.as_ref().is_some_and(comparable) {
            return Ok(lp.unchanged());
        }
        let Some((id, info)) = self.make_change_set(p, kind)? else {
            return Ok(lp.unchanged());
        };
        let secret_parameters: BTreeSet<String> =
            p.parameters.iter().filter(|x| x.secret).map(|x| x.name.clone()).collect();
        let masking = Masking { secret_parameters: &secret_parameters, template: template.as_ref().map(|t| &t.body) };
        lp.changes = info.changes.iter().map(|c| Change::of(c, &masking)).collect();
        self.nested_changes(&p.stack_name, &info.changes, &mut lp.changes, 0);
        if kind == ChangeSetType::Update
            && lp.changes.is_empty()
            && !unknown_secrets
            && plan::reasons(lp.template_changed, &lp.parameters, &lp.tags, &lp.waiting_for).is_empty()
        {
            // Nothing to do: no resource, template, parameter, tag or secret would change.
            let _ = self.cfn.delete_change_set(&p.stack_name, &id);
            self.run.closed(&id);
            return Ok(lp.unchanged());
        }
        lp.change_set = Some(id);
        Ok(lp)
    }

    /// Each nested stack's changes under its resource: its own change set (made with IncludeNestedStacks)
    /// described in turn. Their values are never shown: the nested templates' secrets are not known here.
    fn nested_changes(&self, stack: &str, changes: &[ResourceChange], shown: &mut [Change], depth: usize) {
        if depth >= 5 {
            return;
        }
        let blind = BTreeSet::new();
        let masking = Masking { secret_parameters: &blind, template: None };
        for (c, s) in changes.iter().zip(shown.iter_mut()) {
            let Some(arn) = &c.nested_change_set else { continue };
            match self.cfn.describe_change_set(stack, arn) {
                Ok(info) => {
                    s.nested = info.changes.iter().map(|n| Change::of(n, &masking)).collect();
                    self.nested_changes(stack, &info.changes, &mut s.nested, depth + 1);
                }
                Err(e) => s.nested_unknown = Some(e.to_string()),
            }
        }
    }

    /// What to do with the layer's stack as it is: create, update, recreate (with --recreate), or refuse.
    fn action_for(&self, p: &Prepared, existing: Option<&StackInfo>) -> Result<(Action, ChangeSetType), LayerError> {
        match classify(existing.map(|e| e.status.as_str()), &p.stack_name) {
            StackState::Absent => Ok((Action::Create, ChangeSetType::Create)),
            StackState::Updatable => Ok((Action::Update, ChangeSetType::Update)),
            StackState::FailedCreate if self.settings.recreate => Ok((Action::Recreate, ChangeSetType::Create)),
            StackState::FailedCreate => Err(LayerError::FailedCreate {
                stack: p.stack_name.clone(),
                status: existing.map(|e| e.status.clone()).unwrap_or_default(),
            }),
            StackState::Stuck(why) => Err(LayerError::Stuck(why)),
            StackState::Busy => unreachable!("settled_stack waits"),
        }
    }

    /// Parameter changes against the stack being updated (None: a new stack). A deployed secret reads
    /// back as ****: its source's version fingerprint tells whether it changed. The flag says whether
    /// some secret's change cannot be told.
    pub(super) fn parameter_plan(p: &Prepared, updating: Option<&StackInfo>) -> (Vec<plan::ParamChange>, bool) {
        let shown: Vec<(String, String, bool)> =
            p.parameters.iter().map(|x| (x.name.clone(), x.shown.clone(), x.secret)).collect();
        let mut parameters = plan::parameter_changes(updating.map(|e| &e.parameters), &shown, &p.defaults);
        let mut unknown = false;
        if let Some(stack) = updating {
            parameters.retain(|c| !c.secret);
            for x in p.parameters.iter().filter(|x| x.secret) {
                let state = plan::secret_state(Some(&stack.tags), &x.name, x.fingerprint.as_deref());
                if state == plan::SecretState::Unchanged {
                    continue;
                }
                unknown |= state == plan::SecretState::Unknown;
                let what = if state == plan::SecretState::Changed { "changed" } else { "may have changed" };
                parameters.push(plan::ParamChange {
                    name: x.name.clone(),
                    old: Some("(secret)".into()),
                    new: Some(what.into()),
                    secret: true,
                });
            }
        }
        (parameters, unknown)
    }

    /// Create a change set and wait for it; None when CloudFormation says there is nothing to change
    /// (in either of its ways of saying so).
    fn make_change_set(
        &self,
        p: &Prepared,
        kind: ChangeSetType,
    ) -> Result<Option<(String, ChangeSetInfo)>, LayerError> {
        self.reporter.status(&p.layer, &Step::CreatingChangeSet);
        let request = ChangeSetRequest {
            stack_name: p.stack_name.clone(),
            change_set_name: change_set_name(),
            kind,
            template_body: p.template_body.clone(),
            template_url: p.template_url.clone(),
            parameters: p.parameters.iter().map(|x| (x.name.clone(), x.value.clone())).collect(),
            tags: p.tags.clone(),
            capabilities: p.capabilities.clone(),
            role_arn: p.role_arn.clone(),
            description: format!("stackc {}", p.layer),
            notification_arns: p.notification_arns.clone(),
            rollback_alarms: p.rollback_alarms.clone(),
            rollback_minutes: p.rollback_minutes,
            include_nested_stacks: p.resources.iter().any(|(_, ty)| ty == "AWS::CloudFormation::Stack"),
        };
        let Some((created, in_flight)) = self.run.creating(|| self.cfn.create_change_set(&request)) else {
            return Err(LayerError::Interrupted);
        };
        let id = match created {
            Ok(id) => {
                self.run.opened(&p.stack_name, &id, kind == ChangeSetType::Create);
                drop(in_flight);
                id
            }
            Err(PortError::NoChanges) => return Ok(None),
            Err(PortError::Api { message, .. }) if stack_state::is_no_changes_reason(&message) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut attempt = 0;
        let start = Instant::now();
        let info = loop {
            let info = self.cfn.describe_change_set(&p.stack_name, &id)?;
            if !matches!(info.status.as_str(), "CREATE_PENDING" | "CREATE_IN_PROGRESS") {
                break info;
            }
            if start.elapsed() > self.settings.timeout {
                return Err(LayerError::ChangeSetNotCreated { stack: p.stack_name.clone() });
            }
            self.sleep(attempt);
            attempt += 1;
        };
        if info.status == "FAILED" {
            let reason = info.status_reason.clone().unwrap_or_default();
            let _ = self.cfn.delete_change_set(&p.stack_name, &id);
            self.run.closed(&id);
            if stack_state::is_no_changes_reason(&reason) {
                return Ok(None);
            }
            return Err(LayerError::ChangeSetRejected { stack: p.stack_name.clone(), reason });
        }
        Ok(Some((id, info)))
    }

    /// Remove a planned change set (and the empty stack a CREATE change set leaves behind).
    pub fn discard(&self, lp: &LayerPlan) {
        if let Some(cs) = &lp.change_set {
            self.run.closed(cs);
            let _ = self.cfn.delete_change_set(&lp.stack_name, cs);
            if lp.action == Action::Create {
                if let Ok(Some(info)) = self.cfn.describe_stack(&lp.stack_name) {
                    if info.status == "REVIEW_IN_PROGRESS" {
                        let _ = self.cfn.delete_stack(&lp.stack_name);
                    }
                }
            }
        }
    }

    /// Execute a planned change set and follow the stack to the end.
    pub fn execute(&self, p: &Prepared, lp: &LayerPlan) -> Result<StackInfo, LayerError> {
        if let Some(target) = &p.stackset {
            return self.execute_stack_set(p, lp, target);
        }
        let cs = lp.change_set.as_ref().ok_or_else(|| LayerError::NoChangeSet)?;
        let seen: HashSet<String> =
            self.cfn.stack_events(&p.stack_name, &first_page).unwrap_or_default().into_iter().map(|e| e.id).collect();
        self.reporter.status(&p.layer, &Step::Executing { update: lp.action == Action::Update });
        self.run.closed(cs);
        if let Err(e) = self.cfn.execute_change_set(&p.stack_name, cs, p.disable_rollback) {
            let _ = self.cfn.delete_change_set(&p.stack_name, cs);
            return Err(self.explain_failure(p, &seen, Some(e)));
        }
        let limit = p.timeout.map_or(self.settings.timeout, |t| t.min(self.settings.timeout));
        let info = match self.follow_for(&p.layer, &p.stack_name, seen.clone(), limit)? {
            Followed::Done(info) => info,
            Followed::TimedOut(info) if p.timeout.is_some() => return Err(self.time_out(p, &info, &seen)),
            Followed::TimedOut(info) => {
                return Err(LayerError::StillInProgress { stack: p.stack_name.clone(), status: info.status })
            }
        };
        let Some(info) = info else {
            return Err(LayerError::Disappeared { what: "stack", name: p.stack_name.clone() });
        };
        if !stack_state::succeeded(&info.status) {
            return Err(self.explain_failure(p, &seen, None));
        }
        if let Some(wanted) = p.termination_protection.filter(|w| *w != info.termination_protection) {
            self.cfn.set_termination_protection(&p.stack_name, wanted)?;
        }
        if let Some(policy) = &p.stack_policy {
            self.cfn.set_stack_policy(&p.stack_name, policy)?;
        }
        Ok(info)
    }

    /// `timeout_minutes` ran out: an update is cancelled (CloudFormation rolls it back, followed to the
    /// end); a create cannot be cancelled through a change set, so it is left running and reported.
    fn time_out(&self, p: &Prepared, info: &StackInfo, seen: &HashSet<String>) -> LayerError {
        let minutes = p.timeout.map(|t| t.as_secs_f64() / 60.0).unwrap_or_default();
        let after = format!("still {} after timeout_minutes ({minutes:.0})", info.status);
        if !info.status.starts_with("UPDATE_") {
            return LayerError::CreateNotCancellable {
                stack: p.stack_name.clone(),
                after,
                env: p.tags.get("stackc:env").cloned().unwrap_or_else(|| "<env>".into()),
            };
        }
        self.reporter.status(&p.layer, &Step::Cancelling(after.to_string()));
        if let Err(e) = self.cfn.cancel_update_stack(&p.stack_name) {
            return LayerError::CancelFailed { stack: p.stack_name.clone(), after, error: e.to_string() };
        }
        let end = match self.follow(&p.layer, &p.stack_name, seen.clone()) {
            Ok(Some(i)) => i.status,
            Ok(None) => "gone".into(),
            Err(e) => e.to_string(),
        };
        LayerError::RolledBack { stack: p.stack_name.clone(), after, end }
    }

    /// Poll until the stack leaves *_IN_PROGRESS, reporting new events.
    fn follow(&self, layer: &str, stack: &str, seen: HashSet<String>) -> Result<Option<StackInfo>, LayerError> {
        match self.follow_for(layer, stack, seen, self.settings.timeout)? {
            Followed::Done(info) => Ok(info),
            Followed::TimedOut(i) => Err(LayerError::StillInProgress { stack: stack.to_string(), status: i.status }),
        }
    }

    /// Like `follow`, for at most `limit`. Follows the stack by its events (one call a look, usually one
    /// page) and describes it when its own final event shows, when reading events fails, and every
    /// eighth look; waits between looks as `Pacer` says.
    fn follow_for(
        &self,
        layer: &str,
        stack: &str,
        mut seen: HashSet<String>,
        limit: Duration,
    ) -> Result<Followed, LayerError> {
        let start = Instant::now();
        let mut pacer = Pacer::new(self.settings.poll_initial, self.settings.poll_max);
        let mut look = 0u64;
        loop {
            look += 1;
            let mut ended = look % 8 == 0;
            match self.cfn.stack_events(stack, &|e| seen.contains(&e.id)) {
                Ok(events) => {
                    for e in events.iter().rev() {
                        if seen.insert(e.id.clone()) {
                            self.reporter.event(layer, e);
                            pacer.saw(stack, e);
                            ended |= pacing::ends_operation(stack, e);
                        }
                    }
                }
                Err(_) => ended = true,
            }
            let timed_out = start.elapsed() > limit;
            if ended || timed_out {
                match self.cfn.describe_stack(stack).map_err(|e| lost_contact(stack, e))? {
                    Some(i) if stack_state::in_progress(&i.status) => {
                        if timed_out {
                            return Ok(Followed::TimedOut(i));
                        }
                    }
                    other => return Ok(Followed::Done(other)),
                }
            }
            let wait = pacer.next(start.elapsed());
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
        }
    }

    /// The failed resource and CloudFormation's reason, root cause first.
    fn explain_failure(&self, p: &Prepared, before: &HashSet<String>, call: Option<PortError>) -> LayerError {
        // Every event of this execution, however long the rollback: the root cause is among the oldest.
        let events = self.cfn.stack_events(&p.stack_name, &|e| before.contains(&e.id)).unwrap_or_default();
        let mut failed: Vec<&StackEvent> = events
            .iter()
            .rev()
            .filter(|e| !before.contains(&e.id) && e.status.ends_with("_FAILED") && e.logical_id != p.stack_name)
            .collect();
        // Consequences name other resources ("Resource creation cancelled"); the root cause comes first.
        failed.sort_by_key(|e| {
            let r = e.reason.as_deref().unwrap_or_default().to_ascii_lowercase();
            r.contains("cancelled") || r.contains("the following resource(s) failed")
        });
        let status = self.cfn.describe_stack(&p.stack_name).ok().flatten();
        let mut msg = String::new();
        if let Some(root) = failed.first() {
            msg.push_str(&format!(
                "{} ({}) failed: {}",
                root.logical_id,
                root.resource_type,
                root.reason.as_deref().unwrap_or("no reason given")
            ));
            for other in failed.iter().skip(1).take(5) {
                msg.push_str(&format!(
                    "\n  then {} ({}): {}",
                    other.logical_id,
                    other.resource_type,
                    other.reason.as_deref().unwrap_or("no reason given")
                ));
            }
        } else if let Some(e) = &call {
            msg.push_str(&e.to_string());
        } else {
            msg.push_str("the stack operation failed");
        }
        if let Some(s) = status {
            msg.push_str(&format!("\n  stack `{}` is now {}", p.stack_name, s.status));
            if let Some(r) = &s.status_reason {
                msg.push_str(&format!(" ({r})"));
            }
            if s.status == "ROLLBACK_COMPLETE" {
                msg.push_str("; fix the cause and run again with --recreate");
            } else if s.status == "UPDATE_ROLLBACK_COMPLETE" {
                msg.push_str("; the previous version is back in place, fix the cause and run again");
            }
        }
        LayerError::Failed(msg)
    }

    /// Delete a stack (for --recreate and destroy) and wait until it is gone.
    pub fn delete(&self, layer: &str, stack: &str) -> Result<(), LayerError> {
        let seen: HashSet<String> =
            self.cfn.stack_events(stack, &first_page).unwrap_or_default().into_iter().map(|e| e.id).collect();
        self.reporter.status(layer, &Step::Deleting);
        self.cfn.delete_stack(stack)?;
        match self.follow(layer, stack, seen)? {
            None => Ok(()),
            Some(i) if i.status == "DELETE_COMPLETE" => Ok(()),
            Some(i) => {
                Err(LayerError::DeleteEnded { stack: stack.to_string(), status: i.status, reason: i.status_reason })
            }
        }
    }
}

/// Following a stack failed: when AWS could not be reached (or stopped taking the credentials) the
/// operation itself goes on in CloudFormation, and the message says so and how to pick it up again.
fn lost_contact(stack: &str, e: PortError) -> LayerError {
    match e {
        PortError::Unreachable { .. } | PortError::Credentials { .. } | PortError::Throttled { .. } => {
            LayerError::LostContact { stack: stack.to_string(), error: e.to_string() }
        }
        other => other.into(),
    }
}

/// Whether the deployed stack can be told equal to `t` without a change set: CloudFormation resolves
/// dynamic references (`{{resolve:...}}`) and SSM-typed parameters itself, at every deploy, so a
/// template with either always gets a change set.
fn comparable(t: &Template) -> bool {
    let ssm_typed = t.parameters().iter().any(|p| p.kind.starts_with("AWS::SSM::Parameter::"));
    !ssm_typed && !t.body.to_string().contains("{{resolve:")
}

impl Engine<'_> {
    /// Delete the stacks of `order` in reverse dependency order: a layer goes once every selected layer
    /// that depends on it is gone, after its before_destroy hooks. A stack with termination protection
    /// is not touched (and the layers it depends on stay); a layer with no stack is `UpToDate`.
    pub fn destroy_all(
        &self,
        order: &[String],
        deps: &BTreeMap<String, BTreeSet<String>>,
        deployed: &BTreeMap<String, StackInfo>,
    ) -> BTreeMap<String, Outcome> {
        let selected: BTreeSet<&String> = order.iter().collect();
        let mut dependents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (layer, ds) in deps.iter().filter(|(l, _)| selected.contains(l)) {
            for d in ds {
                dependents.entry(d.clone()).or_default().insert(layer.clone());
            }
        }
        let reversed: Vec<String> = order.iter().rev().cloned().collect();
        schedule(&reversed, &dependents, self.settings.concurrency, |layer| {
            let Some(info) = deployed.get(layer) else { return Outcome::UpToDate(StackInfo::default()) };
            if info.termination_protection {
                return Outcome::Failed(format!(
                    "stack `{}` has termination protection; turn it off first: `aws cloudformation update-termination-protection --no-enable-termination-protection --stack-name {}`",
                    info.name, info.name
                ));
            }
            if let Err(e) = self.hooks.run(layer, HookPhase::BeforeDestroy, Some(info)) {
                return Outcome::Failed(e);
            }
            let deleted = if stack_state::is_stack_set(info) {
                self.delete_stack_set_layer(layer, &info.name)
            } else {
                self.delete(layer, &info.name)
            };
            match deleted {
                Ok(()) => {
                    self.reporter.status(layer, &Step::Deleted);
                    Outcome::Deployed(StackInfo { status: "DELETE_COMPLETE".into(), ..info.clone() })
                }
                Err(e) => Outcome::Failed(e.to_string()),
            }
        })
    }
}

/// A layer's preparation: given the deployed stacks known so far (by layer), build its inputs.
pub type Prepare<'a> = dyn Fn(&str, &BTreeMap<String, StackInfo>) -> Result<Prepared, LayerError> + Sync + 'a;

impl Engine<'_> {
    /// Plan every layer of `order` (change sets for those whose inputs are known), at most
    /// `concurrency` at once. `deployed` holds the stacks that exist now, by layer.
    pub fn plan_all(
        &self,
        order: &[String],
        deployed: &BTreeMap<String, StackInfo>,
        prepare: &Prepare<'_>,
    ) -> BTreeMap<String, Result<(Prepared, LayerPlan), LayerError>> {
        let results = std::sync::Mutex::new(BTreeMap::new());
        schedule(order, &BTreeMap::new(), self.settings.concurrency, |layer| {
            let r = prepare(layer, deployed).and_then(|p| {
                let lp = self.plan_layer(&p)?;
                Ok((p, lp))
            });
            let ok = r.is_ok();
            results.lock().unwrap().insert(layer.to_string(), r);
            if ok {
                Outcome::Pending(String::new())
            } else {
                Outcome::Failed(String::new())
            }
        });
        results.into_inner().unwrap()
    }

    /// Execute planned layers in dependency order. A layer whose inputs changed since its plan (its
    /// dependencies' outputs are known now) is planned again first.
    pub fn execute_all(
        &self,
        order: &[String],
        deps: &BTreeMap<String, BTreeSet<String>>,
        planned: BTreeMap<String, (Prepared, LayerPlan)>,
        deployed: BTreeMap<String, StackInfo>,
        prepare: &Prepare<'_>,
    ) -> BTreeMap<String, Outcome> {
        let deployed = std::sync::Mutex::new(deployed);
        let planned = std::sync::Mutex::new(planned);
        schedule(order, deps, self.settings.concurrency, |layer| {
            let Some((_, lp)) = planned.lock().unwrap().remove(layer) else {
                return Outcome::Failed("no plan".into());
            };
            if self.run.interrupted() {
                self.discard(&lp);
                return Outcome::Skipped("interrupted (Ctrl-C) before it started".into());
            }
            let result = (|| -> Result<(StackInfo, bool), LayerError> {
                let known = deployed.lock().unwrap().clone();
                let p = prepare(layer, &known)?;
                let mut lp = lp;
                if lp.action == Action::Recreate {
                    self.delete(layer, &p.stack_name)?;
                    lp = self.plan_layer(&p)?;
                } else if p.digest() != lp.digest || !lp.waiting_for.is_empty() {
                    self.discard(&lp);
                    self.reporter.status(layer, &Step::PlanningAgain);
                    lp = self.plan_layer(&p)?;
                    if lp.has_changes() {
                        if let Err(why) = self.approver.approve_late(&lp) {
                            self.discard(&lp);
                            return Err(LayerError::Refused(why));
                        }
                    }
                }
                if lp.action == Action::NoChanges {
                    self.reporter.status(layer, &Step::UpToDate);
                    let info = match &lp.existing {
                        Some(info) if p.stackset.is_some() => info.clone(),
                        _ => self
                            .cfn
                            .describe_stack(&p.stack_name)?
                            .ok_or_else(|| LayerError::NotFound { stack: p.stack_name.clone() })?,
                    };
                    self.hooks.run(layer, HookPhase::AfterDeploy, Some(&info)).map_err(LayerError::Hook)?;
                    return Ok((info, false));
                }
                self.hooks.run(layer, HookPhase::BeforeDeploy, lp.existing.as_ref()).map_err(LayerError::Hook)?;
                let info = self.execute(&p, &lp)?;
                self.reporter.status(layer, &Step::Done(info.status.clone()));
                self.hooks.run(layer, HookPhase::AfterDeploy, Some(&info)).map_err(LayerError::AfterDeploy)?;
                Ok((info, true))
            })();
            match result {
                Ok((info, changed)) => {
                    deployed.lock().unwrap().insert(layer.to_string(), info.clone());
                    if !changed {
                        Outcome::UpToDate(info)
                    } else {
                        Outcome::Deployed(info)
                    }
                }
                Err(e) => {
                    self.reporter.status(layer, &Step::Failed);
                    Outcome::Failed(e.to_string())
                }
            }
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::fake::*;
    use super::super::layer::PreparedParam;
    use super::super::ports::{NoHooks, Preapproved, Silent};
    use super::super::prune::still_needed;
    use super::*;
    use crate::cfn::port::{ApiValue, PropertyChange};
    use crate::secret::Secret;

    fn settings() -> Settings {
        Settings {
            poll_initial: Duration::ZERO,
            poll_max: Duration::ZERO,
            timeout: Duration::from_secs(5),
            ..Settings::default()
        }
    }

    fn prepared(layer: &str) -> Prepared {
        Prepared {
            layer: layer.into(),
            stack_name: format!("app-qa-{layer}"),
            template_body: "Resources: {}".into(),
            template_url: None,
            parameters: vec![
                PreparedParam {
                    name: "Size".into(),
                    value: ApiValue::Plain("s".into()),
                    shown: "s".into(),
                    secret: false,
                    fingerprint: None,
                },
                PreparedParam {
                    name: "Password".into(),
                    value: ApiValue::Secret(Secret::new("canary-engine")),
                    shown: "<secret from keyring:x/y>".into(),
                    secret: true,
                    fingerprint: Some("v1".into()),
                },
            ],
            tags: BTreeMap::from([
                ("Env".to_string(), "qa".to_string()),
                (plan::SECRET_VERSIONS_TAG.to_string(), "Password=v1".to_string()),
            ]),
            capabilities: vec![],
            role_arn: None,
            termination_protection: None,
            notification_arns: vec![],
            rollback_alarms: vec![],
            rollback_minutes: None,
            disable_rollback: false,
            stack_policy: None,
            waiting_for: vec![],
            resources: vec![("Thing".into(), "AWS::SNS::Topic".into())],
            defaults: BTreeMap::new(),
            stackset: None,
            timeout: None,
        }
    }

    pub(crate) fn prepared_for_tests(layer: &str) -> Prepared {
        prepared(layer)
    }

    fn engine(fake: &Fake) -> Engine<'_> {
        Engine {
            cfn: fake,
            reporter: &Silent,
            settings: settings(),
            hooks: &NoHooks,
            approver: &Preapproved,
            run: Box::leak(Box::default()),
            described: Default::default(),
        }
    }

    struct Recorded(Mutex<Vec<String>>, Option<&'static str>);

    impl HookRunner for Recorded {
        fn run(&self, layer: &str, phase: HookPhase, stack: Option<&StackInfo>) -> Result<(), String> {
            self.0
                .lock()
                .unwrap()
                .push(format!("{layer} {phase:?} {}", stack.map(|s| s.status.as_str()).unwrap_or("-")));
            match self.1 {
                Some(fail) if fail == layer && phase == HookPhase::AfterDeploy => {
                    Err(format!("hook of `{layer}` failed"))
                }
                _ => Ok(()),
            }
        }
    }

    #[test]
    fn hooks_run_around_deploys_and_a_failing_hook_stops_dependents() {
        let fake = Fake::new();
        let hooks = Recorded(Mutex::new(Vec::new()), Some("net"));
        let e = Engine {
            cfn: &fake,
            reporter: &Silent,
            settings: settings(),
            hooks: &hooks,
            approver: &Preapproved,
            run: Box::leak(Box::default()),
            described: Default::default(),
        };
        let order: Vec<String> = ["net", "ddb", "app"].map(String::from).to_vec();
        let deps = BTreeMap::from([("app".to_string(), BTreeSet::from(["net".to_string()]))]);
        let prep = |l: &str, _: &BTreeMap<String, StackInfo>| Ok(prepared(l));
        let planned = e.plan_all(&order, &BTreeMap::new(), &prep).into_iter().map(|(k, v)| (k, v.unwrap())).collect();
        let out = e.execute_all(&order, &deps, planned, BTreeMap::new(), &prep);
        let calls = hooks.0.lock().unwrap().clone();
        assert!(
            calls.contains(&"net BeforeDeploy -".to_string())
                && calls.contains(&"net AfterDeploy CREATE_COMPLETE".to_string()),
            "{calls:?}"
        );
        assert!(calls.contains(&"ddb AfterDeploy CREATE_COMPLETE".to_string()));
        assert!(
            matches!(&out["net"], Outcome::Failed(m) if m.contains("deployed, but hook of `net` failed")),
            "{out:?}"
        );
        assert!(matches!(&out["app"], Outcome::Skipped(_)));
        assert!(!calls.iter().any(|c| c.starts_with("app")));
    }

    #[test]
    fn destroy_goes_in_reverse_and_keeps_what_a_protected_stack_needs() {
        let fake = Fake::new()
            .with_stack("app-qa-net", "CREATE_COMPLETE")
            .with_stack("app-qa-db", "CREATE_COMPLETE")
            .with_stack("app-qa-app", "CREATE_COMPLETE")
            .with_stack("app-qa-cache", "CREATE_COMPLETE");
        let hooks = Recorded(Mutex::new(Vec::new()), None);
        let e = Engine {
            cfn: &fake,
            reporter: &Silent,
            settings: settings(),
            hooks: &hooks,
            approver: &Preapproved,
            run: Box::leak(Box::default()),
            described: Default::default(),
        };
        let order: Vec<String> = ["net", "db", "cache", "app", "gone"].map(String::from).to_vec();
        let deps = BTreeMap::from([
            ("db".to_string(), BTreeSet::from(["net".to_string()])),
            ("app".to_string(), BTreeSet::from(["db".to_string()])),
            ("cache".to_string(), BTreeSet::from(["net".to_string()])),
        ]);
        let mut deployed: BTreeMap<String, StackInfo> = ["net", "db", "cache", "app"]
            .iter()
            .map(|l| (l.to_string(), fake.describe_stack(&format!("app-qa-{l}")).unwrap().unwrap()))
            .collect();
        deployed.get_mut("cache").unwrap().termination_protection = true;
        let out = e.destroy_all(&order, &deps, &deployed);
        assert!(matches!(&out["app"], Outcome::Deployed(i) if i.status == "DELETE_COMPLETE"), "{out:?}");
        assert!(matches!(&out["db"], Outcome::Deployed(_)));
        assert!(matches!(&out["cache"], Outcome::Failed(m) if m.contains("termination protection")), "{out:?}");
        assert!(matches!(&out["net"], Outcome::Skipped(_)), "net stays: the protected cache needs it: {out:?}");
        assert!(matches!(&out["gone"], Outcome::UpToDate(_)));
        let calls = fake.calls();
        let pos = |stack: &str| calls.iter().position(|c| c == &format!("DeleteStack {stack}")).unwrap();
        assert!(pos("app-qa-app") < pos("app-qa-db"), "{calls:?}");
        assert!(!calls.iter().any(|c| c == "DeleteStack app-qa-net" || c == "DeleteStack app-qa-cache"));
        let ran = hooks.0.lock().unwrap().clone();
        assert!(ran.contains(&"app BeforeDestroy CREATE_COMPLETE".to_string()), "{ran:?}");
        // The guard: a deployed layer outside the selection still needs net.
        let needed = still_needed(&["net".to_string()], &deps, &deployed);
        assert_eq!(needed, vec![("net".to_string(), "cache".to_string()), ("net".to_string(), "db".to_string())]);
    }

    #[test]
    fn termination_protection_follows_the_setting_both_ways() {
        let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
        fake.stacks.lock().unwrap().get_mut("app-qa-db").unwrap().termination_protection = true;
        let e = engine(&fake);
        let mut p = prepared("db");
        p.template_body = "Resources: {}\nOutputs:\n  X:\n    Value: x\n".into();
        p.termination_protection = Some(false);
        p.disable_rollback = true;
        let lp = e.plan_layer(&p).unwrap();
        e.execute(&p, &lp).unwrap();
        assert!(
            fake.calls().contains(&"UpdateTerminationProtection app-qa-db false".to_string()),
            "{:?}",
            fake.calls()
        );
        // None leaves it as it is.
        let mut p = prepared("db");
        p.template_body = "Resources: {}\nOutputs:\n  Y:\n    Value: y\n".into();
        let lp = e.plan_layer(&p).unwrap();
        e.execute(&p, &lp).unwrap();
        assert_eq!(fake.calls().iter().filter(|c| c.starts_with("UpdateTerminationProtection")).count(), 1);
    }

    #[test]
    fn a_new_stack_is_created_through_a_create_change_set() {
        let fake = Fake::new();
        let e = engine(&fake);
        let mut p = prepared("db");
        p.termination_protection = Some(true);
        let lp = e.plan_layer(&p).unwrap();
        assert_eq!(lp.action, Action::Create);
        assert_eq!(lp.changes.len(), 1);
        assert!(lp.parameters.iter().any(|c| c.name == "Password" && c.new.as_deref() == Some("(secret)")));
        let info = e.execute(&p, &lp).unwrap();
        assert_eq!(info.status, "CREATE_COMPLETE");
        assert!(fake.calls().iter().any(|c| c == "CreateChangeSet app-qa-db Create"));
        assert!(fake.calls().iter().any(|c| c == "UpdateTerminationProtection app-qa-db true"));
        assert!(!format!("{lp:?}").contains("canary"));
    }

    #[test]
    fn empty_change_sets_are_no_changes_in_both_forms() {
        let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
        fake.script_change_set("app-qa-db", OnChangeSet::FailedNoChanges);
        fake.script_change_set("app-qa-db", OnChangeSet::ValidationNoChanges);
        let e = engine(&fake);
        let p = prepared("db");
        let first = e.plan_layer(&p).unwrap();
        assert_eq!(first.action, Action::NoChanges);
        assert!(fake.calls().iter().any(|c| c.starts_with("DeleteChangeSet")), "the empty change set is deleted");
        assert_eq!(e.plan_layer(&p).unwrap().action, Action::NoChanges);
    }

    #[test]
    fn a_complete_change_set_that_changes_nothing_is_no_changes() {
        let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
        {
            let mut stacks = fake.stacks.lock().unwrap();
            let s = stacks.get_mut("app-qa-db").unwrap();
            s.parameters =
                BTreeMap::from([("Size".to_string(), "s".to_string()), ("Password".to_string(), "****".to_string())]);
            s.tags = BTreeMap::from([
                ("Env".to_string(), "qa".to_string()),
                (plan::SECRET_VERSIONS_TAG.to_string(), "Password=v1".to_string()),
            ]);
        }
        fake.script_change_set("app-qa-db", OnChangeSet::Changes(vec![]));
        let lp = engine(&fake).plan_layer(&prepared("db")).unwrap();
        assert_eq!(lp.action, Action::NoChanges);
        assert!(lp.change_set.is_none());
        // A parameter change with no resource change is still an update (the stack's parameters change).
        fake.script_change_set("app-qa-db", OnChangeSet::Changes(vec![]));
        let mut p = prepared("db");
        p.parameters[0].value = ApiValue::Plain("m".into());
        p.parameters[0].shown = "m".into();
        assert_eq!(engine(&fake).plan_layer(&p).unwrap().action, Action::Update);
        // A template change with no resource change (a new output) is an update, shown as such.
        fake.script_change_set("app-qa-db", OnChangeSet::Changes(vec![]));
        let mut p = prepared("db");
        p.template_body = "Resources: {}\nOutputs:\n  Size:\n    Value: s\n".into();
        let lp = engine(&fake).plan_layer(&p).unwrap();
        assert_eq!(lp.action, Action::Update);
        assert!(lp.template_changed && lp.change_set.is_some());
        assert!(plan::to_text("qa", &[lp]).contains("template: changes outside resources"));
        // Formatting alone is no change.
        fake.script_change_set("app-qa-db", OnChangeSet::Changes(vec![]));
        let mut p = prepared("db");
        p.template_body = "{\"Resources\": {}}".into();
        assert_eq!(engine(&fake).plan_layer(&p).unwrap().action, Action::NoChanges);
        // A secret whose version changed, or cannot be told, is an update even with no visible change.
        for fp in [Some("v2"), None] {
            fake.script_change_set("app-qa-db", OnChangeSet::Changes(vec![]));
            let mut p = prepared("db");
            p.parameters[1].fingerprint = fp.map(str::to_string);
            p.tags = BTreeMap::from([
                ("Env".to_string(), "qa".to_string()),
                (plan::SECRET_VERSIONS_TAG.to_string(), "Password=v1".to_string()),
            ]);
            let lp = engine(&fake).plan_layer(&p).unwrap();
            assert_eq!(lp.action, Action::Update, "{fp:?}");
            let pw = lp.parameters.iter().find(|c| c.name == "Password").unwrap();
            assert_eq!(pw.new.as_deref(), Some(if fp.is_some() { "changed" } else { "may have changed" }));
        }
    }

    #[test]
    fn a_rejected_change_set_is_an_error_with_the_reason() {
        let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
        fake.script_change_set("app-qa-db", OnChangeSet::Rejected("Template format error: bad"));
        let err = engine(&fake).plan_layer(&prepared("db")).unwrap_err();
        assert!(err.to_string().contains("Template format error: bad"), "{}", err.to_string());
    }

    #[test]
    fn a_failed_create_names_the_root_cause_first_and_explains_rollback_complete() {
        let fake = Fake::new();
        fake.script_execute(
            "app-qa-db",
            OnExecute::FailResource("Database", "AWS::RDS::DBInstance", "DB instance class not available"),
        );
        let e = engine(&fake);
        let p = prepared("db");
        let lp = e.plan_layer(&p).unwrap();
        let err = e.execute(&p, &lp).unwrap_err().to_string();
        assert!(err.starts_with("Database (AWS::RDS::DBInstance) failed: DB instance class not available"), "{err}");
        assert!(err.contains("then Other (AWS::SNS::Topic): Resource creation cancelled"), "{err}");
        assert!(err.contains("ROLLBACK_COMPLETE") && err.contains("--recreate"), "{err}");
    }

    #[test]
    fn rollback_complete_blocks_until_recreate() {
        let fake = Fake::new().with_stack("app-qa-db", "ROLLBACK_COMPLETE");
        let err = engine(&fake).plan_layer(&prepared("db")).unwrap_err();
        let wanted = LayerError::FailedCreate { stack: "app-qa-db".into(), status: "ROLLBACK_COMPLETE".into() };
        assert_eq!(err, wanted, "the kind of failure, not only its words");
        let err = err.to_string();
        assert!(err.contains("ROLLBACK_COMPLETE") && err.contains("--recreate"), "{err}");
        assert!(!fake.calls().iter().any(|c| c.starts_with("CreateChangeSet")));

        let mut e = engine(&fake);
        e.settings.recreate = true;
        let p = prepared("db");
        let lp = e.plan_layer(&p).unwrap();
        assert_eq!(lp.action, Action::Recreate);
        let order = vec!["db".to_string()];
        let prep = |_: &str, _: &BTreeMap<String, StackInfo>| Ok(prepared("db"));
        let out = e.execute_all(
            &order,
            &BTreeMap::new(),
            BTreeMap::from([("db".to_string(), (p, lp))]),
            BTreeMap::new(),
            &prep,
        );
        assert!(matches!(&out["db"], Outcome::Deployed(i) if i.status == "CREATE_COMPLETE"), "{out:?}");
        let calls = fake.calls();
        let del = calls.iter().position(|c| c == "DeleteStack app-qa-db").expect("deleted");
        let create = calls.iter().position(|c| c == "CreateChangeSet app-qa-db Create").expect("created");
        assert!(del < create);
    }

    /// Refuses every late change set, and remembers what it was shown.
    struct Refuse(Mutex<Vec<String>>);

    impl Approver for Refuse {
        fn approve_late(&self, plan: &LayerPlan) -> Result<(), String> {
            self.0.lock().unwrap().push(plan.layer.clone());
            Err("not approved".into())
        }
    }

    #[test]
    fn a_change_set_made_after_the_confirmation_is_asked_about_and_not_executed_unapproved() {
        let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
        let refuse = Refuse(Mutex::new(Vec::new()));
        let mut e = engine(&fake);
        e.approver = &refuse;
        let p = prepared("db");
        let lp = e.plan_layer(&p).unwrap();
        // The layer's inputs changed after the plan was approved: it is planned again, then asked about.
        let changed = |_: &str, _: &BTreeMap<String, StackInfo>| {
            let mut p = prepared("db");
            p.parameters[0].value = ApiValue::Plain("m".into());
            p.parameters[0].shown = "m".into();
            Ok(p)
        };
        let order = vec!["db".to_string()];
        let out = e.execute_all(
            &order,
            &BTreeMap::new(),
            BTreeMap::from([("db".to_string(), (p, lp))]),
            BTreeMap::new(),
            &changed,
        );
        assert!(matches!(&out["db"], Outcome::Failed(m) if m == "not approved"), "{out:?}");
        assert_eq!(*refuse.0.lock().unwrap(), vec!["db".to_string()]);
        let calls = fake.calls();
        assert!(!calls.iter().any(|c| c.starts_with("ExecuteChangeSet")), "{calls:?}");
        assert_eq!(
            calls.iter().filter(|c| c.starts_with("DeleteChangeSet")).count(),
            2,
            "both change sets discarded: {calls:?}"
        );
        // The same plan, unchanged inputs: nothing is asked.
        let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
        let refuse = Refuse(Mutex::new(Vec::new()));
        let mut e = engine(&fake);
        e.approver = &refuse;
        let p = prepared("db");
        let lp = e.plan_layer(&p).unwrap();
        let same = |_: &str, _: &BTreeMap<String, StackInfo>| Ok(prepared("db"));
        let out = e.execute_all(
            &order,
            &BTreeMap::new(),
            BTreeMap::from([("db".to_string(), (p, lp))]),
            BTreeMap::new(),
            &same,
        );
        assert!(matches!(&out["db"], Outcome::Deployed(_)), "{out:?}");
        assert!(refuse.0.lock().unwrap().is_empty());
    }

    #[test]
    fn update_rollback_failed_explains_the_way_out() {
        let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
        fake.script_execute("app-qa-db", OnExecute::FailRollback("Database", "AWS::RDS::DBInstance", "storage full"));
        let e = engine(&fake);
        let p = prepared("db");
        let lp = e.plan_layer(&p).unwrap();
        let err = e.execute(&p, &lp).unwrap_err().to_string();
        assert!(err.starts_with("Database (AWS::RDS::DBInstance) failed: storage full"), "{err}");
        assert!(err.contains("UPDATE_ROLLBACK_FAILED"), "{err}");
        let next = e.plan_layer(&p).unwrap_err().to_string();
        assert!(next.contains("continue-update-rollback --stack-name app-qa-db"), "{next}");
    }

    #[test]
    fn a_failed_update_rolls_back_and_says_so() {
        let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
        fake.script_execute(
            "app-qa-db",
            OnExecute::FailResource("Database", "AWS::RDS::DBInstance", "invalid engine version"),
        );
        let e = engine(&fake);
        let p = prepared("db");
        let lp = e.plan_layer(&p).unwrap();
        let err = e.execute(&p, &lp).unwrap_err().to_string();
        assert!(err.contains("UPDATE_ROLLBACK_COMPLETE") && err.contains("previous version is back"), "{err}");
    }

    #[test]
    fn property_changes_reach_the_plan_and_a_secret_value_never_does() {
        let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
        let detail = |name: &str, source: &str, entity: Option<&str>, before: &str, after: &str| PropertyChange {
            attribute: "Properties".into(),
            name: Some(name.into()),
            requires_recreation: Some("Never".into()),
            change_source: Some(source.into()),
            causing_entity: entity.map(String::from),
            before: Some(before.into()),
            after: Some(after.into()),
            ..Default::default()
        };
        fake.script_change_set(
            "app-qa-db",
            OnChangeSet::Detailed(vec![ResourceChange {
                action: "Modify".into(),
                logical_id: "Database".into(),
                resource_type: "AWS::RDS::DBInstance".into(),
                replacement: Some("False".into()),
                details: vec![
                    detail("MasterUserPassword", "ParameterReference", Some("Password"), "canary-old", "canary-engine"),
                    detail("DBInstanceClass", "ParameterReference", Some("Size"), "db.t3.micro", "db.t3.small"),
                ],
                nested_change_set: None,
            }]),
        );
        let e = engine(&fake);
        let lp = e.plan_layer(&prepared("db")).unwrap();
        let text = plan::to_text("qa", std::slice::from_ref(&lp));
        let json = serde_json::to_string(&lp).unwrap();
        assert!(text.contains("~ DBInstanceClass: db.t3.micro -> db.t3.small  (in place; parameter Size)"), "{text}");
        assert!(text.contains("~ MasterUserPassword: (secret, masked)"), "{text}");
        assert!(!text.contains("canary") && !json.contains("canary"), "{text}\n{json}");
    }

    /// A fake stack deployed exactly as `prepared("db")` would deploy it.
    fn deployed_as_prepared(fake: &Fake) {
        let p = prepared("db");
        let mut stacks = fake.stacks.lock().unwrap();
        let s = stacks.get_mut("app-qa-db").unwrap();
        s.parameters =
            BTreeMap::from([("Size".to_string(), "s".to_string()), ("Password".to_string(), "****".to_string())]);
        s.tags = p.tags.clone();
    }

    #[test]
    fn a_no_op_makes_no_change_set_unless_something_cannot_be_compared() {
        let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
        deployed_as_prepared(&fake);
        let lp = engine(&fake).plan_layer(&prepared("db")).unwrap();
        assert_eq!(lp.action, Action::NoChanges);
        let calls = fake.calls();
        assert_eq!(calls, vec!["DescribeStacks app-qa-db", "GetTemplate app-qa-db"], "one describe, one template read");
        // A stack the caller just described is not described again.
        let fake2 = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
        deployed_as_prepared(&fake2);
        let e = engine(&fake2);
        let info = fake2.stacks.lock().unwrap().get("app-qa-db").cloned();
        e.described.lock().unwrap().insert("app-qa-db".into(), info);
        assert_eq!(e.plan_layer(&prepared("db")).unwrap().action, Action::NoChanges);
        assert_eq!(fake2.calls(), vec!["GetTemplate app-qa-db"], "the template read only");
        // Each thing that cannot be compared without CloudFormation gets a change set.
        let unversioned = |p: &mut Prepared| p.parameters[1].fingerprint = None;
        let dynamic = |p: &mut Prepared| {
            p.template_body =
                "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: '{{resolve:ssm:/name}}'}\n"
                    .into()
        };
        let ssm_typed = |p: &mut Prepared| {
            p.template_body =
                "Parameters:\n  Size: {Type: 'AWS::SSM::Parameter::Value<String>'}\nResources: {}\n".into()
        };
        for (what, change) in [
            ("a secret without versions", &unversioned as &dyn Fn(&mut Prepared)),
            ("a dynamic reference", &dynamic),
            ("an SSM-typed parameter", &ssm_typed),
        ] {
            let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
            deployed_as_prepared(&fake);
            let mut p = prepared("db");
            change(&mut p);
            fake.templates.lock().unwrap().insert("app-qa-db".into(), p.template_body.clone());
            let _ = engine(&fake).plan_layer(&p).unwrap();
            assert!(fake.calls().iter().any(|c| c.starts_with("CreateChangeSet")), "{what}: {:?}", fake.calls());
        }
    }

    #[test]
    fn a_root_cause_pages_deep_in_a_long_rollback_is_still_named() {
        let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
        for i in 0..150 {
            fake.event("app-qa-db", &format!("Old{i}"), "AWS::SQS::Queue", "UPDATE_COMPLETE", None);
        }
        fake.script_execute(
            "app-qa-db",
            OnExecute::FailDeep("Database", "AWS::RDS::DBInstance", "invalid engine version", 300),
        );
        let e = engine(&fake);
        let p = prepared("db");
        let lp = e.plan_layer(&p).unwrap();
        let err = e.execute(&p, &lp).unwrap_err().to_string();
        assert!(err.starts_with("Database (AWS::RDS::DBInstance) failed: invalid engine version"), "{err}");
        let pages = fake.calls().iter().filter(|c| c.starts_with("DescribeStackEvents app-qa-db page")).count();
        assert!(pages >= 6, "the failure is 600 events deep: followed over pages ({pages})");
        assert!(
            !fake.calls().iter().any(|c| c == "DescribeStackEvents app-qa-db page 9"),
            "stopped at the events seen before the execution: {:?}",
            fake.calls()
        );
    }

    #[test]
    fn an_operation_in_progress_is_waited_for_never_clobbered() {
        let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
        fake.busy.lock().unwrap().insert(
            "app-qa-db".into(),
            ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"].map(String::from).into(),
        );
        let e = engine(&fake);
        let lp = e.plan_layer(&prepared("db")).unwrap();
        assert_eq!(lp.action, Action::Update);
        let calls = fake.calls();
        let describes = calls
            .iter()
            .take_while(|c| !c.starts_with("CreateChangeSet"))
            .filter(|c| c.starts_with("DescribeStacks"))
            .count();
        assert_eq!(describes, 3, "waited through both in-progress statuses: {calls:?}");
    }

    #[test]
    fn an_operation_that_never_finishes_times_out_with_a_clear_message() {
        let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
        fake.busy
            .lock()
            .unwrap()
            .insert("app-qa-db".into(), std::iter::repeat_n("UPDATE_IN_PROGRESS".to_string(), 100_000).collect());
        let mut e = engine(&fake);
        e.settings.timeout = Duration::from_millis(50);
        // Real polls (1 ms), so the queue of busy answers outlasts the timeout on any machine.
        e.settings.poll_initial = Duration::from_millis(1);
        e.settings.poll_max = Duration::from_millis(1);
        let err = e.plan_layer(&prepared("db")).unwrap_err().to_string();
        assert!(err.contains("another operation is still running"), "{err}");
        assert!(!fake.calls().iter().any(|c| c.starts_with("CreateChangeSet")));
    }

    #[test]
    fn an_update_past_timeout_minutes_is_cancelled_and_rolled_back_a_create_is_reported() {
        let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
        let e = engine(&fake);
        let mut p = prepared("db");
        p.timeout = Some(Duration::from_millis(30));
        let lp = e.plan_layer(&p).unwrap();
        fake.busy
            .lock()
            .unwrap()
            .insert("app-qa-db".into(), std::iter::repeat_n("UPDATE_IN_PROGRESS".to_string(), 100_000).collect());
        let err = e.execute(&p, &lp).unwrap_err();
        assert!(err.to_string().contains("still UPDATE_IN_PROGRESS after timeout_minutes"), "{}", err.to_string());
        assert!(
            err.to_string()
                .contains("cancelled the update and CloudFormation rolled it back (UPDATE_ROLLBACK_COMPLETE)"),
            "{}",
            err.to_string()
        );
        assert!(fake.calls.lock().unwrap().iter().any(|c| c == "CancelUpdateStack app-qa-db"));

        // A create is never cancelled: the layer fails and says where to look.
        let fake = Fake::new();
        let e = engine(&fake);
        let mut p = prepared("web");
        p.timeout = Some(Duration::from_millis(30));
        let lp = e.plan_layer(&p).unwrap();
        fake.busy
            .lock()
            .unwrap()
            .insert("app-qa-web".into(), std::iter::repeat_n("CREATE_IN_PROGRESS".to_string(), 100_000).collect());
        let err = e.execute(&p, &lp).unwrap_err();
        assert!(
            err.to_string().contains("still CREATE_IN_PROGRESS after timeout_minutes")
                && err.to_string().contains("cannot be cancelled"),
            "{}",
            err.to_string()
        );
        assert!(!fake.calls.lock().unwrap().iter().any(|c| c.starts_with("CancelUpdateStack")));
    }

    #[test]
    fn throttling_becomes_one_clear_sentence() {
        let fake = Fake::new();
        *fake.throttle.lock().unwrap() = 1;
        let err = engine(&fake).plan_layer(&prepared("db")).unwrap_err().to_string();
        assert!(err.contains("throttling DescribeStacks") && err.contains("--concurrency"), "{err}");
    }

    #[test]
    fn dependents_of_a_failure_are_skipped_and_independent_layers_continue() {
        let fake = Fake::new();
        fake.script_execute("app-qa-net", OnExecute::FailResource("VPC", "AWS::EC2::VPC", "CIDR overlaps"));
        let e = engine(&fake);
        let order: Vec<String> = ["net", "ddb", "cluster", "service"].map(String::from).to_vec();
        let deps = BTreeMap::from([
            ("cluster".to_string(), BTreeSet::from(["net".to_string()])),
            ("service".to_string(), BTreeSet::from(["cluster".to_string()])),
        ]);
        let prep = |l: &str, _: &BTreeMap<String, StackInfo>| Ok(prepared(l));
        let planned: BTreeMap<String, (Prepared, LayerPlan)> =
            e.plan_all(&order, &BTreeMap::new(), &prep).into_iter().map(|(k, v)| (k, v.unwrap())).collect();
        let out = e.execute_all(&order, &deps, planned, BTreeMap::new(), &prep);
        assert!(matches!(&out["net"], Outcome::Failed(m) if m.contains("CIDR overlaps")), "{out:?}");
        assert!(matches!(&out["ddb"], Outcome::Deployed(_)));
        assert!(matches!(&out["cluster"], Outcome::Skipped(m) if m.contains("`net`")));
        assert!(matches!(&out["service"], Outcome::Skipped(m) if m.contains("`cluster`")));
        assert!(!fake.calls().iter().any(|c| c.contains("app-qa-cluster") && c.starts_with("Execute")));
    }

    #[test]
    fn a_second_run_finishes_the_job() {
        let fake = Fake::new();
        fake.script_execute("app-qa-net", OnExecute::FailResource("VPC", "AWS::EC2::VPC", "limit exceeded"));
        let mut e = engine(&fake);
        let order: Vec<String> = ["net", "app"].map(String::from).to_vec();
        let deps = BTreeMap::from([("app".to_string(), BTreeSet::from(["net".to_string()]))]);
        let prep = |l: &str, _: &BTreeMap<String, StackInfo>| Ok(prepared(l));
        let run = |e: &Engine| {
            let planned =
                e.plan_all(&order, &BTreeMap::new(), &prep).into_iter().map(|(k, v)| (k, v.unwrap())).collect();
            e.execute_all(&order, &deps, planned, BTreeMap::new(), &prep)
        };
        let first = run(&e);
        assert!(!first["net"].ok() && matches!(first["app"], Outcome::Skipped(_)));
        e.settings.recreate = true;
        let second = run(&e);
        assert!(second.values().all(|o| matches!(o, Outcome::Deployed(_))), "{second:?}");
    }

    #[test]
    fn a_layer_whose_inputs_changed_is_planned_again_before_executing() {
        let fake = Fake::new();
        let e = engine(&fake);
        let mut waiting = prepared("app");
        waiting.waiting_for = vec!["net".into()];
        waiting.parameters[0].value = ApiValue::Placeholder("<output VpcId of layer net, not deployed yet>".into());
        let lp = e.plan_layer(&waiting).unwrap();
        assert_eq!(lp.action, Action::Create);
        assert!(lp.change_set.is_none(), "no change set while inputs are placeholders");
        // Were the wait forgotten, the placeholder would still never be sent: the request is refused.
        let mut forgotten = waiting.clone();
        forgotten.waiting_for.clear();
        let err = e.plan_layer(&forgotten).unwrap_err().to_string();
        assert!(err.contains("is still a placeholder") && err.contains("was not sent"), "{err}");
        let prep = |l: &str, _: &BTreeMap<String, StackInfo>| Ok(prepared(l));
        let out = e.execute_all(
            &["app".to_string()],
            &BTreeMap::new(),
            BTreeMap::from([("app".to_string(), (waiting, lp))]),
            BTreeMap::new(),
            &prep,
        );
        assert!(matches!(&out["app"], Outcome::Deployed(_)), "{out:?}");
    }

    use std::sync::Mutex;
}
