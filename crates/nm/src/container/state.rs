//! A container's lifecycle on the NM as one transition table (a subset of YARN's `ContainerImpl`
//! state machine: no re-initialization, pausing or relaunch), with the two ways a restarted NM
//! takes back a container it recorded (running, or completed).

use spindle_types::states::ContainerState;

/// Where a container is in its life on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerLifecycleState {
    /// Accepted, nothing done yet.
    New,
    /// Its resources are being localized.
    Localizing,
    /// A resource could not be localized; the process never ran.
    LocalizationFailed,
    /// Resources are ready; the launch script is being written.
    Localized,
    /// The process group is running.
    Running,
    /// The process exited with 0.
    ExitedWithSuccess,
    /// The process exited non-zero, or could not be launched.
    ExitedWithFailure,
    /// A stop was requested; waiting for the process (or the localization) to end.
    Killing,
    /// Finished and cleaned up: reported as COMPLETE with its final exit status.
    Done,
}

/// Everything that moves a container between states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerEvent {
    /// Start localizing (right after the start request is accepted).
    InitContainer,
    /// Every resource is localized.
    ResourcesLocalized,
    /// Some resource failed to localize.
    ResourceFailed,
    /// The launch script is running.
    ContainerLaunched,
    /// The process exited with 0.
    ExitedWithSuccess,
    /// The process exited non-zero or could not be started.
    ExitedWithFailure,
    /// Stop requested (by the AM, the RM, the memory monitor or application cleanup).
    Kill,
    /// The NM released what the container held.
    ResourcesCleanedUp,
    /// A restarted NM took back a container its recovery store recorded as launched.
    RecoveredAsLaunched,
    /// A restarted NM took back a container its recovery store recorded as completed.
    RecoveredAsCompleted,
}

impl ContainerLifecycleState {
    pub const ALL: [ContainerLifecycleState; 9] = [
        Self::New,
        Self::Localizing,
        Self::LocalizationFailed,
        Self::Localized,
        Self::Running,
        Self::ExitedWithSuccess,
        Self::ExitedWithFailure,
        Self::Killing,
        Self::Done,
    ];

    /// YARN's upper-case name (`ContainerState` of `ContainerImpl`).
    pub fn name(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::Localizing => "LOCALIZING",
            Self::LocalizationFailed => "LOCALIZATION_FAILED",
            Self::Localized => "LOCALIZED",
            Self::Running => "RUNNING",
            Self::ExitedWithSuccess => "EXITED_WITH_SUCCESS",
            Self::ExitedWithFailure => "EXITED_WITH_FAILURE",
            Self::Killing => "KILLING",
            Self::Done => "DONE",
        }
    }

    /// The state reported in `ContainerStatus`: only DONE is COMPLETE, as in YARN.
    pub fn container_state(self) -> ContainerState {
        match self {
            Self::New => ContainerState::New,
            Self::Done => ContainerState::Complete,
            _ => ContainerState::Running,
        }
    }

    /// The state after `event`, or `None` when the event is not valid in this state.
    pub fn transition(self, event: ContainerEvent) -> Option<ContainerLifecycleState> {
        use ContainerEvent as E;
        use ContainerLifecycleState as S;
        Some(match (self, event) {
            (S::New, E::InitContainer) => S::Localizing,
            (S::New, E::Kill) => S::Done,
            (S::New, E::RecoveredAsLaunched) => S::Running,
            (S::New, E::RecoveredAsCompleted) => S::Done,

            (S::Localizing, E::ResourcesLocalized) => S::Localized,
            (S::Localizing, E::ResourceFailed) => S::LocalizationFailed,
            (S::Localizing, E::Kill) => S::Killing,

            (S::LocalizationFailed, E::ResourcesCleanedUp) => S::Done,
            (S::LocalizationFailed, E::Kill) => S::LocalizationFailed,

            (S::Localized, E::ContainerLaunched) => S::Running,
            (S::Localized, E::ExitedWithFailure) => S::ExitedWithFailure,
            (S::Localized, E::Kill) => S::Done,

            (S::Running, E::ExitedWithSuccess) => S::ExitedWithSuccess,
            (S::Running, E::ExitedWithFailure) => S::ExitedWithFailure,
            (S::Running, E::Kill) => S::Killing,

            (S::ExitedWithSuccess, E::ResourcesCleanedUp) => S::Done,
            (S::ExitedWithSuccess, E::Kill) => S::ExitedWithSuccess,
            (S::ExitedWithFailure, E::ResourcesCleanedUp) => S::Done,
            (S::ExitedWithFailure, E::Kill) => S::ExitedWithFailure,

            // A kill that raced with the end of localization or of the process ends here.
            (S::Killing, E::ResourcesLocalized | E::ResourceFailed) => S::Done,
            (S::Killing, E::ExitedWithSuccess | E::ExitedWithFailure) => S::Done,
            (S::Killing, E::Kill) => S::Killing,

            (S::Done, E::Kill) => S::Done,
            _ => return None,
        })
    }
}

