//! Issue 10's acceptance tests on real daemons ("Fair shares that hold"): `spindle
//! resourcemanager` with the seed document's fair-scheduler.xml (prod weight 40; dev weight 60
//! with eng and science) and three `spindle nodemanager` processes, configured only through
//! yarn-site.xml. Two distributed-shell applications in prod and dev.eng, submitted a second
//! apart and each wanting more than the cluster, share it about 40/60; with fair-share
//! preemption, a late application reaches its share within the preemption timeout and the kill
//! grace period; killed, both are still listed with the queue they ran in (an application placed
//! elsewhere than the queue it asked for: `placement.rs`). The same sharing on `spindle
//! minicluster --conf-dir` holding the seed's file.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use spindle_client::{ApplicationFilter, ApplicationReport, YarnClient};
use spindle_types::states::YarnApplicationState;
use spindle_types::ApplicationId;

const FAIR_SCHEDULER: &str =
    "org.apache.hadoop.yarn.server.resourcemanager.scheduler.fair.FairScheduler";

const NODE_MANAGERS: usize = 3;
const NODE_MEMORY_MB: i64 = 2048;
const NODE_VCORES: i64 = 16;
/// Every container, the ApplicationMasters' included: 3 x 2048 MB / 256 MB = 24 of them.
const CONTAINER_MEMORY_MB: i64 = 256;
const CLUSTER_CONTAINERS: i64 = NODE_MANAGERS as i64 * NODE_MEMORY_MB / CONTAINER_MEMORY_MB;
/// Each application asks for this many `sleep 600` containers: far more than fit.
const CONTAINERS_ASKED: u32 = 40;

/// How far an application's share of the cluster's containers may be from its queue's share.
const SHARE_TOLERANCE: f64 = 0.10;
const PROD_SHARE: f64 = 0.40;
const DEV_ENG_SHARE: f64 = 0.60;

/// Fair-share preemption (the preemption test): a queue below its fair share this long is
/// starved...
const PREEMPTION_TIMEOUT: Duration = Duration::from_secs(5);
/// ...and the containers taken for it are killed this long after they are announced.
const WAIT_BEFORE_KILL: Duration = Duration::from_secs(2);
/// A few NM heartbeats (YARN's default interval, 1 s), an AM allocate round trip and the AM's
/// start.
const HEARTBEAT_SLACK: Duration = Duration::from_secs(4);

