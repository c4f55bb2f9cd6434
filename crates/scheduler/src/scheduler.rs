//! The scheduler state machine: applies one event, then places whatever became placeable.

use std::collections::{BTreeMap, BTreeSet};

use spindle_types::{
    exit_status, ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource,
};

use crate::action::{CompletionReason, SchedulerAction};
use crate::applications::{ContainerRecord, SchedulerApplication, SchedulerAttempt};
use crate::asks::{AskTable, PendingCapabilities, SchedulerKey};
use crate::calculator::ResourceCalculator;
use crate::config::{AllocationLimits, SchedulerConfig, SchedulingPolicy};
use crate::container_set::ContainerSet;
use crate::error::SchedulerError;
use crate::event::{ResourceRequest, SchedulerEvent, DEFAULT_RACK};
use crate::fast_hash::FastMap;
use crate::groups::GroupMapping;
use crate::limits::Blocked;
use crate::locality_delay::LocalityDelay;
use crate::nodes::{NodeIndex, NodeTable};
use crate::normalize::{normalize, normalize_request};
use crate::order_keys::MovedKeys;
use crate::preemption::PreemptionState;
use crate::queues::{QueueIndex, QueueTree};
use crate::resource_ops::InlineArithmetic;

/// The scheduling core. Feed it [`SchedulerEvent`]s with [`Scheduler::handle`]; act on the
/// returned [`SchedulerAction`]s; read its state with the query methods.
#[derive(Debug)]
pub struct Scheduler {
    pub(crate) config: SchedulerConfig,
    pub(crate) now_ms: i64,
    /// No placement and no preemption before this time ([`SchedulerEvent::RecoveryWait`]).
    pub(crate) recovery_wait_until: Option<i64>,
    pub(crate) nodes: NodeTable,
    pub(crate) queues: QueueTree,
    pub(crate) applications: FastMap<ApplicationId, SchedulerApplication>,
    pub(crate) containers: FastMap<ContainerId, ContainerRecord>,
    pub(crate) pending_capabilities: PendingCapabilities,
    /// How queue and user limits compare resources.
    pub(crate) calculator: ResourceCalculator,
    pub(crate) delay: LocalityDelay,
    /// Capacity and Fair policies hold nodes for requests that do not fit yet; FIFO does not.
    pub(crate) reservations_enabled: bool,
    /// The configuration's groups plus those the RM sent.
    pub(crate) groups: GroupMapping,
    /// What an event made placeable, processed before `handle` returns.
    pub(crate) work: Work,
    /// Emptied work buffers, kept for their capacity.
    pub(crate) spare_work: Work,
    /// Requests refused by a queue, user or AM limit, to retry when the limit loosens.
    pub(crate) blocked: Blocked,
    /// Fair policy: applications beyond maxRunningApps, by submission.
    pub(crate) non_runnable: BTreeSet<(u64, ApplicationId)>,
    pub(crate) next_submission: u64,
    pub(crate) preemption: PreemptionState,
    /// Sort keys depend on the cluster's size; set when it changed.
    pub(crate) keys_stale: bool,
    /// The cluster changed since queue limits were resolved. Node events leave them stale
    /// while no application exists (a starting cluster registers its nodes at O(1) each);
    /// anything else resolves them first.
    pub(crate) limits_stale: bool,
    /// Walked queues and applications whose keys changed since their sets listed them.
    pub(crate) moved: MovedKeys,
    /// Node passes step over applications and queues that wait for locality elsewhere,
    /// charging them without visiting (`delayed_walk.rs`); off, every one is visited.
    pub(crate) skip_delayed: bool,
    /// Delayed entries with this much slack or less are visited (see `delayed_walk.rs`).
    pub(crate) visit_at_slack: i64,
    /// Delayed applications by the host and rack names a node pass may match (names of
    /// registered nodes and racks only, so the fast hasher is safe).
    pub(crate) delayed_locations:
        crate::fast_hash::FastMap<Box<str>, Vec<crate::delayed_walk::DelayedCandidate>>,
    /// Counts node registrations and removals (which names are hosts or racks changes).
    pub(crate) node_changes: u64,
    /// Counts the charges node passes made to delayed queues (see `open_chain`).
    pub(crate) charge_rounds: u64,
    /// Counts the charges that reached applications, in runs or pushed down from their leaf
    /// (see `settle_application`).
    pub(crate) application_charge_rounds: u64,
    /// Emptied candidates of the last node pass, kept for their capacity.
    pub(crate) candidates_buffer: Vec<crate::delayed_walk::DelayedCandidate>,
    /// An input of the entitlements changed since they were computed (`entitlements/`).
    pub(crate) entitlements_stale: bool,
    /// An input changed while many applications run: recomputed at the next `TimeAdvanced`
    /// (see `Scheduler::entitlements_changed`).
    pub(crate) entitlements_deferred: bool,
    /// When entitlements were last computed (scheduler time).
    pub(crate) entitlements_computed_ms: i64,
    /// Applications a queue's entitlement held back, by that queue: placed again when the queue
    /// holds less or is entitled to more.
    pub(crate) gated_by_queue:
        std::collections::BTreeMap<QueueIndex, std::collections::BTreeSet<ApplicationId>>,
    /// The node pass running is a heartbeat's: requests it passes up for locality count a
    /// missed scheduling opportunity.
    pub(crate) counting_opportunities: bool,
    /// The sum of every application's `protection`: room elastic grants must leave free.
    pub(crate) protected_room: crate::entitlements::Entitlement,
    /// Applications whose AM container is asked for and not yet allocated.
    pub(crate) am_pending: BTreeSet<ApplicationId>,
    /// Applications held back by their share window, by the time it closes.
    pub(crate) share_windows: BTreeSet<(i64, ApplicationId)>,
    /// Applications whose room is protected until their share window closes, by that time.
    pub(crate) protection_windows: BTreeSet<(i64, ApplicationId)>,
    /// The node pass is walking for room beyond entitlements (its second walk, see
    /// `fill_node`).
    pub(crate) elastic_walk: bool,
    /// While a node heartbeat is handled: what it may still assign beyond entitlements.
    pub(crate) heartbeat_budget: Option<crate::entitlements::HeartbeatBudget>,
}

