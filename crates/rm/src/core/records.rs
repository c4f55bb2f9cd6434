//! The RM's records of applications, attempts, nodes and containers.

use std::collections::BTreeSet;
use std::sync::Arc;

use spindle_proto::yarn::ApplicationSubmissionContextProto;
use spindle_types::states::{FinalApplicationStatus, NodeState};
use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource};

use super::allocate_reply::{AllocateReply, AllocatedContainer, CompletedContainer};
use super::usage::AttemptMetrics;
use super::FastSet;
use crate::lifecycle::app::AppState;
use crate::lifecycle::attempt::AttemptState;
use crate::lifecycle::container::RmContainerState;

/// One application as the RM knows it.
#[derive(Debug, Clone)]
pub struct RmApp {
    pub id: ApplicationId,
    pub user: String,
    pub name: String,
    /// The queue the client asked for (`ApplicationSubmissionContext.queue`).
    pub queue: String,
    /// The queue the scheduler placed the application in, recorded when it accepted the
    /// application and reported for the application's whole life, also after the scheduler
    /// forgot it. Placement rules may choose another queue than the one asked for. None when
    /// the scheduler rejected the application.
    pub placed_queue: Option<String>,
    pub application_type: String,
    pub tags: Vec<String>,
    pub priority: i32,
    /// The submission as the client sent it: the AM's launch context is forwarded to the NM.
    pub submission: ApplicationSubmissionContextProto,
    pub am_resource: Resource,
    pub max_attempts: i32,
    pub state: AppState,
    pub final_status: FinalApplicationStatus,
    pub diagnostics: String,
    pub submit_time: i64,
    pub start_time: i64,
    pub launch_time: i64,
    pub finish_time: i64,
    /// Attempts in order; the last one is the current attempt.
    pub attempts: Vec<ApplicationAttemptId>,
    /// Attempts whose failure counts toward `max_attempts` now (within the submission's
    /// `attempt_failures_validity_interval`, when it has one).
    pub counted_failures: i32,
    /// When each counted failure happened.
    pub failure_times: Vec<i64>,
    /// Containers of a failed attempt waiting for the next one
    /// (keepContainersAcrossApplicationAttempts).
    pub kept_containers: BTreeSet<ContainerId>,
    /// Whether its containers were released and its NMs told to clean up.
    pub cleaned_up: bool,
    /// Whether its final state is durable (always, without a state store): only then does an
    /// unregistering AM hear that its unregistration is complete.
    pub final_saved: bool,
    /// Each node's log upload, as the nodes that ran its containers report it (not stored:
    /// after an RM restart it starts again from what nodes report).
    pub log_aggregation: super::log_aggregation::AppLogAggregation,
}

impl RmApp {
    /// A new application as its submission describes it (NEW, no attempts yet).
    pub fn from_submission(
        id: ApplicationId,
        user: &str,
        submission: ApplicationSubmissionContextProto,
        am_resource: Resource,
        rm_max_attempts: i32,
        submit_time: i64,
    ) -> Self {
        Self {
            id,
            user: user.to_string(),
            name: submission.application_name().to_string(),
            queue: submission.queue().to_string(),
            placed_queue: None,
            application_type: submission.application_type().to_string(),
            tags: submission.application_tags.clone(),
            priority: submission
                .priority
                .as_ref()
                .map(|p| p.priority())
                .unwrap_or(0),
            max_attempts: crate::retry::effective_max_attempts(
                submission.max_app_attempts(),
                rm_max_attempts,
            ),
            submission,
            am_resource,
            state: AppState::New,
            final_status: FinalApplicationStatus::Undefined,
            diagnostics: String::new(),
            submit_time,
            start_time: submit_time,
            launch_time: 0,
            finish_time: 0,
            attempts: Vec::new(),
            counted_failures: 0,
            failure_times: Vec::new(),
            kept_containers: BTreeSet::new(),
            cleaned_up: false,
            final_saved: false,
            log_aggregation: Default::default(),
        }
    }

    /// The queue reports show (`ApplicationReport.getQueue`): where the scheduler placed the
    /// application, or the one asked for when the scheduler rejected it (as YARN reports both).
    pub fn reported_queue(&self) -> &str {
        self.placed_queue.as_deref().unwrap_or(&self.queue)
    }

    pub fn current_attempt(&self) -> Option<ApplicationAttemptId> {
        self.attempts.last().copied()
    }
}

