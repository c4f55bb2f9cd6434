//! The application-attempt lifecycle (YARN's RMAppAttempt): from waiting for an AM container to
//! the AM's unregistration or failure.

use super::InvalidTransition;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptState {
    /// Waiting for the scheduler to allocate the AM container.
    Scheduled,
    /// The AM container is allocated; the RM is starting it on its NM.
    Allocated,
    /// The NM accepted the AM container; waiting for the AM to register.
    Launched,
    /// The AM registered and heartbeats.
    Running,
    Finished,
    Failed,
    Killed,
}

impl AttemptState {
    pub const ALL: [AttemptState; 7] = [
        Self::Scheduled,
        Self::Allocated,
        Self::Launched,
        Self::Running,
        Self::Finished,
        Self::Failed,
        Self::Killed,
    ];

    pub fn is_final(self) -> bool {
        matches!(self, Self::Finished | Self::Failed | Self::Killed)
    }

    /// YARN's `YarnApplicationAttemptState` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Scheduled => "SCHEDULED",
            Self::Allocated => "ALLOCATED",
            Self::Launched => "LAUNCHED",
            Self::Running => "RUNNING",
            Self::Finished => "FINISHED",
            Self::Failed => "FAILED",
            Self::Killed => "KILLED",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEvent {
    AmContainerAllocated,
    Launched,
    LaunchFailed,
    Registered,
    Unregistered,
    /// The AM container completed (exited, was killed, or its node was lost).
    AmContainerFinished,
    /// The AM stopped heartbeating for longer than the AM liveness expiry.
    Expired,
    Kill,
}

impl AttemptEvent {
    pub const ALL: [AttemptEvent; 8] = [
        Self::AmContainerAllocated,
        Self::Launched,
        Self::LaunchFailed,
        Self::Registered,
        Self::Unregistered,
        Self::AmContainerFinished,
        Self::Expired,
        Self::Kill,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::AmContainerAllocated => "AM_CONTAINER_ALLOCATED",
            Self::Launched => "LAUNCHED",
            Self::LaunchFailed => "LAUNCH_FAILED",
            Self::Registered => "REGISTERED",
            Self::Unregistered => "UNREGISTERED",
            Self::AmContainerFinished => "AM_CONTAINER_FINISHED",
            Self::Expired => "EXPIRED",
            Self::Kill => "KILL",
        }
    }
}

/// The attempt transition table.
pub fn transition(
    state: AttemptState,
    event: AttemptEvent,
) -> Result<AttemptState, InvalidTransition> {
    use AttemptEvent as E;
    use AttemptState as S;
    let next = match (state, event) {
        (S::Scheduled, E::AmContainerAllocated) => S::Allocated,
        (S::Allocated, E::Launched) => S::Launched,
        // The launcher's answer may arrive after the AM already registered.
        (S::Running, E::Launched) => S::Running,
        (S::Allocated, E::LaunchFailed) => S::Failed,
        // An AM may register before the launcher has heard back from the NM.
        (S::Allocated | S::Launched, E::Registered) => S::Running,
        (S::Running, E::Unregistered) => S::Finished,
        (S::Allocated | S::Launched | S::Running, E::AmContainerFinished) => S::Failed,
        (S::Launched | S::Running, E::Expired) => S::Failed,
        // After unregistering, the AM container exiting is the expected end.
        (S::Finished, E::AmContainerFinished) => S::Finished,
        (s, E::Kill) if !s.is_final() => S::Killed,
        (s, E::Kill) => s,
        _ => {
            return Err(InvalidTransition {
                object: "application attempt",
                state: state.name(),
                event: event.name(),
            })
        }
    };
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_covers_every_pair() {
        use AttemptEvent as E;
        use AttemptState as S;
        let expected = |s: S, e: E| -> Option<S> {
            Some(match (s, e) {
                (S::Scheduled, E::AmContainerAllocated) => S::Allocated,
                (S::Allocated, E::Launched) => S::Launched,
                (S::Running, E::Launched) => S::Running,
                (S::Allocated, E::LaunchFailed) => S::Failed,
                (S::Allocated, E::Registered) | (S::Launched, E::Registered) => S::Running,
                (S::Running, E::Unregistered) => S::Finished,
                (S::Allocated, E::AmContainerFinished)
                | (S::Launched, E::AmContainerFinished)
                | (S::Running, E::AmContainerFinished) => S::Failed,
                (S::Launched, E::Expired) | (S::Running, E::Expired) => S::Failed,
                (S::Finished, E::AmContainerFinished) => S::Finished,
                (S::Finished, E::Kill) => S::Finished,
                (S::Failed, E::Kill) => S::Failed,
                (S::Killed, E::Kill) => S::Killed,
                (_, E::Kill) => S::Killed,
                _ => return None,
            })
        };
        for s in AttemptState::ALL {
            for e in AttemptEvent::ALL {
                assert_eq!(transition(s, e).ok(), expected(s, e), "{s:?} x {e:?}");
            }
        }
    }
}
