//! The distributed shell AM's bookkeeping, without I/O: which allocated containers to launch or
//! release, what a completion means (success, failure, or lost and to be replaced), and the final
//! status with Hadoop's diagnostics line.

use std::collections::{BTreeMap, BTreeSet};

use spindle_types::states::FinalApplicationStatus;
use spindle_types::{exit_status, ContainerId};

/// What to do with a newly allocated container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocationDecision {
    /// Start the shell command in it.
    Launch,
    /// Enough containers already run: give it back.
    Release,
}

/// What a completed container status meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionOutcome {
    /// The shell command exited 0.
    Succeeded,
    /// The shell command failed (counts as completed).
    Failed,
    /// The container was lost (ABORTED); a replacement will be requested.
    Lost,
    /// Not one of ours (released surplus, or reported twice).
    Ignored,
}

/// Counters as Hadoop's DistributedShell ApplicationMaster keeps them.
#[derive(Debug, Clone)]
pub struct ShellContainerTracker {
    total: u32,
    requested: u32,
    allocated: u32,
    completed: u32,
    failed: u32,
    running: BTreeSet<ContainerId>,
    released: BTreeSet<ContainerId>,
    failures: BTreeMap<ContainerId, String>,
}

impl ShellContainerTracker {
    pub fn new(total: u32) -> Self {
        Self {
            total,
            requested: 0,
            allocated: 0,
            completed: 0,
            failed: 0,
            running: BTreeSet::new(),
            released: BTreeSet::new(),
            failures: BTreeMap::new(),
        }
    }

    /// How many more containers to ask for now (initially all; later, replacements for lost ones).
    pub fn containers_to_request(&mut self) -> u32 {
        let missing = self.total.saturating_sub(self.requested);
        self.requested += missing;
        missing
    }

    pub fn on_allocated(&mut self, container: ContainerId) -> AllocationDecision {
        if self.allocated >= self.total {
            self.released.insert(container);
            return AllocationDecision::Release;
        }
        self.allocated += 1;
        self.running.insert(container);
        AllocationDecision::Launch
    }

    /// Starting the container failed: it counts as completed and failed, and is released.
    pub fn on_launch_failed(&mut self, container: ContainerId, reason: &str) {
        if self.running.remove(&container) {
            self.completed += 1;
            self.failed += 1;
            self.failures
                .insert(container, format!("could not be started: {reason}"));
            self.released.insert(container);
        }
    }

    /// A container completed with `exit` (its diagnostics are the AM's to log).
    pub fn on_completed(&mut self, container: ContainerId, exit: i32) -> CompletionOutcome {
        if self.released.remove(&container) || !self.running.remove(&container) {
            return CompletionOutcome::Ignored;
        }
        match exit {
            exit_status::SUCCESS => {
                self.completed += 1;
                CompletionOutcome::Succeeded
            }
            exit_status::ABORTED => {
                self.allocated -= 1;
                self.requested -= 1;
                CompletionOutcome::Lost
            }
            _ => {
                self.completed += 1;
                self.failed += 1;
                let description = match exit_status::name(exit) {
                    Some(name) => format!("exit status {exit} ({name})"),
                    None => format!("exit status {exit}"),
                };
                self.failures.insert(container, description);
                CompletionOutcome::Failed
            }
        }
    }

    /// Every container has completed (successfully or not).
    pub fn is_done(&self) -> bool {
        self.completed >= self.total
    }

    /// Whether containers are still wanted (allocation pending).
    pub fn is_waiting_for_allocation(&self) -> bool {
        self.allocated < self.total
    }

    pub fn progress(&self) -> f32 {
        if self.total == 0 {
            1.0
        } else {
            self.completed as f32 / self.total as f32
        }
    }

