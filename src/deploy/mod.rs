//! Deploying through change sets. `engine` holds the decisions (plan, execute, follow, explain, delete)
//! and `stackset` the same for a layer deployed as a stack set; `layer` is what each layer brings and
//! ends in, `ports` what the engine is given (progress, hooks, a late approver), `scheduler` the
//! dependency-ordered, bounded run of any work over layers, `run_state` what one run has under way for an
//! interrupt to clean up, `prune` which stacks a removal may take, `prepare` the layer's input built from
//! a rendered layer, `plan` and `changes` the data shown to the user. The CloudFormation seam
//! (`cfn::port`) and what a stack status means (`cfn::stack_state`) live on the floor below.

pub mod changes;
pub mod engine;
pub mod layer;
pub mod plan;
pub mod ports;
pub mod prepare;
pub mod prune;
pub mod run_state;
pub mod scheduler;
pub mod stackset;
pub mod step;

#[cfg(test)]
pub(crate) mod fake;
