//! SASL for Hadoop IPC (protocol.md 2.2-2.6): the server's auth policy, token secret lookup and
//! the server-side state machine of the NEGOTIATE / INITIATE / CHALLENGE / RESPONSE exchange.

pub mod digest_md5;

use std::fmt;
use std::sync::Arc;

use spindle_proto::common::rpc_sasl_proto::{SaslAuth, SaslState};
use spindle_proto::common::RpcSaslProto;

use crate::error::java_class;
use digest_md5::{DigestMd5Server, DEFAULT_REALM};

/// SASL auth method name for SIMPLE (mechanism is the empty string).
pub const METHOD_SIMPLE: &str = "SIMPLE";
/// SASL auth method name for TOKEN.
pub const METHOD_TOKEN: &str = "TOKEN";
/// The mechanism Hadoop clients expect for TOKEN.
pub const MECHANISM_DIGEST_MD5: &str = "DIGEST-MD5";

/// A token the secret manager refuses (unknown key, expired, malformed identifier).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid token: {message}")]
pub struct InvalidToken {
    /// Why the token is refused; sent to the client.
    pub message: String,
}

impl InvalidToken {
    /// A refusal with a reason.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Looks up token passwords for TOKEN (DIGEST-MD5) authentication, like Hadoop's SecretManager.
pub trait TokenSecretManager: Send + Sync + 'static {
    /// The token kind this manager issues, e.g. `YARN_AM_RM_TOKEN`; reported in `CallerIdentity::Token`.
    fn token_kind(&self) -> &str;

    /// The password of the token with these identifier bytes (what the issuer computed, e.g. an HMAC).
    fn retrieve_password(&self, identifier: &[u8]) -> Result<Vec<u8>, InvalidToken>;
}

/// How a server authenticates connections.
#[derive(Clone)]
pub enum AuthPolicy {
    /// SIMPLE only: auth byte 0x00 is accepted; a SASL NEGOTIATE is answered `{SUCCESS}`; an
    /// INITIATE for SIMPLE is accepted silently. Identity = the connection context's user.
    Simple,
    /// TOKEN only (DIGEST-MD5), as the real RM scheduler port and NM port enforce: auth byte 0x00 is
    /// refused; identity = the token identifier.
    Token(Arc<dyn TokenSecretManager>),
}

impl fmt::Debug for AuthPolicy {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthPolicy::Simple => formatter.write_str("Simple"),
            AuthPolicy::Token(manager) => write!(formatter, "Token({})", manager.token_kind()),
        }
    }
}

impl AuthPolicy {
    /// Whether a connection without SASL (auth byte 0x00) is acceptable.
    pub fn allows_simple(&self) -> bool {
        matches!(self, AuthPolicy::Simple)
    }
}

/// The authentication a finished SASL exchange (or a plain connection) established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EstablishedAuth {
    /// SIMPLE: the identity comes from the connection context.
    Simple,
    /// TOKEN: the identity is this token.
    Token {
        /// Kind from the secret manager.
        kind: String,
        /// Identifier bytes the client presented.
        identifier: Vec<u8>,
    },
}

/// What to do after one client SASL message.
#[derive(Debug, Clone, PartialEq)]
pub enum SaslStep {
    /// Send this SASL message; the exchange goes on.
    Reply(RpcSaslProto),
    /// Authentication is complete; send `reply` if any (none after a SIMPLE INITIATE).
    Established {
        /// Final message (SUCCESS), or none.
        reply: Option<RpcSaslProto>,
        /// What was established.
        auth: EstablishedAuth,
    },
}

/// A SASL failure: the server answers FATAL (FATAL_UNAUTHORIZED) with this class and closes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{class_name}: {message}")]
pub struct SaslFailure {
    /// Java exception class.
    pub class_name: &'static str,
    /// Message.
    pub message: String,
}

impl SaslFailure {
    fn access(message: impl Into<String>) -> Self {
        Self {
            class_name: java_class::ACCESS_CONTROL,
            message: message.into(),
        }
    }

    fn sasl(message: impl Into<String>) -> Self {
        Self {
            class_name: java_class::SASL_EXCEPTION,
            message: message.into(),
        }
    }
}

