//! Binds the RM's three IPC ports and runs the core behind a mutex, with a ticker for time.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spindle_ipc::{AuthPolicy, Server, ServerConfig};
use tokio::task::JoinHandle;

use super::admin_protocol::AdminProtocol;
use super::am_launcher::AmLauncher;

/// Connections each RM port accepts: YARN sets no limit; thousands of AMs and NMs are normal.
const MAX_CONNECTIONS: usize = 65_536;

fn server_config() -> ServerConfig {
    ServerConfig {
        max_connections: MAX_CONNECTIONS,
        ..Default::default()
    }
}
use super::client_protocol::ClientProtocol;
use super::master_protocol::{AmrmSecretManager, MasterProtocol};
use super::tracker_protocol::TrackerProtocol;
use crate::core::{Effect, RmCore};
use crate::settings::RmSettings;

/// Where the RM listens.
#[derive(Debug, Clone)]
pub struct RmBindAddresses {
    /// `yarn.resourcemanager.address` (ApplicationClientProtocol).
    pub client: SocketAddr,
    /// `yarn.resourcemanager.scheduler.address` (ApplicationMasterProtocol).
    pub scheduler: SocketAddr,
    /// `yarn.resourcemanager.resource-tracker.address` (ResourceTracker).
    pub tracker: SocketAddr,
    /// `yarn.resourcemanager.admin.address` (ResourceManagerAdministrationProtocol).
    pub admin: SocketAddr,
}

/// How the RM's scheduler is configured.
#[derive(Clone, Default)]
pub struct SchedulerSetup {
    /// Reads the scheduler configuration (yarn.resourcemanager.scheduler.class and its file); read
    /// at start and on every `refreshQueues`. None: FIFO over the settings' limits.
    pub loader: Option<super::SchedulerConfigLoader>,
    /// `yarn.admin.acl` as a list of users (`*` = everyone).
    pub admins: Vec<String>,
    /// Rack awareness (`net.topology.script.file.name` / `net.topology.table.file.name`).
    pub topology: crate::topology::RackResolver,
}

impl SchedulerSetup {
    /// How the RM daemon configures its scheduler: from the files in `conf_dir` (else
    /// $YARN_CONF_DIR, then $HADOOP_CONF_DIR), with `yarn.admin.acl` deciding who may refresh
    /// them when `yarn.acl.enable` is true, and racks from the topology keys.
    pub fn from_configuration(
        conf_dir: Option<&std::path::Path>,
        conf: &spindle_conf::Configuration,
        rm: &spindle_conf::RmConfig,
        settings: &RmSettings,
    ) -> anyhow::Result<Self> {
        let admins = if rm.acl_enable {
            // "user1,user2 group1,group2": the users before the blank (groups are not resolved).
            let users = rm.admin_acl.trim();
            if users == "*" {
                vec!["*".to_string()]
            } else {
                users
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .map(|u| u.trim().to_string())
                    .filter(|u| !u.is_empty())
                    .collect()
            }
        } else {
            vec!["*".to_string()]
        };
        let dir = crate::scheduler_files::configuration_directory(conf_dir);
        Ok(Self {
            loader: Some(crate::scheduler_files::loader(dir, settings)),
            admins,
            topology: crate::topology::RackResolver::from_keys(
                conf.get("net.topology.script.file.name"),
                conf.get("net.topology.table.file.name"),
            )?,
        })
    }
}

/// The core plus the shell's ability to run the core's effects.
#[derive(Clone)]
pub(crate) struct SharedCore {
    core: Arc<Mutex<RmCore>>,
    launcher: AmLauncher,
}

impl SharedCore {
    /// The core, never re-entered after a panic inside it: a transition cut short leaves it half
    /// updated, so every later access panics too (the daemons exit on any panic, see
    /// `spindle::commands::fatal_panics`).
    fn lock_core(&self) -> std::sync::MutexGuard<'_, RmCore> {
        match self.core.lock() {
            Ok(core) => core,
            Err(_) => panic!("the RM core was left half-updated by an earlier panic"),
        }
    }

    /// Reads the core without changing it (no effects are queued or started).
    pub(crate) fn read<R>(&self, f: impl FnOnce(&RmCore) -> R) -> R {
        f(&self.lock_core())
    }

    /// Runs `f` on the core at the current time, then starts the effects it queued.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut RmCore, i64) -> R) -> R {
        let (result, effects) = {
            let mut core = self.lock_core();
            let result = f(&mut core, super::now_ms());
            (result, core.take_effects())
        };
        for effect in effects {
            match effect {
                Effect::LaunchAm {
                    attempt,
                    container,
                    launch_context,
                } => self
                    .launcher
                    .launch(self.clone(), attempt, container, launch_context),
            }
        }
        result
    }
}

