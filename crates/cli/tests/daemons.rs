//! The daemons as an operator runs them: `spindle resourcemanager` and `spindle nodemanager`
//! processes configured only through yarn-site.xml with YARN's keys; killing the NM process makes
//! the RM mark it LOST after the configured expiry; SIGTERM (systemd, docker, `kill`) stops each
//! daemon cleanly, the NM's containers with it.

mod common;

use std::time::Duration;

use common::*;

/// One RM and NM pair at a time: both NMs would run on localhost.
static ONE_PAIR_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `spindle --conf-dir CONF ROLE` in the background.
fn start(conf: &std::path::Path, role: &str, log: &std::path::Path) -> Process {
    spawn_spindle(conf, &[role], log)
}

/// yarn-site.xml for an RM and one NM on loopback (3 GB, 3 vcores, 200 ms heartbeats, a 3 s
/// liveness expiry, a topology table placing localhost on /rack-a), in `dir/conf`.
fn daemon_conf(dir: &std::path::Path) -> std::path::PathBuf {
    let conf = dir.join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    let (client, scheduler, tracker) = (free_port(), free_port(), free_port());
    let mut properties = daemon_properties(dir, client, scheduler, tracker);
    properties.extend([
        (
            "yarn.nm.liveness-monitor.expiry-interval-ms",
            "3000".to_string(),
        ),
        (
            "net.topology.table.file.name",
            dir.join("topology.table").display().to_string(),
        ),
    ]);
    std::fs::write(dir.join("topology.table"), "localhost /rack-a\n").unwrap();
    spindle_conf::write_site_xml(&conf.join("yarn-site.xml"), &properties).unwrap();
    conf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemons_configured_from_yarn_site_run_an_application_and_detect_a_dead_node() {
    let _one = ONE_PAIR_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let conf = daemon_conf(dir.path());
    let _rm = start(&conf, "resourcemanager", &dir.path().join("rm.log"));
    let nm = start(&conf, "nodemanager", &dir.path().join("nm.log"));
    wait_until(20, "the NM to register", || {
        text(&spindle(&conf, &["node", "-list"])).contains("Total Nodes:1")
    })
    .await;
    let status = text(&spindle(&conf, &["node", "-list"]));
    let node_id = status
        .lines()
        .find(|l| l.contains("RUNNING"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let report = text(&spindle(&conf, &["node", "-status", &node_id]));
    assert!(
        report.contains("Memory-Capacity : 3072MB") && report.contains("CPU-Capacity : 3 vcores"),
        "{report}"
    );
    assert!(
        report.contains("Rack : /rack-a"),
        "the topology table placed the node: {report}"
    );

    let out = spindle(&conf, &dshell_two_containers("echo ran-on-a-daemon"));
    assert!(
        out.status.success(),
        "{}\nRM: {}\nNM: {}",
        text(&out),
        std::fs::read_to_string(dir.path().join("rm.log")).unwrap_or_default(),
        std::fs::read_to_string(dir.path().join("nm.log")).unwrap_or_default()
    );

    // kill -9 the NM process: LOST after the 3 s expiry.
    drop(nm);
    let killed = std::time::Instant::now();
    wait_until(20, "the RM to mark the NM LOST", || {
        text(&spindle(&conf, &["node", "-list", "-all"])).contains("LOST")
    })
    .await;
    assert!(
        killed.elapsed() >= Duration::from_millis(2500),
        "LOST before the expiry: {:?}",
        killed.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_daemons_cleanly_and_the_node_manager_stops_its_containers() {
    let _one = ONE_PAIR_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let conf = daemon_conf(dir.path());
    let mut rm = start(&conf, "resourcemanager", &dir.path().join("rm.log"));
    let mut nm = start(&conf, "nodemanager", &dir.path().join("nm.log"));
    wait_until(20, "the NM to register", || {
        text(&spindle(&conf, &["node", "-list"])).contains("Total Nodes:1")
    })
    .await;
    // A distributed shell whose two containers would sleep for five minutes.
    let _client = spawn_spindle(
        &conf,
        &dshell_two_containers("sleep 300"),
        &dir.path().join("dshell.log"),
    );
    let mut prefix = String::new();
    wait_until(30, "the AM and both shell containers to run", || {
        let listing = text(&spindle(&conf, &["application", "-list"]));
        let Some(application) = listing
            .split_whitespace()
            .find(|word| word.starts_with("application_"))
        else {
            return false;
        };
        prefix = application.replace("application_", "container_");
        container_processes(&prefix).len() >= 3
    })
    .await;

    send_signal(&nm.0, "TERM");
    let status = exit_within(&mut nm.0, 20, "the NodeManager after SIGTERM").await;
    let nm_log = std::fs::read_to_string(dir.path().join("nm.log")).unwrap_or_default();
    assert!(
        status.success(),
        "the NM exits cleanly on SIGTERM: {status}\n{nm_log}"
    );
    assert!(nm_log.contains("stopping on SIGTERM"), "{nm_log}");
    let left = container_processes(&prefix);
    assert!(
        left.is_empty(),
        "SIGTERM to the NM leaves no container process behind: {left:?}"
    );

    send_signal(&rm.0, "TERM");
    let status = exit_within(&mut rm.0, 20, "the ResourceManager after SIGTERM").await;
    let rm_log = std::fs::read_to_string(dir.path().join("rm.log")).unwrap_or_default();
    assert!(
        status.success(),
        "the RM exits cleanly on SIGTERM: {status}\n{rm_log}"
    );
    assert!(rm_log.contains("stopping on SIGTERM"), "{rm_log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_inside_the_rm_core_stops_the_resourcemanager_with_the_panic_in_its_log() {
    let _one = ONE_PAIR_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let conf = daemon_conf(dir.path());
    let log = dir.path().join("rm.log");
    // The test-only fault: the next getClusterNodes call panics while it holds the RM core.
    let mut rm = spawn_spindle_with_env(
        &conf,
        &["resourcemanager"],
        &log,
        &[("SPINDLE_TEST_PANIC_IN_CORE", "1")],
    );
    // Up to a minute on a loaded machine; on a timeout the RM's own log says why.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let listed = spindle(&conf, &["application", "-list"]);
        if listed.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the RM did not serve within 60 s; the client said:\n{}\nthe RM's log:\n{}",
            text(&listed),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // `node -list` asks for the cluster's nodes: the call panics inside the core.
    let _ = spindle(&conf, &["node", "-list"]);
    let status = exit_within(&mut rm.0, 20, "the ResourceManager after a panic").await;
    assert_eq!(status.code(), Some(70), "exit status after a panic");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("injected panic inside the RM core")
            && log.contains("ResourceManager: stopping after a panic"),
        "{log}"
    );
}

/// yarn-site.xml in `dir/conf` for an RM on `ports` (client, scheduler, tracker) and an NM with
/// directories under `dir`, with `spindle.node-registration.secret-file` naming `secret`.
fn conf_with_secret(
    dir: &std::path::Path,
    ports: (u16, u16, u16),
    secret: &std::path::Path,
) -> std::path::PathBuf {
    let conf = dir.join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    let mut properties = daemon_properties(dir, ports.0, ports.1, ports.2);
    properties.push((
        "spindle.node-registration.secret-file",
        secret.display().to_string(),
    ));
    spindle_conf::write_site_xml(&conf.join("yarn-site.xml"), &properties).unwrap();
    conf
}

fn write_secret(path: &std::path::Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_cluster_secret_only_node_managers_that_hold_it_join() {
    let _one = ONE_PAIR_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let base = (free_port(), free_port(), free_port());
    let secret = dir.path().join("cluster-secret");
    write_secret(&secret, "0f1e2d3c4b5a69788796a5b4c3d2e1f0\n", 0o600);
    let conf = conf_with_secret(&dir.path().join("member"), base, &secret);

    // A secret file others may read: the RM refuses to start, naming it.
    let exposed = dir.path().join("exposed-secret");
    write_secret(&exposed, "0f1e2d3c4b5a69788796a5b4c3d2e1f0\n", 0o644);
    let exposed_conf = conf_with_secret(&dir.path().join("exposed"), base, &exposed);
    let mut refused = start(
        &exposed_conf,
        "resourcemanager",
        &dir.path().join("exposed.log"),
    );
    let status = exit_within(&mut refused.0, 20, "an RM with an exposed secret").await;
    assert!(!status.success());
    let log = std::fs::read_to_string(dir.path().join("exposed.log")).unwrap();
    assert!(
        log.contains(&exposed.display().to_string()) && log.contains("chmod 600"),
        "{log}"
    );

    let _rm = start(&conf, "resourcemanager", &dir.path().join("rm.log"));
    let _member = start(&conf, "nodemanager", &dir.path().join("nm.log"));
    wait_until(20, "the NM holding the secret to register", || {
        text(&spindle(&conf, &["node", "-list"])).contains("Total Nodes:1")
    })
    .await;
    // It received the keys it needs: containers start on it.
    let out = spindle(&conf, &dshell_two_containers("echo ran-with-a-secret"));
    assert!(out.status.success(), "{}", text(&out));

    // An NM with another secret keeps trying, is told why, and never joins.
    let other = dir.path().join("other-secret");
    write_secret(&other, "ffffffffffffffffffffffffffffffff\n", 0o600);
    let outsider_conf = conf_with_secret(&dir.path().join("outsider"), base, &other);
    let outsider_log = dir.path().join("outsider.log");
    let _outsider = start(&outsider_conf, "nodemanager", &outsider_log);
    wait_until(20, "the outsider's refusal in its log", || {
        std::fs::read_to_string(&outsider_log)
            .unwrap_or_default()
            .contains("cannot register")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let nodes = text(&spindle(&conf, &["node", "-list", "-all"]));
    assert!(nodes.contains("Total Nodes:1"), "{nodes}");
    let log = std::fs::read_to_string(&outsider_log).unwrap();
    assert!(
        log.contains("cannot register") && log.contains("spindle.node-registration.secret-file"),
        "the NM's log names the cluster secret as what to check: {log}"
    );
}
