//! The container lifecycle as the RM tracks it (YARN's RMContainer).

use super::InvalidTransition;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RmContainerState {
    /// The scheduler allocated it; the AM has not pulled it yet.
    Allocated,
    /// Delivered to the AM in an allocate response (or to the AM launcher for AM containers).
    Acquired,
    /// Its NM reports it running.
    Running,
    /// Finished, released, killed or lost; its resources are back in the cluster.
    Completed,
}

impl RmContainerState {
    pub const ALL: [RmContainerState; 4] = [
        Self::Allocated,
        Self::Acquired,
        Self::Running,
        Self::Completed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Allocated => "ALLOCATED",
            Self::Acquired => "ACQUIRED",
            Self::Running => "RUNNING",
            Self::Completed => "COMPLETED",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RmContainerEvent {
    Acquired,
    /// The NM reported the container running.
    Launched,
    /// Finished on its node, released by its AM, killed, or its node was lost.
    Finished,
}

impl RmContainerEvent {
    pub const ALL: [RmContainerEvent; 3] = [Self::Acquired, Self::Launched, Self::Finished];

    fn name(self) -> &'static str {
        match self {
            Self::Acquired => "ACQUIRED",
            Self::Launched => "LAUNCHED",
            Self::Finished => "FINISHED",
        }
    }
}

/// The container transition table.
pub fn transition(
    state: RmContainerState,
    event: RmContainerEvent,
) -> Result<RmContainerState, InvalidTransition> {
    use RmContainerEvent as E;
    use RmContainerState as S;
    let next = match (state, event) {
        (S::Allocated, E::Acquired) => S::Acquired,
        // An NM may report a container running before the AM's pull is recorded (AM containers).
        (S::Allocated | S::Acquired | S::Running, E::Launched) => S::Running,
        (S::Allocated | S::Acquired | S::Running, E::Finished) => S::Completed,
        _ => {
            return Err(InvalidTransition {
                object: "container",
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
        use RmContainerEvent as E;
        use RmContainerState as S;
        let expected = |s: S, e: E| -> Option<S> {
            Some(match (s, e) {
                (S::Allocated, E::Acquired) => S::Acquired,
                (S::Completed, _) => return None,
                (_, E::Launched) => S::Running,
                (_, E::Finished) => S::Completed,
                _ => return None,
            })
        };
        for s in RmContainerState::ALL {
            for e in RmContainerEvent::ALL {
                assert_eq!(transition(s, e).ok(), expected(s, e), "{s:?} x {e:?}");
            }
        }
    }
}
