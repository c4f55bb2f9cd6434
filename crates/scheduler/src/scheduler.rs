//! The scheduler state machine: applies one event, then places whatever became placeable.

use std::collections::{BTreeSet, HashMap};

use spindle_types::{
    exit_status, ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource,
};

use crate::action::{CompletionReason, SchedulerAction};
use crate::applications::{ContainerRecord, FifoKey, SchedulerApplication, SchedulerAttempt};
use crate::asks::{AskTable, PendingCapabilities, SchedulerKey};
use crate::config::{AllocationLimits, SchedulerConfig};
use crate::error::SchedulerError;
use crate::event::{ResourceRequest, SchedulerEvent, DEFAULT_RACK};
use crate::nodes::{NodeIndex, NodeTable};
use crate::normalize::{normalize, normalize_request};
use crate::queues::QueueTree;

/// The scheduling core. Feed it [`SchedulerEvent`]s with [`Scheduler::handle`]; act on the
/// returned [`SchedulerAction`]s; read its state with the query methods.
#[derive(Debug)]
pub struct Scheduler {
    pub(crate) config: SchedulerConfig,
    pub(crate) now_ms: i64,
    pub(crate) nodes: NodeTable,
    pub(crate) queues: QueueTree,
    pub(crate) applications: HashMap<ApplicationId, SchedulerApplication>,
    pub(crate) containers: HashMap<ContainerId, ContainerRecord>,
    /// Applications whose current attempt has a pending request, in FIFO order.
    pub(crate) pending_applications: BTreeSet<FifoKey>,
    pub(crate) pending_capabilities: PendingCapabilities,
}

/// What an event changed that may allow new placements.
#[derive(Debug, Default)]
pub(crate) struct Placeable {
    /// Nodes whose available resources grew.
    pub(crate) nodes: Vec<NodeIndex>,
    /// Applications whose requests grew.
    pub(crate) applications: Vec<ApplicationId>,
}

impl Scheduler {
    pub fn new(config: SchedulerConfig) -> Result<Self, SchedulerError> {
        config.validate()?;
        Ok(Self {
            config,
            now_ms: 0,
            nodes: NodeTable::default(),
            queues: QueueTree::single_default_queue(),
            applications: HashMap::new(),
            containers: HashMap::new(),
            pending_applications: BTreeSet::new(),
            pending_capabilities: PendingCapabilities::default(),
        })
    }

