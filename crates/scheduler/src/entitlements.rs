//! Entitlements: the share of the cluster the policy gives each active queue and application
//! now. Room within an entitlement is granted the moment a request and room meet; room beyond
//! it (elastic room) is granted only on node heartbeats, paced as YARN paces assignments per
//! heartbeat, so that asks arriving a few milliseconds apart share as the policy says rather
//! than as they arrived.
//!
//! Entitlements are computed top-down as YARN computes instantaneous fair shares: each parent's
//! entitlement is divided among its children with runnable applications (Fair: by weight with
//! minResources and maxResources; Capacity: in proportion to guaranteed capacity, up to maximum
//! capacity), each child capped by its demand; each leaf's among its runnable applications (FIFO
//! ordering: in order, each taking what it demands; fair and drf ordering: equally). Memory and
//! vcores are divided separately. An application whose current attempt has not called
//! `allocate` yet (its AM is pending, starting or registering) counts as demanding everything:
//! its share is kept for it until it says what it wants.
//!
//! Entitlements are recomputed only when an input that can change them changed (see
//! [`Scheduler::note_demand`]): a change of demand that stays above the entitlement by at least
//! one unit changes no share, so a busy cluster's completions and asks cost nothing here.

use spindle_types::{ApplicationId, Resource};

use crate::action::Locality;
use crate::calculator::ResourceCalculator;
use crate::config::SchedulingPolicy;
use crate::fair_shares::{distribute, ShareEntry};
use crate::fast_hash::FastMap;
use crate::nodes::NodeIndex;
use crate::queues::settings::{ApplicationOrdering, ChildOrdering};
use crate::queues::{QueueIndex, ROOT};
use crate::scheduler::Scheduler;

/// Memory and vcores: the types entitlements divide (other types are never gated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Entitlement {
    pub(crate) memory_mb: i64,
    pub(crate) vcores: i64,
}

impl Entitlement {
    pub(crate) const ZERO: Self = Self {
        memory_mb: 0,
        vcores: 0,
    };
    /// What an application that has not said what it wants demands.
    pub(crate) const UNBOUNDED: Self = Self {
        memory_mb: i64::MAX,
        vcores: i64::MAX,
    };

    pub(crate) fn of(resource: &Resource) -> Self {
        Self {
            memory_mb: resource.memory_mb,
            vcores: resource.vcores,
        }
    }

    fn plus(self, other: Self) -> Self {
        Self {
            memory_mb: self.memory_mb.saturating_add(other.memory_mb),
            vcores: self.vcores.saturating_add(other.vcores),
        }
    }

    fn min(self, other: Self) -> Self {
        Self {
            memory_mb: self.memory_mb.min(other.memory_mb),
            vcores: self.vcores.min(other.vcores),
        }
    }

    fn minus(self, other: Self) -> Self {
        Self {
            memory_mb: self.memory_mb.saturating_sub(other.memory_mb).max(0),
            vcores: self.vcores.saturating_sub(other.vcores).max(0),
        }
    }

    fn get(self, gated: GatedType) -> i64 {
        match gated {
            GatedType::Memory => self.memory_mb,
            GatedType::Vcores => self.vcores,
        }
    }

    /// Whether any type is larger than in `before`.
    fn grew_from(self, before: Self) -> bool {
        self.memory_mb > before.memory_mb || self.vcores > before.vcores
    }

