//! The scaling report's files: scaling.json (everything), scaling.csv (one row per measured
//! point) and the self-contained scaling.html (one log-x plot per sweep, the figures, the
//! machine and the command), plus a markdown table for BENCHMARKS.md.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::{ScalingMeasurement, ScalingReport, SweepParameter};
use crate::bench::{nanos, thousands};
use crate::report::csv::Table;
use crate::report::html::STYLE;
use crate::report::svg::{color, escape, log_x_chart, LogXChart, Series};
use crate::report::{write_files, ReportError};

/// The report as pretty JSON.
pub fn scaling_json(report: &ScalingReport) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(report)?;
    text.push('\n');
    Ok(text)
}

/// One row per measured point; the first six columns are the curves' data.
pub fn scaling_csv(report: &ScalingReport) -> String {
    let mut table = Table::new(&[
        "sweep",
        "value",
        "policy",
        "allocations_per_cpu_second",
        "call_p50_ns",
        "call_p99_ns",
        "call_max_ns",
        "nodes",
        "queues",
        "applications",
        "pending_per_application",
        "churn_allocations",
        "allocations_per_wall_second",
    ]);
    for measurement in &report.measurements {
        let point = &measurement.point;
        table.row([
            measurement.sweep.name().to_string(),
            measurement.value.to_string(),
            measurement.policy.clone(),
            format!("{:.0}", measurement.allocations_per_cpu_second),
            measurement.call_p50_ns.to_string(),
            measurement.call_p99_ns.to_string(),
            measurement.call_max_ns.to_string(),
            point.nodes.to_string(),
            point.queues.to_string(),
            point.applications.to_string(),
            point.pending_per_application.to_string(),
            measurement.churn_allocations.to_string(),
            format!("{:.0}", measurement.allocations_per_wall_second),
        ]);
    }
    table.text
}

/// The measured points as a markdown table (for BENCHMARKS.md).
pub fn scaling_markdown(report: &ScalingReport) -> String {
    let mut table = String::from(
        "| sweep | policy | nodes | queues | apps | pending/app | churn allocs/CPU-s | call p50 | call p99 |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for measurement in &report.measurements {
        let point = &measurement.point;
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            measurement.sweep.name(),
            measurement.policy,
            thousands(point.nodes as f64),
            thousands(point.queues as f64),
            thousands(point.applications as f64),
            thousands(point.pending_per_application as f64),
            thousands(measurement.allocations_per_cpu_second),
            nanos(measurement.call_p50_ns),
            nanos(measurement.call_p99_ns),
        );
    }
    table
}

/// The HTML report: no script, no external assets.
pub fn scaling_html(report: &ScalingReport) -> String {
    let base = &report.base;
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Spindle scheduling core: scaling curves</title><style>{STYLE}</style></head><body>\
<h1>Spindle scheduling core: cost per allocation as the cluster grows</h1>\
<p class=\"muted\">Machine: {}<br>Command: <code>{}</code><br>Base point: {} nodes of {} MB / {} vcores, {} leaf queues (FIFO: 1), {} running applications, {} pending containers per application; {} timed container finishes per point.</p>",
        escape(&report.machine),
        escape(&report.command),
        thousands(base.nodes as f64),
        report.node_memory_mb,
        report.node_vcores,
        thousands(base.queues as f64),
        thousands(base.applications as f64),
        thousands(base.pending_per_application as f64),
        thousands(report.churn_finishes as f64),
    );
    html.push_str(
        "<p>Each plot varies one parameter (log scale) and keeps the others at the base point. \
A point is the steady state of a full cluster: the oldest container finishes and the scheduler \
gives the freed room to a pending request in the same <code>ContainerFinished</code> call, \
which is timed on its own; every application keeps its pending containers asked for. \
Solid lines are the median call, dashed lines the 99th percentile, one colour per scheduler. \
A flat line means the cost does not grow with that parameter; a line that bends upward is a \
cost that does.</p>",
    );
    for parameter in SweepParameter::ALL {
        let _ = write!(html, "<h2>{}</h2>", escape(&sweep_title(parameter)));
        let measurements: Vec<&ScalingMeasurement> = report
            .measurements
            .iter()
            .filter(|measurement| measurement.sweep == parameter)
            .collect();
        if measurements.is_empty() {
            html.push_str(
                "<p class=\"muted\">Not measured (the FIFO scheduler has exactly one queue).</p>",
            );
            continue;
        }
        let fixed: Vec<String> = SweepParameter::ALL
            .iter()
            .filter(|other| **other != parameter)
            .map(|other| {
                let value = thousands(report.base.value(*other) as f64);
                format!("{value} {}", other.axis_label())
            })
            .collect();
        let _ = write!(
            html,
            "<p class=\"muted\">The others at the base point: {}.</p>",
            escape(&fixed.join(", "))
        );
        html.push_str(&sweep_chart(parameter, &measurements));
    }
    html.push_str("<h2>Figures</h2>");
    figures_table(&mut html, report);
    html.push_str("<p class=\"muted\">Data: scaling.json, scaling.csv.</p></body></html>\n");
    html
}

