//! The PyPI package yarn-api-client (installed by `scripts/ensure-yarn-api-client`), pointed at a
//! running minicluster: it reads cluster information, metrics, the scheduler (Capacity and
//! Fair), applications, one application, its attempts and the nodes, and kills an application
//! as its owner, while an anonymous kill and another user's are refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use spindle_minicluster::{MiniCluster, MiniClusterConfig};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's python with yarn-api-client; installing it is part of the test (never skipped).
fn python() -> String {
    let output = Command::new(repo_root().join("scripts/ensure-yarn-api-client"))
        .output()
        .expect("scripts/ensure-yarn-api-client runs");
    assert!(
        output.status.success(),
        "installing yarn-api-client failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

async fn walk(
    config: MiniClusterConfig,
    capacity: bool,
) -> (Value, MiniCluster, spindle_types::ApplicationId) {
    let python = python();
    let cluster = MiniCluster::start(config).await.unwrap();
    let alice = common::client(&cluster, "alice").await;
    let id = common::submit(&alice, "notebook-kernel", "sleep 60", None).await;
    let base = format!("http://{}", cluster.rm.web_address().unwrap());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/yarn_api_client_walk.py");
    let id_text = id.to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .args([
                base.as_str(),
                id_text.as_str(),
                "alice",
                if capacity { "true" } else { "false" },
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "yarn-api-client failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Value = serde_json::from_slice(&output.stdout).unwrap();
    (read, cluster, id)
}

fn check_common(read: &Value, id: &str) {
    assert_eq!(read["info"]["clusterInfo"]["state"], "STARTED");
    assert!(
        read["metrics"]["clusterMetrics"]["activeNodes"]
            .as_i64()
            .unwrap()
            > 0
    );
    let apps = read["apps"]["apps"]["app"]
        .as_array()
        .expect("the application listed");
    assert!(apps.iter().any(|a| a["id"] == id), "{apps:?}");
    assert_eq!(read["app"]["app"]["id"], id);
    assert_eq!(read["app"]["app"]["user"], "alice");
    assert_eq!(read["attempts"]["appAttempts"]["appAttempt"][0]["id"], 1);
    assert!(!read["nodes"]["nodes"]["node"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(read["state_before"]["state"], "ACCEPTED");
    let anonymous = read["anonymous_kill"]["refused"]
        .as_str()
        .expect("anonymous kill refused");
    assert!(anonymous.contains("status: 401"), "{anonymous}");
    let other = read["other_user_kill"]["refused"]
        .as_str()
        .expect("mallory's kill refused");
    assert!(
        other.contains("status: 403") && other.contains("mallory"),
        "{other}"
    );
    assert!(
        read["owner_kill"]["accepted"].is_object(),
        "{}",
        read["owner_kill"]
    );
}

async fn ends_killed(cluster: &MiniCluster, id: spindle_types::ApplicationId) {
    let alice = common::client(cluster, "alice").await;
    let report = common::wait_for_final(&alice, id, Duration::from_secs(20)).await;
    assert_eq!(
        spindle_types::states::YarnApplicationState::from(report.yarn_application_state()),
        spindle_types::states::YarnApplicationState::Killed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yarn_api_client_reads_and_kills_on_the_capacity_scheduler() {
    let dir = tempfile::tempdir().unwrap();
    let (read, cluster, id) = walk(MiniClusterConfig::new(dir.path()), true).await;
    check_common(&read, &id.to_string());
    assert_eq!(
        read["scheduler"]["scheduler"]["schedulerInfo"]["type"],
        "capacityScheduler"
    );
    // The client's own queue helper walks the Capacity Scheduler's tree.
    assert_eq!(read["default_queue"]["queueName"], "default");
    assert_eq!(read["default_queue"]["numApplications"], 1);
    ends_killed(&cluster, id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yarn_api_client_reads_and_kills_on_the_fair_scheduler() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = MiniClusterConfig::new(dir.path());
    config.scheduler_class =
        "org.apache.hadoop.yarn.server.resourcemanager.scheduler.fair.FairScheduler".into();
    config.scheduler_files = vec![(
        "fair-scheduler.xml".into(),
        r#"<allocations>
  <queue name="prod"><weight>40</weight></queue>
  <queue name="dev"><weight>60</weight></queue>
</allocations>"#
            .into(),
    )];
    let (read, cluster, id) = walk(config, false).await;
    check_common(&read, &id.to_string());
    let info = &read["scheduler"]["scheduler"]["schedulerInfo"];
    assert_eq!(info["type"], "fairScheduler");
    let root = &info["rootQueue"];
    assert_eq!(root["queueName"], "root");
    let children: Vec<&str> = root["childQueues"]["queue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["queueName"].as_str().unwrap())
        .collect();
    assert!(
        children.contains(&"root.prod") && children.contains(&"root.dev"),
        "{children:?}"
    );
    ends_killed(&cluster, id).await;
}