    /// Whether `used` stays within this entitlement for the types `gate` compares.
    fn admits(self, used: Self, gate: Gate) -> bool {
        used.memory_mb <= self.memory_mb && (gate == Gate::Memory || used.vcores <= self.vcores)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GatedType {
    Memory,
    Vcores,
}

const GATED_TYPES: [GatedType; 2] = [GatedType::Memory, GatedType::Vcores];

/// Which types a level's entitlement is compared on: the policy's measure at that level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Fair `fair`, FIFO and the DefaultResourceCalculator: memory.
    Memory,
    /// Fair `drf` and the DominantResourceCalculator: memory and vcores.
    All,
}

fn gate_of(calculator: ResourceCalculator) -> Gate {
    match calculator {
        ResourceCalculator::Default => Gate::Memory,
        ResourceCalculator::Dominant => Gate::All,
    }
}

/// Whether a demand change from `before` to `after` may change a division that gave
/// `entitlement`: not when both stay at least one unit above it in every type (the cap did not
/// bind before and does not bind after; see the module comment).
fn demand_change_matters(
    before: Entitlement,
    after: Entitlement,
    entitlement: Entitlement,
) -> bool {
    if before == after {
        return false;
    }
    GATED_TYPES.iter().any(|&gated| {
        let floor = entitlement.get(gated).saturating_add(1);
        before.get(gated) < floor || after.get(gated) < floor
    })
}

/// The level whose entitlement holds a request back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShareLevel {
    /// The application's own entitlement.
    Application,
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

/// Entitlements of every queue (by slot) and every runnable application.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Entitlements {
    pub(crate) queues: Vec<Entitlement>,
    pub(crate) applications: FastMap<ApplicationId, Entitlement>,
}

impl Scheduler {
    /// Whether immediate grants stop at entitlements (see `ImmediateAllocation`).
    pub(crate) fn share_gated(&self) -> bool {
        self.config.immediate_allocation == crate::config::ImmediateAllocation::WithinShare
    }

    /// What the application demands for the division: everything while its current attempt
    /// has not called `allocate`, else what it holds plus what it asks for.
    pub(crate) fn demand_cap(&self, application: ApplicationId) -> Entitlement {
        let app = &self.applications[&application];
        if app.attempt.is_some() && !app.stated_demand {
            Entitlement::UNBOUNDED
        } else {
            Entitlement::of(&app.allocated).plus(Entitlement::of(&app.pending))
        }
    }

    /// The application's demand may have changed: entitlements go stale only if the change can
    /// move a share.
    pub(crate) fn note_demand(&mut self, application: ApplicationId) {
        if !self.share_gated() || !self.applications.contains_key(&application) {
            return;
        }
        let cap = self.demand_cap(application);
        let app = self
            .applications
            .get_mut(&application)
            .expect("checked above");
        if cap == app.demand_seen {
            return;
        }
        if app.runnable && demand_change_matters(app.demand_seen, cap, app.entitlement) {
            self.entitlements_stale = true;
        }
        app.demand_seen = cap;
    }

    /// Recomputes entitlements if an input changed; applications whose entitlement grew and
    /// that wait for room are placed again.
    pub(crate) fn refresh_entitlements(&mut self) {
        // Without applications nothing is gated: nodes registering on an idle scheduler stay
        // O(1) each.
        if !self.entitlements_stale || !self.share_gated() || self.applications.is_empty() {
            return;
        }
        self.entitlements_stale = false;
        let computed = self.compute_entitlements();
        for (index, entitlement) in computed.queues.iter().enumerate() {
            if self.queues.is_live(index) {
                let queue = self.queues.get_mut(index);
                let grew = entitlement.grew_from(queue.entitlement);
                queue.entitlement = *entitlement;
                if grew {
                    if let Some(held) = self.gated_by_queue.remove(&index) {
                        self.work.applications.extend(held);
                    }
                }
            }
        }
        let mut grown = Vec::new();
        self.unstated_applications.clear();
        for (id, app) in self.applications.iter_mut() {
            if app.runnable && app.attempt.is_some() && !app.stated_demand {
                self.unstated_applications.push(*id);
            }
            let entitlement = computed
                .applications
                .get(id)
                .copied()
                .unwrap_or(Entitlement::ZERO);
            if entitlement.grew_from(app.entitlement) && app.is_schedulable() {
                grown.push(*id);
                app.gated = false;
            }
            app.entitlement = entitlement;
        }
        self.work.applications.extend(grown);
    }