/// A running ResourceManager.
pub struct ResourceManager {
    shared: SharedCore,
    servers: Vec<Server>,
    ticker: JoinHandle<()>,
}

impl ResourceManager {
    /// Binds the ports and starts serving. Port 0 picks free ports (see the `*_address` methods).
    pub async fn start(settings: RmSettings, bind: RmBindAddresses) -> anyhow::Result<Self> {
        Self::start_with(
            settings,
            bind,
            SchedulerSetup {
                loader: None,
                admins: vec!["*".into()],
                topology: Default::default(),
            },
        )
        .await
    }

    /// Starts with a scheduler configured from files (re-read by `rmadmin -refreshQueues`).
    pub async fn start_with(
        mut settings: RmSettings,
        bind: RmBindAddresses,
        setup: SchedulerSetup,
    ) -> anyhow::Result<Self> {
        let scheduler_listener = std::net::TcpListener::bind(bind.scheduler)?;
        let scheduler_addr = scheduler_listener.local_addr()?;
        drop(scheduler_listener);
        if settings.scheduler_service.is_empty() {
            settings.scheduler_service = scheduler_addr.to_string();
        }
        let initial = match &setup.loader {
            Some(load) => {
                Some(load().map_err(|e| anyhow::anyhow!("scheduler configuration: {e}"))?)
            }
            None => None,
        };
        let core = RmCore::with_scheduler(settings, initial)
            .map_err(|e| anyhow::anyhow!("scheduler configuration: {e}"))?;
        let nm_token_key = core.keys.nm_token.clone();
        let shared = SharedCore {
            core: Arc::new(Mutex::new(core)),
            launcher: AmLauncher::new(nm_token_key),
        };
        let client = Server::bind(
            bind.client,
            server_config(),
            vec![Arc::new(ClientProtocol::new(shared.clone()))],
        )
        .await?;
        let token_config = ServerConfig {
            auth: AuthPolicy::Token(Arc::new(AmrmSecretManager::new(shared.clone()))),
            ..server_config()
        };
        let master = Server::bind(
            scheduler_addr,
            token_config,
            vec![Arc::new(MasterProtocol::new(shared.clone()))],
        )
        .await?;
        let tracker = Server::bind(
            bind.tracker,
            server_config(),
            vec![Arc::new(TrackerProtocol::new(
                shared.clone(),
                setup.topology.clone(),
            ))],
        )
        .await?;
        let admin = AdminProtocol {
            core: shared.clone(),
            loader: setup.loader,
            admins: setup.admins,
        };
        let admin = Server::bind(bind.admin, server_config(), vec![Arc::new(admin)]).await?;
        let ticker = {
            let shared = shared.clone();
            tokio::spawn(async move {
                // Liveness is measured in seconds; a quarter-second tick keeps expiry prompt.
                let mut interval = tokio::time::interval(Duration::from_millis(250));
                loop {
                    interval.tick().await;
                    shared.with(|core, now| core.tick(now));
                }
            })
        };
        tracing::info!(
            client = %client.local_addr(),
            scheduler = %master.local_addr(),
            tracker = %tracker.local_addr(),
            "ResourceManager started"
        );
        Ok(Self {
            shared,
            servers: vec![client, master, tracker, admin],
            ticker,
        })
    }

    pub fn client_address(&self) -> SocketAddr {
        self.servers[0].local_addr()
    }

    pub fn scheduler_address(&self) -> SocketAddr {
        self.servers[1].local_addr()
    }

    pub fn tracker_address(&self) -> SocketAddr {
        self.servers[2].local_addr()
    }

    pub fn admin_address(&self) -> SocketAddr {
        self.servers[3].local_addr()
    }

    /// Runs `f` on the core (for tests and embedded tools).
    pub fn inspect<R>(&self, f: impl FnOnce(&RmCore) -> R) -> R {
        self.shared.with(|core, _| f(core))
    }

    pub async fn shutdown(self) {
        self.ticker.abort();
        for server in self.servers {
            server.shutdown().await;
        }
    }
}
