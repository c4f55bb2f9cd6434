//! Node passes: a node gained room, and that room goes, one container at a time, to the first
//! request in the policy's order that can use it.
//!
//! The order is the queue tree's: at each parent the first child in its order, in the leaf the
//! first application in its order, in the application its requests by priority. The first
//! request whose locality and limits allow it takes the node, or (Capacity, Fair) reserves it
//! when it is too small for now.
//!
//! Applications whose requests all wait for locality are not walked (see
//! `locality_index.rs`): the requests that wait for this very node are looked up by its host
//! and rack, and one of them takes the room instead of the walk's choice when its application
//! comes first in the policy's order. So a pass costs the same with ten thousand applications
//! waiting for other nodes as with none.

use spindle_types::{ApplicationId, Resource};

use crate::action::{Locality, SchedulerAction};
use crate::asks::RequestSlot;
use crate::locality_delay::LocalityDelay;
use crate::nodes::NodeIndex;
use crate::ordering::{AppSortKey, QueueSortKey};
use crate::queues::{QueueIndex, ROOT};
use crate::reservations::ReservationOutcome;
use crate::resource_ops::InlineArithmetic;
use crate::scheduler::Scheduler;

/// Buffers a node pass reuses from one pass to the next.
#[derive(Debug, Default)]
pub(crate) struct PassScratch {
    applications: Vec<ApplicationId>,
    keys: Vec<QueueSortKey>,
    places: Vec<(std::ops::Range<usize>, AppSortKey, ApplicationId)>,
}

/// The request a node's room goes to, and how.
#[derive(Debug, Clone)]
struct Choice {
    application: ApplicationId,
    slot: RequestSlot,
    locality: Locality,
    /// Too small for now: the node is held for the request.
    reserve: bool,
    capability: Resource,
}

