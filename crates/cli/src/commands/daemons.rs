//! `spindle resourcemanager` and `spindle nodemanager`: the daemons, configured from
//! yarn-site.xml with YARN's keys.

use std::path::Path;

use anyhow::Context;
use spindle_conf::{Configuration, HostPort, NmConfig, RmConfig, RmService};
use spindle_nm::container::NmContainerConfig;
use spindle_nm::recovery::NmRecoverySettings;
use spindle_nm::service::{NmSettings, NodeManager};
use spindle_rm::service::{now_ms, Recovery, ResourceManager, RmBindAddresses, SchedulerSetup};
use spindle_rm::settings::RmSettings;

/// The site files in `conf_dir` (else $HADOOP_CONF_DIR / $YARN_CONF_DIR) over YARN's defaults; a
/// `conf_dir` that does not exist is an error, as in Hadoop's scripts.
fn load(conf_dir: Option<&Path>) -> anyhow::Result<Configuration> {
    if let Some(dir) = conf_dir.filter(|dir| !dir.is_dir()) {
        anyhow::bail!("Cannot find configuration directory: {}", dir.display());
    }
    Configuration::load_default_files(conf_dir).context("reading the Hadoop configuration")
}

fn resolve(address: &HostPort, key: &str) -> anyhow::Result<std::net::SocketAddr> {
    address.resolve().with_context(|| {
        format!(
            "cannot resolve {key} = {}:{}",
            address.host(),
            address.port()
        )
    })
}

/// The host a daemon advertises: the configured one, or the machine's name for a wildcard.
fn advertised_host(address: &HostPort) -> String {
    if address.is_wildcard() {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into())
    } else {
        address.host().to_string()
    }
}

/// A daemon's IPC server limits: `base` with what the configuration sets. Hadoop's keys where they
/// exist (`ipc.maximum.data.length`, `ipc.server.max.connections` with 0 for Spindle's default,
/// `ipc.client.connection.maxidletime`, of which a server allows idle connections twice), and
/// Spindle's own `spindle.ipc.server.*` for the limits Hadoop does not have.
fn ipc_server_config(
    conf: &Configuration,
    base: spindle_ipc::ServerConfig,
) -> anyhow::Result<spindle_ipc::ServerConfig> {
    use spindle_conf::keys::*;
    let positive = |key: &str| -> anyhow::Result<Option<usize>> {
        match conf.get_u64(key)? {
            None | Some(0) => Ok(None),
            Some(n) => Ok(Some(
                usize::try_from(n).with_context(|| format!("{key} = {n}"))?,
            )),
        }
    };
    let mut config = base;
    if let Some(n) = positive(IPC_MAXIMUM_DATA_LENGTH)? {
        config.max_frame_len = n;
    }
    if let Some(n) = positive(IPC_SERVER_MAX_CONNECTIONS)? {
        config.max_connections = n;
    }
    if let Some(ms) = conf.get_duration_ms(IPC_CLIENT_CONNECTION_MAX_IDLE_TIME)? {
        config.idle_timeout = std::time::Duration::from_millis(ms.saturating_mul(2).max(1));
    }
    if let Some(n) = positive(IPC_SERVER_MAX_CALLS_IN_FLIGHT)? {
        config.max_calls_in_flight = n;
    }
    if let Some(n) = positive(IPC_SERVER_MAX_UNAUTHENTICATED_PER_ADDRESS)? {
        config.max_unauthenticated_per_address = n;
    }
    if let Some(ms) = conf.get_duration_ms(IPC_SERVER_AUTHENTICATION_TIMEOUT_MS)? {
        config.auth_timeout = std::time::Duration::from_millis(ms.max(1));
    }
    Ok(config)
}

