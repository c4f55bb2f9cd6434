//! Spindle's domain types: YARN ids, resources, lifecycle states and container exit statuses.
//!
//! These are the types the scheduling core, the RM and the NM share. They carry no wire encoding:
//! conversions to and from protobuf live in the RM/NM service layers.

pub mod calendar;
pub mod exit_status;
pub mod ids;
pub mod resource;
pub mod states;

pub use ids::{ApplicationAttemptId, ApplicationId, ContainerId, IdParseError, NodeId};
pub use resource::Resource;
