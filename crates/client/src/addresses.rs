//! Where the RM is (from yarn-site.xml): one address, or with RM HA every rm-id's address and the
//! failover policy ([`RmEndpoints`]); which user a client acts as; async name resolution.

use std::fmt;
use std::net::SocketAddr;

use spindle_conf::{
    is_ha_enabled, keys, rm_addresses, rm_ids, Configuration, HostPort, RmAddress,
    RmFailoverSettings, RmService,
};

use crate::error::ClientError;

/// The RMs a client may talk to for one service, in failover order, and how it fails over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RmEndpoints {
    /// One address without HA; one per rm-id with HA (never empty).
    pub addresses: Vec<RmAddress>,
    /// `Some` with RM HA: calls fail over between `addresses` by this policy. `None`: the one
    /// address, re-connected for up to 15 minutes when it goes away.
    pub failover: Option<RmFailoverSettings>,
}

impl RmEndpoints {
    /// One RM, no failover.
    pub fn single(address: SocketAddr) -> Self {
        Self {
            addresses: vec![RmAddress {
                rm_id: None,
                address: HostPort::new(address.ip().to_string(), address.port()),
            }],
            failover: None,
        }
    }

    /// Every RM of `configuration` serving `service`: with `yarn.resourcemanager.ha.enabled`,
    /// each rm-id's address and the policy of the `yarn.client.failover-*` keys; else the one
    /// address of the plain key.
    pub fn from_configuration(
        configuration: &Configuration,
        service: RmService,
    ) -> Result<Self, ClientError> {
        let addresses = rm_addresses(configuration, service)?;
        let failover = if is_ha_enabled(configuration)? {
            Some(RmFailoverSettings::from_configuration(configuration)?)
        } else {
            None
        };
        Ok(Self {
            addresses,
            failover,
        })
    }
}

impl fmt::Display for RmEndpoints {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut separator = "";
        for address in &self.addresses {
            write!(formatter, "{separator}{address}")?;
            separator = ", ";
        }
        Ok(())
    }
}

/// What an ApplicationMaster needs of its submitter's configuration to find every RM's scheduler
/// address and fail over like the submitter would (YARN ships the submitter's configuration to
/// its AMs): with RM HA, `yarn.resourcemanager.ha.*`, each rm-id's scheduler address and the
/// failover numbers, all resolved to plain values; without HA nothing.
pub fn scheduler_failover_properties(
    configuration: &Configuration,
) -> Result<Vec<(String, String)>, ClientError> {
    if !is_ha_enabled(configuration)? {
        return Ok(Vec::new());
    }
    let ids = rm_ids(configuration)?;
    let settings = RmFailoverSettings::from_configuration(configuration)?;
    let mut properties = vec![
        (keys::RM_HA_ENABLED.to_string(), "true".to_string()),
        (keys::RM_HA_IDS.to_string(), ids.join(",")),
    ];
    for address in rm_addresses(configuration, RmService::Scheduler)? {
        if let Some(rm_id) = &address.rm_id {
            properties.push((
                RmService::Scheduler.address_key_for(rm_id),
                address.address.to_string(),
            ));
        }
    }
    properties.extend([
        (
            keys::CLIENT_FAILOVER_SLEEP_BASE_MS.to_string(),
            settings.sleep_base.as_millis().to_string(),
        ),
        (
            keys::CLIENT_FAILOVER_SLEEP_MAX_MS.to_string(),
            settings.sleep_max.as_millis().to_string(),
        ),
        (
            keys::CLIENT_FAILOVER_MAX_ATTEMPTS.to_string(),
            settings.max_failovers.to_string(),
        ),
    ]);
    Ok(properties)
}

/// `yarn.resourcemanager.address` (ApplicationClientProtocol), YARN's default when unset.
pub fn resource_manager_address(configuration: &Configuration) -> Result<HostPort, ClientError> {
    address(configuration, keys::RM_ADDRESS)
}

/// `yarn.resourcemanager.scheduler.address` (ApplicationMasterProtocol).
pub fn scheduler_address(configuration: &Configuration) -> Result<HostPort, ClientError> {
    address(configuration, keys::RM_SCHEDULER_ADDRESS)
}

fn address(configuration: &Configuration, key: &str) -> Result<HostPort, ClientError> {
    Ok(configuration.get_host_port(key, keys::default_value(key).unwrap_or_default())?)
}

/// The user a client acts as under SIMPLE auth, like Hadoop's login user: `$HADOOP_USER_NAME`,
/// else the account name (`user.name`), else `$USER`.
pub fn current_user(configuration: Option<&Configuration>) -> String {
    let from_environment = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    from_environment("HADOOP_USER_NAME")
        .or_else(|| configuration.and_then(|c| c.system_properties().get("user.name").cloned()))
        .or_else(|| from_environment("USER"))
        .unwrap_or_else(|| "dr.who".to_string())
}

