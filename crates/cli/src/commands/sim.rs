//! `spindle sim` (the scheduler load simulator: an SLS trace or a synthetic workload replayed
//! against the real scheduling core, with a report), `spindle bench scheduler` (the
//! scheduling core's allocation throughput and latency at cluster scale), `spindle bench rm`
//! (the whole ResourceManager over Hadoop IPC with simulated NMs and AMs) and `spindle bench
//! submit` (submit to AM container allocated and running, on the minicluster).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use spindle_sim::bench::{
    machine_description, results_table, run_core_benchmark, BenchPolicy, CoreBenchmarkSpec,
};
use spindle_sim::report::{write_file, write_report};
use spindle_sim::rm_bench::{
    rm_result_markdown, run_rm_benchmark, run_submit_benchmark, serve_rm_until_stdin_closes,
    submit_result_markdown, AmFleetSpec, RmBenchSpec, RmPlacement, RmServeSettings,
    SubmitBenchSpec,
};
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
    /// The whole ResourceManager over Hadoop IPC: simulated NMs heartbeat, simulated AMs allocate.
    Rm(RmBenchArgs),
    /// submitApplication to AM container allocated, launched and running, on the minicluster.
    Submit(SubmitBenchArgs),
    /// The RM's web UI and REST API on a big cluster's state: time to the last byte per page.
    Web(WebBenchArgs),
    /// Scaling curves of the scheduling core: cost per allocation over nodes, queues,
    /// applications and pending requests, plotted in scaling.html.
    Scaling(super::scaling::ScalingBenchArgs),
    /// The RM under test of `bench rm`, in its own process (started by `bench rm`).
    #[command(hide = true)]
    RmServe(RmServeArgs),
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
    /// How node passes treat applications that wait for other hosts: `step` over runs of them
    /// (Spindle's walk) or `visit` each one; both give the same decisions. A list measures each.
    #[arg(long, value_delimiter = ',', default_values_t = ["step".to_string()])]
    pub walk: Vec<String>,
    /// What the scheduler grants at once: `within-share` (each application up to its share;
    /// the default) or `all` (everything that fits, in arrival order: Spindle before issue 10).
    /// A list measures each.
    #[arg(long, value_delimiter = ',', default_values_t = ["within-share".to_string()])]
    pub immediate_allocation: Vec<String>,
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
        BenchTarget::Rm(args) => bench_rm(args),
        BenchTarget::Submit(args) => bench_submit(args),
        BenchTarget::Web(args) => bench_web(args),
        BenchTarget::Scaling(args) => super::scaling::run(args),
        BenchTarget::RmServe(args) => {
            let settings = RmServeSettings::from_json(&args.settings)?;
            serve_rm_on_own_thread(settings)?;
            Ok(0)
        }
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
    let mut walks = Vec::new();
    for walk in &args.walk {
        match walk.as_str() {
            "step" => walks.push(false),
            "visit" => walks.push(true),
            other => bail!("unknown walk {other:?}: expected step or visit"),
        }
    }
    let mut modes = Vec::new();
    for mode in &args.immediate_allocation {
        match mode.as_str() {
            "within-share" => modes.push(false),
            "all" => modes.push(true),
            other => bail!("unknown immediate allocation {other:?}: expected within-share or all"),
        }
    }
    let walks: Vec<(bool, bool)> = walks
        .iter()
        .flat_map(|&walk| modes.iter().map(move |&all| (walk, all)))
        .collect();
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
                for (&applications, &(visit_each, all_at_once)) in args
                    .applications
                    .iter()
                    .flat_map(|applications| walks.iter().map(move |walk| (applications, walk)))
                {
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
                        pending_per_application: None,
                        visit_each,
                        all_at_once,
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

#[derive(clap::Args, Debug)]
#[command(
    long_about = "Starts a real ResourceManager (in a child process unless --in-process) and drives it \
over Hadoop IPC on loopback: simulated NodeManagers register and heartbeat on the ResourceTracker, \
applications are submitted through the client protocol, the RM launches their AM containers on \
simulated NMs that really listen, and each simulated AM registers with its AMRMToken and calls \
allocate every interval. Containers run on their simulated NMs for --task-ms and are reported \
complete by heartbeat; every --release-every-th is released instead. After a warm-up, a window of \
--seconds is measured: allocations/s, allocate() and heartbeat latency, the RM's CPU; the RM's \
resident memory is read after the applications, after the nodes, and (with --containers-per-am) \
after that many containers per application are running.\n\n\
Examples:\n  spindle bench rm --nodes 10000 --applications 1000\n  \
spindle bench rm --nodes 10000 --applications 0            # heartbeats only\n  \
spindle bench rm --nodes 10000 --applications 1000 --containers-per-am 100   # memory"
)]
pub struct RmBenchArgs {
    /// Task nodes (NMs that only run task containers).
    #[arg(long, default_value_t = 10_000)]
    pub nodes: usize,
    #[arg(long, default_value_t = 16 * 1024)]
    pub node_memory_mb: i64,
    #[arg(long, default_value_t = 16)]
    pub node_vcores: i64,
    /// Nodes that listen for the RM's AM launches (each sized for its share of AMs only).
    #[arg(long, default_value_t = 10)]
    pub am_nodes: usize,
    /// Simulated NMs sharing one IPC connection to the RM.
    #[arg(long, default_value_t = 100)]
    pub nodes_per_connection: usize,
    /// NM heartbeat interval (yarn.resourcemanager.nodemanagers.heartbeat-interval-ms).
    #[arg(long, default_value_t = 1000)]
    pub heartbeat_ms: u64,
    /// Applications, one simulated AM each (0: NM heartbeats only).
    #[arg(long, visible_alias = "ams", default_value_t = 1000)]
    pub applications: usize,
    /// Sleep between an allocate answer and the next allocate.
    #[arg(long, default_value_t = 1000)]
    pub am_interval_ms: u64,
    /// Pending containers each AM keeps asked for.
    #[arg(long, default_value_t = 100)]
    pub outstanding: u32,
    /// Instead: exactly this many containers per AM, running until the end (memory).
    #[arg(long)]
    pub containers_per_am: Option<u32>,
    /// How long a task container runs.
    #[arg(long, default_value_t = 1000)]
    pub task_ms: u64,
    /// Release every n-th allocated container instead of running it (0: never).
    #[arg(long, default_value_t = 10)]
    pub release_every: u32,
    /// Container size (memory MB, vcores); AM containers are the same size.
    #[arg(long, default_value_t = 1024)]
    pub container_memory_mb: i64,
    #[arg(long, default_value_t = 1)]
    pub container_vcores: i64,
    /// The RM's scheduler: fifo, capacity or fair.
    #[arg(long, default_value = "fifo")]
    pub policy: String,
    /// Leaf queues (capacity and fair); applications are spread over them.
    #[arg(long, default_value_t = 1)]
    pub queues: usize,
    /// Warm-up before the measured window.
    #[arg(long, default_value_t = 10)]
    pub warmup_seconds: u64,
    /// The measured window.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Limit on each setup step (registration, submission, placing fixed containers).
    #[arg(long, default_value_t = 300)]
    pub setup_timeout_seconds: u64,
    /// Clients that call getApplications in a loop while the AMs ask (dashboards, watchers).
    #[arg(long, default_value_t = 0)]
    pub report_pollers: usize,
    /// Run the RM in this process (CPU per thread; RSS then includes the load generator).
    #[arg(long)]
    pub in_process: bool,
    /// Worker threads of the RM's runtime.
    #[arg(long, default_value_t = 2)]
    pub rm_threads: usize,
    /// Worker threads of the load generator's runtime.
    #[arg(long, default_value_t = 2)]
    pub load_threads: usize,
    /// Start the RM process under this command, e.g. "valgrind --tool=massif" or
    /// "perf record -g -o rm.perf" (split at spaces).
    #[arg(long, value_name = "COMMAND", conflicts_with = "in_process")]
    pub rm_wrapper: Option<String>,
}