    /// Applies one event and returns what the RM must do, in decision order. Every placement the
    /// event made possible happens before this returns (there is no separate scheduling call).
    /// On `Err` the event was refused and nothing changed.
    pub fn handle(
        &mut self,
        event: SchedulerEvent,
    ) -> Result<Vec<SchedulerAction>, SchedulerError> {
        let mut actions = Vec::new();
        let mut placeable = Placeable::default();
        match event {
            SchedulerEvent::NodeAdded {
                node,
                rack,
                capability,
            } => self.add_node(node, rack, capability, &mut placeable)?,
            SchedulerEvent::NodeUpdated { node, capability } => {
                self.update_node(node, capability, &mut placeable)?
            }
            SchedulerEvent::NodeRemoved { node } => {
                self.remove_node(node, &mut actions, &mut placeable)?
            }
            SchedulerEvent::ApplicationAdded {
                application,
                queue,
                user,
                priority,
            } => self.add_application(application, queue, user, priority)?,
            SchedulerEvent::ApplicationRemoved { application } => {
                self.remove_application(application, &mut actions, &mut placeable)?
            }
            SchedulerEvent::AttemptAdded {
                attempt,
                am_resource,
            } => self.add_attempt(attempt, am_resource, &mut placeable)?,
            SchedulerEvent::AttemptRemoved {
                attempt,
                keep_containers,
            } => self.remove_attempt(attempt, keep_containers, &mut actions, &mut placeable)?,
            SchedulerEvent::Asks {
                attempt,
                asks,
                releases,
            } => self.update_asks(attempt, asks, releases, &mut actions, &mut placeable)?,
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
                    &mut placeable,
                );
            }
            SchedulerEvent::ContainerExpired { container } => {
                self.complete_container(
                    container,
                    exit_status::ABORTED,
                    CompletionReason::Expired,
                    &mut actions,
                    &mut placeable,
                );
            }
            SchedulerEvent::TimeAdvanced { now_ms } => self.now_ms = self.now_ms.max(now_ms),
            SchedulerEvent::ConfigurationReplaced { config } => {
                self.replace_configuration(config)?
            }
        }
        self.place(placeable, &mut actions);
        Ok(actions)
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

    fn add_node(
        &mut self,
        node: NodeId,
        rack: String,
        capability: Resource,
        placeable: &mut Placeable,
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
        placeable.nodes.push(self.nodes.add(node, rack, capability));
        Ok(())
    }

    fn update_node(
        &mut self,
        node: NodeId,
        capability: Resource,
        placeable: &mut Placeable,
    ) -> Result<(), SchedulerError> {
        let index = self
            .nodes
            .lookup(&node)
            .ok_or_else(|| SchedulerError::UnknownNode(node.clone()))?;
        if capability.any_negative() {
            return Err(SchedulerError::NegativeNodeCapability { node, capability });
        }
        self.nodes.set_capability(index, capability);
        placeable.nodes.push(index);
        Ok(())
    }

    fn remove_node(
        &mut self,
        node: NodeId,
        actions: &mut Vec<SchedulerAction>,
        placeable: &mut Placeable,
    ) -> Result<(), SchedulerError> {
        let index = self
            .nodes
            .lookup(&node)
            .ok_or(SchedulerError::UnknownNode(node))?;
        let containers: Vec<ContainerId> =
            self.nodes.get(index).containers.iter().copied().collect();
        for container in containers {
            self.recover_unacquired(container, index, placeable);
            self.complete_container(
                container,
                exit_status::ABORTED,
                CompletionReason::NodeLost,
                actions,
                placeable,
            );
        }
        self.nodes.remove(index);
        placeable.nodes.retain(|&dirty| dirty != index);
        Ok(())
    }

    /// Restores the request of a container its AM never saw (YARN's container rescheduling).
    fn recover_unacquired(
        &mut self,
        container: ContainerId,
        node: NodeIndex,
        placeable: &mut Placeable,
    ) {
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
        self.refresh_pending(application);
        placeable.applications.push(application);
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
        let leaf = self
            .queues
            .resolve_leaf(&queue)
            .ok_or(SchedulerError::UnknownQueue {
                application,
                user: user.clone(),
                queue,
            })?;
        self.queues.application_added(leaf);
        let app = SchedulerApplication {
            id: application,
            queue: leaf,
            user,
            priority,
            attempt: None,
            last_attempt: None,
            containers: BTreeSet::new(),
            allocated: Resource::ZERO,
        };
        self.applications.insert(application, app);
        Ok(())
    }

    fn remove_application(
        &mut self,
        application: ApplicationId,
        actions: &mut Vec<SchedulerAction>,
        placeable: &mut Placeable,
    ) -> Result<(), SchedulerError> {
        let app = self
            .applications
            .get_mut(&application)
            .ok_or(SchedulerError::UnknownApplication(application))?;
        if let Some(mut attempt) = app.attempt.take() {
            attempt.asks.clear(&mut self.pending_capabilities);
            app.last_attempt = Some(attempt.id);
        }
        let containers: Vec<ContainerId> = app.containers.iter().copied().collect();
        self.refresh_pending(application);
        for container in containers {
            self.complete_container(
                container,
                exit_status::ABORTED,
                CompletionReason::ApplicationCompleted,
                actions,
                placeable,
            );
        }
        let app = self
            .applications
            .remove(&application)
            .expect("application checked above");
        self.queues.application_removed(app.queue);
        Ok(())
    }

    fn add_attempt(
        &mut self,
        attempt: ApplicationAttemptId,
        am_resource: Option<Resource>,
        placeable: &mut Placeable,
    ) -> Result<(), SchedulerError> {
        let application = attempt.application_id;
        let limits = self.effective_limits();
        let app = self
            .applications
            .get_mut(&application)
            .ok_or(SchedulerError::UnknownApplication(application))?;
        if let Some(existing) = &app.attempt {
            return Err(SchedulerError::AttemptAlreadyActive {
                existing: existing.id,
                added: attempt,
            });
        }
        let am_resource = am_resource
            .map(|resource| normalize(&resource, &limits))
            .transpose()
            .map_err(|reason| SchedulerError::InvalidAmResource {
                attempt,
                reason: Box::new(reason),
            })?;
        for container in &app.containers {
            if let Some(record) = self.containers.get_mut(container) {
                record.owner = attempt;
            }
        }
        app.attempt = Some(SchedulerAttempt {
            id: attempt,
            asks: AskTable::new(am_resource, &mut self.pending_capabilities),
            next_sequence: 1,
            am_container: None,
        });
        app.last_attempt = Some(attempt);
        self.refresh_pending(application);
        placeable.applications.push(application);
        Ok(())
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
        placeable: &mut Placeable,
    ) -> Result<(), SchedulerError> {
        self.current_attempt_of(attempt)?;
        let application = attempt.application_id;
        let app = self
            .applications
            .get_mut(&application)
            .expect("attempt checked above");
        let mut ended = app.attempt.take().expect("attempt checked above");
        ended.asks.clear(&mut self.pending_capabilities);
        let containers: Vec<ContainerId> = app
            .containers
            .iter()
            .copied()
            .filter(|container| {
                let record = &self.containers[container];
                !keep_containers || record.is_am || !record.acquired
            })
            .collect();
        self.refresh_pending(application);
        for container in containers {
            self.complete_container(
                container,
                exit_status::ABORTED,
                CompletionReason::ApplicationCompleted,
                actions,
                placeable,
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
        placeable: &mut Placeable,
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
                placeable,
            );
        }
        let app = self
            .applications
            .get_mut(&application)
            .expect("attempt checked above");
        let table = &mut app.attempt.as_mut().expect("attempt checked above").asks;
        for request in &asks {
            table.update(request, &mut self.pending_capabilities);
        }
        self.refresh_pending(application);
        placeable.applications.push(application);
        Ok(())
    }

    fn replace_configuration(&mut self, config: SchedulerConfig) -> Result<(), SchedulerError> {
        config.validate()?;
        if config.rm_epoch != self.config.rm_epoch {
            return Err(SchedulerError::EpochChange {
                current: self.config.rm_epoch,
                requested: config.rm_epoch,
            });
        }
        self.config = config;
        Ok(())
    }

    /// Keeps `pending_applications` in step with the application's requests.
    pub(crate) fn refresh_pending(&mut self, application: ApplicationId) {
        let Some(app) = self.applications.get(&application) else {
            return;
        };
        if app.has_pending() {
            self.pending_applications.insert(app.fifo_key());
        } else {
            self.pending_applications.remove(&app.fifo_key());
        }
    }

    /// Frees a live container everywhere it is counted and reports it. Unknown ids are ignored
    /// (a completion can race with a release or an earlier completion).
    pub(crate) fn complete_container(
        &mut self,
        container: ContainerId,
        exit_status: i32,
        reason: CompletionReason,
        actions: &mut Vec<SchedulerAction>,
        placeable: &mut Placeable,
    ) {
        let Some(record) = self.containers.remove(&container) else {
            return;
        };
        let node = self
            .nodes
            .release(record.node, &record.resource, container)
            .id
            .clone();
        placeable.nodes.push(record.node);
        let app = self
            .applications
            .get_mut(&container.application_id())
            .expect("a live container's application is known");
        app.containers.remove(&container);
        app.allocated.sub_assign(&record.resource);
        let queue = app.queue;
        self.queues.refund(queue, &record.resource);
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
}