/// Placements an event may have made possible, processed until none is left.
#[derive(Debug, Default)]
pub(crate) struct Work {
    /// Nodes whose room grew (or was released from a reservation).
    pub(crate) nodes: Vec<NodeIndex>,
    /// Queues whose limits loosened: their applications are tried anywhere.
    pub(crate) queues: Vec<QueueIndex>,
    /// Applications whose requests grew or whose limits loosened.
    pub(crate) applications: Vec<ApplicationId>,
}

impl Work {
    pub(crate) fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.queues.is_empty() && self.applications.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.nodes.clear();
        self.queues.clear();
        self.applications.clear();
    }
}

impl Scheduler {
    pub fn new(config: SchedulerConfig) -> Result<Self, SchedulerError> {
        config.validate()?;
        let mut groups = GroupMapping::default();
        groups.merge(&config.user_groups);
        let mut scheduler = Self {
            calculator: calculator_of(&config.policy),
            delay: LocalityDelay::for_policy(&config.policy),
            reservations_enabled: !matches!(config.policy, SchedulingPolicy::Fifo),
            queues: QueueTree::for_policy(&config.policy),
            config,
            now_ms: 0,
            recovery_wait_until: None,
            nodes: NodeTable::default(),
            applications: FastMap::default(),
            containers: FastMap::default(),
            pending_capabilities: PendingCapabilities::default(),
            groups,
            work: Work::default(),
            spare_work: Work::default(),
            blocked: Blocked::default(),
            non_runnable: BTreeSet::new(),
            next_submission: 0,
            preemption: PreemptionState::default(),
            keys_stale: false,
            limits_stale: false,
            moved: MovedKeys::default(),
            skip_delayed: true,
            visit_at_slack: crate::delayed_walk::VISIT_AT_SLACK,
            delayed_locations: Default::default(),
            node_changes: 0,
            charge_rounds: 1,
            application_charge_rounds: 1,
            candidates_buffer: Vec::new(),
            entitlements_stale: true,
            entitlements_deferred: false,
            entitlements_computed_ms: i64::MIN,
            heartbeat_budget: None,
            counting_opportunities: false,
            share_windows: BTreeSet::new(),
            protection_windows: BTreeSet::new(),
            elastic_walk: false,
            am_pending: BTreeSet::new(),
            protected_room: crate::entitlements::Entitlement::ZERO,
            gated_by_queue: Default::default(),
        };
        scheduler.resolve_queue_limits();
        Ok(scheduler)
    }

