//! Incremental decoder of the bytes a client sends: the 7-byte preamble, then length-prefixed frames.
//!
//! The decoder never allocates more than the bytes already received and checks a frame's declared
//! length against the configured maximum before waiting for (or reserving room for) its payload.

use bytes::{Buf, Bytes, BytesMut};

use super::{
    AUTH_PROTOCOL_NONE, AUTH_PROTOCOL_SASL, CURRENT_IPC_VERSION, HTTP_GET_PREFIX, PREAMBLE_LEN,
    PREAMBLE_MAGIC,
};

/// How the client wants to authenticate, from the last preamble byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthProtocol {
    /// Byte 0x00: no SASL, the connection context follows at once.
    None,
    /// Byte 0xDF: a SASL exchange (call id -33) comes first.
    Sasl,
}

/// The connection preamble, once validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preamble {
    /// Service class byte (YARN always sends 0).
    pub service_class: u8,
    /// Requested authentication protocol.
    pub auth_protocol: AuthProtocol,
}

/// One unit decoded from the client's byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundItem {
    /// The 7-byte preamble (always the first item).
    Preamble(Preamble),
    /// The stream starts with `GET `: someone pointed an HTTP client at the IPC port.
    HttpRequest,
    /// One frame payload (without its 4-byte length).
    Frame(Bytes),
}

/// Input that ends the connection: the server answers FATAL (where it can) and closes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamDecodeError {
    /// The stream does not start with `hrpc`.
    #[error("connection preamble does not start with \"hrpc\" (got {found:02x?})")]
    BadMagic {
        /// The four bytes received instead.
        found: [u8; 4],
    },
    /// The client speaks another IPC version.
    #[error(
        "IPC version {found} is not supported, this server speaks version {CURRENT_IPC_VERSION}"
    )]
    UnsupportedVersion {
        /// Version byte received.
        found: u8,
    },
    /// The auth protocol byte is neither 0x00 nor 0xDF.
    #[error("unknown auth protocol byte {found:#04x}")]
    UnknownAuthProtocol {
        /// Auth byte received.
        found: u8,
    },
    /// A frame declares more bytes than the configured maximum.
    #[error("frame of {declared} bytes is longer than the maximum of {max} bytes")]
    FrameTooLarge {
        /// Declared payload length.
        declared: u64,
        /// Configured maximum.
        max: usize,
    },
    /// The peer closed the stream in the middle of the preamble or of a frame.
    #[error("connection closed after {received} bytes of an incomplete {what}")]
    TruncatedAtEof {
        /// `preamble` or `frame`.
        what: &'static str,
        /// How many bytes of it arrived.
        received: usize,
    },
}

/// Checks a frame length prefix (when 4 bytes are there) and splits the frame off once complete.
///
/// Shared by the server decoder and the client response reader.
pub fn split_frame(
    buffer: &mut BytesMut,
    max_frame_len: usize,
) -> Result<Option<Bytes>, StreamDecodeError> {
    if buffer.len() < 4 {
        return Ok(None);
    }
    let declared = u32::from_be_bytes([buffer[0], buffer[1], buffer[2], buffer[3]]);
    // A length with the top bit set is a negative Java int: never a valid frame.
    if declared as u64 > max_frame_len as u64 || declared > i32::MAX as u32 {
        return Err(StreamDecodeError::FrameTooLarge {
            declared: declared as u64,
            max: max_frame_len,
        });
    }
    let declared = declared as usize;
    if buffer.len() < 4 + declared {
        return Ok(None);
    }
    buffer.advance(4);
    Ok(Some(buffer.split_to(declared).freeze()))
}

/// Decodes the client-to-server stream of one connection, one item at a time.
#[derive(Debug, Clone)]
pub struct ServerStreamDecoder {
    max_frame_len: usize,
    preamble_seen: bool,
    /// Set after an HTTP request or an error: nothing more is decoded.
    finished: bool,
}

impl ServerStreamDecoder {
    /// A decoder expecting a preamble first and frames of at most `max_frame_len` bytes.
    pub fn new(max_frame_len: usize) -> Self {
        Self {
            max_frame_len,
            preamble_seen: false,
            finished: false,
        }
    }

    /// Changes the largest frame accepted from now on (the server raises it once the
    /// connection is authenticated).
    pub fn set_max_frame_len(&mut self, max_frame_len: usize) {
        self.max_frame_len = max_frame_len;
    }

    /// Removes the next complete item from `buffer`; `Ok(None)` means more bytes are needed.
    /// After an HTTP request or an error the decoder is finished and always returns `Ok(None)`.
    pub fn decode(
        &mut self,
        buffer: &mut BytesMut,
    ) -> Result<Option<InboundItem>, StreamDecodeError> {
        if self.finished {
            return Ok(None);
        }
        let result = self.decode_unfinished(buffer);
        if matches!(result, Err(_) | Ok(Some(InboundItem::HttpRequest))) {
            self.finished = true;
        }
        result
    }

