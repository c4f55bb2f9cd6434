//! A NodeManager flooded with connections that never authenticate, all from one host, still
//! starts the containers the RM and AMs ask for: that host may hold only a few hundred of the
//! NM's connection slots (each for at most its authentication deadline), and the AM launcher and
//! the AM, from another address, get in. Real RM and NM processes; the flood comes from
//! 127.0.0.2, another loopback address.

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

    let out = spindle(
        &conf,
        &[
            "dshell",
            "--num-containers",
            "2",
            "--container-memory",
            "256",
            "--shell-command",
            "echo served-while-flooded",
        ],
    );
    assert!(
        out.status.success(),
        "{}\nNM: {}",
        text(&out),
        std::fs::read_to_string(dir.path().join("nm.log")).unwrap_or_default()
    );
    drop(flood);
}
