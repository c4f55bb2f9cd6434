//! The RM's records of applications, attempts, nodes and containers.

use std::collections::BTreeSet;
use std::sync::Arc;

use spindle_proto::yarn::ApplicationSubmissionContextProto;
use spindle_types::states::{FinalApplicationStatus, NodeState};
use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource};

use super::allocate_reply::{AllocateReply, AllocatedContainer, CompletedContainer};
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
    pub queue: String,
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
    /// Attempts whose failure counted toward `max_attempts`.
    pub counted_failures: i32,
    /// Whether its containers were released and its NMs told to clean up.
    pub cleaned_up: bool,
}

impl RmApp {
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
    /// Nodes for which the AM already holds an NMToken.
    pub nm_tokens_sent: FastSet<NodeId>,
    /// Live containers of this attempt (including the AM container).
    pub live_containers: BTreeSet<ContainerId>,
    /// Containers the scheduler will preempt: announced in every allocate response until gone.
    pub to_preempt: BTreeSet<ContainerId>,
    /// When the AM unregistered (the AM container then gets a grace period to exit).
    pub unregistered_at: Option<i64>,
    pub start_time: i64,
    pub finish_time: i64,
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
            nm_tokens_sent: FastSet::default(),
            live_containers: BTreeSet::new(),
            to_preempt: BTreeSet::new(),
            unregistered_at: None,
            start_time: now_ms,
            finish_time: 0,
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
    pub health_report: String,
    pub last_health_report_time: i64,
    pub last_heartbeat_response_id: i32,
    /// Containers the NM must kill (released, or of finished attempts), sent in the next heartbeat.
    pub containers_to_cleanup: Vec<ContainerId>,
    /// Applications whose leftovers the NM must clean up.
    pub applications_to_cleanup: Vec<ApplicationId>,
    /// How many live containers run on it, and their resources (its node report's `used`).
    pub num_containers: i32,
    pub used: Resource,
    /// Shared by the nodes that run the same version.
    pub nm_version: Arc<str>,
}

impl RmNode {
    pub fn http_address(&self) -> String {
        format!("{}:{}", self.id.host, self.http_port)
    }
}

/// One container from allocation until completion (its record is dropped when it completes; the
/// AM hears of the completion from [`RmAttempt::newly_completed`]). Keyed by its id in the core.
#[derive(Debug, Clone)]
pub struct RmContainer {
    pub node: NodeId,
    pub resource: Resource,
    pub priority: i32,
    pub allocation_request_id: i64,
    pub is_am: bool,
    pub state: RmContainerState,
    pub creation_time: i64,
}
