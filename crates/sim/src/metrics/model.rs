//! What a simulation reports: the run's summary, per-queue and per-job results, time series and
//! per-container records. Every list is in a fixed order, so the same run serializes to the
//! same bytes.

use serde::Serialize;

use super::percentiles::Percentiles;
use crate::engine::SimulationSettings;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulationReport {
    pub scheduler: SchedulerDescription,
    pub workload: WorkloadDescription,
    pub settings: SimulationSettings,
    pub summary: RunSummary,
    pub queues: Vec<QueueSummary>,
    pub jobs: Vec<JobResult>,
    pub time_series: TimeSeries,
    /// One record per container allocated; written as CSV only (it can be large).
    #[serde(skip)]
    pub containers: Vec<ContainerRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchedulerDescription {
    /// `yarn.resourcemanager.scheduler.class`.
    pub class_name: String,
    /// `fifo`, `capacity` or `fair`.
    pub policy: String,
    pub files_read: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkloadDescription {
    pub description: String,
    pub nodes: usize,
    pub racks: usize,
    pub jobs: usize,
    pub tasks: usize,
    pub total_memory_mb: i64,
    pub total_vcores: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// Virtual time when the run ended, from the first submission.
    pub end_time_ms: i64,
    /// From the first submission to the last job's end.
    pub makespan_ms: i64,
    pub jobs_completed: usize,
    /// Refused at submission (unknown queue, ACLs, AM larger than allowed).
    pub jobs_rejected: usize,
    /// Ended without finishing (an ask the scheduler refused, too many AM attempts).
    pub jobs_failed: usize,
    /// Still running when the run stopped (time limit, or nothing could progress any more).
    pub jobs_unfinished: usize,
    /// True when the run stopped because nothing had progressed for the stall timeout.
    pub stalled: bool,
    pub containers_allocated: u64,
    pub am_containers_allocated: u64,
    pub containers_preempted: u64,
    pub preemption_requests: u64,
    /// Locality of task containers (AM containers ask for any node and are not counted).
    pub task_locality: LocalitySummary,
    /// From the ApplicationMaster's ask to the container's allocation.
    pub task_allocation_latency_ms: Percentiles,
    /// From the attempt's start (submission) to its AM container's allocation.
    pub am_allocation_latency_ms: Percentiles,
    /// From submission to the job's end, completed jobs only.
    pub job_completion_time_ms: Percentiles,
    pub utilization: UtilizationSummary,
    /// Events the scheduling core handled.
    pub scheduler_events: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocalitySummary {
    pub node_local: u64,
    pub rack_local: u64,
    pub off_switch: u64,
    pub node_local_fraction: f64,
    pub rack_local_fraction: f64,
    pub off_switch_fraction: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UtilizationSummary {
    /// Means over the samples up to the makespan.
    pub mean_memory_percent: f64,
    pub mean_vcores_percent: f64,
    pub peak_memory_percent: f64,
    pub peak_vcores_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueSummary {
    /// Full path (`root.default`).
    pub path: String,
    pub is_leaf: bool,
    /// Configured share of the parent, 0 to 1.
    pub capacity: f64,
    /// Product of the capacities from root down to it: its configured share of the cluster.
    pub absolute_capacity: f64,
    /// What the scheduler guarantees it (Capacity: its capacity; Fair: minResources).
    pub guaranteed_memory_mb: i64,
    pub guaranteed_vcores: i64,
    pub mean_used_memory_mb: f64,
    pub peak_used_memory_mb: i64,
    pub jobs_submitted: usize,
    pub jobs_completed: usize,
    /// Completed jobs' mean completion time in this queue.
    pub mean_job_completion_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    Completed,
    Rejected,
    Failed,
    Unfinished,
}

impl JobOutcome {
    pub fn name(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
            Self::Unfinished => "unfinished",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobResult {
    pub job_id: String,
    pub application_id: Option<String>,
    /// The queue the job asked for.
    pub queue: String,
    /// The leaf queue the scheduler placed it in.
    pub queue_path: Option<String>,
    pub user: String,
    pub outcome: JobOutcome,
    pub submitted_ms: i64,
    pub am_allocated_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    pub completion_time_ms: Option<i64>,
    /// How long the job took in the traced cluster (`job.end.ms - job.start.ms`), if known.
    pub trace_duration_ms: Option<i64>,
    pub tasks: usize,
    pub attempts: i32,
    pub diagnostics: String,
}

impl JobResult {
    /// Why it did not complete, with its own application id taken out so the same reason reads
    /// the same for every job (empty for completed jobs).
    pub fn reason(&self) -> String {
        match &self.application_id {
            Some(id) => self.diagnostics.replace(id.as_str(), "<application>"),
            None => self.diagnostics.clone(),
        }
    }
}

/// Samples every `interval_ms` of virtual time, from 0; every series has one value per sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeSeries {
    pub interval_ms: i64,
    pub cluster: Vec<ClusterSample>,
    pub queues: Vec<QueueSeries>,
    pub applications: Vec<ApplicationSeries>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterSample {
    pub time_ms: i64,
    pub total_memory_mb: i64,
    pub total_vcores: i64,
    pub allocated_memory_mb: i64,
    pub allocated_vcores: i64,
    pub memory_utilization_percent: f64,
    pub vcores_utilization_percent: f64,
    pub running_containers: usize,
    pub running_applications: usize,
    pub pending_containers: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueSeries {
    pub path: String,
    pub used_memory_mb: Vec<i64>,
    pub used_vcores: Vec<i64>,
    /// The scheduler's fair share (Fair: instantaneous; Capacity, FIFO: the guarantee).
    pub fair_share_memory_mb: Vec<i64>,
    /// Outstanding requests of the queue's applications.
    pub pending_memory_mb: Vec<i64>,
}

/// An application's allocation from its first sample while it ran to its last.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplicationSeries {
    pub application_id: String,
    pub job_id: String,
    pub queue_path: String,
    pub first_sample_ms: i64,
    pub memory_mb: Vec<i64>,
    pub vcores: Vec<i64>,
    pub containers: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerRecord {
    pub container_id: String,
    pub job_id: String,
    pub node: String,
    pub is_am: bool,
    /// `NODE_LOCAL`, `RACK_LOCAL` or `OFF_SWITCH`.
    pub locality: &'static str,
    pub memory_mb: i64,
    pub vcores: i64,
    pub asked_ms: i64,
    pub allocated_ms: i64,
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    /// How it ended (`finished`, `preempted`, ...), empty while it ran at the end.
    pub end: &'static str,
}
