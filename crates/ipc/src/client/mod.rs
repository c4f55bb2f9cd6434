//! A multiplexed Hadoop IPC client: one connection, a writer task and a reader task, calls matched
//! to replies by call id. Cheap to clone; every clone shares the connection.

mod error;
mod handshake;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use prost::Message;
use spindle_proto::common::rpc_response_header_proto::RpcStatusProto;
use spindle_proto::common::{RequestHeaderProto, RpcResponseHeaderProto};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, Instrument};

pub use error::IpcClientError;

use crate::wire::decoder::split_frame;
use crate::wire::request::request_header;
use crate::wire::{frame, put_delimited_bytes, take_delimited, DEFAULT_MAX_FRAME_LEN};

/// A token to authenticate with (TOKEN auth over SASL DIGEST-MD5).
#[derive(Clone, PartialEq, Eq)]
pub struct TokenCredentials {
    /// Token kind, e.g. `YARN_AM_RM_TOKEN`.
    pub kind: String,
    /// Identifier bytes.
    pub identifier: Vec<u8>,
    /// Password bytes.
    pub password: Vec<u8>,
}

impl fmt::Debug for TokenCredentials {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TokenCredentials")
            .field("kind", &self.kind)
            .field("identifier_len", &self.identifier.len())
            .finish_non_exhaustive()
    }
}

/// How the client authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// No SASL (auth byte 0x00); the server learns `ClientOptions::user` from the connection context.
    Simple,
    /// SASL (auth byte 0xDF), like a Java client whose UGI holds a token: uses TOKEN/DIGEST-MD5 if the
    /// server offers it, SIMPLE if the server answers NEGOTIATE with SUCCESS or offers SIMPLE first.
    Token(TokenCredentials),
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Protocol name sent in the connection context and every call header.
    pub protocol: String,
    /// Protocol version sent in every call header (YARN protocols: 1).
    pub protocol_version: u64,
    /// Effective user for SIMPLE auth.
    pub user: String,
    /// Authentication.
    pub auth: ClientAuth,
    /// Largest accepted response frame (`ipc.maximum.response.length`, 128 MiB).
    pub max_response_len: usize,
    /// Limit on TCP connect plus handshake.
    pub connect_timeout: Duration,
    /// Deadline of every call (`ipc.client.rpc-timeout.ms`; see [`DEFAULT_RPC_TIMEOUT`]). A call
    /// without a reply by then fails with [`IpcClientError::Timeout`] and closes the connection:
    /// a server that stopped answering, or a half-open TCP connection, cannot hang the caller.
    pub rpc_timeout: Duration,
}

/// Hadoop's key for the deadline of a call.
pub const RPC_TIMEOUT_KEY: &str = "ipc.client.rpc-timeout.ms";

/// The call deadline when `ipc.client.rpc-timeout.ms` is not set: 60 s. Hadoop's default is 0
/// (wait for ever, pinging the server every `ipc.ping.interval`); no YARN call is meant to block
/// that long, and a dead connection must not hang a heartbeat or a launch.
pub const DEFAULT_RPC_TIMEOUT: Duration = Duration::from_secs(60);

impl ClientOptions {
    /// SIMPLE auth as `user`, protocol version 1, default limits.
    pub fn new(protocol: impl Into<String>, user: impl Into<String>) -> Self {
        Self {
            protocol: protocol.into(),
            protocol_version: 1,
            user: user.into(),
            auth: ClientAuth::Simple,
            max_response_len: DEFAULT_MAX_FRAME_LEN,
            connect_timeout: Duration::from_secs(20),
            rpc_timeout: DEFAULT_RPC_TIMEOUT,
        }
    }
}

