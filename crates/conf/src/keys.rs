//! The Hadoop/YARN configuration keys Spindle reads, and their defaults.
//!
//! Defaults are those of `yarn-default.xml` / `core-default.xml` in Hadoop 3.5.0 (the version inside
//! pyspark 4.3.0), checked against that jar by `tests/hadoop_default_files.rs`.

// --- ResourceManager addresses ---
pub const RM_HOSTNAME: &str = "yarn.resourcemanager.hostname";
/// ApplicationClientProtocol (YarnClient, spark-submit).
pub const RM_ADDRESS: &str = "yarn.resourcemanager.address";
/// ApplicationMasterProtocol (AMRMClient); also the AMRMToken service.
pub const RM_SCHEDULER_ADDRESS: &str = "yarn.resourcemanager.scheduler.address";
/// ResourceTracker (NM -> RM).
pub const RM_RESOURCE_TRACKER_ADDRESS: &str = "yarn.resourcemanager.resource-tracker.address";
pub const RM_ADMIN_ADDRESS: &str = "yarn.resourcemanager.admin.address";
pub const RM_WEBAPP_ADDRESS: &str = "yarn.resourcemanager.webapp.address";

// --- ResourceManager behaviour ---
pub const RM_NM_HEARTBEAT_INTERVAL_MS: &str =
    "yarn.resourcemanager.nodemanagers.heartbeat-interval-ms";
pub const RM_NM_EXPIRY_INTERVAL_MS: &str = "yarn.nm.liveness-monitor.expiry-interval-ms";
pub const RM_AM_EXPIRY_INTERVAL_MS: &str = "yarn.am.liveness-monitor.expiry-interval-ms";
pub const RM_CONTAINER_ALLOCATION_EXPIRY_INTERVAL_MS: &str =
    "yarn.resourcemanager.rm.container-allocation.expiry-interval-ms";
pub const RM_AM_MAX_ATTEMPTS: &str = "yarn.resourcemanager.am.max-attempts";
pub const RM_SCHEDULER_MINIMUM_ALLOCATION_MB: &str = "yarn.scheduler.minimum-allocation-mb";
pub const RM_SCHEDULER_MAXIMUM_ALLOCATION_MB: &str = "yarn.scheduler.maximum-allocation-mb";
pub const RM_SCHEDULER_MINIMUM_ALLOCATION_VCORES: &str = "yarn.scheduler.minimum-allocation-vcores";
pub const RM_SCHEDULER_MAXIMUM_ALLOCATION_VCORES: &str = "yarn.scheduler.maximum-allocation-vcores";
pub const RM_SCHEDULER_CLASS: &str = "yarn.resourcemanager.scheduler.class";
pub const RM_MAX_COMPLETED_APPLICATIONS: &str = "yarn.resourcemanager.max-completed-applications";
pub const RM_CLUSTER_ID: &str = "yarn.resourcemanager.cluster-id";
pub const RM_RECOVERY_ENABLED: &str = "yarn.resourcemanager.recovery.enabled";
/// How long the scheduler places nothing after a restart that recovered running applications.
/// How long the RM still reports a lost or shut-down node before forgetting it.
pub const RM_NODE_REMOVAL_TIMEOUT_MS: &str =
    "yarn.resourcemanager.node-removal-untracked.timeout-ms";
pub const RM_RECOVERY_SCHEDULING_WAIT_MS: &str =
    "yarn.resourcemanager.work-preserving-recovery.scheduling-wait-ms";
pub const RM_STORE_CLASS: &str = "yarn.resourcemanager.store.class";
pub const RM_FS_STATE_STORE_URI: &str = "yarn.resourcemanager.fs.state-store.uri";
pub const RM_LEVELDB_STATE_STORE_PATH: &str = "yarn.resourcemanager.leveldb-state-store.path";
pub const RM_AM_RM_TOKEN_ROLLING_INTERVAL_SECS: &str =
    "yarn.resourcemanager.am-rm-tokens.master-key-rolling-interval-secs";
pub const RM_CONTAINER_TOKEN_ROLLING_INTERVAL_SECS: &str =
    "yarn.resourcemanager.container-tokens.master-key-rolling-interval-secs";
