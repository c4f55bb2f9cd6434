//! ResourceManager HA as operators run it: two `spindle resourcemanager` daemons with the same
//! yarn-site.xml (each told its `yarn.resourcemanager.ha.id`) and a real ZooKeeper. One is
//! elected active, `rmadmin -getServiceState` reports both, manual transitions are refused under
//! automatic failover; SIGKILL of the active makes the standby active within the ZooKeeper
//! session timeout, and a distributed-shell application running through it finishes (client,
//! AM and NM fail over to the new active, which recovered the application from ZooKeeper); a
//! SIGSTOPped active that outlives its session is fenced and comes back as standby, never as a
//! second active.

mod common;
use spindle_minicluster::zookeeper;

use common::*;

/// rm1 elected active, then rm2 standby (logs in `dir/rm1.log`, `dir/rm2.log`); the client
/// configuration.
async fn start_ha_pair(dir: &std::path::Path, zk: &str) -> (Process, Process, std::path::PathBuf) {
    let (rm1_conf, rm2_conf, client) = ha_confs(dir, zk, &[]);
    let rm1 = spawn_rm(&rm1_conf, &dir.join("rm1.log"));
    wait_until(30, "rm1 to be elected active", || {
        ha_state(&client, "rm1") == "active"
    })
    .await;
    let rm2 = spawn_rm(&rm2_conf, &dir.join("rm2.log"));
    wait_until(30, "rm2 to report standby", || {
        ha_state(&client, "rm2") == "standby"
    })
    .await;
    (rm1, rm2, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_takes_over_from_a_killed_active_and_a_frozen_active_is_fenced() {
    let zk = zookeeper::ZooKeeper::start();
    let dir = tempfile::tempdir().unwrap();
    let (mut rm1, rm2, client) = start_ha_pair(dir.path(), &zk.address).await;
    assert_eq!(ha_state(&client, "rm1"), "active");

    let refused = text(&spindle(
        &client,
        &["rmadmin", "-transitionToActive", "rm2"],
    ));
    assert!(
        refused.contains("automatic failover is enabled"),
        "{refused}"
    );
    // The web: the active answers, the standby sends callers to the active as YARN's does.
    let web = |id: &str| {
        site_value(
            &client,
            &format!("yarn.resourcemanager.webapp.address.{id}"),
        )
        .unwrap()
    };
    let (status, info) = http_get(&web("rm1"), "/ws/v1/cluster/info");
    assert_eq!(status, 200, "{info}");
    assert!(info.contains("\"haState\":\"ACTIVE\""), "{info}");
    let (status, redirect) = http_get(&web("rm2"), "/ws/v1/cluster/apps");
    assert_eq!(status, 307, "{redirect}");
    assert!(
        redirect.contains("This is standby RM. The redirect url is: "),
        "{redirect}"
    );
    assert!(
        redirect.contains(&format!("location: http://{}", web("rm1"))),
        "{redirect}"
    );

    // An NM and an application whose containers outlive the active.
    let _nm = spawn_spindle(&client, &["nodemanager"], &dir.path().join("nm.log"));
    wait_until(30, "the NM to register", || {
        text(&spindle(&client, &["node", "-list"])).contains("Total Nodes:1")
    })
    .await;
    let ran = dir.path().join("ran");
    let command = format!("echo $CONTAINER_ID >> {}; sleep 10", ran.display());
    let mut shell = spawn_spindle(
        &client,
        &dshell_two_containers(&command),
        &dir.path().join("dshell.log"),
    );
    wait_until(60, "both containers to start", || {
        std::fs::read_to_string(&ran)
            .unwrap_or_default()
            .lines()
            .count()
            == 2
    })
    .await;

    // SIGKILL of the active: its session expires (3 s) and rm2 is elected.
    rm1.0.kill().unwrap();
    rm1.0.wait().unwrap();
    let killed = std::time::Instant::now();
    wait_until(30, "rm2 to become active", || {
        ha_state(&client, "rm2") == "active"
    })
    .await;
    let failover = killed.elapsed();
    let gone = ha_state(&client, "rm1");
    assert!(
        gone.contains("connect"),
        "the killed rm1 does not answer: {gone}"
    );
    let rm2_log = std::fs::read_to_string(dir.path().join("rm2.log")).unwrap();
    assert!(rm2_log.contains("is active"), "{rm2_log}");
    println!("failover after SIGKILL of the active: {failover:?}");
    let status = exit_within(&mut shell.0, 120, "the distributed shell").await;
    let shell_log = std::fs::read_to_string(dir.path().join("dshell.log")).unwrap();
    assert!(
        status.success(),
        "{shell_log}\nrm2:\n{}",
        std::fs::read_to_string(dir.path().join("rm2.log")).unwrap_or_default()
    );
    let started = std::fs::read_to_string(&ran).unwrap();
    assert_eq!(
        started.lines().count(),
        2,
        "each container ran once: {started}"
    );
    let listed = text(&spindle(
        &client,
        &["application", "-list", "-appStates", "ALL"],
    ));
    let app = application_id(&shell_log);
    assert!(
        listed
            .lines()
            .any(|l| l.contains(&app) && l.contains("FINISHED") && l.contains("SUCCEEDED")),
        "{listed}"
    );

    // rm1 comes back as standby.
    // ha_confs wrote rm1's configuration to dir/rm1.
    let _rm1 = spawn_rm(&dir.path().join("rm1"), &dir.path().join("rm1-again.log"));
    wait_until(30, "rm1 to rejoin as standby", || {
        ha_state(&client, "rm1") == "standby"
    })
    .await;

    // Freeze the active past its session timeout: rm1 takes over and claims the store; rm2,
    // thawed, finds its session expired and goes standby (never two actives).
    send_signal(&rm2.0, "STOP");
    wait_until(30, "rm1 to take over from the frozen rm2", || {
        ha_state(&client, "rm1") == "active"
    })
    .await;
    send_signal(&rm2.0, "CONT");
    wait_until(30, "the thawed rm2 to go standby", || {
        ha_state(&client, "rm2") == "standby"
    })
    .await;
    assert_eq!(ha_state(&client, "rm1"), "active");
}

/// Hadoop's own YarnClient (pyspark's jars) submits application after application to an HA pair
/// while the active is killed with SIGKILL, at the worst moment: after it issued an id and before
/// the client submitted it. The client fails over and submits that id to the new active, and
/// every submission it saw succeed exists exactly once there, with nothing it did not ask for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_java_client_submits_through_a_failover_and_each_application_exists_once() {
    let build = std::process::Command::new(repo_root().join("scripts/build-java-compat"))
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "building the Java client failed: {}",
        String::from_utf8_lossy(&build.stderr)
    );
    let zk = zookeeper::ZooKeeper::start();
    let dir = tempfile::tempdir().unwrap();
    let (mut rm1, _rm2, client) = start_ha_pair(dir.path(), &zk.address).await;

    const COUNT: usize = 30;
    let out = dir.path().join("submit.out");
    let err = dir.path().join("submit.err");
    let go_on = dir.path().join("go-on");
    let mut submitter = std::process::Command::new(repo_root().join("tests/java/yarn-compat"))
        .env("SPINDLE_COMPAT_HOLD", format!("4:{}", go_on.display()))
        .arg("submit")
        .arg(&client)
        .args([&COUNT.to_string(), "sleep 600"])
        // Room for the failover (the fast-failure defaults give up after 10 s).
        .arg("-Dyarn.resourcemanager.connect.max-wait.ms=60000")
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let submitted = |path: &std::path::Path| -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("submitted."))
            .filter_map(|l| l.split_once('=').map(|(_, id)| id.to_string()))
            .collect()
    };
    wait_until(90, "four submissions through rm1 and a fifth id", || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .contains("created.4=")
    })
    .await;
    rm1.0.kill().unwrap();
    rm1.0.wait().unwrap();
    std::fs::write(&go_on, "").unwrap();
    let status = tokio::task::spawn_blocking(move || submitter.wait().unwrap())
        .await
        .unwrap();
    assert!(
        status.success(),
        "{}\n{}",
        std::fs::read_to_string(&out).unwrap_or_default(),
        std::fs::read_to_string(&err).unwrap_or_default()
    );
    let ids = submitted(&out);
    assert_eq!(ids.len(), COUNT);
    assert_eq!(ha_state(&client, "rm2"), "active");
    let list = text(&spindle(
        &client,
        &["application", "-list", "-appStates", "ALL"],
    ));
    let mut listed: Vec<String> = list
        .lines()
        .filter(|l| l.trim_start().starts_with("application_"))
        .map(application_id)
        .collect();
    listed.sort();
    let mut expected = ids.clone();
    expected.sort();
    expected.dedup();
    assert_eq!(expected.len(), COUNT, "an id was handed out twice: {ids:?}");
    assert_eq!(listed, expected, "{list}");
}