/// The call deadline for a value of `ipc.client.rpc-timeout.ms` (milliseconds; unset, 0 or less,
/// Hadoop's "no timeout", give [`DEFAULT_RPC_TIMEOUT`]).
pub fn rpc_timeout(milliseconds: Option<i64>) -> Duration {
    match milliseconds {
        Some(milliseconds) if milliseconds > 0 => Duration::from_millis(milliseconds as u64),
        _ => DEFAULT_RPC_TIMEOUT,
    }
}

type CallResult = Result<Bytes, IpcClientError>;

#[derive(Default)]
struct PendingCalls {
    waiting: HashMap<i32, oneshot::Sender<CallResult>>,
    /// Set once the connection is unusable; new calls fail at once with this reason.
    closed: Option<ClosedReason>,
}

#[derive(Clone)]
enum ClosedReason {
    Fatal { class_name: String, message: String },
    Closed(String),
}

impl ClosedReason {
    fn to_error(&self) -> IpcClientError {
        match self {
            ClosedReason::Fatal {
                class_name,
                message,
            } => IpcClientError::Fatal {
                class_name: class_name.clone(),
                message: message.clone(),
            },
            ClosedReason::Closed(reason) => IpcClientError::ConnectionClosed {
                reason: reason.clone(),
            },
        }
    }
}

type SharedPending = Arc<Mutex<PendingCalls>>;

fn lock(pending: &SharedPending) -> std::sync::MutexGuard<'_, PendingCalls> {
    pending
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Marks the connection dead and fails every waiting call.
fn close_all(pending: &SharedPending, reason: ClosedReason) {
    let waiting = {
        let mut pending = lock(pending);
        if pending.closed.is_none() {
            pending.closed = Some(reason);
        }
        std::mem::take(&mut pending.waiting)
    };
    let reason = lock(pending).closed.clone().expect("set above");
    for (_, sender) in waiting {
        let _ = sender.send(Err(reason.to_error()));
    }
}

struct ClientInner {
    server_addr: SocketAddr,
    client_id: [u8; 16],
    protocol: String,
    protocol_version: u64,
    next_call_id: AtomicI32,
    rpc_timeout: Duration,
    pending: SharedPending,
    outbound: mpsc::UnboundedSender<Bytes>,
    reader_task: JoinHandle<()>,
}

impl Drop for ClientInner {
    fn drop(&mut self) {
        // The writer ends when `outbound` drops and shuts the socket down; the reader is not needed.
        self.reader_task.abort();
        close_all(&self.pending, ClosedReason::Closed("client dropped".into()));
    }
}

/// A connection to one IPC server for one protocol. Clone it to share the connection.
#[derive(Clone)]
pub struct IpcClient {
    inner: Arc<ClientInner>,
}

impl fmt::Debug for IpcClient {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("IpcClient")
            .field("server_addr", &self.inner.server_addr)
            .field("protocol", &self.inner.protocol)
            .finish_non_exhaustive()
    }
}

/// Removes a call's waiter if its future is dropped before the reply arrives.
struct WaiterGuard<'a> {
    pending: &'a SharedPending,
    call_id: i32,
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        lock(self.pending).waiting.remove(&self.call_id);
    }
}

