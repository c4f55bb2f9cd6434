//! Spark's web UI through the RM's web application proxy, as a user clicks an application's
//! tracking URL: real Spark (pyspark's) in cluster and client mode, its UI behind Hadoop's AM
//! filter, which trusts only the proxy's address. While a job runs, the tracking URL the RM
//! publishes answers Spark's jobs page (no redirect loop) and the page's links, which Spark
//! writes under `/proxy/<appId>/`, work too; once the application has finished, the proxy sends
//! callers to the RM's application page (no history server here).

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Two tasks that hold the job running until `stop` exists (at most five minutes).
const WAITING_JOB: &str = r#"
import os, sys, time
from pyspark.sql import SparkSession
stop = sys.argv[1]
spark = SparkSession.builder.appName("spindle-ui-through-proxy").getOrCreate()
def hold(x):
    deadline = time.time() + 300
    while not os.path.exists(stop) and time.time() < deadline:
        time.sleep(0.2)
    return x
print("RESULT", spark.sparkContext.parallelize(range(2), 2).map(hold).sum())
spark.stop()
"#;

/// A plain HTTP/1.0 GET (the server closes the connection after the answer): status, headers
/// (lower-case names) and body.
async fn http_get(url: &str) -> (u16, Vec<(String, String)>, String) {
    http_get_from([127, 0, 0, 1].into(), url).await
}

/// [`http_get`] from the loopback address `source`.
async fn http_get_from(source: IpAddr, url: &str) -> (u16, Vec<(String, String)>, String) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let target = tokio::net::lookup_host(authority)
        .await
        .unwrap()
        .find(SocketAddr::is_ipv4)
        .unwrap_or_else(|| panic!("{authority} has no IPv4 address"));
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source, 0)).unwrap();
    let exchange = async {
        let mut stream = socket.connect(target).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.0\r\nHost: {authority}\r\nUser-Agent: spindle-test\r\nAccept: text/html\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        raw
    };
    let raw = tokio::time::timeout(Duration::from_secs(60), exchange)
        .await
        .unwrap_or_else(|_| panic!("no answer from {url} within 60 s"));
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The value of `"key":"<value>"` in a JSON text.
fn json_string(json: &str, key: &str) -> Option<String> {
    let start = json.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let end = json[start..].find('"')? + start;
    Some(json[start..end].to_string())
}

async fn spark_ui_through_the_proxy(deploy_mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(dir.path(), 2, 4096).await;
    let conf = cluster.conf_dir().to_path_buf();
    let web = format!("http://{}", cluster.rm.web_address().unwrap());
    let stop = dir.path().join("stop");
    let job = script(dir.path(), "hold.py", WAITING_JOB);
    let jars = local_jars();
    let log = dir.path().join("submit.log");
    let mut submit = Process(spawn_spark_submit(
        &conf,
        &[
            "--deploy-mode",
            deploy_mode,
            "--num-executors",
            "1",
            "--executor-memory",
            "512m",
            "--conf",
            &jars,
            // The shared helpers turn the UI off; this test is about it.
            "--conf",
            "spark.ui.enabled=true",
            "--conf",
            "spark.ui.port=0",
            job.to_str().unwrap(),
            stop.to_str().unwrap(),
        ],
        &log,
    ));

    // Running, with the AM's UI address registered.
    let mut app = String::new();
    let mut original = String::new();
    wait_until(150, "the application to run with its UI registered", || {
        if let Some(status) = submit.0.try_wait().unwrap() {
            panic!(
                "spark-submit exited ({status}):\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        let list = text(&spindle(&conf, &["application", "-list"]));
        if let Some(line) = list
            .lines()
            .find(|l| l.trim_start().starts_with("application_") && l.contains("RUNNING"))
        {
            app = application_id(line);
            original = line.split_whitespace().last().unwrap_or("").to_string();
        }
        original.starts_with("http://")
    })
    .await;

    // The REST API and the RPC report publish the proxy's URL; `-status` shows the AM's own.
    let (status, _, json) = http_get(&format!("{web}/ws/v1/cluster/apps/{app}")).await;
    assert_eq!(status, 200, "{json}");
    let tracking = json_string(&json, "trackingUrl").expect("a tracking URL");
    assert_eq!(tracking, format!("{web}/proxy/{app}/"));
    let report = text(&spindle(&conf, &["application", "-status", &app]));
    assert!(
        report.contains(&format!("Tracking-URL : {original}")),
        "{report}"
    );

    // Through the proxy: Spark's jobs page, never a bounce from its AM filter. (In client mode
    // the AM registers the driver's UI address while the driver may still be starting: Spark
    // answers a "starting up" page, or 404 while it installs the filter, until it is ready.)
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let (headers, page) = loop {
        let (status, headers, page) = http_get(&tracking).await;
        assert!(
            !page.contains("proxy failure"),
            "the AM filter sent the proxy back to itself:\n{page}"
        );
        if status == 200 && page.contains("Spark Jobs") {
            break (headers, page);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no jobs page through the proxy: {status} {headers:?}\n{page}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        header(&headers, "content-type").is_some_and(|t| t.starts_with("text/html")),
        "{headers:?}"
    );
    // Spark writes its links under the proxy's base; they work through the proxy too.
    let executors = format!("/proxy/{app}/executors/");
    assert!(
        page.contains(&executors),
        "no link to {executors} in:\n{page}"
    );
    let (status, _, page) = http_get(&format!("{web}{executors}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Executors"), "{page}");
    // Spark's AM filter guards the UI: a caller from another address than the proxy's is sent
    // to the proxy (its `/proxy/redirect/` form, at the RM's web port under the name Hadoop
    // resolves its address to).
    let ui = original.trim_end_matches('/');
    let (status, headers, _) = http_get_from([127, 0, 0, 2].into(), &format!("{ui}/jobs/")).await;
    assert_eq!(status, 302, "{headers:?}");
    let web_port = cluster.rm.web_address().unwrap().port();
    let location = header(&headers, "location").unwrap_or_default();
    assert!(
        location.ends_with(&format!(":{web_port}/proxy/redirect/{app}/jobs/")),
        "{location}"
    );

    // Finished, without a history server: the proxy sends callers to the RM's page.
    std::fs::write(&stop, "").unwrap();
    let finished = exit_within(&mut submit.0, 120, "spark-submit").await;
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(finished.success(), "spark-submit failed:\n{log_text}");
    let (status, headers, _) = http_get(&tracking).await;
    assert_eq!(status, 302, "{headers:?}");
    assert_eq!(
        header(&headers, "location"),
        Some(format!("{web}/cluster/app/{app}").as_str())
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_mode_spark_ui_answers_through_the_rm_proxy() {
    spark_ui_through_the_proxy("cluster").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_mode_spark_ui_answers_through_the_rm_proxy() {
    spark_ui_through_the_proxy("client").await;
}
