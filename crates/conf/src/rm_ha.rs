//! ResourceManager HA as clients and NodeManagers see it: which RMs there are and where each one
//! serves a protocol (Hadoop's `HAUtil` rules), and the numbers of the client failover policy
//! (Hadoop's `RMProxy.createRetryPolicy` for HA).
//!
//! With `yarn.resourcemanager.ha.enabled=true`, `yarn.resourcemanager.ha.rm-ids` lists the RMs
//! (`rm1,rm2`). A service address of one RM is `<address key>.<rm-id>`; when that is unset it is
//! `yarn.resourcemanager.hostname.<rm-id>` with the service's default port. Without HA there is
//! one RM, at the plain address key.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use crate::configuration::Configuration;
use crate::error::ConfError;
use crate::host_port::HostPort;
use crate::keys;

/// An RM service whose address has a per-rm-id form in HA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RmService {
    /// ApplicationClientProtocol: `yarn.resourcemanager.address`, port 8032.
    Client,
    /// ApplicationMasterProtocol: `yarn.resourcemanager.scheduler.address`, port 8030.
    Scheduler,
    /// ResourceTracker (NodeManagers): `yarn.resourcemanager.resource-tracker.address`, port 8031.
    ResourceTracker,
    /// Admin and HA protocols: `yarn.resourcemanager.admin.address`, port 8033.
    Admin,
}

impl RmService {
    /// Every service, in the order Hadoop's `getServiceAddressConfKeys` lists them.
    pub const ALL: [RmService; 4] = [
        RmService::Client,
        RmService::Scheduler,
        RmService::Admin,
        RmService::ResourceTracker,
    ];

    /// The address key without an rm-id suffix.
    pub fn address_key(self) -> &'static str {
        match self {
            RmService::Client => keys::RM_ADDRESS,
            RmService::Scheduler => keys::RM_SCHEDULER_ADDRESS,
            RmService::ResourceTracker => keys::RM_RESOURCE_TRACKER_ADDRESS,
            RmService::Admin => keys::RM_ADMIN_ADDRESS,
        }
    }

    /// YARN's default port (`YarnConfiguration.getRMDefaultPortNumber`).
    pub fn default_port(self) -> u16 {
        match self {
            RmService::Client => 8032,
            RmService::Scheduler => 8030,
            RmService::ResourceTracker => 8031,
            RmService::Admin => 8033,
        }
    }

    /// The address key of RM `rm_id`, e.g. `yarn.resourcemanager.address.rm1`.
    pub fn address_key_for(self, rm_id: &str) -> String {
        format!("{}.{rm_id}", self.address_key())
    }
}

/// Where one RM serves one service. `rm_id` is `None` without HA.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RmAddress {
    pub rm_id: Option<String>,
    pub address: HostPort,
}

impl fmt::Display for RmAddress {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rm_id {
            Some(rm_id) => write!(formatter, "{rm_id} ({})", self.address),
            None => write!(formatter, "{}", self.address),
        }
    }
}

/// `yarn.resourcemanager.ha.enabled` (default false).
pub fn is_ha_enabled(configuration: &Configuration) -> Result<bool, ConfError> {
    Ok(configuration
        .get_bool(keys::RM_HA_ENABLED)?
        .unwrap_or(false))
}

/// `yarn.resourcemanager.ha.rm-ids`, trimmed, in order. An HA configuration needs at least one
/// (the RM itself needs two; a client does not check). An id may not start with '.', contain
/// whitespace, or appear twice.
pub fn rm_ids(configuration: &Configuration) -> Result<Vec<String>, ConfError> {
    let value = configuration.get(keys::RM_HA_IDS).unwrap_or_default();
    let invalid = |expected: &str| ConfError::InvalidValue {
        key: keys::RM_HA_IDS.to_string(),
        value: value.to_string(),
        expected: expected.to_string(),
    };
    let ids = configuration.get_strings(keys::RM_HA_IDS);
    if ids.is_empty() {
        return Err(invalid(
            "a comma-separated list of RM ids such as rm1,rm2 (yarn.resourcemanager.ha.enabled is true)",
        ));
    }
    let mut seen = BTreeSet::new();
    for id in &ids {
        if id.starts_with('.') || id.contains(char::is_whitespace) {
            return Err(invalid(&format!(
                "RM ids without whitespace or a leading '.' (not '{id}')"
            )));
        }
        if !seen.insert(id.as_str()) {
            return Err(invalid(&format!("distinct RM ids ('{id}' appears twice)")));
        }
    }
    Ok(ids)
}

