//! The node status updater: registers this NM with the RM, heartbeats on the RM's interval and at
//! once when a container completes, and carries out what the RM answers (containers and
//! applications to clean up, resync, shutdown). Heartbeats carry the log aggregation reports
//! not sent yet.
//!
//! With RM HA it knows every RM's resource-tracker address and starts at the first; when
//! registering or heartbeating fails because the RM cannot be reached, the connection broke, the
//! call timed out or the RM answered `StandbyException`, it moves to the next RM (round robin) at
//! once, and pauses (doubling from 100 ms, at most 1 s in HA, 5 s with one RM) only after every
//! RM had its try. Other failures retry the same RM after the pause.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use spindle_ipc::client::{ClientAuth, TokenCredentials};
use spindle_ipc::{ClientOptions, IpcClient, IpcClientError};
use spindle_proto::yarn::*;
use spindle_security::{ClusterSecret, NODE_REGISTRATION_TOKEN_KIND};
use spindle_types::{exit_status, ApplicationId, ContainerId, NodeId, Resource};
use tokio::sync::{mpsc, watch};

use super::container_protocol::status_proto;
use super::devices::GpuAllocator;
use super::protocols;
use super::tokens::NmKeys;
use crate::container::{ContainerLifecycleState, ContainerManager};
use crate::log_aggregation::LogAggregationReport;

/// A log aggregation report as the RM's heartbeat carries it.
fn log_aggregation_report_proto(report: &LogAggregationReport) -> LogAggregationReportProto {
    LogAggregationReportProto {
        application_id: Some(report.application_id.into()),
        log_aggregation_status: Some(LogAggregationStatusProto::from(report.status) as i32),
        diagnostics: Some(report.diagnostics.clone()),
    }
}

pub(crate) struct StatusUpdater {
    pub(crate) node_id: NodeId,
    pub(crate) http_port: u16,
    pub(crate) resource: Resource,
    /// Never empty; one address per rm-id with RM HA.
    pub(crate) rm_trackers: Vec<SocketAddr>,
    pub(crate) default_interval: Duration,
    pub(crate) rpc_timeout: Duration,
    pub(crate) registration_secret: Option<spindle_security::ClusterSecret>,
    pub(crate) manager: Arc<ContainerManager>,
    pub(crate) keys: NmKeys,
    pub(crate) registered: watch::Sender<bool>,
    pub(crate) gpus: GpuAllocator,
}

/// Why the heartbeat loop ended.
enum LoopEnd {
    Shutdown,
    /// The RM asked for a new registration.
    Resync,
    /// A heartbeat failed.
    Failed(IpcClientError),
}

/// Why a registration failed.
enum RegistrationFailure {
    /// The call failed.
    Call(IpcClientError),
    /// The RM answered SHUTDOWN.
    Refused(String),
}

/// The exception class of a standby RM's answer.
const STANDBY_EXCEPTION: &str = "org.apache.hadoop.ipc.StandbyException";

/// Whether a failed call means this RM cannot serve the NM now (unreachable, gone, standby), so
/// that with RM HA the next RM is tried.
fn moves_to_next_rm(error: &IpcClientError) -> bool {
    match error {
        IpcClientError::Connect { .. }
        | IpcClientError::ConnectionClosed { .. }
        | IpcClientError::Timeout { .. } => true,
        IpcClientError::Remote { class_name, .. } | IpcClientError::Fatal { class_name, .. } => {
            class_name == STANDBY_EXCEPTION
        }
        _ => false,
    }
}