/// Resolves `host:port` without blocking the runtime, preferring IPv4 as Java does.
pub async fn resolve(address: &str) -> Result<SocketAddr, ClientError> {
    let resolve_error = |source| ClientError::Resolve {
        address: address.to_string(),
        source,
    };
    let candidates: Vec<SocketAddr> = tokio::net::lookup_host(address)
        .await
        .map_err(resolve_error)?
        .collect();
    candidates
        .iter()
        .find(|candidate| candidate.is_ipv4())
        .or_else(|| candidates.first())
        .copied()
        .ok_or_else(|| {
            resolve_error(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no address",
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_follow_the_rm_hostname_by_default() {
        let mut configuration = Configuration::with_yarn_defaults().unwrap();
        configuration
            .set(keys::RM_HOSTNAME, "rm.example.com")
            .unwrap();
        assert_eq!(
            resource_manager_address(&configuration)
                .unwrap()
                .to_string(),
            "rm.example.com:8032"
        );
        assert_eq!(
            scheduler_address(&configuration).unwrap().to_string(),
            "rm.example.com:8030"
        );
        configuration
            .set(keys::RM_ADDRESS, "127.0.0.1:1234")
            .unwrap();
        assert_eq!(
            resource_manager_address(&configuration)
                .unwrap()
                .to_string(),
            "127.0.0.1:1234"
        );
    }

    #[test]
    fn a_malformed_address_names_the_key() {
        let mut configuration = Configuration::with_yarn_defaults().unwrap();
        configuration.set(keys::RM_ADDRESS, "no-port-here").unwrap();
        let error = resource_manager_address(&configuration).unwrap_err();
        assert!(error.to_string().contains(keys::RM_ADDRESS), "{error}");
    }

    #[test]
    fn endpoints_list_every_rm_id_with_ha_and_one_address_without() {
        let mut configuration = Configuration::with_yarn_defaults().unwrap();
        configuration
            .set(keys::RM_ADDRESS, "127.0.0.1:1234")
            .unwrap();
        let single = RmEndpoints::from_configuration(&configuration, RmService::Client).unwrap();
        assert_eq!(single.to_string(), "127.0.0.1:1234");
        assert_eq!(single.failover, None);
        assert_eq!(
            single,
            RmEndpoints::single("127.0.0.1:1234".parse().unwrap())
        );
        assert!(scheduler_failover_properties(&configuration)
            .unwrap()
            .is_empty());

        for (key, value) in [
            (keys::RM_HA_ENABLED, "true"),
            (keys::RM_HA_IDS, "rm1,rm2"),
            ("yarn.resourcemanager.hostname.rm1", "host1"),
            ("yarn.resourcemanager.hostname.rm2", "host2"),
            ("yarn.resourcemanager.scheduler.address.rm2", "host2:9030"),
            (keys::CLIENT_FAILOVER_MAX_ATTEMPTS, "3"),
            (keys::CLIENT_FAILOVER_SLEEP_BASE_MS, "10"),
        ] {
            configuration.set(key, value).unwrap();
        }
        let ha = RmEndpoints::from_configuration(&configuration, RmService::Client).unwrap();
        assert_eq!(ha.to_string(), "rm1 (host1:8032), rm2 (host2:8032)");
        let failover = ha.failover.unwrap();
        assert_eq!(
            (failover.max_failovers, failover.sleep_base.as_millis()),
            (3, 10)
        );

        // The AM rebuilds the same scheduler endpoints from the shipped properties alone.
        let properties = scheduler_failover_properties(&configuration).unwrap();
        let mut shipped = Configuration::new();
        for (key, value) in &properties {
            shipped.set(key, value).unwrap();
        }
        assert_eq!(
            RmEndpoints::from_configuration(&shipped, RmService::Scheduler).unwrap(),
            RmEndpoints::from_configuration(&configuration, RmService::Scheduler).unwrap()
        );
        assert_eq!(
            RmEndpoints::from_configuration(&shipped, RmService::Scheduler)
                .unwrap()
                .to_string(),
            "rm1 (host1:8030), rm2 (host2:9030)"
        );
    }

    #[tokio::test]
    async fn resolution_prefers_ipv4_and_reports_failures() {
        assert_eq!(
            resolve("127.0.0.1:80").await.unwrap(),
            "127.0.0.1:80".parse::<SocketAddr>().unwrap()
        );
        let error = resolve("no-such-host.invalid:80").await.unwrap_err();
        assert!(matches!(error, ClientError::Resolve { .. }), "{error}");
    }
}
