//! `RmConfig`: the ResourceManager's settings, read from a `Configuration` and validated.

use std::time::Duration;

use spindle_types::Resource;

use crate::configuration::Configuration;
use crate::daemon_values::{
    authentication_method, check_order, check_positive_duration, invalid, required_bool,
    required_duration_ms, required_i64, required_string, required_u64, with_yarn_defaults,
    AuthenticationMethod,
};
use crate::error::ConfError;
use crate::host_port::HostPort;
use crate::keys;

/// What the ResourceManager reads from configuration. Unset keys take YARN's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct RmConfig {
    /// `yarn.resourcemanager.hostname`.
    pub hostname: String,
    /// `yarn.resourcemanager.address`: ApplicationClientProtocol.
    pub client_address: HostPort,
    /// `yarn.resourcemanager.scheduler.address`: ApplicationMasterProtocol.
    pub scheduler_address: HostPort,
    /// `yarn.resourcemanager.resource-tracker.address`: NodeManagers register and heartbeat here.
    pub resource_tracker_address: HostPort,
    /// `yarn.resourcemanager.admin.address`.
    pub admin_address: HostPort,
    /// `yarn.resourcemanager.webapp.address`.
    pub webapp_address: HostPort,
    /// `yarn.resourcemanager.cluster-id`; `None` when unset or empty.
    pub cluster_id: Option<String>,
    /// `yarn.resourcemanager.nodemanagers.heartbeat-interval-ms` (default 1 s).
    pub nodemanager_heartbeat_interval: Duration,
    /// `yarn.nm.liveness-monitor.expiry-interval-ms` (default 10 min).
    pub nodemanager_expiry_interval: Duration,
    /// `yarn.am.liveness-monitor.expiry-interval-ms` (default 15 min in yarn-default.xml 3.5.0).
    pub application_master_expiry_interval: Duration,
    /// `yarn.resourcemanager.rm.container-allocation.expiry-interval-ms` (default 10 min).
    pub container_allocation_expiry_interval: Duration,
    /// `yarn.resourcemanager.am.max-attempts` (default 2), at least 1.
    pub application_master_max_attempts: u32,
    /// `yarn.scheduler.minimum-allocation-mb` / `-vcores` (default 1024 MB, 1 vcore).
    pub minimum_allocation: Resource,
    /// `yarn.scheduler.maximum-allocation-mb` / `-vcores` (default 8192 MB, 4 vcores).
    pub maximum_allocation: Resource,
    /// `yarn.resourcemanager.scheduler.class` (kept for reports; Spindle has its own scheduler).
    pub scheduler_class: String,
    /// `yarn.resourcemanager.max-completed-applications` (default 1000).
    pub max_completed_applications: u64,
    /// `yarn.resourcemanager.recovery.enabled` (default false).
    pub recovery_enabled: bool,
    /// `yarn.resourcemanager.work-preserving-recovery.scheduling-wait-ms` (default 10 s).
    pub recovery_scheduling_wait: Duration,
    /// `yarn.resourcemanager.node-removal-untracked.timeout-ms` (default 60 s).
    pub node_removal_timeout: Duration,
    /// `yarn.acl.enable` (default false).
    pub acl_enable: bool,
    /// `yarn.admin.acl` (default `*`).
    pub admin_acl: String,
    /// `hadoop.security.authentication` (default simple).
    pub authentication: AuthenticationMethod,
    /// `fs.defaultFS` (default `file:///`).
    pub default_fs: String,
    /// `yarn.log-aggregation-enable` (default false).
    pub log_aggregation_enabled: bool,
    /// `yarn.log-aggregation-status.time-out.ms` (default 10 min).
    pub log_aggregation_status_timeout: Duration,
}

