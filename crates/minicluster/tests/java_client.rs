//! The unmodified Hadoop 3.5.0 YarnClient (from pyspark 4.3.0's jars, run with the machine's Java)
//! against Spindle's RM. The harness installs pyspark and compiles the client itself.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use spindle_minicluster::{MiniCluster, MiniClusterConfig};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs `tests/java/yarn-compat <command> <conf-dir> [args]`: exit code and `key=value` output.
fn yarn_compat(conf_dir: &Path, command: &str, args: &[&str]) -> (i32, HashMap<String, String>) {
    let output = Command::new(repo_root().join("tests/java/yarn-compat"))
        .arg(command)
        .arg(conf_dir)
        .args(args)
        .output()
        .expect("tests/java/yarn-compat runs (it installs pyspark and compiles the client)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let values = stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let code = output.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 2,
        "yarn-compat {command} failed ({code}):\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (code, values)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hadoop_java_client_talks_to_spindle() {
    // Prepare the Java side before the cluster starts, so its timing does not matter.
    let build = Command::new(repo_root().join("scripts/build-java-compat"))
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "building the Java client failed: {}",
        String::from_utf8_lossy(&build.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let mut config = MiniClusterConfig::new(dir.path());
    config.nodes = 2;
    config.nm_heartbeat_interval = Duration::from_millis(200);
    let cluster = MiniCluster::start(config).await.unwrap();
    let conf = cluster.conf_dir().to_path_buf();

    let (code, new_app) = tokio::task::spawn_blocking({
        let conf = conf.clone();
        move || yarn_compat(&conf, "new-app", &[])
    })
    .await
    .unwrap();
    assert_eq!(code, 0);
    let app_id = &new_app["application_id"];
    assert!(
        app_id.starts_with("application_") && app_id.ends_with("_0001"),
        "{app_id}"
    );
    assert_eq!(new_app["maximum_capability_memory_mb"], "4096");
    assert_eq!(new_app["maximum_capability_vcores"], "4");

    let (code, metrics) = tokio::task::spawn_blocking({
        let conf = conf.clone();
        move || yarn_compat(&conf, "cluster-metrics", &[])
    })
    .await
    .unwrap();
    assert_eq!(code, 0);
    assert_eq!(metrics["num_node_managers"], "2");
    assert_eq!(metrics["num_lost_node_managers"], "0");

    let (code, nodes) = tokio::task::spawn_blocking({
        let conf = conf.clone();
        move || yarn_compat(&conf, "nodes", &[])
    })
    .await
    .unwrap();
    assert_eq!(code, 0);
    assert_eq!(nodes["node_count"], "2");
    assert_eq!(nodes["node.1.state"], "RUNNING");

    // An application that does not exist surfaces as the typed Java exception.
    let unknown = app_id.replace("_0001", "_0099");
    let (code, report) = tokio::task::spawn_blocking({
        let conf = conf.clone();
        move || yarn_compat(&conf, "app-report", &[&unknown])
    })
    .await
    .unwrap();
    assert_eq!(code, 2);
    assert_eq!(
        report["exception"],
        "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException"
    );
    cluster.shutdown().await;
}