pub const RM_NM_TOKEN_ROLLING_INTERVAL_SECS: &str =
    "yarn.resourcemanager.nm-tokens.master-key-rolling-interval-secs";
pub const YARN_ACL_ENABLE: &str = "yarn.acl.enable";
pub const YARN_ADMIN_ACL: &str = "yarn.admin.acl";
pub const YARN_WEB_PROXY_ADDRESS: &str = "yarn.web-proxy.address";

// --- NodeManager ---
pub const NM_HOSTNAME: &str = "yarn.nodemanager.hostname";
/// ContainerManagementProtocol; port 0 = any free port.
pub const NM_ADDRESS: &str = "yarn.nodemanager.address";
pub const NM_LOCALIZER_ADDRESS: &str = "yarn.nodemanager.localizer.address";
pub const NM_WEBAPP_ADDRESS: &str = "yarn.nodemanager.webapp.address";
/// -1 means [`NM_DEFAULT_MEMORY_MB`] (hardware detection is off by default).
pub const NM_MEMORY_MB: &str = "yarn.nodemanager.resource.memory-mb";
/// -1 means [`NM_DEFAULT_VCORES`].
pub const NM_VCORES: &str = "yarn.nodemanager.resource.cpu-vcores";
pub const NM_LOCAL_DIRS: &str = "yarn.nodemanager.local-dirs";
pub const NM_LOG_DIRS: &str = "yarn.nodemanager.log-dirs";
pub const NM_ENV_WHITELIST: &str = "yarn.nodemanager.env-whitelist";
pub const NM_ADMIN_ENV: &str = "yarn.nodemanager.admin-env";
pub const NM_SLEEP_DELAY_BEFORE_SIGKILL_MS: &str = "yarn.nodemanager.sleep-delay-before-sigkill.ms";
pub const NM_PROCESS_KILL_WAIT_MS: &str = "yarn.nodemanager.process-kill-wait.ms";
/// yarn-default.xml leaves it empty; YARN then uses `yarn.nodemanager.resource-monitor.interval-ms`.
pub const NM_CONTAINER_MONITOR_INTERVAL_MS: &str = "yarn.nodemanager.container-monitor.interval-ms";
pub const NM_RESOURCE_MONITOR_INTERVAL_MS: &str = "yarn.nodemanager.resource-monitor.interval-ms";
pub const NM_PMEM_CHECK_ENABLED: &str = "yarn.nodemanager.pmem-check-enabled";
pub const NM_VMEM_CHECK_ENABLED: &str = "yarn.nodemanager.vmem-check-enabled";
pub const NM_VMEM_PMEM_RATIO: &str = "yarn.nodemanager.vmem-pmem-ratio";
pub const NM_DELETE_DEBUG_DELAY_SEC: &str = "yarn.nodemanager.delete.debug-delay-sec";
pub const NM_LOG_RETAIN_SECONDS: &str = "yarn.nodemanager.log.retain-seconds";
pub const NM_LOCALIZER_CACHE_TARGET_SIZE_MB: &str =
    "yarn.nodemanager.localizer.cache.target-size-mb";
pub const NM_LOCALIZER_CACHE_CLEANUP_INTERVAL_MS: &str =
    "yarn.nodemanager.localizer.cache.cleanup.interval-ms";
/// How long the NM remembers the id of a container it forgot (so its token cannot start it again).
/// Not in yarn-default.xml; YarnConfiguration's default is 10 minutes.
pub const NM_DURATION_TO_TRACK_STOPPED_CONTAINERS: &str =
    "yarn.nodemanager.duration-to-track-stopped-containers";
pub const NM_AUX_SERVICES: &str = "yarn.nodemanager.aux-services";
/// A restarted NM takes back its containers (needs a fixed port in [`NM_ADDRESS`]).
pub const NM_RECOVERY_ENABLED: &str = "yarn.nodemanager.recovery.enabled";
/// Where the NM keeps its recovery store (a local path).
pub const NM_RECOVERY_DIR: &str = "yarn.nodemanager.recovery.dir";
/// A supervisor restarts the NM: with recovery on, a stop leaves containers running.
pub const NM_RECOVERY_SUPERVISED: &str = "yarn.nodemanager.recovery.supervised";

