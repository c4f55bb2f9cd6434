//! Shared fixtures of the IPC integration tests: a test service, server startup, raw-socket helpers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use prost::Message;
use spindle_ipc::wire::decoder::split_frame;
use spindle_ipc::wire::request::request_header;
use spindle_ipc::wire::{frame, put_delimited_bytes, take_delimited};
use spindle_ipc::{
    typed_call, CallContext, CallerIdentity, ClientOptions, IpcClient, RpcError, RpcService,
    Server, ServerConfig,
};
use spindle_proto::common::{
    IpcConnectionContextProto, RequestHeaderProto, RpcResponseHeaderProto, UserInformationProto,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const ECHO_PROTOCOL: &str = "org.spindle.test.EchoProtocolPB";
pub const APPLICATION_CLIENT_PROTOCOL: &str =
    "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB";
pub const APPLICATION_NOT_FOUND: &str =
    "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException";
/// The GetNewApplicationResponseProto body of protocol.md 1.10.
pub const CAPTURED_NEW_APPLICATION_BODY: &[u8] = &[
    0x0a, 0x09, 0x08, 0x01, 0x10, 0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31, 0x12, 0x05, 0x08, 0x80, 0x40,
    0x10, 0x04,
];

#[derive(Clone, PartialEq, prost::Message)]
pub struct EchoRequest {
    #[prost(string, tag = "1")]
    pub text: String,
    #[prost(uint64, tag = "2")]
    pub delay_ms: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct EchoResponse {
    #[prost(string, tag = "1")]
    pub text: String,
    #[prost(string, tag = "2")]
    pub caller: String,
    #[prost(int32, tag = "3")]
    pub call_id: i32,
}

/// Echoes text after an optional delay, reports the caller, fails or panics on request.
pub struct EchoService;

fn describe(identity: &CallerIdentity) -> String {
    match identity {
        CallerIdentity::Simple { user, .. } => format!("simple:{user}"),
        CallerIdentity::Token { kind, identifier } => {
            format!("token:{kind}:{}", hex_string(identifier))
        }
    }
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl RpcService for EchoService {
    fn protocol(&self) -> &'static str {
        ECHO_PROTOCOL
    }

    fn call(
        &self,
        context: CallContext,
        method: String,
        request: Bytes,
    ) -> BoxFuture<'static, Result<Bytes, RpcError>> {
        Box::pin(async move {
            match method.as_str() {
                "echo" => {
                    typed_call(request, |request: EchoRequest| async move {
                        tokio::time::sleep(Duration::from_millis(request.delay_ms)).await;
                        Ok(EchoResponse {
                            text: request.text,
                            caller: describe(&context.identity),
                            call_id: context.call_id,
                        })
                    })
                    .await
                }
                "fail" => Err(RpcError::new(
                    APPLICATION_NOT_FOUND,
                    "Application with id 'application_1700000000000_0001' doesn't exist in RM.",
                )),
                "panic" => panic!("handler bug"),
                _ => Err(RpcError::no_such_method(ECHO_PROTOCOL, &method)),
            }
        })
    }
}

/// Answers getNewApplication with the captured body, whatever the request.
pub struct CapturedApplicationClientService;

impl RpcService for CapturedApplicationClientService {
    fn protocol(&self) -> &'static str {
        APPLICATION_CLIENT_PROTOCOL
    }

    fn call(
        &self,
        _context: CallContext,
        method: String,
        _request: Bytes,
    ) -> BoxFuture<'static, Result<Bytes, RpcError>> {
        Box::pin(async move {
            match method.as_str() {
                "getNewApplication" => Ok(Bytes::from_static(CAPTURED_NEW_APPLICATION_BODY)),
                _ => Err(RpcError::no_such_method(
                    APPLICATION_CLIENT_PROTOCOL,
                    &method,
                )),
            }
        })
    }
}

