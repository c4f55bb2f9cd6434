//! Splits one client frame payload into its header and message, by call id (protocol.md 1.2, 1.3, 1.8).

use bytes::Bytes;
use prost::Message;
use spindle_proto::common::rpc_request_header_proto::OperationProto;
use spindle_proto::common::rpc_response_header_proto::RpcErrorCodeProto;
use spindle_proto::common::{
    IpcConnectionContextProto, RequestHeaderProto, RpcKindProto, RpcRequestHeaderProto,
    RpcSaslProto,
};

use super::response::ReplyTo;
use super::{take_delimited, CONNECTION_CONTEXT_CALL_ID, PING_CALL_ID, SASL_CALL_ID};

/// One message a client sent, with the parts a server needs.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// Call id -3: who the client is and which protocol it will call.
    ConnectionContext {
        /// What replies would echo (never answered, kept for error replies).
        reply_to: ReplyTo,
        /// The decoded IpcConnectionContextProto.
        context: IpcConnectionContextProto,
    },
    /// Call id -4: keep-alive, never answered.
    Ping,
    /// Call id -33: one step of the SASL exchange.
    Sasl(RpcSaslProto),
    /// Call id >= 0: a method call.
    Call(CallFrame),
}

/// A method call as it arrived: routing header plus the still-encoded request message.
#[derive(Debug, Clone, PartialEq)]
pub struct CallFrame {
    /// What the reply must echo.
    pub reply_to: ReplyTo,
    /// Method name, e.g. `getNewApplication`.
    pub method_name: String,
    /// Protocol name, e.g. `org.apache.hadoop.yarn.api.ApplicationClientProtocolPB`.
    pub protocol_name: String,
    /// Protocol version the client claims.
    pub client_protocol_version: u64,
    /// The request message bytes (without their length prefix), decoded later by the service.
    pub request: Bytes,
}

/// A frame the server cannot accept; always answered FATAL and followed by a close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FrameRejection {
    /// Whom the FATAL reply goes to (call id -1 when the header itself was unreadable).
    pub reply_to: ReplyTo,
    /// The `errorDetail` code.
    pub code: RpcErrorCodeProto,
    /// Human-readable reason.
    pub message: String,
}

impl FrameRejection {
    fn new(reply_to: &ReplyTo, code: RpcErrorCodeProto, message: impl Into<String>) -> Self {
        Self {
            reply_to: reply_to.clone(),
            code,
            message: message.into(),
        }
    }
}

/// Parses a frame payload sent by a client.
pub fn parse_client_frame(payload: Bytes) -> Result<ClientMessage, FrameRejection> {
    let mut rest = payload;
    let header_bytes = take_delimited(&mut rest, "RpcRequestHeaderProto").map_err(|error| {
        FrameRejection::new(
            &ReplyTo::connection_level(),
            RpcErrorCodeProto::FatalDeserializingRequest,
            error.to_string(),
        )
    })?;
    let header = RpcRequestHeaderProto::decode(header_bytes).map_err(|error| {
        FrameRejection::new(
            &ReplyTo::connection_level(),
            RpcErrorCodeProto::FatalDeserializingRequest,
            format!("RpcRequestHeaderProto does not decode: {error}"),
        )
    })?;
    let reply_to = ReplyTo {
        call_id: header.call_id,
        client_id: Bytes::from(header.client_id.clone()),
        retry_count: header.retry_count(),
    };
    check_request_header(&header, &reply_to)?;
    match header.call_id {
        CONNECTION_CONTEXT_CALL_ID => {
            let context = decode_delimited::<IpcConnectionContextProto>(
                &mut rest,
                &reply_to,
                "IpcConnectionContextProto",
            )?;
            Ok(ClientMessage::ConnectionContext { reply_to, context })
        }
        PING_CALL_ID => Ok(ClientMessage::Ping),
        SASL_CALL_ID => {
            let message = decode_delimited::<RpcSaslProto>(&mut rest, &reply_to, "RpcSaslProto")?;
            Ok(ClientMessage::Sasl(message))
        }
        call_id if call_id < 0 => Err(FrameRejection::new(
            &reply_to,
            RpcErrorCodeProto::FatalInvalidRpcHeader,
            format!("unknown out-of-band call id {call_id}"),
        )),
        _ => parse_call(rest, reply_to),
    }
}

fn check_request_header(
    header: &RpcRequestHeaderProto,
    reply_to: &ReplyTo,
) -> Result<(), FrameRejection> {
    match header.rpc_op {
        None => {
            return Err(FrameRejection::new(
                reply_to,
                RpcErrorCodeProto::FatalInvalidRpcHeader,
                "no rpcOp in RpcRequestHeaderProto",
            ))
        }
        Some(op) if op != OperationProto::RpcFinalPacket as i32 => {
            return Err(FrameRejection::new(
                reply_to,
                RpcErrorCodeProto::FatalInvalidRpcHeader,
                format!("rpcOp {op} is not supported, only RPC_FINAL_PACKET (0)"),
            ))
        }
        Some(_) => {}
    }
    match header.rpc_kind {
        Some(kind) if kind == RpcKindProto::RpcProtocolBuffer as i32 => Ok(()),
        Some(kind) => Err(FrameRejection::new(
            reply_to,
            RpcErrorCodeProto::FatalInvalidRpcHeader,
            format!("rpcKind {kind} is not supported, only RPC_PROTOCOL_BUFFER (2)"),
        )),
        None => Err(FrameRejection::new(
            reply_to,
            RpcErrorCodeProto::FatalInvalidRpcHeader,
            "no rpcKind in RpcRequestHeaderProto",
        )),
    }
}

