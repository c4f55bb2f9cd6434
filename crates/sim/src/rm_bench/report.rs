//! Markdown summaries of whole-RM benchmark runs, as BENCHMARKS.md shows them.

use std::fmt::Write;

use super::rm_host::RmPlacement;
use super::scenario::RmBenchResult;
use super::submit_latency::SubmitBenchResult;
use crate::metrics::Percentiles;

/// `1234567.4` as `1,234,567`.
pub fn grouped(value: f64) -> String {
    let negative = value < 0.0;
    let digits = (value.abs().round() as u64).to_string();
    let mut text = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    if negative {
        format!("-{text}")
    } else {
        text
    }
}

/// Microseconds as milliseconds with two decimals.
fn ms(microseconds: i64) -> String {
    format!("{:.2}", microseconds as f64 / 1000.0)
}

fn latency(percentiles: &Percentiles) -> String {
    if percentiles.count == 0 {
        return "-".into();
    }
    format!(
        "p50 {} / p90 {} / p99 {} / max {} ms ({} calls)",
        ms(percentiles.p50),
        ms(percentiles.p90),
        ms(percentiles.p99),
        ms(percentiles.max),
        grouped(percentiles.count as f64)
    )
}

fn megabytes(bytes: Option<u64>) -> String {
    bytes.map_or("-".into(), |b| format!("{:.1} MB", b as f64 / 1048576.0))
}

fn bytes(value: Option<f64>) -> String {
    value.map_or("-".into(), |b| format!("{} B", grouped(b)))
}

/// A two-column table of one run.
pub fn rm_result_markdown(result: &RmBenchResult) -> String {
    let spec = &result.spec;
    let apps = &spec.applications;
    let mut rows: Vec<(&str, String)> = Vec::new();
    rows.push((
        "RM",
        match &spec.placement {
            RmPlacement::ChildProcess { .. } => format!(
                "child process, {} runtime threads, {} scheduler{}",
                spec.rm_worker_threads,
                spec.policy.name(),
                queues_text(result)
            ),
            RmPlacement::InProcess => format!(
                "in this process, {} runtime threads (RSS includes the load generator), {} scheduler{}",
                spec.rm_worker_threads,
                spec.policy.name(),
                queues_text(result)
            ),
        },
    ));
    rows.push((
        "nodes",
        format!(
            "{} task nodes of {} + {} AM nodes; heartbeat every {} ms; {} nodes per IPC connection",
            grouped(spec.nodes as f64),
            spec.node_capability,
            if apps.applications > 0 {
                spec.am_nodes
            } else {
                0
            },
            spec.heartbeat_interval.as_millis(),
            spec.nodes_per_connection
        ),
    ));
    rows.push(("applications", applications_text(result)));
    rows.push((
        "window",
        format!(
            "{:.1} s after {} s of warm-up",
            result.window_seconds,
            spec.warmup.as_secs()
        ),
    ));
    rows.push((
        "allocations",
        format!(
            "{} ({}/s)",
            grouped(result.ams.allocated as f64),
            grouped(result.allocations_per_second())
        ),
    ));
    rows.push((
        "allocate() calls",
        format!(
            "{}/s; {}",
            grouped(result.allocate_calls_per_second()),
            latency(&result.allocate_latency_us)
        ),
    ));
    rows.push((
        "NM heartbeats",
        format!(
            "{}/s; {}",
            grouped(result.heartbeats_per_second()),
            latency(&result.heartbeat_latency_us)
        ),
    ));
    if spec.report_pollers > 0 {
        rows.push((
            "getApplications (report pollers)",
            format!(
                "{} clients in a loop: {:.0}/s, {:.0} applications per reply; {}; {} errors",
                spec.report_pollers,
                result.report_latency_us.count as f64 / result.window_seconds.max(1e-9),
                result.applications_per_report,
                latency(&result.report_latency_us),
                result.report_errors
            ),
        ));
    }
    rows.push((
        "completions, releases",
        format!(
            "{} reported by NMs, {} reached AMs, {} released by AMs",
            grouped(result.nodes.completions_reported as f64),
            grouped(result.ams.completions_received as f64),
            grouped(result.ams.released as f64)
        ),
    ));
    rows.push((
        "RM CPU",
        match (result.rm_cpu_seconds, result.rm_cores()) {
            (Some(cpu), Some(cores)) => {
                let mut text = format!("{cpu:.2} s = {cores:.2} cores");
                if let Some(rate) = result.allocations_per_rm_cpu_second() {
                    let _ = write!(text, "; {} allocations per RM CPU-second", grouped(rate));
                }
                if let Some(per_heartbeat) = result.rm_cpu_us_per_heartbeat() {
                    let _ = write!(text, "; {per_heartbeat:.1} µs of RM CPU per heartbeat");
                }
                text
            }
            _ => "-".into(),
        },
    ));
    rows.push((
        "load generator CPU",
        result
            .load_cores()
            .map_or("-".into(), |cores| format!("{cores:.2} cores")),
    ));
    rows.push((
        "RM resident memory",
        format!(
            "started {}, after applications {}, after nodes {}, after containers {}",
            megabytes(result.memory.started),
            megabytes(result.memory.after_applications),
            megabytes(result.memory.after_nodes),
            megabytes(result.memory.after_containers)
        ),
    ));
    rows.push((
        "RM memory per application / node / container",
        format!(
            "{} / {} / {}",
            bytes(result.bytes_per_application()),
            bytes(result.bytes_per_node()),
            bytes(result.bytes_per_container())
        ),
    ));
    if let Some(seconds) = result.containers_placed_seconds {
        rows.push((
            "fixed containers",
            format!(
                "{} allocated in {seconds:.2} s",
                grouped(result.containers_placed as f64)
            ),
        ));
    }
    rows.push((
        "setup",
        format!(
            "{} applications submitted and registered in {:.2} s; {} nodes registered in {:.2} s",
            apps.applications,
            result.submit_seconds,
            grouped(spec.nodes as f64),
            result.node_registration_seconds
        ),
    ));
    let errors = &result.nodes_total;
    let am_errors = &result.ams_total;
    rows.push((
        "errors (whole run)",
        format!(
            "heartbeat {}, resync {}, allocate {}, AM failures {}, containers on unknown nodes {}",
            errors.heartbeat_errors,
            errors.resyncs,
            am_errors.allocate_errors,
            am_errors.failures,
            am_errors.unroutable
        ),
    ));
    let mut table = String::from("| measure | value |\n|---|---|\n");
    for (name, value) in rows {
        let _ = writeln!(table, "| {name} | {value} |");
    }
    table
}

