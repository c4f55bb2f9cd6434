//! ResourceTracker (`yarn.resourcemanager.resource-tracker.address`, 8031): NodeManagers register
//! and heartbeat here.

use bytes::Bytes;
use futures::future::BoxFuture;
use spindle_ipc::{typed_call, CallContext, RpcError, RpcService};
use spindle_proto::yarn::*;
use spindle_types::NodeId;

use super::runtime::SharedCore;
use super::{invalid, protocols, required};

/// Admits NMs that hold the cluster secret (`spindle.node-registration.secret-file`): the
/// password of an NM's identifier is HMAC-SHA1(secret, identifier), which only holders of the
/// secret can compute. Identifiers that do not name a host are refused.
pub(crate) struct NodeSecretManager {
    pub(crate) secret: spindle_security::ClusterSecret,
}

impl spindle_ipc::TokenSecretManager for NodeSecretManager {
    fn token_kind(&self) -> &str {
        spindle_security::NODE_REGISTRATION_TOKEN_KIND
    }

    fn retrieve_password(&self, identifier: &[u8]) -> Result<Vec<u8>, spindle_ipc::InvalidToken> {
        match spindle_security::ClusterSecret::host_of(identifier) {
            Some(_) => Ok(self.secret.password(identifier)),
            None => Err(spindle_ipc::InvalidToken::new(
                "not a node registration identifier: this resource tracker admits only \
                 NodeManagers that hold the cluster secret (spindle.node-registration.secret-file)",
            )),
        }
    }
}

pub(crate) struct TrackerProtocol {
    core: SharedCore,
    topology: std::sync::Arc<crate::topology::RackResolver>,
}

impl TrackerProtocol {
    pub(crate) fn new(core: SharedCore, topology: crate::topology::RackResolver) -> Self {
        Self {
            core,
            topology: std::sync::Arc::new(topology),
        }
    }
}

impl RpcService for TrackerProtocol {
    fn protocol(&self) -> &'static str {
        protocols::RESOURCE_TRACKER
    }

    fn call(
        &self,
        _context: CallContext,
        method: String,
        request: Bytes,
    ) -> BoxFuture<'static, Result<Bytes, RpcError>> {
        let core = self.core.clone();
        let topology = self.topology.clone();
        Box::pin(async move {
            match method.as_str() {
                "registerNodeManager" => {
                    typed_call(request, |r: RegisterNodeManagerRequestProto| async move {
                        let host = r
                            .node_id
                            .as_ref()
                            .map(|n| n.host().to_string())
                            .unwrap_or_default();
                        let rack = match &*topology {
                            // The topology script runs off the runtime, before the core is locked.
                            crate::topology::RackResolver::Script(_) => {
                                tokio::task::spawn_blocking(move || topology.resolve(&host))
                                    .await
                                    .map_err(|e| RpcError::io(e.to_string()))?
                            }
                            // A lookup: no blocking thread (thousands of NMs registering at once
                            // would each start one, and their stacks and arenas stay resident).
                            _ => topology.resolve(&host),
                        };
                        Ok(core.with(|c, now| c.register_node_in_rack(&r, &rack, now))?)
                    })
                    .await
                }
                "nodeHeartbeat" => {
                    typed_call(request, |r: NodeHeartbeatRequestProto| async move {
                        Ok(core.with(|c, now| c.node_heartbeat(&r, now))?)
                    })
                    .await
                }
                "unRegisterNodeManager" => {
                    typed_call(request, |r: UnRegisterNodeManagerRequestProto| async move {
                        let node = NodeId::try_from(required(
                            r.node_id.as_ref(),
                            "UnRegisterNodeManagerRequestProto",
                            "node_id",
                        )?)
                        .map_err(invalid)?;
                        core.with(|c, now| c.unregister_node(&node, now));
                        Ok(UnRegisterNodeManagerResponseProto {})
                    })
                    .await
                }
                _ => Err(RpcError::no_such_method(
                    protocols::RESOURCE_TRACKER,
                    &method,
                )),
            }
        })
    }
}
