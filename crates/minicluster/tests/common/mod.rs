//! Shared helpers of the minicluster tests: a client of the RM, submitting an application whose
//! AM is a shell command, and waiting for its report.
#![allow(dead_code)]

use std::time::Duration;

use spindle_ipc::{ClientOptions, IpcClient};
use spindle_minicluster::MiniCluster;
use spindle_proto::yarn::*;
use spindle_types::states::YarnApplicationState;
use spindle_types::{ApplicationId, Resource};

pub const CLIENT_PROTOCOL: &str = "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB";

/// An ApplicationClientProtocol connection to the cluster's RM as `user`.
pub async fn client(cluster: &MiniCluster, user: &str) -> IpcClient {
    IpcClient::connect(
        cluster.rm.client_address(),
        ClientOptions::new(CLIENT_PROTOCOL, user),
    )
    .await
    .unwrap()
}

/// Submits an application named `name` whose AM container (256 MB) runs `command`, with
/// `max_app_attempts` when given (else the RM's default).
pub async fn submit(
    client: &IpcClient,
    name: &str,
    command: &str,
    max_app_attempts: Option<i32>,
) -> ApplicationId {
    submit_with(client, name, None, command, max_app_attempts).await
}

/// Submits an application named `name` to `queue` whose AM container (256 MB) runs `command`.
pub async fn submit_to(
    client: &IpcClient,
    name: &str,
    queue: &str,
    command: &str,
) -> ApplicationId {
    submit_with(client, name, Some(queue), command, None).await
}

async fn submit_with(
    client: &IpcClient,
    name: &str,
    queue: Option<&str>,
    command: &str,
    max_app_attempts: Option<i32>,
) -> ApplicationId {
    let new: GetNewApplicationResponseProto = client
        .call("getNewApplication", &GetNewApplicationRequestProto {})
        .await
        .unwrap();
    let id = ApplicationId::try_from(new.application_id.as_ref().unwrap()).unwrap();
    let submission = ApplicationSubmissionContextProto {
        application_id: Some(id.into()),
        application_name: Some(name.into()),
        queue: queue.map(str::to_string),
        am_container_spec: Some(ContainerLaunchContextProto {
            command: vec![command.to_string()],
            ..Default::default()
        }),
        resource: Some((&Resource::new(256, 1)).into()),
        max_app_attempts,
        ..Default::default()
    };
    let _: SubmitApplicationResponseProto = client
        .call(
            "submitApplication",
            &SubmitApplicationRequestProto {
                application_submission_context: Some(submission),
            },
        )
        .await
        .unwrap();
    id
}

pub async fn report(client: &IpcClient, id: ApplicationId) -> ApplicationReportProto {
    let r: GetApplicationReportResponseProto = client
        .call(
            "getApplicationReport",
            &GetApplicationReportRequestProto {
                application_id: Some(id.into()),
            },
        )
        .await
        .unwrap();
    r.application_report.unwrap()
}

/// The report once the application is in a final state, or the last one after `within`.
pub async fn wait_for_final(
    client: &IpcClient,
    id: ApplicationId,
    within: Duration,
) -> ApplicationReportProto {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let r = report(client, id).await;
        let state = YarnApplicationState::from(r.yarn_application_state());
        if state.is_final() || tokio::time::Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
