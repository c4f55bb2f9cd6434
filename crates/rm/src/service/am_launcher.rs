//! Starts AM containers on their NodeManagers (YARN's AMLauncher), authenticating with an NMToken
//! for the attempt and presenting the container token the RM signed.

use spindle_ipc::{ClientAuth, ClientOptions, IpcClient, TokenCredentials};
use spindle_proto::yarn::{
    ContainerLaunchContextProto, ContainerProto, NmTokenIdentifierProto,
    StartContainerRequestProto, StartContainersRequestProto, StartContainersResponseProto,
};
use spindle_security::{MasterKey, NM_TOKEN_KIND};
use spindle_types::ApplicationAttemptId;

use prost::Message;

use super::protocols;
use super::runtime::SharedCore;

#[derive(Clone)]
pub(crate) struct AmLauncher {
    nm_token_key: MasterKey,
}

impl AmLauncher {
    pub(crate) fn new(nm_token_key: MasterKey) -> Self {
        Self { nm_token_key }
    }

    /// Starts the AM container in the background and reports the outcome to the core.
    pub(crate) fn launch(
        &self,
        core: SharedCore,
        attempt: ApplicationAttemptId,
        container: ContainerProto,
        launch_context: ContainerLaunchContextProto,
    ) {
        let launcher = self.clone();
        tokio::spawn(async move {
            let result = launcher
                .start_container(attempt, container, launch_context)
                .await;
            if let Err(e) = &result {
                tracing::warn!("launching the AM container of {attempt} failed: {e}");
            }
            core.with(|c, now| c.am_launched(attempt, result, now));
        });
    }

    async fn start_container(
        &self,
        attempt: ApplicationAttemptId,
        container: ContainerProto,
        launch_context: ContainerLaunchContextProto,
    ) -> Result<(), String> {
        let node = container
            .node_id
            .clone()
            .ok_or("the AM container has no node")?;
        let address = format!("{}:{}", node.host(), node.port());
        let identifier = NmTokenIdentifierProto {
            app_attempt_id: Some(attempt.into()),
            node_id: Some(node),
            app_submitter: None,
            key_id: Some(self.nm_token_key.key_id),
        }
        .encode_to_vec();
        let password = self.nm_token_key.password(&identifier);
        let mut options = ClientOptions::new(protocols::CONTAINER_MANAGEMENT, attempt.to_string());
        options.auth = ClientAuth::Token(TokenCredentials {
            kind: NM_TOKEN_KIND.into(),
            identifier,
            password,
        });
        options.connect_timeout = std::time::Duration::from_secs(10);
        let socket = tokio::net::lookup_host(&address)
            .await
            .map_err(|e| format!("cannot resolve {address}: {e}"))?
            .next()
            .ok_or_else(|| format!("cannot resolve {address}"))?;
        let client = IpcClient::connect(socket, options)
            .await
            .map_err(|e| format!("cannot connect to {address}: {e}"))?;
        let request = StartContainersRequestProto {
            start_container_request: vec![StartContainerRequestProto {
                container_launch_context: Some(launch_context),
                container_token: container.container_token.clone(),
            }],
        };
        let response: StartContainersResponseProto = client
            .call("startContainers", &request)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(failed) = response.failed_requests.first() {
            let message = failed
                .exception
                .as_ref()
                .map(|e| e.message().to_string())
                .unwrap_or_default();
            return Err(message);
        }
        Ok(())
    }
}
