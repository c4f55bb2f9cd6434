//! Work-preserving ResourceManager restart where operators meet it: `spindle resourcemanager`
//! with `yarn.resourcemanager.recovery.enabled`, killed with SIGKILL while a distributed-shell
//! application runs and started again. The application finishes, its containers ran once (the
//! NM kept them, the RM took them back), and applications that had finished are still listed.

mod common;
use spindle_minicluster::zookeeper;

use common::*;

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_survives_a_sigkilled_resourcemanager() {
    survives_an_rm_sigkill(&[]).await;
}

/// The same with YARN's ZooKeeper store (`ZKRMStateStore`) on a real ZooKeeper.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_survives_a_sigkilled_resourcemanager_with_the_zookeeper_store() {
    let zk = zookeeper::ZooKeeper::start();
    survives_an_rm_sigkill(&[
        (
            "yarn.resourcemanager.store.class",
            "org.apache.hadoop.yarn.server.resourcemanager.recovery.ZKRMStateStore",
        ),
        ("hadoop.zk.address", &zk.address),
    ])
    .await;
}

async fn survives_an_rm_sigkill(extra: &[(&'static str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let conf = recovery_daemon_conf(dir.path(), extra);
    let (mut rm, _nm) = start_rm_and_nm(&conf, dir.path()).await;
    let rm_log = dir.path().join("rm.log");

    // One application finishes before the crash.
    let before = spindle(&conf, &dshell_two_containers("echo before"));
    assert!(before.status.success(), "{}", text(&before));
    let finished_id = application_id(&text(&before));

    // Another runs two containers that record each start and then sleep.
    let ran = dir.path().join("ran");
    let command = format!("echo $CONTAINER_ID >> {}; sleep 12", ran.display());
    let mut running = spawn_spindle(
        &conf,
        &dshell_two_containers(&command),
        &dir.path().join("dshell.log"),
    );
    wait_until(40, "both containers to start", || lines(&ran).len() == 2).await;

    rm.0.kill().unwrap();
    rm.0.wait().unwrap();
    let first_log = std::fs::read_to_string(&rm_log).unwrap();
    let rm_log = dir.path().join("rm-2.log");
    let _rm = spawn_rm(&conf, &rm_log);

    let status = exit_within(&mut running.0, 90, "the distributed shell").await;
    let client_log = std::fs::read_to_string(dir.path().join("dshell.log")).unwrap();
    let second_log = std::fs::read_to_string(&rm_log).unwrap_or_default();
    assert!(
        status.success(),
        "{client_log}\nRM before:\n{first_log}\nRM after:\n{second_log}"
    );
    let started = lines(&ran);
    assert_eq!(
        started.len(),
        2,
        "each container ran once, in the first attempt: {started:?}\n{second_log}"
    );
    assert!(started.iter().all(|c| c.contains("_01_")), "{started:?}");
    assert!(
        second_log.contains("recovered 1 finished, 1 running"),
        "{second_log}"
    );
    assert!(second_log.contains("epoch 1"), "{second_log}");
    assert_eq!(
        second_log.matches("Recovered container").count(),
        3,
        "the AM and both shell containers came back: {second_log}"
    );

    let list = text(&spindle(
        &conf,
        &["application", "-list", "-appStates", "ALL"],
    ));
    let running_id = application_id(&client_log);
    for id in [&finished_id, &running_id] {
        let line = list
            .lines()
            .find(|l| l.contains(id.as_str()))
            .unwrap_or_else(|| panic!("{id} not listed:\n{list}"));
        assert!(
            line.contains("FINISHED") && line.contains("SUCCEEDED"),
            "{line}"
        );
    }
}
