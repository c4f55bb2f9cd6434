//! Sans-I/O state machine of one server connection: bytes in, actions out.
//!
//! It enforces the order preamble -> (SASL) -> connection context -> calls, answers pings and SASL
//! itself, and hands method calls to the caller as [`ConnectionAction::Dispatch`]. The async driver
//! only moves bytes; fuzzing and unit tests drive this type directly.

use bytes::{Bytes, BytesMut};
use spindle_proto::common::rpc_response_header_proto::{RpcErrorCodeProto, RpcStatusProto};
use spindle_proto::common::IpcConnectionContextProto;

use crate::error::java_class;
use crate::sasl::{AuthPolicy, EstablishedAuth, SaslServerSession, SaslStep};
use crate::service::CallerIdentity;
use crate::wire::decoder::{AuthProtocol, InboundItem, ServerStreamDecoder, StreamDecodeError};
use crate::wire::request::{parse_client_frame, CallFrame, ClientMessage, FrameRejection};
use crate::wire::response::{error_frame, sasl_frame, ErrorReply, ReplyTo};
use crate::wire::HTTP_ON_IPC_PORT_RESPONSE;

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionAction {
    /// Write this frame; the connection goes on.
    Send(Bytes),
    /// Run this call for this caller and send its reply.
    Dispatch {
        /// The call.
        call: CallFrame,
        /// The connection's authenticated caller.
        identity: CallerIdentity,
    },
    /// Write `last_words` if any, then close the connection.
    Close {
        /// A FATAL reply (or the HTTP text) to send first.
        last_words: Option<Bytes>,
        /// Why, for the logs.
        reason: String,
    },
}

#[derive(Debug)]
enum Phase {
    AwaitPreamble,
    Sasl(SaslServerSession),
    AwaitContext(EstablishedAuth),
    Ready(CallerIdentity),
    Closed,
}

/// Protocol state of one connection.
#[derive(Debug)]
pub struct ConnectionState {
    policy: AuthPolicy,
    decoder: ServerStreamDecoder,
    /// The frame limit once authenticated (before: [`PRE_AUTH_MAX_FRAME_LEN`]).
    max_frame_len: usize,
    phase: Phase,
}

fn fatal(
    reply_to: &ReplyTo,
    code: RpcErrorCodeProto,
    class_name: &str,
    message: String,
) -> ConnectionAction {
    let reply = ErrorReply {
        status: RpcStatusProto::Fatal,
        code,
        class_name: class_name.to_string(),
        message: message.clone(),
    };
    ConnectionAction::Close {
        last_words: Some(error_frame(reply_to, &reply)),
        reason: message,
    }
}

fn unauthorized(class_name: &str, message: String) -> ConnectionAction {
    fatal(
        &ReplyTo::connection_level(),
        RpcErrorCodeProto::FatalUnauthorized,
        class_name,
        message,
    )
}

impl ConnectionState {
    /// A fresh connection that expects the preamble.
    pub fn new(policy: AuthPolicy, max_frame_len: usize) -> Self {
        Self {
            policy,
            decoder: ServerStreamDecoder::new(max_frame_len.min(PRE_AUTH_MAX_FRAME_LEN)),
            max_frame_len,
            phase: Phase::AwaitPreamble,
        }
    }

    /// The caller's identity once the connection context arrived.
    pub fn identity(&self) -> Option<&CallerIdentity> {
        match &self.phase {
            Phase::Ready(identity) => Some(identity),
            _ => None,
        }
    }

    /// Whether a `Close` action was produced; no further action will be.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// Consumes bytes from `buffer` until an action is due; `None` means more bytes are needed.
    pub fn next_action(&mut self, buffer: &mut BytesMut) -> Option<ConnectionAction> {
        while !self.is_closed() {
            let item = match self.decoder.decode(buffer) {
                Ok(Some(item)) => item,
                Ok(None) => return None,
                Err(error) => {
                    let action = match error {
                        StreamDecodeError::FrameTooLarge { declared, max }
                            if self.identity().is_none() =>
                        {
                            pre_auth_frame_too_large(declared, max)
                        }
                        error => stream_error_action(error),
                    };
                    return Some(self.close_with(action));
                }
            };
            if let Some(action) = self.handle_item(item) {
                if matches!(action, ConnectionAction::Close { .. }) {
                    return Some(self.close_with(action));
                }
                return Some(action);
            }
        }
        None
    }