/// The web addresses (`host:port`) of the HA group's other RMs: `yarn.resourcemanager.webapp.address.<id>`,
/// else `yarn.resourcemanager.hostname.<id>` with port 8088.
fn other_rm_web_addresses(conf: &Configuration, own: &str) -> anyhow::Result<Vec<String>> {
    let mut addresses = Vec::new();
    for rm_id in spindle_conf::rm_ids(conf)? {
        if rm_id == own {
            continue;
        }
        let explicit = conf
            .get(&format!("yarn.resourcemanager.webapp.address.{rm_id}"))
            .map(str::trim)
            .filter(|v| !v.is_empty());
        let address = match explicit {
            Some(address) => address.to_string(),
            None => match conf.get(&format!("yarn.resourcemanager.hostname.{rm_id}")) {
                Some(host) => format!("{}:8088", host.trim()),
                None => continue,
            },
        };
        addresses.push(address);
    }
    Ok(addresses)
}

pub async fn resourcemanager(conf_dir: Option<&Path>) -> anyhow::Result<i32> {
    super::fatal_panics::install("ResourceManager");
    let config = RmConfig::from_configuration(&load(conf_dir)?)?;
    let mut settings = RmSettings::from_config(&config, now_ms());
    let conf = load(conf_dir)?;
    settings.resource_types = conf.get_strings("yarn.resource-types");
    let bind = RmBindAddresses {
        client: resolve(&config.client_address, "yarn.resourcemanager.address")?,
        scheduler: resolve(
            &config.scheduler_address,
            "yarn.resourcemanager.scheduler.address",
        )?,
        tracker: resolve(
            &config.resource_tracker_address,
            "yarn.resourcemanager.resource-tracker.address",
        )?,
        admin: resolve(&config.admin_address, "yarn.resourcemanager.admin.address")?,
    };
    let mut setup = SchedulerSetup::from_configuration(conf_dir, &conf, &config, &settings)?;
    setup.ipc_server = Some(ipc_server_config(
        &conf,
        spindle_rm::service::default_server_config(),
    )?);
    let mut web = spindle_rm::web::RmWebSetup::from_configuration(
        &conf,
        resolve(
            &config.webapp_address,
            "yarn.resourcemanager.webapp.address",
        )?,
    )?;
    if let Some(store) = conf.get("yarn.resourcemanager.store.class") {
        web.store_name = store.trim().to_string();
    }
    setup.web = Some(web);
    if let Some((ha, bind)) = spindle_rm::ha::config::from_configuration(&conf)
        .map_err(|e| anyhow::anyhow!("high availability: {e}"))?
    {
        let rm_id = ha.rm_id.clone();
        if let Some(web) = setup.web.as_mut() {
            web.other_rms = other_rm_web_addresses(&conf, &rm_id)?;
            // Each RM of the group binds its own web address, as YARN's HA keys say.
            let own_key = format!("yarn.resourcemanager.webapp.address.{rm_id}");
            if let Some(own) = conf.get(&own_key).map(str::trim).filter(|v| !v.is_empty()) {
                let own = HostPort::parse(own, Some(8088))
                    .map_err(|e| anyhow::anyhow!("{own_key}={own}: {e}"))?;
                web.bind = resolve(&own, &own_key)?;
            }
        }
        let rm = spindle_rm::ha::HaResourceManager::start(settings, bind, setup, ha).await?;
        println!(
            "ResourceManager {rm_id} running in HA mode: admin {}; client, scheduler and resource-tracker ports open while active",
            rm.admin_address()
        );
        if let Some(web) = rm.web_address() {
            println!("ResourceManager web services: http://{web}/ws/v1/cluster");
        }
        let signal = super::stop_signal::stop_requested().await?;
        println!("ResourceManager stopping on {signal}");
        rm.shutdown().await;
        return Ok(0);
    }
    let recovery = spindle_rm::store::from_configuration(&conf)
        .map_err(|e| anyhow::anyhow!("state store: {e}"))?
        .map(Recovery::new);
    let rm = ResourceManager::start_recovering(settings, bind, setup, recovery).await?;
    println!(
        "ResourceManager running: client {} scheduler {} resource-tracker {}",
        rm.client_address(),
        rm.scheduler_address(),
        rm.tracker_address()
    );
    if let Some(web) = rm.web_address() {
        println!("ResourceManager web services: http://{web}/ws/v1/cluster");
    }
    let signal = super::stop_signal::stop_requested().await?;
    println!("ResourceManager stopping on {signal}");
    rm.shutdown().await;
    Ok(0)
}

