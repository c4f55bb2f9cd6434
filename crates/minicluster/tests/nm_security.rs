//! The NodeManager only starts containers for callers holding a valid NMToken and a container
//! token the RM signed for that node; everything else is refused, and the NM keeps serving.

use std::time::Duration;

use spindle_ipc::{ClientAuth, ClientOptions, IpcClient, IpcClientError, TokenCredentials};
use spindle_minicluster::{MiniCluster, MiniClusterConfig};
use spindle_proto::common::TokenProto;
use spindle_proto::yarn::*;
use spindle_proto::Message;
use spindle_security::MasterKey;
use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource};

const CM_PROTOCOL: &str = "org.apache.hadoop.yarn.api.ContainerManagementProtocolPB";

fn options(token: &TokenProto) -> ClientOptions {
    let mut o = ClientOptions::new(CM_PROTOCOL, "appattempt");
    o.auth = ClientAuth::Token(TokenCredentials {
        kind: token.kind.clone(),
        identifier: token.identifier.clone(),
        password: token.password.clone(),
    });
    o.connect_timeout = Duration::from_secs(5);
    o
}

async fn nm_address(node: &NodeId) -> std::net::SocketAddr {
    tokio::net::lookup_host(node.to_string())
        .await
        .unwrap()
        .next()
        .unwrap()
}