impl RmBenchArgs {
    /// The run these arguments describe; the RM runs as `program bench rm-serve` unless in-process.
    pub fn spec(&self, program: Option<PathBuf>) -> anyhow::Result<RmBenchSpec> {
        let Some(policy) = BenchPolicy::parse(&self.policy) else {
            bail!(
                "unknown policy {:?}: expected fifo, capacity or fair",
                self.policy
            );
        };
        if self.queues == 0 {
            bail!("--queues must be at least 1");
        }
        if self.heartbeat_ms == 0 {
            bail!("--heartbeat-ms must be positive");
        }
        if self.seconds == 0 {
            bail!("--seconds must be positive");
        }
        let placement = match (self.in_process, program) {
            (true, _) => RmPlacement::InProcess,
            (false, Some(program)) => {
                let mut command: Vec<String> = self
                    .rm_wrapper
                    .iter()
                    .flat_map(|wrapper| wrapper.split_whitespace().map(str::to_string))
                    .collect();
                command.push(program.display().to_string());
                command.extend(["bench".to_string(), "rm-serve".to_string()]);
                let program = PathBuf::from(command.remove(0));
                RmPlacement::ChildProcess {
                    program,
                    args: command,
                }
            }
            (false, None) => {
                bail!("cannot find this program to start the RM process; use --in-process")
            }
        };
        let container = Resource::new(self.container_memory_mb, self.container_vcores);
        Ok(RmBenchSpec {
            placement,
            policy,
            queues: self.queues,
            rm_worker_threads: self.rm_threads,
            load_worker_threads: self.load_threads,
            nodes: self.nodes,
            node_capability: Resource::new(self.node_memory_mb, self.node_vcores),
            am_nodes: self.am_nodes,
            nodes_per_connection: self.nodes_per_connection,
            heartbeat_interval: Duration::from_millis(self.heartbeat_ms),
            applications: AmFleetSpec {
                applications: self.applications,
                queues: RmBenchSpec::queue_names(policy, self.queues),
                am_resource: container.clone(),
                container,
                outstanding_asks: self.outstanding,
                containers_per_am: self.containers_per_am,
                allocate_interval: Duration::from_millis(self.am_interval_ms),
                task_duration: Duration::from_millis(self.task_ms),
                release_every: self.release_every,
            },
            report_pollers: self.report_pollers,
            warmup: Duration::from_secs(self.warmup_seconds),
            measure: Duration::from_secs(self.seconds),
            setup_timeout: Duration::from_secs(self.setup_timeout_seconds),
        })
    }
}

