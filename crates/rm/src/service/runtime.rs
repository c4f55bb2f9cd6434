//! Binds the RM's three IPC ports and runs the core behind a mutex, with a ticker for time.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spindle_ipc::{AuthPolicy, Server, ServerConfig};
use tokio::task::JoinHandle;

use super::admin_protocol::AdminProtocol;
use super::am_launcher::AmLauncher;

/// Connections each RM port accepts unless `ipc.server.max.connections` says otherwise: YARN sets
/// no limit; thousands of AMs and NMs are normal.
pub const MAX_CONNECTIONS: usize = 65_536;

/// The RM's IPC servers' limits when none are configured.
pub fn default_server_config() -> ServerConfig {
    ServerConfig {
        max_connections: MAX_CONNECTIONS,
        ..Default::default()
    }
}
use super::client_protocol::ClientProtocol;
use super::master_protocol::{AmrmSecretManager, MasterProtocol};
use super::tracker_protocol::{NodeSecretManager, TrackerProtocol};
use crate::core::{Effect, Persisted, RmCore};
use crate::settings::RmSettings;
use crate::store::{StateStore, StoreWrite};
use tokio::sync::mpsc;

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

/// How the RM's scheduler, racks and node membership are configured.
#[derive(Clone, Default)]
pub struct SchedulerSetup {
    /// Reads the scheduler configuration (yarn.resourcemanager.scheduler.class and its file); read
    /// at start and on every `refreshQueues`. None: FIFO over the settings' limits.
    pub loader: Option<super::SchedulerConfigLoader>,
    /// `yarn.admin.acl` as a list of users (`*` = everyone).
    pub admins: Vec<String>,
    /// Rack awareness (`net.topology.script.file.name` / `net.topology.table.file.name`).
    pub topology: crate::topology::RackResolver,
    /// The cluster secret NMs must prove they hold to register
    /// (`spindle.node-registration.secret-file`); None: any host may register (YARN's simple
    /// authentication), and the RM warns at start.
    pub registration_secret: Option<spindle_security::ClusterSecret>,
    /// Limits of every RM port (`ipc.*` keys; authentication is set per port). None: the
    /// defaults of [`default_server_config`].
    pub ipc_server: Option<ServerConfig>,
    /// The REST API and web UI (`yarn.resourcemanager.webapp.address`); None: no web server.
    pub web: Option<crate::web::RmWebSetup>,
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
            registration_secret: registration_secret(conf)?,
            ipc_server: None,
            web: None,
        })
    }
}

/// The cluster secret named by `spindle.node-registration.secret-file`, if set.
pub fn registration_secret(
    conf: &spindle_conf::Configuration,
) -> anyhow::Result<Option<spindle_security::ClusterSecret>> {
    let key = spindle_conf::keys::NODE_REGISTRATION_SECRET_FILE;
    match conf.get(key).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(path) => spindle_security::ClusterSecret::load(std::path::Path::new(path))
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{key}: {e}")),
    }
}

/// The wall-clock time for a core call, after telling the core how the monotonic clock stands
/// to it (liveness is measured on the monotonic one).
fn read_clocks(core: &mut RmCore) -> i64 {
    let now = super::now_ms();
    core.set_clock_offset(now - super::monotonic_ms());
    now
}

/// Store writes of one core call, with what the core waits for once each is durable.
type StoreBatch = Vec<(StoreWrite, Option<Persisted>)>;

/// The core plus the shell's ability to run the core's effects.
#[derive(Clone)]
pub(crate) struct SharedCore {
    core: Arc<Mutex<RmCore>>,
    launcher: AmLauncher,
    /// The state store writer (None without recovery: the core then queues no writes).
    store: Option<mpsc::UnboundedSender<StoreBatch>>,
    /// What `getApplications` answers from.
    listing: Arc<super::app_listing::AppListing>,
    /// What core calls and the RM's ports cost (the `/prom` endpoint).
    pub(crate) telemetry: Arc<Telemetry>,
}