impl IpcClient {
    /// Connects, authenticates and sends the connection context.
    pub async fn connect(
        address: impl ToSocketAddrs + fmt::Debug,
        options: ClientOptions,
    ) -> Result<IpcClient, IpcClientError> {
        let address_text = format!("{address:?}");
        let connect_timeout = options.connect_timeout;
        tokio::time::timeout(
            connect_timeout,
            Self::connect_inner(address, address_text.clone(), options),
        )
        .await
        .unwrap_or_else(|_| {
            Err(IpcClientError::Connect {
                address: address_text,
                source: std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connect and handshake timed out",
                ),
            })
        })
    }

    async fn connect_inner(
        address: impl ToSocketAddrs,
        address_text: String,
        options: ClientOptions,
    ) -> Result<IpcClient, IpcClientError> {
        let connect_error = |source| IpcClientError::Connect {
            address: address_text.clone(),
            source,
        };
        let mut stream = TcpStream::connect(address).await.map_err(connect_error)?;
        let server_addr = stream.peer_addr().map_err(connect_error)?;
        let _ = stream.set_nodelay(true);
        let client_id: [u8; 16] = rand::random();
        let mut buffer = BytesMut::new();
        handshake::establish(&mut stream, &options, &client_id, &mut buffer).await?;
        debug!(%server_addr, protocol = %options.protocol, "IPC client connected");

        let (read_half, write_half) = stream.into_split();
        let pending: SharedPending = Arc::default();
        let (outbound, outbound_receiver) = mpsc::unbounded_channel();
        let span = tracing::debug_span!("ipc_client", %server_addr);
        tokio::spawn(
            write_loop(write_half, outbound_receiver, pending.clone()).instrument(span.clone()),
        );
        let reader_task = tokio::spawn(
            read_loop(read_half, buffer, options.max_response_len, pending.clone())
                .instrument(span),
        );
        Ok(IpcClient {
            inner: Arc::new(ClientInner {
                server_addr,
                client_id,
                protocol: options.protocol,
                protocol_version: options.protocol_version,
                next_call_id: AtomicI32::new(0),
                rpc_timeout: options.rpc_timeout,
                pending,
                outbound,
                reader_task,
            }),
        })
    }

    /// The 16-byte client id sent in every call header.
    pub fn client_id(&self) -> [u8; 16] {
        self.inner.client_id
    }

    /// The server's address.
    pub fn server_addr(&self) -> SocketAddr {
        self.inner.server_addr
    }

    /// Whether the connection is still usable.
    pub fn is_connected(&self) -> bool {
        lock(&self.inner.pending).closed.is_none()
    }

    /// Calls `method` with a typed request and decodes the typed response.
    pub async fn call<Req: Message, Resp: Message + Default>(
        &self,
        method: &str,
        request: &Req,
    ) -> Result<Resp, IpcClientError> {
        let response = self
            .call_raw(method, Bytes::from(request.encode_to_vec()))
            .await?;
        Resp::decode(response).map_err(|source| IpcClientError::Decode {
            message_type: short_type_name::<Resp>(),
            source,
        })
    }

    /// Calls `method` with an encoded request; returns the encoded response message.
    pub async fn call_raw(&self, method: &str, request: Bytes) -> Result<Bytes, IpcClientError> {
        let inner = &self.inner;
        let call_id = inner.next_call_id.fetch_add(1, Ordering::Relaxed) & i32::MAX;
        let mut payload =
            request_header(call_id, &inner.client_id, 0).encode_length_delimited_to_vec();
        RequestHeaderProto {
            method_name: method.to_string(),
            declaring_class_protocol_name: inner.protocol.clone(),
            client_protocol_version: inner.protocol_version,
        }
        .encode_length_delimited(&mut payload)
        .expect("Vec<u8> grows as needed");
        put_delimited_bytes(&mut payload, &request);

        let (sender, receiver) = oneshot::channel();
        {
            let mut pending = lock(&inner.pending);
            if let Some(reason) = &pending.closed {
                return Err(reason.to_error());
            }
            pending.waiting.insert(call_id, sender);
        }
        let _guard = WaiterGuard {
            pending: &inner.pending,
            call_id,
        };
        if inner.outbound.send(frame(&payload)).is_err() {
            return Err(IpcClientError::ConnectionClosed {
                reason: "connection writer stopped".into(),
            });
        }
        let Ok(reply) = tokio::time::timeout(inner.rpc_timeout, receiver).await else {
            // No reply in time: the server or the path to it is gone. Calls after this one fail
            // at once, so the caller reconnects instead of queueing behind a dead connection.
            inner.reader_task.abort();
            close_all(
                &inner.pending,
                ClosedReason::Closed(format!(
                    "call {method} got no reply within {:?}",
                    inner.rpc_timeout
                )),
            );
            return Err(IpcClientError::Timeout {
                method: method.to_string(),
                after: inner.rpc_timeout,
            });
        };
        reply.unwrap_or_else(|_| {
            Err(lock(&inner.pending)
                .closed
                .clone()
                .unwrap_or_else(|| ClosedReason::Closed("connection reader stopped".into()))
                .to_error())
        })
    }
}

