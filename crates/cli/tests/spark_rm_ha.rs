//! Real Spark across an RM failover: two `spindle resourcemanager` daemons in HA with a real
//! ZooKeeper, a Spark job in cluster mode, and the active RM killed with SIGKILL mid-job. Spark's
//! client and ApplicationMaster (Hadoop's YarnClient and AMRMClient with the HA configuration)
//! and Spindle's NodeManager fail over to the new active, which recovered the application from
//! ZooKeeper; the job finishes with its executors and a single attempt.

mod common;
use spindle_minicluster::zookeeper;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spark_job_survives_the_failover_of_a_sigkilled_active_rm() {
    let zk = zookeeper::ZooKeeper::start();
    let dir = tempfile::tempdir().unwrap();
    // Room for a driver and two executors.
    let (rm1_conf, rm2_conf, client) = ha_confs(
        dir.path(),
        &zk.address,
        &[
            ("yarn.nodemanager.resource.memory-mb", "6144"),
            ("yarn.nodemanager.resource.cpu-vcores", "6"),
        ],
    );
    let mut rm1 = spawn_rm(&rm1_conf, &dir.path().join("rm1.log"));
    wait_until(30, "rm1 to be elected active", || {
        ha_state(&client, "rm1") == "active"
    })
    .await;
    let _rm2 = spawn_rm(&rm2_conf, &dir.path().join("rm2.log"));
    let _nm = spawn_spindle(&client, &["nodemanager"], &dir.path().join("nm.log"));
    wait_until(30, "the NM to register", || {
        text(&spindle(&client, &["node", "-list"])).contains("Total Nodes:1")
    })
    .await;

    let (mut submit, app) = start_slow_spark_job(&client, dir.path(), "cluster").await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    rm1.0.kill().unwrap();
    rm1.0.wait().unwrap();

    let status = tokio::task::spawn_blocking(move || submit.wait().unwrap())
        .await
        .unwrap();
    let logs = || {
        format!(
            "spark-submit:\n{}\nrm2:\n{}",
            std::fs::read_to_string(dir.path().join("submit.log")).unwrap_or_default(),
            std::fs::read_to_string(dir.path().join("rm2.log")).unwrap_or_default()
        )
    };
    assert!(status.success(), "{}", logs());
    assert_eq!(ha_state(&client, "rm2"), "active");
    let report = text(&spindle(&client, &["application", "-status", &app]));
    assert!(
        report.contains("Final-State : SUCCEEDED"),
        "{report}\n{}",
        logs()
    );
    // The driver and both executors ran once, in the first attempt.
    let containers = containers_run(dir.path(), &app);
    assert_eq!(containers.len(), 3, "{containers:?}\n{}", logs());
    assert!(
        containers.iter().all(|c| c.contains("_01_")),
        "{containers:?}"
    );
    let driver = std::fs::read_to_string(
        dir.path()
            .join("nm/logs")
            .join(&app)
            .join(&containers[0])
            .join("stdout"),
    )
    .unwrap_or_default();
    assert!(driver.contains("RESULT 28"), "{driver}");
}
