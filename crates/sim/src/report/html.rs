//! The self-contained HTML report: headline figures, then utilization, containers, per-queue
//! allocation against guaranteed shares, allocation latency percentiles, job completion
//! times and locality as inline SVG, then queue and job tables. No script, no network.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::svg::{
    bar_chart, color, escape, format_number, histogram, line_chart, BarGroup, LineChart, Series,
};
use crate::metrics::{JobOutcome, Percentiles, SimulationReport};

/// Queues drawn one by one in the per-queue chart; the rest are summed as "other queues".
const QUEUES_DRAWN: usize = 8;
/// Jobs listed in the HTML table (jobs.csv has all of them).
const JOBS_LISTED: usize = 300;

pub(crate) const STYLE: &str = "body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1100px}\
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}\
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:150px}\
.card .value{font-size:20px;font-weight:bold}.card .label{font-size:12px;color:#666}\
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}\
th{background:#f4f4f4}td.name,th.name{text-align:left}.chart{display:block;margin:10px 0}\
.muted{color:#666;font-size:12px}";

pub(crate) fn report_html(report: &SimulationReport) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Spindle scheduler simulation</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        html,
        "<h1>Spindle scheduler simulation</h1><p class=\"muted\">{} &middot; scheduler <b>{}</b> ({}) &middot; {} nodes in {} racks, {} MB / {} vcores &middot; {} jobs, {} tasks</p>",
        escape(&report.workload.description),
        escape(&report.scheduler.policy),
        escape(&report.scheduler.class_name),
        report.workload.nodes,
        report.workload.racks,
        report.workload.total_memory_mb,
        report.workload.total_vcores,
        report.workload.jobs,
        report.workload.tasks
    );
    headline_cards(&mut html, report);
    html.push_str("<h2>Cluster utilization</h2>");
    html.push_str(&utilization_chart(report));
    html.push_str(&containers_chart(report));
    html.push_str("<h2>Allocation per queue</h2>");
    html.push_str(&queue_chart(report));
    queue_table(&mut html, report);
    html.push_str("<h2>Allocation latency</h2><p class=\"muted\">From the ApplicationMaster's ask (or, for AM containers, the attempt's submission) to the scheduler's allocation, in virtual milliseconds.</p>");
    html.push_str(&latency_chart(report));
    percentile_table(&mut html, report);
    html.push_str("<h2>Job completion time</h2>");
    let completion: Vec<i64> = report
        .jobs
        .iter()
        .filter_map(|job| job.completion_time_ms)
        .collect();
    html.push_str(&histogram(
        "Job completion time distribution",
        &completion,
        30,
    ));
    html.push_str("<h2>Locality</h2>");
    html.push_str(&locality_chart(report));
    problems(&mut html, report);
    jobs_table(&mut html, report);
    html.push_str("<p class=\"muted\">Data: report.json, summary.json, cluster.csv, queues.csv, applications.csv, jobs.csv, containers.csv, latency_percentiles.csv.</p></body></html>\n");
    html
}

fn card(html: &mut String, value: &str, label: &str) {
    let _ = write!(
        html,
        "<div class=\"card\"><div class=\"value\">{}</div><div class=\"label\">{}</div></div>",
        escape(value),
        escape(label)
    );
}

