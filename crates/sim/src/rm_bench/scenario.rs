//! One whole-RM benchmark run: start the RM, bring up the AM nodes and submit the applications,
//! register the task nodes, let the AMs ask, then measure a window of steady state. Resident
//! memory is read at each step, so one run also gives bytes per application, node and container.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use spindle_types::Resource;
use tokio::sync::mpsc;

use super::am_fleet::{AmCountersSnapshot, AmFleet, AmFleetSpec};
use super::node_fleet::{NodeCountersSnapshot, NodeFleet, NodeFleetSpec};
use super::proc_stats;
use super::report_poller::ReportPollers;
use super::rm_host::{write_scheduler_conf_dir, RmPlacement, RmServeSettings, RmUnderTest};
use super::RmBenchError;
use crate::bench::BenchPolicy;
use crate::metrics::Percentiles;

/// Thread-name prefix of the load generator's runtime.
pub const LOAD_THREAD_NAME: &str = "rm-bench-load";

/// Everything one run needs.
#[derive(Debug, Clone, PartialEq)]
pub struct RmBenchSpec {
    pub placement: RmPlacement,
    pub policy: BenchPolicy,
    /// Leaf queues (Capacity and Fair); applications are spread over them.
    pub queues: usize,
    pub rm_worker_threads: usize,
    pub load_worker_threads: usize,
    /// Task-only nodes.
    pub nodes: usize,
    pub node_capability: Resource,
    /// Nodes that host the AM containers (each sized for its share of AMs, no more).
    pub am_nodes: usize,
    pub nodes_per_connection: usize,
    pub heartbeat_interval: Duration,
    pub applications: AmFleetSpec,
    /// Clients calling getApplications in a loop from the asks on (0: none).
    pub report_pollers: usize,
    pub warmup: Duration,
    pub measure: Duration,
    /// Limit on each setup step (registrations, submissions, placing fixed containers).
    pub setup_timeout: Duration,
}

impl Default for RmBenchSpec {
    fn default() -> Self {
        Self {
            placement: RmPlacement::InProcess,
            policy: BenchPolicy::Fifo,
            queues: 1,
            rm_worker_threads: 2,
            load_worker_threads: 2,
            nodes: 10_000,
            node_capability: Resource::new(16 * 1024, 16),
            am_nodes: 10,
            nodes_per_connection: 100,
            heartbeat_interval: Duration::from_secs(1),
            applications: AmFleetSpec {
                applications: 1_000,
                queues: vec!["default".into()],
                am_resource: Resource::new(1024, 1),
                container: Resource::new(1024, 1),
                outstanding_asks: 100,
                containers_per_am: None,
                allocate_interval: Duration::from_secs(1),
                task_duration: Duration::from_secs(1),
                release_every: 10,
            },
            report_pollers: 0,
            warmup: Duration::from_secs(10),
            measure: Duration::from_secs(30),
            setup_timeout: Duration::from_secs(300),
        }
    }
}

impl RmBenchSpec {
    /// The queue names applications go to, as the policy names them.
    pub fn queue_names(policy: BenchPolicy, queues: usize) -> Vec<String> {
        match policy {
            BenchPolicy::Fifo => vec!["default".into()],
            BenchPolicy::Capacity | BenchPolicy::Fair => (0..queues.max(1))
                .map(|index| format!("q{index}"))
                .collect(),
        }
    }

    fn validate(&self) -> Result<(), RmBenchError> {
        let usage = |m: &str| Err(RmBenchError::Usage(m.to_string()));
        if self.applications.applications > 0 && self.am_nodes == 0 {
            return usage("applications need at least one AM node (--am-nodes)");
        }
        if self.nodes + self.am_nodes == 0 {
            return usage("the cluster needs at least one node");
        }
        if self.applications.queues.is_empty() {
            return usage("applications need at least one queue");
        }
        if self.rm_worker_threads == 0 || self.load_worker_threads == 0 {
            return usage("the RM and the load generator need at least one thread each");
        }
        if self.heartbeat_interval.is_zero() {
            return usage("the NM heartbeat interval must be positive");
        }
        if !self.node_capability.fits(&self.applications.container) {
            return usage("a task container must fit on a node");
        }
        Ok(())
    }

