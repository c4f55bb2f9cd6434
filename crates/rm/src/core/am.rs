//! The ApplicationMaster's side: registration, allocate heartbeats, unregistration, and what
//! happens when the AM container ends, fails to launch, or the AM goes silent.

use std::sync::Arc;

use spindle_proto::yarn::{
    AllocateRequestProto, AllocateResponseProto, ContainerProto,
    FinishApplicationMasterRequestProto, NmTokenProto, RegisterApplicationMasterRequestProto,
    RegisterApplicationMasterResponseProto, SchedulerResourceTypes,
};
use spindle_types::states::FinalApplicationStatus;
use spindle_types::{exit_status, ApplicationAttemptId, ContainerId, NodeId, Resource};

use super::allocate_reply::{AllocateReply, CompletedContainer};

use super::exceptions as ex;
use super::scheduling::Ask;
use super::{RmCore, RmError};
use crate::lifecycle::app::AppEvent;
use crate::lifecycle::attempt::{AttemptEvent, AttemptState};

impl RmCore {
    fn live_attempt(&self, id: ApplicationAttemptId) -> Result<&super::RmAttempt, RmError> {
        self.attempts
            .get(&id)
            .filter(|a| !a.state.is_final())
            .ok_or_else(|| {
                RmError::new(
                    ex::ATTEMPT_NOT_FOUND,
                    format!(
                        "Application attempt {id} doesn't exist in ApplicationMasterService cache."
                    ),
                )
            })
    }

    /// `registerApplicationMaster`.
    pub fn register_application_master(
        &mut self,
        attempt_id: ApplicationAttemptId,
        request: &RegisterApplicationMasterRequestProto,
        now_ms: i64,
    ) -> Result<RegisterApplicationMasterResponseProto, RmError> {
        let attempt = self.live_attempt(attempt_id)?;
        if attempt.state == AttemptState::Running {
            return Err(RmError::new(
                ex::INVALID_AM_REQUEST,
                format!(
                    "Application Master is already registered : {}",
                    attempt_id.application_id
                ),
            ));
        }
        if !self.attempt_event(attempt_id, AttemptEvent::Registered, now_ms) {
            return Err(RmError::new(
                ex::INVALID_AM_REQUEST,
                format!("Application attempt {attempt_id} cannot register: its AM container has not been allocated"),
            ));
        }
        let attempt = self.attempts.get_mut(&attempt_id).expect("live");
        attempt.host = request.host().to_string();
        attempt.rpc_port = request.rpc_port();
        attempt.tracking_url = request.tracking_url().to_string();
        attempt.last_response_id = Some(0);
        self.am_liveness.touch(&attempt_id, self.monotonic(now_ms));
        // Host, port and tracking URL survive a restart in reports.
        self.save_attempt(attempt_id, None, now_ms);
        self.app_event(attempt_id.application_id, AppEvent::AttemptRegistered);
        let (previous, previous_tokens) = self.containers_from_previous_attempts(attempt_id);
        let maximum = self.maximum_allocation();
        let app = self
            .apps
            .get(&attempt_id.application_id)
            .expect("attempt's app");
        let acls = app
            .submission
            .am_container_spec
            .as_ref()
            .map(|c| c.application_acls.clone())
            .unwrap_or_default();
        Ok(RegisterApplicationMasterResponseProto {
            maximum_capability: Some((&maximum).into()),
            application_acls: acls,
            queue: Some(app.reported_queue().to_string()),
            scheduler_resource_types: vec![
                SchedulerResourceTypes::Memory as i32,
                SchedulerResourceTypes::Cpu as i32,
            ],
            containers_from_previous_attempts: previous,
            nm_tokens_from_previous_attempts: previous_tokens,
            ..Default::default()
        })
    }

