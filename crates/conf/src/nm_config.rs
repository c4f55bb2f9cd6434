//! `NmConfig`: a NodeManager's settings, read from a `Configuration` and validated.

use std::path::PathBuf;
use std::time::Duration;

use spindle_types::Resource;

use crate::configuration::Configuration;
use crate::daemon_values::{
    authentication_method, check_positive_duration, invalid, required_bool, required_duration_ms,
    required_i64, required_string, required_u64, with_yarn_defaults, AuthenticationMethod,
};
use crate::error::ConfError;
use crate::host_port::HostPort;
use crate::keys;
use crate::rm_ha::{rm_addresses, RmAddress, RmService};

/// What a NodeManager reads from configuration. Unset keys take YARN's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct NmConfig {
    /// `yarn.nodemanager.hostname`.
    pub hostname: String,
    /// `yarn.nodemanager.address`: ContainerManagementProtocol; port 0 = any free port.
    pub address: HostPort,
    /// `yarn.nodemanager.localizer.address`.
    pub localizer_address: HostPort,
    /// `yarn.nodemanager.webapp.address`.
    pub webapp_address: HostPort,
    /// `yarn.resourcemanager.resource-tracker.address`: where this NM registers without RM HA.
    pub resource_tracker_address: HostPort,
    /// Every RM's resource-tracker address in failover order: with RM HA one per rm-id
    /// (`yarn.resourcemanager.resource-tracker.address.<id>`, else
    /// `yarn.resourcemanager.hostname.<id>:8031`), else just `resource_tracker_address`.
    pub resource_trackers: Vec<RmAddress>,
    /// `yarn.nodemanager.resource.memory-mb` / `.cpu-vcores`; -1 means 8192 MB / 8 vcores.
    pub resource: Resource,
    /// `yarn.nodemanager.local-dirs`: absolute paths (`file://` URIs accepted).
    pub local_dirs: Vec<PathBuf>,
    /// `yarn.nodemanager.log-dirs`: absolute paths. The default `${yarn.log.dir}/userlogs`
    /// needs YARN_LOG_DIR (or HADOOP_LOG_DIR) in the environment.
    pub log_dirs: Vec<PathBuf>,
    /// `yarn.nodemanager.env-whitelist`: variables containers inherit from the NM when unset.
    pub env_whitelist: Vec<String>,
    /// `yarn.nodemanager.admin-env`, as written (`NAME=value` pairs separated by commas).
    pub admin_env: String,
    /// `yarn.nodemanager.sleep-delay-before-sigkill.ms` (default 250 ms).
    pub sleep_delay_before_sigkill: Duration,
    /// `yarn.nodemanager.container-monitor.interval-ms`, else
    /// `yarn.nodemanager.resource-monitor.interval-ms` (default 3 s).
    pub container_monitor_interval: Duration,
    /// `yarn.nodemanager.pmem-check-enabled` (default true).
    pub pmem_check_enabled: bool,
    /// `yarn.nodemanager.vmem-check-enabled` (default true).
    pub vmem_check_enabled: bool,
    /// `yarn.nodemanager.vmem-pmem-ratio` (default 2.1), at least 1.
    pub vmem_pmem_ratio: f64,
    /// `yarn.nodemanager.delete.debug-delay-sec` (default 0): keep finished containers' dirs this long.
    pub delete_debug_delay: Duration,
    /// `yarn.nodemanager.log.retain-seconds` (default 10800): a finished application's container
    /// logs stay on the node this long.
    pub log_retain: Duration,
    /// `yarn.nodemanager.localizer.cache.target-size-mb` (default 10240).
    pub localizer_cache_target_mb: u64,
    /// `yarn.nodemanager.localizer.cache.cleanup.interval-ms` (default 10 min).
    pub localizer_cache_cleanup_interval: Duration,
    /// `yarn.nodemanager.duration-to-track-stopped-containers` (default 10 min).
    pub stopped_container_retention: Duration,
    /// `yarn.nodemanager.aux-services` (default none).
    pub aux_services: Vec<String>,
    /// `yarn.resourcemanager.nodemanagers.heartbeat-interval-ms`: the interval until the RM says otherwise.
    pub heartbeat_interval: Duration,
    /// `hadoop.security.authentication` (default simple).
    pub authentication: AuthenticationMethod,
}

