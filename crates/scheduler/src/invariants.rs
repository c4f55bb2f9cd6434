//! Conservation invariants as code: tests call `check_invariants` after every event.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use spindle_types::{ApplicationId, Resource};

use crate::asks::{PendingCapabilities, RequestSlot};
use crate::queues::{QueueIndex, QueueUser};
use crate::scheduler::Scheduler;

/// A broken invariant: which one, and the offending state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scheduler invariant '{invariant}' broken: {detail}")]
pub struct InvariantViolation {
    pub invariant: &'static str,
    pub detail: String,
}

pub(crate) fn violation(
    invariant: &'static str,
    detail: impl Into<String>,
) -> Result<(), InvariantViolation> {
    Err(InvariantViolation {
        invariant,
        detail: detail.into(),
    })
}

impl Scheduler {
    /// Checks, in O(state) time:
    /// - node capacity = allocated + available, allocated = sum of its containers, no negative
    ///   allocation (available is negative only where capacity was lowered below allocated);
    /// - every live container is on exactly one node and in exactly one application, whose
    ///   current or last attempt owns it; container ids of the current epoch are below their
    ///   attempt's next sequence; a live AM container is its current attempt's only one;
    /// - application usage = sum of its containers; queue usage, AM usage, pending resources,
    ///   application counts and per-user accounts = sums over its applications (leaves) or
    ///   children (parents);
    /// - the indexes (free resources, hosts, racks, schedulable applications and queues with
    ///   up-to-date sort keys, pending capabilities, reservations) match the records;
    /// - no request its limits allow fits on a node its locality and delay scheduling allow and
    ///   that is not held for another request (placement is never left undone), unless it is
    ///   beyond its entitlement (room beyond goes out on node heartbeats);
    /// - entitlements match a computation from scratch.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        self.check_nodes()?;
        self.check_delayed_walk()?;
        self.check_applications()?;
        self.check_queues()?;
        self.check_schedulable_sets()?;
        self.check_pending_indexes()?;
        self.check_reservations()?;
        self.check_locality_states()?;
        self.check_entitlements()?;
        self.check_nothing_placeable()
    }

    /// Stored entitlements are what a computation from scratch gives (the rule that skips
    /// recomputing for demand changes far above an entitlement never misses a change).
    fn check_entitlements(&self) -> Result<(), InvariantViolation> {
        for id in self.application_ids_in_order() {
            let app = &self.applications[&id];
            let asks_am = app.attempt.as_ref().is_some_and(|attempt| {
                attempt
                    .asks
                    .pending_capability(crate::asks::RequestSlot::ApplicationMaster)
                    .is_some()
            });
            if asks_am != self.am_pending.contains(&id) {
                return violation(
                    "applications waiting for their AM container are listed",
                    format!("{id} asks for its AM: {asks_am}, listed: {}", !asks_am),
                );
            }
        }
        if !self.share_gated() || self.entitlements_stale || self.entitlements_deferred {
            return Ok(());
        }
        let mut protected = crate::entitlements::Entitlement::ZERO;
        for id in self.application_ids_in_order() {
            let app = &self.applications[&id];
            let expected = self.protected_room_of(app);
            if app.protection != expected {
                return violation(
                    "protected room is up to date",
                    format!("{id} keeps {:?}, computed {expected:?}", app.protection),
                );
            }
            protected = protected.plus(expected);
        }
        if protected != self.protected_room {
            return violation(
                "protected room adds up",
                format!("total {:?}, sum {protected:?}", self.protected_room),
            );
        }
        let fresh = self.compute_entitlements();
        for (index, queue) in self.queues.iter() {
            if queue.entitlement != fresh.queues[index] {
                return violation(
                    "queue entitlements are up to date",
                    format!(
                        "{} holds {:?}, computed {:?}",
                        queue.path, queue.entitlement, fresh.queues[index]
                    ),
                );
            }
        }
        for id in self.application_ids_in_order() {
            let app = &self.applications[&id];
            let computed = fresh.applications.get(&id).copied().unwrap_or_default();
            let steady = fresh.steady.get(&id).copied().unwrap_or_default();
            if app.steady_share != steady {
                return violation(
                    "application steady shares are up to date",
                    format!("{id} holds {:?}, computed {steady:?}", app.steady_share),
                );
            }
            if app.entitlement != computed {
                return violation(
                    "application entitlements are up to date",
                    format!("{id} holds {:?}, computed {:?}", app.entitlement, computed),
                );
            }
        }
        Ok(())
    }

    fn check_nodes(&self) -> Result<(), InvariantViolation> {
        if let Err(detail) = self.nodes.check_indexes() {
            return violation("node indexes match nodes", detail);
        }
        let mut containers_on_nodes = 0;
        for (index, node) in self.nodes.iter() {
            if node.capability != node.allocated.add(&node.available) {
                return violation(
                    "node capacity = allocated + available",
                    format!(
                        "{}: {} != {} + {}",
                        node.id, node.capability, node.allocated, node.available
                    ),
                );
            }
            if node.allocated.any_negative() || node.capability.any_negative() {
                return violation(
                    "no negative resource",
                    format!("node {} allocated {}", node.id, node.allocated),
                );
            }
            let mut sum = Resource::ZERO;
            for container in node.containers.sorted().iter() {
                match self.containers.get(container) {
                    Some(record) if record.node == index => sum.add_assign(&record.resource),
                    _ => {
                        return violation(
                            "every live container on exactly one node",
                            format!(
                                "{container} listed on {} but recorded elsewhere or not live",
                                node.id
                            ),
                        )
                    }
                }
            }
            containers_on_nodes += node.containers.len();
            if sum != node.allocated {
                return violation(
                    "node allocated = sum of its containers",
                    format!("{}: {} != {sum}", node.id, node.allocated),
                );
            }
        }
        if containers_on_nodes != self.containers.len() {
            return violation(
                "every live container on exactly one node",
                format!(
                    "{} containers on nodes, {} live",
                    containers_on_nodes,
                    self.containers.len()
                ),
            );
        }
        Ok(())
    }

    fn check_applications(&self) -> Result<(), InvariantViolation> {
        let mut containers_in_applications = 0;
        for (id, app) in &self.applications {
            let mut sum = Resource::ZERO;
            for container in app.containers.sorted().iter() {
                let Some(record) = self.containers.get(container) else {
                    return violation(
                        "application containers are live",
                        format!("{id} lists {container}"),
                    );
                };
                if container.application_id() != *id {
                    return violation(
                        "container in its own application",
                        format!("{container} in {id}"),
                    );
                }
                let owner_is_current = app
                    .attempt
                    .as_ref()
                    .is_some_and(|attempt| attempt.id == record.owner);
                if !owner_is_current && app.last_attempt != Some(record.owner) {
                    return violation(
                        "every live container on exactly one attempt",
                        format!(
                            "{container} owned by {}, not a current or last attempt of {id}",
                            record.owner
                        ),
                    );
                }
                if record.resource.any_negative() {
                    return violation(
                        "no negative resource",
                        format!("{container} has {}", record.resource),
                    );
                }
                sum.add_assign(&record.resource);
            }
            containers_in_applications += app.containers.len();
            if sum != app.allocated {
                return violation(
                    "application usage = sum of its containers",
                    format!("{id}: {} != {sum}", app.allocated),
                );
            }
            let pending = app
                .attempt
                .as_ref()
                .map(|attempt| attempt.asks.pending_resource().clone())
                .unwrap_or_default();
            if pending != app.pending {
                return violation(
                    "application pending = its asks",
                    format!("{id}: counted {} but asks hold {pending}", app.pending),
                );
            }
            if let Some(attempt) = &app.attempt {
                if let Err(detail) = attempt.asks.check() {
                    return violation("ask table consistent", format!("{}: {detail}", attempt.id));
                }
                // Ids of other epochs (recovered after an RM restart) cannot collide with the
                // ones this scheduler issues.
                let too_new = app.containers.iter().find(|container| {
                    container.attempt_id == attempt.id
                        && container.epoch() == self.config.rm_epoch
                        && container.sequence() >= attempt.next_sequence
                });
                if let Some(container) = too_new {
                    return violation(
                        "container ids are issued once",
                        format!("{container} not below the next sequence"),
                    );
                }
            }
            // An application's live AM container (allocated or recovered) is its current
            // attempt's, and there is at most one.
            let mut am_containers = app
                .containers
                .iter()
                .filter(|container| self.containers[*container].is_am);
            if let Some(am) = am_containers.next() {
                let current = app
                    .attempt
                    .as_ref()
                    .is_some_and(|attempt| attempt.am_container == Some(*am));
                if !current || am_containers.next().is_some() {
                    return violation(
                        "a live AM container is its current attempt's only one",
                        format!("{id}: {am}"),
                    );
                }
            }
            if app.runnable == self.non_runnable.contains(&(app.submission, *id)) {
                return violation(
                    "non-runnable applications are listed",
                    format!("{id} runnable={}", app.runnable),
                );
            }
            if !self.queues.is_live(app.queue) || !self.queues.get(app.queue).is_leaf {
                return violation("applications are in leaf queues", id.to_string());
            }
        }
        if containers_in_applications != self.containers.len() {
            return violation(
                "every live container in exactly one application",
                format!(
                    "{containers_in_applications} in applications, {} live",
                    self.containers.len()
                ),
            );
        }
        if self.non_runnable.len()
            != self
                .applications
                .values()
                .filter(|app| !app.runnable)
                .count()
        {
            return violation("non-runnable applications are listed", "stale entries");
        }
        for container in self.preemption.marked.keys() {
            if !self.containers.contains_key(container) {
                return violation("containers asked back are live", container.to_string());
            }
        }
        Ok(())
    }

    fn check_queues(&self) -> Result<(), InvariantViolation> {
        #[derive(Default, Clone, PartialEq, Eq, Debug)]
        struct Totals {
            used: Resource,
            am_used: Resource,
            pending: Resource,
            applications: usize,
            runnable: usize,
        }
        let mut per_leaf: HashMap<QueueIndex, Totals> = HashMap::new();
        let mut users: HashMap<QueueIndex, BTreeMap<String, QueueUser>> = HashMap::new();
        for app in self.applications.values() {
            let totals = per_leaf.entry(app.queue).or_default();
            totals.used.add_assign(&app.allocated);
            totals.pending.add_assign(&app.pending);
            totals.applications += 1;
            totals.runnable += usize::from(app.runnable);
            let account = users
                .entry(app.queue)
                .or_default()
                .entry(app.user.clone())
                .or_default();
            account.used.add_assign(&app.allocated);
            account.applications += 1;
            account.runnable_applications += usize::from(app.runnable);
            account.schedulable_applications += usize::from(app.sort_key.is_some());
            for container in app.containers.sorted().iter() {
                let record = &self.containers[container];
                if record.is_am {
                    totals.am_used.add_assign(&record.resource);
                    account.am_used.add_assign(&record.resource);
                }
            }
        }
        for (index, queue) in self.queues.iter() {
            let expected = if queue.children.is_empty() {
                per_leaf.get(&index).cloned().unwrap_or_default()
            } else {
                let mut sum = Totals::default();
                for &child in &queue.children {
                    let child = self.queues.get(child);
                    sum.used.add_assign(&child.used);
                    sum.am_used.add_assign(&child.am_used);
                    sum.pending.add_assign(&child.pending);
                    sum.applications += child.num_applications;
                    sum.runnable += child.num_runnable;
                }
                sum
            };
            let actual = Totals {
                used: queue.used.clone(),
                am_used: queue.am_used.clone(),
                pending: queue.pending.clone(),
                applications: queue.num_applications,
                runnable: queue.num_runnable,
            };
            if actual != expected || queue.used.any_negative() || queue.pending.any_negative() {
                return violation(
                    "queue usage = sum of its applications or children",
                    format!("{}: {actual:?} != {expected:?}", queue.path),
                );
            }
            if let (Some(floor), Some(limit)) = (&queue.user_limit_floor, self.user_limit(index)) {
                if self
                    .calculator
                    .greater_than(self.nodes.total(), floor, &limit)
                {
                    return violation(
                        "the user limit is never below its floor",
                        format!("{}: floor {floor}, limit {limit}", queue.path),
                    );
                }
            }
            if queue.is_leaf {
                let expected_users = users.remove(&index).unwrap_or_default();
                let actual_users: BTreeMap<String, QueueUser> = queue
                    .users
                    .iter()
                    .filter(|(_, account)| **account != QueueUser::default())
                    .map(|(name, account)| (name.clone(), account.clone()))
                    .collect();
                if actual_users != expected_users {
                    return violation(
                        "per-user accounts = sums over the user's applications",
                        format!("{}: {actual_users:?} != {expected_users:?}", queue.path),
                    );
                }
                let active = expected_users
                    .values()
                    .filter(|account| account.schedulable_applications > 0)
                    .count();
                let mut active_used = Resource::ZERO;
                for account in expected_users.values() {
                    if account.schedulable_applications > 0 {
                        active_used.add_assign(&account.used);
                    }
                }
                if queue.active_used != active_used {
                    return violation(
                        "active users' usage",
                        format!("{}: {} != {active_used}", queue.path, queue.active_used),
                    );
                }
                if queue.active_users != active {
                    return violation(
                        "active users",
                        format!("{}: {} != {active}", queue.path, queue.active_users),
                    );
                }
            }
        }
        Ok(())
    }

    fn check_schedulable_sets(&self) -> Result<(), InvariantViolation> {
        if self.limits_stale && !self.applications.is_empty() {
            return violation(
                "queue limits are resolved while applications exist",
                format!("{} applications", self.applications.len()),
            );
        }
        if !self.moved.queues.is_empty()
            || !self.moved.applications.is_empty()
            || self
                .moved
                .queues
                .iter()
                .any(|&q| !self.queues.is_live(q) || !self.queues.get(q).moved)
            || self
                .moved
                .applications
                .iter()
                .any(|a| !self.applications.get(a).is_some_and(|app| app.moved))
            || self
                .queues
                .iter()
                .any(|(q, queue)| queue.moved && !self.moved.queues.contains(&q))
            || self
                .applications
                .iter()
                .any(|(id, app)| app.moved && !self.moved.applications.contains(id))
        {
            return violation(
                "moved keys are applied at the end of every event",
                format!("{:?}", self.moved),
            );
        }
        let cluster = self.nodes.total();
        for (id, app) in &self.applications {
            if app.sort_key.is_some() != app.is_schedulable() {
                return violation(
                    "schedulable applications are in their leaf's set",
                    format!(
                        "{id}: key {:?}, schedulable {}",
                        app.sort_key,
                        app.is_schedulable()
                    ),
                );
            }
            if app.listed_key.is_some() != app.sort_key.is_some()
                || (!app.moved && app.listed_key != app.sort_key)
                || (app.moved && (!app.in_walk || app.delayed))
            {
                return violation(
                    "applications are listed under their keys unless moved",
                    format!("{id}: listed {:?}, key {:?}", app.listed_key, app.sort_key),
                );
            }
            if app.sort_key.is_some() && app.in_walk != app.is_walkable() {
                return violation(
                    "applications with an open request are walked",
                    format!(
                        "{id}: in walk {}, open requests {}",
                        app.in_walk, app.open_slots
                    ),
                );
            }
            if let Some(key) = app.sort_key {
                let demand = app.demand();
                let fresh = crate::ordering::app_key(
                    self.queues.get(app.queue).settings.application_ordering,
                    &crate::ordering::AppOrderInputs {
                        application: *id,
                        priority: app.priority,
                        allocated: &app.allocated,
                        demand: &demand,
                    },
                    cluster,
                );
                let leaf = self.queues.get(app.queue);
                let listed = app.listed_key.expect("checked above");
                let in_set = if app.delayed {
                    leaf.delayed_applications.contains(&listed)
                } else if app.in_walk {
                    leaf.schedulable_applications.contains(&listed)
                } else {
                    leaf.waiting_applications.contains(&listed)
                };
                if key != fresh || !in_set {
                    return violation(
                        "application sort keys are current",
                        format!("{id}: {key:?} vs {fresh:?}"),
                    );
                }
            }
        }
        for (index, queue) in self.queues.iter() {
            let listed = queue.schedulable_applications.len()
                + queue.waiting_applications.len()
                + queue.delayed_applications.len();
            let expected = self
                .applications
                .values()
                .filter(|app| app.queue == index && app.sort_key.is_some())
                .count();
            if listed != expected {
                return violation(
                    "leaf sets hold exactly the schedulable applications",
                    format!("{}: {listed} listed, {expected} schedulable", queue.path),
                );
            }
            let children: BTreeSet<_> = queue
                .children
                .iter()
                .filter_map(|&child| self.queues.get(child).key_in_parent)
                .collect();
            if children != queue.schedulable_children {
                return violation(
                    "parent sets hold exactly the schedulable children",
                    queue.path.clone(),
                );
            }
            let open: BTreeSet<_> = queue
                .children
                .iter()
                .filter(|&&child| !self.queue_closed_to_shares(child))
                .filter_map(|&child| self.queues.get(child).key_in_parent)
                .collect();
            if open != queue.open_children {
                return violation(
                    "parents list apart exactly the children open to walks within shares",
                    queue.path.clone(),
                );
            }
            if let Some(parent) = queue.parent {
                let schedulable = queue.is_schedulable();
                if schedulable
                    != (queue.key_in_parent.is_some() || queue.delayed_in_parent.is_some())
                    || (queue.key_in_parent.is_some() && queue.delayed_in_parent.is_some())
                {
                    return violation(
                        "schedulable queues are in their parent's set",
                        queue.path.clone(),
                    );
                }
                let demand = queue.demand();
                let fresh = schedulable.then(|| {
                    crate::ordering::queue_key(
                        self.queues.get(parent).settings.child_ordering,
                        &crate::ordering::QueueOrderInputs {
                            index,
                            used: &queue.used,
                            demand: &demand,
                            guaranteed: &queue.guaranteed,
                            min_share: &queue.settings.min_resources,
                            weight: queue.settings.weight,
                        },
                        cluster,
                        self.calculator,
                    )
                });
                let listed_current = if queue.moved {
                    fresh.is_some() && Some(queue.order_key) == Some(fresh)
                } else {
                    fresh == queue.key_in_parent.or(queue.delayed_in_parent)
                };
                if !listed_current {
                    return violation("queue sort keys are current", queue.path.clone());
                }
                let order_key = crate::ordering::queue_key(
                    self.queues.get(parent).settings.child_ordering,
                    &crate::ordering::QueueOrderInputs {
                        index,
                        used: &queue.used,
                        demand: &demand,
                        guaranteed: &queue.guaranteed,
                        min_share: &queue.settings.min_resources,
                        weight: queue.settings.weight,
                    },
                    cluster,
                    self.calculator,
                );
                // While node registrations left the limits stale (no application exists yet),
                // keys are recomputed with them.
                if !self.limits_stale && queue.order_key.is_some_and(|key| key != order_key) {
                    return violation("queue order keys are current", queue.path.clone());
                }
            }
        }
        Ok(())
    }

    fn check_pending_indexes(&self) -> Result<(), InvariantViolation> {
        let capabilities = PendingCapabilities::from_capabilities(
            self.applications
                .values()
                .filter_map(|app| app.attempt.as_ref())
                .flat_map(|attempt| attempt.asks.pending_capabilities()),
        );
        if capabilities != self.pending_capabilities {
            return violation(
                "pending capabilities index",
                "does not match the ask tables",
            );
        }
        Ok(())
    }

    fn check_reservations(&self) -> Result<(), InvariantViolation> {
        let mut from_nodes = BTreeSet::new();
        for (index, node) in self.nodes.iter() {
            let Some(reservation) = &node.reservation else {
                continue;
            };
            from_nodes.insert((reservation.application, reservation.slot, index));
            let app = self.applications.get(&reservation.application);
            let pending = app
                .and_then(|app| app.attempt.as_ref())
                .and_then(|attempt| attempt.asks.pending_capability(reservation.slot));
            if pending != Some(&reservation.capability) || !app.is_some_and(|a| a.runnable) {
                return violation(
                    "reservations are for pending requests",
                    format!("{} held for {}", node.id, reservation.application),
                );
            }
            if node.available.fits(&reservation.capability)
                && self
                    .limit_blocker(
                        reservation.application,
                        &reservation.capability,
                        reservation.slot == RequestSlot::ApplicationMaster,
                    )
                    .is_none()
            {
                return violation(
                    "a held node is served as soon as its request fits",
                    format!(
                        "{} has {} free for {}",
                        node.id, node.available, reservation.capability
                    ),
                );
            }
        }
        let from_applications: BTreeSet<(ApplicationId, RequestSlot, _)> = self
            .applications
            .values()
            .flat_map(|app| {
                app.reservations
                    .iter()
                    .map(|(slot, node)| (app.id, *slot, *node))
            })
            .collect();
        if from_nodes != from_applications {
            return violation(
                "node and application reservations agree",
                format!("{from_nodes:?} vs {from_applications:?}"),
            );
        }
        Ok(())
    }

    /// Every request's delay state is what its wait gives at its own opportunity count, and
    /// exactly the placeable requests are open (counted per application).
    fn check_locality_states(&self) -> Result<(), InvariantViolation> {
        let nodes = self.nodes.len();
        let mut ids: Vec<&ApplicationId> = self.applications.keys().collect();
        ids.sort();
        for id in ids {
            let app = &self.applications[id];
            let Some(attempt) = &app.attempt else {
                if app.open_slots != 0 {
                    return violation("open requests are counted", id.to_string());
                }
                continue;
            };
            let mut open = 0;
            for (slot, state) in attempt.asks.slots_with_state() {
                let view = attempt.asks.slot_view(slot).expect("listed slot");
                let detail = || format!("{id} priority {}: {state:?}", slot.priority());
                if view.placeable {
                    let fresh =
                        self.delay
                            .evaluate(view.wait, view.shape, nodes, view.wait.offered);
                    if fresh.wait != view.wait
                        || fresh.rack_local_allowed != state.rack_local_allowed
                        || fresh.off_switch_allowed != state.off_switch_allowed
                        || fresh.deadline != state.deadline
                        || !state.open
                    {
                        return violation(
                            "delay states are current",
                            format!("{} vs {fresh:?}", detail()),
                        );
                    }
                } else if state.open || state.deadline.is_some() {
                    return violation("unplaceable requests are closed", detail());
                }
                open += usize::from(state.open);
            }
            if open != app.open_slots {
                return violation(
                    "open requests are counted",
                    format!("{id}: {open} open, {} counted", app.open_slots),
                );
            }
        }
        Ok(())
    }

    fn check_nothing_placeable(&self) -> Result<(), InvariantViolation> {
        // During the recovery wait placement is held back on purpose.
        if self.waiting_for_recovery() {
            return Ok(());
        }
        let mut ids: Vec<&ApplicationId> = self.applications.keys().collect();
        ids.sort();
        for id in ids {
            let app = &self.applications[id];
            if !app.is_schedulable() {
                continue;
            }
            let attempt = app
                .attempt
                .as_ref()
                .expect("schedulable applications have an attempt");
            for slot in attempt.asks.pending_slots() {
                let capability = attempt.asks.pending_capability(slot).expect("pending slot");
                let is_am = slot == RequestSlot::ApplicationMaster;
                if self.limit_blocker(*id, capability, is_am).is_some()
                    || !self.within_entitlement(*id, capability, is_am)
                {
                    continue;
                }
                for (index, node) in self.nodes.iter() {
                    if !self.node_open_to(index, *id, slot) || !node.available.fits(capability) {
                        continue;
                    }
                    let Some(locality) = attempt.asks.locality_on(slot, &node.id.host, &node.rack)
                    else {
                        continue;
                    };
                    if self.locality_allowed(*id, slot, locality) {
                        return violation(
                            "no pending request fits where its locality allows",
                            format!(
                                "{} priority {} ({capability}) fits {} {} with {} available \
                                 (holds {}, entitled to {:?})",
                                attempt.id,
                                slot.priority(),
                                locality.name(),
                                node.id,
                                node.available,
                                app.allocated,
                                app.entitlement,
                            ),
                        );
                    }
                }
            }
        }
        Ok(())
    }
}
