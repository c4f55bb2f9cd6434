//! Where the RM is (from yarn-site.xml), which user a client acts as, and async name resolution.

use std::net::SocketAddr;

use spindle_conf::{keys, Configuration, HostPort};

use crate::error::ClientError;

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