/// A container token for `container` signed with a key the RM never had.
fn forged_container_token(container: ContainerId, node: &NodeId) -> TokenProto {
    let identifier = ContainerTokenIdentifierProto {
        container_id: Some(container.into()),
        nm_host_addr: Some(node.to_string()),
        app_submitter: Some("mallory".into()),
        resource: Some((&Resource::new(256, 1)).into()),
        expiry_time_stamp: Some(i64::MAX),
        master_key_id: Some(1),
        ..Default::default()
    }
    .encode_to_vec();
    let key = MasterKey::generate(1);
    TokenProto {
        password: key.password(&identifier),
        identifier,
        kind: "ContainerToken".into(),
        service: node.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tokens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = MiniClusterConfig::new(dir.path());
    config.nodes = 1;
    let cluster = MiniCluster::start(config).await.unwrap();
    let node = cluster.node_managers[0].as_ref().unwrap().node_id().clone();
    let address = nm_address(&node).await;
    let attempt = ApplicationAttemptId::new(ApplicationId::new(1, 1), 1);

    // 1. No token at all (SIMPLE): refused at connection time.
    let simple = IpcClient::connect(address, ClientOptions::new(CM_PROTOCOL, "anyone")).await;
    let refused = match simple {
        Err(e) => e,
        Ok(client) => client
            .call::<_, StartContainersResponseProto>(
                "startContainers",
                &StartContainersRequestProto::default(),
            )
            .await
            .unwrap_err(),
    };
    // The server answers FATAL and closes; our client may see the FATAL or only the closed socket.
    let refused = format!("{refused}");
    assert!(
        refused.contains("SIMPLE authentication is not enabled")
            || refused.contains("closed")
            || refused.contains("Broken pipe"),
        "{refused}"
    );

    // 2. An NMToken signed with the wrong key: the SASL handshake fails.
    let forged_nm = {
        let identifier = NmTokenIdentifierProto {
            app_attempt_id: Some(attempt.into()),
            node_id: Some((&node).into()),
            app_submitter: Some("mallory".into()),
            key_id: Some(1),
        }
        .encode_to_vec();
        TokenProto {
            password: MasterKey::generate(1).password(&identifier),
            identifier,
            kind: "NMToken".into(),
            service: node.to_string(),
        }
    };
    let err = IpcClient::connect(address, options(&forged_nm))
        .await
        .expect_err("a forged NMToken must not connect");
    assert!(
        matches!(
            err,
            IpcClientError::Fatal { .. }
                | IpcClientError::Authentication { .. }
                | IpcClientError::Remote { .. }
        ),
        "{err:?}"
    );

    // 3. A valid NMToken, but a container the RM never allocated (forged container token).
    let real_nm = cluster
        .rm
        .inspect(|core| core.issue_nm_token(attempt, &node, "mallory"));
    let client = IpcClient::connect(address, options(&real_nm))
        .await
        .expect("a valid NMToken connects");
    let container = ContainerId::new(attempt, 0, 7);
    let response: StartContainersResponseProto = client
        .call(
            "startContainers",
            &StartContainersRequestProto {
                start_container_request: vec![StartContainerRequestProto {
                    container_launch_context: Some(ContainerLaunchContextProto {
                        command: vec!["touch /tmp/spindle-should-never-exist".into()],
                        ..Default::default()
                    }),
                    container_token: Some(forged_container_token(container, &node)),
                }],
            },
        )
        .await
        .unwrap();
    assert!(response.succeeded_requests.is_empty());
    assert_eq!(response.failed_requests.len(), 1);
    let exception = response.failed_requests[0].exception.as_ref().unwrap();
    assert_eq!(
        exception.class_name(),
        "org.apache.hadoop.security.token.SecretManager$InvalidToken"
    );
    assert!(
        exception
            .message()
            .contains("not signed by the ResourceManager"),
        "{}",
        exception.message()
    );
    assert!(cluster.node_managers[0]
        .as_ref()
        .unwrap()
        .container_manager()
        .status(container)
        .is_none());

    // 4. The NM still serves: a status query on the same connection works.
    let statuses: GetContainerStatusesResponseProto = client
        .call(
            "getContainerStatuses",
            &GetContainerStatusesRequestProto {
                container_id: vec![container.into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(statuses.failed_requests.len(), 1);
    cluster.shutdown().await;
}

const TRACKER_PROTOCOL: &str = "org.apache.hadoop.yarn.server.api.ResourceTrackerPB";

fn registration(host: &str) -> RegisterNodeManagerRequestProto {
    RegisterNodeManagerRequestProto {
        node_id: Some((&NodeId::new(host, 45454)).into()),
        http_port: Some(8042),
        resource: Some((&Resource::new(1024, 1)).into()),
        nm_version: Some("3.5.0".into()),
        ..Default::default()
    }
}

/// Registers `host` with `auth`; the error text if the tracker refuses.
async fn register(
    tracker: std::net::SocketAddr,
    auth: ClientAuth,
    host: &str,
) -> Result<RegisterNodeManagerResponseProto, String> {
    let mut options = ClientOptions::new(TRACKER_PROTOCOL, "nodemanager");
    options.auth = auth;
    options.connect_timeout = Duration::from_secs(5);
    let client = IpcClient::connect(tracker, options)
        .await
        .map_err(|e| e.to_string())?;
    client
        .call("registerNodeManager", &registration(host))
        .await
        .map_err(|e| e.to_string())
}

fn running_nodes(cluster: &MiniCluster) -> i32 {
    cluster
        .rm
        .inspect(|core| core.cluster_metrics().num_node_managers.unwrap_or(0))
}

fn secret_auth(secret: &spindle_security::ClusterSecret, host: &str) -> ClientAuth {
    let identifier = spindle_security::ClusterSecret::identifier(host);
    ClientAuth::Token(TokenCredentials {
        kind: spindle_security::NODE_REGISTRATION_TOKEN_KIND.into(),
        password: secret.password(&identifier),
        identifier,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_nodes_holding_the_cluster_secret_join_and_learn_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = MiniClusterConfig::new(dir.path());
    config.nodes = 1;
    let cluster = MiniCluster::start(config).await.unwrap();
    let tracker = cluster.rm.tracker_address();
    let nodes_before = running_nodes(&cluster);
    assert_eq!(
        nodes_before, 1,
        "the cluster's own NM registered with the secret"
    );

    // Without authenticating (what any host could do under YARN's simple mode): refused, no keys.
    let simple = register(tracker, ClientAuth::Simple, "intruder1").await;
    let error = simple.expect_err("a node without the secret must not register");
    assert!(
        error.contains("SIMPLE") || error.contains("authentication") || error.contains("closed"),
        "{error}"
    );

    // With a secret of its own: refused at SASL.
    let other = tempfile::tempdir().unwrap();
    let wrong = spindle_security::ClusterSecret::generate(&other.path().join("secret")).unwrap();
    let error = register(tracker, secret_auth(&wrong, "intruder2"), "intruder2")
        .await
        .expect_err("a node with another secret must not register");
    assert!(!error.is_empty());

    // An identifier that names no node, signed with the right secret: refused by name.
    let secret = spindle_security::ClusterSecret::load(&dir.path().join("cluster-secret")).unwrap();
    let identifier = b"am:nothing".to_vec();
    let odd = ClientAuth::Token(TokenCredentials {
        kind: spindle_security::NODE_REGISTRATION_TOKEN_KIND.into(),
        password: secret.password(&identifier),
        identifier,
    });
    let error = register(tracker, odd, "intruder3").await.unwrap_err();
    assert!(error.contains("node registration identifier"), "{error}");
    assert_eq!(running_nodes(&cluster), nodes_before);

    // The cluster's secret, read from the file a real NM is configured with: joins, gets the keys.
    let joined = register(tracker, secret_auth(&secret, "member"), "member")
        .await
        .expect("a node holding the secret registers");
    assert!(joined.container_token_master_key.is_some());
    assert!(joined.nm_token_master_key.is_some());
    assert_eq!(running_nodes(&cluster), nodes_before + 1);
}
