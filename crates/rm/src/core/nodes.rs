//! NodeManagers: registration, heartbeats with container statuses, loss and shutdown.

use spindle_proto::yarn::{
    ContainerStateProto, NodeActionProto, NodeHeartbeatRequestProto, NodeHeartbeatResponseProto,
    RegisterNodeManagerRequestProto, RegisterNodeManagerResponseProto,
};
use spindle_types::states::NodeState;
use spindle_types::{exit_status, ContainerId, NodeId, Resource};

use super::exceptions as ex;
use super::{RmCore, RmError, RmNode};
use crate::lifecycle::container::{self as container_lc, RmContainerEvent};
use crate::lifecycle::node::{self as node_lc, NodeEvent};

pub use crate::topology::DEFAULT_RACK;

impl RmCore {
    /// `registerNodeManager`. A node that registers again (an NM restart) starts afresh: the
    /// containers the RM believed it ran are completed as ABORTED.
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
        if self.nodes.contains_key(&node_id) {
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
            now_ms,
        ));
        self.nodes_changed();
        tracing::info!("NodeManager {node_id} registered with {capability}");
        let decisions = self
            .scheduler
            .add_node(&node_id, rack, capability.clone(), now_ms);
        self.apply_decisions(decisions, now_ms);
        Ok(RegisterNodeManagerResponseProto {
            container_token_master_key: Some(self.keys.container_key_proto()),
            nm_token_master_key: Some(self.keys.nm_token_key_proto()),
            node_action: Some(NodeActionProto::Normal as i32),
            rm_identifier: Some(self.settings.cluster_timestamp),
            rm_version: Some(env!("CARGO_PKG_VERSION").to_string()),
            resource: Some((&capability).into()),
            ..Default::default()
        })
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
        let Some(node) = self.nodes.get_mut(&node_id) else {
            return Ok(resync());
        };
        if !matches!(node.state, NodeState::Running | NodeState::Unhealthy) {
            return Ok(resync());
        }
        // The liveness monitor's touch (which also watches a node it had stopped watching).
        node.last_seen_ms = Some(now_ms);
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
                if !complete {
                    // A container the RM does not know (released or of a finished app): stop it.
                    let node = self.nodes.get_mut(&node_id).expect("present");
                    node.cleanup_container(id);
                }
                continue;
            };
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

        let decisions = self.scheduler.node_heartbeat(&node_id, now_ms);
        self.apply_decisions(decisions, now_ms);
        let node = self.nodes.get_mut(&node_id).expect("present");
        node.last_heartbeat_response_id += 1;
        let (containers, applications) = node.take_cleanup();
        Ok(NodeHeartbeatResponseProto {
            response_id: Some(node.last_heartbeat_response_id),
            node_action: Some(NodeActionProto::Normal as i32),
            containers_to_cleanup: containers.iter().map(Into::into).collect(),
            applications_to_cleanup: applications.iter().map(Into::into).collect(),
            next_heart_beat_interval: interval,
            ..Default::default()
        })
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
        if let Some(node) = self.nodes.get_mut(node_id) {
            node.last_seen_ms = None;
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

    /// The NM liveness monitor: stops watching, and returns in id order, every node not heard
    /// from for longer than the NM expiry.
    pub(crate) fn take_expired_nodes(&mut self, now_ms: i64) -> Vec<NodeId> {
        let expiry = self.settings.nm_expiry_ms;
        let mut expired = Vec::new();
        for node in self.nodes.values_mut() {
            if node.last_seen_ms.is_some_and(|seen| now_ms - seen > expiry) {
                node.last_seen_ms = None;
                expired.push(node.id.clone());
            }
        }
        expired.sort_unstable();
        expired
    }

    /// Every node the RM knows (also lost and shut-down ones), in id order.
    pub fn nodes(&self) -> impl Iterator<Item = &RmNode> {
        self.nodes.sorted().into_iter()
    }

    pub(crate) fn running_node_count(&self) -> i32 {
        self.node_summary().running
    }
}