// --- Log aggregation (NMs upload, `spindle logs` reads, the RM reports the status) ---
pub const LOG_AGGREGATION_ENABLE: &str = "yarn.log-aggregation-enable";
/// Where NMs upload finished applications' logs: a path or a `file://` URI.
pub const NM_REMOTE_APP_LOG_DIR: &str = "yarn.nodemanager.remote-app-log-dir";
pub const NM_REMOTE_APP_LOG_DIR_SUFFIX: &str = "yarn.nodemanager.remote-app-log-dir-suffix";
/// How long aggregated logs are kept; -1: for ever.
pub const LOG_AGGREGATION_RETAIN_SECONDS: &str = "yarn.log-aggregation.retain-seconds";
/// How often expired aggregated logs are looked for; -1: a tenth of the retention.
pub const LOG_AGGREGATION_RETAIN_CHECK_INTERVAL_SECONDS: &str =
    "yarn.log-aggregation.retain-check-interval-seconds";
/// How long after an application ends the RM waits for a node's report before calling that
/// node's upload TIME_OUT.
pub const LOG_AGGREGATION_STATUS_TIME_OUT_MS: &str = "yarn.log-aggregation-status.time-out.ms";

// --- Membership (Spindle's own; YARN has none under simple authentication) ---
/// A file, readable only by the daemons' user, holding the secret that NMs prove they hold when
/// registering with the RM (same file on the RM and every NM). Unset: any host that reaches the
/// resource tracker may join and receives the container and NMToken master keys.
pub const NODE_REGISTRATION_SECRET_FILE: &str = "spindle.node-registration.secret-file";

// --- Clients (written into client configuration directories) ---
pub const CLIENT_RM_CONNECT_MAX_WAIT_MS: &str = "yarn.resourcemanager.connect.max-wait.ms";
pub const CLIENT_RM_CONNECT_RETRY_INTERVAL_MS: &str =
    "yarn.resourcemanager.connect.retry-interval.ms";
pub const CLIENT_NM_CONNECT_MAX_WAIT_MS: &str = "yarn.client.nodemanager-connect.max-wait-ms";
pub const CLIENT_NM_CONNECT_RETRY_INTERVAL_MS: &str =
    "yarn.client.nodemanager-connect.retry-interval-ms";

// --- ResourceManager HA, as clients and NodeManagers see it ---
/// `true` turns on RM HA: clients and NMs use the per-rm-id addresses and fail over.
pub const RM_HA_ENABLED: &str = "yarn.resourcemanager.ha.enabled";
/// The RM ids, e.g. `rm1,rm2`; per-id keys append `.<id>` to the address keys.
pub const RM_HA_IDS: &str = "yarn.resourcemanager.ha.rm-ids";
/// Unset: `yarn.resourcemanager.connect.retry-interval.ms`.
pub const CLIENT_FAILOVER_SLEEP_BASE_MS: &str = "yarn.client.failover-sleep-base-ms";
/// Unset: `yarn.resourcemanager.connect.retry-interval.ms`.
pub const CLIENT_FAILOVER_SLEEP_MAX_MS: &str = "yarn.client.failover-sleep-max-ms";
/// Unset or -1: `yarn.resourcemanager.connect.max-wait.ms` / the sleep base (unlimited if the
/// wait is -1).
pub const CLIENT_FAILOVER_MAX_ATTEMPTS: &str = "yarn.client.failover-max-attempts";

