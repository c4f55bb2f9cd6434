//! ResourceManager high availability (`yarn.resourcemanager.ha.enabled`): two or more RMs elect
//! one active through ZooKeeper, as YARN's embedded ActiveStandbyElector does.
//!
//! Each RM binds only its admin port at start (ResourceManagerAdministrationProtocol and
//! HAServiceProtocol) and joins the election: whoever creates the ephemeral lock znode
//! `<base>/<cluster-id>/ActiveStandbyElectorLock` becomes active. Becoming active opens the
//! ZooKeeper state store (claiming its root fences the previous active's writes), recovers from
//! it (the epoch grows) and only then binds the client, scheduler and resource-tracker ports; a
//! standby has none of them bound, so clients get "connection refused" and fail over at once.
//! The active goes back to standby, stopping those ports, when its ZooKeeper session is lost (or
//! disconnected for longer than the session timeout), when the store refuses a write as fenced,
//! or on a forced `transitionToStandby`; it then rejoins the election. Every activation is
//! numbered, and nothing of an earlier activation acts after it ended (YARN-11622).

pub mod config;
mod elector;
mod protocol;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use spindle_ipc::Server;
use tokio::sync::{mpsc, watch, Mutex};
use tokio::task::JoinHandle;

use crate::service::{ResourceManager, RmBindAddresses, SchedulerSetup};
use crate::settings::RmSettings;
use crate::store::zookeeper::ZkSettings;

pub use elector::ELECTOR_LOCK;

/// What an RM needs to take part in HA.
#[derive(Debug, Clone)]
pub struct HaSettings {
    /// This RM's id (`yarn.resourcemanager.ha.id`, or the rm-id whose address is local).
    pub rm_id: String,
    /// `yarn.resourcemanager.cluster-id`.
    pub cluster_id: String,
    /// The ZooKeeper ensemble (shared by the elector and the state store).
    pub zookeeper: ZkSettings,
    /// `yarn.resourcemanager.ha.automatic-failover.zk-base-path` (`/yarn-leader-election`).
    pub election_base: String,
    /// `yarn.resourcemanager.ha.automatic-failover.enabled` (default true): manual transitions
    /// are refused unless forced.
    pub automatic_failover: bool,
}

/// The service state HAServiceProtocol reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaState {
    Initializing,
    Active,
    Standby,
}

impl HaState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Initializing => "initializing",
            Self::Active => "active",
            Self::Standby => "standby",
        }
    }
}

/// What the supervisor shares with the elector and the admin port.
pub(crate) struct Supervisor {
    ha: HaSettings,
    settings: RmSettings,
    bind: RmBindAddresses,
    setup: SchedulerSetup,
    /// The active services while this RM is active.
    active: Mutex<Option<ResourceManager>>,
    /// The core for the admin port's ResourceManagerAdministrationProtocol.
    slot: crate::service::ActiveSlot,
    state: watch::Sender<HaState>,
    /// Asks the elector to give up leadership (forced transitionToStandby).
    relinquish: watch::Sender<u64>,
    /// Activations so far: an activation's fencing notice is only honoured by that activation.
    activations: std::sync::atomic::AtomicU64,
}

impl Supervisor {
    pub(crate) fn state(&self) -> HaState {
        *self.state.borrow()
    }

    /// Starts the active services; returns the receiver told if the store fences them.
    async fn become_active(&self) -> anyhow::Result<mpsc::UnboundedReceiver<()>> {
        let mut active = self.active.lock().await;
        if let Some(old) = active.take() {
            old.shutdown().await;
        }
        let activation = self
            .activations
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        tracing::info!(
            "ResourceManager {} becoming active (activation {activation})",
            self.ha.rm_id
        );
        let zookeeper = self.ha.zookeeper.clone();
        let store =
            tokio::task::spawn_blocking(move || crate::store::zookeeper::ZkStore::open(zookeeper))
                .await??;
        let (fenced, fenced_rx) = mpsc::unbounded_channel();
        let mut settings = self.settings.clone();
        // The cluster timestamp (the RM identifier NMs check, the prefix of new application
        // ids) is reset on every activation.
        settings.cluster_timestamp = crate::service::now_ms();
        let recovery = crate::service::Recovery {
            store: Box::new(store),
            on_fenced: Some(fenced),
        };
        let rm = ResourceManager::start_active(
            settings,
            self.bind.clone(),
            self.setup.clone(),
            Some(recovery),
            crate::service::AdminBinding::Shared(self.slot.clone()),
        )
        .await?;
        *active = Some(rm);
        let _ = self.state.send_replace(HaState::Active);
        tracing::info!("ResourceManager {} is active", self.ha.rm_id);
        Ok(fenced_rx)
    }

