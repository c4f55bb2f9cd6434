//! The externally visible states of applications, attempts, containers and nodes, with YARN's
//! names and wire numbers (the numbers of `YarnApplicationStateProto` and friends).

/// `YarnApplicationState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum YarnApplicationState {
    New = 1,
    NewSaving = 2,
    Submitted = 3,
    Accepted = 4,
    Running = 5,
    Finished = 6,
    Failed = 7,
    Killed = 8,
}

impl YarnApplicationState {
    pub const ALL: [YarnApplicationState; 8] = [
        Self::New,
        Self::NewSaving,
        Self::Submitted,
        Self::Accepted,
        Self::Running,
        Self::Finished,
        Self::Failed,
        Self::Killed,
    ];

    /// YARN's upper-case name, as `yarn application -list` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::NewSaving => "NEW_SAVING",
            Self::Submitted => "SUBMITTED",
            Self::Accepted => "ACCEPTED",
            Self::Running => "RUNNING",
            Self::Finished => "FINISHED",
            Self::Failed => "FAILED",
            Self::Killed => "KILLED",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    pub fn from_wire(n: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| *s as i32 == n)
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Finished | Self::Failed | Self::Killed)
    }
}

/// `FinalApplicationStatus`: what the application itself reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FinalApplicationStatus {
    Undefined = 0,
    Succeeded = 1,
    Failed = 2,
    Killed = 3,
    Ended = 4,
}

impl FinalApplicationStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Undefined => "UNDEFINED",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Killed => "KILLED",
            Self::Ended => "ENDED",
        }
    }

    pub fn from_wire(n: i32) -> Option<Self> {
        [
            Self::Undefined,
            Self::Succeeded,
            Self::Failed,
            Self::Killed,
            Self::Ended,
        ]
        .into_iter()
        .find(|s| *s as i32 == n)
    }
}

/// `NodeState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeState {
    New = 1,
    Running = 2,
    Unhealthy = 3,
    Decommissioned = 4,
    Lost = 5,
    Rebooted = 6,
    Decommissioning = 7,
    Shutdown = 8,
}

impl NodeState {
    /// Every state, in YARN's order.
    pub const ALL: [NodeState; 8] = [
        Self::New,
        Self::Running,
        Self::Unhealthy,
        Self::Decommissioned,
        Self::Lost,
        Self::Rebooted,
        Self::Decommissioning,
        Self::Shutdown,
    ];

    /// The state YARN names `name` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::Running => "RUNNING",
            Self::Unhealthy => "UNHEALTHY",
            Self::Decommissioned => "DECOMMISSIONED",
            Self::Lost => "LOST",
            Self::Rebooted => "REBOOTED",
            Self::Decommissioning => "DECOMMISSIONING",
            Self::Shutdown => "SHUTDOWN",
        }
    }
}

/// `ContainerState` as reported in a ContainerStatus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerState {
    New = 1,
    Running = 2,
    Complete = 3,
}

/// `LogAggregationStatus`: where the upload of an application's container logs stands, per node
/// (what an NM reports) and for the application (what the RM combines from its nodes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogAggregationStatus {
    Disabled = 1,
    NotStart = 2,
    Running = 3,
    Succeeded = 4,
    Failed = 5,
    TimeOut = 6,
    RunningWithFailure = 7,
}

impl LogAggregationStatus {
    pub const ALL: [LogAggregationStatus; 7] = [
        Self::Disabled,
        Self::NotStart,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::TimeOut,
        Self::RunningWithFailure,
    ];

    /// YARN's upper-case name, as reports and the REST API's `logAggregationStatus` carry it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Disabled => "DISABLED",
            Self::NotStart => "NOT_START",
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::TimeOut => "TIME_OUT",
            Self::RunningWithFailure => "RUNNING_WITH_FAILURE",
        }
    }

    /// Whether nothing more will change for this node or application: it succeeded, failed or
    /// timed out.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::TimeOut)
    }

    pub fn from_wire(n: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| *s as i32 == n)
    }
}
