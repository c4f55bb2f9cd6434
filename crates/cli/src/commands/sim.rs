//! `spindle sim` (the scheduler load simulator: an SLS trace or a synthetic workload replayed
//! against the real scheduling core, with a report) and `spindle bench scheduler` (the
//! scheduling core's allocation throughput and latency at cluster scale).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use spindle_sim::bench::{
    machine_description, results_table, run_core_benchmark, BenchPolicy, CoreBenchmarkSpec,
};
use spindle_sim::report::{write_file, write_report};
use spindle_sim::synthetic::{generate_workload, parse_weighted_queues, SyntheticWorkloadSpec};
use spindle_sim::trace::{load_sls_workload, sls_nodes_text, sls_trace_text};
use spindle_sim::{
    run_simulation, scheduler_setup, LogNormal, ResourceDefaults, SimulationReport,
    SimulationSettings,
};
use spindle_types::Resource;

#[derive(clap::Args, Debug)]
#[command(
    about = "Replay an SLS trace or a synthetic workload against the scheduling core on a virtual clock",
    long_about = "Replays a YARN SLS job trace (with an SLS nodes file) or a seeded synthetic workload \
against Spindle's real scheduling core, with simulated NodeManagers and ApplicationMasters on a \
virtual clock, and writes report.html, report.json, summary.json and CSV files to --out.\n\n\
The scheduler is configured as the RM configures it: yarn-site.xml and capacity-scheduler.xml or \
the Fair Scheduler allocation file from --conf-dir, or YARN's defaults without it (the \
environment's HADOOP_CONF_DIR is not consulted, so runs are reproducible).\n\n\
Examples:\n  spindle sim --trace sls-jobs.json --nodes-file sls-nodes.json --conf-dir conf --out sim-out\n  \
spindle sim --synthetic --nodes 500 --jobs 2000 --seed 7 --queues prod:3,dev:1 --out sim-out"
)]
pub struct SimArgs {
    /// SLS JSON job trace to replay.
    #[arg(long, value_name = "FILE", required_unless_present = "synthetic")]
    pub trace: Option<PathBuf>,
    /// SLS nodes file (racks and nodes). Without it: the trace's num.nodes, else its hosts.
    #[arg(long, value_name = "FILE", requires = "trace")]
    pub nodes_file: Option<PathBuf>,
    /// Generate a seeded synthetic workload instead of reading a trace.
    #[arg(long, conflicts_with_all = ["trace", "nodes_file"])]
    pub synthetic: bool,
    /// Directory for the report and data files (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub synthetic_workload: SyntheticArgs,
    #[command(flatten)]
    pub sizes: SizeArgs,
    #[command(flatten)]
    pub behaviour: BehaviourArgs,
}

/// The synthetic workload (with --synthetic).
#[derive(clap::Args, Debug)]
#[command(next_help_heading = "Synthetic workload (with --synthetic)")]
pub struct SyntheticArgs {
    /// Number of nodes.
    #[arg(long, default_value_t = 100, requires = "synthetic")]
    pub nodes: usize,
    /// Nodes per rack.
    #[arg(long, default_value_t = 40, requires = "synthetic")]
    pub nodes_per_rack: usize,
    /// Number of jobs.
    #[arg(long, default_value_t = 100, requires = "synthetic")]
    pub jobs: usize,
    /// Random seed: the same seed gives the same workload and the same report.
    #[arg(long, default_value_t = 1, requires = "synthetic")]
    pub seed: u64,
    /// Mean job submissions per second of virtual time (Poisson arrivals).
    #[arg(long, default_value_t = 1.0, requires = "synthetic")]
    pub arrival_rate: f64,
    /// Queues jobs go to, with relative weights: `prod:3,dev:1`.
    #[arg(long, default_value = "default", requires = "synthetic")]
    pub queues: String,
    /// Number of users (user1..userN), jobs spread evenly.
    #[arg(long, default_value_t = 4, requires = "synthetic")]
    pub users: usize,
    /// Mean map tasks per job (log-normal).
    #[arg(long, default_value_t = 20.0, requires = "synthetic")]
    pub maps_mean: f64,
    #[arg(long, default_value_t = 15.0, requires = "synthetic")]
    pub maps_stddev: f64,
    /// Mean reduce tasks per job (log-normal; 0 for map-only jobs).
    #[arg(long, default_value_t = 2.0, requires = "synthetic")]
    pub reduces_mean: f64,
    #[arg(long, default_value_t = 1.0, requires = "synthetic")]
    pub reduces_stddev: f64,
    /// Mean task duration in milliseconds (log-normal).
    #[arg(long, default_value_t = 30_000.0, requires = "synthetic")]
    pub task_duration_mean_ms: f64,
    #[arg(long, default_value_t = 15_000.0, requires = "synthetic")]
    pub task_duration_stddev_ms: f64,
    /// Share of map tasks (0 to 1) that prefer one host.
    #[arg(long, default_value_t = 0.8, requires = "synthetic")]
    pub locality: f64,
}

