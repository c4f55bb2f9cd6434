//! `spindle faults`: the fault suite. Real daemons (`spindle resourcemanager` and two
//! `spindle nodemanager`s, recovery on) run a load of concurrent distributed-shell applications;
//! each scenario injects one fault while they run and reports what a user would count: the
//! applications that finished or were lost, the containers that were lost or started twice, and
//! how long the cluster took to recover.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use spindle_client::{ApplicationFilter, YarnClient};
use spindle_types::states::{FinalApplicationStatus, NodeState, YarnApplicationState};

#[derive(clap::Args)]
pub struct FaultsArgs {
    /// Scenarios to run, in order: rm-kill (SIGKILL the RM, start it again), nm-kill (SIGKILL an
    /// NM, start it again with NM recovery), am-kill (SIGKILL one application's AM process),
    /// container-kill (SIGKILL one application's container process).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "rm-kill,nm-kill,am-kill,container-kill"
    )]
    pub scenarios: Vec<String>,
    /// Concurrent applications per scenario.
    #[arg(long, default_value_t = 6)]
    pub applications: usize,
    /// Containers per application.
    #[arg(long, default_value_t = 2)]
    pub containers: u32,
    /// How long each container runs (seconds): the fault comes while they run.
    #[arg(long, default_value_t = 10)]
    pub task_seconds: u64,
    /// Where the daemons' directories and logs go (default: a new temporary directory, removed
    /// afterwards unless --keep).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Keep the directories and logs.
    #[arg(long)]
    pub keep: bool,
}

/// What one scenario measured.
#[derive(Debug, Clone, Default)]
struct Outcome {
    scenario: String,
    submitted: usize,
    /// Applications that ended FINISHED with SUCCEEDED.
    succeeded: usize,
    /// Applications that ended FAILED or KILLED: the application's own verdict (the
    /// distributed shell fails when one of its commands fails).
    failed: usize,
    containers_started: usize,
    /// Started containers that never reached their end (killed by the fault).
    containers_lost: usize,
    /// Container ids started more than once (must be 0).
    duplicate_ids: usize,
    /// From the fault until the cluster served every node again (ms).
    recovery_ms: Option<u128>,
    /// From the start of the applications until the last one ended (ms).
    makespan_ms: u128,
}

impl Outcome {
    /// Applications the RM does not report in a final state: lost by the platform.
    fn lost(&self) -> usize {
        self.submitted - self.succeeded - self.failed
    }
}

/// A daemon or client process, killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// One cluster: its configuration directories and daemons.
struct Cluster {
    dir: PathBuf,
    rm_conf: PathBuf,
    nm_confs: Vec<PathBuf>,
    client_address: SocketAddr,
    rm: Option<Proc>,
    nms: Vec<Option<Proc>>,
    restarts: usize,
}