    /// With keepContainersAcrossApplicationAttempts: the attempt's containers other than its AM
    /// container (those kept from earlier attempts), and an NMToken for each of their nodes (the
    /// new AM holds none yet; YARN-8980).
    fn containers_from_previous_attempts(
        &mut self,
        attempt_id: ApplicationAttemptId,
    ) -> (Vec<ContainerProto>, Vec<NmTokenProto>) {
        let Some(app) = self.apps.get(&attempt_id.application_id) else {
            return (Vec::new(), Vec::new());
        };
        if !app.submission.keep_containers_across_application_attempts() {
            return (Vec::new(), Vec::new());
        }
        let user = app.user.clone();
        let Some(attempt) = self.attempts.get(&attempt_id) else {
            return (Vec::new(), Vec::new());
        };
        let mut containers = Vec::new();
        let mut nodes: Vec<NodeId> = Vec::new();
        for id in &attempt.live_containers {
            if Some(*id) == attempt.am_container {
                continue;
            }
            let Some(c) = self.containers.get(id) else {
                continue;
            };
            containers.push(ContainerProto {
                id: Some((*id).into()),
                node_id: Some((&c.node).into()),
                node_http_address: self.nodes.get(&c.node).map(|n| n.http_address()),
                resource: Some((&c.resource).into()),
                priority: Some(spindle_proto::yarn::PriorityProto {
                    priority: Some(c.priority),
                }),
                allocation_request_id: Some(c.allocation_request_id),
                ..Default::default()
            });
            if !nodes.contains(&c.node) {
                nodes.push(c.node.clone());
            }
        }
        let tokens = nodes
            .iter()
            .map(|node| NmTokenProto {
                node_id: Some(node.into()),
                token: Some(self.keys.nm_token(attempt_id, node, &user)),
            })
            .collect();
        let attempt = self.attempts.get_mut(&attempt_id).expect("present");
        attempt.nm_tokens_sent.clear();
        attempt.nm_tokens_sent.extend(nodes);
        (containers, tokens)
    }

    /// `allocate`: absolute asks and releases in, new and completed containers out.
    pub fn allocate(
        &mut self,
        attempt_id: ApplicationAttemptId,
        request: &AllocateRequestProto,
        now_ms: i64,
    ) -> Result<AllocateResponseProto, RmError> {
        Ok(self.allocate_reply(attempt_id, request, now_ms)?.to_proto())
    }