/// The RM's own measurements, shown by its metrics endpoint.
#[derive(Debug, Default)]
pub(crate) struct Telemetry {
    /// How long calls waited for the core's lock.
    pub(crate) core_wait: spindle_web::prom::Histogram,
    /// How long calls held it (the scheduling path's latency).
    pub(crate) core_hold: spindle_web::prom::Histogram,
    /// Each IPC port's call counters, by port name, once the ports are bound.
    pub(crate) rpc: std::sync::OnceLock<Vec<(&'static str, Arc<spindle_ipc::RpcMetrics>)>>,
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

    /// The encoded `getApplications` answer, from the shared listing (see `app_listing`): the
    /// core is locked only when the listing must be rebuilt.
    pub(crate) fn list_applications(
        &self,
        request: &spindle_proto::yarn::GetApplicationsRequestProto,
    ) -> bytes::Bytes {
        self.listing
            .respond(request, |build| build(&self.lock_core()))
    }

    /// Runs `f` on the core at the current time, then starts the effects it queued. Store
    /// writes go to the writer before the core is unlocked, so they are committed in the
    /// order the core made them.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut RmCore, i64) -> R) -> R {
        let (result, launches) = {
            let asked = std::time::Instant::now();
            let mut core = self.lock_core();
            let locked = std::time::Instant::now();
            self.telemetry.core_wait.observe(locked - asked);
            let now = read_clocks(&mut core);
            let result = f(&mut core, now);
            self.telemetry.core_hold.observe(locked.elapsed());
            self.listing.note_generation(core.app_generation());
            let mut writes = StoreBatch::new();
            let mut launches = Vec::new();
            for effect in core.take_effects() {
                match effect {
                    Effect::Persist { write, then } => writes.push((write, then)),
                    launch @ Effect::LaunchAm { .. } => launches.push(launch),
                }
            }
            if !writes.is_empty() {
                match &self.store {
                    Some(store) => {
                        if store.send(writes).is_err() {
                            tracing::error!("the state store writer has stopped; a write is lost");
                        }
                    }
                    None => tracing::error!("the core queued store writes without a store"),
                }
            }
            (result, launches)
        };
        for effect in launches {
            if let Effect::LaunchAm {
                attempt,
                container,
                launch_context,
            } = effect
            {
                self.launcher
                    .launch(self.clone(), attempt, *container, *launch_context);
            }
        }
        result
    }
}

