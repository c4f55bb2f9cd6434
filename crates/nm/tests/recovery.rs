//! NodeManager restart recovery on real processes: what a restarted NM makes of each container its
//! recovery store recorded. The processes a previous NM started are played by orphans started the
//! way the NM starts them (the executor script in a new session, reparented away from the test),
//! so their pid and exit-code files are the ones a real NM would find.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use spindle_nm::container::{
    executor_script, is_alive, launch_script, ContainerLifecycleState, ContainerManager,
    ContainerPaths, LaunchEnvironment, NmContainerConfig, EXIT_CODE_LOST,
};
use spindle_nm::localizer::LocalResourceType;
use spindle_nm::recovery::{
    ContainerRecord, NmRecoverySettings, NmStateStore, RecordedStatus, Table,
};
use spindle_nm::service::{NmSettings, NodeManager};
use spindle_types::{exit_status, ContainerId, Resource};

/// A node whose containers are recorded in `<temp>/recovery` (the store stays open across the
/// NM "restarts" of a test: one process cannot open it twice).
struct RecoveringNode {
    temp: tempfile::TempDir,
    store: Arc<NmStateStore>,
    /// Process groups of orphaned containers, killed when the test ends (even by a panic).
    orphans: std::sync::Mutex<Vec<Pid>>,
}

impl Drop for RecoveringNode {
    fn drop(&mut self) {
        for pid in self.orphans.lock().unwrap().drain(..) {
            if is_alive(pid) {
                let _ = killpg(pid, Signal::SIGKILL);
            }
        }
    }
}

impl RecoveringNode {
    fn new() -> Self {
        let temp = tempfile::tempdir().unwrap();
        let store = Arc::new(NmStateStore::open(&temp.path().join("recovery")).unwrap());
        Self {
            temp,
            store,
            orphans: Default::default(),
        }
    }

    fn config(&self) -> NmContainerConfig {
        config(self.temp.path())
    }

    fn store(&self) -> Arc<NmStateStore> {
        self.store.clone()
    }

    /// A (re)started NM's container manager: what the store holds is taken back first.
    async fn start_manager(&self) -> ContainerManager {
        let store = self.store();
        let state = store.load().unwrap();
        ContainerManager::recover(self.config(), store, state)
            .await
            .unwrap()
    }

    fn paths(&self, id: ContainerId) -> ContainerPaths {
        ContainerPaths::new(
            &self.temp.path().join("local"),
            &self.temp.path().join("logs"),
            "alice",
            id,
        )
    }

    fn record(&self, id: ContainerId, commands: &[&str], status: RecordedStatus) {
        let record = ContainerRecord {
            spec: spec(id, commands),
            status,
            start_time_ms: 1,
            kill_exit_status: None,
            diagnostics: String::new(),
        };
        let store = self.store();
        store.store_container(&record).unwrap();
    }

    /// What an earlier NM left behind for a launched container: its record and its process,
    /// started like the NM starts it but not a child of this test (nobody here can wait for it).
    /// Returns the pid once the executor script has written it.
    async fn orphan_launched_container(&self, id: ContainerId, command: &str) -> Pid {
        self.record(id, &[command], RecordedStatus::Launched);
        let paths = self.paths(id);
        for dir in [&paths.work_dir, &paths.log_dir, &paths.private_dir] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let environment = LaunchEnvironment {
            whitelisted: vec![("PATH".into(), "/usr/bin:/bin".into())],
            nm_variables: vec![("CONTAINER_ID".into(), id.to_string())],
            request_variables: vec![],
        };
        let script = launch_script(&environment, &[], &[command.to_string()], &paths.log_dir);
        std::fs::write(&paths.launch_script, script).unwrap();
        std::fs::write(
            &paths.executor_script,
            executor_script(&paths.launch_script, &paths.pid_file, &paths.exit_code_file),
        )
        .unwrap();
        let status = std::process::Command::new("/bin/bash")
            .arg("-c")
            .arg(format!(
                "setsid /bin/bash '{}' </dev/null >/dev/null 2>&1 &",
                paths.executor_script.display()
            ))
            .current_dir(&paths.work_dir)
            .status()
            .unwrap();
        assert!(status.success());
        let pid = wait_for_file(&paths.pid_file).await;
        let pid = Pid::from_raw(pid.trim().parse().unwrap());
        self.orphans.lock().unwrap().push(pid);
        pid
    }
}

