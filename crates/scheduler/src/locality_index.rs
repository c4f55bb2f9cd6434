//! Delay scheduling's bookkeeping: the cluster-wide count of scheduling opportunities, each
//! request's state derived from it (see `locality_delay.rs`), the deadlines at which waits
//! relax, and the indexes through which a node pass finds the requests that wait for that node.
//!
//! A request is *open* when any node that fits may take it (placeable, off-switch allowed, its
//! `"*"` entry relaxes). An application with an open request is offered every node's room in
//! policy order (the leaf's walk set). An application whose requests all wait for locality is
//! left out of that walk, so that a node pass never steps over thousands of waiting
//! applications; instead a pass looks up the requests that name the node's host (node-local)
//! and, among those allowed rack-local containers but not open, the ones that name its rack.
//! Requests are listed by host whatever their application's walk membership (a pass skips
//! walked applications, which the walk covers), so that an allocation that resets a wait does
//! not move them. When the count reaches a request's deadline, its state is evaluated again,
//! and the application is searched again for the nodes it may now use.

use std::collections::BTreeSet;

use spindle_types::ApplicationId;

use crate::asks::{AskTable, RequestSlot, SlotState};
use crate::fast_hash::FastMap;
use crate::scheduler::Scheduler;

/// Requests by location name.
pub(crate) type RequestsByLocation = FastMap<String, BTreeSet<(ApplicationId, RequestSlot)>>;

#[derive(Debug, Clone, Default)]
pub(crate) struct WaitingRequests {
    /// Scheduling opportunities so far: node passes that offered room.
    pub(crate) opportunities: u64,
    /// Requests whose delay state changes at a count, by that count.
    pub(crate) deadlines: BTreeSet<(u64, ApplicationId, RequestSlot)>,
    /// Placeable requests of schedulable applications, under every location name they have an
    /// entry for.
    pub(crate) by_location: RequestsByLocation,
    /// Of those, the requests allowed rack-local containers that are not open.
    pub(crate) rack_local_by_location: RequestsByLocation,
}

impl WaitingRequests {
    fn set_deadline(
        &mut self,
        application: ApplicationId,
        slot: RequestSlot,
        old: Option<u64>,
        new: Option<u64>,
    ) {
        if old == new {
            return;
        }
        if let Some(old) = old {
            self.deadlines.remove(&(old, application, slot));
        }
        if let Some(new) = new {
            self.deadlines.insert((new, application, slot));
        }
    }

    /// Lists (or unlists) the slot under its location names as `host` and `rack` say.
    fn index(
        &mut self,
        asks: &AskTable,
        application: ApplicationId,
        slot: RequestSlot,
        state: &mut SlotState,
        host: bool,
        rack: bool,
    ) {
        let names = asks.location_name_count(slot);
        let grown = names > state.names_indexed;
        for (wanted, indexed, map) in [
            (host, &mut state.host_indexed, &mut self.by_location),
            (
                rack,
                &mut state.rack_indexed,
                &mut self.rack_local_by_location,
            ),
        ] {
            if wanted == *indexed && !(wanted && grown) {
                continue;
            }
            for name in asks.location_names(slot) {
                if wanted {
                    match map.get_mut(name) {
                        Some(set) => {
                            set.insert((application, slot));
                        }
                        None => {
                            map.insert(name.to_string(), BTreeSet::from([(application, slot)]));
                        }
                    }
                } else if let Some(set) = map.get_mut(name) {
                    set.remove(&(application, slot));
                    if set.is_empty() {
                        map.remove(name);
                    }
                }
            }
            *indexed = wanted;
        }
        state.names_indexed = if host || rack { names } else { 0 };
    }
}

/// Where a slot is listed: by host while placeable (with location names, its application
/// schedulable); by rack while also allowed rack-local and not open.
fn listing(schedulable: bool, placeable: bool, names: usize, state: &SlotState) -> (bool, bool) {
    let host = schedulable && placeable && names > 0;
    (host, host && state.rack_local_allowed && !state.open)
}

impl Scheduler {
    /// Evaluates the slot's delay state now and persists the evaluated wait; returns the new
    /// state (index fields as they were) and whether the slot is placeable. A slot that is not
    /// placeable is closed.
    fn evaluate_slot(
        &mut self,
        application: ApplicationId,
        slot: RequestSlot,
    ) -> (SlotState, bool) {
        let nodes = self.nodes.len();
        let now = self.waiting.opportunities;
        let delay = self.delay;
        let Some(asks) = self
            .applications
            .get_mut(&application)
            .and_then(|app| app.attempt.as_mut())
            .map(|attempt| &mut attempt.asks)
        else {
            return (SlotState::default(), false);
        };
        let Some(view) = asks.slot_view(slot) else {
            return (SlotState::default(), false);
        };
        let mut state = view.state;
        if !view.placeable {
            state.rack_local_allowed = false;
            state.off_switch_allowed = false;
            state.deadline = None;
            state.open = false;
            return (state, false);
        }
        let evaluation = delay.evaluate(view.wait, view.shape, nodes, now);
        if evaluation.wait != view.wait {
            asks.set_locality_wait(slot, evaluation.wait);
        }
        state.rack_local_allowed = evaluation.rack_local_allowed;
        state.off_switch_allowed = evaluation.off_switch_allowed;
        state.deadline = evaluation.deadline;
        state.open = evaluation.off_switch_allowed && view.relaxes_to_any;
        (state, true)
    }

