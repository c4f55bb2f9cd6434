//! The share gate: whether a container goes out at once, after the application's share
//! window, or only as elastic room on a node heartbeat; the requests it holds back and when they
//! are tried again; the per-heartbeat budget of elastic containers.

use std::collections::BTreeSet;

use spindle_types::{ApplicationId, Resource};

use super::{gate_of, Entitlement, Gate};
use crate::action::Locality;
use crate::config::SchedulingPolicy;
use crate::nodes::NodeIndex;
use crate::queues::settings::{ApplicationOrdering, ChildOrdering};
use crate::queues::{QueueIndex, ROOT};
use crate::scheduler::Scheduler;

/// The level whose entitlement holds a request back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShareLevel {
    /// The application's own entitlement.
    Application,
    /// Within its entitlement but beyond its prompt share: it may take that room once its
    /// share window (one heartbeat interval after it first asked) has passed, at this time.
    Window { until_ms: i64 },
    /// The entitlement of this queue (the leaf or an ancestor).
    Queue(QueueIndex),
}

/// Elastic assignments left in the node heartbeat being handled (YARN's per-heartbeat limits:
/// Fair `assignmultiple`/`max.assign`/`dynamic.max.assign`, Capacity
/// `per-node-heartbeat.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeartbeatBudget {
    pub(crate) node: NodeIndex,
    /// Containers beyond entitlements this heartbeat may still assign (None: no limit).
    containers: Option<u32>,
    /// Off-switch containers beyond entitlements it may still assign (None: no limit).
    off_switch: Option<u32>,
    /// Fair `dynamic.max.assign`: stop once this much has been assigned elastically (half the
    /// node's unallocated room when the heartbeat arrived).
    resource_cap: Option<Entitlement>,
    assigned: Entitlement,
}

/// The per-heartbeat limits of elastic assignments a policy's configuration sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeartbeatLimits {
    containers: Option<u32>,
    off_switch: Option<u32>,
    half_of_unallocated: bool,
}

impl HeartbeatLimits {
    pub(crate) fn of(policy: &SchedulingPolicy) -> Self {
        let count = |value: i64| u32::try_from(value).ok().filter(|&v| v > 0);
        match policy {
            // YARN's FifoScheduler fills the node on every heartbeat.
            SchedulingPolicy::Fifo => Self {
                containers: None,
                off_switch: None,
                half_of_unallocated: false,
            },
            SchedulingPolicy::Capacity(config) => {
                let heartbeat = &config.heartbeat;
                if heartbeat.multiple_assignments {
                    Self {
                        containers: count(heartbeat.maximum_container_assignments),
                        off_switch: Some(heartbeat.maximum_offswitch_assignments.max(1)),
                        half_of_unallocated: false,
                    }
                } else {
                    Self {
                        containers: Some(1),
                        off_switch: Some(1),
                        half_of_unallocated: false,
                    }
                }
            }
            SchedulingPolicy::Fair(config) => {
                let site = &config.site;
                if !site.assign_multiple {
                    Self {
                        containers: Some(1),
                        off_switch: None,
                        half_of_unallocated: false,
                    }
                } else if site.dynamic_max_assign {
                    Self {
                        containers: None,
                        off_switch: None,
                        half_of_unallocated: true,
                    }
                } else {
                    Self {
                        containers: count(site.max_assign),
                        off_switch: None,
                        half_of_unallocated: false,
                    }
                }
            }
        }
    }
}

impl Scheduler {
    /// Whether one more container of `capability` keeps the application and each of its queues
    /// within their entitlements. AM containers are never held back (their queues' AM limits
    /// bound them).
    pub(crate) fn within_entitlement(
        &self,
        application: ApplicationId,
        capability: &Resource,
        is_am: bool,
    ) -> bool {
        self.entitlement_blocker(application, capability, is_am)
            .is_none()
    }

