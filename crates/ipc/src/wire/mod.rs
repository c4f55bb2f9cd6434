//! Hadoop IPC v9 wire facts: preamble bytes, special call ids, frame codec and header builders.
//!
//! Everything here is pure (no I/O) so it can be unit-tested and fuzzed on byte slices.

pub mod decoder;
pub mod request;
pub mod response;

use bytes::{Buf, Bytes};

/// The four magic bytes that open every connection (`hrpc`).
pub const PREAMBLE_MAGIC: [u8; 4] = *b"hrpc";
/// The only IPC version spoken: 9.
pub const CURRENT_IPC_VERSION: u8 = 9;
/// Length of the connection preamble: magic, version, service class, auth protocol.
pub const PREAMBLE_LEN: usize = 7;
/// Auth protocol byte: no SASL (`AuthProtocol.NONE`).
pub const AUTH_PROTOCOL_NONE: u8 = 0x00;
/// Auth protocol byte: SASL (`AuthProtocol.SASL`, -33 as a signed byte).
pub const AUTH_PROTOCOL_SASL: u8 = 0xDF;
/// First four bytes of an HTTP request sent to the IPC port by mistake.
pub const HTTP_GET_PREFIX: [u8; 4] = *b"GET ";
/// Default upper bound of a frame payload (`ipc.maximum.data.length`, 128 MiB).
pub const DEFAULT_MAX_FRAME_LEN: usize = 128 * 1024 * 1024;

/// Call id the server uses for FATAL replies sent before a call id is known.
pub const AUTHORIZATION_FAILED_CALL_ID: i32 = -1;
/// Call id of the connection context message (never answered).
pub const CONNECTION_CONTEXT_CALL_ID: i32 = -3;
/// Call id of a client ping (never answered).
pub const PING_CALL_ID: i32 = -4;
/// Call id of every SASL message, in both directions.
pub const SASL_CALL_ID: i32 = -33;
/// Retry count carried by out-of-band messages (context, ping, SASL).
pub const INVALID_RETRY_COUNT: i32 = -1;

/// The canned answer to an HTTP request on the IPC port (mirrors what a Hadoop server sends).
pub const HTTP_ON_IPC_PORT_RESPONSE: &[u8] = b"HTTP/1.1 404 Not Found\r\n\
Content-type: text/plain\r\n\r\n\
This is a Hadoop IPC port, not a web port: HTTP requests are not served here.\r\n";

/// The 7-byte connection preamble a client sends.
pub fn preamble(auth_protocol: u8) -> [u8; PREAMBLE_LEN] {
    let [h, r, p, c] = PREAMBLE_MAGIC;
    [h, r, p, c, CURRENT_IPC_VERSION, 0, auth_protocol]
}

/// Why a varint-delimited message could not be cut out of a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DelimitedError {
    /// No bytes were left where a message was expected.
    #[error("expected a length-delimited {what} but the frame ended")]
    Missing {
        /// Which message was expected.
        what: &'static str,
    },
    /// The varint length prefix is malformed.
    #[error("the length prefix of {what} is not a valid varint")]
    BadLength {
        /// Which message was expected.
        what: &'static str,
    },
    /// The declared length runs past the end of the frame.
    #[error("{what} declares {declared} bytes but only {available} remain in the frame")]
    Truncated {
        /// Which message was expected.
        what: &'static str,
        /// Bytes announced by the prefix.
        declared: usize,
        /// Bytes actually left.
        available: usize,
    },
}

/// Cuts one varint-length-delimited message out of `buffer` without decoding it.
pub fn take_delimited(buffer: &mut Bytes, what: &'static str) -> Result<Bytes, DelimitedError> {
    if !buffer.has_remaining() {
        return Err(DelimitedError::Missing { what });
    }
    let declared = prost::decode_length_delimiter(&mut *buffer)
        .map_err(|_| DelimitedError::BadLength { what })?;
    if declared > buffer.remaining() {
        return Err(DelimitedError::Truncated {
            what,
            declared,
            available: buffer.remaining(),
        });
    }
    Ok(buffer.split_to(declared))
}

/// Appends `message` with its varint length prefix.
pub fn put_delimited_bytes(out: &mut Vec<u8>, message: &[u8]) {
    prost::encode_length_delimiter(message.len(), out).expect("Vec<u8> grows as needed");
    out.extend_from_slice(message);
}

/// Wraps a payload into a frame: u32 big-endian length then the payload.
pub fn frame(payload: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preamble_matches_captured_bytes() {
        assert_eq!(
            preamble(AUTH_PROTOCOL_NONE),
            [0x68, 0x72, 0x70, 0x63, 0x09, 0x00, 0x00]
        );
        assert_eq!(preamble(AUTH_PROTOCOL_SASL)[6], 0xDF);
    }

    #[test]
    fn take_delimited_cuts_exact_message() {
        let mut buffer = Bytes::from_static(&[3, 1, 2, 3, 0]);
        assert_eq!(
            take_delimited(&mut buffer, "m").unwrap(),
            Bytes::from_static(&[1, 2, 3])
        );
        assert_eq!(take_delimited(&mut buffer, "m").unwrap(), Bytes::new());
        assert_eq!(
            take_delimited(&mut buffer, "m"),
            Err(DelimitedError::Missing { what: "m" })
        );
    }

    #[test]
    fn take_delimited_rejects_truncated_and_bad_varints() {
        let mut truncated = Bytes::from_static(&[5, 1, 2]);
        assert_eq!(
            take_delimited(&mut truncated, "m"),
            Err(DelimitedError::Truncated {
                what: "m",
                declared: 5,
                available: 2
            })
        );
        let mut bad_varint = Bytes::from_static(&[0xff, 0xff]);
        assert_eq!(
            take_delimited(&mut bad_varint, "m"),
            Err(DelimitedError::BadLength { what: "m" })
        );
        let mut overlong = Bytes::from_static(&[0xff; 11]);
        assert_eq!(
            take_delimited(&mut overlong, "m"),
            Err(DelimitedError::BadLength { what: "m" })
        );
    }
}