    /// Each AM node holds exactly its share of AM containers, so no task lands there.
    fn am_node_capability(&self) -> Resource {
        let per_node = self
            .applications
            .applications
            .div_ceil(self.am_nodes.max(1))
            .max(1) as i64;
        let am = &self.applications.am_resource;
        Resource::new(am.memory_mb * per_node, am.vcores * per_node)
    }
}

/// Resident memory of the RM's process at each step (bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryCheckpoints {
    pub started: Option<u64>,
    /// After the AM nodes registered and every application's AM registered.
    pub after_applications: Option<u64>,
    /// After the task nodes registered and heartbeat for one interval.
    pub after_nodes: Option<u64>,
    /// Fixed behaviour: after every asked container was allocated and reported RUNNING.
    pub after_containers: Option<u64>,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct RmBenchResult {
    pub spec: RmBenchSpec,
    pub rm_has_own_process: bool,
    pub memory: MemoryCheckpoints,
    pub submit_seconds: f64,
    pub node_registration_seconds: f64,
    /// Fixed behaviour: containers allocated and the time from the AMs' first asks until all were.
    pub containers_placed: u64,
    pub containers_placed_seconds: Option<f64>,
    pub window_seconds: f64,
    /// AM-side counts during the window.
    pub ams: AmCountersSnapshot,
    /// NM-side counts during the window.
    pub nodes: NodeCountersSnapshot,
    /// Counts over the whole run (errors must be 0).
    pub ams_total: AmCountersSnapshot,
    pub nodes_total: NodeCountersSnapshot,
    /// allocate() round trips during the window, microseconds.
    pub allocate_latency_us: Percentiles,
    /// nodeHeartbeat round trips during the window, microseconds.
    pub heartbeat_latency_us: Percentiles,
    /// CPU seconds of the RM during the window.
    pub rm_cpu_seconds: Option<f64>,
    /// CPU seconds of the load generator's threads during the window.
    pub load_cpu_seconds: Option<f64>,
    /// getApplications round trips of the report pollers during the window, microseconds.
    pub report_latency_us: Percentiles,
    /// Applications listed per getApplications reply, on average.
    pub applications_per_report: f64,
    /// getApplications calls that failed (whole run).
    pub report_errors: u64,
}

impl RmBenchResult {
    fn per_window_second(&self, count: u64) -> f64 {
        if self.window_seconds > 0.0 {
            count as f64 / self.window_seconds
        } else {
            0.0
        }
    }

    pub fn allocations_per_second(&self) -> f64 {
        self.per_window_second(self.ams.allocated)
    }

    pub fn heartbeats_per_second(&self) -> f64 {
        self.per_window_second(self.nodes.heartbeats)
    }

    pub fn allocate_calls_per_second(&self) -> f64 {
        self.per_window_second(self.ams.allocate_calls)
    }

    /// Cores the RM kept busy on average during the window.
    pub fn rm_cores(&self) -> Option<f64> {
        self.rm_cpu_seconds
            .map(|cpu| cpu / self.window_seconds.max(1e-9))
    }

    pub fn load_cores(&self) -> Option<f64> {
        self.load_cpu_seconds
            .map(|cpu| cpu / self.window_seconds.max(1e-9))
    }

    /// Allocations per second of RM CPU time: the RM's rate if it had the cores to itself.
    pub fn allocations_per_rm_cpu_second(&self) -> Option<f64> {
        self.rm_cpu_seconds
            .filter(|&cpu| cpu > 0.0)
            .map(|cpu| self.ams.allocated as f64 / cpu)
    }

    /// RM CPU microseconds per NM heartbeat, when nothing else ran (no applications).
    pub fn rm_cpu_us_per_heartbeat(&self) -> Option<f64> {
        self.rm_cpu_seconds
            .filter(|_| self.nodes.heartbeats > 0 && self.spec.applications.applications == 0)
            .map(|cpu| cpu * 1e6 / self.nodes.heartbeats as f64)
    }

