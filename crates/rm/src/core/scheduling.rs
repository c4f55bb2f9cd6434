//! The bridge between the RM and the pure scheduling core: RM calls become `SchedulerEvent`s,
//! `SchedulerAction`s become [`Decision`]s that [`RmCore::apply_decisions`] carries out.

use spindle_scheduler::{
    AllocationLimits, ResourceRequest, Scheduler, SchedulerAction, SchedulerConfig, SchedulerEvent,
    SchedulingPolicy,
};
use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource};

use super::allocate_reply::AllocatedContainer;
use super::records::RmContainer;
use super::RmCore;
use crate::lifecycle::attempt::AttemptEvent;
use crate::lifecycle::container::RmContainerState;
use crate::settings::RmSettings;

/// One validated, normalized entry of an AM's asks.
#[derive(Debug, Clone)]
pub struct Ask {
    pub priority: i32,
    pub resource_name: String,
    pub capability: Resource,
    pub num_containers: i32,
    pub relax_locality: bool,
    pub allocation_request_id: i64,
}

/// A scheduling decision the RM must carry out.
#[derive(Debug, Clone)]
pub enum Decision {
    Allocated {
        container: ContainerId,
        attempt: ApplicationAttemptId,
        node: NodeId,
        resource: Resource,
        priority: i32,
        allocation_request_id: i64,
        is_am: bool,
    },
    Completed {
        container: ContainerId,
        attempt: ApplicationAttemptId,
        node: NodeId,
        exit_status: i32,
        diagnostics: String,
        /// The process may still run: its NM must stop it.
        kill_on_node: bool,
        /// The AM saw the container, so it must hear of its completion.
        report_to_am: bool,
    },
    /// The scheduler will take the container back: the AM is told first (PreemptionMessage).
    PreemptionRequested {
        container: ContainerId,
        attempt: ApplicationAttemptId,
    },
    /// A container an NM reported after an RM restart cannot be taken back: stop it there.
    RecoveryRefused {
        container: ContainerId,
        node: NodeId,
        reason: &'static str,
    },
}

/// A running container an NM reported at registration, to be taken back after an RM restart.
#[derive(Debug, Clone)]
pub struct RecoveredContainer {
    pub id: ContainerId,
    pub node: NodeId,
    pub resource: Resource,
    pub priority: i32,
    pub allocation_request_id: i64,
    pub is_am: bool,
    pub creation_time: i64,
}

pub struct SchedulerBridge {
    scheduler: Scheduler,
    /// The first event the scheduler refused, if any: the RM only sends events its own records
    /// allow, so a refusal is a bug (logged; `check_invariants` reports it in tests).
    first_refusal: Option<String>,
}

/// The FIFO configuration the RM uses when no scheduler configuration is given.
pub fn default_scheduler_config(settings: &RmSettings) -> SchedulerConfig {
    SchedulerConfig {
        rm_epoch: settings.epoch,
        limits: AllocationLimits {
            minimum: settings.minimum_allocation.clone(),
            maximum: settings.maximum_allocation.clone(),
            increment: settings.minimum_allocation.clone(),
        },
        ..Default::default()
    }
}

impl SchedulerBridge {
    /// A scheduler with `config`, or FIFO from the settings' limits when there is none.
    pub fn with_config(
        settings: &RmSettings,
        config: Option<SchedulerConfig>,
    ) -> Result<Self, String> {
        let config = config.unwrap_or_else(|| default_scheduler_config(settings));
        Ok(Self {
            scheduler: Scheduler::new(config).map_err(|e| e.to_string())?,
            first_refusal: None,
        })
    }

    /// Replaces the scheduler's configuration (queues, policies, limits); a refused configuration
    /// leaves the running one in place and says why.
    pub fn replace_config(&mut self, config: SchedulerConfig) -> Result<Vec<Decision>, String> {
        let actions = self
            .scheduler
            .handle(SchedulerEvent::ConfigurationReplaced {
                config: Box::new(config),
            })
            .map_err(|e| e.to_string())?;
        Ok(actions
            .into_iter()
            .filter_map(|a| decision(a, ""))
            .collect())
    }

