//! Simulated NodeManagers talking to the RM's ResourceTracker over Hadoop IPC: each node is one
//! tokio task that registers and then heartbeats like Spindle's NM (statuses of its running
//! containers, a completed container reported once, `interval` of sleep after each answer).
//!
//! Nodes share connections (`nodes_per_connection` per IPC connection, SIMPLE auth as an NM
//! uses): the node id is in every request, and a process could not hold one socket per node at
//! 10,000 nodes on both ends. The first `am_nodes` nodes really listen (ContainerManagement on
//! 127.0.0.1, one port each, node id `127.0.0.1:<port>`) so the RM can start AM containers on
//! them; the others are `sim-node-NNNNNN:45454` and only run task containers, which the
//! simulated AMs hand to them directly (an AM's startContainers goes to the NM, not the RM).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use spindle_ipc::{AuthPolicy, ClientOptions, IpcClient, Server, ServerConfig};
use spindle_proto::yarn::{
    ContainerStateProto, ContainerStatusProto, NodeActionProto, NodeHealthStatusProto,
    NodeHeartbeatRequestProto, NodeHeartbeatResponseProto, NodeStatusProto,
    RegisterNodeManagerRequestProto, RegisterNodeManagerResponseProto,
};
use spindle_security::MasterKey;
use spindle_types::{ApplicationId, ContainerId, NodeId, Resource};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::container_manager::{LaunchedAm, NmTokenSecrets, SimulatedContainerManager};
use super::RmBenchError;

/// The ResourceTracker protocol name.
pub const RESOURCE_TRACKER_PROTOCOL: &str = "org.apache.hadoop.yarn.server.api.ResourceTrackerPB";

/// The port every task-only node advertises (YARN's usual NM port; nothing listens on it).
pub const TASK_NODE_PORT: i32 = 45454;

/// What a simulated NM is told by its AMs (or by the RM's AM launcher).
#[derive(Debug, Clone, Copy)]
pub enum NodeCommand {
    /// Run `container` until `finish_at` (None: until the RM says to clean it up).
    Start {
        container: ContainerId,
        finish_at: Option<Instant>,
    },
}

/// The fleet's shape.
#[derive(Debug, Clone)]
pub struct NodeFleetSpec {
    /// Nodes that only run task containers.
    pub task_nodes: usize,
    pub task_node_capability: Resource,
    /// Nodes that really listen and host the AM containers.
    pub am_nodes: usize,
    pub am_node_capability: Resource,
    /// How many nodes share one IPC connection to the ResourceTracker.
    pub nodes_per_connection: usize,
    /// YARN's `yarn.resourcemanager.nodemanagers.heartbeat-interval-ms`.
    pub heartbeat_interval: Duration,
}

/// Which node a container's node id names, and how to reach that node's task.
pub(crate) struct NodeRouting {
    index: HashMap<NodeId, usize>,
    senders: Vec<UnboundedSender<NodeCommand>>,
}

impl NodeRouting {
    /// Tells the node named by `node` to run `container`; false for a node the fleet lacks.
    pub(crate) fn start(&self, node: &NodeId, command: NodeCommand) -> bool {
        match self.index.get(node) {
            Some(&index) => self.senders[index].send(command).is_ok(),
            None => false,
        }
    }
}

/// Counters every node task adds to (read at the start and end of a measurement window).
#[derive(Debug, Default)]
pub struct NodeCounters {
    pub registered: AtomicU64,
    pub registration_failures: AtomicU64,
    pub heartbeats: AtomicU64,
    pub heartbeat_errors: AtomicU64,
    pub resyncs: AtomicU64,
    pub containers_started: AtomicU64,
    /// Container statuses sent as RUNNING.
    pub running_statuses: AtomicU64,
    /// Containers reported COMPLETE (once each).
    pub completions_reported: AtomicU64,
    /// Containers the RM told a node to clean up (released or of finished applications).
    pub cleanups: AtomicU64,
}