    /// The peer closed its side: reports a truncated preamble or frame, if any.
    pub fn end_of_stream(&mut self, buffer: &BytesMut) -> Option<ConnectionAction> {
        if self.is_closed() {
            return None;
        }
        let action = match self.decoder.check_eof(buffer) {
            Ok(()) => ConnectionAction::Close {
                last_words: None,
                reason: "peer closed the connection".into(),
            },
            Err(error) => stream_error_action(error),
        };
        Some(self.close_with(action))
    }

    fn close_with(&mut self, action: ConnectionAction) -> ConnectionAction {
        self.phase = Phase::Closed;
        action
    }

    fn handle_item(&mut self, item: InboundItem) -> Option<ConnectionAction> {
        match item {
            InboundItem::HttpRequest => Some(ConnectionAction::Close {
                last_words: Some(Bytes::from_static(HTTP_ON_IPC_PORT_RESPONSE)),
                reason: "HTTP request on the IPC port".into(),
            }),
            InboundItem::Preamble(preamble) => self.on_preamble(preamble.auth_protocol),
            InboundItem::Frame(payload) => match parse_client_frame(payload) {
                Ok(message) => self.on_message(message),
                Err(rejection) => Some(rejection_action(rejection)),
            },
        }
    }

    fn on_preamble(&mut self, auth_protocol: AuthProtocol) -> Option<ConnectionAction> {
        match auth_protocol {
            AuthProtocol::None if self.policy.allows_simple() => {
                self.phase = Phase::AwaitContext(EstablishedAuth::Simple);
                None
            }
            AuthProtocol::None => Some(unauthorized(
                java_class::ACCESS_CONTROL,
                "SIMPLE authentication is not enabled. Available:[TOKEN]".into(),
            )),
            AuthProtocol::Sasl => {
                self.phase = Phase::Sasl(SaslServerSession::new(self.policy.clone()));
                None
            }
        }
    }

    fn on_message(&mut self, message: ClientMessage) -> Option<ConnectionAction> {
        let phase = std::mem::replace(&mut self.phase, Phase::Closed);
        match (phase, message) {
            (phase, ClientMessage::Ping) => {
                self.phase = phase;
                None
            }
            (Phase::Sasl(mut session), ClientMessage::Sasl(sasl)) => match session.step(&sasl) {
                Ok(SaslStep::Reply(reply)) => {
                    self.phase = Phase::Sasl(session);
                    Some(ConnectionAction::Send(sasl_frame(&reply)))
                }
                Ok(SaslStep::Established { reply, auth }) => {
                    self.phase = Phase::AwaitContext(auth);
                    reply.map(|reply| ConnectionAction::Send(sasl_frame(&reply)))
                }
                Err(failure) => Some(unauthorized(failure.class_name, failure.message)),
            },
            (Phase::AwaitContext(auth), ClientMessage::ConnectionContext { context, .. }) => {
                self.phase = Phase::Ready(identity_from(auth, context));
                // Authenticated: calls may be as large as the server allows.
                self.decoder.set_max_frame_len(self.max_frame_len);
                None
            }
            (Phase::Ready(identity), ClientMessage::Call(call)) => {
                self.phase = Phase::Ready(identity.clone());
                Some(ConnectionAction::Dispatch { call, identity })
            }
            (phase, message) => Some(out_of_order_action(&phase, &message)),
        }
    }
}

fn identity_from(auth: EstablishedAuth, context: IpcConnectionContextProto) -> CallerIdentity {
    match auth {
        EstablishedAuth::Simple => {
            let user_info = context.user_info.unwrap_or_default();
            CallerIdentity::Simple {
                user: user_info.effective_user.unwrap_or_default(),
                real_user: user_info.real_user,
            }
        }
        EstablishedAuth::Token { kind, identifier } => CallerIdentity::Token { kind, identifier },
    }
}

fn out_of_order_action(phase: &Phase, message: &ClientMessage) -> ConnectionAction {
    let (reply_to, what) = match message {
        ClientMessage::ConnectionContext { reply_to, .. } => {
            (reply_to.clone(), "connection context")
        }
        ClientMessage::Call(call) => (call.reply_to.clone(), "call"),
        ClientMessage::Sasl(_) => (ReplyTo::sasl(), "SASL message"),
        ClientMessage::Ping => (ReplyTo::connection_level(), "ping"),
    };
    let when = match phase {
        Phase::AwaitPreamble | Phase::Closed => "before the preamble",
        Phase::Sasl(_) => "before SASL authentication completed",
        Phase::AwaitContext(_) => "before the connection context",
        Phase::Ready(_) => "after the connection context",
    };
    let message = format!("unexpected {what} {when}");
    match phase {
        Phase::Sasl(_) => unauthorized(java_class::ACCESS_CONTROL, message),
        _ => fatal(
            &reply_to,
            RpcErrorCodeProto::FatalInvalidRpcHeader,
            java_class::RPC_SERVER_EXCEPTION,
            message,
        ),
    }
}