/// One application attempt: its AM container and the AM's conversation with the scheduler.
#[derive(Debug, Clone)]
pub struct RmAttempt {
    pub id: ApplicationAttemptId,
    pub state: AttemptState,
    pub am_container: Option<ContainerId>,
    pub am_node: Option<NodeId>,
    /// Registration details given by the AM.
    pub host: String,
    pub rpc_port: i32,
    pub tracking_url: String,
    pub progress: f32,
    pub final_status: FinalApplicationStatus,
    pub diagnostics: String,
    pub am_exit_status: Option<i32>,
    /// The last allocate response id, or None before registration.
    pub last_response_id: Option<i32>,
    /// The last allocate response, re-sent (the same bytes) when the AM repeats its heartbeat.
    pub last_response: Option<Arc<AllocateReply>>,
    /// Allocated containers not yet handed to the AM.
    pub newly_allocated: Vec<AllocatedContainer>,
    /// Completed containers not yet reported to the AM.
    pub newly_completed: Vec<CompletedContainer>,
    /// Completions the last allocate response carried, with their nodes: once the AM asks
    /// again, it has them, and the nodes are told to forget them.
    pub pulled_completions: Vec<(ContainerId, NodeId)>,
    /// Nodes for which the AM already holds an NMToken.
    pub nm_tokens_sent: FastSet<NodeId>,
    /// Live containers of this attempt (including the AM container).
    pub live_containers: BTreeSet<ContainerId>,
    /// Containers the scheduler will preempt: announced in every allocate response until gone.
    pub to_preempt: BTreeSet<ContainerId>,
    /// When the AM unregistered, on the monotonic clock (the AM container then gets a grace
    /// period to exit).
    pub unregistered_at: Option<i64>,
    pub start_time: i64,
    pub finish_time: i64,
    /// What its completed containers used (YARN's RMAppAttemptMetrics).
    pub metrics: AttemptMetrics,
}

impl RmAttempt {
    pub fn new(id: ApplicationAttemptId, now_ms: i64) -> Self {
        Self {
            id,
            state: AttemptState::Scheduled,
            am_container: None,
            am_node: None,
            host: "N/A".into(),
            rpc_port: -1,
            tracking_url: String::new(),
            progress: 0.0,
            final_status: FinalApplicationStatus::Undefined,
            diagnostics: String::new(),
            am_exit_status: None,
            last_response_id: None,
            last_response: None,
            newly_allocated: Vec::new(),
            newly_completed: Vec::new(),
            pulled_completions: Vec::new(),
            nm_tokens_sent: FastSet::default(),
            live_containers: BTreeSet::new(),
            to_preempt: BTreeSet::new(),
            unregistered_at: None,
            start_time: now_ms,
            finish_time: 0,
            metrics: AttemptMetrics::default(),
        }
    }
}

/// One NodeManager.
#[derive(Debug, Clone)]
pub struct RmNode {
    pub id: NodeId,
    pub http_port: i32,
    /// Shared by the nodes of a rack (see `RmCore::intern`).
    pub rack: Arc<str>,
    pub capability: Resource,
    pub state: NodeState,
    pub last_health_report_time: i64,
    pub last_heartbeat_response_id: i32,
    /// How many live containers run on it, and their resources (its node report's `used`).
    pub num_containers: i32,
    pub used: Resource,
    /// Shared by the nodes that run the same version.
    pub nm_version: Arc<str>,
    /// When the NM was last heard from, on the monotonic clock (`RmCore::set_clock_offset`),
    /// while the NM liveness monitor watches it (registered and not yet lost, shut down or
    /// re-registering).
    pub(crate) last_seen_ms: Option<i64>,
    /// Since when (monotonic clock) the node is lost or shut down: the RM forgets it after
    /// `yarn.resourcemanager.node-removal-untracked.timeout-ms`.
    pub(crate) inactive_since_ms: Option<i64>,
    /// Missed its heartbeats (`RmCore::watch_nodes`): the scheduler gives it no new
    /// containers until it heartbeats again.
    pub(crate) silent: bool,
    /// What most nodes have none of, out of line: a health report, and what the next heartbeat
    /// must tell the NM to clean up. None when all are empty.
    pub(super) messages: Option<Box<NodeMessages>>,
}

/// The rarely non-empty parts of an [`RmNode`].
#[derive(Debug, Clone, Default)]
pub(super) struct NodeMessages {
    health_report: String,
    /// Containers the NM must kill (released, or of finished attempts), sent in the next heartbeat.
    containers_to_cleanup: Vec<ContainerId>,
    /// Applications whose leftovers the NM must clean up.
    applications_to_cleanup: Vec<ApplicationId>,
    /// Completed containers the NM may forget: their AM has the completion.
    containers_to_remove: Vec<ContainerId>,
}

