//! An embedded cluster: one ResourceManager and N NodeManagers in this process, each NM with its
//! own port, directories and resources, plus a client configuration directory (yarn-site.xml,
//! core-site.xml with `fs.defaultFS=file:///`) that works as HADOOP_CONF_DIR for Hadoop and Spark.
//! The RM's scheduler is configured as the RM daemon's: from an RM configuration directory
//! (`rm-conf/`, written from [`MiniClusterConfig`], or one given in
//! [`MiniClusterConfig::rm_conf_dir`]), YARN's CapacityScheduler unless it names another.

mod rm_conf;
pub mod zookeeper;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use spindle_conf::keys;
use spindle_nm::container::NmContainerConfig;
use spindle_nm::log_aggregation::LogAggregationSettings;
use spindle_nm::service::{NmSettings, NodeManager};
use spindle_nm::web::NmWebSetup;
use spindle_rm::scheduler_files::{self, SchedulerSource};
use spindle_rm::service::{now_ms, ResourceManager, RmBindAddresses};
use spindle_rm::settings::RmSettings;
pub use spindle_scheduler::{CAPACITY_SCHEDULER_CLASS, FAIR_SCHEDULER_CLASS, FIFO_SCHEDULER_CLASS};
use spindle_security::ClusterSecret;
use spindle_types::resource::GPU;
use spindle_types::Resource;

use rm_conf::RmConfigurationDirectory;

/// How to build the cluster.
#[derive(Debug, Clone)]
pub struct MiniClusterConfig {
    /// Where the NMs' local and log directories and the client configuration go.
    pub base_dir: PathBuf,
    pub nodes: usize,
    /// What each NM offers.
    pub node_resource: Resource,
    /// RM settings (the cluster timestamp is set at start).
    pub rm: RmSettings,
    pub nm_heartbeat_interval: Duration,
    /// How often NMs sample container memory.
    pub container_monitor_interval: Duration,
    /// `yarn.resourcemanager.scheduler.class` (YARN's class names; default YARN's, the
    /// CapacityScheduler, which without a capacity-scheduler.xml has one queue, root.default).
    pub scheduler_class: String,
    /// Scheduler keys for the RM's yarn-site.xml (e.g. `yarn.scheduler.fair.preemption`).
    pub scheduler_site: Vec<(String, String)>,
    /// Files in the RM's configuration directory, e.g. `("capacity-scheduler.xml", text)`.
    pub scheduler_files: Vec<(String, String)>,
    /// An existing RM configuration directory, read as `spindle resourcemanager --conf-dir`
    /// reads its own: the scheduler class and files, re-read by `rmadmin -refreshQueues`, and the
    /// RM keys its yarn-site.xml sets (which replace the settings above). The three scheduler
    /// fields above are then unused. None: the minicluster writes `rm-conf/` from them.
    pub rm_conf_dir: Option<PathBuf>,
    /// GPUs (`yarn.io/gpu`, configured devices 0..n) each NM offers.
    pub node_gpus: u32,
    /// Extra properties written to the client yarn-site.xml.
    pub extra_client_properties: Vec<(String, String)>,
    /// Log aggregation: Some(dir) turns it on, NMs uploading finished applications' logs under
    /// `dir` (`yarn.nodemanager.remote-app-log-dir`, also written to the client configuration);
    /// None (the default) leaves it off, as in YARN.
    pub remote_app_log_dir: Option<PathBuf>,
}

impl MiniClusterConfig {
    /// Three 4 GB / 4-core nodes under `base_dir`, YARN's defaults otherwise.
    pub fn new(base_dir: impl Into<PathBuf>) -> Self {
        Self {
            base_dir: base_dir.into(),
            nodes: 3,
            node_resource: Resource::new(4096, 4),
            rm: RmSettings {
                minimum_allocation: Resource::new(256, 1),
                ..RmSettings::default()
            },
            nm_heartbeat_interval: Duration::from_millis(1000),
            container_monitor_interval: Duration::from_millis(3000),
            extra_client_properties: Vec::new(),
            remote_app_log_dir: None,
            node_gpus: 0,
            scheduler_class: CAPACITY_SCHEDULER_CLASS.to_string(),
            scheduler_site: Vec::new(),
            scheduler_files: Vec::new(),
            rm_conf_dir: None,
        }
    }
}

