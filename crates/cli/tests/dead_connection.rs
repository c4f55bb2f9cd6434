//! A NodeManager whose connection to the RM dies silently (the network drops every packet, and
//! neither side sees the TCP connection close) notices at its call deadline
//! (`ipc.client.rpc-timeout.ms`), connects again and registers again once the RM is reachable.
//! The NM and RM are real `spindle` processes; a proxy in the test stands for the network.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Forwards loopback connections to `target` until `cut` is set; from then on every byte on
/// every connection, old or new, is swallowed and nothing is closed (a black hole). New
/// connections after `cut` is cleared forward again.
async fn black_hole_proxy(target: u16, cut: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let cut = cut.clone();
            tokio::spawn(async move {
                let born_cut = cut.load(Ordering::SeqCst);
                let Ok(outbound) = TcpStream::connect(("127.0.0.1", target)).await else {
                    return;
                };
                let (in_read, in_write) = inbound.into_split();
                let (out_read, out_write) = outbound.into_split();
                let dead = Arc::new(AtomicBool::new(born_cut));
                tokio::spawn(pump(in_read, out_write, cut.clone(), dead.clone()));
                tokio::spawn(pump(out_read, in_write, cut, dead));
            });
        }
    });
    port
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    cut: Arc<AtomicBool>,
    dead: Arc<AtomicBool>,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let Ok(read) = from.read(&mut buffer).await else {
            return;
        };
        if read == 0 {
            // Keep the other side open: a dead path never says goodbye.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return;
        }
        if cut.load(Ordering::SeqCst) {
            dead.store(true, Ordering::SeqCst);
        }
        if dead.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

/// yarn-site.xml in `dir/NAME` for the RM on `ports` (the NM reaching it at `nm_tracker`), with a
/// 1 s call deadline; the RM's default liveness expiry (10 min) never notices the cut.
fn conf(
    dir: &std::path::Path,
    name: &str,
    ports: (u16, u16, u16),
    nm_tracker: u16,
) -> std::path::PathBuf {
    let conf = dir.join(name);
    std::fs::create_dir_all(&conf).unwrap();
    let mut properties = daemon_properties(dir, ports.0, ports.1, nm_tracker);
    properties.push(("ipc.client.rpc-timeout.ms", "1000".to_string()));
    spindle_conf::write_site_xml(&conf.join("yarn-site.xml"), &properties).unwrap();
    conf
}

fn start(conf: &std::path::Path, role: &str, log: &std::path::Path) -> Process {
    spawn_spindle_with_env(conf, &[role], log, &[("SPINDLE_LOG", "info")])
}

fn registrations(log: &str) -> usize {
    log.matches("registered with the ResourceManager").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_manager_whose_rm_connection_dies_silently_registers_again() {
    let dir = tempfile::tempdir().unwrap();
    let ports = (free_port(), free_port(), free_port());
    let cut = Arc::new(AtomicBool::new(false));
    let proxy = black_hole_proxy(ports.2, cut.clone()).await;
    let rm_conf = conf(dir.path(), "rm-conf", ports, ports.2);
    let nm_conf = conf(dir.path(), "nm-conf", ports, proxy);
    let _rm = start(&rm_conf, "resourcemanager", &dir.path().join("rm.log"));
    let nm_log = dir.path().join("nm.log");
    let _nm = start(&nm_conf, "nodemanager", &nm_log);
    let read_nm_log = || std::fs::read_to_string(&nm_log).unwrap_or_default();
    wait_until(30, "the NM to register", || {
        registrations(&read_nm_log()) == 1
    })
    .await;

    cut.store(true, Ordering::SeqCst);
    wait_until(20, "the NM to notice its dead connection", || {
        read_nm_log().contains("got no reply within 1s")
    })
    .await;
    assert_eq!(
        registrations(&read_nm_log()),
        1,
        "no registration gets through the black hole"
    );

    cut.store(false, Ordering::SeqCst);
    wait_until(30, "the NM to register again", || {
        registrations(&read_nm_log()) >= 2
    })
    .await;
    wait_until(20, "the node to be RUNNING", || {
        text(&spindle(&rm_conf, &["node", "-list"])).contains("RUNNING")
    })
    .await;
    let log = read_nm_log();
    assert!(
        log.contains("heartbeat failed") && log.contains("ipc.client.rpc-timeout.ms"),
        "the NM says why it reconnected:\n{log}"
    );
}
