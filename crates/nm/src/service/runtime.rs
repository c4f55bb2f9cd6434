//! Starts a NodeManager: with recovery on, first takes back what its recovery store recorded;
//! then binds its ContainerManagement port and its web server, registers and heartbeats; and
//! runs the periodic cleanups (localizer caches, old logs, expired aggregated logs).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use spindle_ipc::{AuthPolicy, Server, ServerConfig};
use spindle_types::{exit_status, NodeId, Resource};
use spindle_web::WebServer;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::container_protocol::ContainerProtocol;
use super::devices::GpuAllocator;
use super::status_updater::StatusUpdater;
use super::tokens::NmKeys;
use crate::container::{ContainerManager, NmContainerConfig};
use crate::recovery::{require_fixed_port, NmRecoverySettings, NmStateStore};

/// What a NodeManager needs to start.
#[derive(Debug, Clone)]
pub struct NmSettings {
    /// The host name this node advertises (the NodeId host, `NM_HOST`).
    pub host: String,
    /// Where the ContainerManagement port listens (port 0 picks one).
    pub bind: SocketAddr,
    /// The web server (`yarn.nodemanager.webapp.address`). The port it binds (the one picked
    /// when it asks for 0) is the NM's http port: reported to the RM at registration and to
    /// containers as `NM_HTTP_PORT`.
    pub web: crate::web::NmWebSetup,
    /// The RM's resource-tracker address; with RM HA every rm-id's, in failover order. The NM
    /// starts at the first and moves to the next (round robin) when registering or heartbeating
    /// fails because the RM is unreachable, went away or is standby.
    pub rm_trackers: Vec<SocketAddr>,
    /// What this node offers (`yarn.nodemanager.resource.*`).
    pub resource: Resource,
    /// Heartbeat interval until the RM says otherwise.
    pub heartbeat_interval: Duration,
    /// Deadline of each call to the RM (`ipc.client.rpc-timeout.ms`): a heartbeat without an
    /// answer by then ends the connection, and the NM connects and registers again.
    pub rpc_timeout: Duration,
    /// GPU device indices this node offers as `yarn.io/gpu` (empty: none).
    pub gpu_devices: Vec<u32>,
    /// Directories and container behaviour; `nm_host`/`nm_port` are filled in at start.
    pub containers: NmContainerConfig,
    /// `yarn.nodemanager.recovery.*`: `None` when recovery is off (a restarted NM starts empty).
    pub recovery: Option<NmRecoverySettings>,
    /// The cluster secret (`spindle.node-registration.secret-file`): with it the NM proves to
    /// the RM's resource tracker that it may join (TOKEN auth); without it, it registers as
    /// YARN's NMs do under simple authentication.
    pub registration_secret: Option<spindle_security::ClusterSecret>,
    /// Limits of the ContainerManagement port (`ipc.*` keys; its authentication is always
    /// NMTokens). None: `ServerConfig::default()`.
    pub ipc_server: Option<ServerConfig>,
}

/// A running NodeManager.
pub struct NodeManager {
    node_id: NodeId,
    server: Server,
    web: WebServer,
    manager: Arc<ContainerManager>,
    updater: JoinHandle<()>,
    shutdown: watch::Sender<bool>,
    registered: watch::Receiver<bool>,
    /// Recovery on and supervised: a stop leaves containers running and the RM uninformed.
    supervised: bool,
}