    /// `allocate` as the RPC service runs it: the decisions are taken here, under the core's
    /// lock; the caller signs the tokens and encodes the reply ([`AllocateReply::encoded`]) after
    /// releasing it. The attempt keeps the reply to answer a repeated responseId identically.
    pub fn allocate_reply(
        &mut self,
        attempt_id: ApplicationAttemptId,
        request: &AllocateRequestProto,
        now_ms: i64,
    ) -> Result<Arc<AllocateReply>, RmError> {
        let attempt = self.live_attempt(attempt_id)?;
        let Some(last) = attempt.last_response_id else {
            return Err(RmError::new(
                ex::AM_NOT_REGISTERED,
                format!("AM is not registered for known application attempt: {attempt_id} or RM had restarted after AM registered. AM should re-register."),
            ));
        };
        let request_id = request.response_id();
        if request_id + 1 == last {
            if let Some(previous) = &attempt.last_response {
                return Ok(previous.clone());
            }
        }
        if request_id != last {
            return Err(RmError::new(
                ex::INVALID_AM_REQUEST,
                format!("Invalid responseId in AllocateRequest from application attempt: {attempt_id}, expect responseId to be {last}, but get {request_id}"),
            ));
        }
        let asks = self.validate_asks(attempt_id, request)?;
        let releases = self.validate_releases(attempt_id, request)?;
        // The AM asks again past its last response: it has the completions that response
        // carried, so their nodes may forget them (YARN's containers_to_be_removed_from_nm).
        self.forget_pulled_completions(attempt_id);
        self.am_liveness.touch(&attempt_id, self.monotonic(now_ms));
        let attempt = self.attempts.get_mut(&attempt_id).expect("live");
        attempt.progress = request.progress().clamp(0.0, 1.0);
        if let Some(url) = request
            .tracking_url
            .as_ref()
            .filter(|u| **u != attempt.tracking_url)
        {
            attempt.tracking_url = url.clone();
            self.apps_changed();
        }
        let decisions = self
            .scheduler
            .update_asks(attempt_id, asks, releases, now_ms);
        self.apply_decisions(decisions, now_ms);

        let num_cluster_nodes = self.running_node_count();
        let limit = self.scheduler.headroom(attempt_id);
        let attempt = self.attempts.get_mut(&attempt_id).expect("live");
        let allocated = std::mem::take(&mut attempt.newly_allocated);
        let completed = std::mem::take(&mut attempt.newly_completed);
        attempt.pulled_completions = completed
            .iter()
            .filter_map(|c| Some((c.id, c.node.clone()?)))
            .collect();
        let mut new_nodes: Vec<NodeId> = Vec::new();
        for c in &allocated {
            if !attempt.nm_tokens_sent.contains(&c.node) {
                attempt.nm_tokens_sent.insert(c.node.clone());
                new_nodes.push(c.node.clone());
            }
        }
        let preempt: Vec<ContainerId> = attempt.to_preempt.iter().copied().collect();
        let acquired: Vec<ContainerId> = allocated.iter().map(|c| c.id).collect();
        self.containers_acquired(acquired);
        let user = self
            .apps
            .get(&attempt_id.application_id)
            .map(|a| a.user.clone())
            .unwrap_or_default();
        let reply = Arc::new(AllocateReply::new(
            self.keys.clone(),
            attempt_id,
            user,
            self.settings.cluster_timestamp,
            last + 1,
            allocated,
            completed,
            new_nodes,
            preempt,
            limit,
            num_cluster_nodes,
        ));
        let attempt = self.attempts.get_mut(&attempt_id).expect("live");
        attempt.last_response_id = Some(last + 1);
        attempt.last_response = Some(reply.clone());
        Ok(reply)
    }

    fn validate_asks(
        &self,
        attempt_id: ApplicationAttemptId,
        request: &AllocateRequestProto,
    ) -> Result<Vec<Ask>, RmError> {
        let mut asks = Vec::with_capacity(request.ask.len());
        for ask in &request.ask {
            let invalid = |m: String| {
                RmError::new(ex::INVALID_RESOURCE_REQUEST, format!("{attempt_id}: {m}"))
            };
            let capability = ask.capability.as_ref().ok_or_else(|| {
                invalid(format!(
                    "resource request at priority {} for '{}' has no capability",
                    ask.priority.as_ref().map(|p| p.priority()).unwrap_or(0),
                    ask.resource_name()
                ))
            })?;
            let requested = Resource::try_from(capability).map_err(|e| invalid(e.to_string()))?;
            if ask.num_containers() < 0 {
                return Err(invalid(format!(
                    "resource request for '{}' asks for {} containers",
                    ask.resource_name(),
                    ask.num_containers()
                )));
            }
            let capability = self.normalize(&requested).map_err(invalid)?;
            asks.push(Ask {
                priority: ask.priority.as_ref().map(|p| p.priority()).unwrap_or(0),
                resource_name: ask.resource_name.clone().unwrap_or_else(|| "*".into()),
                capability,
                num_containers: ask.num_containers(),
                relax_locality: ask.relax_locality(),
                allocation_request_id: ask.allocation_request_id(),
            });
        }
        Ok(asks)
    }

    fn validate_releases(
        &self,
        attempt_id: ApplicationAttemptId,
        request: &AllocateRequestProto,
    ) -> Result<Vec<ContainerId>, RmError> {
        let mut releases = Vec::with_capacity(request.release.len());
        for proto in &request.release {
            let id = ContainerId::try_from(proto)
                .map_err(|e| RmError::new(ex::INVALID_RELEASE, e.to_string()))?;
            if id.attempt_id.application_id != attempt_id.application_id {
                return Err(RmError::new(
                    ex::INVALID_RELEASE,
                    format!("Cannot release container : {id} not belonging to this application attempt : {attempt_id}"),
                ));
            }
            if self.containers.contains_key(&id) {
                releases.push(id);
            }
        }
        Ok(releases)
    }