impl Scheduler {
    /// Offers the node's room, one container at a time, until nobody in line can use it.
    pub(crate) fn fill_node(&mut self, node: NodeIndex, actions: &mut Vec<SchedulerAction>) {
        let mut counted = false;
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
            if !counted {
                counted = true;
                if !matches!(self.delay, LocalityDelay::None) {
                    self.count_opportunity();
                }
            }
            let walked = self.walk_queue(ROOT, node);
            let choice = match self.waiting_choice(node, walked.as_ref()) {
                Some(waiting) => Some(waiting),
                None => walked,
            };
            let Some(choice) = choice else {
                return;
            };
            if choice.reserve {
                self.reserve(node, choice.application, choice.slot, choice.capability);
                return;
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

    /// Whether the queue itself (not its ancestors) has no room below its maximum for even the
    /// smallest container; then none of its applications can be served.
    fn queue_at_maximum(&self, queue: QueueIndex) -> bool {
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
    fn walk_queue(&mut self, queue: QueueIndex, node: NodeIndex) -> Option<Choice> {
        if self.queues.get(queue).is_leaf {
            let mut after = None;
            loop {
                let key = self.next_walked_application(queue, after)?;
                after = Some(key);
                if let Some(choice) = self.choose_in_application(key.application, node) {
                    return Some(choice);
                }
            }
        }
        let mut after = None;
        loop {
            let key = self.next_walked_child(queue, after)?;
            after = Some(key);
            if self.queue_at_maximum(key.index) {
                self.blocked.queues.insert(key.index);
                continue;
            }
            if let Some(choice) = self.walk_queue(key.index, node) {
                return Some(choice);
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
            let (slot, locality, capability, pending_count) = {
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
                if !offer.state.allows(locality) {
                    continue;
                }
                (
                    slot,
                    locality,
                    offer.capability.clone(),
                    offer.pending_count,
                )
            };
            let is_am = slot == RequestSlot::ApplicationMaster;
            if let Some(blocker) = self.limit_blocker(application, &capability, is_am) {
                self.register_blocker(application, blocker);
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
                });
            }
        }
    }

    /// A request waiting for this node (node-local, or rack-local where allowed) whose
    /// application comes before the walk's choice in the policy's order; the first such.
    fn waiting_choice(&mut self, node: NodeIndex, walked: Option<&Choice>) -> Option<Choice> {
        if self.waiting.by_location.is_empty() {
            return None;
        }
        let candidate = self.nodes.get(node);
        // Scratch buffers, taken and put back to keep their capacity.
        let mut scratch = std::mem::take(&mut self.pass_scratch);
        scratch.applications.clear();
        scratch.applications.extend(
            self.waiting
                .by_location
                .get(candidate.id.host.as_str())
                .into_iter()
                .chain(
                    self.waiting
                        .rack_local_by_location
                        .get(candidate.rack.as_str()),
                )
                .flatten()
                .map(|&(application, _)| application)
                // The walk covers the applications in it.
                .filter(|application| !self.applications[application].in_walk),
        );
        let choice = self.first_waiting_choice(node, walked, &mut scratch);
        self.pass_scratch = scratch;
        choice
    }

    /// `waiting_choice` over the candidates in `scratch.applications`.
    fn first_waiting_choice(
        &mut self,
        node: NodeIndex,
        walked: Option<&Choice>,
        scratch: &mut PassScratch,
    ) -> Option<Choice> {
        if scratch.applications.is_empty() {
            return None;
        }
        // Their places in the policy's order, the walk's choice's first. (An application listed
        // twice is only looked at twice if it declined the first time.)
        let keys = &mut scratch.keys;
        let places = &mut scratch.places;
        keys.clear();
        places.clear();
        let limit = walked.map(|choice| {
            let app_key = self.order_path(choice.application, keys);
            (0..keys.len(), app_key)
        });
        for &application in &scratch.applications {
            let start = keys.len();
            let app_key = self.order_path(application, keys);
            let place = (start..keys.len(), app_key);
            let before_walk = limit.as_ref().is_none_or(|limit| {
                compare_places(keys, (&place.0, &place.1), (&limit.0, &limit.1)).is_lt()
            });
            if before_walk {
                places.push((place.0, place.1, application));
            }
        }
        // The first in order usually takes the node: pick the first, not sort them all.
        while !places.is_empty() {
            let mut first = 0;
            for (position, place) in places.iter().enumerate().skip(1) {
                let best = &places[first];
                if compare_places(keys, (&place.0, &place.1), (&best.0, &best.1)).is_lt() {
                    first = position;
                }
            }
            let (_, _, application) = places.swap_remove(first);
            if let Some(choice) = self.choose_in_application(application, node) {
                return Some(choice);
            }
        }
        None
    }

    /// Appends the application's place in the policy's order to `keys`: its queues' keys from
    /// the root's child down to its leaf; returns its own key in the leaf.
    fn order_path(&self, application: ApplicationId, keys: &mut Vec<QueueSortKey>) -> AppSortKey {
        let app = &self.applications[&application];
        let start = keys.len();
        let mut index = app.queue;
        while self.queues.get(index).parent.is_some() {
            keys.push(self.order_key(index));
            index = self.queues.get(index).parent.expect("checked");
        }
        keys[start..].reverse();
        app.sort_key.expect("ordering a schedulable application")
    }

    /// The queue's key in its parent's order, whether or not it is in the parent's walk.
    fn order_key(&self, index: QueueIndex) -> QueueSortKey {
        let queue = self.queues.get(index);
        match queue.order_key {
            Some(key) => key,
            None => self.fresh_queue_key(index, queue.parent.expect("not the root")),
        }
    }
}

/// Compares two places in the policy's order: queue keys from the root down (they differ
/// first below the parent the two share), then, in the same leaf, the applications' keys.
fn compare_places(
    keys: &[QueueSortKey],
    a: (&std::ops::Range<usize>, &AppSortKey),
    b: (&std::ops::Range<usize>, &AppSortKey),
) -> std::cmp::Ordering {
    keys[a.0.clone()]
        .cmp(&keys[b.0.clone()])
        .then_with(|| a.1.cmp(b.1))
}
