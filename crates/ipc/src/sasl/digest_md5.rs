//! DIGEST-MD5 (RFC 2831, md5-sess, qop=auth) as Hadoop's TOKEN auth uses it (protocol.md 2.6).
//!
//! Pure functions: the server's challenge, parsing of `key=value` directive lists, the response
//! and `rspauth` computation, and the client's answer to a challenge.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use md5::{Digest, Md5};

/// Realm and server name Hadoop uses.
pub const DEFAULT_REALM: &str = "default";
/// The digest-uri the JDK client sends (protocol `""`, server name `default`).
pub const DIGEST_URI: &str = "/default";
/// The only nonce count we accept: one authentication per connection.
pub const NONCE_COUNT: &str = "00000001";

/// A DIGEST-MD5 exchange that cannot succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// The directive list is not `key=value` pairs.
    #[error("malformed DIGEST-MD5 directives: {0}")]
    Malformed(String),
    /// A mandatory directive is absent.
    #[error("DIGEST-MD5 directive {0} is missing")]
    Missing(&'static str),
    /// A directive has a value this server does not accept.
    #[error("DIGEST-MD5 directive {directive} has unexpected value {value:?}")]
    Unexpected {
        /// Directive name.
        directive: &'static str,
        /// Value received.
        value: String,
    },
    /// The username is not base64.
    #[error("DIGEST-MD5 username is not base64: {0}")]
    BadUsername(String),
    /// The response hash does not match: wrong password or tampering.
    #[error("DIGEST-MD5 response does not match: the token password is wrong")]
    WrongResponse,
}

/// Standard base64 with padding, as Hadoop encodes token identifiers and passwords.
pub fn base64_encode(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// The server's first challenge, byte for byte the JDK server's format.
pub fn server_challenge(nonce: &str) -> String {
    format!(
        "realm=\"{DEFAULT_REALM}\",nonce=\"{nonce}\",qop=\"auth\",charset=utf-8,algorithm=md5-sess"
    )
}

/// Parses `key=value,key="quoted, value"` lists; keys are lower-cased.
pub fn parse_directives(text: &str) -> Result<HashMap<String, String>, DigestError> {
    let mut directives = HashMap::new();
    let mut rest = text.trim_start_matches([',', ' ', '\t']);
    while !rest.is_empty() {
        let equals = rest
            .find('=')
            .ok_or_else(|| DigestError::Malformed(format!("no '=' in {rest:?}")))?;
        let key = rest[..equals].trim().to_ascii_lowercase();
        if key.is_empty() {
            return Err(DigestError::Malformed("empty directive name".into()));
        }
        rest = rest[equals + 1..].trim_start();
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut unescaped = String::new();
            let mut characters = quoted.char_indices();
            let mut end = None;
            while let Some((index, character)) = characters.next() {
                match character {
                    '\\' => match characters.next() {
                        Some((_, escaped)) => unescaped.push(escaped),
                        None => break,
                    },
                    '"' => {
                        end = Some(index);
                        break;
                    }
                    other => unescaped.push(other),
                }
            }
            let end =
                end.ok_or_else(|| DigestError::Malformed(format!("unterminated quote in {key}")))?;
            value = unescaped;
            rest = &quoted[end + 1..];
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        rest = rest.trim_start();
        if !rest.is_empty() {
            rest = rest
                .strip_prefix(',')
                .ok_or_else(|| DigestError::Malformed(format!("expected ',' after {key}")))?;
            rest = rest.trim_start_matches([',', ' ', '\t']);
        }
        if directives.insert(key.clone(), value).is_some() {
            return Err(DigestError::Malformed(format!(
                "directive {key} appears twice"
            )));
        }
    }
    Ok(directives)
}

fn lower_hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// The inputs of one response computation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestInputs<'a> {
    /// Base64 of the token identifier.
    pub username: &'a str,
    /// Realm from the challenge.
    pub realm: &'a str,
    /// Base64 of the token password (the text is the DIGEST password).
    pub password: &'a str,
    /// Server nonce.
    pub nonce: &'a str,
    /// Client nonce.
    pub cnonce: &'a str,
    /// Nonce count, `00000001`.
    pub nonce_count: &'a str,
    /// Quality of protection, `auth`.
    pub qop: &'a str,
    /// Digest URI, `/default`.
    pub digest_uri: &'a str,
}

