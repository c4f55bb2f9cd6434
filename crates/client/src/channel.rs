//! The one place a client dials the RM: one protocol's IPC connection to the RM or, with RM HA,
//! to whichever RM of the rm-id list currently serves it. Every connection uses the same
//! [`ClientOptions`] (user, protocol, AMRMToken), so every RM sees the same credentials.
//!
//! Without HA (one address, no policy) a call is never repeated: only a connection already known
//! dead is replaced. Re-opening rides out a server that is down for a while (an RM restart), as
//! Hadoop's RMProxy does: connecting is retried every second for up to
//! [`DEFAULT_OUTAGE_TOLERANCE`] (YARN's `yarn.resourcemanager.connect.max-wait.ms`, 15 minutes).
//! The first connection fails at once.
//!
//! With HA (Hadoop's `ConfiguredRMFailoverProxyProvider`), the channel starts at the first rm-id
//! and every attempt is one connect to the current RM; a failed attempt goes through the policy
//! in [`crate::failover`], which may move the channel to the next rm-id (round robin) and repeat
//! the call there. The first connection follows the same policy.

use std::future::Future;
use std::net::SocketAddr;

use prost::Message;
use spindle_conf::{RmAddress, RmFailoverSettings};
use spindle_ipc::{ClientAuth, ClientOptions, IpcClient, IpcClientError};
use tokio::sync::Mutex;

use crate::addresses::{resolve, RmEndpoints};
use crate::error::ClientError;
use crate::failover::{classify, decide, method_safety, Decision, MethodSafety, Stage};

/// Protocol names as the Java clients send them.
pub mod protocols {
    pub const APPLICATION_CLIENT: &str = "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB";
    pub const APPLICATION_MASTER: &str = "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB";
    pub const CONTAINER_MANAGEMENT: &str =
        "org.apache.hadoop.yarn.api.ContainerManagementProtocolPB";
}

/// How long re-connecting to a server that went away is retried without HA (YARN's default
/// `yarn.resourcemanager.connect.max-wait.ms`).
pub const DEFAULT_OUTAGE_TOLERANCE: std::time::Duration = std::time::Duration::from_secs(900);
/// Pause between attempts to re-connect (Hadoop's IPC retries connecting every second).
const RECONNECT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);
/// The pseudo-method named when opening the first connection fails over and gives up.
const CONNECT: &str = "connect";

/// A lazily (re)connected IPC client to one RM, or to one of several with failover.
#[derive(Debug)]
pub(crate) struct Channel {
    /// Never empty; one entry without HA.
    servers: Vec<RmAddress>,
    /// `Some` with RM HA.
    failover: Option<RmFailoverSettings>,
    state: Mutex<ChannelState>,
    /// The socket address of the server last connected to.
    connected_to: std::sync::Mutex<SocketAddr>,
    outage_tolerance: std::time::Duration,
}

#[derive(Debug)]
struct ChannelState {
    options: ClientOptions,
    connection: Option<IpcClient>,
    /// Index into `servers` of the RM calls go to.
    current: usize,
}

impl Channel {
    /// Connects now, so that a wrong address or refused authentication shows at once: without
    /// HA with a single attempt, with HA by the failover policy (starting at the first rm-id).
    pub(crate) async fn connect(
        endpoints: RmEndpoints,
        options: ClientOptions,
    ) -> Result<Self, ClientError> {
        if endpoints.addresses.is_empty() {
            return Err(ClientError::Usage(
                "no ResourceManager address given".into(),
            ));
        }
        let channel = Self {
            servers: endpoints.addresses,
            failover: endpoints.failover,
            state: Mutex::new(ChannelState {
                options,
                connection: None,
                current: 0,
            }),
            connected_to: std::sync::Mutex::new(SocketAddr::from(([0, 0, 0, 0], 0))),
            outage_tolerance: DEFAULT_OUTAGE_TOLERANCE,
        };
        match &channel.failover {
            None => {
                let socket = resolve(&channel.servers[0].address.to_string()).await?;
                let mut state = channel.state.lock().await;
                let connection = IpcClient::connect(socket, state.options.clone()).await?;
                state.connection = Some(connection);
                drop(state);
                channel.set_connected_to(socket);
            }
            Some(policy) => {
                channel
                    .with_failover(policy, CONNECT, MethodSafety::Idempotent, |_| async {
                        Ok(())
                    })
                    .await?;
            }
        }
        Ok(channel)
    }

    /// Authentication for connections opened from now on (a rolled-over AMRMToken), to whichever
    /// RM; the open connection stays as it is.
    pub(crate) async fn set_auth(&self, auth: ClientAuth) {
        self.state.lock().await.options.auth = auth;
    }