impl ContainerEvent {
    pub const ALL: [ContainerEvent; 10] = [
        Self::InitContainer,
        Self::ResourcesLocalized,
        Self::ResourceFailed,
        Self::ContainerLaunched,
        Self::ExitedWithSuccess,
        Self::ExitedWithFailure,
        Self::Kill,
        Self::ResourcesCleanedUp,
        Self::RecoveredAsLaunched,
        Self::RecoveredAsCompleted,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use ContainerEvent as E;
    use ContainerLifecycleState as S;

    /// Every (state, event) pair with its expected outcome; `-` means the event is refused.
    const TABLE: &str = "
        state                 InitContainer ResourcesLocalized ResourceFailed      ContainerLaunched ExitedWithSuccess ExitedWithFailure Kill                ResourcesCleanedUp RecoveredAsLaunched RecoveredAsCompleted
        NEW                   LOCALIZING    -                  -                   -                 -                 -                 DONE                -                  RUNNING             DONE
        LOCALIZING            -             LOCALIZED          LOCALIZATION_FAILED -                 -                 -                 KILLING             -                  -                   -
        LOCALIZATION_FAILED   -             -                  -                   -                 -                 -                 LOCALIZATION_FAILED DONE               -                   -
        LOCALIZED             -             -                  -                   RUNNING           -                 EXITED_WITH_FAILURE DONE              -                  -                   -
        RUNNING               -             -                  -                   -                 EXITED_WITH_SUCCESS EXITED_WITH_FAILURE KILLING         -                  -                   -
        EXITED_WITH_SUCCESS   -             -                  -                   -                 -                 -                 EXITED_WITH_SUCCESS DONE               -                   -
        EXITED_WITH_FAILURE   -             -                  -                   -                 -                 -                 EXITED_WITH_FAILURE DONE               -                   -
        KILLING               -             DONE               DONE                -                 DONE              DONE              KILLING             -                  -                   -
        DONE                  -             -                  -                   -                 -                 -                 DONE                -                  -                   -
    ";

    #[test]
    fn transition_table_covers_every_pair() {
        let mut lines = TABLE.lines().map(str::trim).filter(|line| !line.is_empty());
        let header: Vec<&str> = lines.next().unwrap().split_whitespace().skip(1).collect();
        assert_eq!(header.len(), E::ALL.len());
        let mut rows = 0;
        for line in lines {
            let cells: Vec<&str> = line.split_whitespace().collect();
            let state = S::ALL.into_iter().find(|s| s.name() == cells[0]).unwrap();
            for (event_index, expected) in cells[1..].iter().enumerate() {
                let event = E::ALL
                    .into_iter()
                    .find(|e| format!("{e:?}") == header[event_index])
                    .unwrap();
                let actual = state.transition(event).map(S::name).unwrap_or("-");
                assert_eq!(actual, *expected, "{} x {:?}", state.name(), event);
            }
            rows += 1;
        }
        assert_eq!(rows, S::ALL.len());
    }

    #[test]
    fn only_done_is_reported_complete() {
        for state in S::ALL {
            let complete = state.container_state() == ContainerState::Complete;
            assert_eq!(complete, state == S::Done, "{state:?}");
        }
    }
}