impl StatusUpdater {
    pub(crate) async fn run(
        self,
        mut completions: mpsc::UnboundedReceiver<ContainerId>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut backoff = Duration::from_millis(100);
        let mut acknowledged: HashSet<ContainerId> = HashSet::new();
        let mut current = 0;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let tracker = self.rm_trackers[current];
            let mut fail_over = false;
            let client = match self.connect_and_register(tracker).await {
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
                        LoopEnd::Resync => Some(client),
                        LoopEnd::Failed(error) => {
                            fail_over = moves_to_next_rm(&error);
                            Some(client)
                        }
                    }
                }
                Err(failure) => {
                    let message = match &failure {
                        RegistrationFailure::Call(error) => {
                            fail_over = moves_to_next_rm(error);
                            format!("{error}{}", self.membership_hint(error))
                        }
                        RegistrationFailure::Refused(message) => message.clone(),
                    };
                    tracing::warn!(
                        "NodeManager {}: cannot register with the ResourceManager at {tracker}: {message}",
                        self.node_id,
                    );
                    None
                }
            };
            drop(client);
            let mut next_round = true;
            if fail_over && self.rm_trackers.len() > 1 {
                current = (current + 1) % self.rm_trackers.len();
                // The next RM is tried at once; the pause comes after each has had its try.
                next_round = current == 0;
                tracing::info!(
                    "NodeManager {}: failing over to the ResourceManager at {}",
                    self.node_id,
                    self.rm_trackers[current]
                );
            }
            if next_round {
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => return,
                }
                backoff = (backoff * 2).min(self.max_backoff());
            }
        }
    }

    /// What to check when the RM refused this NM's authentication: the cluster secret.
    fn membership_hint(&self, error: &IpcClientError) -> &'static str {
        let refused = match error {
            IpcClientError::Fatal { class_name, .. } => [
                spindle_ipc::java_class::SASL_EXCEPTION,
                spindle_ipc::java_class::ACCESS_CONTROL,
            ]
            .contains(&class_name.as_str()),
            IpcClientError::Authentication { .. } => true,
            _ => false,
        };
        match (refused, self.registration_secret.is_some()) {
            (false, _) => "",
            (true, true) => {
                " (does this NM's spindle.node-registration.secret-file hold the same secret as the RM's?)"
            }
            (true, false) => {
                " (the RM may require a cluster secret: set spindle.node-registration.secret-file as on the RM)"
            }
        }
    }

    /// The longest pause between rounds of attempts: 5 s with one RM; 1 s in HA, where the
    /// next active is expected within the ZooKeeper session timeout and every second counts.
    fn max_backoff(&self) -> Duration {
        if self.rm_trackers.len() > 1 {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(5)
        }
    }

    async fn connect_and_register(
        &self,
        tracker: SocketAddr,
    ) -> Result<(IpcClient, Duration), RegistrationFailure> {
        let mut options = ClientOptions::new(protocols::RESOURCE_TRACKER, "nodemanager");
        options.rpc_timeout = self.rpc_timeout;
        if let Some(secret) = &self.registration_secret {
            let identifier = ClusterSecret::identifier(&self.node_id.host);
            options.auth = ClientAuth::Token(TokenCredentials {
                kind: NODE_REGISTRATION_TOKEN_KIND.to_string(),
                password: secret.password(&identifier),
                identifier,
            });
        }
        let client = IpcClient::connect(tracker, options)
            .await
            .map_err(RegistrationFailure::Call)?;
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
            running_applications: self.manager.applications().iter().map(Into::into).collect(),
            ..Default::default()
        };
        let response: RegisterNodeManagerResponseProto = client
            .call("registerNodeManager", &request)
            .await
            .map_err(RegistrationFailure::Call)?;
        if response.node_action() == NodeActionProto::Shutdown {
            return Err(RegistrationFailure::Refused(format!(
                "the ResourceManager refused the registration: {}",
                response.diagnostics_message()
            )));
        }
        self.keys.update(
            response.container_token_master_key.as_ref(),
            response.nm_token_master_key.as_ref(),
        );
        tracing::info!(
            "NodeManager {} registered with the ResourceManager at {tracker} with {}",
            self.node_id,
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
            // Sent once; put back if this heartbeat does not reach the RM.
            let log_aggregation_reports = self.manager.take_log_aggregation_reports();
            let request = NodeHeartbeatRequestProto {
                log_aggregation_reports_for_apps: log_aggregation_reports
                    .iter()
                    .map(log_aggregation_report_proto)
                    .collect(),
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
            let response = client.call("nodeHeartbeat", &request).await;
            if response.is_err() {
                self.manager
                    .restore_log_aggregation_reports(log_aggregation_reports);
            }
            let response: NodeHeartbeatResponseProto = match response {
                Ok(r) => r,
                // A busy RM asks to be asked again: the same heartbeat (same response id)
                // after the interval, on the same registration.
                Err(IpcClientError::Remote { class_name, .. })
                    if class_name == spindle_ipc::java_class::RETRIABLE =>
                {
                    tracing::info!(
                            "NodeManager {}: the ResourceManager is too busy; heartbeating again in {interval:?}",
                            self.node_id
                        );
                    tokio::select! {
                        _ = tokio::time::sleep(interval) => {}
                        _ = shutdown.changed() => return LoopEnd::Shutdown,
                    }
                    continue;
                }
                Err(e) => {
                    tracing::warn!("NodeManager {}: heartbeat failed: {e}", self.node_id);
                    return LoopEnd::Failed(e);
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
                    return LoopEnd::Resync;
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
