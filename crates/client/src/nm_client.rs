//! `NmClient`: ContainerManagementProtocol as `NMClientImpl` uses it — start, stop and query
//! containers on their NodeManager, authenticating with the node's NMToken from the shared cache.
//! One connection per call, like the Java client without a proxy cache.

use std::time::Duration;

use spindle_ipc::{ClientAuth, ClientOptions, IpcClient, TokenCredentials};
use spindle_proto::convert::require;
use spindle_proto::yarn::{
    ContainerExceptionMapProto, ContainerIdProto, ContainerLaunchContextProto, ContainerProto,
    ContainerStatusProto, GetContainerStatusesRequestProto, GetContainerStatusesResponseProto,
    StartContainerRequestProto, StartContainersRequestProto, StartContainersResponseProto,
    StopContainersRequestProto, StopContainersResponseProto,
};
use spindle_types::{ContainerId, NodeId};

use crate::addresses::resolve;
use crate::channel::protocols;
use crate::error::ClientError;
use crate::nm_token_cache::NmTokenCache;

/// Limit on connecting to an NM (`yarn.client.nodemanager-connect.max-wait-ms` is longer in
/// YARN, but an AM should hear quickly that a node is unreachable).
pub const NM_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// Talks to the NodeManagers of an application's containers.
#[derive(Debug, Clone)]
pub struct NmClient {
    nm_token_cache: NmTokenCache,
}

impl NmClient {
    /// A client using the NMTokens in `nm_token_cache` (share it with the AmRmClient).
    pub fn new(nm_token_cache: NmTokenCache) -> Self {
        Self { nm_token_cache }
    }

    /// Opens a connection to `node` for work on `container`, with the node's NMToken.
    async fn connect(
        &self,
        node: &NodeId,
        container: ContainerId,
    ) -> Result<IpcClient, ClientError> {
        let node_text = node.to_string();
        let token = self
            .nm_token_cache
            .get(&node_text)
            .ok_or_else(|| ClientError::NoNmToken {
                node: node_text.clone(),
            })?;
        let address = resolve(&node_text).await?;
        let mut options = ClientOptions::new(
            protocols::CONTAINER_MANAGEMENT,
            container.attempt_id.to_string(),
        );
        options.auth = ClientAuth::Token(TokenCredentials {
            kind: token.kind,
            identifier: token.identifier,
            password: token.password,
        });
        options.connect_timeout = NM_CONNECT_TIMEOUT;
        Ok(IpcClient::connect(address, options).await?)
    }

    /// `startContainers` for one allocated container: its NM, its container token, `launch_context`.
    pub async fn start_container(
        &self,
        container: &ContainerProto,
        launch_context: ContainerLaunchContextProto,
    ) -> Result<(), ClientError> {
        const METHOD: &str = "startContainers";
        let invalid = |e| ClientError::Usage(format!("cannot start a container: {e}"));
        let container_id =
            ContainerId::try_from(require(&container.id, "ContainerProto", "id").map_err(invalid)?)
                .map_err(invalid)?;
        let node = NodeId::try_from(
            require(&container.node_id, "ContainerProto", "node_id").map_err(invalid)?,
        )
        .map_err(invalid)?;
        let container_token = require(
            &container.container_token,
            "ContainerProto",
            "container_token",
        )
        .map_err(invalid)?
        .clone();
        let connection = self.connect(&node, container_id).await?;
        let request = StartContainersRequestProto {
            start_container_request: vec![StartContainerRequestProto {
                container_launch_context: Some(launch_context),
                container_token: Some(container_token),
            }],
        };
        let response: StartContainersResponseProto = connection.call(METHOD, &request).await?;
        check_failures(METHOD, container_id, &node, &response.failed_requests)?;
        if !contains(&response.succeeded_requests, container_id) {
            return Err(missing_answer(METHOD, container_id, &node));
        }
        Ok(())
    }

    /// `stopContainers` for one container on `node`.
    pub async fn stop_container(
        &self,
        container_id: ContainerId,
        node: &NodeId,
    ) -> Result<(), ClientError> {
        const METHOD: &str = "stopContainers";
        let connection = self.connect(node, container_id).await?;
        let request = StopContainersRequestProto {
            container_id: vec![container_id.into()],
        };
        let response: StopContainersResponseProto = connection.call(METHOD, &request).await?;
        check_failures(METHOD, container_id, node, &response.failed_requests)?;
        if !contains(&response.succeeded_requests, container_id) {
            return Err(missing_answer(METHOD, container_id, node));
        }
        Ok(())
    }

