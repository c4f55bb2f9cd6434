//! The schedulers on a real cluster: Capacity Scheduler queues sharing the cluster between two
//! applications, seen through the client API, and live reconfiguration with `rmadmin`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use spindle_ipc::{ClientOptions, IpcClient};
use spindle_minicluster::{MiniCluster, MiniClusterConfig};
use spindle_proto::yarn::*;
use spindle_types::Resource;

const CAPACITY: &str =
    "org.apache.hadoop.yarn.server.resourcemanager.scheduler.capacity.CapacityScheduler";

fn capacity_xml(queues: &[(&str, u32, u32)]) -> String {
    let mut properties = vec![(
        "yarn.scheduler.capacity.root.queues".to_string(),
        queues
            .iter()
            .map(|(q, _, _)| *q)
            .collect::<Vec<_>>()
            .join(","),
    )];
    for (q, capacity, maximum) in queues {
        properties.push((
            format!("yarn.scheduler.capacity.root.{q}.capacity"),
            capacity.to_string(),
        ));
        properties.push((
            format!("yarn.scheduler.capacity.root.{q}.maximum-capacity"),
            maximum.to_string(),
        ));
        properties.push((
            format!("yarn.scheduler.capacity.root.{q}.user-limit-factor"),
            "2".to_string(),
        ));
    }
    spindle_conf::site_xml_string(&properties).unwrap()
}

async fn capacity_cluster(dir: &std::path::Path, queues: &[(&str, u32, u32)]) -> MiniCluster {
    let mut config = MiniClusterConfig::new(dir);
    config.nodes = 2;
    config.node_resource = Resource::new(2048, 8);
    config.rm.maximum_allocation = Resource::new(2048, 8);
    config.nm_heartbeat_interval = Duration::from_millis(100);
    config.scheduler_class = CAPACITY.into();
    config.scheduler_files = vec![("capacity-scheduler.xml".into(), capacity_xml(queues))];
    MiniCluster::start(config).await.unwrap()
}

async fn queue(client: &IpcClient, name: &str) -> Result<QueueInfoProto, String> {
    client
        .call::<_, GetQueueInfoResponseProto>(
            "getQueueInfo",
            &GetQueueInfoRequestProto {
                queue_name: Some(name.into()),
                ..Default::default()
            },
        )
        .await
        .map(|r| r.queue_info.unwrap())
        .map_err(|e| e.to_string())
}