/// One test's daemons at a time: the figures are timings and the machine is small.
static ONE_CLUSTER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// An RM and three NMs as separate processes on loopback, the distributed-shell clients
/// started on it, and whatever their containers run; all of it stopped when dropped.
/// Fields drop in order: the clients, then the daemons, then their directory.
struct Cluster {
    /// The RM's configuration directory (yarn-site.xml, fair-scheduler.xml), also the clients'.
    conf: PathBuf,
    client: YarnClient,
    dshell_clients: Vec<Process>,
    _node_managers: Vec<Process>,
    _resource_manager: Process,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts the daemons with the seed allocation file (plus `allocation_extra` before its
    /// closing tag) and yarn-site.xml's `site_extra`; returns once every NM has registered.
    async fn start(allocation_extra: &str, site_extra: &[(&str, &str)]) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("rm-conf");
        std::fs::create_dir_all(&conf).unwrap();
        let (client_port, scheduler_port, tracker_port, admin_port) =
            (free_port(), free_port(), free_port(), free_port());
        let mut shared = vec![
            ("yarn.resourcemanager.hostname", "127.0.0.1".to_string()),
            (
                "yarn.resourcemanager.address",
                format!("127.0.0.1:{client_port}"),
            ),
            (
                "yarn.resourcemanager.scheduler.address",
                format!("127.0.0.1:{scheduler_port}"),
            ),
            (
                "yarn.resourcemanager.resource-tracker.address",
                format!("127.0.0.1:{tracker_port}"),
            ),
            (
                "yarn.resourcemanager.admin.address",
                format!("127.0.0.1:{admin_port}"),
            ),
            (
                "yarn.scheduler.minimum-allocation-mb",
                CONTAINER_MEMORY_MB.to_string(),
            ),
            (
                "yarn.resourcemanager.scheduler.class",
                FAIR_SCHEDULER.into(),
            ),
            ("yarn.nodemanager.address", "localhost:0".into()),
            ("yarn.resourcemanager.webapp.address", "127.0.0.1:0".into()),
            ("yarn.nodemanager.webapp.address", "127.0.0.1:0".into()),
            (
                "yarn.nodemanager.resource.memory-mb",
                NODE_MEMORY_MB.to_string(),
            ),
            (
                "yarn.nodemanager.resource.cpu-vcores",
                NODE_VCORES.to_string(),
            ),
        ];
        // yarn.resourcemanager.nodemanagers.heartbeat-interval-ms stays at YARN's 1000 ms: the
        // two submissions a second apart are one NM heartbeat apart.
        shared.extend(
            site_extra
                .iter()
                .map(|(key, value)| (*key, value.to_string())),
        );
        spindle_conf::write_site_xml(&conf.join("yarn-site.xml"), &shared).unwrap();
        let allocation_file = SEED_ALLOCATION_FILE.replace(
            "</allocations>",
            &format!("{allocation_extra}</allocations>"),
        );
        std::fs::write(conf.join("fair-scheduler.xml"), allocation_file).unwrap();
        let resource_manager =
            spawn_spindle(&conf, &["resourcemanager"], &dir.path().join("rm.log"));

        let mut node_managers = Vec::new();
        for index in 0..NODE_MANAGERS {
            let nm_dir = dir.path().join(format!("nm{index}"));
            let nm_conf = nm_dir.join("conf");
            std::fs::create_dir_all(&nm_conf).unwrap();
            let mut properties = shared.clone();
            properties.push((
                "yarn.nodemanager.local-dirs",
                nm_dir.join("local").display().to_string(),
            ));
            properties.push((
                "yarn.nodemanager.log-dirs",
                nm_dir.join("logs").display().to_string(),
            ));
            spindle_conf::write_site_xml(&nm_conf.join("yarn-site.xml"), &properties).unwrap();
            node_managers.push(spawn_spindle(
                &nm_conf,
                &["nodemanager"],
                &nm_dir.join("nm.log"),
            ));
        }

        let address = format!("127.0.0.1:{client_port}").parse().unwrap();
        Cluster::connect(
            address,
            conf,
            node_managers,
            resource_manager,
            dir,
            "rm.log",
        )
        .await
    }

