//! The client against a misbehaving server: malformed replies end the connection with a typed
//! error instead of hanging or panicking.

use std::time::Duration;

use bytes::BytesMut;
use prost::Message;
use spindle_ipc::wire::decoder::split_frame;
use spindle_ipc::wire::response::{success_frame, ReplyTo};
use spindle_ipc::wire::{frame, put_delimited_bytes};
use spindle_ipc::{ClientOptions, IpcClient, IpcClientError};
use spindle_proto::common::rpc_response_header_proto::RpcStatusProto;
use spindle_proto::common::RpcResponseHeaderProto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A server that reads the preamble, the context and one call frame, then writes `reply(call_id)`.
async fn fake_server(
    reply: impl Fn(i32, &[u8]) -> Vec<u8> + Send + 'static,
) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buffer = BytesMut::new();
        read_at_least(&mut stream, &mut buffer, 7).await;
        let _ = buffer.split_to(7);
        let _context = next_frame(&mut stream, &mut buffer).await;
        let mut call = next_frame(&mut stream, &mut buffer).await;
        let header =
            spindle_proto::common::RpcRequestHeaderProto::decode_length_delimited(&mut call)
                .unwrap();
        stream
            .write_all(&reply(header.call_id, &header.client_id))
            .await
            .unwrap();
        // Keep the socket open: the client must notice the problem by itself.
        tokio::time::sleep(Duration::from_secs(10)).await;
    });
    address
}

async fn read_at_least(stream: &mut TcpStream, buffer: &mut BytesMut, wanted: usize) {
    while buffer.len() < wanted {
        assert!(stream.read_buf(buffer).await.unwrap() > 0);
    }
}

async fn next_frame(stream: &mut TcpStream, buffer: &mut BytesMut) -> bytes::Bytes {
    loop {
        if let Some(frame) = split_frame(buffer, 1 << 20).unwrap() {
            return frame;
        }
        assert!(stream.read_buf(buffer).await.unwrap() > 0);
    }
}

fn header(call_id: i32, client_id: &[u8], status: RpcStatusProto) -> Vec<u8> {
    RpcResponseHeaderProto {
        call_id: call_id as u32,
        status: status as i32,
        server_ipc_version_num: Some(9),
        client_id: Some(client_id.to_vec()),
        exception_class_name: Some("java.io.IOException".into()),
        error_msg: Some("x".into()),
        ..Default::default()
    }
    .encode_length_delimited_to_vec()
}

async fn call_against(address: std::net::SocketAddr) -> Result<bytes::Bytes, IpcClientError> {
    let client = IpcClient::connect(address, ClientOptions::new("p", "u"))
        .await
        .unwrap();
    tokio::time::timeout(
        Duration::from_secs(3),
        client.call_raw("m", bytes::Bytes::new()),
    )
    .await
    .expect("the client hung on a malformed reply")
}

fn assert_closed(result: Result<bytes::Bytes, IpcClientError>, needle: &str) {
    match result {
        Err(IpcClientError::ConnectionClosed { reason }) => {
            assert!(reason.contains(needle), "{reason}")
        }
        other => panic!("expected ConnectionClosed({needle}), got {other:?}"),
    }
}

#[tokio::test]
async fn success_with_trailing_bytes_closes_the_connection() {
    let address = fake_server(|call_id, client_id| {
        let reply_to = ReplyTo {
            call_id,
            client_id: bytes::Bytes::copy_from_slice(client_id),
            retry_count: 0,
        };
        let mut bytes = success_frame(&reply_to, &[]).to_vec();
        // Append a byte inside the frame: rewrite the length.
        bytes.push(0x00);
        let length = (bytes.len() - 4) as u32;
        bytes[..4].copy_from_slice(&length.to_be_bytes());
        bytes
    })
    .await;
    assert_closed(call_against(address).await, "length mismatch");
}

#[tokio::test]
async fn error_reply_with_a_body_closes_the_connection() {
    let address = fake_server(|call_id, client_id| {
        let mut payload = header(call_id, client_id, RpcStatusProto::Error);
        put_delimited_bytes(&mut payload, &[1, 2]);
        frame(&payload).to_vec()
    })
    .await;
    assert_closed(call_against(address).await, "carries a body");
}

#[tokio::test]
async fn garbage_reply_header_closes_the_connection() {
    let address = fake_server(|_, _| frame(&[0x04, 0xff, 0xff, 0xff, 0xff]).to_vec()).await;
    assert_closed(call_against(address).await, "header does not decode");
}

#[tokio::test]
async fn oversized_reply_closes_the_connection() {
    let address = fake_server(|_, _| vec![0x7f, 0xff, 0xff, 0xff]).await;
    assert_closed(call_against(address).await, "longer than the maximum");
}

#[tokio::test]
async fn fatal_reply_fails_the_call_with_the_remote_class() {
    let address = fake_server(|call_id, client_id| {
        frame(&header(call_id, client_id, RpcStatusProto::Fatal)).to_vec()
    })
    .await;
    match call_against(address).await {
        Err(IpcClientError::Fatal {
            class_name,
            message,
        }) => {
            assert_eq!(
                (class_name.as_str(), message.as_str()),
                ("java.io.IOException", "x")
            );
        }
        other => panic!("expected Fatal, got {other:?}"),
    }
}
