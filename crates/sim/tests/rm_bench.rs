//! The whole-RM benchmark harness end to end on a tiny cluster: a real RM in this process,
//! simulated NMs and AMs over Hadoop IPC. What a person running `spindle bench rm` would notice:
//! containers get allocated and run, NMs heartbeat, nothing fails. Timing is never asserted.

use std::time::Duration;

use spindle_sim::rm_bench::{
    rm_result_markdown, run_rm_benchmark, run_submit_benchmark, submit_result_markdown,
    AmFleetSpec, RmBenchSpec, RmPlacement, SubmitBenchSpec,
};
use spindle_types::Resource;

fn tiny(containers_per_am: Option<u32>) -> RmBenchSpec {
    RmBenchSpec {
        placement: RmPlacement::InProcess,
        rm_worker_threads: 1,
        load_worker_threads: 1,
        nodes: 4,
        node_capability: Resource::new(8 * 1024, 8),
        am_nodes: 1,
        nodes_per_connection: 2,
        heartbeat_interval: Duration::from_millis(100),
        applications: AmFleetSpec {
            applications: 3,
            queues: vec!["default".into()],
            am_resource: Resource::new(1024, 1),
            container: Resource::new(1024, 1),
            outstanding_asks: 20,
            containers_per_am,
            allocate_interval: Duration::from_millis(100),
            task_duration: Duration::from_millis(50),
            release_every: 5,
        },
        warmup: Duration::from_millis(300),
        measure: Duration::from_secs(1),
        setup_timeout: Duration::from_secs(20),
        ..RmBenchSpec::default()
    }
}

#[test]
fn steady_load_allocates_runs_completes_and_releases_containers_over_ipc() {
    let result = run_rm_benchmark(&tiny(None)).unwrap();
    assert!(result.ams.allocated > 0, "no allocations: {result:?}");
    assert!(result.ams.allocate_calls > 0);
    assert!(result.ams.released > 0, "every 5th container is released");
    assert!(
        result.nodes.completions_reported > 0,
        "tasks of 50 ms complete and their NMs report it"
    );
    assert!(
        result.ams.completions_received > 0,
        "completions reach the AMs"
    );
    assert!(result.nodes.heartbeats > 0);
    assert_eq!(result.ams_total.allocate_errors, 0);
    assert_eq!(result.ams_total.failures, 0);
    assert_eq!(
        result.ams_total.unroutable, 0,
        "AMs only on AM nodes' known ids"
    );
    assert_eq!(result.nodes_total.heartbeat_errors, 0);
    assert!(result.allocate_latency_us.count > 0);
    let table = rm_result_markdown(&result);
    assert!(table.contains("| allocations |"), "{table}");
}

#[test]
fn a_fixed_number_of_containers_is_placed_and_kept_running_for_the_memory_reading() {
    let result = run_rm_benchmark(&tiny(Some(5))).unwrap();
    assert!(
        result.containers_placed >= 15,
        "3 AMs x 5 containers: {}",
        result.containers_placed
    );
    assert!(result.containers_placed_seconds.is_some());
    assert!(result.memory.after_containers.is_some());
    assert_eq!(result.ams.released, 0);
    assert_eq!(
        result.nodes.completions_reported, 0,
        "fixed containers never end"
    );
    assert!(result.nodes.running_statuses > 0);
}

#[test]
fn nonsense_specs_are_refused_before_anything_starts() {
    let mut no_am_nodes = tiny(None);
    no_am_nodes.am_nodes = 0;
    let error = run_rm_benchmark(&no_am_nodes).unwrap_err();
    assert!(error.to_string().contains("AM node"), "{error}");
    let mut too_big = tiny(None);
    too_big.applications.container = Resource::new(64 * 1024, 1);
    assert!(run_rm_benchmark(&too_big).is_err());
}

#[test]
fn submissions_on_the_minicluster_are_timed_to_allocation_launch_and_a_running_process() {
    let dir = tempfile::tempdir().unwrap();
    let result = run_submit_benchmark(&SubmitBenchSpec {
        applications: 2,
        nodes: 1,
        nm_heartbeat_interval: Duration::from_millis(100),
        am_sleep_seconds: 0,
        base_dir: dir.path().to_path_buf(),
    })
    .unwrap();
    assert_eq!(result.samples.len(), 2);
    for sample in &result.samples {
        assert!(sample.allocated_us <= sample.launched_us, "{sample:?}");
        let started = sample.process_started_us.expect("the AM process ran");
        assert!(started > 0, "{sample:?}");
    }
    assert!(submit_result_markdown(&result).contains("AM process running"));
}