#[derive(clap::Args, Debug)]
pub struct SubmitBenchArgs {
    /// Applications submitted, one after another.
    #[arg(long, default_value_t = 20)]
    pub applications: usize,
    /// NodeManagers of the minicluster.
    #[arg(long, default_value_t = 2)]
    pub nodes: usize,
    /// NM heartbeat interval.
    #[arg(long, default_value_t = 1000)]
    pub heartbeat_ms: u64,
    /// The AM command is `sleep` this long.
    #[arg(long, default_value_t = 1)]
    pub sleep_seconds: u32,
    /// Directory for the cluster (default: a temporary one, removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct WebBenchArgs {
    /// Leaf queues of the CapacityScheduler.
    #[arg(long, default_value_t = 1000)]
    pub queues: usize,
    /// Applications submitted (they wait in ACCEPTED: the cluster has no NodeManager).
    #[arg(long, default_value_t = 10_000)]
    pub applications: usize,
    /// Fetches of each page.
    #[arg(long, default_value_t = 20)]
    pub requests: usize,
}

#[derive(clap::Args, Debug)]
pub struct RmServeArgs {
    /// The RM's settings as JSON (written by `bench rm`).
    #[arg(long)]
    pub settings: String,
}

/// The child side of `bench rm`: its own thread, since this one runs inside the CLI's runtime.
fn serve_rm_on_own_thread(settings: RmServeSettings) -> anyhow::Result<()> {
    std::thread::spawn(move || serve_rm_until_stdin_closes(&settings))
        .join()
        .map_err(|_| anyhow::anyhow!("the RM thread panicked"))??;
    Ok(())
}

fn bench_rm(args: RmBenchArgs) -> anyhow::Result<i32> {
    let spec = args.spec(std::env::current_exe().ok())?;
    println!("machine: {}", machine_description());
    println!(
        "command: {}",
        std::env::args().collect::<Vec<_>>().join(" ")
    );
    let result = run_rm_benchmark(&spec)?;
    println!();
    print!("{}", rm_result_markdown(&result));
    Ok(0)
}

fn bench_web(args: WebBenchArgs) -> anyhow::Result<i32> {
    let dir = std::env::temp_dir().join(format!("spindle-web-bench-{}", std::process::id()));
    let spec = spindle_sim::rm_bench::WebBenchSpec {
        queues: args.queues,
        applications: args.applications,
        requests: args.requests,
        base_dir: dir.clone(),
    };
    println!("machine: {}", machine_description());
    println!(
        "command: {}",
        std::env::args().collect::<Vec<_>>().join(" ")
    );
    let result = spindle_sim::rm_bench::run_web_benchmark(&spec);
    let _ = std::fs::remove_dir_all(dir);
    let timings = result?;
    println!();
    print!(
        "{}",
        spindle_sim::rm_bench::web_result_markdown(&spec, &timings)
    );
    Ok(0)
}