fn headline_cards(html: &mut String, report: &SimulationReport) {
    let summary = &report.summary;
    html.push_str("<div class=\"cards\">");
    card(
        html,
        &format!("{} / {}", summary.jobs_completed, report.workload.jobs),
        "jobs completed",
    );
    if summary.jobs_rejected + summary.jobs_failed + summary.jobs_unfinished > 0 {
        card(
            html,
            &format!(
                "{} / {} / {}",
                summary.jobs_rejected, summary.jobs_failed, summary.jobs_unfinished
            ),
            "rejected / failed / unfinished",
        );
    }
    card(
        html,
        &duration_text(summary.makespan_ms),
        "makespan (virtual)",
    );
    card(
        html,
        &format!(
            "{}% / {}%",
            format_number(summary.utilization.mean_memory_percent),
            format_number(summary.utilization.mean_vcores_percent)
        ),
        "mean memory / vcores utilization",
    );
    card(
        html,
        &format!(
            "{} / {} ms",
            summary.task_allocation_latency_ms.p50, summary.task_allocation_latency_ms.p99
        ),
        "task allocation latency p50 / p99",
    );
    card(
        html,
        &format!(
            "{} / {} ms",
            summary.am_allocation_latency_ms.p50, summary.am_allocation_latency_ms.p99
        ),
        "AM allocation latency p50 / p99",
    );
    card(
        html,
        &format!(
            "{}%",
            format_number(summary.task_locality.node_local_fraction * 100.0)
        ),
        "node-local task containers",
    );
    card(
        html,
        &duration_text(summary.job_completion_time_ms.p50),
        "median job completion",
    );
    card(
        html,
        &summary.containers_preempted.to_string(),
        "containers preempted",
    );
    html.push_str("</div>");
}

/// `95 ms`, `12.5 s`, `3.2 min`, `1.5 h`.
fn duration_text(ms: i64) -> String {
    let ms_f = ms as f64;
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 120_000 {
        format!("{} s", format_number((ms_f / 100.0).round() / 10.0))
    } else if ms < 7_200_000 {
        format!("{} min", format_number((ms_f / 6_000.0).round() / 10.0))
    } else {
        format!("{} h", format_number((ms_f / 360_000.0).round() / 10.0))
    }
}

fn utilization_chart(report: &SimulationReport) -> String {
    let samples = &report.time_series.cluster;
    let series =
        |name: &str, index: usize, value: fn(&crate::metrics::ClusterSample) -> f64| Series {
            name: name.to_string(),
            points: samples
                .iter()
                .map(|sample| (sample.time_ms as f64, value(sample)))
                .collect(),
            color: color(index),
            dashed: false,
        };
    line_chart(&LineChart {
        title: "Cluster utilization over time".into(),
        y_label: "% of cluster".into(),
        series: vec![
            series("memory", 0, |sample| sample.memory_utilization_percent),
            series("vcores", 1, |sample| sample.vcores_utilization_percent),
        ],
        y_max: Some(100.0),
    })
}

fn containers_chart(report: &SimulationReport) -> String {
    let samples = &report.time_series.cluster;
    let series =
        |name: &str, index: usize, value: fn(&crate::metrics::ClusterSample) -> usize| Series {
            name: name.to_string(),
            points: samples
                .iter()
                .map(|sample| (sample.time_ms as f64, value(sample) as f64))
                .collect(),
            color: color(index),
            dashed: false,
        };
    line_chart(&LineChart {
        title: "Containers running and waiting".into(),
        y_label: "containers".into(),
        series: vec![
            series("running", 0, |sample| sample.running_containers),
            series("pending asks", 1, |sample| sample.pending_containers),
            series("running apps", 2, |sample| sample.running_applications),
        ],
        y_max: None,
    })
}

