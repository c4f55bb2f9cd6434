//! End to end on an embedded cluster: the RM launches AM containers on real NMs through the
//! token-authenticated ContainerManagementProtocol, and AM processes that exit end their attempts.

use std::time::Duration;

mod common;

use common::{client, report, submit, wait_for_final};
use spindle_minicluster::{MiniCluster, MiniClusterConfig};
use spindle_proto::yarn::*;

fn config(dir: &std::path::Path) -> MiniClusterConfig {
    let mut c = MiniClusterConfig::new(dir);
    c.nodes = 2;
    c.nm_heartbeat_interval = Duration::from_millis(200);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_am_that_exits_without_registering_fails_after_max_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = MiniCluster::start(config(dir.path())).await.unwrap();
    let client = client(&cluster, "tester").await;
    let id = submit(
        &client,
        "am-lifecycle",
        "echo started-on-$NM_HOST; exit 3",
        None,
    )
    .await;
    let r = wait_for_final(&client, id, Duration::from_secs(30)).await;
    assert_eq!(
        r.yarn_application_state(),
        YarnApplicationStateProto::Failed
    );
    assert_eq!(
        r.final_application_status(),
        FinalApplicationStatusProto::AppFailed
    );
    let diagnostics = r.diagnostics();
    assert!(diagnostics.contains("failed 2 times"), "{diagnostics}");
    assert!(diagnostics.contains("exitCode: 3"), "{diagnostics}");
    assert_eq!(
        r.current_application_attempt_id
            .as_ref()
            .unwrap()
            .attempt_id(),
        2,
        "a second attempt ran"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_application_ends_killed_with_its_am_process_gone() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = MiniCluster::start(config(dir.path())).await.unwrap();
    let client = client(&cluster, "tester").await;
    let marker = dir.path().join("am.pid");
    let id = submit(
        &client,
        "am-lifecycle",
        &format!("echo $$ > {}; exec sleep 300", marker.display()),
        None,
    )
    .await;
    // Wait until the AM process runs.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !marker.exists() || std::fs::read_to_string(&marker).unwrap().trim().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the AM container never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid: i32 = std::fs::read_to_string(&marker)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    let killed: KillApplicationResponseProto = client
        .call(
            "forceKillApplication",
            &KillApplicationRequestProto {
                application_id: Some(id.into()),
                diagnostics: None,
            },
        )
        .await
        .unwrap();
    assert!(killed.is_kill_completed());
    assert_eq!(
        report(&client, id).await.yarn_application_state(),
        YarnApplicationStateProto::Killed
    );
    // The NM kills the process group on its next heartbeat.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "AM process {pid} still runs after the kill"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cluster.shutdown().await;
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.contains(") Z "))
        .unwrap_or(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_metrics_count_the_node_managers() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = MiniCluster::start(config(dir.path())).await.unwrap();
    let client = client(&cluster, "tester").await;
    let m: GetClusterMetricsResponseProto = client
        .call("getClusterMetrics", &GetClusterMetricsRequestProto {})
        .await
        .unwrap();
    assert_eq!(m.cluster_metrics.unwrap().num_node_managers(), 2);
    assert!(cluster.conf_dir().join("yarn-site.xml").exists());
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_managers_forget_containers_once_the_rm_has_their_completion() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = MiniCluster::start(config(dir.path())).await.unwrap();
    let client = client(&cluster, "tester").await;
    // Two attempts, each an AM container that exits at once.
    let id = submit(&client, "am-lifecycle", "exit 0", None).await;
    wait_for_final(&client, id, Duration::from_secs(30)).await;
    let listed = || -> usize {
        cluster
            .node_managers
            .iter()
            .flatten()
            .map(|nm| nm.container_manager().list().len())
            .sum()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while listed() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} finished containers still listed by the NMs",
            listed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cluster.shutdown().await;
}