    /// Brings one slot's delay state, deadline and index entries in step after its wait, its
    /// request or the opportunity count changed. An application whose requests the change
    /// relaxed is searched again for nodes; one that joins or leaves the walk moves sets.
    pub(crate) fn sync_slot(&mut self, application: ApplicationId, slot: RequestSlot) {
        let Some((old, master_pending)) = self
            .applications
            .get(&application)
            .and_then(|app| app.attempt.as_ref())
            .map(|attempt| {
                (
                    attempt.asks.slot_state(slot),
                    attempt.asks.application_master_pending(),
                )
            })
        else {
            return;
        };
        let (mut new, placeable) = self.evaluate_slot(application, slot);
        let app = self
            .applications
            .get_mut(&application)
            .expect("checked above");
        let schedulable = app.is_schedulable();
        let asks = &mut app.attempt.as_mut().expect("checked above").asks;
        if slot == RequestSlot::ApplicationMaster
            || asks.application_master_pending() != master_pending
        {
            // Whether the other requests are placeable depends on the AM container.
            self.sync_locality(application);
            return;
        }
        self.waiting
            .set_deadline(application, slot, old.deadline, new.deadline);
        let (host, rack) = listing(schedulable, placeable, asks.location_name_count(slot), &new);
        self.waiting
            .index(asks, application, slot, &mut new, host, rack);
        asks.set_slot_state(slot, new);
        if old.open != new.open {
            if new.open {
                app.open_slots += 1;
            } else {
                app.open_slots -= 1;
            }
            if app.is_walkable() != app.in_walk {
                self.reposition_application(application);
            }
        }
        if (new.rack_local_allowed && !old.rack_local_allowed)
            || (new.off_switch_allowed && !old.off_switch_allowed)
        {
            self.work.applications.push(application);
        }
    }

    /// Brings every slot of the application in step (its asks, attempt or runnable flag
    /// changed, or its walk membership must), and moves it between its leaf's sets.
    pub(crate) fn sync_locality(&mut self, application: ApplicationId) {
        let Some(attempt) = self
            .applications
            .get(&application)
            .and_then(|app| app.attempt.as_ref())
        else {
            if let Some(app) = self.applications.get_mut(&application) {
                app.open_slots = 0;
            }
            self.reposition_application(application);
            return;
        };
        let slots: Vec<(RequestSlot, SlotState)> = attempt.asks.slots_with_state().collect();
        let mut relaxed = false;
        let mut states = Vec::with_capacity(slots.len());
        let mut placeable = Vec::with_capacity(slots.len());
        for &(slot, old) in &slots {
            let (new, is_placeable) = self.evaluate_slot(application, slot);
            placeable.push(is_placeable);
            self.waiting
                .set_deadline(application, slot, old.deadline, new.deadline);
            relaxed |= (new.rack_local_allowed && !old.rack_local_allowed)
                || (new.off_switch_allowed && !old.off_switch_allowed)
                || (new.open && !old.open);
            states.push(new);
        }
        let app = self
            .applications
            .get_mut(&application)
            .expect("checked above");
        app.open_slots = states.iter().filter(|state| state.open).count();
        let schedulable = app.is_schedulable();
        let asks = &mut app.attempt.as_mut().expect("checked above").asks;
        for ((&(slot, _), mut state), placeable) in slots.iter().zip(states).zip(placeable) {
            let (host, rack) = listing(
                schedulable,
                placeable,
                asks.location_name_count(slot),
                &state,
            );
            self.waiting
                .index(asks, application, slot, &mut state, host, rack);
            asks.set_slot_state(slot, state);
        }
        self.reposition_application(application);
        if relaxed {
            self.work.applications.push(application);
        }
    }

    /// Takes the application's requests out of the deadlines and indexes (its asks are about to
    /// change wholesale, or its attempt ends); `sync_locality` lists them again.
    pub(crate) fn unindex_locality(&mut self, application: ApplicationId) {
        let Some(app) = self.applications.get_mut(&application) else {
            return;
        };
        let Some(attempt) = app.attempt.as_mut() else {
            return;
        };
        let asks = &mut attempt.asks;
        let slots: Vec<(RequestSlot, SlotState)> = asks.slots_with_state().collect();
        for (slot, mut state) in slots {
            self.waiting
                .set_deadline(application, slot, state.deadline, None);
            self.waiting
                .index(asks, application, slot, &mut state, false, false);
            state.deadline = None;
            if state.open {
                state.open = false;
                app.open_slots -= 1;
            }
            asks.set_slot_state(slot, state);
        }
    }

    /// One node pass: counts a scheduling opportunity and evaluates the requests whose
    /// deadline it reaches.
    pub(crate) fn count_opportunity(&mut self) {
        self.waiting.opportunities += 1;
        let now = self.waiting.opportunities;
        while let Some(&(deadline, application, slot)) = self.waiting.deadlines.first() {
            if deadline > now {
                break;
            }
            self.sync_slot(application, slot);
            // A deadline the evaluation did not move is stale; never loop on it.
            self.waiting
                .deadlines
                .remove(&(deadline, application, slot));
        }
    }

    /// The node count changed, and with it every wait measured against it.
    pub(crate) fn sync_all_waits(&mut self) {
        if matches!(self.delay, crate::locality_delay::LocalityDelay::None) {
            return;
        }
        let waiting: Vec<ApplicationId> = self
            .applications
            .values()
            .filter(|app| {
                app.attempt.as_ref().is_some_and(|attempt| {
                    attempt
                        .asks
                        .slots_with_state()
                        .any(|(slot, _)| attempt.asks.has_location_asks(slot))
                })
            })
            .map(|app| app.id)
            .collect();
        let mut waiting = waiting;
        waiting.sort_unstable();
        for application in waiting {
            self.sync_locality(application);
        }
    }
}
