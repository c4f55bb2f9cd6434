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
    /// YARN's text for a submission to a parent queue.
    #[error("Application {application} submitted by user {user} to non-leaf queue: {queue}")]
    NotALeafQueue {
        application: ApplicationId,
        user: String,
        queue: String,
    },
    /// YARN's text for a submission to a STOPPED queue.
    #[error("Queue {queue} is STOPPED. Cannot accept submission of application: {application}")]
    QueueStopped {
        application: ApplicationId,
        queue: String,
    },
    /// YARN's text when the submit ACLs refuse the user.
    #[error("User {user} does not have permission to submit {application} to queue {queue}")]
    SubmissionDenied {
        application: ApplicationId,
        user: String,
        queue: String,
    },
    /// The queue's maximum-applications.
    #[error("Queue {queue} already has {count} applications, cannot accept submission of application: {application}")]
    TooManyApplications {
        application: ApplicationId,
        queue: String,
        count: usize,
    },
    /// The queue's per-user application limit.
    #[error("Queue {queue} already has {count} applications from user {user} cannot accept submission of application: {application}")]
    TooManyUserApplications {
        application: ApplicationId,
        user: String,
        queue: String,
        count: usize,
    },
    /// The Fair Scheduler's placement policy found no queue (a `reject` rule, or a queue it may
    /// not create).
    #[error("Application {application} submitted by user {user} to queue '{requested}' was rejected by the queue placement policy: {reason}")]
    PlacementRejected {
        application: ApplicationId,
        user: String,
        requested: String,
        reason: String,
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
    #[error("the scheduler cannot change from {current} to {requested} without a restart")]
    SchedulerKindChange {
        current: &'static str,
        requested: &'static str,
    },
    /// YARN refuses to drop a Capacity Scheduler queue that still holds applications.
    #[error("queue {queue} cannot be removed: it holds {applications} application(s); stop it and let them finish first")]
    QueueRemovedWithApplications { queue: String, applications: usize },
    #[error("queue {queue} holds applications and cannot become a parent queue")]
    LeafBecameParent { queue: String },
}