impl NmConfig {
    /// Reads and validates a NodeManager's settings; keys missing from `configuration` take YARN's defaults.
    pub fn from_configuration(configuration: &Configuration) -> Result<Self, ConfError> {
        let configuration = with_yarn_defaults(configuration)?;
        let configuration = &configuration;
        let address = |key: &str| {
            configuration.get_host_port(key, keys::default_value(key).unwrap_or_default())
        };
        let container_monitor_interval =
            match configuration.get_duration_ms(keys::NM_CONTAINER_MONITOR_INTERVAL_MS)? {
                Some(milliseconds) => Duration::from_millis(milliseconds),
                None => required_duration_ms(configuration, keys::NM_RESOURCE_MONITOR_INTERVAL_MS)?,
            };
        let nm_config = NmConfig {
            hostname: required_string(configuration, keys::NM_HOSTNAME)?,
            address: address(keys::NM_ADDRESS)?,
            localizer_address: address(keys::NM_LOCALIZER_ADDRESS)?,
            webapp_address: address(keys::NM_WEBAPP_ADDRESS)?,
            resource_tracker_address: address(keys::RM_RESOURCE_TRACKER_ADDRESS)?,
            resource_trackers: rm_addresses(configuration, RmService::ResourceTracker)?,
            resource: Resource::new(
                node_capacity(
                    configuration,
                    keys::NM_MEMORY_MB,
                    keys::NM_DEFAULT_MEMORY_MB as i64,
                )?,
                node_capacity(
                    configuration,
                    keys::NM_VCORES,
                    i64::from(keys::NM_DEFAULT_VCORES),
                )?,
            ),
            local_dirs: directories(configuration, keys::NM_LOCAL_DIRS)?,
            log_dirs: directories(configuration, keys::NM_LOG_DIRS)?,
            env_whitelist: configuration.get_strings(keys::NM_ENV_WHITELIST),
            admin_env: configuration
                .get_trimmed(keys::NM_ADMIN_ENV)
                .unwrap_or_default()
                .to_string(),
            sleep_delay_before_sigkill: required_duration_ms(
                configuration,
                keys::NM_SLEEP_DELAY_BEFORE_SIGKILL_MS,
            )?,
            container_monitor_interval,
            pmem_check_enabled: required_bool(configuration, keys::NM_PMEM_CHECK_ENABLED)?,
            vmem_check_enabled: required_bool(configuration, keys::NM_VMEM_CHECK_ENABLED)?,
            vmem_pmem_ratio: configuration
                .get_f64(keys::NM_VMEM_PMEM_RATIO)?
                .unwrap_or(2.1),
            delete_debug_delay: Duration::from_secs(required_u64(
                configuration,
                keys::NM_DELETE_DEBUG_DELAY_SEC,
            )?),
            log_retain: Duration::from_secs(required_u64(
                configuration,
                keys::NM_LOG_RETAIN_SECONDS,
            )?),
            localizer_cache_target_mb: required_u64(
                configuration,
                keys::NM_LOCALIZER_CACHE_TARGET_SIZE_MB,
            )?,
            localizer_cache_cleanup_interval: required_duration_ms(
                configuration,
                keys::NM_LOCALIZER_CACHE_CLEANUP_INTERVAL_MS,
            )?,
            stopped_container_retention: Duration::from_millis(
                configuration
                    .get_duration_ms(keys::NM_DURATION_TO_TRACK_STOPPED_CONTAINERS)?
                    .unwrap_or(600_000),
            ),
            aux_services: configuration.get_strings(keys::NM_AUX_SERVICES),
            heartbeat_interval: required_duration_ms(
                configuration,
                keys::RM_NM_HEARTBEAT_INTERVAL_MS,
            )?,
            authentication: authentication_method(configuration)?,
        };
        nm_config.validate()?;
        Ok(nm_config)
    }

    /// Checks the settings (also useful for an `NmConfig` built by hand).
    pub fn validate(&self) -> Result<(), ConfError> {
        for (key, value) in [
            (keys::NM_MEMORY_MB, self.resource.memory_mb),
            (keys::NM_VCORES, self.resource.vcores),
        ] {
            if value <= 0 {
                return Err(invalid(
                    key,
                    value.to_string(),
                    "a positive integer, or -1 for the default",
                ));
            }
        }
        if self.vmem_pmem_ratio < 1.0 {
            return Err(invalid(
                keys::NM_VMEM_PMEM_RATIO,
                self.vmem_pmem_ratio.to_string(),
                "a number of at least 1.0",
            ));
        }
        check_positive_duration(keys::RM_NM_HEARTBEAT_INTERVAL_MS, self.heartbeat_interval)?;
        check_positive_duration(
            keys::NM_CONTAINER_MONITOR_INTERVAL_MS,
            self.container_monitor_interval,
        )?;
        for (key, directories) in [
            (keys::NM_LOCAL_DIRS, &self.local_dirs),
            (keys::NM_LOG_DIRS, &self.log_dirs),
        ] {
            let joined = directories
                .iter()
                .map(|path| path.display().to_string())
                .collect::<Vec<_>>()
                .join(",");
            if directories.is_empty() {
                return Err(invalid(key, joined, "at least one directory"));
            }
            if directories.iter().any(|path| !path.is_absolute()) {
                return Err(invalid(key, joined, "absolute directory paths"));
            }
        }
        Ok(())
    }
}

/// A node capacity where -1 means `default`.
fn node_capacity(configuration: &Configuration, key: &str, default: i64) -> Result<i64, ConfError> {
    match required_i64(configuration, key)? {
        -1 => Ok(default),
        value if value > 0 => Ok(value),
        value => Err(invalid(
            key,
            value.to_string(),
            "a positive integer, or -1 for the default",
        )),
    }
}

/// A comma list of absolute directories; `file:` URIs are turned into paths.
fn directories(configuration: &Configuration, key: &str) -> Result<Vec<PathBuf>, ConfError> {
    let value = required_string(configuration, key)?;
    if let Some(start) = value.find("${") {
        let variable: String = value[start..]
            .chars()
            .take_while(|&character| character != '}')
            .collect();
        let hint = if variable == "${yarn.log.dir" {
            format!("absolute directory paths ({variable}}} is not set: set {key} or YARN_LOG_DIR)")
        } else {
            format!("absolute directory paths ({variable}}} is not set)")
        };
        return Err(invalid(key, value, &hint));
    }
    let mut directories = Vec::new();
    for item in value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let path = match item.strip_prefix("file://") {
            Some(rest) => rest,
            None => item.strip_prefix("file:").unwrap_or(item),
        };
        if path.contains("://") || !path.starts_with('/') {
            return Err(invalid(
                key,
                value.clone(),
                "absolute directory paths (or file:// URIs)",
            ));
        }
        directories.push(PathBuf::from(path));
    }
    if directories.is_empty() {
        return Err(invalid(key, value, "at least one directory"));
    }
    Ok(directories)
}
