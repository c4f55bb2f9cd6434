//! Stopping containers and the memory monitor, observed through /proc and exit statuses.

mod common;

use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use spindle_nm::container::ContainerLifecycleState;
use spindle_nm::localizer::LocalResourceType;
use spindle_types::{exit_status, Resource};

async fn leader_pid(node: &Node, id: spindle_types::ContainerId) -> i32 {
    let pid_file = node.manager.paths(id).unwrap().log_dir.join("pid");
    wait_for_file(&pid_file).await.trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_kills_the_whole_process_group() {
    let node = node();
    let id = container_id(1, 1);
    node.manager
        .start(spec(
            id,
            &["echo $$ > <LOG_DIR>/pid; sleep 1000 & sleep 1000"],
        ))
        .unwrap();
    let leader = leader_pid(&node, id).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while live_session_members(leader).len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        live_session_members(leader).len() >= 2,
        "both sleeps run in the container's session"
    );
    assert_eq!(
        node.manager.status(id).unwrap().state,
        ContainerLifecycleState::Running
    );

    node.manager
        .stop(id, exit_status::KILLED_BY_APPMASTER)
        .unwrap();
    let report = node.manager.wait_for_completion(id).await.unwrap();
    assert_eq!(report.exit_status, exit_status::KILLED_BY_APPMASTER);
    assert!(
        report
            .diagnostics
            .contains("]Container killed by the ApplicationMaster.\n"),
        "{}",
        report.diagnostics
    );
    assert!(
        report
            .diagnostics
            .contains("]Container killed on request. Exit code is 143\n"),
        "{}",
        report.diagnostics
    );
    assert!(
        report
            .diagnostics
            .contains("]Container exited with a non-zero exit code 143. \n"),
        "{}",
        report.diagnostics
    );
    assert_eq!(
        wait_until_session_is_empty(leader).await,
        Vec::<i32>::new(),
        "no process of the container survives"
    );
    // A second stop of a finished container changes nothing.
    node.manager
        .stop(id, exit_status::KILLED_BY_RESOURCEMANAGER)
        .unwrap();
    assert_eq!(
        node.manager.status(id).unwrap().exit_status,
        exit_status::KILLED_BY_APPMASTER
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_ignoring_sigterm_is_sigkilled_after_the_delay() {
    let node = node_with(|config| config.sigkill_delay = Duration::from_millis(400));
    let id = container_id(2, 1);
    node.manager
        .start(spec(
            id,
            &["trap '' TERM; echo $$ > <LOG_DIR>/pid; sleep 1000"],
        ))
        .unwrap();
    let leader = leader_pid(&node, id).await;
    let stopped_at = Instant::now();
    node.manager
        .stop(id, exit_status::KILLED_BY_RESOURCEMANAGER)
        .unwrap();
    let report = node.manager.wait_for_completion(id).await.unwrap();
    assert!(
        stopped_at.elapsed() >= Duration::from_millis(400),
        "SIGKILL comes only after the delay"
    );
    assert_eq!(report.exit_status, exit_status::KILLED_BY_RESOURCEMANAGER);
    assert!(report
        .diagnostics
        .contains("Container Killed by ResourceManager"));
    assert!(
        report.diagnostics.contains("Exit code is 137"),
        "{}",
        report.diagnostics
    );
    assert!(wait_until_session_is_empty(leader).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_the_nm_did_not_send_is_reported_as_128_plus_signal() {
    let node = node();
    let id = container_id(3, 1);
    node.manager
        .start(spec(id, &["echo $$ > <LOG_DIR>/pid; exec sleep 1000"]))
        .unwrap();
    let leader = leader_pid(&node, id).await;
    kill(Pid::from_raw(leader), Signal::SIGTERM).unwrap();
    let report = node.manager.wait_for_completion(id).await.unwrap();
    assert_eq!(report.exit_status, 143);
    assert!(
        report
            .diagnostics
            .contains("Container exited with a non-zero exit code 143. Killed by external signal"),
        "{}",
        report.diagnostics
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_left_behind_by_an_exited_container_are_killed() {
    let node = node();
    let id = container_id(4, 1);
    node.manager
        .start(spec(
            id,
            &["echo $$ > <LOG_DIR>/pid; (sleep 1000 &); sleep 0.2; exit 0"],
        ))
        .unwrap();
    let leader = leader_pid(&node, id).await;
    let report = node.manager.wait_for_completion(id).await.unwrap();
    assert_eq!(report.exit_status, 0);
    assert!(wait_until_session_is_empty(leader).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_during_localization_never_launches_the_process() {
    let node = node();
    let big = node.source_dir().join("big.bin");
    std::fs::write(&big, vec![1u8; 32 * 1024 * 1024]).unwrap();
    let id = container_id(5, 1);
    let mut request = spec(id, &["touch <LOG_DIR>/ran"]);
    request
        .local_resources
        .insert("big.bin".into(), resource(&big, LocalResourceType::File));
    node.manager.start(request).unwrap();
    node.manager
        .stop(id, exit_status::KILLED_BY_APPMASTER)
        .unwrap();
    let report = node.manager.wait_for_completion(id).await.unwrap();
    assert_eq!(report.exit_status, exit_status::KILLED_BY_APPMASTER);
    assert!(!node.manager.paths(id).unwrap().log_dir.join("ran").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_above_its_memory_is_killed_with_pmem_status() {
    let node = node();
    let id = container_id(6, 1);
    let hog = format!(
        "{} -c \\\"import time; block = b'x' * (256 * 1024 * 1024); time.sleep(30)\\\"",
        python3()
    );
    let mut request = spec(id, &[&hog]);
    request.resource = Resource::new(64, 1);
    let started = Instant::now();
    node.manager.start(request).unwrap();
    let report = node.manager.wait_for_completion(id).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        report.exit_status,
        exit_status::KILLED_EXCEEDED_PMEM,
        "{}",
        report.diagnostics
    );
    for expected in [
        "is running ",
        "B beyond the 'PHYSICAL' memory limit. Current usage: ",
        " of 64 MB physical memory used; ",
        "Killing container.\nDump of the process-tree for ",
    ] {
        assert!(
            report.diagnostics.contains(expected),
            "missing {expected:?} in {}",
            report.diagnostics
        );
    }
    assert!(
        report.diagnostics.contains("python"),
        "the process-tree dump names the process"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_pmem_check_a_large_container_runs_to_completion() {
    let node = node_with(|config| config.pmem_check = false);
    let id = container_id(7, 1);
    let hog = format!(
        "{} -c \\\"import time; block = b'x' * (128 * 1024 * 1024); time.sleep(0.3)\\\"",
        python3()
    );
    let mut request = spec(id, &[&hog]);
    request.resource = Resource::new(64, 1);
    node.manager.start(request).unwrap();
    assert_eq!(
        node.manager
            .wait_for_completion(id)
            .await
            .unwrap()
            .exit_status,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finishing_an_application_stops_its_containers_and_deletes_its_appcache() {
    let node = node();
    let running = container_id(8, 1);
    let other_app = container_id(9, 1);
    node.manager
        .start(spec(running, &["echo $$ > <LOG_DIR>/pid; sleep 1000"]))
        .unwrap();
    node.manager
        .start(spec(other_app, &["echo $$ > <LOG_DIR>/pid; sleep 1000"]))
        .unwrap();
    let leader = leader_pid(&node, running).await;
    leader_pid(&node, other_app).await;
    let app_dir = node
        .local_dir()
        .join("usercache/alice/appcache/application_1700000000000_0008");
    assert!(app_dir.join(running.to_string()).is_dir());

    node.manager
        .finish_application(running.application_id())
        .await;
    let report = node.manager.status(running).unwrap();
    assert_eq!(
        (report.state, report.exit_status),
        (
            ContainerLifecycleState::Done,
            exit_status::KILLED_AFTER_APP_COMPLETION
        )
    );
    assert!(
        !app_dir.exists(),
        "appcache of the finished application is deleted"
    );
    assert!(
        node.manager
            .paths(running)
            .unwrap()
            .log_dir
            .join("prelaunch.out")
            .exists(),
        "logs are kept"
    );
    assert!(wait_until_session_is_empty(leader).await.is_empty());
    assert_eq!(
        node.manager.status(other_app).unwrap().state,
        ContainerLifecycleState::Running,
        "other applications are untouched"
    );
    node.manager.stop_all(exit_status::ABORTED).await;
    assert_eq!(
        node.manager.status(other_app).unwrap().exit_status,
        exit_status::ABORTED
    );
}

#[tokio::test]
async fn a_forgotten_container_is_not_listed_and_its_id_cannot_start_again() {
    let node = node();
    let id = container_id(10, 1);
    node.manager.start(spec(id, &["exit 0"])).unwrap();
    node.manager.wait_for_completion(id).await.unwrap();
    assert!(node.manager.forget(id), "a DONE container is forgotten");
    assert!(node.manager.list().is_empty());
    assert!(node.manager.status(id).is_none());
    let again = node.manager.start(spec(id, &["exit 0"])).unwrap_err();
    assert!(again.to_string().contains("recently stopped"), "{again}");
    // A running container is not forgotten.
    let running = container_id(10, 2);
    node.manager.start(spec(running, &["sleep 1000"])).unwrap();
    assert!(!node.manager.forget(running));
    node.manager
        .finish_application(running.application_id())
        .await;
}

#[tokio::test]
async fn a_finished_applications_logs_are_deleted_after_their_retention() {
    let node = node_with(|config| config.log_retain = Duration::from_millis(300));
    let id = container_id(11, 1);
    node.manager
        .start(spec(id, &["echo kept-for-a-while"]))
        .unwrap();
    node.manager.wait_for_completion(id).await.unwrap();
    let application_logs = node.log_dir().join(id.application_id().to_string());
    node.manager.finish_application(id.application_id()).await;
    assert!(
        application_logs.join(id.to_string()).is_dir(),
        "logs stay right after the application finishes"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while application_logs.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} still there",
            application_logs.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// With log aggregation on, a finished application's logs are uploaded to the remote dir in
/// YARN's layout, the local copies go at once, and the RM's next heartbeat hears SUCCEEDED;
/// an application that never ran here uploads nothing and reports nothing.
#[tokio::test]
async fn a_finished_applications_logs_are_uploaded_then_deleted_here() {
    let remote = tempfile::tempdir().unwrap();
    let node = node_with(|config| {
        config.log_aggregation =
            spindle_nm::log_aggregation::LogAggregationSettings::enabled_at(remote.path());
    });
    let id = container_id(13, 1);
    node.manager
        .start(spec(
            id,
            &["echo uploaded-text 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"],
        ))
        .unwrap();
    node.manager.wait_for_completion(id).await.unwrap();
    let application_logs = node.log_dir().join(id.application_id().to_string());
    assert!(application_logs
        .join(id.to_string())
        .join("stdout")
        .is_file());
    node.manager.finish_application(id.application_id()).await;
    assert!(!application_logs.exists(), "local logs go once uploaded");

    let uploaded = remote
        .path()
        .join("alice/bucket-logs-tfile/0013")
        .join(id.application_id().to_string())
        .join("node1.example_8041");
    let file = spindle_nm::log_aggregation::format::AggregatedLogFile::open(&uploaded).unwrap();
    let container = &file.containers()[0];
    assert_eq!(container.container_id, id);
    let stdout = container.files.iter().find(|f| f.name == "stdout").unwrap();
    let mut text = Vec::new();
    file.copy_to(stdout, 0..u64::MAX, &mut text).unwrap();
    assert_eq!(text, b"uploaded-text\n");
    let reports = node.manager.take_log_aggregation_reports();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(
        (reports[0].application_id, reports[0].status),
        (
            id.application_id(),
            spindle_types::states::LogAggregationStatus::Succeeded
        )
    );

    node.manager.finish_application(application(14)).await;
    assert!(node.manager.take_log_aggregation_reports().is_empty());
}

/// Sets the modification time of `path` to `age` ago.
fn age(path: &std::path::Path, age: Duration) {
    let when = std::time::SystemTime::now() - age;
    std::fs::File::open(path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

/// Sets the modification time of `path` and everything under it to `how_old` ago.
fn age_tree(path: &std::path::Path, how_old: Duration) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap().flatten() {
            age_tree(&entry.path(), how_old);
        }
    }
    age(path, how_old);
}

#[tokio::test]
async fn logs_an_earlier_nodemanager_left_behind_are_swept_once_due() {
    let node = node_with(|config| config.log_retain = Duration::from_secs(3600));
    let hour_and_more = Duration::from_secs(3700);
    // What an NM that stopped before its logs were due left: one application idle for more
    // than the retention, one written to recently, and something that is no application.
    let old = node.log_dir().join(application(21).to_string());
    let recent = node.log_dir().join(application(22).to_string());
    let other = node.log_dir().join("not-an-application");
    for dir in [&old, &recent, &other] {
        let container = dir.join(container_id(21, 1).to_string());
        std::fs::create_dir_all(&container).unwrap();
        std::fs::write(container.join("stdout"), "x").unwrap();
        for path in [
            container.join("stdout"),
            container.clone(),
            dir.to_path_buf(),
        ] {
            age(&path, hour_and_more);
        }
    }
    // The recent one had a log line written a minute ago.
    age(
        &recent.join(container_id(21, 1).to_string()).join("stdout"),
        Duration::from_secs(60),
    );
    // An application with a container on this NM keeps its logs, however old.
    let live = container_id(23, 1);
    node.manager.start(spec(live, &["sleep 30"])).unwrap();
    let live_logs = node.log_dir().join(live.application_id().to_string());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !live_logs.is_dir() {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    age_tree(&live_logs, hour_and_more);

    assert_eq!(node.manager.sweep_old_logs().await, 1);
    assert!(!old.exists(), "idle past the retention: deleted");
    assert!(recent.exists(), "written within the retention: kept");
    assert!(other.exists(), "not an application's logs: kept");
    assert!(live_logs.exists(), "a running application's logs: kept");
    node.manager.stop_all(-1).await;
}

#[tokio::test]
async fn a_forgotten_containers_id_is_remembered_for_the_configured_duration_only() {
    // yarn.nodemanager.duration-to-track-stopped-containers, shortened.
    let node = node_with(|config| config.stopped_container_retention = Duration::from_millis(300));
    let id = container_id(12, 1);
    node.manager.start(spec(id, &["exit 0"])).unwrap();
    node.manager.wait_for_completion(id).await.unwrap();
    assert!(node.manager.forget(id));
    let again = node.manager.start(spec(id, &["exit 0"])).unwrap_err();
    assert!(again.to_string().contains("recently stopped"), "{again}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Past the duration the id is no longer held (the container token's own expiry is then what
    // refuses a replay), so a node running containers for months keeps no growing set of ids.
    node.manager.start(spec(id, &["exit 0"])).unwrap();
    node.manager.wait_for_completion(id).await.unwrap();
}
