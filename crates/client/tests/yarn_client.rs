//! YarnClient against a real ResourceManager on 127.0.0.1 with no NodeManagers: new application,
//! submission, reports, listing with filters, kill, cluster metrics, nodes, queues, unknown ids.

mod common;

use spindle_client::{ApplicationFilter, YarnClient};
use spindle_proto::yarn::{
    ApplicationSubmissionContextProto, ContainerLaunchContextProto, PriorityProto,
};
use spindle_types::states::{FinalApplicationStatus, YarnApplicationState};
use spindle_types::{ApplicationId, Resource};

fn submission(
    application_id: ApplicationId,
    name: &str,
    application_type: &str,
) -> ApplicationSubmissionContextProto {
    ApplicationSubmissionContextProto {
        application_id: Some(application_id.into()),
        application_name: Some(name.into()),
        queue: Some("default".into()),
        priority: Some(PriorityProto { priority: Some(0) }),
        am_container_spec: Some(ContainerLaunchContextProto {
            command: vec!["sleep 100".into()],
            ..Default::default()
        }),
        resource: Some((&Resource::new(1024, 1)).into()),
        application_type: Some(application_type.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn applications_go_through_the_client_protocol() {
    let rm = common::start_rm().await;
    let client = YarnClient::connect(rm.client_address(), "alice")
        .await
        .unwrap();

    let new_application = client.get_new_application().await.unwrap();
    let cluster_timestamp = rm.inspect(|core| core.settings().cluster_timestamp);
    assert_eq!(
        new_application.application_id.cluster_timestamp,
        cluster_timestamp
    );
    assert_eq!(new_application.maximum_capability, Resource::new(8192, 4));
    let application_id = new_application.application_id;

    client
        .submit_application(submission(application_id, "sleeper", "DSHELL"))
        .await
        .unwrap();
    let report = client.get_application_report(application_id).await.unwrap();
    assert_eq!(report.application_id, application_id);
    assert_eq!(
        report.state,
        YarnApplicationState::Accepted,
        "no NM: the AM cannot start"
    );
    assert_eq!(report.final_status, FinalApplicationStatus::Undefined);
    assert_eq!(report.user, "alice");
    assert_eq!(report.name, "sleeper");
    assert_eq!(report.application_type, "DSHELL");
    assert_eq!(report.queue, "default");
    assert!(
        report.diagnostics.contains("NodeManager"),
        "{}",
        report.diagnostics
    );

    let second = client.get_new_application().await.unwrap().application_id;
    assert_ne!(second, application_id);
    client
        .submit_application(submission(second, "other", "SPARK"))
        .await
        .unwrap();

    let accepted = client
        .get_applications(&ApplicationFilter {
            states: vec![YarnApplicationState::Accepted],
            ..Default::default()
        })
        .await
        .unwrap();
    let mut ids: Vec<ApplicationId> = accepted.iter().map(|r| r.application_id).collect();
    ids.sort();
    assert_eq!(ids, [application_id, second]);
    let running = client
        .get_applications(&ApplicationFilter {
            states: vec![YarnApplicationState::Running],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(running.is_empty());
    let spark_only = client
        .get_applications(&ApplicationFilter {
            application_types: vec!["SPARK".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(spark_only.len(), 1);
    assert_eq!(spark_only[0].application_id, second);

    client.kill_application(application_id, None).await.unwrap();
    let killed = client.get_application_report(application_id).await.unwrap();
    assert_eq!(killed.state, YarnApplicationState::Killed);
    assert_eq!(killed.final_status, FinalApplicationStatus::Killed);
    assert!(killed.finish_time >= killed.start_time);
    // Killing a finished application is a no-op, as in YARN.
    client.kill_application(application_id, None).await.unwrap();

    let metrics = client.get_cluster_metrics().await.unwrap();
    assert_eq!(metrics.num_node_managers(), 0);
    assert!(client.get_node_reports(&[]).await.unwrap().is_empty());

    let queue = client.get_queue_info("default").await.unwrap();
    assert_eq!(queue.queue_name(), "default");
    let missing_queue = client.get_queue_info("no-such-queue").await.unwrap_err();
    assert!(missing_queue.remote_class().is_some(), "{missing_queue}");

    rm.shutdown().await;
}

#[tokio::test]
async fn unknown_applications_are_application_not_found() {
    let rm = common::start_rm().await;
    let client = YarnClient::connect(rm.client_address(), "bob")
        .await
        .unwrap();
    let unknown = ApplicationId::new(1, 42);

    let error = client.get_application_report(unknown).await.unwrap_err();
    assert!(error.is_application_not_found(), "{error}");
    assert!(error.is_remote("ApplicationNotFoundException"));
    assert!(error.to_string().contains("application_1_0042"), "{error}");

    let error = client.kill_application(unknown, None).await.unwrap_err();
    assert!(error.is_application_not_found(), "{error}");

    // A malformed id is refused by name (an id another RM issued is accepted, as in YARN:
    // crates/rm/tests/core_scenarios.rs).
    let malformed = ApplicationId::new(1, -42);
    let error = client
        .submit_application(submission(malformed, "malformed", "YARN"))
        .await
        .unwrap_err();
    assert!(error.is_remote("YarnException"), "{error}");
    assert!(error.to_string().contains("-42"), "{error}");

    rm.shutdown().await;
}

#[tokio::test]
async fn a_dead_server_is_a_connection_error_not_a_remote_one() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let error = YarnClient::connect(address, "carol").await.unwrap_err();
    assert!(
        matches!(error, spindle_client::ClientError::Ipc(_)),
        "{error}"
    );
    assert_eq!(error.remote_class(), None);
}

/// The list is served from a shared listing (rebuilt only when an application changes, or every
/// 250 ms): a client that polls it must still see each submission and kill in its next call.
#[tokio::test]
async fn the_application_list_shows_each_submission_and_kill_in_the_next_call() {
    let rm = common::start_rm().await;
    let client = YarnClient::connect(rm.client_address(), "alice")
        .await
        .unwrap();
    let all = ApplicationFilter::default();
    let mut submitted = Vec::new();
    for round in 0..30 {
        let id = client.get_new_application().await.unwrap().application_id;
        // Polled between the new id and the submission: the listing is fresh and then stale.
        assert_eq!(client.get_applications(&all).await.unwrap().len(), round);
        client
            .submit_application(submission(id, &format!("app-{round}"), "DSHELL"))
            .await
            .unwrap();
        submitted.push(id);
        let listed = client.get_applications(&all).await.unwrap();
        assert_eq!(listed.len(), round + 1, "round {round}");
        assert!(listed.iter().any(|r| r.application_id == id));
        if round % 3 == 0 {
            client.kill_application(id, None).await.unwrap();
            let killed = client
                .get_applications(&ApplicationFilter {
                    states: vec![YarnApplicationState::Killed],
                    ..Default::default()
                })
                .await
                .unwrap();
            assert!(
                killed.iter().any(|r| r.application_id == id),
                "round {round}: the kill shows in the next list"
            );
            assert_eq!(killed.len(), round / 3 + 1);
        }
    }
    let accepted = client
        .get_applications(&ApplicationFilter {
            states: vec![YarnApplicationState::Accepted],
            users: vec!["alice".into()],
            queues: vec!["default".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(accepted.len(), 20);
    let nobody = client
        .get_applications(&ApplicationFilter {
            users: vec!["bob".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(nobody.is_empty());
    rm.shutdown().await;
}