fn dshell(
    conf: &std::path::Path,
    queue: &str,
    containers: u32,
    command: &str,
) -> tokio::task::JoinHandle<std::process::Output> {
    let conf = conf.to_path_buf();
    let args: Vec<String> = [
        "dshell",
        "--queue",
        queue,
        "--num-containers",
        &containers.to_string(),
        "--container-memory",
        "256",
        "--shell-command",
        command,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    tokio::task::spawn_blocking(move || {
        spindle(&conf, &args.iter().map(String::as_str).collect::<Vec<_>>())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_queues_share_the_cluster_as_their_capacities_say() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = capacity_cluster(dir.path(), &[("a", 50, 100), ("b", 50, 100)]).await;
    let conf = cluster.conf_dir().to_path_buf();
    let client = IpcClient::connect(
        cluster.rm.client_address(),
        ClientOptions::new(
            "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB",
            "tester",
        ),
    )
    .await
    .unwrap();

    // Alone, queue a grows past its 50% up to its maximum: the whole cluster.
    let first = dshell(&conf, "a", 60, "sleep 1");
    let mut peak_a = 0.0f32;
    let deadline = Instant::now() + Duration::from_secs(30);
    while peak_a < 0.9 && Instant::now() < deadline {
        peak_a = peak_a.max(queue(&client, "a").await.unwrap().current_capacity());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        peak_a >= 0.9,
        "queue a alone should use (nearly) the whole cluster, used {peak_a}"
    );

    // Queue b's application arrives: as a's containers finish, b reaches its half.
    let second = dshell(&conf, "b", 60, "sleep 1");
    let mut balanced = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    while Instant::now() < deadline && balanced.len() < 10 {
        let (a, b) = (
            queue(&client, "a").await.unwrap().current_capacity(),
            queue(&client, "b").await.unwrap().current_capacity(),
        );
        if b >= 0.35 {
            balanced.push((a, b));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        balanced.len() >= 5,
        "queue b never reached its share: {balanced:?}"
    );
    for (a, b) in &balanced {
        assert!(
            *b <= 0.65 && *a <= 0.65 + 0.01,
            "neither queue holds much more than half while both wait: a={a} b={b}"
        );
    }
    assert!(first.await.unwrap().status.success());
    assert!(second.await.unwrap().status.success());
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_queues_applies_a_good_file_and_rejects_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = capacity_cluster(dir.path(), &[("a", 50, 100), ("b", 50, 100)]).await;
    let conf = cluster.conf_dir().to_path_buf();
    let client = IpcClient::connect(
        cluster.rm.client_address(),
        ClientOptions::new(
            "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB",
            "tester",
        ),
    )
    .await
    .unwrap();
    let file = cluster.rm_conf_dir().join("capacity-scheduler.xml");

    // Capacities that add up to 120%: refused, naming the file and the queues' key; nothing changes.
    std::fs::write(&file, capacity_xml(&[("a", 60, 100), ("b", 60, 100)])).unwrap();
    let out = spindle(&conf, &["rmadmin", "-refreshQueues"]);
    let message = text(&out);
    assert!(!out.status.success(), "{message}");
    assert!(
        message.contains("capacity-scheduler.xml"),
        "the file is named: {message}"
    );
    assert!(
        message.contains("root") && message.contains("capacity"),
        "the queue and key are named: {message}"
    );
    assert!(
        (queue(&client, "a").await.unwrap().capacity() - 0.5).abs() < 1e-3,
        "the running configuration stays"
    );

    // A good file: a third queue appears, live.
    std::fs::write(
        &file,
        capacity_xml(&[("a", 40, 100), ("b", 40, 100), ("c", 20, 50)]),
    )
    .unwrap();
    let out = spindle(&conf, &["rmadmin", "-refreshQueues"]);
    assert!(out.status.success(), "{}", text(&out));
    let c = queue(&client, "c").await.unwrap();
    assert!(
        (c.capacity() - 0.2).abs() < 1e-3 && (c.maximum_capacity() - 0.5).abs() < 1e-3,
        "{c:?}"
    );
    assert!((queue(&client, "a").await.unwrap().capacity() - 0.4).abs() < 1e-3);

    // An application submitted to the new queue runs there.
    let out = dshell(&conf, "c", 2, "true").await.unwrap();
    assert!(out.status.success(), "{}", text(&out));
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_application_says_why_in_its_status() {
    let dir = tempfile::tempdir().unwrap();
    // Queue a may use at most 25% of the 4 GB cluster: 1 GB, i.e. its AM and three containers.
    let cluster = capacity_cluster(dir.path(), &[("a", 25, 25), ("b", 75, 100)]).await;
    let conf = cluster.conf_dir().to_path_buf();
    let running = dshell(&conf, "a", 8, "sleep 30");
    let mut status = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(app) = cluster
            .rm
            .inspect(|c| c.applications().last().map(|a| a.id.to_string()))
        {
            status = text(&spindle(&conf, &["application", "-status", &app]));
            if status.contains("maximum capacity") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        status.contains("queue root.a is at its maximum capacity"),
        "{status}"
    );
    let app = cluster
        .rm
        .inspect(|c| c.applications().last().map(|a| a.id.to_string()))
        .unwrap();
    spindle(&conf, &["application", "-kill", &app]);
    let _ = running.await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_status_shows_the_configured_capacities() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = capacity_cluster(dir.path(), &[("prod", 70, 100), ("dev", 30, 50)]).await;
    let conf = cluster.conf_dir().to_path_buf();
    let output = tokio::task::spawn_blocking(move || spindle(&conf, &["queue", "-status", "dev"]))
        .await
        .unwrap();
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains("Queue Name : dev\nQueue Path : root.dev\n"),
        "{out}"
    );
    assert!(out.contains("\tState : RUNNING\n"), "{out}");
    assert!(out.contains("\tCapacity : 30.00%\n"), "{out}");
    assert!(out.contains("\tMaximum Capacity : 50.00%\n"), "{out}");
    assert!(out.contains("\tCurrent Capacity : 0.00%\n"), "{out}");
    let conf = cluster.conf_dir().to_path_buf();
    let unknown =
        tokio::task::spawn_blocking(move || spindle(&conf, &["queue", "-status", "nosuch"]))
            .await
            .unwrap();
    assert!(!unknown.status.success());
    assert!(text(&unknown).contains("nosuch"), "{}", text(&unknown));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmadmin_get_groups_shows_the_rms_group_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = MiniClusterConfig::new(dir.path());
    config.nodes = 1;
    config.scheduler_class = CAPACITY.into();
    config.scheduler_site = vec![(
        "hadoop.user.group.static.mapping.overrides".into(),
        "alice=eng,data;bob=;".into(),
    )];
    let cluster = MiniCluster::start(config).await.unwrap();
    let conf = cluster.conf_dir().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        spindle(&conf, &["rmadmin", "-getGroups", "alice", "bob"])
    })
    .await
    .unwrap();
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("alice : eng data\n"), "{out}");
    assert!(out.contains("bob : \n"), "{out}");
}
