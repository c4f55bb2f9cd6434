//! The walking skeleton end to end: `spindle dshell` on an embedded cluster of real NMs, and what
//! happens when applications fail, are killed, lose a node or lose their AM.

mod common;

use std::time::{Duration, Instant};

use common::*;
use spindle_minicluster::{MiniCluster, MiniClusterConfig};
use spindle_types::states::{FinalApplicationStatus, NodeState, YarnApplicationState};
use spindle_types::Resource;

async fn small_cluster(dir: &std::path::Path, nm_expiry_ms: i64) -> MiniCluster {
    let mut config = MiniClusterConfig::new(dir);
    config.nodes = 3;
    config.node_resource = Resource::new(2048, 4);
    config.rm.maximum_allocation = Resource::new(2048, 4);
    config.rm.nm_expiry_ms = nm_expiry_ms;
    config.nm_heartbeat_interval = Duration::from_millis(200);
    MiniCluster::start(config).await.unwrap()
}

/// Runs `spindle` with `args` off the async runtime (a `'static` future, so it can be spawned).
fn run_spindle(
    conf: &std::path::Path,
    args: Vec<String>,
) -> impl std::future::Future<Output = std::process::Output> + 'static {
    let conf = conf.to_path_buf();
    async move {
        tokio::task::spawn_blocking(move || {
            spindle(&conf, &args.iter().map(String::as_str).collect::<Vec<_>>())
        })
        .await
        .unwrap()
    }
}

/// Waits until `count` processes of the newest application's containers run.
async fn wait_for_container_processes(cluster: &MiniCluster, count: usize) {
    wait_until(30, "the shell containers to run", || {
        last_app(cluster).is_some_and(|(app, ..)| {
            container_processes(&app.replace("application_", "container_")).len() >= count
        })
    })
    .await;
}

fn last_app(
    cluster: &MiniCluster,
) -> Option<(
    String,
    YarnApplicationState,
    FinalApplicationStatus,
    usize,
    String,
)> {
    cluster.rm.inspect(|core| {
        core.applications().last().map(|a| {
            (
                a.id.to_string(),
                a.state.yarn_state(),
                a.final_status,
                a.attempts.len(),
                a.diagnostics.clone(),
            )
        })
    })
}

