//! Simulated ApplicationMasters: applications submitted through [`YarnClient`], each AM started
//! when the RM launches its AM container on a simulated node, then an [`AmRmClient`] with the
//! AMRMToken from that launch: register, and allocate every interval with asks, releases and the
//! completions its NMs reported flowing through the RM.
//!
//! Two behaviours: *steady* (every allocated container is asked for again, so each AM keeps
//! `outstanding_asks` pending; tasks run `task_duration`) measures throughput; *fixed* (each AM
//! wants exactly `containers_per_am`, which then run until the end) builds a known number of
//! running containers for the memory measurement.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use spindle_client::{AmRmClient, ContainerRequest, NmTokenCache, YarnClient};
use spindle_proto::yarn::{ApplicationSubmissionContextProto, ContainerLaunchContextProto};
use spindle_types::{ContainerId, NodeId, Resource};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::container_manager::LaunchedAm;
use super::node_fleet::{NodeCommand, NodeRouting};
use super::RmBenchError;

/// How the simulated AMs behave.
#[derive(Debug, Clone, PartialEq)]
pub struct AmFleetSpec {
    pub applications: usize,
    /// Application `i` goes to `queues[i % queues.len()]`.
    pub queues: Vec<String>,
    pub am_resource: Resource,
    pub container: Resource,
    /// Steady behaviour: pending containers each AM keeps asked for.
    pub outstanding_asks: u32,
    /// Fixed behaviour: exactly this many containers per AM, running until the end.
    pub containers_per_am: Option<u32>,
    /// Sleep between an allocate answer and the next call (AMRMClientAsync's heartbeat).
    pub allocate_interval: Duration,
    /// How long a task runs on its node (steady behaviour).
    pub task_duration: Duration,
    /// Release every n-th allocated container instead of running it (0: never).
    pub release_every: u32,
}

/// Counters every AM adds to.
#[derive(Debug, Default)]
pub struct AmCounters {
    pub registered: AtomicU64,
    pub failures: AtomicU64,
    pub allocate_calls: AtomicU64,
    pub allocate_errors: AtomicU64,
    /// Containers received in allocate responses.
    pub allocated: AtomicU64,
    pub released: AtomicU64,
    /// Completed-container statuses received in allocate responses.
    pub completions_received: AtomicU64,
    /// Allocated containers whose node the fleet does not know (must stay 0).
    pub unroutable: AtomicU64,
}

impl AmCounters {
    pub fn snapshot(&self) -> AmCountersSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        AmCountersSnapshot {
            registered: get(&self.registered),
            failures: get(&self.failures),
            allocate_calls: get(&self.allocate_calls),
            allocate_errors: get(&self.allocate_errors),
            allocated: get(&self.allocated),
            released: get(&self.released),
            completions_received: get(&self.completions_received),
            unroutable: get(&self.unroutable),
        }
    }
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AmCountersSnapshot {
    pub registered: u64,
    pub failures: u64,
    pub allocate_calls: u64,
    pub allocate_errors: u64,
    pub allocated: u64,
    pub released: u64,
    pub completions_received: u64,
    pub unroutable: u64,
}

impl AmCountersSnapshot {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            registered: self.registered - earlier.registered,
            failures: self.failures - earlier.failures,
            allocate_calls: self.allocate_calls - earlier.allocate_calls,
            allocate_errors: self.allocate_errors - earlier.allocate_errors,
            allocated: self.allocated - earlier.allocated,
            released: self.released - earlier.released,
            completions_received: self.completions_received - earlier.completions_received,
            unroutable: self.unroutable - earlier.unroutable,
        }
    }
}

/// What every AM task shares.
struct AmShared {
    spec: AmFleetSpec,
    scheduler: SocketAddr,
    routing: Arc<NodeRouting>,
    counters: Arc<AmCounters>,
    recording: Arc<AtomicBool>,
}

