//! Malformed or hostile input: each gets a clear answer on its own connection, and the server keeps
//! serving everyone else.

mod common;

use std::time::{Duration, Instant};

use common::*;
use prost::Message;
use spindle_ipc::wire::request::request_header;
use spindle_ipc::wire::{frame, put_delimited_bytes};
use spindle_ipc::{java_class, ServerConfig};
use spindle_proto::common::rpc_request_header_proto::OperationProto;
use spindle_proto::common::rpc_response_header_proto::{RpcErrorCodeProto, RpcStatusProto};
use spindle_proto::common::rpc_sasl_proto::SaslState;
use spindle_proto::common::RpcSaslProto;
use tokio::io::AsyncWriteExt;

/// Reads a FATAL reply with this call id, code and class, then expects the close.
async fn expect_fatal(
    connection: &mut RawConnection,
    call_id: i32,
    code: RpcErrorCodeProto,
    class_name: &str,
) -> String {
    let (header, rest) = connection.read_reply().await;
    assert_eq!(header.status(), RpcStatusProto::Fatal, "{header:?}");
    assert_eq!(header.call_id, call_id as u32, "{header:?}");
    assert_eq!(header.error_detail(), code, "{header:?}");
    assert_eq!(
        header.exception_class_name.as_deref(),
        Some(class_name),
        "{header:?}"
    );
    assert_eq!(header.server_ipc_version_num, Some(9));
    assert!(rest.is_empty(), "FATAL replies carry no body");
    connection.assert_closed().await;
    header.error_msg.unwrap_or_default()
}

#[tokio::test]
async fn wrong_magic_gets_version_mismatch_and_close() {
    let server = start_default_server().await;
    let mut connection = RawConnection::open(server.local_addr()).await;
    connection.send(b"hrpx\x09\x00\x00").await;
    let message = expect_fatal(
        &mut connection,
        -1,
        RpcErrorCodeProto::FatalVersionMismatch,
        java_class::VERSION_MISMATCH,
    )
    .await;
    assert!(message.contains("hrpc"), "{message}");
    assert_server_healthy(server.local_addr()).await;
}

#[tokio::test]
async fn wrong_version_gets_version_mismatch_and_close() {
    let server = start_default_server().await;
    let mut connection = RawConnection::open(server.local_addr()).await;
    connection.send(b"hrpc\x08\x00\x00").await;
    let message = expect_fatal(
        &mut connection,
        -1,
        RpcErrorCodeProto::FatalVersionMismatch,
        java_class::VERSION_MISMATCH,
    )
    .await;
    assert!(message.contains("version 8"), "{message}");
    assert_server_healthy(server.local_addr()).await;
}

#[tokio::test]
async fn unknown_auth_byte_is_fatal() {
    let server = start_default_server().await;
    let mut connection = RawConnection::open(server.local_addr()).await;
    connection.send(b"hrpc\x09\x00\x51").await;
    expect_fatal(
        &mut connection,
        -1,
        RpcErrorCodeProto::FatalUnauthorized,
        java_class::IPC_EXCEPTION,
    )
    .await;
    assert_server_healthy(server.local_addr()).await;
}

#[tokio::test]
async fn http_get_gets_the_http_text_reply() {
    let server = start_default_server().await;
    let mut connection = RawConnection::open(server.local_addr()).await;
    connection
        .send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await;
    let reply = String::from_utf8(connection.read_to_close().await).unwrap();
    assert!(reply.starts_with("HTTP/1.1 404 Not Found\r\n"), "{reply}");
    assert!(reply.contains("Hadoop IPC port"), "{reply}");
    assert_server_healthy(server.local_addr()).await;
}

