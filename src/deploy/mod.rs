//! Deploying through change sets. `engine` holds the decisions and order, `plan` the data shown to the
//! user; the CloudFormation seam (`cfn::port`) and what a stack status means (`cfn::stack_state`) live
//! on the floor below.

pub mod changes;
pub mod engine;
pub mod plan;
pub mod prepare;
pub mod stackset;

#[cfg(test)]
pub(crate) mod fake;
