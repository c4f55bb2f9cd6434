//! YARN's ids, formatted and parsed exactly as Hadoop's `toString`/`fromString` do.
//!
//! `application_1700000000000_0001`, `appattempt_1700000000000_0001_000001`,
//! `container_1700000000000_0001_01_000001`, `container_e03_1700000000000_0001_01_000005`, `host:port`.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// An id string that does not follow YARN's format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} id '{text}': {reason}")]
pub struct IdParseError {
    pub kind: &'static str,
    pub text: String,
    pub reason: &'static str,
}

fn bad(kind: &'static str, text: &str, reason: &'static str) -> IdParseError {
    IdParseError {
        kind,
        text: text.to_string(),
        reason,
    }
}

/// Bits of a container id's 64-bit number that hold the sequence number; the RM epoch is above them.
pub const CONTAINER_ID_SEQUENCE_BITS: u32 = 40;
const SEQUENCE_MASK: i64 = (1 << CONTAINER_ID_SEQUENCE_BITS) - 1;

/// `application_<clusterTimestamp>_<id>`; the id is printed with at least four digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApplicationId {
    pub cluster_timestamp: i64,
    pub id: i32,
}

impl ApplicationId {
    pub fn new(cluster_timestamp: i64, id: i32) -> Self {
        Self {
            cluster_timestamp,
            id,
        }
    }
}

impl fmt::Display for ApplicationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "application_{}_{:04}", self.cluster_timestamp, self.id)
    }
}

fn parse_num<T: FromStr>(kind: &'static str, text: &str, part: &str) -> Result<T, IdParseError> {
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(kind, text, "expected a decimal number"));
    }
    part.parse()
        .map_err(|_| bad(kind, text, "number out of range"))
}

impl FromStr for ApplicationId {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const K: &str = "application";
        let rest = s
            .strip_prefix("application_")
            .ok_or_else(|| bad(K, s, "must start with 'application_'"))?;
        let mut parts = rest.split('_');
        let (Some(ts), Some(id), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad(K, s, "expected application_<timestamp>_<id>"));
        };
        Ok(Self {
            cluster_timestamp: parse_num(K, s, ts)?,
            id: parse_num(K, s, id)?,
        })
    }
}

/// `appattempt_<clusterTimestamp>_<appId>_<attempt>`; the attempt is printed with six digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApplicationAttemptId {
    pub application_id: ApplicationId,
    pub attempt_id: i32,
}

impl ApplicationAttemptId {
    pub fn new(application_id: ApplicationId, attempt_id: i32) -> Self {
        Self {
            application_id,
            attempt_id,
        }
    }
}

impl fmt::Display for ApplicationAttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let app = self.application_id;
        write!(
            f,
            "appattempt_{}_{:04}_{:06}",
            app.cluster_timestamp, app.id, self.attempt_id
        )
    }
}

impl FromStr for ApplicationAttemptId {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const K: &str = "application attempt";
        let rest = s
            .strip_prefix("appattempt_")
            .ok_or_else(|| bad(K, s, "must start with 'appattempt_'"))?;
        let parts: Vec<&str> = rest.split('_').collect();
        let [ts, app, attempt] = parts[..] else {
            return Err(bad(K, s, "expected appattempt_<timestamp>_<app>_<attempt>"));
        };
        Ok(Self {
            application_id: ApplicationId::new(parse_num(K, s, ts)?, parse_num(K, s, app)?),
            attempt_id: parse_num(K, s, attempt)?,
        })
    }
}

/// A container id: its attempt, plus a 64-bit number whose low 40 bits are the sequence number
/// and whose high bits are the RM epoch (`container_e<epoch>_...` when the epoch is non-zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerId {
    pub attempt_id: ApplicationAttemptId,
    /// The full 64-bit number as YARN puts it on the wire (`ContainerIdProto.id`).
    pub id: i64,
}

impl ContainerId {
    pub fn new(attempt_id: ApplicationAttemptId, epoch: i64, sequence: i64) -> Self {
        Self {
            attempt_id,
            id: (epoch << CONTAINER_ID_SEQUENCE_BITS) | (sequence & SEQUENCE_MASK),
        }
    }
    pub fn from_raw(attempt_id: ApplicationAttemptId, id: i64) -> Self {
        Self { attempt_id, id }
    }
    pub fn epoch(&self) -> i64 {
        self.id >> CONTAINER_ID_SEQUENCE_BITS
    }
    pub fn sequence(&self) -> i64 {
        self.id & SEQUENCE_MASK
    }
    pub fn application_id(&self) -> ApplicationId {
        self.attempt_id.application_id
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("container_")?;
        let epoch = self.epoch();
        if epoch > 0 {
            write!(f, "e{epoch:02}_")?;
        }
        let app = self.attempt_id.application_id;
        write!(
            f,
            "{}_{:04}_{:02}_{:06}",
            app.cluster_timestamp,
            app.id,
            self.attempt_id.attempt_id,
            self.sequence()
        )
    }
}