    /// Entitlements for the current state, from scratch.
    pub(crate) fn compute_entitlements(&self) -> Entitlements {
        let slots = self.queues.slot_count();
        let mut demand = vec![Entitlement::ZERO; slots];
        let mut members: FastMap<QueueIndex, Vec<(ApplicationId, Entitlement)>> =
            FastMap::default();
        for id in self.application_ids_in_order() {
            let app = &self.applications[&id];
            if !app.runnable {
                continue;
            }
            let cap = self.demand_cap(id);
            for queue in self.queues.chain(app.queue) {
                demand[queue] = demand[queue].plus(cap);
            }
            members.entry(app.queue).or_default().push((id, cap));
        }
        let mut result = Entitlements {
            queues: vec![Entitlement::ZERO; slots],
            applications: FastMap::default(),
        };
        result.queues[ROOT] = Entitlement::of(self.nodes.total());
        for &index in self.queues.depth_first() {
            let queue = self.queues.get(index);
            let total = result.queues[index];
            if queue.is_leaf {
                let Some(apps) = members.get_mut(&index) else {
                    continue;
                };
                for (id, share) in self.divide_leaf(index, total, apps) {
                    result.applications.insert(id, share);
                }
                continue;
            }
            let active: Vec<QueueIndex> = queue
                .children
                .iter()
                .copied()
                .filter(|&child| self.queues.get(child).num_runnable > 0)
                .collect();
            if active.is_empty() {
                continue;
            }
            let ordering = queue.settings.child_ordering;
            let mut shares = [Vec::new(), Vec::new()];
            for (slot, gated) in GATED_TYPES.iter().enumerate() {
                let value = |resource: &Resource| Entitlement::of(resource).get(*gated) as f64;
                let all_unguaranteed = active
                    .iter()
                    .all(|&child| value(&self.queues.get(child).guaranteed) <= 0.0);
                let entries: Vec<ShareEntry> = active
                    .iter()
                    .map(|&child| {
                        let child_queue = self.queues.get(child);
                        let cap = demand[child].get(*gated) as f64;
                        let maximum = value(&child_queue.maximum).min(cap);
                        match ordering {
                            ChildOrdering::Utilization => ShareEntry {
                                weight: if all_unguaranteed {
                                    1.0
                                } else {
                                    value(&child_queue.guaranteed)
                                },
                                min: 0.0,
                                max: maximum,
                            },
                            ChildOrdering::Fair | ChildOrdering::Drf => ShareEntry {
                                weight: child_queue.settings.weight,
                                min: value(&child_queue.guaranteed).min(cap),
                                max: maximum,
                            },
                        }
                    })
                    .collect();
                shares[slot] = distribute(total.get(*gated) as f64, &entries);
            }
            for (position, &child) in active.iter().enumerate() {
                result.queues[child] = Entitlement {
                    memory_mb: round(shares[0][position]),
                    vcores: round(shares[1][position]),
                };
            }
        }
        result
    }