fn decode_delimited<M: Message + Default>(
    rest: &mut Bytes,
    reply_to: &ReplyTo,
    what: &'static str,
) -> Result<M, FrameRejection> {
    let bytes = take_delimited(rest, what).map_err(|error| {
        FrameRejection::new(
            reply_to,
            RpcErrorCodeProto::FatalDeserializingRequest,
            error.to_string(),
        )
    })?;
    M::decode(bytes).map_err(|error| {
        FrameRejection::new(
            reply_to,
            RpcErrorCodeProto::FatalDeserializingRequest,
            format!("{what} does not decode: {error}"),
        )
    })
}

fn parse_call(mut rest: Bytes, reply_to: ReplyTo) -> Result<ClientMessage, FrameRejection> {
    let request_header =
        decode_delimited::<RequestHeaderProto>(&mut rest, &reply_to, "RequestHeaderProto")?;
    let request = take_delimited(&mut rest, "request message").map_err(|error| {
        FrameRejection::new(
            &reply_to,
            RpcErrorCodeProto::FatalDeserializingRequest,
            error.to_string(),
        )
    })?;
    Ok(ClientMessage::Call(CallFrame {
        reply_to,
        method_name: request_header.method_name,
        protocol_name: request_header.declaring_class_protocol_name,
        client_protocol_version: request_header.client_protocol_version,
        request,
    }))
}

/// Builds a request header as the Java client does (kind PROTOCOL_BUFFER, op FINAL_PACKET).
pub fn request_header(call_id: i32, client_id: &[u8], retry_count: i32) -> RpcRequestHeaderProto {
    RpcRequestHeaderProto {
        rpc_kind: Some(RpcKindProto::RpcProtocolBuffer as i32),
        rpc_op: Some(OperationProto::RpcFinalPacket as i32),
        call_id,
        client_id: client_id.to_vec(),
        retry_count: Some(retry_count),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(parts: &[Vec<u8>]) -> Bytes {
        let mut out = Vec::new();
        for part in parts {
            super::super::put_delimited_bytes(&mut out, part);
        }
        Bytes::from(out)
    }

    #[test]
    fn parses_a_call() {
        let header = request_header(5, &[9; 16], 0).encode_to_vec();
        let request_header = RequestHeaderProto {
            method_name: "echo".into(),
            declaring_class_protocol_name: "test.Protocol".into(),
            client_protocol_version: 1,
        }
        .encode_to_vec();
        let message = parse_client_frame(payload(&[header, request_header, vec![1, 2]])).unwrap();
        let ClientMessage::Call(call) = message else {
            panic!("expected a call, got {message:?}");
        };
        assert_eq!(call.reply_to.call_id, 5);
        assert_eq!(call.reply_to.retry_count, 0);
        assert_eq!(call.method_name, "echo");
        assert_eq!(call.protocol_name, "test.Protocol");
        assert_eq!(call.request, Bytes::from_static(&[1, 2]));
    }

    #[test]
    fn garbage_header_is_rejected_with_call_id_minus_one() {
        let rejection = parse_client_frame(Bytes::from_static(&[3, 0xff, 0xff, 0xff])).unwrap_err();
        assert_eq!(rejection.reply_to.call_id, -1);
        assert_eq!(rejection.code, RpcErrorCodeProto::FatalDeserializingRequest);
        let rejection = parse_client_frame(Bytes::new()).unwrap_err();
        assert_eq!(rejection.code, RpcErrorCodeProto::FatalDeserializingRequest);
    }

    #[test]
    fn continuation_packets_and_missing_kind_are_rejected() {
        let mut header = request_header(3, &[1; 16], 0);
        header.rpc_op = Some(OperationProto::RpcContinuationPacket as i32);
        let rejection = parse_client_frame(payload(&[header.encode_to_vec()])).unwrap_err();
        assert_eq!(rejection.code, RpcErrorCodeProto::FatalInvalidRpcHeader);
        assert_eq!(rejection.reply_to.call_id, 3);
        let mut header = request_header(3, &[1; 16], 0);
        header.rpc_kind = None;
        let rejection = parse_client_frame(payload(&[header.encode_to_vec()])).unwrap_err();
        assert_eq!(rejection.code, RpcErrorCodeProto::FatalInvalidRpcHeader);
    }

    #[test]
    fn call_without_body_and_unknown_negative_ids_are_rejected() {
        let header = request_header(4, &[1; 16], 0).encode_to_vec();
        let routing = RequestHeaderProto {
            method_name: "m".into(),
            declaring_class_protocol_name: "p".into(),
            client_protocol_version: 1,
        }
        .encode_to_vec();
        let rejection = parse_client_frame(payload(&[header, routing])).unwrap_err();
        assert_eq!(rejection.code, RpcErrorCodeProto::FatalDeserializingRequest);
        assert_eq!(rejection.reply_to.call_id, 4);
        let header = request_header(-7, &[1; 16], -1).encode_to_vec();
        let rejection = parse_client_frame(payload(&[header])).unwrap_err();
        assert_eq!(rejection.code, RpcErrorCodeProto::FatalInvalidRpcHeader);
    }

    #[test]
    fn ping_has_no_body() {
        let header = request_header(PING_CALL_ID, &[1; 16], -1).encode_to_vec();
        assert_eq!(
            parse_client_frame(payload(&[header])).unwrap(),
            ClientMessage::Ping
        );
    }
}
