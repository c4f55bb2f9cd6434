//! Real Apache Spark (pyspark 4.3.0 from PyPI, Java 17) on Spindle: spark-submit --master yarn in
//! cluster and client mode, Spark's default jar upload, and failing jobs.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_mode_job_runs_and_its_result_is_in_the_driver_log() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(dir.path(), 3, 4096).await;
    let conf = cluster.conf_dir().to_path_buf();
    let job = script(dir.path(), "job.py", SUM_OF_SQUARES);
    let jars = local_jars();
    let out = spark_submit_async(
        &conf,
        &[
            "--deploy-mode",
            "cluster",
            "--queue",
            "default",
            "--num-executors",
            "2",
            "--executor-cores",
            "1",
            "--executor-memory",
            "512m",
            "--conf",
            &jars,
            job.to_str().unwrap(),
        ],
    )
    .await;
    let log = text(&out);
    assert!(out.status.success(), "spark-submit failed:\n{log}");
    assert!(log.contains("final status: SUCCEEDED"), "{log}");
    let app = application_id(&log);

    // The driver's output, fetched the way a user would.
    let logs = spindle(
        &conf,
        &["logs", "-applicationId", &app, "-log_files", "stdout"],
    );
    let logs_text = text(&logs);
    assert!(logs.status.success(), "{logs_text}");
    assert!(logs_text.contains(SUM_OF_SQUARES_RESULT), "{logs_text}");
    // The AM ran two executors besides itself, spread over the nodes.
    let containers = logs_text.matches("Container: container_").count();
    assert_eq!(containers, 3, "{logs_text}");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_mode_with_spark_default_jar_upload_localizes_the_archive_once_per_node() {
    let dir = tempfile::tempdir().unwrap();
    // One node, so the AM and both executors share it.
    let cluster = cluster(dir.path(), 1, 6144).await;
    let conf = cluster.conf_dir().to_path_buf();
    let job = script(dir.path(), "job.py", SUM_OF_SQUARES);
    let out = spark_submit_async(
        &conf,
        &[
            "--deploy-mode",
            "client",
            "--num-executors",
            "2",
            "--executor-cores",
            "1",
            "--executor-memory",
            "512m",
            job.to_str().unwrap(),
        ],
    )
    .await;
    let log = text(&out);
    assert!(out.status.success(), "spark-submit failed:\n{log}");
    assert!(
        log.contains("Neither spark.yarn.jars nor spark.yarn.archive is set"),
        "Spark uploaded its jars: {log}"
    );
    assert!(log.contains(SUM_OF_SQUARES_RESULT), "{log}");

    // Three containers used __spark_libs__ on this node; it was unpacked exactly once.
    let local = dir.path().join("nm-0/local");
    let unpacked: Vec<_> = walk(&local)
        .into_iter()
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("__spark_libs__"))
        })
        .filter(|p| {
            p.parent()
                .and_then(|q| q.parent())
                .is_some_and(|q| q.ends_with("filecache"))
        })
        .collect();
    assert_eq!(unpacked.len(), 1, "{unpacked:?}");
    let stats = cluster.node_managers[0]
        .as_ref()
        .unwrap()
        .container_manager()
        .localizer()
        .stats();
    assert!(
        stats.cache_hits >= 2,
        "the executors reused the AM's localized resources: {stats:?}"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_ends_failed_and_spark_submit_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(dir.path(), 2, 4096).await;
    let conf = cluster.conf_dir().to_path_buf();
    let job = script(dir.path(), "fail.py", "from pyspark.sql import SparkSession\nspark = SparkSession.builder.getOrCreate()\nraise ValueError('spindle-expected-failure')\n");
    let jars = local_jars();
    let out = spark_submit_async(
        &conf,
        &[
            "--deploy-mode",
            "cluster",
            "--conf",
            &jars,
            "--conf",
            "spark.yarn.maxAppAttempts=1",
            "--num-executors",
            "1",
            "--executor-memory",
            "512m",
            job.to_str().unwrap(),
        ],
    )
    .await;
    let log = text(&out);
    assert!(!out.status.success(), "spark-submit should fail:\n{log}");
    let app = application_id(&log);
    let status = spindle(&conf, &["application", "-status", &app]);
    let status_text = text(&status);
    assert!(status_text.contains("FAILED"), "{status_text}");
    // The driver's stderr is written through the AM's JVM; give it until the AM container exits.
    let mut logs = String::new();
    for _ in 0..100 {
        logs = text(&spindle(&conf, &["logs", "-applicationId", &app]));
        if logs.contains("spindle-expected-failure") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(logs.contains("spindle-expected-failure"), "{logs}");
    cluster.shutdown().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

const GPU_DISCOVERY: &str = "#!/bin/bash\necho \"{\\\"name\\\": \\\"gpu\\\", \\\"addresses\\\": [\\\"$(echo ${CUDA_VISIBLE_DEVICES} | sed 's/,/\\\",\\\"/g')\\\"]}\"\n";

const GPU_JOB: &str = r#"
import os
from pyspark import TaskContext
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("spindle-gpus").getOrCreate()
def gpus(_):
    return (os.environ.get("CONTAINER_ID"), tuple(TaskContext.get().resources()["gpu"].addresses))
for container, addresses in sorted(set(spark.sparkContext.parallelize(range(8), 8).map(gpus).collect())):
    print("GPU", container, ",".join(addresses))
spark.stop()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executors_asking_for_gpus_get_distinct_devices() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = spindle_minicluster::MiniClusterConfig::new(dir.path());
    config.nodes = 1;
    config.node_gpus = 2;
    config.node_resource = spindle_types::Resource::new(6144, 4);
    config.rm.maximum_allocation = spindle_types::Resource::new(6144, 4);
    config.nm_heartbeat_interval = std::time::Duration::from_millis(200);
    let cluster = spindle_minicluster::MiniCluster::start(config)
        .await
        .unwrap();
    let conf = cluster.conf_dir().to_path_buf();
    let job = script(dir.path(), "gpus.py", GPU_JOB);
    let discovery = script(dir.path(), "gpus.sh", GPU_DISCOVERY);
    std::fs::set_permissions(
        &discovery,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let jars = local_jars();
    let discovery_conf = format!(
        "spark.executor.resource.gpu.discoveryScript={}",
        discovery.display()
    );
    let out = spark_submit_async(
        &conf,
        &[
            "--deploy-mode",
            "client",
            "--num-executors",
            "2",
            "--executor-cores",
            "1",
            "--executor-memory",
            "512m",
            "--conf",
            &jars,
            "--conf",
            "spark.executor.resource.gpu.amount=1",
            "--conf",
            "spark.task.resource.gpu.amount=1",
            "--conf",
            &discovery_conf,
            job.to_str().unwrap(),
        ],
    )
    .await;
    let log = text(&out);
    assert!(out.status.success(), "spark-submit failed:\n{log}");
    let mut seen: Vec<(String, String)> = log
        .lines()
        .filter_map(|l| l.strip_prefix("GPU "))
        .map(|l| {
            let (c, a) = l.split_once(' ').unwrap();
            (c.to_string(), a.to_string())
        })
        .collect();
    seen.sort();
    assert_eq!(seen.len(), 2, "two executors ran tasks: {log}");
    assert_ne!(seen[0].0, seen[1].0, "two different containers");
    let mut devices: Vec<&str> = seen.iter().map(|(_, a)| a.as_str()).collect();
    devices.sort();
    assert_eq!(devices, ["0", "1"], "each executor holds its own GPU");
    cluster.shutdown().await;
}

const DYNAMIC_JOB: &str = r#"
import time
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("spindle-dynamic").getOrCreate()
sc = spark.sparkContext
def executors():
    return sc._jsc.sc().getExecutorMemoryStatus().size() - 1
print("EXECUTORS_START", executors())
sc.parallelize(range(12), 12).map(lambda x: time.sleep(2) or x).collect()
print("EXECUTORS_BUSY", executors())
deadline = time.time() + 60
while executors() > 0 and time.time() < deadline:
    time.sleep(0.5)
print("EXECUTORS_IDLE", executors())
spark.stop()
"#;

fn printed(log: &str, key: &str) -> i64 {
    log.lines()
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().parse().unwrap()))
        .unwrap_or_else(|| panic!("{key} not printed:\n{log}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_allocation_grows_and_shrinks_the_executors() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(dir.path(), 2, 4096).await;
    let conf = cluster.conf_dir().to_path_buf();
    let job = script(dir.path(), "dynamic.py", DYNAMIC_JOB);
    let jars = local_jars();
    let out = spark_submit_async(
        &conf,
        &[
            "--deploy-mode",
            "client",
            "--executor-cores",
            "1",
            "--executor-memory",
            "512m",
            "--conf",
            &jars,
            "--conf",
            "spark.dynamicAllocation.enabled=true",
            "--conf",
            "spark.dynamicAllocation.shuffleTracking.enabled=true",
            "--conf",
            "spark.dynamicAllocation.minExecutors=0",
            "--conf",
            "spark.dynamicAllocation.initialExecutors=0",
            "--conf",
            "spark.dynamicAllocation.maxExecutors=3",
            "--conf",
            "spark.dynamicAllocation.executorIdleTimeout=2s",
            "--conf",
            "spark.dynamicAllocation.schedulerBacklogTimeout=1s",
            job.to_str().unwrap(),
        ],
    )
    .await;
    let log = text(&out);
    assert!(out.status.success(), "spark-submit failed:\n{log}");
    assert_eq!(printed(&log, "EXECUTORS_START"), 0, "{log}");
    assert_eq!(
        printed(&log, "EXECUTORS_BUSY"),
        3,
        "grew to maxExecutors: {log}"
    );
    assert_eq!(
        printed(&log, "EXECUTORS_IDLE"),
        0,
        "gave every executor back: {log}"
    );
    cluster.shutdown().await;
}