    /// The socket address of the RM last connected to.
    pub(crate) fn address(&self) -> SocketAddr {
        *self
            .connected_to
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn set_connected_to(&self, socket: SocketAddr) {
        *self
            .connected_to
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = socket;
    }

    /// Calls `method`; a remote exception becomes [`ClientError::Remote`]. With HA, failures
    /// the policy allows are retried on the next RM.
    pub(crate) async fn call<Request: Message, Response: Message + Default>(
        &self,
        method: &str,
        request: &Request,
    ) -> Result<Response, ClientError> {
        match &self.failover {
            None => {
                let connection = self.live_connection().await?;
                Ok(connection.call(method, request).await?)
            }
            Some(policy) => {
                self.with_failover(
                    policy,
                    method,
                    method_safety(method),
                    |connection| async move { connection.call(method, request).await },
                )
                .await
            }
        }
    }

    /// Without HA: the open connection, or a new one to the same server, retried for up to the
    /// outage tolerance while the server refuses connections.
    async fn live_connection(&self) -> Result<IpcClient, ClientError> {
        let mut state = self.state.lock().await;
        if let Some(connection) = state.connection.as_ref().filter(|c| c.is_connected()) {
            return Ok(connection.clone());
        }
        let address = self.address();
        tracing::debug!(%address, protocol = %state.options.protocol, "reconnecting");
        let tolerance = self.outage_tolerance;
        let started = tokio::time::Instant::now();
        loop {
            match IpcClient::connect(address, state.options.clone()).await {
                Ok(connection) => {
                    state.connection = Some(connection.clone());
                    return Ok(connection);
                }
                Err(error @ IpcClientError::Connect { .. })
                    if started.elapsed() + RECONNECT_INTERVAL <= tolerance =>
                {
                    tracing::info!(
                        "cannot reach {address} ({error}); retrying for up to {} s",
                        tolerance.saturating_sub(started.elapsed()).as_secs()
                    );
                    tokio::time::sleep(RECONNECT_INTERVAL).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// With HA: the open connection to the current RM, or one attempt at a new one. Either way
    /// also the index of the RM it is (or would have been) to.
    async fn current_connection(&self) -> (usize, Result<IpcClient, ClientError>) {
        let mut state = self.state.lock().await;
        let index = state.current;
        if let Some(connection) = state.connection.as_ref().filter(|c| c.is_connected()) {
            return (index, Ok(connection.clone()));
        }
        state.connection = None;
        let server = &self.servers[index];
        let socket = match resolve(&server.address.to_string()).await {
            Ok(socket) => socket,
            Err(error) => return (index, Err(error)),
        };
        match IpcClient::connect(socket, state.options.clone()).await {
            Ok(connection) => {
                tracing::debug!(server = %server, protocol = %state.options.protocol, "connected");
                state.connection = Some(connection.clone());
                drop(state);
                self.set_connected_to(socket);
                (index, Ok(connection))
            }
            Err(error) => (index, Err(error.into())),
        }
    }

    /// Moves from RM `from` to the next one, unless another call has already moved on.
    async fn fail_over_from(&self, from: usize) {
        let mut state = self.state.lock().await;
        if state.current == from {
            state.current = (from + 1) % self.servers.len();
            state.connection = None;
            tracing::info!("Failing over to {}", self.servers[state.current]);
        }
    }

    /// Runs `operation` on a connection to the current RM until it succeeds or the policy gives
    /// up, failing over between attempts as the policy says.
    async fn with_failover<T, Operation, Attempt>(
        &self,
        policy: &RmFailoverSettings,
        method: &str,
        safety: MethodSafety,
        operation: Operation,
    ) -> Result<T, ClientError>
    where
        Operation: Fn(IpcClient) -> Attempt,
        Attempt: Future<Output = Result<T, IpcClientError>>,
    {
        let mut failovers = 0u32;
        let mut retries = 0u32;
        loop {
            let (index, connection) = self.current_connection().await;
            let (error, stage) = match connection {
                Ok(connection) => match operation(connection).await {
                    Ok(value) => return Ok(value),
                    Err(error) => (ClientError::from(error), Stage::Call),
                },
                Err(error) => (error, Stage::Connect),
            };
            let server = &self.servers[index];
            match decide(
                policy,
                classify(&error, stage),
                safety,
                failovers,
                retries,
                rand::random::<f64>(),
            ) {
                Decision::Fail => return Err(error),
                Decision::GiveUp { reason } => {
                    tracing::warn!("{method} over {server} failed ({error}); giving up: {reason}");
                    return Err(ClientError::Failover {
                        method: method.to_string(),
                        failovers,
                        resource_managers: self.describe_servers(),
                        reason,
                        last_error: Box::new(error),
                    });
                }
                Decision::Retry { sleep } => {
                    tracing::info!(
                        "{error}, while invoking {method} over {server}; retrying after sleeping for {} ms",
                        sleep.as_millis()
                    );
                    tokio::time::sleep(sleep).await;
                    retries += 1;
                }
                Decision::FailOver { sleep } => {
                    tracing::info!(
                        "{error}, while invoking {method} over {server} after {failovers} failover attempts; trying to fail over after sleeping for {} ms",
                        sleep.as_millis()
                    );
                    tokio::time::sleep(sleep).await;
                    self.fail_over_from(index).await;
                    failovers += 1;
                    retries += 1;
                }
            }
        }
    }

    fn describe_servers(&self) -> String {
        self.servers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}
