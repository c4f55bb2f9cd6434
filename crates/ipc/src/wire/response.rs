//! Builds server-to-client frames: the response header rules of protocol.md 1.6.

use bytes::Bytes;
use prost::Message;
use spindle_proto::common::rpc_response_header_proto::{RpcErrorCodeProto, RpcStatusProto};
use spindle_proto::common::{RpcResponseHeaderProto, RpcSaslProto};

use super::{
    frame, put_delimited_bytes, AUTHORIZATION_FAILED_CALL_ID, CURRENT_IPC_VERSION,
    INVALID_RETRY_COUNT, SASL_CALL_ID,
};

/// What a reply must echo from the request it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    /// The request's call id (sent back as its 32-bit two's complement).
    pub call_id: i32,
    /// The request's client id (empty for SASL and connection-level replies).
    pub client_id: Bytes,
    /// The request's retry count.
    pub retry_count: i32,
}

impl ReplyTo {
    /// For FATAL replies sent before any request header was understood (call id -1, empty client id).
    pub fn connection_level() -> Self {
        Self {
            call_id: AUTHORIZATION_FAILED_CALL_ID,
            client_id: Bytes::new(),
            retry_count: INVALID_RETRY_COUNT,
        }
    }

    /// For SASL replies (call id -33, empty client id).
    pub fn sasl() -> Self {
        Self {
            call_id: SASL_CALL_ID,
            client_id: Bytes::new(),
            retry_count: INVALID_RETRY_COUNT,
        }
    }
}

/// An ERROR or FATAL reply: the header carries the Java exception the client rethrows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReply {
    /// ERROR keeps the connection; FATAL is followed by a close.
    pub status: RpcStatusProto,
    /// The `errorDetail` code.
    pub code: RpcErrorCodeProto,
    /// Fully qualified Java exception class name.
    pub class_name: String,
    /// Exception message.
    pub message: String,
}

fn response_header(reply_to: &ReplyTo, status: RpcStatusProto) -> RpcResponseHeaderProto {
    RpcResponseHeaderProto {
        call_id: reply_to.call_id as u32,
        status: status as i32,
        server_ipc_version_num: Some(u32::from(CURRENT_IPC_VERSION)),
        client_id: Some(reply_to.client_id.to_vec()),
        retry_count: Some(reply_to.retry_count),
        ..Default::default()
    }
}

/// A SUCCESS frame: the header and the delimited, already encoded response message.
pub fn success_frame(reply_to: &ReplyTo, response_message: &[u8]) -> Bytes {
    let header = response_header(reply_to, RpcStatusProto::Success);
    let header_len = header.encoded_len();
    let payload_len = prost::length_delimiter_len(header_len)
        + header_len
        + prost::length_delimiter_len(response_message.len())
        + response_message.len();
    // One buffer of the final size: the response (often many KB) is copied once.
    let mut out = Vec::with_capacity(4 + payload_len);
    out.extend_from_slice(&(payload_len as u32).to_be_bytes());
    header
        .encode_length_delimited(&mut out)
        .expect("Vec<u8> grows as needed");
    put_delimited_bytes(&mut out, response_message);
    debug_assert_eq!(out.len(), 4 + payload_len);
    Bytes::from(out)
}

/// An ERROR or FATAL frame: the header alone.
pub fn error_frame(reply_to: &ReplyTo, error: &ErrorReply) -> Bytes {
    let mut header = response_header(reply_to, error.status);
    header.exception_class_name = Some(error.class_name.clone());
    header.error_msg = Some(error.message.clone());
    header.error_detail = Some(error.code as i32);
    frame(&header.encode_length_delimited_to_vec())
}

/// A SASL frame from the server: SUCCESS header with call id -33, then the delimited RpcSaslProto.
pub fn sasl_frame(message: &RpcSaslProto) -> Bytes {
    success_frame(&ReplyTo::sasl(), &message.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_reply_header_uses_two_complement_call_id_and_empty_client_id() {
        let message = RpcSaslProto {
            state: 0,
            ..Default::default()
        };
        let bytes = sasl_frame(&message);
        // header: 08 df ff ff ff 0f (callId -33) 10 00 18 09 3a 00 40 01 (retry -1)
        let expected_header = [
            0x08, 0xdf, 0xff, 0xff, 0xff, 0x0f, 0x10, 0x00, 0x18, 0x09, 0x3a, 0x00, 0x40, 0x01,
        ];
        assert_eq!(&bytes[4..5], &[expected_header.len() as u8]);
        assert_eq!(&bytes[5..5 + expected_header.len()], &expected_header);
        // body: delimited {state=SUCCESS} = 02 10 00
        assert_eq!(&bytes[5 + expected_header.len()..], &[0x02, 0x10, 0x00]);
        assert_eq!(
            u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize,
            bytes.len() - 4
        );
    }

    #[test]
    fn error_frame_has_no_body() {
        let reply = ErrorReply {
            status: RpcStatusProto::Error,
            code: RpcErrorCodeProto::ErrorApplication,
            class_name: "java.io.IOException".into(),
            message: "boom".into(),
        };
        let reply_to = ReplyTo {
            call_id: 7,
            client_id: Bytes::from_static(&[1; 16]),
            retry_count: 0,
        };
        let bytes = error_frame(&reply_to, &reply);
        let mut payload = bytes.slice(4..);
        let header = RpcResponseHeaderProto::decode_length_delimited(&mut payload).unwrap();
        assert!(payload.is_empty(), "ERROR replies carry only the header");
        assert_eq!(header.call_id, 7);
        assert_eq!(header.status(), RpcStatusProto::Error);
        assert_eq!(header.error_detail(), RpcErrorCodeProto::ErrorApplication);
        assert_eq!(
            header.exception_class_name.as_deref(),
            Some("java.io.IOException")
        );
        assert_eq!(header.error_msg.as_deref(), Some("boom"));
        assert_eq!(header.client_id.as_deref(), Some(&[1u8; 16][..]));
        assert_eq!(header.retry_count, Some(0));
    }
}
