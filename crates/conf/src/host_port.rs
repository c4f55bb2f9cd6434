//! `HostPort`: a `host:port` address as written in configuration, resolved only on demand.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};

/// A host name or IP literal and a port, e.g. `0.0.0.0:8032`, `rm.example.com:8030`, `[::1]:8042`.
///
/// Port 0 means "any free port" for a listener (Hadoop's default for `yarn.nodemanager.address`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    host: String,
    port: u16,
}

/// Why a text is not a `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HostPortParseError(String);

impl HostPort {
    /// `host` is a name or an IP literal (IPv6 without brackets).
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }

    /// Parses `host:port` (`[v6]:port` for IPv6). Without a port, `default_port` is used if given,
    /// else it is an error (as in Hadoop's `NetUtils.createSocketAddr`).
    pub fn parse(text: &str, default_port: Option<u16>) -> Result<Self, HostPortParseError> {
        let text = text.trim();
        let invalid =
            |why: &str| HostPortParseError(format!("'{text}' is not a valid host:port ({why})"));
        let (host, port_text) = if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| invalid("unclosed '['"))?;
            match after {
                "" => (host, None),
                _ => (
                    host,
                    Some(
                        after
                            .strip_prefix(':')
                            .ok_or_else(|| invalid("text after ']'"))?,
                    ),
                ),
            }
        } else {
            match text.rsplit_once(':') {
                Some((host, _)) if host.contains(':') => {
                    return Err(invalid("IPv6 addresses need brackets"))
                }
                Some((host, port)) => (host, Some(port)),
                None => (text, None),
            }
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        if host
            .contains(|character: char| character.is_whitespace() || "/@?#[]".contains(character))
        {
            return Err(invalid("bad character in host"));
        }
        let port = match port_text {
            Some(port_text) => {
                if port_text.is_empty() || !port_text.bytes().all(|byte| byte.is_ascii_digit()) {
                    return Err(invalid("the port is not a number"));
                }
                port_text
                    .parse::<u16>()
                    .map_err(|_| invalid("the port is above 65535"))?
            }
            None => default_port.ok_or_else(|| invalid("no port"))?,
        };
        Ok(Self {
            host: host.to_string(),
            port,
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The same host with another port (e.g. the port a listener actually got for port 0).
    pub fn with_port(&self, port: u16) -> Self {
        Self {
            host: self.host.clone(),
            port,
        }
    }

    /// Whether the host is the wildcard address (`0.0.0.0` or `::`), fine to bind but not to connect.
    pub fn is_wildcard(&self) -> bool {
        matches!(self.host.as_str(), "0.0.0.0" | "::" | "0:0:0:0:0:0:0:0")
    }

    /// Resolves the host (DNS if needed; IPv4 preferred, as Java does by default).
    pub fn resolve(&self) -> std::io::Result<SocketAddr> {
        let addresses: Vec<SocketAddr> =
            (self.host.as_str(), self.port).to_socket_addrs()?.collect();
        addresses
            .iter()
            .find(|address| address.is_ipv4())
            .or_else(|| addresses.first())
            .copied()
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{self} resolves to no address"),
                )
            })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(formatter, "[{}]:{}", self.host, self.port)
        } else {
            write!(formatter, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_ports_and_ipv6() {
        assert_eq!(
            HostPort::parse("0.0.0.0:8032", None).unwrap(),
            HostPort::new("0.0.0.0", 8032)
        );
        assert_eq!(
            HostPort::parse(" rm.example.com:8030 ", None).unwrap(),
            HostPort::new("rm.example.com", 8030)
        );
        assert_eq!(
            HostPort::parse("[::1]:8042", None).unwrap(),
            HostPort::new("::1", 8042)
        );
        assert_eq!(
            HostPort::parse("localhost", Some(8088)).unwrap(),
            HostPort::new("localhost", 8088)
        );
        assert_eq!(
            HostPort::parse("[::1]", Some(1)).unwrap().to_string(),
            "[::1]:1"
        );
        assert_eq!(HostPort::new("h", 0).to_string(), "h:0");
    }

    #[test]
    fn rejects_malformed_addresses() {
        for text in [
            "",
            ":8032",
            "localhost",
            "host:",
            "host:80x",
            "host:70000",
            "host:-1",
            "::1:80",
            "[::1",
            "[::1]x",
            "a b:1",
            "http://h:1",
        ] {
            assert!(
                HostPort::parse(text, None).is_err(),
                "{text:?} should be rejected"
            );
        }
    }

    #[test]
    fn wildcard_and_resolution() {
        assert!(HostPort::new("0.0.0.0", 1).is_wildcard());
        assert!(!HostPort::new("127.0.0.1", 1).is_wildcard());
        let resolved = HostPort::new("127.0.0.1", 8032).resolve().unwrap();
        assert_eq!(resolved.to_string(), "127.0.0.1:8032");
    }
}
