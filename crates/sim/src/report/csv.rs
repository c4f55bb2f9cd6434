//! The report's CSV files: jobs, cluster and queue and application time series, containers,
//! and latency percentiles. One header row, RFC 4180 quoting.

use std::fmt::Write;

use crate::metrics::{Percentiles, SimulationReport};

/// A CSV table being written.
pub(crate) struct Table {
    pub(crate) text: String,
}

impl Table {
    pub(crate) fn new(header: &[&str]) -> Self {
        let mut table = Self {
            text: String::new(),
        };
        table.row(header.iter().map(|name| name.to_string()));
        table
    }

    pub(crate) fn row(&mut self, fields: impl IntoIterator<Item = String>) {
        for (index, field) in fields.into_iter().enumerate() {
            if index > 0 {
                self.text.push(',');
            }
            if field.contains([',', '"', '\n', '\r']) {
                let _ = write!(self.text, "\"{}\"", field.replace('"', "\"\""));
            } else {
                self.text.push_str(&field);
            }
        }
        self.text.push('\n');
    }
}

fn optional(value: Option<i64>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

pub(crate) fn jobs_csv(report: &SimulationReport) -> String {
    let mut table = Table::new(&[
        "job_id",
        "application_id",
        "queue",
        "queue_path",
        "user",
        "outcome",
        "submitted_ms",
        "am_allocated_ms",
        "finished_ms",
        "completion_time_ms",
        "trace_duration_ms",
        "tasks",
        "attempts",
        "diagnostics",
    ]);
    for job in &report.jobs {
        table.row([
            job.job_id.clone(),
            job.application_id.clone().unwrap_or_default(),
            job.queue.clone(),
            job.queue_path.clone().unwrap_or_default(),
            job.user.clone(),
            job.outcome.name().to_string(),
            job.submitted_ms.to_string(),
            optional(job.am_allocated_ms),
            optional(job.finished_ms),
            optional(job.completion_time_ms),
            optional(job.trace_duration_ms),
            job.tasks.to_string(),
            job.attempts.to_string(),
            job.diagnostics.clone(),
        ]);
    }
    table.text
}

pub(crate) fn cluster_csv(report: &SimulationReport) -> String {
    let mut table = Table::new(&[
        "time_ms",
        "total_memory_mb",
        "total_vcores",
        "allocated_memory_mb",
        "allocated_vcores",
        "memory_utilization_percent",
        "vcores_utilization_percent",
        "running_containers",
        "running_applications",
        "pending_containers",
    ]);
    for sample in &report.time_series.cluster {
        table.row([
            sample.time_ms.to_string(),
            sample.total_memory_mb.to_string(),
            sample.total_vcores.to_string(),
            sample.allocated_memory_mb.to_string(),
            sample.allocated_vcores.to_string(),
            sample.memory_utilization_percent.to_string(),
            sample.vcores_utilization_percent.to_string(),
            sample.running_containers.to_string(),
            sample.running_applications.to_string(),
            sample.pending_containers.to_string(),
        ]);
    }
    table.text
}

/// Long format: one row per sample and queue, with its fair share, pending requests and
/// guaranteed share.
pub(crate) fn queues_csv(report: &SimulationReport) -> String {
    let mut table = Table::new(&[
        "time_ms",
        "queue",
        "used_memory_mb",
        "used_vcores",
        "fair_share_memory_mb",
        "pending_memory_mb",
        "guaranteed_memory_mb",
        "guaranteed_vcores",
    ]);
    let at = |values: &[i64], index: usize| values.get(index).copied().unwrap_or(0).to_string();
    for series in &report.time_series.queues {
        let summary = report.queues.iter().find(|queue| queue.path == series.path);
        let guaranteed_memory = summary.map_or(0, |queue| queue.guaranteed_memory_mb);
        let guaranteed_vcores = summary.map_or(0, |queue| queue.guaranteed_vcores);
        for (index, sample) in report.time_series.cluster.iter().enumerate() {
            table.row([
                sample.time_ms.to_string(),
                series.path.clone(),
                at(&series.used_memory_mb, index),
                at(&series.used_vcores, index),
                at(&series.fair_share_memory_mb, index),
                at(&series.pending_memory_mb, index),
                guaranteed_memory.to_string(),
                guaranteed_vcores.to_string(),
            ]);
        }
    }
    table.text
}

/// Long format: one row per sample of each application while it ran.
pub(crate) fn applications_csv(report: &SimulationReport) -> String {
    let mut table = Table::new(&[
        "time_ms",
        "application_id",
        "job_id",
        "queue",
        "memory_mb",
        "vcores",
        "containers",
    ]);
    let interval = report.time_series.interval_ms;
    for series in &report.time_series.applications {
        for (index, memory) in series.memory_mb.iter().enumerate() {
            table.row([
                (series.first_sample_ms + index as i64 * interval).to_string(),
                series.application_id.clone(),
                series.job_id.clone(),
                series.queue_path.clone(),
                memory.to_string(),
                series.vcores[index].to_string(),
                series.containers[index].to_string(),
            ]);
        }
    }
    table.text
}

pub(crate) fn containers_csv(report: &SimulationReport) -> String {
    let mut table = Table::new(&[
        "container_id",
        "job_id",
        "node",
        "is_am",
        "locality",
        "memory_mb",
        "vcores",
        "asked_ms",
        "allocated_ms",
        "allocation_latency_ms",
        "started_ms",
        "finished_ms",
        "end",
    ]);
    for container in &report.containers {
        table.row([
            container.container_id.clone(),
            container.job_id.clone(),
            container.node.clone(),
            container.is_am.to_string(),
            container.locality.to_string(),
            container.memory_mb.to_string(),
            container.vcores.to_string(),
            container.asked_ms.to_string(),
            container.allocated_ms.to_string(),
            (container.allocated_ms - container.asked_ms).to_string(),
            optional(container.started_ms),
            optional(container.finished_ms),
            container.end.to_string(),
        ]);
    }
    table.text
}

pub(crate) fn latency_csv(report: &SimulationReport) -> String {
    let mut table = Table::new(&[
        "measure", "count", "mean_ms", "min_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms",
        "p99.9_ms", "max_ms",
    ]);
    let summary = &report.summary;
    let rows: [(&str, &Percentiles); 3] = [
        (
            "task_allocation_latency",
            &summary.task_allocation_latency_ms,
        ),
        ("am_allocation_latency", &summary.am_allocation_latency_ms),
        ("job_completion_time", &summary.job_completion_time_ms),
    ];
    for (measure, percentiles) in rows {
        table.row([
            measure.to_string(),
            percentiles.count.to_string(),
            percentiles.mean.to_string(),
            percentiles.min.to_string(),
            percentiles.p50.to_string(),
            percentiles.p90.to_string(),
            percentiles.p95.to_string(),
            percentiles.p99.to_string(),
            percentiles.p999.to_string(),
            percentiles.max.to_string(),
        ]);
    }
    table.text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_commas_and_quotes_are_quoted() {
        let mut table = Table::new(&["a", "b"]);
        table.row(["x,y".to_string(), "say \"hi\"".to_string()]);
        assert_eq!(table.text, "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n");
    }
}