/// Where RM `rm_id` serves `service`: `<key>.<rm_id>` (a missing port is the default one), else
/// `yarn.resourcemanager.hostname.<rm_id>` with the default port (Hadoop's `HAUtil`).
pub fn rm_address_for_id(
    configuration: &Configuration,
    service: RmService,
    rm_id: &str,
) -> Result<HostPort, ConfError> {
    let address_key = service.address_key_for(rm_id);
    if let Some(value) = configuration
        .get_trimmed(&address_key)
        .filter(|v| !v.is_empty())
    {
        return HostPort::parse(value, Some(service.default_port())).map_err(|_| {
            ConfError::InvalidValue {
                key: address_key.clone(),
                value: value.to_string(),
                expected: "host:port".to_string(),
            }
        });
    }
    let hostname_key = format!("{}.{rm_id}", keys::RM_HOSTNAME);
    match configuration
        .get_trimmed(&hostname_key)
        .filter(|v| !v.is_empty())
    {
        Some(host) => {
            HostPort::parse(&format!("{host}:{}", service.default_port()), None).map_err(|_| {
                ConfError::InvalidValue {
                    key: hostname_key.clone(),
                    value: host.to_string(),
                    expected: "a host name or IP address, without a port".to_string(),
                }
            })
        }
        None => Err(ConfError::MissingRmAddress {
            rm_id: rm_id.to_string(),
            address_key,
            hostname_key,
        }),
    }
}

/// Every RM's address for `service`, in failover order: one per rm-id with HA, else the one
/// address of the plain key (YARN's default when unset).
pub fn rm_addresses(
    configuration: &Configuration,
    service: RmService,
) -> Result<Vec<RmAddress>, ConfError> {
    if !is_ha_enabled(configuration)? {
        let key = service.address_key();
        let address =
            configuration.get_host_port(key, keys::default_value(key).unwrap_or_default())?;
        return Ok(vec![RmAddress {
            rm_id: None,
            address,
        }]);
    }
    rm_ids(configuration)?
        .into_iter()
        .map(|rm_id| {
            let address = rm_address_for_id(configuration, service, &rm_id)?;
            Ok(RmAddress {
                rm_id: Some(rm_id),
                address,
            })
        })
        .collect()
}

/// The numbers of the HA client retry policy: how long to sleep between failovers and how many
/// failovers one call may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RmFailoverSettings {
    /// `yarn.client.failover-sleep-base-ms`, else `yarn.resourcemanager.connect.retry-interval.ms`.
    pub sleep_base: Duration,
    /// `yarn.client.failover-sleep-max-ms`, else `yarn.resourcemanager.connect.retry-interval.ms`.
    pub sleep_max: Duration,
    /// `yarn.client.failover-max-attempts`; unset or -1: `connect.max-wait.ms / sleep_base`
    /// (`i32::MAX` when the wait is -1, "forever").
    pub max_failovers: u32,
}

/// Hadoop's `Integer.MAX_VALUE`: the failover limit when the client waits forever.
const UNLIMITED_FAILOVERS: u32 = i32::MAX as u32;