impl NodeManager {
    /// Starts the NM. With recovery on, refuses an ephemeral port (the NodeId must survive the
    /// restart), opens the store and takes back its containers before serving; starts are
    /// refused until the RM has the recovered containers (the first registration).
    pub async fn start(settings: NmSettings) -> anyhow::Result<Self> {
        if settings.rm_trackers.is_empty() {
            anyhow::bail!("no ResourceManager resource-tracker address given");
        }
        let recovery = match &settings.recovery {
            Some(recovery) => {
                require_fixed_port(settings.bind)?;
                let store = Arc::new(NmStateStore::open(&recovery.dir)?);
                let state = store.load()?;
                Some((store, state))
            }
            None => None,
        };
        // Bound now (the NodeId needs the port) and served later on this same socket, so no
        // other process can take the port in between.
        let listener = std::net::TcpListener::bind(settings.bind)?;
        let port = listener.local_addr()?.port();
        let node_id = NodeId::new(settings.host.clone(), port as i32);
        // Likewise the web port, which the registration and the containers' NM_HTTP_PORT carry.
        let web_listener = tokio::net::TcpListener::bind(settings.web.bind)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "{} {}: {e}",
                    crate::web::WEBAPP_ADDRESS_KEY,
                    settings.web.bind
                )
            })?;
        let http_port = web_listener.local_addr()?.port();
        let mut containers = settings.containers.clone();
        containers.nm_host = settings.host.clone();
        containers.nm_port = port;
        containers.nm_http_port = http_port;
        if !containers.nm_environment.contains_key("JAVA_HOME") {
            if let Some(java_home) = detect_java_home() {
                containers
                    .nm_environment
                    .insert("JAVA_HOME".into(), java_home);
            }
        }
        let (manager, keys) = match recovery {
            Some((store, mut state)) => {
                let master_keys = state.master_keys.take();
                let keys = NmKeys::recovered(store.clone(), master_keys.as_ref());
                let manager = ContainerManager::recover(containers, store, state).await?;
                (manager, keys)
            }
            None => (ContainerManager::new(containers)?, NmKeys::default()),
        };
        let manager = Arc::new(manager);
        let completions = manager
            .take_completed_containers()
            .expect("a fresh manager has its completion channel");
        let gpus = GpuAllocator::new(&settings.gpu_devices);
        for (container_id, devices) in manager.held_gpu_devices() {
            gpus.hold(container_id, &devices);
        }
        let mut resource = settings.resource.clone();
        if !settings.gpu_devices.is_empty() {
            resource.set(
                spindle_types::resource::GPU,
                settings.gpu_devices.len() as i64,
            );
        }
        let (registered_sender, registered) = watch::channel(false);
        let protocol = ContainerProtocol {
            manager: manager.clone(),
            keys: keys.clone(),
            node_id: node_id.clone(),
            gpus: gpus.clone(),
            registered: registered.clone(),
        };
        let config = ServerConfig {
            auth: AuthPolicy::Token(Arc::new(keys.clone())),
            ..settings.ipc_server.clone().unwrap_or_default()
        };
        let server = Server::from_listener(listener, config, vec![Arc::new(protocol)])?;
        let web = crate::web::serve(
            web_listener,
            settings.web.auth.clone(),
            crate::web::NmWeb {
                manager: manager.clone(),
                node_id: node_id.clone(),
                http_address: format!("{}:{http_port}", settings.host),
                resource: resource.clone(),
                started_on: super::now_ms(),
                rpc: server.metrics(),
            },
        )?;
        let (shutdown, shutdown_receiver) = watch::channel(false);
        let updater = StatusUpdater {
            node_id: node_id.clone(),
            http_port,
            resource,
            rm_trackers: settings.rm_trackers.clone(),
            default_interval: settings.heartbeat_interval,
            rpc_timeout: settings.rpc_timeout,
            registration_secret: settings.registration_secret.clone(),
            manager: manager.clone(),
            keys,
            registered: registered_sender,
            gpus,
        };
        tokio::spawn(clean_up_cache(manager.clone(), shutdown_receiver.clone()));
        let aggregation = &manager.config().log_aggregation;
        if aggregation.enabled && aggregation.retain.is_some() {
            tokio::spawn(sweep_aggregated_logs(
                manager.clone(),
                aggregation.retain_check_interval,
                shutdown_receiver.clone(),
            ));
        }
        let updater = tokio::spawn(updater.run(completions, shutdown_receiver));
        Ok(Self {
            node_id,
            server,
            web,
            manager,
            updater,
            shutdown,
            registered,
            supervised: settings.recovery.as_ref().is_some_and(|r| r.supervised),
        })
    }

    pub fn node_id(&self) -> &NodeId {
        &self.node_id
    }

    pub fn container_manager(&self) -> &ContainerManager {
        &self.manager
    }

    /// Where the web server listens (REST API and log pages); its port is the NM's http port.
    pub fn web_address(&self) -> SocketAddr {
        self.web.local_addr()
    }

    /// Waits until the first registration with the RM succeeded.
    pub async fn wait_registered(&self) {
        let mut registered = self.registered.clone();
        let _ = registered.wait_for(|r| *r).await;
    }

    /// Whether a stop leaves the containers running for the next NM to recover
    /// (`yarn.nodemanager.recovery.supervised` with recovery on).
    pub fn is_supervised(&self) -> bool {
        self.supervised
    }

    /// An orderly stop: containers are killed, the RM is told, the port closes. Under supervision
    /// with recovery on, only the port closes: the containers keep running and the RM keeps the
    /// node, for the restarted NM to take over.
    pub async fn shutdown(self) {
        if self.supervised {
            self.updater.abort();
            let _ = self.updater.await;
            self.server.shutdown().await;
            self.web.shutdown().await;
            return;
        }
        self.manager
            .stop_all(exit_status::KILLED_BY_RESOURCEMANAGER)
            .await;
        let _ = self.shutdown.send(true);
        let _ = self.updater.await;
        self.server.shutdown().await;
        self.web.shutdown().await;
    }

    /// Stops heartbeating and serving at once, leaving containers as they are: what the RM
    /// sees when an NM process dies.
    pub fn abandon(self) {
        self.updater.abort();
        drop(self.server);
        drop(self.web);
    }
}

/// The Java installation `java` on PATH belongs to: what containers get as JAVA_HOME when the NM's
/// own environment has none (Hadoop's scripts require it; Spark's commands use `{{JAVA_HOME}}`).
fn detect_java_home() -> Option<String> {
    let path = std::env::var_os("PATH")?;
    let java = std::env::split_paths(&path)
        .map(|d| d.join("java"))
        .find(|p| p.is_file())?;
    let real = std::fs::canonicalize(java).ok()?;
    Some(real.parent()?.parent()?.to_string_lossy().into_owned())
}

/// YARN's localizer cache cleanup: every `cache_cleanup_interval`, the PUBLIC and PRIVATE
/// caches are brought down to `cache_target_bytes` (least recently used first, never what a
/// container holds), off the async workers; and log directories an earlier NM left behind are
/// swept (at start too, see `ContainerManager::sweep_old_logs`).
async fn clean_up_cache(manager: Arc<ContainerManager>, mut shutdown: watch::Receiver<bool>) {
    let (interval, target) = {
        let config = manager.config();
        // A zero interval would spin.
        (
            config.cache_cleanup_interval.max(Duration::from_secs(1)),
            config.cache_target_bytes,
        )
    };
    // Logs an earlier NM on this node left behind are due now, not an interval from now.
    manager.sweep_old_logs().await;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        let localizer = manager.localizer_handle();
        let _ = tokio::task::spawn_blocking(move || localizer.clean_up(target)).await;
        manager.sweep_old_logs().await;
    }
}

/// Every `interval` (`yarn.log-aggregation.retain-check-interval-seconds`), deletes aggregated
/// logs older than `yarn.log-aggregation.retain-seconds`; at start too.
async fn sweep_aggregated_logs(
    manager: Arc<ContainerManager>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        manager.sweep_expired_aggregated_logs().await;
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
    }
}
