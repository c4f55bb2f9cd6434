//! Live reconfiguration (`rmadmin -refreshQueues`): a new queue tree replaces the old one and
//! every application, container and request is counted again in it. Refused, with nothing
//! changed, when the epoch or the scheduler kind would change, when a Capacity Scheduler queue
//! holding applications would disappear, or when a leaf holding applications would become a
//! parent (as YARN refuses). Fair Scheduler queues holding applications that the new file no
//! longer declares stay, as dynamic queues, until they empty (as YARN keeps them).

use std::collections::HashMap;

use spindle_types::ApplicationId;

use crate::config::{SchedulerConfig, SchedulingPolicy};
use crate::error::SchedulerError;
use crate::limits::Blocked;
use crate::locality_delay::LocalityDelay;
use crate::queues::{QueueIndex, QueueTree};
use crate::scheduler::{calculator_of, Scheduler};

impl Scheduler {
    pub(crate) fn replace_configuration(
        &mut self,
        config: SchedulerConfig,
    ) -> Result<(), SchedulerError> {
        config.validate()?;
        if config.rm_epoch != self.config.rm_epoch {
            return Err(SchedulerError::EpochChange {
                current: self.config.rm_epoch,
                requested: config.rm_epoch,
            });
        }
        if config.policy.kind() != self.config.policy.kind() {
            return Err(SchedulerError::SchedulerKindChange {
                current: self.config.policy.kind(),
                requested: config.policy.kind(),
            });
        }
        let mut tree = QueueTree::for_policy(&config.policy);
        let mut new_leaf: HashMap<QueueIndex, QueueIndex> = HashMap::new();
        for (old_leaf, applications) in self.applications_by_queue() {
            let path = self.queues.get(old_leaf).path.clone();
            let index =
                match tree.find_path(&path) {
                    Some(index) if tree.get(index).is_leaf => index,
                    Some(_) => return Err(SchedulerError::LeafBecameParent { queue: path }),
                    None => match &config.policy {
                        SchedulingPolicy::Fair(fair) => tree
                            .add_dynamic_leaf(&path, fair)
                            .ok_or_else(|| SchedulerError::LeafBecameParent {
                                queue: path.clone(),
                            })?,
                        _ => {
                            return Err(SchedulerError::QueueRemovedWithApplications {
                                queue: path,
                                applications: applications.len(),
                            })
                        }
                    },
                };
            new_leaf.insert(old_leaf, index);
        }
        // Charges owed to the old tree's queues go to their applications first.
        self.settle_all();
        let reserved: Vec<_> = self
            .nodes
            .iter()
            .filter(|(_, node)| node.reservation.is_some())
            .map(|(index, _)| index)
            .collect();
        for node in reserved {
            self.unreserve(node);
        }
        self.calculator = calculator_of(&config.policy);
        self.delay = LocalityDelay::for_policy(&config.policy);
        self.reservations_enabled = !matches!(config.policy, SchedulingPolicy::Fifo);
        self.groups.merge(&config.user_groups);
        self.config = config;
        self.queues = tree;
        self.moved = crate::order_keys::MovedKeys::default();
        self.blocked = Blocked::default();
        self.preemption.last_round_ms = None;
        let order = self.application_ids_in_order();
        for &application in &order {
            self.attach_application(
                application,
                new_leaf[&self.applications[&application].queue],
            );
        }
        self.non_runnable = order
            .iter()
            .filter(|id| !self.applications[id].runnable)
            .map(|id| (self.applications[id].submission, *id))
            .collect();
        self.resolve_queue_limits();
        self.promote_runnable();
        for &application in &order {
            self.refresh_application(application);
            self.work.applications.push(application);
        }
        let nodes: Vec<_> = self.nodes.iter().map(|(index, _)| index).collect();
        self.work.nodes.extend(nodes);
        Ok(())
    }

    /// Counts an application, its runnability and its containers in a fresh queue tree.
    fn attach_application(&mut self, application: ApplicationId, leaf: QueueIndex) {
        let app = self
            .applications
            .get_mut(&application)
            .expect("attaching a known application");
        app.queue = leaf;
        app.sort_key = None;
        app.listed_key = None;
        app.moved = false;
        app.in_walk = false;
        app.delayed = false;
        app.pending = spindle_types::Resource::ZERO;
        let user = app.user.clone();
        let runnable = app.runnable;
        let containers: Vec<_> = app.containers.sorted();
        self.queues.application_added(leaf, &user);
        if runnable {
            self.queues.set_runnable(leaf, &user, true);
            self.entitlements_changed();
        }
        for container in containers {
            let record = &self.containers[&container];
            self.queues
                .charge(leaf, &user, &record.resource.clone(), record.is_am);
        }
    }
}