    fn run(&mut self, event: SchedulerEvent, finished_diagnostics: &str) -> Vec<Decision> {
        // Named before handling (the event moves); formatted only if it is refused.
        let kind = event_kind(&event);
        match self.scheduler.handle(event) {
            Ok(actions) => actions
                .into_iter()
                .filter_map(|a| decision(a, finished_diagnostics))
                .collect(),
            Err(e) => {
                // The RM only sends events its own records allow; a refusal is a bug worth a log line,
                // never a crash of the whole RM.
                tracing::error!("scheduler refused a {kind} event: {e}");
                self.first_refusal
                    .get_or_insert_with(|| format!("the scheduler refused a {kind} event: {e}"));
                Vec::new()
            }
        }
    }

    pub fn add_node(
        &mut self,
        node: &NodeId,
        rack: &str,
        capability: Resource,
        _now_ms: i64,
    ) -> Vec<Decision> {
        self.run(
            SchedulerEvent::NodeAdded {
                node: node.clone(),
                rack: rack.to_string(),
                capability,
            },
            "",
        )
    }

    /// Nothing new is placed until `until_ms` (after a restart that recovered running
    /// applications).
    pub fn recovery_wait(&mut self, until_ms: i64) -> Vec<Decision> {
        self.run(SchedulerEvent::RecoveryWait { until_ms }, "")
    }

    /// The node's capability changed (a recovering node offers its room once its containers
    /// are back).
    pub fn update_node(&mut self, node: &NodeId, capability: Resource) -> Vec<Decision> {
        self.run(
            SchedulerEvent::NodeUpdated {
                node: node.clone(),
                capability,
            },
            "",
        )
    }

    /// The RM stopped hearing from the node (it missed heartbeats) or hears from it again.
    pub fn node_reachability(&mut self, node: &NodeId, reachable: bool) -> Vec<Decision> {
        self.run(
            SchedulerEvent::NodeReachability {
                node: node.clone(),
                reachable,
            },
            "",
        )
    }

    pub fn remove_node(
        &mut self,
        node: &NodeId,
        _exit_status: i32,
        diagnostics: &str,
        _now_ms: i64,
    ) -> Vec<Decision> {
        self.run(
            SchedulerEvent::NodeRemoved { node: node.clone() },
            diagnostics,
        )
    }

    /// Adds an application to the queue its placement chooses (placement rules may choose
    /// another than `queue`); answers that queue as YARN reports it, or why it was refused.
    pub fn add_application(
        &mut self,
        application: ApplicationId,
        queue: &str,
        user: &str,
        priority: i32,
    ) -> Result<String, String> {
        self.scheduler
            .handle(SchedulerEvent::ApplicationAdded {
                application,
                queue: queue.to_string(),
                user: user.to_string(),
                priority,
            })
            .map_err(|e| e.to_string())?;
        let Some(path) = self
            .scheduler
            .application_usage(application)
            .map(|usage| usage.queue)
        else {
            tracing::error!("the scheduler accepted {application} but does not know it");
            return Ok(queue.to_string());
        };
        Ok(reported_queue_name(&self.scheduler.config().policy, path))
    }

    pub fn remove_application(
        &mut self,
        application: ApplicationId,
        _now_ms: i64,
    ) -> Vec<Decision> {
        if self.scheduler.application_usage(application).is_none() {
            return Vec::new();
        }
        self.run(SchedulerEvent::ApplicationRemoved { application }, "")
    }

    pub fn add_attempt(
        &mut self,
        attempt: ApplicationAttemptId,
        am_resource: Resource,
        _now_ms: i64,
    ) -> Vec<Decision> {
        self.run(
            SchedulerEvent::AttemptAdded {
                attempt,
                am_resource: Some(am_resource),
            },
            "",
        )
    }

    /// An attempt that was running before an RM restart: its AM container already runs, so
    /// none is asked for.
    pub fn recover_attempt(
        &mut self,
        attempt: ApplicationAttemptId,
        am_resource: Resource,
        _now_ms: i64,
    ) -> Vec<Decision> {
        self.run(
            SchedulerEvent::AttemptRecovered {
                attempt,
                am_resource,
            },
            "",
        )
    }

    /// A container an NM reported running when it re-registered after an RM restart: charged
    /// as the allocation it was. A container the scheduler cannot take back comes out as a
    /// completion to kill on its node.
    pub fn recover_container(&mut self, container: &RecoveredContainer) -> Vec<Decision> {
        self.run(
            SchedulerEvent::ContainerRecovered {
                container: container.id,
                node: container.node.clone(),
                resource: container.resource.clone(),
                priority: container.priority,
                allocation_request_id: container.allocation_request_id,
                is_am: container.is_am,
            },
            "Container of an application that could not be recovered",
        )
    }