    /// Applies one event and returns what the RM must do, in decision order. Every placement the
    /// event made possible happens before this returns (there is no separate scheduling call).
    /// On `Err` the event was refused and nothing changed.
    pub fn handle(
        &mut self,
        event: SchedulerEvent,
    ) -> Result<Vec<SchedulerAction>, SchedulerError> {
        let mut actions = Vec::new();
        self.work.clear();
        let node_event = matches!(
            event,
            SchedulerEvent::NodeAdded { .. }
                | SchedulerEvent::NodeUpdated { .. }
                | SchedulerEvent::NodeReachability { .. }
                | SchedulerEvent::NodeRemoved { .. }
                | SchedulerEvent::NodeHeartbeat { .. }
        );
        match event {
            SchedulerEvent::NodeAdded {
                node,
                rack,
                capability,
            } => self.add_node(node, rack, capability)?,
            SchedulerEvent::NodeUpdated { node, capability } => {
                self.update_node(node, capability, &mut actions)?
            }
            SchedulerEvent::NodeReachability { node, reachable } => {
                let index = self
                    .nodes
                    .lookup(&node)
                    .ok_or(SchedulerError::UnknownNode(node))?;
                self.nodes.set_unreachable(index, !reachable);
                if reachable {
                    self.work.nodes.push(index);
                } else if let Some(held) = self.nodes.get(index).reservation.as_ref() {
                    // Held for a request it cannot serve while silent: the request looks again.
                    let application = held.application;
                    self.unreserve_node(index, false);
                    self.work.applications.push(application);
                }
            }
            SchedulerEvent::NodeRemoved { node } => self.remove_node(node, &mut actions)?,
            SchedulerEvent::NodeHeartbeat { node } => {
                let index = self
                    .nodes
                    .lookup(&node)
                    .ok_or(SchedulerError::UnknownNode(node))?;
                self.open_heartbeat_budget(index);
                self.work.nodes.push(index);
            }
            SchedulerEvent::ApplicationAdded {
                application,
                queue,
                user,
                priority,
            } => self.add_application(application, queue, user, priority)?,
            SchedulerEvent::ApplicationRemoved { application } => {
                self.remove_application(application, &mut actions)?
            }
            SchedulerEvent::AttemptAdded {
                attempt,
                am_resource,
            } => self.add_attempt(attempt, am_resource)?,
            // The AM resource is charged with the AM container, once a NodeManager reports it.
            SchedulerEvent::AttemptRecovered {
                attempt,
                am_resource: _,
            } => self.recover_attempt(attempt)?,
            SchedulerEvent::ContainerRecovered {
                container,
                node,
                resource,
                priority,
                allocation_request_id,
                is_am,
            } => {
                let recovered = crate::recovery::RecoveredContainer {
                    container,
                    resource,
                    priority,
                    allocation_request_id,
                    is_am,
                };
                if let Err(reason) = self.recover_container(recovered, &node) {
                    // Checked before anything changed: nothing to place or bring up to date.
                    return Ok(vec![SchedulerAction::RecoveryRefused {
                        container,
                        node,
                        reason,
                    }]);
                }
            }
            SchedulerEvent::AttemptRemoved {
                attempt,
                keep_containers,
            } => self.remove_attempt(attempt, keep_containers, &mut actions)?,
            SchedulerEvent::Asks {
                attempt,
                asks,
                releases,
            } => self.update_asks(attempt, asks, releases, &mut actions)?,
            SchedulerEvent::ContainersAcquired { containers } => {
                for container in containers {
                    if let Some(record) = self.containers.get_mut(&container) {
                        record.acquired = true;
                    }
                }
            }
            SchedulerEvent::ContainerFinished {
                container,
                exit_status,
            } => {
                self.complete_container(
                    container,
                    exit_status,
                    CompletionReason::Finished,
                    &mut actions,
                );
            }
            SchedulerEvent::ContainerExpired { container } => {
                self.complete_container(
                    container,
                    exit_status::ABORTED,
                    CompletionReason::Expired,
                    &mut actions,
                );
            }
            SchedulerEvent::TimeAdvanced { now_ms } => {
                self.now_ms = self.now_ms.max(now_ms);
                if self.entitlements_deferred && self.entitlement_interval_passed() {
                    self.entitlements_stale = true;
                    self.refresh_entitlements();
                }
                self.close_share_windows();
                if !self.waiting_for_recovery() {
                    self.run_preemption(&mut actions);
                }
            }
            SchedulerEvent::RecoveryWait { until_ms } => {
                self.recovery_wait_until = Some(until_ms);
            }
            SchedulerEvent::ConfigurationReplaced { config } => {
                self.replace_configuration(*config)?;
                self.entitlements_changed();
            }
            SchedulerEvent::UserGroupsUpdated { user, groups } => {
                self.groups.set(user, groups);
            }
        }
        // Node registrations before any application leave the limits stale; anything else
        // (that was not refused) resolves them before placing. What the event itself did with
        // stale limits (sort keys) is redone by the rebuild that resolving triggers.
        if !node_event || !self.applications.is_empty() {
            self.ensure_queue_limits();
        }
        // While waiting for recovery, `place` only keeps orders and entitlements current.
        if !self.waiting_for_recovery() && self.recovery_wait_until.take().is_some() {
            self.everything_is_work();
        }
        self.place(&mut actions);
        self.heartbeat_budget = None;
        self.nodes.flush_free_index();
        self.apply_moved_keys();
        Ok(actions)
    }