impl NodeCounters {
    pub fn snapshot(&self) -> NodeCountersSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        NodeCountersSnapshot {
            registered: get(&self.registered),
            registration_failures: get(&self.registration_failures),
            heartbeats: get(&self.heartbeats),
            heartbeat_errors: get(&self.heartbeat_errors),
            resyncs: get(&self.resyncs),
            containers_started: get(&self.containers_started),
            running_statuses: get(&self.running_statuses),
            completions_reported: get(&self.completions_reported),
            cleanups: get(&self.cleanups),
        }
    }
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeCountersSnapshot {
    pub registered: u64,
    pub registration_failures: u64,
    pub heartbeats: u64,
    pub heartbeat_errors: u64,
    pub resyncs: u64,
    pub containers_started: u64,
    pub running_statuses: u64,
    pub completions_reported: u64,
    pub cleanups: u64,
}

impl NodeCountersSnapshot {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            registered: self.registered - earlier.registered,
            registration_failures: self.registration_failures - earlier.registration_failures,
            heartbeats: self.heartbeats - earlier.heartbeats,
            heartbeat_errors: self.heartbeat_errors - earlier.heartbeat_errors,
            resyncs: self.resyncs - earlier.resyncs,
            containers_started: self.containers_started - earlier.containers_started,
            running_statuses: self.running_statuses - earlier.running_statuses,
            completions_reported: self.completions_reported - earlier.completions_reported,
            cleanups: self.cleanups - earlier.cleanups,
        }
    }
}

/// What the node tasks share.
struct FleetShared {
    counters: Arc<NodeCounters>,
    /// While true, heartbeat latencies are kept.
    recording: Arc<AtomicBool>,
    nm_token_key: Arc<OnceLock<MasterKey>>,
    heartbeat_interval: Duration,
}

/// One node waiting for its task.
struct PendingNode {
    id: NodeId,
    capability: Resource,
    commands: UnboundedReceiver<NodeCommand>,
}

/// The simulated NodeManagers.
pub struct NodeFleet {
    spec: NodeFleetSpec,
    tracker: SocketAddr,
    routing: Arc<NodeRouting>,
    pending: Vec<Option<PendingNode>>,
    shared: Arc<FleetShared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<Vec<i64>>>,
    connections: Vec<IpcClient>,
    listeners: Vec<Server>,
}

impl NodeFleet {
    /// Binds the AM nodes' listeners and prepares every node; nothing registers yet.
    pub(crate) async fn new(
        spec: NodeFleetSpec,
        tracker: SocketAddr,
        launched: UnboundedSender<LaunchedAm>,
        recording: Arc<AtomicBool>,
    ) -> Result<Self, RmBenchError> {
        let nm_token_key: Arc<OnceLock<MasterKey>> = Arc::default();
        let total = spec.am_nodes + spec.task_nodes;
        let mut index = HashMap::with_capacity(total);
        let mut senders = Vec::with_capacity(total);
        let mut pending = Vec::with_capacity(total);
        let mut listeners = Vec::with_capacity(spec.am_nodes);
        for number in 0..total {
            let (sender, receiver) = mpsc::unbounded_channel();
            let (id, capability) = if number < spec.am_nodes {
                let service = SimulatedContainerManager {
                    node_commands: sender.clone(),
                    launched: launched.clone(),
                };
                let config = ServerConfig {
                    auth: AuthPolicy::Token(Arc::new(NmTokenSecrets {
                        key: nm_token_key.clone(),
                    })),
                    ..ServerConfig::default()
                };
                let server = Server::bind("127.0.0.1:0", config, vec![Arc::new(service)])
                    .await
                    .map_err(|e| RmBenchError::Setup(format!("AM node listener: {e}")))?;
                let port = server.local_addr().port() as i32;
                listeners.push(server);
                (
                    NodeId::new("127.0.0.1", port),
                    spec.am_node_capability.clone(),
                )
            } else {
                (
                    NodeId::new(format!("sim-node-{number:06}"), TASK_NODE_PORT),
                    spec.task_node_capability.clone(),
                )
            };
            index.insert(id.clone(), number);
            senders.push(sender);
            pending.push(Some(PendingNode {
                id,
                capability,
                commands: receiver,
            }));
        }
        let (stop, _) = watch::channel(false);
        Ok(Self {
            tracker,
            routing: Arc::new(NodeRouting { index, senders }),
            pending,
            shared: Arc::new(FleetShared {
                counters: Arc::default(),
                recording,
                nm_token_key,
                heartbeat_interval: spec.heartbeat_interval,
            }),
            stop,
            tasks: Vec::new(),
            connections: Vec::new(),
            listeners,
            spec,
        })
    }

    pub(crate) fn routing(&self) -> Arc<NodeRouting> {
        self.routing.clone()
    }

