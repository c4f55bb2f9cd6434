//! `spindle faults`: the fault suite. Real daemons (`spindle resourcemanager` and two
//! `spindle nodemanager`s, recovery on; two RMs in HA with a real ZooKeeper for the ha-
//! scenarios) run a load of concurrent distributed-shell applications; each scenario injects one
//! fault while they run and reports what a user would count: the applications that finished or
//! were lost, the containers that were lost or started twice, and how long the cluster took to
//! recover or fail over.

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
    /// NM, start it again with NM recovery), nm-kill-norecovery (the same without NM recovery), am-kill (SIGKILL one application's AM process),
    /// container-kill (SIGKILL one application's container process), ha-kill (SIGKILL the
    /// active of two RMs in HA), ha-stall (SIGSTOP the active past its ZooKeeper session, then
    /// SIGCONT it: it must come back standby), store-full (the RM's store on a small tmpfs that
    /// fills up while more applications arrive, then frees; needs root to mount).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "rm-kill,nm-kill,nm-kill-norecovery,am-kill,container-kill,ha-kill,ha-stall,store-full"
    )]
    pub scenarios: Vec<String>,
    /// ZooKeeper for the ha- scenarios (`host:port`); by default one is installed with
    /// scripts/ensure-zookeeper and started on loopback.
    #[arg(long)]
    pub zookeeper: Option<String>,
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
    /// What else the scenario saw, in words.
    note: Option<String>,
}

impl Outcome {
    /// Applications the RM does not report in a final state: lost by the platform.
    fn lost(&self) -> usize {
        self.submitted.saturating_sub(self.succeeded + self.failed)
    }
}

/// A daemon or client process, killed when dropped.
pub(super) struct Proc(pub(super) Child);

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

/// The ZooKeeper session timeout of the HA scenarios (ms): ha-stall stops the active longer.
const HA_SESSION_TIMEOUT_MS: u64 = 4000;

/// How the RMs keep their state.
pub(super) enum Store<'a> {
    /// The embedded store in this directory (one RM).
    Embedded(PathBuf),
    /// Two RMs in HA sharing ZooKeeper at this address, under this scenario's own znodes.
    Ha(&'a str, &'a str),
}

/// One cluster: its configuration directories and daemons.
pub(super) struct Cluster {
    dir: PathBuf,
    /// The client configuration (the NMs' and the applications' too).
    pub(super) rm_conf: PathBuf,
    /// Each RM's own configuration (in HA, with its `yarn.resourcemanager.ha.id`).
    rm_confs: Vec<PathBuf>,
    nm_confs: Vec<PathBuf>,
    /// Each RM's client address.
    client_addresses: Vec<SocketAddr>,
    pub(super) rms: Vec<Option<Proc>>,
    pub(super) nms: Vec<Option<Proc>>,
    restarts: usize,
}

