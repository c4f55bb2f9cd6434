//! Benchmarks of the scheduling core alone: container allocations per second and the cost of
//! each allocation at cluster scale (nodes, queues, running applications), measured on one
//! thread with the real [`Scheduler`]. Timing is measured and reported, never asserted.
//!
//! Each run registers the nodes, then:
//! - **fill**: applications (unmanaged AMs, so every container is a task) are added and ask
//!   for twice the cluster's room in total; the allocations their asks trigger are timed
//!   (with [`CoreBenchmarkSpec::pending_per_application`]: each asks for an equal share of the
//!   room, then for that many containers more, which stay pending);
//! - **churn**: with the cluster full and requests still pending, the oldest container
//!   finishes, one at a time; each finish frees room that the scheduler gives to the next
//!   request at once. Every `ContainerFinished` call is timed on its own (a completion plus
//!   an allocation: the steady-state cost per allocation), and the AMs acquire their new
//!   containers in batches as an RM's allocate responses would. With a fixed backlog, the
//!   application that received the container asks again after the timed call, so the number
//!   of pending containers stays the same throughout.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;
use std::time::Instant;

use spindle_scheduler::{
    scheduler_config_from_files, AllocationLimits, ImmediateAllocation, ResourceRequest, Scheduler,
    SchedulerAction, SchedulerConfigError, SchedulerError, SchedulerEvent, SchedulerFile,
    CAPACITY_SCHEDULER_CLASS, DOMINANT_RESOURCE_CALCULATOR_CLASS, FAIR_SCHEDULER_CLASS,
    FIFO_SCHEDULER_CLASS,
};
use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource};

use crate::workload::SIMULATED_NODE_PORT;

/// Which scheduler the benchmark configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchPolicy {
    Fifo,
    Capacity,
    Fair,
}