/// A running embedded cluster.
pub struct MiniCluster {
    pub rm: ResourceManager,
    pub node_managers: Vec<Option<NodeManager>>,
    config: MiniClusterConfig,
    conf_dir: PathBuf,
    rm_conf_dir: PathBuf,
    scheduler_source: SchedulerSource,
    /// The cluster secret its NMs register with (`cluster-secret` in the base directory).
    registration_secret: ClusterSecret,
}

/// The current time in ms, but never the same value twice in this process: clusters started in the
/// same millisecond (parallel tests) must not hand out the same application ids.
fn unique_cluster_timestamp() -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = now_ms();
    let previous = LAST.fetch_max(now, Ordering::SeqCst);
    if previous < now {
        now
    } else {
        LAST.fetch_add(1, Ordering::SeqCst) + 1
    }
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

impl MiniCluster {
    pub async fn start(mut config: MiniClusterConfig) -> anyhow::Result<Self> {
        let rm_conf = RmConfigurationDirectory::prepare(&mut config)?;
        let mut rm_settings = config.rm.clone();
        rm_settings.cluster_timestamp = unique_cluster_timestamp();
        rm_settings.nm_heartbeat_interval_ms = config.nm_heartbeat_interval.as_millis() as i64;
        if config.remote_app_log_dir.is_some() {
            rm_settings.log_aggregation_enabled = true;
        }
        if config.node_gpus > 0 && !rm_settings.resource_types.iter().any(|t| t == GPU) {
            rm_settings.resource_types.push(GPU.to_string());
        }
        let mut setup = rm_conf.scheduler_setup(&rm_settings)?;
        // Membership is proven even here: NMs register with a secret only this cluster holds.
        std::fs::create_dir_all(&config.base_dir)?;
        let registration_secret =
            ClusterSecret::load_or_generate(&config.base_dir.join("cluster-secret"))?;
        setup.registration_secret = Some(registration_secret.clone());
        setup.web = Some(rm_conf.web_setup()?);
        let scheduler_source =
            scheduler_files::source(Some(rm_conf.dir())).map_err(|e| anyhow::anyhow!(e))?;
        let rm = ResourceManager::start_with(
            rm_settings,
            RmBindAddresses {
                client: loopback(0),
                scheduler: loopback(0),
                tracker: loopback(0),
                admin: loopback(0),
            },
            setup,
        )
        .await?;
        let conf_dir = config.base_dir.join("conf");
        let mut cluster = Self {
            rm,
            node_managers: Vec::new(),
            config,
            conf_dir,
            rm_conf_dir: rm_conf.dir().to_path_buf(),
            scheduler_source,
            registration_secret,
        };
        for index in 0..cluster.config.nodes {
            let nm = cluster.start_node(index).await?;
            cluster.node_managers.push(Some(nm));
        }
        for nm in cluster.node_managers.iter().flatten() {
            nm.wait_registered().await;
        }
        cluster.write_client_configuration()?;
        Ok(cluster)
    }

    /// Starts NM number `index` (its directories are `nm-<index>/` under the base dir).
    pub async fn start_node(&self, index: usize) -> anyhow::Result<NodeManager> {
        let dir = self.node_dir(index);
        let mut containers = NmContainerConfig::new(
            vec![dir.join("local")],
            vec![dir.join("logs")],
            "localhost",
            0,
            0,
        );
        containers.monitor_interval = self.config.container_monitor_interval;
        if let Some(dir) = &self.config.remote_app_log_dir {
            containers.log_aggregation = LogAggregationSettings::enabled_at(dir);
        }
        NodeManager::start(NmSettings {
            host: "localhost".into(),
            bind: loopback(0),
            // A free port each: NMs of tests running at once never collide.
            web: NmWebSetup::loopback(),
            rm_trackers: vec![self.rm.tracker_address()],
            resource: self.config.node_resource.clone(),
            heartbeat_interval: self.config.nm_heartbeat_interval,
            rpc_timeout: spindle_ipc::client::DEFAULT_RPC_TIMEOUT,
            gpu_devices: (0..self.config.node_gpus).collect(),
            containers,
            recovery: None,
            registration_secret: Some(self.registration_secret.clone()),
            ipc_server: None,
        })
        .await
    }

