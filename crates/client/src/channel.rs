//! One protocol's IPC connection to one server, re-opened when the server has closed it (idle
//! timeout, restart). A call is never repeated: only a connection already known dead is replaced.
//! Re-opening rides out a server that is down for a while (an RM restart), as Hadoop's RMProxy
//! does: connecting is retried every second for up to [`DEFAULT_OUTAGE_TOLERANCE`] (YARN's
//! `yarn.resourcemanager.connect.max-wait.ms`, 15 minutes). The first connection fails at once.

use std::net::SocketAddr;

use prost::Message;
use spindle_ipc::{ClientAuth, ClientOptions, IpcClient};
use tokio::sync::Mutex;

use crate::error::ClientError;

/// Protocol names as the Java clients send them.
pub mod protocols {
    pub const APPLICATION_CLIENT: &str = "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB";
    pub const APPLICATION_MASTER: &str = "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB";
    pub const CONTAINER_MANAGEMENT: &str =
        "org.apache.hadoop.yarn.api.ContainerManagementProtocolPB";
}

/// How long re-connecting to a server that went away is retried (YARN's default
/// `yarn.resourcemanager.connect.max-wait.ms`).
pub const DEFAULT_OUTAGE_TOLERANCE: std::time::Duration = std::time::Duration::from_secs(900);
/// Pause between attempts to re-connect (Hadoop's IPC retries connecting every second).
const RECONNECT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// A lazily (re)connected IPC client.
#[derive(Debug)]
pub(crate) struct Channel {
    address: SocketAddr,
    state: Mutex<ChannelState>,
    outage_tolerance: std::time::Duration,
}

#[derive(Debug)]
struct ChannelState {
    options: ClientOptions,
    connection: Option<IpcClient>,
}

impl Channel {
    /// Connects now, so that a wrong address or refused authentication shows at once.
    pub(crate) async fn connect(
        address: SocketAddr,
        options: ClientOptions,
    ) -> Result<Self, ClientError> {
        let connection = IpcClient::connect(address, options.clone()).await?;
        Ok(Self {
            address,
            state: Mutex::new(ChannelState {
                options,
                connection: Some(connection),
            }),
            outage_tolerance: DEFAULT_OUTAGE_TOLERANCE,
        })
    }

    /// Authentication for connections opened from now on (a rolled-over AMRMToken); the open
    /// connection stays as it is.
    pub(crate) async fn set_auth(&self, auth: ClientAuth) {
        self.state.lock().await.options.auth = auth;
    }

    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    async fn live_connection(&self) -> Result<IpcClient, ClientError> {
        let mut state = self.state.lock().await;
        if let Some(connection) = state.connection.as_ref().filter(|c| c.is_connected()) {
            return Ok(connection.clone());
        }
        tracing::debug!(address = %self.address, protocol = %state.options.protocol, "reconnecting");
        let tolerance = self.outage_tolerance;
        let started = tokio::time::Instant::now();
        loop {
            match IpcClient::connect(self.address, state.options.clone()).await {
                Ok(connection) => {
                    state.connection = Some(connection.clone());
                    return Ok(connection);
                }
                Err(error @ spindle_ipc::IpcClientError::Connect { .. })
                    if started.elapsed() + RECONNECT_INTERVAL <= tolerance =>
                {
                    tracing::info!(
                        "cannot reach {} ({error}); retrying for up to {} s",
                        self.address,
                        tolerance.saturating_sub(started.elapsed()).as_secs()
                    );
                    tokio::time::sleep(RECONNECT_INTERVAL).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Calls `method`; a remote exception becomes [`ClientError::Remote`].
    pub(crate) async fn call<Request: Message, Response: Message + Default>(
        &self,
        method: &str,
        request: &Request,
    ) -> Result<Response, ClientError> {
        let connection = self.live_connection().await?;
        Ok(connection.call(method, request).await?)
    }
}
