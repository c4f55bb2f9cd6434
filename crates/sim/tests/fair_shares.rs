//! Issue 10's acceptance tests in the simulator ("Fair shares that hold"): applications in
//! different queues, each wanting far more than the cluster with tasks far longer than the run,
//! submitted at the same virtual time or within one NM heartbeat of each other, hold their
//! policy's shares (Fair weights, DRF dominant shares, Capacity guarantees) whatever their order
//! in the trace; a lone application on an idle cluster gets its steady share in the allocate
//! call that asks and every container it asks for within its share window; and with preemption
//! a queue submitted after another filled the cluster gets its share back (time to share with
//! and without preemption printed).
//!
//! Each scenario is an SLS trace and nodes file written here and parsed as `spindle sim` parses
//! them, run against a scheduler configured from a fixture directory (yarn-site.xml and
//! capacity-scheduler.xml or fair-scheduler.xml) by [`scheduler_setup`], as the CLI does.
//! Shares are read from the report's container records at [`MEASURE_AT_MS`] (and checked against
//! its per-queue time series).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;
use spindle_sim::metrics::SimulationReport;
use spindle_sim::trace::{parse_sls_nodes, parse_sls_trace};
use spindle_sim::{
    run_simulation, scheduler_setup, ResourceDefaults, SimulationSettings, Workload,
};
use spindle_types::Resource;

/// When shares are measured: long after the last submission, long before any task ends.
const MEASURE_AT_MS: i64 = 60_000;

/// Every task runs an hour, so no container is freed before [`MEASURE_AT_MS`]: the shares are
/// the ones the scheduler handed out, not ones made by tasks ending.
const TASK_DURATION_MS: i64 = 3_600_000;

/// How far a queue's share of the cluster may be from its policy share, in percentage points.
const SHARE_TOLERANCE_POINTS: f64 = 5.0;

/// How far the ratio of DRF containers may be from the dominant-share solution, relatively.
const DRF_RATIO_TOLERANCE: f64 = 0.15;

/// Tasks per job: each job wants about three times what the cluster holds.
const TASKS_PER_HUNGRY_JOB: usize = 300;

const FAIR: &str = "fair";
const CAPACITY: &str = "capacity";

/// One job of a scenario's trace.
/// Task sizes are multiples of YARN's minimum allocation (1024 MB, 1 vcore): the scheduler
/// would round anything else up (checked in [`simulate`]).
#[derive(Debug, Clone)]
struct Job {
    id: &'static str,
    /// The queue the trace names (`job.queue.name`).
    queue: &'static str,
    user: &'static str,
    tasks: usize,
    task: Resource,
}

/// A cluster, a scheduler configuration and the jobs to submit.
#[derive(Debug, Clone)]
struct Scenario {
    /// Fixture directory holding yarn-site.xml and the scheduler's file.
    conf: &'static str,
    /// The policy the configuration must select (guards against a fixture silently not read).
    policy: &'static str,
    nodes: usize,
    node: Resource,
    jobs: Vec<Job>,
}

/// What a queue holds at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Held {
    /// Every container, its ApplicationMaster's included.
    containers: usize,
    task_containers: usize,
    memory_mb: i64,
    vcores: i64,
}

/// Which share of the cluster a policy divides.
#[derive(Debug, Clone, Copy)]
enum ShareOf {
    Memory,
    /// The larger of the memory and vcores shares (DominantResourceCalculator).
    DominantResource,
}

