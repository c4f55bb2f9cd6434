//! Placement: turning pending requests and free room into containers, in the policy's order.
//!
//! Between events the scheduler keeps one invariant: no request that its queue, user and AM
//! limits allow fits on a node that its locality (and delay scheduling) allows and that is not
//! held for another request. An event can break it in three ways, each with its own pass:
//! - a node gained room ([`Scheduler::fill_node`]): the node is offered down the queue tree, one
//!   container at a time: at each parent the first schedulable child in its order, in the leaf
//!   the first application in its order, in the application its requests by priority. The first
//!   request whose limits allow it takes the node, or (Capacity, Fair) reserves it when it is too
//!   small for now. Passed-up offers count as missed scheduling opportunities;
//! - an application's requests grew or its limits loosened ([`Scheduler::place_application`]):
//!   its requests, by priority, search node-local candidates (the host's nodes), then rack-local
//!   ones (the rack's free index), then the cluster's free index, as far as delay scheduling allows;
//! - a queue's maximum loosened: its applications are placed as above.
//!
//! Node passes run first, so room freed by a container goes to whoever the policy puts first.

use std::collections::HashSet;
use std::ops::Bound::{Excluded, Unbounded};

use spindle_types::{ApplicationId, ContainerId, Resource};

use crate::action::{Locality, SchedulerAction};
use crate::applications::ContainerRecord;
use crate::asks::RequestSlot;
use crate::locality_delay::RequestShape;
use crate::nodes::NodeIndex;
use crate::queues::{QueueIndex, ROOT};
use crate::reservations::ReservationOutcome;
use crate::scheduler::Scheduler;

/// What offering a node to part of the tree did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Offer {
    Allocated,
    Reserved,
    Nothing,
}

/// Requests that already counted a missed opportunity in this node pass.
type Counted = HashSet<(ApplicationId, RequestSlot)>;

impl Scheduler {
    /// Processes the event's work until nothing more can be placed.
    pub(crate) fn place(&mut self, actions: &mut Vec<SchedulerAction>) {
        loop {
            if self.keys_stale {
                self.rebuild_keys();
            }
            let work = std::mem::take(&mut self.work);
            if work.is_empty() {
                return;
            }
            let mut nodes = work.nodes;
            if nodes.len() > 1 {
                // Node passes in the order the event made room, each node once.
                let mut seen = HashSet::with_capacity(nodes.len());
                nodes.retain(|node| seen.insert(*node));
            }
            for node in nodes {
                if self.nodes.is_live(node) {
                    self.fill_node(node, actions);
                }
            }
            let mut queues = work.queues;
            queues.sort_unstable();
            queues.dedup();
            for queue in queues {
                if self.queues.is_live(queue) {
                    self.retry_queue(queue, actions);
                }
            }
            let mut applications: Vec<(u64, ApplicationId)> = work
                .applications
                .iter()
                .filter_map(|id| self.applications.get(id))
                .map(|app| (app.submission, app.id))
                .collect();
            applications.sort_unstable();
            applications.dedup();
            for (_, application) in applications {
                self.place_application(application, actions);
            }
        }
    }