impl Cluster {
    fn new(dir: &Path, nodes: usize) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let (client, scheduler, tracker, admin) =
            (free_port()?, free_port()?, free_port()?, free_port()?);
        let rm_properties: Vec<(&str, String)> = vec![
            ("yarn.resourcemanager.hostname", "127.0.0.1".into()),
            (
                "yarn.resourcemanager.address",
                format!("127.0.0.1:{client}"),
            ),
            (
                "yarn.resourcemanager.scheduler.address",
                format!("127.0.0.1:{scheduler}"),
            ),
            (
                "yarn.resourcemanager.resource-tracker.address",
                format!("127.0.0.1:{tracker}"),
            ),
            (
                "yarn.resourcemanager.admin.address",
                format!("127.0.0.1:{admin}"),
            ),
            ("yarn.resourcemanager.recovery.enabled", "true".into()),
            (
                "yarn.resourcemanager.fs.state-store.uri",
                dir.join("rmstore").display().to_string(),
            ),
            (
                "yarn.resourcemanager.nodemanagers.heartbeat-interval-ms",
                "500".into(),
            ),
            ("yarn.scheduler.minimum-allocation-mb", "256".into()),
        ];
        let rm_conf = dir.join("conf");
        std::fs::create_dir_all(&rm_conf)?;
        spindle_conf::write_site_xml(&rm_conf.join("yarn-site.xml"), &rm_properties)?;
        let mut nm_confs = Vec::new();
        for index in 0..nodes {
            let nm_dir = dir.join(format!("nm-{index}"));
            let mut properties = rm_properties.clone();
            properties.extend([
                (
                    "yarn.nodemanager.address",
                    format!("127.0.0.1:{}", free_port()?),
                ),
                (
                    "yarn.nodemanager.webapp.address",
                    format!("127.0.0.1:{}", free_port()?),
                ),
                ("yarn.nodemanager.resource.memory-mb", "4096".into()),
                ("yarn.nodemanager.resource.cpu-vcores", "8".into()),
                (
                    "yarn.nodemanager.local-dirs",
                    nm_dir.join("local").display().to_string(),
                ),
                (
                    "yarn.nodemanager.log-dirs",
                    nm_dir.join("logs").display().to_string(),
                ),
                ("yarn.nodemanager.recovery.enabled", "true".into()),
                (
                    "yarn.nodemanager.recovery.dir",
                    nm_dir.join("recovery").display().to_string(),
                ),
                ("yarn.nodemanager.recovery.supervised", "true".into()),
            ]);
            let conf = nm_dir.join("conf");
            std::fs::create_dir_all(&conf)?;
            spindle_conf::write_site_xml(&conf.join("yarn-site.xml"), &properties)?;
            nm_confs.push(conf);
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            rm_conf,
            client_address: SocketAddr::from(([127, 0, 0, 1], client)),
            nms: (0..nm_confs.len()).map(|_| None).collect(),
            nm_confs,
            rm: None,
            restarts: 0,
        })
    }

    fn spawn(&mut self, conf: &Path, args: &[&str], log: &str) -> anyhow::Result<Proc> {
        let log = std::fs::File::create(self.dir.join(log))?;
        Ok(Proc(
            Command::new(std::env::current_exe()?)
                .arg("--conf-dir")
                .arg(conf)
                .args(args)
                .env("SPINDLE_LOG", "info")
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()?,
        ))
    }

    fn start_rm(&mut self) -> anyhow::Result<()> {
        self.restarts += 1;
        let conf = self.rm_conf.clone();
        let log = format!("rm-{}.log", self.restarts);
        self.rm = Some(self.spawn(&conf, &["resourcemanager"], &log)?);
        Ok(())
    }

    fn start_nm(&mut self, index: usize) -> anyhow::Result<()> {
        self.restarts += 1;
        let conf = self.nm_confs[index].clone();
        let log = format!("nm-{index}-{}.log", self.restarts);
        self.nms[index] = Some(self.spawn(&conf, &["nodemanager"], &log)?);
        Ok(())
    }

    /// Waits until the RM answers and every NM is RUNNING; how long that took.
    async fn wait_serving(&self, limit: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            if let Ok(client) = YarnClient::connect(self.client_address, "faults").await {
                if let Ok(nodes) = client.get_node_reports(&[NodeState::Running]).await {
                    if nodes.len() == self.nms.len() {
                        return Ok(started.elapsed());
                    }
                }
            }
            if started.elapsed() > limit {
                anyhow::bail!("the cluster did not serve all its nodes within {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn kill(proc: &mut Option<Proc>) {
        if let Some(mut p) = proc.take() {
            let _ = p.0.kill();
            let _ = p.0.wait();
            // Dropped after the kill: nothing else to stop.
        }
    }
}

/// Live container processes of this run (an environment value names the run's directory, as
/// the container's LOG_DIRS does): its AMs (`CONTAINER_ID` ending in `_000001`) or the others.
fn container_pids(run_dir: &str, am: bool) -> Vec<i32> {
    let mut pids = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let vars: Vec<String> = environ
            .split(|b| *b == 0)
            .map(|v| String::from_utf8_lossy(v).to_string())
            .collect();
        let ours = vars.iter().any(|v| v.contains(run_dir));
        let container = vars.iter().find_map(|v| v.strip_prefix("CONTAINER_ID="));
        if let (true, Some(container)) = (ours, container) {
            if container.ends_with("_000001") == am {
                pids.push(pid);
            }
        }
    }
    pids.sort_unstable();
    pids
}

fn sigkill(pid: i32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
}

