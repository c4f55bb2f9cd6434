//! The seed document's fair-scheduler.xml on a real cluster: its placement rules put an
//! application asked for a queue that does not exist in root.dev.eng, and every report names that
//! queue, also after the application finished and the scheduler forgot it.

mod common;

use std::time::Duration;

use common::*;
use spindle_minicluster::{MiniCluster, MiniClusterConfig};
use spindle_types::Resource;

const FAIR: &str = "org.apache.hadoop.yarn.server.resourcemanager.scheduler.fair.FairScheduler";

/// The seed document's allocation file (Hadoop: The Definitive Guide): prod (weight 40, fifo),
/// dev (weight 60) with eng and science, and placement rules that end in dev.eng. The Korean
/// article's copy writes the last rule as `create="dev.eng"`, a typo for the book's `queue=`.
const SEED_ALLOCATION_FILE: &str = r#"<?xml version="1.0"?>
<allocations>
  <defaultQueueSchedulingPolicy>fair</defaultQueueSchedulingPolicy>
  <queue name="prod">
    <weight>40</weight>
    <schedulingPolicy>fifo</schedulingPolicy>
  </queue>
  <queue name="dev">
    <weight>60</weight>
    <queue name="eng" />
    <queue name="science" />
  </queue>
  <queuePlacementPolicy>
    <rule name="specified" create="false" />
    <rule name="primaryGroup" create="false" />
    <rule name="default" queue="dev.eng" />
  </queuePlacementPolicy>
</allocations>
"#;

/// `spindle dshell` to `queue` with two short containers; panics unless it succeeds. Answers the
/// application id.
fn dshell_to(conf: &std::path::Path, queue: &str) -> String {
    let out = spindle(
        conf,
        &[
            "dshell",
            "--queue",
            queue,
            "--num-containers",
            "2",
            "--container-memory",
            "256",
            "--shell-command",
            "true",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    application_id(&text(&out))
}

/// The `-list` row of `application` (panics when there is none).
fn list_row(listing: &str, application: &str) -> String {
    listing
        .lines()
        .find(|line| line.contains(application))
        .unwrap_or_else(|| panic!("{application} is not listed:\n{listing}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_application_keeps_the_queue_the_placement_rules_chose() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = MiniClusterConfig::new(dir.path());
    config.nodes = 2;
    config.node_resource = Resource::new(2048, 4);
    config.rm.maximum_allocation = Resource::new(2048, 4);
    config.nm_heartbeat_interval = Duration::from_millis(200);
    config.scheduler_class = FAIR.into();
    config.scheduler_files = vec![("fair-scheduler.xml".into(), SEED_ALLOCATION_FILE.into())];
    let cluster = MiniCluster::start(config).await.unwrap();
    let conf = cluster.conf_dir().to_path_buf();

    let conf_for_dshell = conf.clone();
    let app = tokio::task::spawn_blocking(move || dshell_to(&conf_for_dshell, "nosuch"))
        .await
        .unwrap();
    let asked_for = cluster.rm.inspect(|core| {
        core.applications()
            .find(|a| a.id.to_string() == app)
            .map(|a| a.queue.clone())
    });
    assert_eq!(asked_for.as_deref(), Some("nosuch"));
    wait_until(
        20,
        "the scheduler to forget the finished application",
        || {
            cluster.rm.inspect(|core| {
                core.queue_info("root.dev.eng", true, false, false)
                    .is_some_and(|q| q.applications.is_empty())
            })
        },
    )
    .await;

    let listing = text(&spindle(
        &conf,
        &["application", "-list", "-appStates", "FINISHED"],
    ));
    let row = list_row(&listing, &app);
    assert!(
        row.contains("root.dev.eng") && !row.contains("nosuch"),
        "{listing}"
    );
    let status = text(&spindle(&conf, &["application", "-status", &app]));
    assert!(status.contains("\tQueue : root.dev.eng\n"), "{status}");
    cluster.shutdown().await;
}
