//! Spindle's pure, deterministic scheduling core.
//!
//! # Events in, actions out
//!
//! The scheduler is a state machine over nodes, applications, their requests and containers.
//! Every stimulus is one [`SchedulerEvent`] (node added/updated/removed, application and attempt
//! added/removed, an attempt's asks and releases, containers acquired/finished/expired, time
//! advanced, configuration replaced); [`Scheduler::handle`] applies it and returns the
//! [`SchedulerAction`]s the RM must carry out, in decision order:
//! [`SchedulerAction::Allocated`] (a new container: the RM signs its token and hands it out) and
//! [`SchedulerAction::Completed`] (a container's resources are free: the RM reports its status
//! to the ApplicationMaster and, when the process may still run, stops it on its node).
//! A refused event returns a typed [`SchedulerError`] and changes nothing.
//!
//! There is no separate "schedule" call and no heartbeat-driven allocation: `handle` places
//! every request that the event made placeable before it returns, so a container exists as soon
//! as both the request and the room do. Between events the scheduler keeps the invariant "no
//! pending request fits on a node its locality allows" (see `allocation.rs`), which is what lets
//! it look only at the node that gained room or the application whose requests grew.
//!
//! The core reads no clock, does no I/O, spawns nothing and uses no randomness: time arrives as
//! [`SchedulerEvent::TimeAdvanced`], container ids come from per-attempt sequences (the AM
//! container is `..._000001`) with the RM epoch from [`SchedulerConfig`], and every choice breaks
//! ties by a stable order. The same event sequence always yields the same actions.
//!
//! # Requests
//!
//! Asks follow YARN's `allocate` semantics ([`ResourceRequest`]): absolute counts per
//! (priority, allocation_request_id, resource name), locality by host, rack or `"*"`, with
//! `relax_locality` and YARN's decrement rules (see `asks.rs`). Inside an application, the AM
//! container comes first (the attempt's other requests wait for it), then lower priority
//! numbers. A container lost before its AM acquired it has its request restored. Across
//! applications the FIFO policy orders by application priority (higher first), then application
//! id; a node's room goes to the first application whose request fits there. Nodes are chosen
//! most-available-memory first from indexes, never by scanning the cluster.
//!
//! [`normalize`] and [`normalize_request`] are the pure validation the RM also uses to answer
//! `InvalidResourceRequestException` and to report the maximum allocation.
//!
//! # Queries and invariants
//!
//! [`Scheduler::cluster_metrics`], [`Scheduler::node_report`], [`Scheduler::application_usage`],
//! [`Scheduler::container_report`], [`Scheduler::queue_info`] and friends are read-only
//! snapshots. [`Scheduler::check_invariants`] checks conservation (node capacity = allocated +
//! available, usage sums, every container on exactly one node and attempt) and index
//! consistency; tests call it after every event.

mod action;
mod allocation;
mod applications;
mod asks;
mod config;
mod counted_values;
mod error;
mod event;
mod invariants;
mod nodes;
mod normalize;
mod queues;
mod reports;
mod scheduler;

pub use action::{CompletionReason, Locality, SchedulerAction};
pub use asks::SchedulerKey;
pub use config::{AllocationLimits, SchedulerConfig, SchedulingPolicy};
pub use error::SchedulerError;
pub use event::{ResourceRequest, SchedulerEvent, ANY, DEFAULT_RACK};
pub use invariants::InvariantViolation;
pub use normalize::{normalize, normalize_request, InvalidAsk, InvalidResourceRequest};
pub use reports::{ApplicationUsage, ClusterMetrics, ContainerReport, NodeReport, QueueInfo};
pub use scheduler::Scheduler;
