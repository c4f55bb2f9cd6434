//! Hostile clients against real daemons. A NodeManager flooded with connections that never
//! authenticate, all from one host, still starts the containers the RM and AMs ask for: that
//! host may hold only a few hundred of the NM's connection slots (each for at most its
//! authentication deadline), and the AM launcher and the AM, from another address, get in. Huge
//! frames sent before authenticating are refused from their length, and the RM's memory does not
//! move. The hostile side connects from 127.0.0.2, another loopback address.

mod common;

use common::*;
use tokio::io::AsyncWriteExt;

/// More connections than the NM's 1,024 slots need more descriptors than a default soft limit.
fn raise_descriptor_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    let wanted = hard.min(8192);
    if soft < wanted {
        setrlimit(Resource::RLIMIT_NOFILE, wanted, hard).unwrap();
    }
}

async fn connect_from(
    source: &str,
    address: std::net::SocketAddr,
) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(format!("{source}:0").parse().unwrap())?;
    socket.connect(address).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_manager_flooded_with_unauthenticated_connections_still_starts_containers() {
    raise_descriptor_limit();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    let nm_port = free_port();
    let mut properties = daemon_properties(dir.path(), free_port(), free_port(), free_port());
    for (key, value) in properties.iter_mut() {
        if *key == "yarn.nodemanager.address" {
            *value = format!("127.0.0.1:{nm_port}");
        }
    }
    spindle_conf::write_site_xml(&conf.join("yarn-site.xml"), &properties).unwrap();
    let _rm = spawn_spindle(&conf, &["resourcemanager"], &dir.path().join("rm.log"));
    let _nm = spawn_spindle(&conf, &["nodemanager"], &dir.path().join("nm.log"));
    wait_until(30, "the NM to register", || {
        text(&spindle(&conf, &["node", "-list"])).contains("RUNNING")
    })
    .await;

    // 1,100 connections from one host, each sending the SASL preamble and nothing more: more
    // than the NM's 1,024 connection slots.
    let nm_address: std::net::SocketAddr = format!("127.0.0.1:{nm_port}").parse().unwrap();
    let mut flood = Vec::new();
    for _ in 0..1100 {
        if let Ok(mut stream) = connect_from("127.0.0.2", nm_address).await {
            let _ = stream.write_all(b"hrpc\x09\x00\xdf").await;
            flood.push(stream);
        }
    }

    let out = spindle(&conf, &dshell_two_containers("echo served-while-flooded"));
    assert!(
        out.status.success(),
        "{}\nNM: {}",
        text(&out),
        std::fs::read_to_string(dir.path().join("nm.log")).unwrap_or_default()
    );
    drop(flood);
}

/// The resident memory of process `pid`, from /proc (kB).
fn resident_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_frames_before_authentication_cost_the_resourcemanager_no_memory() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    let client_port = free_port();
    let properties = daemon_properties(dir.path(), client_port, free_port(), free_port());
    spindle_conf::write_site_xml(&conf.join("yarn-site.xml"), &properties).unwrap();
    let rm = spawn_spindle(&conf, &["resourcemanager"], &dir.path().join("rm.log"));
    wait_until(30, "the RM to serve", || {
        spindle(&conf, &["application", "-list"]).status.success()
    })
    .await;
    let before = resident_kb(rm.0.id());

    // Four connections each declare a 128 MiB frame after the SASL preamble and send 16 MiB of
    // it: refused from the length alone, nothing buffered.
    let address: std::net::SocketAddr = format!("127.0.0.1:{client_port}").parse().unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..4 {
        let mut stream = connect_from("127.0.0.2", address).await.unwrap();
        let _ = stream.write_all(b"hrpc\x09\x00\xdf").await;
        let _ = stream.write_all(&(128u32 << 20).to_be_bytes()).await;
        for _ in 0..16 {
            if stream.write_all(&chunk).await.is_err() {
                break;
            }
        }
    }
    let after = resident_kb(rm.0.id());
    assert!(
        after < before + 16 * 1024,
        "the RM grew from {before} kB to {after} kB"
    );
    assert!(spindle(&conf, &["application", "-list"]).status.success());
}
