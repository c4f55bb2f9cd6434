//! `YarnClient`: ApplicationClientProtocol (the RM's client port) as `YarnClientImpl` uses it —
//! new applications, submission, reports, listing, kill, cluster metrics, nodes, queues.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use spindle_conf::{Configuration, RmService};
use spindle_ipc::ClientOptions;
use spindle_proto::convert::require;
use spindle_proto::yarn::{
    ApplicationAttemptReportProto, ApplicationSubmissionContextProto, ContainerReportProto,
    GetApplicationAttemptReportRequestProto, GetApplicationAttemptReportResponseProto,
    GetApplicationAttemptsRequestProto, GetApplicationAttemptsResponseProto,
    GetApplicationReportRequestProto, GetApplicationReportResponseProto,
    GetApplicationsRequestProto, GetApplicationsResponseProto, GetClusterMetricsRequestProto,
    GetClusterMetricsResponseProto, GetClusterNodesRequestProto, GetClusterNodesResponseProto,
    GetContainerReportRequestProto, GetContainerReportResponseProto, GetContainersRequestProto,
    GetContainersResponseProto, GetNewApplicationRequestProto, GetNewApplicationResponseProto,
    GetQueueInfoRequestProto, GetQueueInfoResponseProto, KillApplicationRequestProto,
    KillApplicationResponseProto, NodeStateProto, QueueInfoProto, SubmitApplicationRequestProto,
    SubmitApplicationResponseProto, YarnApplicationStateProto, YarnClusterMetricsProto,
};
use spindle_types::states::{NodeState, YarnApplicationState};
use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, Resource};

use crate::addresses::{current_user, RmEndpoints};
use crate::channel::{protocols, Channel};
use crate::error::ClientError;
use crate::reports::{ApplicationReport, NodeReport, ALL_NODE_STATES};

/// How often submit and kill poll the RM (`yarn.client.app-submission.poll-interval`).
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// How long submit and kill wait for the RM before giving up.
pub const POLL_TIMEOUT: Duration = Duration::from_secs(120);

/// What `getNewApplication` hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApplication {
    pub application_id: ApplicationId,
    /// The largest container the cluster can give.
    pub maximum_capability: Resource,
}

/// Which applications `get_applications` lists; empty lists mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicationFilter {
    pub states: Vec<YarnApplicationState>,
    pub application_types: Vec<String>,
    pub users: Vec<String>,
    pub queues: Vec<String>,
    /// Applications carrying any of these tags (YARN's `-appTags`).
    pub tags: Vec<String>,
}

/// A connection to the RM's ApplicationClientProtocol.
#[derive(Debug)]
pub struct YarnClient {
    channel: Channel,
}

impl YarnClient {
    /// Connects to the RM client address `address` acting as `user` (SIMPLE auth).
    pub async fn connect(address: SocketAddr, user: &str) -> Result<Self, ClientError> {
        Self::connect_to(RmEndpoints::single(address), user).await
    }

    /// Connects to the RM of `endpoints` acting as `user`; with several (RM HA) starts at the
    /// first and fails over by its policy.
    pub async fn connect_to(endpoints: RmEndpoints, user: &str) -> Result<Self, ClientError> {
        let options = ClientOptions::new(protocols::APPLICATION_CLIENT, user);
        Ok(Self {
            channel: Channel::connect(endpoints, options).await?,
        })
    }

    /// Connects to `yarn.resourcemanager.address` of `configuration` as the current user; with
    /// `yarn.resourcemanager.ha.enabled`, to the rm-ids' `yarn.resourcemanager.address.<id>` with
    /// failover.
    pub async fn from_configuration(configuration: &Configuration) -> Result<Self, ClientError> {
        let endpoints = RmEndpoints::from_configuration(configuration, RmService::Client)?;
        Self::connect_to(endpoints, &current_user(Some(configuration))).await
    }

    /// The address of the RM this client last connected to.
    pub fn server_address(&self) -> SocketAddr {
        self.channel.address()
    }

    /// `getNewApplication`.
    pub async fn get_new_application(&self) -> Result<NewApplication, ClientError> {
        const METHOD: &str = "getNewApplication";
        let response: GetNewApplicationResponseProto = self
            .channel
            .call(METHOD, &GetNewApplicationRequestProto {})
            .await?;
        let invalid = |e| ClientError::invalid_response(METHOD, e);
        const MESSAGE: &str = "GetNewApplicationResponseProto";
        let application_id = ApplicationId::try_from(
            require(&response.application_id, MESSAGE, "application_id").map_err(invalid)?,
        )
        .map_err(invalid)?;
        let maximum_capability = Resource::try_from(
            require(&response.maximum_capability, MESSAGE, "maximum_capability")
                .map_err(invalid)?,
        )
        .map_err(invalid)?;
        Ok(NewApplication {
            application_id,
            maximum_capability,
        })
    }