    fn node_dir(&self, index: usize) -> PathBuf {
        self.config.base_dir.join(format!("nm-{index}"))
    }

    /// The RM's configuration directory (scheduler class and files): `rm-conf/` under the base
    /// directory, or the one the configuration named.
    pub fn rm_conf_dir(&self) -> PathBuf {
        self.rm_conf_dir.clone()
    }

    /// Which scheduler the RM runs and which file configured it, as read at start.
    pub fn scheduler_source(&self) -> &SchedulerSource {
        &self.scheduler_source
    }

    /// The client configuration directory (use it as HADOOP_CONF_DIR).
    pub fn conf_dir(&self) -> &Path {
        &self.conf_dir
    }

    fn write_client_configuration(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.conf_dir)?;
        let mut yarn: Vec<(String, String)> = vec![
            ("yarn.resourcemanager.hostname".into(), "localhost".into()),
            (
                "yarn.resourcemanager.address".into(),
                self.rm.client_address().to_string(),
            ),
            (
                "yarn.resourcemanager.scheduler.address".into(),
                self.rm.scheduler_address().to_string(),
            ),
            (
                "yarn.resourcemanager.resource-tracker.address".into(),
                self.rm.tracker_address().to_string(),
            ),
            (
                "yarn.resourcemanager.admin.address".into(),
                self.rm.admin_address().to_string(),
            ),
            (
                "yarn.resourcemanager.webapp.address".into(),
                self.rm
                    .web_address()
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
            ),
            (
                "yarn.resourcemanager.connect.max-wait.ms".into(),
                "10000".into(),
            ),
            (
                "yarn.resourcemanager.connect.retry-interval.ms".into(),
                "1000".into(),
            ),
            (
                "yarn.resourcemanager.am.max-attempts".into(),
                self.config.rm.max_attempts.to_string(),
            ),
            (
                "yarn.scheduler.minimum-allocation-mb".into(),
                self.config.rm.minimum_allocation.memory_mb.to_string(),
            ),
            (
                "yarn.scheduler.maximum-allocation-mb".into(),
                self.config.rm.maximum_allocation.memory_mb.to_string(),
            ),
        ];
        // Every NM's log directory, so that `spindle logs` on this machine finds all containers.
        let log_dirs: Vec<String> = (0..self.config.nodes)
            .map(|i| self.node_dir(i).join("logs").display().to_string())
            .collect();
        if !log_dirs.is_empty() {
            yarn.push(("yarn.nodemanager.log-dirs".into(), log_dirs.join(",")));
        }
        if let Some(dir) = &self.config.remote_app_log_dir {
            yarn.push((keys::LOG_AGGREGATION_ENABLE.into(), "true".into()));
            yarn.push((
                keys::NM_REMOTE_APP_LOG_DIR.into(),
                dir.display().to_string(),
            ));
        }
        if self.config.node_gpus > 0 {
            yarn.push(("yarn.resource-types".into(), GPU.into()));
        }
        yarn.extend(self.config.extra_client_properties.iter().cloned());
        spindle_conf::write_site_xml(&self.conf_dir.join("yarn-site.xml"), &yarn)?;
        let core = [
            ("fs.defaultFS", "file:///"),
            ("hadoop.security.authentication", "simple"),
        ];
        spindle_conf::write_site_xml(&self.conf_dir.join("core-site.xml"), &core)?;
        Ok(())
    }

    /// Stops NM `index` as if its process died: no unregistration, no container cleanup.
    pub fn kill_node(&mut self, index: usize) {
        if let Some(nm) = self.node_managers[index].take() {
            nm.abandon();
        }
    }

    pub async fn shutdown(mut self) {
        for nm in self.node_managers.drain(..).flatten() {
            nm.shutdown().await;
        }
        self.rm.shutdown().await;
    }
}