/// One simulation: the jobs in trace order and what each queue held at [`MEASURE_AT_MS`].
struct Run {
    job_order: Vec<&'static str>,
    report: SimulationReport,
    held: BTreeMap<String, Held>,
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn hungry_job(id: &'static str, queue: &'static str, user: &'static str, task: Resource) -> Job {
    Job {
        id,
        queue,
        user,
        tasks: TASKS_PER_HUNGRY_JOB,
        task,
    }
}

/// The SLS trace text of `jobs`, in this order, the job at position `i` submitted at
/// `i * stagger_ms`.
fn sls_trace(jobs: &[&Job], stagger_ms: i64) -> String {
    jobs.iter()
        .enumerate()
        .map(|(position, job)| {
            json!({
                "job.id": job.id,
                "job.start.ms": position as i64 * stagger_ms,
                "job.queue.name": job.queue,
                "job.user": job.user,
                "job.tasks": [{
                    "count": job.tasks,
                    "container.duration.ms": TASK_DURATION_MS,
                    "container.memory-mb": job.task.memory_mb,
                    "container.vcores": job.task.vcores,
                }],
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The SLS nodes file of `count` nodes of `node` on one rack.
fn sls_nodes(count: usize, node: &Resource) -> String {
    let nodes: Vec<_> = (1..=count)
        .map(|index| {
            json!({
                "node": format!("node{index}"),
                "memory-mb": node.memory_mb,
                "vcores": node.vcores,
            })
        })
        .collect();
    json!({ "rack": "rack1", "nodes": nodes }).to_string()
}

fn settings() -> SimulationSettings {
    SimulationSettings {
        end_after_ms: Some(MEASURE_AT_MS),
        check_invariants: true,
        ..Default::default()
    }
}

/// Runs `scenario` with its jobs in trace order `order` (indexes into `scenario.jobs`), the
/// job at position `i` submitted at `i * stagger_ms`.
fn simulate(scenario: &Scenario, order: &[usize], stagger_ms: i64) -> Run {
    simulate_with(scenario, order, stagger_ms, &settings())
}

/// [`simulate`] with other simulator settings.
fn simulate_with(
    scenario: &Scenario,
    order: &[usize],
    stagger_ms: i64,
    settings: &SimulationSettings,
) -> Run {
    let jobs: Vec<&Job> = order.iter().map(|&index| &scenario.jobs[index]).collect();
    let defaults = ResourceDefaults::default();
    let trace = parse_sls_trace("trace.json", &sls_trace(&jobs, stagger_ms), &defaults)
        .expect("the test's trace parses");
    let nodes = parse_sls_nodes(
        "nodes.json",
        &sls_nodes(scenario.nodes, &scenario.node),
        &defaults.node,
    )
    .expect("the test's nodes file parses");
    let workload = Workload {
        description: format!("issue 10 scenario on {}", scenario.conf),
        nodes,
        jobs: trace.jobs,
    };
    let setup = scheduler_setup(Some(&fixture(scenario.conf))).expect("the fixture configuration");
    assert_eq!(
        setup.policy_name(),
        scenario.policy,
        "{} selects the wrong scheduler",
        scenario.conf
    );
    let report = run_simulation(&workload, &setup, settings).expect("the simulation runs");
    assert_eq!(
        report.summary.jobs_rejected, 0,
        "every job is accepted: {:#?}",
        report.jobs
    );
    for container in report
        .containers
        .iter()
        .filter(|container| !container.is_am)
    {
        let job = jobs
            .iter()
            .find(|job| job.id == container.job_id)
            .expect("a container of a traced job");
        assert_eq!(
            (container.memory_mb, container.vcores),
            (job.task.memory_mb, job.task.vcores),
            "{}'s containers were normalized: the scenario's sizes are not what runs",
            job.id
        );
    }
    let held = held_at(&report, MEASURE_AT_MS);
    Run {
        job_order: jobs.iter().map(|job| job.id).collect(),
        report,
        held,
    }
}

/// What each job's leaf queue holds at `time_ms`, from the report's container records; checked
/// against the report's per-queue memory series at the same instant.
fn held_at(report: &SimulationReport, time_ms: i64) -> BTreeMap<String, Held> {
    let queue_of_job: BTreeMap<&str, &str> = report
        .jobs
        .iter()
        .map(|job| {
            let queue = job
                .queue_path
                .as_deref()
                .unwrap_or_else(|| panic!("{} was not placed: {job:#?}", job.job_id));
            (job.job_id.as_str(), queue)
        })
        .collect();
    let mut held: BTreeMap<String, Held> = queue_of_job
        .values()
        .map(|queue| (queue.to_string(), Held::default()))
        .collect();
    for container in &report.containers {
        let live = container.allocated_ms <= time_ms
            && container.finished_ms.is_none_or(|end| end > time_ms);
        if !live {
            continue;
        }
        let queue = held
            .get_mut(queue_of_job[container.job_id.as_str()])
            .expect("every job's queue is listed");
        queue.containers += 1;
        queue.task_containers += usize::from(!container.is_am);
        queue.memory_mb += container.memory_mb;
        queue.vcores += container.vcores;
    }
    let series = &report.time_series;
    let sample = series
        .cluster
        .iter()
        .position(|sample| sample.time_ms == time_ms)
        .unwrap_or_else(|| panic!("the report has no sample at {time_ms} ms"));
    for (path, queue) in &held {
        let reported = series
            .queues
            .iter()
            .find(|series| &series.path == path)
            .map_or(0, |series| series.used_memory_mb[sample]);
        assert_eq!(
            reported, queue.memory_mb,
            "the report's series for {path} disagrees with its container records at {time_ms} ms"
        );
    }
    held
}

fn total_resource(scenario: &Scenario) -> Resource {
    scenario.node.multiply(scenario.nodes as i64)
}

/// `held` as a percentage of `total`.
fn share_percent(held: &Held, total: &Resource, share_of: ShareOf) -> f64 {
    let memory = held.memory_mb as f64 * 100.0 / total.memory_mb as f64;
    let vcores = held.vcores as f64 * 100.0 / total.vcores as f64;
    match share_of {
        ShareOf::Memory => memory,
        ShareOf::DominantResource => memory.max(vcores),
    }
}

/// Weights (or guarantees) as percentages of their sum.
fn percent_of_sum(weights: &[(&str, f64)]) -> Vec<(String, f64)> {
    let sum: f64 = weights.iter().map(|(_, weight)| weight).sum();
    weights
        .iter()
        .map(|(queue, weight)| (queue.to_string(), weight * 100.0 / sum))
        .collect()
}

/// One line per run: the trace order, then each queue's share and containers.
fn describe(runs: &[Run], total: &Resource, share_of: ShareOf) -> String {
    runs.iter()
        .map(|run| {
            let queues: Vec<String> = run
                .held
                .iter()
                .map(|(path, held)| {
                    format!(
                        "{path} {:.1}% ({} containers, {} MB, {} vcores)",
                        share_percent(held, total, share_of),
                        held.containers,
                        held.memory_mb,
                        held.vcores
                    )
                })
                .collect();
            format!(
                "  trace order {:?} at {} ms: {}",
                run.job_order,
                MEASURE_AT_MS,
                queues.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every order of `0..count`.
fn permutations(count: usize) -> Vec<Vec<usize>> {
    fn extend(prefix: &mut Vec<usize>, count: usize, out: &mut Vec<Vec<usize>>) {
        if prefix.len() == count {
            out.push(prefix.clone());
            return;
        }
        for next in 0..count {
            if !prefix.contains(&next) {
                prefix.push(next);
                extend(prefix, count, out);
                prefix.pop();
            }
        }
    }
    let mut out = Vec::new();
    extend(&mut Vec::new(), count, &mut out);
    out
}

fn every_order(scenario: &Scenario) -> Vec<Run> {
    permutations(scenario.jobs.len())
        .iter()
        .map(|order| simulate(scenario, order, 0))
        .collect()
}

/// Asserts every run gives each queue its expected share within the tolerance.
fn assert_shares(
    what: &str,
    scenario: &Scenario,
    runs: &[Run],
    expected: &[(String, f64)],
    share_of: ShareOf,
) {
    let total = total_resource(scenario);
    let table = describe(runs, &total, share_of);
    eprintln!("{what}:\n{table}");
    let mut misses = Vec::new();
    for run in runs {
        for (queue, want) in expected {
            let held = run.held.get(queue).copied().unwrap_or_default();
            let got = share_percent(&held, &total, share_of);
            if (got - want).abs() > SHARE_TOLERANCE_POINTS {
                misses.push(format!(
                    "  trace order {:?}: {queue} holds {got:.1}% of the cluster, its policy share is {want:.1}% (± {SHARE_TOLERANCE_POINTS} points)",
                    run.job_order
                ));
            }
        }
    }
    assert!(
        misses.is_empty(),
        "{what}: queues off their shares at {MEASURE_AT_MS} ms:\n{}\nobserved:\n{table}",
        misses.join("\n")
    );
}

/// Asserts every trace order left each queue holding the same containers.
fn assert_same_in_every_order(what: &str, scenario: &Scenario, runs: &[Run], share_of: ShareOf) {
    let total = total_resource(scenario);
    let table = describe(runs, &total, share_of);
    eprintln!("{what}:\n{table}");
    let first = &runs[0];
    for run in &runs[1..] {
        assert_eq!(
            run.held, first.held,
            "{what}: the trace order decided the shares (orders {:?} and {:?} differ); observed:\n{table}",
            first.job_order, run.job_order
        );
    }
}

// ---- Scenarios ----------------------------------------------------------------------------

/// 10 nodes of 10 GB and 10 vcores: 100 containers of 1 GB.
fn hundred_slot_cluster(conf: &'static str, policy: &'static str, jobs: Vec<Job>) -> Scenario {
    Scenario {
        conf,
        policy,
        nodes: 10,
        node: Resource::new(10240, 10),
        jobs,
    }
}

fn one_gb() -> Resource {
    Resource::new(1024, 1)
}

/// The seed document's fair-scheduler.xml: prod weight 40, dev weight 60 (eng, science).
fn fair_prod_and_dev_eng() -> Scenario {
    hundred_slot_cluster(
        "fair-seed-conf",
        FAIR,
        vec![
            hungry_job("prod_job", "prod", "paula", one_gb()),
            hungry_job("eng_job", "dev.eng", "erin", one_gb()),
        ],
    )
}

fn fair_prod_and_dev_eng_shares() -> Vec<(String, f64)> {
    percent_of_sum(&[("root.prod", 40.0), ("root.dev.eng", 60.0)])
}

/// Three queues weighted 1, 1 and 2.
fn fair_three_queues() -> Scenario {
    hundred_slot_cluster(
        "fair-three-queues-conf",
        FAIR,
        vec![
            hungry_job("a_job", "a", "alice", one_gb()),
            hungry_job("b_job", "b", "bob", one_gb()),
            hungry_job("c_job", "c", "carol", one_gb()),
        ],
    )
}

fn fair_three_queue_shares() -> Vec<(String, f64)> {
    percent_of_sum(&[("root.a", 1.0), ("root.b", 1.0), ("root.c", 2.0)])
}

/// Two equal-weight `drf` queues on 5 nodes of 20 GB and 20 vcores: 2 GB / 1 vcore tasks
/// (memory-heavy: 2% of the cluster's memory, 1% of its vcores) against 1 GB / 4 vcore tasks
/// (CPU-heavy: 4% of its vcores), so the CPU-heavy job gets about half as many containers, as
/// in the document's example.
fn drf_memory_and_cpu_jobs() -> Scenario {
    Scenario {
        conf: "fair-drf-conf",
        policy: FAIR,
        nodes: 5,
        node: Resource::new(20480, 20),
        jobs: vec![
            hungry_job("memory_job", "memory_jobs", "mona", Resource::new(2048, 1)),
            hungry_job("cpu_job", "cpu_jobs", "carl", Resource::new(1024, 4)),
        ],
    }
}

/// Capacity queues guaranteed 30% (`small`) and 70% (`large`), both elastic to 100%, with
/// the DefaultResourceCalculator: 1 GB containers on the 100-slot cluster.
fn capacity_memory() -> Scenario {
    hundred_slot_cluster(
        "capacity-guarantees-conf",
        CAPACITY,
        vec![
            hungry_job("small_job", "small", "sam", one_gb()),
            hungry_job("large_job", "large", "lara", one_gb()),
        ],
    )
}

/// The same queues with the DominantResourceCalculator and CPU-heavy containers (1 GB,
/// 2 vcores) on 10 nodes of 20 GB and 20 vcores: vcores are every queue's dominant resource
/// (100 containers fill the vcores and half the memory).
fn capacity_dominant() -> Scenario {
    Scenario {
        conf: "capacity-guarantees-dominant-conf",
        policy: CAPACITY,
        nodes: 10,
        node: Resource::new(20480, 20),
        jobs: vec![
            hungry_job("small_job", "small", "sam", Resource::new(1024, 2)),
            hungry_job("large_job", "large", "lara", Resource::new(1024, 2)),
        ],
    }
}

fn capacity_guarantees() -> Vec<(String, f64)> {
    percent_of_sum(&[("root.small", 30.0), ("root.large", 70.0)])
}

// ---- Fair, `fair` policy ------------------------------------------------------------------

#[test]
fn fair_prod_and_dev_eng_submitted_together_hold_40_and_60_percent() {
    let scenario = fair_prod_and_dev_eng();
    let runs = every_order(&scenario);
    assert_shares(
        "Fair, seed allocation file, prod and dev.eng at 0 ms",
        &scenario,
        &runs,
        &fair_prod_and_dev_eng_shares(),
        ShareOf::Memory,
    );
}

#[test]
fn fair_prod_and_dev_eng_hold_the_same_containers_in_either_trace_order() {
    let scenario = fair_prod_and_dev_eng();
    let runs = every_order(&scenario);
    assert_same_in_every_order(
        "Fair, seed allocation file, trace orders",
        &scenario,
        &runs,
        ShareOf::Memory,
    );
}

#[test]
fn fair_three_queues_weighted_1_1_2_hold_25_25_and_50_percent() {
    let scenario = fair_three_queues();
    let runs = every_order(&scenario);
    assert_shares(
        "Fair, weights 1/1/2, three jobs at 0 ms",
        &scenario,
        &runs,
        &fair_three_queue_shares(),
        ShareOf::Memory,
    );
}

#[test]
fn fair_three_queues_hold_the_same_containers_in_all_six_trace_orders() {
    let scenario = fair_three_queues();
    let runs = every_order(&scenario);
    assert_eq!(runs.len(), 6);
    assert_same_in_every_order(
        "Fair, weights 1/1/2, trace orders",
        &scenario,
        &runs,
        ShareOf::Memory,
    );
}

#[test]
fn fair_second_application_half_a_node_heartbeat_later_still_gets_its_weight_share() {
    let scenario = fair_prod_and_dev_eng();
    // The simulator tells the scheduler the time (as NM heartbeats would) on this interval.
    let stagger_ms = settings().scheduler_tick_interval_ms / 2;
    assert!(stagger_ms > 0);
    let runs: Vec<Run> = permutations(scenario.jobs.len())
        .iter()
        .map(|order| simulate(&scenario, order, stagger_ms))
        .collect();
    assert_shares(
        &format!("Fair, seed allocation file, the second job {stagger_ms} ms after the first"),
        &scenario,
        &runs,
        &fair_prod_and_dev_eng_shares(),
        ShareOf::Memory,
    );
}

// ---- Fair, `drf` policy -------------------------------------------------------------------

/// Dominant resource fairness by progressive filling (Ghodsi et al., equal weights): the queue
/// with the lowest dominant share (its AM container counted) takes its next container, until
/// that container no longer fits in what the cluster has left. Returns task containers per job.
fn drf_task_containers(total: &Resource, am: &Resource, tasks: &[Resource]) -> Vec<usize> {
    let mut used: Vec<Resource> = tasks.iter().map(|_| am.clone()).collect();
    let mut free = total.clone();
    for _ in tasks {
        free.sub_assign(am);
    }
    let mut counts = vec![0; tasks.len()];
    let dominant_share = |usage: &Resource| {
        (usage.memory_mb as f64 / total.memory_mb as f64)
            .max(usage.vcores as f64 / total.vcores as f64)
    };
    loop {
        let next = (0..tasks.len())
            .min_by(|&a, &b| dominant_share(&used[a]).total_cmp(&dominant_share(&used[b])))
            .expect("at least one job");
        if !free.fits(&tasks[next]) {
            return counts;
        }
        free.sub_assign(&tasks[next]);
        used[next].add_assign(&tasks[next]);
        counts[next] += 1;
    }
}

fn drf_expected_ratio(scenario: &Scenario) -> (Vec<usize>, f64) {
    let tasks: Vec<Resource> = scenario.jobs.iter().map(|job| job.task.clone()).collect();
    let counts = drf_task_containers(
        &total_resource(scenario),
        &ResourceDefaults::default().am_container,
        &tasks,
    );
    let ratio = counts[0] as f64 / counts[1] as f64;
    (counts, ratio)
}

#[test]
fn drf_memory_heavy_and_cpu_heavy_jobs_settle_at_equal_dominant_shares() {
    let scenario = drf_memory_and_cpu_jobs();
    let (expected_counts, expected_ratio) = drf_expected_ratio(&scenario);
    let runs = every_order(&scenario);
    let total = total_resource(&scenario);
    let table = describe(&runs, &total, ShareOf::DominantResource);
    eprintln!(
        "DRF: the dominant-share solution is {expected_counts:?} task containers \
         (memory_job : cpu_job = {expected_ratio:.2}); observed:\n{table}"
    );
    for run in &runs {
        let memory = run.held["root.memory_jobs"].task_containers;
        let cpu = run.held["root.cpu_jobs"].task_containers;
        let ratio = memory as f64 / cpu as f64;
        assert!(
            cpu > 0 && (ratio / expected_ratio - 1.0).abs() <= DRF_RATIO_TOLERANCE,
            "DRF, trace order {:?}: {memory} memory-heavy to {cpu} CPU-heavy task containers \
             (ratio {ratio:.2}); dominant resource fairness gives {expected_counts:?} (ratio \
             {expected_ratio:.2} ± {:.0}%); observed:\n{table}",
            run.job_order,
            DRF_RATIO_TOLERANCE * 100.0
        );
    }
}

#[test]
fn drf_jobs_hold_the_same_containers_in_either_trace_order() {
    let scenario = drf_memory_and_cpu_jobs();
    let runs = every_order(&scenario);
    // The shares follow the policy in either order; how the containers packed onto nodes may
    // differ (memory-heavy and CPU-heavy containers complement each other on a node), which
    // can leave one container per queue more or less room: at most one container apart.
    let total = total_resource(&scenario);
    let table = describe(&runs, &total, ShareOf::DominantResource);
    eprintln!("DRF, trace orders:\n{table}");
    for run in &runs[1..] {
        for (queue, held) in &runs[0].held {
            let other = run.held.get(queue).map_or(0, |h| h.containers);
            assert!(
                held.containers.abs_diff(other) <= 1,
                "DRF: {queue} holds {} containers in order {:?} and {other} in order {:?}:\n{table}",
                held.containers,
                runs[0].job_order,
                run.job_order
            );
        }
    }
}

#[test]
fn the_drf_solution_of_the_document_example_gives_one_job_half_the_containers() {
    // The document's example scaled down: 100 vcores and 10 TB; A asks 2 vcores and 300 GB
    // (dominant: memory, 3%), B 6 vcores and 100 GB (dominant: vcores, 6%): B gets half as
    // many containers as A. No AM: the helper's arithmetic alone.
    let total = Resource::new(10 * 1024 * 1024, 100);
    let counts = drf_task_containers(
        &total,
        &Resource::ZERO,
        &[Resource::new(300 * 1024, 2), Resource::new(100 * 1024, 6)],
    );
    assert_eq!(counts[0], 2 * counts[1], "{counts:?}");
}

// ---- Capacity -----------------------------------------------------------------------------

#[test]
fn capacity_default_calculator_gives_each_queue_its_guarantee() {
    let scenario = capacity_memory();
    let runs = every_order(&scenario);
    assert_shares(
        "Capacity (DefaultResourceCalculator), guarantees 30/70, both jobs at 0 ms",
        &scenario,
        &runs,
        &capacity_guarantees(),
        ShareOf::Memory,
    );
}

#[test]
fn capacity_default_calculator_holds_the_same_containers_in_either_trace_order() {
    let scenario = capacity_memory();
    let runs = every_order(&scenario);
    assert_same_in_every_order(
        "Capacity (DefaultResourceCalculator), trace orders",
        &scenario,
        &runs,
        ShareOf::Memory,
    );
}

#[test]
fn capacity_dominant_calculator_gives_each_queue_its_guarantee() {
    let scenario = capacity_dominant();
    let runs = every_order(&scenario);
    assert_shares(
        "Capacity (DominantResourceCalculator), guarantees 30/70, both jobs at 0 ms",
        &scenario,
        &runs,
        &capacity_guarantees(),
        ShareOf::DominantResource,
    );
}

#[test]
fn capacity_dominant_calculator_holds_the_same_containers_in_either_trace_order() {
    let scenario = capacity_dominant();
    let runs = every_order(&scenario);
    assert_same_in_every_order(
        "Capacity (DominantResourceCalculator), trace orders",
        &scenario,
        &runs,
        ShareOf::DominantResource,
    );
}

// ---- A lone application on an idle cluster ------------------------------------------------

/// `scenario` with only the job at `job`, asking for `tasks` containers.
fn alone(mut scenario: Scenario, job: usize, tasks: usize) -> Scenario {
    let mut lone = scenario.jobs.swap_remove(job);
    lone.tasks = tasks;
    scenario.jobs = vec![lone];
    scenario
}

/// Runs each scenario's single job and asserts that it got at least its queue's steady share
/// (every scenario's is a fifth of the cluster or more: Fair counts root.default too) in the
/// allocate call that asked, and every
/// task container it asked for within the share window (two NM heartbeat intervals, the
/// scheduler's default) of its first ask. Prints the figures.
fn assert_lone_applications_get_everything_at_once(what: &str, scenarios: &[Scenario]) {
    let interval_ms = 2 * settings().scheduler_tick_interval_ms;
    let mut lines = Vec::new();
    let mut misses = Vec::new();
    for scenario in scenarios {
        let job = &scenario.jobs[0];
        let run = simulate(scenario, &[0], 0);
        let tasks: Vec<_> = run
            .report
            .containers
            .iter()
            .filter(|container| !container.is_am)
            .collect();
        let first_ask_ms = tasks.iter().map(|container| container.asked_ms).min();
        let last_allocated_ms = tasks.iter().map(|container| container.allocated_ms).max();
        let queue = run.held.keys().next().cloned().unwrap_or_default();
        let share = share_percent(
            &run.held[&queue],
            &total_resource(scenario),
            ShareOf::DominantResource,
        );
        let at_once = tasks
            .iter()
            .filter(|container| Some(container.allocated_ms) == first_ask_ms)
            .count();
        let line = match (first_ask_ms, last_allocated_ms) {
            (Some(first), Some(last)) => format!(
                "  {} ({queue}): {} of {} task containers, {at_once} at once, the last {} ms \
                 after the first ask (asked at {first} ms); the queue holds {share:.1}% of the \
                 cluster",
                scenario.conf,
                tasks.len(),
                job.tasks,
                last - first
            ),
            _ => format!("  {} ({queue}): no task container at all", scenario.conf),
        };
        let on_time = matches!(
            (first_ask_ms, last_allocated_ms),
            (Some(first), Some(last)) if last - first <= interval_ms
        );
        if tasks.len() != job.tasks || !on_time || at_once < job.tasks / 6 {
            misses.push(line.clone());
        }
        lines.push(line);
    }
    eprintln!("{what}:\n{}", lines.join("\n"));
    assert!(
        misses.is_empty(),
        "{what}: a lone application on an idle cluster got less than its steady share at once, \
         or waited longer than the share window ({interval_ms} ms) for the containers it asked \
         for:\n{}\nall:\n{}",
        misses.join("\n"),
        lines.join("\n")
    );
}

/// 80 of the 99 free slots (the AM holds one): far beyond each queue's share.
const LONE_TASKS: usize = 80;

#[test]
fn a_lone_fair_application_gets_its_share_at_once_and_everything_within_the_share_window() {
    assert_lone_applications_get_everything_at_once(
        "Fair, one application on an idle cluster",
        &[
            // prod's weight share is 40%.
            alone(fair_prod_and_dev_eng(), 0, LONE_TASKS),
            // a's weight share is 25%.
            alone(fair_three_queues(), 0, LONE_TASKS),
            // Alone, the memory-heavy job could take ~49 containers; ask for 40.
            alone(drf_memory_and_cpu_jobs(), 0, 40),
        ],
    );
}

#[test]
fn a_lone_capacity_application_gets_its_share_at_once_and_everything_within_the_share_window() {
    assert_lone_applications_get_everything_at_once(
        "Capacity, one application on an idle cluster",
        &[
            // small is guaranteed 30%.
            alone(capacity_memory(), 0, LONE_TASKS),
            alone(capacity_dominant(), 0, LONE_TASKS),
        ],
    );
}

// ---- Preemption: a late application reaches its share ----------------------------------

/// When the late application is submitted: the first has held the whole cluster for a while.
const LATE_SUBMISSION_MS: i64 = 20_000;

/// How long the preemption runs may go on.
const PREEMPTION_RUN_MS: i64 = 300_000;

/// The first sample time at or after `from_ms` when `path` holds its policy share of the
/// cluster's memory (less [`SHARE_TOLERANCE_POINTS`]), from the report's per-queue series.
fn first_sample_at_share(run: &Run, path: &str, share_percent: f64, from_ms: i64) -> Option<i64> {
    let series = &run.report.time_series;
    let total = run.report.workload.total_memory_mb as f64;
    let queue = series.queues.iter().find(|queue| queue.path == path)?;
    series
        .cluster
        .iter()
        .zip(&queue.used_memory_mb)
        .find(|(sample, used)| {
            sample.time_ms >= from_ms
                && **used as f64 / total * 100.0 >= share_percent - SHARE_TOLERANCE_POINTS
        })
        .map(|(sample, _)| sample.time_ms)
}

/// Runs `scenario`'s two jobs, the second [`LATE_SUBMISSION_MS`] after the first, with the
/// configuration `with` (preemption on) and `without`; returns the time from the late
/// submission to its queue reaching `share_percent` in each (None: never, in the run).
fn time_to_share(
    with: &Scenario,
    without: &Scenario,
    late_queue: &str,
    share_percent: f64,
) -> (Option<i64>, Option<i64>) {
    let settings = SimulationSettings {
        end_after_ms: Some(PREEMPTION_RUN_MS),
        ..settings()
    };
    let measure = |scenario: &Scenario| {
        let run = simulate_with(scenario, &[0, 1], LATE_SUBMISSION_MS, &settings);
        first_sample_at_share(&run, late_queue, share_percent, LATE_SUBMISSION_MS)
            .map(|reached| reached - LATE_SUBMISSION_MS)
    };
    (measure(with), measure(without))
}

#[test]
fn with_fair_share_preemption_a_late_queue_reaches_its_share_within_timeout_and_grace() {
    // fairSharePreemptionTimeout 5 s, threshold 1.0, waitTimeBeforeKill 2 s; the NMs heartbeat
    // every second (the simulator's tick). dev.eng's AM waits for the first room taken back (it
    // counts as wanting its whole share, so one round takes back room for its tasks too); the
    // part of its share beyond its steady share (dev's 60% split between eng and science) then
    // waits its 2 s share window: 5 + 2 + 2 s and a heartbeat or two.
    let without = fair_prod_and_dev_eng();
    let with = Scenario {
        conf: "fair-seed-preemption-conf",
        ..without.clone()
    };
    let (with_ms, without_ms) = time_to_share(&with, &without, "root.dev.eng", 60.0);
    eprintln!(
        "Fair, seed allocation file, dev.eng submitted {LATE_SUBMISSION_MS} ms after prod filled \
         the cluster: time to 60% (± {SHARE_TOLERANCE_POINTS} points) with fair-share preemption \
         {with_ms:?} ms, without {without_ms:?} ms (None: not within {PREEMPTION_RUN_MS} ms)"
    );
    assert!(
        with_ms.is_some_and(|ms| ms <= 5_000 + 2_000 + 2_000 + 2_000),
        "with preemption dev.eng reaches its share within timeout + grace + its share window \
         (+ 2 heartbeats): {with_ms:?} ms"
    );
    assert_eq!(
        without_ms, None,
        "without preemption the late queue waits for prod's hour-long tasks"
    );
}

#[test]
fn with_the_capacity_preemption_monitor_a_late_queue_reaches_its_guarantee() {
    // YARN's defaults: a round every 3 s taking a fifth of each queue's excess
    // (natural_termination_factor) and at most 10% of the cluster, containers killed 15 s after
    // the AM is told: the guarantee comes back over minutes, not seconds.
    let without = capacity_memory();
    let with = Scenario {
        conf: "capacity-guarantees-preemption-conf",
        ..without.clone()
    };
    let late_queue = format!("root.{}", without.jobs[1].queue);
    let guarantee = if without.jobs[1].queue == "small" {
        30.0
    } else {
        70.0
    };
    let (with_ms, without_ms) = time_to_share(&with, &without, &late_queue, guarantee);
    eprintln!(
        "Capacity, {late_queue} (guaranteed {guarantee}%) submitted {LATE_SUBMISSION_MS} ms after \
         the other queue filled the cluster: time to its guarantee (± {SHARE_TOLERANCE_POINTS} \
         points) with the preemption monitor {with_ms:?} ms, without {without_ms:?} ms"
    );
    assert!(
        with_ms.is_some_and(|ms| ms <= PREEMPTION_RUN_MS - LATE_SUBMISSION_MS),
        "with the monitor the late queue reaches its guarantee: {with_ms:?} ms"
    );
    assert_eq!(
        without_ms, None,
        "without preemption it waits for hour-long tasks"
    );
}
