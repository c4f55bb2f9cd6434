//! The AM side against a real ResourceManager and a stand-in NodeManager that enforces NMToken
//! auth: the AMRMToken from the AM container's credentials, register, allocate with absolute asks,
//! NMTokens, starting/stopping containers, completions, releases and unregistration.

mod common;

use common::{eventually, FakeNodeManager};
use spindle_client::{
    AmRmClient, ApplicationMasterEnvironment, ContainerRequest, NmClient, NmTokenCache, YarnClient,
};
use spindle_ipc::CallerIdentity;
use spindle_proto::yarn::{
    ApplicationSubmissionContextProto, ContainerLaunchContextProto, ContainerProto,
    ContainerStateProto, ContainerStatusProto,
};
use spindle_security::NM_TOKEN_KIND;
use spindle_types::states::{FinalApplicationStatus, YarnApplicationState};
use spindle_types::{exit_status, ContainerId, NodeId, Resource};

fn id_of(container: &ContainerProto) -> ContainerId {
    ContainerId::try_from(container.id.as_ref().unwrap()).unwrap()
}

fn completed_ids(statuses: &[ContainerStatusProto]) -> Vec<(ContainerId, i32)> {
    statuses
        .iter()
        .map(|s| {
            (
                ContainerId::try_from(s.container_id.as_ref().unwrap()).unwrap(),
                s.exit_status(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_application_master_runs_containers_and_unregisters() {
    let rm = common::start_rm().await;
    let node = FakeNodeManager::register(&rm, Resource::new(8192, 8)).await;
    let client = YarnClient::connect(rm.client_address(), "alice")
        .await
        .unwrap();
    let application_id = client.get_new_application().await.unwrap().application_id;
    client
        .submit_application(ApplicationSubmissionContextProto {
            application_id: Some(application_id.into()),
            application_name: Some("am-test".into()),
            am_container_spec: Some(ContainerLaunchContextProto {
                command: vec!["./am".into()],
                ..Default::default()
            }),
            resource: Some((&Resource::new(1024, 1)).into()),
            ..Default::default()
        })
        .await
        .unwrap();
    node.heartbeat(&[]).await;

    // The RM starts the AM container on our node; its credentials carry the AMRMToken.
    let am_container = eventually("the AM container launch", async || {
        node.started().first().cloned()
    })
    .await;
    assert!(
        matches!(&am_container.caller, CallerIdentity::Token { kind, .. } if kind == NM_TOKEN_KIND)
    );
    let directory = tempfile::tempdir().unwrap();
    let token_file = directory.path().join("container_tokens");
    std::fs::write(&token_file, am_container.launch_context.tokens()).unwrap();
    let container_text = am_container.container_id.to_string();
    let token_path = token_file.to_str().unwrap().to_string();
    let environment = ApplicationMasterEnvironment::from_lookup(|name| match name {
        "CONTAINER_ID" => Some(container_text.clone()),
        "HADOOP_TOKEN_FILE_LOCATION" => Some(token_path.clone()),
        _ => None,
    })
    .unwrap();
    assert_eq!(environment.attempt_id().application_id, application_id);

    let cache = NmTokenCache::new();
    let mut am = AmRmClient::from_environment(&environment, None, cache.clone())
        .await
        .unwrap();
    assert_eq!(am.server_address(), rm.scheduler_address());
    let registration = am.register("am-host", -1, "").await.unwrap();
    assert_eq!(registration.queue(), "default");
    let report = client.get_application_report(application_id).await.unwrap();
    assert_eq!(report.state, YarnApplicationState::Running);
    assert_eq!(report.host, "am-host");

    // Two containers anywhere: one absolute ask of 2.
    let request = ContainerRequest::anywhere(Resource::new(1024, 1), 0);
    am.add_container_request(&request);
    am.add_container_request(&request);
    let mut allocated: Vec<ContainerProto> = Vec::new();
    let mut response_ids = Vec::new();
    for _ in 0..50 {
        let response = am.allocate(0.1).await.unwrap();
        response_ids.push(response.response_id());
        for container in response.allocated_containers {
            am.remove_container_request(&request);
            allocated.push(container);
        }
        if allocated.len() >= 2 {
            break;
        }
        node.heartbeat(&[]).await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        allocated.len(),
        2,
        "the RM allocates both at once on a free node"
    );
    assert!(
        response_ids.windows(2).all(|w| w[1] == w[0] + 1),
        "{response_ids:?}"
    );
    assert_eq!(am.last_response_id(), *response_ids.last().unwrap());
    assert_eq!(am.asks().outstanding_anywhere(0), 0);
    assert!(
        cache.contains(&node.node_id.to_string()),
        "the allocate carried the node's NMToken"
    );

    // Start both through the NM with the NMToken and each container's token.
    let nm = NmClient::new(cache.clone());
    for container in &allocated {
        nm.start_container(
            container,
            ContainerLaunchContextProto {
                command: vec!["/bin/true".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let started: Vec<ContainerId> = node
        .started()
        .iter()
        .skip(1)
        .map(|s| s.container_id)
        .collect();
    assert_eq!(started, allocated.iter().map(id_of).collect::<Vec<_>>());
    let status = nm
        .get_container_status(id_of(&allocated[0]), &node.node_id)
        .await
        .unwrap();
    assert_eq!(status.state, Some(ContainerStateProto::CRunning as i32));
    nm.stop_container(id_of(&allocated[1]), &node.node_id)
        .await
        .unwrap();
    assert_eq!(node.stopped(), [id_of(&allocated[1])]);

    // A node we hold no NMToken for is refused before any connection.
    let error = nm
        .stop_container(id_of(&allocated[0]), &NodeId::new("elsewhere", 1))
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "No NMToken sent for elsewhere:1");

    // The NM reports both finished; the AM hears about them on its next heartbeat.
    node.heartbeat(&[(id_of(&allocated[0]), 0), (id_of(&allocated[1]), 3)])
        .await;
    let response = am.allocate(0.5).await.unwrap();
    let mut completed = completed_ids(&response.completed_container_statuses);
    completed.sort();
    assert_eq!(
        completed,
        [(id_of(&allocated[0]), 0), (id_of(&allocated[1]), 3)]
    );

    // One more container, released unused: the RM takes it back.
    am.add_container_request(&request);
    let extra = eventually("a third container", async || {
        let response = am.allocate(0.5).await.unwrap();
        response.allocated_containers.into_iter().next()
    })
    .await;
    am.remove_container_request(&request);
    am.release_assigned_container(id_of(&extra));
    let response = am.allocate(0.5).await.unwrap();
    assert!(response.allocated_containers.is_empty());
    let live = rm.inspect(|core| core.check_invariants());
    assert_eq!(live, Ok(()));

    am.unregister(FinalApplicationStatus::Succeeded, "all done", "")
        .await
        .unwrap();
    node.heartbeat(&[(am_container.container_id, exit_status::SUCCESS)])
        .await;
    let finished = eventually("the application to finish", async || {
        let report = client.get_application_report(application_id).await.unwrap();
        report.state.is_final().then_some(report)
    })
    .await;
    assert_eq!(finished.state, YarnApplicationState::Finished);
    assert_eq!(finished.final_status, FinalApplicationStatus::Succeeded);
    assert_eq!(finished.diagnostics, "all done");

    node.shutdown().await;
    rm.shutdown().await;
}

#[tokio::test]
async fn a_forged_amrm_token_is_refused_at_connect() {
    let rm = common::start_rm().await;
    let token = spindle_security::Token {
        identifier: vec![1, 2, 3],
        password: vec![4],
        kind: spindle_security::AMRM_TOKEN_KIND.into(),
        service: rm.scheduler_address().to_string(),
    };
    // The scheduler port refuses a forged AMRMToken during the handshake.
    let error = AmRmClient::connect(
        rm.scheduler_address(),
        &token,
        "mallory",
        NmTokenCache::new(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            error,
            spindle_client::ClientError::Ipc(_) | spindle_client::ClientError::Remote { .. }
        ),
        "{error}"
    );
    rm.shutdown().await;
}
