//! The application lifecycle (YARN's RMApp), reduced to the states a client can observe.

use super::InvalidTransition;
use spindle_types::states::YarnApplicationState;

/// States of an application; they map one to one onto `YarnApplicationState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppState {
    New,
    Submitted,
    Accepted,
    Running,
    Finished,
    Failed,
    Killed,
}

impl AppState {
    pub const ALL: [AppState; 7] = [
        Self::New,
        Self::Submitted,
        Self::Accepted,
        Self::Running,
        Self::Finished,
        Self::Failed,
        Self::Killed,
    ];

    pub fn yarn_state(self) -> YarnApplicationState {
        match self {
            Self::New => YarnApplicationState::New,
            Self::Submitted => YarnApplicationState::Submitted,
            Self::Accepted => YarnApplicationState::Accepted,
            Self::Running => YarnApplicationState::Running,
            Self::Finished => YarnApplicationState::Finished,
            Self::Failed => YarnApplicationState::Failed,
            Self::Killed => YarnApplicationState::Killed,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Finished | Self::Failed | Self::Killed)
    }

    fn name(self) -> &'static str {
        self.yarn_state().name()
    }
}

/// What can happen to an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEvent {
    /// The submission was validated and stored.
    Submitted,
    /// The submission was refused after it had been recorded (e.g. the queue no longer accepts it).
    Rejected,
    /// The scheduler took the application and its first attempt is waiting for an AM container.
    Accepted,
    /// The current attempt's AM registered.
    AttemptRegistered,
    /// The current attempt's AM unregistered with a final status.
    AttemptUnregistered,
    /// The current attempt failed and another attempt will run.
    AttemptFailedWillRetry,
    /// The current attempt failed and no attempts remain.
    AttemptFailedFinal,
    /// A user or administrator killed the application.
    Kill,
}

impl AppEvent {
    pub const ALL: [AppEvent; 8] = [
        Self::Submitted,
        Self::Rejected,
        Self::Accepted,
        Self::AttemptRegistered,
        Self::AttemptUnregistered,
        Self::AttemptFailedWillRetry,
        Self::AttemptFailedFinal,
        Self::Kill,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Submitted => "SUBMITTED",
            Self::Rejected => "REJECTED",
            Self::Accepted => "ACCEPTED",
            Self::AttemptRegistered => "ATTEMPT_REGISTERED",
            Self::AttemptUnregistered => "ATTEMPT_UNREGISTERED",
            Self::AttemptFailedWillRetry => "ATTEMPT_FAILED_WILL_RETRY",
            Self::AttemptFailedFinal => "ATTEMPT_FAILED_FINAL",
            Self::Kill => "KILL",
        }
    }
}

/// The application transition table.
pub fn transition(state: AppState, event: AppEvent) -> Result<AppState, InvalidTransition> {
    use AppEvent as E;
    use AppState as S;
    let next = match (state, event) {
        (S::New, E::Submitted) => S::Submitted,
        (S::New | S::Submitted, E::Rejected) => S::Failed,
        (S::Submitted, E::Accepted) => S::Accepted,
        (S::Accepted, E::AttemptRegistered) => S::Running,
        (S::Running, E::AttemptUnregistered) => S::Finished,
        (S::Accepted | S::Running, E::AttemptFailedWillRetry) => S::Accepted,
        (S::Accepted | S::Running, E::AttemptFailedFinal) => S::Failed,
        (S::New | S::Submitted | S::Accepted | S::Running, E::Kill) => S::Killed,
        // A kill that races with the end of an application is not an error: the end stands.
        (S::Finished | S::Failed | S::Killed, E::Kill) => state,
        _ => {
            return Err(InvalidTransition {
                object: "application",
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

    /// Every (state, event) pair, with the expected outcome (None = refused).
    #[test]
    fn table_covers_every_pair() {
        use AppEvent as E;
        use AppState as S;
        let expected = |s: S, e: E| -> Option<S> {
            Some(match (s, e) {
                (S::New, E::Submitted) => S::Submitted,
                (S::New, E::Rejected) | (S::Submitted, E::Rejected) => S::Failed,
                (S::Submitted, E::Accepted) => S::Accepted,
                (S::Accepted, E::AttemptRegistered) => S::Running,
                (S::Running, E::AttemptUnregistered) => S::Finished,
                (S::Accepted, E::AttemptFailedWillRetry)
                | (S::Running, E::AttemptFailedWillRetry) => S::Accepted,
                (S::Accepted, E::AttemptFailedFinal) | (S::Running, E::AttemptFailedFinal) => {
                    S::Failed
                }
                (s, E::Kill) if s.is_final() => s,
                (_, E::Kill) => S::Killed,
                _ => return None,
            })
        };
        for s in AppState::ALL {
            for e in AppEvent::ALL {
                assert_eq!(transition(s, e).ok(), expected(s, e), "{s:?} x {e:?}");
            }
        }
    }

    #[test]
    fn refusal_names_state_and_event() {
        let err = transition(AppState::Finished, AppEvent::AttemptRegistered).unwrap_err();
        assert_eq!(
            err.to_string(),
            "application: event ATTEMPT_REGISTERED is not valid in state FINISHED"
        );
    }
}