async fn wait_while_alive(pid: Pid) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while is_alive(pid) {
        assert!(Instant::now() < deadline, "{pid} still alive");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn recorded(node: &RecoveringNode, id: ContainerId) -> Option<ContainerRecord> {
    node.store().container(id).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_that_exited_while_the_nm_was_down_completes_with_its_exit_code() {
    let node = RecoveringNode::new();
    let id = container_id(1, 2);
    let pid = node
        .orphan_launched_container(id, "echo oops >&2; exit 7")
        .await;
    wait_while_alive(pid).await;

    let manager = node.start_manager().await;
    // Known before the restarted NM registers: no waiting, no liveness polling.
    let report = manager.status(id).unwrap();
    assert_eq!(report.state, ContainerLifecycleState::Done);
    assert_eq!(report.exit_status, 7);
    assert!(
        report
            .diagnostics
            .contains("Container exited with a non-zero exit code 7"),
        "{}",
        report.diagnostics
    );
    assert_eq!(
        recorded(&node, id).unwrap().status,
        RecordedStatus::Completed { exit_status: 7 }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_container_is_running_again_and_its_later_exit_code_is_reported() {
    let node = RecoveringNode::new();
    let id = container_id(1, 2);
    let marker = node.temp.path().join("go");
    let command = format!(
        "while [ ! -e {} ]; do sleep 0.05; done; exit 5",
        marker.display()
    );
    let pid = node.orphan_launched_container(id, &command).await;

    let manager = node.start_manager().await;
    let report = manager.status(id).unwrap();
    assert_eq!(report.state, ContainerLifecycleState::Running);
    assert_eq!(report.exit_status, exit_status::INVALID);
    assert!(
        is_alive(pid),
        "recovery did not restart or stop the process"
    );
    assert_eq!(manager.list().len(), 1);

    std::fs::write(&marker, b"").unwrap();
    let started = Instant::now();
    let report = tokio::time::timeout(Duration::from_secs(10), manager.wait_for_completion(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.exit_status, 5);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "noticed within the 1 s liveness interval"
    );
    assert_eq!(
        recorded(&node, id).unwrap().status,
        RecordedStatus::Completed { exit_status: 5 }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovered_container_can_be_stopped() {
    let node = RecoveringNode::new();
    let id = container_id(1, 2);
    let pid = node
        .orphan_launched_container(id, "sleep 1000 & sleep 1000")
        .await;
    let manager = node.start_manager().await;
    assert_eq!(
        manager.status(id).unwrap().state,
        ContainerLifecycleState::Running
    );
    // The executor script, the shell and both sleeps, once the launch script has started them.
    let deadline = Instant::now() + Duration::from_secs(5);
    while live_session_members(pid.as_raw()).len() < 4 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(live_session_members(pid.as_raw()).len() >= 4);
    manager.stop(id, exit_status::KILLED_BY_APPMASTER).unwrap();
    let report = tokio::time::timeout(Duration::from_secs(10), manager.wait_for_completion(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.exit_status, exit_status::KILLED_BY_APPMASTER);
    assert_eq!(
        wait_until_session_is_empty(pid.as_raw()).await,
        Vec::<i32>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_that_left_no_exit_code_is_lost() {
    let node = RecoveringNode::new();
    let id = container_id(1, 2);
    let pid = node.orphan_launched_container(id, "sleep 1000").await;
    // SIGKILL leaves the executor script no chance to write the exit code.
    killpg(pid, Signal::SIGKILL).unwrap();
    wait_while_alive(pid).await;

    let started = Instant::now();
    let manager = node.start_manager().await;
    let report = manager.status(id).unwrap();
    assert_eq!(report.state, ContainerLifecycleState::Done);
    assert_eq!(report.exit_status, EXIT_CODE_LOST);
    assert!(
        report
            .diagnostics
            .contains("Timeout while waiting for exit code"),
        "{}",
        report.diagnostics
    );
    assert!(started.elapsed() >= Duration::from_secs(2), "waited 2 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launched_container_without_a_pid_file_is_lost() {
    let node = RecoveringNode::new();
    let id = container_id(1, 2);
    node.record(id, &["sleep 1"], RecordedStatus::Launched);
    let manager = node.start_manager().await;
    let report = manager.status(id).unwrap();
    assert_eq!(report.exit_status, EXIT_CODE_LOST);
    assert!(
        report
            .diagnostics
            .contains("Unable to locate pid file for container"),
        "{}",
        report.diagnostics
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_never_started_is_launched_and_a_completed_one_is_reported() {
    let node = RecoveringNode::new();
    let (requested, completed) = (container_id(1, 2), container_id(1, 3));
    let out = node.temp.path().join("ran");
    node.record(
        requested,
        &[&format!("echo $CONTAINER_ID >> {}", out.display())],
        RecordedStatus::Requested,
    );
    node.record(
        completed,
        &["true"],
        RecordedStatus::Completed { exit_status: 3 },
    );

    let manager = node.start_manager().await;
    let report = manager.status(completed).unwrap();
    assert_eq!(
        (report.state, report.exit_status),
        (ContainerLifecycleState::Done, 3)
    );
    let report = tokio::time::timeout(
        Duration::from_secs(20),
        manager.wait_for_completion(requested),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(report.exit_status, 0, "{}", report.diagnostics);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap().trim(),
        requested.to_string()
    );

    // Completions are forgotten when the RM says so; their records go with them, and their
    // tokens cannot start them again, even after another restart.
    assert!(manager.forget(completed));
    assert!(recorded(&node, completed).is_none());
    drop(manager);
    let manager = node.start_manager().await;
    assert!(manager.status(completed).is_none());
    let again = manager.start(spec(completed, &["true"])).unwrap_err();
    assert!(again.to_string().contains("recently stopped"), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_record_drops_its_container_and_kills_its_process() {
    let node = RecoveringNode::new();
    let (bad, good) = (container_id(1, 2), container_id(1, 3));
    let bad_pid = node.orphan_launched_container(bad, "sleep 1000").await;
    let good_pid = node.orphan_launched_container(good, "sleep 1000").await;
    node.store()
        .put_raw(Table::Containers, &bad.to_string(), b"\x0a\xff\xff")
        .unwrap();

    let manager = node.start_manager().await;
    assert!(manager.status(bad).is_none());
    assert_eq!(
        manager.status(good).unwrap().state,
        ContainerLifecycleState::Running
    );
    wait_while_alive(bad_pid).await;
    assert!(is_alive(good_pid));
    let state = node.store().load().unwrap();
    assert!(state.bad.is_empty(), "the bad record was deleted");
    manager
        .stop(good, exit_status::KILLED_BY_APPMASTER)
        .unwrap();
    manager.wait_for_completion(good).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_nm_records_each_step_and_keeps_its_localized_resources() {
    let node = RecoveringNode::new();
    let source = node.temp.path().join("staging");
    std::fs::create_dir_all(&source).unwrap();
    let jar = source.join("lib.jar");
    std::fs::write(&jar, b"classes").unwrap();

    let manager = node.start_manager().await;
    let id = container_id(1, 2);
    let mut with_resource = spec(id, &["cat lib.jar > /dev/null; sleep 1000"]);
    with_resource
        .local_resources
        .insert("lib.jar".into(), resource(&jar, LocalResourceType::File));
    manager.start(with_resource.clone()).unwrap();
    assert!(
        recorded(&node, id).is_some(),
        "recorded before start returns"
    );
    let paths = manager.paths(id).unwrap();
    let pid: i32 = wait_for_file(&paths.pid_file).await.trim().parse().unwrap();
    assert_eq!(
        recorded(&node, id).unwrap().status,
        RecordedStatus::Launched
    );
    assert_eq!(manager.localizer().stats().downloads, 1);

    manager.stop(id, exit_status::KILLED_BY_APPMASTER).unwrap();
    let report = manager.wait_for_completion(id).await.unwrap();
    assert_eq!(report.exit_status, exit_status::KILLED_BY_APPMASTER);
    let record = recorded(&node, id).unwrap();
    assert_eq!(
        record.status,
        RecordedStatus::Completed {
            exit_status: exit_status::KILLED_BY_APPMASTER
        }
    );
    assert_eq!(
        record.kill_exit_status,
        Some(exit_status::KILLED_BY_APPMASTER)
    );
    assert_eq!(wait_until_session_is_empty(pid).await, Vec::<i32>::new());
    drop(manager);

    // After a restart the copy is reused, not localized again.
    let manager = node.start_manager().await;
    let next = container_id(1, 3);
    let mut again = with_resource;
    again.container_id = next;
    again.commands = vec!["cat lib.jar".into()];
    manager.start(again).unwrap();
    let report = manager.wait_for_completion(next).await.unwrap();
    assert_eq!(report.exit_status, 0, "{}", report.diagnostics);
    let stats = manager.localizer().stats();
    assert_eq!((stats.downloads, stats.cache_hits), (0, 1));

    // Application cleanup forgets the application and its private files.
    manager.finish_application(id.application_id()).await;
    assert!(!paths.private_dir.exists());
}

#[tokio::test]
async fn recovery_refuses_an_ephemeral_port() {
    let temp = tempfile::tempdir().unwrap();
    let settings = NmSettings {
        host: "localhost".into(),
        bind: "127.0.0.1:0".parse().unwrap(),
        web: spindle_nm::web::NmWebSetup::loopback(),
        rm_trackers: vec!["127.0.0.1:1".parse().unwrap()],
        resource: Resource::new(1024, 1),
        heartbeat_interval: Duration::from_secs(1),
        rpc_timeout: Duration::from_secs(1),
        gpu_devices: vec![],
        containers: config(temp.path()),
        recovery: Some(NmRecoverySettings {
            dir: temp.path().join("recovery"),
            supervised: false,
        }),
        registration_secret: None,
        ipc_server: None,
    };
    let error = NodeManager::start(settings)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("yarn.nodemanager.address"), "{error}");
    assert!(error.contains("port 0"), "{error}");
    assert!(
        !temp.path().join("recovery").exists(),
        "refused before touching the store"
    );
}
