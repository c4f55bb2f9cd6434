//! Every call has a deadline: a server that accepts a connection and never answers (or a
//! half-open TCP connection) makes the call fail with a timeout, and the connection is closed so
//! the caller reconnects instead of waiting behind it.

use std::time::Duration;

use spindle_ipc::client::{rpc_timeout, DEFAULT_RPC_TIMEOUT};
use spindle_ipc::{ClientOptions, IpcClient, IpcClientError};
use spindle_proto::common::RpcRequestHeaderProto;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// A server that accepts, reads whatever comes, and never writes a byte.
async fn silent_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut sink = Vec::new();
                while stream.read_buf(&mut sink).await.is_ok_and(|read| read > 0) {
                    sink.clear();
                }
            });
        }
    });
    address
}

#[tokio::test]
async fn a_call_to_a_server_that_never_answers_fails_at_its_deadline_and_closes_the_connection() {
    let address = silent_server().await;
    let mut options = ClientOptions::new("org.example.SilentProtocol", "tester");
    options.rpc_timeout = Duration::from_millis(300);
    let client = IpcClient::connect(address, options).await.unwrap();
    // The outer timeout only keeps a broken build from hanging the suite.
    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        client.call::<RpcRequestHeaderProto, RpcRequestHeaderProto>(
            "ping",
            &RpcRequestHeaderProto::default(),
        ),
    )
    .await
    .expect("the call ends by itself");
    match outcome {
        Err(IpcClientError::Timeout { method, after }) => {
            assert_eq!(method, "ping");
            assert_eq!(after, Duration::from_millis(300));
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    let message = IpcClientError::Timeout {
        method: "ping".into(),
        after: Duration::from_millis(300),
    }
    .to_string();
    assert!(
        message.contains("ipc.client.rpc-timeout.ms"),
        "the error names the key: {message}"
    );
    assert!(!client.is_connected(), "the connection is closed");
    // A later call on the dead connection fails at once, naming why.
    let again = client
        .call::<RpcRequestHeaderProto, RpcRequestHeaderProto>(
            "ping",
            &RpcRequestHeaderProto::default(),
        )
        .await;
    match again {
        Err(IpcClientError::ConnectionClosed { reason }) => {
            assert!(reason.contains("no reply within"), "{reason}")
        }
        other => panic!("expected a closed connection, got {other:?}"),
    }
}

#[test]
fn the_deadline_comes_from_hadoops_key_and_zero_means_the_default() {
    assert_eq!(rpc_timeout(Some(1500)), Duration::from_millis(1500));
    assert_eq!(rpc_timeout(Some(0)), DEFAULT_RPC_TIMEOUT);
    assert_eq!(rpc_timeout(Some(-1)), DEFAULT_RPC_TIMEOUT);
    assert_eq!(rpc_timeout(None), DEFAULT_RPC_TIMEOUT);
    assert_eq!(
        ClientOptions::new("p", "u").rpc_timeout,
        DEFAULT_RPC_TIMEOUT
    );
}