/// Sizes used where the workload names none (SLS's defaults).
#[derive(clap::Args, Debug)]
#[command(next_help_heading = "Sizes")]
pub struct SizeArgs {
    /// Memory of a node the nodes file gives no memory-mb (and of synthetic nodes).
    #[arg(long, default_value_t = 10240)]
    pub node_memory_mb: i64,
    #[arg(long, default_value_t = 10)]
    pub node_vcores: i64,
    /// Size of a task container the trace gives no size (and of synthetic tasks).
    #[arg(long, default_value_t = 1024)]
    pub container_memory_mb: i64,
    #[arg(long, default_value_t = 1)]
    pub container_vcores: i64,
    /// Size of an AM container the trace gives no am.memory-mb/am.vcores.
    #[arg(long, default_value_t = 1024)]
    pub am_memory_mb: i64,
    #[arg(long, default_value_t = 1)]
    pub am_vcores: i64,
}

/// How simulated AMs and NMs behave and how the run is measured.
#[derive(clap::Args, Debug)]
#[command(next_help_heading = "Simulation")]
pub struct BehaviourArgs {
    /// AM allocate interval: containers reach their AM at its next heartbeat.
    #[arg(long, default_value_t = 1000)]
    pub am_heartbeat_ms: i64,
    /// From the AM container's allocation to the AM's registration.
    #[arg(long, default_value_t = 0)]
    pub am_launch_delay_ms: i64,
    /// From a task container's acquisition to its task starting.
    #[arg(long, default_value_t = 0)]
    pub container_launch_delay_ms: i64,
    /// How often the scheduler is told the time while work remains (0: only at events).
    #[arg(long, default_value_t = 1000)]
    pub scheduler_tick_ms: i64,
    /// Resolution of the time series [default: 1 s, coarser for traces spanning over 5.5 hours].
    #[arg(long)]
    pub sample_interval_ms: Option<i64>,
    /// Stop at this virtual time (milliseconds after the first submission).
    #[arg(long)]
    pub end_after_ms: Option<i64>,
    /// Give up when nothing could progress for this long (jobs that never fit).
    #[arg(long, default_value_t = 600_000)]
    pub stall_timeout_ms: i64,
    /// Check the scheduler's conservation invariants after every event (slow).
    #[arg(long)]
    pub check_invariants: bool,
}