    pub fn bytes_per_application(&self) -> Option<f64> {
        let apps = self.spec.applications.applications;
        let (Some(before), Some(after)) = (self.memory.started, self.memory.after_applications)
        else {
            return None;
        };
        (apps > 0).then(|| (after as f64 - before as f64) / apps as f64)
    }

    pub fn bytes_per_node(&self) -> Option<f64> {
        let before = self.memory.after_applications.or(self.memory.started)?;
        let after = self.memory.after_nodes?;
        (self.spec.nodes > 0).then(|| (after as f64 - before as f64) / self.spec.nodes as f64)
    }

    pub fn bytes_per_container(&self) -> Option<f64> {
        let (Some(before), Some(after)) = (self.memory.after_nodes, self.memory.after_containers)
        else {
            return None;
        };
        (self.containers_placed > 0)
            .then(|| (after as f64 - before as f64) / self.containers_placed as f64)
    }
}

/// Runs one benchmark. Blocks; runs on threads of its own, so it may be called from anywhere
/// (also from inside a tokio runtime).
pub fn run_rm_benchmark(spec: &RmBenchSpec) -> Result<RmBenchResult, RmBenchError> {
    spec.validate()?;
    std::thread::scope(|scope| {
        scope
            .spawn(|| run_outside_any_runtime(spec))
            .join()
            .unwrap_or_else(|_| Err(RmBenchError::Setup("the benchmark thread panicked".into())))
    })
}

fn run_outside_any_runtime(spec: &RmBenchSpec) -> Result<RmBenchResult, RmBenchError> {
    let conf_dir = std::env::temp_dir().join(format!(
        "spindle-rm-bench-{}-{}",
        std::process::id(),
        spindle_rm::service::now_ms()
    ));
    let settings = RmServeSettings {
        scheduler_conf_dir: write_scheduler_conf_dir(&conf_dir, spec.policy, spec.queues)?,
        maximum_allocation_mb: spec.node_capability.memory_mb,
        maximum_allocation_vcores: spec.node_capability.vcores,
        nm_heartbeat_interval_ms: spec.heartbeat_interval.as_millis() as i64,
        worker_threads: spec.rm_worker_threads,
    };
    let rm = RmUnderTest::start(&spec.placement, &settings);
    let result = rm.and_then(|rm| {
        let load = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(spec.load_worker_threads)
            .thread_name(LOAD_THREAD_NAME)
            .enable_all()
            .build()
            .map_err(|e| RmBenchError::Setup(format!("the load generator's runtime: {e}")));
        let result = load.and_then(|load| {
            let result = load.block_on(drive(spec, &rm));
            load.shutdown_timeout(Duration::from_secs(5));
            result
        });
        rm.stop();
        result
    });
    let _ = std::fs::remove_dir_all(&conf_dir);
    result
}

async fn settle(interval: Duration) {
    tokio::time::sleep(interval * 2).await;
}