    /// How long room beyond an application's steady share waits after its first ask
    /// ([`SchedulerConfig::share_window_ms`]).
    pub fn share_window_ms(&self) -> i64 {
        self.config.share_window_ms
    }

    /// The limits asks are normalized against: the configured ones, with the maximum lowered to
    /// the largest registered node's capability (YARN's behaviour once nodes have registered).
    pub fn effective_limits(&self) -> AllocationLimits {
        AllocationLimits {
            maximum: self.maximum_allocation(),
            ..self.config.limits.clone()
        }
    }

    /// The largest container an ask may get: per type, the smaller of the configured maximum and
    /// the largest node; the configured maximum while no node is registered.
    pub fn maximum_allocation(&self) -> Resource {
        let configured = &self.config.limits.maximum;
        if self.waiting_for_recovery() {
            return configured.clone();
        }
        match self.nodes.largest_capability() {
            None => configured.clone(),
            Some((memory, vcores)) => {
                let mut maximum = configured.clone();
                maximum.memory_mb = maximum.memory_mb.min(memory);
                maximum.vcores = maximum.vcores.min(vcores);
                maximum
            }
        }
    }

    /// Whether placement waits for NodeManagers to re-register after an RM restart
    /// ([`SchedulerEvent::RecoveryWait`]).
    pub fn waiting_for_recovery(&self) -> bool {
        matches!(self.recovery_wait_until, Some(until) if self.now_ms < until)
    }

    /// Every live node, queue and application is tried (the recovery wait is over).
    fn everything_is_work(&mut self) {
        let nodes: Vec<NodeIndex> = self.nodes.iter().map(|(index, _)| index).collect();
        self.work.nodes.extend(nodes);
        let queues: Vec<QueueIndex> = self.queues.iter().map(|(index, _)| index).collect();
        self.work.queues.extend(queues);
        let applications: Vec<ApplicationId> = self.applications.keys().copied().collect();
        self.work.applications.extend(applications);
    }

