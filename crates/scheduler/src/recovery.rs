//! Work-preserving RM restart (YARN's ResourceManager restart): attempts whose AM already runs,
//! and the containers re-registering NodeManagers report, are counted as if they had been
//! allocated here, without scheduling anything.
//!
//! A recovered container goes through the same charge as an allocation
//! ([`Scheduler::charge_container`], then [`Scheduler::container_charged`]), so every count,
//! index, sort key, share and open-children set follows it exactly as it follows an allocated
//! container, and `complete_container` frees it like any other. Only what is particular to an
//! allocation is left out: no request is decremented, no locality wait moves, no reservation is
//! served, and no `Allocated` action is returned.

use spindle_types::{ApplicationAttemptId, ContainerId, NodeId, Resource};

use crate::action::{Locality, RecoveryRefusal};
use crate::applications::ContainerRecord;
use crate::error::SchedulerError;
use crate::scheduler::Scheduler;

/// A container a NodeManager reported running: the fields of
/// [`crate::SchedulerEvent::ContainerRecovered`] but its node.
#[derive(Debug, Clone)]
pub(crate) struct RecoveredContainer {
    pub(crate) container: ContainerId,
    pub(crate) resource: Resource,
    pub(crate) priority: i32,
    pub(crate) allocation_request_id: i64,
    pub(crate) is_am: bool,
}

impl Scheduler {
    /// [`crate::SchedulerEvent::AttemptRecovered`]: the attempt becomes current with no
    /// request (its AM container runs already). Its AM resource is charged only with the AM
    /// container itself, when a NodeManager reports it (see the event's documentation).
    pub(crate) fn recover_attempt(
        &mut self,
        attempt: ApplicationAttemptId,
    ) -> Result<(), SchedulerError> {
        self.check_new_attempt(attempt)?;
        self.begin_attempt(attempt, None);
        Ok(())
    }

    /// [`crate::SchedulerEvent::ContainerRecovered`]: charges the container as an allocated,
    /// acquired one. On `Err` nothing changed and the RM must kill the container on `node`;
    /// the same container reported again on the same node is `Ok` and changes nothing.
    pub(crate) fn recover_container(
        &mut self,
        recovered: RecoveredContainer,
        node: &NodeId,
    ) -> Result<(), RecoveryRefusal> {
        let RecoveredContainer {
            container,
            resource,
            priority,
            allocation_request_id,
            is_am,
        } = recovered;
        let index = self
            .nodes
            .lookup(node)
            .ok_or(RecoveryRefusal::UnknownNode)?;
        if let Some(live) = self.containers.get(&container) {
            // Reported again by the node it is counted on: the same process, already counted
            // (perhaps kept from an earlier attempt), never to be killed for being reported.
            return if live.node == index {
                Ok(())
            } else {
                Err(RecoveryRefusal::AlreadyLive)
            };
        }
        let application = container.application_id();
        let app = self
            .applications
            .get(&application)
            .ok_or(RecoveryRefusal::UnknownApplication)?;
        let attempt = app
            .attempt
            .as_ref()
            .filter(|attempt| attempt.id == container.attempt_id)
            .ok_or(RecoveryRefusal::NotCurrentAttempt)?;
        if resource.any_negative() {
            return Err(RecoveryRefusal::NegativeResource);
        }
        if is_am && (attempt.am_container.is_some() || self.am_pending.contains(&application)) {
            return Err(RecoveryRefusal::SecondAmContainer);
        }
        let epoch = self.config.rm_epoch;
        let app = self
            .applications
            .get_mut(&application)
            .expect("checked above");
        let queue = app.queue;
        let attempt = app.attempt.as_mut().expect("checked above");
        if container.epoch() == epoch {
            // An id of this epoch (the RM restarted without a new epoch): new containers must
            // not take its sequence number again.
            attempt.next_sequence = attempt.next_sequence.max(container.sequence() + 1);
        }
        if is_am {
            attempt.am_container = Some(container);
        }
        self.charge_container(
            container,
            ContainerRecord {
                owner: container.attempt_id,
                node: index,
                resource,
                priority,
                allocation_request_id,
                is_am,
                // Where it was asked for is not known.
                locality: Locality::OffSwitch,
                // Running, so its AM has it.
                acquired: true,
            },
        );
        self.container_charged(application, queue);
        Ok(())
    }
}