#[derive(Debug)]
enum Phase {
    AwaitNegotiate,
    /// NEGOTIATE was answered with a TOKEN offer carrying this DIGEST-MD5 challenge.
    TokenOffered(DigestMd5Server),
    /// INITIATE had no response; a CHALLENGE was sent and a RESPONSE is awaited.
    ChallengeSent(DigestMd5Server),
    Done,
}

/// Server side of one connection's SASL exchange.
#[derive(Debug)]
pub struct SaslServerSession {
    policy: AuthPolicy,
    phase: Phase,
}

fn sasl_message(state: SaslState) -> RpcSaslProto {
    RpcSaslProto {
        state: state as i32,
        ..Default::default()
    }
}

impl SaslServerSession {
    /// A session expecting NEGOTIATE first.
    pub fn new(policy: AuthPolicy) -> Self {
        Self {
            policy,
            phase: Phase::AwaitNegotiate,
        }
    }

    /// Handles one client SASL message.
    pub fn step(&mut self, message: &RpcSaslProto) -> Result<SaslStep, SaslFailure> {
        let state = SaslState::try_from(message.state)
            .map_err(|_| SaslFailure::sasl(format!("unknown SASL state {}", message.state)))?;
        let phase = std::mem::replace(&mut self.phase, Phase::Done);
        match (phase, state) {
            (Phase::AwaitNegotiate, SaslState::Negotiate) => self.negotiate(),
            (Phase::AwaitNegotiate | Phase::TokenOffered(_), SaslState::Initiate)
                if offered_method(message) == Some(METHOD_SIMPLE) =>
            {
                if self.policy.allows_simple() {
                    Ok(SaslStep::Established {
                        reply: None,
                        auth: EstablishedAuth::Simple,
                    })
                } else {
                    Err(SaslFailure::access(
                        "SIMPLE authentication is not enabled. Available:[TOKEN]",
                    ))
                }
            }
            (Phase::TokenOffered(digest), SaslState::Initiate) => {
                self.token_initiate(digest, message)
            }
            (Phase::ChallengeSent(digest), SaslState::Response) => {
                self.verify_token_response(&digest, message.token.as_deref().unwrap_or_default())
            }
            (phase, state) => Err(SaslFailure::sasl(format!(
                "SASL message {} is not expected {}",
                state.as_str_name(),
                phase_description(&phase)
            ))),
        }
    }

    fn negotiate(&mut self) -> Result<SaslStep, SaslFailure> {
        match &self.policy {
            AuthPolicy::Simple => Ok(SaslStep::Established {
                reply: Some(sasl_message(SaslState::Success)),
                auth: EstablishedAuth::Simple,
            }),
            AuthPolicy::Token(_) => {
                let digest = DigestMd5Server::with_random_nonce();
                let mut reply = sasl_message(SaslState::Negotiate);
                reply.auths.push(SaslAuth {
                    method: METHOD_TOKEN.into(),
                    mechanism: MECHANISM_DIGEST_MD5.into(),
                    protocol: Some(String::new()),
                    server_id: Some(DEFAULT_REALM.into()),
                    challenge: Some(digest.challenge()),
                });
                self.phase = Phase::TokenOffered(digest);
                Ok(SaslStep::Reply(reply))
            }
        }
    }

    fn token_initiate(
        &mut self,
        digest: DigestMd5Server,
        message: &RpcSaslProto,
    ) -> Result<SaslStep, SaslFailure> {
        let auth = message
            .auths
            .first()
            .ok_or_else(|| SaslFailure::sasl("INITIATE names no auth method"))?;
        if auth.method != METHOD_TOKEN || auth.mechanism != MECHANISM_DIGEST_MD5 {
            return Err(SaslFailure::access(format!(
                "client selected {}/{} which was not offered; available:[TOKEN]",
                auth.method, auth.mechanism
            )));
        }
        match message.token.as_deref() {
            Some(token) if !token.is_empty() => self.verify_token_response(&digest, token),
            _ => {
                let mut reply = sasl_message(SaslState::Challenge);
                reply.token = Some(digest.challenge());
                self.phase = Phase::ChallengeSent(digest);
                Ok(SaslStep::Reply(reply))
            }
        }
    }

