//! An RM's HA settings from yarn-site.xml: whether HA is on, which rm-id this RM is, the
//! addresses that rm-id binds (`yarn.resourcemanager.address.<id>` …, else
//! `yarn.resourcemanager.hostname.<id>` with the default port), and the ZooKeeper ensemble.

use std::net::{SocketAddr, ToSocketAddrs};

use spindle_conf::Configuration;

use super::HaSettings;
use crate::service::RmBindAddresses;

/// The per-id keys and default ports of the addresses an RM binds.
const ADDRESS_KEYS: [(&str, u16); 4] = [
    ("yarn.resourcemanager.address", 8032),
    ("yarn.resourcemanager.scheduler.address", 8030),
    ("yarn.resourcemanager.resource-tracker.address", 8031),
    ("yarn.resourcemanager.admin.address", 8033),
];

fn value(conf: &Configuration, key: &str) -> Option<String> {
    conf.get(key)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// `host:port` of `key` for `rm_id`: the per-id key, else `yarn.resourcemanager.hostname.<id>`
/// with the default port.
fn address_text(conf: &Configuration, key: &str, port: u16, rm_id: &str) -> Result<String, String> {
    if let Some(address) = value(conf, &format!("{key}.{rm_id}")) {
        return Ok(address);
    }
    let host = value(conf, &format!("yarn.resourcemanager.hostname.{rm_id}")).ok_or(format!(
        "neither {key}.{rm_id} nor yarn.resourcemanager.hostname.{rm_id} is set"
    ))?;
    Ok(format!("{host}:{port}"))
}

fn resolve(text: &str, key: &str) -> Result<SocketAddr, String> {
    text.to_socket_addrs()
        .map_err(|e| format!("{key} = {text}: {e}"))?
        .next()
        .ok_or(format!("{key} = {text}: no address"))
}

/// Whether this machine can bind `address`'s IP (it is one of its own).
fn is_local(address: &SocketAddr) -> bool {
    std::net::TcpListener::bind(SocketAddr::new(address.ip(), 0)).is_ok()
}

/// None when `yarn.resourcemanager.ha.enabled` is off; else this RM's HA settings and the
/// addresses its rm-id binds.
pub fn from_configuration(
    conf: &Configuration,
) -> Result<Option<(HaSettings, RmBindAddresses)>, String> {
    let enabled = conf
        .get_bool("yarn.resourcemanager.ha.enabled")
        .map_err(|e| e.to_string())?
        .unwrap_or(false);
    if !enabled {
        return Ok(None);
    }
    let ids: Vec<String> = value(conf, "yarn.resourcemanager.ha.rm-ids")
        .unwrap_or_default()
        .split(',')
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
        .collect();
    if ids.len() < 2 {
        return Err(format!(
            "HA mode requires at least two RMs in yarn.resourcemanager.ha.rm-ids (got {ids:?})"
        ));
    }
    let rm_id = match value(conf, "yarn.resourcemanager.ha.id") {
        Some(id) if ids.contains(&id) => id,
        Some(id) => {
            return Err(format!(
                "yarn.resourcemanager.ha.id = {id} is not one of yarn.resourcemanager.ha.rm-ids {ids:?}"
            ))
        }
        None => {
            let mut local = Vec::new();
            for id in &ids {
                let key = "yarn.resourcemanager.address";
                let address = resolve(&address_text(conf, key, 8032, id)?, key)?;
                if is_local(&address) {
                    local.push(id.clone());
                }
            }
            match local.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(format!(
                        "no rm-id of {ids:?} has a yarn.resourcemanager.address on this machine; set yarn.resourcemanager.ha.id"
                    ))
                }
                many => {
                    return Err(format!(
                        "rm-ids {many:?} all have a yarn.resourcemanager.address on this machine; set yarn.resourcemanager.ha.id"
                    ))
                }
            }
        }
    };
    let cluster_id = value(conf, "yarn.resourcemanager.cluster-id")
        .ok_or("Configuration doesn't specify yarn.resourcemanager.cluster-id")?;
    let recovery = conf
        .get_bool("yarn.resourcemanager.recovery.enabled")
        .map_err(|e| e.to_string())?
        .unwrap_or(false);
    let store = value(conf, "yarn.resourcemanager.store.class").unwrap_or_default();
    if !recovery || store != crate::store::classes::ZOOKEEPER {
        return Err(format!(
            "HA needs yarn.resourcemanager.recovery.enabled=true and yarn.resourcemanager.store.class={} (the store that fences a deposed RM); got recovery {recovery}, store {store:?}",
            crate::store::classes::ZOOKEEPER
        ));
    }
    let mut addresses = Vec::new();
    for (key, port) in ADDRESS_KEYS {
        addresses.push(resolve(&address_text(conf, key, port, &rm_id)?, key)?);
    }
    let bind = RmBindAddresses {
        client: addresses[0],
        scheduler: addresses[1],
        tracker: addresses[2],
        admin: addresses[3],
    };
    let mut zookeeper = crate::store::zookeeper_settings(conf)?;
    zookeeper.fencing_user = bind.client.to_string();
    let automatic_failover = conf
        .get_bool("yarn.resourcemanager.ha.automatic-failover.enabled")
        .map_err(|e| e.to_string())?
        .unwrap_or(true);
    Ok(Some((
        HaSettings {
            rm_id,
            cluster_id,
            zookeeper,
            election_base: value(
                conf,
                "yarn.resourcemanager.ha.automatic-failover.zk-base-path",
            )
            .unwrap_or_else(|| "/yarn-leader-election".into()),
            automatic_failover,
        },
        bind,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(pairs: &[(&str, &str)]) -> Configuration {
        let mut c = Configuration::new();
        for (k, v) in pairs {
            c.set(k, v).unwrap();
        }
        c
    }

    const HA: [(&str, &str); 8] = [
        ("yarn.resourcemanager.ha.id", "rm2"),
        ("yarn.resourcemanager.ha.enabled", "true"),
        ("yarn.resourcemanager.ha.rm-ids", "rm1,rm2"),
        ("yarn.resourcemanager.cluster-id", "c1"),
        ("yarn.resourcemanager.recovery.enabled", "true"),
        (
            "yarn.resourcemanager.store.class",
            "org.apache.hadoop.yarn.server.resourcemanager.recovery.ZKRMStateStore",
        ),
        ("hadoop.zk.address", "127.0.0.1:2181"),
        ("yarn.resourcemanager.hostname.rm2", "127.0.0.1"),
    ];

    #[test]
    fn this_rms_addresses_come_from_its_id() {
        let mut pairs = HA.to_vec();
        pairs.extend([
            ("yarn.resourcemanager.address.rm2", "127.0.0.1:18032"),
            ("yarn.resourcemanager.hostname.rm1", "127.0.0.1"),
        ]);
        let (ha, bind) = from_configuration(&conf(&pairs)).unwrap().unwrap();
        assert_eq!(ha.rm_id, "rm2");
        assert_eq!(bind.client.port(), 18032);
        assert_eq!(
            bind.scheduler.port(),
            8030,
            "hostname.rm2 + the default port"
        );
        assert_eq!(bind.admin.port(), 8033);
        assert_eq!(ha.zookeeper.fencing_user, "127.0.0.1:18032");
        assert!(ha.automatic_failover);
    }

    #[test]
    fn bad_ha_configurations_are_refused_by_name() {
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (
                vec![("yarn.resourcemanager.ha.rm-ids", "rm1")],
                "at least two RMs",
            ),
            (vec![("yarn.resourcemanager.ha.id", "rm9")], "is not one of"),
            (
                vec![("yarn.resourcemanager.cluster-id", "")],
                "yarn.resourcemanager.cluster-id",
            ),
            (
                vec![("yarn.resourcemanager.store.class", "x")],
                "ZKRMStateStore",
            ),
            (
                vec![("yarn.resourcemanager.ha.id", "rm1")],
                "yarn.resourcemanager.hostname.rm1",
            ),
            (
                vec![
                    ("yarn.resourcemanager.ha.id", ""),
                    ("yarn.resourcemanager.hostname.rm1", "127.0.0.1"),
                ],
                "all have a yarn.resourcemanager.address on this machine",
            ),
        ];
        for (changes, expected) in cases {
            let mut pairs = HA.to_vec();
            pairs.retain(|(k, _)| !changes.iter().any(|(c, _)| c == k));
            pairs.extend(changes.iter().copied());
            let err = from_configuration(&conf(&pairs)).err().unwrap();
            assert!(err.contains(expected), "{changes:?}: {err}");
        }
    }
}
