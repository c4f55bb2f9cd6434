//! The scheduler's records of applications, their current attempt, and their live containers.

use std::collections::BTreeSet;

use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, Resource};

use crate::action::Locality;
use crate::asks::{AskTable, RequestSlot};
use crate::container_set::ContainerSet;
use crate::nodes::NodeIndex;
use crate::ordering::AppSortKey;
use crate::queues::QueueIndex;

#[derive(Debug, Clone)]
pub(crate) struct SchedulerApplication {
    pub(crate) id: ApplicationId,
    pub(crate) queue: QueueIndex,
    pub(crate) user: String,
    pub(crate) priority: i32,
    /// Order of submission (ties between equal keys, maxRunningApps promotion).
    pub(crate) submission: u64,
    /// Fair policy: within maxRunningApps; only runnable applications are scheduled.
    pub(crate) runnable: bool,
    pub(crate) attempt: Option<SchedulerAttempt>,
    /// The most recent attempt, current or ended: completions between attempts go to it.
    pub(crate) last_attempt: Option<ApplicationAttemptId>,
    /// Live containers, including those kept from earlier attempts.
    pub(crate) containers: ContainerSet,
    pub(crate) allocated: Resource,
    /// The pending resources last added to the queue chain (kept in step with the asks).
    pub(crate) pending: Resource,
    /// The key in its leaf's sets, while the application is schedulable.
    pub(crate) sort_key: Option<AppSortKey>,
    /// The key its leaf's set lists it under (behind `sort_key` while it is moved).
    pub(crate) listed_key: Option<AppSortKey>,
    /// Its key changed since it was listed (see `order_keys.rs`).
    pub(crate) moved: bool,
    /// With a key: listed among the leaf's applications offered every node's room (else among
    /// those waiting for locality).
    pub(crate) in_walk: bool,
    /// Walked, and listed among its leaf's delayed applications rather than its walk (every
    /// placeable request waits for locality elsewhere; see `delayed_walk.rs`).
    pub(crate) delayed: bool,
    /// Host and rack names under which the delayed-locations index lists it.
    pub(crate) indexed_locations: Vec<Box<str>>,
    /// What those names were derived from (see `Scheduler::location_signature`).
    pub(crate) indexed_signature: Option<u64>,
    /// `Scheduler::application_charge_rounds` when its charges were last added to its counts.
    pub(crate) settled_at: u64,
    /// The leaf the index lists it in.
    pub(crate) indexed_leaf: Option<crate::queues::QueueIndex>,
    /// Placeable requests (see `SlotState::open`).
    pub(crate) open_slots: usize,
    /// Nodes reserved for its requests.
    pub(crate) reservations: BTreeSet<(RequestSlot, NodeIndex)>,
    /// Its current attempt called `allocate` (until then it counts as demanding everything).
    pub(crate) stated_demand: bool,
    /// When its current attempt first called `allocate` (its share window opens then).
    pub(crate) stated_at_ms: Option<i64>,
    /// Its share of the steady division (`entitlements/`): it gets at once what is within
    /// both this and its entitlement.
    pub(crate) steady_share: crate::entitlements::Entitlement,
    /// What it may hold with immediate grants (`entitlements/`).
    pub(crate) entitlement: crate::entitlements::Entitlement,
    /// Its own entitlement held a request back since it was last placed again.
    pub(crate) gated: bool,
    /// Its user limit holds it back (Capacity): it claims no share beyond what it holds.
    pub(crate) limited: bool,
    /// The room it keeps from elastic grants, as last added to `Scheduler::protected_room`.
    pub(crate) protection: crate::entitlements::Entitlement,
    /// The demand the entitlements were last checked against.
    pub(crate) demand_seen: crate::entitlements::Entitlement,
}

impl SchedulerApplication {
    pub(crate) fn has_pending(&self) -> bool {
        self.attempt
            .as_ref()
            .is_some_and(|attempt| attempt.asks.has_pending())
    }

    /// Runnable with a request to serve: the scheduler offers it room.
    pub(crate) fn is_schedulable(&self) -> bool {
        self.runnable && self.has_pending()
    }

    /// Schedulable with a placeable request: offered every node's room in policy order (its
    /// requests that wait for locality count the offers they pass up).
    pub(crate) fn is_walkable(&self) -> bool {
        self.open_slots > 0 && self.is_schedulable()
    }

    /// Its current attempt has not called `allocate` yet (its AM is pending, starting or
    /// registering): for shares and preemption it wants everything.
    pub(crate) fn awaits_first_allocate(&self) -> bool {
        self.attempt.is_some() && !self.stated_demand
    }

    pub(crate) fn demand(&self) -> Resource {
        self.allocated.add(&self.pending)
    }

    pub(crate) fn reservations_for(&self, slot: RequestSlot) -> usize {
        self.reservations
            .range((slot, NodeIndex::MIN)..=(slot, NodeIndex::MAX))
            .count()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SchedulerAttempt {
    pub(crate) id: ApplicationAttemptId,
    pub(crate) asks: AskTable,
    /// Sequence number of the attempt's next container (the AM container is 1).
    pub(crate) next_sequence: i64,
    pub(crate) am_container: Option<ContainerId>,
}

/// A live container.
#[derive(Debug, Clone)]
pub(crate) struct ContainerRecord {
    /// The attempt it belongs to now.
    pub(crate) owner: ApplicationAttemptId,
    pub(crate) node: NodeIndex,
    pub(crate) resource: Resource,
    pub(crate) priority: i32,
    pub(crate) allocation_request_id: i64,
    pub(crate) is_am: bool,
    pub(crate) locality: Locality,
    /// Handed to its ApplicationMaster (always true for the AM container itself).
    pub(crate) acquired: bool,
}
