//! Hadoop credentials ("token storage"): the `HDTS` file an AM finds at HADOOP_TOKEN_FILE_LOCATION,
//! and the bytes of `ContainerLaunchContext.tokens`. Writes the WRITABLE format (Hadoop's default),
//! reads WRITABLE and PROTOBUF.

use crate::Token;
use prost::Message;
use spindle_proto::common::CredentialsProto;

const MAGIC: &[u8; 4] = b"HDTS";
const FORMAT_WRITABLE: u8 = 0;
const FORMAT_PROTOBUF: u8 = 1;
/// Bound on any single length read from credentials bytes (they come from clients).
const MAX_FIELD_LEN: i64 = 16 * 1024 * 1024;

/// Credentials bytes that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("credentials: bad magic (expected 'HDTS')")]
    BadMagic,
    #[error("credentials: unknown format byte {0}")]
    UnknownFormat(u8),
    #[error("credentials: truncated while reading {0}")]
    Truncated(&'static str),
    #[error("credentials: invalid length {length} for {what}")]
    BadLength { what: &'static str, length: i64 },
    #[error("credentials: {0} is not valid UTF-8")]
    BadText(&'static str),
    #[error("credentials: protobuf body does not decode: {0}")]
    Protobuf(String),
}

/// Tokens and secrets by alias, in insertion order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub tokens: Vec<(String, Token)>,
    pub secrets: Vec<(String, Vec<u8>)>,
}

impl Credentials {
    /// Adds or replaces the token stored under `alias`.
    pub fn add_token(&mut self, alias: &str, token: Token) {
        match self.tokens.iter_mut().find(|(a, _)| a == alias) {
            Some(slot) => slot.1 = token,
            None => self.tokens.push((alias.to_string(), token)),
        }
    }

    pub fn find_kind(&self, kind: &str) -> Option<&Token> {
        self.tokens.iter().map(|(_, t)| t).find(|t| t.kind == kind)
    }

    /// Reads credentials bytes; empty input is empty credentials (a launch context without tokens).
    pub fn decode(bytes: &[u8]) -> Result<Self, CredentialsError> {
        if bytes.is_empty() {
            return Ok(Self::default());
        }
        if bytes.len() < 5 {
            return Err(CredentialsError::Truncated("header"));
        }
        if &bytes[..4] != MAGIC {
            return Err(CredentialsError::BadMagic);
        }
        let mut r = Reader { buf: &bytes[5..] };
        match bytes[4] {
            FORMAT_WRITABLE => r.writable_body(),
            FORMAT_PROTOBUF => {
                let proto = CredentialsProto::decode_length_delimited(r.buf)
                    .map_err(|e| CredentialsError::Protobuf(e.to_string()))?;
                let token = |t: spindle_proto::common::TokenProto| Token {
                    identifier: t.identifier,
                    password: t.password,
                    kind: t.kind,
                    service: t.service,
                };
                Ok(Self {
                    tokens: proto
                        .tokens
                        .into_iter()
                        .filter_map(|kv| kv.token.map(|t| (kv.alias, token(t))))
                        .collect(),
                    secrets: proto
                        .secrets
                        .into_iter()
                        .map(|kv| (kv.alias, kv.secret.unwrap_or_default()))
                        .collect(),
                })
            }
            other => Err(CredentialsError::UnknownFormat(other)),
        }
    }

    /// Writes the WRITABLE format, as `Credentials.writeTokenStorageToStream` does by default.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.push(FORMAT_WRITABLE);
        write_vlong(&mut out, self.tokens.len() as i64);
        for (alias, t) in &self.tokens {
            write_text(&mut out, alias);
            write_bytes(&mut out, &t.identifier);
            write_bytes(&mut out, &t.password);
            write_text(&mut out, &t.kind);
            write_text(&mut out, &t.service);
        }
        write_vlong(&mut out, self.secrets.len() as i64);
        for (alias, s) in &self.secrets {
            write_text(&mut out, alias);
            write_bytes(&mut out, s);
        }
        out
    }
}

fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_vlong(out, b.len() as i64);
    out.extend_from_slice(b);
}

fn write_text(out: &mut Vec<u8>, s: &str) {
    write_bytes(out, s.as_bytes());
}