    /// Recomputes queue guarantees and maximums for the current cluster; everything limited by
    /// them is tried again.
    pub(crate) fn resolve_queue_limits(&mut self) {
        self.limits_stale = false;
        let cluster = self.nodes.total().clone();
        self.queues.resolve_limits(&cluster, &self.config.policy);
        for index in self.queues.depth_first().to_vec() {
            let floor = self
                .queues
                .get(index)
                .is_leaf
                .then(|| self.user_limit_floor(index))
                .flatten();
            self.queues.get_mut(index).user_limit_floor = floor;
        }
        self.keys_stale = true;
        self.entitlements_changed();
        self.loosen_everything();
    }

    /// Resolves queue limits if the cluster changed since they were.
    pub(crate) fn ensure_queue_limits(&mut self) {
        if self.limits_stale {
            self.resolve_queue_limits();
        }
    }

    fn add_node(
        &mut self,
        node: NodeId,
        rack: String,
        capability: Resource,
    ) -> Result<(), SchedulerError> {
        if self.nodes.lookup(&node).is_some() {
            return Err(SchedulerError::DuplicateNode(node));
        }
        if capability.any_negative() {
            return Err(SchedulerError::NegativeNodeCapability { node, capability });
        }
        let rack = if rack.is_empty() {
            DEFAULT_RACK.to_string()
        } else {
            rack
        };
        let index = self.nodes.add(node, rack, capability);
        self.node_changes += 1;
        self.limits_stale = true;
        self.entitlements_changed();
        self.sync_all_waits();
        self.work.nodes.push(index);
        Ok(())
    }

    fn update_node(
        &mut self,
        node: NodeId,
        capability: Resource,
        actions: &mut Vec<SchedulerAction>,
    ) -> Result<(), SchedulerError> {
        let index = self
            .nodes
            .lookup(&node)
            .ok_or_else(|| SchedulerError::UnknownNode(node.clone()))?;
        if capability.any_negative() {
            return Err(SchedulerError::NegativeNodeCapability { node, capability });
        }
        let _ = actions;
        self.nodes.set_capability(index, capability);
        self.entitlements_changed();
        if let Some(reservation) = &self.nodes.get(index).reservation {
            if !self
                .nodes
                .get(index)
                .capability
                .fits(&reservation.capability)
            {
                self.unreserve(index);
            }
        }
        self.limits_stale = true;
        // Which applications fit every node (and so may be stepped over) may have changed.
        self.sync_all_waits();
        self.work.nodes.push(index);
        Ok(())
    }

    fn remove_node(
        &mut self,
        node: NodeId,
        actions: &mut Vec<SchedulerAction>,
    ) -> Result<(), SchedulerError> {
        let index = self
            .nodes
            .lookup(&node)
            .ok_or(SchedulerError::UnknownNode(node))?;
        self.unreserve(index);
        let containers: Vec<ContainerId> = self.nodes.get(index).containers.sorted();
        for container in containers {
            self.recover_unacquired(container, index);
            self.complete_container(
                container,
                exit_status::ABORTED,
                CompletionReason::NodeLost,
                actions,
            );
        }
        self.nodes.remove(index);
        self.node_changes += 1;
        self.work.nodes.retain(|&dirty| dirty != index);
        self.limits_stale = true;
        self.entitlements_changed();
        self.sync_all_waits();
        Ok(())
    }

