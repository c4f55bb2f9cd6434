//! NodeManager restart recovery (`yarn.nodemanager.recovery.enabled`): the embedded store that
//! records containers, applications, localized resources and the RM's master keys, and the
//! strict reading of its records.
//!
//! Start with `store.rs` (tables and transactions), then `records.rs` (what a record holds and
//! how it is checked). Taking recorded containers back (pid and exit-code files) is
//! `container/recovery.rs`; the NM wires it together in `service/runtime.rs`.
//!
//! Invariant: a record read back is outside input: size-checked, decoded strictly and checked
//! against its key; a bad container record drops that container, never the NM's start.

mod error;
mod records;
mod store;

use std::net::SocketAddr;

pub use error::{RecordError, RecoveryError};
pub use records::{
    ApplicationRecord, ContainerRecord, LocalizedRecord, RecordedStatus, StoppedContainer,
    MAX_RECORD_BYTES,
};
pub use store::{BadRecord, NmStateStore, RecoveredState, Table, STORE_FILE_NAME};

/// Where a recovering NM keeps its state, and how it stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NmRecoverySettings {
    /// `yarn.nodemanager.recovery.dir`.
    pub dir: std::path::PathBuf,
    /// `yarn.nodemanager.recovery.supervised`: a supervisor restarts the NM, so a stop leaves the
    /// containers running and does not unregister from the RM.
    pub supervised: bool,
}

/// Refuses recovery on an ephemeral port: the NodeId (host:port) would change at the restart
/// and the RM could not match the recovered containers to this node.
pub fn require_fixed_port(bind: SocketAddr) -> Result<(), RecoveryError> {
    if bind.port() == 0 {
        return Err(RecoveryError::EphemeralPort { bind });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_needs_a_fixed_port() {
        let error = require_fixed_port("0.0.0.0:0".parse().unwrap()).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("yarn.nodemanager.address"), "{message}");
        assert!(
            message.contains("yarn.nodemanager.recovery.enabled"),
            "{message}"
        );
        assert!(require_fixed_port("127.0.0.1:45454".parse().unwrap()).is_ok());
    }
}
