//! Delay scheduling's bookkeeping: each request's state derived from its own count of scheduling
//! opportunities (see `locality_delay.rs` for the rules), kept in step whenever the request, its
//! count or the cluster changes.
//!
//! A request is *open* while it is placeable (pending, and not held back behind a pending AM
//! container); an application with an open request is walked by node passes in policy order,
//! whether or not delay scheduling lets it use the node at hand, because in YARN a request
//! that a node pass reaches and that passes the node up counts that as a missed opportunity
//! ([`Scheduler::charge_opportunity`]). A request's state changes only at counts it computed
//! in advance (its deadline), so a charge costs a comparison unless the state changes.

use spindle_types::ApplicationId;

use crate::asks::{AskTable, RequestSlot, SlotState};
use crate::scheduler::Scheduler;

impl Scheduler {
    /// The requests of the application's current attempt.
    fn asks_mut(&mut self, application: ApplicationId) -> Option<&mut AskTable> {
        self.applications
            .get_mut(&application)
            .and_then(|app| app.attempt.as_mut())
            .map(|attempt| &mut attempt.asks)
    }

    /// Evaluates the slot's delay state at its own opportunity count and persists the evaluated
    /// wait; returns the new state. A slot that is not placeable is closed.
    fn evaluate_slot(&mut self, application: ApplicationId, slot: RequestSlot) -> SlotState {
        let nodes = self.nodes.len();
        let delay = self.delay;
        let Some(asks) = self.asks_mut(application) else {
            return SlotState::default();
        };
        let Some(view) = asks.slot_view(slot) else {
            return SlotState::default();
        };
        if !view.placeable {
            return SlotState::default();
        }
        let evaluation = delay.evaluate(view.wait, view.shape, nodes, view.wait.offered);
        if evaluation.wait != view.wait {
            asks.set_locality_wait(slot, evaluation.wait);
        }
        SlotState {
            rack_local_allowed: evaluation.rack_local_allowed,
            off_switch_allowed: evaluation.off_switch_allowed,
            deadline: evaluation.deadline,
            open: true,
        }
    }

    /// A node pass reached the slot and it passed the node up for locality: one missed
    /// scheduling opportunity. Its state is evaluated again when the count reaches its deadline.
    pub(crate) fn charge_opportunity(&mut self, application: ApplicationId, slot: RequestSlot) {
        let Some(asks) = self.asks_mut(application) else {
            return;
        };
        let mut wait = asks.locality_wait(slot);
        wait.offered += 1;
        asks.set_locality_wait(slot, wait);
        if asks
            .slot_state(slot)
            .deadline
            .is_some_and(|deadline| wait.offered >= deadline)
        {
            self.sync_slot(application, slot);
        }
    }

    /// Brings one slot's delay state in step after its wait, its request or its count changed.
    /// An application whose requests the change relaxed is searched again for nodes; one that
    /// gains or loses its last open request moves between its leaf's sets.
    pub(crate) fn sync_slot(&mut self, application: ApplicationId, slot: RequestSlot) {
        self.settle_application(application);
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
        let new = self.evaluate_slot(application, slot);
        let app = self
            .applications
            .get_mut(&application)
            .expect("checked above");
        let asks = &mut app.attempt.as_mut().expect("checked above").asks;
        if slot == RequestSlot::ApplicationMaster
            || asks.application_master_pending() != master_pending
        {
            // Whether the other requests are placeable depends on the AM container.
            self.sync_locality(application);
            return;
        }
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
        if new != old {
            // A new deadline may make it delayed, or move its slack among the delayed.
            let app = &self.applications[&application];
            if app.delayed || self.delayed_slack(app).is_some() {
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
        self.settle_application(application);
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
        for &(slot, old) in &slots {
            let new = self.evaluate_slot(application, slot);
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
        let asks = &mut app.attempt.as_mut().expect("checked above").asks;
        for (&(slot, _), state) in slots.iter().zip(states) {
            asks.set_slot_state(slot, state);
        }
        self.reposition_application(application);
        if relaxed {
            self.work.applications.push(application);
        }
    }

    /// Closes the application's requests (its asks are about to change wholesale, or its
    /// attempt ends); `sync_locality` opens them again.
    pub(crate) fn close_requests(&mut self, application: ApplicationId) {
        self.settle_application(application);
        let Some(app) = self.applications.get_mut(&application) else {
            return;
        };
        let Some(attempt) = app.attempt.as_mut() else {
            return;
        };
        let asks = &mut attempt.asks;
        let slots: Vec<(RequestSlot, SlotState)> = asks.slots_with_state().collect();
        for (slot, mut state) in slots {
            state.deadline = None;
            if state.open {
                state.open = false;
                app.open_slots -= 1;
            }
            asks.set_slot_state(slot, state);
        }
    }

    /// The node count changed, and with it every wait measured against it.
    pub(crate) fn sync_all_waits(&mut self) {
        if matches!(self.delay, crate::locality_delay::LocalityDelay::None) {
            return;
        }
        let mut waiting: Vec<ApplicationId> = self
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
        waiting.sort_unstable();
        for application in waiting {
            self.sync_locality(application);
        }
    }
}
