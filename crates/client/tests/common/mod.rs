//! Test fixtures: a real ResourceManager on 127.0.0.1, and a stand-in NodeManager that registers
//! with it over ResourceTracker, serves ContainerManagementProtocol with NMToken (TOKEN) auth, and
//! records the containers it is asked to start.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use prost::Message;
use spindle_client::protocols;
use spindle_ipc::{
    typed_call, AuthPolicy, CallContext, CallerIdentity, ClientOptions, InvalidToken, IpcClient,
    RpcError, RpcService, Server, ServerConfig, TokenSecretManager,
};
use spindle_proto::yarn::*;
use spindle_rm::service::{ResourceManager, RmBindAddresses};
use spindle_rm::settings::RmSettings;
use spindle_security::{MasterKey, NM_TOKEN_KIND};
use spindle_types::{ContainerId, NodeId, Resource};

pub const RESOURCE_TRACKER: &str = "org.apache.hadoop.yarn.server.api.ResourceTrackerPB";

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

pub async fn start_rm() -> ResourceManager {
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let settings = RmSettings {
        cluster_timestamp: now_ms(),
        ..RmSettings::default()
    };
    ResourceManager::start(
        settings,
        RmBindAddresses {
            client: local,
            scheduler: local,
            tracker: local,
            admin: local,
        },
    )
    .await
    .expect("the RM starts")
}

/// Polls `check` every 20 ms for up to 10 s.
pub async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..500 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Verifies NMTokens with the key the RM handed out at registration.
struct NmTokenSecrets {
    key: Arc<Mutex<Option<MasterKey>>>,
}

impl TokenSecretManager for NmTokenSecrets {
    fn token_kind(&self) -> &str {
        NM_TOKEN_KIND
    }

    fn retrieve_password(&self, identifier: &[u8]) -> Result<Vec<u8>, InvalidToken> {
        let key = self
            .key
            .lock()
            .unwrap()
            .clone()
            .ok_or_else(|| InvalidToken::new("not registered yet"))?;
        let proto = NmTokenIdentifierProto::decode(identifier)
            .map_err(|e| InvalidToken::new(e.to_string()))?;
        if proto.key_id() != key.key_id {
            return Err(InvalidToken::new("unknown NMToken key"));
        }
        Ok(key.password(identifier))
    }
}

/// One startContainers request as the stand-in NM saw it.
#[derive(Debug, Clone)]
pub struct StartedContainer {
    pub container_id: ContainerId,
    pub launch_context: ContainerLaunchContextProto,
    pub caller: CallerIdentity,
}

#[derive(Default)]
struct Recorded {
    started: Vec<StartedContainer>,
    stopped: Vec<ContainerId>,
}

struct ContainerManagement {
    recorded: Arc<Mutex<Recorded>>,
}

fn container_of(
    token: Option<&spindle_proto::common::TokenProto>,
) -> Result<ContainerId, RpcError> {
    let token = token.ok_or_else(|| {
        RpcError::new(
            "org.apache.hadoop.yarn.exceptions.YarnException",
            "no container token",
        )
    })?;
    let identifier =
        ContainerTokenIdentifierProto::decode(token.identifier.as_slice()).map_err(|e| {
            RpcError::new(
                "org.apache.hadoop.yarn.exceptions.YarnException",
                e.to_string(),
            )
        })?;
    ContainerId::try_from(identifier.container_id.as_ref().unwrap()).map_err(|e| {
        RpcError::new(
            "org.apache.hadoop.yarn.exceptions.YarnException",
            e.to_string(),
        )
    })
}

