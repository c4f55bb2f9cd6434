//! The simulator's record of each job's application (phase, attempt, AM container, allocation)
//! and of each live container.

use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, Resource};

use super::application_master::{TaskBook, TaskIndex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ApplicationPhase {
    /// Its submission time has not come.
    NotSubmitted,
    /// Submitted; its current attempt waits for the AM container or for the AM to start.
    WaitingForAm,
    /// The AM registered and runs the job's tasks.
    Running,
    /// Every task is done and the AM unregistered.
    Finished,
    /// The scheduler refused the submission.
    Rejected,
    /// The scheduler refused an ask, or the AM failed too often.
    Failed,
}

impl ApplicationPhase {
    pub(crate) fn is_active(self) -> bool {
        matches!(self, Self::WaitingForAm | Self::Running)
    }
}

/// A container allocated by the scheduler, waiting for its AM to take it at the next heartbeat.
#[derive(Debug, Clone)]
pub(crate) struct UnacquiredContainer {
    pub(crate) container: ContainerId,
    pub(crate) host: String,
    pub(crate) rack: String,
    pub(crate) allocation_request_id: i64,
}

#[derive(Debug)]
pub(crate) struct SimulatedApplication {
    pub(crate) phase: ApplicationPhase,
    pub(crate) application: Option<ApplicationId>,
    pub(crate) attempt_number: i32,
    pub(crate) queue_path: Option<String>,
    pub(crate) submitted_ms: i64,
    /// When the current attempt was added (its AM container was asked for).
    pub(crate) attempt_added_ms: i64,
    pub(crate) am_allocated_ms: Option<i64>,
    pub(crate) finished_ms: Option<i64>,
    pub(crate) am_container: Option<ContainerId>,
    /// When the AM registered: its heartbeats fall on this time plus whole intervals.
    pub(crate) registered_ms: i64,
    pub(crate) heartbeat_scheduled: bool,
    pub(crate) unacquired: Vec<UnacquiredContainer>,
    /// Surplus containers the AM took and gives back in its next allocate call.
    pub(crate) releases: Vec<ContainerId>,
    pub(crate) book: TaskBook,
    pub(crate) allocated: Resource,
    pub(crate) live_containers: usize,
    pub(crate) diagnostics: String,
}

impl SimulatedApplication {
    pub(crate) fn new(book: TaskBook) -> Self {
        Self {
            phase: ApplicationPhase::NotSubmitted,
            application: None,
            attempt_number: 0,
            queue_path: None,
            submitted_ms: 0,
            attempt_added_ms: 0,
            am_allocated_ms: None,
            finished_ms: None,
            am_container: None,
            registered_ms: 0,
            heartbeat_scheduled: false,
            unacquired: Vec::new(),
            releases: Vec::new(),
            book,
            allocated: Resource::ZERO,
            live_containers: 0,
            diagnostics: String::new(),
        }
    }

    pub(crate) fn current_attempt(&self) -> Option<ApplicationAttemptId> {
        self.application
            .filter(|_| self.attempt_number > 0)
            .map(|application| ApplicationAttemptId::new(application, self.attempt_number))
    }
}

/// A container the scheduler allocated and has not completed.
#[derive(Debug, Clone)]
pub(crate) struct LiveContainer {
    pub(crate) job: usize,
    pub(crate) attempt: ApplicationAttemptId,
    pub(crate) is_am: bool,
    /// The task it runs, once its AM acquired it.
    pub(crate) task: Option<TaskIndex>,
    pub(crate) resource: Resource,
    pub(crate) allocation_request_id: i64,
    pub(crate) asked_ms: i64,
    /// Its row in the recorder's container records.
    pub(crate) record: usize,
    /// The node it runs on.
    pub(crate) node: spindle_types::NodeId,
}