fn bench_submit(args: SubmitBenchArgs) -> anyhow::Result<i32> {
    let temporary = match &args.dir {
        Some(_) => None,
        None => {
            Some(std::env::temp_dir().join(format!("spindle-submit-bench-{}", std::process::id())))
        }
    };
    let base_dir = args
        .dir
        .clone()
        .or_else(|| temporary.clone())
        .expect("one of the two");
    let spec = SubmitBenchSpec {
        applications: args.applications,
        nodes: args.nodes,
        nm_heartbeat_interval: Duration::from_millis(args.heartbeat_ms.max(1)),
        am_sleep_seconds: args.sleep_seconds,
        base_dir,
    };
    println!("machine: {}", machine_description());
    println!(
        "command: {}",
        std::env::args().collect::<Vec<_>>().join(" ")
    );
    let result = run_submit_benchmark(&spec);
    if let Some(dir) = temporary {
        let _ = std::fs::remove_dir_all(dir);
    }
    let result = result?;
    println!();
    print!("{}", submit_result_markdown(&result));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(subcommand)]
        target: BenchTarget,
    }

    fn rm_args(line: &[&str]) -> RmBenchArgs {
        let mut argv = vec!["bench", "rm"];
        argv.extend_from_slice(line);
        match Cli::try_parse_from(argv).unwrap().target {
            BenchTarget::Rm(args) => args,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn bench_rm_defaults_describe_the_issue_s_run_in_a_child_process() {
        let spec = rm_args(&[])
            .spec(Some(PathBuf::from("/bin/spindle")))
            .unwrap();
        assert_eq!(spec.nodes, 10_000);
        assert_eq!(spec.applications.applications, 1_000);
        assert_eq!(spec.heartbeat_interval, Duration::from_secs(1));
        assert_eq!(
            spec.placement,
            RmPlacement::ChildProcess {
                program: PathBuf::from("/bin/spindle"),
                args: vec!["bench".into(), "rm-serve".into()],
            }
        );
        assert_eq!(spec.applications.queues, vec!["default".to_string()]);
        assert_eq!(spec.applications.containers_per_am, None);
    }

    #[test]
    fn bench_rm_options_reach_the_spec() {
        let spec = rm_args(&[
            "--nodes",
            "50",
            "--ams",
            "7",
            "--containers-per-am",
            "100",
            "--policy",
            "capacity",
            "--queues",
            "3",
            "--in-process",
            "--task-ms",
            "0",
            "--heartbeat-ms",
            "250",
        ])
        .spec(None)
        .unwrap();
        assert_eq!(spec.nodes, 50);
        assert_eq!(spec.applications.applications, 7);
        assert_eq!(spec.applications.containers_per_am, Some(100));
        assert_eq!(spec.placement, RmPlacement::InProcess);
        assert_eq!(spec.applications.queues, vec!["q0", "q1", "q2"]);
        assert_eq!(spec.applications.task_duration, Duration::ZERO);
        assert_eq!(spec.heartbeat_interval, Duration::from_millis(250));
    }

    #[test]
    fn a_wrapper_command_goes_in_front_of_the_rm_process() {
        let spec = rm_args(&["--rm-wrapper", "valgrind  --tool=massif"])
            .spec(Some(PathBuf::from("/bin/spindle")))
            .unwrap();
        assert_eq!(
            spec.placement,
            RmPlacement::ChildProcess {
                program: PathBuf::from("valgrind"),
                args: vec![
                    "--tool=massif".into(),
                    "/bin/spindle".into(),
                    "bench".into(),
                    "rm-serve".into()
                ],
            }
        );
    }

    #[test]
    fn bench_rm_refuses_bad_options_with_the_reason() {
        let error = rm_args(&["--policy", "lottery"]).spec(None).unwrap_err();
        assert!(error.to_string().contains("lottery"), "{error}");
        let error = rm_args(&["--queues", "0", "--in-process"])
            .spec(None)
            .unwrap_err();
        assert!(error.to_string().contains("--queues"), "{error}");
        let error = rm_args(&["--heartbeat-ms", "0", "--in-process"])
            .spec(None)
            .unwrap_err();
        assert!(error.to_string().contains("--heartbeat-ms"), "{error}");
        let error = rm_args(&[]).spec(None).unwrap_err();
        assert!(error.to_string().contains("--in-process"), "{error}");
        assert!(Cli::try_parse_from(["bench", "rm", "--in-process", "--rm-wrapper", "x"]).is_err());
        assert!(Cli::try_parse_from(["bench", "rm", "--nodes", "many"]).is_err());
    }

    #[test]
    fn bench_submit_and_the_hidden_rm_serve_parse() {
        match Cli::try_parse_from(["bench", "submit", "--applications", "5"])
            .unwrap()
            .target
        {
            BenchTarget::Submit(args) => {
                assert_eq!(args.applications, 5);
                assert_eq!(args.nodes, 2);
            }
            other => panic!("parsed as {other:?}"),
        }
        match Cli::try_parse_from(["bench", "rm-serve", "--settings", "{}"])
            .unwrap()
            .target
        {
            BenchTarget::RmServe(args) => {
                assert!(RmServeSettings::from_json(&args.settings).is_err());
            }
            other => panic!("parsed as {other:?}"),
        }
    }
}