/// The simulated AMs.
pub struct AmFleet {
    shared: Arc<AmShared>,
    go: watch::Sender<bool>,
    stop: watch::Sender<bool>,
    dispatcher: tokio::task::JoinHandle<Vec<i64>>,
}

impl AmFleet {
    /// Starts the dispatcher that turns each AM launch into a running AM (which registers, then
    /// waits for [`AmFleet::go`] before asking for containers).
    pub(crate) fn start(
        spec: AmFleetSpec,
        scheduler: SocketAddr,
        routing: Arc<NodeRouting>,
        launches: UnboundedReceiver<LaunchedAm>,
        recording: Arc<AtomicBool>,
    ) -> Self {
        let shared = Arc::new(AmShared {
            spec,
            scheduler,
            routing,
            counters: Arc::default(),
            recording,
        });
        let (go, _) = watch::channel(false);
        let (stop, _) = watch::channel(false);
        let dispatcher = tokio::spawn(dispatch(
            shared.clone(),
            launches,
            go.subscribe(),
            stop.subscribe(),
        ));
        Self {
            shared,
            go,
            stop,
            dispatcher,
        }
    }

    pub fn counters(&self) -> Arc<AmCounters> {
        self.shared.counters.clone()
    }

    /// Submits the applications through the client protocol (`getNewApplication`,
    /// `submitApplication`), one after another.
    pub(crate) async fn submit_applications(&self, client: SocketAddr) -> Result<(), RmBenchError> {
        let yarn = YarnClient::connect(client, "rm-bench")
            .await
            .map_err(|e| RmBenchError::Client(format!("connecting the YarnClient: {e}")))?;
        let spec = &self.shared.spec;
        for index in 0..spec.applications {
            let application = yarn
                .get_new_application()
                .await
                .map_err(|e| RmBenchError::Client(format!("getNewApplication: {e}")))?;
            let context = ApplicationSubmissionContextProto {
                application_id: Some(application.application_id.into()),
                application_name: Some(format!("rm-bench-{index}")),
                queue: Some(spec.queues[index % spec.queues.len()].clone()),
                am_container_spec: Some(ContainerLaunchContextProto {
                    command: vec!["simulated-am".into()],
                    ..Default::default()
                }),
                resource: Some((&spec.am_resource).into()),
                application_type: Some("SIMULATED".into()),
                max_app_attempts: Some(1),
                ..Default::default()
            };
            yarn.submit_application(context)
                .await
                .map_err(|e| RmBenchError::Client(format!("submitApplication {index}: {e}")))?;
        }
        Ok(())
    }

