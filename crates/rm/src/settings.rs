//! The RM's settings, taken from yarn-site.xml by the shell and handed to the core.

use spindle_types::Resource;

#[derive(Debug, Clone)]
pub struct RmSettings {
    /// The RM's start time: the cluster timestamp in every application id.
    pub cluster_timestamp: i64,
    /// The RM epoch, in the high bits of container ids (grows with each RM restart).
    pub epoch: i64,
    /// `yarn.resourcemanager.am.max-attempts`.
    pub max_attempts: i32,
    /// `yarn.am.liveness-monitor.expiry-interval-ms`.
    pub am_expiry_ms: i64,
    /// `yarn.nm.liveness-monitor.expiry-interval-ms`.
    pub nm_expiry_ms: i64,
    /// `yarn.resourcemanager.nodemanagers.heartbeat-interval-ms`.
    pub nm_heartbeat_interval_ms: i64,
    /// `yarn.scheduler.minimum-allocation-mb` / `-vcores`.
    pub minimum_allocation: Resource,
    /// `yarn.scheduler.maximum-allocation-mb` / `-vcores`.
    pub maximum_allocation: Resource,
    /// How long an AM container may keep running after its AM unregistered.
    pub am_finish_grace_ms: i64,
    /// `yarn.resourcemanager.max-completed-applications`: finished applications kept for reports.
    pub max_completed_applications: usize,
    /// Resource types beyond memory and vcores (`yarn.resource-types`, e.g. `yarn.io/gpu`).
    pub resource_types: Vec<String>,
    /// The scheduler address AMs use: the service of their AMRMTokens (`host:port`).
    pub scheduler_service: String,
    /// Whether a state store records what must survive a restart
    /// (`yarn.resourcemanager.recovery.enabled`): the core then waits for the store where YARN
    /// does (see `core/durability.rs`).
    pub durable: bool,
    /// `yarn.resourcemanager.work-preserving-recovery.scheduling-wait-ms`: after a restart that
    /// recovered running applications, nothing new is placed for this long, so that NMs
    /// re-register their containers first.
    pub recovery_scheduling_wait_ms: i64,
    /// `yarn.resourcemanager.node-removal-untracked.timeout-ms`: how long a lost or shut-down
    /// node is still reported before the RM forgets it.
    pub node_removal_timeout_ms: i64,
    /// `host:port` of the web application proxy, which this RM's web server runs: reports
    /// publish `http://<it>/proxy/<appId>/` as an application's tracking URL (YARN's proxied
    /// URL) and the AM's own URL as the original one. None (no web server): both are the AM's.
    pub web_proxy: Option<String>,
    /// `yarn.log-aggregation-enable`: NMs upload finished applications' logs and reports carry
    /// how that went; off, reports say DISABLED.
    pub log_aggregation_enabled: bool,
    /// `yarn.log-aggregation-status.time-out.ms`: how long after an application ended a node
    /// may take to finish its upload before its part counts as TIME_OUT.
    pub log_aggregation_status_timeout_ms: i64,
}

impl Default for RmSettings {
    fn default() -> Self {
        Self {
            cluster_timestamp: 0,
            epoch: 0,
            max_attempts: 2,
            am_expiry_ms: 600_000,
            nm_expiry_ms: 600_000,
            nm_heartbeat_interval_ms: 1000,
            minimum_allocation: Resource::new(1024, 1),
            maximum_allocation: Resource::new(8192, 4),
            am_finish_grace_ms: 10_000,
            max_completed_applications: 1000,
            scheduler_service: String::new(),
            resource_types: Vec::new(),
            durable: false,
            recovery_scheduling_wait_ms: 10_000,
            node_removal_timeout_ms: 60_000,
            web_proxy: None,
            log_aggregation_enabled: false,
            log_aggregation_status_timeout_ms: 600_000,
        }
    }
}

impl RmSettings {
    /// Settings from validated yarn-site.xml values; `started_ms` becomes the cluster timestamp.
    pub fn from_config(config: &spindle_conf::RmConfig, started_ms: i64) -> Self {
        let ms = |d: std::time::Duration| d.as_millis() as i64;
        Self {
            cluster_timestamp: started_ms,
            epoch: 0,
            max_attempts: config.application_master_max_attempts.max(1) as i32,
            am_expiry_ms: ms(config.application_master_expiry_interval),
            nm_expiry_ms: ms(config.nodemanager_expiry_interval),
            nm_heartbeat_interval_ms: ms(config.nodemanager_heartbeat_interval),
            minimum_allocation: config.minimum_allocation.clone(),
            maximum_allocation: config.maximum_allocation.clone(),
            max_completed_applications: config.max_completed_applications as usize,
            recovery_scheduling_wait_ms: ms(config.recovery_scheduling_wait),
            node_removal_timeout_ms: ms(config.node_removal_timeout),
            log_aggregation_enabled: config.log_aggregation_enabled,
            log_aggregation_status_timeout_ms: ms(config.log_aggregation_status_timeout),
            ..Self::default()
        }
    }
}