async fn drive(spec: &RmBenchSpec, rm: &RmUnderTest) -> Result<RmBenchResult, RmBenchError> {
    let recording = Arc::new(AtomicBool::new(false));
    let mut memory = MemoryCheckpoints {
        started: rm.rss_bytes(),
        ..Default::default()
    };
    let (launches, launch_receiver) = mpsc::unbounded_channel();
    let mut fleet = NodeFleet::new(
        NodeFleetSpec {
            task_nodes: spec.nodes,
            task_node_capability: spec.node_capability.clone(),
            am_nodes: if spec.applications.applications > 0 {
                spec.am_nodes
            } else {
                0
            },
            am_node_capability: spec.am_node_capability(),
            nodes_per_connection: spec.nodes_per_connection,
            heartbeat_interval: spec.heartbeat_interval,
        },
        rm.addresses.tracker,
        launches,
        recording.clone(),
    )
    .await?;
    let ams = AmFleet::start(
        spec.applications.clone(),
        rm.addresses.scheduler,
        fleet.routing(),
        launch_receiver,
        recording.clone(),
    );
    let node_counters = fleet.counters();
    let am_counters = ams.counters();

    // 1. AM nodes, then every application until its AM registered (so AMs land only there).
    let submit_started = Instant::now();
    if spec.applications.applications > 0 {
        fleet.start_am_nodes(spec.setup_timeout).await?;
        ams.submit_applications(rm.addresses.client).await?;
        ams.wait_registered(spec.setup_timeout).await?;
        settle(spec.heartbeat_interval).await;
        memory.after_applications = rm.rss_bytes();
    }
    let submit_seconds = submit_started.elapsed().as_secs_f64();

    // 2. The task nodes.
    let registration_started = Instant::now();
    fleet.start_task_nodes(spec.setup_timeout).await?;
    let node_registration_seconds = registration_started.elapsed().as_secs_f64();
    settle(spec.heartbeat_interval).await;
    memory.after_nodes = rm.rss_bytes();

    // 3. The AMs ask (and the report pollers poll); with a fixed number each, wait until all run.
    ams.go();
    let pollers =
        ReportPollers::start(spec.report_pollers, rm.addresses.client, recording.clone()).await?;
    let mut containers_placed_seconds = None;
    if let Some(per_am) = spec.applications.containers_per_am {
        let wanted = spec.applications.applications as u64 * u64::from(per_am);
        let started = Instant::now();
        loop {
            let allocated = am_counters.snapshot().allocated;
            if allocated >= wanted {
                break;
            }
            if started.elapsed() > spec.setup_timeout {
                return Err(RmBenchError::TimedOut(format!(
                    "only {allocated} of {wanted} containers were allocated within {} s",
                    spec.setup_timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        containers_placed_seconds = Some(started.elapsed().as_secs_f64());
        // Until the nodes have started them all and reported them RUNNING.
        let on_nodes = wanted + spec.applications.applications as u64;
        while node_counters.snapshot().containers_started < on_nodes
            && started.elapsed() < spec.setup_timeout
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        settle(spec.heartbeat_interval).await;
        memory.after_containers = rm.rss_bytes();
    }
    let containers_placed = am_counters.snapshot().allocated;

    // 4. Steady state: warm up, then measure.
    tokio::time::sleep(spec.warmup).await;
    let am_before = am_counters.snapshot();
    let nodes_before = node_counters.snapshot();
    let rm_cpu_before = rm.cpu_seconds();
    let load_cpu_before = proc_stats::own_threads_cpu_seconds(LOAD_THREAD_NAME);
    let window_started = Instant::now();
    recording.store(true, Ordering::Relaxed);
    tokio::time::sleep(spec.measure).await;
    recording.store(false, Ordering::Relaxed);
    let window_seconds = window_started.elapsed().as_secs_f64();
    let am_after = am_counters.snapshot();
    let nodes_after = node_counters.snapshot();
    let rm_cpu_seconds = rm
        .cpu_seconds()
        .zip(rm_cpu_before)
        .map(|(after, before)| after - before);
    let load_cpu_seconds = proc_stats::own_threads_cpu_seconds(LOAD_THREAD_NAME)
        .zip(load_cpu_before)
        .map(|(after, before)| after - before);

    let polled = pollers.stop().await;
    let allocate_latencies = ams.stop().await;
    let heartbeat_latencies = fleet.stop().await;
    Ok(RmBenchResult {
        spec: spec.clone(),
        rm_has_own_process: rm.has_own_process(),
        memory,
        submit_seconds,
        node_registration_seconds,
        containers_placed,
        containers_placed_seconds,
        window_seconds,
        ams: am_after.since(&am_before),
        nodes: nodes_after.since(&nodes_before),
        ams_total: am_counters.snapshot(),
        nodes_total: node_counters.snapshot(),
        allocate_latency_us: Percentiles::of(&allocate_latencies),
        heartbeat_latency_us: Percentiles::of(&heartbeat_latencies),
        rm_cpu_seconds,
        load_cpu_seconds,
        report_latency_us: Percentiles::of(&polled.latencies_us),
        applications_per_report: if polled.latencies_us.is_empty() {
            0.0
        } else {
            polled.applications_listed as f64 / polled.latencies_us.len() as f64
        },
        report_errors: polled.errors,
    })
}