/// Commits the core's writes in order, batching what queued up during the previous commit into
/// one transaction, then tells the core. A failing store (a full disk) is retried every second:
/// nothing waiting on it is acknowledged meanwhile, and nothing is dropped.
async fn run_store_writer(
    store: Box<dyn StateStore>,
    mut batches: mpsc::UnboundedReceiver<StoreBatch>,
    shared: SharedCore,
    on_fenced: Option<mpsc::UnboundedSender<()>>,
) {
    let store = Arc::new(Mutex::new(store));
    let mut writes: Vec<StoreWrite> = Vec::new();
    let mut waiting: Vec<Persisted> = Vec::new();
    let take = |batch: StoreBatch, writes: &mut Vec<StoreWrite>, waiting: &mut Vec<Persisted>| {
        for (write, then) in batch {
            writes.push(write);
            waiting.extend(then);
        }
    };
    loop {
        if writes.is_empty() {
            match batches.recv().await {
                Some(batch) => take(batch, &mut writes, &mut waiting),
                None => return,
            }
        }
        while let Ok(batch) = batches.try_recv() {
            take(batch, &mut writes, &mut waiting);
        }
        let store_now = store.clone();
        let batch = std::mem::take(&mut writes);
        let committed = tokio::task::spawn_blocking(move || {
            let result = match store_now.lock() {
                Ok(mut store) => store.apply(&batch),
                Err(_) => Err(crate::store::StoreError::Backend {
                    path: String::new(),
                    message: "an earlier write panicked".into(),
                }),
            };
            (batch, result)
        })
        .await;
        match committed {
            Ok((_, Ok(()))) => {
                let done = std::mem::take(&mut waiting);
                if !done.is_empty() {
                    shared.with(|core, now| {
                        for what in done {
                            core.persisted(what, now);
                        }
                    });
                }
            }
            Ok((_, Err(e @ crate::store::StoreError::Fenced { .. }))) => {
                // Never retried: another RM is active. Nothing waiting is acknowledged.
                tracing::error!("{e}; this ResourceManager stops acting as active");
                if let Some(fenced) = &on_fenced {
                    let _ = fenced.send(());
                }
                return;
            }
            Ok((batch, Err(e))) => {
                tracing::error!(
                    "state store write failed ({} changes wait; retrying in 1 s): {e}",
                    batch.len()
                );
                writes = batch;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => {
                tracing::error!("state store writer failed: {e}");
                return;
            }
        }
    }
}

/// The state store an RM starts from (`yarn.resourcemanager.recovery.enabled`).
pub struct Recovery {
    pub store: Box<dyn StateStore>,
    /// Told when the store refuses a write because another RM claimed it (HA fencing): this
    /// RM's active services must stop. None: the writer logs it and stops writing.
    pub on_fenced: Option<mpsc::UnboundedSender<()>>,
}

impl Recovery {
    pub fn new(store: Box<dyn StateStore>) -> Self {
        Self {
            store,
            on_fenced: None,
        }
    }
}

/// The RM's current core for the admin port: set while its active services run (always without
/// HA), None in standby.
pub(crate) type ActiveSlot = Arc<std::sync::RwLock<Option<SharedCore>>>;

/// How the admin port is served: bound with the active services (no HA), or by the HA
/// supervisor, which only needs to know the current core.
pub(crate) enum AdminBinding {
    Bind(SocketAddr),
    Shared(ActiveSlot),
}

/// A running ResourceManager.
pub struct ResourceManager {
    shared: SharedCore,
    servers: Vec<Server>,
    /// The admin server, unless an HA supervisor serves the admin port.
    admin: Option<Server>,
    /// The web server (REST API), unless none is configured or an HA supervisor serves it.
    web: Option<spindle_web::WebServer>,
    ticker: JoinHandle<()>,
    writer: Option<JoinHandle<()>>,
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
                registration_secret: None,
                ipc_server: None,
                web: None,
            },
        )
        .await
    }

    /// Starts with a scheduler configured from files (re-read by `rmadmin -refreshQueues`).
    pub async fn start_with(
        settings: RmSettings,
        bind: RmBindAddresses,
        setup: SchedulerSetup,
    ) -> anyhow::Result<Self> {
        Self::start_recovering(settings, bind, setup, None).await
    }

    /// Starts from a state store: everything it kept is recovered before any port is bound
    /// (YARN's invariant: an AM or NM that reaches the RM finds its application), the epoch
    /// grows by one, and from then on the core waits for the store where YARN does.
    pub async fn start_recovering(
        settings: RmSettings,
        bind: RmBindAddresses,
        setup: SchedulerSetup,
        recovery: Option<Recovery>,
    ) -> anyhow::Result<Self> {
        let admin = AdminBinding::Bind(bind.admin);
        Self::start_active(settings, bind, setup, recovery, admin).await
    }

    /// The active services (client, scheduler and resource-tracker ports, ticker, store
    /// writer), with the admin port bound here or served by an HA supervisor.
    pub(crate) async fn start_active(
        mut settings: RmSettings,
        bind: RmBindAddresses,
        mut setup: SchedulerSetup,
        recovery: Option<Recovery>,
        admin_binding: AdminBinding,
    ) -> anyhow::Result<Self> {
        let mut recovered = None;
        let mut on_fenced = None;
        if let Some(Recovery {
            mut store,
            on_fenced: fenced,
        }) = recovery
        {
            on_fenced = fenced;
            let stored = crate::store::records::decode(store.load()?)?;
            // The stored epoch is this run's; the next start gets one more.
            settings.epoch = stored.epoch.unwrap_or(settings.epoch);
            settings.durable = true;
            recovered = Some((store, stored));
        }
        if let Some(load) = setup.loader.take() {
            let epoch = settings.epoch;
            setup.loader = Some(Arc::new(move || {
                load().map(|mut config| {
                    config.rm_epoch = epoch;
                    config
                })
            }));
        }
        // The web server's socket first: reports name its proxy in tracking URLs.
        let web = match (&admin_binding, setup.web.take()) {
            (AdminBinding::Bind(_), Some(web)) => {
                let web = crate::web::bind(web).await?;
                settings.web_proxy = Some(web.public_address().to_string());
                Some(web)
            }
            _ => None,
        };
        let scheduler_listener = std::net::TcpListener::bind(bind.scheduler)?;
        let scheduler_addr = scheduler_listener.local_addr()?;
        if settings.scheduler_service.is_empty() {
            settings.scheduler_service = scheduler_addr.to_string();
        }
        let initial = match &setup.loader {
            Some(load) => {
                Some(load().map_err(|e| anyhow::anyhow!("scheduler configuration: {e}"))?)
            }
            None => None,
        };
        let mut core = RmCore::with_scheduler(settings, initial)
            .map_err(|e| anyhow::anyhow!("scheduler configuration: {e}"))?;
        let mut store_channel = None;
        if let Some((mut store, stored)) = recovered {
            if let Some(keys) = stored
                .keys
                .as_ref()
                .and_then(crate::core::RmKeys::from_stored)
            {
                core.set_keys(keys);
            }
            let epoch = core.settings().epoch;
            let was_empty = stored.is_empty();
            let now = read_clocks(&mut core);
            let summary = core.recover(stored, now);
            store.apply(&[
                crate::store::records::version_write(),
                crate::store::records::epoch_write(epoch + 1),
                crate::store::records::meta_write(
                    crate::store::records::meta::MASTER_KEYS,
                    &core.keys().to_stored(),
                ),
            ])?;
            if was_empty {
                tracing::info!("state store {}: empty; epoch {epoch}", store.class_name());
            } else {
                tracing::info!(
                    "state store {}: recovered {} finished, {} running and {} restarted applications; epoch {epoch}",
                    store.class_name(),
                    summary.finished,
                    summary.running,
                    summary.restarted
                );
            }
            store_channel = Some((store, mpsc::unbounded_channel()));
        }
        let nm_token_key = core.keys.nm_token.clone();
        let shared = SharedCore {
            core: Arc::new(Mutex::new(core)),
            launcher: AmLauncher::new(nm_token_key),
            store: store_channel.as_ref().map(|(_, (tx, _))| tx.clone()),
            listing: Default::default(),
            telemetry: Default::default(),
        };
        let writer = store_channel.map(|(store, (_, rx))| {
            tokio::spawn(run_store_writer(store, rx, shared.clone(), on_fenced))
        });
        // Writes recovery queued (applications failed or restarted) go to the writer now.
        shared.with(|_, _| ());
        let base = setup
            .ipc_server
            .clone()
            .unwrap_or_else(default_server_config);
        let server_config = || base.clone();
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
        // The socket bound at the start (the AMRM token service names its address): serving on
        // it, not binding the port again, so no other process can take the port in between.
        let master = Server::from_listener(
            scheduler_listener,
            token_config,
            vec![Arc::new(MasterProtocol::new(shared.clone()))],
        )?;
        let tracker_config = match &setup.registration_secret {
            Some(secret) => ServerConfig {
                auth: AuthPolicy::Token(Arc::new(NodeSecretManager {
                    secret: secret.clone(),
                })),
                ..server_config()
            },
            None => {
                tracing::warn!(
                    "no cluster secret ({}): any host that reaches the resource tracker at {} can \
                     join as a NodeManager and receives the container and NMToken master keys",
                    spindle_conf::keys::NODE_REGISTRATION_SECRET_FILE,
                    bind.tracker
                );
                server_config()
            }
        };
        let tracker = Server::bind(
            bind.tracker,
            tracker_config,
            vec![Arc::new(TrackerProtocol::new(
                shared.clone(),
                setup.topology.clone(),
            ))],
        )
        .await?;
        let (admin, web) = match admin_binding {
            AdminBinding::Bind(address) => {
                let slot: ActiveSlot = Arc::new(std::sync::RwLock::new(Some(shared.clone())));
                let web = match web {
                    Some(web) => Some(crate::web::serve(web, slot.clone(), super::now_ms()).await?),
                    None => None,
                };
                let admin = AdminProtocol {
                    core: slot,
                    rm_id: None,
                    loader: setup.loader,
                    admins: setup.admins,
                };
                let admin = Server::bind(address, server_config(), vec![Arc::new(admin)]).await?;
                (Some(admin), web)
            }
            AdminBinding::Shared(slot) => {
                *slot.write().unwrap_or_else(|p| p.into_inner()) = Some(shared.clone());
                (None, None)
            }
        };
        let mut ports = vec![
            ("client", client.metrics()),
            ("scheduler", master.metrics()),
            ("resource-tracker", tracker.metrics()),
        ];
        ports.extend(admin.as_ref().map(|a| ("admin", a.metrics())));
        let _ = shared.telemetry.rpc.set(ports);
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
            servers: vec![client, master, tracker],
            admin,
            web,
            ticker,
            writer,
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

    /// The admin port (panics when an HA supervisor serves it: ask the supervisor).
    pub fn admin_address(&self) -> SocketAddr {
        self.admin
            .as_ref()
            .expect("the admin port is served by the HA supervisor")
            .local_addr()
    }

    /// The web server's address (REST API), when one runs.
    pub fn web_address(&self) -> Option<SocketAddr> {
        self.web.as_ref().map(|w| w.local_addr())
    }

    /// Runs `f` on the core (for tests and embedded tools).
    pub fn inspect<R>(&self, f: impl FnOnce(&RmCore) -> R) -> R {
        self.shared.with(|core, _| f(core))
    }

    /// Runs `f` on the core at the current time, as the RM's services do (tests that play a
    /// node or an AM without one).
    #[cfg(test)]
    pub(crate) fn with_core<R>(&self, f: impl FnOnce(&mut RmCore, i64) -> R) -> R {
        self.shared.with(f)
    }

    pub async fn shutdown(self) {
        self.ticker.abort();
        if let Some(writer) = self.writer {
            writer.abort();
        }
        if let Some(web) = self.web {
            web.shutdown().await;
        }
        for server in self.servers.into_iter().chain(self.admin) {
            server.shutdown().await;
        }
    }
}