// --- Hadoop common (core-site.xml) ---
pub const FS_DEFAULT_FS: &str = "fs.defaultFS";
pub const HADOOP_TMP_DIR: &str = "hadoop.tmp.dir";
pub const HADOOP_SECURITY_AUTHENTICATION: &str = "hadoop.security.authentication";
pub const HADOOP_RPC_PROTECTION: &str = "hadoop.rpc.protection";
pub const HADOOP_SECURITY_TOKEN_SERVICE_USE_IP: &str = "hadoop.security.token.service.use_ip";
pub const IPC_CLIENT_CONNECTION_MAX_IDLE_TIME: &str = "ipc.client.connection.maxidletime";
pub const IPC_CLIENT_RPC_TIMEOUT_MS: &str = "ipc.client.rpc-timeout.ms";
/// Connections an IPC server accepts (Hadoop: 0, no limit).
pub const IPC_SERVER_MAX_CONNECTIONS: &str = "ipc.server.max.connections";
/// Spindle's own IPC server limits (Hadoop has no such keys; see ARCHITECTURE.md, spindle-ipc).
pub const IPC_SERVER_MAX_CALLS_IN_FLIGHT: &str = "spindle.ipc.server.max-calls-in-flight";
pub const IPC_SERVER_MAX_UNAUTHENTICATED_PER_ADDRESS: &str =
    "spindle.ipc.server.max-unauthenticated-per-address";
pub const IPC_SERVER_AUTHENTICATION_TIMEOUT_MS: &str =
    "spindle.ipc.server.authentication-timeout-ms";
pub const IPC_MAXIMUM_DATA_LENGTH: &str = "ipc.maximum.data.length";

/// What `yarn.nodemanager.resource.memory-mb = -1` means when hardware detection is off.
pub const NM_DEFAULT_MEMORY_MB: u64 = 8192;
/// What `yarn.nodemanager.resource.cpu-vcores = -1` means when hardware detection is off.
pub const NM_DEFAULT_VCORES: u32 = 8;