    fn decode_unfinished(
        &mut self,
        buffer: &mut BytesMut,
    ) -> Result<Option<InboundItem>, StreamDecodeError> {
        if self.preamble_seen {
            return Ok(split_frame(buffer, self.max_frame_len)?.map(InboundItem::Frame));
        }
        if buffer.len() < 4 {
            return Ok(None);
        }
        let magic = [buffer[0], buffer[1], buffer[2], buffer[3]];
        if magic == HTTP_GET_PREFIX {
            buffer.clear();
            return Ok(Some(InboundItem::HttpRequest));
        }
        if magic != PREAMBLE_MAGIC {
            return Err(StreamDecodeError::BadMagic { found: magic });
        }
        if buffer.len() < PREAMBLE_LEN {
            return Ok(None);
        }
        let version = buffer[4];
        let service_class = buffer[5];
        let auth_byte = buffer[6];
        if version != CURRENT_IPC_VERSION {
            return Err(StreamDecodeError::UnsupportedVersion { found: version });
        }
        let auth_protocol = match auth_byte {
            AUTH_PROTOCOL_NONE => AuthProtocol::None,
            AUTH_PROTOCOL_SASL => AuthProtocol::Sasl,
            found => return Err(StreamDecodeError::UnknownAuthProtocol { found }),
        };
        buffer.advance(PREAMBLE_LEN);
        self.preamble_seen = true;
        Ok(Some(InboundItem::Preamble(Preamble {
            service_class,
            auth_protocol,
        })))
    }

    /// Call when the peer closed its side: leftover bytes mean a truncated preamble or frame.
    pub fn check_eof(&self, buffer: &BytesMut) -> Result<(), StreamDecodeError> {
        if buffer.is_empty() {
            return Ok(());
        }
        Err(StreamDecodeError::TruncatedAtEof {
            what: if self.preamble_seen {
                "frame"
            } else {
                "preamble"
            },
            received: buffer.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8], max: usize) -> Vec<Result<InboundItem, StreamDecodeError>> {
        let mut decoder = ServerStreamDecoder::new(max);
        let mut buffer = BytesMut::new();
        let mut items = Vec::new();
        // Feed one byte at a time: the result must not depend on how bytes are chunked.
        for byte in bytes {
            buffer.extend_from_slice(&[*byte]);
            loop {
                match decoder.decode(&mut buffer) {
                    Ok(Some(item)) => items.push(Ok(item)),
                    Ok(None) => break,
                    Err(error) => {
                        items.push(Err(error));
                        return items;
                    }
                }
            }
        }
        items
    }

    #[test]
    fn preamble_then_frames() {
        let mut bytes = b"hrpc\x09\x00\x00".to_vec();
        bytes.extend_from_slice(&[0, 0, 0, 2, 0xaa, 0xbb, 0, 0, 0, 0]);
        let items = decode_all(&bytes, 16);
        assert_eq!(
            items,
            vec![
                Ok(InboundItem::Preamble(Preamble {
                    service_class: 0,
                    auth_protocol: AuthProtocol::None
                })),
                Ok(InboundItem::Frame(Bytes::from_static(&[0xaa, 0xbb]))),
                Ok(InboundItem::Frame(Bytes::new())),
            ]
        );
    }

    #[test]
    fn sasl_preamble() {
        let items = decode_all(b"hrpc\x09\x00\xdf", 16);
        assert_eq!(
            items,
            vec![Ok(InboundItem::Preamble(Preamble {
                service_class: 0,
                auth_protocol: AuthProtocol::Sasl
            }))]
        );
    }

    #[test]
    fn bad_preambles() {
        assert_eq!(
            decode_all(b"hrpx\x09\x00\x00", 16),
            vec![Err(StreamDecodeError::BadMagic { found: *b"hrpx" })]
        );
        assert_eq!(
            decode_all(b"hrpc\x07\x00\x00", 16),
            vec![Err(StreamDecodeError::UnsupportedVersion { found: 7 })]
        );
        assert_eq!(
            decode_all(b"hrpc\x09\x00\x51", 16),
            vec![Err(StreamDecodeError::UnknownAuthProtocol { found: 0x51 })]
        );
        assert_eq!(
            decode_all(b"GET / HTTP/1.1\r\n", 16),
            vec![Ok(InboundItem::HttpRequest)]
        );
    }

    #[test]
    fn oversized_frame_rejected_from_its_length_alone() {
        let mut bytes = b"hrpc\x09\x00\x00".to_vec();
        bytes.extend_from_slice(&17u32.to_be_bytes());
        let items = decode_all(&bytes, 16);
        assert_eq!(
            items[1],
            Err(StreamDecodeError::FrameTooLarge {
                declared: 17,
                max: 16
            })
        );
        let mut negative = b"hrpc\x09\x00\x00".to_vec();
        negative.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        let items = decode_all(&negative, usize::MAX);
        assert!(matches!(
            items[1],
            Err(StreamDecodeError::FrameTooLarge { .. })
        ));
    }

    #[test]
    fn eof_inside_a_frame_is_reported() {
        let mut decoder = ServerStreamDecoder::new(64);
        let mut buffer = BytesMut::from(&b"hrpc\x09\x00\x00\x00\x00\x00\x09\x01\x02"[..]);
        assert!(matches!(
            decoder.decode(&mut buffer),
            Ok(Some(InboundItem::Preamble(_)))
        ));
        assert_eq!(decoder.decode(&mut buffer), Ok(None));
        assert_eq!(
            decoder.check_eof(&buffer),
            Err(StreamDecodeError::TruncatedAtEof {
                what: "frame",
                received: 6
            })
        );
        let fresh = ServerStreamDecoder::new(64);
        assert_eq!(
            fresh.check_eof(&BytesMut::from(&b"hr"[..])),
            Err(StreamDecodeError::TruncatedAtEof {
                what: "preamble",
                received: 2
            })
        );
    }
}