    /// `finishApplicationMaster`: the application ends with the AM's final status; its other
    /// containers are released now, and the AM container gets a grace period to exit.
    pub fn finish_application_master(
        &mut self,
        attempt_id: ApplicationAttemptId,
        request: &FinishApplicationMasterRequestProto,
        now_ms: i64,
    ) -> Result<bool, RmError> {
        if let Some(a) = self.attempts.get(&attempt_id) {
            if a.state == AttemptState::Finished {
                // Confirmed once the final state is stored; the AM asks again until then.
                return Ok(self
                    .apps
                    .get(&attempt_id.application_id)
                    .is_none_or(|app| app.final_saved));
            }
        }
        let attempt = self.live_attempt(attempt_id)?;
        if attempt.state != AttemptState::Running {
            return Err(RmError::new(
                ex::AM_NOT_REGISTERED,
                format!("Application Master is trying to unregister before registering for: {attempt_id}"),
            ));
        }
        let final_status =
            FinalApplicationStatus::from_wire(request.final_application_status.unwrap_or(0))
                .unwrap_or(FinalApplicationStatus::Undefined);
        self.attempt_event(attempt_id, AttemptEvent::Unregistered, now_ms);
        self.am_liveness.remove(&attempt_id);
        let monotonic_now = self.monotonic(now_ms);
        let attempt = self.attempts.get_mut(&attempt_id).expect("known");
        attempt.unregistered_at = Some(monotonic_now);
        attempt.final_status = final_status;
        attempt.diagnostics = request.diagnostics().to_string();
        // The URL the AM gives as it unregisters replaces the one it registered, as YARN's
        // original tracking URL (none given: "N/A" in reports, as YARN's sanitizeTrackingUrl).
        attempt.tracking_url = request.tracking_url().trim().to_string();
        attempt.progress = 1.0;
        let am_container = attempt.am_container;
        let others: Vec<ContainerId> = attempt
            .live_containers
            .iter()
            .copied()
            .filter(|c| Some(*c) != am_container)
            .collect();
        self.app_event(attempt_id.application_id, AppEvent::AttemptUnregistered);
        let app = self
            .apps
            .get_mut(&attempt_id.application_id)
            .expect("attempt's app");
        app.final_status = final_status;
        app.diagnostics = request.diagnostics().to_string();
        let decisions = self
            .scheduler
            .update_asks(attempt_id, Vec::new(), others, now_ms);
        self.apply_decisions(decisions, now_ms);
        self.finish_app(attempt_id.application_id, now_ms);
        Ok(self
            .apps
            .get(&attempt_id.application_id)
            .is_none_or(|app| app.final_saved))
    }

    /// Tells the nodes of the completions the attempt's AM has pulled to forget them.
    pub(crate) fn forget_pulled_completions(&mut self, attempt_id: ApplicationAttemptId) {
        let Some(attempt) = self.attempts.get_mut(&attempt_id) else {
            return;
        };
        let pulled = std::mem::take(&mut attempt.pulled_completions);
        for (id, node) in pulled {
            if let Some(n) = self.nodes.get_mut(&node) {
                n.remove_completed(id);
            }
        }
    }

    /// The attempt ended: its AM will pull no more completions, so their nodes forget them all.
    pub(crate) fn forget_all_completions(&mut self, attempt_id: ApplicationAttemptId) {
        self.forget_pulled_completions(attempt_id);
        let Some(attempt) = self.attempts.get_mut(&attempt_id) else {
            return;
        };
        let pending = std::mem::take(&mut attempt.newly_completed);
        for c in pending {
            if let Some(n) = c.node.and_then(|node| self.nodes.get_mut(&node)) {
                n.remove_completed(c.id);
            }
        }
    }

