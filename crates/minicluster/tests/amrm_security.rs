//! The ApplicationMasterProtocol accepts only callers holding a valid AMRMToken of a live attempt.

use spindle_ipc::{ClientAuth, ClientOptions, IpcClient, TokenCredentials};
use spindle_minicluster::{MiniCluster, MiniClusterConfig};
use spindle_proto::yarn::*;
use spindle_proto::Message;
use spindle_security::MasterKey;
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
    let client = IpcClient::connect(
        cluster.rm.client_address(),
        ClientOptions::new(
            "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB",
            "root",
        ),
    )
    .await
    .unwrap();
    let m: GetClusterMetricsResponseProto = client
        .call("getClusterMetrics", &GetClusterMetricsRequestProto {})
        .await
        .unwrap();
    assert_eq!(m.cluster_metrics.unwrap().num_node_managers(), 1);
    cluster.shutdown().await;
}
