//! Read-only views of the scheduler's state for the RM: cluster metrics, nodes, applications,
//! containers and queues. Each is a snapshot; lists are in a stable order.

use spindle_types::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, Resource};

use crate::action::Locality;
use crate::applications::ContainerRecord;
use crate::capacity::config::{CapacityValue, QueueState};
use crate::config::{SchedulerConfig, SchedulingPolicy};
use crate::queues::{QueueIndex, QueueTree};
use crate::scheduler::Scheduler;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterMetrics {
    pub total: Resource,
    pub allocated: Resource,
    /// `total - allocated` (negative components only on overcommitted nodes).
    pub available: Resource,
    /// Sum over applications of their pending requests (count x capability).
    pub pending: Resource,
    /// Sum of the requests nodes are held for (reservations).
    pub reserved: Resource,
    pub num_nodes: usize,
    pub num_containers: usize,
    pub num_applications: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReport {
    pub node: NodeId,
    pub rack: String,
    pub capability: Resource,
    pub allocated: Resource,
    pub available: Resource,
    /// Live containers on the node, by id.
    pub containers: Vec<ContainerId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerReport {
    pub container: ContainerId,
    /// The attempt it belongs to now.
    pub attempt: ApplicationAttemptId,
    pub node: NodeId,
    pub resource: Resource,
    pub priority: i32,
    pub allocation_request_id: i64,
    pub is_am: bool,
    pub locality: Locality,
    pub acquired: bool,
}

/// An application's share of the cluster (YARN's ApplicationResourceUsageReport, plus its containers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationUsage {
    pub application: ApplicationId,
    /// Full path of its leaf queue (`root.default`).
    pub queue: String,
    pub user: String,
    pub priority: i32,
    pub current_attempt: Option<ApplicationAttemptId>,
    pub allocated: Resource,
    pub pending: Resource,
    /// False while the Fair Scheduler's maxRunningApps keeps it waiting.
    pub runnable: bool,
    /// Live containers by id, including those kept from earlier attempts.
    pub containers: Vec<ContainerReport>,
}

/// A queue as YARN's QueueInfo describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueInfo {
    /// Full dotted path (`root.default`).
    pub path: String,
    /// Last path element (`default`), what YARN calls the queue name.
    pub name: String,
    /// Configured share of the parent, 0.0 to 1.0 (Fair: the steady fair share's part of the
    /// parent's).
    pub capacity: f32,
    /// Maximum share of the parent, 0.0 to 1.0 (Fair: maxResources' part of the cluster).
    pub maximum_capacity: f32,
    pub used: Resource,
    pub num_applications: usize,
    /// Full paths of the child queues (empty for a leaf).
    pub children: Vec<String>,
    /// RUNNING or STOPPED.
    pub state: QueueState,
    /// Resources guaranteed for the current cluster (Capacity: capacity; Fair: minResources).
    pub guaranteed: Resource,
    /// Resources the queue may never exceed for the current cluster (None: unlimited).
    pub maximum: Option<Resource>,
    /// Fair: the instantaneous fair share; Capacity and FIFO: the guarantee.
    pub fair_share: Resource,
    /// Outstanding requests of the queue's applications.
    pub pending: Resource,
    /// Resources of its AM containers.
    pub am_used: Resource,
    /// Applications the scheduler serves (Fair: within maxRunningApps).
    pub num_runnable: usize,
    /// Users with requests to serve.
    pub active_users: usize,
    /// Created by a placement rule rather than the configuration.
    pub dynamic: bool,
    /// Leaves: fifo, fair or drf ordering of its applications.
    pub ordering_policy: &'static str,
}

impl Scheduler {
    pub fn config(&self) -> &SchedulerConfig {
        &self.config
    }

    /// The latest time given by [`crate::SchedulerEvent::TimeAdvanced`].
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    pub fn cluster_metrics(&self) -> ClusterMetrics {
        let mut pending = Resource::ZERO;
        for app in self.applications.values() {
            if let Some(attempt) = &app.attempt {
                pending.add_assign(attempt.asks.pending_resource());
            }
        }
        ClusterMetrics {
            total: self.nodes.total().clone(),
            allocated: self.nodes.allocated().clone(),
            available: self.nodes.total().sub(self.nodes.allocated()),
            pending,
            reserved: self.nodes.reserved().clone(),
            num_nodes: self.nodes.len(),
            num_containers: self.containers.len(),
            num_applications: self.applications.len(),
        }
    }