    /// Restores the request of a container its AM never saw (YARN's container rescheduling).
    fn recover_unacquired(&mut self, container: ContainerId, node: NodeIndex) {
        let Some(record) = self.containers.get(&container) else {
            return;
        };
        if record.acquired || record.is_am {
            return;
        }
        let application = container.application_id();
        let Some(app) = self.applications.get_mut(&application) else {
            return;
        };
        let Some(attempt) = app
            .attempt
            .as_mut()
            .filter(|attempt| attempt.id == record.owner)
        else {
            return;
        };
        let node = self.nodes.get(node);
        let key = SchedulerKey {
            priority: record.priority,
            allocation_request_id: record.allocation_request_id,
        };
        attempt.asks.recover(
            key,
            record.locality,
            &node.id.host,
            &node.rack,
            &record.resource,
            &mut self.pending_capabilities,
        );
        self.refresh_application(application);
        self.work.applications.push(application);
    }

    fn add_application(
        &mut self,
        application: ApplicationId,
        queue: String,
        user: String,
        priority: i32,
    ) -> Result<(), SchedulerError> {
        if self.applications.contains_key(&application) {
            return Err(SchedulerError::DuplicateApplication(application));
        }
        let leaf = self.place_submission(application, &queue, &user)?;
        self.queues.application_added(leaf, &user);
        let submission = self.next_submission;
        self.next_submission += 1;
        let app = SchedulerApplication {
            id: application,
            queue: leaf,
            user,
            priority,
            submission,
            runnable: false,
            attempt: None,
            last_attempt: None,
            containers: ContainerSet::default(),
            allocated: Resource::ZERO,
            pending: Resource::ZERO,
            sort_key: None,
            listed_key: None,
            moved: false,
            in_walk: false,
            delayed: false,
            indexed_locations: Vec::new(),
            indexed_signature: None,
            indexed_leaf: None,
            settled_at: 0,
            open_slots: 0,
            reservations: BTreeSet::new(),
            stated_demand: false,
            stated_at_ms: None,
            steady_share: crate::entitlements::Entitlement::ZERO,
            gated: false,
            limited: false,
            protection: crate::entitlements::Entitlement::ZERO,
            entitlement: crate::entitlements::Entitlement::ZERO,
            demand_seen: crate::entitlements::Entitlement::ZERO,
        };
        self.applications.insert(application, app);
        if self.can_run(application) {
            self.make_runnable(application);
        } else {
            self.non_runnable.insert((submission, application));
        }
        Ok(())
    }

    fn remove_application(
        &mut self,
        application: ApplicationId,
        actions: &mut Vec<SchedulerAction>,
    ) -> Result<(), SchedulerError> {
        if !self.applications.contains_key(&application) {
            return Err(SchedulerError::UnknownApplication(application));
        }
        self.close_requests(application);
        let app = self
            .applications
            .get_mut(&application)
            .expect("checked above");
        if let Some(mut attempt) = app.attempt.take() {
            attempt.asks.clear(&mut self.pending_capabilities);
            app.last_attempt = Some(attempt.id);
        }
        let containers: Vec<ContainerId> = app.containers.sorted();
        self.release_reservations_of(application);
        self.refresh_application(application);
        for container in containers {
            self.complete_container(
                container,
                exit_status::ABORTED,
                CompletionReason::ApplicationCompleted,
                actions,
            );
        }
        self.drop_protection(application);
        let app = self
            .applications
            .remove(&application)
            .expect("application checked above");
        self.non_runnable.remove(&(app.submission, application));
        let am_was_pending = self.am_pending.remove(&application);
        self.forget_gated(application);
        if app.runnable {
            self.queues.set_runnable(app.queue, &app.user, false);
            self.entitlements_changed();
        }
        self.queues.application_removed(app.queue, &app.user);
        if am_was_pending && self.queues.is_live(app.queue) {
            // Its queues may now hold their share with no AM container waiting below.
            self.reposition_chain(app.queue);
        }
        self.remove_empty_dynamic_queues(app.queue);
        self.promote_runnable();
        Ok(())
    }

    fn add_attempt(
        &mut self,
        attempt: ApplicationAttemptId,
        am_resource: Option<Resource>,
    ) -> Result<(), SchedulerError> {
        self.check_new_attempt(attempt)?;
        let limits = self.effective_limits();
        let am_resource = am_resource
            .map(|resource| normalize(&resource, &limits))
            .transpose()
            .map_err(|reason| SchedulerError::InvalidAmResource {
                attempt,
                reason: Box::new(reason),
            })?;
        self.begin_attempt(attempt, am_resource);
        self.work.applications.push(attempt.application_id);
        Ok(())
    }

