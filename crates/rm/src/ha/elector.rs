//! The leader election (YARN's ActiveStandbyElector, embedded): an ephemeral lock znode whose
//! creator is active, with the breadcrumb of the last active beside it.
//!
//! One loop per RM: open a ZooKeeper session, try to create the lock (its data names the
//! cluster and this RM); on success become active and hold the lock until the session is lost
//! (or disconnected longer than its timeout), the store fences this RM, leadership is given up,
//! or the RM stops; then go standby, delete the lock if the session still holds it, and try
//! again. When another RM holds the lock, watch it and try again once it is gone.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use spindle_proto::yarn::ActiveRmInfoProto;
use tokio::sync::watch;
use zookeeper_client as zk;

use super::Supervisor;

/// The lock znode's name under `<base>/<cluster-id>`.
pub const ELECTOR_LOCK: &str = "ActiveStandbyElectorLock";
const BREADCRUMB: &str = "ActiveBreadCrumb";
/// After a failed activation or a fencing, the pause before trying again (YARN: 1 s).
const RETRY: Duration = Duration::from_secs(1);

/// Why an active RM stopped being active.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    SessionLost,
    Fenced,
    Relinquished,
    Shutdown,
}

async fn connect(supervisor: &Supervisor) -> Result<zk::Client, String> {
    let settings = &supervisor.ha.zookeeper;
    let attempt = zk::Client::connector()
        .with_session_timeout(settings.session_timeout)
        .with_fail_eagerly()
        .connect(&settings.address);
    match tokio::time::timeout(settings.session_timeout, attempt).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("no session within the session timeout".into()),
    }
}