/// The GPUs this NM offers: `yarn.nodemanager.resource-plugins` must name `yarn.io/gpu`; then
/// `yarn.nodemanager.resource-plugins.gpu.allowed-gpu-devices` lists `index:minor` pairs, or is
/// `auto` (the default) to ask nvidia-smi.
fn gpu_devices(conf: &Configuration) -> anyhow::Result<Vec<u32>> {
    if !conf
        .get_strings("yarn.nodemanager.resource-plugins")
        .iter()
        .any(|p| p == spindle_types::resource::GPU)
    {
        return Ok(Vec::new());
    }
    const KEY: &str = "yarn.nodemanager.resource-plugins.gpu.allowed-gpu-devices";
    let allowed = conf.get_strings(KEY);
    if allowed.is_empty() || allowed == ["auto"] {
        let out = std::process::Command::new("nvidia-smi")
            .args(["--query-gpu=index", "--format=csv,noheader"])
            .output();
        return match out {
            Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect()),
            _ => anyhow::bail!(
                "{KEY} is auto but nvidia-smi found no GPU; list the devices as index:minor"
            ),
        };
    }
    allowed
        .iter()
        .map(|d| {
            d.split(':')
                .next()
                .and_then(|i| i.trim().parse::<u32>().ok())
                .ok_or_else(|| {
                    anyhow::anyhow!("invalid value '{d}' in {KEY}: expected index:minor_number")
                })
        })
        .collect()
}

/// `yarn.nodemanager.recovery.*`: `None` unless recovery is enabled.
fn nm_recovery(conf: &Configuration) -> anyhow::Result<Option<NmRecoverySettings>> {
    use spindle_conf::keys::{NM_RECOVERY_DIR, NM_RECOVERY_ENABLED, NM_RECOVERY_SUPERVISED};
    if !conf.get_bool(NM_RECOVERY_ENABLED)?.unwrap_or(false) {
        return Ok(None);
    }
    let value = conf
        .get(NM_RECOVERY_DIR)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .with_context(|| format!("{NM_RECOVERY_DIR} must name the recovery store's directory"))?;
    let dir = match value.split_once("://") {
        None => value,
        Some(("file", rest)) => rest,
        Some((scheme, _)) => {
            anyhow::bail!(
                "{NM_RECOVERY_DIR} = {value}: only local paths are supported, not {scheme}://"
            )
        }
    };
    Ok(Some(NmRecoverySettings {
        dir: dir.into(),
        supervised: conf.get_bool(NM_RECOVERY_SUPERVISED)?.unwrap_or(false),
    }))
}