    /// The final status and diagnostics to unregister with.
    pub fn final_status(&self) -> (FinalApplicationStatus, String) {
        if self.failed == 0 && self.completed >= self.total {
            return (FinalApplicationStatus::Succeeded, String::new());
        }
        let mut diagnostics = format!(
            "Diagnostics., total={}, completed={}, allocated={}, failed={}",
            self.total, self.completed, self.allocated, self.failed
        );
        for (container, failure) in &self.failures {
            diagnostics.push_str(&format!("; {container} {failure}"));
        }
        (FinalApplicationStatus::Failed, diagnostics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_types::{ApplicationAttemptId, ApplicationId};

    fn container(sequence: i64) -> ContainerId {
        ContainerId::new(
            ApplicationAttemptId::new(ApplicationId::new(1700000000000, 1), 1),
            0,
            sequence,
        )
    }

    #[test]
    fn all_successful_containers_succeed() {
        let mut tracker = ShellContainerTracker::new(2);
        assert_eq!(tracker.containers_to_request(), 2);
        assert_eq!(tracker.containers_to_request(), 0);
        assert_eq!(
            tracker.on_allocated(container(2)),
            AllocationDecision::Launch
        );
        assert_eq!(
            tracker.on_allocated(container(3)),
            AllocationDecision::Launch
        );
        assert!(!tracker.is_waiting_for_allocation());
        assert_eq!(
            tracker.on_completed(container(2), 0),
            CompletionOutcome::Succeeded
        );
        assert_eq!(tracker.progress(), 0.5);
        assert!(!tracker.is_done());
        tracker.on_completed(container(3), 0);
        assert!(tracker.is_done());
        assert_eq!(
            tracker.final_status(),
            (FinalApplicationStatus::Succeeded, String::new())
        );
    }

    #[test]
    fn surplus_containers_are_released_and_their_completion_ignored() {
        let mut tracker = ShellContainerTracker::new(1);
        tracker.containers_to_request();
        assert_eq!(
            tracker.on_allocated(container(2)),
            AllocationDecision::Launch
        );
        assert_eq!(
            tracker.on_allocated(container(3)),
            AllocationDecision::Release
        );
        assert_eq!(
            tracker.on_completed(container(3), exit_status::ABORTED),
            CompletionOutcome::Ignored
        );
        assert_eq!(
            tracker.containers_to_request(),
            0,
            "a released surplus is not replaced"
        );
        assert_eq!(
            tracker.on_completed(container(9), 0),
            CompletionOutcome::Ignored
        );
    }

    #[test]
    fn lost_containers_are_replaced() {
        let mut tracker = ShellContainerTracker::new(2);
        tracker.containers_to_request();
        tracker.on_allocated(container(2));
        tracker.on_allocated(container(3));
        assert_eq!(
            tracker.on_completed(container(2), exit_status::ABORTED),
            CompletionOutcome::Lost
        );
        assert!(tracker.is_waiting_for_allocation());
        assert_eq!(tracker.containers_to_request(), 1);
        assert_eq!(
            tracker.on_allocated(container(4)),
            AllocationDecision::Launch
        );
        tracker.on_completed(container(3), 0);
        tracker.on_completed(container(4), 0);
        assert!(tracker.is_done());
        assert_eq!(tracker.final_status().0, FinalApplicationStatus::Succeeded);
    }

    #[test]
    fn failures_are_reported_like_hadoop_with_their_exit_statuses() {
        let mut tracker = ShellContainerTracker::new(4);
        tracker.containers_to_request();
        for sequence in 2..=5 {
            tracker.on_allocated(container(sequence));
        }
        tracker.on_completed(container(2), 0);
        assert_eq!(
            tracker.on_completed(container(3), 3),
            CompletionOutcome::Failed
        );
        assert_eq!(
            tracker.on_completed(container(5), exit_status::KILLED_EXCEEDED_PMEM),
            CompletionOutcome::Failed
        );
        tracker.on_launch_failed(container(4), "connection refused");
        assert!(tracker.is_done());
        let (status, diagnostics) = tracker.final_status();
        assert_eq!(status, FinalApplicationStatus::Failed);
        assert_eq!(
            diagnostics,
            "Diagnostics., total=4, completed=4, allocated=4, failed=3; \
             container_1700000000000_0001_01_000003 exit status 3; \
             container_1700000000000_0001_01_000004 could not be started: connection refused; \
             container_1700000000000_0001_01_000005 exit status -104 (KILLED_EXCEEDED_PMEM)"
        );
        assert_eq!(
            tracker.on_completed(container(4), exit_status::ABORTED),
            CompletionOutcome::Ignored,
            "the release of a container that failed to start is not a loss"
        );
    }
}