    /// Refuses a new attempt of an unknown application, or of one whose attempt is current.
    pub(crate) fn check_new_attempt(
        &self,
        attempt: ApplicationAttemptId,
    ) -> Result<(), SchedulerError> {
        let application = attempt.application_id;
        let app = self
            .applications
            .get(&application)
            .ok_or(SchedulerError::UnknownApplication(application))?;
        match &app.attempt {
            Some(existing) => Err(SchedulerError::AttemptAlreadyActive {
                existing: existing.id,
                added: attempt,
            }),
            None => Ok(()),
        }
    }

    /// Makes `attempt` (checked with [`Self::check_new_attempt`]) its application's current
    /// attempt, asking for its AM container (`am_request`, normalized) if any; the
    /// application's live containers pass to it.
    pub(crate) fn begin_attempt(
        &mut self,
        attempt: ApplicationAttemptId,
        am_request: Option<Resource>,
    ) {
        let application = attempt.application_id;
        let app = self
            .applications
            .get_mut(&application)
            .expect("a new attempt of a known application");
        for container in app.containers.iter() {
            if let Some(record) = self.containers.get_mut(container) {
                record.owner = attempt;
            }
        }
        if am_request.is_some() {
            self.am_pending.insert(application);
        }
        app.attempt = Some(SchedulerAttempt {
            id: attempt,
            asks: AskTable::new(am_request, &mut self.pending_capabilities),
            next_sequence: 1,
            am_container: None,
        });
        app.last_attempt = Some(attempt);
        // Until it calls allocate, the attempt counts as demanding everything.
        app.stated_demand = false;
        app.stated_at_ms = None;
        self.entitlements_changed();
        self.refresh_application(application);
    }

    fn current_attempt_of(
        &self,
        attempt: ApplicationAttemptId,
    ) -> Result<&SchedulerApplication, SchedulerError> {
        self.applications
            .get(&attempt.application_id)
            .filter(|app| {
                app.attempt
                    .as_ref()
                    .is_some_and(|current| current.id == attempt)
            })
            .ok_or(SchedulerError::UnknownAttempt(attempt))
    }

    fn remove_attempt(
        &mut self,
        attempt: ApplicationAttemptId,
        keep_containers: bool,
        actions: &mut Vec<SchedulerAction>,
    ) -> Result<(), SchedulerError> {
        self.current_attempt_of(attempt)?;
        let application = attempt.application_id;
        self.release_reservations_of(application);
        self.close_requests(application);
        let app = self
            .applications
            .get_mut(&application)
            .expect("attempt checked above");
        let mut ended = app.attempt.take().expect("attempt checked above");
        self.am_pending.remove(&application);
        app.stated_demand = false;
        app.stated_at_ms = None;
        ended.asks.clear(&mut self.pending_capabilities);
        let containers: Vec<ContainerId> = app
            .containers
            .sorted()
            .into_iter()
            .filter(|container| {
                let record = &self.containers[container];
                !keep_containers || record.is_am || !record.acquired
            })
            .collect();
        self.entitlements_changed();
        self.refresh_application(application);
        for container in containers {
            self.complete_container(
                container,
                exit_status::ABORTED,
                CompletionReason::ApplicationCompleted,
                actions,
            );
        }
        Ok(())
    }

