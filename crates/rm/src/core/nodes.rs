//! NodeManagers: registration, heartbeats with container statuses, loss and shutdown.

use spindle_proto::yarn::{
    ApplicationIdProto, ContainerStateProto, LogAggregationReportProto, NmContainerStatusProto,
    NodeActionProto, NodeHeartbeatRequestProto, NodeHeartbeatResponseProto,
    RegisterNodeManagerRequestProto, RegisterNodeManagerResponseProto,
};
use spindle_types::states::{LogAggregationStatus, NodeState};
use spindle_types::{
    exit_status, ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource,
};

use super::exceptions as ex;
use super::scheduling::RecoveredContainer;
use super::{RmContainer, RmCore, RmError, RmNode};
use crate::lifecycle::container::{self as container_lc, RmContainerEvent, RmContainerState};
use crate::lifecycle::node::{self as node_lc, NodeEvent};

pub use crate::topology::DEFAULT_RACK;

impl RmCore {
    /// `registerNodeManager`. A live node that registers again (its NM restarted) keeps the
    /// containers it reports running; those it does not report are completed as ABORTED.
    pub fn register_node(
        &mut self,
        request: &RegisterNodeManagerRequestProto,
        now_ms: i64,
    ) -> Result<RegisterNodeManagerResponseProto, RmError> {
        self.register_node_in_rack(request, DEFAULT_RACK, now_ms)
    }

    /// `registerNodeManager` for a node the topology put in `rack`.
    pub fn register_node_in_rack(
        &mut self,
        request: &RegisterNodeManagerRequestProto,
        rack: &str,
        now_ms: i64,
    ) -> Result<RegisterNodeManagerResponseProto, RmError> {
        let invalid = |m: &str| RmError::new(ex::YARN, format!("registerNodeManager: {m}"));
        let node_id = NodeId::try_from(
            request
                .node_id
                .as_ref()
                .ok_or_else(|| invalid("node_id is missing"))?,
        )
        .map_err(|e| invalid(&e.to_string()))?;
        let capability = Resource::try_from(
            request
                .resource
                .as_ref()
                .ok_or_else(|| invalid("resource is missing"))?,
        )
        .map_err(|e| invalid(&e.to_string()))?;
        if capability.any_negative() {
            return Err(invalid(&format!(
                "node {node_id} advertises a negative resource {capability}"
            )));
        }
        let live = self
            .nodes
            .get(&node_id)
            .is_some_and(|n| matches!(n.state, NodeState::Running | NodeState::Unhealthy));
        if live {
            // An NM that restarted on the same address (with recovery, its containers still run).
            self.reconnect_node(&node_id, request, capability.clone(), now_ms);
            self.clean_up_ended_applications(&node_id, &request.running_applications);
            return Ok(self.registration_response(capability));
        }
        let known_as = self.nodes.get(&node_id).map(|n| n.state);
        let known = known_as.is_some();
        // A node lost, shut down or decommissioned already left the scheduler and released its
        // containers; any other known state (NEW, REBOOTED, ...) leaves them now.
        let left_already = matches!(
            known_as,
            Some(NodeState::Lost | NodeState::Shutdown | NodeState::Decommissioned)
        );
        if known && !left_already {
            self.remove_node(
                &node_id,
                NodeEvent::Registered,
                "Container released on a node that re-registered",
                now_ms,
            );
        }
        let state = node_lc::transition(NodeState::New, NodeEvent::Registered)
            .expect("NEW accepts REGISTERED");
        let shared_rack = self.intern(rack);
        let nm_version = self.intern(request.nm_version());
        self.nodes.insert(RmNode::new(
            node_id.clone(),
            request.http_port(),
            shared_rack,
            capability.clone(),
            state,
            nm_version,
            (now_ms, self.monotonic(now_ms)),
        ));
        self.nodes_changed();
        tracing::info!("NodeManager {node_id} registered with {capability}");
        let recovering = !known && !request.container_statuses.is_empty();
        // A node that brings running containers joins with no room, takes them back, and only
        // then offers its capability: nothing pending is placed where they already run.
        let joining = if recovering {
            Resource::ZERO
        } else {
            capability.clone()
        };
        let decisions = self.scheduler.add_node(&node_id, rack, joining, now_ms);
        self.apply_decisions(decisions, now_ms);
        if known {
            // The RM already reported this node's containers ABORTED: whatever still runs there
            // is stopped.
            for status in &request.container_statuses {
                let running = status.container_state != Some(ContainerStateProto::CComplete as i32);
                if let (true, Some(id)) = (running, reported_id(status)) {
                    self.nodes
                        .get_mut(&node_id)
                        .expect("registered")
                        .cleanup_container(id);
                }
            }
        } else if recovering {
            self.recover_reported_containers(&node_id, &request.container_statuses, now_ms);
            let decisions = self.scheduler.update_node(&node_id, capability.clone());
            self.apply_decisions(decisions, now_ms);
        }
        self.clean_up_ended_applications(&node_id, &request.running_applications);
        self.record_log_aggregation_reports(
            &node_id,
            &request.log_aggregation_reports_for_apps,
            now_ms,
        );
        Ok(self.registration_response(capability))
    }

