//! Log aggregation end to end: a distributed-shell application's container logs are uploaded by
//! the NMs when it ends, the RM reports SUCCEEDED (RPC, REST, `application -status`), and
//! `spindle logs` still prints them, whole, per container, per file and by size, after the NMs
//! are stopped and their local log directories deleted. And an NM refuses at start a remote log
//! directory it cannot write to.

mod common;

use std::time::{Duration, Instant};

use common::*;
use spindle_minicluster::{MiniCluster, MiniClusterConfig};
use spindle_types::states::LogAggregationStatus;
use spindle_types::{ApplicationId, Resource};

/// What each shell container prints before its id: the shell works it out, so the command line
/// (which the AM may log) never contains it.
const TEXT: &str = "aggregated-text-42";

/// Runs `spindle` off the async runtime.
async fn run_spindle(conf: &std::path::Path, args: &[&str]) -> std::process::Output {
    let conf = conf.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        spindle(&conf, &args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap()
}

/// The bytes between `LogContents:\n` and the footer of the one file `output` shows.
fn contents(output: &str) -> &str {
    let start = output.find("LogContents:\n").expect("a file is shown") + "LogContents:\n".len();
    let end = output.find("\nEnd of LogType:").expect("its footer");
    &output[start..end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregated_logs_are_read_after_the_nodemanagers_are_gone() {
    let dir = tempfile::tempdir().unwrap();
    let remote = dir.path().join("remote-app-logs");
    let mut config = MiniClusterConfig::new(dir.path());
    config.nodes = 2;
    config.node_resource = Resource::new(2048, 4);
    config.rm.maximum_allocation = Resource::new(2048, 4);
    config.nm_heartbeat_interval = Duration::from_millis(200);
    config.remote_app_log_dir = Some(remote.clone());
    let mut cluster = MiniCluster::start(config).await.unwrap();
    let conf = cluster.conf_dir().to_path_buf();

    let command = "echo aggregated-text-$((6*7)) $CONTAINER_ID";
    let args = dshell_args(4, command);
    let out = run_spindle(&conf, &args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(out.status.success(), "{}", text(&out));
    let app: ApplicationId = cluster
        .rm
        .inspect(|core| core.applications().last().map(|a| a.id))
        .expect("the application");

    // Once every NM that ran a container uploaded, the RM says SUCCEEDED.
    let client = spindle_client::YarnClient::connect(cluster.rm.client_address(), "tester")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let report = loop {
        let report = client.get_application_report(app).await.unwrap();
        if report.log_aggregation_status == LogAggregationStatus::Succeeded {
            break report;
        }
        assert!(
            Instant::now() < deadline,
            "log aggregation still {:?}",
            report.log_aggregation_status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let web = cluster.rm.web_address().expect("the RM serves REST");
    let (status, body) = http_get(&web.to_string(), &format!("/ws/v1/cluster/apps/{app}"));
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(r#""logAggregationStatus":"SUCCEEDED""#),
        "{body}"
    );
    let status = text(&run_spindle(&conf, &["application", "-status", &app.to_string()]).await);
    assert!(
        status.contains("\tLog Aggregation Status : SUCCEEDED\n"),
        "{status}"
    );

    // In YARN's layout: one file per node, the local copies gone already.
    let app_dir = remote
        .join(&report.user)
        .join("bucket-logs-tfile")
        .join(format!("{:04}", app.id))
        .join(app.to_string());
    let node_files: Vec<String> = std::fs::read_dir(&app_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !node_files.is_empty() && node_files.iter().all(|n| n.starts_with("localhost_")),
        "{node_files:?}"
    );
    for node in 0..2 {
        let local = dir.path().join(format!("nm-{node}/logs/{app}"));
        assert!(!local.exists(), "{} kept after the upload", local.display());
    }

    // The NMs go, and their log directories with them.
    for nm in cluster.node_managers.iter_mut() {
        if let Some(nm) = nm.take() {
            nm.shutdown().await;
        }
    }
    for node in 0..2 {
        std::fs::remove_dir_all(dir.path().join(format!("nm-{node}/logs"))).unwrap();
    }

    let app_text = app.to_string();
    let all = run_spindle(&conf, &["logs", "-applicationId", &app_text]).await;
    let all_text = text(&all);
    assert!(all.status.success(), "{all_text}");
    assert_eq!(all_text.matches(TEXT).count(), 4, "{all_text}");
    assert!(all_text.contains("LogAggregationType: AGGREGATED"));
    assert!(!all_text.contains("LogAggregationType: LOCAL"));

    // One shell container, its stdout only.
    let line = all_text
        .lines()
        .find(|l| l.starts_with(TEXT))
        .expect("a shell container's line");
    let container = line.split_whitespace().last().unwrap().to_string();
    let one = text(
        &run_spindle(
            &conf,
            &[
                "logs",
                "-applicationId",
                &app_text,
                "-containerId",
                &container,
                "-log_files",
                "stdout",
            ],
        )
        .await,
    );
    let files = one.lines().filter(|l| l.starts_with("LogType:")).count();
    assert_eq!(files, 1, "{one}");
    assert!(
        one.starts_with(&format!("Container: {container} on localhost_")),
        "{one}"
    );
    assert!(one.contains("LogType:stdout\n"), "{one}");
    assert_eq!(contents(&one), format!("{TEXT} {container}\n"));

    // -size: the first n bytes, or the last -n.
    let sized = |size: &'static str| {
        let (conf, app_text, container) = (conf.clone(), app_text.clone(), container.clone());
        async move {
            text(
                &run_spindle(
                    &conf,
                    &[
                        "logs",
                        "-applicationId",
                        &app_text,
                        "-containerId",
                        &container,
                        "-log_files",
                        "stdout",
                        "-size",
                        size,
                    ],
                )
                .await,
            )
        }
    };
    assert_eq!(contents(&sized("10").await), &TEXT[..10]);
    let whole = format!("{TEXT} {container}\n");
    let tail = sized("-7").await;
    assert_eq!(contents(&tail), &whole[whole.len() - 7..]);
    assert!(
        tail.contains(&format!("LogLength:{}\n", whole.len())),
        "{tail}"
    );

    cluster.shutdown().await;
}

#[test]
fn a_nodemanager_refuses_a_remote_log_dir_it_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let properties: Vec<(String, String)> = [
        ("yarn.nodemanager.local-dirs", dir.path().join("local")),
        ("yarn.nodemanager.log-dirs", dir.path().join("logs")),
    ]
    .into_iter()
    .map(|(key, path)| (key.to_string(), path.display().to_string()))
    .chain([
        ("yarn.log-aggregation-enable".into(), "true".into()),
        (
            "yarn.nodemanager.remote-app-log-dir".into(),
            "hdfs://namenode:8020/app-logs".into(),
        ),
        ("yarn.nodemanager.address".into(), "127.0.0.1:0".into()),
        (
            "yarn.nodemanager.webapp.address".into(),
            "127.0.0.1:0".into(),
        ),
    ])
    .collect();
    spindle_conf::write_site_xml(&dir.path().join("yarn-site.xml"), &properties).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_spindle"))
        .args(["--conf-dir", dir.path().to_str().unwrap(), "nodemanager"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("yarn.nodemanager.remote-app-log-dir = hdfs://namenode:8020/app-logs")
            && stderr.contains("not hdfs://"),
        "{stderr}"
    );
}