/// `spindle sim`. `conf_dir` is the global `--conf-dir` (None: YARN's defaults).
pub fn run(conf_dir: Option<&Path>, args: SimArgs) -> anyhow::Result<i32> {
    let defaults = ResourceDefaults {
        node: Resource::new(args.sizes.node_memory_mb, args.sizes.node_vcores),
        container: Resource::new(args.sizes.container_memory_mb, args.sizes.container_vcores),
        am_container: Resource::new(args.sizes.am_memory_mb, args.sizes.am_vcores),
    };
    let setup = scheduler_setup(conf_dir).context("configuring the scheduler")?;
    let workload = if args.synthetic {
        let options = &args.synthetic_workload;
        let spec = SyntheticWorkloadSpec {
            seed: options.seed,
            nodes: options.nodes,
            nodes_per_rack: options.nodes_per_rack,
            node_capability: defaults.node.clone(),
            jobs: options.jobs,
            arrivals_per_second: options.arrival_rate,
            queues: parse_weighted_queues(&options.queues)?,
            users: options.users,
            maps: LogNormal {
                mean: options.maps_mean,
                stddev: options.maps_stddev,
            },
            reduces: LogNormal {
                mean: options.reduces_mean,
                stddev: options.reduces_stddev,
            },
            task_duration_ms: LogNormal {
                mean: options.task_duration_mean_ms,
                stddev: options.task_duration_stddev_ms,
            },
            task_resource: defaults.container.clone(),
            am_resource: defaults.am_container.clone(),
            locality: options.locality,
        };
        generate_workload(&spec)?
    } else {
        let trace = args
            .trace
            .as_deref()
            .expect("clap requires --trace without --synthetic");
        let loaded = load_sls_workload(trace, args.nodes_file.as_deref(), &defaults)?;
        if !loaded.ignored_fields.is_empty() {
            let names: Vec<&str> = loaded.ignored_fields.iter().map(String::as_str).collect();
            eprintln!(
                "note: fields the simulator does not use: {}",
                names.join(", ")
            );
        }
        loaded.workload
    };
    let behaviour = &args.behaviour;
    let sample_interval_ms = behaviour
        .sample_interval_ms
        .unwrap_or_else(|| SimulationSettings::sample_interval_for(&workload));
    if sample_interval_ms <= 0 {
        bail!("--sample-interval-ms must be positive");
    }
    let settings = SimulationSettings {
        am_heartbeat_interval_ms: behaviour.am_heartbeat_ms.max(0),
        am_launch_delay_ms: behaviour.am_launch_delay_ms.max(0),
        container_launch_delay_ms: behaviour.container_launch_delay_ms.max(0),
        scheduler_tick_interval_ms: behaviour.scheduler_tick_ms.max(0),
        sample_interval_ms,
        end_after_ms: behaviour.end_after_ms,
        stall_timeout_ms: behaviour.stall_timeout_ms.max(0),
        check_invariants: behaviour.check_invariants,
        ..SimulationSettings::default()
    };
    println!(
        "spindle sim: {}; {} nodes in {} racks, {} jobs, {} tasks",
        workload.description,
        workload.nodes.len(),
        workload.rack_count(),
        workload.jobs.len(),
        workload.task_count()
    );
    println!(
        "scheduler: {} ({}){}",
        setup.policy_name(),
        setup.class_name,
        if setup.files_read.is_empty() {
            " with YARN's defaults".to_string()
        } else {
            format!(
                " from {}",
                setup
                    .files_read
                    .iter()
                    .map(|path| path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    let started = Instant::now();
    let report = run_simulation(&workload, &setup, &settings)?;
    let wall_seconds = started.elapsed().as_secs_f64();
    let mut written = write_report(&report, &args.out)
        .with_context(|| format!("writing the report to {}", args.out.display()))?;
    if args.synthetic {
        written.push(write_file(
            &args.out,
            "workload-trace.json",
            &sls_trace_text(&workload),
        )?);
        written.push(write_file(
            &args.out,
            "workload-nodes.json",
            &sls_nodes_text(&workload.nodes),
        )?);
    }
    print_summary(&report, wall_seconds);
    println!("report: {}", args.out.join("report.html").display());
    println!(
        "data: {}",
        written
            .iter()
            .filter_map(|path| path.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(0)
}

fn print_summary(report: &SimulationReport, wall_seconds: f64) {
    let summary = &report.summary;
    let virtual_seconds = summary.end_time_ms as f64 / 1000.0;
    println!(
        "simulated {:.1} s of cluster time in {:.2} s ({:.0}x); {} scheduler events ({:.0}/s)",
        virtual_seconds,
        wall_seconds,
        virtual_seconds / wall_seconds.max(1e-9),
        summary.scheduler_events,
        summary.scheduler_events as f64 / wall_seconds.max(1e-9)
    );
    println!(
        "jobs: {} completed, {} rejected, {} failed, {} unfinished{}; makespan {:.1} s",
        summary.jobs_completed,
        summary.jobs_rejected,
        summary.jobs_failed,
        summary.jobs_unfinished,
        if summary.stalled {
            " (stopped: nothing could progress)"
        } else {
            ""
        },
        summary.makespan_ms as f64 / 1000.0
    );
    println!(
        "utilization: mean memory {:.1}%, vcores {:.1}%; peak memory {:.1}%, vcores {:.1}%",
        summary.utilization.mean_memory_percent,
        summary.utilization.mean_vcores_percent,
        summary.utilization.peak_memory_percent,
        summary.utilization.peak_vcores_percent
    );
    let task = &summary.task_allocation_latency_ms;
    let am = &summary.am_allocation_latency_ms;
    println!(
        "allocation latency (ms): tasks p50 {} p90 {} p99 {} max {}; AMs p50 {} p99 {} max {}",
        task.p50, task.p90, task.p99, task.max, am.p50, am.p99, am.max
    );
    let completion = &summary.job_completion_time_ms;
    println!(
        "job completion (ms): p50 {} p90 {} p99 {} max {}",
        completion.p50, completion.p90, completion.p99, completion.max
    );
    let mut reasons: std::collections::BTreeMap<(&str, String), usize> = Default::default();
    for job in &report.jobs {
        if !job.diagnostics.is_empty() {
            *reasons
                .entry((job.outcome.name(), job.reason()))
                .or_insert(0) += 1;
        }
    }
    for ((outcome, reason), count) in reasons.iter().take(5) {
        println!("  {count} {outcome}: {reason}");
    }
    if reasons.len() > 5 {
        println!("  ... and {} other reasons (jobs.csv)", reasons.len() - 5);
    }
    let locality = &summary.task_locality;
    println!(
        "task locality: node-local {:.1}%, rack-local {:.1}%, off-switch {:.1}%; containers preempted {}",
        locality.node_local_fraction * 100.0,
        locality.rack_local_fraction * 100.0,
        locality.off_switch_fraction * 100.0,
        summary.containers_preempted
    );
}

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub target: BenchTarget,
}

#[derive(clap::Subcommand, Debug)]
pub enum BenchTarget {
    /// The scheduling core alone: allocations per second and per-call latency, one thread.
    Scheduler(SchedulerBenchArgs),
}

#[derive(clap::Args, Debug)]
pub struct SchedulerBenchArgs {
    /// Cluster sizes to measure.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000, 10_000, 50_000])]
    pub nodes: Vec<usize>,
    /// Running applications to measure.
    #[arg(long, value_delimiter = ',', default_values_t = [100, 10_000])]
    pub applications: Vec<usize>,
    /// Leaf queue counts to measure (capacity and fair policies; FIFO has one).
    #[arg(long, value_delimiter = ',', default_values_t = [1])]
    pub queues: Vec<usize>,
    /// Schedulers to measure: fifo, capacity, fair.
    #[arg(long, value_delimiter = ',', default_values_t = ["fifo".to_string()])]
    pub policy: Vec<String>,
    /// Container finishes timed in the steady-state phase of each run.
    #[arg(long, default_value_t = 200_000)]
    pub churn: usize,
    /// Asks also name hosts and racks (node-local placement and delay scheduling).
    #[arg(long)]
    pub locality: bool,
    /// Dominant resource fairness (Capacity's DominantResourceCalculator, Fair's drf policy).
    #[arg(long)]
    pub drf: bool,
    /// The preemption monitor (Capacity) or fair-share preemption (Fair).
    #[arg(long)]
    pub preemption: bool,
    /// Node size (memory MB, vcores); containers are 1024 MB / 1 vcore.
    #[arg(long, default_value_t = 65_536)]
    pub node_memory_mb: i64,
    #[arg(long, default_value_t = 32)]
    pub node_vcores: i64,
}

/// `spindle bench ...`.
pub fn run_bench(args: BenchArgs) -> anyhow::Result<i32> {
    match args.target {
        BenchTarget::Scheduler(args) => bench_scheduler(args),
    }
}

fn bench_scheduler(args: SchedulerBenchArgs) -> anyhow::Result<i32> {
    let mut policies = Vec::new();
    for name in &args.policy {
        match BenchPolicy::parse(name) {
            Some(policy) => policies.push(policy),
            None => bail!("unknown policy {name:?}: expected fifo, capacity or fair"),
        }
    }
    println!("machine: {}", machine_description());
    println!(
        "command: {}",
        std::env::args().collect::<Vec<_>>().join(" ")
    );
    let mut results = Vec::new();
    let mut refused = Vec::new();
    for &policy in &policies {
        let queue_counts: Vec<usize> = if policy == BenchPolicy::Fifo {
            vec![1]
        } else {
            args.queues.clone()
        };
        for &queues in &queue_counts {
            for &nodes in &args.nodes {
                for &applications in &args.applications {
                    let spec = CoreBenchmarkSpec {
                        nodes,
                        applications,
                        queues,
                        policy,
                        node_capability: Resource::new(args.node_memory_mb, args.node_vcores),
                        container: Resource::new(1024, 1),
                        churn_finishes: args.churn,
                        locality: args.locality,
                        dominant_resource_fairness: args.drf,
                        preemption: args.preemption,
                    };
                    eprintln!(
                        "running: {} scheduler, {nodes} nodes, {queues} queues, {applications} applications",
                        policy.name()
                    );
                    match run_core_benchmark(&spec) {
                        Ok(result) => results.push(result),
                        Err(error) => {
                            eprintln!("  skipped: {error}");
                            refused
                                .push(format!("{} with {queues} queues: {error}", policy.name()));
                        }
                    }
                }
            }
        }
    }
    println!();
    print!("{}", results_table(&results));
    for line in &refused {
        println!("not measured: {line}");
    }
    Ok(if results.is_empty() { 1 } else { 0 })
}