pub async fn nodemanager(conf_dir: Option<&Path>) -> anyhow::Result<i32> {
    super::fatal_panics::install("NodeManager");
    let conf = load(conf_dir)?;
    let config = NmConfig::from_configuration(&conf)?;
    let gpu_devices = gpu_devices(&conf)?;
    // Countable resource types other than GPUs: `yarn.nodemanager.resource-type.<name>` (node-resources.xml).
    let mut resource = config.resource.clone();
    for name in conf.get_strings("yarn.resource-types") {
        let key = format!("yarn.nodemanager.resource-type.{name}");
        if let Some(value) = conf.get_i64(&key)? {
            resource.set(&name, value);
        }
    }
    let host = advertised_host(&config.address);
    let mut containers = NmContainerConfig::new(
        config.local_dirs.clone(),
        config.log_dirs.clone(),
        host.clone(),
        0,
        0,
    );
    containers.env_whitelist = config.env_whitelist.clone();
    containers.sigkill_delay = config.sleep_delay_before_sigkill;
    containers.monitor_interval = config.container_monitor_interval;
    containers.pmem_check = config.pmem_check_enabled;
    containers.vmem_pmem_ratio = config.vmem_pmem_ratio as f32;
    containers.log_retain = config.log_retain;
    containers.cache_target_bytes = config.localizer_cache_target_mb.saturating_mul(1 << 20);
    containers.cache_cleanup_interval = config.localizer_cache_cleanup_interval;
    containers.stopped_container_retention = config.stopped_container_retention;
    containers.log_aggregation =
        spindle_nm::log_aggregation::LogAggregationSettings::from_configuration(&conf)?;
    let nm = NodeManager::start(NmSettings {
        host,
        bind: resolve(&config.address, "yarn.nodemanager.address")?,
        web: spindle_nm::web::NmWebSetup::from_configuration(
            &conf,
            resolve(&config.webapp_address, spindle_nm::web::WEBAPP_ADDRESS_KEY)?,
        )?,
        rm_trackers: config
            .resource_trackers
            .iter()
            .map(|tracker| {
                let key = match &tracker.rm_id {
                    Some(rm_id) => RmService::ResourceTracker.address_key_for(rm_id),
                    None => RmService::ResourceTracker.address_key().to_string(),
                };
                resolve(&tracker.address, &key)
            })
            .collect::<anyhow::Result<_>>()?,
        resource,
        heartbeat_interval: config.heartbeat_interval,
        rpc_timeout: spindle_ipc::client::rpc_timeout(
            conf.get_i64(spindle_ipc::client::RPC_TIMEOUT_KEY)?,
        ),
        gpu_devices,
        containers,
        recovery: nm_recovery(&conf)?,
        registration_secret: spindle_rm::service::registration_secret(&conf)?,
        ipc_server: Some(ipc_server_config(&conf, Default::default())?),
    })
    .await?;
    println!(
        "NodeManager {} running with {}",
        nm.node_id(),
        config.resource
    );
    println!(
        "NodeManager web services: http://{}/ws/v1/node",
        nm.web_address()
    );
    let aggregation = &nm.container_manager().config().log_aggregation;
    if aggregation.enabled {
        println!(
            "NodeManager log aggregation: finished applications' logs go to {}",
            aggregation.remote_root.display()
        );
    }
    let signal = super::stop_signal::stop_requested().await?;
    if nm.is_supervised() {
        println!("NodeManager stopping on {signal}: its containers keep running for the restarted NodeManager to recover");
    } else {
        println!("NodeManager stopping on {signal}: stopping its containers");
    }
    nm.shutdown().await;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipc_limits_come_from_hadoops_keys_and_spindles_own() {
        let mut conf = Configuration::new();
        let base = spindle_ipc::ServerConfig::default();
        let unchanged = ipc_server_config(&conf, base.clone()).unwrap();
        assert_eq!(unchanged.max_connections, base.max_connections);
        assert_eq!(unchanged.max_calls_in_flight, base.max_calls_in_flight);
        for (key, value) in [
            ("ipc.maximum.data.length", "1048576"),
            ("ipc.server.max.connections", "500"),
            ("ipc.client.connection.maxidletime", "5000"),
            ("spindle.ipc.server.max-calls-in-flight", "64"),
            ("spindle.ipc.server.max-unauthenticated-per-address", "8"),
            ("spindle.ipc.server.authentication-timeout-ms", "2000"),
        ] {
            conf.set(key, value).unwrap();
        }
        let config = ipc_server_config(&conf, base.clone()).unwrap();
        assert_eq!(config.max_frame_len, 1 << 20);
        assert_eq!(config.max_connections, 500);
        assert_eq!(config.idle_timeout, std::time::Duration::from_secs(10));
        assert_eq!(config.max_calls_in_flight, 64);
        assert_eq!(config.max_unauthenticated_per_address, 8);
        assert_eq!(config.auth_timeout, std::time::Duration::from_secs(2));
        // Hadoop's 0 means "no limit of its own": Spindle's default stays.
        conf.set("ipc.server.max.connections", "0").unwrap();
        assert_eq!(
            ipc_server_config(&conf, base.clone())
                .unwrap()
                .max_connections,
            base.max_connections
        );
        conf.set("spindle.ipc.server.max-calls-in-flight", "lots")
            .unwrap();
        let error = ipc_server_config(&conf, base).unwrap_err().to_string();
        assert!(
            error.contains("spindle.ipc.server.max-calls-in-flight"),
            "{error}"
        );
    }
}
