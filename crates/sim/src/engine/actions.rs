//! Carrying out the scheduler's actions in the simulated cluster: an allocated container goes
//! to its AM (or starts the AM), a completed one frees its node and tells its AM, a preemption
//! request is counted.

use spindle_scheduler::{CompletionReason, Locality, SchedulerAction};
use spindle_types::{ApplicationAttemptId, ContainerId, NodeId, Resource};

use super::applications::{ApplicationPhase, LiveContainer, UnacquiredContainer};
use super::{Engine, FollowUp, SimEvent};
use crate::metrics::recorder::completion_name;
use crate::metrics::ContainerRecord;

/// The fields of [`SchedulerAction::Allocated`] the simulation uses.
struct Allocation {
    container: ContainerId,
    attempt: ApplicationAttemptId,
    node: NodeId,
    resource: Resource,
    allocation_request_id: i64,
    is_am: bool,
    locality: Locality,
}

impl Engine<'_> {
    pub(super) fn apply(&mut self, actions: Vec<SchedulerAction>) {
        for action in actions {
            match action {
                SchedulerAction::Allocated {
                    container,
                    attempt,
                    node,
                    resource,
                    priority: _,
                    allocation_request_id,
                    is_am,
                    locality,
                } => self.allocated(Allocation {
                    container,
                    attempt,
                    node,
                    resource,
                    allocation_request_id,
                    is_am,
                    locality,
                }),
                SchedulerAction::Completed {
                    container,
                    reason,
                    acquired,
                    ..
                } => self.completed(container, reason, acquired),
                SchedulerAction::PreemptionRequested { .. } => {
                    // The simulated AM does not give containers back when asked; the
                    // scheduler takes them when its grace period ends.
                    self.recorder.preemption_requests += 1;
                }
                // The simulator never restarts its RM, so it recovers no containers.
                SchedulerAction::RecoveryRefused { .. } => {}
            }
        }
    }

    fn allocated(&mut self, allocation: Allocation) {
        let Some(&job) = self
            .job_of_application
            .get(&allocation.attempt.application_id)
        else {
            return;
        };
        let now_ms = self.now_ms;
        self.last_progress_ms = now_ms;
        self.cluster_allocated.add_assign(&allocation.resource);
        let host = allocation.node.host.to_string();
        let rack = self
            .rack_of_host
            .get(&host)
            .cloned()
            .unwrap_or_else(|| spindle_scheduler::DEFAULT_RACK.to_string());
        let app = &mut self.applications[job];
        app.allocated.add_assign(&allocation.resource);
        app.live_containers += 1;
        let asked_ms = if allocation.is_am {
            self.recorder.am_allocated(now_ms - app.attempt_added_ms);
            app.am_container = Some(allocation.container);
            app.am_allocated_ms.get_or_insert(now_ms);
            app.attempt_added_ms
        } else {
            let asked_ms = app
                .book
                .take_ask_time(allocation.allocation_request_id)
                .unwrap_or(now_ms);
            self.recorder
                .task_allocated(now_ms - asked_ms, allocation.locality);
            app.unacquired.push(UnacquiredContainer {
                container: allocation.container,
                host: host.clone(),
                rack,
                allocation_request_id: allocation.allocation_request_id,
            });
            asked_ms
        };
        let record = self.recorder.containers.len();
        self.recorder.containers.push(ContainerRecord {
            container_id: allocation.container.to_string(),
            job_id: self.workload.jobs[job].job_id.clone(),
            node: host,
            is_am: allocation.is_am,
            locality: allocation.locality.name(),
            memory_mb: allocation.resource.memory_mb,
            vcores: allocation.resource.vcores,
            asked_ms,
            allocated_ms: now_ms,
            started_ms: None,
            finished_ms: None,
            end: "",
        });
        self.live.insert(
            allocation.container,
            LiveContainer {
                job,
                attempt: allocation.attempt,
                is_am: allocation.is_am,
                task: None,
                resource: allocation.resource,
                allocation_request_id: allocation.allocation_request_id,
                asked_ms,
                record,
                node: allocation.node.clone(),
            },
        );
        if allocation.is_am {
            let launch_ms = now_ms + self.settings.am_launch_delay_ms;
            let attempt_number = allocation.attempt.attempt_id;
            self.schedule(
                launch_ms,
                SimEvent::AmLaunched {
                    job,
                    attempt_number,
                },
            );
        } else {
            self.ensure_heartbeat(job);
        }
    }

    fn completed(&mut self, container: ContainerId, reason: CompletionReason, acquired: bool) {
        let Some(live) = self.live.remove(&container) else {
            return;
        };
        let now_ms = self.now_ms;
        self.last_progress_ms = now_ms;
        self.recorder.container_completed(reason);
        let record = &mut self.recorder.containers[live.record];
        record.finished_ms = Some(now_ms);
        record.end = completion_name(reason);
        self.cluster_allocated.sub_assign(&live.resource);
        let app = &mut self.applications[live.job];
        app.allocated.sub_assign(&live.resource);
        app.live_containers -= 1;
        let current = app.current_attempt() == Some(live.attempt);
        if live.is_am {
            if current && app.phase.is_active() && app.am_container == Some(container) {
                self.follow_ups
                    .push(FollowUp::RestartAttempt { job: live.job });
            }
            return;
        }
        if !current || app.phase != ApplicationPhase::Running {
            return;
        }
        match live.task {
            Some(task) if reason == CompletionReason::Finished => app.book.task_finished(task),
            Some(task) => app.book.task_lost(task, now_ms),
            None => {
                app.unacquired.retain(|entry| entry.container != container);
                app.releases.retain(|&released| released != container);
                if !acquired {
                    // The scheduler restored the request: it is outstanding again.
                    app.book
                        .restore_ask_time(live.allocation_request_id, live.asked_ms);
                }
            }
        }
        self.ensure_heartbeat(live.job);
    }
}