    /// The entitlement one more container of `capability` would exceed, if any.
    pub(crate) fn entitlement_blocker(
        &self,
        application: ApplicationId,
        capability: &Resource,
        is_am: bool,
    ) -> Option<ShareLevel> {
        if is_am || !self.share_gated() {
            return None;
        }
        let Some(app) = self.applications.get(&application) else {
            return Some(ShareLevel::Application);
        };
        let add = Entitlement::of(capability);
        let used = Entitlement::of(&app.allocated).plus(add);
        let app_gate = self.application_gate(app.queue);
        if !app.entitlement.admits(used, app_gate) {
            return Some(ShareLevel::Application);
        }
        if !app.entitlement.min(app.steady_share).admits(used, app_gate) {
            // Room beyond the steady share waits one heartbeat interval from the first ask, so
            // that applications submitted within it are counted before it is handed out.
            let until_ms = app
                .stated_at_ms
                .unwrap_or(self.now_ms)
                .saturating_add(self.config.share_window_ms);
            if self.now_ms < until_ms {
                return Some(ShareLevel::Window { until_ms });
            }
        }
        for index in self.queues.chain(app.queue) {
            if index == ROOT {
                break;
            }
            let queue = self.queues.get(index);
            if !queue.entitlement.admits(
                Entitlement::of(&queue.used).plus(add),
                self.queue_gate(index),
            ) {
                return Some(ShareLevel::Queue(index));
            }
        }
        None
    }

    /// Remembers that `level`'s entitlement held the application back, so that it is placed
    /// again once that level holds less or is entitled to more.
    pub(crate) fn register_gated(&mut self, application: ApplicationId, level: ShareLevel) {
        match level {
            ShareLevel::Application => {
                if let Some(app) = self.applications.get_mut(&application) {
                    app.gated = true;
                }
            }
            ShareLevel::Queue(queue) => {
                self.gated_by_queue
                    .entry(queue)
                    .or_default()
                    .insert(application);
            }
            ShareLevel::Window { until_ms } => {
                self.share_windows.insert((until_ms, application));
                // A container it frees may bring it back within its steady share.
                if let Some(app) = self.applications.get_mut(&application) {
                    app.gated = true;
                }
            }
        }
    }

    /// The clock moved: applications whose share window closed are placed again, and the room
    /// kept for them while it was open is kept no longer.
    pub(crate) fn close_share_windows(&mut self) {
        let placed = take_closed(&mut self.share_windows, self.now_ms);
        self.work.applications.extend(placed);
        for application in take_closed(&mut self.protection_windows, self.now_ms) {
            self.sync_protection(application);
        }
    }

    /// A container of `application` was freed: it and the applications held back by one of
    /// its queues' entitlements are placed again.
    pub(crate) fn retry_gated_after_release(&mut self, application: ApplicationId) {
        if self.gated_by_queue.is_empty()
            && !self
                .applications
                .get(&application)
                .is_some_and(|app| app.gated)
        {
            return;
        }
        let Some(app) = self.applications.get_mut(&application) else {
            return;
        };
        if std::mem::take(&mut app.gated) {
            self.work.applications.push(application);
        }
        let leaf = app.queue;
        for queue in self.queues.chain_vec(leaf) {
            if let Some(held) = self.gated_by_queue.remove(&queue) {
                self.work.applications.extend(held);
            }
        }
    }

    /// Forgets a removed application's holds.
    pub(crate) fn forget_gated(&mut self, application: ApplicationId) {
        self.share_windows.retain(|(_, held)| *held != application);
        self.protection_windows
            .retain(|(_, held)| *held != application);
        self.gated_by_queue.retain(|_, held| {
            held.remove(&application);
            !held.is_empty()
        });
    }

    /// The types an application's entitlement is compared on: its leaf's measure.
    fn application_gate(&self, leaf: QueueIndex) -> Gate {
        match self.queues.get(leaf).settings.application_ordering {
            ApplicationOrdering::Drf => Gate::All,
            ApplicationOrdering::Fair { .. } => Gate::Memory,
            ApplicationOrdering::Fifo => self.queue_gate(leaf),
        }
    }

    /// The room kept for an application that elastic grants must leave free: what it is
    /// entitled to beyond what it holds, while it has not said what it wants or its share
    /// window is open (applications that arrive within a heartbeat interval of each other are
    /// divided by the policy, not by who asked first). Once it has asked and its window has
    /// closed, nothing is kept for it: on a heartbeat it is offered the node before anyone beyond
    /// their share (`fill_node`), and a node it passes up for locality goes to the next in line,
    /// as in YARN.
    pub(crate) fn protected_room_of(
        &self,
        app: &crate::applications::SchedulerApplication,
    ) -> Entitlement {
        if !app.runnable || !app.reservations.is_empty() {
            // A waiting request that holds a node keeps no other room from others.
            return Entitlement::ZERO;
        }
        let room = app.entitlement.minus(Entitlement::of(&app.allocated));
        if app.awaits_first_allocate() {
            return room;
        }
        let window_open = app
            .stated_at_ms
            .is_some_and(|stated| self.now_ms < stated.saturating_add(self.config.share_window_ms));
        if !window_open {
            return Entitlement::ZERO;
        }
        // Whole containers of its next request: room it could not use is kept from nobody.
        let Some(capability) = app.attempt.as_ref().and_then(|attempt| {
            let slot = attempt.asks.next_pending_slot(None)?;
            attempt.asks.pending_capability(slot)
        }) else {
            return Entitlement::ZERO;
        };
        let size = Entitlement::of(capability);
        let fits = |room: i64, size: i64| if size > 0 { room / size } else { i64::MAX };
        let mut containers = fits(room.memory_mb, size.memory_mb);
        if self.application_gate(app.queue) == Gate::All {
            containers = containers.min(fits(room.vcores, size.vcores));
        }
        if containers == i64::MAX {
            return room;
        }
        Entitlement {
            memory_mb: size.memory_mb.saturating_mul(containers),
            vcores: size.vcores.saturating_mul(containers),
        }
        .min(room)
    }

