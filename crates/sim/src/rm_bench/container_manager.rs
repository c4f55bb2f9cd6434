//! The ContainerManagementProtocol of the simulated NodeManagers that can host AM containers:
//! the RM's AM launcher really connects here (SASL DIGEST-MD5 with the NMToken it signed) and
//! calls `startContainers`. Nothing is executed: the AMRMToken the RM put into the launch
//! context's credentials is handed to a simulated AM, and the AM container is reported RUNNING
//! by its node's next heartbeat.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use prost::Message;
use spindle_ipc::{
    typed_call, CallContext, InvalidToken, RpcError, RpcService, TokenSecretManager,
};
use spindle_proto::yarn::{
    ContainerTokenIdentifierProto, GetContainerStatusesRequestProto,
    GetContainerStatusesResponseProto, NmTokenIdentifierProto, StartContainerRequestProto,
    StartContainersRequestProto, StartContainersResponseProto, StopContainersRequestProto,
    StopContainersResponseProto,
};
use spindle_security::{Credentials, MasterKey, Token, AMRM_TOKEN_KIND, NM_TOKEN_KIND};
use tokio::sync::mpsc::UnboundedSender;

use super::node_fleet::NodeCommand;

/// The protocol name the RM's AM launcher connects with.
pub const CONTAINER_MANAGEMENT_PROTOCOL: &str =
    "org.apache.hadoop.yarn.api.ContainerManagementProtocolPB";

const YARN_EXCEPTION: &str = "org.apache.hadoop.yarn.exceptions.YarnException";

/// An AM container the RM started: what its simulated AM needs to talk to the scheduler.
#[derive(Debug, Clone)]
pub struct LaunchedAm {
    pub container: spindle_types::ContainerId,
    pub amrm_token: Token,
    /// The submitting user (from the container token).
    pub user: String,
}

/// Answers DIGEST-MD5 password lookups for NMTokens with the NM-token master key the RM sent
/// at registration (set by the first node that registers).
pub(crate) struct NmTokenSecrets {
    pub(crate) key: Arc<OnceLock<MasterKey>>,
}

impl TokenSecretManager for NmTokenSecrets {
    fn token_kind(&self) -> &str {
        NM_TOKEN_KIND
    }

    fn retrieve_password(&self, identifier: &[u8]) -> Result<Vec<u8>, InvalidToken> {
        let key = self
            .key
            .get()
            .ok_or_else(|| InvalidToken::new("no NM-token master key yet: not registered"))?;
        let proto = NmTokenIdentifierProto::decode(identifier)
            .map_err(|e| InvalidToken::new(format!("NMToken identifier does not decode: {e}")))?;
        if proto.key_id() != key.key_id {
            return Err(InvalidToken::new(format!(
                "NMToken key {} is not the RM's current key {}",
                proto.key_id(),
                key.key_id
            )));
        }
        Ok(key.password(identifier))
    }
}

/// `startContainers` for one simulated node.
pub(crate) struct SimulatedContainerManager {
    pub(crate) node_commands: UnboundedSender<NodeCommand>,
    pub(crate) launched: UnboundedSender<LaunchedAm>,
}

/// What one start request carries: the container and the AMRMToken, or why it cannot start.
pub(crate) fn launched_am(request: &StartContainerRequestProto) -> Result<LaunchedAm, String> {
    let token = request
        .container_token
        .as_ref()
        .ok_or("the start request has no container token")?;
    let identifier = ContainerTokenIdentifierProto::decode(token.identifier.as_slice())
        .map_err(|e| format!("the container token identifier does not decode: {e}"))?;
    let container = identifier
        .container_id
        .as_ref()
        .ok_or("the container token names no container")
        .and_then(|id| {
            spindle_types::ContainerId::try_from(id)
                .map_err(|_| "the container token's container id is invalid")
        })?;
    let tokens = request
        .container_launch_context
        .as_ref()
        .map(|context| context.tokens())
        .unwrap_or_default();
    let credentials = Credentials::decode(tokens)
        .map_err(|e| format!("the launch context's credentials do not decode: {e}"))?;
    let amrm_token = credentials
        .find_kind(AMRM_TOKEN_KIND)
        .cloned()
        .ok_or_else(|| format!("the launch context of {container} holds no AMRMToken"))?;
    Ok(LaunchedAm {
        container,
        amrm_token,
        user: identifier.app_submitter().to_string(),
    })
}

