//! The node status updater: registers this NM with the RM, heartbeats on the RM's interval and at
//! once when a container completes, and carries out what the RM answers (containers and
//! applications to clean up, resync, shutdown).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use spindle_ipc::{ClientOptions, IpcClient};
use spindle_proto::yarn::*;
use spindle_types::{exit_status, ApplicationId, ContainerId, NodeId, Resource};
use tokio::sync::{mpsc, watch};

use super::container_protocol::status_proto;
use super::devices::GpuAllocator;
use super::protocols;
use super::tokens::NmKeys;
use crate::container::{ContainerLifecycleState, ContainerManager};

pub(crate) struct StatusUpdater {
    pub(crate) node_id: NodeId,
    pub(crate) http_port: u16,
    pub(crate) resource: Resource,
    pub(crate) rm_tracker: SocketAddr,
    pub(crate) default_interval: Duration,
    pub(crate) rpc_timeout: Duration,
    pub(crate) manager: Arc<ContainerManager>,
    pub(crate) keys: NmKeys,
    pub(crate) registered: watch::Sender<bool>,
    pub(crate) gpus: GpuAllocator,
}

/// Why the heartbeat loop ended.
enum LoopEnd {
    Shutdown,
    Reconnect,
}

impl StatusUpdater {
    pub(crate) async fn run(
        self,
        mut completions: mpsc::UnboundedReceiver<ContainerId>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut backoff = Duration::from_millis(100);
        let mut acknowledged: HashSet<ContainerId> = HashSet::new();
        loop {
            if *shutdown.borrow() {
                return;
            }
            let client = match self.connect_and_register().await {
                Ok((client, interval)) => {
                    backoff = Duration::from_millis(100);
                    let _ = self.registered.send(true);
                    match self
                        .heartbeat_loop(
                            &client,
                            interval,
                            &mut acknowledged,
                            &mut completions,
                            &mut shutdown,
                        )
                        .await
                    {
                        LoopEnd::Shutdown => {
                            let _ = client
                                .call::<_, UnRegisterNodeManagerResponseProto>(
                                    "unRegisterNodeManager",
                                    &UnRegisterNodeManagerRequestProto {
                                        node_id: Some((&self.node_id).into()),
                                    },
                                )
                                .await;
                            return;
                        }
                        LoopEnd::Reconnect => Some(client),
                    }
                }
                Err(e) => {
                    tracing::warn!(
                        "NodeManager {}: cannot register with the ResourceManager at {}: {e}",
                        self.node_id,
                        self.rm_tracker
                    );
                    None
                }
            };
            drop(client);
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    async fn connect_and_register(&self) -> Result<(IpcClient, Duration), String> {
        let mut options = ClientOptions::new(protocols::RESOURCE_TRACKER, "nodemanager");
        options.rpc_timeout = self.rpc_timeout;
        let client = IpcClient::connect(self.rm_tracker, options)
            .await
            .map_err(|e| e.to_string())?;
        // Every container still here: running ones, and completed ones the RM has not told this
        // NM to forget (it may have restarted since), so that their completion reaches the AM.
        let containers: Vec<NmContainerStatusProto> = self
            .manager
            .list()
            .iter()
            .map(|r| {
                let done = r.state == ContainerLifecycleState::Done;
                NmContainerStatusProto {
                    container_id: Some(r.container_id.into()),
                    container_state: Some(if done {
                        ContainerStateProto::CComplete
                    } else {
                        ContainerStateProto::CRunning
                    } as i32),
                    resource: Some((&r.resource).into()),
                    diagnostics: Some(r.diagnostics.clone()),
                    container_exit_status: Some(r.exit_status),
                    ..Default::default()
                }
            })
            .collect();
        let request = RegisterNodeManagerRequestProto {
            node_id: Some((&self.node_id).into()),
            http_port: Some(self.http_port as i32),
            resource: Some((&self.resource).into()),
            nm_version: Some(env!("CARGO_PKG_VERSION").to_string()),
            container_statuses: containers,
            ..Default::default()
        };
        let response: RegisterNodeManagerResponseProto = client
            .call("registerNodeManager", &request)
            .await
            .map_err(|e| e.to_string())?;
        if response.node_action() == NodeActionProto::Shutdown {
            return Err(format!(
                "the ResourceManager refused the registration: {}",
                response.diagnostics_message()
            ));
        }
        self.keys.update(
            response.container_token_master_key.as_ref(),
            response.nm_token_master_key.as_ref(),
        );
        tracing::info!(
            "NodeManager {} registered with the ResourceManager at {} with {}",
            self.node_id,
            self.rm_tracker,
            self.resource
        );
        Ok((client, self.default_interval))
    }

    async fn heartbeat_loop(
        &self,
        client: &IpcClient,
        mut interval: Duration,
        acknowledged: &mut HashSet<ContainerId>,
        completions: &mut mpsc::UnboundedReceiver<ContainerId>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> LoopEnd {
        let mut response_id = 0;
        loop {
            let reports = self.manager.list();
            let sent_completed: Vec<ContainerId> = reports
                .iter()
                .filter(|r| {
                    r.state == ContainerLifecycleState::Done
                        && !acknowledged.contains(&r.container_id)
                })
                .map(|r| r.container_id)
                .collect();
            let statuses = reports
                .iter()
                .filter(|r| !acknowledged.contains(&r.container_id))
                .map(status_proto)
                .collect();
            let request = NodeHeartbeatRequestProto {
                node_status: Some(NodeStatusProto {
                    node_id: Some((&self.node_id).into()),
                    response_id: Some(response_id),
                    containers_statuses: statuses,
                    node_health_status: Some(NodeHealthStatusProto {
                        is_node_healthy: Some(true),
                        health_report: Some(String::new()),
                        last_health_report_time: Some(super::now_ms()),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let response: NodeHeartbeatResponseProto =
                match client.call("nodeHeartbeat", &request).await {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!("NodeManager {}: heartbeat failed: {e}", self.node_id);
                        return LoopEnd::Reconnect;
                    }
                };
            for id in &sent_completed {
                self.gpus.release(*id);
                // The RM has the completion: it is not sent again, but kept (and reported at a
                // re-registration, should the RM restart) until the RM says its AM has it.
                acknowledged.insert(*id);
            }
            for c in &response.containers_to_be_removed_from_nm {
                if let Ok(id) = ContainerId::try_from(c) {
                    // From now on the NM keeps nothing of it but its id (for a while), so a node
                    // that runs containers for months lists only the live ones.
                    self.manager.forget(id);
                    acknowledged.remove(&id);
                }
            }
            // Containers forgotten otherwise (their application was cleaned up) are no longer
            // tracked.
            if !acknowledged.is_empty() {
                let present: HashSet<ContainerId> =
                    reports.iter().map(|r| r.container_id).collect();
                acknowledged.retain(|id| present.contains(id));
            }
            response_id = response.response_id();
            match response.node_action() {
                NodeActionProto::Resync => {
                    tracing::warn!(
                        "NodeManager {}: the ResourceManager asks to resync: {}",
                        self.node_id,
                        response.diagnostics_message()
                    );
                    return LoopEnd::Reconnect;
                }
                NodeActionProto::Shutdown => {
                    tracing::warn!(
                        "NodeManager {}: the ResourceManager asks to shut down",
                        self.node_id
                    );
                    return LoopEnd::Shutdown;
                }
                NodeActionProto::Normal => {}
            }
            self.keys.update(
                response.container_token_master_key.as_ref(),
                response.nm_token_master_key.as_ref(),
            );
            for c in &response.containers_to_cleanup {
                if let Ok(id) = ContainerId::try_from(c) {
                    let _ = self.manager.stop_with_diagnostics(
                        id,
                        exit_status::KILLED_BY_RESOURCEMANAGER,
                        "Container killed by the ApplicationMaster or the ResourceManager.",
                    );
                }
            }
            for a in &response.applications_to_cleanup {
                if let Ok(app) = ApplicationId::try_from(a) {
                    let manager = self.manager.clone();
                    tokio::spawn(async move { manager.finish_application(app).await });
                }
            }
            if let Some(ms) = response.next_heart_beat_interval.filter(|ms| *ms > 0) {
                interval = Duration::from_millis(ms as u64);
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                Some(_) = completions.recv() => {
                    // Report this completion, and any that arrived with it, at once.
                    while completions.try_recv().is_ok() {}
                }
                _ = shutdown.changed() => return LoopEnd::Shutdown,
            }
        }
    }
}
