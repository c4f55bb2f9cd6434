//! The ApplicationMasterProtocol accepts only callers holding a valid AMRMToken of a live attempt.

mod common;

use common::{client, submit, wait_for_final};
use spindle_ipc::{ClientAuth, ClientOptions, IpcClient, TokenCredentials};
use spindle_minicluster::{MiniCluster, MiniClusterConfig};
use spindle_proto::yarn::*;
use spindle_proto::Message;
use spindle_security::{Credentials, MasterKey};
use spindle_types::{ApplicationAttemptId, ApplicationId};

const AM_PROTOCOL: &str = "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_port_refuses_callers_without_a_valid_amrm_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = MiniClusterConfig::new(dir.path());
    config.nodes = 1;
    let cluster = MiniCluster::start(config).await.unwrap();
    let address = cluster.rm.scheduler_address();

    // SIMPLE (no token): refused.
    let refused = match IpcClient::connect(address, ClientOptions::new(AM_PROTOCOL, "root")).await {
        Err(e) => e.to_string(),
        Ok(c) => c
            .call::<_, RegisterApplicationMasterResponseProto>(
                "registerApplicationMaster",
                &RegisterApplicationMasterRequestProto::default(),
            )
            .await
            .unwrap_err()
            .to_string(),
    };
    // The server answers FATAL and closes; our client may see the FATAL or only the closed socket.
    let refused = refused.to_string();
    assert!(
        refused.contains("SIMPLE authentication is not enabled")
            || refused.contains("closed")
            || refused.contains("Broken pipe"),
        "{refused}"
    );

    // A token for some attempt, signed with a key the RM never had: the handshake fails.
    let attempt = ApplicationAttemptId::new(ApplicationId::new(1, 1), 1);
    let identifier = AmrmTokenIdentifierProto {
        app_attempt_id: Some(attempt.into()),
        key_id: Some(1),
    }
    .encode_to_vec();
    let mut options = ClientOptions::new(AM_PROTOCOL, "root");
    options.auth = ClientAuth::Token(TokenCredentials {
        kind: "YARN_AM_RM_TOKEN".into(),
        password: MasterKey::generate(1).password(&identifier),
        identifier,
    });
    assert!(
        IpcClient::connect(address, options).await.is_err(),
        "a forged AMRMToken must not connect"
    );

    // The RM still serves its clients.
    let client = client(&cluster, "root").await;
    let m: GetClusterMetricsResponseProto = client
        .call("getClusterMetrics", &GetClusterMetricsRequestProto {})
        .await
        .unwrap();
    assert_eq!(m.cluster_metrics.unwrap().num_node_managers(), 1);
    cluster.shutdown().await;
}

/// The AM's own AMRMToken, as its container got it: the AM command copies its credentials file.
async fn run_am_that_keeps_its_token(
    cluster: &MiniCluster,
    token_file: &std::path::Path,
) -> (IpcClient, ApplicationId, TokenCredentials) {
    let client = client(cluster, "root").await;
    let command = format!(
        "cp \"$HADOOP_TOKEN_FILE_LOCATION\" {}.part && mv {0}.part {0}; sleep 2",
        token_file.display()
    );
    let id = submit(&client, "token-keeper", &command, Some(1)).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !token_file.exists() {
        assert!(std::time::Instant::now() < deadline, "the AM never started");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let credentials = Credentials::decode(&std::fs::read(token_file).unwrap()).unwrap();
    let token = credentials
        .find_kind("YARN_AM_RM_TOKEN")
        .expect("the AM container holds its AMRMToken")
        .clone();
    (
        client,
        id,
        TokenCredentials {
            kind: token.kind,
            identifier: token.identifier,
            password: token.password,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_amrm_token_of_a_finished_attempt_is_refused_at_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = MiniClusterConfig::new(dir.path());
    config.nodes = 1;
    let cluster = MiniCluster::start(config).await.unwrap();
    let address = cluster.rm.scheduler_address();
    let (client, id, token) =
        run_am_that_keeps_its_token(&cluster, &dir.path().join("am-tokens")).await;
    let mut options = ClientOptions::new(AM_PROTOCOL, "root");
    options.auth = ClientAuth::Token(token);

    // While the attempt runs, its token authenticates.
    IpcClient::connect(address, options.clone())
        .await
        .expect("the live attempt's token connects");

    // The AM exits without registering; with one attempt allowed the application fails.
    let report = wait_for_final(&client, id, std::time::Duration::from_secs(30)).await;
    assert_eq!(
        report.yarn_application_state(),
        YarnApplicationStateProto::Failed,
        "the application never failed"
    );
    let refused = IpcClient::connect(address, options)
        .await
        .expect_err("the finished attempt's token is refused at SASL")
        .to_string();
    assert!(
        refused.contains("Password not found for ApplicationAttempt")
            && refused.contains("finished"),
        "{refused}"
    );
    cluster.shutdown().await;
}
