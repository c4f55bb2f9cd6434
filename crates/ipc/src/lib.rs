//! Hadoop IPC v9 (protobuf RPC engine) server and client on tokio, wire-compatible with Hadoop 3.x.
//!
//! Map: [`wire`] holds the pure framing (preamble, frames, headers); [`server`] the listener, the
//! sans-I/O [`server::ConnectionState`] and its async driver; [`sasl`] SIMPLE/TOKEN authentication
//! with DIGEST-MD5; [`service`] what protocol implementations plug in; [`client`] the multiplexed
//! client. Invariant: this crate knows no YARN message type; services see encoded bytes.

pub mod client;
pub mod error;
pub mod sasl;
pub mod server;
pub mod service;
pub mod wire;

pub use client::{ClientAuth, ClientOptions, IpcClient, IpcClientError, TokenCredentials};
pub use error::{java_class, IpcServerError, RpcError};
pub use sasl::{AuthPolicy, InvalidToken, TokenSecretManager};
pub use server::metrics::{MethodTotals, RpcMetrics};
pub use server::{Server, ServerConfig};
pub use service::{decode, encode, typed_call, CallContext, CallerIdentity, RpcService};