    /// Offers the node's room, one container at a time, until nobody in line can use it.
    pub(crate) fn fill_node(&mut self, node: NodeIndex, actions: &mut Vec<SchedulerAction>) {
        let mut counted = Counted::new();
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
            match self.offer_to_queue(ROOT, node, &mut counted, actions) {
                Offer::Allocated => continue,
                Offer::Reserved | Offer::Nothing => return,
            }
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

    fn offer_to_queue(
        &mut self,
        queue: QueueIndex,
        node: NodeIndex,
        counted: &mut Counted,
        actions: &mut Vec<SchedulerAction>,
    ) -> Offer {
        if self.queues.get(queue).is_leaf {
            let mut after = None;
            loop {
                let set = &self.queues.get(queue).schedulable_applications;
                let next = match after {
                    None => set.iter().next(),
                    Some(key) => set.range((Excluded(key), Unbounded)).next(),
                };
                let Some(&key) = next else {
                    return Offer::Nothing;
                };
                after = Some(key);
                match self.offer_to_application(key.application, node, counted, actions) {
                    Offer::Nothing => continue,
                    other => return other,
                }
            }
        }
        let mut after = None;
        loop {
            let set = &self.queues.get(queue).schedulable_children;
            let next = match after {
                None => set.iter().next(),
                Some(key) => set.range((Excluded(key), Unbounded)).next(),
            };
            let Some(&key) = next else {
                return Offer::Nothing;
            };
            after = Some(key);
            if self.queue_at_maximum(key.index) {
                self.blocked.queues.insert(key.index);
                continue;
            }
            match self.offer_to_queue(key.index, node, counted, actions) {
                Offer::Nothing => continue,
                other => return other,
            }
        }
    }

    /// The request's delay-scheduling shape.
    fn request_shape(&self, application: ApplicationId, slot: RequestSlot) -> Option<RequestShape> {
        let asks = &self.applications.get(&application)?.attempt.as_ref()?.asks;
        Some(RequestShape {
            has_location_asks: asks.has_location_asks(slot),
            outstanding: asks.pending_count(slot),
            location_entries: asks.location_entries(slot),
        })
    }

    /// Whether delay scheduling lets the slot take a container of `locality` now.
    pub(crate) fn locality_allowed(
        &self,
        application: ApplicationId,
        slot: RequestSlot,
        locality: Locality,
    ) -> bool {
        let Some(shape) = self.request_shape(application, slot) else {
            return false;
        };
        let wait = self.applications[&application]
            .attempt
            .as_ref()
            .map(|attempt| attempt.asks.locality_wait(slot))
            .unwrap_or_default();
        self.delay.allows(locality, wait, shape, self.nodes.len())
    }

    /// Counts one passed-up opportunity for the slot; when that relaxes its locality, the
    /// application is searched again for the nodes it may now use.
    fn count_missed_opportunity(&mut self, application: ApplicationId, slot: RequestSlot) {
        let Some(shape) = self.request_shape(application, slot) else {
            return;
        };
        if !self.delay.applies_to(shape) {
            return;
        }
        let nodes = self.nodes.len();
        let relaxed_before = (
            self.locality_allowed(application, slot, Locality::RackLocal),
            self.locality_allowed(application, slot, Locality::OffSwitch),
        );
        let Some(attempt) = self
            .applications
            .get_mut(&application)
            .and_then(|app| app.attempt.as_mut())
        else {
            return;
        };
        let wait = self.delay.missed(attempt.asks.locality_wait(slot), nodes);
        attempt.asks.set_locality_wait(slot, wait);
        let relaxed_after = (
            self.locality_allowed(application, slot, Locality::RackLocal),
            self.locality_allowed(application, slot, Locality::OffSwitch),
        );
        if relaxed_after != relaxed_before {
            self.work.applications.push(application);
        }
    }

    fn offer_to_application(
        &mut self,
        application: ApplicationId,
        node: NodeIndex,
        counted: &mut Counted,
        actions: &mut Vec<SchedulerAction>,
    ) -> Offer {
        let mut after = None;
        while let Some(slot) = self.next_pending_slot(application, after) {
            after = Some(slot);
            let (capability, best) = {
                let asks = &self.applications[&application]
                    .attempt
                    .as_ref()
                    .expect("a pending slot has an attempt")
                    .asks;
                let scheduler_node = self.nodes.get(node);
                let Some(best) =
                    asks.locality_on(slot, &scheduler_node.id.host, &scheduler_node.rack)
                else {
                    continue;
                };
                let capability = asks
                    .pending_capability(slot)
                    .expect("a pending slot has a capability")
                    .clone();
                (capability, best)
            };
            if counted.insert((application, slot)) {
                self.count_missed_opportunity(application, slot);
            }
            if !self.locality_allowed(application, slot, best) {
                continue;
            }
            let is_am = slot == RequestSlot::ApplicationMaster;
            if let Some(blocker) = self.limit_blocker(application, &capability, is_am) {
                self.register_blocker(application, blocker);
                continue;
            }
            let scheduler_node = self.nodes.get(node);
            if scheduler_node.available.fits(&capability) {
                self.allocate(application, slot, node, best, actions);
                return Offer::Allocated;
            }
            let app = &self.applications[&application];
            let wants_more = (app.reservations_for(slot) as i32)
                < app
                    .attempt
                    .as_ref()
                    .map_or(0, |attempt| attempt.asks.pending_count(slot));
            if self.reservations_enabled
                && scheduler_node.reservation.is_none()
                && scheduler_node.capability.fits(&capability)
                && wants_more
            {
                self.reserve(node, application, slot, capability);
                return Offer::Reserved;
            }
        }
        Offer::Nothing
    }

    /// Retries the applications of a queue whose maximum loosened.
    fn retry_queue(&mut self, queue: QueueIndex, actions: &mut Vec<SchedulerAction>) {
        if let Some(full) = self.queue_full(queue) {
            self.blocked.queues.insert(full);
            return;
        }
        for leaf in self.queues.leaves_under(queue) {
            let applications: Vec<ApplicationId> = self
                .queues
                .get(leaf)
                .schedulable_applications
                .iter()
                .map(|key| key.application)
                .collect();
            for application in applications {
                self.place_application(application, actions);
            }
        }
    }

    /// Places the application's pending requests anywhere their locality and limits allow.
    pub(crate) fn place_application(
        &mut self,
        application: ApplicationId,
        actions: &mut Vec<SchedulerAction>,
    ) {
        if !self
            .applications
            .get(&application)
            .is_some_and(|app| app.is_schedulable())
        {
            return;
        }
        let mut after = None;
        while let Some(slot) = self.next_pending_slot(application, after) {
            after = Some(slot);
            self.place_request(application, slot, actions);
        }
    }

    fn place_request(
        &mut self,
        application: ApplicationId,
        slot: RequestSlot,
        actions: &mut Vec<SchedulerAction>,
    ) {
        loop {
            let Some(capability) = self
                .applications
                .get(&application)
                .and_then(|app| app.attempt.as_ref())
                .and_then(|attempt| attempt.asks.pending_capability(slot))
                .cloned()
            else {
                return;
            };
            let is_am = slot == RequestSlot::ApplicationMaster;
            if let Some(blocker) = self.limit_blocker(application, &capability, is_am) {
                self.register_blocker(application, blocker);
                return;
            }
            match self.find_placement(application, slot, &capability) {
                Some((node, locality)) => self.allocate(application, slot, node, locality, actions),
                None => return,
            }
        }
    }

    /// The best node for one container of the slot: node-local, then rack-local, then anywhere,
    /// as far as its locality entries and delay scheduling allow; nodes held for other requests
    /// are skipped.
    fn find_placement(
        &self,
        application: ApplicationId,
        slot: RequestSlot,
        capability: &Resource,
    ) -> Option<(NodeIndex, Locality)> {
        let asks = &self.applications.get(&application)?.attempt.as_ref()?.asks;
        let locations = asks.wanted_locations(slot);
        for name in &locations {
            for &node in self.nodes.on_host(name) {
                let candidate = self.nodes.get(node);
                if candidate.available.fits(capability)
                    && self.node_open_to(node, application, slot)
                    && asks.locality_on(slot, &candidate.id.host, &candidate.rack)
                        == Some(Locality::NodeLocal)
                {
                    return Some((node, Locality::NodeLocal));
                }
            }
        }
        if self.locality_allowed(application, slot, Locality::RackLocal) {
            for name in &locations {
                if let Some(found) = self.find_node(application, slot, capability, Some(name)) {
                    return Some(found);
                }
            }
        }
        if asks.relaxes_to_any(slot)
            && self.locality_allowed(application, slot, Locality::OffSwitch)
        {
            return self.find_node(application, slot, capability, None);
        }
        // Delay scheduling may still allow rack-local where off-switch is not.
        None
    }

    fn next_pending_slot(
        &self,
        application: ApplicationId,
        after: Option<RequestSlot>,
    ) -> Option<RequestSlot> {
        self.applications
            .get(&application)?
            .attempt
            .as_ref()?
            .asks
            .next_pending_slot(after)
    }

    /// A node for `slot` from `rack`'s free index (rack- or node-local only), or from the
    /// cluster's (any locality; the caller checked that the request relaxes to any node).
    fn find_node(
        &self,
        application: ApplicationId,
        slot: RequestSlot,
        capability: &Resource,
        rack: Option<&str>,
    ) -> Option<(NodeIndex, Locality)> {
        let asks = &self.applications.get(&application)?.attempt.as_ref()?.asks;
        let candidates = match rack {
            Some(rack) => self.nodes.rack_by_free(rack)?,
            None => self.nodes.cluster_by_free(),
        };
        let mut found = None;
        let index = self.nodes.find_fit(candidates, capability, |node, index| {
            if !self.node_open_to(index, application, slot) {
                return false;
            }
            found = asks
                .locality_on(slot, &node.id.host, &node.rack)
                .filter(|locality| rack.is_none() || *locality != Locality::OffSwitch)
                .filter(|locality| self.locality_allowed(application, slot, *locality));
            found.is_some()
        })?;
        Some((index, found?))
    }

    /// Creates one container of `slot` on `node`; the caller checked that it fits and that
    /// locality and limits allow it.
    pub(crate) fn allocate(
        &mut self,
        application: ApplicationId,
        slot: RequestSlot,
        node: NodeIndex,
        locality: Locality,
        actions: &mut Vec<SchedulerAction>,
    ) {
        if self
            .nodes
            .get(node)
            .reservation
            .as_ref()
            .is_some_and(|r| r.application == application && r.slot == slot)
        {
            self.unreserve_node(node, false);
        }
        let waits_for_locality = !matches!(self.delay, crate::locality_delay::LocalityDelay::None)
            && self
                .request_shape(application, slot)
                .is_some_and(|shape| shape.has_location_asks);
        let scheduler_node = self.nodes.get(node);
        let delay = self.delay;
        let app = self
            .applications
            .get_mut(&application)
            .expect("placing for a known application");
        let (queue, user) = (app.queue, app.user.clone());
        let attempt = app.attempt.as_mut().expect("placing for a current attempt");
        let resource = attempt
            .asks
            .pending_capability(slot)
            .expect("placing a pending request")
            .clone();
        attempt.asks.allocated(
            slot,
            locality,
            &scheduler_node.id.host,
            &scheduler_node.rack,
            &mut self.pending_capabilities,
        );
        let wait = delay.allocated(attempt.asks.locality_wait(slot), locality);
        attempt.asks.set_locality_wait(slot, wait);
        let container = ContainerId::new(attempt.id, self.config.rm_epoch, attempt.next_sequence);
        attempt.next_sequence += 1;
        let is_am = slot == RequestSlot::ApplicationMaster;
        if is_am {
            attempt.am_container = Some(container);
        }
        let attempt_id = attempt.id;
        app.containers.insert(container);
        app.allocated.add_assign(&resource);
        self.queues.charge(queue, &user, &resource, is_am);
        let node_id = self.nodes.allocate(node, &resource, container).id.clone();
        self.containers.insert(
            container,
            ContainerRecord {
                owner: attempt_id,
                node,
                resource: resource.clone(),
                priority: slot.priority(),
                allocation_request_id: slot.allocation_request_id(),
                is_am,
                locality,
                acquired: is_am,
            },
        );
        self.refresh_application(application);
        if self.limits_apply() {
            self.loosen_user_limits(queue);
        }
        if waits_for_locality {
            // Fewer outstanding containers (or no host left to wait for) shorten the wait.
            self.work.applications.push(application);
        }
        self.trim_reservations(application);
        actions.push(SchedulerAction::Allocated {
            container,
            attempt: attempt_id,
            node: node_id,
            resource,
            priority: slot.priority(),
            allocation_request_id: slot.allocation_request_id(),
            is_am,
            locality,
        });
    }
}