impl RpcService for SimulatedContainerManager {
    fn protocol(&self) -> &'static str {
        CONTAINER_MANAGEMENT_PROTOCOL
    }

    fn call(
        &self,
        _context: CallContext,
        method: String,
        request: Bytes,
    ) -> Pin<Box<dyn Future<Output = Result<Bytes, RpcError>> + Send>> {
        let node_commands = self.node_commands.clone();
        let launched = self.launched.clone();
        Box::pin(async move {
            match method.as_str() {
                "startContainers" => {
                    typed_call(request, |r: StartContainersRequestProto| async move {
                        let mut response = StartContainersResponseProto::default();
                        for start in &r.start_container_request {
                            let am = launched_am(start)
                                .map_err(|message| RpcError::new(YARN_EXCEPTION, message))?;
                            let _ = node_commands.send(NodeCommand::Start {
                                container: am.container,
                                finish_at: None,
                            });
                            response.succeeded_requests.push(am.container.into());
                            let _ = launched.send(am);
                        }
                        Ok(response)
                    })
                    .await
                }
                "stopContainers" => {
                    typed_call(request, |r: StopContainersRequestProto| async move {
                        Ok(StopContainersResponseProto {
                            succeeded_requests: r.container_id,
                            failed_requests: Vec::new(),
                        })
                    })
                    .await
                }
                "getContainerStatuses" => {
                    typed_call(request, |_: GetContainerStatusesRequestProto| async move {
                        Ok(GetContainerStatusesResponseProto::default())
                    })
                    .await
                }
                _ => Err(RpcError::no_such_method(
                    CONTAINER_MANAGEMENT_PROTOCOL,
                    &method,
                )),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_proto::common::TokenProto;
    use spindle_proto::yarn::ContainerLaunchContextProto;
    use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId};

    fn container() -> ContainerId {
        ContainerId::new(ApplicationAttemptId::new(ApplicationId::new(7, 3), 1), 0, 1)
    }

    fn start_request(with_amrm: bool) -> StartContainerRequestProto {
        let identifier = ContainerTokenIdentifierProto {
            container_id: Some(container().into()),
            app_submitter: Some("alice".into()),
            ..Default::default()
        };
        let mut credentials = Credentials::default();
        if with_amrm {
            credentials.add_token(
                "appattempt",
                Token {
                    identifier: vec![1, 2],
                    password: vec![3],
                    kind: AMRM_TOKEN_KIND.into(),
                    service: "127.0.0.1:8030".into(),
                },
            );
        }
        StartContainerRequestProto {
            container_launch_context: Some(ContainerLaunchContextProto {
                tokens: Some(credentials.encode()),
                ..Default::default()
            }),
            container_token: Some(TokenProto {
                identifier: identifier.encode_to_vec(),
                password: vec![0],
                kind: "ContainerToken".into(),
                service: String::new(),
            }),
        }
    }

    #[test]
    fn the_amrm_token_and_container_come_from_the_launch_request() {
        let am = launched_am(&start_request(true)).unwrap();
        assert_eq!(am.container, container());
        assert_eq!(am.user, "alice");
        assert_eq!(am.amrm_token.service, "127.0.0.1:8030");
    }

    #[test]
    fn requests_without_the_pieces_are_refused_with_the_reason() {
        let error = launched_am(&start_request(false)).unwrap_err();
        assert!(error.contains("no AMRMToken"), "{error}");
        let mut no_token = start_request(true);
        no_token.container_token = None;
        assert!(launched_am(&no_token)
            .unwrap_err()
            .contains("no container token"));
        let mut garbage = start_request(true);
        garbage.container_token.as_mut().unwrap().identifier = vec![0xff, 0xff, 0xff];
        assert!(launched_am(&garbage)
            .unwrap_err()
            .contains("does not decode"));
        let mut bad_credentials = start_request(true);
        bad_credentials
            .container_launch_context
            .as_mut()
            .unwrap()
            .tokens = Some(b"XXXX\0".to_vec());
        assert!(launched_am(&bad_credentials)
            .unwrap_err()
            .contains("credentials do not decode"));
    }
}
