//! The Capacity Scheduler's configuration as typed values (what capacity-scheduler.xml says).

use spindle_types::Resource;

use crate::acl::AccessControlList;
use crate::calculator::ResourceCalculator;

/// A queue's guaranteed or maximum capacity: a percentage of its parent, or absolute resources
/// (`[memory=10240,vcores=10]`).
#[derive(Debug, Clone, PartialEq)]
pub enum CapacityValue {
    Percent(f64),
    Absolute(Resource),
}

/// Whether a queue accepts new applications (YARN's `state`): a STOPPED queue still runs what
/// it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueState {
    #[default]
    Running,
    Stopped,
}

impl QueueState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Stopped => "STOPPED",
        }
    }
}

/// How a Capacity Scheduler leaf queue orders its applications (`ordering-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeafOrderingPolicy {
    /// Higher application priority first, then submission order.
    #[default]
    Fifo,
    /// Least resources used first (`ordering-policy.fair.enable-size-based-weight` divides the
    /// usage by the application's demand).
    Fair { size_based_weight: bool },
}

/// One queue of capacity-scheduler.xml, with its children.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityQueueConfig {
    /// Last path element (`a1`).
    pub name: String,
    /// Full path (`root.a.a1`).
    pub path: String,
    pub capacity: CapacityValue,
    /// Defaults to 100% (or the parent's resources in absolute mode).
    pub maximum_capacity: CapacityValue,
    /// A user may use up to this multiple of the queue's capacity (default 1; -1 or 0: no cap
    /// below the queue's maximum).
    pub user_limit_factor: f64,
    /// With several active users, each is guaranteed this percentage (default 100).
    pub minimum_user_limit_percent: f64,
    /// Share of the queue's capacity AM containers may use; None uses the global value.
    pub maximum_am_resource_percent: Option<f64>,
    /// Pending + running applications allowed; None derives it from the global value and the
    /// queue's absolute capacity.
    pub maximum_applications: Option<usize>,
    pub state: QueueState,
    /// None inherits the parent's (root defaults to everyone).
    pub acl_submit_applications: Option<AccessControlList>,
    pub acl_administer_queue: Option<AccessControlList>,
    pub ordering_policy: LeafOrderingPolicy,
    /// `disable_preemption`: the preemption monitor never takes this queue's containers.
    pub disable_preemption: bool,
    pub children: Vec<CapacityQueueConfig>,
}

impl CapacityQueueConfig {
    /// A queue with YARN's defaults and the given capacity.
    pub fn new(parent_path: Option<&str>, name: &str, capacity: CapacityValue) -> Self {
        let path = match parent_path {
            Some(parent) => format!("{parent}.{name}"),
            None => name.to_string(),
        };
        Self {
            name: name.to_string(),
            path,
            capacity,
            maximum_capacity: CapacityValue::Percent(100.0),
            user_limit_factor: 1.0,
            minimum_user_limit_percent: 100.0,
            maximum_am_resource_percent: None,
            maximum_applications: None,
            state: QueueState::Running,
            acl_submit_applications: None,
            acl_administer_queue: None,
            ordering_policy: LeafOrderingPolicy::Fifo,
            disable_preemption: false,
            children: Vec::new(),
        }
    }

    pub fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }

    /// Every queue of this subtree, parents before children.
    pub fn walk(&self) -> Vec<&CapacityQueueConfig> {
        let mut out = vec![self];
        for child in &self.children {
            out.extend(child.walk());
        }
        out
    }
}

/// One entry of `yarn.scheduler.capacity.queue-mappings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueMapping {
    /// `u:<user>:<queue>`; the user may be `%user` (any user) and the queue may use `%user`,
    /// `%primary_group` and `%secondary_group`, alone or as `<parent>.%user`.
    User { user: String, queue: String },
    /// `g:<group>:<queue>`: for users whose groups include the group.
    Group { group: String, queue: String },
}