/// Default values of the keys above, as in Hadoop 3.5.0's yarn-default.xml and core-default.xml.
/// Loaded first by [`crate::Configuration::with_yarn_defaults`].
pub const YARN_DEFAULTS: &[(&str, &str)] = &[
    (RM_HOSTNAME, "0.0.0.0"),
    (RM_ADDRESS, "${yarn.resourcemanager.hostname}:8032"),
    (RM_SCHEDULER_ADDRESS, "${yarn.resourcemanager.hostname}:8030"),
    (RM_RESOURCE_TRACKER_ADDRESS, "${yarn.resourcemanager.hostname}:8031"),
    (RM_ADMIN_ADDRESS, "${yarn.resourcemanager.hostname}:8033"),
    (RM_WEBAPP_ADDRESS, "${yarn.resourcemanager.hostname}:8088"),
    (RM_NM_HEARTBEAT_INTERVAL_MS, "1000"),
    (RM_NM_EXPIRY_INTERVAL_MS, "600000"),
    (RM_AM_EXPIRY_INTERVAL_MS, "900000"),
    (RM_CONTAINER_ALLOCATION_EXPIRY_INTERVAL_MS, "600000"),
    (RM_AM_MAX_ATTEMPTS, "2"),
    (RM_RECOVERY_SCHEDULING_WAIT_MS, "10000"),
    (RM_NODE_REMOVAL_TIMEOUT_MS, "60000"),
    (RM_SCHEDULER_MINIMUM_ALLOCATION_MB, "1024"),
    (RM_SCHEDULER_MAXIMUM_ALLOCATION_MB, "8192"),
    (RM_SCHEDULER_MINIMUM_ALLOCATION_VCORES, "1"),
    (RM_SCHEDULER_MAXIMUM_ALLOCATION_VCORES, "4"),
    (RM_SCHEDULER_CLASS, "org.apache.hadoop.yarn.server.resourcemanager.scheduler.capacity.CapacityScheduler"),
    (RM_MAX_COMPLETED_APPLICATIONS, "1000"),
    (RM_RECOVERY_ENABLED, "false"),
    (
        RM_STORE_CLASS,
        "org.apache.hadoop.yarn.server.resourcemanager.recovery.FileSystemRMStateStore",
    ),
    (RM_FS_STATE_STORE_URI, "${hadoop.tmp.dir}/yarn/system/rmstore"),
    (RM_LEVELDB_STATE_STORE_PATH, "${hadoop.tmp.dir}/yarn/system/rmstore"),
    (RM_AM_RM_TOKEN_ROLLING_INTERVAL_SECS, "86400"),
    (RM_CONTAINER_TOKEN_ROLLING_INTERVAL_SECS, "86400"),
    (RM_NM_TOKEN_ROLLING_INTERVAL_SECS, "86400"),
    (YARN_ACL_ENABLE, "false"),
    (YARN_ADMIN_ACL, "*"),
    (NM_HOSTNAME, "0.0.0.0"),
    (NM_ADDRESS, "${yarn.nodemanager.hostname}:0"),
    (NM_LOCALIZER_ADDRESS, "${yarn.nodemanager.hostname}:8040"),
    (NM_WEBAPP_ADDRESS, "${yarn.nodemanager.hostname}:8042"),
    (NM_MEMORY_MB, "-1"),
    (NM_VCORES, "-1"),
    (NM_LOCAL_DIRS, "${hadoop.tmp.dir}/nm-local-dir"),
    (NM_LOG_DIRS, "${yarn.log.dir}/userlogs"),
    (
        NM_ENV_WHITELIST,
        "JAVA_HOME,HADOOP_COMMON_HOME,HADOOP_HDFS_HOME,HADOOP_CONF_DIR,CLASSPATH_PREPEND_DISTCACHE,HADOOP_YARN_HOME,HADOOP_HOME,PATH,LANG,TZ",
    ),
    (NM_ADMIN_ENV, "MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX"),
    (NM_SLEEP_DELAY_BEFORE_SIGKILL_MS, "250"),
    (NM_PROCESS_KILL_WAIT_MS, "5000"),
    (NM_RESOURCE_MONITOR_INTERVAL_MS, "3000"),
    (NM_PMEM_CHECK_ENABLED, "true"),
    (NM_VMEM_CHECK_ENABLED, "true"),
    (NM_VMEM_PMEM_RATIO, "2.1"),
    (NM_DELETE_DEBUG_DELAY_SEC, "0"),
    (NM_LOG_RETAIN_SECONDS, "10800"),
    (NM_LOCALIZER_CACHE_TARGET_SIZE_MB, "10240"),
    (NM_LOCALIZER_CACHE_CLEANUP_INTERVAL_MS, "600000"),
    (NM_RECOVERY_ENABLED, "false"),
    (NM_RECOVERY_DIR, "${hadoop.tmp.dir}/yarn-nm-recovery"),
    (NM_RECOVERY_SUPERVISED, "false"),
    (LOG_AGGREGATION_ENABLE, "false"),
    (NM_REMOTE_APP_LOG_DIR, "/tmp/logs"),
    (NM_REMOTE_APP_LOG_DIR_SUFFIX, "logs"),
    (LOG_AGGREGATION_RETAIN_SECONDS, "-1"),
    (LOG_AGGREGATION_RETAIN_CHECK_INTERVAL_SECONDS, "-1"),
    (LOG_AGGREGATION_STATUS_TIME_OUT_MS, "600000"),
    (CLIENT_RM_CONNECT_MAX_WAIT_MS, "900000"),
    (CLIENT_RM_CONNECT_RETRY_INTERVAL_MS, "30000"),
    (CLIENT_NM_CONNECT_MAX_WAIT_MS, "180000"),
    (CLIENT_NM_CONNECT_RETRY_INTERVAL_MS, "10000"),
    (FS_DEFAULT_FS, "file:///"),
    (HADOOP_TMP_DIR, "/tmp/hadoop-${user.name}"),
    (HADOOP_SECURITY_AUTHENTICATION, "simple"),
    (HADOOP_RPC_PROTECTION, "authentication"),
    (HADOOP_SECURITY_TOKEN_SERVICE_USE_IP, "true"),
    (IPC_CLIENT_CONNECTION_MAX_IDLE_TIME, "10000"),
    (IPC_CLIENT_RPC_TIMEOUT_MS, "120000"),
    (IPC_MAXIMUM_DATA_LENGTH, "134217728"),
];

/// The default of `key` from [`YARN_DEFAULTS`], unexpanded.
pub fn default_value(key: &str) -> Option<&'static str> {
    YARN_DEFAULTS
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, value)| *value)
}
