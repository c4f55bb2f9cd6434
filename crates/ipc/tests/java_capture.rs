//! The bytes a real Hadoop 3.5.0 YarnClient sent (protocol.md 1.10) are accepted byte for byte, and
//! the reply has the captured shape.

mod common;

use common::*;
use tokio::io::AsyncWriteExt;

const CAPTURED_CLIENT_ID: [u8; 16] = [
    0x5f, 0x1e, 0x9a, 0x03, 0xc4, 0x77, 0x4b, 0x21, 0x8d, 0x60, 0xee, 0x12, 0x39, 0xa5, 0x0b, 0xf4,
];
const PROTOCOL: &[u8] = b"org.apache.hadoop.yarn.api.ApplicationClientProtocolPB";

fn captured_client_bytes() -> Vec<u8> {
    let mut bytes = vec![0x68, 0x72, 0x70, 0x63, 0x09, 0x00, 0x00];
    // connection context
    bytes.extend_from_slice(&[
        0x00, 0x00, 0x00, 0x5c, 0x1a, 0x08, 0x02, 0x10, 0x00, 0x18, 0x05, 0x22, 0x10,
    ]);
    bytes.extend_from_slice(&CAPTURED_CLIENT_ID);
    bytes.extend_from_slice(&[0x28, 0x01, 0x40, 0x12, 0x06, 0x0a, 0x04]);
    bytes.extend_from_slice(b"root");
    bytes.extend_from_slice(&[0x1a, 0x36]);
    bytes.extend_from_slice(PROTOCOL);
    // getNewApplication
    bytes.extend_from_slice(&[
        0x00, 0x00, 0x00, 0x6a, 0x1a, 0x08, 0x02, 0x10, 0x00, 0x18, 0x00, 0x22, 0x10,
    ]);
    bytes.extend_from_slice(&CAPTURED_CLIENT_ID);
    bytes.extend_from_slice(&[0x28, 0x00, 0x4d, 0x0a, 0x11]);
    bytes.extend_from_slice(b"getNewApplication");
    bytes.extend_from_slice(&[0x12, 0x36]);
    bytes.extend_from_slice(PROTOCOL);
    bytes.extend_from_slice(&[0x18, 0x01, 0x00]);
    bytes
}

#[test]
fn captured_lengths_are_consistent() {
    let bytes = captured_client_bytes();
    assert_eq!(bytes.len(), 7 + 4 + 0x5c + 4 + 0x6a);
}

#[tokio::test]
async fn java_yarn_client_bytes_are_accepted_and_answered_in_the_captured_shape() {
    let server = start_default_server().await;
    let mut connection = RawConnection::open(server.local_addr()).await;
    connection.send(&captured_client_bytes()).await;
    let reply = connection
        .read_frame()
        .await
        .expect("a reply to getNewApplication");

    // Captured reply: 18 | 08 00 10 00 18 09 3a 10 <clientId> | 12 <18-byte body>. We also echo
    // retryCount (`40 00`), as the real Hadoop server does, so our header is 2 bytes longer.
    let mut expected = vec![0x1a, 0x08, 0x00, 0x10, 0x00, 0x18, 0x09, 0x3a, 0x10];
    expected.extend_from_slice(&CAPTURED_CLIENT_ID);
    expected.extend_from_slice(&[0x40, 0x00]);
    expected.push(0x12);
    expected.extend_from_slice(CAPTURED_NEW_APPLICATION_BODY);
    assert_eq!(reply.as_ref(), expected.as_slice());
    assert_eq!(reply.len(), 0x2e);

    // Nothing else is sent (the context got no answer); the connection stays open for more calls.
    connection.stream.shutdown().await.unwrap();
    connection.assert_closed().await;
    server.shutdown().await;
}

#[tokio::test]
async fn reply_is_delivered_even_when_the_client_writes_byte_by_byte() {
    let server = start_default_server().await;
    let mut connection = RawConnection::open(server.local_addr()).await;
    for byte in captured_client_bytes() {
        connection.send(&[byte]).await;
    }
    let reply = connection.read_frame().await.expect("a reply");
    assert_eq!(&reply[9..25], &CAPTURED_CLIENT_ID);
    server.shutdown().await;
}