    pub fn counters(&self) -> Arc<NodeCounters> {
        self.shared.counters.clone()
    }

    /// Starts the AM nodes (register, then heartbeat) and waits for their registration.
    pub(crate) async fn start_am_nodes(&mut self, within: Duration) -> Result<(), RmBenchError> {
        self.start_range(0, self.spec.am_nodes, within).await
    }

    /// Starts the task-only nodes and waits for their registration.
    pub(crate) async fn start_task_nodes(&mut self, within: Duration) -> Result<(), RmBenchError> {
        let first = self.spec.am_nodes;
        self.start_range(first, first + self.spec.task_nodes, within)
            .await
    }

    async fn start_range(
        &mut self,
        first: usize,
        end: usize,
        within: Duration,
    ) -> Result<(), RmBenchError> {
        if first == end {
            return Ok(());
        }
        let per_connection = self.spec.nodes_per_connection.max(1);
        let before = self.shared.counters.registered.load(Ordering::Relaxed);
        let count = end - first;
        let mut connection = None;
        for number in first..end {
            if connection.is_none() || (number - first).is_multiple_of(per_connection) {
                let options = ClientOptions::new(RESOURCE_TRACKER_PROTOCOL, "nodemanager");
                let client = IpcClient::connect(self.tracker, options)
                    .await
                    .map_err(|e| RmBenchError::Setup(format!("ResourceTracker: {e}")))?;
                self.connections.push(client.clone());
                connection = Some(client);
            }
            let node = self.pending[number].take().expect("each node starts once");
            // Spread the first heartbeats evenly over one interval.
            let phase = self
                .spec
                .heartbeat_interval
                .mul_f64((number - first) as f64 / count as f64);
            self.tasks.push(tokio::spawn(run_node(
                node,
                connection.clone().expect("connected above"),
                self.shared.clone(),
                self.stop.subscribe(),
                phase,
            )));
        }
        let deadline = Instant::now() + within;
        loop {
            let counters = self.shared.counters.snapshot();
            if counters.registered - before >= count as u64 {
                return Ok(());
            }
            if counters.registration_failures > 0 {
                return Err(RmBenchError::Setup(format!(
                    "{} NodeManager registrations failed",
                    counters.registration_failures
                )));
            }
            if Instant::now() > deadline {
                return Err(RmBenchError::TimedOut(format!(
                    "only {} of {count} NodeManagers registered within {} s",
                    counters.registered - before,
                    within.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops every node and returns the heartbeat latencies (µs) recorded while `recording`.
    pub(crate) async fn stop(mut self) -> Vec<i64> {
        let _ = self.stop.send(true);
        let mut latencies = Vec::new();
        for task in self.tasks.drain(..) {
            if let Ok(samples) = task.await {
                latencies.extend(samples);
            }
        }
        for server in self.listeners.drain(..) {
            server.shutdown().await;
        }
        self.connections.clear();
        latencies
    }
}

/// One running container on a simulated node.
struct RunningContainer {
    id: ContainerId,
    finish_at: Option<Instant>,
}

fn container_status(id: ContainerId, complete: bool) -> ContainerStatusProto {
    ContainerStatusProto {
        container_id: Some(id.into()),
        state: Some(if complete {
            ContainerStateProto::CComplete
        } else {
            ContainerStateProto::CRunning
        } as i32),
        diagnostics: Some(String::new()),
        exit_status: Some(if complete { 0 } else { -1000 }),
        ..Default::default()
    }
}

/// A node's life: register, then heartbeat every interval until stopped.
async fn run_node(
    node: PendingNode,
    client: IpcClient,
    shared: Arc<FleetShared>,
    mut stop: watch::Receiver<bool>,
    first_heartbeat_after: Duration,
) -> Vec<i64> {
    let counters = &shared.counters;
    let PendingNode {
        id,
        capability,
        mut commands,
    } = node;
    let registration = RegisterNodeManagerRequestProto {
        node_id: Some((&id).into()),
        http_port: Some(8042),
        resource: Some((&capability).into()),
        nm_version: Some(env!("CARGO_PKG_VERSION").to_string()),
        ..Default::default()
    };
    let answer: Result<RegisterNodeManagerResponseProto, _> =
        client.call("registerNodeManager", &registration).await;
    match answer {
        Ok(response) if response.node_action() != NodeActionProto::Shutdown => {
            if let Some(key) = &response.nm_token_master_key {
                shared.nm_token_key.get_or_init(|| MasterKey {
                    key_id: key.key_id(),
                    bytes: key.bytes().to_vec(),
                });
            }
            counters.registered.fetch_add(1, Ordering::Relaxed);
        }
        Ok(response) => {
            tracing::warn!(
                "{id}: registration refused: {}",
                response.diagnostics_message()
            );
            counters
                .registration_failures
                .fetch_add(1, Ordering::Relaxed);
            return Vec::new();
        }
        Err(error) => {
            tracing::warn!("{id}: registration failed: {error}");
            counters
                .registration_failures
                .fetch_add(1, Ordering::Relaxed);
            return Vec::new();
        }
    }
    let node_id_proto = spindle_proto::yarn::NodeIdProto::from(&id);
    let mut latencies = Vec::new();
    let mut running: Vec<RunningContainer> = Vec::new();
    let mut response_id = 0;
    let mut wait = first_heartbeat_after;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return latencies,
        }
        while let Ok(NodeCommand::Start {
            container,
            finish_at,
        }) = commands.try_recv()
        {
            counters.containers_started.fetch_add(1, Ordering::Relaxed);
            running.push(RunningContainer {
                id: container,
                finish_at,
            });
        }
        let now = Instant::now();
        let mut statuses = Vec::with_capacity(running.len());
        let mut completed = 0u64;
        running.retain(|container| {
            let complete = container.finish_at.is_some_and(|at| at <= now);
            statuses.push(container_status(container.id, complete));
            completed += u64::from(complete);
            !complete
        });
        let running_count = statuses.len() as u64 - completed;
        let request = NodeHeartbeatRequestProto {
            node_status: Some(NodeStatusProto {
                node_id: Some(node_id_proto.clone()),
                response_id: Some(response_id),
                containers_statuses: statuses,
                node_health_status: Some(NodeHealthStatusProto {
                    is_node_healthy: Some(true),
                    health_report: Some(String::new()),
                    last_health_report_time: Some(spindle_rm::service::now_ms()),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let started = Instant::now();
        let answer: Result<NodeHeartbeatResponseProto, _> =
            client.call("nodeHeartbeat", &request).await;
        let latency = started.elapsed();
        match answer {
            Ok(response) => {
                counters.heartbeats.fetch_add(1, Ordering::Relaxed);
                counters
                    .completions_reported
                    .fetch_add(completed, Ordering::Relaxed);
                counters
                    .running_statuses
                    .fetch_add(running_count, Ordering::Relaxed);
                if shared.recording.load(Ordering::Relaxed) {
                    latencies.push(latency.as_micros() as i64);
                }
                response_id = response.response_id();
                if response.node_action() == NodeActionProto::Resync {
                    counters.resyncs.fetch_add(1, Ordering::Relaxed);
                }
                clean_up(&mut running, &response, counters);
                wait = response
                    .next_heart_beat_interval
                    .filter(|&ms| ms > 0)
                    .map_or(shared.heartbeat_interval, |ms| {
                        Duration::from_millis(ms as u64)
                    });
            }
            Err(error) => {
                tracing::debug!("{id}: heartbeat failed: {error}");
                counters.heartbeat_errors.fetch_add(1, Ordering::Relaxed);
                wait = shared.heartbeat_interval;
            }
        }
    }
}

/// Drops the containers (and applications' containers) the RM told the node to clean up.
fn clean_up(
    running: &mut Vec<RunningContainer>,
    response: &NodeHeartbeatResponseProto,
    counters: &NodeCounters,
) {
    if response.containers_to_cleanup.is_empty() && response.applications_to_cleanup.is_empty() {
        return;
    }
    let containers: Vec<ContainerId> = response
        .containers_to_cleanup
        .iter()
        .filter_map(|id| ContainerId::try_from(id).ok())
        .collect();
    let applications: Vec<ApplicationId> = response
        .applications_to_cleanup
        .iter()
        .filter_map(|id| ApplicationId::try_from(id).ok())
        .collect();
    counters
        .cleanups
        .fetch_add(containers.len() as u64, Ordering::Relaxed);
    running.retain(|container| {
        !containers.contains(&container.id)
            && !applications.contains(&container.id.application_id())
    });
}
