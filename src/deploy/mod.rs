//! Deploying through change sets. `engine` chooses, per layer, between the stack path (`stack`: change
//! sets, following, explaining, deleting) and the stack-set path (`stackset`), which share a `driver`
//! (the port, progress, timings, the run) and know nothing of the engine; `layer` is what each layer brings and
//! ends in, `ports` what the engine is given (progress, hooks, a late approver), `scheduler` the
//! dependency-ordered, bounded run of any work over layers, `run_state` what one run has under way for an
//! interrupt to clean up, `prune` which stacks a removal may take, `prepare` the layer's input built from
//! a rendered layer, `plan` and `changes` the data shown to the user. The CloudFormation seam
//! (`cfn::port`) and what a stack status means (`cfn::stack_state`) live on the floor below.

pub mod changes;
pub mod driver;
pub mod engine;
pub mod layer;
pub mod plan;
pub mod ports;
pub mod prepare;
pub mod prune;
pub mod run_state;
pub mod scheduler;
pub mod stack;
pub mod stackset;
pub mod step;

#[cfg(test)]
pub(crate) mod fake;
