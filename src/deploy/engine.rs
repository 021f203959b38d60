//! The deploy engine: plan every selected layer (a stack through a change set, a stack set by comparing
//! it), then execute them in dependency order, independent layers at once (bounded), with the layer's
//! hooks around each deploy. The stack path (`stack`) and the stack-set path (`stackset`) do the work on
//! a shared `Driver`; the engine chooses between them. It speaks only to the CloudFormation port, so
//! scripted fakes can drive every path.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use super::driver::Driver;
use super::layer::{LayerError, Outcome, Prepared};
use super::plan::{Action, LayerPlan};
use super::ports::{Approver, HookPhase, HookRunner};
use super::scheduler::schedule;
use super::stack::StackPath;
use super::stackset::StackSetPath;
use super::step::Step;
use crate::cfn::port::StackInfo;
use crate::cfn::stack_state;

pub struct Engine<'a> {
    pub driver: Driver<'a>,
    pub hooks: &'a dyn HookRunner,
    /// Asked about a change set made after the user approved the plan.
    pub approver: &'a dyn Approver,
    /// Stacks the caller has just described (None: there is none), by stack name: the first plan of each
    /// takes its state from here instead of describing it again.
    pub described: Mutex<BTreeMap<String, Option<StackInfo>>>,
}

/// A layer's preparation: given the deployed stacks known so far (by layer), build its inputs.
pub type Prepare<'a> = dyn Fn(&str, &BTreeMap<String, StackInfo>) -> Result<Prepared, LayerError> + Sync + 'a;

impl<'a> Engine<'a> {
    pub fn new(driver: Driver<'a>, hooks: &'a dyn HookRunner, approver: &'a dyn Approver) -> Engine<'a> {
        Engine { driver, hooks, approver, described: Mutex::default() }
    }

    fn stacks(&self) -> StackPath<'_> {
        StackPath { d: &self.driver }
    }

    fn stack_sets(&self) -> StackSetPath<'_> {
        StackSetPath { d: &self.driver }
    }

    /// Plan one layer: its stack set, or its stack (as the caller described it, or described now).
    pub fn plan_layer(&self, p: &Prepared) -> Result<LayerPlan, LayerError> {
        if let Some(target) = &p.stackset {
            return self.stack_sets().plan(p, target);
        }
        let known = self.described.lock().unwrap_or_else(|e| e.into_inner()).remove(&p.stack_name);
        let existing = self.stacks().settled(&p.layer, &p.stack_name, known)?;
        self.stacks().plan(p, existing)
    }

    /// Execute a layer's plan and follow it to the end.
    pub fn execute(&self, p: &Prepared, lp: &LayerPlan) -> Result<StackInfo, LayerError> {
        match &p.stackset {
            Some(target) => self.stack_sets().execute(p, lp, target),
            None => self.stacks().execute(p, lp),
        }
    }

    /// Remove a planned change set (and the empty stack a CREATE change set leaves behind); a stack set's
    /// plan has none.
    pub fn discard(&self, lp: &LayerPlan) {
        self.stacks().discard(lp)
    }

    /// Continue a layer's failed rollback (UPDATE_ROLLBACK_FAILED) and follow it to its end.
    pub fn continue_rollback(&self, layer: &str, stack: &str, skip: &[String]) -> Result<StackInfo, LayerError> {
        self.stacks().continue_rollback(layer, stack, skip)
    }

    /// Delete a deployed layer: a stack (waiting until it is gone), or a stack set and its instances.
    pub fn delete_layer(&self, layer: &str, info: &StackInfo) -> Result<(), LayerError> {
        if stack_state::is_stack_set(info) {
            self.stack_sets().delete(layer, &info.name)
        } else {
            self.stacks().delete(layer, &info.name)
        }
    }

    /// Plan every layer of `order` (change sets for those whose inputs are known), at most
    /// `concurrency` at once. `deployed` holds the stacks that exist now, by layer.
    pub fn plan_all(
        &self,
        order: &[String],
        deployed: &BTreeMap<String, StackInfo>,
        prepare: &Prepare<'_>,
    ) -> BTreeMap<String, Result<(Prepared, LayerPlan), LayerError>> {
        let results = std::sync::Mutex::new(BTreeMap::new());
        schedule(order, &BTreeMap::new(), self.driver.settings.concurrency, |layer| {
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
        schedule(order, deps, self.driver.settings.concurrency, |layer| {
            let Some((_, lp)) = planned.lock().unwrap().remove(layer) else {
                return Outcome::Failed("no plan".into());
            };
            if self.driver.run.interrupted() {
                self.discard(&lp);
                return Outcome::Skipped("interrupted (Ctrl-C) before it started".into());
            }
            let result = (|| -> Result<(StackInfo, bool), LayerError> {
                let known = deployed.lock().unwrap().clone();
                let p = prepare(layer, &known)?;
                let mut lp = lp;
                if lp.action == Action::Recreate {
                    self.stacks().delete(layer, &p.stack_name)?;
                    lp = self.plan_layer(&p)?;
                } else if p.digest() != lp.digest || !lp.waiting_for.is_empty() {
                    self.discard(&lp);
                    self.driver.reporter.status(layer, &Step::PlanningAgain);
                    lp = self.plan_layer(&p)?;
                    if lp.has_changes() {
                        if let Err(why) = self.approver.approve_late(&lp) {
                            self.discard(&lp);
                            return Err(LayerError::Refused(why));
                        }
                    }
                }
                if lp.action == Action::NoChanges {
                    self.driver.reporter.status(layer, &Step::UpToDate);
                    let info = match &lp.existing {
                        Some(info) if p.stackset.is_some() => info.clone(),
                        _ => self
                            .driver
                            .cfn
                            .describe_stack(&p.stack_name)?
                            .ok_or_else(|| LayerError::NotFound { stack: p.stack_name.clone() })?,
                    };
                    self.hooks.run(layer, HookPhase::AfterDeploy, Some(&info)).map_err(LayerError::Hook)?;
                    return Ok((info, false));
                }
                self.hooks.run(layer, HookPhase::BeforeDeploy, lp.existing.as_ref()).map_err(LayerError::Hook)?;
                let info = self.execute(&p, &lp)?;
                self.driver.reporter.status(layer, &Step::Done(info.status.clone()));
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
                    self.driver.reporter.status(layer, &Step::Failed);
                    Outcome::Failed(e.to_string())
                }
            }
        })
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "engine_run_tests.rs"]
mod run_tests;
