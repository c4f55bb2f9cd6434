//! The IPC server: listener, per-connection tasks, service registry and graceful shutdown.

pub mod connection_state;
mod driver;
pub mod metrics;

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::{watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, info, warn, Instrument};

use crate::error::IpcServerError;
use crate::sasl::AuthPolicy;
use crate::service::RpcService;
use crate::wire::DEFAULT_MAX_FRAME_LEN;

pub use connection_state::{ConnectionAction, ConnectionState};

/// Tunables of a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest accepted frame payload; longer frames get a FATAL reply (`ipc.maximum.data.length`).
    pub max_frame_len: usize,
    /// A connection with no call in flight and no bytes received for this long is closed
    /// (Hadoop: 2 x `ipc.client.connection.maxidletime`).
    pub idle_timeout: Duration,
    /// Connections beyond this many are closed right after accept.
    pub max_connections: usize,
    /// Connections from one IP address that have not authenticated yet, at most: more are closed
    /// right after accept, so one host cannot take every slot and lock the others out.
    pub max_unauthenticated_per_address: usize,
    /// Calls of one connection running at once; beyond this the server stops reading that
    /// connection until one finishes (back-pressure against clients that never read replies).
    pub max_in_flight_calls_per_connection: usize,
    /// Replies of one connection computed but not yet written to it; a call waits for a slot
    /// before it runs, so a client that never reads its replies makes the server stop
    /// computing them (and, at the in-flight limit, stop reading its calls) instead of
    /// queueing them without bound. 128 by default: with 16, a connection multiplexing many
    /// calls (the RM benchmark's 100 NMs per connection) queued behind calls waiting for the
    /// RM core, and heartbeat p99 went from 22 ms to 543 ms.
    pub max_unwritten_replies_per_connection: usize,
    /// Calls running in the whole server at once (a call is admitted once it has its
    /// connection's reply slot). A call beyond this is answered at once with Hadoop's
    /// `RetriableException: Server too busy` (what a Hadoop server answers when its call queue
    /// overflows), which Hadoop's clients and Spindle's retry after a pause; nothing queues
    /// without bound however many connections send calls.
    pub max_calls_in_flight: usize,
    /// How clients authenticate.
    pub auth: AuthPolicy,
    /// On shutdown, how long in-flight calls may run before their connection is closed anyway.
    pub shutdown_grace: Duration,
    /// A connection that has not sent its connection context (finished authenticating) this
    /// long after it was accepted is closed: unauthenticated peers cannot hold connection slots.
    pub auth_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            idle_timeout: Duration::from_secs(20),
            max_connections: 1024,
            max_unauthenticated_per_address: 256,
            max_in_flight_calls_per_connection: 256,
            max_unwritten_replies_per_connection: 128,
            max_calls_in_flight: 16_384,
            auth: AuthPolicy::Simple,
            shutdown_grace: Duration::from_secs(5),
            auth_timeout: Duration::from_secs(10),
        }
    }
}

/// The registered services, by protocol name.
#[derive(Clone, Default)]
pub(crate) struct ServiceRegistry {
    by_protocol: HashMap<&'static str, Arc<dyn RpcService>>,
}

impl fmt::Debug for ServiceRegistry {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_list()
            .entries(self.by_protocol.keys())
            .finish()
    }
}

impl ServiceRegistry {
    fn new(services: Vec<Arc<dyn RpcService>>) -> Result<Self, IpcServerError> {
        let mut by_protocol = HashMap::new();
        for service in services {
            let protocol = service.protocol();
            if by_protocol.insert(protocol, service).is_some() {
                return Err(IpcServerError::DuplicateProtocol {
                    protocol: protocol.to_string(),
                });
            }
        }
        Ok(Self { by_protocol })
    }

    pub(crate) fn get(&self, protocol: &str) -> Option<&Arc<dyn RpcService>> {
        self.by_protocol.get(protocol)
    }
}

/// What every connection task shares.
#[derive(Debug)]
pub(crate) struct ServerShared {
    pub(crate) config: ServerConfig,
    /// What the server's calls cost (RpcActivity).
    pub(crate) metrics: Arc<metrics::RpcMetrics>,
    pub(crate) services: ServiceRegistry,
    /// Connections not authenticated yet, by peer address (an entry only while its count is
    /// above zero: at most `max_connections` entries).
    unauthenticated: std::sync::Mutex<HashMap<IpAddr, usize>>,
    /// One permit per admitted call ([`ServerConfig::max_calls_in_flight`]).
    pub(crate) call_permits: Arc<tokio::sync::Semaphore>,
}

/// A connection's place among its address's unauthenticated connections, given back when it
/// authenticates or closes.
pub(crate) struct UnauthenticatedSlot {
    shared: Arc<ServerShared>,
    address: IpAddr,
    held: bool,
}

impl UnauthenticatedSlot {
    /// Takes a slot for `address`, or None when it holds its maximum already.
    fn take(shared: &Arc<ServerShared>, address: IpAddr) -> Option<Self> {
        let mut counts = lock_counts(shared);
        if counts.get(&address).copied().unwrap_or(0)
            >= shared.config.max_unauthenticated_per_address
        {
            return None;
        }
        *counts.entry(address).or_insert(0) += 1;
        Some(Self {
            shared: shared.clone(),
            address,
            held: true,
        })
    }

