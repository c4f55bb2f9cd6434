//! The seed document's fair-scheduler.xml on a real cluster: its placement rules put an
//! application asked for a queue that does not exist in root.dev.eng, and every report names that
//! queue, also after the application finished and the scheduler forgot it. `spindle minicluster
//! --conf-dir` runs the scheduler its directory configures (YARN's CapacityScheduler without one).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use spindle_minicluster::{MiniCluster, MiniClusterConfig};
use spindle_types::Resource;

const FAIR: &str = "org.apache.hadoop.yarn.server.resourcemanager.scheduler.fair.FairScheduler";

/// `spindle dshell` to `queue` with two short containers; panics unless it succeeds. Answers the
/// application id.
fn dshell_to(conf: &std::path::Path, queue: &str) -> String {
    let out = spindle(
        conf,
        &[
            "dshell",
            "--queue",
            queue,
            "--num-containers",
            "2",
            "--container-memory",
            "256",
            "--shell-command",
            "true",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    application_id(&text(&out))
}

/// The `-list` row of `application` (panics when there is none).
fn list_row(listing: &str, application: &str) -> String {
    listing
        .lines()
        .find(|line| line.contains(application))
        .unwrap_or_else(|| panic!("{application} is not listed:\n{listing}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_application_keeps_the_queue_the_placement_rules_chose() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = MiniClusterConfig::new(dir.path());
    config.nodes = 2;
    config.node_resource = Resource::new(2048, 4);
    config.rm.maximum_allocation = Resource::new(2048, 4);
    config.nm_heartbeat_interval = Duration::from_millis(200);
    config.scheduler_class = FAIR.into();
    config.scheduler_files = vec![("fair-scheduler.xml".into(), SEED_ALLOCATION_FILE.into())];
    let cluster = MiniCluster::start(config).await.unwrap();
    let conf = cluster.conf_dir().to_path_buf();

    let conf_for_dshell = conf.clone();
    let app = tokio::task::spawn_blocking(move || dshell_to(&conf_for_dshell, "nosuch"))
        .await
        .unwrap();
    let asked_for = cluster.rm.inspect(|core| {
        core.applications()
            .find(|a| a.id.to_string() == app)
            .map(|a| a.queue.clone())
    });
    assert_eq!(asked_for.as_deref(), Some("nosuch"));
    wait_until(
        20,
        "the scheduler to forget the finished application",
        || {
            cluster.rm.inspect(|core| {
                core.queue_info(
                    "root.dev.eng",
                    true,
                    false,
                    false,
                    spindle_rm::service::now_ms(),
                )
                .is_some_and(|q| q.applications.is_empty())
            })
        },
    )
    .await;

    let listing = text(&spindle(
        &conf,
        &["application", "-list", "-appStates", "FINISHED"],
    ));
    let row = list_row(&listing, &app);
    assert!(
        row.contains("root.dev.eng") && !row.contains("nosuch"),
        "{listing}"
    );
    let status = text(&spindle(&conf, &["application", "-status", &app]));
    assert!(status.contains("\tQueue : root.dev.eng\n"), "{status}");
    cluster.shutdown().await;
}

/// A `spindle minicluster` process, stopped with Ctrl-C (SIGINT) when dropped.
struct MiniclusterProcess {
    child: Child,
    log: PathBuf,
}

impl MiniclusterProcess {
    /// Starts `spindle [--conf-dir DIR] minicluster --dir BASE --nodes 2` with its output in
    /// BASE.log.
    fn start(conf_dir: Option<&Path>, base: &Path) -> Self {
        let log = base.with_extension("log");
        let file = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_spindle"));
        if let Some(dir) = conf_dir {
            command.arg("--conf-dir").arg(dir);
        }
        let child = command
            .args(["minicluster", "--nodes", "2", "--node-memory-mb", "2048"])
            .arg("--dir")
            .arg(base)
            .env("SPINDLE_LOG", "info")
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap();
        Self { child, log }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the minicluster says it runs.
    async fn wait_running(&mut self) {
        let log = self.log.clone();
        let mut exited = None;
        wait_until(60, "the minicluster to start", || {
            exited = self.child.try_wait().unwrap();
            exited.is_some()
                || std::fs::read_to_string(&log)
                    .unwrap_or_default()
                    .contains("Press Ctrl-C to stop.")
        })
        .await;
        assert!(
            exited.is_none(),
            "the minicluster exited:\n{}",
            self.output()
        );
    }
}

impl Drop for MiniclusterProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `spindle minicluster --conf-dir DIR` with the seed's fair-scheduler.xml in DIR (found under
/// its default name, as the RM daemon finds it): the Fair Scheduler runs, its placement rules
/// place, and the scheduler and file are printed at start and logged again on refreshQueues.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_minicluster_runs_the_fair_scheduler_its_conf_dir_configures() {
    let dir = tempfile::tempdir().unwrap();
    let rm_conf = dir.path().join("rm-conf");
    std::fs::create_dir_all(&rm_conf).unwrap();
    spindle_conf::write_site_xml(
        &rm_conf.join("yarn-site.xml"),
        &[
            ("yarn.resourcemanager.scheduler.class", FAIR),
            (
                "yarn.resourcemanager.nodemanagers.heartbeat-interval-ms",
                "200",
            ),
        ],
    )
    .unwrap();
    let allocation_file = rm_conf.join("fair-scheduler.xml");
    std::fs::write(&allocation_file, SEED_ALLOCATION_FILE).unwrap();
    let base = dir.path().join("cluster");
    let mut minicluster = MiniclusterProcess::start(Some(&rm_conf), &base);
    minicluster.wait_running().await;
    let banner = minicluster.output();
    assert!(
        banner.contains(&format!("scheduler                      : {FAIR}")),
        "{banner}"
    );
    assert!(
        banner.contains(&format!(
            "scheduler file                 : {}",
            allocation_file.display()
        )),
        "{banner}"
    );
    let conf = base.join("conf");

    let (to_eng, placed) = tokio::task::spawn_blocking({
        let conf = conf.clone();
        move || (dshell_to(&conf, "dev.eng"), dshell_to(&conf, "default"))
    })
    .await
    .unwrap();
    let listing = text(&spindle(
        &conf,
        &["application", "-list", "-appStates", "FINISHED"],
    ));
    for app in [&to_eng, &placed] {
        assert!(
            list_row(&listing, app).contains("root.dev.eng"),
            "{listing}"
        );
    }

    let loaded = format!(
        "scheduler configuration: {FAIR} from {}",
        allocation_file.display()
    );
    assert_eq!(
        minicluster.output().matches(&loaded).count(),
        1,
        "logged at start: {}",
        minicluster.output()
    );
    let out = spindle(&conf, &["rmadmin", "-refreshQueues"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        minicluster.output().matches(&loaded).count(),
        2,
        "logged again on refreshQueues: {}",
        minicluster.output()
    );
}

/// Without --conf-dir the minicluster runs YARN's default scheduler; a --conf-dir that does not
/// exist is an error, as Hadoop's scripts say it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_minicluster_defaults_to_the_capacity_scheduler_and_refuses_a_missing_conf_dir() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir");
    let out = Command::new(env!("CARGO_BIN_EXE_spindle"))
        .arg("--conf-dir")
        .arg(&missing)
        .args(["minicluster", "--dir"])
        .arg(dir.path().join("unused"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains(&format!(
            "Cannot find configuration directory: {}",
            missing.display()
        )),
        "{}",
        text(&out)
    );

    let base = dir.path().join("cluster");
    let mut minicluster = MiniclusterProcess::start(None, &base);
    minicluster.wait_running().await;
    let banner = minicluster.output();
    assert!(
        banner.contains(&format!(
            "scheduler                      : {}",
            spindle_minicluster::CAPACITY_SCHEDULER_CLASS
        )),
        "{banner}"
    );
    let out = tokio::task::spawn_blocking(move || dshell_to(&base.join("conf"), "default"))
        .await
        .unwrap();
    assert!(out.starts_with("application_"));
    // SIGTERM (systemd, docker, `kill`) stops it cleanly, as Ctrl-C does.
    send_signal(&minicluster.child, "TERM");
    let status = exit_within(&mut minicluster.child, 20, "the minicluster after SIGTERM").await;
    assert!(
        status.success() && minicluster.output().contains("stopping on SIGTERM"),
        "{status}: {}",
        minicluster.output()
    );
}
