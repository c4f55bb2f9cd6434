//! SASL on the wire: SIMPLE answers, TOKEN (DIGEST-MD5) authentication, refusals.

mod common;

use std::sync::Arc;

use common::*;
use prost::Message;
use spindle_ipc::wire::take_delimited;
use spindle_ipc::{
    java_class, AuthPolicy, ClientAuth, ClientOptions, InvalidToken, IpcClient, IpcClientError,
    ServerConfig, TokenCredentials, TokenSecretManager,
};
use spindle_proto::common::rpc_response_header_proto::{RpcErrorCodeProto, RpcStatusProto};
use spindle_proto::common::rpc_sasl_proto::SaslState;
use spindle_proto::common::RpcSaslProto;

const TOKEN_KIND: &str = "YARN_AM_RM_TOKEN";

/// Knows one token: identifier `0a 14 1e`, password `01 02 03 04` (the protocol.md 2.6 vector).
struct TestSecretManager;

impl TokenSecretManager for TestSecretManager {
    fn token_kind(&self) -> &str {
        TOKEN_KIND
    }

    fn retrieve_password(&self, identifier: &[u8]) -> Result<Vec<u8>, InvalidToken> {
        match identifier {
            [0x0a, 0x14, 0x1e] => Ok(vec![1, 2, 3, 4]),
            _ => Err(InvalidToken::new("token is not known to this test")),
        }
    }
}

fn token_server_config() -> ServerConfig {
    ServerConfig {
        auth: AuthPolicy::Token(Arc::new(TestSecretManager)),
        ..ServerConfig::default()
    }
}

fn token_options(password: Vec<u8>) -> ClientOptions {
    ClientOptions {
        auth: ClientAuth::Token(TokenCredentials {
            kind: TOKEN_KIND.into(),
            identifier: vec![0x0a, 0x14, 0x1e],
            password,
        }),
        ..ClientOptions::new(ECHO_PROTOCOL, "appattempt_1700000000000_0001_000001")
    }
}

/// The NEGOTIATE frame the real AMRMClient sent (protocol.md 2.7).
const JAVA_NEGOTIATE: &[u8] = &[
    0x00, 0x00, 0x00, 0x0e, 0x0a, 0x08, 0x02, 0x10, 0x00, 0x18, 0x41, 0x22, 0x00, 0x28, 0x01, 0x02,
    0x10, 0x01,
];

#[tokio::test]
async fn simple_server_answers_java_negotiate_with_success() {
    let server = start_default_server().await;
    let mut connection = RawConnection::open(server.local_addr()).await;
    connection.send(b"hrpc\x09\x00\xdf").await;
    connection.send(JAVA_NEGOTIATE).await;
    let (header, mut rest) = connection.read_reply().await;
    assert_eq!(header.call_id, (-33i32) as u32);
    assert_eq!(header.status(), RpcStatusProto::Success);
    assert_eq!(
        header.client_id.as_deref(),
        Some(&[][..]),
        "SASL replies carry an empty client id"
    );
    let sasl = RpcSaslProto::decode(take_delimited(&mut rest, "sasl").unwrap()).unwrap();
    assert_eq!(sasl.state(), SaslState::Success);
    assert!(sasl.auths.is_empty() && sasl.token.is_none());
    assert!(rest.is_empty());
    // Then the context and calls work as with auth byte 0.
    connection.send(&context_frame(ECHO_PROTOCOL, "root")).await;
    let body = EchoRequest {
        text: "after sasl".into(),
        delay_ms: 0,
    }
    .encode_to_vec();
    connection
        .send(&call_frame(3, ECHO_PROTOCOL, "echo", &body))
        .await;
    let (header, mut rest) = connection.read_reply().await;
    assert_eq!(header.status(), RpcStatusProto::Success);
    let response = EchoResponse::decode_length_delimited(&mut rest).unwrap();
    assert_eq!(response.caller, "simple:root");
}

#[tokio::test]
async fn token_client_falls_back_to_simple_on_a_simple_server() {
    let server = start_default_server().await;
    let client = IpcClient::connect(server.local_addr(), token_options(vec![1, 2, 3, 4]))
        .await
        .unwrap();
    let response: EchoResponse = client.call("echo", &echo("x", 0)).await.unwrap();
    assert_eq!(
        response.caller,
        "simple:appattempt_1700000000000_0001_000001"
    );
}

