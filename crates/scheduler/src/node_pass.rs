//! Node passes: a node gained room, and that room goes, one container at a time, to the first
//! request in the policy's order that can use it.
//!
//! The order is the queue tree's: at each parent the first child in its order, in the leaf the
//! first application in its order, in the application its requests by priority. The first
//! request whose locality and limits allow it takes the node, or (Capacity, Fair) reserves it
//! when it is too small for now. Every request the walk reaches and that passes the node up for
//! locality counts a missed scheduling opportunity (delay scheduling, `locality_state.rs`), as
//! YARN counts them: a walk costs the applications it passes on its way to the one that takes
//! the node, as a YARN heartbeat does. Runs of applications and queues that wait for other
//! hosts are charged that missed opportunity without a visit (`delayed_walk.rs`).

use spindle_types::{ApplicationId, Resource};

use crate::action::{Locality, SchedulerAction};
use crate::asks::RequestSlot;
use crate::delayed_walk::{earliest, DelayedCandidate};
use crate::nodes::NodeIndex;
use crate::queues::{QueueIndex, ROOT};
use crate::reservations::ReservationOutcome;
use crate::resource_ops::InlineArithmetic;
use crate::scheduler::Scheduler;

/// The request a node's room goes to, and how.
#[derive(Debug, Clone)]
struct Choice {
    application: ApplicationId,
    slot: RequestSlot,
    locality: Locality,
    /// Too small for now: the node is held for the request.
    reserve: bool,
    capability: Resource,
    /// Beyond the application's entitlement: spends the heartbeat's budget.
    elastic: bool,
}

impl Scheduler {
    /// Offers the node's room, one container at a time, until nobody in line can use it.
    pub(crate) fn fill_node(&mut self, node: NodeIndex, actions: &mut Vec<SchedulerAction>) {
        // Only the node's heartbeat is a scheduling opportunity (YARN's): passes for room
        // freed by a completion, a release or a new node count none.
        self.counting_opportunities = self.in_heartbeat_of(node);
        self.fill_node_counted(node, actions);
        self.counting_opportunities = false;
    }

    fn fill_node_counted(&mut self, node: NodeIndex, actions: &mut Vec<SchedulerAction>) {
        loop {
            match self.serve_reservation(node, actions) {
                Some(ReservationOutcome::Allocated) => continue,
                Some(ReservationOutcome::Waiting) => return,
                Some(ReservationOutcome::Released) | None => {}
            }
            if !self
                .pending_capabilities
                .may_fit(&self.nodes.get(node).available)
            {
                return;
            }
            let mut choice = self.walk_for_room(node);
            if choice.is_none() && self.elastic_possible(node) {
                // Nobody took the node within their share: on its heartbeat, the room goes to
                // the first in line beyond their share. Opportunities were counted already.
                let counting = std::mem::replace(&mut self.counting_opportunities, false);
                self.elastic_walk = true;
                choice = self.walk_for_room(node);
                self.elastic_walk = false;
                self.counting_opportunities = counting;
            }
            let Some(choice) = choice else {
                return;
            };
            if choice.reserve {
                self.reserve(node, choice.application, choice.slot, choice.capability);
                return;
            }
            if choice.elastic {
                self.spend_heartbeat_budget(&choice.capability, choice.locality);
            }
            self.allocate(
                choice.application,
                choice.slot,
                node,
                choice.locality,
                actions,
            );
        }
    }

    /// One walk of the queue tree for the node's room.
    fn walk_for_room(&mut self, node: NodeIndex) -> Option<Choice> {
        let mut candidates = std::mem::take(&mut self.candidates_buffer);
        self.delayed_candidates(node, &mut candidates);
        let choice = self.walk_queue(ROOT, node, &candidates);
        self.candidates_buffer = candidates;
        choice
    }

    /// Whether the queue itself (not its ancestors) has no room below its maximum for even the
    /// smallest container; then none of its applications can be served.
    pub(crate) fn queue_at_maximum(&self, queue: QueueIndex) -> bool {
        if queue == ROOT || !self.limits_apply() {
            return false;
        }
        let q = self.queues.get(queue);
        !self
            .calculator
            .fits_within(&q.used.add(&self.config.limits.minimum), &q.maximum)
    }

    pub(crate) fn limits_apply(&self) -> bool {
        !matches!(self.config.policy, crate::config::SchedulingPolicy::Fifo)
    }