    /// Applications a registering NM still holds (`running_applications`) that ended while it
    /// was away, or that this RM does not know: the NM cleans them up on its next heartbeat
    /// (`applications_to_cleanup`), as YARN's RMNode does on registration.
    fn clean_up_ended_applications(&mut self, node_id: &NodeId, reported: &[ApplicationIdProto]) {
        let ended: Vec<ApplicationId> = reported
            .iter()
            .filter_map(|id| ApplicationId::try_from(id).ok())
            .filter(|id| self.apps.get(id).is_none_or(|app| app.state.is_final()))
            .collect();
        if let Some(node) = self.nodes.get_mut(node_id) {
            for id in ended {
                tracing::info!(
                    "NodeManager {node_id} still holds {id}, which has ended: cleaning it up"
                );
                node.cleanup_application(id);
            }
        }
    }

    fn registration_response(&self, capability: Resource) -> RegisterNodeManagerResponseProto {
        RegisterNodeManagerResponseProto {
            container_token_master_key: Some(self.keys.container_key_proto()),
            nm_token_master_key: Some(self.keys.nm_token_key_proto()),
            node_action: Some(NodeActionProto::Normal as i32),
            rm_identifier: Some(self.settings.cluster_timestamp),
            rm_version: Some(env!("CARGO_PKG_VERSION").to_string()),
            resource: Some((&capability).into()),
            ..Default::default()
        }
    }

    /// YARN's "Reconnect from the node": a live node registers again (its NM restarted, with
    /// recovery keeping its containers). Containers it still runs stay as they are; those it
    /// reports completed complete; those it no longer knows are lost (ABORTED); running ones the
    /// RM does not know are stopped.
    fn reconnect_node(
        &mut self,
        node_id: &NodeId,
        request: &RegisterNodeManagerRequestProto,
        capability: Resource,
        now_ms: i64,
    ) {
        tracing::info!("Reconnect from the node at: {}", node_id.host);
        let reported: std::collections::HashMap<ContainerId, &NmContainerStatusProto> = request
            .container_statuses
            .iter()
            .filter_map(|s| Some((reported_id(s)?, s)))
            .collect();
        let mut on_node: Vec<ContainerId> = self
            .containers
            .iter()
            .filter(|(_, c)| c.node == *node_id)
            .map(|(id, _)| *id)
            .collect();
        on_node.sort_unstable();
        for id in &on_node {
            let (exit, diagnostics) = match reported.get(id) {
                Some(s) if s.container_state != Some(ContainerStateProto::CComplete as i32) => {
                    continue
                }
                Some(s) => (s.container_exit_status(), s.diagnostics().to_string()),
                None => (
                    exit_status::ABORTED,
                    "Container released on a node that re-registered without it".to_string(),
                ),
            };
            let decisions = self
                .scheduler
                .container_finished(*id, exit, &diagnostics, now_ms);
            self.apply_decisions(decisions, now_ms);
        }
        let seen = self.monotonic(now_ms);
        let node = self.nodes.get_mut(node_id).expect("live node");
        for (id, status) in &reported {
            if on_node.contains(id) {
                continue;
            }
            if status.container_state == Some(ContainerStateProto::CComplete as i32) {
                node.remove_completed(*id);
            } else {
                node.cleanup_container(*id);
            }
        }
        node.http_port = request.http_port();
        node.last_seen_ms = Some(seen);
        node.last_heartbeat_response_id = 0;
        node.state = node_lc::transition(node.state, NodeEvent::Registered)
            .expect("a live node accepts REGISTERED");
        let changed = node.capability != capability;
        let back = std::mem::take(&mut node.silent);
        node.capability = capability.clone();
        self.nodes_changed();
        if back {
            let decisions = self.scheduler.node_reachability(node_id, true);
            self.apply_decisions(decisions, now_ms);
        }
        if changed {
            let decisions = self.scheduler.update_node(node_id, capability);
            self.apply_decisions(decisions, now_ms);
        }
    }

