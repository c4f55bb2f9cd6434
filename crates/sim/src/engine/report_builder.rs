//! Turning a finished run into its [`SimulationReport`]: job results, queue summaries with
//! guaranteed shares, and the run's summary figures.

use std::collections::BTreeMap;

use super::applications::ApplicationPhase;
use super::Engine;
use crate::metrics::recorder::percent;
use crate::metrics::{
    round3, JobOutcome, JobResult, LocalitySummary, Percentiles, QueueSummary, RunSummary,
    SchedulerDescription, SimulationReport, TimeSeries, UtilizationSummary, WorkloadDescription,
};
use crate::scheduler_setup::SchedulerSetup;

impl Engine<'_> {
    pub(super) fn into_report(mut self, setup: &SchedulerSetup) -> SimulationReport {
        let jobs = self.job_results();
        let (queue_series, application_series) = self.recorder.take_series();
        let completed: Vec<&JobResult> = jobs
            .iter()
            .filter(|job| job.outcome == JobOutcome::Completed)
            .collect();
        let completion_times: Vec<i64> = completed
            .iter()
            .filter_map(|job| job.completion_time_ms)
            .collect();
        let makespan_ms = jobs
            .iter()
            .filter_map(|job| job.finished_ms)
            .max()
            .unwrap_or(0)
            .max(
                if jobs.iter().any(|job| job.outcome == JobOutcome::Unfinished) {
                    self.now_ms
                } else {
                    0
                },
            );
        let count = |outcome| jobs.iter().filter(|job| job.outcome == outcome).count();

        let queue_infos = self.scheduler.queue_infos();
        let capacities: BTreeMap<&str, f64> = queue_infos
            .iter()
            .map(|queue| (queue.path.as_str(), f64::from(queue.capacity)))
            .collect();
        let samples_in_run = self
            .recorder
            .cluster
            .iter()
            .take_while(|sample| sample.time_ms <= makespan_ms.max(0))
            .count()
            .max(1)
            .min(self.recorder.cluster.len());
        let mut queues = Vec::new();
        for series in &queue_series {
            let info = queue_infos.iter().find(|queue| queue.path == series.path);
            let absolute_capacity = absolute_capacity(&series.path, &capacities);
            let used = &series.used_memory_mb[..samples_in_run.min(series.used_memory_mb.len())];
            let in_queue: Vec<&JobResult> = jobs
                .iter()
                .filter(|job| job.queue_path.as_deref() == Some(series.path.as_str()))
                .collect();
            let queue_completion: Vec<i64> = in_queue
                .iter()
                .filter_map(|job| job.completion_time_ms)
                .collect();
            queues.push(QueueSummary {
                path: series.path.clone(),
                is_leaf: info.is_none_or(|queue| queue.children.is_empty()),
                capacity: round3(info.map_or(0.0, |queue| f64::from(queue.capacity))),
                absolute_capacity: round3(absolute_capacity),
                guaranteed_memory_mb: info.map_or(0, |queue| queue.guaranteed.memory_mb),
                guaranteed_vcores: info.map_or(0, |queue| queue.guaranteed.vcores),
                mean_used_memory_mb: round3(mean(used)),
                peak_used_memory_mb: series.used_memory_mb.iter().copied().max().unwrap_or(0),
                jobs_submitted: in_queue.len(),
                jobs_completed: queue_completion.len(),
                mean_job_completion_ms: round3(mean(&queue_completion)),
            });
        }

        let run_samples = &self.recorder.cluster[..samples_in_run];
        let memory: Vec<f64> = run_samples
            .iter()
            .map(|sample| sample.memory_utilization_percent)
            .collect();
        let vcores: Vec<f64> = run_samples
            .iter()
            .map(|sample| sample.vcores_utilization_percent)
            .collect();
        let [node_local, rack_local, off_switch] = self.recorder.task_locality;
        let task_containers = (node_local + rack_local + off_switch) as i64;
        let fraction = |part: u64| round3(percent(part as i64, task_containers) / 100.0);
        let summary = RunSummary {
            end_time_ms: self.now_ms,
            makespan_ms,
            jobs_completed: count(JobOutcome::Completed),
            jobs_rejected: count(JobOutcome::Rejected),
            jobs_failed: count(JobOutcome::Failed),
            jobs_unfinished: count(JobOutcome::Unfinished),
            stalled: self.stalled,
            containers_allocated: self.recorder.containers_allocated,
            am_containers_allocated: self.recorder.am_containers_allocated,
            containers_preempted: self.recorder.containers_preempted,
            preemption_requests: self.recorder.preemption_requests,
            task_locality: LocalitySummary {
                node_local,
                rack_local,
                off_switch,
                node_local_fraction: fraction(node_local),
                rack_local_fraction: fraction(rack_local),
                off_switch_fraction: fraction(off_switch),
            },
            task_allocation_latency_ms: Percentiles::of(&self.recorder.task_latencies_ms),
            am_allocation_latency_ms: Percentiles::of(&self.recorder.am_latencies_ms),
            job_completion_time_ms: Percentiles::of(&completion_times),
            utilization: UtilizationSummary {
                mean_memory_percent: round3(mean_f64(&memory)),
                mean_vcores_percent: round3(mean_f64(&vcores)),
                peak_memory_percent: memory.iter().copied().fold(0.0, f64::max),
                peak_vcores_percent: vcores.iter().copied().fold(0.0, f64::max),
            },
            scheduler_events: self.scheduler_events,
        };
        let total = self.workload.total_capability();
        SimulationReport {
            scheduler: SchedulerDescription {
                class_name: setup.class_name.clone(),
                policy: setup.policy_name().to_string(),
                files_read: setup
                    .files_read
                    .iter()
                    .map(|path| path.display().to_string())
                    .collect(),
            },
            workload: WorkloadDescription {
                description: self.workload.description.clone(),
                nodes: self.workload.nodes.len(),
                racks: self.workload.rack_count(),
                jobs: self.workload.jobs.len(),
                tasks: self.workload.task_count(),
                total_memory_mb: total.memory_mb,
                total_vcores: total.vcores,
            },
            settings: self.settings.clone(),
            summary,
            queues,
            jobs,
            time_series: TimeSeries {
                interval_ms: self.recorder.interval_ms,
                cluster: std::mem::take(&mut self.recorder.cluster),
                queues: queue_series,
                applications: application_series,
            },
            containers: std::mem::take(&mut self.recorder.containers),
        }
    }

    fn job_results(&self) -> Vec<JobResult> {
        self.workload
            .jobs
            .iter()
            .zip(&self.applications)
            .map(|(spec, app)| {
                let outcome = match app.phase {
                    ApplicationPhase::Finished => JobOutcome::Completed,
                    ApplicationPhase::Rejected => JobOutcome::Rejected,
                    ApplicationPhase::Failed => JobOutcome::Failed,
                    ApplicationPhase::NotSubmitted
                    | ApplicationPhase::WaitingForAm
                    | ApplicationPhase::Running => JobOutcome::Unfinished,
                };
                let submitted_ms = spec.submit_ms - self.origin_ms;
                JobResult {
                    job_id: spec.job_id.clone(),
                    application_id: app.application.map(|id| id.to_string()),
                    queue: spec.queue.clone(),
                    queue_path: app.queue_path.clone(),
                    user: spec.user.clone(),
                    outcome,
                    submitted_ms,
                    am_allocated_ms: app.am_allocated_ms,
                    finished_ms: app.finished_ms,
                    completion_time_ms: (outcome == JobOutcome::Completed)
                        .then(|| app.finished_ms.map(|finished| finished - submitted_ms))
                        .flatten(),
                    trace_duration_ms: spec.trace_duration_ms(),
                    tasks: spec.tasks.len(),
                    attempts: app.attempt_number,
                    diagnostics: app.diagnostics.clone(),
                }
            })
            .collect()
    }
}

/// The share of the cluster a queue is guaranteed: its capacity times its parents'.
fn absolute_capacity(path: &str, capacities: &BTreeMap<&str, f64>) -> f64 {
    let mut share = 1.0;
    let mut prefix_end = 0;
    while prefix_end < path.len() {
        prefix_end = path[prefix_end..]
            .find('.')
            .map_or(path.len(), |dot| prefix_end + dot);
        share *= capacities.get(&path[..prefix_end]).copied().unwrap_or(1.0);
        prefix_end += 1;
    }
    share
}

fn mean(values: &[i64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().map(|&value| value as f64).sum::<f64>() / values.len() as f64
    }
}

fn mean_f64(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_capacity_multiplies_down_the_path() {
        let capacities = BTreeMap::from([
            ("root", 1.0),
            ("root.prod", 0.6),
            ("root.prod.etl", 0.5),
            ("root.dev", 0.4),
        ]);
        assert!((absolute_capacity("root.prod.etl", &capacities) - 0.3).abs() < 1e-9);
        assert!((absolute_capacity("root.dev", &capacities) - 0.4).abs() < 1e-9);
        assert_eq!(absolute_capacity("root", &capacities), 1.0);
    }
}