    /// Brings the application's share of `protected_room` up to date after its allocation,
    /// asks, entitlement or reservations changed (to nothing once it is gone).
    pub(crate) fn sync_protection(&mut self, application: ApplicationId) {
        if !self.share_gated() {
            return;
        }
        let protection = self
            .applications
            .get(&application)
            .map_or(Entitlement::ZERO, |app| self.protected_room_of(app));
        let Some(app) = self.applications.get_mut(&application) else {
            return;
        };
        let previous = std::mem::replace(&mut app.protection, protection);
        self.protected_room = self.protected_room.minus(previous).plus(protection);
    }

    /// The application leaves: its protection goes with it.
    pub(crate) fn drop_protection(&mut self, application: ApplicationId) {
        if let Some(app) = self.applications.get_mut(&application) {
            let previous = std::mem::take(&mut app.protection);
            self.protected_room = self.protected_room.minus(previous);
        }
    }

    /// Whether a walk within shares has nothing to do below `queue`: it holds its share and no
    /// AM container waits below it (AM containers are never held back). Parents list the other
    /// children apart (`open_children`), and such a queue is never listed as delayed
    /// (`queue_listing`), so the walk that steps over delayed runs charges it nothing either.
    pub(crate) fn queue_closed_to_shares(&self, queue: QueueIndex) -> bool {
        if !self.queue_at_share(queue) {
            return false;
        }
        !self.am_pending.iter().any(|application| {
            self.applications
                .get(application)
                .is_some_and(|app| self.queues.chain(app.queue).any(|index| index == queue))
        })
    }

    /// Whether `queue` holds its whole entitlement: not even the smallest container fits in it.
    pub(crate) fn queue_at_share(&self, queue: QueueIndex) -> bool {
        if !self.share_gated() || queue == ROOT {
            return false;
        }
        let q = self.queues.get(queue);
        // Every request is normalized to at least the minimum allocation.
        let smallest = Entitlement::of(&self.config.limits.minimum);
        !q.entitlement.admits(
            Entitlement::of(&q.used).plus(smallest),
            self.queue_gate(queue),
        )
    }

    /// The types a queue's entitlement is compared on: its parent's measure.
    fn queue_gate(&self, queue: QueueIndex) -> Gate {
        let parent = self.queues.get(queue).parent.unwrap_or(ROOT);
        match self.queues.get(parent).settings.child_ordering {
            ChildOrdering::Utilization => gate_of(self.calculator),
            ChildOrdering::Fair => Gate::Memory,
            ChildOrdering::Drf => Gate::All,
        }
    }

    /// Whether the event being handled is `node`'s heartbeat.
    pub(crate) fn in_heartbeat_of(&self, node: NodeIndex) -> bool {
        self.heartbeat_budget
            .as_ref()
            .is_some_and(|budget| budget.node == node)
    }

    /// Opens the elastic budget of a heartbeat of `node`.
    pub(crate) fn open_heartbeat_budget(&mut self, node: NodeIndex) {
        let limits = HeartbeatLimits::of(&self.config.policy);
        let resource_cap = limits.half_of_unallocated.then(|| {
            let available = Entitlement::of(&self.nodes.get(node).available);
            Entitlement {
                memory_mb: available.memory_mb.max(0) / 2,
                vcores: available.vcores.max(0) / 2,
            }
        });
        self.heartbeat_budget = Some(HeartbeatBudget {
            node,
            containers: limits.containers,
            off_switch: limits.off_switch,
            resource_cap,
            assigned: Entitlement::ZERO,
        });
    }