/// Leaf queues' allocated memory over time, the busiest drawn one by one with their
/// guaranteed share (Fair: fair share) dashed, the rest summed.
fn queue_chart(report: &SimulationReport) -> String {
    let times: Vec<f64> = report
        .time_series
        .cluster
        .iter()
        .map(|sample| sample.time_ms as f64)
        .collect();
    let mut leaves: Vec<(&crate::metrics::QueueSeries, i64, i64)> = report
        .time_series
        .queues
        .iter()
        .filter_map(|series| {
            let summary = report
                .queues
                .iter()
                .find(|queue| queue.path == series.path)?;
            summary.is_leaf.then_some((
                series,
                summary.peak_used_memory_mb,
                summary.guaranteed_memory_mb,
            ))
        })
        .collect();
    // Busiest first; ties by path, so the order never varies.
    leaves.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.path.cmp(&b.0.path)));
    let fair = report.scheduler.policy == "fair";
    let share_name = if fair { "fair share" } else { "guaranteed" };
    let mut series = Vec::new();
    for (index, (queue, _, guaranteed)) in leaves.iter().take(QUEUES_DRAWN).enumerate() {
        series.push(Series {
            name: queue.path.clone(),
            points: times
                .iter()
                .zip(&queue.used_memory_mb)
                .map(|(&time, &used)| (time, used as f64))
                .collect(),
            color: color(index),
            dashed: false,
        });
        if leaves.len() > 1 {
            // The Fair Scheduler's share moves with demand; the others' guarantee is fixed.
            let points = if fair {
                times
                    .iter()
                    .zip(&queue.fair_share_memory_mb)
                    .map(|(&time, &share)| (time, share as f64))
                    .collect()
            } else {
                vec![
                    (0.0, *guaranteed as f64),
                    (times.last().copied().unwrap_or(0.0), *guaranteed as f64),
                ]
            };
            series.push(Series {
                name: format!("{} {share_name}", queue.path),
                points,
                color: color(index),
                dashed: true,
            });
        }
    }
    if leaves.len() > QUEUES_DRAWN {
        let rest = &leaves[QUEUES_DRAWN..];
        series.push(Series {
            name: format!("{} other queues", rest.len()),
            points: times
                .iter()
                .enumerate()
                .map(|(index, &time)| {
                    let sum: i64 = rest
                        .iter()
                        .map(|(queue, _, _)| queue.used_memory_mb.get(index).copied().unwrap_or(0))
                        .sum();
                    (time, sum as f64)
                })
                .collect(),
            color: "#555555",
            dashed: false,
        });
    }
    let total = report.workload.total_memory_mb as f64;
    line_chart(&LineChart {
        title: format!("Allocated memory per leaf queue (dashed: {share_name})"),
        y_label: "memory (MB)".into(),
        series,
        y_max: Some(if total > 0.0 { total } else { 1.0 }),
    })
}

fn queue_table(html: &mut String, report: &SimulationReport) {
    html.push_str("<table><tr><th class=\"name\">queue</th><th>capacity</th><th>absolute capacity</th><th>guaranteed MB</th><th>mean used MB</th><th>peak used MB</th><th>jobs</th><th>completed</th><th>mean completion</th></tr>");
    for queue in &report.queues {
        let _ = write!(
            html,
            "<tr><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&queue.path),
            format_number(queue.capacity),
            format_number(queue.absolute_capacity),
            queue.guaranteed_memory_mb,
            format_number(queue.mean_used_memory_mb.round()),
            queue.peak_used_memory_mb,
            queue.jobs_submitted,
            queue.jobs_completed,
            duration_text(queue.mean_job_completion_ms.round() as i64)
        );
    }
    html.push_str("</table>");
}

fn latency_chart(report: &SimulationReport) -> String {
    let summary = &report.summary;
    let task = summary.task_allocation_latency_ms.points();
    let categories: Vec<&str> = task.iter().map(|(label, _)| *label).collect();
    let longest = summary
        .task_allocation_latency_ms
        .max
        .max(summary.am_allocation_latency_ms.max);
    let (divisor, unit) = if longest >= 10_000 {
        (1000.0, "seconds")
    } else {
        (1.0, "milliseconds")
    };
    let group = |name: &str, percentiles: &Percentiles| BarGroup {
        name: name.to_string(),
        values: percentiles
            .points()
            .iter()
            .map(|(_, value)| *value as f64 / divisor)
            .collect(),
    };
    bar_chart(
        "Allocation latency percentiles",
        unit,
        &categories,
        &[
            group("task containers", &summary.task_allocation_latency_ms),
            group("AM containers", &summary.am_allocation_latency_ms),
        ],
    )
}

