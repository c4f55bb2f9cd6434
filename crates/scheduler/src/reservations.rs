//! Reservations (Capacity and Fair policies): when the application first in line on a node wants
//! a container larger than the node's room but not than the node, the node is held for it, so
//! that a stream of small requests cannot starve a large one. A held node's room goes to nobody
//! else; the reservation ends when the container fits, or when the request goes away.

use spindle_types::{ApplicationId, Resource};

use crate::action::SchedulerAction;
use crate::asks::RequestSlot;
use crate::nodes::NodeIndex;
use crate::scheduler::Scheduler;

/// The request a node is held for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reservation {
    pub(crate) application: ApplicationId,
    pub(crate) slot: RequestSlot,
    pub(crate) capability: Resource,
}

/// What serving a node's reservation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReservationOutcome {
    /// The reserved container was allocated.
    Allocated,
    /// Still not enough room: the node stays held.
    Waiting,
    /// The reservation was dropped; the node's room is free for everyone.
    Released,
}

impl Scheduler {
    pub(crate) fn reserve(
        &mut self,
        node: NodeIndex,
        application: ApplicationId,
        slot: RequestSlot,
        capability: Resource,
    ) {
        let previous = self.nodes.set_reservation(
            node,
            Some(Reservation {
                application,
                slot,
                capability,
            }),
        );
        debug_assert!(previous.is_none(), "a node holds one reservation");
        if let Some(app) = self.applications.get_mut(&application) {
            app.reservations.insert((slot, node));
        }
        self.sync_protection(application);
    }

    /// Releases the node's reservation; `offer_again` queues the node for a placement pass.
    pub(crate) fn unreserve_node(&mut self, node: NodeIndex, offer_again: bool) {
        let Some(reservation) = self.nodes.set_reservation(node, None) else {
            return;
        };
        if let Some(app) = self.applications.get_mut(&reservation.application) {
            app.reservations.remove(&(reservation.slot, node));
        }
        self.sync_protection(reservation.application);
        if offer_again {
            self.work.nodes.push(node);
        }
    }

    pub(crate) fn unreserve(&mut self, node: NodeIndex) {
        self.unreserve_node(node, true);
    }

    pub(crate) fn release_reservations_of(&mut self, application: ApplicationId) {
        let Some(app) = self.applications.get(&application) else {
            return;
        };
        let nodes: Vec<NodeIndex> = app.reservations.iter().map(|(_, node)| *node).collect();
        for node in nodes {
            self.unreserve(node);
        }
    }

    /// Drops reservations the application no longer needs: for requests that went away or
    /// changed size, and beyond the number of containers a request still wants.
    pub(crate) fn trim_reservations(&mut self, application: ApplicationId) {
        let Some(app) = self.applications.get(&application) else {
            return;
        };
        if app.reservations.is_empty() {
            return;
        }
        let mut surplus = Vec::new();
        let mut kept: Option<(RequestSlot, usize)> = None;
        for &(slot, node) in app.reservations.iter().rev() {
            let wanted = app
                .attempt
                .as_ref()
                .filter(|_| app.runnable)
                .map(|attempt| {
                    let capability = attempt.asks.pending_capability(slot);
                    let reserved = self.nodes.get(node).reservation.as_ref();
                    if capability.is_some() && capability == reserved.map(|r| &r.capability) {
                        attempt.asks.pending_count(slot) as usize
                    } else {
                        0
                    }
                })
                .unwrap_or(0);
            let count = match kept {
                Some((kept_slot, count)) if kept_slot == slot => count,
                _ => 0,
            };
            if count < wanted {
                kept = Some((slot, count + 1));
            } else {
                surplus.push(node);
            }
        }
        for node in surplus {
            self.unreserve(node);
        }
    }

    /// Offers a held node's room to the request it is held for.
    pub(crate) fn serve_reservation(
        &mut self,
        node: NodeIndex,
        actions: &mut Vec<SchedulerAction>,
    ) -> Option<ReservationOutcome> {
        let reservation = self.nodes.get(node).reservation.clone()?;
        let application = reservation.application;
        let scheduler_node = self.nodes.get(node);
        let locality = self
            .applications
            .get(&application)
            .filter(|app| app.runnable)
            .and_then(|app| app.attempt.as_ref())
            .filter(|attempt| {
                attempt.asks.pending_capability(reservation.slot) == Some(&reservation.capability)
            })
            .and_then(|attempt| {
                attempt.asks.locality_on(
                    reservation.slot,
                    &scheduler_node.id.host,
                    &scheduler_node.rack,
                )
            });
        let Some(locality) = locality else {
            self.unreserve_node(node, false);
            return Some(ReservationOutcome::Released);
        };
        if !scheduler_node.available.fits(&reservation.capability) {
            return Some(ReservationOutcome::Waiting);
        }
        let is_am = reservation.slot == RequestSlot::ApplicationMaster;
        if let Some(blocker) = self.limit_blocker(application, &reservation.capability, is_am) {
            self.register_blocker(application, blocker);
            self.unreserve_node(node, false);
            return Some(ReservationOutcome::Released);
        }
        if !self.within_entitlement(application, &reservation.capability, is_am) {
            if !self.reservation_may_grow(node, locality, &reservation.capability) {
                // Beyond its share outside a heartbeat: the node is free for others again.
                self.unreserve_node(node, false);
                return Some(ReservationOutcome::Released);
            }
            self.spend_heartbeat_budget(&reservation.capability, locality);
        }
        self.allocate(application, reservation.slot, node, locality, actions);
        Some(ReservationOutcome::Allocated)
    }

    /// Whether `node` may take a container of `slot` of `application` (not held for another).
    pub(crate) fn node_open_to(
        &self,
        node: NodeIndex,
        application: ApplicationId,
        slot: RequestSlot,
    ) -> bool {
        let node = self.nodes.get(node);
        !node.unreachable
            && node
                .reservation
                .as_ref()
                .is_none_or(|r| r.application == application && r.slot == slot)
    }
}
