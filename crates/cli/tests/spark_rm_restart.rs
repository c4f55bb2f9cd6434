//! Real Spark across a work-preserving ResourceManager restart: `spindle resourcemanager` with
//! recovery on is killed with SIGKILL while a Spark job runs, in cluster and in client mode, and
//! started again. Spark's own ApplicationMaster (Hadoop's AMRMClient) re-registers when told to,
//! the NodeManager keeps the executors and reports them, and the job finishes with no executor
//! lost and no second attempt.

mod common;

use common::*;

/// One Spark job at a time: two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn spark_job_survives_an_rm_restart(deploy_mode: &str) {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let conf = recovery_daemon_conf(
        dir.path(),
        &[
            ("yarn.nodemanager.resource.memory-mb", "6144"),
            ("yarn.nodemanager.resource.cpu-vcores", "6"),
        ],
    );
    let (mut rm, _nm) = start_rm_and_nm(&conf, dir.path()).await;
    let (mut submit, app) = start_slow_spark_job(&conf, dir.path(), deploy_mode).await;
    // Let tasks start, then take the RM away.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let before = containers_run(dir.path(), &app);
    rm.0.kill().unwrap();
    rm.0.wait().unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let second_log = dir.path().join("rm-2.log");
    let _rm = spawn_rm(&conf, &second_log);

    let status = tokio::task::spawn_blocking(move || submit.wait().unwrap())
        .await
        .unwrap();
    let logs = || {
        format!(
            "spark-submit:\n{}\nRM after restart:\n{}",
            std::fs::read_to_string(dir.path().join("submit.log")).unwrap_or_default(),
            std::fs::read_to_string(&second_log).unwrap_or_default()
        )
    };
    assert!(status.success(), "{}", logs());
    let report = text(&spindle(&conf, &["application", "-status", &app]));
    assert!(
        report.contains("Final-State : SUCCEEDED"),
        "{report}\n{}",
        logs()
    );
    // No executor was lost or replaced: the containers that ran are those running before.
    let after = containers_run(dir.path(), &app);
    assert_eq!(after, before, "{}", logs());
    assert_eq!(after.len(), 3, "the AM and two executors: {after:?}");
    assert!(
        after.iter().all(|c| c.contains("_01_")),
        "one attempt only: {after:?}"
    );
    let restarted = std::fs::read_to_string(&second_log).unwrap_or_default();
    assert!(restarted.contains("1 running"), "{restarted}");
    assert_eq!(
        restarted.matches("Recovered container").count(),
        3,
        "the NM reported the AM and both executors, the RM took them back: {restarted}"
    );
    // The driver's output: spark-submit's in client mode, the AM container's in cluster mode.
    let driver_out = if deploy_mode == "client" {
        std::fs::read_to_string(dir.path().join("submit.log")).unwrap()
    } else {
        std::fs::read_to_string(
            dir.path()
                .join("nm/logs")
                .join(&app)
                .join(&after[0])
                .join("stdout"),
        )
        .unwrap_or_default()
    };
    assert!(driver_out.contains("RESULT 28"), "{driver_out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spark_job_in_cluster_mode_survives_a_sigkilled_resourcemanager() {
    spark_job_survives_an_rm_restart("cluster").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spark_job_in_client_mode_survives_a_sigkilled_resourcemanager() {
    spark_job_survives_an_rm_restart("client").await;
}