fn percentile_table(html: &mut String, report: &SimulationReport) {
    html.push_str("<table><tr><th class=\"name\">measure (ms)</th><th>count</th><th>mean</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th></tr>");
    let summary = &report.summary;
    for (name, percentiles) in [
        (
            "task allocation latency",
            &summary.task_allocation_latency_ms,
        ),
        ("AM allocation latency", &summary.am_allocation_latency_ms),
        ("job completion time", &summary.job_completion_time_ms),
    ] {
        let _ = write!(
            html,
            "<tr><td class=\"name\">{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            percentiles.count,
            format_number(percentiles.mean),
            percentiles.p50,
            percentiles.p90,
            percentiles.p95,
            percentiles.p99,
            percentiles.p999,
            percentiles.max
        );
    }
    html.push_str("</table>");
}

fn locality_chart(report: &SimulationReport) -> String {
    let locality = &report.summary.task_locality;
    bar_chart(
        "Task containers by locality",
        "% of task containers",
        &["node-local", "rack-local", "off-switch"],
        &[BarGroup {
            name: "task containers".into(),
            values: vec![
                locality.node_local_fraction * 100.0,
                locality.rack_local_fraction * 100.0,
                locality.off_switch_fraction * 100.0,
            ],
        }],
    )
}

/// Why jobs did not complete, grouped by message.
fn problems(html: &mut String, report: &SimulationReport) {
    let mut reasons: BTreeMap<(&str, String), usize> = BTreeMap::new();
    for job in &report.jobs {
        if job.outcome != JobOutcome::Completed {
            let reason = if job.diagnostics.is_empty() {
                "still running when the simulation stopped".to_string()
            } else {
                job.reason()
            };
            *reasons.entry((job.outcome.name(), reason)).or_insert(0) += 1;
        }
    }
    if reasons.is_empty() {
        return;
    }
    html.push_str("<h2>Jobs that did not complete</h2><table><tr><th class=\"name\">outcome</th><th class=\"name\">reason</th><th>jobs</th></tr>");
    for ((outcome, reason), count) in reasons {
        let _ = write!(
            html,
            "<tr><td class=\"name\">{outcome}</td><td class=\"name\">{}</td><td>{count}</td></tr>",
            escape(&reason)
        );
    }
    html.push_str("</table>");
}

fn jobs_table(html: &mut String, report: &SimulationReport) {
    let _ = write!(
        html,
        "<h2>Jobs</h2><p class=\"muted\">{}</p>",
        if report.jobs.len() > JOBS_LISTED {
            format!(
                "The first {JOBS_LISTED} of {} jobs; jobs.csv lists all.",
                report.jobs.len()
            )
        } else {
            "Times in virtual milliseconds from the first submission.".to_string()
        }
    );
    html.push_str("<table><tr><th class=\"name\">job</th><th class=\"name\">application</th><th class=\"name\">queue</th><th class=\"name\">user</th><th class=\"name\">outcome</th><th>tasks</th><th>submitted</th><th>AM allocated</th><th>finished</th><th>completion</th><th>in trace</th></tr>");
    let text = |value: Option<i64>| value.map(|value| value.to_string()).unwrap_or_default();
    for job in report.jobs.iter().take(JOBS_LISTED) {
        let _ = write!(
            html,
            "<tr><td class=\"name\">{}</td><td class=\"name\">{}</td><td class=\"name\">{}</td><td class=\"name\">{}</td><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&job.job_id),
            escape(job.application_id.as_deref().unwrap_or("")),
            escape(job.queue_path.as_deref().unwrap_or(&job.queue)),
            escape(&job.user),
            job.outcome.name(),
            job.tasks,
            job.submitted_ms,
            text(job.am_allocated_ms),
            text(job.finished_ms),
            text(job.completion_time_ms),
            text(job.trace_duration_ms)
        );
    }
    html.push_str("</table>");
}