#[tokio::test]
async fn oversized_frame_is_refused_from_its_length_prefix() {
    let server = start_server(ServerConfig {
        max_frame_len: 1024,
        ..ServerConfig::default()
    })
    .await;
    let mut connection = RawConnection::open_simple(server.local_addr(), ECHO_PROTOCOL).await;
    // Only the length is sent: the server must answer without waiting for (or allocating) the payload.
    connection.send(&1025u32.to_be_bytes()).await;
    let message = expect_fatal(
        &mut connection,
        -1,
        RpcErrorCodeProto::FatalInvalidRpcHeader,
        java_class::RPC_SERVER_EXCEPTION,
    )
    .await;
    assert!(
        message.contains("1025") && message.contains("1024"),
        "{message}"
    );

    // A 4 GiB - 1 length prefix (negative as a Java int) is refused the same way.
    let mut connection = RawConnection::open_simple(server.local_addr(), ECHO_PROTOCOL).await;
    connection.send(&[0xff, 0xff, 0xff, 0xff]).await;
    expect_fatal(
        &mut connection,
        -1,
        RpcErrorCodeProto::FatalInvalidRpcHeader,
        java_class::RPC_SERVER_EXCEPTION,
    )
    .await;

    // A frame of exactly the maximum is accepted (as far as framing goes).
    let mut connection = RawConnection::open_simple(server.local_addr(), ECHO_PROTOCOL).await;
    let text = "a".repeat(900);
    let body = EchoRequest {
        text: text.clone(),
        delay_ms: 0,
    }
    .encode_to_vec();
    let call = call_frame(1, ECHO_PROTOCOL, "echo", &body);
    assert!(call.len() - 4 <= 1024);
    connection.send(&call).await;
    let (header, mut rest) = connection.read_reply().await;
    assert_eq!(header.status(), RpcStatusProto::Success);
    let response = EchoResponse::decode_length_delimited(&mut rest).unwrap();
    assert_eq!(response.text, text);
    assert_server_healthy(server.local_addr()).await;
}

