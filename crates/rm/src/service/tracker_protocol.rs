//! ResourceTracker (`yarn.resourcemanager.resource-tracker.address`, 8031): NodeManagers register
//! and heartbeat here.

use bytes::Bytes;
use futures::future::BoxFuture;
use spindle_ipc::{typed_call, CallContext, RpcError, RpcService};
use spindle_proto::yarn::*;
use spindle_types::NodeId;

use super::runtime::SharedCore;
use super::{invalid, protocols, required};

pub(crate) struct TrackerProtocol {
    core: SharedCore,
}

impl TrackerProtocol {
    pub(crate) fn new(core: SharedCore) -> Self {
        Self { core }
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
        Box::pin(async move {
            match method.as_str() {
                "registerNodeManager" => {
                    typed_call(request, |r: RegisterNodeManagerRequestProto| async move {
                        Ok(core.with(|c, now| c.register_node(&r, now))?)
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