    /// Waits until every AM registered.
    pub(crate) async fn wait_registered(&self, within: Duration) -> Result<(), RmBenchError> {
        let wanted = self.shared.spec.applications as u64;
        let deadline = Instant::now() + within;
        loop {
            let counters = self.shared.counters.snapshot();
            if counters.registered >= wanted {
                return Ok(());
            }
            if counters.failures > 0 {
                return Err(RmBenchError::Setup(format!(
                    "{} simulated AMs failed to connect or register (see the log)",
                    counters.failures
                )));
            }
            if Instant::now() > deadline {
                return Err(RmBenchError::TimedOut(format!(
                    "only {} of {wanted} AMs registered within {} s",
                    counters.registered,
                    within.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Lets the AMs ask for containers.
    pub(crate) fn go(&self) {
        let _ = self.go.send(true);
    }

    /// Stops every AM and returns the allocate latencies (µs) recorded while `recording`.
    pub(crate) async fn stop(self) -> Vec<i64> {
        let _ = self.stop.send(true);
        self.dispatcher.await.unwrap_or_default()
    }
}

async fn dispatch(
    shared: Arc<AmShared>,
    mut launches: UnboundedReceiver<LaunchedAm>,
    go: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) -> Vec<i64> {
    let mut ams = JoinSet::new();
    let mut number = 0usize;
    loop {
        tokio::select! {
            launch = launches.recv() => match launch {
                Some(launch) => {
                    ams.spawn(run_am(shared.clone(), launch, number, go.clone(), stop.clone()));
                    number += 1;
                }
                None => break,
            },
            _ = stop.changed() => break,
        }
    }
    let mut latencies = Vec::new();
    while let Some(result) = ams.join_next().await {
        if let Ok(samples) = result {
            latencies.extend(samples);
        }
    }
    latencies
}

/// One AM: connect with its AMRMToken, register, wait for `go`, then allocate until `stop`.
async fn run_am(
    shared: Arc<AmShared>,
    launch: LaunchedAm,
    number: usize,
    mut go: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) -> Vec<i64> {
    let counters = &shared.counters;
    let spec = &shared.spec;
    let cache = NmTokenCache::new();
    let client = AmRmClient::connect(
        shared.scheduler,
        &launch.amrm_token,
        &launch.user,
        cache.clone(),
    )
    .await;
    let mut client = match client {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!("AM of {}: cannot connect: {error}", launch.container);
            counters.failures.fetch_add(1, Ordering::Relaxed);
            return Vec::new();
        }
    };
    if let Err(error) = client.register("simulated-am", 0, "").await {
        tracing::warn!("AM of {}: cannot register: {error}", launch.container);
        counters.failures.fetch_add(1, Ordering::Relaxed);
        return Vec::new();
    }
    counters.registered.fetch_add(1, Ordering::Relaxed);
    tokio::select! {
        _ = go.wait_for(|go| *go) => {}
        _ = stop.wait_for(|stop| *stop) => return Vec::new(),
    }
    let request = ContainerRequest::anywhere(spec.container.clone(), 1);
    let wanted = spec.containers_per_am.unwrap_or(spec.outstanding_asks);
    for _ in 0..wanted {
        client.add_container_request(&request);
    }
    let mut received = 0u64;
    let mut latencies = Vec::new();
    // Spread the AMs' heartbeats over one interval.
    let mut wait = spec
        .allocate_interval
        .mul_f64((number % 1000) as f64 / 1000.0);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return latencies,
        }
        wait = spec.allocate_interval;
        let started = Instant::now();
        let answer = client.allocate(0.5).await;
        let latency = started.elapsed();
        counters.allocate_calls.fetch_add(1, Ordering::Relaxed);
        let response = match answer {
            Ok(response) => response,
            Err(error) => {
                tracing::debug!("AM of {}: allocate failed: {error}", launch.container);
                counters.allocate_errors.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        if shared.recording.load(Ordering::Relaxed) {
            latencies.push(latency.as_micros() as i64);
        }
        // This AM never calls an NM itself: it need not keep the NMTokens.
        for token in &response.nm_tokens {
            if let Some(node) = &token.node_id {
                cache.remove(&format!("{}:{}", node.host(), node.port()));
            }
        }
        counters.completions_received.fetch_add(
            response.completed_container_statuses.len() as u64,
            Ordering::Relaxed,
        );
        let now = Instant::now();
        for container in &response.allocated_containers {
            received += 1;
            counters.allocated.fetch_add(1, Ordering::Relaxed);
            client.remove_container_request(&request);
            let Some(id) = container
                .id
                .as_ref()
                .and_then(|id| ContainerId::try_from(id).ok())
            else {
                continue;
            };
            if spec.containers_per_am.is_none() {
                // Steady behaviour: ask again for what was just given.
                client.add_container_request(&request);
                if spec.release_every > 0 && received.is_multiple_of(u64::from(spec.release_every))
                {
                    client.release_assigned_container(id);
                    counters.released.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
            let finish_at = match spec.containers_per_am {
                Some(_) => None,
                None => Some(now + spec.task_duration),
            };
            let node = container
                .node_id
                .as_ref()
                .and_then(|node| NodeId::try_from(node).ok());
            let routed = node.is_some_and(|node| {
                shared.routing.start(
                    &node,
                    NodeCommand::Start {
                        container: id,
                        finish_at,
                    },
                )
            });
            if !routed {
                counters.unroutable.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