impl DigestInputs<'_> {
    fn value(&self, a2: &str) -> String {
        let mut a1 =
            Md5::digest(format!("{}:{}:{}", self.username, self.realm, self.password).as_bytes())
                .to_vec();
        a1.extend_from_slice(format!(":{}:{}", self.nonce, self.cnonce).as_bytes());
        let ha1 = lower_hex(&Md5::digest(&a1));
        let ha2 = lower_hex(&Md5::digest(a2.as_bytes()));
        let kd = format!(
            "{ha1}:{}:{}:{}:{}:{ha2}",
            self.nonce, self.nonce_count, self.cnonce, self.qop
        );
        lower_hex(&Md5::digest(kd.as_bytes()))
    }

    /// The `response=` value the client sends.
    pub fn client_response(&self) -> String {
        self.value(&format!("AUTHENTICATE:{}", self.digest_uri))
    }

    /// The `rspauth=` value the server returns.
    pub fn server_rspauth(&self) -> String {
        self.value(&format!(":{}", self.digest_uri))
    }
}

/// A client's digest-response, parsed and checked against the challenge it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestResponse {
    /// Username as sent (base64 of the token identifier).
    pub username: String,
    /// Token identifier bytes (the username decoded).
    pub identifier: Vec<u8>,
    /// Client nonce.
    pub cnonce: String,
    /// Digest URI as sent.
    pub digest_uri: String,
    /// The `response=` hash.
    pub response: String,
}

/// Server side of one DIGEST-MD5 authentication.
#[derive(Debug, Clone)]
pub struct DigestMd5Server {
    nonce: String,
}

impl DigestMd5Server {
    /// A server that will issue `nonce` (random, base64-ish text without quotes).
    pub fn new(nonce: String) -> Self {
        Self { nonce }
    }

    /// A server with a fresh random nonce.
    pub fn with_random_nonce() -> Self {
        let bytes: [u8; 30] = rand::random();
        Self::new(base64_encode(&bytes))
    }

    /// The challenge bytes to send (in NEGOTIATE's `auths[0].challenge` or a CHALLENGE message).
    pub fn challenge(&self) -> Vec<u8> {
        server_challenge(&self.nonce).into_bytes()
    }

    /// Parses the client's response and checks every directive except the hash.
    pub fn parse_response(&self, token: &[u8]) -> Result<DigestResponse, DigestError> {
        let text = std::str::from_utf8(token)
            .map_err(|_| DigestError::Malformed("response is not UTF-8".into()))?;
        let directives = parse_directives(text)?;
        let get = |name: &'static str| directives.get(name).ok_or(DigestError::Missing(name));
        let expect = |name: &'static str, wanted: &str, value: &String| {
            if value == wanted {
                Ok(())
            } else {
                Err(DigestError::Unexpected {
                    directive: name,
                    value: value.clone(),
                })
            }
        };
        let username = get("username")?.clone();
        expect("nonce", &self.nonce, get("nonce")?)?;
        expect("nc", NONCE_COUNT, get("nc")?)?;
        if let Some(realm) = directives.get("realm") {
            expect("realm", DEFAULT_REALM, realm)?;
        }
        if let Some(qop) = directives.get("qop") {
            expect("qop", "auth", qop)?;
        }
        if directives.contains_key("authzid") {
            return Err(DigestError::Unexpected {
                directive: "authzid",
                value: directives["authzid"].clone(),
            });
        }
        let digest_uri = get("digest-uri")?.clone();
        expect("digest-uri", DIGEST_URI, &digest_uri)?;
        let identifier = BASE64
            .decode(username.as_bytes())
            .map_err(|error| DigestError::BadUsername(error.to_string()))?;
        Ok(DigestResponse {
            username,
            identifier,
            cnonce: get("cnonce")?.clone(),
            digest_uri,
            response: get("response")?.to_ascii_lowercase(),
        })
    }

    /// Verifies the response hash against the token's raw password; returns the `rspauth=...` token.
    pub fn verify(
        &self,
        response: &DigestResponse,
        token_password: &[u8],
    ) -> Result<Vec<u8>, DigestError> {
        let password = base64_encode(token_password);
        let inputs = DigestInputs {
            username: &response.username,
            realm: DEFAULT_REALM,
            password: &password,
            nonce: &self.nonce,
            cnonce: &response.cnonce,
            nonce_count: NONCE_COUNT,
            qop: "auth",
            digest_uri: &response.digest_uri,
        };
        let expected = inputs.client_response();
        if !constant_time_equal(expected.as_bytes(), response.response.as_bytes()) {
            return Err(DigestError::WrongResponse);
        }
        Ok(format!("rspauth={}", inputs.server_rspauth()).into_bytes())
    }
}

