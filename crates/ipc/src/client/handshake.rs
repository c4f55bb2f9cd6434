//! Client connection setup: preamble, optional SASL (SIMPLE fallback or TOKEN DIGEST-MD5), context.

use bytes::{Bytes, BytesMut};
use prost::Message;
use spindle_proto::common::rpc_response_header_proto::RpcStatusProto;
use spindle_proto::common::rpc_sasl_proto::{SaslAuth, SaslState};
use spindle_proto::common::{
    IpcConnectionContextProto, RpcResponseHeaderProto, RpcSaslProto, UserInformationProto,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::debug;

use super::error::IpcClientError;
use super::{ClientAuth, ClientOptions, TokenCredentials};
use crate::sasl::digest_md5::{self, base64_encode};
use crate::sasl::{MECHANISM_DIGEST_MD5, METHOD_SIMPLE, METHOD_TOKEN};
use crate::wire::decoder::split_frame;
use crate::wire::request::request_header;
use crate::wire::{
    frame, preamble, put_delimited_bytes, take_delimited, AUTH_PROTOCOL_NONE, AUTH_PROTOCOL_SASL,
    CONNECTION_CONTEXT_CALL_ID, INVALID_RETRY_COUNT, SASL_CALL_ID,
};

/// Frames an out-of-band message: header (given call id, retry -1) then one delimited message.
pub(crate) fn out_of_band_frame(call_id: i32, client_id: &[u8], message: &impl Message) -> Bytes {
    let mut payload =
        request_header(call_id, client_id, INVALID_RETRY_COUNT).encode_length_delimited_to_vec();
    put_delimited_bytes(&mut payload, &message.encode_to_vec());
    frame(&payload)
}

/// Reads one frame from a stream not yet handed to the reader task.
pub(crate) async fn read_frame<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut BytesMut,
    max_frame_len: usize,
) -> Result<Bytes, IpcClientError> {
    loop {
        match split_frame(buffer, max_frame_len) {
            Ok(Some(frame)) => return Ok(frame),
            Ok(None) => {}
            Err(error) => {
                return Err(IpcClientError::Protocol {
                    message: error.to_string(),
                })
            }
        }
        let read =
            stream
                .read_buf(buffer)
                .await
                .map_err(|error| IpcClientError::ConnectionClosed {
                    reason: format!("read failed during connection setup: {error}"),
                })?;
        if read == 0 {
            return Err(IpcClientError::ConnectionClosed {
                reason: "server closed the connection during setup".into(),
            });
        }
    }
}

async fn write<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> Result<(), IpcClientError> {
    stream
        .write_all(bytes)
        .await
        .map_err(|error| IpcClientError::ConnectionClosed {
            reason: format!("write failed during connection setup: {error}"),
        })
}

/// Runs preamble, SASL and connection context; leaves the stream ready for calls.
pub(crate) async fn establish<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    options: &ClientOptions,
    client_id: &[u8],
    buffer: &mut BytesMut,
) -> Result<(), IpcClientError> {
    let user_info = match &options.auth {
        ClientAuth::Simple => {
            write(stream, &preamble(AUTH_PROTOCOL_NONE)).await?;
            simple_user_info(options)
        }
        ClientAuth::Token(token) => {
            write(stream, &preamble(AUTH_PROTOCOL_SASL)).await?;
            match sasl_connect(stream, options, token, buffer).await? {
                SaslResult::Simple => simple_user_info(options),
                // With TOKEN auth the identity is the token: the context carries an empty user.
                SaslResult::Token => UserInformationProto::default(),
            }
        }
    };
    let context = IpcConnectionContextProto {
        user_info: Some(user_info),
        protocol: Some(options.protocol.clone()),
    };
    write(
        stream,
        &out_of_band_frame(CONNECTION_CONTEXT_CALL_ID, client_id, &context),
    )
    .await
}

fn simple_user_info(options: &ClientOptions) -> UserInformationProto {
    UserInformationProto {
        effective_user: Some(options.user.clone()),
        real_user: None,
    }
}

enum SaslResult {
    Simple,
    Token,
}

fn sasl_message(state: SaslState) -> RpcSaslProto {
    RpcSaslProto {
        state: state as i32,
        ..Default::default()
    }
}

async fn send_sasl<S: AsyncWrite + Unpin>(
    stream: &mut S,
    message: &RpcSaslProto,
) -> Result<(), IpcClientError> {
    // SASL messages carry an empty client id, like the Java client's.
    write(stream, &out_of_band_frame(SASL_CALL_ID, &[], message)).await
}