    /// `submitApplication`, then waits (like `YarnClientImpl`) until the RM has moved the
    /// application past NEW/NEW_SAVING, submitting again if the RM forgot it meanwhile.
    pub async fn submit_application(
        &self,
        context: ApplicationSubmissionContextProto,
    ) -> Result<(), ClientError> {
        let application_id = require(
            &context.application_id,
            "ApplicationSubmissionContextProto",
            "application_id",
        )
        .and_then(ApplicationId::try_from)
        .map_err(|e| ClientError::Usage(format!("cannot submit: {e}")))?;
        let request = SubmitApplicationRequestProto {
            application_submission_context: Some(context),
        };
        let _: SubmitApplicationResponseProto =
            self.channel.call("submitApplication", &request).await?;
        let started = Instant::now();
        loop {
            match self.get_application_report(application_id).await {
                Ok(report)
                    if !matches!(
                        report.state,
                        YarnApplicationState::New | YarnApplicationState::NewSaving
                    ) =>
                {
                    return Ok(())
                }
                Ok(_) => {}
                Err(error) if error.is_application_not_found() => {
                    tracing::info!(
                        "{application_id} is unknown to the RM after submission; submitting again"
                    );
                    let _: SubmitApplicationResponseProto =
                        self.channel.call("submitApplication", &request).await?;
                }
                Err(error) => return Err(error),
            }
            if started.elapsed() > POLL_TIMEOUT {
                return Err(ClientError::TimedOut(format!(
                    "{application_id} was not accepted by the RM within {} s",
                    POLL_TIMEOUT.as_secs()
                )));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// `getApplicationReport`; an unknown application is a remote `ApplicationNotFoundException`.
    pub async fn get_application_report(
        &self,
        application_id: ApplicationId,
    ) -> Result<ApplicationReport, ClientError> {
        const METHOD: &str = "getApplicationReport";
        let request = GetApplicationReportRequestProto {
            application_id: Some(application_id.into()),
        };
        let response: GetApplicationReportResponseProto =
            self.channel.call(METHOD, &request).await?;
        require(
            &response.application_report,
            "GetApplicationReportResponseProto",
            "application_report",
        )
        .and_then(ApplicationReport::try_from)
        .map_err(|e| ClientError::invalid_response(METHOD, e))
    }

    /// `getApplications` with `filter`.
    pub async fn get_applications(
        &self,
        filter: &ApplicationFilter,
    ) -> Result<Vec<ApplicationReport>, ClientError> {
        const METHOD: &str = "getApplications";
        let request = GetApplicationsRequestProto {
            application_types: filter.application_types.clone(),
            application_states: filter
                .states
                .iter()
                .map(|state| YarnApplicationStateProto::from(*state) as i32)
                .collect(),
            users: filter.users.clone(),
            queues: filter.queues.clone(),
            application_tags: filter.tags.clone(),
            ..Default::default()
        };
        let response: GetApplicationsResponseProto = self.channel.call(METHOD, &request).await?;
        response
            .applications
            .iter()
            .map(ApplicationReport::try_from)
            .collect::<Result<_, _>>()
            .map_err(|e| ClientError::invalid_response(METHOD, e))
    }

    /// `forceKillApplication`, repeated every [`POLL_INTERVAL`] until the RM says the kill is
    /// complete (as `YarnClientImpl.killApplication` does).
    pub async fn kill_application(
        &self,
        application_id: ApplicationId,
        diagnostics: Option<&str>,
    ) -> Result<(), ClientError> {
        let request = KillApplicationRequestProto {
            application_id: Some(application_id.into()),
            diagnostics: diagnostics.map(str::to_string),
        };
        let started = Instant::now();
        loop {
            let response: KillApplicationResponseProto =
                self.channel.call("forceKillApplication", &request).await?;
            if response.is_kill_completed() {
                return Ok(());
            }
            if started.elapsed() > POLL_TIMEOUT {
                return Err(ClientError::TimedOut(format!(
                    "Timed out while waiting for application {application_id} to be killed."
                )));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// `getClusterMetrics`.
    pub async fn get_cluster_metrics(&self) -> Result<YarnClusterMetricsProto, ClientError> {
        let response: GetClusterMetricsResponseProto = self
            .channel
            .call("getClusterMetrics", &GetClusterMetricsRequestProto {})
            .await?;
        Ok(response.cluster_metrics.unwrap_or_default())
    }

    /// `getClusterNodes` for nodes in `states`; an empty slice means every state.
    pub async fn get_node_reports(
        &self,
        states: &[NodeState],
    ) -> Result<Vec<NodeReport>, ClientError> {
        const METHOD: &str = "getClusterNodes";
        let states = if states.is_empty() {
            &ALL_NODE_STATES[..]
        } else {
            states
        };
        let request = GetClusterNodesRequestProto {
            node_states: states
                .iter()
                .map(|state| NodeStateProto::from(*state) as i32)
                .collect(),
        };
        let response: GetClusterNodesResponseProto = self.channel.call(METHOD, &request).await?;
        response
            .node_reports
            .iter()
            .map(NodeReport::try_from)
            .collect::<Result<_, _>>()
            .map_err(|e| ClientError::invalid_response(METHOD, e))
    }

    /// `getQueueInfo` for `queue` (without its applications or children).
    pub async fn get_queue_info(&self, queue: &str) -> Result<QueueInfoProto, ClientError> {
        self.queue_info(queue, false).await
    }

    /// `getQueueInfo` for `root` with every queue below it (children recursively, without
    /// applications): the whole queue tree.
    pub async fn get_queue_tree(&self) -> Result<QueueInfoProto, ClientError> {
        self.queue_info("root", true).await
    }

    async fn queue_info(&self, queue: &str, tree: bool) -> Result<QueueInfoProto, ClientError> {
        const METHOD: &str = "getQueueInfo";
        let request = GetQueueInfoRequestProto {
            queue_name: Some(queue.to_string()),
            include_applications: Some(false),
            include_child_queues: Some(tree),
            recursive: Some(tree),
            sub_cluster_id: None,
        };
        let response: GetQueueInfoResponseProto = self.channel.call(METHOD, &request).await?;
        require(
            &response.queue_info,
            "GetQueueInfoResponseProto",
            "queue_info",
        )
        .cloned()
        .map_err(|e| ClientError::invalid_response(METHOD, e))
    }

    /// `getApplicationAttempts`: the attempts of `application`, oldest first.
    pub async fn get_application_attempts(
        &self,
        application: ApplicationId,
    ) -> Result<Vec<ApplicationAttemptReportProto>, ClientError> {
        let request = GetApplicationAttemptsRequestProto {
            application_id: Some(application.into()),
        };
        let response: GetApplicationAttemptsResponseProto = self
            .channel
            .call("getApplicationAttempts", &request)
            .await?;
        Ok(response.application_attempts)
    }

    /// `getApplicationAttemptReport`.
    pub async fn get_application_attempt_report(
        &self,
        attempt: ApplicationAttemptId,
    ) -> Result<ApplicationAttemptReportProto, ClientError> {
        const METHOD: &str = "getApplicationAttemptReport";
        let request = GetApplicationAttemptReportRequestProto {
            application_attempt_id: Some(attempt.into()),
        };
        let response: GetApplicationAttemptReportResponseProto =
            self.channel.call(METHOD, &request).await?;
        require(
            &response.application_attempt_report,
            "GetApplicationAttemptReportResponseProto",
            "application_attempt_report",
        )
        .cloned()
        .map_err(|e| ClientError::invalid_response(METHOD, e))
    }

    /// `getContainers`: the live containers of `attempt`.
    pub async fn get_containers(
        &self,
        attempt: ApplicationAttemptId,
    ) -> Result<Vec<ContainerReportProto>, ClientError> {
        let request = GetContainersRequestProto {
            application_attempt_id: Some(attempt.into()),
        };
        let response: GetContainersResponseProto =
            self.channel.call("getContainers", &request).await?;
        Ok(response.containers)
    }

    /// `getContainerReport`.
    pub async fn get_container_report(
        &self,
        container: ContainerId,
    ) -> Result<ContainerReportProto, ClientError> {
        const METHOD: &str = "getContainerReport";
        let request = GetContainerReportRequestProto {
            container_id: Some(container.into()),
        };
        let response: GetContainerReportResponseProto = self.channel.call(METHOD, &request).await?;
        require(
            &response.container_report,
            "GetContainerReportResponseProto",
            "container_report",
        )
        .cloned()
        .map_err(|e| ClientError::invalid_response(METHOD, e))
    }
}