    /// Whether a walk for elastic room over `node` could grant anything: a container of the
    /// smallest size would pass [`Scheduler::elastic_allowed`].
    pub(crate) fn elastic_possible(&self, node: NodeIndex) -> bool {
        let smallest = &self.config.limits.minimum;
        self.share_gated() && self.elastic_budget_allows(node, Locality::NodeLocal, smallest)
    }

    /// Whether the walk over `node` may grant a container of `locality` beyond entitlements:
    /// only in the elastic walk of that node's heartbeat, within its budget.
    pub(crate) fn elastic_allowed(
        &self,
        node: NodeIndex,
        locality: Locality,
        capability: &Resource,
    ) -> bool {
        !self.share_gated()
            || (self.elastic_walk && self.elastic_budget_allows(node, locality, capability))
    }

    /// Whether a reservation on `node` beyond its application's entitlement may be served: in
    /// the node's heartbeat, within its elastic budget (a reserved node is served before any
    /// walk, as YARN serves reservations first).
    pub(crate) fn reservation_may_grow(
        &self,
        node: NodeIndex,
        locality: Locality,
        capability: &Resource,
    ) -> bool {
        !self.share_gated() || self.elastic_budget_allows(node, locality, capability)
    }

    /// Whether the event is `node`'s heartbeat and it has budget and unprotected room left for
    /// an elastic container of `capability` at `locality`.
    fn elastic_budget_allows(
        &self,
        node: NodeIndex,
        locality: Locality,
        capability: &Resource,
    ) -> bool {
        let Some(budget) = self
            .heartbeat_budget
            .as_ref()
            .filter(|budget| budget.node == node)
        else {
            return false;
        };
        self.leaves_protected_room(capability)
            && budget.containers != Some(0)
            && (locality != Locality::OffSwitch || budget.off_switch != Some(0))
            && budget.resource_cap.is_none_or(|cap| {
                // YARN's dynamic max assign keeps assigning while what was assigned fits in half
                // the node's unallocated room.
                cap.admits(budget.assigned, Gate::All)
            })
    }

    /// Whether the cluster's free room, less `capability`, still holds the room protected for
    /// applications that have not said what they want or whose share window is open
    /// ([`Scheduler::protected_room_of`]).
    fn leaves_protected_room(&self, capability: &Resource) -> bool {
        let protected = self.protected_room;
        let free = Entitlement::of(self.nodes.total())
            .minus(Entitlement::of(self.nodes.allocated()))
            .minus(Entitlement::of(capability));
        protected.memory_mb <= free.memory_mb && protected.vcores <= free.vcores
    }

    /// An elastic container of `capability` went to `node` in its heartbeat.
    pub(crate) fn spend_heartbeat_budget(&mut self, capability: &Resource, locality: Locality) {
        if let Some(budget) = &mut self.heartbeat_budget {
            if let Some(left) = &mut budget.containers {
                *left = left.saturating_sub(1);
            }
            if locality == Locality::OffSwitch {
                if let Some(left) = &mut budget.off_switch {
                    *left = left.saturating_sub(1);
                }
            }
            budget.assigned = budget.assigned.plus(Entitlement::of(capability));
        }
    }
}

impl Scheduler {
    /// Why the share gate holds the application back, for [`Scheduler::explain`].
    pub(crate) fn share_reason(
        &self,
        application: ApplicationId,
        level: ShareLevel,
    ) -> crate::explain::WaitReason {
        use crate::explain::WaitReason;
        let resource = |share: Entitlement| Resource::new(share.memory_mb, share.vcores);
        let app = &self.applications[&application];
        match level {
            ShareLevel::Application => WaitReason::BeyondShare {
                queue: None,
                holds: app.allocated.clone(),
                share: resource(app.entitlement),
            },
            ShareLevel::Queue(index) => {
                let queue = self.queues.get(index);
                WaitReason::BeyondShare {
                    queue: Some(queue.path.clone()),
                    holds: queue.used.clone(),
                    share: resource(queue.entitlement),
                }
            }
            ShareLevel::Window { until_ms } => WaitReason::ShareWindow {
                holds: app.allocated.clone(),
                steady_share: resource(app.entitlement.min(app.steady_share)),
                until_ms,
            },
        }
    }
}

/// Removes and returns the applications whose window, in `windows` by closing time, has closed
/// at `now_ms`.
fn take_closed(windows: &mut BTreeSet<(i64, ApplicationId)>, now_ms: i64) -> Vec<ApplicationId> {
    let mut closed = Vec::new();
    while let Some(&(until_ms, application)) = windows.first() {
        if until_ms > now_ms {
            break;
        }
        windows.pop_first();
        closed.push(application);
    }
    closed
}
