//! `spindle applicationattempt` and `spindle container` against a running minicluster: an
//! application's attempt and its live AM container, listed and described as `yarn` does; and
//! `application -list -appTags` finding it by its tag, `--json` listings, `top --once`, and
//! another user's `application -kill` refused.

mod common;

use common::*;
use spindle_client::YarnClient;
use spindle_minicluster::{MiniCluster, MiniClusterConfig};
use spindle_proto::yarn::{ApplicationSubmissionContextProto, ContainerLaunchContextProto};
use spindle_types::Resource;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_and_containers_are_listed_and_described() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = MiniClusterConfig::new(dir.path());
    config.nodes = 1;
    let cluster = MiniCluster::start(config).await.unwrap();
    let client = YarnClient::connect(cluster.rm.client_address(), "alice")
        .await
        .unwrap();
    let new = client.get_new_application().await.unwrap();
    let id = new.application_id;
    client
        .submit_application(ApplicationSubmissionContextProto {
            application_id: Some(id.into()),
            application_name: Some("described".into()),
            am_container_spec: Some(ContainerLaunchContextProto {
                command: vec!["sleep 60".into()],
                ..Default::default()
            }),
            resource: Some((&Resource::new(256, 1)).into()),
            application_tags: vec!["nightly".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let attempt = format!("appattempt_{}_{:04}_000001", id.cluster_timestamp, id.id);
    let container = format!("container_{}_{:04}_01_000001", id.cluster_timestamp, id.id);
    let conf = cluster.conf_dir().to_path_buf();
    let run = move |args: Vec<String>| {
        let conf = conf.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                spindle(&conf, &args)
            })
            .await
            .unwrap()
        }
    };
    // The AM container is placed at once; wait until the RM has launched it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        let status = run(vec![
            "applicationattempt".into(),
            "-status".into(),
            attempt.clone(),
        ])
        .await;
        if text(&status).contains("State : LAUNCHED") || std::time::Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let out = text(&status);
    assert!(status.status.success(), "{out}");
    assert!(
        out.contains(&format!("ApplicationAttempt-Id : {attempt}")),
        "{out}"
    );
    assert!(out.contains("State : LAUNCHED"), "{out}");
    assert!(out.contains(&format!("AMContainer : {container}")), "{out}");

    let list = run(vec![
        "applicationattempt".into(),
        "-list".into(),
        id.to_string(),
    ])
    .await;
    let out = text(&list);
    assert!(
        out.contains("Total number of application attempts :1"),
        "{out}"
    );
    assert!(out.contains(&attempt) && out.contains(&container), "{out}");

    let containers = run(vec!["container".into(), "-list".into(), attempt.clone()]).await;
    let out = text(&containers);
    assert!(out.contains("Total number of containers :1"), "{out}");
    assert!(out.contains(&container) && out.contains("RUNNING"), "{out}");

    let described = run(vec![
        "container".into(),
        "-status".into(),
        container.clone(),
    ])
    .await;
    let out = text(&described);
    assert!(described.status.success(), "{out}");
    assert!(
        out.contains(&format!("Container-Id : {container}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("/node/containerlogs/{container}/alice")),
        "{out}"
    );

    // `application -list -appTags`: only applications carrying one of the tags.
    let tagged = run(vec![
        "application".into(),
        "-list".into(),
        "-appTags".into(),
        "Nightly,etl".into(),
    ])
    .await;
    assert!(text(&tagged).contains(&id.to_string()), "{}", text(&tagged));
    let other = run(vec![
        "application".into(),
        "-list".into(),
        "-appTags".into(),
        "hourly".into(),
    ])
    .await;
    assert!(!text(&other).contains(&id.to_string()), "{}", text(&other));

    // `top --once`: the queue tree and the application holding memory.
    let top = run(vec!["top".into(), "--once".into()]).await;
    let out = text(&top);
    assert!(top.status.success(), "{out}");
    assert!(
        out.contains("nodes: 1 active") && out.contains("1 accepted"),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.trim_start().starts_with("default")),
        "{out}"
    );
    let row = out
        .lines()
        .find(|l| l.starts_with(&id.to_string()))
        .unwrap_or_else(|| panic!("no row for the application:\n{out}"));
    assert!(row.contains("alice") && row.contains("256MB"), "{row}");

    let detailed = run(vec!["node".into(), "-list".into(), "-showDetails".into()]).await;
    let out = text(&detailed);
    assert!(out.contains("Detailed Node Information :"), "{out}");
    assert!(
        out.contains("\tAllocated Resources : <memory:256, vCores:1>"),
        "{out}"
    );

    // `--json` listings for scripts.
    let listed = run(vec!["application".into(), "-list".into(), "--json".into()]).await;
    let apps: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(apps[0]["id"], id.to_string());
    assert_eq!(apps[0]["user"], "alice");
    assert_eq!(apps[0]["tags"][0], "nightly");
    let nodes = run(vec!["node".into(), "-list".into(), "--json".into()]).await;
    let nodes: serde_json::Value = serde_json::from_slice(&nodes.stdout).unwrap();
    assert_eq!(nodes.as_array().unwrap().len(), 1);
    assert_eq!(nodes[0]["state"], "RUNNING");
    assert_eq!(nodes[0]["usedMemoryMB"], 256);

    // Another user's kill through the CLI is refused by the RM; the application goes on.
    let conf_dir = cluster.conf_dir().to_path_buf();
    let app_id = id.to_string();
    let refused = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_spindle"))
            .arg("--conf-dir")
            .arg(&conf_dir)
            .args(["application", "-kill", &app_id])
            .env("HADOOP_USER_NAME", "mallory")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let out = text(&refused);
    assert!(!refused.status.success(), "{out}");
    assert!(
        out.contains("mallory") && out.contains("MODIFY_APP"),
        "{out}"
    );
    let report = client.get_application_report(id).await.unwrap();
    assert_eq!(
        report.state,
        spindle_types::states::YarnApplicationState::Accepted
    );

    let unknown = run(vec![
        "container".into(),
        "-status".into(),
        container.replace("000001", "000099"),
    ])
    .await;
    assert!(!unknown.status.success());
    assert!(
        text(&unknown).contains("doesn't exist"),
        "{}",
        text(&unknown)
    );
    let bad = run(vec![
        "container".into(),
        "-status".into(),
        "nonsense".into(),
    ])
    .await;
    assert!(!bad.status.success());
    assert!(
        text(&bad).contains("Invalid ContainerId: nonsense"),
        "{}",
        text(&bad)
    );
}