fn short_type_name<M>() -> &'static str {
    let full = std::any::type_name::<M>();
    full.rsplit("::").next().unwrap_or(full)
}

async fn write_loop(
    mut writer: OwnedWriteHalf,
    mut outbound: mpsc::UnboundedReceiver<Bytes>,
    pending: SharedPending,
) {
    while let Some(frame) = outbound.recv().await {
        if let Err(error) = writer.write_all(&frame).await {
            debug!(%error, "IPC client write failed");
            close_all(
                &pending,
                ClosedReason::Closed(format!("write failed: {error}")),
            );
            return;
        }
    }
    let _ = writer.shutdown().await;
}

async fn read_loop(
    mut reader: OwnedReadHalf,
    mut buffer: BytesMut,
    max_response_len: usize,
    pending: SharedPending,
) {
    let reason = loop {
        match split_frame(&mut buffer, max_response_len) {
            Ok(Some(payload)) => match deliver(payload, &pending) {
                Ok(()) => continue,
                Err(reason) => break reason,
            },
            Ok(None) => {}
            Err(error) => break ClosedReason::Closed(format!("bad response frame: {error}")),
        }
        match reader.read_buf(&mut buffer).await {
            Ok(0) => break ClosedReason::Closed("server closed the connection".into()),
            Ok(_) => {}
            Err(error) => break ClosedReason::Closed(format!("read failed: {error}")),
        }
    };
    debug!(reason = %reason.to_error(), "IPC client connection ended");
    close_all(&pending, reason);
}

/// Routes one response frame to its waiting call; an error ends the connection.
fn deliver(mut payload: Bytes, pending: &SharedPending) -> Result<(), ClosedReason> {
    let header = take_delimited(&mut payload, "RpcResponseHeaderProto")
        .ok()
        .and_then(|bytes| RpcResponseHeaderProto::decode(bytes).ok())
        .ok_or_else(|| ClosedReason::Closed("response header does not decode".into()))?;
    let call_id = header.call_id as i32;
    let status = RpcStatusProto::try_from(header.status)
        .map_err(|_| ClosedReason::Closed(format!("unknown response status {}", header.status)))?;
    if status == RpcStatusProto::Fatal {
        return Err(ClosedReason::Fatal {
            class_name: header.exception_class_name.unwrap_or_default(),
            message: header.error_msg.unwrap_or_default(),
        });
    }
    let result = match status {
        RpcStatusProto::Success => {
            let body = take_delimited(&mut payload, "response message").map_err(|error| {
                ClosedReason::Closed(format!("response for call {call_id}: {error}"))
            })?;
            if !payload.is_empty() {
                return Err(ClosedReason::Closed(format!(
                    "RPC response length mismatch: {} trailing bytes after call {call_id}",
                    payload.len()
                )));
            }
            Ok(body)
        }
        _ => {
            if !payload.is_empty() {
                return Err(ClosedReason::Closed(format!(
                    "ERROR reply for call {call_id} carries a body"
                )));
            }
            Err(IpcClientError::Remote {
                class_name: header.exception_class_name.unwrap_or_default(),
                message: header.error_msg.unwrap_or_default(),
            })
        }
    };
    let waiter = lock(pending).waiting.remove(&call_id);
    match waiter {
        Some(waiter) => {
            let _ = waiter.send(result);
        }
        // The caller gave up (its future was dropped); the reply is simply discarded.
        None => debug!(call_id, "reply for a call nobody waits for"),
    }
    Ok(())
}