impl RmConfig {
    /// Reads and validates the RM's settings; keys missing from `configuration` take YARN's defaults.
    pub fn from_configuration(configuration: &Configuration) -> Result<Self, ConfError> {
        let configuration = with_yarn_defaults(configuration)?;
        let configuration = &configuration;
        let address = |key: &str| {
            configuration.get_host_port(key, keys::default_value(key).unwrap_or_default())
        };
        let max_attempts = required_i64(configuration, keys::RM_AM_MAX_ATTEMPTS)?;
        let rm_config = RmConfig {
            hostname: required_string(configuration, keys::RM_HOSTNAME)?,
            client_address: address(keys::RM_ADDRESS)?,
            scheduler_address: address(keys::RM_SCHEDULER_ADDRESS)?,
            resource_tracker_address: address(keys::RM_RESOURCE_TRACKER_ADDRESS)?,
            admin_address: address(keys::RM_ADMIN_ADDRESS)?,
            webapp_address: address(keys::RM_WEBAPP_ADDRESS)?,
            cluster_id: configuration
                .get_trimmed(keys::RM_CLUSTER_ID)
                .filter(|id| !id.is_empty())
                .map(str::to_string),
            nodemanager_heartbeat_interval: required_duration_ms(
                configuration,
                keys::RM_NM_HEARTBEAT_INTERVAL_MS,
            )?,
            nodemanager_expiry_interval: required_duration_ms(
                configuration,
                keys::RM_NM_EXPIRY_INTERVAL_MS,
            )?,
            application_master_expiry_interval: required_duration_ms(
                configuration,
                keys::RM_AM_EXPIRY_INTERVAL_MS,
            )?,
            container_allocation_expiry_interval: required_duration_ms(
                configuration,
                keys::RM_CONTAINER_ALLOCATION_EXPIRY_INTERVAL_MS,
            )?,
            application_master_max_attempts: u32::try_from(max_attempts).map_err(|_| {
                invalid(
                    keys::RM_AM_MAX_ATTEMPTS,
                    max_attempts.to_string(),
                    "a positive integer",
                )
            })?,
            minimum_allocation: Resource::new(
                required_i64(configuration, keys::RM_SCHEDULER_MINIMUM_ALLOCATION_MB)?,
                required_i64(configuration, keys::RM_SCHEDULER_MINIMUM_ALLOCATION_VCORES)?,
            ),
            maximum_allocation: Resource::new(
                required_i64(configuration, keys::RM_SCHEDULER_MAXIMUM_ALLOCATION_MB)?,
                required_i64(configuration, keys::RM_SCHEDULER_MAXIMUM_ALLOCATION_VCORES)?,
            ),
            scheduler_class: required_string(configuration, keys::RM_SCHEDULER_CLASS)?,
            max_completed_applications: required_u64(
                configuration,
                keys::RM_MAX_COMPLETED_APPLICATIONS,
            )?,
            recovery_enabled: required_bool(configuration, keys::RM_RECOVERY_ENABLED)?,
            recovery_scheduling_wait: required_duration_ms(
                configuration,
                keys::RM_RECOVERY_SCHEDULING_WAIT_MS,
            )?,
            node_removal_timeout: required_duration_ms(
                configuration,
                keys::RM_NODE_REMOVAL_TIMEOUT_MS,
            )?,
            acl_enable: required_bool(configuration, keys::YARN_ACL_ENABLE)?,
            admin_acl: configuration
                .get_trimmed(keys::YARN_ADMIN_ACL)
                .unwrap_or("*")
                .to_string(),
            authentication: authentication_method(configuration)?,
            default_fs: required_string(configuration, keys::FS_DEFAULT_FS)?,
            log_aggregation_enabled: required_bool(configuration, keys::LOG_AGGREGATION_ENABLE)?,
            log_aggregation_status_timeout: required_duration_ms(
                configuration,
                keys::LOG_AGGREGATION_STATUS_TIME_OUT_MS,
            )?,
        };
        rm_config.validate()?;
        Ok(rm_config)
    }

    /// Checks the relations between settings (also useful for an `RmConfig` built by hand).
    pub fn validate(&self) -> Result<(), ConfError> {
        if self.application_master_max_attempts == 0 {
            return Err(invalid(keys::RM_AM_MAX_ATTEMPTS, "0", "a positive integer"));
        }
        check_positive_duration(
            keys::RM_NM_HEARTBEAT_INTERVAL_MS,
            self.nodemanager_heartbeat_interval,
        )?;
        check_positive_duration(
            keys::RM_NM_EXPIRY_INTERVAL_MS,
            self.nodemanager_expiry_interval,
        )?;
        check_positive_duration(
            keys::RM_AM_EXPIRY_INTERVAL_MS,
            self.application_master_expiry_interval,
        )?;
        check_positive_duration(
            keys::RM_CONTAINER_ALLOCATION_EXPIRY_INTERVAL_MS,
            self.container_allocation_expiry_interval,
        )?;
        check_order(
            keys::RM_NM_HEARTBEAT_INTERVAL_MS,
            self.nodemanager_heartbeat_interval.as_millis(),
            keys::RM_NM_EXPIRY_INTERVAL_MS,
            self.nodemanager_expiry_interval.as_millis(),
        )?;
        for (key, value) in [
            (
                keys::RM_SCHEDULER_MINIMUM_ALLOCATION_MB,
                self.minimum_allocation.memory_mb,
            ),
            (
                keys::RM_SCHEDULER_MINIMUM_ALLOCATION_VCORES,
                self.minimum_allocation.vcores,
            ),
        ] {
            if value < 0 {
                return Err(invalid(key, value.to_string(), "a non-negative integer"));
            }
        }
        for (key, value) in [
            (
                keys::RM_SCHEDULER_MAXIMUM_ALLOCATION_MB,
                self.maximum_allocation.memory_mb,
            ),
            (
                keys::RM_SCHEDULER_MAXIMUM_ALLOCATION_VCORES,
                self.maximum_allocation.vcores,
            ),
        ] {
            if value <= 0 {
                return Err(invalid(key, value.to_string(), "a positive integer"));
            }
        }
        check_order(
            keys::RM_SCHEDULER_MINIMUM_ALLOCATION_MB,
            self.minimum_allocation.memory_mb,
            keys::RM_SCHEDULER_MAXIMUM_ALLOCATION_MB,
            self.maximum_allocation.memory_mb,
        )?;
        check_order(
            keys::RM_SCHEDULER_MINIMUM_ALLOCATION_VCORES,
            self.minimum_allocation.vcores,
            keys::RM_SCHEDULER_MAXIMUM_ALLOCATION_VCORES,
            self.maximum_allocation.vcores,
        )
    }
}