    /// The connection authenticated (or closed): its slot is free for another.
    pub(crate) fn release(&mut self) {
        if !std::mem::take(&mut self.held) {
            return;
        }
        let mut counts = lock_counts(&self.shared);
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

impl Drop for UnauthenticatedSlot {
    fn drop(&mut self) {
        self.release();
    }
}

fn lock_counts(shared: &ServerShared) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
    // Counting only: a panic elsewhere cannot leave a count half-written.
    shared
        .unauthenticated
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A running IPC server. `shutdown()` stops gracefully; dropping it stops at once.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    shutdown_sender: watch::Sender<bool>,
    accept_task: Option<JoinHandle<()>>,
    metrics: Arc<metrics::RpcMetrics>,
}

impl Server {
    /// Binds `address` and starts serving `services` (one per protocol name).
    pub async fn bind(
        address: impl ToSocketAddrs + fmt::Debug,
        config: ServerConfig,
        services: Vec<Arc<dyn RpcService>>,
    ) -> Result<Server, IpcServerError> {
        let bind_error = |source| IpcServerError::Bind {
            address: format!("{address:?}"),
            source,
        };
        let listener = TcpListener::bind(&address).await.map_err(bind_error)?;
        Self::serve(listener, config, services)
    }

    /// Starts serving on a socket the caller bound already: a caller that must know the
    /// address before the server starts (port 0) keeps the socket, so no other process can
    /// take the port in between.
    pub fn from_listener(
        listener: std::net::TcpListener,
        config: ServerConfig,
        services: Vec<Arc<dyn RpcService>>,
    ) -> Result<Server, IpcServerError> {
        let address = format!("{:?}", listener.local_addr());
        let bind_error = |source| IpcServerError::Bind { address, source };
        let listener = listener
            .set_nonblocking(true)
            .and_then(|()| TcpListener::from_std(listener))
            .map_err(bind_error)?;
        Self::serve(listener, config, services)
    }

    fn serve(
        listener: TcpListener,
        config: ServerConfig,
        services: Vec<Arc<dyn RpcService>>,
    ) -> Result<Server, IpcServerError> {
        let services = ServiceRegistry::new(services)?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| IpcServerError::Bind {
                address: "a bound socket".into(),
                source,
            })?;
        info!(%local_addr, protocols = ?services, auth = ?config.auth, "IPC server listening");
        let (shutdown_sender, shutdown_receiver) = watch::channel(false);
        let metrics = Arc::new(metrics::RpcMetrics::default());
        let shared = Arc::new(ServerShared {
            call_permits: Arc::new(tokio::sync::Semaphore::new(
                config.max_calls_in_flight.max(1),
            )),
            config,
            services,
            unauthenticated: std::sync::Mutex::default(),
            metrics: metrics.clone(),
        });
        let accept_task = tokio::spawn(
            accept_loop(listener, shared, shutdown_receiver)
                .instrument(tracing::debug_span!("ipc_server", %local_addr)),
        );
        Ok(Server {
            local_addr,
            shutdown_sender,
            accept_task: Some(accept_task),
            metrics,
        })
    }

    /// The bound address (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What this server's calls have cost so far.
    pub fn metrics(&self) -> Arc<metrics::RpcMetrics> {
        self.metrics.clone()
    }

    /// Stops accepting, lets in-flight calls finish (up to `shutdown_grace`), closes every connection.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown_sender.send(true);
        if let Some(task) = self.accept_task.take() {
            if let Err(error) = task.await {
                warn!(%error, "IPC accept loop ended abnormally");
            }
        }
        info!(local_addr = %self.local_addr, "IPC server stopped");
    }
}

impl Drop for Server {
    /// Dropping without `shutdown()` stops at once: connections close, running calls are abandoned.
    fn drop(&mut self) {
        let _ = self.shutdown_sender.send(true);
        if let Some(task) = self.accept_task.take() {
            task.abort();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<ServerShared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(shared.config.max_connections));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer_addr) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Typically EMFILE: back off briefly instead of spinning.
                        warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    warn!(%peer_addr, max = shared.config.max_connections, "too many IPC connections, closing the new one");
                    drop(stream);
                    continue;
                };
                let Some(slot) = UnauthenticatedSlot::take(&shared, peer_addr.ip()) else {
                    warn!(
                        %peer_addr,
                        max = shared.config.max_unauthenticated_per_address,
                        "too many unauthenticated IPC connections from one address, closing the new one"
                    );
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                let shutdown = shutdown.clone();
                connections.spawn(
                    async move {
                        driver::serve_connection(stream, peer_addr, shared, shutdown, slot).await;
                        drop(permit);
                    }
                    .instrument(tracing::debug_span!("ipc_connection", %peer_addr)),
                );
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    debug!(
        open = connections.len(),
        "waiting for IPC connections to close"
    );
    while connections.join_next().await.is_some() {}
}
