//! The NodeManager's services: ContainerManagementProtocol for AMs (and the RM's AM launcher),
//! and the node status updater that registers with the RM and heartbeats. The web server is
//! `crate::web`.

mod container_protocol;
mod devices;
mod runtime;
mod status_updater;
mod tokens;

pub use runtime::{NmSettings, NodeManager};

/// Protocol names as the Java clients send them.
pub mod protocols {
    pub const CONTAINER_MANAGEMENT: &str =
        "org.apache.hadoop.yarn.api.ContainerManagementProtocolPB";
    pub const RESOURCE_TRACKER: &str = "org.apache.hadoop.yarn.server.api.ResourceTrackerPB";
}

/// Milliseconds since the epoch: the NM's one clock reading.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