    /// Whether a heartbeat of `node` could place anything: some pending request is no larger
    /// than its free room (a heartbeat of a node without room changes nothing, its missed
    /// opportunities included). False for unknown nodes.
    pub fn node_may_take_a_request(&self, node: &NodeId) -> bool {
        self.nodes.lookup(node).is_some_and(|index| {
            self.pending_capabilities
                .may_fit(&self.nodes.get(index).available)
        })
    }

    pub fn node_report(&self, node: &NodeId) -> Option<NodeReport> {
        let node = self.nodes.get(self.nodes.lookup(node)?);
        Some(NodeReport {
            node: node.id.clone(),
            rack: node.rack.to_string(),
            capability: node.capability.clone(),
            allocated: node.allocated.clone(),
            available: node.available.clone(),
            containers: node.containers.sorted(),
        })
    }

    /// Every registered node, by node id.
    pub fn node_reports(&self) -> Vec<NodeReport> {
        let mut ids: Vec<&NodeId> = self.nodes.iter().map(|(_, node)| &node.id).collect();
        ids.sort();
        ids.into_iter()
            .filter_map(|id| self.node_report(id))
            .collect()
    }

    fn container_report_of(
        &self,
        container: ContainerId,
        record: &ContainerRecord,
    ) -> ContainerReport {
        ContainerReport {
            container,
            attempt: record.owner,
            node: self.nodes.get(record.node).id.clone(),
            resource: record.resource.clone(),
            priority: record.priority,
            allocation_request_id: record.allocation_request_id,
            is_am: record.is_am,
            locality: record.locality,
            acquired: record.acquired,
        }
    }

    pub fn container_report(&self, container: ContainerId) -> Option<ContainerReport> {
        let record = self.containers.get(&container)?;
        Some(self.container_report_of(container, record))
    }

    pub fn application_usage(&self, application: ApplicationId) -> Option<ApplicationUsage> {
        let app = self.applications.get(&application)?;
        Some(ApplicationUsage {
            application,
            queue: self.queues.get(app.queue).path.clone(),
            user: app.user.clone(),
            priority: app.priority,
            current_attempt: app.attempt.as_ref().map(|attempt| attempt.id),
            allocated: app.allocated.clone(),
            pending: app.pending.clone(),
            runnable: app.runnable,
            containers: app
                .containers
                .sorted()
                .into_iter()
                .map(|container| self.container_report_of(container, &self.containers[&container]))
                .collect(),
        })
    }

    /// Every known application id, in order of submission.
    pub fn application_ids(&self) -> Vec<ApplicationId> {
        self.application_ids_in_order()
    }

