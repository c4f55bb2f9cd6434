//! Entitlements: the share of the cluster the policy gives each active queue and application
//! now. Room within both an application's entitlement and its steady share is granted the
//! moment a request and room meet; the rest of its entitlement once its share window has passed
//! (`gate.rs`); room beyond every entitlement (elastic room) only on node heartbeats, paced as
//! YARN paces assignments per heartbeat. So asks arriving close together share as the policy
//! says rather than as they arrived.
//!
//! The steady division is the same computation with every configured queue counted and no
//! demand at the queue levels (YARN's steady fair share; Capacity's guarantees).
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
//! one unit changes no share, so a busy cluster's completions and asks cost nothing here. Above
//! 64 applications a change waits for the first `TimeAdvanced` 250 ms or more after the last
//! computation (the RM ticks every 250 ms; YARN's Fair Scheduler recomputes fair shares every
//! 500 ms): arrivals within that time are divided in one computation, and an arrival costs O(1)
//! here.

use spindle_types::{ApplicationId, Resource};

use crate::calculator::ResourceCalculator;
use crate::fair_shares::{distribute, ShareEntry};
use crate::fast_hash::FastMap;
use crate::queues::settings::{ApplicationOrdering, ChildOrdering};
use crate::queues::{QueueIndex, ROOT};
use crate::scheduler::Scheduler;

mod gate;

pub(crate) use gate::HeartbeatBudget;

/// Above this many applications a change reaches the entitlements at a `TimeAdvanced` rather
/// than at once: recomputing costs O(applications).
const DEFER_RECOMPUTE_ABOVE_APPLICATIONS: usize = 64;