    pub fn remove_attempt(
        &mut self,
        attempt: ApplicationAttemptId,
        keep_containers: bool,
        _now_ms: i64,
    ) -> Vec<Decision> {
        let current = self
            .scheduler
            .application_usage(attempt.application_id)
            .and_then(|u| u.current_attempt);
        if current != Some(attempt) {
            return Vec::new();
        }
        self.run(
            SchedulerEvent::AttemptRemoved {
                attempt,
                keep_containers,
            },
            "",
        )
    }

    pub fn update_asks(
        &mut self,
        attempt: ApplicationAttemptId,
        asks: Vec<Ask>,
        releases: Vec<ContainerId>,
        _now_ms: i64,
    ) -> Vec<Decision> {
        let asks = asks
            .into_iter()
            .map(|a| ResourceRequest {
                priority: a.priority,
                resource_name: a.resource_name,
                capability: a.capability,
                num_containers: a.num_containers,
                relax_locality: a.relax_locality,
                allocation_request_id: a.allocation_request_id,
            })
            .collect();
        self.run(
            SchedulerEvent::Asks {
                attempt,
                asks,
                releases,
            },
            "",
        )
    }

    pub fn acquired(&mut self, containers: Vec<ContainerId>) {
        if !containers.is_empty() {
            let _ = self.run(SchedulerEvent::ContainersAcquired { containers }, "");
        }
    }

    pub fn container_finished(
        &mut self,
        container: ContainerId,
        exit_status: i32,
        diagnostics: &str,
        _now_ms: i64,
    ) -> Vec<Decision> {
        self.run(
            SchedulerEvent::ContainerFinished {
                container,
                exit_status,
            },
            diagnostics,
        )
    }

    pub fn time_advanced(&mut self, now_ms: i64) -> Vec<Decision> {
        self.run(SchedulerEvent::TimeAdvanced { now_ms }, "")
    }

    /// What the attempt could still get: the scheduler's headroom (queue, user and cluster
    /// limits), or the cluster's unallocated resources for an application it no longer knows.
    pub fn headroom(&self, attempt: ApplicationAttemptId) -> Resource {
        self.scheduler
            .headroom(attempt.application_id)
            .unwrap_or_else(|| self.scheduler.cluster_metrics().available)
    }

    /// A NodeManager heartbeat: a scheduling opportunity (delay scheduling counts them).
    pub fn node_heartbeat(&mut self, node: &NodeId, _now_ms: i64) -> Vec<Decision> {
        self.run(SchedulerEvent::NodeHeartbeat { node: node.clone() }, "")
    }

    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    pub fn check_invariants(&self) -> Result<(), String> {
        if let Some(refusal) = &self.first_refusal {
            return Err(refusal.clone());
        }
        self.scheduler.check_invariants().map_err(|e| e.to_string())
    }
}

/// A queue named as YARN's `ApplicationReport.getQueue` names it: the Fair Scheduler sets the
/// application's queue to the leaf's full name (`root.dev.eng`), the Capacity and FIFO
/// schedulers keep the leaf's short name (`default`).
fn reported_queue_name(policy: &SchedulingPolicy, path: String) -> String {
    match policy {
        SchedulingPolicy::Fair(_) => path,
        SchedulingPolicy::Capacity(_) | SchedulingPolicy::Fifo => {
            path.rsplit('.').next().unwrap_or(&path).to_string()
        }
    }
}

fn event_kind(event: &SchedulerEvent) -> &'static str {
    match event {
        SchedulerEvent::NodeAdded { .. } => "NodeAdded",
        SchedulerEvent::NodeUpdated { .. } => "NodeUpdated",
        SchedulerEvent::NodeRemoved { .. } => "NodeRemoved",
        SchedulerEvent::NodeReachability { .. } => "NodeReachability",
        SchedulerEvent::ApplicationAdded { .. } => "ApplicationAdded",
        SchedulerEvent::ApplicationRemoved { .. } => "ApplicationRemoved",
        SchedulerEvent::AttemptAdded { .. } => "AttemptAdded",
        SchedulerEvent::AttemptRemoved { .. } => "AttemptRemoved",
        SchedulerEvent::Asks { .. } => "Asks",
        SchedulerEvent::ContainersAcquired { .. } => "ContainersAcquired",
        SchedulerEvent::ContainerFinished { .. } => "ContainerFinished",
        SchedulerEvent::ContainerExpired { .. } => "ContainerExpired",
        SchedulerEvent::TimeAdvanced { .. } => "TimeAdvanced",
        SchedulerEvent::ConfigurationReplaced { .. } => "ConfigurationReplaced",
        _ => "scheduler",
    }
}

