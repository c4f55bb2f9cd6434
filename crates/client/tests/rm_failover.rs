//! RM HA failover of the clients against real ResourceManagers on 127.0.0.1: the configuration
//! lists rm1 at a port where nothing listens (what a standby RM looks like on its client and
//! scheduler ports) and rm2 at a running RM. YarnClient and AmRmClient (with its AMRMToken) reach
//! rm2 at once; with every RM down a call gives up after the configured number of failovers.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{eventually, FakeNodeManager};
use spindle_client::{
    AmRmClient, ApplicationFilter, ApplicationMasterEnvironment, ClientError, NmTokenCache,
    YarnClient,
};
use spindle_conf::{keys, Configuration};
use spindle_proto::yarn::{ApplicationSubmissionContextProto, ContainerLaunchContextProto};
use spindle_types::states::YarnApplicationState;
use spindle_types::Resource;

/// A local port nobody listens on: bound, then released.
fn dead_address() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A client configuration with HA on, rm-ids `rm1,rm2`, the given client and scheduler
/// addresses, and `extra` keys.
fn ha_configuration(
    client: [SocketAddr; 2],
    scheduler: [SocketAddr; 2],
    extra: &[(&str, &str)],
) -> Configuration {
    let mut configuration = Configuration::with_yarn_defaults().unwrap();
    configuration.set(keys::RM_HA_ENABLED, "true").unwrap();
    configuration.set(keys::RM_HA_IDS, "rm1,rm2").unwrap();
    for (index, rm_id) in ["rm1", "rm2"].iter().enumerate() {
        configuration
            .set(
                &format!("yarn.resourcemanager.address.{rm_id}"),
                &client[index].to_string(),
            )
            .unwrap();
        configuration
            .set(
                &format!("yarn.resourcemanager.scheduler.address.{rm_id}"),
                &scheduler[index].to_string(),
            )
            .unwrap();
    }
    for (key, value) in extra {
        configuration.set(key, value).unwrap();
    }
    configuration
}

#[tokio::test]
async fn a_client_fails_over_from_a_dead_rm_to_the_live_one_at_once() {
    let rm2 = common::start_rm().await;
    // A long sleep base: any sleep before the first failover would show.
    let configuration = ha_configuration(
        [dead_address(), rm2.client_address()],
        [dead_address(), rm2.scheduler_address()],
        &[(keys::CLIENT_FAILOVER_SLEEP_BASE_MS, "10000")],
    );
    let started = Instant::now();
    let client = YarnClient::from_configuration(&configuration)
        .await
        .unwrap();
    let new_application = client.get_new_application().await.unwrap();
    let applications = client
        .get_applications(&ApplicationFilter::default())
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the first failover is immediate, took {:?}",
        started.elapsed()
    );
    assert_eq!(client.server_address(), rm2.client_address());
    assert_eq!(
        new_application.application_id.cluster_timestamp,
        rm2.inspect(|core| core.settings().cluster_timestamp)
    );
    assert!(applications.is_empty());
    // The client stays on rm2.
    client.get_cluster_metrics().await.unwrap();
    assert_eq!(client.server_address(), rm2.client_address());
    rm2.shutdown().await;
}

#[tokio::test]
async fn with_every_rm_down_a_call_gives_up_after_the_allowed_failovers() {
    let settings = [
        (keys::CLIENT_FAILOVER_MAX_ATTEMPTS, "3"),
        (keys::CLIENT_FAILOVER_SLEEP_BASE_MS, "20"),
        (keys::CLIENT_FAILOVER_SLEEP_MAX_MS, "50"),
    ];
    // Nobody at either address: the first connection gives up.
    let configuration = ha_configuration(
        [dead_address(), dead_address()],
        [dead_address(), dead_address()],
        &settings,
    );
    let started = Instant::now();
    let error = YarnClient::from_configuration(&configuration)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::Failover { failovers: 3, .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("failovers (3) exceeded maximum allowed (3)")
            && text.contains("rm1 (127.0.0.1:")
            && text.contains("rm2 (127.0.0.1:"),
        "{text}"
    );
    // Three failovers: none, then two sleeps of at most 1.5 × 50 ms.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // A client that was talking to rm2 when it went away: the call fails over rm1, rm2, rm1 and
    // then gives up.
    let rm2 = common::start_rm().await;
    let configuration = ha_configuration(
        [dead_address(), rm2.client_address()],
        [dead_address(), rm2.scheduler_address()],
        &settings,
    );
    let client = YarnClient::from_configuration(&configuration)
        .await
        .unwrap();
    client.get_new_application().await.unwrap();
    rm2.shutdown().await;
    let error = client
        .get_applications(&ApplicationFilter::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::Failover { failovers: 3, method, .. } if method == "getApplications"),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("failovers (3) exceeded maximum allowed (3)"),
        "{error}"
    );
}

#[tokio::test]
async fn an_application_master_fails_over_to_the_live_scheduler_with_its_amrm_token() {
    let rm2 = common::start_rm().await;
    let node = FakeNodeManager::register(&rm2, Resource::new(8192, 8)).await;
    let configuration = ha_configuration(
        [dead_address(), rm2.client_address()],
        [dead_address(), rm2.scheduler_address()],
        &[(keys::CLIENT_FAILOVER_SLEEP_BASE_MS, "10000")],
    );
    let client = YarnClient::from_configuration(&configuration)
        .await
        .unwrap();
    let application_id = client.get_new_application().await.unwrap().application_id;
    client
        .submit_application(ApplicationSubmissionContextProto {
            application_id: Some(application_id.into()),
            application_name: Some("ha-am".into()),
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
    let am_container = eventually("the AM container launch", async || {
        node.started().first().cloned()
    })
    .await;
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

    // The AM finds the RMs in its own configuration; rm1 refuses, rm2 accepts the AMRMToken.
    let started = Instant::now();
    let mut am = AmRmClient::from_environment_and_configuration(
        &environment,
        &configuration,
        NmTokenCache::new(),
    )
    .await
    .unwrap();
    assert_eq!(am.server_address(), rm2.scheduler_address());
    am.register("am-host", -1, "").await.unwrap();
    am.allocate(0.5).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let report = client.get_application_report(application_id).await.unwrap();
    assert_eq!(report.state, YarnApplicationState::Running);
    assert_eq!(report.host, "am-host");
    node.shutdown().await;
    rm2.shutdown().await;
}