    /// A leaf's entitlement divided among its runnable applications (in submission order).
    fn divide_leaf(
        &self,
        leaf: QueueIndex,
        total: Entitlement,
        apps: &mut [(ApplicationId, Entitlement)],
    ) -> Vec<(ApplicationId, Entitlement)> {
        match self.queues.get(leaf).settings.application_ordering {
            ApplicationOrdering::Fifo => {
                // Priority first (higher first), then submission: each takes what it demands.
                apps.sort_by_key(|(id, _)| std::cmp::Reverse(self.applications[id].priority));
                let mut left = total;
                apps.iter()
                    .map(|&(id, cap)| {
                        let share = cap.min(left);
                        left = left.minus(share);
                        (id, share)
                    })
                    .collect()
            }
            ApplicationOrdering::Fair { .. } | ApplicationOrdering::Drf => {
                let mut shares = [Vec::new(), Vec::new()];
                for (slot, gated) in GATED_TYPES.iter().enumerate() {
                    let entries: Vec<ShareEntry> = apps
                        .iter()
                        .map(|(_, cap)| ShareEntry {
                            weight: 1.0,
                            min: 0.0,
                            max: cap.get(*gated) as f64,
                        })
                        .collect();
                    shares[slot] = distribute(total.get(*gated) as f64, &entries);
                }
                apps.iter()
                    .enumerate()
                    .map(|(position, &(id, _))| {
                        (
                            id,
                            Entitlement {
                                memory_mb: round(shares[0][position]),
                                vcores: round(shares[1][position]),
                            },
                        )
                    })
                    .collect()
            }
        }
    }

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
        let leaf = self.queues.get(app.queue);
        let app_gate = match leaf.settings.application_ordering {
            ApplicationOrdering::Drf => Gate::All,
            ApplicationOrdering::Fair { .. } => Gate::Memory,
            ApplicationOrdering::Fifo => self.queue_gate(app.queue),
        };
        if !app
            .entitlement
            .admits(Entitlement::of(&app.allocated).plus(add), app_gate)
        {
            return Some(ShareLevel::Application);
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
        self.gated_by_queue.retain(|_, held| {
            held.remove(&application);
            !held.is_empty()
        });
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

    /// Whether the pass over `node` may still grant a container of `locality` beyond
    /// entitlements: only in a heartbeat of that node, within its budget.
    pub(crate) fn elastic_allowed(
        &self,
        node: NodeIndex,
        locality: Locality,
        capability: &Resource,
    ) -> bool {
        if !self.share_gated() {
            return true;
        }
        let Some(budget) = &self.heartbeat_budget else {
            return false;
        };
        budget.node == node
            && self.leaves_protected_room(capability)
            && budget.containers != Some(0)
            && (locality != Locality::OffSwitch || budget.off_switch != Some(0))
            && budget.resource_cap.is_none_or(|cap| {
                // YARN's dynamic max assign keeps assigning while what was assigned fits in half
                // the node's unallocated room.
                cap.admits(budget.assigned, Gate::All)
            })
    }

    /// Whether the cluster's free room, less `capability`, still holds what the applications
    /// that have not called `allocate` yet are entitled to beyond what they hold: their share
    /// is kept for them, not lent, until they say what they want.
    fn leaves_protected_room(&self, capability: &Resource) -> bool {
        if self.unstated_applications.is_empty() {
            return true;
        }
        let mut protected = Entitlement::ZERO;
        for id in &self.unstated_applications {
            if let Some(app) = self.applications.get(id) {
                protected = protected.plus(app.entitlement.minus(Entitlement::of(&app.allocated)));
            }
        }
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

fn round(value: f64) -> i64 {
    if value >= i64::MAX as f64 {
        i64::MAX
    } else {
        value.round().max(0.0) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entitlement(memory_mb: i64, vcores: i64) -> Entitlement {
        Entitlement { memory_mb, vcores }
    }

    #[test]
    fn a_demand_well_above_the_entitlement_changes_no_share() {
        let share = entitlement(4096, 4);
        assert!(!demand_change_matters(
            entitlement(9000, 9),
            entitlement(5000, 5),
            share
        ));
        assert!(!demand_change_matters(
            Entitlement::UNBOUNDED,
            entitlement(4097, 5),
            share
        ));
    }

    #[test]
    fn a_demand_at_or_below_the_entitlement_may_move_shares() {
        let share = entitlement(4096, 4);
        assert!(demand_change_matters(
            entitlement(9000, 9),
            entitlement(4096, 9),
            share
        ));
        assert!(demand_change_matters(
            entitlement(2048, 2),
            entitlement(3072, 3),
            share
        ));
        assert!(demand_change_matters(
            entitlement(9000, 4),
            entitlement(8000, 5),
            share
        ));
    }

    #[test]
    fn the_gate_compares_memory_or_every_type() {
        let share = entitlement(4096, 2);
        assert!(share.admits(entitlement(4096, 3), Gate::Memory));
        assert!(!share.admits(entitlement(4096, 3), Gate::All));
        assert!(!share.admits(entitlement(4097, 1), Gate::Memory));
    }
}
