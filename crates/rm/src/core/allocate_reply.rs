//! An allocate response as the core decides it, and its wire form built outside the core's lock.
//!
//! Under the lock the core only records what the AM gets (containers, completions, NMTokens to
//! issue, preemptions, headroom). Signing the container tokens and NMTokens and encoding the
//! message need no shared state, so the RPC service does them after the lock is released, once
//! per response: the attempt keeps the same [`AllocateReply`] (an `Arc`), so an AM that repeats
//! its last responseId gets the very same bytes again.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use prost::Message;
use spindle_proto::yarn::{
    AllocateResponseProto, ContainerProto, ContainerStateProto, ContainerStatusProto, NmTokenProto,
    PreemptionContainerProto, PreemptionContractProto, PreemptionMessageProto, PriorityProto,
};
use spindle_types::{ApplicationAttemptId, ContainerId, NodeId, Resource};

use super::tokens::{ContainerGrant, RmKeys};

/// How long a container token stays valid after allocation (YARN's default container allocation
/// expiry, `yarn.resourcemanager.rm.container-allocation.expiry-interval-ms`).
pub(crate) const CONTAINER_TOKEN_EXPIRY_MS: i64 = 600_000;

/// `host:port`, as container tokens and NMTokens name their NM.
pub(crate) fn node_address(node: &NodeId) -> String {
    let mut address = String::with_capacity(node.host.len() + 6);
    address.push_str(&node.host);
    address.push(':');
    address.push_str(&node.port.to_string());
    address
}

/// A container the scheduler placed, as its AM will receive it.
#[derive(Debug, Clone)]
pub struct AllocatedContainer {
    pub id: ContainerId,
    pub node: NodeId,
    /// The NM's HTTP port (None: the node was not registered; the address is then empty).
    pub http_port: Option<i32>,
    pub resource: Resource,
    pub priority: i32,
    pub allocation_request_id: i64,
    pub is_am: bool,
    /// When it was allocated: the container token's creation time.
    pub creation_time: i64,
}

impl AllocatedContainer {
    /// The ContainerProto with its container token, signed for its NM.
    pub fn to_proto(&self, keys: &RmKeys, user: &str, rm_identifier: i64) -> ContainerProto {
        let address = node_address(&self.node);
        let token = keys.container_token(&ContainerGrant {
            container: self.id,
            node_address: &address,
            user,
            resource: &self.resource,
            priority: self.priority,
            is_am: self.is_am,
            allocation_request_id: self.allocation_request_id,
            rm_identifier,
            now_ms: self.creation_time,
            expiry_ms: CONTAINER_TOKEN_EXPIRY_MS,
        });
        ContainerProto {
            id: Some(self.id.into()),
            node_id: Some((&self.node).into()),
            node_http_address: Some(match self.http_port {
                Some(port) => format!("{}:{port}", self.node.host),
                None => String::new(),
            }),
            resource: Some((&self.resource).into()),
            priority: Some(PriorityProto {
                priority: Some(self.priority),
            }),
            container_token: Some(token),
            allocation_request_id: Some(self.allocation_request_id),
            ..Default::default()
        }
    }
}

/// A container that ended, as its AM will hear of it.
#[derive(Debug, Clone)]
pub struct CompletedContainer {
    pub id: ContainerId,
    pub exit_status: i32,
    pub diagnostics: String,
    /// The node that ran it: told to forget it once the AM has the completion.
    pub node: Option<NodeId>,
}

impl CompletedContainer {
    pub fn to_proto(&self) -> ContainerStatusProto {
        ContainerStatusProto {
            container_id: Some(self.id.into()),
            state: Some(ContainerStateProto::CComplete as i32),
            diagnostics: Some(self.diagnostics.clone()),
            exit_status: Some(self.exit_status),
            ..Default::default()
        }
    }
}

/// One allocate response: decided under the core's lock, signed and encoded outside it.
pub struct AllocateReply {
    pub(crate) keys: Arc<RmKeys>,
    pub(crate) attempt: ApplicationAttemptId,
    pub(crate) user: String,
    pub(crate) rm_identifier: i64,
    pub(crate) response_id: i32,
    pub(crate) allocated: Vec<AllocatedContainer>,
    pub(crate) completed: Vec<CompletedContainer>,
    /// Nodes the AM gets its first container on: each needs an NMToken.
    pub(crate) nm_token_nodes: Vec<NodeId>,
    pub(crate) preempt: Vec<ContainerId>,
    pub(crate) limit: Resource,
    pub(crate) num_cluster_nodes: i32,
    encoded: OnceLock<Bytes>,
}

impl std::fmt::Debug for AllocateReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AllocateReply")
            .field("attempt", &self.attempt)
            .field("response_id", &self.response_id)
            .field("allocated", &self.allocated.len())
            .field("completed", &self.completed.len())
            .finish_non_exhaustive()
    }
}

impl AllocateReply {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        keys: Arc<RmKeys>,
        attempt: ApplicationAttemptId,
        user: String,
        rm_identifier: i64,
        response_id: i32,
        allocated: Vec<AllocatedContainer>,
        completed: Vec<CompletedContainer>,
        nm_token_nodes: Vec<NodeId>,
        preempt: Vec<ContainerId>,
        limit: Resource,
        num_cluster_nodes: i32,
    ) -> Self {
        Self {
            keys,
            attempt,
            user,
            rm_identifier,
            response_id,
            allocated,
            completed,
            nm_token_nodes,
            preempt,
            limit,
            num_cluster_nodes,
            encoded: OnceLock::new(),
        }
    }

    pub fn response_id(&self) -> i32 {
        self.response_id
    }

    /// The response as a message, with every token signed.
    pub fn to_proto(&self) -> AllocateResponseProto {
        let preempt = (!self.preempt.is_empty()).then(|| PreemptionMessageProto {
            strict_contract: None,
            contract: Some(PreemptionContractProto {
                resource: Vec::new(),
                container: self
                    .preempt
                    .iter()
                    .map(|c| PreemptionContainerProto {
                        id: Some((*c).into()),
                    })
                    .collect(),
            }),
        });
        AllocateResponseProto {
            preempt,
            response_id: Some(self.response_id),
            allocated_containers: self
                .allocated
                .iter()
                .map(|c| c.to_proto(&self.keys, &self.user, self.rm_identifier))
                .collect(),
            completed_container_statuses: self
                .completed
                .iter()
                .map(CompletedContainer::to_proto)
                .collect(),
            limit: Some((&self.limit).into()),
            num_cluster_nodes: Some(self.num_cluster_nodes),
            nm_tokens: self
                .nm_token_nodes
                .iter()
                .map(|node| NmTokenProto {
                    node_id: Some(node.into()),
                    token: Some(self.keys.nm_token(self.attempt, node, &self.user)),
                })
                .collect(),
            ..Default::default()
        }
    }

    /// The encoded response, built on first use and the same bytes every time after.
    pub fn encoded(&self) -> Bytes {
        self.encoded
            .get_or_init(|| Bytes::from(self.to_proto().encode_to_vec()))
            .clone()
    }
}