    /// The AM container of `attempt_id` completed with `exit_code`.
    pub(crate) fn am_container_finished(
        &mut self,
        attempt_id: ApplicationAttemptId,
        exit_code: i32,
        diagnostics: &str,
        now_ms: i64,
    ) {
        let Some(attempt) = self.attempts.get_mut(&attempt_id) else {
            return;
        };
        attempt.am_exit_status = Some(exit_code);
        match attempt.state {
            AttemptState::Finished => {
                self.end_attempt(attempt_id, now_ms);
                self.finish_app(attempt_id.application_id, now_ms);
            }
            state if state.is_final() => {}
            _ => {
                attempt.diagnostics = format!(
                    "AM Container for {attempt_id} exited with  exitCode: {exit_code}\nFailing this attempt.Diagnostics: {diagnostics}"
                );
                self.attempt_event(attempt_id, AttemptEvent::AmContainerFinished, now_ms);
                self.attempt_failed(attempt_id, exit_code, now_ms);
            }
        }
    }

    /// The AM of `attempt_id` did not heartbeat within the expiry.
    pub(crate) fn attempt_expired(
        &mut self,
        attempt_id: ApplicationAttemptId,
        expiry_ms: i64,
        now_ms: i64,
    ) {
        if let Some(attempt) = self.attempts.get_mut(&attempt_id) {
            attempt.diagnostics = format!("ApplicationMaster for attempt {attempt_id} timed out after {expiry_ms} ms without a heartbeat");
            attempt.am_exit_status.get_or_insert(exit_status::INVALID);
        }
        if self.attempt_event(attempt_id, AttemptEvent::Expired, now_ms) {
            self.attempt_failed(attempt_id, exit_status::INVALID, now_ms);
        }
    }

    /// The shell reports how starting the AM container on its NM went.
    pub fn am_launched(
        &mut self,
        attempt_id: ApplicationAttemptId,
        result: Result<(), String>,
        now_ms: i64,
    ) {
        match result {
            Ok(()) => {
                if self.attempt_event(attempt_id, AttemptEvent::Launched, now_ms) {
                    // From now on the AM must heartbeat (registration counts as the first one).
                    self.am_liveness.touch(&attempt_id, self.monotonic(now_ms));
                    // The application's launch time is its latest AM container's launch, as
                    // YARN's RMApp takes it from each attempt's launch (stored, not waited for).
                    let app_id = attempt_id.application_id;
                    if let Some(app) = self.apps.get_mut(&app_id) {
                        app.launch_time = now_ms;
                        self.save_app(app_id, None, now_ms);
                    }
                }
            }
            Err(message) => {
                if let Some(attempt) = self.attempts.get_mut(&attempt_id) {
                    attempt.diagnostics =
                        format!("Error launching {attempt_id}. Got exception: {message}");
                    attempt.am_exit_status.get_or_insert(exit_status::INVALID);
                }
                if self.attempt_event(attempt_id, AttemptEvent::LaunchFailed, now_ms) {
                    self.attempt_failed(attempt_id, exit_status::INVALID, now_ms);
                }
            }
        }
    }

    /// Unregistered AMs whose container outstays the grace period are stopped.
    pub(crate) fn kill_lingering_am_containers(&mut self, now_ms: i64) {
        let grace = self.settings.am_finish_grace_ms;
        let now_ms_monotonic = self.monotonic(now_ms);
        let lingering: Vec<ApplicationAttemptId> = self
            .attempts
            .values()
            .filter(|a| {
                a.unregistered_at
                    .is_some_and(|t| now_ms_monotonic - t > grace)
                    && !a.live_containers.is_empty()
            })
            .map(|a| a.id)
            .collect();
        for attempt in lingering {
            self.end_attempt(attempt, now_ms);
            self.finish_app(attempt.application_id, now_ms);
        }
    }

    pub(crate) fn completed_status(
        id: ContainerId,
        node: &NodeId,
        exit_status: i32,
        diagnostics: &str,
    ) -> CompletedContainer {
        CompletedContainer {
            id,
            exit_status,
            diagnostics: diagnostics.to_string(),
            node: Some(node.clone()),
        }
    }
}