fn constant_time_equal(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The client's answer to a server challenge, and the `rspauth` it must then receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestClientStep {
    /// The digest-response to send.
    pub response: Vec<u8>,
    /// The exact SUCCESS token expected back (`rspauth=<hex>`).
    pub expected_rspauth: Vec<u8>,
}

/// Answers a server challenge as the JDK client does, for a token `identifier`/`password`.
pub fn client_answer(
    challenge: &[u8],
    identifier: &[u8],
    password: &[u8],
    cnonce: &str,
) -> Result<DigestClientStep, DigestError> {
    let text = std::str::from_utf8(challenge)
        .map_err(|_| DigestError::Malformed("challenge is not UTF-8".into()))?;
    let directives = parse_directives(text)?;
    let nonce = directives
        .get("nonce")
        .ok_or(DigestError::Missing("nonce"))?;
    match directives.get("algorithm") {
        Some(algorithm) if algorithm.eq_ignore_ascii_case("md5-sess") => {}
        Some(algorithm) => {
            return Err(DigestError::Unexpected {
                directive: "algorithm",
                value: algorithm.clone(),
            })
        }
        None => return Err(DigestError::Missing("algorithm")),
    }
    if let Some(qop) = directives.get("qop") {
        if !qop.split(',').any(|offered| offered.trim() == "auth") {
            return Err(DigestError::Unexpected {
                directive: "qop",
                value: qop.clone(),
            });
        }
    }
    let realm = directives
        .get("realm")
        .map(String::as_str)
        .unwrap_or(DEFAULT_REALM);
    let username = base64_encode(identifier);
    let password = base64_encode(password);
    let inputs = DigestInputs {
        username: &username,
        realm,
        password: &password,
        nonce,
        cnonce,
        nonce_count: NONCE_COUNT,
        qop: "auth",
        digest_uri: DIGEST_URI,
    };
    let response = format!(
        "charset=utf-8,username=\"{username}\",realm=\"{realm}\",nonce=\"{nonce}\",nc={NONCE_COUNT},\
cnonce=\"{cnonce}\",digest-uri=\"{DIGEST_URI}\",maxbuf=65536,response={},qop=auth",
        inputs.client_response()
    );
    Ok(DigestClientStep {
        response: response.into_bytes(),
        expected_rspauth: format!("rspauth={}", inputs.server_rspauth()).into_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: &str = "OhNsheY4tqlCRaLq3/c6/F20/4r1awOzBUnSe19Q";
    const CNONCE: &str = "guyAQiC4bJoluHUvXpWfqluyQTgLYeTDrsNPKgaE";

    #[test]
    fn jdk_test_vector() {
        let inputs = DigestInputs {
            username: "ChQe",
            realm: "default",
            password: "AQIDBA==",
            nonce: NONCE,
            cnonce: CNONCE,
            nonce_count: "00000001",
            qop: "auth",
            digest_uri: "/default",
        };
        assert_eq!(base64_encode(&[0x0a, 0x14, 0x1e]), "ChQe");
        assert_eq!(base64_encode(&[1, 2, 3, 4]), "AQIDBA==");
        assert_eq!(inputs.client_response(), "1db06ed803a13aa1d4a62eb85227cf15");
        assert_eq!(inputs.server_rspauth(), "0c59e7b171cf80693283c6f8a1afe204");
    }

    #[test]
    fn server_verifies_a_jdk_style_response() {
        let server = DigestMd5Server::new(NONCE.into());
        let response = format!(
            "charset=utf-8,username=\"ChQe\",realm=\"default\",nonce=\"{NONCE}\",nc=00000001,cnonce=\"{CNONCE}\",\
digest-uri=\"/default\",maxbuf=65536,response=1db06ed803a13aa1d4a62eb85227cf15,qop=auth"
        );
        let parsed = server.parse_response(response.as_bytes()).unwrap();
        assert_eq!(parsed.identifier, vec![0x0a, 0x14, 0x1e]);
        let rspauth = server.verify(&parsed, &[1, 2, 3, 4]).unwrap();
        assert_eq!(rspauth, b"rspauth=0c59e7b171cf80693283c6f8a1afe204");
        assert_eq!(
            server.verify(&parsed, &[1, 2, 3, 5]),
            Err(DigestError::WrongResponse)
        );
    }

    #[test]
    fn client_answer_matches_the_vector() {
        let challenge = server_challenge(NONCE);
        let step = client_answer(
            challenge.as_bytes(),
            &[0x0a, 0x14, 0x1e],
            &[1, 2, 3, 4],
            CNONCE,
        )
        .unwrap();
        let text = String::from_utf8(step.response.clone()).unwrap();
        assert!(
            text.contains("response=1db06ed803a13aa1d4a62eb85227cf15"),
            "{text}"
        );
        assert_eq!(
            step.expected_rspauth,
            b"rspauth=0c59e7b171cf80693283c6f8a1afe204"
        );
        let server = DigestMd5Server::new(NONCE.into());
        let parsed = server.parse_response(&step.response).unwrap();
        assert!(server.verify(&parsed, &[1, 2, 3, 4]).is_ok());
    }

    #[test]
    fn rejects_malformed_and_mismatched_responses() {
        let server = DigestMd5Server::new(NONCE.into());
        assert!(matches!(
            server.parse_response(b"username"),
            Err(DigestError::Malformed(_))
        ));
        assert!(matches!(
            server.parse_response(b"username=\"abc"),
            Err(DigestError::Malformed(_))
        ));
        assert!(matches!(
            server.parse_response(&[0xff, 0xfe]),
            Err(DigestError::Malformed(_))
        ));
        assert_eq!(
            server.parse_response(b"nc=00000001"),
            Err(DigestError::Missing("username"))
        );
        let wrong_nonce = "username=\"ChQe\",nonce=\"other\",nc=00000001,cnonce=\"c\",digest-uri=\"/default\",response=00";
        assert!(matches!(
            server.parse_response(wrong_nonce.as_bytes()),
            Err(DigestError::Unexpected {
                directive: "nonce",
                ..
            })
        ));
        let bad_username = format!(
            "username=\"!!\",nonce=\"{NONCE}\",nc=00000001,cnonce=\"c\",digest-uri=\"/default\",response=00"
        );
        assert!(matches!(
            server.parse_response(bad_username.as_bytes()),
            Err(DigestError::BadUsername(_))
        ));
        assert!(matches!(
            client_answer(b"nonce=\"x\"", b"i", b"p", "c"),
            Err(DigestError::Missing("algorithm"))
        ));
    }

    #[test]
    fn directive_parser_handles_quotes_and_escapes() {
        let parsed = parse_directives(r#"a=1, b="x,\"y\"" ,C=z"#).unwrap();
        assert_eq!(parsed["a"], "1");
        assert_eq!(parsed["b"], "x,\"y\"");
        assert_eq!(parsed["c"], "z");
        assert!(parse_directives("a=1,a=2").is_err());
        assert!(parse_directives("=1").is_err());
    }
}