/// Runs one scenario on a fresh cluster.
async fn run_scenario(args: &FaultsArgs, scenario: &str, dir: &Path) -> anyhow::Result<Outcome> {
    let mut cluster = Cluster::new(dir, 2)?;
    cluster.start_rm()?;
    for index in 0..cluster.nms.len() {
        cluster.start_nm(index)?;
    }
    cluster.wait_serving(Duration::from_secs(60)).await?;

    let marks = dir.join("containers.log");
    let command = format!(
        "echo \"start $CONTAINER_ID\" >> {m}; sleep {s}; echo \"end $CONTAINER_ID\" >> {m}",
        m = marks.display(),
        s = args.task_seconds
    );
    let containers = args.containers.to_string();
    let started = Instant::now();
    let mut clients = Vec::new();
    for index in 0..args.applications {
        let conf = cluster.rm_conf.clone();
        clients.push(cluster.spawn(
            &conf,
            &[
                "dshell",
                "--num-containers",
                &containers,
                "--container-memory",
                "256",
                "--shell-command",
                &command,
            ],
            &format!("dshell-{index}.log"),
        )?);
    }
    let run_dir = dir.display().to_string();
    // The fault comes once every application has a container running.
    let all_running = Instant::now();
    loop {
        let text = std::fs::read_to_string(&marks).unwrap_or_default();
        let starts = text.lines().filter(|l| l.starts_with("start ")).count();
        if starts >= args.applications {
            break;
        }
        if all_running.elapsed() > Duration::from_secs(120) {
            anyhow::bail!("{scenario}: the applications did not start within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut recovery = None;
    match scenario {
        "rm-kill" => {
            Cluster::kill(&mut cluster.rm);
            let fault = Instant::now();
            cluster.start_rm()?;
            cluster.wait_serving(Duration::from_secs(120)).await?;
            recovery = Some(fault.elapsed().as_millis());
        }
        "nm-kill" => {
            Cluster::kill(&mut cluster.nms[0]);
            let fault = Instant::now();
            cluster.start_nm(0)?;
            // The RM still lists the node RUNNING (it has not expired): recovered is when the
            // restarted NM has re-registered with its containers.
            let log = cluster.dir.join(format!("nm-0-{}.log", cluster.restarts));
            while !std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("registered with the ResourceManager")
            {
                if fault.elapsed() > Duration::from_secs(120) {
                    anyhow::bail!("nm-kill: the NM did not re-register within 120 s");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            recovery = Some(fault.elapsed().as_millis());
        }
        "am-kill" => {
            let pids = container_pids(&run_dir, true);
            if let Some(pid) = pids.first() {
                sigkill(*pid);
            }
        }
        "container-kill" => {
            let pids = container_pids(&run_dir, false);
            if let Some(pid) = pids.first() {
                sigkill(*pid);
            }
        }
        other => anyhow::bail!("unknown scenario {other:?}"),
    }

    for mut client in clients {
        let deadline = Instant::now() + Duration::from_secs(300);
        while client.0.try_wait()?.is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let makespan_ms = started.elapsed().as_millis();
    let client = YarnClient::connect(cluster.client_address, "faults").await?;
    let reports = client
        .get_applications(&ApplicationFilter::default())
        .await?;
    let succeeded = reports
        .iter()
        .filter(|r| {
            r.state == YarnApplicationState::Finished
                && r.final_status == FinalApplicationStatus::Succeeded
        })
        .count();
    let failed = reports.iter().filter(|r| r.state.is_final()).count() - succeeded;
    let text = std::fs::read_to_string(&marks).unwrap_or_default();
    let mut starts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut ends: BTreeMap<&str, usize> = BTreeMap::new();
    for line in text.lines() {
        if let Some(id) = line.strip_prefix("start ") {
            *starts.entry(id).or_default() += 1;
        } else if let Some(id) = line.strip_prefix("end ") {
            *ends.entry(id).or_default() += 1;
        }
    }
    Ok(Outcome {
        scenario: scenario.to_string(),
        submitted: args.applications,
        succeeded,
        failed,
        containers_started: starts.len(),
        containers_lost: starts.keys().filter(|id| !ends.contains_key(*id)).count(),
        duplicate_ids: starts.values().filter(|n| **n > 1).count(),
        recovery_ms: recovery,
        makespan_ms,
    })
}

pub async fn run(args: FaultsArgs) -> anyhow::Result<i32> {
    let temporary = match &args.dir {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("spindle-faults-")
                .tempdir()?,
        ),
    };
    let base = args
        .dir
        .clone()
        .or_else(|| temporary.as_ref().map(|t| t.path().to_path_buf()))
        .expect("a directory");
    println!(
        "Fault suite: {} applications x {} containers of {} s per scenario, 1 RM + 2 NMs with recovery on; logs in {}",
        args.applications,
        args.containers,
        args.task_seconds,
        base.display()
    );
    println!();
    println!("| scenario | applications submitted | succeeded | failed (own verdict) | lost | containers started | containers lost | duplicate container ids | time to recover | makespan |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut clean = true;
    for scenario in &args.scenarios {
        let outcome = run_scenario(&args, scenario, &base.join(scenario)).await?;
        clean &= outcome.lost() == 0 && outcome.duplicate_ids == 0;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} s |",
            outcome.scenario,
            outcome.submitted,
            outcome.succeeded,
            outcome.failed,
            outcome.lost(),
            outcome.containers_started,
            outcome.containers_lost,
            outcome.duplicate_ids,
            outcome
                .recovery_ms
                .map(|ms| format!("{:.2} s", ms as f64 / 1000.0))
                .unwrap_or_else(|| "-".into()),
            outcome.makespan_ms as f64 / 1000.0
        );
    }
    if args.keep {
        if let Some(t) = temporary {
            let kept = t.keep();
            println!("kept {}", kept.display());
        }
    }
    Ok(if clean { 0 } else { 1 })
}
