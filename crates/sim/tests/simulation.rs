//! End-to-end simulations on tiny workloads, checking what a person reading the report would
//! notice: every job completes, utilization never passes 100%, percentiles are ordered,
//! naming hosts buys locality, refused jobs are reported, and the same inputs give the same
//! bytes.

use std::path::{Path, PathBuf};

use spindle_sim::metrics::{JobOutcome, Percentiles, SimulationReport};
use spindle_sim::report::{report_html, report_json, write_report};
use spindle_sim::synthetic::{generate_workload, parse_weighted_queues, SyntheticWorkloadSpec};
use spindle_sim::trace::load_sls_workload;
use spindle_sim::{
    run_simulation, scheduler_setup, ResourceDefaults, SimulationSettings, Workload,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn tiny_workload() -> Workload {
    load_sls_workload(
        &fixture("tiny-trace.json"),
        Some(&fixture("tiny-nodes.json")),
        &ResourceDefaults::default(),
    )
    .expect("the fixtures parse")
    .workload
}

fn checked_settings() -> SimulationSettings {
    SimulationSettings {
        check_invariants: true,
        ..Default::default()
    }
}

fn simulate(workload: &Workload, settings: &SimulationSettings) -> SimulationReport {
    let setup = scheduler_setup(None).expect("YARN's default scheduler configuration");
    run_simulation(workload, &setup, settings).expect("the simulation runs")
}

fn assert_ordered(percentiles: &Percentiles) {
    let points = [
        percentiles.min,
        percentiles.p50,
        percentiles.p90,
        percentiles.p95,
        percentiles.p99,
        percentiles.p999,
        percentiles.max,
    ];
    assert!(
        points.windows(2).all(|pair| pair[0] <= pair[1]),
        "percentiles out of order: {percentiles:?}"
    );
}

#[test]
fn a_tiny_trace_runs_every_job_to_completion() {
    let workload = tiny_workload();
    let report = simulate(&workload, &checked_settings());
    let summary = &report.summary;
    assert_eq!(summary.jobs_completed, 4, "jobs: {:#?}", report.jobs);
    assert!(!summary.stalled);
    assert_eq!(summary.am_containers_allocated, 4);
    assert!(
        summary.containers_allocated >= 4 + 82,
        "every task got a container"
    );
    for (job, spec) in report.jobs.iter().zip(&workload.jobs) {
        assert_eq!(job.outcome, JobOutcome::Completed);
        let longest_task = spec
            .tasks
            .iter()
            .map(|task| task.duration_ms)
            .max()
            .unwrap();
        assert!(
            job.completion_time_ms.unwrap() >= longest_task,
            "{} finished faster than its longest task",
            job.job_id
        );
    }
    // The job with reduces ran them after its maps: its completion covers a map and a reduce.
    let etl = &report.jobs[0];
    assert!(etl.completion_time_ms.unwrap() >= 9000 + 5000);

    for sample in &report.time_series.cluster {
        assert!(
            sample.allocated_memory_mb <= sample.total_memory_mb,
            "{sample:?}"
        );
        assert!(sample.allocated_vcores <= sample.total_vcores, "{sample:?}");
        assert!(sample.memory_utilization_percent <= 100.0);
    }
    assert!(
        summary.utilization.peak_vcores_percent > 50.0,
        "the cluster got busy"
    );
    let last = report.time_series.cluster.last().unwrap();
    assert_eq!(
        last.allocated_memory_mb, 0,
        "everything released at the end"
    );
    assert_eq!(last.running_applications, 0);

    assert_ordered(&summary.task_allocation_latency_ms);
    assert_ordered(&summary.am_allocation_latency_ms);
    assert_ordered(&summary.job_completion_time_ms);
    assert!(
        summary.task_allocation_latency_ms.max > 0,
        "82 tasks on 58 slots: some waited"
    );

    let queue = report
        .queues
        .iter()
        .find(|queue| queue.path == "root.default")
        .expect("the default queue is reported");
    assert_eq!(queue.jobs_completed, 4);
    assert!(queue.peak_used_memory_mb > 0);
    assert_eq!(queue.guaranteed_memory_mb, report.workload.total_memory_mb);
}

#[test]
fn naming_hosts_makes_task_containers_node_local() {
    let with_hosts = tiny_workload();
    let mut without_hosts = with_hosts.clone();
    for task in without_hosts.jobs.iter_mut().flat_map(|job| &mut job.tasks) {
        task.host = None;
    }
    let settings = checked_settings();
    let local = simulate(&with_hosts, &settings).summary.task_locality;
    let anywhere = simulate(&without_hosts, &settings).summary.task_locality;
    assert!(
        local.node_local_fraction > anywhere.node_local_fraction,
        "with hosts {local:?}, without {anywhere:?}"
    );
    assert!(local.node_local > 0);
    assert_eq!(anywhere.node_local + anywhere.rack_local, 0);
}

#[test]
fn jobs_the_scheduler_refuses_are_reported_and_the_rest_complete() {
    let mut workload = tiny_workload();
    workload.jobs[1].queue = "no_such_queue".into();
    // Larger than every node: the scheduler refuses the ask.
    workload.jobs[2].tasks[0].resource = spindle_types::Resource::new(9000, 1);
    let report = simulate(&workload, &checked_settings());
    let outcome = |index: usize| report.jobs[index].outcome;
    assert_eq!(outcome(0), JobOutcome::Completed);
    assert_eq!(outcome(1), JobOutcome::Rejected);
    assert!(
        report.jobs[1].diagnostics.contains("no_such_queue"),
        "{}",
        report.jobs[1].diagnostics
    );
    assert_eq!(outcome(2), JobOutcome::Failed);
    assert!(report.jobs[2].diagnostics.contains("allocate refused"));
    assert_eq!(outcome(3), JobOutcome::Completed);
    assert_eq!(report.summary.jobs_rejected, 1);
    assert_eq!(report.summary.jobs_failed, 1);
    let html = report_html(&report);
    assert!(html.contains("Jobs that did not complete"));
}

#[test]
fn long_traces_get_a_coarser_sample_interval() {
    let mut workload = tiny_workload();
    assert_eq!(SimulationSettings::sample_interval_for(&workload), 1000);
    workload.jobs[3].submit_ms = 3 * 24 * 3_600_000;
    let interval = SimulationSettings::sample_interval_for(&workload);
    assert_eq!(interval, 13_000, "3 days in about 20,000 samples");
}

#[test]
fn a_time_limit_stops_the_run_with_jobs_unfinished() {
    let settings = SimulationSettings {
        end_after_ms: Some(8_000),
        ..checked_settings()
    };
    let report = simulate(&tiny_workload(), &settings);
    assert!(report.summary.jobs_unfinished > 0);
    assert!(report.summary.end_time_ms <= 8_000);
}

fn synthetic(seed: u64) -> Workload {
    generate_workload(&SyntheticWorkloadSpec {
        seed,
        nodes: 24,
        nodes_per_rack: 8,
        jobs: 40,
        arrivals_per_second: 0.5,
        queues: parse_weighted_queues("default").unwrap(),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn the_same_seed_gives_byte_identical_outputs() {
    let settings = SimulationSettings::default();
    let first = simulate(&synthetic(42), &settings);
    let second = simulate(&synthetic(42), &settings);
    assert_eq!(report_json(&first).unwrap(), report_json(&second).unwrap());
    assert_eq!(report_html(&first), report_html(&second));
    assert_eq!(first.containers, second.containers);
    assert_eq!(first.summary.jobs_completed, 40);
    let other = simulate(&synthetic(43), &settings);
    assert_ne!(report_json(&first).unwrap(), report_json(&other).unwrap());
}

#[test]
fn the_report_directory_holds_the_html_plots_and_data() {
    let report = simulate(&tiny_workload(), &SimulationSettings::default());
    let dir = tempfile::tempdir().unwrap();
    let written = write_report(&report, dir.path()).unwrap();
    for name in [
        "report.html",
        "report.json",
        "summary.json",
        "jobs.csv",
        "cluster.csv",
        "queues.csv",
        "applications.csv",
        "containers.csv",
        "latency_percentiles.csv",
    ] {
        assert!(
            written.contains(&dir.path().join(name)),
            "{name} not written"
        );
    }
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    for title in [
        "Cluster utilization over time",
        "Containers running and waiting",
        "Allocated memory per leaf queue",
        "Allocation latency percentiles",
        "Job completion time distribution",
        "Task containers by locality",
    ] {
        assert!(html.contains(title), "the report lacks the plot {title:?}");
    }
    assert!(html.matches("<svg").count() >= 6);
    assert!(html.contains("<path d=\"M"), "lines are drawn");
    assert!(!html.contains("<script"), "no script");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no network"
    );

    let jobs = std::fs::read_to_string(dir.path().join("jobs.csv")).unwrap();
    assert_eq!(jobs.lines().count(), 1 + 4);
    assert!(jobs
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("etl_1,application_1_0001,"));
    let containers = std::fs::read_to_string(dir.path().join("containers.csv")).unwrap();
    assert_eq!(
        containers.lines().count() as u64,
        1 + report.summary.containers_allocated
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["summary"]["jobs_completed"], 4);
}

#[test]
fn a_capacity_scheduler_configuration_places_jobs_in_its_queues() {
    let mut workload = tiny_workload();
    for (index, job) in workload.jobs.iter_mut().enumerate() {
        job.queue = if index % 2 == 0 { "prod" } else { "dev" }.into();
    }
    let setup = scheduler_setup(Some(&fixture("capacity-conf"))).expect("the test configuration");
    assert_eq!(setup.policy_name(), "capacity");
    assert_eq!(
        setup.files_read.len(),
        2,
        "yarn-site.xml and capacity-scheduler.xml"
    );
    let report = run_simulation(&workload, &setup, &checked_settings()).unwrap();
    assert_eq!(report.summary.jobs_completed, 4, "jobs: {:#?}", report.jobs);
    let placed: Vec<&str> = report
        .jobs
        .iter()
        .map(|job| job.queue_path.as_deref().unwrap())
        .collect();
    assert_eq!(
        placed,
        vec!["root.prod", "root.dev", "root.prod", "root.dev"]
    );
    let queue = |path: &str| {
        report
            .queues
            .iter()
            .find(|queue| queue.path == path)
            .unwrap()
    };
    let total = report.workload.total_memory_mb as f64;
    let guaranteed_share = |path| queue(path).guaranteed_memory_mb as f64 / total;
    assert!((guaranteed_share("root.prod") - 0.7).abs() < 0.001);
    assert!((guaranteed_share("root.dev") - 0.3).abs() < 0.001);
    assert_eq!(queue("root.prod").jobs_completed, 2);
    assert!(queue("root.dev").peak_used_memory_mb > 0);
    assert!(queue("root.prod").peak_used_memory_mb > 0);
}

#[test]
fn preempted_tasks_run_again_and_the_queue_under_its_guarantee_gets_its_share() {
    // dev fills the cluster while prod's job runs its single map; prod's 40 reduces then need
    // prod's 70% back, which the preemption monitor takes from dev.
    let workload = load_sls_workload(
        &fixture("preemption-trace.json"),
        Some(&fixture("tiny-nodes.json")),
        &ResourceDefaults::default(),
    )
    .unwrap()
    .workload;
    let setup = scheduler_setup(Some(&fixture("preemption-conf"))).unwrap();
    let report = run_simulation(&workload, &setup, &checked_settings()).unwrap();
    let summary = &report.summary;
    assert!(summary.containers_preempted > 0, "{summary:#?}");
    assert_eq!(
        summary.jobs_completed, 2,
        "the preempted job re-ran its tasks"
    );
    let preempted = report
        .containers
        .iter()
        .filter(|container| container.end == "preempted")
        .count() as u64;
    assert_eq!(preempted, summary.containers_preempted);
    assert!(
        report
            .containers
            .iter()
            .all(|container| container.job_id == "dev_hog" || container.end != "preempted"),
        "only the queue over its guarantee loses containers"
    );
    let dev_tasks_run = report
        .containers
        .iter()
        .filter(|container| container.job_id == "dev_hog" && container.end == "finished")
        .count();
    assert_eq!(dev_tasks_run, 60, "every dev task finished once");
}

#[test]
fn a_job_that_can_never_start_stops_the_run_as_stalled() {
    let mut workload = tiny_workload();
    workload.jobs[3].queue = "frozen".into();
    let setup = scheduler_setup(Some(&fixture("starved-conf"))).unwrap();
    let settings = SimulationSettings {
        stall_timeout_ms: 60_000,
        ..checked_settings()
    };
    let report = run_simulation(&workload, &setup, &settings).unwrap();
    assert!(report.summary.stalled, "{:#?}", report.jobs[3]);
    assert_eq!(report.summary.jobs_completed, 3);
    assert_eq!(report.jobs[3].outcome, JobOutcome::Unfinished);
    assert!(
        report.summary.end_time_ms < 200_000,
        "gave up about a minute after the last progress, at {} ms",
        report.summary.end_time_ms
    );
}