impl BenchPolicy {
    pub fn name(self) -> &'static str {
        match self {
            Self::Fifo => "fifo",
            Self::Capacity => "capacity",
            Self::Fair => "fair",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "fifo" => Some(Self::Fifo),
            "capacity" => Some(Self::Capacity),
            "fair" => Some(Self::Fair),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreBenchmarkSpec {
    pub nodes: usize,
    pub applications: usize,
    /// Leaf queues under root (FIFO has exactly one, `root.default`).
    pub queues: usize,
    pub policy: BenchPolicy,
    pub node_capability: Resource,
    pub container: Resource,
    /// How many finishes the churn phase times (fewer if the cluster holds fewer containers).
    pub churn_finishes: usize,
    /// When true, each application's ask also names 4 hosts and their racks, so placement
    /// searches node-local and rack-local candidates first (and delay scheduling waits for
    /// them: Capacity's node-locality-delay, Fair's locality thresholds at 0.5).
    pub locality: bool,
    /// Capacity and Fair: the DominantResourceCalculator / `drf` policy.
    pub dominant_resource_fairness: bool,
    /// Capacity: the preemption monitor (`yarn.resourcemanager.scheduler.monitor.enable`);
    /// Fair: `yarn.scheduler.fair.preemption`.
    pub preemption: bool,
    /// A fixed backlog: every application keeps this many containers asked for beyond what it
    /// runs (and the fill gives each an equal share of the cluster). `None`: the applications
    /// ask for twice the cluster's room in total, once, and churn drains that backlog.
    pub pending_per_application: Option<u32>,
    /// Node passes visit every application they reach, one by one, instead of stepping over
    /// runs of those waiting for other hosts (the same decisions; for comparing the two).
    pub visit_each: bool,
    /// `spindle.scheduler.immediate-allocation=all`: everything that fits at once, in arrival
    /// order (Spindle before issue 10), instead of shares first.
    pub all_at_once: bool,
}

impl CoreBenchmarkSpec {
    /// What is switched on (`drf, locality asks, preemption`), or `-`.
    pub fn features(&self) -> String {
        let mut features: Vec<String> = [
            (self.dominant_resource_fairness, "drf"),
            (self.locality, "locality asks"),
            (self.preemption, "preemption"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| name.to_string())
        .collect();
        if let Some(pending) = self.pending_per_application {
            features.push(format!("{pending} pending/app"));
        }
        if self.visit_each {
            features.push("walk visits each".to_string());
        }
        if self.all_at_once {
            features.push("all at once (before shares)".to_string());
        }
        if features.is_empty() {
            "-".to_string()
        } else {
            features.join(", ")
        }
    }
}

impl Default for CoreBenchmarkSpec {
    fn default() -> Self {
        Self {
            nodes: 10_000,
            applications: 10_000,
            queues: 1,
            policy: BenchPolicy::Fifo,
            node_capability: Resource::new(64 * 1024, 32),
            container: Resource::new(1024, 1),
            churn_finishes: 200_000,
            locality: false,
            dominant_resource_fairness: false,
            preemption: false,
            pending_per_application: None,
            visit_each: false,
            all_at_once: false,
        }
    }
}

/// Nanosecond percentiles of single scheduler calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NanosecondPercentiles {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl NanosecondPercentiles {
    fn of(samples: &mut [u64]) -> Self {
        samples.sort_unstable();
        let rank = |quantile: f64| {
            if samples.is_empty() {
                return 0;
            }
            let position = (quantile * samples.len() as f64).ceil() as usize;
            samples[position.clamp(1, samples.len()) - 1]
        };
        Self {
            p50: rank(0.5),
            p90: rank(0.9),
            p99: rank(0.99),
            p999: rank(0.999),
            max: samples.last().copied().unwrap_or(0),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CoreBenchmarkResult {
    pub spec: CoreBenchmarkSpec,
    pub setup_seconds: f64,
    pub fill_allocations: u64,
    pub fill_seconds: f64,
    pub fill_allocations_per_second: f64,
    /// Per second of this thread's CPU time (Linux; the wall-clock rate otherwise): what one
    /// core does when other processes share the machine.
    pub fill_allocations_per_cpu_second: f64,
    pub churn_finishes: u64,
    pub churn_allocations: u64,
    pub churn_seconds: f64,
    pub churn_allocations_per_second: f64,
    pub churn_allocations_per_cpu_second: f64,
    /// Duration of each churn `ContainerFinished` call (one completion and, normally, one
    /// allocation).
    pub churn_call_nanoseconds: NanosecondPercentiles,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("the benchmark's scheduler configuration was refused: {0}")]
    Configuration(Box<SchedulerConfigError>),
    #[error("the scheduler refused its configuration: {0}")]
    Scheduler(SchedulerError),
    #[error("the scheduler refused {event}: {error} (does the scheduling core build {policy} queues yet?)")]
    Refused {
        event: &'static str,
        policy: &'static str,
        error: SchedulerError,
    },
    #[error("{0}")]
    Invalid(&'static str),
}

/// The leaf queue the `index`th application goes to.
fn queue_name(spec: &CoreBenchmarkSpec, index: usize) -> String {
    match spec.policy {
        BenchPolicy::Fifo => "default".to_string(),
        BenchPolicy::Capacity | BenchPolicy::Fair => format!("q{}", index % spec.queues),
    }
}

/// The scheduler configuration the benchmark runs: `queues` equal leaves under root, each
/// allowed to grow to the whole cluster.
pub fn benchmark_scheduler(spec: &CoreBenchmarkSpec) -> Result<Scheduler, BenchError> {
    let limits = AllocationLimits {
        minimum: Resource::new(1024, 1),
        maximum: spec.node_capability.clone(),
        increment: Resource::new(1024, 1),
    };
    let mut site = BTreeMap::new();
    let mut set = |key: &str, value: &str| {
        site.insert(key.to_string(), value.to_string());
    };
    if spec.all_at_once {
        set(ImmediateAllocation::KEY, "all");
    }
    let (class_name, file_text) = match spec.policy {
        BenchPolicy::Fifo => (FIFO_SCHEDULER_CLASS, None),
        BenchPolicy::Capacity => {
            if spec.preemption {
                set("yarn.resourcemanager.scheduler.monitor.enable", "true");
            }
            (
                CAPACITY_SCHEDULER_CLASS,
                Some(capacity_scheduler_xml(
                    spec.queues,
                    spec.dominant_resource_fairness,
                )),
            )
        }
        BenchPolicy::Fair => {
            if spec.preemption {
                set("yarn.scheduler.fair.preemption", "true");
            }
            if spec.locality {
                set("yarn.scheduler.fair.locality.threshold.node", "0.5");
                set("yarn.scheduler.fair.locality.threshold.rack", "0.5");
            }
            (
                FAIR_SCHEDULER_CLASS,
                Some(fair_allocation_xml(
                    spec.queues,
                    spec.dominant_resource_fairness,
                )),
            )
        }
    };
    let file = file_text.as_deref().map(|text| SchedulerFile {
        source_name: "benchmark scheduler file",
        text,
    });
    let config = scheduler_config_from_files(class_name, &site, file, 0, limits)
        .map_err(|error| BenchError::Configuration(Box::new(error)))?;
    Scheduler::new(config).map_err(BenchError::Scheduler)
}

/// capacity-scheduler.xml with `queues` equal leaves, each elastic to the whole cluster.
pub fn capacity_scheduler_xml(queues: usize, dominant_resource_fairness: bool) -> String {
    let names: Vec<String> = (0..queues).map(|index| format!("q{index}")).collect();
    let mut xml = String::from("<configuration>\n");
    let mut property = |name: &str, value: &str| {
        let _ = writeln!(
            xml,
            "<property><name>{name}</name><value>{value}</value></property>"
        );
    };
    property("yarn.scheduler.capacity.maximum-applications", "10000000");
    if dominant_resource_fairness {
        property(
            "yarn.scheduler.capacity.resource-calculator",
            DOMINANT_RESOURCE_CALCULATOR_CLASS,
        );
    }
    property("yarn.scheduler.capacity.root.queues", &names.join(","));
    // Shares in thousandths of a percent, the last queue taking the rounding remainder.
    let share = 100_000 / queues as u64;
    for (index, name) in names.iter().enumerate() {
        let thousandths = if index + 1 == queues {
            100_000 - share * (queues as u64 - 1)
        } else {
            share
        };
        let prefix = format!("yarn.scheduler.capacity.root.{name}");
        property(
            &format!("{prefix}.capacity"),
            &format!("{}.{:03}", thousandths / 1000, thousandths % 1000),
        );
        property(&format!("{prefix}.maximum-capacity"), "100");
        property(&format!("{prefix}.user-limit-factor"), "100000");
    }
    xml.push_str("</configuration>\n");
    xml
}

/// A Fair Scheduler allocation file with `queues` equal-weight leaves.
pub fn fair_allocation_xml(queues: usize, dominant_resource_fairness: bool) -> String {
    let mut xml = String::from("<?xml version=\"1.0\"?>\n<allocations>\n");
    if dominant_resource_fairness {
        xml.push_str("  <defaultQueueSchedulingPolicy>drf</defaultQueueSchedulingPolicy>\n");
    }
    for index in 0..queues {
        let _ = writeln!(
            xml,
            "  <queue name=\"q{index}\"><weight>1.0</weight></queue>"
        );
    }
    xml.push_str("</allocations>\n");
    xml
}

/// Runs one benchmark.
pub fn run_core_benchmark(spec: &CoreBenchmarkSpec) -> Result<CoreBenchmarkResult, BenchError> {
    if spec.nodes == 0 || spec.applications == 0 || spec.queues == 0 {
        return Err(BenchError::Invalid(
            "a benchmark needs at least one node, application and queue",
        ));
    }
    if spec.policy == BenchPolicy::Fifo && spec.queues != 1 {
        return Err(BenchError::Invalid(
            "the FIFO scheduler has exactly one queue",
        ));
    }
    let refused = |event: &'static str| {
        move |error| BenchError::Refused {
            event,
            policy: spec.policy.name(),
            error,
        }
    };
    let setup_started = Instant::now();
    let mut scheduler = benchmark_scheduler(spec)?;
    if spec.visit_each {
        scheduler.set_step_over_delayed(None);
    }
    let hosts: Vec<String> = (0..spec.nodes)
        .map(|index| format!("host{index:05}"))
        .collect();
    let rack_of = |index: usize| format!("/rack{:03}", index / 40);
    for (index, host) in hosts.iter().enumerate() {
        scheduler
            .handle(SchedulerEvent::NodeAdded {
                node: NodeId::new(host.clone(), SIMULATED_NODE_PORT),
                rack: rack_of(index),
                capability: spec.node_capability.clone(),
            })
            .map_err(refused("NodeAdded"))?;
    }
    let per_node = (spec.node_capability.memory_mb / spec.container.memory_mb.max(1))
        .min(spec.node_capability.vcores / spec.container.vcores.max(1))
        .max(0) as usize;
    let room = spec.nodes * per_node;
    // The first ask of the `index`th application: an equal share of the room with a fixed
    // backlog (asked for after the fill), else its part of twice the room.
    let first_ask = |index: usize| -> i32 {
        match spec.pending_per_application {
            Some(_) => {
                (room / spec.applications + usize::from(index < room % spec.applications)) as i32
            }
            None => (room * 2).div_ceil(spec.applications).max(1) as i32,
        }
    };
    let setup_seconds = setup_started.elapsed().as_secs_f64();

    let mut live: VecDeque<(ContainerId, NodeId)> = VecDeque::with_capacity(room);
    let mut unacquired: Vec<ContainerId> = Vec::new();
    let fill_started = Instant::now();
    let fill_cpu_started = thread_cpu_seconds();
    let mut fill_allocations = 0u64;
    let mut clock = VirtualClock::default();
    for index in 0..spec.applications {
        fill_allocations += collect(
            clock
                .advance(&mut scheduler, ARRIVAL_SPACING_US)
                .map_err(refused("TimeAdvanced"))?,
            &mut live,
            &mut unacquired,
        );
        let application = ApplicationId::new(1, index as i32 + 1);
        let attempt = ApplicationAttemptId::new(application, 1);
        scheduler
            .handle(SchedulerEvent::ApplicationAdded {
                application,
                queue: queue_name(spec, index),
                user: format!("user{}", index % 100),
                priority: 0,
            })
            .map_err(refused("ApplicationAdded"))?;
        let actions = scheduler
            .handle(SchedulerEvent::AttemptAdded {
                attempt,
                am_resource: None,
            })
            .map_err(refused("AttemptAdded"))?;
        fill_allocations += collect(actions, &mut live, &mut unacquired);
        let asks = application_asks(spec, index, first_ask(index), &hosts, &rack_of);
        let actions = scheduler
            .handle(SchedulerEvent::Asks {
                attempt,
                asks,
                releases: Vec::new(),
            })
            .map_err(refused("Asks"))?;
        fill_allocations += collect(actions, &mut live, &mut unacquired);
        acquire(&mut scheduler, &mut unacquired).map_err(refused("ContainersAcquired"))?;
    }
    // The last applications' share windows close and the RM ticks: what they are entitled to
    // beyond their steady share goes out.
    let window_us = (scheduler.share_window_ms().max(0) as u64 + RM_TICK_MS) * 1000;
    fill_allocations += collect(
        clock
            .advance(&mut scheduler, window_us)
            .map_err(refused("TimeAdvanced"))?,
        &mut live,
        &mut unacquired,
    );
    acquire(&mut scheduler, &mut unacquired).map_err(refused("ContainersAcquired"))?;
    let fill_seconds = fill_started.elapsed().as_secs_f64();
    let fill_cpu_seconds = cpu_seconds_since(fill_cpu_started).unwrap_or(fill_seconds);
    // The backlog: with the cluster full, each application asks for its pending containers.
    let mut reasks: Vec<ApplicationAttemptId> = Vec::new();
    if spec.pending_per_application.is_some() {
        reasks
            .extend((0..spec.applications).map(|index| {
                ApplicationAttemptId::new(ApplicationId::new(1, index as i32 + 1), 1)
            }));
        fill_allocations += ask_for_backlog(
            &mut scheduler,
            spec,
            &mut reasks,
            &hosts,
            &rack_of,
            &mut live,
            &mut unacquired,
        )
        .map_err(refused("Asks"))?;
    }

    let finishes = spec.churn_finishes.min(live.len());
    let mut call_nanoseconds = Vec::with_capacity(finishes);
    let mut churn_allocations = 0u64;
    let churn_started = Instant::now();
    let churn_cpu_started = thread_cpu_seconds();
    for _ in 0..finishes {
        let Some((container, node)) = live.pop_front() else {
            break;
        };
        // The NodeManager reports the completion in a heartbeat: the RM hands the scheduler
        // the completion, then the heartbeat (a scheduling opportunity, and the pass that
        // hands out room beyond shares). Both are one timed call.
        let call_started = Instant::now();
        let mut actions = scheduler
            .handle(SchedulerEvent::ContainerFinished {
                container,
                exit_status: 0,
            })
            .map_err(refused("ContainerFinished"))?;
        actions.extend(
            scheduler
                .handle(SchedulerEvent::NodeHeartbeat { node })
                .map_err(refused("NodeHeartbeat"))?,
        );
        actions.extend(
            clock
                .advance(&mut scheduler, COMPLETION_SPACING_US)
                .map_err(refused("TimeAdvanced"))?,
        );
        call_nanoseconds.push(call_started.elapsed().as_nanos() as u64);
        let before = live.len();
        churn_allocations += collect(actions, &mut live, &mut unacquired);
        if spec.pending_per_application.is_some() {
            reasks.extend(
                live.range(before..)
                    .map(|(container, _)| container.attempt_id),
            );
            churn_allocations += ask_for_backlog(
                &mut scheduler,
                spec,
                &mut reasks,
                &hosts,
                &rack_of,
                &mut live,
                &mut unacquired,
            )
            .map_err(refused("Asks"))?;
        }
        if unacquired.len() >= 1000 {
            acquire(&mut scheduler, &mut unacquired).map_err(refused("ContainersAcquired"))?;
        }
    }
    let churn_seconds = churn_started.elapsed().as_secs_f64();
    let churn_cpu_seconds = cpu_seconds_since(churn_cpu_started).unwrap_or(churn_seconds);
    Ok(CoreBenchmarkResult {
        spec: spec.clone(),
        setup_seconds,
        fill_allocations,
        fill_seconds,
        fill_allocations_per_second: rate(fill_allocations, fill_seconds),
        fill_allocations_per_cpu_second: rate(fill_allocations, fill_cpu_seconds),
        churn_finishes: call_nanoseconds.len() as u64,
        churn_allocations,
        churn_seconds,
        churn_allocations_per_second: rate(churn_allocations, churn_seconds),
        churn_allocations_per_cpu_second: rate(churn_allocations, churn_cpu_seconds),
        churn_call_nanoseconds: NanosecondPercentiles::of(&mut call_nanoseconds),
    })
}

/// Virtual time between two applications' arrivals in the fill.
const ARRIVAL_SPACING_US: u64 = 1_000;
/// Virtual time between two container completions in the churn (5,000 a second).
const COMPLETION_SPACING_US: u64 = 200;
/// The RM hands the scheduler `TimeAdvanced` every quarter second.
const RM_TICK_MS: u64 = 250;

/// The benchmark's virtual clock: it ticks as the RM does, every [`RM_TICK_MS`], so that what
/// the scheduler does on ticks (entitlements recomputed, share windows closed, preemption) is
/// measured too.
#[derive(Debug, Default)]
struct VirtualClock {
    now_us: u64,
    ticked_ms: u64,
}

impl VirtualClock {
    /// Moves the clock on by `us`, handing the scheduler every tick it passes.
    fn advance(
        &mut self,
        scheduler: &mut Scheduler,
        us: u64,
    ) -> Result<Vec<SchedulerAction>, SchedulerError> {
        self.now_us += us;
        let mut actions = Vec::new();
        while self.ticked_ms + RM_TICK_MS <= self.now_us / 1000 {
            self.ticked_ms += RM_TICK_MS;
            actions.extend(scheduler.handle(SchedulerEvent::TimeAdvanced {
                now_ms: self.ticked_ms as i64,
            })?);
        }
        Ok(actions)
    }
}

/// Tells the scheduler the AMs took their new containers, as allocate responses would.
fn acquire(
    scheduler: &mut Scheduler,
    unacquired: &mut Vec<ContainerId>,
) -> Result<(), SchedulerError> {
    if unacquired.is_empty() {
        return Ok(());
    }
    scheduler
        .handle(SchedulerEvent::ContainersAcquired {
            containers: std::mem::take(unacquired),
        })
        .map(drop)
}

/// This thread's CPU time so far, from Linux's `/proc/thread-self/schedstat` (None elsewhere).
fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanoseconds: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(nanoseconds as f64 / 1e9)
}

fn cpu_seconds_since(start: Option<f64>) -> Option<f64> {
    Some(thread_cpu_seconds()? - start?)
}

fn rate(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// With a fixed backlog: each attempt in `attempts` asks again for
/// [`CoreBenchmarkSpec::pending_per_application`] containers (asks are absolute, so this
/// restores its backlog); an attempt that is allocated a container on the way asks again too.
/// Returns the allocations made.
fn ask_for_backlog(
    scheduler: &mut Scheduler,
    spec: &CoreBenchmarkSpec,
    attempts: &mut Vec<ApplicationAttemptId>,
    hosts: &[String],
    rack_of: &dyn Fn(usize) -> String,
    live: &mut VecDeque<(ContainerId, NodeId)>,
    unacquired: &mut Vec<ContainerId>,
) -> Result<u64, SchedulerError> {
    let pending = spec.pending_per_application.unwrap_or(0) as i32;
    let mut allocations = 0;
    while let Some(attempt) = attempts.pop() {
        let index = attempt.application_id.id as usize - 1;
        let asks = application_asks(spec, index, pending, hosts, rack_of);
        let actions = scheduler.handle(SchedulerEvent::Asks {
            attempt,
            asks,
            releases: Vec::new(),
        })?;
        let before = live.len();
        allocations += collect(actions, live, unacquired);
        attempts.extend(
            live.range(before..)
                .map(|(container, _)| container.attempt_id),
        );
    }
    Ok(allocations)
}

/// One application's asks: `count` containers anywhere, plus (with locality) 4 wanted hosts
/// and their racks.
fn application_asks(
    spec: &CoreBenchmarkSpec,
    index: usize,
    count: i32,
    hosts: &[String],
    rack_of: &dyn Fn(usize) -> String,
) -> Vec<ResourceRequest> {
    let mut asks = Vec::new();
    if spec.locality {
        let mut racks = BTreeMap::new();
        for offset in 0..4 {
            let host_index = (index * 7919 + offset * 104_729) % hosts.len();
            asks.push(ResourceRequest {
                priority: 1,
                resource_name: hosts[host_index].clone(),
                capability: spec.container.clone(),
                num_containers: count,
                relax_locality: true,
                allocation_request_id: 0,
            });
            racks.insert(rack_of(host_index), ());
        }
        for rack in racks.into_keys() {
            asks.push(ResourceRequest {
                priority: 1,
                resource_name: rack,
                capability: spec.container.clone(),
                num_containers: count,
                relax_locality: true,
                allocation_request_id: 0,
            });
        }
    }
    asks.push(ResourceRequest::anywhere(1, spec.container.clone(), count));
    asks
}

/// Counts the allocations among `actions`, remembering the new containers.
fn collect(
    actions: Vec<SchedulerAction>,
    live: &mut VecDeque<(ContainerId, NodeId)>,
    unacquired: &mut Vec<ContainerId>,
) -> u64 {
    let mut allocations = 0;
    for action in actions {
        if let SchedulerAction::Allocated {
            container, node, ..
        } = action
        {
            live.push_back((container, node));
            unacquired.push(container);
            allocations += 1;
        }
    }
    allocations
}

/// The machine a benchmark ran on: CPU model and logical CPUs, for BENCHMARKS.md.
pub fn machine_description() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, model)| model.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cpus = std::thread::available_parallelism().map_or(0, |count| count.get());
    format!(
        "{model}, {cpus} logical CPUs (nproc), {}",
        std::env::consts::ARCH
    )
}

/// A markdown table of results, one row per run.
pub fn results_table(results: &[CoreBenchmarkResult]) -> String {
    let mut table = String::from(
        "| policy | nodes | queues | apps | on | setup s | fill allocations | fill allocs/CPU-s | fill allocs/s wall | churn allocations | churn allocs/CPU-s | churn allocs/s wall | call p50 | call p99 | call p99.9 | call max |\n\
         |---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for result in results {
        let spec = &result.spec;
        let latency = &result.churn_call_nanoseconds;
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            spec.policy.name(),
            spec.nodes,
            spec.queues,
            spec.applications,
            spec.features(),
            result.setup_seconds,
            result.fill_allocations,
            thousands(result.fill_allocations_per_cpu_second),
            thousands(result.fill_allocations_per_second),
            result.churn_allocations,
            thousands(result.churn_allocations_per_cpu_second),
            thousands(result.churn_allocations_per_second),
            nanos(latency.p50),
            nanos(latency.p99),
            nanos(latency.p999),
            nanos(latency.max),
        );
    }
    table
}

pub(crate) fn thousands(value: f64) -> String {
    let whole = value.round() as u64;
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

pub(crate) fn nanos(value: u64) -> String {
    if value >= 10_000 {
        format!("{:.1} µs", value as f64 / 1000.0)
    } else {
        format!("{value} ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_benchmark_fills_the_cluster_and_keeps_allocating() {
        let spec = CoreBenchmarkSpec {
            nodes: 20,
            applications: 10,
            churn_finishes: 100,
            ..Default::default()
        };
        let result = run_core_benchmark(&spec).unwrap();
        assert_eq!(
            result.fill_allocations,
            20 * 32,
            "20 nodes of 32 one-vcore containers"
        );
        assert_eq!(result.churn_finishes, 100);
        assert_eq!(
            result.churn_allocations, 100,
            "each finish makes room for one more"
        );
        let latency = &result.churn_call_nanoseconds;
        assert!(latency.p50 <= latency.p99 && latency.p99 <= latency.max);
        assert!(results_table(&[result]).contains("| fifo | 20 | 1 | 10 |"));
    }

    #[test]
    fn a_fixed_backlog_is_asked_for_again_and_never_runs_out() {
        let spec = CoreBenchmarkSpec {
            nodes: 4,
            applications: 5,
            queues: 2,
            policy: BenchPolicy::Capacity,
            churn_finishes: 100,
            pending_per_application: Some(2),
            ..Default::default()
        };
        let result = run_core_benchmark(&spec).unwrap();
        assert_eq!(
            result.fill_allocations,
            4 * 32,
            "equal shares fill the cluster"
        );
        assert_eq!(result.churn_finishes, 100);
        assert_eq!(
            result.churn_allocations, 100,
            "100 finishes outlast a backlog of 10 only because it is asked for again"
        );
        assert!(results_table(&[result]).contains("| 2 pending/app |"));
    }

    #[test]
    fn generated_scheduler_files_hold_every_queue_and_shares_sum_to_100() {
        let xml = capacity_scheduler_xml(3, true);
        assert!(xml.contains("<value>q0,q1,q2</value>"));
        assert!(xml.contains("<value>33.333</value>"));
        assert!(xml.contains("<value>33.334</value>"));
        assert!(xml.contains(DOMINANT_RESOURCE_CALCULATOR_CLASS));
        let fair = fair_allocation_xml(1000, true);
        assert_eq!(fair.matches("<queue ").count(), 1000);
        assert!(fair.contains("<defaultQueueSchedulingPolicy>drf"));
        assert_eq!(thousands(1234567.4), "1,234,567");
    }
}