    /// Stops the active services (if any) and reports standby.
    async fn become_standby(&self, why: &str) {
        let mut active = self.active.lock().await;
        *self.slot.write().unwrap_or_else(|p| p.into_inner()) = None;
        if let Some(rm) = active.take() {
            tracing::warn!("ResourceManager {} going to standby: {why}", self.ha.rm_id);
            rm.shutdown().await;
        }
        let _ = self.state.send_replace(HaState::Standby);
    }
}

/// A ResourceManager in an HA group: the admin port always, the rest while elected active.
pub struct HaResourceManager {
    supervisor: Arc<Supervisor>,
    admin: Server,
    /// The web server: a standby answers 307 to the other RM (`RmWebSetup::other_rms`).
    web: Option<spindle_web::WebServer>,
    elector: JoinHandle<()>,
    shutdown: watch::Sender<bool>,
}

impl HaResourceManager {
    /// Binds the admin port (`bind.admin`) and joins the election.
    pub async fn start(
        settings: RmSettings,
        bind: RmBindAddresses,
        setup: SchedulerSetup,
        ha: HaSettings,
    ) -> anyhow::Result<Self> {
        let mut settings = settings;
        let slot: crate::service::ActiveSlot = Arc::new(std::sync::RwLock::new(None));
        // The web server first: whichever RM is active publishes its own proxy in tracking URLs.
        let web = match setup.web.clone() {
            Some(mut web) => {
                web.ha_enabled = true;
                let web = crate::web::bind(web).await?;
                settings.web_proxy = Some(web.public_address().to_string());
                Some(web)
            }
            None => None,
        };
        let (state, _) = watch::channel(HaState::Initializing);
        let (relinquish, _) = watch::channel(0);
        let supervisor = Arc::new(Supervisor {
            ha,
            settings,
            bind: bind.clone(),
            setup: setup.clone(),
            active: Mutex::new(None),
            slot: slot.clone(),
            state,
            relinquish,
            activations: Default::default(),
        });
        // The admin port has the limits every other RM port has.
        let limits = setup
            .ipc_server
            .clone()
            .unwrap_or_else(crate::service::default_server_config);
        let admin = crate::service::admin_protocol_for(
            supervisor.slot.clone(),
            Some(supervisor.ha.rm_id.clone()),
            setup,
        );
        let ha_protocol = protocol::HaProtocol {
            supervisor: supervisor.clone(),
        };
        let admin = Server::bind(bind.admin, limits, vec![admin, Arc::new(ha_protocol)]).await?;
        let web = match web {
            Some(web) => Some(crate::web::serve(web, slot, crate::service::now_ms()).await?),
            None => None,
        };
        let _ = supervisor.state.send_replace(HaState::Standby);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let elector = tokio::spawn(elector::run(supervisor.clone(), shutdown_rx));
        tracing::info!(
            "ResourceManager {} in standby, admin port {}; joining the election",
            supervisor.ha.rm_id,
            admin.local_addr()
        );
        Ok(Self {
            supervisor,
            admin,
            web,
            elector,
            shutdown,
        })
    }

    pub fn admin_address(&self) -> SocketAddr {
        self.admin.local_addr()
    }

    /// The web server's address (REST API), when one runs.
    pub fn web_address(&self) -> Option<SocketAddr> {
        self.web.as_ref().map(|w| w.local_addr())
    }

    pub fn state(&self) -> HaState {
        self.supervisor.state()
    }

    /// Waits until this RM reports `state`, or `limit` passes.
    pub async fn wait_for(&self, state: HaState, limit: Duration) -> bool {
        let mut watcher = self.supervisor.state.subscribe();
        let reached = tokio::time::timeout(limit, watcher.wait_for(|s| *s == state))
            .await
            .is_ok();
        reached
    }

    /// Leaves the election and stops everything.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.elector).await;
        self.supervisor.become_standby("shutting down").await;
        if let Some(web) = self.web {
            web.shutdown().await;
        }
        self.admin.shutdown().await;
    }
}
