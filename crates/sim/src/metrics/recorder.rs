//! Collects what happens during a run: samples of the cluster, queues and applications at a
//! fixed virtual interval, allocation latencies, locality, preemptions and container records.

use std::collections::BTreeMap;

use spindle_scheduler::{CompletionReason, Locality};

use super::model::{ApplicationSeries, ClusterSample, ContainerRecord, QueueSeries};
use super::percentiles::round3;

/// An application's allocation at one sample.
pub(crate) struct ApplicationSample {
    pub(crate) job: usize,
    pub(crate) memory_mb: i64,
    pub(crate) vcores: i64,
    pub(crate) containers: usize,
}

/// A queue at one sample.
pub(crate) struct QueueSample {
    pub(crate) path: String,
    pub(crate) used_memory_mb: i64,
    pub(crate) used_vcores: i64,
    pub(crate) fair_share_memory_mb: i64,
    pub(crate) pending_memory_mb: i64,
}

pub(crate) struct Recorder {
    pub(crate) interval_ms: i64,
    next_sample_ms: i64,
    pub(crate) cluster: Vec<ClusterSample>,
    queues: BTreeMap<String, QueueSeries>,
    applications: BTreeMap<usize, ApplicationSeries>,
    pub(crate) task_latencies_ms: Vec<i64>,
    pub(crate) am_latencies_ms: Vec<i64>,
    /// Task containers by locality: node-local, rack-local, off-switch.
    pub(crate) task_locality: [u64; 3],
    pub(crate) containers_allocated: u64,
    pub(crate) am_containers_allocated: u64,
    pub(crate) containers_preempted: u64,
    pub(crate) preemption_requests: u64,
    pub(crate) containers: Vec<ContainerRecord>,
}

impl Recorder {
    pub(crate) fn new(interval_ms: i64) -> Self {
        Self {
            interval_ms: interval_ms.max(1),
            next_sample_ms: 0,
            cluster: Vec::new(),
            queues: BTreeMap::new(),
            applications: BTreeMap::new(),
            task_latencies_ms: Vec::new(),
            am_latencies_ms: Vec::new(),
            task_locality: [0; 3],
            containers_allocated: 0,
            am_containers_allocated: 0,
            containers_preempted: 0,
            preemption_requests: 0,
            containers: Vec::new(),
        }
    }

    /// The next sample time strictly before `time_ms`, if one is due: samples reflect every
    /// event up to and including their own time.
    pub(crate) fn sample_due_before(&self, time_ms: i64) -> Option<i64> {
        (self.next_sample_ms < time_ms).then_some(self.next_sample_ms)
    }

    pub(crate) fn next_sample_ms(&self) -> i64 {
        self.next_sample_ms
    }

    /// Records one sample at the time [`Recorder::sample_due_before`] gave.
    pub(crate) fn record_sample(
        &mut self,
        mut cluster: ClusterSample,
        queues: Vec<QueueSample>,
        applications: Vec<ApplicationSample>,
        application_names: impl Fn(usize) -> (String, String, String),
    ) {
        let index = self.cluster.len();
        cluster.time_ms = self.next_sample_ms;
        cluster.memory_utilization_percent =
            percent(cluster.allocated_memory_mb, cluster.total_memory_mb);
        cluster.vcores_utilization_percent =
            percent(cluster.allocated_vcores, cluster.total_vcores);
        self.cluster.push(cluster);
        for queue in queues {
            let series = self
                .queues
                .entry(queue.path.clone())
                .or_insert_with(|| QueueSeries {
                    path: queue.path,
                    used_memory_mb: vec![0; index],
                    used_vcores: vec![0; index],
                    fair_share_memory_mb: vec![0; index],
                    pending_memory_mb: vec![0; index],
                });
            series.used_memory_mb.push(queue.used_memory_mb);
            series.used_vcores.push(queue.used_vcores);
            series.fair_share_memory_mb.push(queue.fair_share_memory_mb);
            series.pending_memory_mb.push(queue.pending_memory_mb);
        }
        for series in self.queues.values_mut() {
            // A queue missing from this sample (removed, or not yet created) used nothing.
            series.used_memory_mb.resize(index + 1, 0);
            series.used_vcores.resize(index + 1, 0);
            series.fair_share_memory_mb.resize(index + 1, 0);
            series.pending_memory_mb.resize(index + 1, 0);
        }
        let time_ms = self.next_sample_ms;
        for sample in applications {
            let series = self.applications.entry(sample.job).or_insert_with(|| {
                let (application_id, job_id, queue_path) = application_names(sample.job);
                ApplicationSeries {
                    application_id,
                    job_id,
                    queue_path,
                    first_sample_ms: time_ms,
                    memory_mb: Vec::new(),
                    vcores: Vec::new(),
                    containers: Vec::new(),
                }
            });
            series.memory_mb.push(sample.memory_mb);
            series.vcores.push(sample.vcores);
            series.containers.push(sample.containers);
        }
        self.next_sample_ms += self.interval_ms;
    }

    pub(crate) fn task_allocated(&mut self, latency_ms: i64, locality: Locality) {
        self.containers_allocated += 1;
        self.task_latencies_ms.push(latency_ms);
        let slot = match locality {
            Locality::NodeLocal => 0,
            Locality::RackLocal => 1,
            Locality::OffSwitch => 2,
        };
        self.task_locality[slot] += 1;
    }

    pub(crate) fn am_allocated(&mut self, latency_ms: i64) {
        self.containers_allocated += 1;
        self.am_containers_allocated += 1;
        self.am_latencies_ms.push(latency_ms);
    }

    pub(crate) fn container_completed(&mut self, reason: CompletionReason) {
        if reason == CompletionReason::Preempted {
            self.containers_preempted += 1;
        }
    }

    /// The queue and application series recorded so far, in path and submission order.
    pub(crate) fn take_series(&mut self) -> (Vec<QueueSeries>, Vec<ApplicationSeries>) {
        (
            std::mem::take(&mut self.queues).into_values().collect(),
            std::mem::take(&mut self.applications)
                .into_values()
                .collect(),
        )
    }
}

/// `part` as a percentage of `whole`, rounded to 3 decimals (0 for an empty whole).
pub(crate) fn percent(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        round3(part as f64 * 100.0 / whole as f64)
    }
}

/// How a container's end is written in reports.
pub(crate) fn completion_name(reason: CompletionReason) -> &'static str {
    match reason {
        CompletionReason::Finished => "finished",
        CompletionReason::ReleasedByApplication => "released",
        CompletionReason::NodeLost => "node_lost",
        CompletionReason::ApplicationCompleted => "application_completed",
        CompletionReason::Expired => "expired",
        CompletionReason::Preempted => "preempted",
    }
}