    /// The first request under `queue`, in the walk's order, that takes (or reserves) the node.
    /// Delayed entries (`delayed_walk.rs`) are merged into the order; runs of them the node
    /// cannot serve are charged their missed opportunity without a visit.
    fn walk_queue(
        &mut self,
        queue: QueueIndex,
        node: NodeIndex,
        candidates: &[DelayedCandidate],
    ) -> Option<Choice> {
        if self.queues.get(queue).is_leaf {
            let mut matched = self.matched_applications(queue, candidates);
            let mut after = None;
            loop {
                let walked = self.next_walked_application(queue, after);
                let delayed = self.next_delayed_application(queue, after, &mut matched);
                let next = earliest(walked, delayed);
                self.charge_delayed_applications(queue, after.as_ref(), next.as_ref());
                let key = next?;
                after = Some(key);
                let visiting_delayed = delayed == Some(key);
                if visiting_delayed {
                    self.settle_application(key.application);
                }
                let choice = self.choose_in_application(key.application, node);
                let delayed_now = self
                    .applications
                    .get(&key.application)
                    .is_some_and(|app| app.delayed);
                if (visiting_delayed || delayed_now)
                    && choice.as_ref().is_none_or(|choice| choice.reserve)
                {
                    // Its counts moved (a deadline it reached may have made it delayed): list it
                    // again with its new slack (an allocation does that itself).
                    self.reposition_application(key.application);
                }
                if choice.is_some() {
                    return choice;
                }
            }
        }
        let mut matched = self.matched_children(queue, candidates);
        let mut after = None;
        loop {
            let walked = if self.share_gated() && !self.elastic_walk {
                // Children holding their share have nothing for this walk: not even visited, so
                // they miss no scheduling opportunity (as in YARN, where a heartbeat charges
                // only the applications it offers the node to). They are tried again when they
                // free room or are entitled to more (`refresh_entitlements`, `reposition_chain`).
                self.next_open_child(queue, after)
            } else {
                self.next_walked_child(queue, after)
            };
            let delayed = self.next_delayed_child(queue, after, &mut matched);
            let next = earliest(walked, delayed);
            self.charge_delayed_children(queue, after.as_ref(), next.as_ref());
            let key = next?;
            after = Some(key);
            let visiting_delayed = delayed == Some(key);
            if visiting_delayed {
                self.open_chain(key.index);
            } else if self.queue_at_maximum(key.index) {
                self.blocked.queues.insert(key.index);
                continue;
            }
            let choice = self.walk_queue(key.index, node, candidates);
            if (visiting_delayed || self.queues.get(key.index).delayed_in_parent.is_some())
                && choice.as_ref().is_none_or(|choice| choice.reserve)
            {
                // Its members' slack moved (and it may have become delayed on the way): list
                // it again (an allocation does that itself).
                self.reposition_chain(key.index);
            }
            if choice.is_some() {
                return choice;
            }
        }
    }

    /// The application's first request, by priority, that takes the node (or reserves it).
    /// Requests refused by a limit are registered to be retried when it loosens.
    fn choose_in_application(
        &mut self,
        application: ApplicationId,
        node: NodeIndex,
    ) -> Option<Choice> {
        let mut after = None;
        loop {
            let (slot, locality, allowed, capability, pending_count) = {
                let asks = &self.applications.get(&application)?.attempt.as_ref()?.asks;
                let slot = asks.next_pending_slot(after)?;
                after = Some(slot);
                let candidate = self.nodes.get(node);
                let offer = asks
                    .offer(slot, &candidate.id.host, &candidate.rack)
                    .expect("a pending slot");
                let Some(locality) = offer.locality else {
                    continue;
                };
                (
                    slot,
                    locality,
                    offer.state.allows(locality),
                    offer.capability.clone(),
                    offer.pending_count,
                )
            };
            if !allowed {
                // Passed up for locality: a missed opportunity (if the node could hold the
                // container at all), which may be the one that relaxes the request's locality
                // (YARN counts it before deciding).
                if self.counting_opportunities && self.nodes.get(node).capability.fits(&capability)
                {
                    self.charge_opportunity(application, slot);
                }
                if !self.locality_allowed(application, slot, locality) {
                    continue;
                }
            }
            let is_am = slot == RequestSlot::ApplicationMaster;
            if let Some(blocker) = self.limit_blocker(application, &capability, is_am) {
                self.register_blocker(application, blocker);
                continue;
            }
            let held_by = self.entitlement_blocker(application, &capability, is_am);
            let elastic = held_by.is_some();
            if let Some(level) =
                held_by.filter(|_| !self.elastic_allowed(node, locality, &capability))
            {
                self.register_gated(application, level);
                continue;
            }
            let candidate = self.nodes.get(node);
            if candidate.available.fits_inline(&capability) {
                return Some(Choice {
                    application,
                    slot,
                    locality,
                    reserve: false,
                    capability,
                    elastic,
                });
            }
            if self.reservations_enabled
                && candidate.reservation.is_none()
                && candidate.capability.fits(&capability)
                && (self.applications[&application].reservations_for(slot) as i32) < pending_count
            {
                return Some(Choice {
                    application,
                    slot,
                    locality,
                    reserve: true,
                    capability,
                    elastic,
                });
            }
        }
    }
}
