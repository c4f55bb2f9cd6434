//! Preemption, driven by [`crate::SchedulerEvent::TimeAdvanced`]: the policy picks containers to
//! take back (Capacity: the preemption monitor restoring guarantees; Fair: min-share and
//! fair-share starvation after their timeouts); each is first announced to its AM
//! ([`crate::SchedulerAction::PreemptionRequested`]) and, if still live after the grace period,
//! completed with YARN's PREEMPTED exit status. The freed room then goes, as any freed room, to
//! whoever the policy puts first: the starved queue.

mod capacity;
mod fair;

use std::collections::BTreeMap;

use spindle_types::{exit_status, ApplicationId, ContainerId};

use crate::action::{CompletionReason, SchedulerAction};
use crate::config::SchedulingPolicy;
use crate::fast_hash::FastMap;
use crate::queues::QueueIndex;
use crate::scheduler::Scheduler;

pub(crate) use fair::FairShares;

/// Leaves' applications in the order preemption takes from them (see
/// [`Scheduler::preemption_order`]).
pub(crate) type PreemptionOrder = FastMap<QueueIndex, Vec<ApplicationId>>;

/// A container asked back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PreemptionMark {
    pub(crate) marked_at_ms: i64,
    /// The starved queue it is taken for (Fair policy).
    pub(crate) for_queue: Option<QueueIndex>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct PreemptionState {
    pub(crate) marked: BTreeMap<ContainerId, PreemptionMark>,
    pub(crate) last_round_ms: Option<i64>,
}

impl PreemptionState {
    /// The container completed: nothing left to preempt.
    pub(crate) fn forget(&mut self, container: ContainerId) {
        if !self.marked.is_empty() {
            self.marked.remove(&container);
        }
    }
}

/// How often the policy looks and how long a marked container lives.
struct Timing {
    interval_ms: i64,
    grace_ms: i64,
    /// Capacity: a marked container no longer selected is spared.
    unmark_unselected: bool,
}

impl Scheduler {
    pub(crate) fn run_preemption(&mut self, actions: &mut Vec<SchedulerAction>) {
        let mut fair_shares = None;
        let timing = match &self.config.policy {
            SchedulingPolicy::Fifo => return,
            SchedulingPolicy::Capacity(config) => match &config.preemption {
                Some(preemption) => Timing {
                    interval_ms: preemption.monitoring_interval_ms,
                    grace_ms: preemption.max_wait_before_kill_ms,
                    unmark_unselected: true,
                },
                None => return,
            },
            SchedulingPolicy::Fair(config) => {
                let (enabled, grace_ms) =
                    (config.site.preemption, config.site.wait_time_before_kill_ms);
                if !enabled {
                    return;
                }
                fair_shares = Some(self.update_fair_share_starvation());
                Timing {
                    // Starvation is checked whenever time moves, so that a timeout acts on time.
                    interval_ms: 0,
                    grace_ms,
                    unmark_unselected: false,
                }
            }
        };
        let now = self.now_ms;
        let round_due = self
            .preemption
            .last_round_ms
            .is_none_or(|last| now - last >= timing.interval_ms);
        let mut selected = Vec::new();
        if round_due {
            self.preemption.last_round_ms = Some(now);
            selected = match &self.config.policy {
                SchedulingPolicy::Capacity(config) => {
                    let preemption = config.preemption.clone().expect("checked above");
                    self.capacity_preemption_candidates(&preemption)
                        .into_iter()
                        .map(|container| (container, None))
                        .collect()
                }
                SchedulingPolicy::Fair(_) => self.fair_preemption_candidates(
                    fair_shares.as_ref().expect("measured for the Fair policy"),
                ),
                SchedulingPolicy::Fifo => Vec::new(),
            };
            if timing.unmark_unselected {
                let chosen: std::collections::BTreeSet<ContainerId> =
                    selected.iter().map(|(container, _)| *container).collect();
                self.preemption
                    .marked
                    .retain(|container, _| chosen.contains(container));
            }
        }
        let overdue: Vec<ContainerId> = self
            .preemption
            .marked
            .iter()
            .filter(|(_, mark)| now - mark.marked_at_ms >= timing.grace_ms)
            .map(|(container, _)| *container)
            .collect();
        for container in overdue {
            self.complete_container(
                container,
                exit_status::PREEMPTED,
                CompletionReason::Preempted,
                actions,
            );
        }
        for (container, for_queue) in selected {
            if self.preemption.marked.contains_key(&container) {
                continue;
            }
            let Some(record) = self.containers.get(&container) else {
                continue;
            };
            self.preemption.marked.insert(
                container,
                PreemptionMark {
                    marked_at_ms: now,
                    for_queue,
                },
            );
            actions.push(SchedulerAction::PreemptionRequested {
                container,
                attempt: record.owner,
            });
            if timing.grace_ms <= 0 {
                self.complete_container(
                    container,
                    exit_status::PREEMPTED,
                    CompletionReason::Preempted,
                    actions,
                );
            }
        }
    }

    /// Every leaf's applications in the order preemption takes from them: the last-ordered
    /// (lowest priority, latest submitted) first. One pass over the applications per round.
    pub(crate) fn preemption_order(&self) -> PreemptionOrder {
        let mut by_leaf: PreemptionOrder = FastMap::default();
        for app in self.applications.values() {
            by_leaf.entry(app.queue).or_default().push(app.id);
        }
        for applications in by_leaf.values_mut() {
            applications.sort_unstable_by_key(|id| {
                let app = &self.applications[id];
                std::cmp::Reverse((std::cmp::Reverse(app.priority), app.submission, app.id))
            });
        }
        by_leaf
    }

    /// Containers of a leaf's applications that may be preempted, the ones to take first first:
    /// the last-ordered applications' newest containers, never AM containers, never one already
    /// asked back.
    pub(crate) fn preemptable_containers(
        &self,
        leaf: QueueIndex,
        order: &PreemptionOrder,
    ) -> Vec<ContainerId> {
        let mut containers = Vec::new();
        for id in order.get(&leaf).into_iter().flatten() {
            for container in self.applications[id].containers.sorted().iter().rev() {
                let record = &self.containers[container];
                if !record.is_am && !self.preemption.marked.contains_key(container) {
                    containers.push(*container);
                }
            }
        }
        containers
    }
}