    fn queue_info_of(
        &self,
        tree: &QueueTree,
        index: QueueIndex,
        fair_shares: Option<&crate::preemption::FairShares>,
    ) -> QueueInfo {
        let queue = tree.get(index);
        let cluster = self.nodes.total();
        let part = |part: i64, whole: i64| -> f32 {
            if whole <= 0 {
                0.0
            } else {
                (part as f64 / whole as f64).min(1.0) as f32
            }
        };
        let parent_memory = |of: fn(&crate::queues::SchedulerQueue) -> i64| -> i64 {
            queue.parent.map_or(cluster.memory_mb, |p| of(tree.get(p)))
        };
        let (capacity, maximum_capacity) = match &self.config.policy {
            SchedulingPolicy::Fifo => (1.0, 1.0),
            SchedulingPolicy::Capacity(_) => (
                match &queue.settings.capacity {
                    CapacityValue::Percent(percent) => (*percent / 100.0) as f32,
                    CapacityValue::Absolute(resource) => part(
                        resource.memory_mb,
                        parent_memory(|p| p.guaranteed.memory_mb),
                    ),
                },
                match &queue.settings.maximum_capacity {
                    CapacityValue::Percent(percent) => (*percent / 100.0) as f32,
                    CapacityValue::Absolute(resource) => {
                        part(resource.memory_mb, parent_memory(|p| p.maximum.memory_mb))
                    }
                },
            ),
            SchedulingPolicy::Fair(_) => (
                if queue.parent.is_none() {
                    1.0
                } else {
                    part(
                        queue.steady_fair_share.memory_mb,
                        parent_memory(|p| p.steady_fair_share.memory_mb),
                    )
                },
                part(
                    queue.maximum.memory_mb.min(cluster.memory_mb),
                    cluster.memory_mb,
                ),
            ),
        };
        let unlimited = queue.maximum.memory_mb >= crate::calculator::unbounded().memory_mb;
        QueueInfo {
            path: queue.path.clone(),
            name: queue.name.clone(),
            capacity,
            maximum_capacity,
            used: queue.used.clone(),
            num_applications: queue.num_applications,
            children: queue
                .children
                .iter()
                .map(|&child| tree.get(child).path.clone())
                .collect(),
            state: queue.settings.state,
            guaranteed: queue.guaranteed.clone(),
            maximum: (!unlimited).then(|| queue.maximum.clone()),
            fair_share: fair_shares
                .and_then(|shares| shares.get(index).cloned())
                .unwrap_or_else(|| queue.guaranteed.clone()),
            pending: queue.pending.clone(),
            am_used: queue.am_used.clone(),
            num_runnable: queue.num_runnable,
            active_users: queue.active_users,
            dynamic: queue.dynamic,
            ordering_policy: match queue.settings.application_ordering {
                crate::queues::settings::ApplicationOrdering::Fifo => "fifo",
                crate::queues::settings::ApplicationOrdering::Fair { .. } => "fair",
                crate::queues::settings::ApplicationOrdering::Drf => "drf",
            },
        }
    }

    /// What the application could still get (YARN's headroom in allocate responses): the
    /// cluster's free resources, no more than its queues' room below their maximums and (Capacity)
    /// its user's room below the user limit. None for an unknown application.
    pub fn headroom(&self, application: ApplicationId) -> Option<Resource> {
        let app = self.applications.get(&application)?;
        let mut headroom = self.nodes.total().sub(self.nodes.allocated());
        if self.limits_apply() {
            for index in self.queues.chain(app.queue) {
                let queue = self.queues.get(index);
                if queue.parent.is_some() {
                    headroom = headroom.min(&queue.maximum.sub(&queue.used));
                }
            }
            if let Some(limit) = self.user_limit(app.queue) {
                let used = self
                    .queues
                    .get(app.queue)
                    .users
                    .get(&app.user)
                    .map(|account| account.used.clone())
                    .unwrap_or_default();
                headroom = headroom.min(&limit.sub(&used));
            }
        }
        Some(headroom.max(&Resource::ZERO))
    }

    fn fair_shares_for_reports(&self) -> Option<crate::preemption::FairShares> {
        matches!(self.config.policy, SchedulingPolicy::Fair(_))
            .then(|| self.instantaneous_fair_shares())
    }

    /// A queue by full path (`root.default`), path below root (`dev.eng`) or unique name
    /// (`default`).
    pub fn queue_info(&self, path_or_name: &str) -> Option<QueueInfo> {
        let index = self.queues.find(path_or_name)?;
        let tree = self.report_tree();
        Some(self.queue_info_of(&tree, index, self.fair_shares_for_reports().as_ref()))
    }

    /// Every queue, parents before children.
    pub fn queue_infos(&self) -> Vec<QueueInfo> {
        let shares = self.fair_shares_for_reports();
        let tree = self.report_tree();
        self.queues
            .iter()
            .map(|(index, _)| self.queue_info_of(&tree, index, shares.as_ref()))
            .collect()
    }

    /// The queue tree with limits for the current cluster: the live one, or (while nodes
    /// registered before any application left them stale) a copy resolved now.
    fn report_tree(&self) -> std::borrow::Cow<'_, QueueTree> {
        if !self.limits_stale {
            return std::borrow::Cow::Borrowed(&self.queues);
        }
        let mut tree = self.queues.clone();
        tree.resolve_limits(self.nodes.total(), &self.config.policy);
        std::borrow::Cow::Owned(tree)
    }
}