/// Which NM directories hold log directories of `app`'s containers.
fn nodes_used(dir: &std::path::Path, app: &str) -> Vec<usize> {
    (0..3)
        .filter(|i| {
            dir.join(format!("nm-{i}/logs/{app}"))
                .read_dir()
                .is_ok_and(|mut d| d.next().is_some())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dshell_runs_a_command_in_containers_on_three_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = small_cluster(dir.path(), 600_000).await;
    let conf = cluster.conf_dir().to_path_buf();
    let out = run_spindle(&conf, dshell_args(6, "echo hello from $NM_HOST:$NM_PORT")).await;
    assert!(out.status.success(), "{}", text(&out));
    let (app, state, status, _, _) = last_app(&cluster).unwrap();
    assert_eq!(
        (state, status),
        (
            YarnApplicationState::Finished,
            FinalApplicationStatus::Succeeded
        )
    );
    assert_eq!(
        nodes_used(dir.path(), &app),
        [0, 1, 2],
        "containers ran on all three NMs"
    );
    let logs = text(&spindle(
        &conf,
        &["logs", "-applicationId", &app, "-log_files", "stdout"],
    ));
    assert_eq!(logs.matches("hello from localhost:").count(), 6, "{logs}");
    // The CLI sees it as yarn would show it.
    let list = text(&spindle(
        &conf,
        &["application", "-list", "-appStates", "FINISHED"],
    ));
    assert!(list.contains(&app) && list.contains("SUCCEEDED"), "{list}");
    cluster.shutdown().await;
}

/// The "Aggregate Resource Allocation : N MB-seconds, M vcore-seconds" line of
/// `application -status`, as (N, M), and the "Aggregate Resource Preempted" one.
fn aggregate_allocation(status: &str) -> ((i64, i64), (i64, i64)) {
    let figures = |label: &str| {
        let line = status
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label:?} line in\n{status}"));
        let numbers: Vec<i64> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter(|w| !w.is_empty())
            .map(|w| w.parse().unwrap())
            .collect();
        assert!(
            line.contains(" MB-seconds, ") && line.ends_with(" vcore-seconds"),
            "{line}"
        );
        (numbers[0], numbers[1])
    };
    (
        figures("Aggregate Resource Allocation : "),
        figures("Aggregate Resource Preempted : "),
    )
}

/// `application -status` shows what an application used, as Hadoop's does: while it runs the
/// figures grow, once it ended they match its containers (an AM and two shell containers of
/// 256 MB / 1 vcore each, every one held at least as long as `sleep 3`, none longer than the
/// whole run), and its report counts no containers held (YARN's -1) while the figures stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_the_aggregate_resource_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = small_cluster(dir.path(), 600_000).await;
    let conf = cluster.conf_dir().to_path_buf();
    let client = spindle_client::YarnClient::connect(cluster.rm.client_address(), "tester")
        .await
        .unwrap();
    let started = Instant::now();
    let run = tokio::spawn(run_spindle(&conf, dshell_args(2, "sleep 3")));
    wait_until(30, "the application to be submitted", || {
        last_app(&cluster).is_some()
    })
    .await;
    let app: spindle_types::ApplicationId = last_app(&cluster).unwrap().0.parse().unwrap();

    // Running: the AM and both shell containers held, their use so far counted.
    let deadline = Instant::now() + Duration::from_secs(30);
    let running = loop {
        let report = client.get_application_report(app).await.unwrap();
        if report.used_containers == 3 {
            break report;
        }
        assert!(
            Instant::now() < deadline,
            "never held 3 containers: {report:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = client.get_application_report(app).await.unwrap();
    assert!(
        later.memory_seconds >= running.memory_seconds + 256,
        "a second later the AM alone added 256 MB-seconds: {} then {}",
        running.memory_seconds,
        later.memory_seconds
    );

    let out = run.await.unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let elapsed = started.elapsed().as_secs() as i64 + 1;
    let status = text(&spindle(
        &conf,
        &["application", "-status", &app.to_string()],
    ));
    let ((memory_seconds, vcore_seconds), preempted) = aggregate_allocation(&status);
    assert!(
        vcore_seconds >= 3 * 3 && vcore_seconds <= 3 * elapsed,
        "three 1-vcore containers, each held 3 s to {elapsed} s: {vcore_seconds}\n{status}"
    );
    // Every container has 256 MB and 1 vcore: each adds 256 × its vcore-seconds, give or take
    // the rounding down of a second.
    assert!(
        memory_seconds >= 256 * vcore_seconds && memory_seconds < 256 * (vcore_seconds + 3),
        "{memory_seconds} MB-seconds for {vcore_seconds} vcore-seconds\n{status}"
    );
    assert_eq!(preempted, (0, 0), "{status}");

    let ended = client.get_application_report(app).await.unwrap();
    assert_eq!(ended.state, YarnApplicationState::Finished);
    assert_eq!(
        ended.used_containers, -1,
        "an ended application holds nothing"
    );
    assert_eq!(ended.used_resources, Resource::new(-1, -1));
    assert_eq!(
        (ended.memory_seconds, ended.vcore_seconds),
        (memory_seconds, vcore_seconds),
        "the figures stay once it ended"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_command_fails_the_application_with_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = small_cluster(dir.path(), 600_000).await;
    let conf = cluster.conf_dir().to_path_buf();
    let out = run_spindle(&conf, dshell_args(2, "exit 42")).await;
    assert!(!out.status.success(), "{}", text(&out));
    let (app, _, status, _, diagnostics) = last_app(&cluster).unwrap();
    assert_eq!(status, FinalApplicationStatus::Failed);
    assert!(diagnostics.contains("exit status 42"), "{diagnostics}");
    let report = text(&spindle(&conf, &["application", "-status", &app]));
    assert!(
        report.contains("Final-State : FAILED") && report.contains("42"),
        "{report}"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_application_ends_killed_and_its_processes_are_gone() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = small_cluster(dir.path(), 600_000).await;
    let conf = cluster.conf_dir().to_path_buf();
    let client = tokio::spawn(run_spindle(&conf, dshell_args(3, "sleep 300")));
    wait_for_container_processes(&cluster, 4).await;
    let (app, ..) = last_app(&cluster).unwrap();
    let kill = spindle(&conf, &["application", "-kill", &app]);
    assert!(
        text(&kill).contains(&format!("Killed application {app}")),
        "{}",
        text(&kill)
    );
    assert_eq!(last_app(&cluster).unwrap().1, YarnApplicationState::Killed);
    let prefix = app.replace("application_", "container_");
    wait_until(10, "the killed application's processes to be gone", || {
        container_processes(&prefix).is_empty()
    })
    .await;
    let out = client.await.unwrap();
    assert!(
        !out.status.success(),
        "the dshell client reports the kill: {}",
        text(&out)
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_node_manager_is_lost_and_the_am_replaces_its_containers() {
    let dir = tempfile::tempdir().unwrap();
    let expiry_ms = 3000;
    let mut cluster = small_cluster(dir.path(), expiry_ms).await;
    let conf = cluster.conf_dir().to_path_buf();
    let client = tokio::spawn(run_spindle(&conf, dshell_args(3, "sleep 6")));
    wait_for_container_processes(&cluster, 4).await;
    let (app, ..) = last_app(&cluster).unwrap();
    // Kill an NM that runs a shell container but not the AM.
    let am_node = (0..3)
        .find(|i| {
            dir.path()
                .join(format!(
                    "nm-{i}/logs/{app}/{}_01_000001",
                    app.replace("application_", "container_")
                ))
                .exists()
        })
        .unwrap();
    let victim = nodes_used(dir.path(), &app)
        .into_iter()
        .find(|i| *i != am_node)
        .expect("a node with only shell containers");
    let victim_id = cluster.node_managers[victim]
        .as_ref()
        .unwrap()
        .node_id()
        .clone();
    let killed_at = Instant::now();
    cluster.kill_node(victim);
    wait_until(30, "the RM to mark the node LOST", || {
        cluster.rm.inspect(|c| {
            c.nodes()
                .any(|n| n.id == victim_id && n.state == NodeState::Lost)
        })
    })
    .await;
    let lost_after = killed_at.elapsed();
    assert!(
        lost_after >= Duration::from_millis(expiry_ms as u64 - 500),
        "LOST before the expiry: {lost_after:?}"
    );
    let out = client.await.unwrap();
    assert!(
        out.status.success(),
        "the AM replaced the lost containers and succeeded: {}",
        text(&out)
    );
    let (_, state, status, ..) = last_app(&cluster).unwrap();
    assert_eq!(
        (state, status),
        (
            YarnApplicationState::Finished,
            FinalApplicationStatus::Succeeded
        )
    );
    let am_log = text(&spindle(
        &conf,
        &[
            "logs",
            "-applicationId",
            &app,
            "-log_files",
            "AppMaster.stdout,AppMaster.stderr",
        ],
    ));
    assert!(
        am_log.contains("-100") || am_log.contains("ABORTED") || am_log.contains("lost"),
        "the AM learned the containers were lost: {am_log}"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_am_process_starts_a_second_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = small_cluster(dir.path(), 600_000).await;
    let conf = cluster.conf_dir().to_path_buf();
    let client = tokio::spawn(run_spindle(&conf, dshell_args(2, "sleep 3")));
    wait_until(30, "the first AM to run", || {
        last_app(&cluster).is_some_and(|(app, ..)| {
            let am = format!("{}_01_000001", app.replace("application_", "container_"));
            container_processes(&am)
                .iter()
                .any(|(_, cmd)| cmd.contains("dshell-am"))
        })
    })
    .await;
    let (app, ..) = last_app(&cluster).unwrap();
    let am = format!("{}_01_000001", app.replace("application_", "container_"));
    for (pid, cmd) in container_processes(&am) {
        if cmd.contains("dshell-am") {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
        }
    }
    let out = client.await.unwrap();
    assert!(
        out.status.success(),
        "the second attempt completes the work: {}",
        text(&out)
    );
    let (_, state, status, attempts, _) = last_app(&cluster).unwrap();
    assert_eq!(
        (state, status),
        (
            YarnApplicationState::Finished,
            FinalApplicationStatus::Succeeded
        )
    );
    assert_eq!(attempts, 2);
    cluster.shutdown().await;
}

/// A copy of `cluster`'s client configuration with RM HA on: rm1 at addresses where nothing
/// listens (a standby RM binds none of its client ports), rm2 the cluster's RM.
fn ha_client_conf(cluster: &MiniCluster, dir: &std::path::Path) -> std::path::PathBuf {
    let conf = dir.join("ha-conf");
    std::fs::create_dir_all(&conf).unwrap();
    let mut yarn_site = Vec::new();
    for entry in std::fs::read_dir(cluster.conf_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        if name == "yarn-site.xml" {
            let text = std::fs::read_to_string(&path).unwrap();
            for property in spindle_conf::parse_configuration_xml("yarn-site.xml", &text).unwrap() {
                if let Some(value) = property.value {
                    yarn_site.push((property.name, value));
                }
            }
        } else if path.is_file() {
            std::fs::copy(&path, conf.join(name)).unwrap();
        }
    }
    let dead = || format!("127.0.0.1:{}", free_port());
    yarn_site.extend([
        ("yarn.resourcemanager.ha.enabled".into(), "true".into()),
        ("yarn.resourcemanager.ha.rm-ids".into(), "rm1,rm2".into()),
        ("yarn.resourcemanager.address.rm1".into(), dead()),
        ("yarn.resourcemanager.scheduler.address.rm1".into(), dead()),
        (
            "yarn.resourcemanager.address.rm2".into(),
            cluster.rm.client_address().to_string(),
        ),
        (
            "yarn.resourcemanager.scheduler.address.rm2".into(),
            cluster.rm.scheduler_address().to_string(),
        ),
    ]);
    spindle_conf::write_site_xml(&conf.join("yarn-site.xml"), &yarn_site).unwrap();
    conf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_rm_ha_the_client_and_the_am_fail_over_past_a_dead_rm() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = small_cluster(dir.path(), 600_000).await;
    let conf = ha_client_conf(&cluster, dir.path());
    let out = run_spindle(&conf, dshell_args(2, "echo hello")).await;
    assert!(out.status.success(), "{}", text(&out));
    let (app, state, status, _, _) = last_app(&cluster).unwrap();
    assert_eq!(
        (state, status),
        (
            YarnApplicationState::Finished,
            FinalApplicationStatus::Succeeded
        )
    );
    // The AM got every rm-id's scheduler address from the client and registered with rm2.
    let am = format!("{}_01_000001", app.replace("application_", "container_"));
    let am_stdout = (0..3)
        .map(|i| {
            dir.path()
                .join(format!("nm-{i}/logs/{app}/{am}/AppMaster.stdout"))
        })
        .find(|path| path.exists())
        .map(|path| std::fs::read_to_string(path).unwrap())
        .expect("the AM's stdout");
    assert!(
        am_stdout.contains(&format!(
            "Registered with the ResourceManager at {}",
            cluster.rm.scheduler_address()
        )),
        "{am_stdout}"
    );
    let list = text(&spindle(
        &conf,
        &["application", "-list", "-appStates", "FINISHED"],
    ));
    assert!(list.contains(&app), "{list}");
    let nodes = text(&spindle(&conf, &["node", "-list"]));
    assert!(nodes.contains("Total Nodes:3"), "{nodes}");
    cluster.shutdown().await;
}