async fn ensure_path(client: &zk::Client, path: &str) -> Result<(), zk::Error> {
    let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let mut current = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        current.push('/');
        current.push_str(part);
        match client.create(&current, &[], &open).await {
            Ok(_) | Err(zk::Error::NodeExists) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub(super) async fn run(supervisor: Arc<Supervisor>, mut shutdown: watch::Receiver<bool>) {
    let ha = supervisor.ha.clone();
    let parent = format!(
        "{}/{}",
        ha.election_base.trim_end_matches('/'),
        ha.cluster_id
    );
    let lock = format!("{parent}/{ELECTOR_LOCK}");
    let breadcrumb = format!("{parent}/{BREADCRUMB}");
    let data = ActiveRmInfoProto {
        cluster_id: Some(ha.cluster_id.clone()),
        rm_id: Some(ha.rm_id.clone()),
    }
    .encode_to_vec();
    let mut relinquished = supervisor.relinquish.subscribe();
    while !*shutdown.borrow() {
        let client = match connect(&supervisor).await {
            Ok(client) => client,
            Err(e) => {
                tracing::warn!(
                    "election: cannot reach ZooKeeper {}: {e}",
                    ha.zookeeper.address
                );
                if sleep_or_stop(&mut shutdown, RETRY).await {
                    return;
                }
                continue;
            }
        };
        if let Err(e) = ensure_path(&client, &parent).await {
            tracing::warn!("election: cannot create {parent}: {e}");
            if sleep_or_stop(&mut shutdown, RETRY).await {
                return;
            }
            continue;
        }
        // Elect, hold and lose leadership on this session until it ends.
        loop {
            if *shutdown.borrow() {
                let _ = client.delete(&lock, None).await;
                return;
            }
            let ephemeral = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
            match client.create(&lock, &data, &ephemeral).await {
                Ok(_) => {
                    let _ = write_breadcrumb(&client, &breadcrumb, &data).await;
                    let fenced = match supervisor.become_active().await {
                        Ok(fenced) => fenced,
                        Err(e) => {
                            tracing::error!("election: becoming active failed: {e:#}");
                            supervisor.become_standby("activation failed").await;
                            let _ = client.delete(&lock, None).await;
                            if sleep_or_stop(&mut shutdown, RETRY).await {
                                return;
                            }
                            continue;
                        }
                    };
                    let ended = hold(
                        &supervisor,
                        &client,
                        fenced,
                        &mut relinquished,
                        &mut shutdown,
                    )
                    .await;
                    supervisor
                        .become_standby(match ended {
                            Ended::SessionLost => "the ZooKeeper session was lost",
                            Ended::Fenced => "the state store was claimed by another RM",
                            Ended::Relinquished => "asked to give up being active",
                            Ended::Shutdown => "shutting down",
                        })
                        .await;
                    match ended {
                        Ended::SessionLost => break,
                        Ended::Shutdown => {
                            let _ = client.delete(&lock, None).await;
                            let _ = client.delete(&breadcrumb, None).await;
                            return;
                        }
                        Ended::Fenced | Ended::Relinquished => {
                            let _ = client.delete(&lock, None).await;
                            // Leave room for another RM to take over before competing again.
                            let pause = if ended == Ended::Relinquished {
                                ha.zookeeper.session_timeout
                            } else {
                                RETRY
                            };
                            if sleep_or_stop(&mut shutdown, pause).await {
                                return;
                            }
                        }
                    }
                }
                Err(zk::Error::NodeExists) => {
                    if !watch_lock(&client, &lock, &ha.cluster_id, &mut shutdown).await {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!("election: creating {lock} failed: {e}");
                    break;
                }
            }
        }
        if sleep_or_stop(&mut shutdown, Duration::from_millis(200)).await {
            return;
        }
    }
}

async fn write_breadcrumb(client: &zk::Client, path: &str, data: &[u8]) -> Result<(), zk::Error> {
    let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    match client.create(path, data, &open).await {
        Ok(_) => Ok(()),
        Err(zk::Error::NodeExists) => client.set_data(path, data, None).await.map(|_| ()),
        Err(e) => Err(e),
    }
}

/// Sleeps; true when the RM is stopping.
async fn sleep_or_stop(shutdown: &mut watch::Receiver<bool>, pause: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(pause) => *shutdown.borrow(),
        _ = shutdown.changed() => true,
    }
}

/// Waits while another RM holds the lock; false when the session ended.
async fn watch_lock(
    client: &zk::Client,
    lock: &str,
    cluster_id: &str,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    match client.get_data(lock).await {
        Ok((data, _)) => {
            if let Ok(info) = ActiveRmInfoProto::decode(data.as_slice()) {
                if info.cluster_id() != cluster_id {
                    tracing::error!(
                        "election: {lock} names cluster {:?}, not {cluster_id}; the ZooKeeper data may belong to another cluster",
                        info.cluster_id()
                    );
                }
            }
        }
        Err(zk::Error::NoNode) => return true,
        Err(_) => return false,
    }
    let (stat, watcher) = match client.check_and_watch_stat(lock).await {
        Ok(found) => found,
        Err(_) => return false,
    };
    if stat.is_none() {
        return true;
    }
    let mut session = client.state_watcher();
    tokio::select! {
        event = watcher.changed() => !event.session_state.is_terminated(),
        state = session.changed() => !state.is_terminated(),
        _ = shutdown.changed() => true,
    }
}

/// Holds leadership until something ends it.
async fn hold(
    supervisor: &Supervisor,
    client: &zk::Client,
    mut fenced: tokio::sync::mpsc::UnboundedReceiver<()>,
    relinquished: &mut watch::Receiver<u64>,
    shutdown: &mut watch::Receiver<bool>,
) -> Ended {
    let mut session = client.state_watcher();
    let timeout = supervisor.ha.zookeeper.session_timeout;
    loop {
        tokio::select! {
            state = session.changed() => {
                if state.is_terminated() {
                    return Ended::SessionLost;
                }
                if state == zk::SessionState::Disconnected {
                    // YARN goes standby when a disconnection outlasts the session timeout.
                    let back = tokio::time::timeout(timeout, async {
                        loop {
                            let state = session.changed().await;
                            if state == zk::SessionState::SyncConnected || state.is_terminated() {
                                return state;
                            }
                        }
                    })
                    .await;
                    match back {
                        Ok(zk::SessionState::SyncConnected) => continue,
                        _ => return Ended::SessionLost,
                    }
                }
            }
            Some(()) = fenced.recv() => return Ended::Fenced,
            _ = relinquished.changed() => return Ended::Relinquished,
            _ = shutdown.changed() => return Ended::Shutdown,
        }
    }
}
