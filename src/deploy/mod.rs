//! Deploying through change sets. `port` is the CloudFormation seam, `engine` the decisions and order,
//! `plan` the data shown to the user, `stack_state` what a stack status means.

pub mod engine;
pub mod plan;
pub mod port;
pub mod prepare;
pub mod stack_state;
pub mod stackset;

#[cfg(test)]
pub(crate) mod fake;
