//! Placement: turning pending requests and free room into containers, in the policy's order.
//!
//! Between events the scheduler keeps one invariant: no request that its queue, user and AM
//! limits allow fits on a node that its locality (and delay scheduling) allows and that is not
//! held for another request. An event can break it in three ways, each with its own pass:
//! - a node gained room: a node pass (`node_pass.rs`) offers it down the queue tree, one
//!   container at a time, in the policy's order;
//! - an application's requests grew, its limits loosened or delay scheduling relaxed its
//!   locality ([`Scheduler::place_application`]): its requests, by priority, search node-local
//!   candidates (the host's nodes), then rack-local ones (the rack's free index), then the
//!   cluster's free index, as far as delay scheduling allows;
//! - a queue's maximum loosened: its applications are placed as above.
//!
//! Node passes run first, so room freed by a container goes to whoever the policy puts first.

use spindle_types::{ApplicationId, ContainerId, Resource};

use crate::action::{Locality, SchedulerAction};
use crate::applications::ContainerRecord;
use crate::asks::RequestSlot;
use crate::fast_hash::FastSet;
use crate::nodes::NodeIndex;
use crate::queues::QueueIndex;
use crate::resource_ops::InlineArithmetic;
use crate::scheduler::Scheduler;

impl Scheduler {
    /// Processes the event's work until nothing more can be placed.
    pub(crate) fn place(&mut self, actions: &mut Vec<SchedulerAction>) {
        loop {
            self.refresh_entitlements();
            if self.keys_stale {
                self.rebuild_keys();
            }
            if self.waiting_for_recovery() {
                // Everything is tried once the wait is over.
                self.work.clear();
                return;
            }
            if self.work.is_empty() {
                return;
            }
            // Take the work out and leave the emptied buffers of the last round in its place.
            let mut work = std::mem::take(&mut self.spare_work);
            std::mem::swap(&mut work, &mut self.work);
            let nodes = &mut work.nodes;
            if nodes.len() > 1 {
                // Node passes in the order the event made room, each node once.
                let mut seen = FastSet::default();
                nodes.retain(|node| seen.insert(*node));
            }
            for &node in nodes.iter() {
                if self.nodes.is_live(node) && !self.nodes.get(node).unreachable {
                    self.fill_node(node, actions);
                }
            }
            let queues = &mut work.queues;
            queues.sort_unstable();
            queues.dedup();
            for &queue in queues.iter() {
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
            work.clear();
            self.spare_work = work;
        }
    }

    /// Whether delay scheduling lets the slot take a container of `locality` now.
    pub(crate) fn locality_allowed(
        &self,
        application: ApplicationId,
        slot: RequestSlot,
        locality: Locality,
    ) -> bool {
        self.applications
            .get(&application)
            .and_then(|app| app.attempt.as_ref())
            .is_some_and(|attempt| attempt.asks.slot_state(slot).allows(locality))
    }

    /// Retries the applications of a queue whose maximum loosened.
    fn retry_queue(&mut self, queue: QueueIndex, actions: &mut Vec<SchedulerAction>) {
        self.apply_moved_keys();
        if let Some(full) = self.queue_full(queue) {
            self.blocked.queues.insert(full);
            return;
        }
        for leaf in self.queues.leaves_under(queue) {
            let queue = self.queues.get(leaf);
            let mut keys: Vec<_> = queue
                .schedulable_applications
                .iter()
                .chain(&queue.waiting_applications)
                .copied()
                .chain(
                    queue
                        .delayed_applications
                        .members()
                        .into_iter()
                        .map(|(key, _, _)| key),
                )
                .collect();
            keys.sort_unstable();
            let applications: Vec<ApplicationId> =
                keys.into_iter().map(|key| key.application).collect();
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
            self.nodes.flush_free_index();
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
            // Beyond its entitlement, room goes out on node heartbeats in the policy's order
            // (node_pass.rs); an entitlement that grows places it again.
            if let Some(level) = self.entitlement_blocker(application, &capability, is_am) {
                self.register_gated(application, level);
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
        if !self.nodes.any_may_fit(capability) {
            return None;
        }
        let asks = &self.applications.get(&application)?.attempt.as_ref()?.asks;
        let locations = || asks.wanted_location_names(slot);
        for name in locations() {
            for node in self.nodes.on_host(name) {
                let candidate = self.nodes.get(node);
                if candidate.available.fits_inline(capability)
                    && self.node_open_to(node, application, slot)
                    && asks.locality_on(slot, &candidate.id.host, &candidate.rack)
                        == Some(Locality::NodeLocal)
                {
                    return Some((node, Locality::NodeLocal));
                }
            }
        }
        if self.locality_allowed(application, slot, Locality::RackLocal) {
            for name in locations() {
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
        self.settle_application(application);
        if self
            .nodes
            .get(node)
            .reservation
            .as_ref()
            .is_some_and(|r| r.application == application && r.slot == slot)
        {
            self.unreserve_node(node, false);
        }
        let scheduler_node = self.nodes.get(node);
        let delay = self.delay;
        let app = self
            .applications
            .get_mut(&application)
            .expect("placing for a known application");
        let queue = app.queue;
        let attempt = app.attempt.as_mut().expect("placing for a current attempt");
        let resource = attempt
            .asks
            .pending_capability(slot)
            .expect("placing a pending request")
            .clone();
        let state_before = attempt.asks.slot_state(slot);
        attempt.asks.allocated(
            slot,
            locality,
            &scheduler_node.id.host,
            &scheduler_node.rack,
            &mut self.pending_capabilities,
        );
        let wait = attempt.asks.locality_wait(slot);
        let wait = delay.allocated(wait, locality, wait.offered);
        attempt.asks.set_locality_wait(slot, wait);
        let container = ContainerId::new(attempt.id, self.config.rm_epoch, attempt.next_sequence);
        attempt.next_sequence += 1;
        let is_am = slot == RequestSlot::ApplicationMaster;
        if is_am {
            attempt.am_container = Some(container);
            self.am_pending.remove(&application);
        }
        let attempt_id = attempt.id;
        let node_id = self.charge_container(
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
        // The slot's wait was reset or its outstanding count (which may shorten the wait) fell.
        // A request already allowed anywhere that takes an off-switch container stays so (its
        // wait is not reset, and fewer outstanding containers only shorten waits) while it is
        // still pending: nothing to evaluate.
        let still_relaxed = locality == Locality::OffSwitch
            && slot != RequestSlot::ApplicationMaster
            && state_before.rack_local_allowed
            && state_before.off_switch_allowed
            && state_before.deadline.is_none()
            && self.applications[&application]
                .attempt
                .as_ref()
                .is_some_and(|attempt| attempt.asks.pending_count(slot) > 0);
        if !still_relaxed {
            self.sync_slot(application, slot);
        }
        self.container_charged(application, queue);
        self.trim_reservations(application);
        self.unindex_satisfied(application, node);
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

    /// Counts a new live container everywhere a container is counted: its application's
    /// containers and usage, its queue chain and user (and AM usage for an AM container), its
    /// node's used and free resources (the free-resource indexes follow at the next flush), and
    /// the live container table. Returns the node's id. The caller then calls
    /// [`Scheduler::container_charged`]. Both allocation and recovery (`recovery.rs`) come
    /// through here; `complete_container` undoes it.
    pub(crate) fn charge_container(
        &mut self,
        container: ContainerId,
        record: ContainerRecord,
    ) -> spindle_types::NodeId {
        let app = self
            .applications
            .get_mut(&container.application_id())
            .expect("charging a container of a known application");
        app.containers.insert(container);
        app.allocated.add_inline(&record.resource);
        self.queues
            .charge(app.queue, &app.user, &record.resource, record.is_am);
        let node_id = self
            .nodes
            .allocate(record.node, &record.resource, container)
            .id
            .clone();
        self.containers.insert(container, record);
        node_id
    }

    /// One of the application's containers was charged: its pending totals, sort keys (its own
    /// and its queues', with the parents' open-children sets), min-share starvation clock and
    /// protected room follow, and user limits that grow with the leaf's usage loosen. The
    /// counterpart of `container_freed`.
    pub(crate) fn container_charged(&mut self, application: ApplicationId, leaf: QueueIndex) {
        self.refresh_position(application);
        if self.limits_apply() {
            self.loosen_user_limits(leaf);
        }
    }
}