/// Hadoop's `WritableUtils.writeVLong`.
pub fn write_vlong(out: &mut Vec<u8>, value: i64) {
    if (-112..=127).contains(&value) {
        out.push(value as u8);
        return;
    }
    let (mut len, v) = if value < 0 {
        (-120i64, !value)
    } else {
        (-112i64, value)
    };
    let mut tmp = v;
    while tmp != 0 {
        tmp >>= 8;
        len -= 1;
    }
    out.push(len as i8 as u8);
    let n = if len < -120 {
        -(len + 120)
    } else {
        -(len + 112)
    };
    for idx in (0..n).rev() {
        out.push(((v >> (idx * 8)) & 0xff) as u8);
    }
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self, what: &'static str) -> Result<u8, CredentialsError> {
        let (&b, rest) = self
            .buf
            .split_first()
            .ok_or(CredentialsError::Truncated(what))?;
        self.buf = rest;
        Ok(b)
    }

    /// Hadoop's `WritableUtils.readVLong`.
    fn vlong(&mut self, what: &'static str) -> Result<i64, CredentialsError> {
        let first = self.byte(what)? as i8;
        if first >= -112 {
            return Ok(first as i64);
        }
        let negative = first < -120;
        let n = if negative {
            -(first as i64 + 120)
        } else {
            -(first as i64 + 112)
        };
        let mut v: i64 = 0;
        for _ in 0..n {
            v = (v << 8) | self.byte(what)? as i64;
        }
        Ok(if negative { !v } else { v })
    }

    fn bytes(&mut self, what: &'static str) -> Result<Vec<u8>, CredentialsError> {
        let len = self.vlong(what)?;
        if !(0..=MAX_FIELD_LEN).contains(&len) {
            return Err(CredentialsError::BadLength { what, length: len });
        }
        let len = len as usize;
        if self.buf.len() < len {
            return Err(CredentialsError::Truncated(what));
        }
        let (b, rest) = self.buf.split_at(len);
        self.buf = rest;
        Ok(b.to_vec())
    }

    fn text(&mut self, what: &'static str) -> Result<String, CredentialsError> {
        String::from_utf8(self.bytes(what)?).map_err(|_| CredentialsError::BadText(what))
    }

    fn count(&mut self, what: &'static str) -> Result<usize, CredentialsError> {
        let n = self.vlong(what)?;
        // Each entry takes at least one byte, so a count beyond the remaining bytes is a lie.
        if n < 0 || n as usize > self.buf.len() {
            return Err(CredentialsError::BadLength { what, length: n });
        }
        Ok(n as usize)
    }

    fn writable_body(&mut self) -> Result<Credentials, CredentialsError> {
        let mut creds = Credentials::default();
        for _ in 0..self.count("token count")? {
            let alias = self.text("token alias")?;
            let token = Token {
                identifier: self.bytes("token identifier")?,
                password: self.bytes("token password")?,
                kind: self.text("token kind")?,
                service: self.text("token service")?,
            };
            creds.tokens.push((alias, token));
        }
        // Hadoop readers stop after the declared entries and ignore trailing bytes (executors pad).
        if self.buf.is_empty() {
            return Ok(creds);
        }
        for _ in 0..self.count("secret count")? {
            let alias = self.text("secret alias")?;
            creds.secrets.push((alias, self.bytes("secret")?));
        }
        Ok(creds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vlong(v: i64) -> Vec<u8> {
        let mut out = Vec::new();
        write_vlong(&mut out, v);
        out
    }

    #[test]
    fn vlong_matches_hadoop() {
        assert_eq!(vlong(128), [0x8f, 0x80]);
        assert_eq!(vlong(300), [0x8e, 0x01, 0x2c]);
        assert_eq!(vlong(-113), [0x87, 0x70]);
        assert_eq!(vlong(-1000), [0x86, 0x03, 0xe7]);
        assert_eq!(vlong(65536), [0x8d, 0x01, 0x00, 0x00]);
        for v in [0, 1, -1, 127, -112, 128, -113, 1 << 40, i64::MAX, i64::MIN] {
            assert_eq!(Reader { buf: &vlong(v) }.vlong("x").unwrap(), v, "{v}");
        }
    }

    #[test]
    fn encodes_like_the_hadoop_jar() {
        assert_eq!(Credentials::default().encode(), b"HDTS\x00\x00\x00");
        let mut c = Credentials::default();
        c.add_token(
            "",
            Token {
                identifier: vec![0x0a, 0x0b],
                password: vec![1, 2, 3],
                kind: "YARN_AM_RM_TOKEN".into(),
                service: String::new(),
            },
        );
        let mut expected = b"HDTS\x00\x01\x00\x02\x0a\x0b\x03\x01\x02\x03\x10".to_vec();
        expected.extend_from_slice(b"YARN_AM_RM_TOKEN\x00\x00");
        assert_eq!(c.encode(), expected);
        assert_eq!(Credentials::decode(&expected).unwrap(), c);
    }

    #[test]
    fn trailing_padding_is_ignored() {
        let mut c = Credentials::default();
        c.add_token(
            "a",
            Token {
                kind: "K".into(),
                ..Default::default()
            },
        );
        let mut bytes = c.encode();
        let tokens_only = bytes.len() - 1; // drop the secret count
        bytes.truncate(tokens_only);
        bytes.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(Credentials::decode(&bytes).unwrap().tokens, c.tokens);
    }

    #[test]
    fn malformed_credentials_are_errors() {
        assert_eq!(
            Credentials::decode(b"HDT"),
            Err(CredentialsError::Truncated("header"))
        );
        assert_eq!(
            Credentials::decode(b"XXXX\x00\x00"),
            Err(CredentialsError::BadMagic)
        );
        assert_eq!(
            Credentials::decode(b"HDTS\x07\x00"),
            Err(CredentialsError::UnknownFormat(7))
        );
        assert!(matches!(
            Credentials::decode(b"HDTS\x00\x05"),
            Err(CredentialsError::BadLength { .. })
        ));
        assert!(matches!(
            Credentials::decode(b"HDTS\x00\x01\x00\x7f"),
            Err(CredentialsError::Truncated(_))
        ));
        assert!(Credentials::decode(b"HDTS\x00\x01\x00\x01\xff\x01").is_err());
        assert!(matches!(
            Credentials::decode(b"HDTS\x01\x05\x01"),
            Err(CredentialsError::Protobuf(_))
        ));
    }
}
