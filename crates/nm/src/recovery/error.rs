//! Errors of the NM recovery store: refusing to recover, a store that cannot be used, and one
//! record that cannot be read or written.

use std::net::SocketAddr;

use spindle_conf::keys::{NM_ADDRESS, NM_RECOVERY_DIR};

use super::records::MAX_RECORD_BYTES;

/// Why the NM cannot recover (it does not start).
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("yarn.nodemanager.recovery.enabled is true but {NM_ADDRESS} = {bind} has port 0: a NodeManager that recovers its containers must keep its NodeId across restarts, so give {NM_ADDRESS} a fixed port")]
    EphemeralPort { bind: SocketAddr },
    #[error("NodeManager recovery store {path} ({NM_RECOVERY_DIR}): {message}")]
    Store { path: String, message: String },
    #[error("NodeManager recovery store {path} has version {found}, this NodeManager reads {expected}: move the directory away to start without recovery")]
    Version {
        path: String,
        found: String,
        expected: String,
    },
}

/// Why one record was not written or not taken back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("{bytes} bytes is more than the {MAX_RECORD_BYTES}-byte record limit")]
    TooLarge { bytes: usize },
    #[error("not a valid record: {0}")]
    Decode(String),
    #[error("{0}")]
    Invalid(String),
}