    /// `spindle minicluster --conf-dir` with the seed allocation file (plus
    /// `allocation_extra`): the RM and its three NMs in one process; clients use the
    /// configuration directory it writes.
    async fn start_minicluster(allocation_extra: &str) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let rm_conf = dir.path().join("rm-conf");
        std::fs::create_dir_all(&rm_conf).unwrap();
        spindle_conf::write_site_xml(
            &rm_conf.join("yarn-site.xml"),
            &[
                ("yarn.resourcemanager.scheduler.class", FAIR_SCHEDULER),
                (
                    "yarn.scheduler.minimum-allocation-mb",
                    &CONTAINER_MEMORY_MB.to_string(),
                ),
            ],
        )
        .unwrap();
        let allocation_file = SEED_ALLOCATION_FILE.replace(
            "</allocations>",
            &format!("{allocation_extra}</allocations>"),
        );
        std::fs::write(rm_conf.join("fair-scheduler.xml"), allocation_file).unwrap();
        let base = dir.path().join("minicluster");
        let (nodes, memory, vcores) = (
            NODE_MANAGERS.to_string(),
            NODE_MEMORY_MB.to_string(),
            NODE_VCORES.to_string(),
        );
        let minicluster = spawn_spindle(
            &rm_conf,
            &[
                "minicluster",
                "--dir",
                &base.display().to_string(),
                "--nodes",
                &nodes,
                "--node-memory-mb",
                &memory,
                "--node-vcores",
                &vcores,
            ],
            &dir.path().join("minicluster.log"),
        );
        let conf = base.join("conf");
        let deadline = Instant::now() + Duration::from_secs(60);
        let address = loop {
            let written = conf
                .join("yarn-site.xml")
                .exists()
                .then(|| spindle_conf::Configuration::load_default_files(Some(&conf)).ok())
                .flatten()
                .and_then(|site| site.get("yarn.resourcemanager.address").map(str::to_string));
            if let Some(address) = written {
                break address.parse().unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "the minicluster wrote no client configuration in 60 s:\n{}",
                std::fs::read_to_string(dir.path().join("minicluster.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        Cluster::connect(
            address,
            conf,
            Vec::new(),
            minicluster,
            dir,
            "minicluster.log",
        )
        .await
    }

    /// Connects a client to the RM at `address` and waits until every NM has registered.
    async fn connect(
        address: std::net::SocketAddr,
        conf: PathBuf,
        node_managers: Vec<Process>,
        resource_manager: Process,
        dir: tempfile::TempDir,
        rm_log: &str,
    ) -> Cluster {
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match YarnClient::connect(address, "tester").await {
                Ok(client) => break client,
                Err(error) => {
                    assert!(
                        Instant::now() < deadline,
                        "the RM never answered on {address}: {error}\nRM log:\n{}",
                        std::fs::read_to_string(dir.path().join(rm_log)).unwrap_or_default()
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        let cluster = Cluster {
            conf,
            client,
            dshell_clients: Vec::new(),
            _node_managers: node_managers,
            _resource_manager: resource_manager,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let registered = cluster
                .client
                .get_node_reports(&[])
                .await
                .map(|nodes| nodes.len())
                .unwrap_or(0);
            if registered == NODE_MANAGERS {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "only {registered} of {NODE_MANAGERS} NMs registered in 30 s\nRM log:\n{}",
                cluster.log(rm_log)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        cluster
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// Starts `spindle dshell` named `name` in `queue` running `command` in `containers`
    /// containers of 256 MB (its AM also 256 MB); returns its application id once the RM
    /// lists it.
    async fn submit(
        &mut self,
        name: &str,
        queue: &str,
        containers: u32,
        command: &str,
    ) -> ApplicationId {
        let count = containers.to_string();
        let memory = CONTAINER_MEMORY_MB.to_string();
        let log = self.dir.path().join(format!("{name}.log"));
        self.dshell_clients.push(spawn_spindle(
            &self.conf,
            &[
                "dshell",
                "--appname",
                name,
                "--queue",
                queue,
                "--num-containers",
                &count,
                "--container-memory",
                &memory,
                "--master-memory",
                &memory,
                "--shell-command",
                command,
            ],
            &log,
        ));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(report) = self.find(name).await {
                return report.application_id;
            }
            assert!(
                Instant::now() < deadline,
                "{name} was not submitted within 20 s; its client said:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The report of the application named `name`, whatever its state.
    async fn find(&self, name: &str) -> Option<ApplicationReport> {
        self.client
            .get_applications(&ApplicationFilter::default())
            .await
            .expect("getApplications")
            .into_iter()
            .find(|report| report.name == name)
    }

    async fn report(&self, application: ApplicationId) -> ApplicationReport {
        self.client
            .get_application_report(application)
            .await
            .expect("getApplicationReport")
    }

    /// Kills `applications` with `spindle application -kill`, then waits for every dshell
    /// client to exit and every container process of this cluster to end.
    async fn kill_and_clean_up(&mut self, applications: &[ApplicationId]) {
        for application in applications {
            let out = spindle(
                &self.conf,
                &["application", "-kill", &application.to_string()],
            );
            assert!(out.status.success(), "{}", text(&out));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        for client in &mut self.dshell_clients {
            while client.0.try_wait().unwrap().is_none() {
                assert!(
                    Instant::now() < deadline,
                    "a dshell client did not exit within 30 s of the kill"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        if let Some(first) = applications.first() {
            let prefix = container_prefix(*first);
            wait_until(
                30,
                "the killed applications' container processes to end",
                || container_processes(&prefix).is_empty(),
            )
            .await;
        }
    }
}

/// `container_<cluster timestamp>_`: every container of the RM that gave out `application`.
fn container_prefix(application: ApplicationId) -> String {
    let text = application.to_string();
    let timestamp = text.split('_').nth(1).expect("application_<ts>_<n>");
    format!("container_{timestamp}_")
}

/// Kills (by pid) whatever container processes of this RM are still alive when a test ends,
/// passing or failing, so that no `sleep 600` outlives it.
struct ContainerReaper(Option<String>);

impl Drop for ContainerReaper {
    fn drop(&mut self) {
        let Some(prefix) = &self.0 else {
            return;
        };
        for (pid, _) in container_processes(prefix) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

/// What two applications hold, in containers (their AMs included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Holdings {
    prod: i32,
    dev_eng: i32,
}

impl Holdings {
    fn describe(&self) -> String {
        format!(
            "prod holds {} of the cluster's {CLUSTER_CONTAINERS} containers ({:.0}%), \
             dev.eng {} ({:.0}%)",
            self.prod,
            share(self.prod) * 100.0,
            self.dev_eng,
            share(self.dev_eng) * 100.0
        )
    }
}

fn share(containers: i32) -> f64 {
    f64::from(containers) / CLUSTER_CONTAINERS as f64
}

async fn holdings(cluster: &Cluster, prod: ApplicationId, dev_eng: ApplicationId) -> Holdings {
    Holdings {
        prod: cluster.report(prod).await.used_containers,
        dev_eng: cluster.report(dev_eng).await.used_containers,
    }
}

/// Polls until the cluster is full and neither application's holding changed for 3 s (or 40 s
/// passed); returns the last holdings and whether they settled.
async fn settled_holdings(
    cluster: &Cluster,
    prod: ApplicationId,
    dev_eng: ApplicationId,
) -> (Holdings, bool) {
    const STEADY_FOR: Duration = Duration::from_secs(3);
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut last = holdings(cluster, prod, dev_eng).await;
    let mut unchanged_since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = holdings(cluster, prod, dev_eng).await;
        if now != last {
            last = now;
            unchanged_since = Instant::now();
        }
        let full = i64::from(now.prod + now.dev_eng) == CLUSTER_CONTAINERS;
        if full && unchanged_since.elapsed() >= STEADY_FOR {
            return (now, true);
        }
        if Instant::now() >= deadline {
            return (now, false);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prod_and_dev_eng_submitted_a_second_apart_share_the_cluster_40_60() {
    let _one = ONE_CLUSTER_AT_A_TIME.lock().await;
    let started = Instant::now();
    let cluster = Cluster::start("", &[]).await;
    a_second_apart_share_40_60(cluster, started).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minicluster_with_the_seed_file_in_its_conf_dir_shares_prod_and_dev_eng_40_60() {
    let _one = ONE_CLUSTER_AT_A_TIME.lock().await;
    let started = Instant::now();
    let cluster = Cluster::start_minicluster("").await;
    a_second_apart_share_40_60(cluster, started).await;
}

/// prod, then a second later dev.eng, each asking for far more than the cluster: they settle
/// at about 40/60 and are listed with the queues they ran in once killed.
async fn a_second_apart_share_40_60(mut cluster: Cluster, started: Instant) {
    let sleep = "sleep 600";
    let prod = cluster
        .submit("issue10-prod", "prod", CONTAINERS_ASKED, sleep)
        .await;
    let prod_submitted = Instant::now();
    let _reaper = ContainerReaper(Some(container_prefix(prod)));
    // A second later (one NM heartbeat at YARN's default interval), dev.eng; meanwhile, note
    // when prod's AM registers and asks.
    let mut prod_running_after = None;
    while prod_submitted.elapsed() < Duration::from_secs(1) {
        if prod_running_after.is_none()
            && cluster.report(prod).await.state == YarnApplicationState::Running
        {
            prod_running_after = Some(prod_submitted.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dev_eng = cluster
        .submit("issue10-dev-eng", "dev.eng", CONTAINERS_ASKED, sleep)
        .await;
    let dev_eng_listed_after = prod_submitted.elapsed();
    let (held, settled) = settled_holdings(&cluster, prod, dev_eng).await;
    let timeline = format!(
        "prod's AM RUNNING {} after prod was listed, dev.eng listed {:.2} s after prod",
        prod_running_after.map_or("later than 1 s".to_string(), |after| format!(
            "{:.2} s",
            after.as_secs_f64()
        )),
        dev_eng_listed_after.as_secs_f64()
    );
    eprintln!(
        "prod and dev.eng a second apart, each asking {CONTAINERS_ASKED} containers ({timeline}): \
         {} ({}, {:.1} s after the start)",
        held.describe(),
        if settled {
            "settled"
        } else {
            "not settled after 40 s"
        },
        started.elapsed().as_secs_f64()
    );
    cluster.kill_and_clean_up(&[prod, dev_eng]).await;
    assert_listed_with_the_queue_they_ran_in(
        &cluster.conf,
        &[(prod, "prod"), (dev_eng, "dev.eng")],
    );
    assert!(
        (share(held.prod) - PROD_SHARE).abs() <= SHARE_TOLERANCE
            && (share(held.dev_eng) - DEV_ENG_SHARE).abs() <= SHARE_TOLERANCE,
        "the seed allocation file gives prod 40% and dev.eng 60% (± 10 points) when both want \
         more than the cluster, but {} ({}; {timeline})",
        held.describe(),
        if settled {
            "settled: full and unchanged for 3 s"
        } else {
            "still changing after 40 s"
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_fair_share_preemption_a_late_application_reaches_its_share_within_timeout_and_grace()
{
    let _one = ONE_CLUSTER_AT_A_TIME.lock().await;
    let started = Instant::now();
    let allocation_extra = format!(
        "\t<defaultFairSharePreemptionTimeout>{}</defaultFairSharePreemptionTimeout>\n\
         \t<defaultFairSharePreemptionThreshold>1.0</defaultFairSharePreemptionThreshold>\n",
        PREEMPTION_TIMEOUT.as_secs()
    );
    let wait_before_kill = WAIT_BEFORE_KILL.as_millis().to_string();
    let mut cluster = Cluster::start(
        &allocation_extra,
        &[
            ("yarn.scheduler.fair.preemption", "true"),
            ("yarn.scheduler.fair.waitTimeBeforeKill", &wait_before_kill),
        ],
    )
    .await;
    let sleep = "sleep 600";
    let prod = cluster
        .submit("issue10-prod", "prod", CONTAINERS_ASKED, sleep)
        .await;
    let _reaper = ContainerReaper(Some(container_prefix(prod)));

    // Alone on the idle cluster, prod takes all of it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let used = cluster.report(prod).await.used_containers;
        if i64::from(used) == CLUSTER_CONTAINERS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "prod, alone, holds only {used} of {CLUSTER_CONTAINERS} containers after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let submitted = Instant::now();
    let dev_eng = cluster
        .submit("issue10-dev-eng", "dev.eng", CONTAINERS_ASKED, sleep)
        .await;
    let goal = ((DEV_ENG_SHARE - SHARE_TOLERANCE) * CLUSTER_CONTAINERS as f64).ceil() as i32;
    let full_share = (DEV_ENG_SHARE * CLUSTER_CONTAINERS as f64).floor() as i32;
    let mut running_after = None;
    let mut reached_after = None;
    let mut full_share_after = None;
    let deadline = submitted + Duration::from_secs(45);
    let mut held = holdings(&cluster, prod, dev_eng).await;
    while Instant::now() < deadline && full_share_after.is_none() {
        let report = cluster.report(dev_eng).await;
        if running_after.is_none() && report.state == YarnApplicationState::Running {
            running_after = Some(submitted.elapsed());
        }
        held = holdings(&cluster, prod, dev_eng).await;
        if held.dev_eng >= goal && reached_after.is_none() {
            reached_after = Some(submitted.elapsed());
        }
        if held.dev_eng >= full_share {
            full_share_after = Some(submitted.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let seconds = |after: Option<Duration>| {
        after.map_or("never (45 s)".to_string(), |after| {
            format!("{:.1} s", after.as_secs_f64())
        })
    };
    eprintln!(
        "fair-share preemption (timeout {} s, waitTimeBeforeKill {} s): dev.eng submitted after \
         prod held the cluster; RUNNING after {}; {goal} containers ({:.0}%, its share less 10 \
         points) after {}; {full_share} containers ({:.0}%, its share) after {}; then {}",
        PREEMPTION_TIMEOUT.as_secs(),
        WAIT_BEFORE_KILL.as_secs(),
        seconds(running_after),
        share(goal) * 100.0,
        seconds(reached_after),
        share(full_share) * 100.0,
        seconds(full_share_after),
        held.describe()
    );
    if let (Some(running), Some(reached)) = (running_after, full_share_after) {
        eprintln!(
            "time to fair share: {:.1} s from submission, {:.1} s from its AM asking (RUNNING)",
            reached.as_secs_f64(),
            reached.saturating_sub(running).as_secs_f64()
        );
    }
    cluster.kill_and_clean_up(&[prod, dev_eng]).await;
    assert_listed_with_the_queue_they_ran_in(
        &cluster.conf,
        &[(prod, "prod"), (dev_eng, "dev.eng")],
    );
    eprintln!("(test took {:.1} s)", started.elapsed().as_secs_f64());

    let (Some(running), Some(reached)) = (running_after, reached_after) else {
        panic!(
            "dev.eng never reached {goal} of {CLUSTER_CONTAINERS} containers within 45 s of its \
             submission (RUNNING after {}): {}",
            seconds(running_after),
            held.describe()
        );
    };
    // Its AM container itself is taken by preemption first (the cluster is full), so from its
    // submission two rounds of timeout + grace (+ slack) may pass; once its AM asks, one round.
    let one_round = PREEMPTION_TIMEOUT + WAIT_BEFORE_KILL;
    assert!(
        reached.saturating_sub(running) <= one_round + HEARTBEAT_SLACK,
        "dev.eng reached {goal} containers (its share less 10 points) {:.1} s after its AM \
         started asking; fairSharePreemptionTimeout + waitTimeBeforeKill + slack is {:.1} s",
        reached.saturating_sub(running).as_secs_f64(),
        (one_round + HEARTBEAT_SLACK).as_secs_f64()
    );
    assert!(
        reached <= 2 * (one_round + HEARTBEAT_SLACK),
        "dev.eng reached {goal} containers (its share less 10 points) {:.1} s after its \
         submission; two rounds of fairSharePreemptionTimeout + waitTimeBeforeKill + slack (its \
         AM, then its containers) is {:.1} s",
        reached.as_secs_f64(),
        (2 * (one_round + HEARTBEAT_SLACK)).as_secs_f64()
    );
}

/// Asserts `spindle application -list -appStates FINISHED,KILLED` lists each of `ran_in`'s
/// applications, once ended, with the queue it ran in (`root.dev.eng` or `dev.eng` alike).
fn assert_listed_with_the_queue_they_ran_in(conf: &Path, ran_in: &[(ApplicationId, &str)]) {
    let out = spindle(
        conf,
        &["application", "-list", "-appStates", "FINISHED,KILLED"],
    );
    let list = text(&out);
    assert!(out.status.success(), "{list}");
    for (application, queue) in ran_in {
        let listed = listed_queue(&list, *application).unwrap_or_else(|| {
            panic!("{application} is not listed as FINISHED or KILLED:\n{list}")
        });
        assert_eq!(
            below_root(&listed),
            *queue,
            "{application} ran in {queue} but, killed, is listed in {listed:?}:\n{list}"
        );
    }
}

/// The queue column of `application`'s row in `spindle application -list` output.
fn listed_queue(list: &str, application: ApplicationId) -> Option<String> {
    let id = application.to_string();
    list.lines()
        .map(|line| line.split('\t').map(str::trim).collect::<Vec<_>>())
        .find(|columns| columns.first() == Some(&id.as_str()))
        .and_then(|columns| columns.get(4).map(|queue| queue.to_string()))
}

/// A queue name as the leaf path below root (`root.dev.eng` and `dev.eng` alike).
fn below_root(queue: &str) -> &str {
    queue.strip_prefix("root.").unwrap_or(queue)
}
