//! What the stack path and the stack-set path share: the CloudFormation port, where progress goes, the
//! timings, the run's state, the wait between looks, and the parameter half of a plan. Neither path
//! knows the engine that chooses between them.

use super::layer::Prepared;
use super::plan;
use super::ports::{Reporter, Settings};
use super::run_state::RunState;
use crate::cfn::port::{CloudFormation, StackInfo};

pub struct Driver<'a> {
    pub cfn: &'a dyn CloudFormation,
    pub reporter: &'a dyn Reporter,
    pub settings: Settings,
    /// What this run has under way (change sets to discard on an interrupt, whether to stop).
    pub run: &'a RunState,
}

impl Driver<'_> {
    /// Waits before look `attempt` + 1: `poll_initial`, growing by half each time, at most `poll_max`.
    pub fn sleep(&self, attempt: u32) {
        let factor = 1.5f64.powi(attempt.min(20) as i32);
        let d = self.settings.poll_initial.mul_f64(factor).min(self.settings.poll_max);
        if !d.is_zero() {
            std::thread::sleep(d);
        }
    }
}

/// Parameter changes against the stack being updated (None: a new stack). A deployed secret reads
/// back as ****: its source's version fingerprint tells whether it changed. The flag says whether
/// some secret's change cannot be told.
pub fn parameter_plan(p: &Prepared, updating: Option<&StackInfo>) -> (Vec<plan::ParamChange>, bool) {
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
