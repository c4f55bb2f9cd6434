//! The NodeManager's web server on a running minicluster, reached as users and tools reach it:
//! from the RM's `amContainerLogs` link to the AM's stdout, YARN's `/ws/v1/node` answers, byte
//! ranges of a log, and every way out of a container's log directory refused.

mod common;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use spindle_minicluster::{MiniCluster, MiniClusterConfig};
use spindle_types::ApplicationId;

/// What the AM writes to its stdout (23 bytes).
const STDOUT: &str = "hello-from-am\n<b>x</b>\n";

/// A one-node cluster running an application whose AM writes [`STDOUT`], leaves a link to
/// /etc/passwd in its log directory, and sleeps.
struct Running {
    _dir: tempfile::TempDir,
    cluster: MiniCluster,
    app: ApplicationId,
    /// The RM's `amContainerLogs` for it.
    am_logs: String,
    /// `http://localhost:<port>` of the NM that runs it.
    nm: String,
    container: String,
}

async fn running() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut config = MiniClusterConfig::new(dir.path());
    config.nodes = 1;
    let cluster = MiniCluster::start(config).await.unwrap();
    let rm = format!("http://{}", cluster.rm.web_address().unwrap());
    let client = common::client(&cluster, "alice").await;
    let command = "{ echo hello-from-am; echo '<b>x</b>'; ln -s /etc/passwd <LOG_DIR>/evil; \
                   sleep 60; } 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr";
    let app = common::submit(&client, "nm-web", command, None).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let am_logs = loop {
        let (_, body) = get(&format!("{rm}/ws/v1/cluster/apps/{app}")).await;
        if let Some(link) = body["app"]["amContainerLogs"].as_str() {
            break link.to_string();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no AM logs link: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let nm = am_logs[..am_logs.find("/node/containerlogs/").unwrap()].to_string();
    let web = cluster.node_managers[0].as_ref().unwrap().web_address();
    assert_eq!(nm, format!("http://localhost:{}", web.port()));
    let container = am_logs.rsplit('/').nth(1).unwrap().to_string();
    // Wait until the AM wrote its stdout.
    loop {
        let (_, text) = get_text(&format!(
            "{nm}/ws/v1/node/containers/{container}/logs/stdout"
        ))
        .await;
        if text.starts_with(STDOUT) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "stdout: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Running {
        _dir: dir,
        cluster,
        app,
        am_logs,
        nm,
        container,
    }
}

async fn get_text(url: &str) -> (StatusCode, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn get(url: &str) -> (StatusCode, Value) {
    let (status, text) = get_text(url).await;
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, json)
}

/// What a log page shows inside its `<pre>`.
fn shown(page: &str) -> &str {
    let start = page.find("<pre>").expect("a <pre>") + "<pre>".len();
    let end = page.rfind("</pre>").expect("a </pre>");
    &page[start..end]
}

#[tokio::test]
async fn the_am_logs_link_leads_to_the_ams_stdout() {
    let run = running().await;
    let (status, list) = get_text(&run.am_logs).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    for file in ["stdout", "stderr"] {
        assert!(
            list.contains(&format!("/{file}?start=-4096\">{file}</a>")),
            "{list}"
        );
    }
    assert!(!list.contains(">evil<"), "the link is not listed: {list}");

    // Spark's executor links: the last 4 KB by default, HTML-escaped.
    let stdout = format!("{}/stdout", run.am_logs);
    for url in [
        stdout.clone(),
        format!("{stdout}?start=-4096"),
        format!("{stdout}/"),
    ] {
        let (status, page) = get_text(&url).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert_eq!(
            shown(&page),
            "hello-from-am\n&lt;b&gt;x&lt;/b&gt;\n",
            "{url}"
        );
        assert!(!page.contains("<b>x</b>"), "{page}");
    }
    // Byte ranges: from the start, from the end, both, and wrong ones.
    for (query, expected) in [
        ("start=0&end=5", "hello"),
        ("start=6&end=10", "from"),
        ("start=-9", "&lt;b&gt;x&lt;/b&gt;\n"),
        ("start=-9&end=-1", "&lt;b&gt;x&lt;/b&gt;"),
        ("start=14&end=1000", "&lt;b&gt;x&lt;/b&gt;\n"),
        ("start=5&end=5", ""),
    ] {
        let (status, page) = get_text(&format!("{stdout}?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(shown(&page), expected, "{query}");
    }
    for query in ["start=10&end=6", "start=100", "start=abc", "end=1.5"] {
        let (status, page) = get_text(&format!("{stdout}?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {page}");
    }
    // The NM's own link to the container is the RM's.
    let (_, containers) = get(&format!("{}/ws/v1/node/containers", run.nm)).await;
    assert_eq!(
        containers["containers"]["container"][0]["containerLogsLink"],
        run.am_logs.as_str()
    );
    run.cluster.shutdown().await;
}

#[tokio::test]
async fn rest_answers_in_yarns_shapes() {
    let run = running().await;
    let (nm, app, container) = (&run.nm, run.app.to_string(), &run.container);
    let node_id = run.cluster.node_managers[0]
        .as_ref()
        .unwrap()
        .node_id()
        .to_string();

    for path in ["/ws/v1/node", "/ws/v1/node/info"] {
        let (status, info) = get(&format!("{nm}{path}")).await;
        assert_eq!(status, StatusCode::OK);
        let info = &info["nodeInfo"];
        assert_eq!(info["id"], node_id.as_str());
        assert_eq!(info["nodeHostName"], "localhost");
        assert_eq!(info["totalPmemAllocatedContainersMB"], 4096);
        assert_eq!(info["totalVCoresAllocatedContainers"], 4);
        assert_eq!(info["nodeHealthy"], true);
        assert!(info["nodeManagerVersion"].is_string());
        assert!(info["lastNodeUpdateTime"].as_i64().unwrap() > 0);
    }

    let (_, apps) = get(&format!("{nm}/ws/v1/node/apps")).await;
    assert_eq!(
        apps,
        serde_json::json!({"apps": {"app": [{
            "id": app, "state": "RUNNING", "user": "alice", "containerids": [container]
        }]}})
    );
    let (_, by_filter) = get(&format!("{nm}/ws/v1/node/apps?state=running&user=alice")).await;
    assert_eq!(by_filter, apps);
    for query in ["state=FINISHED", "user=bob"] {
        let (_, none) = get(&format!("{nm}/ws/v1/node/apps?{query}")).await;
        assert_eq!(none, serde_json::json!({"apps": null}), "{query}");
    }
    let (status, one) = get(&format!("{nm}/ws/v1/node/apps/{app}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["app"], apps["apps"]["app"][0]);

    let (_, containers) = get(&format!("{nm}/ws/v1/node/containers")).await;
    let listed = &containers["containers"]["container"];
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (status, one) = get(&format!("{nm}/ws/v1/node/containers/{container}")).await;
    assert_eq!(status, StatusCode::OK);
    let info = &one["container"];
    assert_eq!(info, &listed[0]);
    assert_eq!(info["id"], container.as_str());
    assert_eq!(info["state"], "RUNNING");
    assert_eq!(info["exitCode"], -1000);
    assert_eq!(info["user"], "alice");
    assert_eq!(info["totalMemoryNeededMB"], 256);
    assert_eq!(info["totalVCoresNeeded"], 1);
    assert_eq!(info["nodeId"], node_id.as_str());
    let files = info["containerLogFiles"].as_array().unwrap();
    assert!(files.contains(&Value::from("stdout")), "{info}");
    assert!(!files.contains(&Value::from("evil")), "{info}");

    let (status, logs) = get(&format!("{nm}/ws/v1/node/containers/{container}/logs")).await;
    assert_eq!(status, StatusCode::OK);
    let logs = &logs["containerLogsInfo"][0];
    assert_eq!(logs["logAggregationType"], "LOCAL");
    assert_eq!(logs["containerId"], container.as_str());
    assert_eq!(logs["nodeId"], node_id.as_str());
    let stdout = logs["containerLogInfo"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fileName"] == "stdout")
        .unwrap();
    assert_eq!(stdout["fileSize"], "23");
    assert!(stdout["lastModifiedTime"]
        .as_str()
        .unwrap()
        .contains(" +0000 "));

    // One file as text, with YARN's footer; `size` takes the head or the tail.
    let text_url = format!("{nm}/ws/v1/node/containers/{container}/logs/stdout");
    let response = reqwest::get(&text_url).await.unwrap();
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().await.unwrap();
    assert!(text.starts_with(STDOUT), "{text}");
    assert!(
        text[STDOUT.len()..].starts_with("End of LogType:stdout."),
        "{text}"
    );
    for (query, expected) in [("size=5", "hello\n"), ("size=-9", "<b>x</b>\n")] {
        let (_, text) = get_text(&format!("{text_url}?{query}")).await;
        assert!(
            text.starts_with(&format!("{expected}End of LogType:stdout")),
            "{query}: {text}"
        );
    }
    let (_, text) = get_text(&format!("{nm}/ws/v1/node/containerlogs/{container}/stdout")).await;
    assert!(text.starts_with(STDOUT), "{text}");
    run.cluster.shutdown().await;
}

#[tokio::test]
async fn bad_ids_unknown_ids_and_escapes_are_refused() {
    let run = running().await;
    let (nm, container) = (&run.nm, &run.container);
    let unknown = format!("{}999", &container[..container.len() - 3]);
    let rest = format!("{nm}/ws/v1/node/containers");
    // YARN's errors: 400 for a malformed id, 404 for one this node does not have.
    for (url, status, exception, message) in [
        (
            format!("{rest}/container_x"),
            400,
            "BadRequestException",
            "invalid container id, container_x".to_string(),
        ),
        (
            format!("{rest}/{unknown}"),
            404,
            "NotFoundException",
            format!("container with id, {unknown}, not found"),
        ),
        (
            format!("{rest}/container_x/logs"),
            400,
            "BadRequestException",
            "invalid container id, container_x".to_string(),
        ),
        (
            format!("{rest}/{unknown}/logs"),
            404,
            "NotFoundException",
            format!("container with id, {unknown}, not found"),
        ),
        (
            format!("{nm}/ws/v1/node/apps/not-an-app"),
            400,
            "BadRequestException",
            "not-an-app".to_string(),
        ),
        (
            format!("{nm}/ws/v1/node/apps/application_1_0001"),
            404,
            "NotFoundException",
            "application_1_0001".to_string(),
        ),
        (
            format!("{nm}/ws/v1/node/apps?state=SLEEPING"),
            400,
            "BadRequestException",
            "SLEEPING".to_string(),
        ),
        (
            format!("{rest}/{container}/logs/stdout?size=many"),
            400,
            "BadRequestException",
            "size=many".to_string(),
        ),
    ] {
        let (got, body) = get(&url).await;
        assert_eq!(got.as_u16(), status, "{url}: {body}");
        assert_eq!(body["RemoteException"]["exception"], exception, "{url}");
        let text = body["RemoteException"]["message"].as_str().unwrap();
        assert!(text.contains(&message), "{url}: {text}");
    }
    let (status, _) = get_text(&format!("{nm}/node/containerlogs/{unknown}/alice")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get_text(&format!("{nm}/node/containerlogs/container_x/alice")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Every way out of the container's log directory: encoded traversal, absolute paths, a
    // NUL byte, a traversing container id, and the link the AM left in its log directory.
    let page = format!("{nm}/node/containerlogs/{container}/alice");
    let text = format!("{rest}/{container}/logs");
    for (url, status) in [
        (format!("{page}/..%2F..%2F..%2F..%2Fetc%2Fpasswd"), 400),
        (format!("{page}/%2Fetc%2Fpasswd"), 400),
        (format!("{page}/stdout%00"), 400),
        (format!("{page}/.."), 404),
        (format!("{page}/evil"), 403),
        (format!("{text}/..%2F..%2Fetc%2Fpasswd"), 400),
        (format!("{text}/%2Fetc%2Fpasswd"), 400),
        (format!("{text}/evil"), 403),
        (
            format!("{nm}/ws/v1/node/containerlogs/{container}/evil"),
            403,
        ),
        (
            format!("{nm}/node/containerlogs/..%2F..%2F..%2Fetc/alice/passwd"),
            400,
        ),
        (
            format!("{nm}/node/containerlogs/{container}/alice//etc/passwd"),
            404,
        ),
    ] {
        let (got, body) = get_text(&url).await;
        assert_eq!(got.as_u16(), status, "{url}: {body}");
        assert!(!body.contains("root:"), "{url}: {body}");
    }
    run.cluster.shutdown().await;
}

/// Every route of the NM's table answers a caller without credentials.
#[tokio::test]
async fn every_route_of_the_table_answers() {
    let run = running().await;
    for route in spindle_nm::web::ROUTES {
        let path = route
            .path
            .replace("{containerid}", &run.container)
            .replace("{owner}", "alice")
            .replace("{file}", "stdout")
            .replace("{appid}", &run.app.to_string());
        let (status, body) = get_text(&format!("{}{path}", run.nm)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    // Only GET: nothing on the NM changes over the web.
    let response = reqwest::Client::new()
        .delete(format!(
            "{}/ws/v1/node/containers/{}",
            run.nm, run.container
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    run.cluster.shutdown().await;
}

/// The NM's `/prom` counts what it runs and the calls its container-management port took.
#[tokio::test]
async fn the_metrics_endpoint_shows_the_running_am() {
    let running = running().await;
    let (status, text) = get_text(&format!("{}/prom", running.nm)).await;
    assert_eq!(status, StatusCode::OK);
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit_once(' '))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
    };
    assert_eq!(value("node_manager_metrics_containers_running{"), 1.0);
    assert_eq!(value("node_manager_metrics_allocated_mb{"), 256.0);
    assert_eq!(value("node_manager_metrics_allocated_containers{"), 1.0);
    assert!(value("rpc_detailed_activity_start_containers_num_ops{") >= 1.0);
    let (total, free) = (4096.0, value("node_manager_metrics_available_mb{"));
    assert_eq!(free, total - 256.0);
    drop(running.cluster);
}
