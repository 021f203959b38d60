//! CloudFormation's vocabulary, knowing nothing of the engine that deploys: the port (the API as plain
//! data), what a stack status means, the template model, parameter constraints and the resource schemas.
//! Nothing here imports from `deploy`, `commands` or `edge` (`tests/purity.rs` checks it).

pub mod constraints;
pub mod declarations;
pub mod events;
pub mod finding;
pub mod lint;
pub mod locate;
pub mod pacing;
pub mod port;
pub mod schema;
pub mod stack_state;
pub mod stateful;
pub mod template;
pub mod yaml;
