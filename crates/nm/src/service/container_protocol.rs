//! ContainerManagementProtocol (`yarn.nodemanager.address`): start, stop and query containers.
//!
//! Callers authenticate with an NMToken (TOKEN/DIGEST-MD5 only, as the real NM enforces); each
//! start presents a container token the RM signed for this node, which names the container, its
//! user and its resource. Per-container failures go back in `failed_requests` with YARN's
//! exception classes; they never affect the other containers of the call.

use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use prost::Message;
use spindle_ipc::{typed_call, CallContext, CallerIdentity, RpcError, RpcService};
use spindle_proto::yarn::*;
use spindle_security::NM_TOKEN_KIND;
use spindle_types::{exit_status, ApplicationAttemptId, ContainerId, NodeId, Resource};
use tokio::sync::watch;

use super::devices::GpuAllocator;
use super::now_ms;
use super::protocols;
use super::tokens::NmKeys;
use crate::container::{
    launch_spec, ContainerLifecycleState, ContainerManager, ContainerStatusReport,
};

const YARN_EXCEPTION: &str = "org.apache.hadoop.yarn.exceptions.YarnException";
const INVALID_TOKEN: &str = "org.apache.hadoop.security.token.SecretManager$InvalidToken";
const NM_NOT_YET_READY: &str = "org.apache.hadoop.yarn.exceptions.NMNotYetReadyException";

pub(crate) struct ContainerProtocol {
    pub(crate) manager: Arc<ContainerManager>,
    pub(crate) keys: NmKeys,
    pub(crate) node_id: NodeId,
    pub(crate) gpus: GpuAllocator,
    /// True once the NM has registered with the RM: until then starts are refused (a restarted
    /// NM must first tell the RM what it recovered).
    pub(crate) registered: watch::Receiver<bool>,
}

fn failure(
    container: Option<ContainerIdProto>,
    class_name: &str,
    message: String,
) -> Box<ContainerExceptionMapProto> {
    Box::new(ContainerExceptionMapProto {
        container_id: container,
        exception: Some(SerializedExceptionProto {
            message: Some(message),
            trace: Some(String::new()),
            class_name: Some(class_name.to_string()),
            cause: None,
        }),
    })
}

/// The attempt an NMToken caller acts for.
fn caller_attempt(context: &CallContext) -> Result<ApplicationAttemptId, RpcError> {
    let denied = |m: &str| {
        RpcError::new(
            "org.apache.hadoop.security.AccessControlException",
            m.to_string(),
        )
    };
    match &context.identity {
        CallerIdentity::Token { kind, identifier } if kind == NM_TOKEN_KIND => {
            let proto = NmTokenIdentifierProto::decode(identifier.as_slice())
                .map_err(|_| denied("Invalid NMToken"))?;
            ApplicationAttemptId::try_from(
                proto
                    .app_attempt_id
                    .as_ref()
                    .ok_or_else(|| denied("Invalid NMToken"))?,
            )
            .map_err(|_| denied("Invalid NMToken"))
        }
        _ => Err(denied(
            "SIMPLE authentication is not enabled.  Available:[TOKEN]: an NMToken is required",
        )),
    }
}

