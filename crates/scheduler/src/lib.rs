//! Spindle's pure, deterministic scheduling core: YARN's FIFO, Capacity and Fair schedulers.
//!
//! # Events in, actions out
//!
//! The scheduler is a state machine over nodes, queues, applications, their requests and
//! containers. Every stimulus is one [`SchedulerEvent`] (node added/updated/removed/heartbeat,
//! application and attempt added/removed, an attempt's asks and releases, containers
//! acquired/finished/expired, time advanced, configuration replaced, a user's groups, and after
//! an RM restart attempts and containers recovered);
//! [`Scheduler::handle`] applies it and returns the [`SchedulerAction`]s the RM must carry out,
//! in decision order: [`SchedulerAction::Allocated`], [`SchedulerAction::Completed`] (including
//! preempted containers, exit status PREEMPTED), [`SchedulerAction::PreemptionRequested`]
//! (announce to the AM before the kill) and [`SchedulerAction::RecoveryRefused`] (kill a
//! reported container the scheduler did not take). A refused event returns a typed
//! [`SchedulerError`] (YARN's texts for refused submissions) and changes nothing.
//!
//! # RM restart
//!
//! Work-preserving RM restart (`recovery.rs`): [`SchedulerEvent::AttemptRecovered`] makes an
//! attempt whose AM already runs current without asking for anything, and
//! [`SchedulerEvent::ContainerRecovered`] charges a container a NodeManager reports exactly as
//! an allocation would have; from then on it is a live container like any other.
//!
//! There is no separate "schedule" call: `handle` places every request that the event made
//! placeable within its application's entitlement (the share the policy gives it among the
//! active applications, `entitlements/`: its steady share at once, the rest once its share
//! window has passed) before it returns; room beyond entitlements goes out only on
//! [`SchedulerEvent::NodeHeartbeat`], paced as YARN paces assignments per heartbeat.
//! Between events the scheduler keeps the invariant "no request its limits and entitlement allow
//! fits on a node its locality (and delay scheduling) allows and that is not reserved for
//! another request" (see `allocation.rs`).
//!
//! The core reads no clock, does no I/O, spawns nothing and uses no randomness: time arrives as
//! [`SchedulerEvent::TimeAdvanced`], container ids come from per-attempt sequences, and every
//! choice breaks ties by a stable order. The same event sequence always yields the same actions.
//!
//! # Policies
//!
//! [`SchedulingPolicy`] selects FIFO, the Capacity Scheduler ([`CapacitySchedulerConfig`], read
//! from capacity-scheduler.xml) or the Fair Scheduler ([`FairSchedulerConfig`], read from the
//! allocation file and yarn-site keys). [`scheduler_config_from_files`] builds the whole
//! [`SchedulerConfig`] from YARN's class name and the files' text; bad files are refused with a
//! [`SchedulerConfigError`] naming file, line, queue and key. Queues are ordered per parent in
//! sorted sets (keys in `ordering.rs`, kept in step in `order_keys.rs`), node passes are in
//! `node_pass.rs` and the other placements in `allocation.rs`, limits are in `limits.rs`,
//! placement rules in `placement.rs`, delay scheduling in `locality_delay.rs` (the rules) and
//! `locality_state.rs` (each request's opportunity count and state), reservations in `reservations.rs`, preemption in `preemption/`, and
//! [`Scheduler::explain`] says why an application waits ([`WaitReason`]). `SCHEDULERS.md`
//! lists the supported keys and the deliberate differences from YARN 3.x.
//!
//! # Cost
//!
//! The cost of an allocation does not grow with the number of nodes or queues (see
//! `SCHEDULERS.md`): every search goes through an index, maps keyed by ids use a fast
//! deterministic hasher (`fast_hash.rs`), and derived state (free-resource indexes, sort keys,
//! queue limits while nodes register) is brought up to date lazily, once per event.
//!
//! # Requests
//!
//! Asks follow YARN's `allocate` semantics ([`ResourceRequest`]): absolute counts per
//! (priority, allocation_request_id, resource name), locality by host, rack or `"*"`, with
//! `relax_locality` and YARN's decrement rules (see `asks.rs`). Inside an application, the AM
//! container comes first, then lower priority numbers. A container lost before its AM acquired
//! it has its request restored. [`normalize`] and [`normalize_request`] are the pure validation
//! the RM also uses to answer `InvalidResourceRequestException`.
//!
//! # Queries and invariants
//!
//! [`Scheduler::cluster_metrics`], [`Scheduler::node_report`], [`Scheduler::application_usage`],
//! [`Scheduler::headroom`], [`Scheduler::queue_info`], [`Scheduler::explain`] and friends are
//! read-only snapshots. [`Scheduler::check_invariants`] checks conservation, index consistency
//! and that placement was never left undone; tests call it after every event.

mod acl;
mod action;
mod allocation;
mod applications;
mod asks;
mod bookkeeping;
mod calculator;
pub mod capacity;
mod charge_set;
mod config;
mod config_error;
mod config_values;
mod container_set;
mod counted_values;
mod delayed_walk;
mod entitlements;
mod error;
mod event;
mod explain;
pub mod fair;
mod fair_shares;
pub(crate) mod fast_hash;
mod groups;
mod invariants;
mod limits;
mod locality_delay;
mod locality_state;
mod node_pass;
mod node_storage;
mod nodes;
mod normalize;
mod order_keys;
mod ordering;
mod placement;
mod preemption;
mod queues;
mod reconfigure;
mod recovery;
mod reports;
mod reservations;
mod resource_ops;
mod scheduler;
mod selection;
mod slot_state;

pub use acl::AccessControlList;
pub use action::{CompletionReason, Locality, RecoveryRefusal, SchedulerAction};
pub use asks::SchedulerKey;
pub use calculator::{
    ResourceCalculator, DEFAULT_RESOURCE_CALCULATOR_CLASS, DOMINANT_RESOURCE_CALCULATOR_CLASS,
};
pub use capacity::config::{
    CapacityPreemptionConfig, CapacityQueueConfig, CapacitySchedulerConfig, CapacityValue,
    LeafOrderingPolicy, QueueMapping, QueueState,
};
pub use config::{
    AclSettings, AllocationLimits, ImmediateAllocation, SchedulerConfig, SchedulingPolicy,
};
pub use config_error::{ConfigProblem, SchedulerConfigError};
pub use error::SchedulerError;
pub use event::{ResourceRequest, SchedulerEvent, ANY, DEFAULT_RACK};
pub use explain::WaitReason;
pub use fair::config::{
    FairPolicy, FairQueueConfig, FairSchedulerConfig, FairSiteSettings, MaxResources, PlacementRule,
};
pub use groups::{GroupMapping, STATIC_MAPPING_OVERRIDES_KEY};
pub use invariants::InvariantViolation;
pub use normalize::{normalize, normalize_request, InvalidAsk, InvalidResourceRequest};
pub use reports::{ApplicationUsage, ClusterMetrics, ContainerReport, NodeReport, QueueInfo};
pub use scheduler::Scheduler;
pub use selection::{
    scheduler_config_from_files, scheduling_policy_from_files, SchedulerFile, SchedulerKind,
    CAPACITY_SCHEDULER_CLASS, CAPACITY_SCHEDULER_FILE, FAIR_ALLOCATION_FILE_DEFAULT,
    FAIR_ALLOCATION_FILE_KEY, FAIR_SCHEDULER_CLASS, FIFO_SCHEDULER_CLASS,
    NM_HEARTBEAT_INTERVAL_KEY, SCHEDULER_CLASS_KEY, SHARE_WINDOW_KEY,
};
