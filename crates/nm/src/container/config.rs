//! The NM settings that shape container launch and monitoring, with YARN's keys and defaults.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// `yarn.nodemanager.env-whitelist`.
pub const ENV_WHITELIST_KEY: &str = "yarn.nodemanager.env-whitelist";
/// yarn-default.xml 3.5.0 value of `yarn.nodemanager.env-whitelist`.
pub const DEFAULT_ENV_WHITELIST: &[&str] = &[
    "JAVA_HOME",
    "HADOOP_COMMON_HOME",
    "HADOOP_HDFS_HOME",
    "HADOOP_CONF_DIR",
    "CLASSPATH_PREPEND_DISTCACHE",
    "HADOOP_YARN_HOME",
    "HADOOP_HOME",
    "PATH",
    "LANG",
    "TZ",
];
/// `yarn.nodemanager.sleep-delay-before-sigkill.ms` (default 250).
pub const SIGKILL_DELAY_KEY: &str = "yarn.nodemanager.sleep-delay-before-sigkill.ms";
/// `yarn.nodemanager.container-monitor.interval-ms` (default 3000).
pub const MONITOR_INTERVAL_KEY: &str = "yarn.nodemanager.container-monitor.interval-ms";
/// `yarn.nodemanager.pmem-check-enabled` (default true).
pub const PMEM_CHECK_KEY: &str = "yarn.nodemanager.pmem-check-enabled";
/// `yarn.nodemanager.vmem-pmem-ratio` (default 2.1); only used in diagnostics here.
pub const VMEM_PMEM_RATIO_KEY: &str = "yarn.nodemanager.vmem-pmem-ratio";
/// `yarn.nodemanager.user-home-dir` (default `/home/`).
pub const USER_HOME_DIR_KEY: &str = "yarn.nodemanager.user-home-dir";
/// `yarn.nodemanager.container.stderr.tail.bytes` (default 4096).
pub const STDERR_TAIL_BYTES_KEY: &str = "yarn.nodemanager.container.stderr.tail.bytes";

/// Everything `ContainerManager` needs to know about the node.
#[derive(Debug, Clone)]
pub struct NmContainerConfig {
    /// `yarn.nodemanager.local-dirs`: work dirs and caches live here (at least one).
    pub local_dirs: Vec<PathBuf>,
    /// `yarn.nodemanager.log-dirs`: container logs live here (at least one).
    pub log_dirs: Vec<PathBuf>,
    /// The NodeId host, exported as `NM_HOST`.
    pub nm_host: String,
    /// The ContainerManagement port, exported as `NM_PORT`.
    pub nm_port: u16,
    /// The NM web port, exported as `NM_HTTP_PORT`.
    pub nm_http_port: u16,
    /// Variables passed from `nm_environment` when the request does not set them.
    pub env_whitelist: Vec<String>,
    /// The NM's own environment, the only source of whitelisted values (defaults to the process
    /// environment when the config is built; tests inject their own).
    pub nm_environment: BTreeMap<String, String>,
    /// `yarn.nodemanager.admin-env`, already resolved: exported after the NM variables and not
    /// overridable by the request. YARN's default is `MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX`.
    pub admin_env: Vec<(String, String)>,
    /// `yarn.nodemanager.user-home-dir`, exported as `HOME`.
    pub user_home_dir: String,
    /// Delay between SIGTERM and SIGKILL when stopping a container (0 sends SIGKILL at once).
    pub sigkill_delay: Duration,
    /// How often the memory monitor samples container process trees.
    pub monitor_interval: Duration,
    /// Kill containers whose process tree's RSS exceeds their memory allocation.
    pub pmem_check: bool,
    /// Virtual-to-physical ratio used to print the virtual limit in memory diagnostics.
    pub vmem_pmem_ratio: f32,
    /// Bytes of `prelaunch.err` and `stderr` quoted in failure diagnostics.
    pub stderr_tail_bytes: u64,
    /// How long a finished application's container logs stay on this node
    /// (`yarn.nodemanager.log.retain-seconds`, 3 hours): then `<log-dir>/<app>` is deleted.
    /// With log aggregation on, they go once uploaded (and after this long if the upload failed).
    pub log_retain: Duration,
    /// `yarn.log-aggregation-enable` and where uploads go (off by default, as in YARN).
    pub log_aggregation: crate::log_aggregation::LogAggregationSettings,
    /// `yarn.nodemanager.localizer.cache.target-size-mb` (10 GB): what the PUBLIC and PRIVATE
    /// caches are brought down to at each cleanup.
    pub cache_target_bytes: u64,
    /// `yarn.nodemanager.localizer.cache.cleanup.interval-ms` (10 min).
    pub cache_cleanup_interval: Duration,
    /// `yarn.nodemanager.duration-to-track-stopped-containers` (10 min, the container tokens'
    /// default lifetime): how long a forgotten container's id is remembered, so that its token
    /// cannot start it again. Shorter than the RM's
    /// `yarn.resourcemanager.rm.container-allocation.expiry-interval-ms` reopens that window.
    pub stopped_container_retention: Duration,
}

impl NmContainerConfig {
    /// YARN's defaults for everything but the directories and the NM's address.
    pub fn new(
        local_dirs: Vec<PathBuf>,
        log_dirs: Vec<PathBuf>,
        nm_host: impl Into<String>,
        nm_port: u16,
        nm_http_port: u16,
    ) -> Self {
        let nm_environment: BTreeMap<String, String> = std::env::vars().collect();
        let malloc_arena_max = nm_environment
            .get("MALLOC_ARENA_MAX")
            .cloned()
            .unwrap_or_default();
        Self {
            local_dirs,
            log_dirs,
            nm_host: nm_host.into(),
            nm_port,
            nm_http_port,
            env_whitelist: DEFAULT_ENV_WHITELIST
                .iter()
                .map(|name| name.to_string())
                .collect(),
            nm_environment,
            admin_env: vec![("MALLOC_ARENA_MAX".to_string(), malloc_arena_max)],
            user_home_dir: "/home/".to_string(),
            sigkill_delay: Duration::from_millis(250),
            monitor_interval: Duration::from_millis(3000),
            pmem_check: true,
            vmem_pmem_ratio: 2.1,
            stderr_tail_bytes: 4096,
            log_retain: Duration::from_secs(10_800),
            log_aggregation: Default::default(),
            cache_target_bytes: 10_240 << 20,
            cache_cleanup_interval: Duration::from_secs(600),
            stopped_container_retention: Duration::from_secs(600),
        }
    }
}