    /// The containers a node this RM did not know reports at registration (after an RM restart,
    /// YARN's work-preserving recovery): those of a running attempt of an application the RM
    /// recovered are taken back as they were; completions that happened while the RM was away
    /// reach their AM; anything else still running is stopped.
    fn recover_reported_containers(
        &mut self,
        node_id: &NodeId,
        statuses: &[NmContainerStatusProto],
        now_ms: i64,
    ) {
        for status in statuses {
            let Some(id) = reported_id(status) else {
                continue;
            };
            let complete = status.container_state == Some(ContainerStateProto::CComplete as i32);
            let attempt_id = id.attempt_id;
            let current = self
                .apps
                .get(&attempt_id.application_id)
                .filter(|app| !app.state.is_final())
                .and_then(|app| app.current_attempt());
            let live = current == Some(attempt_id)
                && self
                    .attempts
                    .get(&attempt_id)
                    .is_some_and(|a| !a.state.is_final());
            if !live || self.containers.contains_key(&id) {
                if complete {
                    self.nodes
                        .get_mut(node_id)
                        .expect("registered")
                        .remove_completed(id);
                } else if !self.containers.contains_key(&id) {
                    tracing::info!(
                        "Skip recovering container {id} on {node_id}: its application attempt is not running; it is stopped"
                    );
                    self.nodes
                        .get_mut(node_id)
                        .expect("registered")
                        .cleanup_container(id);
                }
                continue;
            }
            let attempt = self.attempts.get_mut(&attempt_id).expect("live");
            let is_am = attempt.am_container == Some(id);
            if complete {
                if is_am {
                    self.am_container_finished(
                        attempt_id,
                        status.container_exit_status(),
                        status.diagnostics(),
                        now_ms,
                    );
                } else if !attempt.newly_completed.iter().any(|c| c.id == id) {
                    attempt.newly_completed.push(Self::completed_status(
                        id,
                        node_id,
                        status.container_exit_status(),
                        status.diagnostics(),
                    ));
                }
                continue;
            }
            let Some(resource) = status
                .resource
                .as_ref()
                .and_then(|r| Resource::try_from(r).ok())
            else {
                self.nodes
                    .get_mut(node_id)
                    .expect("registered")
                    .cleanup_container(id);
                continue;
            };
            let recovered = RecoveredContainer {
                id,
                node: node_id.clone(),
                resource,
                priority: status.priority.as_ref().map(|p| p.priority()).unwrap_or(0),
                allocation_request_id: status.allocation_request_id(),
                is_am,
                creation_time: status.creation_time.unwrap_or(now_ms),
            };
            let decisions = self.scheduler.recover_container(&recovered);
            let refused = decisions.iter().any(
                |d| matches!(d, super::Decision::RecoveryRefused { container, .. } if *container == id),
            );
            if !refused {
                self.container_recovered(attempt_id, recovered);
            }
            // Refusals stop the container; a recovery may also let the scheduler place what
            // another application waited for.
            self.apply_decisions(decisions, now_ms);
        }
    }

    /// Records a container the scheduler took back: on its node, in its attempt, running.
    fn container_recovered(&mut self, attempt_id: ApplicationAttemptId, c: RecoveredContainer) {
        if let Some(node) = self.nodes.get_mut(&c.node) {
            node.num_containers += 1;
            node.used.add_assign(&c.resource);
        }
        if let Some(attempt) = self.attempts.get_mut(&attempt_id) {
            attempt.live_containers.insert(c.id);
            if c.is_am {
                attempt.am_node = Some(c.node.clone());
            }
        }
        tracing::info!("Recovered container {} on {}", c.id, c.node);
        self.containers.insert(
            c.id,
            RmContainer {
                attempt: attempt_id,
                node: c.node,
                resource: c.resource,
                priority: c.priority,
                allocation_request_id: c.allocation_request_id,
                is_am: c.is_am,
                state: RmContainerState::Running,
                creation_time: c.creation_time,
            },
        );
    }