fn sweep_title(parameter: SweepParameter) -> String {
    format!(
        "Cost per allocation vs. {}",
        match parameter {
            SweepParameter::Nodes => "number of nodes",
            SweepParameter::Queues => "number of leaf queues",
            SweepParameter::Applications => "running applications",
            SweepParameter::Pending => "pending containers per application",
        }
    )
}

/// One sweep's plot: per policy, the p50 (solid) and p99 (dashed) call in microseconds.
fn sweep_chart(parameter: SweepParameter, measurements: &[&ScalingMeasurement]) -> String {
    let mut policies: Vec<&str> = Vec::new();
    for measurement in measurements {
        if !policies.contains(&measurement.policy.as_str()) {
            policies.push(&measurement.policy);
        }
    }
    let mut series = Vec::new();
    for (index, policy) in policies.iter().enumerate() {
        let of_policy: Vec<&&ScalingMeasurement> = measurements
            .iter()
            .filter(|measurement| measurement.policy == *policy)
            .collect();
        for (percentile, dashed) in [("p50", false), ("p99", true)] {
            series.push(Series {
                name: format!("{policy} {percentile}"),
                points: of_policy
                    .iter()
                    .map(|measurement| {
                        let nanoseconds = if dashed {
                            measurement.call_p99_ns
                        } else {
                            measurement.call_p50_ns
                        };
                        (measurement.value as f64, nanoseconds as f64 / 1000.0)
                    })
                    .collect(),
                color: color(index),
                dashed,
            });
        }
    }
    log_x_chart(&LogXChart {
        title: sweep_title(parameter),
        x_label: format!("{} (log scale)", parameter.axis_label()),
        y_label: "cost per allocation (µs)".to_string(),
        series,
    })
}

fn figures_table(html: &mut String, report: &ScalingReport) {
    html.push_str(
        "<table><tr><th class=\"name\">sweep</th><th class=\"name\">policy</th><th>nodes</th><th>queues</th><th>applications</th><th>pending/app</th><th>allocations/CPU-s</th><th>call p50</th><th>call p99</th><th>call max</th></tr>",
    );
    for measurement in &report.measurements {
        let point = &measurement.point;
        let _ = write!(
            html,
            "<tr><td class=\"name\">{}</td><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            measurement.sweep.name(),
            escape(&measurement.policy),
            thousands(point.nodes as f64),
            thousands(point.queues as f64),
            thousands(point.applications as f64),
            thousands(point.pending_per_application as f64),
            thousands(measurement.allocations_per_cpu_second),
            escape(&nanos(measurement.call_p50_ns)),
            escape(&nanos(measurement.call_p99_ns)),
            escape(&nanos(measurement.call_max_ns)),
        );
    }
    html.push_str("</table>");
}

/// Writes scaling.json, scaling.csv and scaling.html into `out_dir` (created if missing).
pub fn write_scaling_report(
    report: &ScalingReport,
    out_dir: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    write_files(
        out_dir,
        [
            ("scaling.json", scaling_json(report)?),
            ("scaling.csv", scaling_csv(report)),
            ("scaling.html", scaling_html(report)),
        ],
    )
}
