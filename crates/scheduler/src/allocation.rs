//! Placement: turning pending requests and free resources into containers, FIFO across
//! applications and by priority inside one.
//!
//! The scheduler keeps one invariant between events: no pending request fits on a node that
//! its locality allows. An event can only break it in two ways, and each has its own pass:
//! - a node gained room ([`Scheduler::fill_node`]): applications in FIFO order take what fits
//!   on that node, until its room is below every pending request;
//! - an application's requests grew ([`Scheduler::place_application`]): its requests, by
//!   priority, search node-local candidates (the host's nodes), then rack-local ones (the
//!   rack's free index), then, if allowed, the cluster's free index.
//!
//! Node passes run first, so an older application gets freed room before a newer one's new
//! requests are placed.

use std::collections::HashSet;
use std::ops::Bound::{Excluded, Unbounded};

use spindle_types::{ApplicationId, ContainerId};

use crate::action::{Locality, SchedulerAction};
use crate::applications::ContainerRecord;
use crate::asks::RequestSlot;
use crate::nodes::NodeIndex;
use crate::scheduler::{Placeable, Scheduler};

impl Scheduler {
    pub(crate) fn place(&mut self, placeable: Placeable, actions: &mut Vec<SchedulerAction>) {
        let mut seen_nodes = HashSet::with_capacity(placeable.nodes.len());
        for node in placeable.nodes {
            if seen_nodes.insert(node) && self.nodes.is_live(node) {
                self.fill_node(node, actions);
            }
        }
        let mut applications: Vec<_> = placeable
            .applications
            .iter()
            .filter_map(|id| self.applications.get(id))
            .map(|app| app.fifo_key())
            .collect();
        applications.sort();
        applications.dedup();
        for (_, application) in applications {
            self.place_application(application, actions);
        }
    }

    /// Offers the node's room to pending applications in FIFO order.
    fn fill_node(&mut self, node: NodeIndex, actions: &mut Vec<SchedulerAction>) {
        let mut after = None;
        while self
            .pending_capabilities
            .may_fit(&self.nodes.get(node).available)
        {
            let next = match after {
                None => self.pending_applications.iter().next(),
                Some(key) => self
                    .pending_applications
                    .range((Excluded(key), Unbounded))
                    .next(),
            };
            let Some(&key) = next else { break };
            after = Some(key);
            self.fill_node_for_application(node, key.1, actions);
        }
    }

    fn fill_node_for_application(
        &mut self,
        node: NodeIndex,
        application: ApplicationId,
        actions: &mut Vec<SchedulerAction>,
    ) {
        let mut after = None;
        while let Some(slot) = self.next_pending_slot(application, after) {
            after = Some(slot);
            while let Some(locality) = self.placement_on(application, slot, node) {
                self.allocate(application, slot, node, locality, actions);
            }
        }
    }

    /// Places the application's pending requests anywhere their locality allows.
    fn place_application(
        &mut self,
        application: ApplicationId,
        actions: &mut Vec<SchedulerAction>,
    ) {
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
        let Some(asks) = self
            .applications
            .get(&application)
            .and_then(|app| app.attempt.as_ref())
            .map(|a| &a.asks)
        else {
            return;
        };
        let locations = asks.wanted_locations(slot);
        // Node-local: the nodes of each wanted host.
        for name in &locations {
            for node in self.nodes.on_host(name).to_vec() {
                while let Some(locality) = self.placement_on(application, slot, node) {
                    if locality != Locality::NodeLocal {
                        break;
                    }
                    self.allocate(application, slot, node, locality, actions);
                }
            }
        }
        // Rack-local: each wanted rack's nodes, most free first.
        for name in &locations {
            while let Some((node, locality)) = self.find_node(application, slot, Some(name)) {
                self.allocate(application, slot, node, locality, actions);
            }
        }
        // Anywhere, if the "*" entry allows it.
        while let Some((node, locality)) = self.find_node(application, slot, None) {
            self.allocate(application, slot, node, locality, actions);
        }
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

    /// The locality `slot` would get on `node`, if it is pending, allowed there and fits.
    fn placement_on(
        &self,
        application: ApplicationId,
        slot: RequestSlot,
        node: NodeIndex,
    ) -> Option<Locality> {
        let asks = &self.applications.get(&application)?.attempt.as_ref()?.asks;
        let node = self.nodes.get(node);
        let capability = asks.pending_capability(slot)?;
        if !node.available.fits(capability) {
            return None;
        }
        asks.locality_on(slot, &node.id.host, &node.rack)
    }

    /// A node for `slot` from `rack`'s free index (rack- or node-local only), or from the
    /// cluster's (any locality, only when the request relaxes to any node).
    fn find_node(
        &self,
        application: ApplicationId,
        slot: RequestSlot,
        rack: Option<&str>,
    ) -> Option<(NodeIndex, Locality)> {
        let asks = &self.applications.get(&application)?.attempt.as_ref()?.asks;
        let capability = asks.pending_capability(slot)?;
        let candidates = match rack {
            Some(rack) => self.nodes.rack_by_free(rack)?,
            None if asks.relaxes_to_any(slot) => self.nodes.cluster_by_free(),
            None => return None,
        };
        let mut found = None;
        let index = self.nodes.find_fit(candidates, capability, |node| {
            found = asks
                .locality_on(slot, &node.id.host, &node.rack)
                .filter(|locality| rack.is_none() || *locality != Locality::OffSwitch);
            found.is_some()
        })?;
        Some((index, found?))
    }

    /// Creates one container of `slot` on `node`; the caller checked that it fits and is allowed.
    fn allocate(
        &mut self,
        application: ApplicationId,
        slot: RequestSlot,
        node: NodeIndex,
        locality: Locality,
        actions: &mut Vec<SchedulerAction>,
    ) {
        let scheduler_node = self.nodes.get(node);
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
        attempt.asks.allocated(
            slot,
            locality,
            &scheduler_node.id.host,
            &scheduler_node.rack,
            &mut self.pending_capabilities,
        );
        let container = ContainerId::new(attempt.id, self.config.rm_epoch, attempt.next_sequence);
        attempt.next_sequence += 1;
        let is_am = slot == RequestSlot::ApplicationMaster;
        if is_am {
            attempt.am_container = Some(container);
        }
        let attempt_id = attempt.id;
        let still_pending = attempt.asks.has_pending();
        app.containers.insert(container);
        app.allocated.add_assign(&resource);
        if !still_pending {
            let key = app.fifo_key();
            self.pending_applications.remove(&key);
        }
        self.queues.charge(queue, &resource);
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