pub fn test_services() -> Vec<Arc<dyn RpcService>> {
    vec![
        Arc::new(EchoService),
        Arc::new(CapturedApplicationClientService),
    ]
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

pub async fn start_server(config: ServerConfig) -> Server {
    init_tracing();
    Server::bind("127.0.0.1:0", config, test_services())
        .await
        .expect("bind")
}

pub async fn start_default_server() -> Server {
    start_server(ServerConfig::default()).await
}

pub async fn echo_client(address: SocketAddr, user: &str) -> IpcClient {
    IpcClient::connect(address, ClientOptions::new(ECHO_PROTOCOL, user))
        .await
        .expect("connect")
}

pub fn echo(text: &str, delay_ms: u64) -> EchoRequest {
    EchoRequest {
        text: text.to_string(),
        delay_ms,
    }
}

/// A fresh client can connect and get an echo back: the server is still serving.
pub async fn assert_server_healthy(address: SocketAddr) {
    let client = echo_client(address, "healthy").await;
    let response: EchoResponse = tokio::time::timeout(
        Duration::from_secs(5),
        client.call("echo", &echo("still here", 0)),
    )
    .await
    .expect("healthy call timed out")
    .expect("healthy call failed");
    assert_eq!(response.text, "still here");
}

/// A hand-driven connection for byte-level tests.
pub struct RawConnection {
    pub stream: TcpStream,
    buffer: BytesMut,
}

pub const CLIENT_ID: [u8; 16] = *b"spindle-clientid";

impl RawConnection {
    pub async fn open(address: SocketAddr) -> Self {
        Self {
            stream: TcpStream::connect(address).await.expect("connect"),
            buffer: BytesMut::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Preamble with auth byte 0 and a connection context for `protocol`.
    pub async fn open_simple(address: SocketAddr, protocol: &str) -> Self {
        let mut connection = Self::open(address).await;
        connection.send(b"hrpc\x09\x00\x00").await;
        connection.send(&context_frame(protocol, "raw")).await;
        connection
    }

    /// Reads one frame payload; `None` when the server closed the connection first.
    pub async fn read_frame(&mut self) -> Option<Bytes> {
        self.read_frame_up_to(1 << 20).await
    }

    /// As [`Self::read_frame`], accepting frames up to `max` bytes.
    pub async fn read_frame_up_to(&mut self, max: usize) -> Option<Bytes> {
        loop {
            if let Some(frame) = split_frame(&mut self.buffer, max).expect("frame too large") {
                return Some(frame);
            }
            let read = tokio::time::timeout(
                Duration::from_secs(5),
                self.stream.read_buf(&mut self.buffer),
            )
            .await
            .expect("server neither answered nor closed within 5 s");
            match read {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Reads one reply: its header and the rest of the payload.
    pub async fn read_reply(&mut self) -> (RpcResponseHeaderProto, Bytes) {
        self.read_reply_up_to(1 << 20).await
    }

    /// As [`Self::read_reply`], accepting replies up to `max` bytes.
    pub async fn read_reply_up_to(&mut self, max: usize) -> (RpcResponseHeaderProto, Bytes) {
        let mut payload = self
            .read_frame_up_to(max)
            .await
            .expect("expected a reply, got a close");
        let header =
            RpcResponseHeaderProto::decode(take_delimited(&mut payload, "header").unwrap())
                .unwrap();
        (header, payload)
    }

    /// Asserts the server closes the connection (after any frames still in flight).
    pub async fn assert_closed(&mut self) {
        if let Some(frame) = self.read_frame().await {
            panic!("expected close, got another frame of {} bytes", frame.len());
        }
    }

    /// All raw bytes until the server closes.
    pub async fn read_to_close(&mut self) -> Vec<u8> {
        let mut bytes = self.buffer.split().to_vec();
        tokio::time::timeout(Duration::from_secs(5), self.stream.read_to_end(&mut bytes))
            .await
            .expect("server did not close within 5 s")
            .ok();
        bytes
    }
}

pub fn context_frame(protocol: &str, user: &str) -> Bytes {
    let mut payload = request_header(-3, &CLIENT_ID, -1).encode_length_delimited_to_vec();
    let context = IpcConnectionContextProto {
        user_info: Some(UserInformationProto {
            effective_user: Some(user.to_string()),
            real_user: None,
        }),
        protocol: Some(protocol.to_string()),
    };
    put_delimited_bytes(&mut payload, &context.encode_to_vec());
    frame(&payload)
}

pub fn call_frame(call_id: i32, protocol: &str, method: &str, body: &[u8]) -> Bytes {
    let mut payload = request_header(call_id, &CLIENT_ID, 0).encode_length_delimited_to_vec();
    let routing = RequestHeaderProto {
        method_name: method.to_string(),
        declaring_class_protocol_name: protocol.to_string(),
        client_protocol_version: 1,
    };
    put_delimited_bytes(&mut payload, &routing.encode_to_vec());
    put_delimited_bytes(&mut payload, body);
    frame(&payload)
}