/// The preemption monitor (ProportionalCapacityPreemptionPolicy) and its yarn-site keys.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityPreemptionConfig {
    /// `monitoring_interval` (3000 ms): how often the monitor looks.
    pub monitoring_interval_ms: i64,
    /// `max_wait_before_kill` (15000 ms): between asking the AM and killing the container.
    pub max_wait_before_kill_ms: i64,
    /// `total_preemption_per_round` (0.1): at most this share of the cluster per round.
    pub total_preemption_per_round: f64,
    /// `max_ignored_over_capacity` (0.1): a queue this far above its ideal share is left alone.
    pub max_ignored_over_capacity: f64,
    /// `natural_termination_factor` (0.2): the share of the excess taken each round.
    pub natural_termination_factor: f64,
}

impl Default for CapacityPreemptionConfig {
    fn default() -> Self {
        Self {
            monitoring_interval_ms: 3_000,
            max_wait_before_kill_ms: 15_000,
            total_preemption_per_round: 0.1,
            max_ignored_over_capacity: 0.1,
            natural_termination_factor: 0.2,
        }
    }
}

/// Everything the Capacity Scheduler is configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacitySchedulerConfig {
    /// `yarn.scheduler.capacity.resource-calculator`.
    pub resource_calculator: ResourceCalculator,
    /// The `root` queue and its tree.
    pub root: CapacityQueueConfig,
    /// `yarn.scheduler.capacity.maximum-applications` (10000).
    pub maximum_applications: usize,
    /// `yarn.scheduler.capacity.maximum-am-resource-percent` (0.1).
    pub maximum_am_resource_percent: f64,
    /// `yarn.scheduler.capacity.node-locality-delay` (40 missed opportunities).
    pub node_locality_delay: i64,
    /// `yarn.scheduler.capacity.rack-locality-additional-delay` (-1: derived from the request).
    pub rack_locality_additional_delay: i64,
    /// `yarn.scheduler.capacity.queue-mappings`, in order.
    pub queue_mappings: Vec<QueueMapping>,
    /// `yarn.scheduler.capacity.queue-mappings-override.enable` (false): mappings also apply to
    /// applications that named a queue other than `default`.
    pub queue_mappings_override: bool,
    /// The preemption monitor, when `yarn.resourcemanager.scheduler.monitor.enable` is true.
    pub preemption: Option<CapacityPreemptionConfig>,
    /// `per-node-heartbeat.*`: how much one node heartbeat may assign beyond shares.
    pub heartbeat: CapacityHeartbeatAssignment,
}

/// `yarn.scheduler.capacity.per-node-heartbeat.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapacityHeartbeatAssignment {
    /// `multiple-assignments-enabled` (true): more than one container per heartbeat.
    pub multiple_assignments: bool,
    /// `maximum-container-assignments` (100; -1 or 0: no limit).
    pub maximum_container_assignments: i64,
    /// `maximum-offswitch-assignments` (1; below 1 is read as 1, as YARN does).
    pub maximum_offswitch_assignments: u32,
}

impl Default for CapacityHeartbeatAssignment {
    fn default() -> Self {
        Self {
            multiple_assignments: true,
            maximum_container_assignments: 100,
            maximum_offswitch_assignments: 1,
        }
    }
}

impl Default for CapacitySchedulerConfig {
    /// `root` with the single leaf `root.default` at 100%, as YARN's shipped file.
    fn default() -> Self {
        let mut root = CapacityQueueConfig::new(None, "root", CapacityValue::Percent(100.0));
        root.acl_submit_applications = Some(AccessControlList::everyone());
        root.acl_administer_queue = Some(AccessControlList::everyone());
        root.children.push(CapacityQueueConfig::new(
            Some("root"),
            "default",
            CapacityValue::Percent(100.0),
        ));
        Self {
            resource_calculator: ResourceCalculator::Default,
            root,
            maximum_applications: 10_000,
            maximum_am_resource_percent: 0.1,
            node_locality_delay: 40,
            rack_locality_additional_delay: -1,
            queue_mappings: Vec::new(),
            queue_mappings_override: false,
            preemption: None,
            heartbeat: CapacityHeartbeatAssignment::default(),
        }
    }
}
