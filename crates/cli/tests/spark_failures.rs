//! Spark on Spindle when things go wrong: a killed application, a lost executor, a crashed driver.

mod common;

use common::*;
use spindle_types::states::YarnApplicationState;

const SLOW_JOB: &str = r#"
import time
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("spindle-slow").getOrCreate()
n = spark.sparkContext.parallelize(range(8), 8).map(lambda x: time.sleep(float(__import__('os').environ.get('SLOW_SECONDS', '3'))) or x).sum()
print("RESULT", n)
spark.stop()
"#;

fn app_state(
    cluster: &spindle_minicluster::MiniCluster,
) -> Option<(String, YarnApplicationState, usize)> {
    cluster.rm.inspect(|core| {
        core.applications()
            .last()
            .map(|a| (a.id.to_string(), a.state.yarn_state(), a.attempts.len()))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spindle_application_kill_stops_a_running_spark_application_and_all_its_executors() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(dir.path(), 2, 4096).await;
    let conf = cluster.conf_dir().to_path_buf();
    let job = script(dir.path(), "slow.py", &SLOW_JOB.replace("'3'", "'300'"));
    let jars = local_jars();
    let mut submit = spawn_spark_submit(
        &conf,
        &[
            "--deploy-mode",
            "cluster",
            "--num-executors",
            "2",
            "--executor-memory",
            "512m",
            "--conf",
            &jars,
            job.to_str().unwrap(),
        ],
        &dir.path().join("submit.log"),
    );
    wait_until(120, "the application to run with both executors", || {
        app_state(&cluster).is_some_and(|(id, state, _)| {
            state == YarnApplicationState::Running
                && container_processes(&id.replace("application_", "container_")).len() >= 3
        })
    })
    .await;
    let (app, _, _) = app_state(&cluster).unwrap();
    let kill = spindle(&conf, &["application", "-kill", &app]);
    assert!(kill.status.success(), "{}", text(&kill));
    assert!(
        text(&kill).contains(&format!("Killed application {app}")),
        "{}",
        text(&kill)
    );
    assert_eq!(app_state(&cluster).unwrap().1, YarnApplicationState::Killed);
    let prefix = app.replace("application_", "container_");
    wait_until(
        30,
        "every container process of the application to be gone",
        || container_processes(&prefix).is_empty(),
    )
    .await;
    let status = tokio::task::spawn_blocking(move || submit.wait().unwrap())
        .await
        .unwrap();
    assert!(!status.success(), "spark-submit must report the kill");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_executor_is_reported_to_spark_which_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(dir.path(), 2, 4096).await;
    let conf = cluster.conf_dir().to_path_buf();
    let job = script(dir.path(), "slow.py", SLOW_JOB);
    let jars = local_jars();
    let submit = spawn_spark_submit(
        &conf,
        &[
            "--deploy-mode",
            "cluster",
            "--num-executors",
            "2",
            "--executor-memory",
            "512m",
            "--conf",
            &jars,
            "--conf",
            "spark.executorEnv.SLOW_SECONDS=4",
            job.to_str().unwrap(),
        ],
        &dir.path().join("submit.log"),
    );
    let executor_of =
        |app: &str| format!("{}_01_000002", app.replace("application_", "container_"));
    wait_until(120, "the first executor to run", || {
        app_state(&cluster).is_some_and(|(id, s, _)| {
            s == YarnApplicationState::Running && !container_processes(&executor_of(&id)).is_empty()
        })
    })
    .await;
    let (app, _, _) = app_state(&cluster).unwrap();
    // Give it a task, then kill the executor's JVM.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    for (pid, cmdline) in container_processes(&executor_of(&app)) {
        if cmdline.contains("java") {
            nix_kill(pid);
        }
    }
    let status = tokio::task::spawn_blocking({
        let mut submit = submit;
        move || submit.wait().unwrap()
    })
    .await
    .unwrap();
    let log = std::fs::read_to_string(dir.path().join("submit.log")).unwrap();
    assert!(
        status.success(),
        "the job survives the lost executor:\n{log}"
    );
    let logs = text(&spindle(
        &conf,
        &[
            "logs",
            "-applicationId",
            &app,
            "-log_files",
            "stdout,stderr",
        ],
    ));
    assert!(logs.contains("RESULT 28"), "{logs}");
    // Spark asked for, and got, a replacement executor.
    assert!(
        logs.contains("_01_000004"),
        "a fourth container ran: {logs}"
    );
    assert!(
        logs.contains("exited") || logs.contains("Exit status"),
        "the AM was told how the executor ended: {logs}"
    );
    cluster.shutdown().await;
}

fn nix_kill(pid: i32) {
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
}

const CRASH_ON_FIRST_ATTEMPT: &str = r#"
import os
from pyspark.sql import SparkSession
if "_01_000001" in os.environ.get("CONTAINER_ID", ""):
    print("CRASHING first attempt", flush=True)
    os._exit(7)
spark = SparkSession.builder.appName("spindle-retry").getOrCreate()
print("RESULT", spark.sparkContext.parallelize(range(10)).sum())
spark.stop()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_driver_is_retried_per_max_app_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(dir.path(), 2, 4096).await;
    let conf = cluster.conf_dir().to_path_buf();
    let job = script(dir.path(), "retry.py", CRASH_ON_FIRST_ATTEMPT);
    let jars = local_jars();
    let out = spark_submit_async(
        &conf,
        &[
            "--deploy-mode",
            "cluster",
            "--num-executors",
            "1",
            "--executor-memory",
            "512m",
            "--conf",
            &jars,
            "--conf",
            "spark.yarn.maxAppAttempts=2",
            job.to_str().unwrap(),
        ],
    )
    .await;
    let log = text(&out);
    assert!(out.status.success(), "the second attempt succeeds:\n{log}");
    let (app, state, attempts) = app_state(&cluster).unwrap();
    assert_eq!(state, YarnApplicationState::Finished);
    assert_eq!(attempts, 2, "{app} ran two attempts");
    let logs = text(&spindle(
        &conf,
        &["logs", "-applicationId", &app, "-log_files", "stdout"],
    ));
    assert!(logs.contains("CRASHING first attempt"), "{logs}");
    assert!(logs.contains("RESULT 45"), "{logs}");
    cluster.shutdown().await;
}
