//! NodeManager restart recovery where operators meet it: `spindle nodemanager` with
//! `yarn.nodemanager.recovery.enabled` on a fixed port, killed with SIGKILL while a
//! distributed-shell application runs and started again with the same configuration. The
//! containers keep running through the crash (same processes, each started once), the restarted
//! NM takes them back and reports them, and an exit that happened while it was down reaches the
//! ApplicationMaster.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// One RM and NM pair at a time: each runs an AM and two containers on a 2-core machine.
static ONE_PAIR_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// yarn-site.xml in `dir/conf` for an RM and one NM with recovery on, on a fixed port, its
/// store under `dir/nm-recovery`, plus `extra`.
fn nm_recovery_conf(dir: &Path, extra: &[(&'static str, &str)]) -> PathBuf {
    let conf = dir.join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    let (client, scheduler, tracker) = (free_port(), free_port(), free_port());
    let mut properties = daemon_properties(dir, client, scheduler, tracker);
    properties.retain(|(key, _)| *key != "yarn.nodemanager.address");
    properties.extend([
        (
            "yarn.nodemanager.address",
            format!("localhost:{}", free_port()),
        ),
        ("yarn.nodemanager.recovery.enabled", "true".to_string()),
        (
            "yarn.nodemanager.recovery.dir",
            dir.join("nm-recovery").display().to_string(),
        ),
    ]);
    properties.extend(extra.iter().map(|(key, value)| (*key, value.to_string())));
    spindle_conf::write_site_xml(&conf.join("yarn-site.xml"), &properties).unwrap();
    conf
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn nodemanager(conf: &Path, log: &Path) -> Process {
    spawn_spindle_with_env(conf, &["nodemanager"], log, &[("SPINDLE_LOG", "info")])
}

/// The pids of a container's live processes, sorted.
fn pids(container_id: &str) -> Vec<i32> {
    let mut pids: Vec<i32> = container_processes(container_id)
        .into_iter()
        .map(|(pid, _)| pid)
        .collect();
    pids.sort_unstable();
    pids
}

/// Kills, when dropped, every process still running in a container of this test's node (found
/// by the work dir in its environment): a recovering NM's containers outlive it.
struct KillContainersOnDrop(PathBuf);

impl Drop for KillContainersOnDrop {
    fn drop(&mut self) {
        let needle = format!("PWD={}", self.0.display());
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
            else {
                continue;
            };
            let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
            if environ
                .split(|b| *b == 0)
                .any(|var| String::from_utf8_lossy(var).starts_with(&needle))
            {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

/// An RM and a recovering NM, with the NM registered.
async fn start_daemons(
    dir: &Path,
    extra: &[(&'static str, &str)],
) -> (PathBuf, Process, Process, KillContainersOnDrop) {
    let conf = nm_recovery_conf(dir, extra);
    let rm = spawn_spindle(&conf, &["resourcemanager"], &dir.join("rm.log"));
    let nm = nodemanager(&conf, &dir.join("nm.log"));
    wait_until(20, "the NM to register", || {
        text(&spindle(&conf, &["node", "-list"])).contains("Total Nodes:1")
    })
    .await;
    (conf, rm, nm, KillContainersOnDrop(dir.join("nm/local")))
}

fn logs(dir: &Path) -> String {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    format!(
        "client:\n{}\nNM before:\n{}\nNM after:\n{}\nRM:\n{}",
        read("dshell.log"),
        read("nm.log"),
        read("nm-2.log"),
        read("rm.log")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_survive_a_sigkilled_nodemanager_and_the_application_succeeds() {
    let _one = ONE_PAIR_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (conf, _rm, mut nm, _cleanup) = start_daemons(dir.path(), &[]).await;

    // Two containers record each start, then sleep through the NM's crash and restart.
    let ran = dir.path().join("ran");
    let command = format!("echo $CONTAINER_ID >> {}; sleep 15", ran.display());
    let mut client = spawn_spindle(
        &conf,
        &dshell_two_containers(&command),
        &dir.path().join("dshell.log"),
    );
    wait_until(40, "both containers to start", || lines(&ran).len() == 2).await;
    let containers = lines(&ran);
    wait_until(10, "both containers to sleep", || {
        containers.iter().all(|c| {
            container_processes(c)
                .iter()
                .any(|(_, command)| command.starts_with("sleep"))
        })
    })
    .await;
    let before: Vec<Vec<i32>> = containers.iter().map(|c| pids(c)).collect();
    assert!(before.iter().all(|p| !p.is_empty()), "{before:?}");

    nm.0.kill().unwrap();
    nm.0.wait().unwrap();
    let after_crash: Vec<Vec<i32>> = containers.iter().map(|c| pids(c)).collect();
    assert_eq!(
        after_crash, before,
        "the containers' processes outlive the NM"
    );

    let nm_log = dir.path().join("nm-2.log");
    let _nm = nodemanager(&conf, &nm_log);
    wait_until(20, "the restarted NM to recover its containers", || {
        std::fs::read_to_string(&nm_log)
            .unwrap_or_default()
            .contains("registered with the ResourceManager")
    })
    .await;
    let after_restart: Vec<Vec<i32>> = containers.iter().map(|c| pids(c)).collect();
    assert_eq!(
        after_restart,
        before,
        "the same processes, neither restarted nor stopped\n{}",
        logs(dir.path())
    );

    let status = exit_within(&mut client.0, 90, "the distributed shell").await;
    assert!(status.success(), "{}", logs(dir.path()));
    assert_eq!(
        lines(&ran),
        containers,
        "each container ran exactly once\n{}",
        logs(dir.path())
    );
    let recovered = std::fs::read_to_string(&nm_log).unwrap();
    for container in &containers {
        assert!(
            recovered.contains(&format!("Recovered container {container}: its process"))
                && recovered.contains("is still running"),
            "{container} recovered running:\n{recovered}"
        );
    }
    assert!(
        recovered.contains("NodeManager recovered 3 containers"),
        "the AM and both shell containers: {recovered}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exit_while_the_nodemanager_is_down_reaches_the_application_master() {
    let _one = ONE_PAIR_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (conf, _rm, mut nm, _cleanup) = start_daemons(dir.path(), &[]).await;

    // The first container to start exits with 3 once the test says so (after the NM's crash);
    // the other one succeeds after the restart.
    let ran = dir.path().join("ran");
    let first = dir.path().join("first");
    let failing = dir.path().join("failing");
    let go = dir.path().join("go");
    let command = format!(
        "echo $CONTAINER_ID >> {ran}; if mkdir {first} 2>/dev/null; then echo $CONTAINER_ID > {failing}; while [ ! -e {go} ]; do sleep 0.1; done; exit 3; fi; sleep 15",
        ran = ran.display(),
        first = first.display(),
        failing = failing.display(),
        go = go.display(),
    );
    let mut client = spawn_spindle(
        &conf,
        &dshell_two_containers(&command),
        &dir.path().join("dshell.log"),
    );
    wait_until(40, "both containers to start", || {
        lines(&ran).len() == 2 && lines(&failing).len() == 1
    })
    .await;
    let failing_container = lines(&failing).remove(0);

    nm.0.kill().unwrap();
    nm.0.wait().unwrap();
    std::fs::write(&go, b"").unwrap();
    wait_until(
        20,
        "the failing container to exit while the NM is down",
        || pids(&failing_container).is_empty(),
    )
    .await;

    let nm_log = dir.path().join("nm-2.log");
    let _nm = nodemanager(&conf, &nm_log);
    let status = exit_within(&mut client.0, 90, "the distributed shell").await;
    let output = logs(dir.path());
    assert_eq!(status.code(), Some(2), "the application failed:\n{output}");
    assert!(
        output.contains(&format!("{failing_container} exit status 3")),
        "the AM saw the exit code:\n{output}"
    );
    assert!(
        output.contains("failed=1"),
        "only that container failed:\n{output}"
    );
    assert_eq!(lines(&ran).len(), 2, "no container ran twice:\n{output}");
    let recovered = std::fs::read_to_string(&nm_log).unwrap();
    assert!(
        recovered.contains(&format!(
            "Recovered container {failing_container}: its process"
        )) && recovered.contains("ended while the NodeManager was down"),
        "{recovered}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervised_nodemanager_stopped_with_sigterm_leaves_its_containers_to_its_successor() {
    let _one = ONE_PAIR_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (conf, _rm, mut nm, _cleanup) = start_daemons(
        dir.path(),
        &[("yarn.nodemanager.recovery.supervised", "true")],
    )
    .await;
    let ran = dir.path().join("ran");
    let command = format!("echo $CONTAINER_ID >> {}; sleep 10", ran.display());
    let mut client = spawn_spindle(
        &conf,
        &dshell_two_containers(&command),
        &dir.path().join("dshell.log"),
    );
    wait_until(40, "both containers to start", || lines(&ran).len() == 2).await;
    let containers = lines(&ran);

    send_signal(&nm.0, "TERM");
    let status = exit_within(&mut nm.0, 20, "the NodeManager after SIGTERM").await;
    assert!(status.success(), "{}", logs(dir.path()));
    assert!(
        logs(dir.path()).contains("its containers keep running"),
        "{}",
        logs(dir.path())
    );
    for container in &containers {
        assert!(
            !pids(container).is_empty(),
            "{container} still runs after the supervised NM stopped"
        );
    }

    let _nm = nodemanager(&conf, &dir.path().join("nm-2.log"));
    let status = exit_within(&mut client.0, 90, "the distributed shell").await;
    assert!(status.success(), "{}", logs(dir.path()));
    assert_eq!(lines(&ran), containers, "{}", logs(dir.path()));
}
