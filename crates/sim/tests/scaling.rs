//! The scaling sweeps end to end in quick mode: the three files are written, the HTML has one
//! plot per sweep with a marker for every measured point, the CSV reads back row for row, and
//! the JSON round-trips. Timing is never asserted.

use spindle_sim::bench::BenchPolicy;
use spindle_sim::scaling::{
    run_scaling, scaling_html, write_scaling_report, ScalingReport, ScalingSpec, SweepParameter,
};

fn quick_report(policies: Vec<BenchPolicy>) -> ScalingReport {
    let spec = ScalingSpec::quick(policies);
    let mut runs = 0;
    let report = run_scaling(&spec, "spindle bench scaling --quick", |_, _| runs += 1)
        .expect("the quick sweeps run");
    let planned = spec.planned_points().len();
    assert_eq!(report.measurements.len(), planned);
    assert!(
        runs < planned,
        "the base point is shared by the sweeps, so it runs once per policy"
    );
    report
}

/// The SVG of each sweep, in the order of the report.
fn charts(html: &str) -> Vec<&str> {
    html.split("<svg")
        .skip(1)
        .map(|rest| rest.split("</svg>").next().unwrap())
        .collect()
}

#[test]
fn quick_sweeps_write_json_csv_and_html_with_a_plot_per_sweep() {
    let report = quick_report(vec![BenchPolicy::Capacity, BenchPolicy::Fair]);
    for measurement in &report.measurements {
        assert_eq!(
            measurement.churn_allocations, measurement.churn_finishes,
            "with a fixed backlog every finish is followed by an allocation: {measurement:?}"
        );
        assert!(measurement.call_p50_ns <= measurement.call_p99_ns);
    }
    let out = tempfile::tempdir().unwrap();
    let written = write_scaling_report(&report, out.path()).unwrap();
    assert_eq!(written.len(), 3);

    let html = std::fs::read_to_string(out.path().join("scaling.html")).unwrap();
    let charts = charts(&html);
    assert_eq!(
        charts.len(),
        SweepParameter::ALL.len(),
        "one plot per sweep"
    );
    for (parameter, chart) in SweepParameter::ALL.iter().zip(&charts) {
        let measured = report
            .measurements
            .iter()
            .filter(|measurement| measurement.sweep == *parameter)
            .count();
        assert_eq!(
            chart.matches("<circle class=\"point\"").count(),
            2 * measured,
            "a p50 and a p99 marker per measured point of the {} sweep",
            parameter.name()
        );
        assert!(chart.contains("(log scale)"));
        assert!(chart.contains("capacity p99") && chart.contains("fair p50"));
    }
    assert!(html.contains(&report.machine));
    assert!(html.contains("spindle bench scaling --quick"));
    assert!(
        !html.contains("<script") && !html.contains("http") && !html.contains("src="),
        "self-contained"
    );

    let csv = std::fs::read_to_string(out.path().join("scaling.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        &header[..6],
        [
            "sweep",
            "value",
            "policy",
            "allocations_per_cpu_second",
            "call_p50_ns",
            "call_p99_ns"
        ]
    );
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
    assert_eq!(rows.len(), report.measurements.len());
    for (row, measurement) in rows.iter().zip(&report.measurements) {
        assert_eq!(row.len(), header.len());
        assert_eq!(row[0], measurement.sweep.name());
        assert_eq!(row[1].parse::<usize>().unwrap(), measurement.value);
        assert_eq!(row[2], measurement.policy);
        assert!(row[3].parse::<f64>().unwrap() >= 0.0);
        assert_eq!(row[4].parse::<u64>().unwrap(), measurement.call_p50_ns);
        assert_eq!(row[5].parse::<u64>().unwrap(), measurement.call_p99_ns);
    }

    let json = std::fs::read_to_string(out.path().join("scaling.json")).unwrap();
    let parsed: ScalingReport = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed.measurements.len(), report.measurements.len());
    assert_eq!(parsed.command, report.command);
}

#[test]
fn fifo_alone_measures_no_queue_sweep_and_says_so() {
    let report = quick_report(vec![BenchPolicy::Fifo]);
    assert!(report
        .measurements
        .iter()
        .all(|measurement| measurement.sweep != SweepParameter::Queues
            && measurement.point.queues == 1));
    let html = scaling_html(&report);
    assert_eq!(charts(&html).len(), 3);
    assert!(html.contains("FIFO scheduler has exactly one queue"));
}
