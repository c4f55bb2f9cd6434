//! Why the scheduler refused an event. A refused event changed nothing.

use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource};

use crate::normalize::{InvalidAsk, InvalidResourceRequest};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchedulerError {
    #[error("node {0} is already registered with the scheduler")]
    DuplicateNode(NodeId),
    #[error("node {0} is not known to the scheduler")]
    UnknownNode(NodeId),
    #[error("node {node} cannot have a negative capability {capability}")]
    NegativeNodeCapability { node: NodeId, capability: Resource },
    #[error("application {0} is already known to the scheduler")]
    DuplicateApplication(ApplicationId),
    #[error("application {0} is not known to the scheduler")]
    UnknownApplication(ApplicationId),
    /// YARN's rejection text for a submission to a queue that does not exist.
    #[error("Application {application} submitted by user {user} to unknown queue: {queue}")]
    UnknownQueue {
        application: ApplicationId,
        user: String,
        queue: String,
    },
    #[error("application attempt {existing} is still current; remove it before adding {added}")]
    AttemptAlreadyActive {
        existing: ApplicationAttemptId,
        added: ApplicationAttemptId,
    },
    #[error("application attempt {0} is not the current attempt of a known application")]
    UnknownAttempt(ApplicationAttemptId),
    #[error("invalid AM container resource for {attempt}: {reason}")]
    InvalidAmResource {
        attempt: ApplicationAttemptId,
        reason: Box<InvalidAsk>,
    },
    #[error(transparent)]
    InvalidResourceRequest(#[from] InvalidResourceRequest),
    /// YARN's `InvalidContainerReleaseException` text.
    #[error("Cannot release container : {container} not belonging to this application attempt : {attempt}")]
    ContainerNotOwned {
        container: ContainerId,
        attempt: ApplicationAttemptId,
    },
    #[error("the RM epoch cannot change while running (current {current}, new {requested})")]
    EpochChange { current: i64, requested: i64 },
    #[error("invalid scheduler configuration: {reason}")]
    InvalidConfiguration { reason: String },
}