impl Cluster {
    pub(super) fn new(
        dir: &Path,
        nodes: usize,
        store: Store<'_>,
        nm_recovery: bool,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut rm_properties: Vec<(String, String)> = vec![
            (
                "yarn.resourcemanager.nodemanagers.heartbeat-interval-ms".into(),
                "500".into(),
            ),
            ("yarn.scheduler.minimum-allocation-mb".into(), "256".into()),
            (
                "yarn.resourcemanager.recovery.enabled".into(),
                "true".into(),
            ),
        ];
        let ids: Vec<&str> = match store {
            Store::Embedded(_) => vec![""],
            Store::Ha(..) => vec!["rm1", "rm2"],
        };
        let mut client_addresses = Vec::new();
        for id in &ids {
            let suffix = if id.is_empty() {
                String::new()
            } else {
                format!(".{id}")
            };
            for key in [
                "yarn.resourcemanager.address",
                "yarn.resourcemanager.scheduler.address",
                "yarn.resourcemanager.resource-tracker.address",
                "yarn.resourcemanager.admin.address",
                "yarn.resourcemanager.webapp.address",
            ] {
                let port = free_port()?;
                if key == "yarn.resourcemanager.address" {
                    client_addresses.push(SocketAddr::from(([127, 0, 0, 1], port)));
                }
                rm_properties.push((format!("{key}{suffix}"), format!("127.0.0.1:{port}")));
            }
        }
        match &store {
            Store::Embedded(state) => rm_properties.push((
                "yarn.resourcemanager.fs.state-store.uri".into(),
                state.display().to_string(),
            )),
            Store::Ha(zookeeper, name) => rm_properties.extend(
                [
                    ("yarn.resourcemanager.ha.enabled", "true"),
                    ("yarn.resourcemanager.ha.rm-ids", "rm1,rm2"),
                    ("yarn.resourcemanager.cluster-id", name),
                    (
                        "yarn.resourcemanager.zk-state-store.parent-path",
                        &format!("/spindle-faults/{name}"),
                    ),
                    (
                        "yarn.resourcemanager.store.class",
                        "org.apache.hadoop.yarn.server.resourcemanager.recovery.ZKRMStateStore",
                    ),
                    ("hadoop.zk.address", zookeeper),
                    ("yarn.client.failover-sleep-base-ms", "100"),
                    ("yarn.client.failover-sleep-max-ms", "1000"),
                ]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into_iter()
                .chain([(
                    "hadoop.zk.timeout-ms".to_string(),
                    HA_SESSION_TIMEOUT_MS.to_string(),
                )]),
            ),
        }
        // The daemons prove membership as a real cluster should: one secret for all.
        let secret = dir.join("cluster-secret");
        spindle_security::ClusterSecret::load_or_generate(&secret)?;
        rm_properties.push((
            spindle_conf::keys::NODE_REGISTRATION_SECRET_FILE.into(),
            secret.display().to_string(),
        ));
        let write = |conf: &Path, properties: &[(String, String)]| -> anyhow::Result<()> {
            std::fs::create_dir_all(conf)?;
            spindle_conf::write_site_xml(&conf.join("yarn-site.xml"), properties)?;
            Ok(())
        };
        let rm_conf = dir.join("conf");
        write(&rm_conf, &rm_properties)?;
        let mut rm_confs = Vec::new();
        for id in &ids {
            if id.is_empty() {
                rm_confs.push(rm_conf.clone());
                continue;
            }
            let conf = dir.join(format!("conf-{id}"));
            let mut properties = rm_properties.clone();
            properties.push(("yarn.resourcemanager.ha.id".into(), id.to_string()));
            write(&conf, &properties)?;
            rm_confs.push(conf);
        }
        let mut nm_confs = Vec::new();
        for index in 0..nodes {
            let nm_dir = dir.join(format!("nm-{index}"));
            let mut properties = rm_properties.clone();
            properties.extend(
                [
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
                    ("yarn.nodemanager.recovery.enabled", nm_recovery.to_string()),
                    (
                        "yarn.nodemanager.recovery.dir",
                        nm_dir.join("recovery").display().to_string(),
                    ),
                    ("yarn.nodemanager.recovery.supervised", "true".into()),
                ]
                .map(|(k, v): (&str, String)| (k.to_string(), v)),
            );
            let conf = nm_dir.join("conf");
            write(&conf, &properties)?;
            nm_confs.push(conf);
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            rm_conf,
            rms: (0..rm_confs.len()).map(|_| None).collect(),
            rm_confs,
            client_addresses,
            nms: (0..nm_confs.len()).map(|_| None).collect(),
            nm_confs,
            restarts: 0,
        })
    }

    pub(super) fn spawn(&mut self, conf: &Path, args: &[&str], log: &str) -> anyhow::Result<Proc> {
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

    /// A distributed shell of `containers` 256 MB containers running `command`, as a client of
    /// the cluster (its output in `log`).
    pub(super) fn spawn_dshell(
        &mut self,
        containers: u32,
        command: &str,
        log: &str,
    ) -> anyhow::Result<Proc> {
        let conf = self.rm_conf.clone();
        self.spawn(
            &conf,
            &[
                "dshell",
                "--num-containers",
                &containers.to_string(),
                "--container-memory",
                "256",
                "--shell-command",
                command,
            ],
            log,
        )
    }

    /// The RM's verdicts: applications FINISHED with SUCCEEDED, and the other ended ones.
    pub(super) async fn verdicts(&self) -> anyhow::Result<(usize, usize)> {
        let reports = self
            .client()
            .await?
            .get_applications(&ApplicationFilter::default())
            .await?;
        let succeeded = reports
            .iter()
            .filter(|r| {
                r.state == YarnApplicationState::Finished
                    && r.final_status == FinalApplicationStatus::Succeeded
            })
            .count();
        let ended = reports.iter().filter(|r| r.state.is_final()).count();
        Ok((succeeded, ended - succeeded))
    }

    pub(super) fn start_rm(&mut self, index: usize) -> anyhow::Result<()> {
        self.restarts += 1;
        let conf = self.rm_confs[index].clone();
        let log = format!("rm-{index}-{}.log", self.restarts);
        self.rms[index] = Some(self.spawn(&conf, &["resourcemanager"], &log)?);
        Ok(())
    }

    /// The HA state `rmadmin -getServiceState` reports for RM `index` (rm1, rm2).
    async fn ha_state(&self, index: usize) -> String {
        let id = format!("rm{}", index + 1);
        match super::application::load_configuration(Some(&self.rm_conf)) {
            Ok(conf) => super::rmadmin::service_state(&conf, &id)
                .await
                .map(str::to_string)
                .unwrap_or_else(|e| format!("unreachable ({e})")),
            Err(e) => format!("no configuration ({e})"),
        }
    }

    /// Waits until RM `index` reports `state`; how long that took.
    async fn wait_ha_state(
        &self,
        index: usize,
        state: &str,
        limit: Duration,
    ) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            let now = self.ha_state(index).await;
            if now == state {
                return Ok(started.elapsed());
            }
            if started.elapsed() > limit {
                anyhow::bail!("rm{} is {now}, not {state}, after {limit:?}", index + 1);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(super) fn start_nm(&mut self, index: usize) -> anyhow::Result<()> {
        self.restarts += 1;
        let conf = self.nm_confs[index].clone();
        let log = format!("nm-{index}-{}.log", self.restarts);
        self.nms[index] = Some(self.spawn(&conf, &["nodemanager"], &log)?);
        Ok(())
    }

    /// A client of whichever RM answers (the active, in HA).
    pub(super) async fn client(&self) -> anyhow::Result<YarnClient> {
        let mut last = None;
        for address in &self.client_addresses {
            match YarnClient::connect(*address, "faults").await {
                Ok(client) => match client.get_cluster_metrics().await {
                    Ok(_) => return Ok(client),
                    Err(e) => last = Some(anyhow::Error::from(e)),
                },
                Err(e) => last = Some(e.into()),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no ResourceManager")))
    }

    /// Waits until an RM answers and lists every NM RUNNING; how long that took.
    pub(super) async fn wait_serving(&self, limit: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            if let Ok(client) = self.client().await {
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

fn signal(proc: &Option<Proc>, signal: nix::sys::signal::Signal) {
    if let Some(p) = proc {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p.0.id() as i32), signal);
    }
}

/// A small tmpfs for the store-full scenario, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path, megabytes: u64) -> anyhow::Result<Self> {
        std::fs::create_dir_all(path)?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(path)
            .status()?;
        anyhow::ensure!(status.success(), "mount -t tmpfs {} failed", path.display());
        Ok(Self(path.to_path_buf()))
    }

    /// Writes a file until the file system is full.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.0.join("filler");
        if let Ok(mut file) = std::fs::File::create(&filler) {
            let chunk = vec![0u8; 64 * 1024];
            while file.write_all(&chunk).is_ok() {}
            let _ = file.sync_all();
        }
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Applications held back by the store: not yet stored (NEW, NEW_SAVING).
async fn unsaved_applications(cluster: &Cluster) -> Option<usize> {
    let client = cluster.client().await.ok()?;
    let reports = client
        .get_applications(&ApplicationFilter::default())
        .await
        .ok()?;
    Some(
        reports
            .iter()
            .filter(|r| {
                matches!(
                    r.state,
                    YarnApplicationState::New | YarnApplicationState::NewSaving
                )
            })
            .count(),
    )
}

/// Runs one scenario on a fresh cluster.
async fn run_scenario(
    args: &FaultsArgs,
    scenario: &str,
    dir: &Path,
    zookeeper: Option<&str>,
) -> anyhow::Result<Outcome> {
    let ha = scenario.starts_with("ha-");
    let mut tmpfs = None;
    let store = if ha {
        Store::Ha(
            zookeeper.ok_or_else(|| anyhow::anyhow!("{scenario} needs ZooKeeper"))?,
            scenario,
        )
    } else if scenario == "store-full" {
        let disk = Tmpfs::mount(&dir.join("store-disk"), 64)?;
        let state = disk.0.join("rmstore");
        tmpfs = Some(disk);
        Store::Embedded(state)
    } else {
        Store::Embedded(dir.join("rmstore"))
    };
    let nm_recovery = scenario != "nm-kill-norecovery";
    let mut cluster = Cluster::new(dir, 2, store, nm_recovery)?;
    cluster.start_rm(0)?;
    for index in 0..cluster.nms.len() {
        cluster.start_nm(index)?;
    }
    cluster.wait_serving(Duration::from_secs(60)).await?;
    if ha {
        cluster
            .wait_ha_state(0, "active", Duration::from_secs(30))
            .await?;
        cluster.start_rm(1)?;
        cluster
            .wait_ha_state(1, "standby", Duration::from_secs(60))
            .await?;
    }

    let marks = dir.join("containers.log");
    let command = format!(
        "echo \"start $CONTAINER_ID\" >> {m}; sleep {s}; echo \"end $CONTAINER_ID\" >> {m}",
        m = marks.display(),
        s = args.task_seconds
    );
    let started = Instant::now();
    let mut clients = Vec::new();
    for index in 0..args.applications {
        clients.push(cluster.spawn_dshell(
            args.containers,
            &command,
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
    let mut note = None;
    match scenario {
        "rm-kill" => {
            Cluster::kill(&mut cluster.rms[0]);
            let fault = Instant::now();
            cluster.start_rm(0)?;
            cluster.wait_serving(Duration::from_secs(120)).await?;
            recovery = Some(fault.elapsed().as_millis());
        }
        "ha-kill" => {
            Cluster::kill(&mut cluster.rms[0]);
            let fault = Instant::now();
            cluster.wait_serving(Duration::from_secs(120)).await?;
            recovery = Some(fault.elapsed().as_millis());
            note = Some(format!(
                "rm1 SIGKILLed; rm2 {} and serving every node after {:.2} s",
                cluster.ha_state(1).await,
                fault.elapsed().as_secs_f64()
            ));
        }
        "ha-stall" => {
            // Stopped for twice the session timeout: ZooKeeper expires its session, rm2 is
            // elected and recovers. Connections to the frozen RM hang until it resumes (and
            // drops them as it goes standby) or their call deadline passes.
            signal(&cluster.rms[0], nix::sys::signal::Signal::SIGSTOP);
            let fault = Instant::now();
            let stall = Duration::from_millis(2 * HA_SESSION_TIMEOUT_MS);
            let mut rm2_active_after = None;
            while fault.elapsed() < stall {
                if rm2_active_after.is_none() && cluster.ha_state(1).await == "active" {
                    rm2_active_after = Some(fault.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            signal(&cluster.rms[0], nix::sys::signal::Signal::SIGCONT);
            let back = cluster
                .wait_ha_state(0, "standby", Duration::from_secs(60))
                .await;
            cluster.wait_serving(Duration::from_secs(120)).await?;
            recovery = Some(fault.elapsed().as_millis());
            note = Some(format!(
                "rm1 SIGSTOPped for {:.1} s (session timeout {:.1} s); rm2 active {} after the stop; rm1 resumed {}; every node served by rm2 {:.2} s after the stop",
                stall.as_secs_f64(),
                HA_SESSION_TIMEOUT_MS as f64 / 1000.0,
                rm2_active_after
                    .map(|d| format!("{:.2} s", d.as_secs_f64()))
                    .unwrap_or_else(|| "NOT while rm1 was stopped".into()),
                match back {
                    Ok(after) => format!("and was standby {:.2} s later", after.as_secs_f64()),
                    Err(e) => format!("but is NOT standby ({e})"),
                },
                fault.elapsed().as_secs_f64()
            ));
        }
        "store-full" => {
            let disk = tmpfs.as_ref().expect("mounted");
            let filler = disk.fill();
            // More applications arrive while the store cannot write, with submissions large
            // enough (a long comment in the command) that the store's file must grow for them.
            let extra = 2;
            let large = format!("{command} # {}", "x".repeat(60 * 1024));
            for index in 0..extra {
                clients.push(cluster.spawn_dshell(
                    args.containers,
                    &large,
                    &format!("dshell-{}.log", args.applications + index),
                )?);
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
            let held = unsaved_applications(&cluster).await.unwrap_or(0);
            std::fs::remove_file(&filler)?;
            let freed = Instant::now();
            while unsaved_applications(&cluster).await != Some(0) {
                if freed.elapsed() > Duration::from_secs(120) {
                    anyhow::bail!(
                        "store-full: applications still unsaved 120 s after the disk freed"
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            recovery = Some(freed.elapsed().as_millis());
            note = Some(format!(
                "store's disk full for 5 s while {extra} more applications arrived: {held} held back unsaved (NEW_SAVING), then stored {:.2} s after the disk had room",
                freed.elapsed().as_secs_f64()
            ));
        }
        "nm-kill" | "nm-kill-norecovery" => {
            // The killed NM's container processes (their LOG_DIRS name its directory).
            let nm_dir = cluster.dir.join("nm-0").display().to_string();
            let processes =
                |dir: &str| container_pids(dir, true).len() + container_pids(dir, false).len();
            let before = processes(&nm_dir);
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
            // What happened to its containers, a second after it registered again.
            tokio::time::sleep(Duration::from_secs(1)).await;
            note = Some(format!(
                "the killed NM ran {before} container processes; {} still run after its restart{}",
                processes(&nm_dir),
                if nm_recovery {
                    " (re-acquired)"
                } else {
                    " (without NM recovery nothing re-acquires them)"
                }
            ));
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

    let clients_submitted = clients.len();
    for mut client in clients {
        let deadline = Instant::now() + Duration::from_secs(300);
        while client.0.try_wait()?.is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let makespan_ms = started.elapsed().as_millis();
    let (succeeded, failed) = cluster.verdicts().await?;
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
        submitted: clients_submitted,
        succeeded,
        failed,
        containers_started: starts.len(),
        containers_lost: starts.keys().filter(|id| !ends.contains_key(*id)).count(),
        duplicate_ids: starts.values().filter(|n| **n > 1).count(),
        recovery_ms: recovery,
        makespan_ms,
        note,
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
    // A ZooKeeper of our own for the HA scenarios unless one is given.
    let needs_zookeeper = args.scenarios.iter().any(|s| s.starts_with("ha-"));
    let own_zookeeper = if needs_zookeeper && args.zookeeper.is_none() {
        Some(
            spindle_minicluster::zookeeper::ZooKeeper::try_start()
                .map_err(|e| anyhow::anyhow!("the ha- scenarios need ZooKeeper: {e}"))?,
        )
    } else {
        None
    };
    let zookeeper = args
        .zookeeper
        .clone()
        .or_else(|| own_zookeeper.as_ref().map(|z| z.address.clone()));
    println!(
        "Fault suite: {} applications x {} containers of {} s per scenario, 1 RM (2 in HA for ha-) + 2 NMs with recovery on; logs in {}",
        args.applications,
        args.containers,
        args.task_seconds,
        base.display()
    );
    println!();
    println!("| scenario | applications submitted | succeeded | failed (own verdict) | lost | containers started | containers lost | duplicate container ids | time to recover | makespan |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut clean = true;
    let mut notes = Vec::new();
    for scenario in &args.scenarios {
        if scenario == "store-full" && !nix::unistd::geteuid().is_root() {
            println!("| store-full | skipped: it mounts a small tmpfs for the store, which needs root |||||||||");
            continue;
        }
        let outcome =
            run_scenario(&args, scenario, &base.join(scenario), zookeeper.as_deref()).await?;
        clean &= outcome.lost() == 0 && outcome.duplicate_ids == 0;
        if let Some(note) = &outcome.note {
            clean &= !note.contains("NOT ");
            notes.push(format!("- {}: {note}", outcome.scenario));
        }
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
    if !notes.is_empty() {
        println!();
        for note in notes {
            println!("{note}");
        }
    }
    if args.keep {
        if let Some(t) = temporary {
            let kept = t.keep();
            println!("kept {}", kept.display());
        }
    }
    Ok(if clean { 0 } else { 1 })
}
