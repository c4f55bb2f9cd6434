//! Every input of the scheduling core: one closed enum of events, and the ResourceRequest they carry.

use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource};

use crate::config::SchedulerConfig;

/// The `resource_name` of a request that any node satisfies (YARN's `ResourceRequest.ANY`).
pub const ANY: &str = "*";

/// The rack a node belongs to when its NodeManager's registration names none.
pub const DEFAULT_RACK: &str = "/default-rack";

/// One entry of an ApplicationMaster's `allocate` asks, as YARN's `ResourceRequest`.
///
/// Entries are keyed by (priority, allocation_request_id, resource_name); `num_containers` is the
/// ABSOLUTE number still wanted for that key and replaces the previous value (0 cancels). Only the
/// `"*"` entry's count bounds how many containers the key gets and its capability is the size they
/// get; host and rack entries say where they may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRequest {
    /// Lower number = more important, inside one application.
    pub priority: i32,
    /// A host name, a rack name (`/rack1`), or [`ANY`].
    pub resource_name: String,
    pub capability: Resource,
    pub num_containers: i32,
    /// On a rack entry: containers may go to that rack when none of its requested hosts fit. On
    /// the `"*"` entry: containers may go anywhere. `false` restricts placement to the entries below.
    pub relax_locality: bool,
    /// Echoed back on the containers allocated for this request.
    pub allocation_request_id: i64,
}

impl ResourceRequest {
    /// A request for `num_containers` of `capability` anywhere: what Spark sends without
    /// locality preferences (allocation_request_id 0, as AMRMClient sends).
    pub fn anywhere(priority: i32, capability: Resource, num_containers: i32) -> Self {
        Self {
            priority,
            resource_name: ANY.to_string(),
            capability,
            num_containers,
            relax_locality: true,
            allocation_request_id: 0,
        }
    }

    pub fn is_any(&self) -> bool {
        self.resource_name == ANY
    }
}

/// Everything that can happen to the scheduler. [`crate::Scheduler::handle`] takes one at a time.
#[derive(Debug, Clone, PartialEq)]
pub enum SchedulerEvent {
    /// A NodeManager registered. `rack` empty means [`DEFAULT_RACK`].
    NodeAdded {
        node: NodeId,
        rack: String,
        capability: Resource,
    },
    /// A node's total resource changed. Lowering it below what is allocated leaves the node
    /// overcommitted (YARN's behaviour): nothing is killed, nothing new goes there until it drains.
    NodeUpdated { node: NodeId, capability: Resource },
    /// A node was lost, decommissioned or shut down: its containers complete with
    /// `ABORTED` ([`crate::CompletionReason::NodeLost`]).
    NodeRemoved { node: NodeId },
    /// A NodeManager heartbeat: a scheduling opportunity on the node (the only one delay
    /// scheduling counts). Allocation within entitlements never waits for one; room beyond
    /// them goes out here, in the policy's order, within the policy's per-heartbeat limits.
    /// Send it after the heartbeat's `ContainerFinished` events, as YARN processes them.
    NodeHeartbeat { node: NodeId },
    /// An application was submitted to `queue` (a leaf name such as `default`, a full path such
    /// as `root.default`, or empty). The policy's placement (queue mappings, placement rules)
    /// decides the leaf it goes to, then its state, ACLs and application limits are checked;
    /// a refusal is a [`crate::SchedulerError`] whose text is YARN's.
    /// `priority`: higher number = more important (YARN's app priority).
    ApplicationAdded {
        application: ApplicationId,
        queue: String,
        user: String,
        priority: i32,
    },
    /// The application ended; any container still live completes
    /// ([`crate::CompletionReason::ApplicationCompleted`]).
    ApplicationRemoved { application: ApplicationId },
    /// A new attempt of an added application, which must have no current attempt. With
    /// `am_resource` the scheduler allocates the AM container first (priority 0, any host,
    /// sequence number 1); `None` is an unmanaged AM.
    AttemptAdded {
        attempt: ApplicationAttemptId,
        am_resource: Option<Resource>,
    },
    /// The current attempt ended. Its asks are dropped. Without `keep_containers` all the
    /// application's containers complete; with it (work-preserving AM restart) the AM container
    /// and containers never acquired complete, the rest pass to the next attempt.
    AttemptRemoved {
        attempt: ApplicationAttemptId,
        keep_containers: bool,
    },
    /// One `allocate` call of the current attempt: asks replace outstanding counts (see
    /// [`ResourceRequest`]); releases complete the named containers of this application
    /// ([`crate::CompletionReason::ReleasedByApplication`]). Unknown releases are ignored.
    Asks {
        attempt: ApplicationAttemptId,
        asks: Vec<ResourceRequest>,
        releases: Vec<ContainerId>,
    },
    /// The RM handed these allocated containers to their ApplicationMaster (an allocate
    /// response). A container lost before this has its request restored, as YARN does.
    ContainersAcquired { containers: Vec<ContainerId> },
    /// A NodeManager reported the container complete. Unknown containers are ignored.
    ContainerFinished {
        container: ContainerId,
        exit_status: i32,
    },
    /// The container was acquired but never started within the RM's allocation expiry interval.
    ContainerExpired { container: ContainerId },
    /// The clock moved. Time is only ever an input: preemption timeouts, the preemption
    /// monitor's rounds and the grace period before a preempted container is killed.
    TimeAdvanced { now_ms: i64 },
    /// New limits and queues (`rmadmin -refreshQueues`). The RM epoch and the scheduler kind
    /// cannot change. Refused, with the running configuration kept, when a Capacity Scheduler
    /// queue holding applications would disappear or a leaf with applications would become a
    /// parent; Fair Scheduler queues holding applications stay until they empty.
    ConfigurationReplaced { config: Box<SchedulerConfig> },
    /// The groups of `user`, primary first, as the RM resolved them (placement rules, queue
    /// mappings and ACLs use them). Replaces what the configuration said for that user.
    UserGroupsUpdated { user: String, groups: Vec<String> },
}