#[tokio::test]
async fn truncated_frame_then_close() {
    let server = start_default_server().await;
    let mut connection = RawConnection::open_simple(server.local_addr(), ECHO_PROTOCOL).await;
    connection
        .send(&[0, 0, 0, 100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        .await;
    connection.stream.shutdown().await.unwrap();
    let message = expect_fatal(
        &mut connection,
        -1,
        RpcErrorCodeProto::FatalDeserializingRequest,
        java_class::RPC_SERVER_EXCEPTION,
    )
    .await;
    assert!(message.contains("incomplete frame"), "{message}");
    assert_server_healthy(server.local_addr()).await;
}

#[tokio::test]
async fn garbage_header_bytes_are_fatal() {
    let server = start_default_server().await;
    let mut connection = RawConnection::open_simple(server.local_addr(), ECHO_PROTOCOL).await;
    connection
        .send(&frame(&[0x05, 0xff, 0xff, 0xff, 0xff, 0xff]))
        .await;
    let message = expect_fatal(
        &mut connection,
        -1,
        RpcErrorCodeProto::FatalDeserializingRequest,
        java_class::RPC_SERVER_EXCEPTION,
    )
    .await;
    assert!(message.contains("RpcRequestHeaderProto"), "{message}");

    // A header whose length prefix runs past the frame.
    let mut connection = RawConnection::open_simple(server.local_addr(), ECHO_PROTOCOL).await;
    connection.send(&frame(&[0x30, 0x08])).await;
    expect_fatal(
        &mut connection,
        -1,
        RpcErrorCodeProto::FatalDeserializingRequest,
        java_class::RPC_SERVER_EXCEPTION,
    )
    .await;
    assert_server_healthy(server.local_addr()).await;
}

#[tokio::test]
async fn body_that_does_not_decode_is_an_error_for_that_call_only() {
    let server = start_default_server().await;
    let mut connection = RawConnection::open_simple(server.local_addr(), ECHO_PROTOCOL).await;
    // Field 1 (string) declares 5 bytes but carries 1.
    connection
        .send(&call_frame(11, ECHO_PROTOCOL, "echo", &[0x0a, 0x05, 0x01]))
        .await;
    let (header, rest) = connection.read_reply().await;
    assert_eq!(header.status(), RpcStatusProto::Error);
    assert_eq!(header.call_id, 11);
    assert_eq!(header.client_id.as_deref(), Some(&CLIENT_ID[..]));
    assert_eq!(header.error_detail(), RpcErrorCodeProto::ErrorApplication);
    assert_eq!(
        header.exception_class_name.as_deref(),
        Some(java_class::ILLEGAL_ARGUMENT)
    );
    assert!(header.error_msg.unwrap().contains("EchoRequest"));
    assert!(rest.is_empty(), "ERROR replies carry only the header");

    // Same connection, next call works.
    let body = EchoRequest {
        text: "fine".into(),
        delay_ms: 0,
    }
    .encode_to_vec();
    connection
        .send(&call_frame(12, ECHO_PROTOCOL, "echo", &body))
        .await;
    let (header, _) = connection.read_reply().await;
    assert_eq!(
        (header.status(), header.call_id),
        (RpcStatusProto::Success, 12)
    );
    assert_server_healthy(server.local_addr()).await;
}

#[tokio::test]
async fn continuation_packets_are_fatal() {
    let server = start_default_server().await;
    let mut connection = RawConnection::open_simple(server.local_addr(), ECHO_PROTOCOL).await;
    let mut header = request_header(5, &CLIENT_ID, 0);
    header.rpc_op = Some(OperationProto::RpcContinuationPacket as i32);
    connection
        .send(&frame(&header.encode_length_delimited_to_vec()))
        .await;
    let message = expect_fatal(
        &mut connection,
        5,
        RpcErrorCodeProto::FatalInvalidRpcHeader,
        java_class::RPC_SERVER_EXCEPTION,
    )
    .await;
    assert!(message.contains("rpcOp"), "{message}");
    assert_server_healthy(server.local_addr()).await;
}

#[tokio::test]
async fn calls_before_the_connection_context_are_fatal() {
    let server = start_default_server().await;
    let mut connection = RawConnection::open(server.local_addr()).await;
    connection.send(b"hrpc\x09\x00\x00").await;
    connection
        .send(&call_frame(0, ECHO_PROTOCOL, "echo", &[]))
        .await;
    let message = expect_fatal(
        &mut connection,
        0,
        RpcErrorCodeProto::FatalInvalidRpcHeader,
        java_class::RPC_SERVER_EXCEPTION,
    )
    .await;
    assert!(
        message.contains("before the connection context"),
        "{message}"
    );
    assert_server_healthy(server.local_addr()).await;
}

#[tokio::test]
async fn a_second_connection_context_is_fatal() {
    let server = start_default_server().await;
    let mut connection = RawConnection::open_simple(server.local_addr(), ECHO_PROTOCOL).await;
    connection
        .send(&context_frame(ECHO_PROTOCOL, "again"))
        .await;
    expect_fatal(
        &mut connection,
        -3,
        RpcErrorCodeProto::FatalInvalidRpcHeader,
        java_class::RPC_SERVER_EXCEPTION,
    )
    .await;
    assert_server_healthy(server.local_addr()).await;
}

#[tokio::test]
async fn sasl_on_a_connection_without_sasl_is_fatal() {
    let server = start_default_server().await;
    let mut connection = RawConnection::open_simple(server.local_addr(), ECHO_PROTOCOL).await;
    let mut payload = request_header(-33, &[], -1).encode_length_delimited_to_vec();
    let negotiate = RpcSaslProto {
        state: SaslState::Negotiate as i32,
        ..Default::default()
    };
    put_delimited_bytes(&mut payload, &negotiate.encode_to_vec());
    connection.send(&frame(&payload)).await;
    expect_fatal(
        &mut connection,
        -33,
        RpcErrorCodeProto::FatalInvalidRpcHeader,
        java_class::RPC_SERVER_EXCEPTION,
    )
    .await;
    assert_server_healthy(server.local_addr()).await;
}

#[tokio::test]
async fn pings_are_never_answered() {
    let server = start_default_server().await;
    let mut connection = RawConnection::open_simple(server.local_addr(), ECHO_PROTOCOL).await;
    let ping = frame(&request_header(-4, &CLIENT_ID, -1).encode_length_delimited_to_vec());
    connection.send(&ping).await;
    connection.send(&ping).await;
    let body = EchoRequest {
        text: "after pings".into(),
        delay_ms: 0,
    }
    .encode_to_vec();
    connection
        .send(&call_frame(42, ECHO_PROTOCOL, "echo", &body))
        .await;
    connection.send(&ping).await;
    // The very first reply is the call's: pings produced nothing.
    let (header, _) = connection.read_reply().await;
    assert_eq!(
        (header.status(), header.call_id),
        (RpcStatusProto::Success, 42)
    );
    let quiet = tokio::time::timeout(Duration::from_millis(200), connection.read_frame()).await;
    assert!(quiet.is_err(), "no reply to the trailing ping");
}

#[tokio::test]
async fn idle_connections_are_closed_but_busy_ones_are_not() {
    let server = start_server(ServerConfig {
        idle_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    })
    .await;
    let started = Instant::now();
    let mut quiet = RawConnection::open_simple(server.local_addr(), ECHO_PROTOCOL).await;
    // A call running longer than the idle timeout keeps its connection open.
    let mut busy = RawConnection::open_simple(server.local_addr(), ECHO_PROTOCOL).await;
    let body = EchoRequest {
        text: "slow".into(),
        delay_ms: 600,
    }
    .encode_to_vec();
    busy.send(&call_frame(1, ECHO_PROTOCOL, "echo", &body))
        .await;

    quiet.assert_closed().await;
    let closed_after = started.elapsed();
    assert!(
        closed_after >= Duration::from_millis(250),
        "closed too early: {closed_after:?}"
    );
    assert!(
        closed_after < Duration::from_millis(1000),
        "closed too late: {closed_after:?}"
    );

    let (header, _) = busy.read_reply().await;
    assert_eq!(
        (header.status(), header.call_id),
        (RpcStatusProto::Success, 1)
    );
    assert_server_healthy(server.local_addr()).await;
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed() {
    let server = start_server(ServerConfig {
        max_connections: 2,
        ..ServerConfig::default()
    })
    .await;
    let first = RawConnection::open_simple(server.local_addr(), ECHO_PROTOCOL).await;
    let _second = RawConnection::open_simple(server.local_addr(), ECHO_PROTOCOL).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Writing could race with the close, so the third connection only listens.
    let mut third = RawConnection::open(server.local_addr()).await;
    third.assert_closed().await;
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_server_healthy(server.local_addr()).await;
}

#[tokio::test]
async fn frames_before_authentication_are_limited_to_a_small_size() {
    let server = start_default_server().await;
    // SASL preamble, then a frame declaring 1 MiB (the full limit is 128 MiB): refused from its
    // length alone, before the server buffers any of it.
    let mut connection = RawConnection::open(server.local_addr()).await;
    connection.send(b"hrpc\x09\x00\xdf").await;
    connection.send(&(1u32 << 20).to_be_bytes()).await;
    let message = expect_fatal(
        &mut connection,
        -1,
        RpcErrorCodeProto::FatalInvalidRpcHeader,
        java_class::RPC_SERVER_EXCEPTION,
    )
    .await;
    assert!(
        message.contains("before authentication") && message.contains("1048576"),
        "{message}"
    );
    // The same before the connection context of a SIMPLE connection.
    let mut connection = RawConnection::open(server.local_addr()).await;
    connection.send(b"hrpc\x09\x00\x00").await;
    connection.send(&(1u32 << 20).to_be_bytes()).await;
    expect_fatal(
        &mut connection,
        -1,
        RpcErrorCodeProto::FatalInvalidRpcHeader,
        java_class::RPC_SERVER_EXCEPTION,
    )
    .await;
    // Once authenticated, a call of 1 MiB is framed and answered.
    let mut connection = RawConnection::open_simple(server.local_addr(), ECHO_PROTOCOL).await;
    let body = EchoRequest {
        text: "x".repeat(1 << 20),
        delay_ms: 0,
    }
    .encode_to_vec();
    connection
        .send(&call_frame(7, ECHO_PROTOCOL, "echo", &body))
        .await;
    let (header, _) = connection.read_reply_up_to(4 << 20).await;
    assert_eq!(
        (header.status(), header.call_id),
        (RpcStatusProto::Success, 7)
    );
    assert_server_healthy(server.local_addr()).await;
}

#[tokio::test]
async fn a_connection_that_does_not_authenticate_in_time_is_closed() {
    let server = start_server(ServerConfig {
        auth_timeout: Duration::from_millis(500),
        ..ServerConfig::default()
    })
    .await;
    // The SASL preamble and a ping now and then, never a SASL step: it holds a slot until its
    // authentication deadline.
    let mut connection = RawConnection::open(server.local_addr()).await;
    connection.send(b"hrpc\x09\x00\xdf").await;
    let ping = frame(&request_header(-4, &CLIENT_ID, -1).encode_length_delimited_to_vec());
    let opened = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if connection.stream.write_all(&ping).await.is_err() {
                return;
            }
            let mut byte = [0u8; 1];
            match tokio::time::timeout(
                Duration::from_millis(10),
                tokio::io::AsyncReadExt::read(&mut connection.stream, &mut byte),
            )
            .await
            {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                _ => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server never closed the connection");
    assert!(
        opened.elapsed() >= Duration::from_millis(400),
        "closed before its deadline: {:?}",
        opened.elapsed()
    );
    // An authenticated connection that idles as long stays open.
    let client = echo_client(server.local_addr(), "patient").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(client.is_connected());
    assert_server_healthy(server.local_addr()).await;
}

/// A connection from `source` (another loopback address) to `address`.
async fn connect_from(source: &str, address: std::net::SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(address).await.unwrap()
}

/// Whether the server closes `stream` within a second.
async fn closed_soon(stream: &mut tokio::net::TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(
            Duration::from_secs(1),
            tokio::io::AsyncReadExt::read(stream, &mut byte)
        )
        .await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn one_address_cannot_take_every_unauthenticated_slot() {
    let server = start_server(ServerConfig {
        max_unauthenticated_per_address: 3,
        ..ServerConfig::default()
    })
    .await;
    let address = server.local_addr();
    // 127.0.0.2 opens SASL connections and never authenticates: three are kept, the next is
    // closed at once.
    let mut holders = Vec::new();
    for _ in 0..3 {
        let mut stream = connect_from("127.0.0.2", address).await;
        stream.write_all(b"hrpc\x09\x00\xdf").await.unwrap();
        holders.push(stream);
    }
    let mut fourth = connect_from("127.0.0.2", address).await;
    let _ = fourth.write_all(b"hrpc\x09\x00\xdf").await;
    assert!(closed_soon(&mut fourth).await, "a fourth is refused");
    assert!(!closed_soon(&mut holders[0]).await, "the first three stay");
    // Clients from other addresses are served meanwhile, and authenticated connections do not
    // count: three authenticated clients from 127.0.0.1 and more.
    let mut clients = Vec::new();
    for index in 0..5 {
        clients.push(echo_client(address, &format!("user{index}")).await);
    }
    assert_server_healthy(address).await;
    // When one of 127.0.0.2's connections closes, its slot is free again.
    drop(holders.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = connect_from("127.0.0.2", address).await;
    again.write_all(b"hrpc\x09\x00\xdf").await.unwrap();
    assert!(
        !closed_soon(&mut again).await,
        "a freed slot is taken again"
    );
}
