//! What the engine is given besides CloudFormation: its settings, where progress goes, the hooks it runs
//! and who approves a change set made after the plan was approved.

use std::time::Duration;

use super::plan::LayerPlan;
use super::step::Step;
use crate::cfn::port::{StackEvent, StackInfo};

/// Where progress goes: one status line per layer, and the stack events as they come.
pub trait Reporter: Send + Sync {
    fn status(&self, layer: &str, step: &Step);
    fn event(&self, layer: &str, event: &StackEvent);
}

/// The moments a layer's hooks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookPhase {
    BeforeDeploy,
    AfterDeploy,
    BeforeDestroy,
}

/// Runs a layer's hooks; the engine decides when. An error fails the layer with its message.
pub trait HookRunner: Send + Sync {
    fn run(&self, layer: &str, phase: HookPhase, stack: Option<&StackInfo>) -> Result<(), String>;
}

/// No hooks.
pub struct NoHooks;

impl HookRunner for NoHooks {
    fn run(&self, _: &str, _: HookPhase, _: Option<&StackInfo>) -> Result<(), String> {
        Ok(())
    }
}

/// Discards everything (for tests and quiet runs).
pub struct Silent;

impl Reporter for Silent {
    fn status(&self, _: &str, _: &Step) {}
    fn event(&self, _: &str, _: &StackEvent) {}
}

/// Decides on a change set made after the plan was approved (a layer planned again once its
/// dependencies' outputs were known): what executes must be what was approved.
pub trait Approver: Send + Sync {
    /// Ok to execute `plan`; Err says why not (the layer then fails, nothing of it executed).
    fn approve_late(&self, plan: &LayerPlan) -> Result<(), String>;
}

/// Approves every late change set (plans that never execute, tests).
pub struct Preapproved;

impl Approver for Preapproved {
    fn approve_late(&self, _: &LayerPlan) -> Result<(), String> {
        Ok(())
    }
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