/// The largest frame a connection may send before its connection context (SASL negotiation and
/// the context itself take a few hundred bytes): an unauthenticated peer cannot make the server
/// buffer the full `ipc.maximum.data.length` (128 MiB).
pub const PRE_AUTH_MAX_FRAME_LEN: usize = 64 * 1024;

fn pre_auth_frame_too_large(declared: u64, max: usize) -> ConnectionAction {
    fatal(
        &ReplyTo::connection_level(),
        RpcErrorCodeProto::FatalInvalidRpcHeader,
        java_class::RPC_SERVER_EXCEPTION,
        format!(
            "frame of {declared} bytes before authentication is longer than the {max} bytes \
             allowed until the connection context"
        ),
    )
}

fn rejection_action(rejection: FrameRejection) -> ConnectionAction {
    fatal(
        &rejection.reply_to,
        rejection.code,
        java_class::RPC_SERVER_EXCEPTION,
        rejection.message,
    )
}

fn stream_error_action(error: StreamDecodeError) -> ConnectionAction {
    let reply_to = ReplyTo::connection_level();
    let message = error.to_string();
    match error {
        StreamDecodeError::BadMagic { .. } | StreamDecodeError::UnsupportedVersion { .. } => fatal(
            &reply_to,
            RpcErrorCodeProto::FatalVersionMismatch,
            java_class::VERSION_MISMATCH,
            message,
        ),
        StreamDecodeError::UnknownAuthProtocol { .. } => fatal(
            &reply_to,
            RpcErrorCodeProto::FatalUnauthorized,
            java_class::IPC_EXCEPTION,
            message,
        ),
        StreamDecodeError::FrameTooLarge { .. } => fatal(
            &reply_to,
            RpcErrorCodeProto::FatalInvalidRpcHeader,
            java_class::RPC_SERVER_EXCEPTION,
            message,
        ),
        StreamDecodeError::TruncatedAtEof { .. } => fatal(
            &reply_to,
            RpcErrorCodeProto::FatalDeserializingRequest,
            java_class::RPC_SERVER_EXCEPTION,
            message,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::request::request_header;
    use crate::wire::{frame, put_delimited_bytes};
    use prost::Message;
    use spindle_proto::common::{RequestHeaderProto, RpcResponseHeaderProto, UserInformationProto};

    fn context(user: &str) -> Bytes {
        let mut payload = request_header(-3, &[7; 16], -1).encode_length_delimited_to_vec();
        let context = IpcConnectionContextProto {
            user_info: Some(UserInformationProto {
                effective_user: Some(user.into()),
                real_user: Some("proxy".into()),
            }),
            protocol: Some("p".into()),
        };
        put_delimited_bytes(&mut payload, &context.encode_to_vec());
        frame(&payload)
    }

    fn call(call_id: i32) -> Bytes {
        let mut payload = request_header(call_id, &[7; 16], 0).encode_length_delimited_to_vec();
        let routing = RequestHeaderProto {
            method_name: "m".into(),
            declaring_class_protocol_name: "p".into(),
            client_protocol_version: 1,
        };
        put_delimited_bytes(&mut payload, &routing.encode_to_vec());
        put_delimited_bytes(&mut payload, &[]);
        frame(&payload)
    }

    fn run(state: &mut ConnectionState, bytes: &[u8]) -> Vec<ConnectionAction> {
        let mut buffer = BytesMut::from(bytes);
        std::iter::from_fn(|| state.next_action(&mut buffer)).collect()
    }

    fn fatal_header(action: &ConnectionAction) -> RpcResponseHeaderProto {
        let ConnectionAction::Close {
            last_words: Some(last_words),
            ..
        } = action
        else {
            panic!("expected a close with a FATAL reply, got {action:?}");
        };
        let mut payload = last_words.slice(4..);
        RpcResponseHeaderProto::decode_length_delimited(&mut payload).unwrap()
    }

    #[test]
    fn simple_connection_dispatches_calls_with_the_context_user() {
        let mut state = ConnectionState::new(AuthPolicy::Simple, 1024);
        let mut bytes = b"hrpc\x09\x00\x00".to_vec();
        bytes.extend_from_slice(&context("alice"));
        bytes.extend_from_slice(&call(1));
        bytes.extend_from_slice(&call(2));
        let actions = run(&mut state, &bytes);
        assert_eq!(actions.len(), 2);
        for (action, expected_id) in actions.iter().zip([1, 2]) {
            let ConnectionAction::Dispatch { call, identity } = action else {
                panic!("expected dispatch, got {action:?}");
            };
            assert_eq!(call.reply_to.call_id, expected_id);
            assert_eq!(
                identity,
                &CallerIdentity::Simple {
                    user: "alice".into(),
                    real_user: Some("proxy".into())
                }
            );
        }
        assert!(state.identity().is_some());
        assert_eq!(
            state.end_of_stream(&BytesMut::new()).map(|a| matches!(
                a,
                ConnectionAction::Close {
                    last_words: None,
                    ..
                }
            )),
            Some(true)
        );
        assert!(state.is_closed());
    }

    #[test]
    fn nothing_is_produced_after_a_close() {
        let mut state = ConnectionState::new(AuthPolicy::Simple, 1024);
        let mut bytes = b"hrpc\x09\x00\x00".to_vec();
        bytes.extend_from_slice(&call(1)); // before the context: FATAL
        bytes.extend_from_slice(&context("alice"));
        bytes.extend_from_slice(&call(2));
        let actions = run(&mut state, &bytes);
        assert_eq!(actions.len(), 1);
        let header = fatal_header(&actions[0]);
        assert_eq!(header.call_id, 1);
        assert!(state.is_closed());
        assert_eq!(state.end_of_stream(&BytesMut::new()), None);
    }

    #[test]
    fn partial_frames_wait_for_more_bytes() {
        let mut state = ConnectionState::new(AuthPolicy::Simple, 1024);
        let mut bytes = b"hrpc\x09\x00\x00".to_vec();
        bytes.extend_from_slice(&context("u"));
        let whole_call = call(9);
        bytes.extend_from_slice(&whole_call[..whole_call.len() - 1]);
        let mut buffer = BytesMut::from(&bytes[..]);
        assert_eq!(state.next_action(&mut buffer), None);
        buffer.extend_from_slice(&whole_call[whole_call.len() - 1..]);
        assert!(matches!(
            state.next_action(&mut buffer),
            Some(ConnectionAction::Dispatch { .. })
        ));
        // EOF in the middle of the next frame is reported as a FATAL.
        buffer.extend_from_slice(&[0, 0, 0, 9, 1]);
        assert_eq!(state.next_action(&mut buffer), None);
        let action = state.end_of_stream(&buffer).unwrap();
        assert_eq!(
            fatal_header(&action).error_detail(),
            RpcErrorCodeProto::FatalDeserializingRequest
        );
    }

    #[test]
    fn sasl_simple_then_context_then_calls() {
        let mut state = ConnectionState::new(AuthPolicy::Simple, 1024);
        let mut bytes = b"hrpc\x09\x00\xdf".to_vec();
        // The NEGOTIATE the Java client sends (protocol.md 2.7).
        bytes.extend_from_slice(&[
            0, 0, 0, 0x0e, 0x0a, 0x08, 0x02, 0x10, 0x00, 0x18, 0x41, 0x22, 0x00, 0x28, 0x01, 0x02,
            0x10, 0x01,
        ]);
        bytes.extend_from_slice(&context("bob"));
        bytes.extend_from_slice(&call(0));
        let actions = run(&mut state, &bytes);
        assert_eq!(actions.len(), 2, "{actions:?}");
        assert!(matches!(actions[0], ConnectionAction::Send(_)));
        assert!(
            matches!(&actions[1], ConnectionAction::Dispatch { identity: CallerIdentity::Simple { user, .. }, .. } if user == "bob")
        );
    }

    #[test]
    fn calls_during_sasl_are_unauthorized() {
        let mut state = ConnectionState::new(AuthPolicy::Simple, 1024);
        let mut bytes = b"hrpc\x09\x00\xdf".to_vec();
        bytes.extend_from_slice(&call(0));
        let actions = run(&mut state, &bytes);
        assert_eq!(
            fatal_header(&actions[0]).error_detail(),
            RpcErrorCodeProto::FatalUnauthorized
        );
    }
}