fn decision(action: SchedulerAction, finished_diagnostics: &str) -> Option<Decision> {
    Some(match action {
        SchedulerAction::Allocated {
            container,
            attempt,
            node,
            resource,
            priority,
            allocation_request_id,
            is_am,
            ..
        } => Decision::Allocated {
            container,
            attempt,
            node,
            resource,
            priority,
            allocation_request_id,
            is_am,
        },
        SchedulerAction::Completed {
            container,
            attempt,
            node,
            exit_status,
            reason,
            acquired,
            ..
        } => {
            let diagnostics = match reason.diagnostics() {
                "" => finished_diagnostics.to_string(),
                text => text.to_string(),
            };
            Decision::Completed {
                container,
                attempt,
                node,
                exit_status,
                diagnostics,
                kill_on_node: reason.requires_container_kill(),
                report_to_am: acquired,
            }
        }
        SchedulerAction::PreemptionRequested { container, attempt } => {
            Decision::PreemptionRequested { container, attempt }
        }
        SchedulerAction::RecoveryRefused {
            container,
            node,
            reason,
        } => Decision::RecoveryRefused {
            container,
            node,
            reason: reason.diagnostics(),
        },
    })
}

impl RmCore {
    /// Carries out scheduling decisions: records containers, launches AM containers, queues
    /// containers and completions for their AMs, and kills on NMs what may still run.
    pub(crate) fn apply_decisions(&mut self, decisions: Vec<Decision>, now_ms: i64) {
        for d in decisions {
            match d {
                Decision::Allocated {
                    container,
                    attempt,
                    node,
                    resource,
                    priority,
                    allocation_request_id,
                    is_am,
                } => self.container_allocated(
                    container,
                    attempt,
                    node,
                    resource,
                    priority,
                    allocation_request_id,
                    is_am,
                    now_ms,
                ),
                Decision::Completed {
                    container,
                    attempt,
                    node,
                    exit_status,
                    diagnostics,
                    kill_on_node,
                    report_to_am,
                } => self.container_completed(
                    container,
                    attempt,
                    &node,
                    exit_status,
                    &diagnostics,
                    kill_on_node,
                    report_to_am,
                    now_ms,
                ),
                Decision::PreemptionRequested { container, attempt } => {
                    if let Some(a) = self.attempts.get_mut(&attempt) {
                        a.to_preempt.insert(container);
                    }
                }
                Decision::RecoveryRefused {
                    container,
                    node,
                    reason,
                } => {
                    tracing::info!(
                        "Skip recovering container {container} on {node}: {reason}; it is stopped"
                    );
                    if let Some(n) = self.nodes.get_mut(&node) {
                        n.cleanup_container(container);
                    }
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn container_allocated(
        &mut self,
        id: ContainerId,
        attempt_id: ApplicationAttemptId,
        node: NodeId,
        resource: Resource,
        priority: i32,
        allocation_request_id: i64,
        is_am: bool,
        now_ms: i64,
    ) {
        if !self.apps.contains_key(&attempt_id.application_id) {
            return;
        }
        let http_port = self.nodes.get_mut(&node).map(|n| {
            n.num_containers += 1;
            n.used.add_assign(&resource);
            n.http_port
        });
        let allocated = AllocatedContainer {
            id,
            node: node.clone(),
            http_port,
            resource: resource.clone(),
            priority,
            allocation_request_id,
            is_am,
            creation_time: now_ms,
        };
        self.containers.insert(
            id,
            RmContainer {
                attempt: attempt_id,
                node,
                resource,
                priority,
                allocation_request_id,
                is_am,
                state: RmContainerState::Allocated,
                creation_time: now_ms,
            },
        );
        let Some(attempt) = self.attempts.get_mut(&attempt_id) else {
            return;
        };
        attempt.live_containers.insert(id);
        if is_am {
            attempt.am_container = Some(id);
            attempt.am_node = Some(allocated.node.clone());
            self.attempt_event(attempt_id, AttemptEvent::AmContainerAllocated, now_ms);
            self.scheduler.acquired(vec![id]);
            if let Some(c) = self.containers.get_mut(&id) {
                c.state = RmContainerState::Acquired;
            }
            // The AM container is started once the attempt is stored (ALLOCATED_SAVING).
            self.save_attempt(
                attempt_id,
                Some(super::durability::Persisted::Attempt(attempt_id)),
                now_ms,
            );
        } else {
            attempt.newly_allocated.push(allocated);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn container_completed(
        &mut self,
        id: ContainerId,
        attempt_id: ApplicationAttemptId,
        node: &NodeId,
        exit_status: i32,
        diagnostics: &str,
        kill_on_node: bool,
        report_to_am: bool,
        now_ms: i64,
    ) {
        let record = self.containers.remove(&id);
        if let Some(n) = self.nodes.get_mut(node) {
            if let Some(c) = &record {
                n.num_containers -= 1;
                n.used.sub_assign(&c.resource);
            }
            if kill_on_node {
                n.cleanup_container(id);
            }
        }
        if let Some(c) = &record {
            self.charge_completed_container(attempt_id, c, exit_status, now_ms);
        }
        let Some(attempt) = self.attempts.get_mut(&attempt_id) else {
            return;
        };
        attempt.live_containers.remove(&id);
        attempt.to_preempt.remove(&id);
        if record.is_some() && attempt.state.is_final() && attempt.live_containers.is_empty() {
            // The ended attempt's last container: its record now holds its final usage.
            self.save_attempt(attempt_id, None, now_ms);
        }
        let Some(attempt) = self.attempts.get_mut(&attempt_id) else {
            return;
        };
        if record.as_ref().is_some_and(|c| c.is_am) || attempt.am_container == Some(id) {
            // The RM itself is the AM container's consumer: its node may forget it at once.
            if let Some(n) = self.nodes.get_mut(node) {
                n.remove_completed(id);
            }
            self.am_container_finished(attempt_id, exit_status, diagnostics, now_ms);
        } else if report_to_am && !attempt.state.is_final() {
            attempt.newly_completed.push(Self::completed_status(
                id,
                node,
                exit_status,
                diagnostics,
            ));
        } else if let Some(n) = self.nodes.get_mut(node) {
            n.remove_completed(id);
        }
    }

    /// The AM's launch context as the NM must receive it: the client's, plus the AMRMToken in
    /// its credentials and the variables YARN's AM launcher adds.
    pub(crate) fn am_launch_context(
        &self,
        attempt_id: ApplicationAttemptId,
    ) -> spindle_proto::yarn::ContainerLaunchContextProto {
        let app = &self.apps[&attempt_id.application_id];
        let mut context = app.submission.am_container_spec.clone().unwrap_or_default();
        let mut credentials =
            spindle_security::Credentials::decode(context.tokens()).unwrap_or_default();
        let token = self
            .keys
            .amrm_token(attempt_id, self.settings.scheduler_service.clone());
        credentials.add_token(&attempt_id.to_string(), token);
        context.tokens = Some(credentials.encode());
        let mut set_env = |key: &str, value: String| {
            context.environment.retain(|e| e.key() != key);
            context
                .environment
                .push(spindle_proto::yarn::StringStringMapProto {
                    key: Some(key.to_string()),
                    value: Some(value),
                });
        };
        set_env(
            "APPLICATION_WEB_PROXY_BASE",
            format!("/proxy/{}", attempt_id.application_id),
        );
        set_env("APP_SUBMIT_TIME_ENV", app.submit_time.to_string());
        set_env("MAX_APP_ATTEMPTS", app.max_attempts.to_string());
        context
    }

    /// The RM handed these containers to their AM.
    pub(crate) fn containers_acquired(&mut self, ids: Vec<ContainerId>) {
        for id in &ids {
            if let Some(c) = self.containers.get_mut(id) {
                if c.state == RmContainerState::Allocated {
                    c.state = RmContainerState::Acquired;
                }
            }
        }
        self.scheduler.acquired(ids);
    }
}