#[tokio::test]
async fn token_auth_identifies_the_caller_by_token() {
    let server = start_server(token_server_config()).await;
    let client = IpcClient::connect(server.local_addr(), token_options(vec![1, 2, 3, 4]))
        .await
        .unwrap();
    let response: EchoResponse = client.call("echo", &echo("x", 0)).await.unwrap();
    assert_eq!(response.caller, format!("token:{TOKEN_KIND}:0a141e"));
}

#[tokio::test]
async fn wrong_token_password_is_refused_with_a_fatal_reply() {
    let server = start_server(token_server_config()).await;
    let error = IpcClient::connect(server.local_addr(), token_options(vec![9, 9, 9]))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, IpcClientError::Fatal { class_name, .. } if class_name == java_class::SASL_EXCEPTION),
        "{error:?}"
    );
    let unknown = ClientOptions {
        auth: ClientAuth::Token(TokenCredentials {
            kind: TOKEN_KIND.into(),
            identifier: vec![7, 7],
            password: vec![1],
        }),
        ..ClientOptions::new(ECHO_PROTOCOL, "x")
    };
    let error = IpcClient::connect(server.local_addr(), unknown)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, IpcClientError::Fatal { class_name, message }
            if class_name == java_class::INVALID_TOKEN && message.contains("not known")),
        "{error:?}"
    );
    // Good tokens still work.
    IpcClient::connect(server.local_addr(), token_options(vec![1, 2, 3, 4]))
        .await
        .unwrap();
}

#[tokio::test]
async fn token_server_refuses_connections_without_sasl() {
    let server = start_server(token_server_config()).await;
    let mut connection = RawConnection::open(server.local_addr()).await;
    connection.send(b"hrpc\x09\x00\x00").await;
    let (header, _) = connection.read_reply().await;
    assert_eq!(header.status(), RpcStatusProto::Fatal);
    assert_eq!(header.error_detail(), RpcErrorCodeProto::FatalUnauthorized);
    assert_eq!(
        header.exception_class_name.as_deref(),
        Some(java_class::ACCESS_CONTROL)
    );
    connection.assert_closed().await;

    // Our SIMPLE client sends its context without waiting for an answer, so the refusal surfaces
    // on the first call (or at connect time if the close wins the race).
    if let Ok(client) =
        IpcClient::connect(server.local_addr(), ClientOptions::new(ECHO_PROTOCOL, "x")).await
    {
        let error = client
            .call::<_, EchoResponse>("echo", &echo("x", 0))
            .await
            .unwrap_err();
        match error {
            IpcClientError::Fatal { class_name, .. } => {
                assert_eq!(class_name, java_class::ACCESS_CONTROL)
            }
            IpcClientError::ConnectionClosed { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn token_server_offers_digest_md5_with_an_inline_challenge() {
    let server = start_server(token_server_config()).await;
    let mut connection = RawConnection::open(server.local_addr()).await;
    connection.send(b"hrpc\x09\x00\xdf").await;
    connection.send(JAVA_NEGOTIATE).await;
    let (header, mut rest) = connection.read_reply().await;
    assert_eq!(
        (header.call_id, header.status()),
        ((-33i32) as u32, RpcStatusProto::Success)
    );
    let offer = RpcSaslProto::decode(take_delimited(&mut rest, "sasl").unwrap()).unwrap();
    assert_eq!(offer.state(), SaslState::Negotiate);
    let auth = &offer.auths[0];
    assert_eq!(auth.method, "TOKEN");
    assert_eq!(auth.mechanism, "DIGEST-MD5");
    assert_eq!(auth.protocol.as_deref(), Some(""));
    assert_eq!(auth.server_id.as_deref(), Some("default"));
    let challenge = String::from_utf8(auth.challenge.clone().unwrap()).unwrap();
    assert!(
        challenge.starts_with("realm=\"default\",nonce=\""),
        "{challenge}"
    );
    assert!(
        challenge.ends_with("\",qop=\"auth\",charset=utf-8,algorithm=md5-sess"),
        "{challenge}"
    );
}
