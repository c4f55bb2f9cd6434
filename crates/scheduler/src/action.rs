//! Every output of the scheduling core: allocations, completions, preemption, and containers a
//! NodeManager reported after an RM restart that the scheduler did not take.

use spindle_types::{exit_status, ApplicationAttemptId, ContainerId, NodeId, Resource};

/// How well a container's node matched its request (YARN's `NodeType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Locality {
    /// On a requested host.
    NodeLocal,
    /// On a requested rack, not a requested host.
    RackLocal,
    /// Anywhere else (the `"*"` entry allowed it).
    OffSwitch,
}

impl Locality {
    /// YARN's upper-case name (`NODE_LOCAL`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::NodeLocal => "NODE_LOCAL",
            Self::RackLocal => "RACK_LOCAL",
            Self::OffSwitch => "OFF_SWITCH",
        }
    }
}

/// Why a container stopped counting against its node, application and queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompletionReason {
    /// Its NodeManager reported it complete; the exit status is the NM's.
    Finished,
    /// The ApplicationMaster released it in an `allocate` call.
    ReleasedByApplication,
    /// Its node was removed (lost, decommissioned, shut down).
    NodeLost,
    /// Its application attempt (or application) ended without keeping it.
    ApplicationCompleted,
    /// It was acquired but never launched in time.
    Expired,
    /// The scheduler took it back for another queue (not emitted by the FIFO policy).
    Preempted,
}

impl CompletionReason {
    /// The exit status YARN reports for a completion the NM did not report itself.
    pub fn exit_status(self) -> Option<i32> {
        match self {
            Self::Finished => None,
            Self::ReleasedByApplication
            | Self::NodeLost
            | Self::ApplicationCompleted
            | Self::Expired => Some(exit_status::ABORTED),
            Self::Preempted => Some(exit_status::PREEMPTED),
        }
    }

    /// YARN's diagnostics text for the container status (empty for NM-reported completions,
    /// whose diagnostics come from the NM).
    pub fn diagnostics(self) -> &'static str {
        match self {
            Self::Finished => "",
            Self::ReleasedByApplication => "Container released by application",
            Self::NodeLost => "Container released on a *lost* node",
            Self::ApplicationCompleted => "Container of a completed application",
            Self::Expired => "Container expired since it was unused",
            Self::Preempted => "Container preempted by scheduler",
        }
    }

    /// Whether the process may still run, so the RM must tell its NodeManager to stop it.
    pub fn requires_container_kill(self) -> bool {
        match self {
            Self::Finished | Self::NodeLost => false,
            Self::ReleasedByApplication
            | Self::ApplicationCompleted
            | Self::Expired
            | Self::Preempted => true,
        }
    }
}

/// Why a container a NodeManager reported after an RM restart
/// ([`crate::SchedulerEvent::ContainerRecovered`]) was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecoveryRefusal {
    /// Its application is not known (never recovered, or already removed).
    UnknownApplication,
    /// Its attempt (the one in its id) is not its application's current attempt.
    NotCurrentAttempt,
    /// The node it was reported on is not registered.
    UnknownNode,
    /// A container with the same id is live on another node.
    AlreadyLive,
    /// Reported as the AM container of an attempt that already has one, or that asks for one.
    SecondAmContainer,
    /// Its resource has a negative value.
    NegativeResource,
}

impl RecoveryRefusal {
    /// A diagnostics text for the RM's log.
    pub fn diagnostics(self) -> &'static str {
        match self {
            Self::UnknownApplication => "Container of an unknown application",
            Self::NotCurrentAttempt => "Container of an attempt that is not current",
            Self::UnknownNode => "Container on an unknown node",
            Self::AlreadyLive => "Container id already live on another node",
            Self::SecondAmContainer => "AM container of an attempt that already has one",
            Self::NegativeResource => "Container with a negative resource",
        }
    }
}

/// What the RM must do after an event, in the order the scheduler decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchedulerAction {
    /// A new container. The RM creates its token and hands it to the attempt's next allocate
    /// response (or launches it, when `is_am`), then reports [`crate::SchedulerEvent::ContainersAcquired`].
    Allocated {
        container: ContainerId,
        attempt: ApplicationAttemptId,
        node: NodeId,
        resource: Resource,
        /// The request's priority (0 for the AM container).
        priority: i32,
        /// The request's allocation_request_id (-1 for the AM container).
        allocation_request_id: i64,
        is_am: bool,
        locality: Locality,
    },
    /// The container's resources are free again. The RM reports the status to `attempt`'s
    /// ApplicationMaster if `acquired` (an unacquired container was never seen by it; its request
    /// was restored instead), and stops the process if `reason.requires_container_kill()`.
    Completed {
        container: ContainerId,
        /// The attempt the container belongs to now (it differs from the id's own attempt for
        /// containers kept across attempts).
        attempt: ApplicationAttemptId,
        node: NodeId,
        resource: Resource,
        exit_status: i32,
        reason: CompletionReason,
        acquired: bool,
    },
    /// Ask the attempt to give the container back before the scheduler kills it (YARN's
    /// PreemptionMessage). Not emitted by the FIFO policy.
    PreemptionRequested {
        container: ContainerId,
        attempt: ApplicationAttemptId,
    },
    /// The container a NodeManager reported running
    /// ([`crate::SchedulerEvent::ContainerRecovered`]) was not taken: the scheduler counts
    /// nothing for it (the event changed nothing). The RM must stop it on `node`, the node that
    /// reported it (YARN's `killOrphanContainerOnNode`: list it among the containers to clean up
    /// in that node's next heartbeat response), and do nothing else: it is not a completion, no
    /// AM hears of it, and the RM's record of a live container with the same id, if any (see
    /// [`RecoveryRefusal::AlreadyLive`]), stays as it is.
    RecoveryRefused {
        container: ContainerId,
        node: NodeId,
        reason: RecoveryRefusal,
    },
}
