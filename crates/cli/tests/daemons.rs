//! The daemons as an operator runs them: `spindle resourcemanager` and `spindle nodemanager`
//! processes configured only through yarn-site.xml with YARN's keys; killing the NM process makes
//! the RM mark it LOST after the configured expiry.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(conf: &std::path::Path, role: &str, log: &std::path::Path) -> Daemon {
    let file = std::fs::File::create(log).unwrap();
    Daemon(
        Command::new(env!("CARGO_BIN_EXE_spindle"))
            .arg("--conf-dir")
            .arg(conf)
            .arg(role)
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemons_configured_from_yarn_site_run_an_application_and_detect_a_dead_node() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    let (client, scheduler, tracker) = (free_port(), free_port(), free_port());
    let properties = [
        ("yarn.resourcemanager.hostname", "127.0.0.1".to_string()),
        (
            "yarn.resourcemanager.address",
            format!("127.0.0.1:{client}"),
        ),
        (
            "yarn.resourcemanager.scheduler.address",
            format!("127.0.0.1:{scheduler}"),
        ),
        (
            "yarn.resourcemanager.resource-tracker.address",
            format!("127.0.0.1:{tracker}"),
        ),
        ("yarn.nodemanager.address", "localhost:0".to_string()),
        ("yarn.nodemanager.resource.memory-mb", "3072".to_string()),
        ("yarn.nodemanager.resource.cpu-vcores", "3".to_string()),
        (
            "yarn.nodemanager.local-dirs",
            dir.path().join("nm/local").display().to_string(),
        ),
        (
            "yarn.nodemanager.log-dirs",
            dir.path().join("nm/logs").display().to_string(),
        ),
        (
            "yarn.nm.liveness-monitor.expiry-interval-ms",
            "3000".to_string(),
        ),
        (
            "yarn.resourcemanager.nodemanagers.heartbeat-interval-ms",
            "200".to_string(),
        ),
        ("yarn.scheduler.minimum-allocation-mb", "256".to_string()),
        (
            "net.topology.table.file.name",
            dir.path().join("topology.table").display().to_string(),
        ),
    ];
    std::fs::write(dir.path().join("topology.table"), "localhost /rack-a\n").unwrap();
    spindle_conf::write_site_xml(&conf.join("yarn-site.xml"), &properties).unwrap();
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

    let out = spindle(
        &conf,
        &[
            "dshell",
            "--num-containers",
            "2",
            "--container-memory",
            "256",
            "--shell-command",
            "echo ran-on-a-daemon",
        ],
    );
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