impl RpcService for ContainerManagement {
    fn protocol(&self) -> &'static str {
        protocols::CONTAINER_MANAGEMENT
    }

    fn call(
        &self,
        context: CallContext,
        method: String,
        request: Bytes,
    ) -> BoxFuture<'static, Result<Bytes, RpcError>> {
        let recorded = self.recorded.clone();
        Box::pin(async move {
            match method.as_str() {
                "startContainers" => {
                    typed_call(request, |r: StartContainersRequestProto| async move {
                        let mut succeeded = Vec::new();
                        for start in r.start_container_request {
                            let container_id = container_of(start.container_token.as_ref())?;
                            recorded.lock().unwrap().started.push(StartedContainer {
                                container_id,
                                launch_context: start.container_launch_context.unwrap_or_default(),
                                caller: context.identity.clone(),
                            });
                            succeeded.push(container_id.into());
                        }
                        Ok(StartContainersResponseProto {
                            succeeded_requests: succeeded,
                            ..Default::default()
                        })
                    })
                    .await
                }
                "stopContainers" => {
                    typed_call(request, |r: StopContainersRequestProto| async move {
                        let mut recorded = recorded.lock().unwrap();
                        for id in &r.container_id {
                            recorded.stopped.push(ContainerId::try_from(id).unwrap());
                        }
                        Ok(StopContainersResponseProto {
                            succeeded_requests: r.container_id,
                            ..Default::default()
                        })
                    })
                    .await
                }
                "getContainerStatuses" => {
                    typed_call(request, |r: GetContainerStatusesRequestProto| async move {
                        let status = r
                            .container_id
                            .into_iter()
                            .map(|id| ContainerStatusProto {
                                container_id: Some(id),
                                state: Some(ContainerStateProto::CRunning as i32),
                                ..Default::default()
                            })
                            .collect();
                        Ok(GetContainerStatusesResponseProto {
                            status,
                            ..Default::default()
                        })
                    })
                    .await
                }
                _ => Err(RpcError::no_such_method(
                    protocols::CONTAINER_MANAGEMENT,
                    &method,
                )),
            }
        })
    }
}

/// A NodeManager stand-in: real IPC, no processes.
pub struct FakeNodeManager {
    pub node_id: NodeId,
    server: Server,
    tracker: IpcClient,
    recorded: Arc<Mutex<Recorded>>,
}

impl FakeNodeManager {
    /// Binds the container-management port and registers with `resource`.
    pub async fn register(rm: &ResourceManager, resource: Resource) -> Self {
        let key = Arc::new(Mutex::new(None));
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let config = ServerConfig {
            auth: AuthPolicy::Token(Arc::new(NmTokenSecrets { key: key.clone() })),
            ..Default::default()
        };
        let server = Server::bind(
            "127.0.0.1:0",
            config,
            vec![Arc::new(ContainerManagement {
                recorded: recorded.clone(),
            })],
        )
        .await
        .unwrap();
        let node_id = NodeId::new("127.0.0.1", server.local_addr().port() as i32);
        let tracker = IpcClient::connect(
            rm.tracker_address(),
            ClientOptions::new(RESOURCE_TRACKER, "yarn"),
        )
        .await
        .unwrap();
        let response: RegisterNodeManagerResponseProto = tracker
            .call(
                "registerNodeManager",
                &RegisterNodeManagerRequestProto {
                    node_id: Some((&node_id).into()),
                    http_port: Some(8042),
                    resource: Some((&resource).into()),
                    nm_version: Some("test".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let master = response.nm_token_master_key.unwrap();
        *key.lock().unwrap() = Some(MasterKey {
            key_id: master.key_id(),
            bytes: master.bytes().to_vec(),
        });
        Self {
            node_id,
            server,
            tracker,
            recorded,
        }
    }

    /// A heartbeat reporting `completed` as (container, exit status).
    pub async fn heartbeat(&self, completed: &[(ContainerId, i32)]) {
        let statuses = completed
            .iter()
            .map(|(id, exit)| ContainerStatusProto {
                container_id: Some((*id).into()),
                state: Some(ContainerStateProto::CComplete as i32),
                exit_status: Some(*exit),
                diagnostics: Some(format!("exited with {exit}")),
                ..Default::default()
            })
            .collect();
        let _: NodeHeartbeatResponseProto = self
            .tracker
            .call(
                "nodeHeartbeat",
                &NodeHeartbeatRequestProto {
                    node_status: Some(NodeStatusProto {
                        node_id: Some((&self.node_id).into()),
                        containers_statuses: statuses,
                        node_health_status: Some(NodeHealthStatusProto {
                            is_node_healthy: Some(true),
                            health_report: Some(String::new()),
                            last_health_report_time: Some(now_ms()),
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }

    pub fn started(&self) -> Vec<StartedContainer> {
        self.recorded.lock().unwrap().started.clone()
    }

    pub fn stopped(&self) -> Vec<ContainerId> {
        self.recorded.lock().unwrap().stopped.clone()
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
