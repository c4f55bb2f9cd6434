//! The scheduler's records of applications, their current attempt, and their live containers.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, Resource};

use crate::action::Locality;
use crate::asks::AskTable;
use crate::nodes::NodeIndex;
use crate::queues::QueueIndex;

/// Order of applications in a FIFO queue: higher application priority first, then older id.
pub(crate) type FifoKey = (Reverse<i32>, ApplicationId);

#[derive(Debug, Clone)]
pub(crate) struct SchedulerApplication {
    pub(crate) id: ApplicationId,
    pub(crate) queue: QueueIndex,
    pub(crate) user: String,
    pub(crate) priority: i32,
    pub(crate) attempt: Option<SchedulerAttempt>,
    /// The most recent attempt, current or ended: completions between attempts go to it.
    pub(crate) last_attempt: Option<ApplicationAttemptId>,
    /// Live containers, including those kept from earlier attempts.
    pub(crate) containers: BTreeSet<ContainerId>,
    pub(crate) allocated: Resource,
}

impl SchedulerApplication {
    pub(crate) fn fifo_key(&self) -> FifoKey {
        (Reverse(self.priority), self.id)
    }

    pub(crate) fn has_pending(&self) -> bool {
        self.attempt
            .as_ref()
            .is_some_and(|attempt| attempt.asks.has_pending())
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SchedulerAttempt {
    pub(crate) id: ApplicationAttemptId,
    pub(crate) asks: AskTable,
    /// Sequence number of the attempt's next container (the AM container is 1).
    pub(crate) next_sequence: i64,
    pub(crate) am_container: Option<ContainerId>,
}

/// A live container.
#[derive(Debug, Clone)]
pub(crate) struct ContainerRecord {
    /// The attempt it belongs to now.
    pub(crate) owner: ApplicationAttemptId,
    pub(crate) node: NodeIndex,
    pub(crate) resource: Resource,
    pub(crate) priority: i32,
    pub(crate) allocation_request_id: i64,
    pub(crate) is_am: bool,
    pub(crate) locality: Locality,
    /// Handed to its ApplicationMaster (always true for the AM container itself).
    pub(crate) acquired: bool,
}
