//! ApplicationMasterProtocol (`yarn.resourcemanager.scheduler.address`, 8030): register, allocate,
//! finish. Only callers holding a valid AMRMToken get in, and the token names their attempt.

use bytes::Bytes;
use futures::future::BoxFuture;
use prost::Message;
use spindle_ipc::{
    typed_call, CallContext, CallerIdentity, InvalidToken, RpcError, RpcService, TokenSecretManager,
};
use spindle_proto::yarn::*;
use spindle_security::AMRM_TOKEN_KIND;
use spindle_types::ApplicationAttemptId;

use super::protocols;
use super::runtime::SharedCore;

/// Answers DIGEST-MD5 password lookups for AMRMTokens from the RM core's current key: only for
/// attempts that have not ended, as Hadoop's AMRMTokenSecretManager forgets an attempt's password
/// once it finishes.
pub(crate) struct AmrmSecretManager {
    core: SharedCore,
}

impl AmrmSecretManager {
    pub(crate) fn new(core: SharedCore) -> Self {
        Self { core }
    }
}

impl TokenSecretManager for AmrmSecretManager {
    fn token_kind(&self) -> &str {
        AMRM_TOKEN_KIND
    }

    fn retrieve_password(&self, identifier: &[u8]) -> Result<Vec<u8>, InvalidToken> {
        let proto = AmrmTokenIdentifierProto::decode(identifier)
            .map_err(|e| InvalidToken::new(format!("AMRMToken identifier does not decode: {e}")))?;
        let attempt = proto
            .app_attempt_id
            .as_ref()
            .and_then(|attempt| ApplicationAttemptId::try_from(attempt).ok());
        self.core.read(|core| {
            let key = &core.keys.amrm;
            if proto.key_id() != key.key_id {
                return Err(InvalidToken::new(format!(
                    "AMRMToken key {} is not known to this ResourceManager",
                    proto.key_id()
                )));
            }
            let attempt = attempt
                .ok_or_else(|| InvalidToken::new("AMRMToken names no application attempt"))?;
            let live = core
                .attempt(attempt)
                .is_some_and(|record| !record.state.is_final());
            if !live {
                return Err(InvalidToken::new(format!(
                    "Password not found for ApplicationAttempt {attempt}: it has finished or is \
                     not known to this ResourceManager"
                )));
            }
            Ok(key.password(identifier))
        })
    }
}

/// The attempt named by the caller's AMRMToken.
fn caller_attempt(context: &CallContext) -> Result<ApplicationAttemptId, RpcError> {
    let denied = |m: &str| {
        RpcError::new(
            "org.apache.hadoop.security.AccessControlException",
            m.to_string(),
        )
    };
    match &context.identity {
        CallerIdentity::Token { kind, identifier } if kind == AMRM_TOKEN_KIND => {
            let proto = AmrmTokenIdentifierProto::decode(identifier.as_slice())
                .map_err(|_| denied("AMRMToken identifier does not decode"))?;
            let attempt = proto
                .app_attempt_id
                .as_ref()
                .ok_or_else(|| denied("AMRMToken names no attempt"))?;
            ApplicationAttemptId::try_from(attempt).map_err(|e| denied(&e.to_string()))
        }
        _ => Err(denied(
            "SIMPLE authentication is not enabled.  Available:[TOKEN]: an AMRMToken is required",
        )),
    }
}

pub(crate) struct MasterProtocol {
    core: SharedCore,
}

impl MasterProtocol {
    pub(crate) fn new(core: SharedCore) -> Self {
        Self { core }
    }
}

impl RpcService for MasterProtocol {
    fn protocol(&self) -> &'static str {
        protocols::APPLICATION_MASTER
    }

    fn call(
        &self,
        context: CallContext,
        method: String,
        request: Bytes,
    ) -> BoxFuture<'static, Result<Bytes, RpcError>> {
        let core = self.core.clone();
        Box::pin(async move {
            let attempt = caller_attempt(&context)?;
            match method.as_str() {
                "registerApplicationMaster" => {
                    typed_call(
                        request,
                        |r: RegisterApplicationMasterRequestProto| async move {
                            Ok(core
                                .with(|c, now| c.register_application_master(attempt, &r, now))?)
                        },
                    )
                    .await
                }
                "allocate" => {
                    let request: AllocateRequestProto = spindle_ipc::decode(request)?;
                    let reply = core.with(|c, now| c.allocate_reply(attempt, &request, now))?;
                    // Tokens are signed and the response encoded here, outside the core's lock.
                    Ok(reply.encoded())
                }
                "finishApplicationMaster" => {
                    typed_call(
                        request,
                        |r: FinishApplicationMasterRequestProto| async move {
                            let done =
                                core.with(|c, now| c.finish_application_master(attempt, &r, now))?;
                            Ok(FinishApplicationMasterResponseProto {
                                is_unregistered: Some(done),
                            })
                        },
                    )
                    .await
                }
                _ => Err(RpcError::no_such_method(
                    protocols::APPLICATION_MASTER,
                    &method,
                )),
            }
        })
    }
}