impl FromStr for ContainerId {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const K: &str = "container";
        let rest = s
            .strip_prefix("container_")
            .ok_or_else(|| bad(K, s, "must start with 'container_'"))?;
        let mut parts: Vec<&str> = rest.split('_').collect();
        let mut epoch = 0i64;
        if let Some(first) = parts.first() {
            if let Some(e) = first.strip_prefix('e') {
                epoch = parse_num(K, s, e)?;
                parts.remove(0);
            }
        }
        let [ts, app, attempt, seq] = parts[..] else {
            return Err(bad(
                K,
                s,
                "expected container_[e<epoch>_]<timestamp>_<app>_<attempt>_<id>",
            ));
        };
        let sequence: i64 = parse_num(K, s, seq)?;
        if sequence > SEQUENCE_MASK {
            return Err(bad(K, s, "sequence number exceeds 40 bits"));
        }
        let attempt = ApplicationAttemptId::new(
            ApplicationId::new(parse_num(K, s, ts)?, parse_num(K, s, app)?),
            parse_num(K, s, attempt)?,
        );
        Ok(ContainerId::new(attempt, epoch, sequence))
    }
}

/// A NodeManager's identity: the host it advertises and its ContainerManagement port.
///
/// The host is shared (`Arc<str>`): node ids are copied into every container record, index and
/// scheduling action, and a clone is then a reference count rather than a string copy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub host: Arc<str>,
    pub port: i32,
}

impl NodeId {
    pub fn new(host: impl Into<Arc<str>>, port: i32) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl FromStr for NodeId {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const K: &str = "node";
        let (host, port) = s
            .rsplit_once(':')
            .ok_or_else(|| bad(K, s, "expected host:port"))?;
        if host.is_empty() {
            return Err(bad(K, s, "empty host"));
        }
        Ok(Self {
            host: host.into(),
            port: parse_num(K, s, port)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_yarn() {
        let app = ApplicationId::new(1700000000000, 1);
        assert_eq!(app.to_string(), "application_1700000000000_0001");
        let attempt = ApplicationAttemptId::new(app, 1);
        assert_eq!(attempt.to_string(), "appattempt_1700000000000_0001_000001");
        let c = ContainerId::new(attempt, 0, 1);
        assert_eq!(c.to_string(), "container_1700000000000_0001_01_000001");
        let c = ContainerId::new(attempt, 3, 5);
        assert_eq!(c.to_string(), "container_e03_1700000000000_0001_01_000005");
        assert_eq!(c.epoch(), 3);
        assert_eq!(c.sequence(), 5);
        let big = ApplicationId::new(1, 123456);
        assert_eq!(big.to_string(), "application_1_123456");
        assert_eq!(
            ContainerId::new(ApplicationAttemptId::new(big, 123), 123, 1234567).to_string(),
            "container_e123_1_123456_123_1234567"
        );
    }

    #[test]
    fn parse_round_trips() {
        for s in ["application_1700000000000_0001", "application_1_123456"] {
            assert_eq!(s.parse::<ApplicationId>().unwrap().to_string(), s);
        }
        for s in [
            "appattempt_1700000000000_0001_000001",
            "appattempt_5_12345_000010",
        ] {
            assert_eq!(s.parse::<ApplicationAttemptId>().unwrap().to_string(), s);
        }
        for s in [
            "container_1700000000000_0001_01_000001",
            "container_e03_1700000000000_0001_01_000005",
            "container_e17_1700000000000_0042_02_1234567",
        ] {
            assert_eq!(s.parse::<ContainerId>().unwrap().to_string(), s);
        }
        assert_eq!(
            "host1:8041".parse::<NodeId>().unwrap(),
            NodeId::new("host1", 8041)
        );
    }

    #[test]
    fn malformed_ids_are_rejected_with_reason() {
        for s in [
            "",
            "app_1_1",
            "application_1",
            "application_x_1",
            "application_1_1_1",
            "application_1_-1",
        ] {
            let e = s.parse::<ApplicationId>().unwrap_err();
            assert!(e.to_string().contains(s), "{e}");
        }
        for s in [
            "container_1_1_1",
            "container_ex_1_1_1_1",
            "container_1_1_1_1_1_1",
            "container_1_1_1_99999999999999",
        ] {
            assert!(s.parse::<ContainerId>().is_err(), "{s}");
        }
        for s in ["host", ":1", "h:p", "h:99999999999"] {
            assert!(s.parse::<NodeId>().is_err(), "{s}");
        }
    }
}
