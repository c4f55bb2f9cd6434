//! The RM's async shell: IPC services that turn calls into core methods, the AM launcher, the
//! liveness ticker, and [`ResourceManager`] which binds and runs them all.

mod admin_protocol;
mod am_launcher;
mod app_listing;
mod client_protocol;
pub mod fault_injection;
mod master_protocol;
mod runtime;
mod tracker_protocol;

pub use admin_protocol::SchedulerConfigLoader;
pub use runtime::{
    default_server_config, registration_secret, Recovery, ResourceManager, RmBindAddresses,
    SchedulerSetup,
};
pub(crate) use runtime::{ActiveSlot, AdminBinding, SharedCore};

/// The admin port's ResourceManagerAdministrationProtocol over whatever core `slot` holds.
pub(crate) fn admin_protocol_for(
    slot: ActiveSlot,
    rm_id: Option<String>,
    setup: SchedulerSetup,
) -> std::sync::Arc<dyn spindle_ipc::RpcService> {
    std::sync::Arc::new(admin_protocol::AdminProtocol {
        core: slot,
        rm_id,
        loader: setup.loader,
        admins: setup.admins,
    })
}

use spindle_ipc::RpcError;

use crate::core::RmError;

/// Protocol names as the Java clients send them.
pub mod protocols {
    pub const APPLICATION_CLIENT: &str = "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB";
    pub const APPLICATION_MASTER: &str = "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB";
    pub const RESOURCE_TRACKER: &str = "org.apache.hadoop.yarn.server.api.ResourceTrackerPB";
    pub const CONTAINER_MANAGEMENT: &str =
        "org.apache.hadoop.yarn.api.ContainerManagementProtocolPB";
    pub const RESOURCE_MANAGER_ADMINISTRATION: &str =
        "org.apache.hadoop.yarn.server.api.ResourceManagerAdministrationProtocolPB";
}

impl From<RmError> for RpcError {
    fn from(e: RmError) -> Self {
        RpcError::new(e.class, e.message)
    }
}

/// Milliseconds since the epoch: the one place the RM reads the clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A monotonic clock in epoch-like milliseconds: the wall clock when first read, advanced by
/// `Instant` since. It never jumps when the wall clock is stepped; the RM measures liveness and
/// grace periods on it (see `RmCore::set_clock_offset`).
pub fn monotonic_ms() -> i64 {
    static START: std::sync::OnceLock<(std::time::Instant, i64)> = std::sync::OnceLock::new();
    let (instant, wall) = START.get_or_init(|| (std::time::Instant::now(), now_ms()));
    wall + instant.elapsed().as_millis() as i64
}

/// A required field of a request, or an error naming it.
pub(crate) fn required<'a, T>(
    value: Option<&'a T>,
    message: &str,
    field: &str,
) -> Result<&'a T, RpcError> {
    value.ok_or_else(|| {
        RpcError::new(
            crate::core::exceptions::YARN,
            format!("{message}: {field} is missing"),
        )
    })
}

/// A conversion failure as an `IllegalArgumentException` for the caller.
pub(crate) fn invalid(e: impl std::fmt::Display) -> RpcError {
    RpcError::illegal_argument(e.to_string())
}
