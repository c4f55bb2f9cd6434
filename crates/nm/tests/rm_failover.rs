//! A NodeManager with RM HA: it knows every RM's resource-tracker address and, when registering
//! or heartbeating fails (nothing listening, the RM went away), moves on to the next RM and
//! registers there. Real ResourceManagers on 127.0.0.1.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::config;
use spindle_nm::service::{NmSettings, NodeManager};
use spindle_rm::service::{ResourceManager, RmBindAddresses};
use spindle_rm::settings::RmSettings;
use spindle_types::states::NodeState;
use spindle_types::{NodeId, Resource};

async fn start_rm() -> ResourceManager {
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let settings = RmSettings {
        cluster_timestamp: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
        ..RmSettings::default()
    };
    ResourceManager::start(
        settings,
        RmBindAddresses {
            client: local,
            scheduler: local,
            tracker: local,
            admin: local,
        },
    )
    .await
    .expect("the RM starts")
}

/// A local port nobody listens on: bound, then released.
fn dead_address() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

fn settings(root: &std::path::Path, rm_trackers: Vec<SocketAddr>) -> NmSettings {
    NmSettings {
        host: "localhost".into(),
        bind: "127.0.0.1:0".parse().unwrap(),
        web: spindle_nm::web::NmWebSetup::loopback(),
        rm_trackers,
        resource: Resource::new(4096, 4),
        heartbeat_interval: Duration::from_millis(100),
        rpc_timeout: Duration::from_secs(5),
        gpu_devices: vec![],
        containers: config(root),
        recovery: None,
        registration_secret: None,
        ipc_server: None,
    }
}

fn runs_on(rm: &ResourceManager, node_id: &NodeId) -> bool {
    rm.inspect(|core| {
        core.nodes()
            .any(|node| &node.id == node_id && node.state == NodeState::Running)
    })
}

#[tokio::test]
async fn a_node_manager_registers_with_the_second_rm_when_the_first_is_dead() {
    let temp = tempfile::tempdir().unwrap();
    let rm2 = start_rm().await;
    let nm = NodeManager::start(settings(
        temp.path(),
        vec![dead_address(), rm2.tracker_address()],
    ))
    .await
    .unwrap();
    tokio::time::timeout(Duration::from_secs(5), nm.wait_registered())
        .await
        .expect("registered with rm2 after one failed attempt on rm1");
    assert!(runs_on(&rm2, nm.node_id()));
    nm.shutdown().await;
    rm2.shutdown().await;
}

#[tokio::test]
async fn a_node_manager_whose_rm_goes_away_registers_with_the_next() {
    let temp = tempfile::tempdir().unwrap();
    let rm1 = start_rm().await;
    let rm2 = start_rm().await;
    let nm = NodeManager::start(settings(
        temp.path(),
        vec![rm1.tracker_address(), rm2.tracker_address()],
    ))
    .await
    .unwrap();
    tokio::time::timeout(Duration::from_secs(5), nm.wait_registered())
        .await
        .expect("registered with rm1");
    assert!(runs_on(&rm1, nm.node_id()));
    assert!(!runs_on(&rm2, nm.node_id()), "starts at the first RM");

    // rm1 goes away: the next heartbeat fails and the NM registers with rm2.
    rm1.shutdown().await;
    let node_id = nm.node_id().clone();
    tokio::time::timeout(Duration::from_secs(10), async {
        while !runs_on(&rm2, &node_id) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the NM fails over to rm2");
    nm.shutdown().await;
    rm2.shutdown().await;
}
