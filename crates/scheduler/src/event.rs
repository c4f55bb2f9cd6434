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
    /// The RM stopped hearing from a node (`reachable: false`: it missed heartbeats but is not
    /// lost yet), or hears from it again. No new container goes to an unreachable node, and a
    /// reservation held on it is given up; its containers, capability and usage stay as they
    /// are (limits and shares do not change). YARN places containers only on a node's own
    /// heartbeats, so a silent node gets none there either.
    NodeReachability { node: NodeId, reachable: bool },
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
    /// After an RM restart (YARN's work-preserving RM restart): the current attempt of an
    /// application recovered from the RM's store, whose AM container is already running. As
    /// [`SchedulerEvent::AttemptAdded`] (the application must have been added with
    /// `ApplicationAdded` and have no current attempt; the same refusals), except that nothing
    /// is asked for or allocated: the attempt starts with no request at all, not even its AM
    /// container's. It is active at once: like any attempt whose AM runs and has not called
    /// `allocate` yet, it counts as demanding everything for shares until its AM re-registers
    /// and sends its asks again.
    ///
    /// Its running containers are charged as their NodeManagers report them
    /// ([`SchedulerEvent::ContainerRecovered`]). Containers allocated to it later are numbered
    /// with the configuration's `rm_epoch`, from sequence 1 (the epoch tells them apart from the
    /// ids issued before the restart; recovered ids with the current epoch are skipped).
    ///
    /// `am_resource` is what its AM container uses (zero for an unmanaged AM, which has no
    /// container). It is charged to the leaf's AM resource
    /// (Capacity's maximum-am-resource-percent, Fair's maxAMShare) with the AM container itself,
    /// once that is recovered with `is_am` (as the container's reported resource, normally this
    /// one), never before: if no NodeManager ever reports the AM container (it died, or its
    /// node never came back), nothing is charged for it, its queue's AM usage does not count it,
    /// and the attempt's other containers are charged as usual until the RM removes the attempt.
    /// It is not checked against the allocation limits (the container already runs).
    AttemptRecovered {
        attempt: ApplicationAttemptId,
        am_resource: Resource,
    },
    /// After an RM restart: a re-registering NodeManager (already added with `NodeAdded`)
    /// reported this container running. It is charged exactly as an allocated container its AM
    /// acquired: the node's used and free resources, the application, its user, its leaf queue
    /// and every parent (and the AM usage when `is_am`), with every order, index and share
    /// that follows usage. From then on it is a live container like any other: it completes on
    /// `ContainerFinished`, `NodeRemoved`, `AttemptRemoved` (kept with `keep_containers` unless
    /// it is the AM container), `ApplicationRemoved`, a release in `Asks`, or preemption. Its
    /// id keeps the epoch it has. It is recorded as acquired, with `priority` and
    /// `allocation_request_id` as reported and locality [`crate::Locality::OffSwitch`] (where
    /// it was asked for is not known). A container larger than the node's remaining room is
    /// still taken: the node is overcommitted until it drains, as after `NodeUpdated`.
    ///
    /// Recovery schedules nothing by itself: no request is created or restored, no node pass
    /// runs for the node, and no locality-delay opportunity is counted. (Usage it adds can
    /// loosen a limit of another application, a Capacity user limit shared among a leaf's
    /// active users or an entitlement that grows with a sibling's demand, and what that makes
    /// placeable is placed as after any event; with no asks outstanding, as while AMs have not
    /// re-registered, nothing is.)
    ///
    /// The container is not taken, and the event changes nothing and returns
    /// [`crate::SchedulerAction::RecoveryRefused`] (the RM kills it on `node`), when its
    /// application is unknown, its attempt (the one in its id) is not the application's
    /// current attempt, `node` is not registered, a container with the same id is live on
    /// another node, it is reported as the AM container of an attempt that already has one or
    /// asks for one, or its resource is negative. The same id reported again by the node it is
    /// counted on (whatever its attempt: it may have been kept from an earlier one) is the same
    /// process, already counted: nothing changes and nothing is returned.
    ContainerRecovered {
        container: ContainerId,
        node: NodeId,
        resource: Resource,
        priority: i32,
        allocation_request_id: i64,
        is_am: bool,
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
    /// After an RM restart that recovered running applications (YARN's
    /// `work-preserving-recovery.scheduling-wait-ms`): until the clock reaches `until_ms` (as
    /// `TimeAdvanced` tells it), nothing new is placed and nothing is preempted, so that the
    /// NodeManagers re-register and their containers are charged before any decision is taken
    /// on partial usage; meanwhile the maximum allocation is the configured one, not the
    /// largest registered node's. Every other event is applied as usual (asks are recorded).
    /// The first event at or after `until_ms` tries every node, queue and application.
    RecoveryWait { until_ms: i64 },
    /// New limits and queues (`rmadmin -refreshQueues`). The RM epoch and the scheduler kind
    /// cannot change. Refused, with the running configuration kept, when a Capacity Scheduler
    /// queue holding applications would disappear or a leaf with applications would become a
    /// parent; Fair Scheduler queues holding applications stay until they empty.
    ConfigurationReplaced { config: Box<SchedulerConfig> },
    /// The groups of `user`, primary first, as the RM resolved them (placement rules, queue
    /// mappings and ACLs use them). Replaces what the configuration said for that user.
    UserGroupsUpdated { user: String, groups: Vec<String> },
}