    /// `getContainerStatuses` for one container on `node`.
    pub async fn get_container_status(
        &self,
        container_id: ContainerId,
        node: &NodeId,
    ) -> Result<ContainerStatusProto, ClientError> {
        const METHOD: &str = "getContainerStatuses";
        let connection = self.connect(node, container_id).await?;
        let request = GetContainerStatusesRequestProto {
            container_id: vec![container_id.into()],
        };
        let response: GetContainerStatusesResponseProto = connection.call(METHOD, &request).await?;
        check_failures(METHOD, container_id, node, &response.failed_requests)?;
        response
            .status
            .into_iter()
            .find(|status| {
                status
                    .container_id
                    .as_ref()
                    .and_then(|id| ContainerId::try_from(id).ok())
                    == Some(container_id)
            })
            .ok_or_else(|| missing_answer(METHOD, container_id, node))
    }
}

fn contains(ids: &[ContainerIdProto], container_id: ContainerId) -> bool {
    ids.iter()
        .any(|id| ContainerId::try_from(id).ok() == Some(container_id))
}

/// The NM's refusal of `container_id`, as the Java client rethrows it.
fn check_failures(
    operation: &'static str,
    container_id: ContainerId,
    node: &NodeId,
    failures: &[ContainerExceptionMapProto],
) -> Result<(), ClientError> {
    let Some(failure) = failures.iter().find(|failure| {
        failure
            .container_id
            .as_ref()
            .and_then(|id| ContainerId::try_from(id).ok())
            == Some(container_id)
    }) else {
        return Ok(());
    };
    let exception = failure.exception.clone().unwrap_or_default();
    Err(ClientError::ContainerRequestFailed {
        operation,
        container: container_id.to_string(),
        node: node.to_string(),
        class_name: exception
            .class_name
            .clone()
            .unwrap_or_else(|| "org.apache.hadoop.yarn.exceptions.YarnException".into()),
        message: exception.message().to_string(),
    })
}

fn missing_answer(
    operation: &'static str,
    container_id: ContainerId,
    node: &NodeId,
) -> ClientError {
    ClientError::ContainerRequestFailed {
        operation,
        container: container_id.to_string(),
        node: node.to_string(),
        class_name: "org.apache.hadoop.yarn.exceptions.YarnException".into(),
        message: "the NodeManager's reply does not mention the container".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_proto::yarn::SerializedExceptionProto;
    use spindle_types::{ApplicationAttemptId, ApplicationId};

    fn container(sequence: i64) -> ContainerId {
        ContainerId::new(
            ApplicationAttemptId::new(ApplicationId::new(1700000000000, 1), 1),
            0,
            sequence,
        )
    }

    #[test]
    fn a_failed_request_for_the_container_becomes_its_java_exception() {
        let node = NodeId::new("host1", 8041);
        let failures = vec![
            ContainerExceptionMapProto {
                container_id: Some(container(3).into()),
                exception: Some(SerializedExceptionProto {
                    message: Some("other".into()),
                    class_name: Some("java.io.IOException".into()),
                    ..Default::default()
                }),
            },
            ContainerExceptionMapProto {
                container_id: Some(container(2).into()),
                exception: Some(SerializedExceptionProto {
                    message: Some(
                        "Container container_1700000000000_0001_01_000002 is not authorized".into(),
                    ),
                    class_name: Some("org.apache.hadoop.yarn.exceptions.YarnException".into()),
                    ..Default::default()
                }),
            },
        ];
        assert!(check_failures("startContainers", container(1), &node, &failures).is_ok());
        let error = check_failures("startContainers", container(2), &node, &failures).unwrap_err();
        assert!(error.is_remote("YarnException"));
        assert!(error.to_string().contains("is not authorized"), "{error}");
        assert!(error.to_string().contains("host1:8041"), "{error}");
    }

    #[tokio::test]
    async fn starting_without_an_nm_token_fails_like_java() {
        let client = NmClient::new(NmTokenCache::new());
        let error = client
            .stop_container(container(1), &NodeId::new("host9", 8041))
            .await
            .unwrap_err();
        assert_eq!(error.to_string(), "No NMToken sent for host9:8041");
    }

    #[tokio::test]
    async fn a_container_without_token_cannot_be_started() {
        let client = NmClient::new(NmTokenCache::new());
        let proto = ContainerProto {
            id: Some(container(1).into()),
            node_id: Some((&NodeId::new("host1", 8041)).into()),
            ..Default::default()
        };
        let error = client
            .start_container(&proto, ContainerLaunchContextProto::default())
            .await
            .unwrap_err();
        assert!(error.to_string().contains("container_token"), "{error}");
    }
}