impl ContainerProtocol {
    fn start_one(
        &self,
        caller: ApplicationAttemptId,
        request: &StartContainerRequestProto,
    ) -> Result<ContainerId, Box<ContainerExceptionMapProto>> {
        let token = request.container_token.as_ref().ok_or_else(|| {
            failure(
                None,
                INVALID_TOKEN,
                "No container token in the start request".into(),
            )
        })?;
        let identifier = self
            .keys
            .verify_container_token(&token.identifier, &token.password)
            .map_err(|m| failure(None, INVALID_TOKEN, m))?;
        let container_proto = identifier.container_id;
        let fail = |class: &str, m: String| failure(container_proto, class, m);
        let container = identifier
            .container_id
            .as_ref()
            .and_then(|c| ContainerId::try_from(c).ok())
            .ok_or_else(|| {
                fail(
                    INVALID_TOKEN,
                    "The container token names no container".into(),
                )
            })?;
        if identifier.nm_host_addr() != self.node_id.to_string() {
            return Err(fail(
                INVALID_TOKEN,
                format!(
                    "Container token for {container} was issued for {} and not for this node {}",
                    identifier.nm_host_addr(),
                    self.node_id
                ),
            ));
        }
        if container.application_id() != caller.application_id {
            return Err(fail(
                INVALID_TOKEN,
                format!("Unauthorized request to start container. NMToken for application attempt : {caller} was used for starting container with container token issued for application attempt : {}", container.attempt_id),
            ));
        }
        if identifier.expiry_time_stamp() < now_ms() {
            return Err(fail(
                INVALID_TOKEN,
                format!(
                    "This token is expired. current time is {} found {}",
                    now_ms(),
                    identifier.expiry_time_stamp()
                ),
            ));
        }
        let resource = identifier
            .resource
            .as_ref()
            .and_then(|r| Resource::try_from(r).ok())
            .unwrap_or_default();
        let context = request.container_launch_context.clone().unwrap_or_default();
        let gpu_count = resource.get(spindle_types::resource::GPU).max(0) as usize;
        let mut spec = launch_spec(
            container,
            identifier.app_submitter().to_string(),
            resource,
            context,
        )
        .map_err(|m| fail(YARN_EXCEPTION, m))?;
        if gpu_count > 0 {
            let devices = self
                .gpus
                .assign(container, gpu_count)
                .map_err(|m| fail(YARN_EXCEPTION, m))?;
            let list = devices
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            spec.environment
                .push(("CUDA_VISIBLE_DEVICES".into(), list.clone()));
            spec.environment
                .push(("NVIDIA_VISIBLE_DEVICES".into(), list));
            spec.gpu_devices = devices;
        }
        if let Err(e) = self.manager.start(spec) {
            self.gpus.release(container);
            return Err(fail(YARN_EXCEPTION, e.to_string()));
        }
        tracing::info!("started container {container} for {caller}");
        Ok(container)
    }
}

/// A container status in YARN's shape.
pub(crate) fn status_proto(report: &ContainerStatusReport) -> ContainerStatusProto {
    let state = match report.state {
        ContainerLifecycleState::New
        | ContainerLifecycleState::Localizing
        | ContainerLifecycleState::Localized => ContainerStateProto::CNew,
        ContainerLifecycleState::Done => ContainerStateProto::CComplete,
        _ => ContainerStateProto::CRunning,
    };
    ContainerStatusProto {
        container_id: Some(report.container_id.into()),
        state: Some(state as i32),
        diagnostics: Some(report.diagnostics.clone()),
        exit_status: Some(report.exit_status),
        capability: Some((&report.resource).into()),
        ..Default::default()
    }
}

