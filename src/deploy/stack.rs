//! The stack path of a deploy: plan a layer's stack through a change set (nested stacks' changes under
//! their resource), execute it and follow the stack by its events to the end, explain a failure root
//! cause first, cancel an update past its time, and delete a stack.

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use super::changes::{Level, Masking};
use super::driver::{parameter_plan, Driver};
use super::layer::{LayerError, Prepared};
use super::plan::{self, Action, Change, LayerPlan};
use super::step::Step;
use crate::cfn::pacing::{self, Pacer};
use crate::cfn::port::{
    first_page, ChangeSetInfo, ChangeSetRequest, ChangeSetType, PortError, ResourceChange, StackEvent, StackInfo,
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

/// A layer deployed as a plain stack.
pub struct StackPath<'a> {
    pub d: &'a Driver<'a>,
}

fn change_set_name() -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("stackc-{}-{:06}", t.as_secs(), t.subsec_micros())
}

impl StackPath<'_> {
    /// Describe, waiting out any operation in progress (never interrupting it); `known` is a state the
    /// caller has just described, taken as it is unless an operation was in progress then.
    pub fn settled(
        &self,
        layer: &str,
        stack: &str,
        known: Option<Option<StackInfo>>,
    ) -> Result<Option<StackInfo>, LayerError> {
        let start = Instant::now();
        let mut attempt = 0;
        if let Some(info) = known.filter(|i| i.as_ref().is_none_or(|i| !stack_state::in_progress(&i.status))) {
            return Ok(info);
        }
        loop {
            let info = self.d.cfn.describe_stack(stack)?;
            match info.as_ref().map(|i| classify(Some(&i.status), stack)) {
                Some(StackState::Busy) => {
                    let status = info.as_ref().map(|i| i.status.clone()).unwrap_or_default();
                    if start.elapsed() > self.d.settings.timeout {
                        return Err(LayerError::Busy { stack: stack.to_string(), status });
                    }
                    if attempt == 0 {
                        self.d.reporter.status(layer, &Step::Waiting(status.to_string()));
                    }
                    self.d.sleep(attempt);
                    attempt += 1;
                }
                _ => return Ok(info),
            }
        }
    }

    /// Plan one stack layer from its stack as it is: create a change set and read what it would do (or
    /// plan from the template when the layer waits for undeployed dependencies).
    pub fn plan(&self, p: &Prepared, existing: Option<StackInfo>) -> Result<LayerPlan, LayerError> {
        let (action, kind) = self.action_for(p, existing.as_ref())?;
        let updating = existing.as_ref().filter(|_| action == Action::Update);
        let (parameters, unknown_secrets) = parameter_plan(p, updating);
        // Outputs, conditions, metadata and the description change with no resource change: compare the
        // deployed template itself (normalised), as `status` does.
        let template_changed = action == Action::Update
            && p.waiting_for.is_empty()
            && self
                .d
                .cfn
                .get_template(&p.stack_name)
                .map_or(true, |t| !diff::templates(&t, &p.template_body).is_empty());
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
        let top = template.map(|t| Level { body: t.body, secret_parameters });
        self.nested_changes(p, top.as_ref(), &info.changes, &mut lp.changes, 0);
        if kind == ChangeSetType::Update
            && lp.changes.is_empty()
            && !unknown_secrets
            && plan::reasons(lp.template_changed, &lp.parameters, &lp.tags, &lp.waiting_for).is_empty()
        {
            // Nothing to do: no resource, template, parameter, tag or secret would change.
            let _ = self.d.cfn.delete_change_set(&p.stack_name, &id);
            self.d.run.closed(&id);
            return Ok(lp.unchanged());
        }
        lp.change_set = Some(id);
        Ok(lp)
    }

    /// Each nested stack's changes under its resource: its own change set (made with IncludeNestedStacks)
    /// described in turn, masked by the nested stack's own template (`Level::child`); where that template is
    /// not known, no value is shown.
    fn nested_changes(
        &self,
        p: &Prepared,
        level: Option<&Level>,
        changes: &[ResourceChange],
        shown: &mut [Change],
        depth: usize,
    ) {
        if depth >= 5 {
            return;
        }
        let blind = BTreeSet::new();
        for (c, s) in changes.iter().zip(shown.iter_mut()) {
            let Some(arn) = &c.nested_change_set else { continue };
            let child = level.and_then(|l| l.child(&c.logical_id, &p.nested_templates));
            let masking = child.as_ref().map_or(Masking { secret_parameters: &blind, template: None }, Level::masking);
            match self.d.cfn.describe_change_set(&p.stack_name, arn) {
                Ok(info) => {
                    s.nested = info.changes.iter().map(|n| Change::of(n, &masking)).collect();
                    self.nested_changes(p, child.as_ref(), &info.changes, &mut s.nested, depth + 1);
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
            StackState::FailedCreate if self.d.settings.recreate => Ok((Action::Recreate, ChangeSetType::Create)),
            StackState::FailedCreate => Err(LayerError::FailedCreate {
                stack: p.stack_name.clone(),
                status: existing.map(|e| e.status.clone()).unwrap_or_default(),
            }),
            StackState::RollbackFailed => Err(LayerError::RollbackFailed {
                stack: p.stack_name.clone(),
                env: p.tags.get("stackc:env").cloned().unwrap_or_else(|| "<env>".into()),
                layer: p.layer.clone(),
            }),
            StackState::Stuck(why) => Err(LayerError::Stuck(why)),
            StackState::Busy => unreachable!("settled_stack waits"),
        }
    }

    /// Create a change set and wait for it; None when CloudFormation says there is nothing to change
    /// (in either of its ways of saying so).
    fn make_change_set(
        &self,
        p: &Prepared,
        kind: ChangeSetType,
    ) -> Result<Option<(String, ChangeSetInfo)>, LayerError> {
        self.d.reporter.status(&p.layer, &Step::CreatingChangeSet);
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
        let Some((created, in_flight)) = self.d.run.creating(|| self.d.cfn.create_change_set(&request)) else {
            return Err(LayerError::Interrupted);
        };
        let id = match created {
            Ok(id) => {
                self.d.run.opened(&p.stack_name, &id, kind == ChangeSetType::Create);
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
            let info = self.d.cfn.describe_change_set(&p.stack_name, &id)?;
            if !matches!(info.status.as_str(), "CREATE_PENDING" | "CREATE_IN_PROGRESS") {
                break info;
            }
            if start.elapsed() > self.d.settings.timeout {
                return Err(LayerError::ChangeSetNotCreated { stack: p.stack_name.clone() });
            }
            self.d.sleep(attempt);
            attempt += 1;
        };
        if info.status == "FAILED" {
            let reason = info.status_reason.clone().unwrap_or_default();
            let _ = self.d.cfn.delete_change_set(&p.stack_name, &id);
            self.d.run.closed(&id);
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
            self.d.run.closed(cs);
            let _ = self.d.cfn.delete_change_set(&lp.stack_name, cs);
            if lp.action == Action::Create {
                if let Ok(Some(info)) = self.d.cfn.describe_stack(&lp.stack_name) {
                    if info.status == "REVIEW_IN_PROGRESS" {
                        let _ = self.d.cfn.delete_stack(&lp.stack_name);
                    }
                }
            }
        }
    }

    /// Execute a planned change set and follow the stack to the end.
    pub fn execute(&self, p: &Prepared, lp: &LayerPlan) -> Result<StackInfo, LayerError> {
        let cs = lp.change_set.as_ref().ok_or_else(|| LayerError::NoChangeSet)?;
        let seen: HashSet<String> =
            self.d.cfn.stack_events(&p.stack_name, &first_page).unwrap_or_default().into_iter().map(|e| e.id).collect();
        self.d.reporter.status(&p.layer, &Step::Executing { update: lp.action == Action::Update });
        self.d.run.closed(cs);
        if let Err(e) = self.d.cfn.execute_change_set(&p.stack_name, cs, p.disable_rollback) {
            let _ = self.d.cfn.delete_change_set(&p.stack_name, cs);
            return Err(self.explain_failure(p, &seen, Some(e)));
        }
        let limit = p.timeout.map_or(self.d.settings.timeout, |t| t.min(self.d.settings.timeout));
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
            self.d.cfn.set_termination_protection(&p.stack_name, wanted)?;
        }
        if let Some(policy) = &p.stack_policy {
            self.d.cfn.set_stack_policy(&p.stack_name, policy)?;
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
        self.d.reporter.status(&p.layer, &Step::Cancelling(after.to_string()));
        if let Err(e) = self.d.cfn.cancel_update_stack(&p.stack_name) {
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
        match self.follow_for(layer, stack, seen, self.d.settings.timeout)? {
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
        let mut pacer = Pacer::new(self.d.settings.poll_initial, self.d.settings.poll_max);
        let mut look = 0u64;
        loop {
            look += 1;
            let mut ended = look % 8 == 0;
            match self.d.cfn.stack_events(stack, &|e| seen.contains(&e.id)) {
                Ok(events) => {
                    for e in events.iter().rev() {
                        if seen.insert(e.id.clone()) {
                            self.d.reporter.event(layer, e);
                            pacer.saw(stack, e);
                            ended |= pacing::ends_operation(stack, e);
                        }
                    }
                }
                Err(_) => ended = true,
            }
            let timed_out = start.elapsed() > limit;
            if ended || timed_out {
                match self.d.cfn.describe_stack(stack).map_err(|e| LayerError::following(stack, e))? {
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
        let events = self.d.cfn.stack_events(&p.stack_name, &|e| before.contains(&e.id)).unwrap_or_default();
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
        let status = self.d.cfn.describe_stack(&p.stack_name).ok().flatten();
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

    /// Continue a rollback that failed (`skip`: resources left as they are) and follow the stack until the
    /// rollback ends: UPDATE_ROLLBACK_COMPLETE, from which the next deploy updates it.
    pub fn continue_rollback(&self, layer: &str, stack: &str, skip: &[String]) -> Result<StackInfo, LayerError> {
        let seen: HashSet<String> =
            self.d.cfn.stack_events(stack, &first_page).unwrap_or_default().into_iter().map(|e| e.id).collect();
        self.d.reporter.status(layer, &Step::ContinuingRollback);
        self.d.cfn.continue_update_rollback(stack, skip)?;
        match self.follow(layer, stack, seen)? {
            Some(i) if i.status == "UPDATE_ROLLBACK_COMPLETE" => Ok(i),
            Some(i) => {
                Err(LayerError::RollbackEnded { stack: stack.to_string(), status: i.status, reason: i.status_reason })
            }
            None => Err(LayerError::Disappeared { what: "stack", name: stack.to_string() }),
        }
    }

    /// Delete a stack (for --recreate and destroy) and wait until it is gone.
    pub fn delete(&self, layer: &str, stack: &str) -> Result<(), LayerError> {
        let seen: HashSet<String> =
            self.d.cfn.stack_events(stack, &first_page).unwrap_or_default().into_iter().map(|e| e.id).collect();
        self.d.reporter.status(layer, &Step::Deleting);
        self.d.cfn.delete_stack(stack)?;
        match self.follow(layer, stack, seen)? {
            None => Ok(()),
            Some(i) if i.status == "DELETE_COMPLETE" => Ok(()),
            Some(i) => {
                Err(LayerError::DeleteEnded { stack: stack.to_string(), status: i.status, reason: i.status_reason })
            }
        }
    }
}

/// Whether the deployed stack can be told equal to `t` without a change set: CloudFormation resolves
/// dynamic references (`{{resolve:...}}`) and SSM-typed parameters itself, at every deploy, so a
/// template with either always gets a change set.
fn comparable(t: &Template) -> bool {
    let ssm_typed = t.parameters().iter().any(|p| p.kind.starts_with("AWS::SSM::Parameter::"));
    !ssm_typed && !t.body.to_string().contains("{{resolve:")
}
