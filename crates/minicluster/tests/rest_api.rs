//! The RM's REST API on a running minicluster, called over HTTP as tools call it: YARN's paths,
//! JSON shapes and error codes, and who may do what (every route in the route table walked
//! anonymously; a kill only by the application's owner, over REST and RPC alike).

mod common;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use spindle_minicluster::{MiniCluster, MiniClusterConfig};
use spindle_rm::web::ROUTES;
use spindle_web::auth::{Access, Verb};

async fn cluster(dir: &std::path::Path) -> MiniCluster {
    let mut config = MiniClusterConfig::new(dir);
    config.nodes = 2;
    MiniCluster::start(config).await.unwrap()
}

fn base(cluster: &MiniCluster) -> String {
    format!("http://{}", cluster.rm.web_address().expect("a web server"))
}

async fn get(url: &str) -> (StatusCode, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, json)
}

#[tokio::test]
async fn reads_answer_in_yarns_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(dir.path()).await;
    let base = base(&cluster);

    let (status, info) = get(&format!("{base}/ws/v1/cluster/info")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["clusterInfo"]["state"], "STARTED");
    assert_eq!(info["clusterInfo"]["haState"], "ACTIVE");

    // No application yet: YARN's null list.
    let (_, apps) = get(&format!("{base}/ws/v1/cluster/apps")).await;
    assert_eq!(apps, serde_json::json!({ "apps": null }));

    let client = common::client(&cluster, "alice").await;
    let id = common::submit(&client, "rest-reader", "sleep 60", None).await;
    // The AM container is placed and launched; its node and logs link appear.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let app = loop {
        let (status, app) = get(&format!("{base}/ws/v1/cluster/apps/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{app}");
        if app["app"]["amHostHttpAddress"].is_string() || tokio::time::Instant::now() > deadline {
            break app["app"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(app["id"], id.to_string());
    assert_eq!(app["user"], "alice");
    assert_eq!(app["name"], "rest-reader");
    assert_eq!(app["queue"], "default");
    assert_eq!(app["state"], "ACCEPTED");
    assert_eq!(app["finalStatus"], "UNDEFINED");
    assert_eq!(app["trackingUI"], "UNASSIGNED");
    assert!(
        app.get("trackingUrl").is_none(),
        "no tracking URL before registration: {app}"
    );
    assert_eq!(app["allocatedMB"], 256);
    assert_eq!(app["runningContainers"], 1);
    let logs = app["amContainerLogs"].as_str().unwrap();
    assert!(
        logs.contains("/node/containerlogs/container_") && logs.ends_with("/alice"),
        "{logs}"
    );

    let (_, listed) = get(&format!(
        "{base}/ws/v1/cluster/apps?states=accepted,running&user=alice"
    ))
    .await;
    assert_eq!(listed["apps"]["app"].as_array().unwrap().len(), 1);
    let (_, none) = get(&format!("{base}/ws/v1/cluster/apps?states=FINISHED")).await;
    assert_eq!(none["apps"], Value::Null);
    let (_, other_user) = get(&format!("{base}/ws/v1/cluster/apps?user=bob")).await;
    assert_eq!(other_user["apps"], Value::Null);

    let (_, attempts) = get(&format!("{base}/ws/v1/cluster/apps/{id}/appattempts")).await;
    let attempt = &attempts["appAttempts"]["appAttempt"][0];
    assert_eq!(attempt["id"], 1);
    assert!(attempt["containerId"]
        .as_str()
        .unwrap()
        .ends_with("_01_000001"));
    let (_, containers) = get(&format!(
        "{base}/ws/v1/cluster/apps/{id}/appattempts/1/containers"
    ))
    .await;
    assert_eq!(containers["containers"]["container"][0]["allocatedMB"], 256);

    let (_, nodes) = get(&format!("{base}/ws/v1/cluster/nodes")).await;
    let nodes = nodes["nodes"]["node"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 2);
    assert!(nodes.iter().all(|n| n["state"] == "RUNNING"));
    let used: i64 = nodes
        .iter()
        .map(|n| n["usedMemoryMB"].as_i64().unwrap())
        .sum();
    assert_eq!(used, 256);
    let node_id = nodes[0]["id"].as_str().unwrap();
    let (status, node) = get(&format!("{base}/ws/v1/cluster/nodes/{node_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(node["node"]["id"], node_id);

    let (_, metrics) = get(&format!("{base}/ws/v1/cluster/metrics")).await;
    let metrics = &metrics["clusterMetrics"];
    assert_eq!(metrics["activeNodes"], 2);
    assert_eq!(metrics["appsPending"], 1);
    assert_eq!(metrics["allocatedMB"], 256);
    assert_eq!(
        metrics["totalMB"].as_i64().unwrap(),
        metrics["availableMB"].as_i64().unwrap() + 256
    );

    let (_, scheduler) = get(&format!("{base}/ws/v1/cluster/scheduler")).await;
    let info = &scheduler["scheduler"]["schedulerInfo"];
    assert_eq!(info["type"], "capacityScheduler");
    let default = &info["queues"]["queue"][0];
    assert_eq!(default["queueName"], "default");
    assert_eq!(default["type"], "capacitySchedulerLeafQueueInfo");
    assert_eq!(default["numApplications"], 1);
    assert_eq!(default["resourcesUsed"]["memory"], 256);

    let (_, stats) = get(&format!(
        "{base}/ws/v1/cluster/appstatistics?states=accepted"
    ))
    .await;
    assert_eq!(
        stats["appStatInfo"]["statItem"][0],
        serde_json::json!({"state": "accepted", "type": "*", "count": 1})
    );
}

#[tokio::test]
async fn bad_requests_get_yarns_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(dir.path()).await;
    let base = base(&cluster);
    let cases = [
        (
            "/ws/v1/cluster/apps/application_1_0001",
            404,
            "NotFoundException",
        ),
        ("/ws/v1/cluster/apps/not-an-id", 400, "BadRequestException"),
        (
            "/ws/v1/cluster/apps?states=SLEEPING",
            400,
            "BadRequestException",
        ),
        ("/ws/v1/cluster/apps?limit=-1", 400, "BadRequestException"),
        (
            "/ws/v1/cluster/apps?finalStatus=MAYBE",
            400,
            "BadRequestException",
        ),
        (
            "/ws/v1/cluster/apps?startedTimeBegin=5&startedTimeEnd=1",
            400,
            "BadRequestException",
        ),
        (
            "/ws/v1/cluster/apps?deSelects=everything",
            400,
            "BadRequestException",
        ),
        (
            "/ws/v1/cluster/nodes?states=ASLEEP",
            400,
            "BadRequestException",
        ),
        ("/ws/v1/cluster/nodes/nohost:1", 404, "NotFoundException"),
        ("/ws/v1/cluster/nodes/garbage", 400, "BadRequestException"),
        ("/ws/v1/cluster/no/such/path", 404, "NotFoundException"),
    ];
    for (path, status, exception) in cases {
        let (got, body) = get(&format!("{base}{path}")).await;
        assert_eq!(got.as_u16(), status, "{path}: {body}");
        assert_eq!(body["RemoteException"]["exception"], exception, "{path}");
        assert!(
            !body["RemoteException"]["message"]
                .as_str()
                .unwrap()
                .is_empty(),
            "{path}"
        );
    }
    // A malformed kill body is a 400, to that caller only; the server keeps serving.
    let client = reqwest::Client::new();
    let response = client
        .put(format!(
            "{base}/ws/v1/cluster/apps/application_1_0001/state?user.name=alice"
        ))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (status, _) = get(&format!("{base}/ws/v1/cluster/info")).await;
    assert_eq!(status, StatusCode::OK);
}

/// Every route of the table, called with no credentials: reads answer (never 401, 403 or 500),
/// everything else is refused before it runs.
#[tokio::test]
async fn every_route_is_guarded_as_its_table_row_says() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(dir.path()).await;
    let base = base(&cluster);
    let rpc = common::client(&cluster, "alice").await;
    let id = common::submit(&rpc, "walked", "sleep 60", None).await;
    let client = reqwest::Client::new();
    for route in ROUTES {
        let path = route
            .path
            .replace("{appid}", &id.to_string())
            .replace("{attemptid}", "1")
            .replace("{nodeid}", "localhost:1");
        let url = format!("{base}{path}");
        let request = match route.method {
            Verb::Get => client.get(&url),
            Verb::Put => client
                .put(&url)
                .json(&serde_json::json!({"state": "KILLED"})),
            Verb::Post => client.post(&url).json(&serde_json::json!({})),
            Verb::Delete => client.delete(&url),
        };
        let status = request.send().await.unwrap().status();
        match route.access {
            Access::Read => assert!(
                ![401, 403, 405, 500].contains(&status.as_u16()),
                "{:?} {path}: {status}",
                route.method
            ),
            Access::User => assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}"),
            // REST submission is off by default, for everyone.
            Access::Submit => assert_eq!(status, StatusCode::FORBIDDEN, "{path}"),
        }
    }
    // The walk killed nothing.
    assert_eq!(
        spindle_types::states::YarnApplicationState::from(
            common::report(&rpc, id).await.yarn_application_state()
        ),
        spindle_types::states::YarnApplicationState::Accepted
    );
}

#[tokio::test]
async fn only_the_owner_kills_over_rest_and_rpc() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(dir.path()).await;
    let base = base(&cluster);
    let alice = common::client(&cluster, "alice").await;
    let id = common::submit(&alice, "victim", "sleep 60", None).await;
    let client = reqwest::Client::new();
    let state_url = format!("{base}/ws/v1/cluster/apps/{id}/state");
    let kill = serde_json::json!({"state": "KILLED"});

    // Anonymous, and the static web user, are refused.
    for url in [state_url.clone(), format!("{state_url}?user.name=dr.who")] {
        let r = client.put(&url).json(&kill).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{url}");
    }
    // Another user: 403 in plain text, as YARN answers.
    let r = client
        .put(format!("{state_url}?user.name=bob"))
        .json(&kill)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("Unauthorized attempt to kill appid") && text.contains("bob"),
        "{text}"
    );
    // Over RPC too.
    let bob = common::client(&cluster, "bob").await;
    let refused = bob
        .call::<_, spindle_proto::yarn::KillApplicationResponseProto>(
            "forceKillApplication",
            &spindle_proto::yarn::KillApplicationRequestProto {
                application_id: Some(id.into()),
                diagnostics: None,
            },
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("AccessControlException") && refused.contains("bob"),
        "{refused}"
    );
    // Any other target state is a 400.
    let r = client
        .put(format!("{state_url}?user.name=alice"))
        .json(&serde_json::json!({"state": "RUNNING"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (_, state) = get(&state_url).await;
    assert_eq!(state["state"], "ACCEPTED");

    // The owner, named once and then by the hadoop.auth cookie the RM set.
    let r = client
        .get(format!("{state_url}?user.name=alice"))
        .send()
        .await
        .unwrap();
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a hadoop.auth cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("hadoop.auth="), "{cookie}");
    let r = client
        .put(&state_url)
        .header("Cookie", cookie)
        .json(&kill)
        .send()
        .await
        .unwrap();
    assert!(
        [StatusCode::OK, StatusCode::ACCEPTED].contains(&r.status()),
        "{}",
        r.status()
    );
    let report = common::wait_for_final(&alice, id, Duration::from_secs(20)).await;
    assert_eq!(
        spindle_types::states::YarnApplicationState::from(report.yarn_application_state()),
        spindle_types::states::YarnApplicationState::Killed
    );
    let (_, state) = get(&state_url).await;
    assert_eq!(state["state"], "KILLED");
}

/// `name{labels} value` lines of a Prometheus scrape.
async fn scrape(base: &str) -> std::collections::HashMap<String, f64> {
    let response = reqwest::get(format!("{base}/prom")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().await.unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap();
            (name.to_string(), value.parse().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn metrics_endpoint_matches_the_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(dir.path()).await;
    let base = base(&cluster);
    let alice = common::client(&cluster, "alice").await;
    let id = common::submit(&alice, "measured", "sleep 60", None).await;
    // Wait until the AM container holds its memory.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let metrics = loop {
        let metrics = scrape(&base).await;
        let allocated = metrics
            .get("queue_metrics_allocated_mb{queue=\"root.default\"}")
            .copied();
        if allocated == Some(256.0) || tokio::time::Instant::now() > deadline {
            break metrics;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let value = |key: &str| *metrics.get(key).unwrap_or_else(|| panic!("no {key}"));
    assert_eq!(value("cluster_metrics_num_active_n_ms"), 2.0);
    assert_eq!(value("cluster_metrics_num_lost_n_ms"), 0.0);
    assert_eq!(
        value("queue_metrics_allocated_mb{queue=\"root.default\"}"),
        256.0
    );
    assert_eq!(value("queue_metrics_allocated_mb{queue=\"root\"}"), 256.0);
    assert_eq!(
        value("queue_metrics_apps_pending{queue=\"root.default\"}"),
        1.0
    );
    assert_eq!(
        value("queue_metrics_allocated_mb{queue=\"root.default\",user=\"alice\"}"),
        256.0
    );
    assert_eq!(
        value("queue_metrics_allocated_containers{queue=\"root.default\",user=\"alice\"}"),
        1.0
    );
    assert!(
        value("rpc_detailed_activity_submit_application_num_ops{port=\"client\",protocol=\"ApplicationClientProtocolPB\"}")
            >= 1.0
    );
    assert!(value("rpc_activity_rpc_processing_time_num_ops{port=\"client\"}") >= 2.0);
    assert!(value("rpc_activity_rpc_processing_time_num_ops{port=\"resource-tracker\"}") >= 2.0);
    assert!(value("spindle_rm_core_hold_seconds_count") > 0.0);

    // Killed: the queue's allocation goes back to 0 and the kill is counted.
    let _: spindle_proto::yarn::KillApplicationResponseProto = alice
        .call(
            "forceKillApplication",
            &spindle_proto::yarn::KillApplicationRequestProto {
                application_id: Some(id.into()),
                diagnostics: None,
            },
        )
        .await
        .unwrap();
    common::wait_for_final(&alice, id, Duration::from_secs(20)).await;
    let metrics = scrape(&base).await;
    assert_eq!(
        metrics["queue_metrics_apps_killed{queue=\"root.default\"}"],
        1.0
    );
    assert_eq!(
        metrics["queue_metrics_allocated_mb{queue=\"root.default\"}"],
        0.0
    );
}

/// With `yarn.webapp.enable-rest-app-submissions=true`, a named user submits over REST as YARN's
/// documented body describes; the application runs as that user. Anonymous callers still cannot.
#[tokio::test]
async fn rest_submission_when_enabled_runs_as_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let rm_conf = dir.path().join("rm-conf-given");
    std::fs::create_dir_all(&rm_conf).unwrap();
    spindle_conf::write_site_xml(
        &rm_conf.join("yarn-site.xml"),
        &[(
            "yarn.webapp.enable-rest-app-submissions".to_string(),
            "true".to_string(),
        )],
    )
    .unwrap();
    let mut config = MiniClusterConfig::new(dir.path());
    config.nodes = 1;
    config.rm_conf_dir = Some(rm_conf);
    let cluster = MiniCluster::start(config).await.unwrap();
    let base = base(&cluster);
    let client = reqwest::Client::new();

    let anonymous = client
        .post(format!("{base}/ws/v1/cluster/apps/new-application"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let new: Value = client
        .post(format!(
            "{base}/ws/v1/cluster/apps/new-application?user.name=carol"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = new["application-id"].as_str().unwrap().to_string();
    assert!(
        new["maximum-resource-capability"]["memory"]
            .as_i64()
            .unwrap()
            > 0
    );
    let body = serde_json::json!({
        "application-id": id,
        "application-name": "rest-submitted",
        "queue": "default",
        "am-container-spec": {
            "commands": {"command": "echo submitted-over-rest"},
            "environment": {"entry": {"key": "MODE", "value": "batch"}}
        },
        "resource": {"memory": "256", "vCores": 1},
        "application-type": "YARN",
        "application-tags": {"tag": ["rest"]}
    });
    let submitted = client
        .post(format!("{base}/ws/v1/cluster/apps?user.name=carol"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), StatusCode::ACCEPTED);
    let location = submitted.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        location.ends_with(&format!("/ws/v1/cluster/apps/{id}")),
        "{location}"
    );

    let (_, app) = get(&format!("{base}/ws/v1/cluster/apps/{id}")).await;
    assert_eq!(app["app"]["user"], "carol");
    assert_eq!(app["app"]["name"], "rest-submitted");
    assert_eq!(app["app"]["applicationTags"], "rest");
    // The AM container ran: its process exits without registering, which fails the attempt;
    // what matters here is that the submission was taken and scheduled as carol's.
    let id: spindle_types::ApplicationId = id.parse().unwrap();
    let carol = common::client(&cluster, "carol").await;
    let report = common::wait_for_final(&carol, id, Duration::from_secs(30)).await;
    assert_eq!(report.user(), "carol");
    assert!(report.start_time() > 0);

    // A malformed body is a 400 naming what is wrong; the RM keeps serving.
    let bad = client
        .post(format!("{base}/ws/v1/cluster/apps?user.name=carol"))
        .json(&serde_json::json!({"application-id": "application_1_0001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("am-container-spec"));
}