impl RpcService for ContainerProtocol {
    fn protocol(&self) -> &'static str {
        protocols::CONTAINER_MANAGEMENT
    }

    fn call(
        &self,
        context: CallContext,
        method: String,
        request: Bytes,
    ) -> BoxFuture<'static, Result<Bytes, RpcError>> {
        let this = ContainerProtocol {
            manager: self.manager.clone(),
            keys: self.keys.clone(),
            node_id: self.node_id.clone(),
            gpus: self.gpus.clone(),
            registered: self.registered.clone(),
        };
        Box::pin(async move {
            let caller = caller_attempt(&context)?;
            match method.as_str() {
                "startContainers" => {
                    if !*this.registered.borrow() {
                        return Err(RpcError::new(
                            NM_NOT_YET_READY,
                            "Rejecting new containers as NodeManager has not yet connected with ResourceManager",
                        ));
                    }
                    typed_call(request, |r: StartContainersRequestProto| async move {
                        let mut response = StartContainersResponseProto::default();
                        for one in &r.start_container_request {
                            match this.start_one(caller, one) {
                                Ok(id) => response.succeeded_requests.push(id.into()),
                                Err(failed) => response.failed_requests.push(*failed),
                            }
                        }
                        Ok(response)
                    })
                    .await
                }
                "stopContainers" => {
                    typed_call(request, |r: StopContainersRequestProto| async move {
                        let mut response = StopContainersResponseProto::default();
                        for proto in r.container_id {
                            match this.owned(caller, &proto) {
                                Ok(id) => match this.manager.stop(id, exit_status::KILLED_BY_APPMASTER) {
                                    Ok(()) => response.succeeded_requests.push(proto),
                                    Err(e) => response.failed_requests.push(*failure(Some(proto), YARN_EXCEPTION, e.to_string())),
                                },
                                Err(f) => response.failed_requests.push(*f),
                            }
                        }
                        Ok(response)
                    })
                    .await
                }
                "getContainerStatuses" => {
                    typed_call(request, |r: GetContainerStatusesRequestProto| async move {
                        let mut response = GetContainerStatusesResponseProto::default();
                        for proto in r.container_id {
                            match this.owned(caller, &proto).and_then(|id| {
                                this.manager.status(id).ok_or_else(|| {
                                    failure(Some(proto), "org.apache.hadoop.yarn.exceptions.ContainerNotFoundException", format!("Container {id} is not handled by this NodeManager"))
                                })
                            }) {
                                Ok(report) => response.status.push(status_proto(&report)),
                                Err(f) => response.failed_requests.push(*f),
                            }
                        }
                        Ok(response)
                    })
                    .await
                }
                _ => Err(RpcError::no_such_method(protocols::CONTAINER_MANAGEMENT, &method)),
            }
        })
    }
}

impl ContainerProtocol {
    /// The container named by `proto`, if the caller's application owns it.
    fn owned(
        &self,
        caller: ApplicationAttemptId,
        proto: &ContainerIdProto,
    ) -> Result<ContainerId, Box<ContainerExceptionMapProto>> {
        let id = ContainerId::try_from(proto)
            .map_err(|e| failure(Some(*proto), YARN_EXCEPTION, e.to_string()))?;
        if id.application_id() != caller.application_id {
            return Err(failure(
                Some(*proto),
                YARN_EXCEPTION,
                format!("Unauthorized request for container {id}: the NMToken is for {caller}"),
            ));
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::{ContainerManager, NmContainerConfig};
    use spindle_types::ApplicationId;

    #[tokio::test]
    async fn starts_wait_for_the_registration_with_the_resourcemanager() {
        let temp = tempfile::tempdir().unwrap();
        let config = NmContainerConfig::new(
            vec![temp.path().join("local")],
            vec![temp.path().join("logs")],
            "localhost",
            8041,
            8042,
        );
        let (registered_sender, registered) = watch::channel(false);
        let protocol = ContainerProtocol {
            manager: Arc::new(ContainerManager::new(config).unwrap()),
            keys: NmKeys::default(),
            node_id: NodeId::new("localhost".to_string(), 8041),
            gpus: GpuAllocator::default(),
            registered,
        };
        let attempt = ApplicationAttemptId::new(ApplicationId::new(1700000000000, 1), 1);
        let identifier = NmTokenIdentifierProto {
            app_attempt_id: Some(attempt.into()),
            ..Default::default()
        };
        let start = || {
            protocol.call(
                CallContext {
                    identity: CallerIdentity::Token {
                        kind: NM_TOKEN_KIND.to_string(),
                        identifier: identifier.encode_to_vec(),
                    },
                    protocol: protocols::CONTAINER_MANAGEMENT.to_string(),
                    peer_addr: "127.0.0.1:1".parse().unwrap(),
                    call_id: 1,
                },
                "startContainers".to_string(),
                StartContainersRequestProto::default()
                    .encode_to_vec()
                    .into(),
            )
        };
        let refused = start().await.unwrap_err();
        assert_eq!(refused.class_name, NM_NOT_YET_READY);
        assert_eq!(
            refused.message,
            "Rejecting new containers as NodeManager has not yet connected with ResourceManager"
        );
        registered_sender.send(true).unwrap();
        assert!(start().await.is_ok());
    }
}