fn queues_text(result: &RmBenchResult) -> String {
    match result.spec.policy {
        crate::bench::BenchPolicy::Fifo => String::new(),
        _ => format!(" with {} queues", result.spec.queues),
    }
}

fn applications_text(result: &RmBenchResult) -> String {
    let apps = &result.spec.applications;
    if apps.applications == 0 {
        return "none (NM heartbeats only)".into();
    }
    let behaviour = match apps.containers_per_am {
        Some(count) => format!("{count} containers each, running until the end"),
        None => format!(
            "{} asks kept outstanding each, tasks of {} ms, every {} released",
            apps.outstanding_asks,
            apps.task_duration.as_millis(),
            match apps.release_every {
                0 => "none".to_string(),
                n => format!("{n}th"),
            }
        ),
    };
    format!(
        "{} AMs ({} AM, {} containers); allocate every {} ms; {behaviour}",
        grouped(apps.applications as f64),
        apps.am_resource,
        apps.container,
        apps.allocate_interval.as_millis()
    )
}

/// The submit-latency distributions as a table (milliseconds).
pub fn submit_result_markdown(result: &SubmitBenchResult) -> String {
    let mut table = String::from(
        "| from submitApplication to | p50 ms | p90 ms | p99 ms | min ms | max ms | n |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let rows = [
        (
            "submit call returned (YarnClient: submit + 1 report)",
            &result.submit_returned_us,
        ),
        ("AM container allocated (RM)", &result.allocated_us),
        (
            "AM container launched (NM accepted startContainers)",
            &result.launched_us,
        ),
        (
            "AM process running (its first command)",
            &result.process_started_us,
        ),
    ];
    for (name, p) in rows {
        let _ = writeln!(
            table,
            "| {name} | {} | {} | {} | {} | {} | {} |",
            ms(p.p50),
            ms(p.p90),
            ms(p.p99),
            ms(p.min),
            ms(p.max),
            p.count
        );
    }
    let within = result
        .samples
        .iter()
        .filter(|s| s.allocated_within_call)
        .count();
    let _ = writeln!(
        table,
        "\n{within} of {} AM containers were already allocated when the submit call returned.",
        result.samples.len()
    );
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0.0), "0");
        assert_eq!(grouped(999.4), "999");
        assert_eq!(grouped(1000.0), "1,000");
        assert_eq!(grouped(1234567.6), "1,234,568");
        assert_eq!(grouped(-2500.0), "-2,500");
    }
}