    /// `nodeHeartbeat`: container statuses in; containers and applications to clean up out.
    pub fn node_heartbeat(
        &mut self,
        request: &NodeHeartbeatRequestProto,
        now_ms: i64,
    ) -> Result<NodeHeartbeatResponseProto, RmError> {
        let status = request
            .node_status
            .as_ref()
            .ok_or_else(|| RmError::new(ex::YARN, "nodeHeartbeat: node_status is missing"))?;
        let node_id = NodeId::try_from(
            status
                .node_id
                .as_ref()
                .ok_or_else(|| RmError::new(ex::YARN, "nodeHeartbeat: node_id is missing"))?,
        )
        .map_err(|e| RmError::new(ex::YARN, format!("nodeHeartbeat: {e}")))?;
        let interval = Some(self.settings.nm_heartbeat_interval_ms);
        let resync = || NodeHeartbeatResponseProto {
            node_action: Some(NodeActionProto::Resync as i32),
            next_heart_beat_interval: interval,
            diagnostics_message: Some(format!(
                "Node {node_id} is not registered with the ResourceManager; re-register"
            )),
            ..Default::default()
        };
        let seen = self.monotonic(now_ms);
        let Some(node) = self.nodes.get_mut(&node_id) else {
            return Ok(resync());
        };
        if !matches!(node.state, NodeState::Running | NodeState::Unhealthy) {
            return Ok(resync());
        }
        // The liveness monitor's touch (which also watches a node it had stopped watching).
        node.last_seen_ms = Some(seen);
        let back = std::mem::take(&mut node.silent);
        let healthy = status
            .node_health_status
            .as_ref()
            .map(|h| h.is_node_healthy())
            .unwrap_or(true);
        if let Some(h) = &status.node_health_status {
            node.set_health_report(h.health_report());
            node.last_health_report_time = h.last_health_report_time.unwrap_or(now_ms);
        }
        let event = if healthy {
            NodeEvent::HealthyHeartbeat
        } else {
            NodeEvent::UnhealthyHeartbeat
        };
        if let Ok(next) = node_lc::transition(node.state, event) {
            if next != node.state {
                node.state = next;
                self.nodes_changed();
            }
        }

        if back {
            tracing::info!("NodeManager {node_id} heartbeats again: it gets new containers again");
            let decisions = self.scheduler.node_reachability(&node_id, true);
            self.apply_decisions(decisions, now_ms);
        }

        for c in &status.containers_statuses {
            let Some(id) = c
                .container_id
                .as_ref()
                .and_then(|p| ContainerId::try_from(p).ok())
            else {
                continue;
            };
            let complete = c.state == Some(ContainerStateProto::CComplete as i32);
            let Some(known) = self.containers.get_mut(&id) else {
                let node = self.nodes.get_mut(&node_id).expect("present");
                if complete {
                    // Its completion is already the RM's (released, lost, or of an ended
                    // attempt): the NM need not keep it.
                    node.remove_completed(id);
                } else {
                    // A container the RM does not know (released or of a finished app): stop it.
                    node.cleanup_container(id);
                }
                continue;
            };
            if self.settings.log_aggregation_enabled {
                // The node ran a container of the application: its logs will be uploaded.
                if let Some(app) = self.apps.get_mut(&id.application_id()) {
                    app.log_aggregation.node_ran_container(&node_id, now_ms);
                }
            }
            if complete {
                let decisions =
                    self.scheduler
                        .container_finished(id, c.exit_status(), c.diagnostics(), now_ms);
                self.apply_decisions(decisions, now_ms);
            } else if let Ok(next) =
                container_lc::transition(known.state, RmContainerEvent::Launched)
            {
                known.state = next;
            }
        }

        self.record_log_aggregation_reports(
            &node_id,
            &request.log_aggregation_reports_for_apps,
            now_ms,
        );
        let decisions = self.scheduler.node_heartbeat(&node_id, now_ms);
        self.apply_decisions(decisions, now_ms);
        let node = self.nodes.get_mut(&node_id).expect("present");
        node.last_heartbeat_response_id += 1;
        let (containers, applications, forget) = node.take_cleanup();
        Ok(NodeHeartbeatResponseProto {
            response_id: Some(node.last_heartbeat_response_id),
            node_action: Some(NodeActionProto::Normal as i32),
            containers_to_cleanup: containers.iter().map(Into::into).collect(),
            applications_to_cleanup: applications.iter().map(Into::into).collect(),
            containers_to_be_removed_from_nm: forget.iter().map(Into::into).collect(),
            next_heart_beat_interval: interval,
            ..Default::default()
        })
    }

    /// A node's log aggregation reports, into its applications' status (reports of applications
    /// the RM does not know, or with an unknown status, are dropped).
    fn record_log_aggregation_reports(
        &mut self,
        node_id: &NodeId,
        reports: &[LogAggregationReportProto],
        now_ms: i64,
    ) {
        for report in reports {
            let Some(application) = report
                .application_id
                .as_ref()
                .and_then(|id| ApplicationId::try_from(id).ok())
            else {
                continue;
            };
            let Some(status) = report
                .log_aggregation_status
                .and_then(LogAggregationStatus::from_wire)
            else {
                continue;
            };
            if let Some(app) = self.apps.get_mut(&application) {
                app.log_aggregation
                    .node_reported(node_id, status, report.diagnostics(), now_ms);
            }
        }
    }