impl RmFailoverSettings {
    /// Reads the policy as `RMProxy.createRetryPolicy` does for HA, defaults from
    /// yarn-default.xml (retry interval 30 s, max wait 15 min: 30 failovers).
    pub fn from_configuration(configuration: &Configuration) -> Result<Self, ConfError> {
        let milliseconds = |key: &str, default: i64| -> Result<i64, ConfError> {
            Ok(configuration.get_i64(key)?.unwrap_or(default))
        };
        let non_negative = |key: &str, value: i64| -> Result<u64, ConfError> {
            u64::try_from(value).map_err(|_| ConfError::InvalidValue {
                key: key.to_string(),
                value: value.to_string(),
                expected: "a non-negative number of milliseconds".to_string(),
            })
        };
        let retry_interval = milliseconds(keys::CLIENT_RM_CONNECT_RETRY_INTERVAL_MS, 30_000)?;
        let retry_interval =
            non_negative(keys::CLIENT_RM_CONNECT_RETRY_INTERVAL_MS, retry_interval)?;
        let max_wait = match milliseconds(keys::CLIENT_RM_CONNECT_MAX_WAIT_MS, 900_000)? {
            -1 => None,
            wait if wait < 0 => {
                return Err(ConfError::InvalidValue {
                    key: keys::CLIENT_RM_CONNECT_MAX_WAIT_MS.to_string(),
                    value: wait.to_string(),
                    expected: "-1 (wait forever) or a non-negative number of milliseconds"
                        .to_string(),
                })
            }
            // Shorter than one retry interval: Hadoop tries to connect once.
            wait if (wait as u64) < retry_interval => Some(0),
            wait => Some(wait as u64),
        };
        let sleep_base = milliseconds(keys::CLIENT_FAILOVER_SLEEP_BASE_MS, retry_interval as i64)?;
        let sleep_base = non_negative(keys::CLIENT_FAILOVER_SLEEP_BASE_MS, sleep_base)?;
        let sleep_max = milliseconds(keys::CLIENT_FAILOVER_SLEEP_MAX_MS, retry_interval as i64)?;
        let sleep_max = non_negative(keys::CLIENT_FAILOVER_SLEEP_MAX_MS, sleep_max)?;
        let max_failovers = match configuration.get_i64(keys::CLIENT_FAILOVER_MAX_ATTEMPTS)? {
            None | Some(-1) => match max_wait {
                None => UNLIMITED_FAILOVERS,
                Some(_) if sleep_base == 0 => {
                    return Err(ConfError::InvalidValue {
                        key: keys::CLIENT_FAILOVER_SLEEP_BASE_MS.to_string(),
                        value: "0".to_string(),
                        expected: format!(
                            "a positive number of milliseconds, or set {}",
                            keys::CLIENT_FAILOVER_MAX_ATTEMPTS
                        ),
                    })
                }
                Some(wait) => (wait / sleep_base).min(u64::from(UNLIMITED_FAILOVERS)) as u32,
            },
            Some(attempts) => u32::try_from(attempts)
                .ok()
                .filter(|attempts| *attempts <= UNLIMITED_FAILOVERS)
                .ok_or_else(|| ConfError::InvalidValue {
                    key: keys::CLIENT_FAILOVER_MAX_ATTEMPTS.to_string(),
                    value: attempts.to_string(),
                    expected: "-1 (from yarn.resourcemanager.connect.max-wait.ms) or a number of failovers from 0 to 2147483647".to_string(),
                })?,
        };
        Ok(Self {
            sleep_base: Duration::from_millis(sleep_base),
            sleep_max: Duration::from_millis(sleep_max),
            max_failovers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configuration(pairs: &[(&str, &str)]) -> Configuration {
        let mut configuration = Configuration::with_yarn_defaults().unwrap();
        for (key, value) in pairs {
            configuration.set(key, value).unwrap();
        }
        configuration
    }

    fn ha(pairs: &[(&str, &str)]) -> Configuration {
        let mut all = vec![(keys::RM_HA_ENABLED, "true")];
        all.extend_from_slice(pairs);
        configuration(&all)
    }

    fn shown(addresses: &[RmAddress]) -> Vec<String> {
        addresses.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn without_ha_there_is_one_rm_at_the_plain_key() {
        let configuration = configuration(&[
            (keys::RM_HOSTNAME, "rm.example.com"),
            (keys::RM_HA_IDS, "rm1,rm2"),
            ("yarn.resourcemanager.address.rm1", "elsewhere:1"),
        ]);
        assert_eq!(
            shown(&rm_addresses(&configuration, RmService::Client).unwrap()),
            ["rm.example.com:8032"]
        );
        assert_eq!(
            shown(&rm_addresses(&configuration, RmService::ResourceTracker).unwrap()),
            ["rm.example.com:8031"]
        );
        // Without YARN's defaults loaded, the default still applies.
        let mut bare = Configuration::new();
        bare.set(keys::RM_HOSTNAME, "rm.example.com").unwrap();
        assert_eq!(
            shown(&rm_addresses(&bare, RmService::Scheduler).unwrap()),
            ["rm.example.com:8030"]
        );
    }

    #[test]
    fn per_id_keys_win_and_hostnames_fill_in_default_ports() {
        let configuration = ha(&[
            (keys::RM_HA_IDS, " rm1 , rm2,rm3 "),
            ("yarn.resourcemanager.hostname.rm1", "host1"),
            ("yarn.resourcemanager.hostname.rm2", "host2"),
            ("yarn.resourcemanager.address.rm2", "10.0.0.2:9032"),
            ("yarn.resourcemanager.scheduler.address.rm3", "host3:9030"),
            ("yarn.resourcemanager.address.rm3", "host3"),
            (
                "yarn.resourcemanager.resource-tracker.address.rm3",
                "host3:9031",
            ),
            ("yarn.resourcemanager.admin.address.rm3", "host3:9033"),
            // The non-HA keys are ignored in HA.
            (keys::RM_ADDRESS, "ignored:1"),
        ]);
        assert_eq!(
            rm_ids(&configuration).unwrap(),
            ["rm1", "rm2", "rm3"],
            "trimmed, in order"
        );
        assert_eq!(
            shown(&rm_addresses(&configuration, RmService::Client).unwrap()),
            [
                "rm1 (host1:8032)",
                "rm2 (10.0.0.2:9032)",
                "rm3 (host3:8032)"
            ]
        );
        let configuration = ha(&[
            (keys::RM_HA_IDS, "rm1,rm2"),
            ("yarn.resourcemanager.hostname.rm1", "host1"),
            ("yarn.resourcemanager.hostname.rm2", "host2"),
        ]);
        for (service, port) in [
            (RmService::Client, 8032),
            (RmService::Scheduler, 8030),
            (RmService::ResourceTracker, 8031),
            (RmService::Admin, 8033),
        ] {
            let addresses = rm_addresses(&configuration, service).unwrap();
            assert_eq!(
                addresses,
                [
                    RmAddress {
                        rm_id: Some("rm1".into()),
                        address: HostPort::new("host1", port)
                    },
                    RmAddress {
                        rm_id: Some("rm2".into()),
                        address: HostPort::new("host2", port)
                    },
                ],
                "{service:?}"
            );
        }
    }

    #[test]
    fn missing_and_malformed_ids_and_addresses_name_the_key() {
        let error = |configuration: Configuration, service| {
            rm_addresses(&configuration, service)
                .unwrap_err()
                .to_string()
        };
        let text = error(ha(&[]), RmService::Client);
        assert!(text.contains("yarn.resourcemanager.ha.rm-ids"), "{text}");
        let text = error(ha(&[(keys::RM_HA_IDS, " , ")]), RmService::Client);
        assert!(text.contains("yarn.resourcemanager.ha.rm-ids"), "{text}");
        let text = error(ha(&[(keys::RM_HA_IDS, "rm1,.rm2")]), RmService::Client);
        assert!(text.contains("'.rm2'"), "{text}");
        let text = error(ha(&[(keys::RM_HA_IDS, "rm1,rm 2")]), RmService::Client);
        assert!(text.contains("'rm 2'"), "{text}");
        let text = error(ha(&[(keys::RM_HA_IDS, "rm1,rm1")]), RmService::Client);
        assert!(text.contains("'rm1' appears twice"), "{text}");

        let text = error(
            ha(&[
                (keys::RM_HA_IDS, "rm1,rm2"),
                ("yarn.resourcemanager.hostname.rm1", "host1"),
            ]),
            RmService::Scheduler,
        );
        assert!(
            text.contains("yarn.resourcemanager.scheduler.address.rm2")
                && text.contains("yarn.resourcemanager.hostname.rm2"),
            "{text}"
        );
        let text = error(
            ha(&[
                (keys::RM_HA_IDS, "rm1"),
                ("yarn.resourcemanager.address.rm1", "host1:port"),
            ]),
            RmService::Client,
        );
        assert!(
            text.contains("yarn.resourcemanager.address.rm1") && text.contains("host1:port"),
            "{text}"
        );
        let text = error(
            ha(&[
                (keys::RM_HA_IDS, "rm1"),
                ("yarn.resourcemanager.hostname.rm1", "host1:8032"),
            ]),
            RmService::Client,
        );
        assert!(text.contains("yarn.resourcemanager.hostname.rm1"), "{text}");
        let text = error(
            configuration(&[(keys::RM_HA_ENABLED, "maybe")]),
            RmService::Client,
        );
        assert!(text.contains("yarn.resourcemanager.ha.enabled"), "{text}");
    }

    #[test]
    fn failover_numbers_follow_rm_proxy() {
        let settings = |pairs: &[(&str, &str)]| RmFailoverSettings::from_configuration(&ha(pairs));
        assert_eq!(
            settings(&[]).unwrap(),
            RmFailoverSettings {
                sleep_base: Duration::from_secs(30),
                sleep_max: Duration::from_secs(30),
                max_failovers: 30,
            },
            "YARN's defaults: 900000 / 30000"
        );
        assert_eq!(
            settings(&[
                (keys::CLIENT_FAILOVER_SLEEP_BASE_MS, "10"),
                (keys::CLIENT_FAILOVER_SLEEP_MAX_MS, "40"),
                (keys::CLIENT_FAILOVER_MAX_ATTEMPTS, "3"),
            ])
            .unwrap(),
            RmFailoverSettings {
                sleep_base: Duration::from_millis(10),
                sleep_max: Duration::from_millis(40),
                max_failovers: 3,
            }
        );
        // Base and cap follow the retry interval; the limit is max-wait / base.
        assert_eq!(
            settings(&[
                (keys::CLIENT_RM_CONNECT_RETRY_INTERVAL_MS, "1000"),
                (keys::CLIENT_RM_CONNECT_MAX_WAIT_MS, "10000"),
                (keys::CLIENT_FAILOVER_SLEEP_BASE_MS, "500"),
            ])
            .unwrap(),
            RmFailoverSettings {
                sleep_base: Duration::from_millis(500),
                sleep_max: Duration::from_secs(1),
                max_failovers: 20,
            }
        );
        assert_eq!(
            settings(&[(keys::CLIENT_RM_CONNECT_MAX_WAIT_MS, "-1")])
                .unwrap()
                .max_failovers,
            i32::MAX as u32,
            "waiting forever"
        );
        assert_eq!(
            settings(&[(keys::CLIENT_RM_CONNECT_MAX_WAIT_MS, "1000")])
                .unwrap()
                .max_failovers,
            0,
            "a wait shorter than the retry interval tries once"
        );
        assert_eq!(
            settings(&[(keys::CLIENT_FAILOVER_MAX_ATTEMPTS, "0")])
                .unwrap()
                .max_failovers,
            0
        );
        for (pairs, key) in [
            (
                &[(keys::CLIENT_FAILOVER_MAX_ATTEMPTS, "-2")][..],
                keys::CLIENT_FAILOVER_MAX_ATTEMPTS,
            ),
            (
                &[(keys::CLIENT_FAILOVER_MAX_ATTEMPTS, "many")][..],
                keys::CLIENT_FAILOVER_MAX_ATTEMPTS,
            ),
            (
                &[(keys::CLIENT_FAILOVER_SLEEP_BASE_MS, "-5")][..],
                keys::CLIENT_FAILOVER_SLEEP_BASE_MS,
            ),
            (
                &[(keys::CLIENT_FAILOVER_SLEEP_BASE_MS, "0")][..],
                keys::CLIENT_FAILOVER_SLEEP_BASE_MS,
            ),
            (
                &[(keys::CLIENT_RM_CONNECT_MAX_WAIT_MS, "-7")][..],
                keys::CLIENT_RM_CONNECT_MAX_WAIT_MS,
            ),
            (
                &[(keys::CLIENT_RM_CONNECT_RETRY_INTERVAL_MS, "-1")][..],
                keys::CLIENT_RM_CONNECT_RETRY_INTERVAL_MS,
            ),
        ] {
            let text = settings(pairs).unwrap_err().to_string();
            assert!(text.contains(key), "{pairs:?}: {text}");
        }
        assert!(
            settings(&[
                (keys::CLIENT_FAILOVER_SLEEP_BASE_MS, "0"),
                (keys::CLIENT_FAILOVER_MAX_ATTEMPTS, "5"),
            ])
            .is_ok(),
            "a zero base is fine with an explicit limit"
        );
    }
}
