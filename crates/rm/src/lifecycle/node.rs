//! The node lifecycle (YARN's RMNode) as the RM sees a NodeManager.

use super::InvalidTransition;
use spindle_types::states::NodeState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeEvent {
    /// The NM registered (or re-registered after being lost or shut down).
    Registered,
    /// A heartbeat reporting the node healthy.
    HealthyHeartbeat,
    /// A heartbeat reporting the node unhealthy (its health script or disk checker failed).
    UnhealthyHeartbeat,
    /// No heartbeat within the NM liveness expiry.
    Expired,
    /// The NM unregistered on an orderly shutdown.
    Shutdown,
}

impl NodeEvent {
    pub const ALL: [NodeEvent; 5] = [
        Self::Registered,
        Self::HealthyHeartbeat,
        Self::UnhealthyHeartbeat,
        Self::Expired,
        Self::Shutdown,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Registered => "REGISTERED",
            Self::HealthyHeartbeat => "HEALTHY_HEARTBEAT",
            Self::UnhealthyHeartbeat => "UNHEALTHY_HEARTBEAT",
            Self::Expired => "EXPIRED",
            Self::Shutdown => "SHUTDOWN",
        }
    }
}

/// The node states Spindle uses (a subset of YARN's `NodeState`).
pub const NODE_STATES: [NodeState; 5] = [
    NodeState::New,
    NodeState::Running,
    NodeState::Unhealthy,
    NodeState::Lost,
    NodeState::Shutdown,
];

/// The node transition table.
pub fn transition(state: NodeState, event: NodeEvent) -> Result<NodeState, InvalidTransition> {
    use NodeEvent as E;
    use NodeState as S;
    let next = match (state, event) {
        (S::New | S::Lost | S::Shutdown | S::Running | S::Unhealthy, E::Registered) => S::Running,
        (S::Running | S::Unhealthy, E::HealthyHeartbeat) => S::Running,
        (S::Running | S::Unhealthy, E::UnhealthyHeartbeat) => S::Unhealthy,
        (S::Running | S::Unhealthy | S::New, E::Expired) => S::Lost,
        (S::Running | S::Unhealthy | S::New, E::Shutdown) => S::Shutdown,
        _ => {
            return Err(InvalidTransition {
                object: "node",
                state: state.name(),
                event: event.name(),
            })
        }
    };
    Ok(next)
}

/// Whether the scheduler may place containers on a node in this state.
pub fn is_schedulable(state: NodeState) -> bool {
    state == NodeState::Running
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_covers_every_pair() {
        use NodeEvent as E;
        use NodeState as S;
        let expected = |s: S, e: E| -> Option<S> {
            Some(match (s, e) {
                (_, E::Registered) => S::Running,
                (S::Running, E::HealthyHeartbeat) | (S::Unhealthy, E::HealthyHeartbeat) => {
                    S::Running
                }
                (S::Running, E::UnhealthyHeartbeat) | (S::Unhealthy, E::UnhealthyHeartbeat) => {
                    S::Unhealthy
                }
                (S::New, E::Expired) | (S::Running, E::Expired) | (S::Unhealthy, E::Expired) => {
                    S::Lost
                }
                (S::New, E::Shutdown) | (S::Running, E::Shutdown) | (S::Unhealthy, E::Shutdown) => {
                    S::Shutdown
                }
                _ => return None,
            })
        };
        for s in NODE_STATES {
            for e in NodeEvent::ALL {
                assert_eq!(transition(s, e).ok(), expected(s, e), "{s:?} x {e:?}");
            }
        }
        // A lost node does not come back by heartbeating: it must register again.
        assert!(transition(S::Lost, E::HealthyHeartbeat).is_err());
    }
}