    fn update_asks(
        &mut self,
        attempt: ApplicationAttemptId,
        asks: Vec<ResourceRequest>,
        releases: Vec<ContainerId>,
        actions: &mut Vec<SchedulerAction>,
    ) -> Result<(), SchedulerError> {
        self.current_attempt_of(attempt)?;
        let application = attempt.application_id;
        if let Some(foreign) = releases
            .iter()
            .find(|container| container.application_id() != application)
        {
            return Err(SchedulerError::ContainerNotOwned {
                container: *foreign,
                attempt,
            });
        }
        let limits = self.effective_limits();
        let asks = asks
            .iter()
            .map(|request| normalize_request(request, &limits))
            .collect::<Result<Vec<_>, _>>()?;
        for container in releases {
            self.complete_container(
                container,
                exit_status::ABORTED,
                CompletionReason::ReleasedByApplication,
                actions,
            );
        }
        // Keys may come and go: their states are made again from the new table.
        self.close_requests(application);
        let app = self
            .applications
            .get_mut(&application)
            .expect("attempt checked above");
        if !app.stated_demand {
            // From "everything" to what it asks for: the entitlements move only if that is
            // less than its share (`note_demand`, through `refresh_application` below).
            app.stated_demand = true;
            app.stated_at_ms = Some(self.now_ms);
            if self.config.share_window_ms > 0 {
                let until_ms = self.now_ms.saturating_add(self.config.share_window_ms);
                self.protection_windows.insert((until_ms, application));
            }
        }
        let table = &mut app.attempt.as_mut().expect("attempt checked above").asks;
        for request in &asks {
            table.update(request, &mut self.pending_capabilities);
        }
        self.trim_reservations(application);
        self.refresh_application(application);
        self.work.applications.push(application);
        Ok(())
    }

    /// Frees a live container everywhere it is counted and reports it. Unknown ids are ignored
    /// (a completion can race with a release or an earlier completion).
    pub(crate) fn complete_container(
        &mut self,
        container: ContainerId,
        exit_status: i32,
        reason: CompletionReason,
        actions: &mut Vec<SchedulerAction>,
    ) {
        let Some(record) = self.containers.remove(&container) else {
            return;
        };
        self.preemption.forget(container);
        let node = self
            .nodes
            .release(record.node, &record.resource, container)
            .id
            .clone();
        self.work.nodes.push(record.node);
        let app = self
            .applications
            .get_mut(&container.application_id())
            .expect("a live container's application is known");
        app.containers.remove(&container);
        app.allocated.sub_inline(&record.resource);
        let (queue, application) = (app.queue, app.id);
        self.queues
            .refund(queue, &app.user, &record.resource, record.is_am);
        self.note_demand(application);
        self.sync_protection(application);
        self.retry_gated_after_release(application);
        self.container_freed(application, queue, record.is_am);
        actions.push(SchedulerAction::Completed {
            container,
            attempt: record.owner,
            node,
            resource: record.resource,
            exit_status,
            reason,
            acquired: record.acquired,
        });
    }

    /// Every application id known, in submission order.
    pub(crate) fn application_ids_in_order(&self) -> Vec<ApplicationId> {
        let mut ids: Vec<(u64, ApplicationId)> = self
            .applications
            .values()
            .map(|app| (app.submission, app.id))
            .collect();
        ids.sort();
        ids.into_iter().map(|(_, id)| id).collect()
    }

    /// The groups of `user`, primary first.
    pub(crate) fn groups_of(&self, user: &str) -> Vec<String> {
        self.groups.groups_of(user).to_vec()
    }

    /// Live applications per leaf queue (for reconfiguration).
    pub(crate) fn applications_by_queue(&self) -> BTreeMap<QueueIndex, Vec<ApplicationId>> {
        let mut by_queue: BTreeMap<QueueIndex, Vec<ApplicationId>> = BTreeMap::new();
        for id in self.application_ids_in_order() {
            by_queue
                .entry(self.applications[&id].queue)
                .or_default()
                .push(id);
        }
        by_queue
    }
}

/// The calculator a policy compares limits with.
pub(crate) fn calculator_of(policy: &SchedulingPolicy) -> ResourceCalculator {
    match policy {
        SchedulingPolicy::Fifo => ResourceCalculator::Default,
        SchedulingPolicy::Capacity(config) => config.resource_calculator,
        // Fair Scheduler limits (maxResources, maxAMShare) hold for every type.
        SchedulingPolicy::Fair(_) => ResourceCalculator::Dominant,
    }
}