/// Deferred changes are computed at the first `TimeAdvanced` at least this long after the last
/// computation (the RM ticks every 250 ms; a host that sends time more often, as the simulator
/// does at every event, gets the same pace).
const RECOMPUTE_INTERVAL_MS: i64 = 250;

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

    pub(crate) fn plus(self, other: Self) -> Self {
        Self {
            memory_mb: self.memory_mb.saturating_add(other.memory_mb),
            vcores: self.vcores.saturating_add(other.vcores),
        }
    }

    pub(crate) fn max(self, other: Self) -> Self {
        Self {
            memory_mb: self.memory_mb.max(other.memory_mb),
            vcores: self.vcores.max(other.vcores),
        }
    }

    pub(crate) fn min(self, other: Self) -> Self {
        Self {
            memory_mb: self.memory_mb.min(other.memory_mb),
            vcores: self.vcores.min(other.vcores),
        }
    }

    pub(crate) fn minus(self, other: Self) -> Self {
        Self {
            memory_mb: self.memory_mb.saturating_sub(other.memory_mb).max(0),
            vcores: self.vcores.saturating_sub(other.vcores).max(0),
        }
    }

    pub(crate) fn get(self, gated: GatedType) -> i64 {
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
    pub(crate) fn admits(self, used: Self, gate: Gate) -> bool {
        used.memory_mb <= self.memory_mb && (gate == Gate::Memory || used.vcores <= self.vcores)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GatedType {
    Memory,
    Vcores,
}

const GATED_TYPES: [GatedType; 2] = [GatedType::Memory, GatedType::Vcores];

/// Which types a level's entitlement is compared on: the policy's measure at that level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Fair `fair`, FIFO and the DefaultResourceCalculator: memory.
    Memory,
    /// Fair `drf` and the DominantResourceCalculator: memory and vcores.
    All,
}

pub(crate) fn gate_of(calculator: ResourceCalculator) -> Gate {
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

/// Entitlements of every queue (by slot) and every runnable application.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Entitlements {
    pub(crate) queues: Vec<Entitlement>,
    pub(crate) applications: FastMap<ApplicationId, Entitlement>,
    /// Each runnable application's share of the steady division (every configured queue
    /// counted, as YARN's steady fair share): it gets at once what is within both.
    pub(crate) steady: FastMap<ApplicationId, Entitlement>,
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
        if app.limited {
            // Its user limit lets it have nothing more now: it keeps no room from others.
            Entitlement::of(&app.allocated)
        } else if app.awaits_first_allocate() {
            Entitlement::UNBOUNDED
        } else {
            Entitlement::of(&app.allocated).plus(Entitlement::of(&app.pending))
        }
    }

    /// Queues with a runnable application (in them or below) whose current attempt has not
    /// called `allocate` yet: for entitlements and preemption they want everything.
    pub(crate) fn queues_with_unstated_demand(&self) -> crate::fast_hash::FastSet<QueueIndex> {
        let mut queues = crate::fast_hash::FastSet::default();
        for app in self.applications.values() {
            if app.runnable && app.awaits_first_allocate() && !app.limited {
                queues.extend(self.queues.chain(app.queue));
            }
        }
        queues
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
        // The steady division caps leaves' applications by demand too.
        let share = app.entitlement.max(app.steady_share);
        let matters = app.runnable && demand_change_matters(app.demand_seen, cap, share);
        app.demand_seen = cap;
        if matters {
            self.entitlements_changed();
        }
    }

    /// An input of the entitlements changed. With few applications they are recomputed before
    /// the event's placement; above [`DEFER_RECOMPUTE_ABOVE_APPLICATIONS`] at the first
    /// `TimeAdvanced` [`RECOMPUTE_INTERVAL_MS`] after the last computation (the RM ticks every
    /// quarter second), as YARN's Fair Scheduler recomputes
    /// fair shares on its update interval: a recomputation costs O(applications), and an
    /// arrival or completion must not. Until then every application keeps its entitlement (a
    /// new one has none: it gets its AM container, and elastic room on heartbeats).
    pub(crate) fn entitlements_changed(&mut self) {
        if self.applications.len() > DEFER_RECOMPUTE_ABOVE_APPLICATIONS {
            self.entitlements_deferred = true;
        } else {
            self.entitlements_stale = true;
        }
    }

    /// Whether deferred changes are due: [`RECOMPUTE_INTERVAL_MS`] passed since the last
    /// computation.
    pub(crate) fn entitlement_interval_passed(&self) -> bool {
        self.now_ms
            >= self
                .entitlements_computed_ms
                .saturating_add(RECOMPUTE_INTERVAL_MS)
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
        self.entitlements_deferred = false;
        self.entitlements_computed_ms = self.now_ms;
        let computed = self.compute_entitlements();
        for (index, entitlement) in computed.queues.iter().enumerate() {
            if self.queues.is_live(index) {
                let was_at_share = self.queue_at_share(index);
                // Walks within shares do not visit such a queue (nor mark it blocked).
                let was_closed = was_at_share && self.queue_closed_to_shares(index);
                let queue = self.queues.get_mut(index);
                let grew = entitlement.grew_from(queue.entitlement);
                queue.entitlement = *entitlement;
                if self.queue_at_share(index) != was_at_share {
                    // A queue at its share is walked, not listed as delayed (`queue_listing`).
                    self.keys_stale = true;
                }
                if grew {
                    if let Some(held) = self.gated_by_queue.remove(&index) {
                        self.work.applications.extend(held);
                    }
                    if self.blocked.queues.remove(&index) || was_closed {
                        self.work.queues.push(index);
                    }
                }
            }
        }
        let mut grown = Vec::new();
        let caps: FastMap<ApplicationId, Entitlement> = self
            .applications
            .keys()
            .map(|&id| (id, self.demand_cap(id)))
            .collect();
        for (id, app) in self.applications.iter_mut() {
            app.demand_seen = caps[id];
            let steady = computed
                .steady
                .get(id)
                .copied()
                .unwrap_or(Entitlement::ZERO);
            let entitlement = computed
                .applications
                .get(id)
                .copied()
                .unwrap_or(Entitlement::ZERO);
            let grew = entitlement.grew_from(app.entitlement) || steady.grew_from(app.steady_share);
            app.steady_share = steady;
            if grew && app.is_schedulable() {
                grown.push(*id);
                app.gated = false;
            }
            app.entitlement = entitlement;
        }
        self.work.applications.extend(grown);
        let ids: Vec<ApplicationId> = self.applications.keys().copied().collect();
        for id in ids {
            self.sync_protection(id);
        }
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
            steady: FastMap::default(),
        };
        result.steady = self.steady_division(&mut members).into_iter().collect();
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
            let caps: Vec<Entitlement> = active.iter().map(|&child| demand[child]).collect();
            let shares = self.divide_among_children(index, total, &active, &caps);
            for (&child, share) in active.iter().zip(shares) {
                result.queues[child] = share;
            }
        }
        result
    }

    /// Each runnable application's share of the steady division: every configured queue
    /// counts, with no demand (Fair: weights with minResources and maxResources; Capacity:
    /// guarantees up to maximum capacity); leaves divide theirs as for entitlements.
    fn steady_division(
        &self,
        members: &mut FastMap<QueueIndex, Vec<(ApplicationId, Entitlement)>>,
    ) -> Vec<(ApplicationId, Entitlement)> {
        let mut shares = vec![Entitlement::ZERO; self.queues.slot_count()];
        shares[ROOT] = Entitlement::of(self.nodes.total());
        let mut result = Vec::new();
        for &index in self.queues.depth_first() {
            let queue = self.queues.get(index);
            let total = shares[index];
            if queue.is_leaf {
                if let Some(apps) = members.get_mut(&index) {
                    result.extend(self.divide_leaf(index, total, apps));
                }
                continue;
            }
            if queue.children.is_empty() {
                continue;
            }
            let caps = vec![Entitlement::UNBOUNDED; queue.children.len()];
            let divided = self.divide_among_children(index, total, &queue.children, &caps);
            for (&child, share) in queue.children.iter().zip(divided) {
                shares[child] = share;
            }
        }
        result
    }

    /// `total` divided among `children` of `parent` by its ordering, each capped by its `caps`
    /// entry (Fair: weights, with minResources and maxResources; Capacity: in proportion to the
    /// guarantees, up to maximum capacity), memory and vcores separately.
    fn divide_among_children(
        &self,
        parent: QueueIndex,
        total: Entitlement,
        children: &[QueueIndex],
        caps: &[Entitlement],
    ) -> Vec<Entitlement> {
        let ordering = self.queues.get(parent).settings.child_ordering;
        let mut divided = [Vec::new(), Vec::new()];
        for (slot, gated) in GATED_TYPES.iter().enumerate() {
            let value = |resource: &Resource| Entitlement::of(resource).get(*gated) as f64;
            let all_unguaranteed = children
                .iter()
                .all(|&child| value(&self.queues.get(child).guaranteed) <= 0.0);
            let entries: Vec<ShareEntry> = children
                .iter()
                .zip(caps)
                .map(|(&child, cap)| {
                    let child_queue = self.queues.get(child);
                    let cap = cap.get(*gated) as f64;
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
            divided[slot] = distribute(total.get(*gated) as f64, &entries);
        }
        (0..children.len())
            .map(|position| Entitlement {
                memory_mb: round(divided[0][position]),
                vcores: round(divided[1][position]),
            })
            .collect()
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