    /// `unRegisterNodeManager`: an orderly NM shutdown.
    pub fn unregister_node(&mut self, node_id: &NodeId, now_ms: i64) {
        if self.nodes.contains_key(node_id) {
            self.remove_node(
                node_id,
                NodeEvent::Shutdown,
                "Container released on a node that shut down",
                now_ms,
            );
        }
    }

    /// The NM of `node_id` stopped heartbeating: it is LOST and its containers are reported to
    /// their AMs as ABORTED.
    pub(crate) fn node_lost(&mut self, node_id: &NodeId, now_ms: i64) {
        tracing::warn!(
            "NodeManager {node_id} lost: no heartbeat for {} ms",
            self.settings.nm_expiry_ms
        );
        self.remove_node(
            node_id,
            NodeEvent::Expired,
            "Container released on a *lost* node",
            now_ms,
        );
    }

    fn remove_node(&mut self, node_id: &NodeId, event: NodeEvent, diagnostics: &str, now_ms: i64) {
        let monotonic_now = self.monotonic(now_ms);
        if let Some(node) = self.nodes.get_mut(node_id) {
            node.last_seen_ms = None;
            node.inactive_since_ms = Some(monotonic_now);
            if let Ok(next) = node_lc::transition(node.state, event) {
                node.state = next;
            }
            node.clear_container_cleanup();
        }
        self.nodes_changed();
        let decisions =
            self.scheduler
                .remove_node(node_id, exit_status::ABORTED, diagnostics, now_ms);
        self.apply_decisions(decisions, now_ms);
    }

    /// The NM liveness monitor, one pass over the nodes per tick:
    /// - a node that missed its heartbeats (three intervals, at least 3 s, at most half the NM
    ///   expiry) gets no new containers until it heartbeats again; what runs there stays. YARN
    ///   places containers only on a node's own heartbeats, so a silent node gets none there;
    ///   Spindle places as soon as asks arrive, and without this a node cut off from the RM
    ///   would still be given containers (a new attempt's AM among them) until it is LOST;
    /// - a node not heard from for longer than the NM expiry is lost (in id order);
    /// - a node lost or shut down for longer than
    ///   `yarn.resourcemanager.node-removal-untracked.timeout-ms` is forgotten (YARN forgets such
    ///   "untracked" nodes too): the RM does not keep every node it ever saw. A node that comes
    ///   back registers again (its heartbeats are answered RESYNC).
    pub(crate) fn watch_nodes(&mut self, now_ms: i64) {
        let now = self.monotonic(now_ms);
        let expiry = self.settings.nm_expiry_ms;
        let silence = (3 * self.settings.nm_heartbeat_interval_ms)
            .max(3000)
            .min(expiry / 2);
        let removal = self.settings.node_removal_timeout_ms;
        let (mut silent, mut expired, mut forget) = (Vec::new(), Vec::new(), Vec::new());
        for node in self.nodes.values_mut() {
            if let Some(seen) = node.last_seen_ms {
                if !node.silent && now - seen > silence {
                    node.silent = true;
                    silent.push(node.id.clone());
                }
                if now - seen > expiry {
                    node.last_seen_ms = None;
                    expired.push(node.id.clone());
                }
            }
            if matches!(node.state, NodeState::Lost | NodeState::Shutdown)
                && node
                    .inactive_since_ms
                    .is_some_and(|since| now - since > removal)
            {
                forget.push(node.id.clone());
            }
        }
        silent.sort_unstable();
        for node in silent {
            tracing::warn!(
                "NodeManager {node}: no heartbeat for {silence} ms; no new containers go there until it heartbeats"
            );
            let decisions = self.scheduler.node_reachability(&node, false);
            self.apply_decisions(decisions, now_ms);
        }
        expired.sort_unstable();
        for node in expired {
            self.node_lost(&node, now_ms);
        }
        if forget.is_empty() {
            return;
        }
        for id in &forget {
            tracing::info!("forgetting NodeManager {id}: inactive for more than {removal} ms");
            self.nodes.remove(id);
        }
        self.nodes_changed();
    }

    /// Every node the RM knows (also lost and shut-down ones), in id order.
    pub fn nodes(&self) -> impl Iterator<Item = &RmNode> {
        self.nodes.sorted().into_iter()
    }

    pub(crate) fn running_node_count(&self) -> i32 {
        self.node_summary().running
    }
}

fn reported_id(status: &NmContainerStatusProto) -> Option<ContainerId> {
    status
        .container_id
        .as_ref()
        .and_then(|p| ContainerId::try_from(p).ok())
}