async fn receive_sasl<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut BytesMut,
    max_frame_len: usize,
) -> Result<RpcSaslProto, IpcClientError> {
    let mut payload = read_frame(stream, buffer, max_frame_len).await?;
    let header = take_delimited(&mut payload, "RpcResponseHeaderProto")
        .ok()
        .and_then(|bytes| RpcResponseHeaderProto::decode(bytes).ok())
        .ok_or_else(|| IpcClientError::Protocol {
            message: "SASL reply header does not decode".into(),
        })?;
    match header.status() {
        RpcStatusProto::Success => {}
        RpcStatusProto::Error | RpcStatusProto::Fatal => {
            return Err(IpcClientError::Fatal {
                class_name: header.exception_class_name.unwrap_or_default(),
                message: header.error_msg.unwrap_or_default(),
            })
        }
    }
    if header.call_id as i32 != SASL_CALL_ID {
        return Err(IpcClientError::Protocol {
            message: format!(
                "non-SASL reply (call id {}) during SASL negotiation",
                header.call_id as i32
            ),
        });
    }
    let body =
        take_delimited(&mut payload, "RpcSaslProto").map_err(|error| IpcClientError::Protocol {
            message: error.to_string(),
        })?;
    RpcSaslProto::decode(body).map_err(|source| IpcClientError::Decode {
        message_type: "RpcSaslProto",
        source,
    })
}

async fn sasl_connect<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    options: &ClientOptions,
    token: &TokenCredentials,
    buffer: &mut BytesMut,
) -> Result<SaslResult, IpcClientError> {
    send_sasl(stream, &sasl_message(SaslState::Negotiate)).await?;
    let reply = receive_sasl(stream, buffer, options.max_response_len).await?;
    match reply.state() {
        SaslState::Success => {
            debug!("server answered NEGOTIATE with SUCCESS: SIMPLE auth");
            return Ok(SaslResult::Simple);
        }
        SaslState::Negotiate => {}
        other => {
            return Err(IpcClientError::Authentication {
                message: format!("expected NEGOTIATE or SUCCESS, got {}", other.as_str_name()),
            })
        }
    }
    let chosen = reply.auths.iter().find(|auth| {
        auth.method == METHOD_SIMPLE && auth.mechanism.is_empty()
            || auth.method == METHOD_TOKEN && auth.mechanism == MECHANISM_DIGEST_MD5
    });
    let Some(chosen) = chosen else {
        let offered: Vec<&str> = reply
            .auths
            .iter()
            .map(|auth| auth.method.as_str())
            .collect();
        return Err(IpcClientError::Authentication {
            message: format!("client cannot authenticate via {offered:?}"),
        });
    };
    if chosen.method == METHOD_SIMPLE {
        let mut initiate = sasl_message(SaslState::Initiate);
        initiate.auths.push(chosen.clone());
        send_sasl(stream, &initiate).await?;
        return Ok(SaslResult::Simple);
    }
    let cnonce = base64_encode(&rand::random::<[u8; 30]>());
    let offered_auth = SaslAuth {
        challenge: None,
        ..chosen.clone()
    };
    let mut initiate = sasl_message(SaslState::Initiate);
    initiate.auths.push(offered_auth);
    let step = match chosen.challenge.as_deref() {
        Some(challenge) => {
            let step = digest_answer(challenge, token, &cnonce)?;
            initiate.token = Some(step.response.clone());
            send_sasl(stream, &initiate).await?;
            step
        }
        None => {
            initiate.token = Some(Vec::new());
            send_sasl(stream, &initiate).await?;
            let challenge = receive_sasl(stream, buffer, options.max_response_len).await?;
            if challenge.state() != SaslState::Challenge {
                return Err(IpcClientError::Authentication {
                    message: format!(
                        "expected CHALLENGE, got {}",
                        challenge.state().as_str_name()
                    ),
                });
            }
            let step = digest_answer(
                challenge.token.as_deref().unwrap_or_default(),
                token,
                &cnonce,
            )?;
            let mut response = sasl_message(SaslState::Response);
            response.token = Some(step.response.clone());
            send_sasl(stream, &response).await?;
            step
        }
    };
    let success = receive_sasl(stream, buffer, options.max_response_len).await?;
    if success.state() != SaslState::Success {
        return Err(IpcClientError::Authentication {
            message: format!("expected SUCCESS, got {}", success.state().as_str_name()),
        });
    }
    if success.token.as_deref() != Some(step.expected_rspauth.as_slice()) {
        return Err(IpcClientError::Authentication {
            message: "the server's rspauth does not prove it knows the token password".into(),
        });
    }
    debug!(kind = %token.kind, "TOKEN authentication complete");
    Ok(SaslResult::Token)
}

fn digest_answer(
    challenge: &[u8],
    token: &TokenCredentials,
    cnonce: &str,
) -> Result<digest_md5::DigestClientStep, IpcClientError> {
    digest_md5::client_answer(challenge, &token.identifier, &token.password, cnonce).map_err(
        |error| IpcClientError::Authentication {
            message: error.to_string(),
        },
    )
}