    fn verify_token_response(
        &mut self,
        digest: &DigestMd5Server,
        token: &[u8],
    ) -> Result<SaslStep, SaslFailure> {
        let AuthPolicy::Token(manager) = &self.policy else {
            return Err(SaslFailure::access("TOKEN authentication is not enabled"));
        };
        let response = digest
            .parse_response(token)
            .map_err(|error| SaslFailure::sasl(format!("DIGEST-MD5: {error}")))?;
        let password = manager
            .retrieve_password(&response.identifier)
            .map_err(|error| SaslFailure {
                class_name: java_class::INVALID_TOKEN,
                message: error.message,
            })?;
        let rspauth = digest
            .verify(&response, &password)
            .map_err(|error| SaslFailure::sasl(format!("DIGEST-MD5: {error}")))?;
        let mut reply = sasl_message(SaslState::Success);
        reply.token = Some(rspauth);
        Ok(SaslStep::Established {
            reply: Some(reply),
            auth: EstablishedAuth::Token {
                kind: manager.token_kind().to_string(),
                identifier: response.identifier,
            },
        })
    }
}

fn offered_method(message: &RpcSaslProto) -> Option<&str> {
    message.auths.first().map(|auth| auth.method.as_str())
}

fn phase_description(phase: &Phase) -> &'static str {
    match phase {
        Phase::AwaitNegotiate => "before NEGOTIATE",
        Phase::TokenOffered(_) => "after the TOKEN offer (expected INITIATE)",
        Phase::ChallengeSent(_) => "after a CHALLENGE (expected RESPONSE)",
        Phase::Done => "after authentication completed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct OneToken;

    impl TokenSecretManager for OneToken {
        fn token_kind(&self) -> &str {
            "TEST_TOKEN"
        }

        fn retrieve_password(&self, identifier: &[u8]) -> Result<Vec<u8>, InvalidToken> {
            if identifier == [0x0a, 0x14, 0x1e] {
                Ok(vec![1, 2, 3, 4])
            } else {
                Err(InvalidToken::new("unknown token"))
            }
        }
    }

    fn initiate(auth: SaslAuth, token: Option<Vec<u8>>) -> RpcSaslProto {
        RpcSaslProto {
            state: SaslState::Initiate as i32,
            token,
            auths: vec![auth],
            ..Default::default()
        }
    }

    fn simple_auth() -> SaslAuth {
        SaslAuth {
            method: METHOD_SIMPLE.into(),
            mechanism: String::new(),
            ..Default::default()
        }
    }

    fn token_auth() -> SaslAuth {
        SaslAuth {
            method: METHOD_TOKEN.into(),
            mechanism: MECHANISM_DIGEST_MD5.into(),
            protocol: Some(String::new()),
            server_id: Some("default".into()),
            challenge: None,
        }
    }

    #[test]
    fn simple_policy_answers_negotiate_with_success() {
        let mut session = SaslServerSession::new(AuthPolicy::Simple);
        let step = session.step(&sasl_message(SaslState::Negotiate)).unwrap();
        assert_eq!(
            step,
            SaslStep::Established {
                reply: Some(sasl_message(SaslState::Success)),
                auth: EstablishedAuth::Simple
            }
        );
    }

    #[test]
    fn simple_initiate_is_accepted_silently_only_under_simple() {
        let mut session = SaslServerSession::new(AuthPolicy::Simple);
        let step = session.step(&initiate(simple_auth(), None)).unwrap();
        assert_eq!(
            step,
            SaslStep::Established {
                reply: None,
                auth: EstablishedAuth::Simple
            }
        );
        let mut session = SaslServerSession::new(AuthPolicy::Token(Arc::new(OneToken)));
        let failure = session.step(&initiate(simple_auth(), None)).unwrap_err();
        assert_eq!(failure.class_name, java_class::ACCESS_CONTROL);
    }

    fn offered_challenge(session: &mut SaslServerSession) -> Vec<u8> {
        let SaslStep::Reply(offer) = session.step(&sasl_message(SaslState::Negotiate)).unwrap()
        else {
            panic!("expected a NEGOTIATE offer");
        };
        assert_eq!(offer.state(), SaslState::Negotiate);
        assert_eq!(offer.auths.len(), 1);
        let auth = &offer.auths[0];
        assert_eq!(
            (auth.method.as_str(), auth.mechanism.as_str()),
            ("TOKEN", "DIGEST-MD5")
        );
        assert_eq!(auth.protocol.as_deref(), Some(""));
        assert_eq!(auth.server_id.as_deref(), Some("default"));
        auth.challenge.clone().unwrap()
    }

    #[test]
    fn token_policy_runs_digest_md5_with_the_inline_challenge() {
        let mut session = SaslServerSession::new(AuthPolicy::Token(Arc::new(OneToken)));
        let challenge = offered_challenge(&mut session);
        let text = String::from_utf8(challenge.clone()).unwrap();
        assert!(
            text.contains("algorithm=md5-sess") && text.contains("realm=\"default\""),
            "{text}"
        );
        let answer =
            digest_md5::client_answer(&challenge, &[0x0a, 0x14, 0x1e], &[1, 2, 3, 4], "cn")
                .unwrap();
        let step = session
            .step(&initiate(token_auth(), Some(answer.response)))
            .unwrap();
        let SaslStep::Established { reply, auth } = step else {
            panic!("expected success");
        };
        let reply = reply.unwrap();
        assert_eq!(reply.state(), SaslState::Success);
        assert_eq!(reply.token, Some(answer.expected_rspauth));
        assert_eq!(
            auth,
            EstablishedAuth::Token {
                kind: "TEST_TOKEN".into(),
                identifier: vec![0x0a, 0x14, 0x1e]
            }
        );
    }

    #[test]
    fn token_policy_sends_a_challenge_when_initiate_is_empty() {
        let mut session = SaslServerSession::new(AuthPolicy::Token(Arc::new(OneToken)));
        offered_challenge(&mut session);
        let SaslStep::Reply(challenge) = session.step(&initiate(token_auth(), None)).unwrap()
        else {
            panic!("expected a CHALLENGE");
        };
        assert_eq!(challenge.state(), SaslState::Challenge);
        let answer = digest_md5::client_answer(
            challenge.token.as_deref().unwrap(),
            &[0x0a, 0x14, 0x1e],
            &[1, 2, 3, 4],
            "x",
        )
        .unwrap();
        let response = RpcSaslProto {
            state: SaslState::Response as i32,
            token: Some(answer.response),
            ..Default::default()
        };
        assert!(matches!(
            session.step(&response).unwrap(),
            SaslStep::Established { .. }
        ));
    }

    #[test]
    fn wrong_password_and_unknown_tokens_fail() {
        let mut session = SaslServerSession::new(AuthPolicy::Token(Arc::new(OneToken)));
        let challenge = offered_challenge(&mut session);
        let answer =
            digest_md5::client_answer(&challenge, &[0x0a, 0x14, 0x1e], &[9, 9], "cn").unwrap();
        let failure = session
            .step(&initiate(token_auth(), Some(answer.response)))
            .unwrap_err();
        assert_eq!(failure.class_name, java_class::SASL_EXCEPTION);

        let mut session = SaslServerSession::new(AuthPolicy::Token(Arc::new(OneToken)));
        let challenge = offered_challenge(&mut session);
        let answer = digest_md5::client_answer(&challenge, &[7], &[1, 2, 3, 4], "cn").unwrap();
        let failure = session
            .step(&initiate(token_auth(), Some(answer.response)))
            .unwrap_err();
        assert_eq!(failure.class_name, java_class::INVALID_TOKEN);
    }

    #[test]
    fn out_of_order_messages_fail() {
        let mut session = SaslServerSession::new(AuthPolicy::Token(Arc::new(OneToken)));
        let response = RpcSaslProto {
            state: SaslState::Response as i32,
            ..Default::default()
        };
        assert!(session.step(&response).is_err());
        let mut session = SaslServerSession::new(AuthPolicy::Simple);
        let bogus = RpcSaslProto {
            state: 42,
            ..Default::default()
        };
        assert!(session.step(&bogus).is_err());
    }
}