impl NodeMessages {
    fn is_empty(&self) -> bool {
        self.health_report.is_empty()
            && self.containers_to_cleanup.is_empty()
            && self.applications_to_cleanup.is_empty()
            && self.containers_to_remove.is_empty()
    }
}

impl RmNode {
    /// A node that just registered at `now_ms` (wall clock, for its reports), watched by the
    /// liveness monitor from `monotonic_ms`.
    pub fn new(
        id: NodeId,
        http_port: i32,
        rack: Arc<str>,
        capability: Resource,
        state: NodeState,
        nm_version: Arc<str>,
        (now_ms, monotonic_ms): (i64, i64),
    ) -> Self {
        Self {
            id,
            http_port,
            rack,
            capability,
            state,
            last_health_report_time: now_ms,
            last_heartbeat_response_id: 0,
            num_containers: 0,
            used: Resource::ZERO,
            nm_version,
            last_seen_ms: Some(monotonic_ms),
            inactive_since_ms: None,
            silent: false,
            messages: None,
        }
    }

    pub fn http_address(&self) -> String {
        format!("{}:{}", self.id.host, self.http_port)
    }

    /// The NM's last health report (empty when healthy).
    pub fn health_report(&self) -> &str {
        self.messages
            .as_ref()
            .map_or("", |messages| &messages.health_report)
    }

    /// Containers the next heartbeat tells the NM to kill.
    pub fn containers_to_cleanup(&self) -> &[ContainerId] {
        self.messages
            .as_ref()
            .map_or(&[], |messages| &messages.containers_to_cleanup)
    }

    /// Applications the next heartbeat tells the NM to clean up after.
    pub fn applications_to_cleanup(&self) -> &[ApplicationId] {
        self.messages
            .as_ref()
            .map_or(&[], |messages| &messages.applications_to_cleanup)
    }

    fn messages_mut(&mut self) -> &mut NodeMessages {
        self.messages.get_or_insert_with(Box::default)
    }

    /// Drops the out-of-line parts once they are all empty.
    fn compact(&mut self) {
        if self.messages.as_ref().is_some_and(|m| m.is_empty()) {
            self.messages = None;
        }
    }

    pub fn set_health_report(&mut self, report: &str) {
        if self.health_report() != report {
            self.messages_mut().health_report = report.to_string();
            self.compact();
        }
    }

    /// Queues `container` for the NM to kill (once).
    pub fn cleanup_container(&mut self, container: ContainerId) {
        if !self.containers_to_cleanup().contains(&container) {
            self.messages_mut().containers_to_cleanup.push(container);
        }
    }

    /// Queues a completed container for the NM to forget (once).
    pub fn remove_completed(&mut self, container: ContainerId) {
        let messages = self.messages_mut();
        if !messages.containers_to_remove.contains(&container) {
            messages.containers_to_remove.push(container);
        }
    }

    /// Queues `application` for the NM to clean up after.
    pub fn cleanup_application(&mut self, application: ApplicationId) {
        self.messages_mut()
            .applications_to_cleanup
            .push(application);
    }

    /// Forgets the containers queued for the NM to kill.
    pub fn clear_container_cleanup(&mut self) {
        if let Some(messages) = &mut self.messages {
            messages.containers_to_cleanup.clear();
        }
        self.compact();
    }

    /// Takes what the next heartbeat tells the NM: (containers to kill, applications to clean
    /// up, completed containers to forget).
    pub fn take_cleanup(&mut self) -> (Vec<ContainerId>, Vec<ApplicationId>, Vec<ContainerId>) {
        let Some(messages) = &mut self.messages else {
            return (Vec::new(), Vec::new(), Vec::new());
        };
        let taken = (
            std::mem::take(&mut messages.containers_to_cleanup),
            std::mem::take(&mut messages.applications_to_cleanup),
            std::mem::take(&mut messages.containers_to_remove),
        );
        self.compact();
        taken
    }
}

/// One container from allocation until completion (its record is dropped when it completes; the
/// AM hears of the completion from [`RmAttempt::newly_completed`]). Keyed by its id in the core.
#[derive(Debug, Clone)]
pub struct RmContainer {
    /// The attempt it belongs to now (a later attempt when containers are kept across attempts).
    pub attempt: ApplicationAttemptId,
    pub node: NodeId,
    pub resource: Resource,
    pub priority: i32,
    pub allocation_request_id: i64,
    pub is_am: bool,
    pub state: RmContainerState,
    pub creation_time: i64,
}
